/**
 * Pure addressing plan of the lab (no side effects): names, interfaces and
 * addresses of every namespace and link.
 *
 *   operator (root ns) --veth 10.231.0.0/30-- main --"internet" 10.231.1.0/24-- router (NAT)
 *   router --bridge br0 10.231.2.0/24-- backupN (10.231.2.(10+N))
 *   operator --veth 10.231.(100+N).0/30-- backupN  ("home link" for the first install)
 */

/** Prefix of every network namespace and root-namespace interface the lab creates. */
export const NS_PREFIX = "rst-";
export const ROUTER_NETNS = "rst-router";
export const MAIN_NAME = "main";
export const MAX_BACKUPS = 50;

export const OPERATOR_MAIN_ADDR = "10.231.0.1";
export const MAIN_OPERATOR_ADDR = "10.231.0.2";
export const MAIN_PUBLIC_ADDR = "10.231.1.1";
export const ROUTER_WAN_ADDR = "10.231.1.2";
export const ROUTER_SPARE_WAN_ADDR = "10.231.1.3";
export const ROUTER_LAN_ADDR = "10.231.2.1";
export const LAN_SUBNET = "10.231.2.0/24";
export const INTERNET_SUBNET = "10.231.1.0/24";
export const OPERATOR_MAIN_SUBNET = "10.231.0.0/30";
export const LAB_SUPERNET = "10.231.0.0/16";

/** Interface names inside namespaces. */
export const IF = {
  /** main's side of the operator veth */
  mainOperator: "op0",
  /** main's and router's sides of the internet segment */
  wan: "wan0",
  /** router's LAN bridge */
  bridge: "br0",
  /** backup's LAN interface */
  backupLan: "lan0",
  /** backup's home-link interface */
  backupHome: "home0",
} as const;

/** One link that can be cut with `link`. */
export type LinkKind = "operator" | "internet" | "lan" | "home";

/** Planned host. */
export interface HostPlan {
  name: string;
  role: "main" | "backup";
  index: number;
  netns: string;
  /** address the operator reaches the host at */
  operatorAddr: string;
  /** operator side of the operator link */
  operatorPeerAddr: string;
  /** operator-side (root namespace) interface name of the operator link */
  rootIf: string;
  lanAddr?: string;
  /** router-side bridge port of the backup's LAN veth */
  routerPort?: string;
}

/** Full plan. */
export interface TopologyPlan {
  main: HostPlan;
  backups: HostPlan[];
}

const NAME_RE = /^[a-z][a-z0-9-]{0,14}$/;

/** Validate a host name (used in netns, machine and directory names). */
export function validateHostName(name: string): void {
  if (!NAME_RE.test(name) || name === "router") {
    throw new Error(`invalid host name ${JSON.stringify(name)}: use [a-z][a-z0-9-]{0,14}, not "router"`);
  }
}

/** Default backup names backup1..N. */
export function defaultBackupNames(count: number): string[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_BACKUPS) {
    throw new Error(`--backups must be an integer in 1..${MAX_BACKUPS}`);
  }
  return Array.from({ length: count }, (_, i) => `backup${i + 1}`);
}

/** Compute the plan for the given backup names (index = position + 1). */
export function planTopology(backupNames: readonly string[]): TopologyPlan {
  if (backupNames.length < 1 || backupNames.length > MAX_BACKUPS) {
    throw new Error(`need 1..${MAX_BACKUPS} backups`);
  }
  const seen = new Set<string>([MAIN_NAME]);
  for (const n of backupNames) {
    validateHostName(n);
    if (seen.has(n)) throw new Error(`duplicate host name ${n}`);
    seen.add(n);
  }
  const main: HostPlan = {
    name: MAIN_NAME,
    role: "main",
    index: 0,
    netns: NS_PREFIX + MAIN_NAME,
    operatorAddr: MAIN_OPERATOR_ADDR,
    operatorPeerAddr: OPERATOR_MAIN_ADDR,
    rootIf: "rst-main",
  };
  const backups = backupNames.map((name, i): HostPlan => {
    const n = i + 1;
    return {
      name,
      role: "backup",
      index: n,
      netns: NS_PREFIX + name,
      operatorAddr: `10.231.${100 + n}.2`,
      operatorPeerAddr: `10.231.${100 + n}.1`,
      rootIf: `rst-hl${n}`,
      lanAddr: `10.231.2.${10 + n}`,
      routerPort: `lan${n}`,
    };
  });
  return { main, backups };
}

/** Default link `link HOST` acts on: main's internet uplink, a backup's home link. */
export function defaultLinkFor(role: "main" | "backup"): LinkKind {
  return role === "main" ? "internet" : "home";
}
