/**
 * reverse-ssh-tunnel: Pulumi components for a least-privilege, self-healing reverse
 * SSH tunnel from a backup box behind NAT into a public main server.
 *
 * The package root, and its whole public API: the components, their args and the
 * types those refer to, and the helpers docs/package.md documents. Every name is
 * listed on purpose (no `export *`): an export here is a promise to consumers, so a
 * renderer, parser or quoting helper must not become one by being added to a module.
 * Internals are imported from their modules (e.g. `components/sshd/render`);
 * test/unit/public-api.test.ts holds the exact list.
 */
export { ReverseTunnel } from "./tunnel";
export type { ReverseTunnelArgs, TunnelHandoff } from "./tunnel";
export { TunnelAccount, ROTATION_OVERLAP_MINUTES } from "./account";
export type { TunnelAccountArgs } from "./account";
export { SshdMatchBlock, SshdPlacement } from "./sshd";
export type { SshdMatchBlockArgs } from "./sshd";
export { TunnelService, defaultTunnelUser, defaultServiceUser } from "./service";
export type { TunnelServiceArgs, ForwardSpec } from "./service";
export { TunnelKeyPair, TunnelKeyAlgorithm } from "./keypair";
export type { TunnelKeyPairArgs } from "./keypair";
export { MainHealthCheck } from "./health";
export type { MainHealthCheckArgs, MainMonitorArgs, MonitoredBackupArgs } from "./health";
export type { HostConnection, SshHop } from "./connection";
export { ConfigError } from "./validation";
