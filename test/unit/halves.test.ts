/**
 * ReverseTunnel's halves: main only (key, account, policy on main; outputs feed the
 * other half) and backup only (the service, from the main half's outputs), with
 * every default derived from the name alone.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeEach, describe, expect, it } from "vitest";
import { ReverseTunnel } from "../../components/tunnel";
import { makeKeyPair, SAMPLE_KEY } from "../support/fixtures";
import { installMocks, Registered, resolve, settle, stdinText, unwrap } from "../support/mocks";

const MAIN = { host: "203.0.113.10", user: "admin", hostKey: SAMPLE_KEY };
const BACKUP = { host: "192.168.1.20", user: "pi", hostKey: SAMPLE_KEY };

const commandsOn = (seen: Registered[], host: string) =>
    seen.filter((r) => r.type === "command:remote:Command" && unwrap(r.inputs.connection)?.host === host).map((r) => r.name).sort();

describe("ReverseTunnel halves", () => {
    let seen: Registered[];
    beforeEach(() => {
        seen = installMocks();
    });

    it("main only: key, account and policy on main, nothing on the backup; the name defaults to the resource name", async () => {
        const t = new ReverseTunnel("nas", { main: MAIN, port: 2201 });
        expect(await resolve(t.backupName)).toBe("nas");
        expect(await resolve(t.tunnelUser)).toBe("tunnel-nas");
        expect(await resolve(t.mainHostKeys)).toEqual([SAMPLE_KEY]);
        expect(await resolve(t.privateKey)).toMatch(/PRIVATE KEY/);
        expect(await resolve(t.sshConfig)).toBe("");
        await settle();
        const types = seen.map((s) => s.type);
        expect(types.filter((t) => t.startsWith("reverse-ssh-tunnel:"))).toEqual(["reverse-ssh-tunnel:index:ReverseTunnel"]);
        // No finalizer: there is no backup to wait for; a rotated-out key expires by itself.
        expect(commandsOn(seen, "203.0.113.10")).toEqual(["main-scripts-203.0.113.10-22", "nas-account", "nas-main-hostkeys", "nas-sshd"]);
        expect(commandsOn(seen, "192.168.1.20")).toEqual([]);
    });

    it("backup only: the service from the main half's key and host keys; nothing on main, no key generated", async () => {
        const key = makeKeyPair();
        const t = new ReverseTunnel("nas", { backup: BACKUP, port: 2201, mainPublicHost: "main.example.org", privateKey: key.privateKey, mainHostKeys: [SAMPLE_KEY] });
        expect(await resolve(t.publicKey)).toBe(key.publicKey.split(" ").slice(0, 2).join(" "));
        expect(await resolve(t.keyFingerprint)).toMatch(/^SHA256:/);
        expect(await resolve(t.unitName)).toBe("reverse-ssh-tunnel-nas.service");
        await settle();
        expect(seen.map((s) => s.type)).not.toContain("tls:index/privateKey:PrivateKey");
        expect(commandsOn(seen, "192.168.1.20")).toEqual(["nas-service", "nas-tunnel-key"]);
        expect(commandsOn(seen, "203.0.113.10")).toEqual([]);
        // Scripts travel on stdin as one bundle; a key command's data follows it.
        const service = seen.find((s) => s.name === "nas-service")!;
        expect(stdinText(service.inputs.stdin)).toContain("main.example.org");
        expect(stdinText(seen.find((s) => s.name === "nas-tunnel-key")!.inputs.stdin).endsWith(`\nesac; exit\n${key.privateKey}`)).toBe(true);
    });

    it("the halves compose: the main half's outputs are the backup half's inputs", async () => {
        // Mocks whose tls key is a real one: the backup half checks the key it is given.
        const real = makeKeyPair();
        seen = [];
        pulumi.runtime.setMocks(
            {
                newResource(a) {
                    seen.push({ type: a.type, name: a.name, inputs: a.inputs });
                    const state: Record<string, any> = { ...a.inputs };
                    if (a.type === "tls:index/privateKey:PrivateKey") {
                        Object.assign(state, { publicKeyOpenssh: `${real.publicKey}\n`, publicKeyFingerprintSha256: "SHA256:x", privateKeyOpenssh: real.privateKey });
                    }
                    if (a.type === "command:remote:Command") Object.assign(state, { stdout: a.name.endsWith("hostkeys") ? `${SAMPLE_KEY}\n` : a.name.endsWith("-service") ? `reverse-ssh-tunnel: host key of this backup: ${SAMPLE_KEY}\n` : "", stderr: "" });
                    return { id: `${a.name}-id`, state };
                },
                call: () => ({}),
            },
            "reverse-ssh-tunnel",
            "test",
            false,
        );
        const mainHalf = new ReverseTunnel("nas-main", { name: "nas", main: MAIN, port: 2201 });
        new ReverseTunnel("nas-backup", { name: "nas", backup: BACKUP, port: 2201, mainPublicHost: MAIN.host, privateKey: mainHalf.privateKey, mainHostKeys: mainHalf.mainHostKeys });
        await resolve(mainHalf.privateKey);
        await settle();
        expect(stdinText(seen.find((s) => s.name === "nas-backup-tunnel-key")!.inputs.stdin).endsWith(`\nesac; exit\n${real.privateKey}`)).toBe(true);
        expect(stdinText(seen.find((s) => s.name === "nas-backup-service")!.inputs.stdin)).toContain("tunnel-nas");
    });

    it("refuses a backup half without what the main half provides, and a tunnel with no side, naming the setting", () => {
        expect(() => new ReverseTunnel("nas", { backup: BACKUP, port: 2201, mainPublicHost: "m.example", mainHostKeys: [SAMPLE_KEY] })).toThrow(/^backup "nas": privateKey: required for the backup half/);
        expect(() => new ReverseTunnel("nas", { backup: BACKUP, port: 2201, privateKey: "x", mainHostKeys: [SAMPLE_KEY] })).toThrow(/^backup "nas": mainPublicHost: required/);
        expect(() => new ReverseTunnel("nas", { port: 2201 })).toThrow(/^backup "nas": main: give main, backup or both/);
        expect(() => new ReverseTunnel("Bad_Name", { main: MAIN, port: 2201 })).toThrow(/^backup "Bad_Name": name: invalid name "Bad_Name"/);
    });
});
