/** Read-only probes of lab hosts used by the lab tests. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { hostExec, LabDescription } from "../../lab/client";

/** Runs a shell snippet as root on a lab host and returns stdout; throws on failure. */
export async function sh(host: string, script: string, opts: { stdin?: string; allowFail?: boolean } = {}): Promise<string> {
    const r = await hostExec(host, ["bash", "-c", script], { ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}), timeoutMs: 120_000 });
    if (r.code !== 0 && !opts.allowFail) throw new Error(`${host}: ${script.slice(0, 80)}... exit ${r.code}: ${r.stderr}`);
    return r.stdout;
}

/**
 * Path -> "mode owner group sha256" for everything under /etc, except the `-`
 * backups shadow-utils writes on every account change and its lock file.
 */
export async function etcSnapshot(host: string): Promise<Map<string, string>> {
    const out = await sh(
        host,
        `find /etc -xdev \\( -type f -o -type l -o -type d \\) ! -name '*-' ! -name '.pwd.lock' -printf '%p\\t%m %u %g %y\\n' | sort | while IFS=$'\\t' read -r p meta; do
  if [ -f "$p" ] && [ ! -L "$p" ]; then s=$(sha256sum "$p" | cut -c1-16); elif [ -L "$p" ]; then s=$(readlink "$p"); else s=-; fi
  printf '%s\\t%s %s\\n' "$p" "$meta" "$s"
done`,
    );
    return new Map(out.split("\n").filter(Boolean).map((l) => l.split("\t") as [string, string]));
}

/** Lines that differ between two snapshots (`+path`, `-path`, `~path`). */
export function snapshotDiff(a: Map<string, string>, b: Map<string, string>): string[] {
    const d: string[] = [];
    for (const [k, v] of a) if (!b.has(k)) d.push(`-${k}`);
    else if (b.get(k) !== v) d.push(`~${k} ${v} -> ${b.get(k)}`);
    for (const k of b.keys()) if (!a.has(k)) d.push(`+${k}`);
    return d;
}

/** Polls `probe` until it returns true or `ms` pass; returns the elapsed ms or -1. */
export async function waitFor(probe: () => Promise<boolean>, ms: number, every = 500): Promise<number> {
    const t0 = Date.now();
    while (Date.now() - t0 < ms) {
        if (await probe().catch(() => false)) return Date.now() - t0;
        await new Promise((r) => setTimeout(r, every));
    }
    return -1;
}

/** True when main's admin reaches the backup through the tunnel (`ssh backup-NAME`) with the pinned key. */
export async function tunnelWorks(main: string, name: string, expectHost: string): Promise<boolean> {
    const r = await hostExec(main, ["runuser", "-u", "admin", "--", "ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", `backup-${name}`, "hostname"], { timeoutMs: 20_000 });
    return r.code === 0 && r.stdout.trim() === expectHost;
}

/** The longest run of failed probes in time-ordered samples (ms from the first failure to the next success). */
export function longestOutageMs(samples: ReadonlyArray<{ t: number; ok: boolean }>): number {
    let longest = 0;
    let start: number | null = null;
    for (const s of samples) {
        if (!s.ok && start === null) start = s.t;
        if (s.ok && start !== null) {
            longest = Math.max(longest, s.t - start);
            start = null;
        }
    }
    return longest;
}

/** Writes a JSON report under .state/reports/ and returns its path. */
export function writeReport(name: string, data: unknown): string {
    const dir = path.resolve(__dirname, "../../.state/reports");
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, name);
    fs.writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
    return file;
}

/**
 * Tries tunnel account `user` on main with `privateKey` from the operator (another
 * host than the backup), asking for `-R 127.0.0.1:listenPort`. Returns ssh's exit
 * status (null when it was still running at `timeoutMs`, i.e. connected) and stderr.
 */
export function tryTunnelKey(lab: LabDescription, user: string, privateKey: string, listenPort: number, timeoutMs = 10_000): { status: number | null; stderr: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rst-key-"));
    const kf = path.join(dir, "k");
    fs.writeFileSync(kf, privateKey, { mode: 0o600 });
    const r = spawnSync(
        "ssh",
        ["-F", "/dev/null", "-i", kf, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", `UserKnownHostsFile=${lab.knownHostsPath}`, "-o", "ConnectTimeout=5", "-o", "ExitOnForwardFailure=yes", "-N", "-R", `127.0.0.1:${listenPort}:localhost:22`, `${user}@${lab.hosts[lab.main]!.addresses.operator}`],
        { encoding: "utf8", timeout: timeoutMs },
    );
    fs.rmSync(dir, { recursive: true, force: true });
    return { status: r.status, stderr: r.stderr ?? "" };
}

/** True when main refuses `privateKey` for `user` (authentication fails). */
export function keyRefused(lab: LabDescription, user: string, privateKey: string, timeoutMs = 4000): boolean {
    return /Permission denied/.test(tryTunnelKey(lab, user, privateKey, 2299, timeoutMs).stderr);
}

/** PSS (kB) of main's sshd processes serving accounts whose names match `userPattern` (an ERE). */
export async function sshdPssKb(main: string, userPattern: string): Promise<number> {
    const out = await sh(main, `for p in $(pgrep -f '^sshd(-session)?: (${userPattern})( |$|@)'); do awk '/^Pss:/ {s+=$2} END {print s+0}' /proc/$p/smaps_rollup; done | awk '{t+=$1} END {print t+0}'`);
    return Number(out.trim());
}
