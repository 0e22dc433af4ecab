/**
 * The account scripts' session attribution (SESSION_FUNCTIONS) against crafted
 * journal records: only sshd's own "Accepted publickey" record of that monitor PID,
 * as root, in this boot and time window, with the whole message in sshd's layout,
 * names a session's key. `journalctl` is a stub that prints the records (what
 * `journalctl -o json` prints, compact as systemd 252+ writes it or spaced as older
 * versions do); the rest is the rendered bash run by the host's bash and awk.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import { SESSION_FUNCTIONS } from "../../components/account";

const BOOT = "5e89b0b13b6047329e7a9f696ba5012f";
const FP_A = "SHA256:AAAAbbbbCCCCdddd/+eeeeFFFFgggg0000111122223";
const FP_D = "SHA256:DDDDbbbbCCCCdddd/+eeeeFFFFgggg0000111122223";

type Rec = Record<string, string>;
const accepted = (fp: string, over: Rec = {}): Rec => ({
    __REALTIME_TIMESTAMP: "1796327859458714",
    _BOOT_ID: BOOT,
    _PID: "77",
    _UID: "0",
    SYSLOG_IDENTIFIER: "sshd",
    MESSAGE: `Accepted publickey for tunnel-pi from 10.231.1.2 port 40000 ssh2: ED25519 ${fp}`,
    ...over,
});

/** rst_accepted_fp tunnel-pi 77 LO HI over the given journal lines. */
function attribute(lines: string[], lo = 1796327850000000, hi = 1796327869000000): string {
    const script = `${SESSION_FUNCTIONS}
rst_boot_id=${BOOT}
journalctl() { cat "$RST_RECORDS"; }
rst_accepted_fp tunnel-pi 77 ${lo} ${hi}
`;
    const dir = spawnSync("mktemp", ["-d"], { encoding: "utf8" }).stdout.trim();
    const file = `${dir}/records`;
    fs.writeFileSync(file, lines.map((l) => `${l}\n`).join(""));
    const r = spawnSync("bash", ["-c", script], { encoding: "utf8", env: { PATH: "/usr/bin:/bin", LC_ALL: "C", RST_RECORDS: file } });
    fs.rmSync(dir, { recursive: true, force: true });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.trim();
}
const json = (r: Rec) => JSON.stringify(r);
const spaced = (r: Rec) => `{ ${Object.entries(r).map(([k, v]) => `${JSON.stringify(k)} : ${JSON.stringify(v)}`).join(", ")} }`;

describe("session attribution: sshd's own anchored record", () => {
    it("names the key of the monitor's Accepted record, in either JSON layout, for sshd and sshd-session", () => {
        expect(attribute([json(accepted(FP_A))])).toBe(FP_A);
        expect(attribute([spaced(accepted(FP_A, { SYSLOG_IDENTIFIER: "sshd-session" }))])).toBe(FP_A);
    });

    it("ignores records of another PID, another boot, a non-root sender, another program, or outside the window", () => {
        for (const over of <Rec[]>[{ _PID: "78" }, { _BOOT_ID: "0123456789abcdef0123456789abcdef" }, { _UID: "65534" }, { SYSLOG_IDENTIFIER: "logger" }, { __REALTIME_TIMESTAMP: "1796327849999999" }, { __REALTIME_TIMESTAMP: "1796327869000001" }]) {
            expect(attribute([json(accepted(FP_D, over))]), JSON.stringify(over)).toBe("");
        }
    });

    it("takes only the whole message in sshd's layout: another account, a suffix, a prefix or text inside another field never count", () => {
        expect(attribute([json(accepted(FP_D, { MESSAGE: `Accepted publickey for tunnel-pix from 10.231.1.2 port 1 ssh2: ED25519 ${FP_D}` }))])).toBe("");
        expect(attribute([json(accepted(FP_D, { MESSAGE: `Accepted publickey for tunnel-pi from 10.231.1.2 port 1 ssh2: ED25519 ${FP_D} [preauth]` }))])).toBe("");
        expect(attribute([json(accepted(FP_D, { MESSAGE: `Invalid user x Accepted publickey for tunnel-pi from 10.231.1.2 port 1 ssh2: ED25519 ${FP_D}` }))])).toBe("");
        // A client-chosen string that spells a whole MESSAGE field inside another value (JSON-escaped quotes).
        const inner = `x","MESSAGE":"Accepted publickey for tunnel-pi from 10.231.1.2 port 1 ssh2: ED25519 ${FP_D}`;
        expect(attribute([json(accepted(FP_A, { MESSAGE: `Invalid user ${inner} from 10.231.1.2` }))])).toBe("");
        expect(attribute([json({ ...accepted(FP_A), SYSLOG_TIMESTAMP: inner })])).toBe(FP_A);
    });

    it("two different keys for one monitor name none (the session is then treated as not kept)", () => {
        expect(attribute([json(accepted(FP_A)), json(accepted(FP_D))])).toBe("");
        expect(attribute([json(accepted(FP_A)), json(accepted(FP_A))])).toBe(FP_A);
    });
});
