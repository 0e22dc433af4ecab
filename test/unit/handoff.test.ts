/**
 * The handoff that joins a tunnel's two halves across stacks: the main half exports
 * one value, the backup half takes it and needs nothing repeated; what the backup half
 * still says itself must agree (a mismatch fails when the handoff resolves, i.e. at
 * preview: shown under the real engine by test/package/consumer.lab.test.ts); a main half without the backup's host keys says it installs no client entry.
 */
import * as pulumi from "@pulumi/pulumi";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ReverseTunnel } from "../../components/tunnel";
import { checkHandoff, HANDOFF_VERSION, TunnelHandoff } from "../../components/tunnel/handoff";
import { makeKeyPair, SAMPLE_KEY } from "../support/fixtures";
import { FAKE_PRIVATE_KEY, installMocks, resolve, settle, stdinText, unwrap } from "../support/mocks";

const HANDOFF: TunnelHandoff = {
    version: HANDOFF_VERSION,
    name: "nas",
    port: 2201,
    ports: [2201, 2202],
    tunnelUser: "tunnel-nas",
    serviceUser: "rst-nas",
    mainPublicHost: "main.example.org",
    mainPublicPort: 2022,
    mainHostKeys: [SAMPLE_KEY],
    privateKey: FAKE_PRIVATE_KEY,
    keyFingerprint: "SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU",
};
const WANT = { name: "nas", tunnelUser: "tunnel-nas", serviceUser: "rst-nas", extraPorts: [2202] };

describe("checkHandoff", () => {
    it("accepts the main half's value and returns it typed", () => {
        expect(checkHandoff(JSON.parse(JSON.stringify(HANDOFF)), WANT)).toEqual(HANDOFF);
    });

    it.each([
        ["port", { port: 2299 }, /backup "?nas"?|port: this backup half says 2299 but the main half's handoff says 2201/],
        ["mainPublicHost", { mainPublicHost: "other.example.org" }, /mainPublicHost: this backup half says "other.example.org" but the main half's handoff says "main.example.org"/],
        ["mainPublicPort", { mainPublicPort: 22 }, /mainPublicPort: this backup half says 22/],
        ["tunnelUser", { tunnelUser: "tunnel-x" }, /tunnelUser: this backup half says "tunnel-x" but the main half's handoff says "tunnel-nas"/],
        ["extra forwards", { extraPorts: [2203] }, /extraForwards\[\]\.remotePort: this backup half says \[2203\] but the main half's handoff says \[2202\]/],
        ["name", { name: "pi" }, /name: this backup half is "pi" but the handoff is for backup "nas"/],
    ])("a mismatch of %s is an error naming the setting and the fix", (_what, over, msg) => {
        expect(() => checkHandoff(HANDOFF, { ...WANT, ...over })).toThrow(msg);
        expect(() => checkHandoff(HANDOFF, { ...WANT, ...over })).toThrow(/drop|give the handoff|set name/);
    });

    it.each([
        ["not an object", "x", /handoff: must be the main half's `handoff` output/],
        ["nothing", undefined, /got nothing/],
        ["a missing field", { ...HANDOFF, privateKey: undefined as unknown as string }, /handoff\.privateKey: must be the tunnel's private key/],
        ["an absent field", (({ mainHostKeys: _k, ...rest }) => rest)(HANDOFF), /handoff\.mainHostKeys: missing/],
        ["another version", { ...HANDOFF, version: 2 }, /handoff\.version: this release reads handoff version 1, the main half wrote 2/],
        ["a bad port", { ...HANDOFF, port: 80, ports: [80] }, /handoff\.port: port 80 is below 1024/],
        ["a bad host", { ...HANDOFF, mainPublicHost: "a b" }, /handoff\.mainPublicHost/],
    ])("refuses %s", (_what, value, msg) => {
        expect(() => checkHandoff(value, WANT)).toThrow(msg);
    });

    it("never puts the private key into an error", () => {
        try {
            checkHandoff(HANDOFF, { ...WANT, port: 1 });
        } catch (e) {
            expect(String(e)).not.toContain("PRIVATE KEY");
        }
        expect.assertions(1);
    });
});

describe("ReverseTunnel halves joined by the handoff", () => {
    afterEach(() => vi.restoreAllMocks());
    const main = { host: "203.0.113.10", user: "admin", hostKey: SAMPLE_KEY };
    const backup = { host: "192.168.1.20", user: "pi", hostKey: SAMPLE_KEY };

    it("the main half exports one secret handoff with main's public address, ports, names, host keys and key", async () => {
        installMocks();
        const t = new ReverseTunnel("h1", { name: "nas", main, port: 2201, mainPublicHost: "main.example.org", mainPublicPort: 2022, extraForwards: [{ remotePort: 2202, localPort: 8080 }], installClientConfig: false });
        expect(await pulumi.isSecret(t.handoff)).toBe(true);
        const h = unwrap(await resolve(t.handoff));
        expect(h).toEqual({ ...HANDOFF, mainHostKeys: [SAMPLE_KEY] });
        await settle();
    });

    it("the backup half needs only the handoff: port, main's address and host keys and the key come from it", async () => {
        const seen = installMocks();
        const key = makeKeyPair();
        const t = new ReverseTunnel("h2", { name: "nas", backup, handoff: pulumi.secret({ ...HANDOFF, privateKey: key.privateKey }), extraForwards: [{ remotePort: 2202, localPort: 8080 }] });
        expect(await resolve(t.port)).toBe(2201);
        expect(await resolve(t.ports)).toEqual([2201, 2202]);
        expect(await resolve(t.mainHostKeys)).toEqual([SAMPLE_KEY]);
        expect(await resolve(t.publicKey)).toBe(key.publicKey.split(" ").slice(0, 2).join(" "));
        // Plain settings stay plain: only the key is secret.
        expect(await pulumi.isSecret(t.port)).toBe(false);
        expect(await pulumi.isSecret(t.privateKey)).toBe(true);
        await settle();
        const service = seen.filter((r) => r.type === "command:remote:Command" && /service/.test(r.name)).map((r) => JSON.stringify(stdinText(r.inputs.stdin)));
        const text = service.join("\n");
        expect(text).toContain("main.example.org");
        expect(text).toContain("2022");
        expect(text).toContain("127.0.0.1:2201");
        expect(text).not.toContain("PRIVATE KEY");
    });

    it("a main half without the backup's host keys warns that it installs no `ssh backup-NAME` entry", async () => {
        installMocks();
        const warn = vi.spyOn(pulumi.log, "warn").mockResolvedValue(undefined as never);
        new ReverseTunnel("h6", { name: "nas", main, port: 2201 });
        expect(warn.mock.calls.map((c) => c[0]).join("\n")).toMatch(/backup "nas": main's `ssh backup-nas` entry is not installed.*backupHostKeys.*installClientConfig: false/);
        warn.mockClear();
        new ReverseTunnel("h7", { name: "nas2", main, port: 2202, installClientConfig: false });
        new ReverseTunnel("h8", { name: "nas3", main, port: 2203, backupHostKeys: [SAMPLE_KEY] });
        expect(warn).not.toHaveBeenCalled();
        await settle();
    });
    // Last: a constructor that throws leaves a registration the next test's mocks would not know.
    it("refuses a handoff given to a main half, and a key given twice", () => {
        installMocks();
        expect(() => new ReverseTunnel("h3", { name: "nas", main, port: 2201, handoff: HANDOFF })).toThrow(/backup "nas": handoff: only a backup half/);
        expect(() => new ReverseTunnel("h4", { name: "nas", backup, handoff: HANDOFF, privateKey: FAKE_PRIVATE_KEY })).toThrow(/backup "nas": privateKey: the handoff carries it/);
        expect(() => new ReverseTunnel("h5", { name: "nas", backup })).toThrow(/backup "nas": port: invalid port undefined/);
    });

});
