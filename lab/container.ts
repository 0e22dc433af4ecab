/**
 * Start and stop one host's container: systemd-nspawn (under a small
 * supervisor that restarts it on a guest reboot) booting the host's merged
 * overlay inside its pre-made network namespace.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { hostCgroupDirs } from "./cgroups";
import { netnsInode } from "./network";
import { LAB_CODE_DIR, hostPaths, hostsDir } from "./paths";
import { run, sleep } from "./proc";
import { findLabProcesses, findLeaderByNetInode, pidAlive, readPidFile, readProc } from "./procfs";
import { NS_PREFIX } from "./topology";

/** Arguments for systemd-nspawn booting host `name` from `merged`. */
export function nspawnArgs(name: string, merged: string): string[] {
  return [
    "-b",
    "--register=no",
    "--keep-unit",
    "-D",
    merged,
    `--network-namespace-path=/run/netns/${NS_PREFIX}${name}`,
    `--machine=${NS_PREFIX}${name}`,
    `--hostname=${name}`,
    "--console=read-only",
    "--resolv-conf=off",
    "--timezone=off",
    "--link-journal=no",
  ];
}

/** PID of the host's container init, found by its network namespace; null if not running. */
export function leaderPid(name: string): number | null {
  const ino = netnsInode(NS_PREFIX + name);
  return ino === null ? null : findLeaderByNetInode(ino);
}

function pidMatches(pid: number | null, needle: string, merged: string): pid is number {
  if (pid === null) return false;
  const p = readProc(pid);
  return !!p && p.argv.some((a) => a.endsWith(needle)) && p.argv.some((a) => a.includes(merged));
}

/** PID of the host's systemd-nspawn process, if running. */
export function nspawnPid(name: string): number | null {
  const hp = hostPaths(name);
  const pid = readPidFile(hp.nspawnPidFile);
  return pidMatches(pid, "systemd-nspawn", hp.merged) ? pid : null;
}

/** PID of the host's supervisor shell, if running. */
export function supervisorPid(name: string): number | null {
  const hp = hostPaths(name);
  const pid = readPidFile(hp.supervisorPidFile);
  return pidMatches(pid, "supervise.sh", hp.merged) ? pid : null;
}

/** Start the host's container detached (new session, stdin /dev/null, console appended to console.log). */
export function startContainer(name: string): number {
  const hp = hostPaths(name);
  fs.mkdirSync(hp.dir, { recursive: true });
  fs.rmSync(hp.stopFile, { force: true });
  const log = fs.openSync(hp.consoleLog, "a");
  fs.writeSync(log, `\n===== [lab] starting ${name} at ${new Date().toISOString()} =====\n`);
  const child = spawn(
    "/bin/sh",
    [path.join(LAB_CODE_DIR, "supervise.sh"), hp.nspawnPidFile, hp.stopFile, ...hostCgroupDirs(name), "--", "systemd-nspawn", ...nspawnArgs(name, hp.merged)],
    { detached: true, stdio: ["ignore", log, log] },
  );
  fs.closeSync(log);
  if (child.pid === undefined) throw new Error(`could not start supervisor for ${name}`);
  child.unref();
  fs.writeFileSync(hp.supervisorPidFile, `${child.pid}\n`);
  return child.pid;
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

async function waitGone(pids: number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!pids.some(pidAlive)) return true;
    await sleep(100);
  }
  return !pids.some(pidAlive);
}

/** Options of {@link stopContainer}. */
export interface StopOptions {
  /** Skip the clean poweroff and SIGKILL the container at once (power cut). */
  hard?: boolean;
  /** How long a clean poweroff may take before falling back to SIGKILL. Default 20 s. */
  timeoutMs?: number;
}

/**
 * Stop the host's container: a stop marker keeps the supervisor from
 * restarting it, nspawn gets SIGTERM (clean guest poweroff; nspawn and the
 * supervisor then exit by themselves), and whatever is left after the timeout
 * is SIGKILLed. Safe when nothing runs.
 */
export async function stopContainer(name: string, opts: StopOptions = {}): Promise<void> {
  const hp = hostPaths(name);
  if (fs.existsSync(hp.dir)) fs.writeFileSync(hp.stopFile, "");
  const start = Date.now();
  const softUntil = opts.hard ? start : start + (opts.timeoutMs ?? 20_000);
  const politelyAsked = new Set<number>();
  for (;;) {
    const sup = supervisorPid(name);
    const nsp = nspawnPid(name);
    const leader = leaderPid(name);
    if (sup === null && nsp === null && leader === null) return;
    const now = Date.now();
    if (now < softUntil) {
      if (nsp !== null && !politelyAsked.has(nsp)) {
        kill(nsp, "SIGTERM");
        politelyAsked.add(nsp);
      } else if (nsp === null && leader !== null && !politelyAsked.has(leader)) {
        await run("kill", ["-s", "RTMIN+4", String(leader)]); // systemd: poweroff
        politelyAsked.add(leader);
      }
    } else {
      if (leader !== null) kill(leader, "SIGKILL");
      if (nsp !== null) kill(nsp, "SIGKILL");
      // the supervisor exits once nspawn is gone; kill it if it lingers
      if (sup !== null && nsp === null && leader === null && now > softUntil + 2000) kill(sup, "SIGKILL");
    }
    if (now > softUntil + 15_000) throw new Error(`${name}: container processes do not die (supervisor ${sup}, nspawn ${nsp}, init ${leader})`);
    await sleep(100);
  }
}

/** SIGKILL every lab process found by scanning /proc (crash recovery). Returns what was killed. */
export async function killStrayProcesses(): Promise<number[]> {
  const found = findLabProcesses(hostsDir());
  const all = [...found.supervisors, ...found.inits, ...found.nspawns];
  for (const pid of all) kill(pid, "SIGKILL");
  if (all.length && !(await waitGone(all, 10_000))) throw new Error(`stray lab processes survive SIGKILL: ${all.join(", ")}`);
  return all;
}
