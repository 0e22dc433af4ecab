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
/** Backups a lab can have (10.231.(100+N) home links and 10.231.2.(10+N) LAN addresses stay valid up to 140). */
export const MAX_BACKUPS = 120;
/** Mains a lab can have: main, main2 .. main4. */
export const MAX_MAINS = 4;

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
  /** backups: N of backupN's addresses; mains: 0 for main, K for mainK */
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
  /** mains: address on its internet segment, the one backups dial */
  publicAddr?: string;
  /** mains: router-side interface of its internet segment */
  routerWanIf?: string;
  /** mains: router's address on that segment (what the main sees backups come from) */
  routerWanAddr?: string;
  /** mains: prefix of that segment, e.g. 10.231.1.0/24 */
  wanSubnet?: string;
  /** backups: name of the main it belongs to */
  mainName?: string;
}

/** Full plan. */
export interface TopologyPlan {
  /** the first main ("main") */
  main: HostPlan;
  /** every main, "main" first */
  mains: HostPlan[];
  backups: HostPlan[];
}

/** Names of `count` mains: main, main2, ... */
export function defaultMainNames(count: number): string[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_MAINS) throw new Error(`--mains must be an integer in 1..${MAX_MAINS}`);
  return Array.from({ length: count }, (_, i) => (i === 0 ? MAIN_NAME : `${MAIN_NAME}${i + 1}`));
}

/** Plan of main number K (1 = "main"): its operator link, internet segment and router interface. */
function planMain(k: number): HostPlan {
  if (k === 1) {
    return {
      name: MAIN_NAME,
      role: "main",
      index: 0,
      netns: NS_PREFIX + MAIN_NAME,
      operatorAddr: MAIN_OPERATOR_ADDR,
      operatorPeerAddr: OPERATOR_MAIN_ADDR,
      rootIf: "rst-main",
      publicAddr: MAIN_PUBLIC_ADDR,
      routerWanIf: IF.wan,
      routerWanAddr: ROUTER_WAN_ADDR,
      wanSubnet: INTERNET_SUBNET,
    };
  }
  // mainK: operator link 10.231.0.(4(K-1))/30, internet segment 10.231.(10+K).0/24 (router .2, main .1)
  const name = `${MAIN_NAME}${k}`;
  const o = 4 * (k - 1);
  return {
    name,
    role: "main",
    index: k,
    netns: NS_PREFIX + name,
    operatorAddr: `10.231.0.${o + 2}`,
    operatorPeerAddr: `10.231.0.${o + 1}`,
    rootIf: `rst-${name}`,
    publicAddr: `10.231.${10 + k}.1`,
    routerWanIf: `wan${k}`,
    routerWanAddr: `10.231.${10 + k}.2`,
    wanSubnet: `10.231.${10 + k}.0/24`,
  };
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

/**
 * Compute the plan for the given backup names (index = position + 1) and
 * `mainCount` mains. `backupMain` maps a backup to its main (default "main").
 */
export function planTopology(backupNames: readonly string[], mainCount = 1, backupMain: Readonly<Record<string, string>> = {}): TopologyPlan {
  if (backupNames.length < 1 || backupNames.length > MAX_BACKUPS) {
    throw new Error(`need 1..${MAX_BACKUPS} backups`);
  }
  const mainNames = defaultMainNames(mainCount);
  const seen = new Set<string>(mainNames);
  for (const n of backupNames) {
    validateHostName(n);
    if (seen.has(n)) throw new Error(`duplicate host name ${n}`);
    seen.add(n);
  }
  for (const [b, m] of Object.entries(backupMain)) {
    if (!backupNames.includes(b)) throw new Error(`--host ${b}:main=${m}: ${b} is not a backup of this lab`);
    if (!mainNames.includes(m)) throw new Error(`--host ${b}:main=${m}: no main ${m} (mains: ${mainNames.join(", ")}; add --mains N)`);
  }
  const mains = mainNames.map((_, i) => planMain(i + 1));
  const main = mains[0];
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
      mainName: backupMain[name] ?? MAIN_NAME,
    };
  });
  return { main, mains, backups };
}

/** Default link `link HOST` acts on: main's internet uplink, a backup's home link. */
export function defaultLinkFor(role: "main" | "backup"): LinkKind {
  return role === "main" ? "internet" : "home";
}

/** The plan a running lab was built from (from its lab.json). */
export function planOfLab(lab: { backups: readonly string[]; mains?: readonly string[]; hosts: Record<string, { main?: string }> }): TopologyPlan {
  const backupMain: Record<string, string> = {};
  for (const b of lab.backups) {
    const m = lab.hosts[b]?.main;
    if (m && m !== MAIN_NAME) backupMain[b] = m;
  }
  return planTopology(lab.backups, lab.mains?.length ?? 1, backupMain);
}
