/**
 * Imported first by a test file that runs another file's tests on the lowest Pulumi
 * CLI the library claims (PULUMI_MIN_VERSION): imports run in order, so the setting is
 * in place before the next import names its tests and opens its stacks
 * (toolchain/env.sh reads it; test/support/engine.ts `cliEnd`).
 */
process.env.RST_PULUMI_CLI = "lowest";
export {};
