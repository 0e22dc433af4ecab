/**
 * /proc scanning: find a container's init ("leader") by its network namespace,
 * and find stray lab processes after a crash.
 */
import * as fs from "node:fs";

/** Facts about one process read from /proc. */
export interface ProcInfo {
  pid: number;
  ppid: number;
  argv: string[];
  /** NSpid chain: first = pid in our namespace, last = pid in its own namespace */
  nsPids: number[];
  /** inode of its network namespace */
  netInode: number | null;
}

function readOr(file: string): string | null {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return null;
  }
}

/** Read one process; null if it vanished. */
export function readProc(pid: number): ProcInfo | null {
  const status = readOr(`/proc/${pid}/status`);
  if (status === null) return null;
  const field = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, "m").exec(status)?.[1] ?? "";
  const cmdline = readOr(`/proc/${pid}/cmdline`) ?? "";
  let netInode: number | null = null;
  try {
    const m = /net:\[(\d+)\]/.exec(fs.readlinkSync(`/proc/${pid}/ns/net`));
    netInode = m ? Number(m[1]) : null;
  } catch {
    /* kernel thread or gone */
  }
  return {
    pid,
    ppid: Number(field("PPid")),
    argv: cmdline.split("\0").filter((a, i, all) => a !== "" || i < all.length - 1),
    nsPids: field("NSpid").split(/\s+/).filter(Boolean).map(Number),
    netInode,
  };
}

/** All processes currently visible. */
export function listProcs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    const p = readProc(Number(e));
    if (p) out.push(p);
  }
  return out;
}

/** True when `p` is the init (pid 1) of a nested pid namespace. */
export function isNamespaceInit(p: ProcInfo): boolean {
  return p.nsPids.length >= 2 && p.nsPids[p.nsPids.length - 1] === 1;
}

/**
 * The container init living in the network namespace with inode `netInode`, if
 * any. A host may run PID namespaces of its own (a container on main, see
 * lab/pidns.ts) whose PID 1 shares the host's netns; the host's init is the
 * least nested one (shortest NSpid chain).
 */
export function findLeaderByNetInode(netInode: number, procs: ProcInfo[] = listProcs()): number | null {
  let best: ProcInfo | null = null;
  for (const x of procs) {
    if (x.netInode !== netInode || !isNamespaceInit(x)) continue;
    if (best === null || x.nsPids.length < best.nsPids.length) best = x;
  }
  return best ? best.pid : null;
}

/** True if `pid` exists (and is not a zombie). */
export function pidAlive(pid: number): boolean {
  const status = readOr(`/proc/${pid}/status`);
  return status !== null && !/^State:\s*Z/m.test(status);
}

/** Read a pid file; null if missing or malformed. */
export function readPidFile(file: string): number | null {
  const s = readOr(file);
  const n = s === null ? NaN : Number(s.trim());
  return Number.isInteger(n) && n > 0 ? n : null;
}

/** The root mount's overlay options of a process (from its mountinfo), or "" if unreadable. */
export function rootMountOptions(pid: number): string {
  const mi = readOr(`/proc/${pid}/mountinfo`) ?? "";
  for (const line of mi.split("\n")) {
    const [left, right] = line.split(" - ");
    if (!right) continue;
    if (left.split(" ")[4] === "/") return right;
  }
  return "";
}

/**
 * Stray lab processes: supervisors and nspawn instances whose command line
 * mentions `hostsDir`, and container inits whose root is an overlay with an
 * upperdir under `hostsDir` (e.g. orphaned after nspawn was SIGKILLed).
 */
export function findLabProcesses(hostsDir: string): { supervisors: number[]; nspawns: number[]; inits: number[] } {
  const procs = listProcs();
  const self = process.pid;
  const mentions = (p: ProcInfo) => p.argv.some((a) => a.includes(hostsDir));
  const supervisors = procs.filter((p) => p.pid !== self && mentions(p) && p.argv.some((a) => a.endsWith("supervise.sh")));
  const nspawns = procs.filter((p) => p.pid !== self && mentions(p) && p.argv.some((a) => a.endsWith("systemd-nspawn")));
  const inits = procs.filter((p) => isNamespaceInit(p) && rootMountOptions(p.pid).includes(`upperdir=${hostsDir}/`));
  return { supervisors: supervisors.map((p) => p.pid), nspawns: nspawns.map((p) => p.pid), inits: inits.map((p) => p.pid) };
}
