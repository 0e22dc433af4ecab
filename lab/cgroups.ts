/**
 * Give each container its own cgroup. Without a systemd on the operator,
 * `--keep-unit` makes every systemd-nspawn reuse the caller's cgroup, so all
 * containers would share one `payload/` cgroup and their systemds would fight
 * over the same `system.slice/*` directories (units failing with 219/CGROUP).
 * The supervisor therefore moves itself into `<hierarchy><own cgroup>/rst-lab/<host>`
 * in the systemd-relevant hierarchies (v1 `name=systemd` and the v2 one).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { listMounts } from "./mounts";

/** Top-level cgroup directory name the lab creates. */
export const CGROUP_GROUP = "rst-lab";

/** Roots of the lab cgroup tree in every relevant hierarchy (may not exist yet). */
export function labCgroupRoots(): string[] {
  const self = fs.readFileSync("/proc/self/cgroup", "utf8");
  const ownPath = (match: (controllers: string) => boolean): string | null => {
    for (const line of self.split("\n")) {
      const m = /^\d+:([^:]*):(.*)$/.exec(line);
      if (m && match(m[1])) return m[2];
    }
    return null;
  };
  const roots: string[] = [];
  for (const m of listMounts()) {
    let own: string | null = null;
    if (m.fsType === "cgroup2") own = ownPath((c) => c === "");
    else if (m.fsType === "cgroup" && m.superOptions.split(",").includes("name=systemd")) own = ownPath((c) => c === "name=systemd");
    if (own !== null) roots.push(path.join(m.mountPoint, own, CGROUP_GROUP));
  }
  return [...new Set(roots)];
}

/** Cgroup directories a host's supervisor should join. */
export function hostCgroupDirs(name: string): string[] {
  return labCgroupRoots().map((r) => path.join(r, name));
}

/** Remove the (empty) lab cgroup trees, deepest first; cgroups still in use are left alone. */
export function removeLabCgroups(): void {
  const rmTree = (dir: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) rmTree(path.join(dir, e.name));
    try {
      fs.rmdirSync(dir);
    } catch {
      /* busy or already gone */
    }
  };
  for (const root of labCgroupRoots()) rmTree(root);
}
