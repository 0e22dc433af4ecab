/**
 * Typed client for tests, benchmarks and the demo: read the running lab's
 * description, run commands in hosts, SSH as admin, inject faults.
 * Importing this module has no side effects.
 *
 * @example
 *   const lab = loadLab();
 *   const r = await hostExec("main", ["ss", "-tln"]);
 *   await setLink("backup1", "down");
 */
import * as fs from "node:fs";
import * as faults from "./faults";
import { labUp, type UpOptions, type UpResult } from "./lab";
import { execIn } from "./nsexec";
import * as pidns from "./pidns";
import { labJsonPath } from "./paths";
import type { RunResult } from "./proc";
import { sshRun } from "./ssh";
import type { LinkKind } from "./topology";
import type { LabDescription, LabHost } from "./types";
import type { ReadyInfo } from "./wait";

export type { LabDescription, LabHost, HostRole, HostAddresses, HostPublicKeys, LabRouter, MainAdminKey } from "./types";
export type { LinkKind } from "./topology";
export type { RunResult } from "./proc";
export type { NatRotateResult, RebootOptions } from "./faults";
export type { ReadyInfo } from "./wait";
export type { UpOptions, UpResult } from "./lab";
export type { PidNsOptions, PidNsProcess } from "./pidns";
export type { HostOptions, SshdMode } from "./types";

/** Error thrown by {@link loadLab} when no lab is up. */
export class LabNotUpError extends Error {
  constructor(file: string) {
    super(`no lab description at ${file}: run \`npm run lab -- up\` first`);
    this.name = "LabNotUpError";
  }
}

/** Read `.state/lab/lab.json` (or `file`). Throws {@link LabNotUpError} when missing. */
export function loadLab(file: string = labJsonPath()): LabDescription {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new LabNotUpError(file);
  }
  const lab = JSON.parse(text) as LabDescription;
  if (lab.version !== 1 || typeof lab.hosts !== "object") throw new Error(`${file}: unexpected lab.json format`);
  return lab;
}

/** True when a lab description exists (cheap check for `describe.skipIf`). */
export function labIsUp(file: string = labJsonPath()): boolean {
  return fs.existsSync(file);
}

/** A host name or a host object from the lab description. */
export type HostRef = string | LabHost;

const nameOf = (h: HostRef) => (typeof h === "string" ? h : h.name);

/** Look up a host of the lab by name. */
export function getHost(host: HostRef, lab: LabDescription = loadLab()): LabHost {
  const h = lab.hosts[nameOf(host)];
  if (!h) throw new Error(`no host ${nameOf(host)} in the lab`);
  return h;
}

/** Options of {@link hostExec} and {@link adminSsh}. */
export interface CommandOptions {
  /** written to the command's stdin, then closed (default: no stdin) */
  stdin?: string | Buffer;
  /** kill after this long; the result then has code 124 */
  timeoutMs?: number;
}

/**
 * Run a command as root inside `host` through its namespaces (nsenter with the
 * container init's pid; no network involved). A string runs via `/bin/sh -c`.
 * Never rejects for a non-zero exit code.
 */
export function hostExec(host: HostRef, command: readonly string[] | string, opts: CommandOptions = {}): Promise<RunResult> {
  return execIn(nameOf(host), command, opts);
}

/**
 * Real SSH from the operator to `host` as its admin user with the lab admin key
 * (BatchMode, StrictHostKeyChecking against the lab's known_hosts, ConnectTimeout 5 s).
 */
export function adminSsh(host: HostRef, command: string, opts: CommandOptions & { connectTimeoutS?: number } = {}, lab: LabDescription = loadLab()): Promise<RunResult> {
  return sshRun(lab, getHost(host, lab), command, opts);
}

/** Cut (`"down"`) or restore (`"up"`) a link: a backup's home link or main's internet link by default. */
export function setLink(host: HostRef, state: "up" | "down", kind?: LinkKind, lab: LabDescription = loadLab()): Promise<LinkKind> {
  return faults.setLink(lab, nameOf(host), state === "up", kind);
}

/** State of a link as the kernel reports it ("up", "down(admin)", "lowerlayerdown", ...). */
export function getLink(host: HostRef, kind?: LinkKind, lab: LabDescription = loadLab()): Promise<string> {
  return faults.getLink(lab, nameOf(host), kind);
}

/** Silently drop traffic between a backup (default: all) and main in the router. Returns blackholed LAN addresses. */
export function setBlackhole(on: boolean, backup?: HostRef, lab: LabDescription = loadLab()): Promise<string[]> {
  return faults.setBlackhole(lab, on, backup === undefined ? undefined : nameOf(backup));
}

/** Switch the router's public (SNAT) address and flush its conntrack table; see faults.natRotate. */
export function natRotate(to?: string, lab: LabDescription = loadLab()): Promise<faults.NatRotateResult> {
  return faults.natRotate(lab, to);
}

/** Restart a host's container (clean, or `hard` power cut) and wait until it is ready again. */
export function rebootHost(host: HostRef, opts: faults.RebootOptions = {}, lab: LabDescription = loadLab()): Promise<ReadyInfo> {
  return faults.rebootHost(lab, nameOf(host), opts);
}

/** Restart sshd inside a host (`systemctl restart ssh`). */
export function restartSshd(host: HostRef, lab: LabDescription = loadLab()): Promise<void> {
  return faults.restartSshd(lab, nameOf(host));
}

/**
 * Start a "container on `host`": `command` (default `sleep infinity`) running as
 * `uid` in a PID namespace of its own, as a transient system service (own
 * cgroup, like a container runtime's). Returns its PID in the host's namespace,
 * its unit and `aliveCheck`, a shell test that exits 0 while it lives.
 *
 * @example
 *   const c = await startInPidNamespace("main", 1001);
 *   await pidNsAlive(c);            // true
 *   await hostExec("main", c.aliveCheck);  // code 0 while alive
 *   await stopPidNs(c);
 */
export function startInPidNamespace(host: HostRef, uid: number, opts: pidns.PidNsOptions = {}): Promise<pidns.PidNsProcess> {
  return pidns.startInPidNamespace(nameOf(host), uid, opts);
}

/** True while a process from {@link startInPidNamespace} lives (same PID and start time). */
export function pidNsAlive(p: pidns.PidNsProcess): Promise<boolean> {
  return pidns.pidNsAlive(p);
}

/** Stop a process from {@link startInPidNamespace} (its transient unit); fine if already gone. */
export function stopPidNs(p: pidns.PidNsProcess): Promise<void> {
  return pidns.stopPidNs(p);
}

/**
 * Bring the lab up with these options (same as `lab up`): reuses a running lab
 * with identical options, rebuilds otherwise (a few seconds warm). Tests that
 * need host variants call it in `beforeAll`; the lab project's global setup
 * brings up the default lab.
 *
 * @example
 *   await upLab({ backups: ["backup1"], hosts: { main: { release: "trixie", sshd: "socket" }, backup1: { sshPort: 2022, backupUser: "admin" } } });
 */
export function upLab(opts: UpOptions = {}): Promise<UpResult> {
  return labUp(opts);
}
