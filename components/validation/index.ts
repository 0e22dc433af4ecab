export * from "./errors";
export * from "./names";
export * from "./network";
export * from "./keys";
