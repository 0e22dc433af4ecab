/**
 * Cached base root filesystem built with debootstrap, shared read-only by all
 * hosts as the overlayfs lower layer. Built atomically (temp dir + rename) and
 * keyed by release and a hash of the recipe, under `${RST_CACHE_DIR}/rootfs/`.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { removeTree } from "./mounts";
import { rootfsCacheDir } from "./paths";
import { runOk } from "./proc";

/** Debian mirror used for the base (the only one reachable here). */
export const DEBIAN_MIRROR = "http://deb.debian.org/debian";

/** Packages added to the minbase variant. */
export const BASE_PACKAGES: readonly string[] = [
  "systemd-sysv",
  "dbus",
  "openssh-server",
  "sudo",
  "iproute2",
  "procps",
  "iputils-ping",
  "netcat-openbsd",
  "socat",
  "nftables",
  "conntrack",
];

/** Units masked in the base: periodic jobs and the console login, for quiet, deterministic boots. */
export const MASKED_UNITS: readonly string[] = [
  "apt-daily.timer",
  "apt-daily-upgrade.timer",
  "dpkg-db-backup.timer",
  "e2scrub_all.timer",
  "fstrim.timer",
  "man-db.timer",
  "console-getty.service",
  "systemd-networkd-wait-online.service",
];

/** Bump when the post-processing below changes, to force a new cache entry. */
const RECIPE_VERSION = 1;

/** Identity of a base root filesystem. */
export interface BaseRootfs {
  /** `<release>-<hash>` */
  id: string;
  release: string;
  dir: string;
}

/** Compute the cache id and directory for a release (no disk access). */
export function baseRootfsFor(release: string): BaseRootfs {
  const recipe = JSON.stringify({ v: RECIPE_VERSION, release, mirror: DEBIAN_MIRROR, pkgs: [...BASE_PACKAGES].sort(), masked: MASKED_UNITS });
  const hash = createHash("sha256").update(recipe).digest("hex").slice(0, 12);
  const id = `${release}-${hash}`;
  return { id, release, dir: path.join(rootfsCacheDir(), id) };
}

const MARKER = "etc/rst-lab-base";

/** True when the cached base for `base` is complete. */
export function baseIsReady(base: BaseRootfs): boolean {
  try {
    return fs.readFileSync(path.join(base.dir, MARKER), "utf8").trim() === base.id;
  } catch {
    return false;
  }
}

/** existsSync without following symlinks (guest symlinks are absolute, relative to the guest root). */
export function lexists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Remove temp build dirs left by crashed builds (their builder pid is gone). */
async function removeStaleBuilds(): Promise<void> {
  const dir = rootfsCacheDir();
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir)) {
    const m = /^\.build-.*-(\d+)$/.exec(e);
    if (m && !pidAlive(Number(m[1]))) await removeTree(path.join(dir, e));
  }
}

/** Post-process a fresh debootstrap tree so it can be shared by many hosts. */
function finalizeTree(root: string, id: string): void {
  const p = (rel: string) => path.join(root, rel);
  for (const f of fs.readdirSync(p("etc/ssh"))) {
    if (f.startsWith("ssh_host_")) fs.rmSync(p(`etc/ssh/${f}`));
  }
  fs.writeFileSync(p("etc/machine-id"), "");
  const dbusId = p("var/lib/dbus/machine-id");
  if (lexists(dbusId) && !fs.lstatSync(dbusId).isSymbolicLink()) fs.rmSync(dbusId);
  fs.rmSync(p("etc/hostname"), { force: true });
  fs.writeFileSync(p("etc/hostname"), "localhost\n");
  fs.rmSync(p("etc/resolv.conf"), { force: true });
  fs.writeFileSync(p("etc/resolv.conf"), "# lab hosts have no DNS\n");
  for (const unit of MASKED_UNITS) {
    const link = p(`etc/systemd/system/${unit}`);
    fs.rmSync(link, { force: true });
    fs.symlinkSync("/dev/null", link);
  }
  const wants = p("etc/systemd/system/multi-user.target.wants");
  fs.mkdirSync(wants, { recursive: true });
  if (!lexists(path.join(wants, "ssh.service"))) {
    fs.symlinkSync("/lib/systemd/system/ssh.service", path.join(wants, "ssh.service"));
  }
  for (const d of ["var/cache/apt/archives", "var/lib/apt/lists"]) {
    const dir = p(d);
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir)) {
      const full = path.join(dir, f);
      if (fs.lstatSync(full).isFile()) fs.rmSync(full);
    }
  }
  fs.writeFileSync(p(MARKER), `${id}\n`);
}

/**
 * Return the cached base for `release`, building it with debootstrap if missing.
 * `log` receives progress lines.
 */
export async function ensureBaseRootfs(release: string, log: (msg: string) => void = () => undefined): Promise<BaseRootfs> {
  const base = baseRootfsFor(release);
  if (baseIsReady(base)) return base;
  fs.mkdirSync(rootfsCacheDir(), { recursive: true });
  await removeStaleBuilds();
  const tmp = path.join(rootfsCacheDir(), `.build-${base.id}-${process.pid}`);
  await removeTree(tmp);
  log(`building base rootfs ${base.id} with debootstrap (takes a minute or two)...`);
  const started = Date.now();
  // a progress line every 10 s: debootstrap's latest step (I: Retrieving/Unpacking/Configuring ...)
  let lastLine = "starting";
  const ticker = setInterval(
    () => log(`${release}: debootstrap ${((Date.now() - started) / 1000).toFixed(0)} s: ${lastLine}`),
    10_000,
  );
  try {
    await runOk(
      "debootstrap",
      ["--variant=minbase", `--include=${BASE_PACKAGES.join(",")}`, "--components=main", release, tmp, DEBIAN_MIRROR],
      {
        timeoutMs: 20 * 60_000,
        env: { DEBIAN_FRONTEND: "noninteractive" },
        onOutput: (chunk) => {
          const lines = chunk.split("\n").map((l) => l.trim()).filter(Boolean);
          if (lines.length) lastLine = lines[lines.length - 1].slice(0, 120);
        },
      },
    );
    finalizeTree(tmp, base.id);
    if (baseIsReady(base)) {
      await removeTree(tmp); // someone else finished first
    } else {
      if (fs.existsSync(base.dir)) await removeTree(base.dir); // incomplete leftover
      fs.renameSync(tmp, base.dir);
    }
  } catch (e) {
    await removeTree(tmp).catch(() => undefined);
    throw e;
  } finally {
    clearInterval(ticker);
  }
  log(`base rootfs ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${base.dir}`);
  return base;
}
