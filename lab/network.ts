/**
 * Network namespaces, veths, the router's bridge and nftables rules of the lab.
 * Everything lives in `rst-*` namespaces plus `rst-*` veth ends in the root
 * namespace; a root-namespace guard table refuses to forward any lab packet.
 */
import * as fs from "node:fs";
import { run, runOk } from "./proc";
import {
  IF,
  INTERNET_SUBNET,
  LAB_SUPERNET,
  LAN_SUBNET,
  MAIN_OPERATOR_ADDR,
  MAIN_PUBLIC_ADDR,
  NS_PREFIX,
  OPERATOR_MAIN_ADDR,
  ROUTER_LAN_ADDR,
  ROUTER_NETNS,
  ROUTER_SPARE_WAN_ADDR,
  ROUTER_WAN_ADDR,
  type HostPlan,
  type TopologyPlan,
} from "./topology";

/** nftables table (root namespace) that drops forwarding to/from lab interfaces. */
export const GUARD_TABLE = "rst_lab_guard";

const ip = (args: string[]) => runOk("ip", args);
const ipn = (ns: string, args: string[]) => runOk("ip", ["-n", ns, ...args]);

/** Run `cmd` inside network namespace `ns` (root namespace's binaries). */
export function nsRun(ns: string, cmd: string, args: readonly string[], stdin?: string) {
  return run("ip", ["netns", "exec", ns, cmd, ...args], { stdin });
}

async function nsRunOk(ns: string, cmd: string, args: readonly string[], stdin?: string): Promise<string> {
  const r = await nsRun(ns, cmd, args, stdin);
  if (r.code !== 0) throw new Error(`[${ns}] ${cmd} ${args.join(" ")} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Names of existing lab network namespaces. */
export async function listLabNetns(): Promise<string[]> {
  const out = await runOk("ip", ["-j", "netns", "list"]).catch(() => "");
  if (!out.trim()) return [];
  return (JSON.parse(out) as { name: string }[]).map((n) => n.name).filter((n) => n.startsWith(NS_PREFIX));
}

/** True when /run/netns/NAME exists. */
export function netnsExists(name: string): boolean {
  return fs.existsSync(`/run/netns/${name}`);
}

/** Inode of a named netns (matches `net:[INODE]` in /proc/PID/ns/net). */
export function netnsInode(name: string): number | null {
  try {
    return fs.statSync(`/run/netns/${name}`).ino;
  } catch {
    return null;
  }
}

async function addNetns(name: string): Promise<void> {
  await ip(["netns", "add", name]);
  await ipn(name, ["link", "set", "lo", "up"]);
}

function disableRootIpv6(ifname: string): void {
  try {
    fs.writeFileSync(`/proc/sys/net/ipv6/conf/${ifname}/disable_ipv6`, "1");
  } catch {
    /* IPv6 not available: nothing to disable */
  }
}

/** Create a veth with one end in the root namespace (named `rootIf`) and the other in `ns`. */
async function addRootVeth(rootIf: string, ns: string, nsIf: string, rootAddr: string, nsAddr: string, prefix: number) {
  await ip(["link", "add", rootIf, "type", "veth", "peer", "name", nsIf, "netns", ns]);
  disableRootIpv6(rootIf);
  await ip(["addr", "add", `${rootAddr}/${prefix}`, "dev", rootIf]);
  await ip(["link", "set", rootIf, "up"]);
  await ipn(ns, ["addr", "add", `${nsAddr}/${prefix}`, "dev", nsIf]);
  await ipn(ns, ["link", "set", nsIf, "up"]);
}

/**
 * nft script for the router: SNAT of the LAN to `snatAddr` towards main, plus
 * the blackhole set. Further mains (`others`) get their SNAT in a chain of
 * their own, so that `nat-rotate` (which rewrites only main's chain) keeps them.
 */
export function routerRuleset(snatAddr: string, others: readonly HostPlan[] = []): string {
  const mains = [MAIN_PUBLIC_ADDR, ...others.map((m) => m.publicAddr!)].join(", ");
  const more = others.map((m) => `    oifname "${m.routerWanIf}" ip saddr ${LAN_SUBNET} snat to ${m.routerWanAddr}`).join("\n");
  return `
table ip rst_nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "${IF.wan}" ip saddr ${LAN_SUBNET} snat to ${snatAddr}
  }
  chain postrouting_mains {
    type nat hook postrouting priority srcnat + 1; policy accept;
${more}
  }
}
table inet rst_faults {
  set blackholed { type ipv4_addr; }
  set mains { type ipv4_addr; elements = { ${mains} }; }
  chain forward {
    type filter hook forward priority filter; policy accept;
    ip saddr @blackholed ip daddr @mains drop
    ip saddr @mains ip daddr @blackholed drop
  }
}
`;
}

/**
 * nft script for the root-namespace guard: never forward lab traffic (e.g. out
 * of eth0) and never let the operator send lab-addressed packets anywhere but
 * into a lab veth.
 */
export function guardRuleset(): string {
  return `
table inet ${GUARD_TABLE} {
  chain forward {
    type filter hook forward priority filter - 10; policy accept;
    iifname "${NS_PREFIX}*" drop
    oifname "${NS_PREFIX}*" drop
  }
  chain output {
    type filter hook output priority filter - 10; policy accept;
    ip daddr ${LAB_SUPERNET} oifname != "${NS_PREFIX}*" drop
  }
}
`;
}

async function setupBackup(b: HostPlan): Promise<void> {
  await addNetns(b.netns);
  const port = b.routerPort!;
  await ipn(ROUTER_NETNS, ["link", "add", port, "type", "veth", "peer", "name", IF.backupLan, "netns", b.netns]);
  await ipn(ROUTER_NETNS, ["link", "set", port, "master", IF.bridge]);
  await ipn(ROUTER_NETNS, ["link", "set", port, "up"]);
  await ipn(b.netns, ["addr", "add", `${b.lanAddr}/24`, "dev", IF.backupLan]);
  await ipn(b.netns, ["link", "set", IF.backupLan, "up"]);
  await ipn(b.netns, ["route", "add", "default", "via", ROUTER_LAN_ADDR]);
  await addRootVeth(b.rootIf, b.netns, IF.backupHome, b.operatorPeerAddr, b.operatorAddr, 30);
}

/** Build the whole network. Assumes no lab namespace exists (call {@link teardownNetwork} first). */
export async function setupNetwork(plan: TopologyPlan): Promise<void> {
  await run("nft", ["delete", "table", "inet", GUARD_TABLE]);
  await runOk("nft", ["-f", "-"], { stdin: guardRuleset() });
  // lab addresses without a lab veth route (e.g. the home LAN) must fail locally, not go to the default route
  await ip(["route", "replace", "unreachable", LAB_SUPERNET]);
  // operator <-> main
  await addNetns(plan.main.netns);
  await addRootVeth(plan.main.rootIf, plan.main.netns, IF.mainOperator, OPERATOR_MAIN_ADDR, MAIN_OPERATOR_ADDR, 30);
  // main <-> router ("internet")
  await addNetns(ROUTER_NETNS);
  await nsRunOk(ROUTER_NETNS, "sysctl", ["-qw", "net.ipv4.ip_forward=1"]);
  await ipn(plan.main.netns, ["link", "add", IF.wan, "type", "veth", "peer", "name", IF.wan, "netns", ROUTER_NETNS]);
  await ipn(plan.main.netns, ["addr", "add", `${MAIN_PUBLIC_ADDR}/24`, "dev", IF.wan]);
  await ipn(plan.main.netns, ["link", "set", IF.wan, "up"]);
  await ipn(ROUTER_NETNS, ["addr", "add", `${ROUTER_WAN_ADDR}/24`, "dev", IF.wan]);
  await ipn(ROUTER_NETNS, ["addr", "add", `${ROUTER_SPARE_WAN_ADDR}/24`, "dev", IF.wan]);
  await ipn(ROUTER_NETNS, ["link", "set", IF.wan, "up"]);
  // home LAN bridge
  await ipn(ROUTER_NETNS, ["link", "add", IF.bridge, "type", "bridge"]);
  await ipn(ROUTER_NETNS, ["addr", "add", `${ROUTER_LAN_ADDR}/24`, "dev", IF.bridge]);
  await ipn(ROUTER_NETNS, ["link", "set", IF.bridge, "up"]);
  const others = plan.mains.slice(1);
  for (const m of others) await setupExtraMain(m);
  await nsRunOk(ROUTER_NETNS, "nft", ["-f", "-"], routerRuleset(ROUTER_WAN_ADDR, others));
  for (const b of plan.backups) await setupBackup(b);
}

/** A further main: its operator link and an internet segment of its own to the router (10.231.(10+K).0/24). */
async function setupExtraMain(m: HostPlan): Promise<void> {
  await addNetns(m.netns);
  await addRootVeth(m.rootIf, m.netns, IF.mainOperator, m.operatorPeerAddr, m.operatorAddr, 30);
  await ipn(m.netns, ["link", "add", IF.wan, "type", "veth", "peer", "name", m.routerWanIf!, "netns", ROUTER_NETNS]);
  await ipn(m.netns, ["addr", "add", `${m.publicAddr}/24`, "dev", IF.wan]);
  await ipn(m.netns, ["link", "set", IF.wan, "up"]);
  await ipn(ROUTER_NETNS, ["addr", "add", `${m.routerWanAddr}/24`, "dev", m.routerWanIf!]);
  await ipn(ROUTER_NETNS, ["link", "set", m.routerWanIf!, "up"]);
}

/**
 * Delete every `rst-*` netns and leftover `rst-*` root interfaces. Idempotent.
 * The root-namespace guard (nft table + unreachable route for 10.231.0.0/16)
 * stays unless `removeGuard`, so that a stray connection to a lab address
 * while the lab is down fails locally instead of leaving through eth0.
 */
export async function teardownNetwork(removeGuard = false): Promise<void> {
  for (const ns of await listLabNetns()) {
    const r = await run("ip", ["netns", "del", ns]);
    if (r.code !== 0 && netnsExists(ns)) throw new Error(`ip netns del ${ns}: ${r.stderr.trim()}`);
  }
  const links = await runOk("ip", ["-j", "link", "show"]);
  for (const l of JSON.parse(links) as { ifname: string }[]) {
    if (l.ifname.startsWith(NS_PREFIX)) await run("ip", ["link", "del", l.ifname]);
  }
  if (removeGuard) {
    await run("nft", ["delete", "table", "inet", GUARD_TABLE]);
    await run("ip", ["route", "del", "unreachable", LAB_SUPERNET]);
  }
}

/** True when the root-namespace guard table is installed. */
export async function guardInstalled(): Promise<boolean> {
  return (await run("nft", ["list", "table", "inet", GUARD_TABLE])).code === 0;
}

/** Operational state of an interface (`UP`, `DOWN`, `LOWERLAYERDOWN`, ...), or null if missing. */
export async function linkState(ns: string | null, ifname: string): Promise<{ admin: boolean; oper: string } | null> {
  const r = await run("ip", [...(ns ? ["-n", ns] : []), "-j", "link", "show", "dev", ifname]);
  if (r.code !== 0) return null;
  const [l] = JSON.parse(r.stdout) as { flags: string[]; operstate: string }[];
  return { admin: l.flags.includes("UP"), oper: l.operstate };
}

/** Set an interface administratively up or down (`ns` null = root namespace). */
export async function setIfUp(ns: string | null, ifname: string, up: boolean): Promise<void> {
  await runOk("ip", [...(ns ? ["-n", ns] : []), "link", "set", "dev", ifname, up ? "up" : "down"]);
}

/** The address the router currently SNATs the LAN to. */
export async function currentSnat(): Promise<string> {
  const out = await nsRunOk(ROUTER_NETNS, "nft", ["list", "chain", "ip", "rst_nat", "postrouting"]);
  const m = /snat (?:ip )?to ([0-9.]+)/.exec(out);
  if (!m) throw new Error(`no SNAT rule found in router:\n${out}`);
  return m[1];
}

/** Replace the router's SNAT rule atomically. */
export async function setSnat(addr: string): Promise<void> {
  const script = `flush chain ip rst_nat postrouting
add rule ip rst_nat postrouting oifname "${IF.wan}" ip saddr ${LAN_SUBNET} snat to ${addr}
`;
  await nsRunOk(ROUTER_NETNS, "nft", ["-f", "-"], script);
}

/** Addresses currently in the router's blackhole set. */
export async function blackholed(): Promise<string[]> {
  const out = await nsRunOk(ROUTER_NETNS, "nft", ["-j", "list", "set", "inet", "rst_faults", "blackholed"]);
  const doc = JSON.parse(out) as { nftables: { set?: { elem?: unknown[] } }[] };
  const set = doc.nftables.find((x) => x.set)?.set;
  return (set?.elem ?? []).filter((e): e is string => typeof e === "string");
}

/** Replace the blackhole set's contents atomically. */
export async function setBlackholed(addrs: readonly string[]): Promise<void> {
  let script = "flush set inet rst_faults blackholed\n";
  if (addrs.length) script += `add element inet rst_faults blackholed { ${addrs.join(", ")} }\n`;
  await nsRunOk(ROUTER_NETNS, "nft", ["-f", "-"], script);
}

/** Subnets, exported for documentation/lab.json. */
export const SUBNETS = { internet: INTERNET_SUBNET, lan: LAN_SUBNET };
