/**
 * Mount helpers: list mounts from /proc/self/mountinfo, mount/unmount overlayfs,
 * and remove directory trees safely (never descending into a mount).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { run, runOk } from "./proc";

/** One line of /proc/self/mountinfo (fields we use). */
export interface MountEntry {
  mountPoint: string;
  fsType: string;
  source: string;
  superOptions: string;
}

function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parse the text of a mountinfo file. */
export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const [left, right] = line.split(" - ");
    if (!right) continue;
    const l = left.split(" ");
    const r = right.split(" ");
    entries.push({
      mountPoint: unescapeMountField(l[4] ?? ""),
      fsType: r[0] ?? "",
      source: unescapeMountField(r[1] ?? ""),
      superOptions: r[2] ?? "",
    });
  }
  return entries;
}

/** Current mounts of this process's mount namespace. */
export function listMounts(): MountEntry[] {
  return parseMountInfo(fs.readFileSync("/proc/self/mountinfo", "utf8"));
}

/** Mount points equal to or below `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  const root = path.resolve(dir);
  const points = listMounts()
    .map((m) => m.mountPoint)
    .filter((p) => p === root || p.startsWith(root + "/"));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** True when `dir` itself is a mount point. */
export function isMountPoint(dir: string): boolean {
  const root = path.resolve(dir);
  return listMounts().some((m) => m.mountPoint === root);
}

/** Unmount everything at or below `dir` (deepest first), lazily if busy. */
export async function unmountTree(dir: string): Promise<void> {
  for (let pass = 0; pass < 5; pass++) {
    const points = mountsUnder(dir);
    if (points.length === 0) return;
    for (const p of points) {
      const r = await run("umount", [p]);
      if (r.code !== 0) await run("umount", ["-l", p]);
    }
  }
  const left = mountsUnder(dir);
  if (left.length) throw new Error(`could not unmount: ${left.join(", ")}`);
}

/** Mount an overlay of `lower` (read-only) with `upper`/`work` at `merged`; no-op if already mounted. */
export async function mountOverlay(lower: string, upper: string, work: string, merged: string): Promise<void> {
  for (const d of [upper, work, merged]) fs.mkdirSync(d, { recursive: true });
  if (isMountPoint(merged)) return;
  await runOk("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged]);
}

/** Unmount everything below `dir`, then delete it without crossing filesystem boundaries. */
export async function removeTree(dir: string): Promise<void> {
  if (!fs.existsSync(dir)) return;
  await unmountTree(dir);
  await runOk("rm", ["-rf", "--one-file-system", "--", dir]);
}
