/**
 * The probe connections the apply derives from sshd's own trace of the Match lines
 * (rst_judge_specs), and the verdict read from sshd's output (rst_judge), run in bash
 * against this machine's sshd (Debian package openssh-server) on config files in a
 * temp dir. The whole apply script against sshd 9.2 and 10.0 is the differential test
 * (test/conformance/sshd-differential.test.ts).
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { SSHD_FUNCTIONS } from "../../components/sshd/functions";
import { SSHD_JUDGE } from "../../components/sshd/judge";
import { expectedEffectiveSettings, renderMatchBlock } from "../../components/sshd/render";
import { SCRIPT_PRELUDE } from "../../components/shell";

const SSHD = "/usr/sbin/sshd";
const USER = "tunnel-x";

/** A temp /etc/ssh-like tree: sshd_config (with HostKey and the policy drop-in) and drop-ins. */
function tree(main: string, dropins: Record<string, string> = {}, policy = true): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rst-judge-"));
    fs.mkdirSync(path.join(dir, "d"));
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "hostkey")]);
    fs.writeFileSync(path.join(dir, "sshd_config"), `HostKey ${dir}/hostkey\nInclude ${dir}/d/*.conf\n${main}`);
    if (policy) fs.writeFileSync(path.join(dir, "d", `00-reverse-ssh-tunnel-${USER}.conf`), renderMatchBlock({ user: USER, listenPorts: [2222] }));
    for (const [name, text] of Object.entries(dropins)) fs.writeFileSync(path.join(dir, "d", name), text);
    return dir;
}

/** Runs bash with the prelude's state dir pointed into DIR and the judge's functions, then BODY. */
function run(dir: string, body: string): { status: number; stdout: string; stderr: string } {
    // sshd -T reads the tree through -f: a wrapper stands in for the installed sshd.
    fs.writeFileSync(path.join(dir, "sshd"), `#!/bin/sh\nexec ${SSHD} -f ${dir}/sshd_config "$@"\n`, { mode: 0o755 });
    fs.mkdirSync("/run/sshd", { recursive: true });
    const want = expectedEffectiveSettings({ user: USER, listenPorts: [2222] }).map(([k, v]) => `${k} ${v}`).join("\n");
    fs.writeFileSync(path.join(dir, "want"), want + "\n");
    fs.writeFileSync(path.join(dir, "unset"), "unusedconnectiontimeout none why\n");
    const prelude = SCRIPT_PRELUDE.replace("rst_state_dir=/run/reverse-ssh-tunnel", `rst_state_dir=${dir}/state`).replace(/^rst_private_dir$/m, "mkdir -m 0700 -p \"$rst_state_dir\"");
    const script = [prelude, SSHD_FUNCTIONS, SSHD_JUDGE, `rst_sshd=${dir}/sshd`, `rst_main_config=${dir}/sshd_config`, body].join("\n");
    const r = spawnSync("bash", ["-c", script], { encoding: "utf8" });
    return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** The probe specifications for the tree (discovery probe first, as the apply does). */
function specs(dir: string): string[] {
    const r = run(dir, `d=$(mktemp -d)
printf 'user=${USER},host=203.0.113.1,addr=203.0.113.1,laddr=127.0.0.1,lport=22\\n' >"$d/first"
bash -c "$rst_judge_runner" x "$rst_sshd" "$d" "$d/first"
mv "$d/1.out" "$d/0.out"; mv "$d/1.err" "$d/0.err"
rst_judge_specs ${USER} "$d"
cat "$d/specs"`);
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.trim().split("\n");
}

function judge(dir: string): { status: number; problems: string; probes: number } {
    const r = run(dir, `rst_judge ${USER} ${dir}/d/00-reverse-ssh-tunnel-${USER}.conf 0 0 ${dir}/want ${dir}/unset
printf '%s\\n' "$rst_judge_probes"
printf '%s' "$rst_judge_problems" >&2`);
    return { status: r.status, problems: r.stderr.split(dir).join("DIR"), probes: Number(r.stdout.trim()) };
}

const addrOf = (s: string) => /addr=([^,]+)/.exec(s)?.[1];

describe("probe connections derived from sshd's trace", () => {
    it("one probe when no Match line tests the connection", () => {
        expect(specs(tree("", { "50-a.conf": "Match Group admins User alice,!bob\n    X11Forwarding no\n" }))).toHaveLength(1);
    });
    it("every boundary of a named network, the fixed sources, and nothing from a trailing comment's words as criteria", () => {
        const s = specs(tree("", { "50-a.conf": "Match Address 192.0.2.0/24 # for user tunnel-x\n    PermitOpen any\n" }));
        const addrs = new Set(s.map(addrOf));
        for (const a of ["192.0.2.0", "192.0.2.255", "192.0.1.255", "192.0.3.0", "203.0.113.1", "10.0.0.1", "172.16.0.1", "192.168.0.1", "127.0.0.1"]) expect(addrs.has(a), a).toBe(true);
        expect(s.every((x) => x.startsWith(`user=${USER},`))).toBe(true);
    });
    it("IPv6 networks in inet_ntop's form, and a single host with its neighbours", () => {
        const s = specs(tree("", { "50-a.conf": "Match Address 2001:db8:0:1::/64,198.51.100.7\n    PermitOpen any\n" }));
        const addrs = new Set(s.map(addrOf));
        for (const a of ["2001:db8:0:1::", "2001:db8:0:1:ffff:ffff:ffff:ffff", "2001:db8::ffff:ffff:ffff:ffff", "2001:db8:0:2::", "198.51.100.7", "198.51.100.6", "198.51.100.8"]) expect(addrs.has(a), a).toBe(true);
    });
    it("every port sshd listens on when a Match tests LocalPort (sshd -T alone would exit on it); not a port it does not listen on", () => {
        const s = specs(tree("Port 22\nPort 2022\nListenAddress 127.0.0.1\n", { "50-a.conf": "Match LocalPort 2022\n    PermitOpen any\nMatch LocalPort 3022\n    X11Forwarding no\n" }));
        const listeners = new Set(s.map((x) => /laddr=([^,]+),lport=(\d+)/.exec(x)?.slice(1).join(" ")));
        for (const l of ["127.0.0.1 22", "127.0.0.1 2022"]) expect(listeners.has(l), l).toBe(true);
        expect(listeners.has("127.0.0.1 3022")).toBe(false);
    });
    it("host names from Match Host patterns when sshd looks names up (UseDNS yes), and one outside them", () => {
        const s = specs(tree("UseDNS yes\n", { "50-a.conf": "Match Host *.example.org,!bad.example.org\n    PermitOpen any\n" }));
        const hosts = new Set(s.map((x) => /host=([^,]+)/.exec(x)?.[1]));
        for (const h of ["rst-probe.example.org", "bad.example.org", "rst-probe.invalid", "203.0.113.1"]) expect(hosts.has(h), h).toBe(true);
    });
    const specsOf = (dir: string) =>
        run(dir, `d=$(mktemp -d)
printf 'user=${USER},host=203.0.113.1,addr=203.0.113.1,laddr=127.0.0.1,lport=22\\n' >"$d/first"
bash -c "$rst_judge_runner" x "$rst_sshd" "$d" "$d/first"
mv "$d/1.out" "$d/0.out"; mv "$d/1.err" "$d/0.err"
rst_judge_specs ${USER} "$d"`);
    it("refuses as uncertain when the cross product would exceed the limit", () => {
        const lines = Array.from({ length: 6 }, (_, l) => `Match Address ${Array.from({ length: 20 }, (_, i) => `10.${l * 20 + i}.0.0/16`).join(",")}\n    X11Forwarding no\n`).join("");
        const r = specsOf(tree("Port 22\nPort 2022\nPort 2023\n", { "50-a.conf": `${lines}Match LocalAddress 127.0.0.0/8 LocalPort 2022\n    X11Forwarding no\n` }));
        expect(r.status, r.stdout + r.stderr).not.toBe(0);
        expect(r.stderr).toMatch(/kinds of connection would have to be checked \(the limit is 1500\)/);
    });
    it("refuses as uncertain a Match line longer than sshd's log line (its trace is cut)", () => {
        const nets = Array.from({ length: 120 }, (_, i) => `10.${i}.0.0/16`).join(",");
        const r = specsOf(tree("", { "50-a.conf": `Match Address ${nets}\n    X11Forwarding no\n` }));
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/a Match line is longer than a line of sshd's log/);
    });
});

describe("sshd's verdict", () => {
    it("accepts the policy alone, and Match blocks after it", () => {
        const r = judge(tree("", { "50-a.conf": "Match all\n    AllowTcpForwarding yes\n    PermitOpen any\n" }));
        expect(r.problems).toBe("");
        expect(r.probes).toBe(1);
    });
    it("names an earlier block that applies for some sources only, with file:line, as sshd reads it (a trailing comment is no criterion)", () => {
        const r = judge(tree("", { "00-aaa.conf": "Match Address 192.0.2.0/24 # for user tunnel-x\n    AllowStreamLocalForwarding yes\n" }));
        expect(r.problems).toMatch(/DIR\/d\/00-aaa\.conf:1: Match Address 192\.0\.2\.0\/24/);
        expect(r.problems).toMatch(/sets AllowStreamLocalForwarding at DIR\/d\/00-aaa\.conf:2 \(sshd applies it from 192\.0\.2\.\d+ to \S+ port 22\)/);
        expect(r.problems).toMatch(/allowstreamlocalforwarding is 'yes' for tunnel-x/);
        expect(r.problems).toMatch(/Fix: exclude the tunnel accounts/);
    });
    it("reads CRLF, '=', quotes, keyword case and the ChallengeResponseAuthentication alias as sshd does", () => {
        const r = judge(tree("", { "00-aaa.conf": 'match\tUser="tunnel-*"\r\n\tCHALLENGERESPONSEAUTHENTICATION=yes\r\n' }));
        expect(r.problems).toMatch(/kbdinteractiveauthentication is 'yes'/);
        expect(r.problems).toMatch(/sets CHALLENGERESPONSEAUTHENTICATION at DIR\/d\/00-aaa\.conf:2/);
    });
    it("accepts an earlier block that sets the policy's own value, and one for other users (User=root form)", () => {
        expect(judge(tree("", { "00-aaa.conf": "Match Address 10.0.0.0/8\n    PasswordAuthentication no\nMatch User=root\n    PermitOpen any\n" })).problems).toBe("");
    });
    it("judges Match Group as for the account that will be created (own group), before it exists", () => {
        const r = judge(tree("", { "00-aaa.conf": "Match Group tunnel-x\n    GatewayPorts yes\n" }));
        expect(r.problems).toMatch(/gatewayports is 'yes'/);
        expect(judge(tree("", { "00-aaa.conf": "Match Group admins\n    GatewayPorts yes\n" })).problems).toBe("");
    });
    it("an Include inside an earlier Match whose file has its own Match: sshd's own reading decides", () => {
        const dir = tree("", { "00-aaa.conf": `Match Address 10.0.0.0/8\n    Include ${os.tmpdir()}/rst-judge-inner-*.conf\n` });
        const inner = fs.mkdtempSync(path.join(os.tmpdir(), "rst-judge-inner-"));
        fs.rmSync(inner, { recursive: true });
        fs.writeFileSync(`${inner}.conf`, "Match LocalPort 22\n    AllowTcpForwarding yes\n");
        try {
            const r = judge(dir);
            expect(r.problems).toMatch(/allowtcpforwarding is 'yes' for tunnel-x \(from 10\./);
        } finally {
            fs.rmSync(`${inner}.conf`, { force: true });
        }
    });
    it("reports a policy block sshd does not apply (read inside another Match)", () => {
        const dir = tree("", {}, false);
        fs.writeFileSync(path.join(dir, "d", "00-reverse-ssh-tunnel-tunnel-x.conf"), "Match User nobody\n" + renderMatchBlock({ user: USER, listenPorts: [2222] }).replace(/^Match User tunnel-x$/m, "    PermitTTY no"));
        const r = judge(dir);
        expect(r.problems).toMatch(/does not apply the tunnel policy/);
    });
});
