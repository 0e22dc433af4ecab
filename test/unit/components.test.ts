import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { beforeEach, describe, expect, it } from "vitest";
import { MainHealthCheck } from "../../components/health";
import { backupHostLibrary } from "../../components/library/backup";
import { unpackBundle } from "../../components/shell";
import { MAIN_DIAL_ERROR_LIMIT, readMainHostKeys, ReverseTunnel, ReverseTunnelArgs } from "../../components/tunnel";
import { SshdMatchBlock, TunnelAccount, TunnelKeyPair, TunnelService } from "../../components";
import { SAMPLE_KEY } from "../support/fixtures";
import { FAKE_PRIVATE_KEY, installMocks, MOCK_TUNNEL_RUN, Registered, resolve, settle, stdinText, unwrap } from "../support/mocks";

const ARGS: ReverseTunnelArgs = {
    name: "pi",
    main: { host: "203.0.113.10", user: "admin", hostKey: SAMPLE_KEY },
    backup: { host: "192.168.1.20", user: "pi", hostKey: SAMPLE_KEY },
    port: 2222,
};

interface ChildOpts {
    type: string;
    name: string;
    opts: pulumi.ResourceOptions & Record<string, any>;
    parent?: string;
}

/** Options whose transformation records every resource registered under them into `children`. */
function recordingInto(children: ChildOpts[]): pulumi.ComponentResourceOptions {
    return {
        transformations: [
            (a) => {
                children.push({ type: a.type, name: a.name, opts: a.opts as any, parent: (a.opts.parent as any)?.__name });
                return undefined;
            },
        ],
    };
}

async function build(args: ReverseTunnelArgs = ARGS) {
    const seen = installMocks();
    const children: ChildOpts[] = [];
    const t = new ReverseTunnel(args.name!, args, recordingInto(children));
    const sshConfig = await resolve(t.sshConfig);
    await resolve(t.keyFingerprint);
    await settle();
    return { t, seen, children, sshConfig };
}

const commands = (seen: Registered[]) => seen.filter((r) => r.type === "command:remote:Command");

/** The body of the `case` arm of a bundle that runs PHASE (arms may list several phases). */
function bundlePhase(bundle: string, phase: string): string {
    const arm = new RegExp(`\\n((?:[a-z]+\\|)*${phase}(?:\\|[a-z]+)*)\\) \\{\\n`).exec(bundle);
    if (!arm) throw new Error(`no ${phase} arm in the bundle`);
    const start = arm.index + arm[0].length;
    return bundle.slice(start, bundle.indexOf("\n}\n;;", start));
}

describe("ReverseTunnel resource graph", () => {
    let r: Awaited<ReturnType<typeof build>>;
    beforeEach(async () => {
        r = await build();
    });

    it("registers the tunnel as one component under reverse-ssh-tunnel:index, with one tls key", () => {
        const types = r.seen.map((s) => s.type);
        expect(types.filter((t) => t.startsWith("reverse-ssh-tunnel:"))).toEqual(["reverse-ssh-tunnel:index:ReverseTunnel"]);
        expect(types.filter((t) => t === "tls:index/privateKey:PrivateKey")).toHaveLength(1);
    });

    it("generates an ED25519 key by default", () => {
        const key = r.seen.find((s) => s.type === "tls:index/privateKey:PrivateKey");
        expect(key?.inputs.algorithm).toBe("ED25519");
    });

    it("parents every child under the tunnel", () => {
        for (const c of r.children.filter((c) => c.type !== "reverse-ssh-tunnel:index:ReverseTunnel")) {
            expect(c.opts.parent, c.name).toBeDefined();
        }
    });

    it("puts the private key on stdin only, after the script bundle, never in a command string", () => {
        for (const c of commands(r.seen)) {
            for (const field of ["create", "update", "delete"]) {
                expect(String(unwrap(c.inputs[field]) ?? ""), `${c.name}.${field}`).not.toContain("PRIVATE KEY");
            }
        }
        const keyCmd = commands(r.seen).find((c) => c.name === "pi-tunnel-key");
        const stdin = stdinText(keyCmd?.inputs.stdin);
        expect(stdin.endsWith(`\nesac; exit\n${FAKE_PRIVATE_KEY}`)).toBe(true);
        expect(keyCmd?.inputs.stdin?.["4dabf18193072939515e22adb298388d"]).toBeDefined();
        expect(keyCmd?.inputs.logging).toBe("none");
        // Only the key command's stdin carries data after the bundle, and only it is secret.
        const secretStdin = commands(r.seen).filter((c) => c.inputs.stdin?.["4dabf18193072939515e22adb298388d"] !== undefined);
        expect(secretStdin.map((c) => c.name)).toEqual(["pi-tunnel-key"]);
        // The main library's install carries the library (public code) as its data.
        for (const c of commands(r.seen).filter((x) => x.name !== "pi-tunnel-key" && !x.name.startsWith("main-scripts-"))) {
            expect(stdinText(c.inputs.stdin).endsWith("\nesac; exit\n"), c.name).toBe(true);
        }
    });

    it("keeps command strings short (a failed command's error text starts with the command): the scripts travel on stdin", () => {
        for (const c of commands(r.seen)) {
            for (const field of ["create", "update", "delete"]) {
                if (c.inputs[field] === undefined) continue;
                expect(String(unwrap(c.inputs[field])), `${c.name}.${field}`).toBe(`sudo -n -- /bin/bash -s -- ${field}`);
            }
        }
    });

    it("marks the key command's output secret and never exports the private key", () => {
        const keyOpts = r.children.find((c) => c.name === "pi-tunnel-key")?.opts;
        expect(keyOpts?.additionalSecretOutputs).toEqual(expect.arrayContaining(["stdout", "stderr"]));
        expect(r.sshConfig).not.toContain("PRIVATE");
    });

    it("gives every command an explicit update, no previous output in env, delete-before-replace", () => {
        const cmds = commands(r.seen);
        expect(cmds.length).toBeGreaterThanOrEqual(7);
        for (const c of cmds) {
            expect(c.inputs.update, c.name).toBeDefined();
            expect(c.inputs.addPreviousOutputInEnv, c.name).toBe(false);
            // The main library's install sits at the stack's root (shared by the tunnels): no parent's transformations see it.
            if (!c.name.startsWith("main-scripts-")) expect(r.children.find((x) => x.name === c.name)?.opts.deleteBeforeReplace, c.name).toBe(true);
        }
    });

    it("wraps scripts in sudo -n for a non-root admin", () => {
        for (const c of commands(r.seen)) {
            expect(String(unwrap(c.inputs.create)), c.name).toBe("sudo -n -- /bin/bash -s -- create");
        }
    });

    it("pins host keys on both connections", () => {
        for (const c of commands(r.seen)) {
            expect(unwrap(c.inputs.connection).hostKey, c.name).toBe(SAMPLE_KEY);
        }
    });

    it("uploads the backup's script library as a file asset (the state keeps its path and hash, not its text) that the backup commands check and call", async () => {
        const uploads = r.seen.filter((x) => x.type === "command:remote:CopyToRemote");
        expect(uploads.map((u) => u.name)).toEqual(["backup-scripts-192.168.1.20-22"]);
        const up = uploads[0]!;
        const lib = backupHostLibrary();
        expect(unwrap(up.inputs.connection).hostKey).toBe(SAMPLE_KEY);
        expect(unwrap(up.inputs.connection).host).toBe("192.168.1.20");
        expect(up.inputs.remotePath).toBe(`.cache/reverse-ssh-tunnel/lib-${lib.hash}.sh`);
        const file = (await up.inputs.source?.path) as string;
        expect(path.isAbsolute(file)).toBe(true);
        expect(createHash("sha256").update(fs.readFileSync(file)).digest("hex")).toBe(lib.sha256);
        expect((fs.statSync(path.dirname(file)).mode & 0o077).toString(8)).toBe("0");
        for (const name of ["pi-tunnel-key", "pi-service"]) {
            const stdin = unpackBundle(String(unwrap(commands(r.seen).find((c) => c.name === name)?.inputs.stdin))).bundle;
            expect(stdin, name).toContain(`rst_lib_file=/usr/local/lib/reverse-ssh-tunnel/lib-${lib.hash}.sh`);
            expect(stdin, name).toContain(`!= "${lib.sha256}  -"`);
            // Calls, not the code: the prelude is not in the command.
            expect(stdin, name).not.toContain("rst_private_dir() {");
        }
    });

    it("main's finalizer checks the tunnel the service started: the install does not wait itself, and its unit run is in main's next command", async () => {
        const service = stdinText(commands(r.seen).find((c) => c.name === "pi-service")?.inputs.stdin);
        expect(service).toContain("tunnel unit run:");
        expect(service).not.toContain("ActiveEnterTimestampMonotonic");
        const finalize = stdinText(commands(r.seen).find((c) => c.name === "pi-client-config")?.inputs.stdin);
        expect(finalize).toContain(`rst_tunnel_run=${MOCK_TUNNEL_RUN}\n`);
        expect(finalize).toContain("rst_wait_ports=(2222)");
    });

    it("orders sshd policy -> account -> backup service -> main client config (so destroy revokes the account before touching sshd)", () => {
        const deps = (name: string) => (r.children.find((c) => c.name === name)?.opts.dependsOn ?? []) as any[];
        const depNames = (name: string) => ([] as any[]).concat(deps(name)).map((d) => d.__name);
        expect(depNames("pi")).toEqual([]);
        expect(depNames("pi-sshd")).toEqual(["main-scripts-203.0.113.10-22"]);
        expect(depNames("pi-account")).toEqual(["pi-sshd", "main-scripts-203.0.113.10-22"]);
        // The key waits for the account (so the service never dials before its key is accepted);
        // and each backup command for the backup library's upload, which it installs from.
        expect(depNames("pi-tunnel-key")).toEqual(["pi-account", "backup-scripts-192.168.1.20-22"]);
        expect(depNames("pi-service")).toEqual(["pi-tunnel-key", "backup-scripts-192.168.1.20-22"]);
        expect(depNames("pi-client-config")).toEqual(["pi-service", "main-scripts-203.0.113.10-22"]);
    });

    it("makes no component per piece: the tunnel's resources are its own children (a component costs three checkpoint writes per up)", () => {
        expect(r.children.filter((c) => !c.type.startsWith("command:") && !c.type.startsWith("tls:")).map((c) => c.type)).toEqual(["reverse-ssh-tunnel:index:ReverseTunnel"]);
        for (const c of r.children.filter((c) => c.type !== "reverse-ssh-tunnel:index:ReverseTunnel" && !c.name.includes("-scripts-"))) expect(c.parent, c.name).toBe("pi");
    });

    it("aliases each child to its URN under the component that held it up to 0.1.0, so an upgrade updates in place (a delete would revoke)", async () => {
        const formerParents: Record<string, string> = {
            "pi-keypair": "TunnelKeyPair",
            "pi-sshd": "SshdMatchBlock",
            "pi-account": "TunnelAccount",
            "pi-tunnel-key": "TunnelService",
            "pi-service": "TunnelService",
        };
        const tunnelUrn = await resolve(r.t.urn);
        for (const c of r.children.filter((c) => c.parent === "pi")) {
            const aliases = (c.opts.aliases ?? []) as { parent: pulumi.Input<string> }[];
            const former = formerParents[c.name];
            if (former === undefined) {
                expect(aliases, c.name).toEqual([]);
                continue;
            }
            expect(aliases, c.name).toHaveLength(1);
            // The URN the component had: its type under the tunnel, with the tunnel's resource name.
            expect(await resolve(pulumi.output(aliases[0]!.parent)), c.name).toBe(`${tunnelUrn.replace(/::pi$/, "")}$reverse-ssh-tunnel:index:${former}::pi`);
        }
    });

    it("exports main's ssh config block with the pinned backup key", async () => {
        expect(r.sshConfig).toContain("Host backup-pi");
        expect(r.sshConfig).toContain("Port 2222");
        expect(r.sshConfig).toContain(`backup-pi ${SAMPLE_KEY}`);
        expect(await resolve(r.t.port)).toBe(2222);
        expect(await resolve(r.t.tunnelUser)).toBe("tunnel-pi");
    });
});

describe("ReverseTunnel options", () => {
    it("always sets a replacement trigger (the engine ignores one that appears later)", async () => {
        const r = await build();
        expect(r.children.find((c) => c.type === "tls:index/privateKey:PrivateKey")?.opts.replacementTrigger).toBe("initial");
    });

    it("rotates with a replacement trigger on the key", async () => {
        const r = await build({ ...ARGS, keyRotation: "2026-11" });
        const key = r.children.find((c) => c.type === "tls:index/privateKey:PrivateKey");
        expect(key?.opts.replacementTrigger).toBe("2026-11");
    });

    it("uses RSA 4096 when asked", async () => {
        const r = await build({ ...ARGS, keyAlgorithm: "RSA" });
        const key = r.seen.find((s) => s.type === "tls:index/privateKey:PrivateKey");
        expect(key?.inputs).toMatchObject({ algorithm: "RSA", rsaBits: 4096 });
    });

    it("retains backup-side resources on delete when the backup is compromised", async () => {
        const r = await build({ ...ARGS, compromised: true });
        const backupSide = ["pi-tunnel-key", "pi-service"];
        for (const n of backupSide) expect(r.children.find((c) => c.name === n)?.opts.retainOnDelete, n).toBe(true);
        for (const n of ["pi-account", "pi-sshd", "pi-client-config"]) expect(r.children.find((c) => c.name === n)?.opts.retainOnDelete, n).toBeUndefined();
    });

    it("reads main's host keys itself, unless given them (a program reads them once for all its tunnels)", async () => {
        expect(commands((await build()).seen).map((c) => c.name)).toContain("pi-main-hostkeys");
        const given = await build({ ...ARGS, mainHostKeys: [SAMPLE_KEY] });
        expect(commands(given.seen).map((c) => c.name)).not.toContain("pi-main-hostkeys");
        expect(await resolve(given.t.mainHostKeys)).toEqual([SAMPLE_KEY]);
        // The service pins exactly what it was given.
        const svc = commands(given.seen).find((c) => c.name === "pi-service");
        expect(stdinText(svc?.inputs.stdin)).toContain(SAMPLE_KEY);
    });

    it("readMainHostKeys: one command on main, with the tunnels' dial retries", async () => {
        const seen = installMocks();
        const keys = readMainHostKeys("main", ARGS.main!);
        expect(await resolve(keys)).toEqual([SAMPLE_KEY]);
        await settle();
        const read = commands(seen);
        expect(read.map((c) => c.name)).toEqual(["main-hostkeys"]);
        expect(unwrap(read[0]!.inputs.connection).dialErrorLimit).toBe(MAIN_DIAL_ERROR_LIMIT);
    });

    it("reaches the backup through main as a jump host", async () => {
        const r = await build({ ...ARGS, backup: { host: "localhost", port: 2222, user: "pi", hostKey: SAMPLE_KEY, proxy: ARGS.main } });
        const svc = commands(r.seen).find((c) => c.name === "pi-service");
        expect(unwrap(svc?.inputs.connection).proxy.host).toBe("203.0.113.10");
        // The service's delete removes the tunnel: the last delete that reaches the backup.
        // The key runs none; the service's releases its library mark. The host-key read a
        // tunnel made up to 0.1.0 had none either: the service's create and update release its mark.
        const del = (name: string) => commands(r.seen).find((c) => c.name === name)?.inputs.delete;
        expect(del("pi-tunnel-key")).toBeUndefined();
        expect(String(unwrap(del("pi-service")))).toContain("delete");
        const bundle = unpackBundle(String(unwrap(svc?.inputs.stdin))).bundle;
        const release = /rst_lib_release (.*); \}/.exec(bundle)?.[1]?.split(" ").map((u) => u.replace(/\.[0-9a-f]{12}$/, ""));
        expect(release).toEqual(["pi-service", "pi-tunnel-key"]);
        const retire = /rst_lib_use [0-9a-f]{16} \S+\nrst_lib_release (.*)\n/.exec(bundle)?.[1]?.split(" ").map((u) => u.replace(/\.[0-9a-f]{12}$/, ""));
        expect(retire).toEqual(["pi-backup-hostkeys"]);
    });

    it.each([
        [{ port: 80 }, /^backup "pi": port: port 80 is below 1024: /],
        [{ name: "Pi!" }, /^backup "Pi!": name: invalid name/],
        [{ main: { host: "203.0.113.10" } }, /^backup "pi": main\.connection\.hostKey: required/],
        [{ main: { host: "bad host", hostKey: SAMPLE_KEY } }, /^backup "pi": main\.connection\.host: invalid host/],
        [{ tunnelUser: "root;x" }, /^backup "pi": tunnelUser: invalid user name/],
        [{ extraForwards: [{ remotePort: 2222 }] }, /duplicate remote port 2222/],
        [{ keyExpiry: "tomorrow" }, /^backup "pi": expiry: invalid date/],
    ] as Array<[Partial<ReverseTunnelArgs>, RegExp]>)("refuses %j before registering any command", async (bad, re) => {
        const seen = installMocks();
        expect(() => new ReverseTunnel("pi", { ...ARGS, ...bad })).toThrow(re);
        await settle();
        expect(commands(seen)).toEqual([]);
    });

    it("overlaps keys during a rotation: the account update keeps the previous key for a bounded time, a finalizer after the backup prunes it and ends its sessions", async () => {
        const r = await build();
        const acct = commands(r.seen).find((c) => c.name === "pi-account");
        const phases = (stdin: unknown) => {
            const b = stdinText(stdin);
            return { create: bundlePhase(b, "create"), update: bundlePhase(b, "update") };
        };
        expect(phases(acct?.inputs.stdin).update).toContain("rst_prev_expiry");
        expect(phases(acct?.inputs.stdin).create).not.toContain("rst_prev_expiry");
        // The finalizer runs in main's client-config command, before the client config.
        expect(commands(r.seen).map((c) => c.name)).not.toContain("pi-key-finalize");
        const fin = commands(r.seen).find((c) => c.name === "pi-client-config");
        const create = phases(fin?.inputs.stdin).create;
        expect(create).not.toContain("rst_prev_expiry");
        expect(create).toContain("Accepted publickey for");
        expect(create.indexOf("Accepted publickey for")).toBeLessThan(create.indexOf("rst_lock client-config"));
        expect(bundlePhase(stdinText(fin?.inputs.stdin), "delete")).toContain("rst_path=");
        expect(([] as any[]).concat(r.children.find((c) => c.name === "pi-client-config")?.opts.dependsOn)[0].__name).toBe("pi-service");
    });

    it("a health check given the tunnels as dependsOn waits for each tunnel's last step: one URN per tunnel in its records, the same order", async () => {
        const r = await build();
        const seenOpts: ChildOpts[] = [];
        new MainHealthCheck(
            "main",
            { connection: ARGS.main!, backups: [{ name: r.t.backupName, port: r.t.port, tunnelUser: r.t.tunnelUser, keyFingerprint: r.t.keyFingerprint }] },
            {
                dependsOn: [r.t],
                transformations: [
                    (a) => {
                        seenOpts.push({ type: a.type, name: a.name, opts: a.opts as any });
                        return undefined;
                    },
                ],
            },
        );
        await settle();
        for (const n of ["main", "main-health", "main-monitor"]) {
            expect(([] as any[]).concat(seenOpts.find((c) => c.name === n)?.opts.dependsOn).map((d) => d.__name), n).toEqual(["pi-client-config"]);
        }
        // The last step waits for the service, which waits for the account and the sshd policy.
        expect(([] as any[]).concat(r.children.find((c) => c.name === "pi-client-config")?.opts.dependsOn)[0].__name).toBe("pi-service");
    });

    it("keeps the finalizer as its own command when main gets no client config", async () => {
        const r = await build({ ...ARGS, installClientConfig: false });
        const names = commands(r.seen).map((c) => c.name);
        expect(names).not.toContain("pi-client-config");
        const fin = commands(r.seen).find((c) => c.name === "pi-key-finalize");
        expect(bundlePhase(stdinText(fin?.inputs.stdin), "create")).toContain("Accepted publickey for");
        expect(bundlePhase(stdinText(fin?.inputs.stdin), "create")).not.toContain("rst_lock client-config");
        expect(([] as any[]).concat(r.children.find((c) => c.name === "pi-key-finalize")?.opts.dependsOn)[0].__name).toBe("pi-service");
    });

    it("never overlaps keys for a compromised backup: the old key dies with the update", async () => {
        const r = await build({ ...ARGS, compromised: true });
        const acct = commands(r.seen).find((c) => c.name === "pi-account");
        const b = stdinText(acct?.inputs.stdin);
        expect(bundlePhase(b, "update")).not.toContain("rst_prev_expiry");
        expect(b).toContain("usermod --expiredate 1");
    });

    it("exports a rotation reminder when the key expires", async () => {
        const r = await build({ ...ARGS, keyExpiry: "20271231" });
        expect(await resolve(r.t.rotationReminder!)).toMatch(/stops working after 2027-12-31/);
    });

    it("allows an explicit opt-out of host-key pinning", async () => {
        const r = await build({ ...ARGS, backup: { host: "192.168.1.20", insecureSkipHostKeyCheck: true } });
        const svc = commands(r.seen).find((c) => c.name === "pi-service");
        expect(unwrap(svc?.inputs.connection).hostKey).toBeUndefined();
        expect(String(unwrap(svc?.inputs.create))).toBe("/bin/bash -s -- create");
    });
});

describe("the building blocks on their own (public components, e.g. a custom tunnel)", () => {
    it("each is a component holding the resources ReverseTunnel makes as its own children, with the same names and inputs", async () => {
        const seen = installMocks();
        const kids: ChildOpts[] = [];
        const opts = recordingInto(kids);
        const keys = new TunnelKeyPair("pi", {}, opts);
        const policy = new SshdMatchBlock("pi", { connection: ARGS.main!, user: "tunnel-pi", listenPorts: [2222] }, opts);
        const account = new TunnelAccount("pi", { connection: ARGS.main!, user: "tunnel-pi", listenPorts: [2222], publicKey: keys.publicKey }, { ...opts, dependsOn: [policy] });
        const service = new TunnelService(
            "pi",
            { connection: ARGS.backup!, name: "pi", mainHost: "203.0.113.10", forwards: [{ remotePort: 2222 }], mainHostKeys: [SAMPLE_KEY], privateKey: keys.privateKey },
            { ...opts, dependsOn: [account] },
        );
        expect(await resolve(keys.fingerprint)).toMatch(/^SHA256:/);
        expect(service.unitName).toBe("reverse-ssh-tunnel-pi.service");
        expect(await resolve(account.finalizeCommand)).toContain("Accepted publickey for");
        await settle();
        const under = (parent: string) => kids.filter((k) => k.parent === parent && k.name !== parent).map((k) => `${k.type} ${k.name}`);
        expect(kids.filter((k) => k.type.startsWith("reverse-ssh-tunnel:")).map((k) => k.type)).toEqual(
            ["TunnelKeyPair", "SshdMatchBlock", "TunnelAccount", "TunnelService"].map((t) => `reverse-ssh-tunnel:index:${t}`),
        );
        expect(under("pi").sort()).toEqual(
            ["tls:index/privateKey:PrivateKey pi-keypair", "command:remote:Command pi-sshd", "command:remote:Command pi-account", "command:remote:Command pi-tunnel-key", "command:remote:Command pi-service"].sort(),
        );
        expect(kids.every((k) => (k.opts.aliases ?? []).length === 0)).toBe(true);
        expect(commands(seen).map((c) => c.name).sort()).toEqual(["main-scripts-203.0.113.10-22", "pi-account", "pi-service", "pi-sshd", "pi-tunnel-key"]);
    });
});
