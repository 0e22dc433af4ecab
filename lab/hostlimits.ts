/**
 * Kernel limits of the operator machine that a big lab outgrows. Every
 * container's systemd (and its journald, logind, dbus...) takes inotify
 * instances and kernel keyrings that the kernel counts per UID, and all
 * containers run as root: with Debian's defaults (128 inotify instances,
 * 200 keys) a lab of about 30 hosts stops booting ("Failed to allocate manager
 * object: Too many open files"). `up` raises these limits, never lowers them.
 */
import * as fs from "node:fs";

/** One sysctl and the value a lab of `hosts` hosts needs. */
export interface LimitNeed {
  key: string;
  need: number;
}

/** Values needed for `hosts` containers (measured: about 6 inotify instances and 12 keys per booted host). */
export function limitsFor(hosts: number): LimitNeed[] {
  return [
    { key: "fs.inotify.max_user_instances", need: 128 + 12 * hosts },
    { key: "fs.inotify.max_user_watches", need: 65536 + 4096 * hosts },
    { key: "kernel.keys.maxkeys", need: 200 + 30 * hosts },
    { key: "kernel.keys.maxbytes", need: 20000 + 30 * 100 * hosts },
  ];
}

const file = (key: string) => `/proc/sys/${key.replace(/\./g, "/")}`;

/** Raise each limit that is below what `hosts` containers need; returns what changed. */
export function raiseHostLimits(hosts: number, log: (m: string) => void = () => undefined): string[] {
  const changed: string[] = [];
  for (const { key, need } of limitsFor(hosts)) {
    let cur: number;
    try {
      cur = Number(fs.readFileSync(file(key), "utf8").trim());
    } catch {
      continue; // not on this kernel
    }
    if (cur >= need) continue;
    fs.writeFileSync(file(key), `${need}\n`);
    const line = `${key} ${cur} -> ${need}`;
    changed.push(line);
    log(`raised ${line} (for ${hosts} hosts)`);
  }
  return changed;
}
