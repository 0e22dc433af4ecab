/**
 * CPU by program during a benchmark step, from the kernel's process accounting
 * (`accton`, Debian package `acct`): one record per process that exits, with its
 * command name, user and system time and elapsed time. Enabled in this machine's PID
 * namespace, it also records the lab hosts' processes (the kernel writes to the nearest
 * namespace that accounts), so the short-lived work of an apply shows up by name:
 * `sshd` processes that lived under a second (the apply's `sshd -T`/`-t` checks and
 * probes) apart from longer ones (logins and sessions), `bash`, `awk`, `useradd`,
 * `systemctl`... Processes that do not exit during the step (journald, systemd, the
 * sshd listener) are not here: bench/host-cpu.ts gives those by cgroup.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** struct acct_v3 (linux/acct.h): 64 bytes, version byte 3. */
const RECORD = 64;
/** Accounting clock: AHZ, 100 on Linux. */
const AHZ = 100;

/** comp_t: 13-bit mantissa, 3-bit base-8 exponent. */
function compT(v: number): number {
    return (v & 0x1fff) << (3 * ((v >> 13) & 7));
}

/** One exited process. */
export interface ProcessRecord {
    comm: string;
    uid: number;
    cpuS: number;
    elapsedS: number;
}

/** Parses an acct v3 file. */
export function parseAcct(buf: Buffer): ProcessRecord[] {
    const out: ProcessRecord[] = [];
    for (let off = 0; off + RECORD <= buf.length; off += RECORD) {
        if (buf[off + 1] !== 3) continue;
        const uid = buf.readUInt32LE(off + 8);
        const elapsedS = buf.readFloatLE(off + 28) / AHZ;
        const cpuS = (compT(buf.readUInt16LE(off + 32)) + compT(buf.readUInt16LE(off + 34))) / AHZ;
        const comm = buf
            .subarray(off + 48, off + 64)
            .toString("latin1")
            .replace(/\0.*$/s, "");
        out.push({ comm, uid, cpuS, elapsedS });
    }
    return out;
}

/** Starts accounting into a private file; stop() ends it and sums CPU by program. */
export function startProcessAccounting(): { stop: () => Record<string, { cpuS: number; count: number }> } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rst-acct-"));
    const file = path.join(dir, "pacct");
    fs.writeFileSync(file, "", { mode: 0o600 });
    try {
        execFileSync("accton", [file], { stdio: "ignore" });
    } catch {
        throw new Error("accton failed: process accounting needs root and the Debian package acct (apt-get install acct)");
    }
    return {
        stop() {
            execFileSync("accton", ["off"], { stdio: "ignore" });
            const recs = parseAcct(fs.readFileSync(file));
            fs.rmSync(dir, { recursive: true, force: true });
            const out: Record<string, { cpuS: number; count: number }> = {};
            for (const r of recs) {
                const name = r.comm === "sshd" || r.comm === "sshd-session" ? `${r.comm} (${r.elapsedS < 1 ? "< 1 s: checks, probes" : ">= 1 s: logins, sessions"})` : r.comm;
                const e = (out[name] ??= { cpuS: 0, count: 0 });
                e.cpuS += r.cpuS;
                e.count += 1;
            }
            return out;
        },
    };
}
