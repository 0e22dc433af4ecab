/**
 * Where the lab hosts' CPU goes during a benchmark step: each host's systemd puts
 * sshd, logins, journald and so on in their own cgroups, and cgroup v2 keeps a removed
 * child's usage in its parent, so a few long-lived cgroups per host give an exact split:
 *
 *   logins      user.slice: Pulumi's SSH logins (the apply scripts and everything they
 *               run: sshd -T checks, useradd, systemctl), the tunnels' own sessions,
 *               and the per-user `systemd --user` managers logind starts for them
 *   sshd        system.slice/ssh.service: the listener, pre-auth children, connections
 *               before logind moves them into a session
 *   journald, logind, dbus, systemd (init.scope, PID 1)
 *   tunnel units  system.slice/reverse-ssh-tunnel-*.service (the backups' ssh clients,
 *               main's health timer)
 *   other       the rest of system.slice and the host's other cgroups
 *
 * Inside `logins`, a sampler (every 0.5 s) splits by user and by kind (session scopes vs
 * `user@UID.service` managers); that split is approximate (a session that starts and
 * ends between two samples is missed), the categories above are exact.
 */
import * as fs from "node:fs";
import * as path from "node:path";

const BASE = "/sys/fs/cgroup/unified/rst-lab";

/** Exact categories, as paths under a host's `payload/` cgroup (first match wins). */
const CATEGORIES: Array<[string, (rel: string) => boolean]> = [
    ["logins", (r) => r === "user.slice"],
    ["sshd", (r) => /^system\.slice\/(ssh|sshd)\.service$/.test(r)],
    ["journald", (r) => r === "system.slice/systemd-journald.service"],
    ["logind", (r) => r === "system.slice/systemd-logind.service"],
    ["dbus", (r) => r === "system.slice/dbus.service"],
    ["systemd", (r) => r === "init.scope"],
    ["tunnel units", (r) => /^system\.slice\/reverse-ssh-tunnel[^/]*\.service$/.test(r)],
];

function usage(dir: string): number {
    try {
        return Number(/usage_usec (\d+)/.exec(fs.readFileSync(path.join(dir, "cpu.stat"), "utf8"))?.[1] ?? 0) / 1e6;
    } catch {
        return 0;
    }
}

function subdirs(dir: string): string[] {
    try {
        return fs
            .readdirSync(dir, { withFileTypes: true })
            .filter((e) => e.isDirectory())
            .map((e) => e.name);
    } catch {
        return [];
    }
}

/** CPU seconds per host role ("main" or "backups") and category, now. */
export function hostCpuNow(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const host of subdirs(BASE)) {
        const role = host === "main" ? "main" : "backups";
        const r = (out[role] ??= {});
        const payload = path.join(BASE, host, "payload");
        const total = usage(path.join(BASE, host));
        let named = 0;
        const visit = (rel: string) => {
            const cat = CATEGORIES.find(([, m]) => m(rel));
            if (cat) {
                const u = usage(path.join(payload, rel));
                r[cat[0]] = (r[cat[0]] ?? 0) + u;
                named += u;
                return;
            }
            // Descend only where a category can still be found below.
            if (rel === "" || rel === "system.slice") for (const d of subdirs(path.join(payload, rel))) visit(rel === "" ? d : `${rel}/${d}`);
        };
        visit("");
        r.other = (r.other ?? 0) + Math.max(0, total - named);
    }
    return out;
}

/** `after - before`, category by category. */
export function diffCpu(before: Record<string, Record<string, number>>, after: Record<string, Record<string, number>>): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [role, cats] of Object.entries(after)) {
        for (const [cat, v] of Object.entries(cats)) (out[role] ??= {})[cat] = Math.max(0, v - (before[role]?.[cat] ?? 0));
    }
    return out;
}

/**
 * Samples the children of every host's user.slice while a step runs, keeping per
 * child cgroup the largest usage seen and the usage at its first sighting; stop()
 * returns the growth per user slice and kind. Approximate: see the module comment.
 */
export function sampleLogins(intervalMs = 500): { stop: () => Record<string, Record<string, number>> } {
    const atStart = new Map<string, number>();
    const last = new Map<string, number>();
    const take = (initial: boolean) => {
        for (const host of subdirs(BASE)) {
            const us = path.join(BASE, host, "payload", "user.slice");
            for (const slice of subdirs(us)) {
                for (const unit of subdirs(path.join(us, slice))) {
                    const key = `${host === "main" ? "main" : "backups"}|${slice}|${unit.startsWith("user@") ? "systemd --user" : "sessions"}|${host}/${unit}`;
                    const u = usage(path.join(us, slice, unit));
                    if (initial) atStart.set(key, u);
                    last.set(key, Math.max(last.get(key) ?? 0, u));
                }
            }
        }
    };
    take(true);
    const timer = setInterval(() => take(false), intervalMs);
    return {
        stop() {
            clearInterval(timer);
            take(false);
            const out: Record<string, Record<string, number>> = {};
            for (const [key, u] of last) {
                const [role, slice, kind] = key.split("|") as [string, string, string];
                // A cgroup first seen during the step started in it: all its usage counts.
                const k = `${slice} ${kind}`;
                const r = (out[role] ??= {});
                r[k] = (r[k] ?? 0) + (u - (atStart.get(key) ?? 0));
            }
            return out;
        },
    };
}
