/** Measurements taken on main during the benchmarks. */
import { hostExec, LabDescription } from "../lab/client";

/** One tunnel under test: who serves it, on which port of main, reached as which backup. */
export interface Subject {
    /** Label in the tables: "ours" or "seed". */
    label: "ours" | "seed";
    /** Lab host of the backup. */
    backupHost: string;
    /** Main's loopback port. */
    port: number;
    /** Tunnel account on main. */
    user: string;
}

/** known_hosts on main for the probes: each backup's key under its lab host name. */
export const PROBE_KNOWN_HOSTS = "/etc/ssh/rst-bench-known_hosts";

/** Writes the probe known_hosts on main (host keys from the lab description). */
export async function installProbeKnownHosts(lab: LabDescription): Promise<void> {
    const text = lab.backups.map((b) => `${b} ${lab.hosts[b]!.hostKeys.ed25519}`).join("\n");
    await hostExec(lab.main, ["sh", "-c", `cat > ${PROBE_KNOWN_HOSTS}`], { stdin: `${text}\n` });
}

/** True when main's admin gets a shell on the backup through its tunnel port (host key pinned). */
export async function tunnelUp(lab: LabDescription, s: Subject): Promise<boolean> {
    const r = await hostExec(
        lab.main,
        ["runuser", "-u", "admin", "--", "ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=3", "-o", `HostKeyAlias=${s.backupHost}`, "-o", `UserKnownHostsFile=${PROBE_KNOWN_HOSTS}`, "-o", "StrictHostKeyChecking=yes", "-p", String(s.port), "pi@localhost", "hostname"],
        { timeoutMs: 8000 },
    );
    return r.code === 0 && r.stdout.trim() === s.backupHost;
}

/** Polls until every subject's tunnel works or `capMs` passes; returns ms per subject (null: not within cap). */
export async function timeToRecover(lab: LabDescription, subjects: Subject[], capMs: number, everyMs = 1000): Promise<Record<string, number | null>> {
    const t0 = Date.now();
    const out: Record<string, number | null> = Object.fromEntries(subjects.map((s) => [s.label, null]));
    const pending = new Set(subjects);
    while (pending.size > 0 && Date.now() - t0 < capMs) {
        await Promise.all(
            [...pending].map(async (s) => {
                if (await tunnelUp(lab, s)) {
                    out[s.label] = Date.now() - t0;
                    pending.delete(s);
                }
            }),
        );
        if (pending.size > 0) await new Promise((r) => setTimeout(r, everyMs));
    }
    return out;
}
