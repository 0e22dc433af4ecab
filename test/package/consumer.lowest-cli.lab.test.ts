/**
 * The consumer lab test (consumer.lab.test.ts: the packed tarball in fresh projects,
 * a whole tunnel and two halves joined by a StackReference) on the lowest Pulumi CLI
 * the library claims (PULUMI_MIN_VERSION in toolchain/versions.env): the other end of
 * the tested range.
 */
import "../support/lowest-cli";
import "./consumer.lab.test";
