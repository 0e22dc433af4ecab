/**
 * Per-host options of `lab up` (release, sshd mode, sshd port, backup user):
 * parsing of `--host NAME:key=value,...`, validation with errors that name the
 * setting, and normalisation (defaults dropped) so that lab.json records only
 * what differs from a plain host. Pure functions, no side effects.
 */
import type { HostOptions, SshdMode } from "./types";

/** Debian releases the lab can boot. */
export const RELEASES: readonly string[] = ["bookworm", "trixie"];
/** sshd modes (see {@link SshdMode}). */
export const SSHD_MODES: readonly SshdMode[] = ["service", "socket", "inetd", "sshd-unit"];
/** Default of {@link HostOptions.backupUser}. */
export const DEFAULT_BACKUP_USER = "pi";

const USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;

/** Keys accepted in `--host NAME:key=value` and the {@link HostOptions} field each sets. */
const KEYS: Record<string, keyof HostOptions> = {
  release: "release",
  sshd: "sshd",
  port: "sshPort",
  sshPort: "sshPort",
  user: "backupUser",
  backupUser: "backupUser",
  main: "main",
};

/** Parse one `--host` value, e.g. `backup1:release=trixie,sshd=socket,port=2022,user=admin`. */
export function parseHostSpec(spec: string): { name: string; options: HostOptions } {
  const colon = spec.indexOf(":");
  if (colon <= 0) throw new Error(`--host ${JSON.stringify(spec)}: expected NAME:key=value[,key=value...] (keys: release, sshd, port, user, main)`);
  const name = spec.slice(0, colon);
  const options: HostOptions = {};
  for (const part of spec.slice(colon + 1).split(",").filter(Boolean)) {
    const eq = part.indexOf("=");
    const key = eq > 0 ? part.slice(0, eq) : part;
    const field = KEYS[key];
    if (!field || eq <= 0) throw new Error(`--host ${name}: unknown or valueless setting ${JSON.stringify(part)} (use release=, sshd=, port=, user=, main=)`);
    const value = part.slice(eq + 1);
    if (field === "sshPort") options.sshPort = /^\d+$/.test(value) ? Number(value) : NaN;
    else (options as Record<string, string>)[field] = value;
  }
  return { name, options };
}

/** Merge several `--host` specs into one map (later specs for the same host add to earlier ones). */
export function parseHostSpecs(specs: readonly string[]): Record<string, HostOptions> {
  const out: Record<string, HostOptions> = {};
  for (const s of specs) {
    const { name, options } = parseHostSpec(s);
    out[name] = { ...out[name], ...options };
  }
  return out;
}

/**
 * Check one host's options; throws an error naming the host and the setting.
 * `role` is the host's role.
 */
export function validateHostOptions(name: string, role: "main" | "backup", o: HostOptions): void {
  const where = `--host ${name}`;
  if (o.release !== undefined && !RELEASES.includes(o.release)) {
    throw new Error(`${where}: release=${o.release} is not supported; use one of ${RELEASES.join(", ")}`);
  }
  if (o.sshd !== undefined && !SSHD_MODES.includes(o.sshd)) {
    throw new Error(`${where}: sshd=${o.sshd} is not a mode; use one of ${SSHD_MODES.join(", ")}`);
  }
  if (o.sshPort !== undefined && (!Number.isInteger(o.sshPort) || o.sshPort < 1 || o.sshPort > 65535)) {
    throw new Error(`${where}: port must be an integer in 1..65535`);
  }
  if (o.main !== undefined && role !== "backup") throw new Error(`${where}: main= is for backups only`);
  if (o.backupUser !== undefined) {
    if (role !== "backup") throw new Error(`${where}: user= is for backups only (main's admin user is always "admin")`);
    if (!USER_RE.test(o.backupUser) || o.backupUser === "root") {
      throw new Error(`${where}: user=${o.backupUser} is not a valid login name (use [a-z_][a-z0-9_-]*, not root)`);
    }
  }
}

/** Drop options equal to their defaults so that lab.json and the reuse check compare only real differences. */
export function normaliseHostOptions(o: HostOptions, labRelease: string): HostOptions {
  const out: HostOptions = {};
  if (o.release !== undefined && o.release !== labRelease) out.release = o.release;
  if (o.sshd !== undefined && o.sshd !== "service") out.sshd = o.sshd;
  if (o.sshPort !== undefined && o.sshPort !== 22) out.sshPort = o.sshPort;
  if (o.backupUser !== undefined && o.backupUser !== DEFAULT_BACKUP_USER) out.backupUser = o.backupUser;
  if (o.main !== undefined && o.main !== "main") out.main = o.main;
  return out;
}

/** The systemd unit that stands for sshd in each mode (what `sshd-restart` restarts). */
export function sshdUnitFor(mode: SshdMode): string {
  switch (mode) {
    case "service":
    case "socket":
      return "ssh.service";
    case "inetd":
      return "ssh.socket";
    case "sshd-unit":
      return "sshd.service";
  }
}
