/**
 * Every module's exports, internals included, for the lab tests that render and run
 * scripts directly. The package root (components/index.ts) is the public API only.
 */
export * from "../../components/account";
export * from "../../components/connection";
export * from "../../components/health";
export * from "../../components/keypair";
export * from "../../components/service";
export * from "../../components/sshd";
export * from "../../components/tunnel";
export * from "../../components/validation";
export { shQuote, shJoin } from "../../components/shell";
