export * from "./quote";
export * from "./heredoc";
export * from "./prelude";
export * from "./bundle";
