/**
 * The fleet status as the operator sees it (`npm run status`): main's monitor prints
 * its last round as JSON (`reverse-ssh-tunnel-monitor --json`); this module checks
 * that document and renders one line per backup.
 */

/** One backup in the monitor's last round. Times are Unix seconds on main's clock. */
export interface BackupStatus {
    /** Backup name. */
    readonly backup: string;
    /** The tunnel worked end to end at the last check. */
    readonly up: boolean;
    /** When `up` last changed (or the monitor first saw the backup). */
    readonly since: number;
    /** Main's loopback port of the backup's SSH. */
    readonly port: number;
    /** The tunnel account on main. */
    readonly tunnelUser: string;
    /** SHA256 fingerprint of the tunnel key. */
    readonly keyFingerprint: string;
    /** When main stops accepting the key; null without an expiry. */
    readonly keyExpiry: number | null;
    /** When the current session was accepted; null without a session. */
    readonly sessionStart: number | null;
    /** main's listener is held by the tunnel account's session. */
    readonly listener: boolean;
    /** The backup's SSH banner answered through it. */
    readonly banner: boolean;
    /** When this backup was last checked. */
    readonly checked: number;
}

/** The monitor's `--json` document. */
export interface FleetStatus {
    /** main's clock when the document was printed. */
    readonly now: number;
    /** One entry per backup. */
    readonly backups: BackupStatus[];
}

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);
const isIntOrNull = (v: unknown): v is number | null => v === null || isInt(v);

/** Parses and checks the monitor's `--json` output (throws with what is wrong). */
export function parseFleetStatus(text: string): FleetStatus {
    let doc: unknown;
    try {
        doc = JSON.parse(text);
    } catch {
        throw new Error(`main's monitor printed no JSON: ${JSON.stringify(text.slice(0, 200))}`);
    }
    const d = doc as { now?: unknown; backups?: unknown };
    if (typeof d !== "object" || d === null || !isInt(d.now) || !Array.isArray(d.backups)) throw new Error("main's monitor printed an unexpected document (no now/backups)");
    for (const [i, b] of (d.backups as Array<Record<string, unknown>>).entries()) {
        const ok =
            typeof b.backup === "string" &&
            typeof b.up === "boolean" &&
            isInt(b.since) &&
            isInt(b.port) &&
            typeof b.tunnelUser === "string" &&
            typeof b.keyFingerprint === "string" &&
            isIntOrNull(b.keyExpiry) &&
            isIntOrNull(b.sessionStart) &&
            typeof b.listener === "boolean" &&
            typeof b.banner === "boolean" &&
            isInt(b.checked);
        if (!ok) throw new Error(`main's monitor printed an unexpected entry backups[${i}]: ${JSON.stringify(b)}`);
    }
    return d as FleetStatus;
}

/** A duration as its two largest units: `45s`, `3m12s`, `5h02m`, `12d3h`. */
export function formatDuration(seconds: number): string {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
    if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
    return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

/** Unix time as `YYYY-MM-DD HH:MM` UTC. */
function utc(t: number): string {
    return new Date(t * 1000).toISOString().slice(0, 16).replace("T", " ");
}

/**
 * One line per backup: state, since when (UTC, and how long), port, key expiry.
 * Down backups first, then expiring keys, then by name: with 100 backups, the lines
 * to act on are at the top; a last line counts them.
 *
 * @param expiringWithinSeconds - a key expiring sooner is flagged `(soon)`. Default 14 days.
 */
export function renderStatusTable(status: FleetStatus, expiringWithinSeconds = 14 * 86400): string {
    const now = status.now;
    const soon = (b: BackupStatus) => b.keyExpiry !== null && b.keyExpiry - now <= expiringWithinSeconds;
    const rows = [...status.backups].sort((a, b) => Number(a.up) - Number(b.up) || Number(soon(b)) - Number(soon(a)) || a.backup.localeCompare(b.backup, "en", { numeric: true }));
    const table = rows.map((b) => [
        b.backup,
        b.up ? "up" : "DOWN",
        `${utc(b.since)} (${formatDuration(now - b.since)})`,
        String(b.port),
        b.keyExpiry === null ? "never" : `${utc(b.keyExpiry).slice(0, 10)} (${b.keyExpiry <= now ? "EXPIRED" : `in ${formatDuration(b.keyExpiry - now)}`}${soon(b) && b.keyExpiry > now ? ", soon" : ""})`,
    ]);
    const header = ["BACKUP", "STATE", "SINCE (UTC)", "PORT", "KEY EXPIRES"];
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ");
    const down = rows.filter((b) => !b.up).length;
    const expiring = rows.filter(soon).length;
    const oldest = rows.length === 0 ? 0 : now - Math.min(...rows.map((b) => b.checked));
    const footer = `${rows.length} backup(s): ${rows.length - down} up, ${down} down, ${expiring} key(s) expiring within ${formatDuration(expiringWithinSeconds)}; checked ${formatDuration(oldest)} ago`;
    return [line(header), ...table.map(line), footer, ""].join("\n");
}
