/**
 * The engine end-to-end test (engine.test.ts) on the lowest Pulumi CLI the library
 * claims (PULUMI_MIN_VERSION in toolchain/versions.env), with the same language hosts,
 * providers and program: the other end of the tested range.
 */
import "../support/lowest-cli";
import "./engine.test";
