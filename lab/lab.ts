/**
 * Lab lifecycle: `up` (build/reuse the base, overlays, provisioning, network,
 * containers, readiness, lab.json), `down` and `status`. Every step is
 * idempotent and cleans up what a crashed earlier run left behind.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { killStrayProcesses, leaderPid, nspawnPid, startContainer, stopContainer, supervisorPid } from "./container";
import { removeLabCgroups } from "./cgroups";
import { ensureKeypair } from "./keys";
import { isMountPoint, mountOverlay, removeTree, unmountTree } from "./mounts";
import {
  blackholed,
  currentSnat,
  guardInstalled,
  linkState,
  listLabNetns,
  netnsExists,
  setupNetwork,
  teardownNetwork,
} from "./network";
import { normaliseHostOptions, sshdUnitFor, validateHostOptions } from "./options";
import { hostPaths, hostsDir, keyPaths, knownHostsPath, labJsonPath, stateDir } from "./paths";
import { ADMIN_USER, BACKUP_USER, MAIN_ADMIN_KEY_PATH, provisionHost } from "./provision";
import { ensureBaseRootfs, type BaseRootfs } from "./rootfs";
import { RELEASES as RELEASE_NAMES } from "./options";
import { sshRun, writeKnownHosts } from "./ssh";
import {
  IF,
  INTERNET_SUBNET,
  LAN_SUBNET,
  MAIN_PUBLIC_ADDR,
  OPERATOR_MAIN_SUBNET,
  ROUTER_LAN_ADDR,
  ROUTER_NETNS,
  ROUTER_SPARE_WAN_ADDR,
  ROUTER_WAN_ADDR,
  planOfLab,
  planTopology,
  type HostPlan,
  type TopologyPlan,
} from "./topology";
import type { HostOptions, LabDescription, LabHost } from "./types";
import { waitReady, type ReadyInfo } from "./wait";
import { withLabLock } from "./lock";

/** Default Debian release of the hosts. */
export const DEFAULT_RELEASE = "bookworm";

/** Options of {@link labUp}. */
export interface UpOptions {
  release?: string;
  /** backup host names (default ["backup1"]) */
  backups?: string[];
  /** number of mains: "main", then "main2" .. (default 1); a backup joins one with `hosts.NAME.main` */
  mains?: number;
  /**
   * Per-host options by host name (release, sshd mode, sshd port, backup user); see
   * {@link HostOptions}. Default: none, every host a plain `release` host with ssh.service on 22.
   */
  hosts?: Record<string, HostOptions>;
  /** per-host readiness timeout (default 120 s) */
  timeoutMs?: number;
  /** rebuild everything even when a matching lab is already up */
  force?: boolean;
  log?: (msg: string) => void;
}

/** Read lab.json if present (no validation beyond JSON parsing). */
export function readLabJson(): LabDescription | null {
  try {
    return JSON.parse(fs.readFileSync(labJsonPath(), "utf8")) as LabDescription;
  } catch {
    return null;
  }
}

function writeLabJson(lab: LabDescription): void {
  const tmp = `${labJsonPath()}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(lab, null, 2) + "\n");
  fs.renameSync(tmp, labJsonPath());
}

/** Quick health check of a described lab: namespaces, containers, admin ssh. */
async function labHealthy(lab: LabDescription): Promise<boolean> {
  if (!netnsExists(ROUTER_NETNS)) return false;
  for (const h of Object.values(lab.hosts)) {
    if (!netnsExists(h.netns) || leaderPid(h.name) === null || !isMountPoint(h.rootfs)) return false;
  }
  const checks = await Promise.all(Object.values(lab.hosts).map((h) => sshRun(lab, h, "true", { connectTimeoutS: 3, timeoutMs: 8000 })));
  return checks.every((r) => r.code === 0);
}

/** Hosts that have a state directory (running or not). */
function knownHostNames(): string[] {
  try {
    return fs.readdirSync(hostsDir()).filter((n) => fs.statSync(path.join(hostsDir(), n)).isDirectory());
  } catch {
    return [];
  }
}

/** Stop containers, kill strays, unmount overlays, remove namespaces. Keeps host state. */
async function teardown(log: (m: string) => void, removeGuard = false): Promise<void> {
  const names = knownHostNames();
  await Promise.all(names.map((n) => stopContainer(n)));
  const killed = await killStrayProcesses();
  if (killed.length) log(`killed stray lab processes: ${killed.join(", ")}`);
  await unmountTree(hostsDir());
  await teardownNetwork(removeGuard);
  removeLabCgroups();
  for (const n of names) {
    const hp = hostPaths(n);
    fs.rmSync(hp.supervisorPidFile, { force: true });
    fs.rmSync(hp.nspawnPidFile, { force: true });
  }
  fs.rmSync(labJsonPath(), { force: true });
}

/** Mount and provision one host's overlay; resets its state if it was made from another base. */
/**
 * Identity of a host's overlay: its base plus the options that shape its files.
 * A host whose overlay was made for another identity is reset, so changing an
 * option rebuilds that host from its base (new host keys).
 */
export function hostStateId(baseId: string, o: HostOptions): string {
  const rest = { sshd: o.sshd, sshPort: o.sshPort, backupUser: o.backupUser };
  if (!rest.sshd && !rest.sshPort && !rest.backupUser) return baseId;
  return `${baseId}+${createHash("sha256").update(JSON.stringify(rest)).digest("hex").slice(0, 8)}`;
}

async function prepareHost(
  p: HostPlan,
  mainPlan: (name: string | undefined) => HostPlan,
  base: BaseRootfs,
  o: HostOptions,
  admin: { publicKey: string },
  mainAdmin: { privateKeyPath: string; publicKey: string },
  log: (m: string) => void,
) {
  const hp = hostPaths(p.name);
  const id = hostStateId(base.id, o);
  const prev = fs.existsSync(hp.baseIdFile) ? fs.readFileSync(hp.baseIdFile, "utf8").trim() : null;
  if (prev !== null && prev !== id) {
    log(`${p.name}: state was made for ${prev}, now ${id}: resetting it`);
    await removeTree(hp.dir);
  }
  fs.mkdirSync(hp.dir, { recursive: true });
  fs.writeFileSync(hp.baseIdFile, `${id}\n`);
  await mountOverlay(base.dir, hp.upper, hp.work, hp.merged);
  const hostKeys = await provisionHost({
    plan: p,
    root: hp.merged,
    adminPublicKey: admin.publicKey,
    mainAdmin,
    mainPublicAddr: p.role === "backup" ? mainPlan(p.mainName).publicAddr : undefined,
    sshd: o.sshd,
    sshPort: o.sshPort,
    backupUser: o.backupUser,
  });
  return { hp, hostKeys };
}

function describeHost(p: HostPlan, hostKeys: { ed25519: string; rsa: string }, adminKeyPath: string, release: string, o: HostOptions, plan: TopologyPlan): LabHost {
  const hp = hostPaths(p.name);
  const sshd = o.sshd ?? "service";
  return {
    name: p.name,
    role: p.role,
    index: p.index,
    addresses:
      p.role === "main"
        ? { operator: p.operatorAddr, operatorPeer: p.operatorPeerAddr, public: p.publicAddr ?? MAIN_PUBLIC_ADDR }
        : { operator: p.operatorAddr, operatorPeer: p.operatorPeerAddr, lan: p.lanAddr, homeLink: p.operatorAddr },
    adminUser: ADMIN_USER,
    adminKeyPath,
    hostKeys,
    rootfs: hp.merged,
    stateDir: hp.dir,
    consoleLog: hp.consoleLog,
    netns: p.netns,
    leaderPid: null,
    release,
    sshPort: o.sshPort ?? 22,
    sshd,
    sshdUnit: sshdUnitFor(sshd),
    ...(p.role === "backup"
      ? { backupUser: o.backupUser ?? BACKUP_USER, main: p.mainName ?? plan.main.name }
      : { backupsOf: plan.backups.filter((b) => (b.mainName ?? plan.main.name) === p.name).map((b) => b.name) }),
  };
}

function describeLab(
  plan: TopologyPlan,
  base: BaseRootfs,
  hosts: LabHost[],
  hostOptions: Record<string, HostOptions>,
  admin: { privateKeyPath: string; publicKey: string },
  mainAdmin: { privateKeyPath: string; publicKey: string },
): LabDescription {
  return {
    version: 1,
    createdAt: new Date().toISOString(),
    release: base.release,
    baseRootfs: base.dir,
    stateDir: stateDir(),
    knownHostsPath: knownHostsPath(),
    admin: { user: ADMIN_USER, privateKeyPath: admin.privateKeyPath, publicKey: admin.publicKey },
    mainAdminKey: { pathOnMain: MAIN_ADMIN_KEY_PATH, privateKeyPath: mainAdmin.privateKeyPath, publicKey: mainAdmin.publicKey, backupUser: BACKUP_USER },
    router: {
      netns: ROUTER_NETNS,
      wanInterface: IF.wan,
      wanAddress: ROUTER_WAN_ADDR,
      spareWanAddress: ROUTER_SPARE_WAN_ADDR,
      lanAddress: ROUTER_LAN_ADDR,
      lanSubnet: LAN_SUBNET,
    },
    subnets: { operatorMain: OPERATOR_MAIN_SUBNET, internet: INTERNET_SUBNET, lan: LAN_SUBNET, homeLinks: "10.231.(100+N).0/30" },
    main: plan.main.name,
    mains: plan.mains.map((m) => m.name),
    backups: plan.backups.map((b) => b.name),
    hostOptions,
    hosts: Object.fromEntries(hosts.map((h) => [h.name, h])),
  };
}

/** Result of {@link labUp}. */
export interface UpResult {
  lab: LabDescription;
  labJson: string;
  reused: boolean;
  ready: Record<string, ReadyInfo>;
  timings: Record<string, number>;
}

/**
 * Validate and normalise per-host options against the plan; throws an error
 * naming the host and setting before anything is touched.
 */
export function resolveHostOptions(plan: TopologyPlan, release: string, given: Record<string, HostOptions> = {}): Record<string, HostOptions> {
  const all = [...plan.mains, ...plan.backups];
  const out: Record<string, HostOptions> = {};
  for (const [name, o] of Object.entries(given)) {
    const p = all.find((h) => h.name === name);
    if (!p) throw new Error(`--host ${name}: no such host in this lab (hosts: ${all.map((h) => h.name).join(", ")})`);
    validateHostOptions(name, p.role, o);
    const n = normaliseHostOptions(o, release);
    if (Object.keys(n).length) out[name] = n;
  }
  return out;
}

/** Log a line every 10 s while a long step runs without logging anything itself. */
function heartbeat(log: (m: string) => void): { log: (m: string) => void; phase: (p: string) => void; stop: () => void } {
  const t0 = Date.now();
  let last = Date.now();
  let phase = "starting";
  const wrapped = (m: string) => {
    last = Date.now();
    log(m);
  };
  const timer = setInterval(() => {
    if (Date.now() - last >= 9_500) wrapped(`${phase} (${((Date.now() - t0) / 1000).toFixed(0)} s since up started)`);
  }, 1_000);
  return { log: wrapped, phase: (p) => (phase = p), stop: () => clearInterval(timer) };
}

/** Bring the lab up (or verify an identical running lab). Writes and returns lab.json's content. */
export function labUp(opts: UpOptions = {}): Promise<UpResult> {
  const release = opts.release ?? DEFAULT_RELEASE;
  let plan: TopologyPlan;
  let hostOptions: Record<string, HostOptions>;
  try {
    const backupMain = Object.fromEntries(Object.entries(opts.hosts ?? {}).flatMap(([n, o]) => (o.main ? [[n, o.main]] : [])));
    plan = planTopology(opts.backups ?? ["backup1"], opts.mains ?? 1, backupMain);
    if (!RELEASE_NAMES.includes(release)) throw new Error(`--release ${release} is not supported; use one of ${RELEASE_NAMES.join(", ")}`);
    hostOptions = resolveHostOptions(plan, release, opts.hosts);
  } catch (e) {
    return Promise.reject(e);
  }
  const hb = heartbeat(opts.log ?? (() => undefined));
  const log = hb.log;
  return withLabLock(async () => {
    const t0 = Date.now();
    const timings: Record<string, number> = {};
    const mark = (k: string, since: number) => (timings[k] = Date.now() - since);
    const existing = readLabJson();
    hb.phase("checking the running lab");
    if (
      !opts.force &&
      existing &&
      existing.release === release &&
      JSON.stringify(existing.backups) === JSON.stringify(plan.backups.map((b) => b.name)) &&
      JSON.stringify(existing.mains ?? ["main"]) === JSON.stringify(plan.mains.map((m) => m.name)) &&
      JSON.stringify(existing.hostOptions ?? {}) === JSON.stringify(hostOptions) &&
      (await labHealthy(existing))
    ) {
      log("lab already up and healthy");
      for (const h of Object.values(existing.hosts)) h.leaderPid = leaderPid(h.name);
      writeLabJson(existing);
      mark("total", t0);
      return { lab: existing, labJson: labJsonPath(), reused: true, ready: {}, timings };
    }
    let t = Date.now();
    hb.phase("tearing down the previous lab");
    await teardown(log);
    mark("cleanup", t);
    t = Date.now();
    const all = [...plan.mains, ...plan.backups];
    const mainPlan = (name: string | undefined) => plan.mains.find((m) => m.name === (name ?? plan.main.name))!;
    const releaseOf = (name: string) => hostOptions[name]?.release ?? release;
    const releases = [...new Set([release, ...all.map((p) => releaseOf(p.name))])];
    hb.phase(`building base rootfs (${releases.join(", ")})`);
    const bases = new Map<string, BaseRootfs>();
    await Promise.all(releases.map(async (r) => bases.set(r, await ensureBaseRootfs(r, log))));
    const base = bases.get(release)!;
    mark("baseRootfs", t);
    t = Date.now();
    hb.phase("provisioning hosts");
    const keys = keyPaths();
    const admin = await ensureKeypair(keys.admin, "lab-admin@operator");
    const mainAdmin = await ensureKeypair(keys.mainAdmin, "admin@main");
    const prepared = await Promise.all(
      all.map((p) => prepareHost(p, mainPlan, bases.get(releaseOf(p.name))!, hostOptions[p.name] ?? {}, admin, mainAdmin, log)),
    );
    const hosts = all.map((p, i) => describeHost(p, prepared[i].hostKeys, admin.privateKeyPath, releaseOf(p.name), hostOptions[p.name] ?? {}, plan));
    const lab = describeLab(plan, base, hosts, hostOptions, admin, mainAdmin);
    writeKnownHosts(lab.knownHostsPath, hosts);
    mark("provision", t);
    t = Date.now();
    hb.phase("setting up the network");
    await setupNetwork(plan);
    mark("network", t);
    t = Date.now();
    for (const h of hosts) startContainer(h.name);
    const ready: Record<string, ReadyInfo> = {};
    const waiting = new Set(hosts.map((h) => h.name));
    const bootPhase = () => hb.phase(`booting: waiting for ${[...waiting].slice(0, 8).join(" ")}${waiting.size > 8 ? ` and ${waiting.size - 8} more` : ""} (${hosts.length - waiting.size}/${hosts.length} ready)`);
    bootPhase();
    try {
      await Promise.all(
        hosts.map(async (h) => {
          ready[h.name] = await waitReady(lab, h, opts.timeoutMs ?? 120_000);
          waiting.delete(h.name);
          bootPhase();
          log(`${h.name} ready in ${ready[h.name].ms} ms (${h.release}, sshd ${h.sshd} on ${h.sshPort}; ${ready[h.name].systemState}${ready[h.name].failedUnits.length ? `: failed ${ready[h.name].failedUnits.join(" ")}` : ""})`);
        }),
      );
    } catch (e) {
      writeLabJson(lab); // keep the description so `status`/`down` can inspect the failure
      throw e;
    }
    mark("boot", t);
    for (const h of hosts) h.leaderPid = leaderPid(h.name);
    writeLabJson(lab);
    mark("total", t0);
    return { lab, labJson: labJsonPath(), reused: false, ready, timings };
  }).finally(() => hb.stop());
}

/** Options of {@link labDown}. */
export interface DownOptions {
  /**
   * Also delete per-host state and the lab's keys, and remove the root-namespace
   * guard (nft table + unreachable route). The base rootfs cache is always kept.
   */
  purge?: boolean;
  log?: (msg: string) => void;
}

/** Tear the lab down: containers, mounts, namespaces. Idempotent. */
export function labDown(opts: DownOptions = {}): Promise<void> {
  const log = opts.log ?? (() => undefined);
  return withLabLock(async () => {
    await teardown(log, !!opts.purge);
    fs.rmSync(knownHostsPath(), { force: true });
    if (opts.purge) {
      await removeTree(hostsDir());
      fs.rmSync(keyPaths().dir, { recursive: true, force: true });
      log(`purged ${hostsDir()} and ${keyPaths().dir}`);
    }
  });
}

/** Status of one host. */
export interface HostStatus {
  name: string;
  role: string;
  running: boolean;
  leaderPid: number | null;
  supervisorPid: number | null;
  nspawnPid: number | null;
  netns: boolean;
  mounted: boolean;
  operatorAddress: string;
  links: Record<string, string>;
}

/** Status of the whole lab. */
export interface LabStatus {
  labJson: string | null;
  release: string | null;
  netns: string[];
  /** root-namespace guard (no lab traffic via eth0) installed */
  guard: boolean;
  router: { present: boolean; snat: string | null; blackholed: string[] };
  hosts: HostStatus[];
}

function linkText(s: { admin: boolean; oper: string } | null): string {
  return s === null ? "missing" : s.admin ? s.oper.toLowerCase() : "down(admin)";
}

/** Inspect the lab without changing anything. */
export async function labStatus(): Promise<LabStatus> {
  const lab = readLabJson();
  const routerUp = netnsExists(ROUTER_NETNS);
  const hosts: HostStatus[] = [];
  if (lab) {
    const plan = planOfLab(lab);
    for (const p of [...plan.mains, ...plan.backups]) {
      const h = lab.hosts[p.name];
      const links: Record<string, string> = { [p.role === "main" ? "operator" : "home"]: linkText(await linkState(null, p.rootIf)) };
      if (routerUp) {
        if (p.role === "main") links.internet = linkText(await linkState(ROUTER_NETNS, p.routerWanIf!));
        else links.lan = linkText(await linkState(ROUTER_NETNS, p.routerPort!));
      }
      const leader = leaderPid(p.name);
      hosts.push({
        name: p.name,
        role: p.role,
        running: leader !== null,
        leaderPid: leader,
        supervisorPid: supervisorPid(p.name),
        nspawnPid: nspawnPid(p.name),
        netns: netnsExists(p.netns),
        mounted: isMountPoint(h?.rootfs ?? hostPaths(p.name).merged),
        operatorAddress: p.operatorAddr,
        links,
      });
    }
  }
  return {
    labJson: lab ? labJsonPath() : null,
    release: lab?.release ?? null,
    netns: await listLabNetns(),
    guard: await guardInstalled(),
    router: {
      present: routerUp,
      snat: routerUp ? await currentSnat().catch(() => null) : null,
      blackholed: routerUp ? await blackholed().catch(() => []) : [],
    },
    hosts,
  };
}
