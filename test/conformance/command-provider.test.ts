/**
 * Conformance of the project's command provider (toolchain/go/pulumi-resource-command)
 * with upstream pulumi-command 1.2.1, which users run. Every test names the upstream
 * behaviour it pins, with the figure or message measured on upstream 1.2.1 (built from
 * its v1.2.1 source, CLI 3.259, OpenSSH 9.2; ../shared/reference/pulumi-command.md and
 * issue 11), and checks ours under the real engine against a real sshd on 127.0.0.1.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { local, remote } from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { goQuote, ResourceReport, upReport } from "./engine";
import { countingServer, CountingServer, hangUp, relay, startAgent, startSshd, SynDropper, TestSshd } from "./sshd";
import { engineEnv } from "../support/engine";

let sshd: TestSshd;
/** Measured figures, written to .state/reports/conformance-figures.json. */
const figures: Record<string, unknown> = {};
beforeAll(async () => {
    sshd = await startSshd(["main", "cache", "proxy", "slow1", "slow2", "slow3"]);
});
afterAll(async () => {
    await sshd?.stop();
    const dir = path.resolve(__dirname, "../../.state/reports");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "conformance-figures.json"), `${JSON.stringify(figures, null, 2)}\n`);
});

/** A connection to the test sshd as root with the authorized key. */
function conn(port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { host: "127.0.0.1", port, user: "root", privateKey: sshd.clientKey, ...extra };
}

function cmd(name: string, connection: Record<string, unknown>, create: string, opts: pulumi.CustomResourceOptions = {}, extra: Record<string, unknown> = {}): remote.Command {
    return new remote.Command(name, { connection: connection as unknown as remote.CommandArgs["connection"], create, ...extra }, opts);
}

function report(m: Map<string, ResourceReport>, name: string): ResourceReport {
    const r = m.get(name);
    if (!r) throw new Error(`no events for resource ${name}; got: ${[...m.keys()].join(", ")}`);
    return r;
}

const statusLines = (r: ResourceReport) => r.diags.filter((d) => d.ephemeral).map((d) => d.message.trim());

describe.sequential("dial retries (upstream: retry.Until, 0.1 s x1.5 capped at 5 s)", () => {
    let res: Map<string, ResourceReport>;
    let s10: CountingServer, s0: CountingServer, sInf: CountingServer, closed: CountingServer;
    beforeAll(async () => {
        // Each server ends every connection at once: a failed SSH handshake (EOF),
        // which upstream retries like a refused connection.
        s10 = await countingServer();
        s0 = await countingServer();
        // Unlimited: the first 12 connections fail, the 13th reaches sshd.
        sInf = await countingServer((n, s) => (n <= 12 ? hangUp(s) : relay(s, sshd.ports.main)));
        closed = await countingServer();
        const closedPort = closed.port;
        await closed.close();
        res = await upReport("dial", () => {
            cmd("limit-default", conn(s10.port), "true");
            cmd("limit-0", conn(s0.port, { dialErrorLimit: 0 }), "true");
            cmd("limit-unlimited", conn(sInf.port, { dialErrorLimit: -1 }), "echo reached");
            cmd("closed-port", conn(closedPort, { dialErrorLimit: 1 }), "true");
        });
        await Promise.all([s10.close(), s0.close(), sInf.close()]);
    }, 120_000);

    it("dialErrorLimit unset (10) = 11 attempts over about 11.3 s (upstream: 11 attempts, ~13 s in all)", () => {
        expect(s10.arrivals.length).toBe(11);
        const gaps = s10.arrivals.slice(1).map((t, i) => t - s10.arrivals[i]!);
        // Backoff 0.1 s x1.5: 100, 150, 225, ... 3844 ms; 11.33 s in all.
        const expected = gaps.map((_, i) => 100 * 1.5 ** i);
        gaps.forEach((g, i) => expect(Math.abs(g - expected[i]!)).toBeLessThan(250));
        const total = s10.arrivals[10]! - s10.arrivals[0]!;
        figures.dialDefaultGapsMs = gaps;
        figures.dialDefaultTotalMs = total;
        expect(total).toBeGreaterThan(10_800);
        expect(total).toBeLessThan(12_500);
    });

    it('failing attempts show as transient info lines "Dial n/10 failed: retrying" (upstream: InfoStatus)', () => {
        const r = report(res, "limit-default");
        expect(statusLines(r).filter((l) => /^Dial \d+\/10 failed: retrying$/.test(l))).toEqual(Array.from({ length: 10 }, (_, i) => `Dial ${i + 1}/10 failed: retrying`));
        const retryDiags = r.diags.filter((d) => d.message.includes("failed: retrying"));
        expect(retryDiags.every((d) => d.severity === "info" && d.ephemeral)).toBe(true);
    });

    it('the final error is "after 10 failed attempts: <last error>" (upstream text)', () => {
        expect(report(res, "limit-default").error).toContain("after 10 failed attempts: ssh: handshake failed: EOF");
    });

    it("dialErrorLimit 0 = one attempt (upstream: one attempt; 0 is not the default)", () => {
        expect(s0.arrivals.length).toBe(1);
        expect(report(res, "limit-0").error).toContain("after 0 failed attempts: ssh: handshake failed: EOF");
        expect(statusLines(report(res, "limit-0")).some((l) => l.includes("retrying"))).toBe(false);
    });

    it('dialErrorLimit -1 = unlimited: 13th attempt succeeds, lines "Dial n/inf failed: retrying" (upstream: -1 unlimited)', () => {
        const r = report(res, "limit-unlimited");
        expect(r.error).toBe("");
        expect(r.outputs?.stdout).toBe("reached");
        expect(sInf.arrivals.length).toBe(13);
        expect(statusLines(r)).toContain("Dial 12/inf failed: retrying");
    });

    it('a closed port: "dial tcp 127.0.0.1:<port>: connect: connection refused" (upstream message)', () => {
        expect(report(res, "closed-port").error).toContain(`after 1 failed attempts: dial tcp 127.0.0.1:${closed.port}: connect: connection refused`);
    });
});

describe.sequential("host key pins, agent, error text, streamed output, connections", () => {
    let res: Map<string, ResourceReport>;
    const failing = "echo out-line; echo 'err \"quoted\" line' >&2\nexit 3";
    beforeAll(async () => {
        res = await upReport("misc", () => {
            cmd("pin-rsa", conn(sshd.ports.main, { hostKey: sshd.hostKeys.rsa, dialErrorLimit: 0 }), "true");
            cmd("pin-ed25519", conn(sshd.ports.main, { hostKey: sshd.hostKeys.ed25519, dialErrorLimit: 0 }), "echo pinned");
            cmd("fails-logging-none", conn(sshd.ports.main), failing, {}, { logging: "none" });
            cmd("streams", conn(sshd.ports.main), "echo to-stdout; echo to-stderr >&2");
            // Three chained commands on the dedicated "cache" port; the last counts the
            // established client connections to that port.
            const c1 = cmd("chain-1", conn(sshd.ports.cache), "true");
            const c2 = cmd("chain-2", conn(sshd.ports.cache), "true", { dependsOn: [c1] });
            cmd("chain-3", conn(sshd.ports.cache), `ss -Htn state established '( dport = :${sshd.ports.cache} )' | wc -l`, { dependsOn: [c2] });
            // Local commands stream the same way.
            new local.Command("local-streams", { create: "echo local-out; echo local-err >&2" });
        });
    }, 120_000);

    it("an RSA hostKey offers only ssh-rsa and fails on OpenSSH >= 8.8 (upstream: `no common algorithm for host key; we offered: [ssh-rsa], ...`)", () => {
        expect(report(res, "pin-rsa").error).toContain("ssh: handshake failed: ssh: no common algorithm for host key; we offered: [ssh-rsa], peer offered: [ssh-ed25519 rsa-sha2-512 rsa-sha2-256]");
    });

    it("an ed25519 hostKey works (upstream: ed25519 and ECDSA pins work)", () => {
        expect(report(res, "pin-ed25519").error).toBe("");
        expect(report(res, "pin-ed25519").outputs?.stdout).toBe("pinned");
    });

    it('a failed command: `Process exited with status N: running "<script %q>":` then stdout+stderr, even with logging none (upstream text)', () => {
        const r = report(res, "fails-logging-none");
        expect(r.error).toContain(`Process exited with status 3: running ${goQuote(failing)}:\n`);
        const after = r.error.slice(r.error.indexOf(`${goQuote(failing)}:\n`));
        expect(after).toContain("out-line");
        expect(after).toContain('err "quoted" line');
        // logging: none streams nothing.
        expect(statusLines(r)).not.toContain("out-line");
    });

    it("stdout and stderr stream as transient info lines, never warnings (upstream: InfoStatus for both)", () => {
        for (const [name, out, err] of [
            ["streams", "to-stdout", "to-stderr"],
            ["local-streams", "local-out", "local-err"],
        ] as const) {
            const r = report(res, name);
            const lines = r.diags.filter((d) => d.message.includes(out) || d.message.includes(err));
            expect(lines.map((d) => d.message.trim()).sort()).toEqual([err, out].sort());
            expect(lines.every((d) => d.severity === "info" && d.ephemeral === true)).toBe(true);
            expect(r.diags.some((d) => d.severity === "warning")).toBe(false);
        }
    });

    it("connections stay open until the plugin exits: 3 chained commands = 3 open connections (upstream: 3)", () => {
        expect(report(res, "chain-3").error).toBe("");
        expect(report(res, "chain-3").outputs?.stdout).toBe("3");
    });
});

describe.sequential("SSH agent (upstream: SSH_AUTH_SOCK used whenever set, even with privateKey)", () => {
    it('a stale SSH_AUTH_SOCK fails every command, key or not: "dial unix <path>: connect: no such file or directory"', async () => {
        const stale = `${sshd.dir}/no-agent.sock`;
        const res = await upReport("agent-stale", () => {
            cmd("with-key", conn(sshd.ports.main), "true");
        }, { SSH_AUTH_SOCK: stale });
        expect(report(res, "with-key").error).toContain(`dial unix ${stale}: connect: no such file or directory`);
    }, 60_000);

    it("a live agent authenticates when no privateKey is given; with a privateKey only the key is tried (x/crypto tries one \"publickey\" method)", async () => {
        const agent = startAgent(sshd.clientKey);
        try {
            const res = await upReport("agent-live", () => {
                cmd("wrong-key", conn(sshd.ports.main, { privateKey: sshd.otherKey, dialErrorLimit: 0 }), "echo via-agent");
                cmd("no-key", { host: "127.0.0.1", port: sshd.ports.main, user: "root", dialErrorLimit: 0 }, "echo via-agent");
            }, { SSH_AUTH_SOCK: agent.sock });
            expect(report(res, "no-key").outputs?.stdout).toBe("via-agent");
            expect(report(res, "wrong-key").error).toContain("after 0 failed attempts: ssh: handshake failed: ssh: unable to authenticate, attempted methods [none publickey], no supported methods remain");
        } finally {
            agent.stop();
        }
    }, 60_000);
});

describe.sequential("perDialTimeout and proxy (upstream: bounds only the TCP connect; 0 = no limit; not through a proxy)", () => {
    let res: Map<string, ResourceReport>;
    let hang: CountingServer, proxied: CountingServer;
    const released: Record<string, number> = {};
    beforeAll(async () => {
        const nft = new SynDropper();
        // slow1: dropped for the whole update; slow3 released 3 s after its first dropped
        // SYN; slow2 after 16 s, past the 15 s default a "0 = default" reading would use
        // (the next SYN retransmission after the release then connects).
        const holdMs: Record<string, number> = { slow2: 16_000, slow3: 3000 };
        const undrop1 = nft.drop(sshd.ports.slow1);
        const pending = new Map([
            ["slow2", nft.drop(sshd.ports.slow2)],
            ["slow3", nft.drop(sshd.ports.slow3)],
        ]);
        const firstSeen = new Map<string, number>();
        const poll = setInterval(() => {
            for (const [role, undrop] of pending) {
                if (!firstSeen.has(role) && nft.dropped(sshd.ports[role]!) > 0) firstSeen.set(role, Date.now());
                if (firstSeen.has(role) && Date.now() - firstSeen.get(role)! > holdMs[role]!) {
                    undrop();
                    pending.delete(role);
                    released[role] = Date.now() - firstSeen.get(role)!;
                }
            }
        }, 100);
        // Accepts, says nothing for 4 s, then closes: a handshake that hangs.
        hang = await countingServer((_, s) => setTimeout(() => hangUp(s), 4000));
        // Reached through the proxy; closes at once (a failed handshake).
        proxied = await countingServer();
        const proxy = conn(sshd.ports.proxy);
        try {
            res = await upReport("timeouts", () => {
                cmd("connect-timeout-1", conn(sshd.ports.slow1, { perDialTimeout: 1, dialErrorLimit: 0 }), "true");
                cmd("connect-timeout-0", conn(sshd.ports.slow2, { perDialTimeout: 0, dialErrorLimit: 0 }), "echo waited");
                cmd("proxy-hop-unbounded", conn(sshd.ports.slow3, { perDialTimeout: 1, dialErrorLimit: 0, proxy }), "echo waited");
                cmd("handshake-unbounded", conn(hang.port, { perDialTimeout: 1, dialErrorLimit: 0 }), "true");
                cmd("proxy-handshake-retry", conn(proxied.port, { dialErrorLimit: 2, proxy }), "true");
            });
        } finally {
            clearInterval(poll);
            undrop1();
            for (const undrop of pending.values()) undrop();
            nft.close();
            await Promise.all([hang.close(), proxied.close()]);
        }
    }, 150_000);

    it('perDialTimeout 1 bounds the TCP connect: "dial tcp 127.0.0.1:<port>: i/o timeout" after about 1 s', () => {
        const r = report(res, "connect-timeout-1");
        figures.connectTimeout1Ms = r.ms;
        expect(r.error).toContain(`after 0 failed attempts: dial tcp 127.0.0.1:${sshd.ports.slow1}: i/o timeout`);
        expect(r.ms).toBeLessThan(2900);
    });

    it("perDialTimeout 0 = no limit: a connect that needs > 16 s (more than the 15 s default) succeeds", () => {
        figures.released = released;
        figures.connectTimeout0Ms = report(res, "connect-timeout-0").ms;
        expect(released.slow2).toBeGreaterThan(16_000);
        expect(report(res, "connect-timeout-0").outputs?.stdout).toBe("waited");
    });

    it("perDialTimeout does not bound the hop through a proxy: the same > 3 s connect succeeds with perDialTimeout 1", () => {
        expect(released.slow3).toBeGreaterThan(3000);
        expect(report(res, "proxy-hop-unbounded").outputs?.stdout).toBe("waited");
    });

    it("perDialTimeout does not bound the SSH handshake: a server silent for 4 s fails only when it closes (EOF), not after 1 s", () => {
        const r = report(res, "handshake-unbounded");
        figures.handshakeUnboundedMs = r.ms;
        expect(r.error).toContain("after 0 failed attempts: ssh: handshake failed: EOF");
        expect(r.ms).toBeGreaterThan(3500);
        expect(hang.arrivals.length).toBe(1);
    });

    it('through a proxy a failed handshake is retried on the connection it closed: 1 connection reaches the target, error "proxy: after 2 failed attempts: ..."', () => {
        expect(proxied.arrivals.length).toBe(1);
        expect(report(res, "proxy-handshake-retry").error).toContain("proxy: after 2 failed attempts: ssh: handshake failed:");
    });
});

/** Ops, errors and outputs of one `up`, by resource name. */
interface UpOutcome {
    ops: Record<string, string>;
    errors: Record<string, string>;
    outputs: Record<string, Record<string, unknown>>;
}

/**
 * A stack kept across several `up`s (upReport destroys after one): `program` reads
 * whatever phase the test has set before each up.
 */
async function keptStack(stackName: string, program: () => void) {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "rst-conformance-state-"));
    fs.chmodSync(stateDir, 0o700);
    process.env.RST_TOOLCHAIN_OFFLINE = "1";
    const base = engineEnv();
    process.env.PATH = base.PATH;
    const envVars = { ...base, PULUMI_BACKEND_URL: `file://${stateDir}`, PULUMI_CONFIG_PASSPHRASE: "conformance", SSH_AUTH_SOCK: "" };
    const stack = await LocalWorkspace.createOrSelectStack({ stackName, projectName: "rst-conformance", program: async () => program() }, { envVars });
    const nameOf = (urn: string) => urn.split("::").pop() ?? urn;
    return {
        async up(): Promise<UpOutcome> {
            const o: UpOutcome = { ops: {}, errors: {}, outputs: {} };
            const onEvent = (e: EngineEvent) => {
                if (e.resourcePreEvent) o.ops[nameOf(e.resourcePreEvent.metadata.urn)] = e.resourcePreEvent.metadata.op;
                if (e.resOutputsEvent) {
                    const m = e.resOutputsEvent.metadata;
                    o.ops[nameOf(m.urn)] = m.op;
                    o.outputs[nameOf(m.urn)] = m.new?.outputs ?? {};
                }
                const d = e.diagnosticEvent;
                if (d?.urn && d.severity === "error") o.errors[nameOf(d.urn)] = (o.errors[nameOf(d.urn)] ?? "") + d.message;
            };
            await stack.up({ onEvent, continueOnError: true }).catch(() => undefined);
            return o;
        },
        async destroy(): Promise<void> {
            await stack.destroy({ continueOnError: true });
        },
        async remove(): Promise<void> {
            await stack.workspace.removeStack(stackName, { force: true }).catch(() => undefined);
            fs.rmSync(stateDir, { recursive: true, force: true });
        },
    };
}

describe.sequential("remote.CopyToRemote (upstream: SFTP copy, copies again only on a new hash or remotePath, never deletes)", () => {
    let local: string, remoteDir: string;
    let stack: Awaited<ReturnType<typeof keptStack>>;
    const outcomes: UpOutcome[] = [];
    /** The remote files after each up. */
    const seen: Record<string, Buffer | undefined>[] = [];
    const watched = ["a/b/c/data.copy", "t/text.conf", "existing/b.conf"];
    /** Every byte value, so that "byte-equal" means it. */
    const binary = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 256));
    let phase = 1;
    const copy = (name: string, source: pulumi.asset.Asset | pulumi.asset.Archive, remotePath: string, extra: Record<string, unknown> = {}) =>
        new remote.CopyToRemote(name, { connection: conn(sshd.ports.main, extra) as unknown as remote.CopyToRemoteArgs["connection"], source, remotePath });
    const r = (p: string) => path.join(remoteDir, p);

    beforeAll(async () => {
        local = fs.mkdtempSync(path.join(os.tmpdir(), "rst-copy-local-"));
        remoteDir = fs.mkdtempSync(path.join(os.tmpdir(), "rst-copy-remote-"));
        fs.writeFileSync(path.join(local, "data.bin"), binary);
        fs.writeFileSync(path.join(local, "b.conf"), "b-content\n");
        fs.mkdirSync(path.join(local, "moved"));
        fs.writeFileSync(path.join(local, "moved", "b.conf"), "b-content\n");
        fs.mkdirSync(path.join(local, "tree", "sub"), { recursive: true });
        fs.writeFileSync(path.join(local, "tree", "top.txt"), "top\n");
        fs.writeFileSync(path.join(local, "tree", "sub", "leaf.txt"), "leaf\n");
        fs.mkdirSync(r("existing"));
        stack = await keptStack("copy", () => {
            copy("file-nested", new pulumi.asset.FileAsset(path.join(local, "data.bin")), r("a/b/c/data.copy"));
            // Phase 2 changes only the connection: an update that copies nothing.
            copy("text", new pulumi.asset.StringAsset("hello text\n"), r("t/text.conf"), phase >= 2 ? { dialErrorLimit: 5 } : {});
            // Phase 2 moves the local file (same content, so the same hash).
            copy("into-dir", new pulumi.asset.FileAsset(path.join(local, phase >= 2 ? "moved/b.conf" : "b.conf")), r("existing"));
            copy("dir", new pulumi.asset.FileArchive(path.join(local, "tree")), r("dir-dest"));
            copy("dir-slash", new pulumi.asset.FileArchive(`${path.join(local, "tree")}/`), r("dir-slash-dest"));
            if (phase === 1) copy("text-into-dir", new pulumi.asset.StringAsset("x"), r("existing"));
        });
        const look = () => seen.push(Object.fromEntries(watched.map((p) => [p, fs.existsSync(r(p)) ? fs.readFileSync(r(p)) : undefined])));
        // 1: everything created (text-into-dir fails).
        outcomes.push(await stack.up());
        look();
        // 2: remote copies changed by hand, then an up whose inputs have the same hashes.
        fs.writeFileSync(r("a/b/c/data.copy"), "tampered");
        fs.writeFileSync(r("t/text.conf"), "tampered");
        fs.writeFileSync(r("existing/b.conf"), "tampered");
        phase = 2;
        outcomes.push(await stack.up());
        look();
        // 3: the local file changes: copied again.
        fs.writeFileSync(path.join(local, "data.bin"), Buffer.concat([binary, Buffer.from("more")]));
        outcomes.push(await stack.up());
        look();
        await stack.destroy();
    }, 150_000);
    afterAll(async () => {
        await stack?.remove();
        for (const d of [local, remoteDir]) if (d) fs.rmSync(d, { recursive: true, force: true });
    });

    it("a FileAsset to a new nested path: parents created, content byte-equal; outputs are the inputs", () => {
        expect(outcomes[0]!.errors["file-nested"]).toBeUndefined();
        expect(outcomes[0]!.ops["file-nested"]).toBe("create");
        expect(outcomes[0]!.outputs["file-nested"]!.remotePath).toBe(r("a/b/c/data.copy"));
        expect(Object.keys(outcomes[0]!.outputs["file-nested"]!).sort()).toEqual(["connection", "remotePath", "source"]);
        expect(seen[0]!["a/b/c/data.copy"]!.equals(binary)).toBe(true);
    });

    it("a StringAsset is written to remotePath (parents created)", () => {
        expect(outcomes[0]!.errors.text).toBeUndefined();
        expect(outcomes[0]!.ops.text).toBe("create");
        expect(seen[0]!["t/text.conf"]!.toString()).toBe("hello text\n");
    });

    it("a FileAsset into an existing directory lands under its base name", () => {
        expect(outcomes[0]!.errors["into-dir"]).toBeUndefined();
        expect(fs.statSync(r("existing")).isDirectory()).toBe(true);
        expect(seen[0]!["existing/b.conf"]!.toString()).toBe("b-content\n");
    });

    it('FileArchive "dir" copies to remote/dir; "dir/" copies the entries into remote (created)', () => {
        expect(fs.readFileSync(r("dir-dest/tree/top.txt"), "utf8")).toBe("top\n");
        expect(fs.readFileSync(r("dir-dest/tree/sub/leaf.txt"), "utf8")).toBe("leaf\n");
        expect(fs.readFileSync(r("dir-slash-dest/top.txt"), "utf8")).toBe("top\n");
        expect(fs.readFileSync(r("dir-slash-dest/sub/leaf.txt"), "utf8")).toBe("leaf\n");
        expect(fs.existsSync(r("dir-slash-dest/tree"))).toBe(false);
    });

    it("a text asset aimed at a directory fails with upstream's text", () => {
        expect(outcomes[0]!.errors["text-into-dir"]).toContain(`remote path ${r("existing")} is a directory; when using a text asset, remotePath must be a file path`);
    });

    it("same hashes: no copy (hand-changed remote files stay); a connection-only change is an update that copies nothing", () => {
        expect(outcomes[1]!.ops["file-nested"]).toBe("same");
        expect(outcomes[1]!.ops.text).toBe("update");
        expect(outcomes[1]!.errors).toEqual({});
        expect(seen[1]!["a/b/c/data.copy"]!.toString()).toBe("tampered");
        expect(seen[1]!["t/text.conf"]!.toString()).toBe("tampered");
    });

    it("a FileAsset whose local path changed but whose hash did not: no change at all (upstream's diff compares assets by hash only)", () => {
        expect(outcomes[1]!.ops["into-dir"]).toBe("same");
        expect(seen[1]!["existing/b.conf"]!.toString()).toBe("tampered");
    });

    it("a changed local file is copied again (an update), byte-equal; destroy leaves every copied file", () => {
        expect(outcomes[2]!.ops["file-nested"]).toBe("update");
        expect(outcomes[2]!.errors).toEqual({});
        expect(seen[2]!["a/b/c/data.copy"]!.equals(Buffer.concat([binary, Buffer.from("more")]))).toBe(true);
        expect(outcomes[2]!.ops.text).toBe("same");
        // Checked after destroy (beforeAll destroyed the stack).
        for (const p of ["a/b/c/data.copy", "t/text.conf", "existing/b.conf", "dir-dest/tree/top.txt", "dir-slash-dest/top.txt"]) expect(fs.existsSync(r(p))).toBe(true);
    });
});

describe.sequential("remote.CopyToRemote Check (upstream's failures)", () => {
    it('an AssetArchive source fails Check: "archive must be a path to a file or directory"', async () => {
        const res = await upReport("copy-check", () => {
            new remote.CopyToRemote("assets-archive", {
                connection: conn(sshd.ports.main) as unknown as remote.CopyToRemoteArgs["connection"],
                source: new pulumi.asset.AssetArchive({ "f.txt": new pulumi.asset.StringAsset("f") }),
                remotePath: "/tmp/rst-never-copied",
            });
        });
        expect(report(res, "assets-archive").error).toContain("archive must be a path to a file or directory");
        expect(fs.existsSync("/tmp/rst-never-copied")).toBe(false);
    }, 60_000);
});
