import { describe, expect, it } from "vitest";
import {
    ConfigError,
    parseHostKeyList,
    parsePublicKey,
    validateHost,
    validatePort,
    validatePrivateKey,
    validateTunnelName,
    validateUserName,
} from "../../components/validation";
import { makeKeyPair, SAMPLE_KEY } from "../support/fixtures";

describe("validation", () => {
    it.each(["tunnel-pi", "_svc", "a", "a".repeat(32)])("accepts user name %s", (n) => {
        expect(validateUserName("u", n)).toBe(n);
    });
    it.each(["", "Root", "1abc", "-x", "a b", "a;rm", "a".repeat(33), "x$", "ä"])("refuses user name %j with the key named", (n) => {
        expect(() => validateUserName("backups[0].tunnelUser", n)).toThrow(/^backups\[0\]\.tunnelUser: invalid user name/);
    });
    it.each(["pi", "garage-2", "a1"])("accepts tunnel name %s", (n) => expect(validateTunnelName("name", n)).toBe(n));
    it.each(["", "-pi", "pi-", "Pi", "pi_1", "a".repeat(25), "../x"])("refuses tunnel name %j", (n) => {
        expect(() => validateTunnelName("name", n)).toThrow(ConfigError);
    });
    it.each([1, 22, 65535])("accepts port %d", (p) => expect(validatePort("p", p)).toBe(p));
    it.each([0, 65536, 22.5, "22", -1, Number.NaN])("refuses port %j", (p) => {
        expect(() => validatePort("main.port", p)).toThrow(/^main\.port: invalid port/);
    });
    it("refuses privileged listen ports when min is 1024", () => {
        expect(() => validatePort("tunnelPort", 80, 1024)).toThrow(/from 1024 to 65535/);
    });
    it.each(["example.org", "main.example.org.", "10.0.0.1", "::1", "fe80::1", "a-b.c"])("accepts host %s", (h) => {
        expect(validateHost("h", h)).toBe(h);
    });
    it.each(["", "-a.org", "a_b.org", "a..b", "host name", "$(id)", "1.2.3.999", "a".repeat(64) + ".org"])("refuses host %j", (h) => {
        expect(() => validateHost("main.host", h)).toThrow(/^main\.host: invalid host/);
    });
    it("normalises public keys and computes the fingerprint ssh-keygen prints", () => {
        const k = parsePublicKey("k", `${SAMPLE_KEY} some comment`);
        expect(k.line).toBe(SAMPLE_KEY);
        expect(k.fingerprint).toBe("SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU");
    });
    it("refuses short RSA keys, garbage and multi-line values", () => {
        const weak = makeKeyPair("rsa", 1024).publicKey;
        expect(() => parsePublicKey("hostKey", weak)).toThrow(/not accepted/);
        expect(() => parsePublicKey("hostKey", "ssh-ed25519 AAAA")).toThrow(/^hostKey: not a valid OpenSSH public key/);
        expect(() => parsePublicKey("hostKey", `${SAMPLE_KEY}\n${SAMPLE_KEY}`)).toThrow(/one OpenSSH public key line/);
    });
    it("parses host key listings and refuses empty ones", () => {
        const keys = parseHostKeyList("hk", `# c\nhost ${SAMPLE_KEY}\n${makeKeyPair("rsa", 2048).publicKey}\n`);
        expect(keys.map((k) => k.type)).toEqual(["ed25519", "rsa"]);
        expect(() => parseHostKeyList("hk", "\n")).toThrow(/no host keys/);
    });
    it("checks private keys without ever echoing them", () => {
        const { privateKey } = makeKeyPair();
        expect(validatePrivateKey("k", privateKey)).toBe(privateKey);
        const broken = privateKey.replace(/[A-Za-z]{20}/, "x".repeat(20));
        try {
            validatePrivateKey("main.privateKeyFile", broken);
            expect.unreachable();
        } catch (e) {
            expect((e as Error).message).toMatch(/^main\.privateKeyFile: /);
            expect((e as Error).message).not.toContain(broken.split("\n")[1]);
        }
    });
});

describe("host-key pins for provisioning connections", () => {
    it("refuses an RSA pin, saying why and how to get the ed25519 key", async () => {
        const { parseHostKeyPin } = await import("../../components/validation");
        const { execFileSync } = await import("node:child_process");
        const fs = await import("node:fs");
        const os = await import("node:os");
        const path = await import("node:path");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rst-rsa-"));
        execFileSync("ssh-keygen", ["-q", "-t", "rsa", "-b", "3072", "-N", "", "-f", path.join(dir, "k")]);
        const rsa = fs.readFileSync(path.join(dir, "k.pub"), "utf8");
        expect(() => parseHostKeyPin("main.hostKey", rsa)).toThrow(/^main\.hostKey: RSA host-key pins do not work .*ssh-rsa\/SHA-1.*OpenSSH >= 8\.8.*ssh-keyscan -t ed25519/);
        expect(parseHostKeyPin("main.hostKey", SAMPLE_KEY).type).toBe("ed25519");
    });
});
