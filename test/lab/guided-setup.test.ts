/**
 * The guided setup for real hosts (`npm run setup`), run against the lab's main and
 * backup1 as if they were an operator's own hosts: only their addresses, admin user and
 * admin key file are given, never a `lab:` key. The fingerprints it expects are what
 * `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` prints on each host. Then the
 * operator's path: `npm run pulumi -- up` from the written file, the tunnel works,
 * `stack output sshConfig` is plain text, destroy revokes, `stack rm` removes the stack.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabDescription, LabHost, loadLab } from "../../lab/client";
import { ROOT } from "../support/engine";
import { sh, tunnelWorks, writeReport } from "../support/hosts";

const STACK = "guided";
const FILE = path.join(ROOT, `Pulumi.${STACK}.yaml`);
// A real-host stack needs a passphrase of the operator's own (not the lab's published one).
const PASSPHRASE = randomBytes(18).toString("base64");

/** Environment of an operator's shell: no Pulumi settings, the offline toolchain (as CI). */
function operatorEnv(): NodeJS.ProcessEnv {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("PULUMI_"))) as NodeJS.ProcessEnv;
    return { ...env, RST_TOOLCHAIN_OFFLINE: "1", PULUMI_CONFIG_PASSPHRASE: PASSPHRASE };
}

function run(script: string, args: string[], timeoutMs = 240_000): { status: number | null; out: string; stdout: string; ms: number } {
    const t0 = Date.now();
    const r = spawnSync("bash", ["-c", `${script} "$@" </dev/null`, "_", ...args], { cwd: ROOT, encoding: "utf8", env: operatorEnv(), timeout: timeoutMs });
    return { status: r.status, out: `${r.stdout}\n${r.stderr}`, stdout: r.stdout, ms: Date.now() - t0 };
}
const setup = (args: string[]) => run("npx tsx scripts/setup.ts", args, 120_000);
const pulumi = (args: string[]) => run("bash scripts/pulumi.sh", [...args, "--stack", STACK]);

async function fingerprintOnHost(host: string): Promise<string> {
    // What the README tells the operator to run on the host itself.
    return (await sh(host, "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub")).split(" ")[1]!;
}

describe.sequential("guided setup against the lab's hosts as real ones", () => {
    let lab: LabDescription;
    let main: LabHost;
    let backup: LabHost;
    let fp: { main: string; backup: string };
    let base: string[];

    beforeAll(async () => {
        lab = loadLab();
        main = lab.hosts[lab.main]!;
        backup = lab.hosts.backup1!;
        fs.rmSync(FILE, { force: true });
        fp = { main: await fingerprintOnHost(lab.main), backup: await fingerprintOnHost("backup1") };
        base = [
            "--stack", STACK,
            "--main-host", main.addresses.operator,
            "--main-user", main.adminUser,
            "--main-key", main.adminKeyPath,
            // Backups dial main's "internet" address, not the operator's link.
            "--main-public-host", main.addresses.public!,
            "--backup", `pi:${backup.addresses.operator}:${backup.adminUser}:2222`,
            "--login-user", backup.backupUser ?? lab.mainAdminKey.backupUser,
        ];
    });

    afterAll(async () => {
        if (fs.existsSync(FILE)) {
            pulumi(["destroy", "--yes", "--non-interactive", "--skip-preview"]);
            pulumi(["stack", "rm", "--yes", "--force", "--non-interactive"]);
        }
        fs.rmSync(FILE, { force: true });
    });

    it("refuses a fingerprint that does not match (man in the middle) and writes nothing", () => {
        const wrong = `SHA256:${"A".repeat(43)}`;
        const r = setup([...base, "--yes", "--expect-fingerprint", `${main.addresses.operator}=${wrong}`, "--expect-fingerprint", `${backup.addresses.operator}=${fp.backup}`]);
        expect(r.status).toBe(1);
        expect(r.out).toContain(`main (${main.addresses.operator}): the host key's fingerprint is ${fp.main}, but --expect-fingerprint says ${wrong}. Do not continue`);
        expect(fs.existsSync(FILE)).toBe(false);
    });

    it("refuses --yes without an expected fingerprint for every host", () => {
        const r = setup([...base, "--yes", "--expect-fingerprint", `${main.addresses.operator}=${fp.main}`]);
        expect(r.status).toBe(1);
        expect(r.out).toContain(`--yes needs --expect-fingerprint ${backup.addresses.operator}=SHA256:... for backup pi`);
        expect(fs.existsSync(FILE)).toBe(false);
    });

    it("writes a stack file with both hosts' ed25519 keys pinned and no lab keys", () => {
        const r = setup([...base, "--yes", "--expect-fingerprint", `${main.addresses.operator}=${fp.main}`, "--expect-fingerprint", `${backup.addresses.operator}=${fp.backup}`]);
        expect(r.status, r.out).toBe(0);
        expect(r.out).toContain(`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`);
        expect(r.out).toContain(`npm run pulumi -- preview --stack ${STACK}`);
        const text = fs.readFileSync(FILE, "utf8");
        // No `lab:` key (in the namespace or on a host): the hosts are configured like real ones.
        expect(text).not.toMatch(/^\s*(- )?(reverse-ssh-tunnel:)?lab:/m);
        expect(text).toContain(`host: ${JSON.stringify(main.addresses.operator)}`);
        const pin = (k: string) => JSON.stringify(k.split(" ").slice(0, 2).join(" "));
        expect(text).toContain(`hostKey: ${pin(main.hostKeys.ed25519)}  # ED25519 ${fp.main}`);
        expect(text).toContain(`hostKey: ${pin(backup.hostKeys.ed25519)}  # ED25519 ${fp.backup}`);
        expect(text).toContain(`privateKeyFile: ${JSON.stringify(main.adminKeyPath)}`);
    });

    it("npm run pulumi -- up from that file: the tunnel works; no host key under Diagnostics; a summary per backup", async () => {
        const r = pulumi(["up", "--yes", "--non-interactive", "--skip-preview"]);
        writeReport("guided-setup-up.json", { ms: r.ms, output: r.stdout.split("\n") });
        expect(r.status, r.out).toBe(0);
        expect(await tunnelWorks(lab.main, "pi", "backup1")).toBe(true);
        const diagnostics = /\nDiagnostics:\n([\s\S]*?)\n(Outputs|Resources):/.exec(r.stdout)?.[1] ?? "";
        for (const k of [main.hostKeys.ed25519, main.hostKeys.rsa, backup.hostKeys.ed25519, backup.hostKeys.rsa]) {
            expect(diagnostics).not.toContain(k.split(" ")[1]!.slice(0, 40));
        }
        expect(r.stdout).toMatch(/summary\s*: \{\s*\n\s*pi: "port 2222 on main's loopback, tunnel key SHA256:[A-Za-z0-9+/]{43}; on main run: ssh backup-pi"/);
    });

    it("stack output sshConfig prints the ready-to-paste block as plain text", () => {
        const r = pulumi(["stack", "output", "sshConfig"]);
        expect(r.status, r.out).toBe(0);
        expect(r.stdout).toMatch(/^# reverse-ssh-tunnel: backup pi .*\nHost backup-pi\n {4}HostName 127\.0\.0\.1\n {4}Port 2222\n/m);
        // Plain text with real line breaks, not a quoted JSON string.
        expect(r.stdout.startsWith('"')).toBe(false);
        expect(r.stdout.split("\n").length).toBeGreaterThan(10);
    });

    it("destroy revokes the backup; stack rm removes the stack and its file", async () => {
        const d = pulumi(["destroy", "--yes", "--non-interactive", "--skip-preview"]);
        expect(d.status, d.out).toBe(0);
        expect((await sh(lab.main, "getent passwd tunnel-pi || echo gone")).trim()).toBe("gone");
        expect((await sh("backup1", "systemctl cat reverse-ssh-tunnel-pi.service >/dev/null 2>&1 && echo present || echo gone")).trim()).toBe("gone");
        const rm = pulumi(["stack", "rm", "--yes", "--non-interactive"]);
        expect(rm.status, rm.out).toBe(0);
        expect(fs.existsSync(FILE)).toBe(false);
    });
});
