/**
 * Filesystem locations used by the lab. Pure functions and constants only:
 * nothing here touches the disk at import time.
 */
import * as path from "node:path";

/** Repository root (the directory holding package.json). */
export const REPO_ROOT = path.resolve(__dirname, "..");

/** Directory holding this lab's code (for the supervisor script). */
export const LAB_CODE_DIR = __dirname;

/** Per-checkout lab state (ignored by git): `.state/lab`, overridable by `RST_LAB_STATE_DIR`. */
export function stateDir(): string {
  return path.resolve(process.env.RST_LAB_STATE_DIR ?? path.join(REPO_ROOT, ".state", "lab"));
}

/** Shared cache outside the repo: `${RST_CACHE_DIR:-/var/cache/reverse-ssh-tunnel}`. */
export function cacheDir(): string {
  return path.resolve(process.env.RST_CACHE_DIR ?? "/var/cache/reverse-ssh-tunnel");
}

/** Directory holding cached base root filesystems, one per `<release>-<hash>`. */
export function rootfsCacheDir(): string {
  return path.join(cacheDir(), "rootfs");
}

/** Paths of one host's state directory. */
export interface HostPaths {
  dir: string;
  upper: string;
  work: string;
  merged: string;
  consoleLog: string;
  supervisorPidFile: string;
  nspawnPidFile: string;
  /** present while a stop is requested: the supervisor then does not restart a rebooting guest */
  stopFile: string;
  baseIdFile: string;
}

/** Paths of a host's per-host state (overlay upper/work/merged, logs, pid files). */
export function hostPaths(name: string): HostPaths {
  const dir = path.join(stateDir(), "hosts", name);
  return {
    dir,
    upper: path.join(dir, "upper"),
    work: path.join(dir, "work"),
    merged: path.join(dir, "merged"),
    consoleLog: path.join(dir, "console.log"),
    supervisorPidFile: path.join(dir, "supervisor.pid"),
    nspawnPidFile: path.join(dir, "nspawn.pid"),
    stopFile: path.join(dir, "stop-requested"),
    baseIdFile: path.join(dir, "base-id"),
  };
}

/** Directory holding all hosts' state. */
export function hostsDir(): string {
  return path.join(stateDir(), "hosts");
}

/** Key material generated per lab. */
export function keyPaths(): { dir: string; admin: string; mainAdmin: string } {
  const dir = path.join(stateDir(), "keys");
  return {
    dir,
    admin: path.join(dir, "admin_ed25519"),
    mainAdmin: path.join(dir, "main_admin_ed25519"),
  };
}

/** The lab description written by `up`. */
export function labJsonPath(): string {
  return path.join(stateDir(), "lab.json");
}

/** known_hosts generated from the hosts' public keys (used by adminSsh). */
export function knownHostsPath(): string {
  return path.join(stateDir(), "known_hosts");
}

/** Lock file serialising up/down/reboot. */
export function lockPath(): string {
  return path.join(stateDir(), "lock");
}
