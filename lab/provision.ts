/**
 * Per-host customisation of a host's merged overlay before it boots:
 * hostname, machine-id, sshd host keys, users and their keys. Idempotent; it
 * keeps whatever an earlier run (or a test) left in the host's overlay.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { ensureHostKeys } from "./keys";
import { DEFAULT_BACKUP_USER } from "./options";
import { runOk } from "./proc";
import type { HostPlan } from "./topology";
import type { SshdMode } from "./types";
import { applySshdVariant } from "./variants";

/** Administrative user on every host. */
export const ADMIN_USER = "admin";
/** Unprivileged user on backups that main's admin logs into through the tunnel (default; see HostOptions.backupUser). */
export const BACKUP_USER = DEFAULT_BACKUP_USER;
/** Where main's admin keypair lives inside main. */
export const MAIN_ADMIN_KEY_PATH = "/home/admin/.ssh/id_ed25519";

/** Inputs of {@link provisionHost}. */
export interface ProvisionInput {
  plan: HostPlan;
  /** merged overlay root */
  root: string;
  adminPublicKey: string;
  /** main's admin keypair: installed on main, its public key authorised for `pi` on backups */
  mainAdmin: { privateKeyPath: string; publicKey: string };
  /** backups only: public address of the backup's main (its /etc/hosts `main` entry) */
  mainPublicAddr?: string;
  /** how sshd runs (default "service") */
  sshd?: SshdMode;
  /** sshd's port (default 22) */
  sshPort?: number;
  /** backups only: user holding main's admin key (default "pi"; "admin" = no extra user) */
  backupUser?: string;
}

interface Passwd {
  uid: number;
  gid: number;
  home: string;
}

function lookupUser(root: string, user: string): Passwd | null {
  const line = fs
    .readFileSync(path.join(root, "etc/passwd"), "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${user}:`));
  if (!line) return null;
  const f = line.split(":");
  return { uid: Number(f[2]), gid: Number(f[3]), home: f[5] };
}

async function ensureUser(root: string, user: string, groups: string[], comment: string): Promise<Passwd> {
  let pw = lookupUser(root, user);
  if (!pw) {
    const g = groups.length ? ["--groups", groups.join(",")] : [];
    // password "*": no password login, but not "locked" (pubkey works even with UsePAM no)
    await runOk("chroot", [root, "useradd", "--create-home", "--shell", "/bin/bash", "--password", "*", "--comment", comment, ...g, user]);
    pw = lookupUser(root, user);
    if (!pw) throw new Error(`useradd ${user} did not create the user`);
  }
  return pw;
}

/**
 * Write a file in the guest tree, replacing a symlink rather than following it
 * (guest symlinks are absolute and would point into the operator's own tree).
 */
function writeGuest(file: string, content: string, mode = 0o644): void {
  try {
    if (fs.lstatSync(file).isSymbolicLink()) fs.unlinkSync(file);
  } catch {
    /* missing: fine */
  }
  fs.writeFileSync(file, content, { mode });
  fs.chmodSync(file, mode);
}

/** Write `content` to `file` (in the guest tree) owned by `pw` with `mode`. */
function writeOwned(file: string, content: string, pw: Passwd, mode: number): void {
  writeGuest(file, content, mode);
  fs.chownSync(file, pw.uid, pw.gid);
  fs.chmodSync(file, mode);
}

function ensureSshDir(root: string, pw: Passwd): string {
  const dir = path.join(root, pw.home.replace(/^\//, ""), ".ssh");
  fs.mkdirSync(dir, { recursive: true });
  fs.chownSync(dir, pw.uid, pw.gid);
  fs.chmodSync(dir, 0o700);
  return dir;
}

/** Make sure `line` is present in the user's authorized_keys (other lines are kept). */
function authorize(root: string, pw: Passwd, line: string): void {
  const file = path.join(ensureSshDir(root, pw), "authorized_keys");
  const current = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  const lines = current.split("\n").filter((l) => l.trim());
  if (!lines.includes(line)) lines.push(line);
  writeOwned(file, lines.join("\n") + "\n", pw, 0o600);
}

function hostsFile(plan: HostPlan, mainPublicAddr: string | undefined): string {
  const lines = [
    "127.0.0.1\tlocalhost",
    `127.0.1.1\t${plan.name}`,
    "::1\t\tlocalhost ip6-localhost ip6-loopback",
    "ff02::1\t\tip6-allnodes",
    "ff02::2\t\tip6-allrouters",
  ];
  if (plan.role === "backup" && mainPublicAddr) lines.push(`${mainPublicAddr}\tmain`);
  return lines.join("\n") + "\n";
}

/** Customise one host's root filesystem; returns its public host keys. */
export async function provisionHost(input: ProvisionInput): Promise<{ ed25519: string; rsa: string }> {
  const { plan, root } = input;
  const etc = (rel: string) => path.join(root, "etc", rel);
  writeGuest(etc("hostname"), `${plan.name}\n`);
  writeGuest(etc("hosts"), hostsFile(plan, input.mainPublicAddr));
  const mid = fs.existsSync(etc("machine-id")) ? fs.readFileSync(etc("machine-id"), "utf8").trim() : "";
  if (!/^[0-9a-f]{32}$/.test(mid)) writeGuest(etc("machine-id"), randomBytes(16).toString("hex") + "\n", 0o444);
  const hostKeys = await ensureHostKeys(etc("ssh"), plan.name);

  const admin = await ensureUser(root, ADMIN_USER, ["sudo"], "Lab admin");
  writeGuest(etc("sudoers.d/90-lab-admin"), `${ADMIN_USER} ALL=(ALL:ALL) NOPASSWD: ALL\n`, 0o440);
  authorize(root, admin, input.adminPublicKey);

  if (plan.role === "main") {
    const dir = ensureSshDir(root, admin);
    const priv = fs.readFileSync(input.mainAdmin.privateKeyPath, "utf8");
    writeOwned(path.join(dir, "id_ed25519"), priv, admin, 0o600);
    writeOwned(path.join(dir, "id_ed25519.pub"), input.mainAdmin.publicKey + "\n", admin, 0o644);
  } else {
    const name = input.backupUser ?? BACKUP_USER;
    const user = name === ADMIN_USER ? admin : await ensureUser(root, name, [], "Backup user");
    authorize(root, user, input.mainAdmin.publicKey);
  }
  applySshdVariant(root, input.sshd ?? "service", input.sshPort ?? 22);
  return hostKeys;
}
