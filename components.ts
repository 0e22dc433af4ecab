/**
 * TRANSITIONAL, repository-only: the old catch-all barrel (every module's exports,
 * internals included) for the lab tests under test/lab/ that still import internals
 * as `../../components`. This file shadows the directory for that import path (a
 * `components.ts` next to `components/` resolves first, in tsc, tsx and vitest), so
 * those tests keep working while they move to module paths
 * (`../../components/service`, `../../components/sshd`, ...). Delete this file once
 * `grep -rn 'from "\.\./\.\./components"' test/lab` finds nothing.
 *
 * It is not the package: the package root is components/index.ts (the public API
 * only), and tsconfig.build.json compiles components/ alone, so nothing here ships.
 */
export * from "./components/account";
export * from "./components/connection";
export * from "./components/health";
export * from "./components/keypair";
export * from "./components/service";
export * from "./components/sshd";
export * from "./components/tunnel";
export * from "./components/validation";
export { renderBundle, shQuote, shJoin } from "./components/shell";
