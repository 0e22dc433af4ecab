/**
 * reverse-ssh-tunnel: Pulumi components for a least-privilege, self-healing reverse
 * SSH tunnel from a backup box behind NAT into a public main server.
 */
export * from "./account";
export * from "./connection";
export * from "./health";
export * from "./keypair";
export * from "./service";
export * from "./sshd";
export * from "./tunnel";
export * from "./validation";
export { renderBundle, shQuote, shJoin } from "./shell";
