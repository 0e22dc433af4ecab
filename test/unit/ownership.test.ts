/**
 * Ownership on the host (components/ownership): the owner's form, the marks in what the
 * renderers write, and the rendered apply and delete scripts run against a scratch tree:
 * bash in a private mount namespace where /etc/ssh and /etc/systemd/system are scratch
 * directories and /run is empty (so locks and state stay there too). A refusal must
 * leave the tree byte for byte as it was; a delete must leave another owner's entries.
 * The same scripts on real hosts under the engine: test/lab/ownership.test.ts.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { accountGecos, renderAccountApplyScript, renderAccountRevokeScript, renderAuthorizedKeys } from "../../components/account/render";
import { OWNERSHIP_FUNCTIONS, ownerId, PORT_FUNCTIONS, ownerLine, validateOwner } from "../../components/ownership/render";
import { renderServiceRemoveScript, renderUnit } from "../../components/service/render";
import { dropinPath, legacyBlockIdentity, managedBlockMarkers, renderMatchBlock, renderSshdApplyScript, renderSshdRemoveScript } from "../../components/sshd/render";
import { HEALTH_COMMAND_PATH, renderHealthRemoveScript } from "../../components/health/render";
import { clientConfigPath, renderClientConfigInstallScript, renderClientConfigRemoveScript, renderMainClientConfig } from "../../components/tunnel/render";
import { SCRIPT_PRELUDE } from "../../components/shell";
import { makeKeyPair, SAMPLE_KEY } from "../support/fixtures";
import { SERVICE_ARGS } from "../support/render-all";
import { ReverseTunnel } from "../../components/tunnel";
import { installMocks, resolve, settle, stdinText } from "../support/mocks";

const A = "organization/fleet/stack-a/pi";
const B = "organization/fleet/stack-b/pi";
const KEYS = "/etc/ssh/reverse-ssh-tunnel/authorized_keys";

/** The scratch roots, bind-mounted over the real paths inside the namespace. */
const ROOTS = ["/etc/ssh", "/etc/systemd/system", "/usr/local/sbin"] as const;

/** Path -> content of every file under the scratch roots (`0/...`, `1/...`). */
function snapshot(dir: string): Map<string, string> {
    const out = new Map<string, string>();
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else out.set(path.relative(dir, p), fs.readFileSync(p, "utf8"));
        }
    };
    ROOTS.forEach((_, i) => walk(path.join(dir, String(i))));
    return out;
}

/**
 * Runs `script` with `files` (absolute paths under /etc/ssh or /etc/systemd/system) in
 * scratch copies of those directories; returns the result and the tree before and after.
 */
function inScratch(script: string, files: Record<string, string>) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rst-own-"));
    ROOTS.forEach((_, i) => fs.mkdirSync(path.join(dir, String(i)), { recursive: true }));
    for (const [p, text] of Object.entries(files)) {
        const i = ROOTS.findIndex((r) => p.startsWith(`${r}/`));
        expect(i, p).toBeGreaterThanOrEqual(0);
        const f = path.join(dir, String(i), p.slice(ROOTS[i]!.length + 1));
        fs.mkdirSync(path.dirname(f), { recursive: true });
        fs.writeFileSync(f, text);
    }
    fs.writeFileSync(path.join(dir, "script"), script);
    const before = snapshot(dir);
    const r = spawnSync(
        "unshare",
        ["--mount", "--propagation", "private", "bash", "-c", 'set -e; mount --bind "$1/0" /etc/ssh; mount --bind "$1/1" /etc/systemd/system; mount --bind "$1/2" /usr/local/sbin; mount -t tmpfs tmpfs /run; exec bash "$1/script"', "x", dir],
        { encoding: "utf8" },
    );
    const after = snapshot(dir);
    fs.rmSync(dir, { recursive: true, force: true });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, before, after };
}

/** The drop-in the sshd apply writes for `user` on `ports`, marked by `owner` (none: written before marks). */
function dropin(user: string, ports: number[], owner?: string): Record<string, string> {
    return { [dropinPath(user)]: renderMatchBlock({ user, listenPorts: ports, description: `backup ${user.replace(/^tunnel-/, "")}`, ...(owner ? { owner } : {}) }) };
}

describe("the owner", () => {
    it("is ORG/PROJECT/STACK/NAME, each part %-encoded outside [A-Za-z0-9._-]", () => {
        expect(ownerId("organization", "fleet", "dev", "pi")).toBe("organization/fleet/dev/pi");
        expect(ownerId("acme", "fleet", "eu.west-1", "tunnels/pi:main ü")).toBe("acme/fleet/eu.west-1/tunnels%2Fpi%3Amain%20%C3%BC");
    });
    it("refuses what could break a GECOS field, a comment line or a script", () => {
        for (const bad of ["a:b", "a,b", "a b", "a\nb", "a'b", "", "/a", "a//b", "x".repeat(201)]) expect(() => validateOwner("owner", bad), bad).toThrow(/^owner:/);
    });
    it("is written into every entry: sshd block, key file, GECOS, client config, unit", () => {
        const mark = ownerLine(A);
        expect(mark).toBe(`# reverse-ssh-tunnel owner: ${A}`);
        expect(renderMatchBlock({ user: "tunnel-pi", listenPorts: [2222], owner: A }).split("\n")).toContain(mark);
        expect(renderAuthorizedKeys({ user: "tunnel-pi", listenPorts: [2222], publicKey: SAMPLE_KEY, owner: A }).split("\n")).toContain(mark);
        expect(accountGecos({ description: "backup pi", owner: A })).toBe(`reverse-ssh-tunnel backup pi owner=${A}`);
        expect(renderMainClientConfig({ name: "pi", port: 2222, backupHostKeys: [SAMPLE_KEY], owner: A }).split("\n")).toContain(mark);
        expect(renderUnit({ ...SERVICE_ARGS, owner: A }).split("\n")).toContain(mark);
        // The ready-to-paste block (no owner) stays as it was.
        expect(renderMainClientConfig({ name: "pi", port: 2222, backupHostKeys: [SAMPLE_KEY] })).not.toContain("owner");
    });
});

describe("ports another tunnel account holds (rst_port_holders)", () => {
    it("are found in drop-ins, managed blocks and key files of other accounts, never our own", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rst-ports-"));
        fs.mkdirSync(path.join(dir, "d"));
        fs.mkdirSync(path.join(dir, "k"));
        const { begin, end } = managedBlockMarkers("tunnel-m");
        fs.writeFileSync(path.join(dir, "d", "00-reverse-ssh-tunnel-tunnel-a.conf"), renderMatchBlock({ user: "tunnel-a", listenPorts: [2222, 2300], owner: A }));
        fs.writeFileSync(path.join(dir, "d", "00-reverse-ssh-tunnel-tunnel-me.conf"), renderMatchBlock({ user: "tunnel-me", listenPorts: [2400], owner: B }));
        fs.writeFileSync(path.join(dir, "sshd_config"), `Port 22\n${begin}\n${renderMatchBlock({ user: "tunnel-m", listenPorts: [2401] })}Match all\n${end}\nPermitListen 127.0.0.1:2402\n`);
        fs.writeFileSync(path.join(dir, "k", "tunnel-k"), renderAuthorizedKeys({ user: "tunnel-k", listenPorts: [2403], publicKey: SAMPLE_KEY, owner: A }));
        fs.writeFileSync(path.join(dir, "k", "tunnel-me"), renderAuthorizedKeys({ user: "tunnel-me", listenPorts: [2400], publicKey: SAMPLE_KEY, owner: B }));
        const script = [SCRIPT_PRELUDE.replace("rst_state_dir=/run/reverse-ssh-tunnel", `rst_state_dir=${dir}/state`), OWNERSHIP_FUNCTIONS, PORT_FUNCTIONS, `rst_own_sshd_config=${dir}/sshd_config`, `rst_own_dropin_glob='${dir}/d/00-reverse-ssh-tunnel-*.conf'`, `rst_own_keys_dir=${dir}/k`, `rst_owner=${B}`, `rst_adopt=0`];
        const run = (body: string) => spawnSync("bash", ["-c", [...script, body].join("\n")], { encoding: "utf8" });
        const held = run("rst_port_holders tunnel-me 2222 2300 2400 2401 2402 2403 2404 | sort");
        expect(held.status, held.stderr).toBe(0);
        expect(held.stdout.split(dir).join("DIR").trim().split("\n")).toEqual([
            `2222 tunnel-a ${A} DIR/d/00-reverse-ssh-tunnel-tunnel-a.conf`,
            `2300 tunnel-a ${A} DIR/d/00-reverse-ssh-tunnel-tunnel-a.conf`,
            // Unmarked (written before marks); the admin's own line outside any block (2402) is not a tunnel's.
            "2401 tunnel-m - DIR/sshd_config",
            `2403 tunnel-k ${A} DIR/k/tunnel-k`,
        ]);
        const refused = run("rst_check_ports tunnel-me 2400 2403");
        expect(refused.status).toBe(1);
        expect(refused.stderr).toContain(`port 2403: tunnel account tunnel-k of ${A}`);
        expect(refused.stderr).toContain("Nothing on this host was changed");
        expect(run("rst_check_ports tunnel-me 2400 2404").status).toBe(0);
    });
});

describe("an apply refuses another owner's entries before any change", () => {
    const sshdB = renderSshdApplyScript({ user: "tunnel-pi", listenPorts: [2222], description: "backup pi", owner: B });

    it("sshd: the account's block marked by another owner", () => {
        const r = inScratch(sshdB, { "/etc/ssh/sshd_config": "Port 22\n", ...dropin("tunnel-pi", [2222], A) });
        expect(r.status).toBe(1);
        expect(r.stderr).toContain(`the sshd block of tunnel-pi (${dropinPath("tunnel-pi")}) belongs to ${A}, not to ${B}; nothing on this host was changed`);
        expect(r.stderr).toContain("set adopt: true");
        expect(r.after).toEqual(r.before);
    });

    it("sshd: the account's key file marked by another owner (no block), or a port another account's block holds", () => {
        const key = { [`${KEYS}/tunnel-pi`]: renderAuthorizedKeys({ user: "tunnel-pi", listenPorts: [2222], publicKey: SAMPLE_KEY, owner: A }) };
        const r = inScratch(sshdB, { "/etc/ssh/sshd_config": "Port 22\n", ...key });
        expect(r.status).toBe(1);
        expect(r.stderr).toContain(`the key file of tunnel-pi (${KEYS}/tunnel-pi) belongs to ${A}`);
        expect(r.after).toEqual(r.before);
        const p = inScratch(sshdB, { "/etc/ssh/sshd_config": "Port 22\n", ...dropin("tunnel-other", [2222], A) });
        expect(p.status).toBe(1);
        expect(p.stderr).toContain(`port 2222: tunnel account tunnel-other of ${A}`);
        expect(p.after).toEqual(p.before);
    });

    it("sshd: an unmarked block is ours only when it is this tunnel's (account, backup, ports); adopt takes over either", () => {
        // sshd -t fails on this sshd_config: a check that lets the apply through ends there, and the files are restored.
        const base = { "/etc/ssh/sshd_config": "NotAKeyword yes\n" };
        const legacy = inScratch(sshdB, { ...base, ...dropin("tunnel-pi", [2222]) });
        expect(legacy.stderr).not.toMatch(/owner mark|belongs to/);
        expect(legacy.stderr).toContain("sshd -t rejected the new configuration; the previous files were restored");
        expect(legacy.after).toEqual(legacy.before);
        expect(legacyBlockIdentity({ user: "tunnel-pi", listenPorts: [2222], description: "backup pi" })).toContain("    PermitListen 127.0.0.1:2222");
        const otherPorts = inScratch(sshdB, { ...base, ...dropin("tunnel-pi", [2299]) });
        expect(otherPorts.status).toBe(1);
        expect(otherPorts.stderr).toContain(`the sshd block of tunnel-pi (${dropinPath("tunnel-pi")}) has no owner mark`);
        expect(otherPorts.after).toEqual(otherPorts.before);
        const adopt = inScratch(renderSshdApplyScript({ user: "tunnel-pi", listenPorts: [2222], description: "backup pi", owner: B, adopt: true }), { ...base, ...dropin("tunnel-pi", [2222], A) });
        expect(adopt.stdout).toContain(`adopting the sshd block of tunnel-pi (${dropinPath("tunnel-pi")}) from ${A} (adopt: true)`);
        expect(adopt.stderr).toContain("sshd -t rejected");
        expect(adopt.after).toEqual(adopt.before);
    });

    it("account: a key file marked by another owner, or unmarked with another key", () => {
        const apply = renderAccountApplyScript({ user: "tunnel-pi", listenPorts: [2222], publicKey: SAMPLE_KEY, description: "backup pi", owner: B });
        const marked = inScratch(apply, { [`${KEYS}/tunnel-pi`]: renderAuthorizedKeys({ user: "tunnel-pi", listenPorts: [2222], publicKey: makeKeyPair().publicKey, owner: A }) });
        expect(marked.status).toBe(1);
        expect(marked.stderr).toContain(`the key file of tunnel-pi (${KEYS}/tunnel-pi) belongs to ${A}, not to ${B}`);
        expect(marked.after).toEqual(marked.before);
        const unmarked = inScratch(apply, { [`${KEYS}/tunnel-pi`]: renderAuthorizedKeys({ user: "tunnel-pi", listenPorts: [2222], publicKey: makeKeyPair().publicKey }) });
        expect(unmarked.status).toBe(1);
        expect(unmarked.stderr).toContain("has no owner mark");
        expect(unmarked.after).toEqual(unmarked.before);
        const port = inScratch(apply, { [`${KEYS}/tunnel-x`]: renderAuthorizedKeys({ user: "tunnel-x", listenPorts: [2222], publicKey: makeKeyPair().publicKey, owner: A }) });
        expect(port.status).toBe(1);
        expect(port.stderr).toContain(`port 2222: tunnel account tunnel-x of ${A}`);
        expect(port.after).toEqual(port.before);
    });

    it("client config: marked by another owner, or unmarked for another port", () => {
        const args = { name: "pi", port: 2222, backupHostKeys: [SAMPLE_KEY] };
        const install = renderClientConfigInstallScript({ ...args, owner: B });
        const marked = inScratch(install, { [clientConfigPath("pi")]: renderMainClientConfig({ ...args, owner: A }) });
        expect(marked.status).toBe(1);
        expect(marked.stderr).toContain(`main's client config for backup-pi (${clientConfigPath("pi")}) belongs to ${A}`);
        expect(marked.after).toEqual(marked.before);
        const unmarked = inScratch(install, { [clientConfigPath("pi")]: renderMainClientConfig({ ...args, port: 2299 }) });
        expect(unmarked.status).toBe(1);
        expect(unmarked.stderr).toContain("has no owner mark");
        expect(unmarked.after).toEqual(unmarked.before);
        // Unmarked and this tunnel's: taken as ours and marked.
        const legacy = inScratch(install, { [clientConfigPath("pi")]: renderMainClientConfig(args) });
        expect(legacy.status, legacy.stderr).toBe(0);
        expect(legacy.after.get("0/ssh_config.d/reverse-ssh-tunnel-pi.conf")).toBe(renderMainClientConfig({ ...args, owner: B }));
    });
});

describe("a delete leaves another owner's entries", () => {
    it("sshd block, key file and account, client config, unit: untouched, and it says so", () => {
        const cases: Array<[string, string, Record<string, string>]> = [
            ["sshd", renderSshdRemoveScript({ user: "tunnel-pi", owner: B }), { "/etc/ssh/sshd_config": "Port 22\n", ...dropin("tunnel-pi", [2222], A) }],
            ["account", renderAccountRevokeScript({ user: "tunnel-pi", listenPorts: [2222], owner: B }), { [`${KEYS}/tunnel-pi`]: renderAuthorizedKeys({ user: "tunnel-pi", listenPorts: [2222], publicKey: SAMPLE_KEY, owner: A }) }],
            ["client", renderClientConfigRemoveScript("pi", B), { [clientConfigPath("pi")]: renderMainClientConfig({ name: "pi", port: 2222, backupHostKeys: [SAMPLE_KEY], owner: A }) }],
            ["unit", renderServiceRemoveScript({ name: "pi", owner: B }), { "/etc/systemd/system/reverse-ssh-tunnel-pi.service": renderUnit({ ...SERVICE_ARGS, owner: A }) }],
        ];
        for (const [what, script, files] of cases) {
            const r = inScratch(script, files);
            expect(r.status, `${what}: ${r.stderr}`).toBe(0);
            expect(r.stdout, what).toContain(`belongs to ${A} now, not to ${B}: left as it is`);
            expect(r.after, what).toEqual(r.before);
        }
        // Our own (or an unmarked) client config goes.
        const own = inScratch(renderClientConfigRemoveScript("pi", B), { [clientConfigPath("pi")]: renderMainClientConfig({ name: "pi", port: 2222, backupHostKeys: [SAMPLE_KEY], owner: B }) });
        expect(own.status, own.stderr).toBe(0);
        expect(own.after.size).toBe(0);
    });
});

describe("the health command on main goes with the last stack's tunnels", () => {
    const health = { [HEALTH_COMMAND_PATH]: "#!/bin/bash\n" };
    const entry = (name: string, owner?: string) => ({ [clientConfigPath(name)]: `${owner ? ownerLine(owner) + "\n" : ""}Host backup-${name}\n` });
    it("its destroy removes it although this stack's own entries are still there (they go later in the same destroy)", () => {
        const r = inScratch(renderHealthRemoveScript("organization/fleet/stack-a/"), { ...health, ...entry("pi", A), ...entry("nas", "organization/fleet/stack-a/nas") });
        expect(r.status, r.stderr).toBe(0);
        expect(r.after.has("2/reverse-ssh-tunnel-health")).toBe(false);
        expect(r.stdout + r.stderr).toContain("the 2 tunnel(s) left on this host are this stack's");
    });
    it("it stays while another stack's entry (stack-a2 too: a prefix is not a stack) or an unmarked one remains", () => {
        for (const other of [entry("pi", B), entry("pi", "organization/fleet/stack-a2/pi"), entry("old")]) {
            const r = inScratch(renderHealthRemoveScript("organization/fleet/stack-a/"), { ...health, ...entry("nas", "organization/fleet/stack-a/nas"), ...other });
            expect(r.status, r.stderr).toBe(0);
            expect(r.after.get("2/reverse-ssh-tunnel-health")).toBe("#!/bin/bash\n");
            expect(r.stdout + r.stderr).toContain("kept /usr/local/sbin/reverse-ssh-tunnel-health: 1 tunnel(s) into this host remain");
        }
    });
    it("without a stack (the older delete scripts' rule), every entry keeps it", () => {
        const r = inScratch(renderHealthRemoveScript(), { ...health, ...entry("pi", A) });
        expect(r.after.has("2/reverse-ssh-tunnel-health")).toBe(true);
    });
});

describe("ReverseTunnel gives every command on main and on the backup one owner", () => {
    const build = async (adopt?: boolean) => {
        const seen = installMocks();
        const t = new ReverseTunnel("pi", {
            main: { host: "203.0.113.10", user: "admin", hostKey: SAMPLE_KEY },
            backup: { host: "192.168.1.20", user: "pi", hostKey: SAMPLE_KEY },
            port: 2222,
            ...(adopt !== undefined ? { adopt } : {}),
        });
        await resolve(t.sshConfig);
        await settle();
        return Object.fromEntries(seen.filter((r) => r.type === "command:remote:Command").map((r) => [r.name, stdinText(r.inputs.stdin)]));
    };

    it("the stack (mocks: organization/reverse-ssh-tunnel/test) and the resource name, adopt off unless asked", async () => {
        const stdin = await build();
        const owner = "organization/reverse-ssh-tunnel/test/pi";
        for (const name of ["pi-sshd", "pi-account", "pi-client-config", "pi-tunnel-key", "pi-service"]) {
            expect(stdin[name], name).toMatch(new RegExp(`^rst_owner='?${owner}'?$`, "m"));
            expect(stdin[name], name).not.toContain("rst_adopt=1");
        }
        expect(stdin["pi-sshd"]).toContain(ownerLine(owner));
        const adopted = await build(true);
        for (const name of ["pi-sshd", "pi-account", "pi-client-config", "pi-tunnel-key", "pi-service"]) expect(adopted[name], name).toContain("rst_adopt=1");
    });
});
