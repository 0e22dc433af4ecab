/**
 * The reading-order analysis that refuses Match blocks read before the policy
 * (rst_early_matches), run in bash on config files in a temp dir: which criteria
 * can apply to the tunnel account, and which keywords matter.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { SSHD_FUNCTIONS } from "../../components/sshd/functions";

function earlyMatches(dropins: Record<string, string>, main = ""): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rst-em-"));
    fs.mkdirSync(path.join(dir, "d"));
    fs.writeFileSync(path.join(dir, "sshd_config"), `Include ${dir}/d/*.conf\n${main}`);
    for (const [name, text] of Object.entries(dropins)) fs.writeFileSync(path.join(dir, "d", name), text);
    fs.writeFileSync(path.join(dir, "d", "00-reverse-ssh-tunnel-tunnel-x.conf"), "Match User tunnel-x\n    AllowTcpForwarding remote\n");
    const script = [
        "set -euo pipefail",
        `rst_state_dir=${dir}; rst_exit_hooks=(); rst_tmp_paths=()`,
        'rst_fail() { echo "$*" >&2; exit 1; }',
        SSHD_FUNCTIONS,
        `rst_main_config=${dir}/sshd_config`,
        // As the apply script calls it: an assignment under set -e and pipefail.
        `rst_early=$(rst_early_matches tunnel-x ${dir}/d/00-reverse-ssh-tunnel-tunnel-x.conf "allowtcpforwarding permitopen")`,
        'printf "%s" "$rst_early"; [ -z "$rst_early" ] || echo',
    ].join("\n");
    const r = spawnSync("bash", ["-c", script], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.split(dir).join("DIR");
}

describe("Match blocks read before the policy", () => {
    it("reports an Address/Host/LocalPort/All block that sets a policy keyword, with file:line", () => {
        for (const crit of ["Address 10.0.0.0/8", "Host *.lan", "LocalPort 22", "all", "LocalAddress 10.0.0.1"]) {
            const out = earlyMatches({ "00-aaa.conf": `Match ${crit}\n    AllowTcpForwarding yes\n` });
            expect(out, crit).toBe(`DIR/d/00-aaa.conf:1: Match ${crit}\n      sets AllowTcpForwarding at DIR/d/00-aaa.conf:2\n`);
        }
    });
    it("ignores blocks that cannot apply to the account or set nothing the policy sets", () => {
        expect(earlyMatches({ "00-aaa.conf": "Match User admin,root\n    AllowTcpForwarding yes\n" })).toBe("");
        expect(earlyMatches({ "00-aaa.conf": "Match Address 10.0.0.0/8 User *,!tunnel-*\n    PermitOpen any\n" })).toBe("");
        expect(earlyMatches({ "00-aaa.conf": "Match Group wheel\n    PermitOpen any\n" })).toBe("");
        expect(earlyMatches({ "00-aaa.conf": "Match Address 10.0.0.0/8\n    PermitRootLogin no\n" })).toBe("");
        // Read after the policy: sshd takes the policy's values first.
        expect(earlyMatches({ "50-zzz.conf": "Match all\n    PermitOpen any\n" })).toBe("");
        // Much configuration after the policy (other backups' drop-ins) is read to the end,
        // never cut off with SIGPIPE (which pipefail would turn into a failed apply).
        const many = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`10-other-${i}.conf`, `Match User tunnel-o${i}\n${"    PermitListen 127.0.0.1:3000\n".repeat(200)}`]));
        expect(earlyMatches(many)).toBe("");
    });
    it("counts a user pattern that matches, a group the account is in, and settings pulled in by a nested Include", () => {
        expect(earlyMatches({ "00-aaa.conf": "Match User tunnel-*\n    PermitOpen any\n" })).toMatch(/sets PermitOpen/);
        expect(earlyMatches({ "00-aaa.conf": "Match Group tunnel-?\n    PermitOpen any\n" })).toMatch(/sets PermitOpen/);
        const nested = earlyMatches({ "00-aaa.conf": "Match Address 192.168.0.0/16\n    Include /dev/null\n    PERMITOPEN any\n" });
        expect(nested).toMatch(/sets PERMITOPEN at DIR\/d\/00-aaa\.conf:3/);
    });
});

/** rst_probe_dimensions on a config with the given drop-ins (the policy's own included). */
function probeDimensions(dropins: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rst-pd-"));
    fs.mkdirSync(path.join(dir, "d"));
    fs.writeFileSync(path.join(dir, "sshd_config"), `Include ${dir}/d/*.conf\nPort 22\n`);
    fs.writeFileSync(path.join(dir, "d", "00-reverse-ssh-tunnel-tunnel-x.conf"), "Match User tunnel-x\n    AllowTcpForwarding remote\n");
    for (const [name, text] of Object.entries(dropins)) fs.writeFileSync(path.join(dir, "d", name), text);
    const script = ["set -euo pipefail", `rst_state_dir=${dir}; rst_exit_hooks=(); rst_tmp_paths=()`, 'rst_fail() { echo "$*" >&2; exit 1; }', SSHD_FUNCTIONS, `rst_main_config=${dir}/sshd_config`, "rst_probe_dimensions"].join("\n");
    const r = spawnSync("bash", ["-c", script], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.trim();
}

describe("which connection parameters the post-write check varies", () => {
    it("one probe when no Match line tests the connection (only All, User, Group)", () => {
        expect(probeDimensions({})).toBe("- -");
        expect(probeDimensions({ "50-a.conf": "Match Group admins User alice,!bob\n    X11Forwarding no\nMatch all\n" })).toBe("- -");
    });
    it("every source when a Match line tests the client, every listener when one tests where it connected", () => {
        expect(probeDimensions({ "50-a.conf": "Match Address 10.0.0.0/8\n    PermitOpen any\n" })).toBe("sources -");
        expect(probeDimensions({ "50-a.conf": "Match User x Host *.lan\n" })).toBe("sources -");
        expect(probeDimensions({ "50-a.conf": "Match LocalPort 2222\n" })).toBe("- listeners");
        expect(probeDimensions({ "50-a.conf": "Match RDomain vrf1\n" })).toBe("- listeners");
    });
    it("both for criteria it does not know or cannot judge (Exec, key=value forms)", () => {
        expect(probeDimensions({ "50-a.conf": "Match Exec /bin/true\n" })).toBe("sources listeners");
        expect(probeDimensions({ "50-a.conf": "Match User=alice\n" })).toBe("sources listeners");
    });
});
