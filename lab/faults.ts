/**
 * Fault injection for tests and benchmarks: cut links, blackhole traffic in
 * the router, rotate the NAT's public address, reboot hosts, restart sshd.
 */
import * as fs from "node:fs";
import { startContainer, stopContainer, leaderPid } from "./container";
import { withLabLock } from "./lock";
import { blackholed, currentSnat, linkState, nsRun, setBlackholed, setIfUp, setSnat } from "./network";
import { execIn } from "./nsexec";
import { labJsonPath } from "./paths";
import { ROUTER_NETNS, ROUTER_SPARE_WAN_ADDR, ROUTER_WAN_ADDR, defaultLinkFor, planOfLab, type LinkKind } from "./topology";
import type { LabDescription, LabHost } from "./types";
import { waitReady, type ReadyInfo } from "./wait";

function hostOf(lab: LabDescription, name: string): LabHost {
  const h = lab.hosts[name];
  if (!h) throw new Error(`no host ${JSON.stringify(name)} in the lab (hosts: ${Object.keys(lab.hosts).join(", ")})`);
  return h;
}

/** Where a link is cut: the far end of the host's cable, so the host's own interface config is untouched. */
export function linkEndpoint(lab: LabDescription, host: string, kind?: LinkKind): { ns: string | null; ifname: string; kind: LinkKind } {
  const h = hostOf(lab, host);
  const k = kind ?? defaultLinkFor(h.role);
  const plan = planOfLab(lab);
  const p = [...plan.mains, ...plan.backups].find((x) => x.name === host)!;
  switch (k) {
    case "operator":
    case "home":
      if ((k === "home") !== (h.role === "backup")) throw new Error(`${host} has no ${k} link`);
      return { ns: null, ifname: p.rootIf, kind: k };
    case "internet":
      if (h.role !== "main") throw new Error(`only mains have an "internet" link (a backup's uplink is "lan")`);
      return { ns: ROUTER_NETNS, ifname: p.routerWanIf!, kind: k };
    case "lan":
      if (h.role !== "backup") throw new Error(`only backups have a "lan" link`);
      return { ns: ROUTER_NETNS, ifname: p.routerPort!, kind: k };
  }
}

/**
 * Cut (`up=false`) or restore a link. Default link: a backup's home link
 * (operator <-> backup), main's internet link (main <-> router). Also
 * `operator` (operator <-> main) and `lan` (backup <-> router).
 */
export async function setLink(lab: LabDescription, host: string, up: boolean, kind?: LinkKind): Promise<LinkKind> {
  const e = linkEndpoint(lab, host, kind);
  await setIfUp(e.ns, e.ifname, up);
  return e.kind;
}

/** Current state of a link ("up", "down(admin)", ...). */
export async function getLink(lab: LabDescription, host: string, kind?: LinkKind): Promise<string> {
  const e = linkEndpoint(lab, host, kind);
  const s = await linkState(e.ns, e.ifname);
  return s === null ? "missing" : s.admin ? s.oper.toLowerCase() : "down(admin)";
}

/**
 * Silently drop (in the router's forward path, no RST/ICMP) all packets between
 * a backup's LAN address and main's public address. `backup` omitted = all backups.
 * Returns the LAN addresses currently blackholed.
 */
export async function setBlackhole(lab: LabDescription, on: boolean, backup?: string): Promise<string[]> {
  const targets = (backup ? [backup] : lab.backups).map((b) => {
    const h = hostOf(lab, b);
    if (h.role !== "backup" || !h.addresses.lan) throw new Error(`${b} is not a backup`);
    return h.addresses.lan;
  });
  const current = new Set(await blackholed());
  for (const a of targets) {
    if (on) current.add(a);
    else current.delete(a);
  }
  await setBlackholed([...current]);
  return [...current];
}

/** Result of {@link natRotate}. */
export interface NatRotateResult {
  from: string;
  to: string;
  /** conntrack entries flushed in the router */
  flushed: number;
}

/**
 * Switch the router's SNAT address (default: between 10.231.1.2 and the spare
 * 10.231.1.3) and flush the router's conntrack table. Established flows are not
 * remapped cleanly: the next packet a backup sends on one is NATed afresh from
 * the new address, main answers it with a RST (unknown 4-tuple) and the backup's
 * connection is reset; packets main sends on an old flow reach the router's old
 * address with no conntrack entry and are answered with a RST by the router. So
 * every old flow dies as soon as either side sends something (idle flows linger
 * until keepalives); new connections come from the new address.
 */
export async function natRotate(lab: LabDescription, to?: string): Promise<NatRotateResult> {
  const from = await currentSnat();
  const target = to ?? (from === ROUTER_WAN_ADDR ? ROUTER_SPARE_WAN_ADDR : ROUTER_WAN_ADDR);
  if (![ROUTER_WAN_ADDR, ROUTER_SPARE_WAN_ADDR].includes(target)) {
    throw new Error(`router WAN addresses are ${ROUTER_WAN_ADDR} and ${ROUTER_SPARE_WAN_ADDR}, not ${target}`);
  }
  await setSnat(target);
  // conntrack(8) from the base rootfs, run in the router's namespace (the operator needs no conntrack package)
  const conntrack = (arg: string) => nsRun(ROUTER_NETNS, "chroot", [lab.baseRootfs, "/usr/sbin/conntrack", arg]);
  const count = await conntrack("-C");
  const r = await conntrack("-F");
  if (r.code !== 0) throw new Error(`conntrack -F in ${ROUTER_NETNS} failed: ${r.stderr.trim()}`);
  return { from, to: target, flushed: Number(count.stdout.trim()) || 0 };
}

/** Options of {@link rebootHost}. */
export interface RebootOptions {
  /** SIGKILL the container instead of a clean poweroff (power cut). */
  hard?: boolean;
  /** readiness timeout after the restart (default 120 s) */
  timeoutMs?: number;
}

/**
 * Restart a host's container (clean poweroff, or a power cut with `hard`) and
 * wait until it is ready again. Its filesystem persists (overlay upper).
 * Updates the leader pid in lab.json.
 */
export function rebootHost(lab: LabDescription, host: string, opts: RebootOptions = {}): Promise<ReadyInfo> {
  const h = hostOf(lab, host);
  return withLabLock(async () => {
    await stopContainer(host, { hard: opts.hard });
    startContainer(host);
    const ready = await waitReady(lab, h, opts.timeoutMs ?? 120_000);
    h.leaderPid = leaderPid(host);
    try {
      const onDisk = JSON.parse(fs.readFileSync(labJsonPath(), "utf8")) as LabDescription;
      if (onDisk.hosts[host]) {
        onDisk.hosts[host].leaderPid = h.leaderPid;
        fs.writeFileSync(labJsonPath(), JSON.stringify(onDisk, null, 2) + "\n");
      }
    } catch {
      /* lab.json gone: nothing to update */
    }
    return ready;
  });
}

/**
 * Restart sshd inside the host: `systemctl restart` of its sshd unit (ssh.service,
 * sshd.service, or ssh.socket for per-connection sshd); throws if it fails.
 */
export async function restartSshd(lab: LabDescription, host: string): Promise<void> {
  const unit = hostOf(lab, host).sshdUnit ?? "ssh.service";
  const r = await execIn(host, ["systemctl", "restart", unit], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`${host}: systemctl restart ${unit} failed (${r.code}): ${r.stderr.trim()}`);
}
