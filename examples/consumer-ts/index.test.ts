/**
 * The consumer's unit test: runs index.ts under Pulumi's mocks (no engine, no hosts)
 * and checks the resource graph the package builds from Output inputs.
 */
import * as assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { before, test } from "node:test";
import { gunzipSync } from "node:zlib";
import * as pulumi from "@pulumi/pulumi";

/** Any valid ed25519 public key: mocks never dial it. */
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
/** A fresh throwaway key: the package checks that private keys parse. */
const ADMIN_KEY = generateKeyPairSync("ed25519", { privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } }).privateKey;
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

interface Registration {
    type: string;
    name: string;
    inputs: Record<string, any>;
}
const seen: Registration[] = [];

/** Strips Pulumi's secret envelope as the mock monitor receives it. */
function unwrap(v: any): any {
    return v && typeof v === "object" && SECRET_SIG in v ? unwrap(v.value) : v;
}

/**
 * The scripts a command runs, readable: its stdin is a short stub around the gzip'd,
 * base64'd scripts (the lines after the stub's first two, up to `RST_PACKED`).
 */
function scripts(stdin: string): string {
    const lines = stdin.split("\n");
    return gunzipSync(Buffer.from(lines.slice(2, lines.indexOf("RST_PACKED")).join(""), "base64")).toString("utf8");
}

function resolve<T>(o: pulumi.Input<T>): Promise<T> {
    return new Promise((r) => pulumi.output(o).apply((v) => r(v as T)));
}

let program: typeof import("./index.js");

before(async () => {
    pulumi.runtime.setAllConfig(
        {
            "rst-consumer:mainHost": "203.0.113.10",
            "rst-consumer:mainUser": "admin",
            "rst-consumer:mainHostKey": HOST_KEY,
            "rst-consumer:mainPrivateKey": ADMIN_KEY,
            "rst-consumer:backupHost": "192.168.1.20",
            "rst-consumer:backupHostKey": HOST_KEY,
            "rst-consumer:backupPrivateKey": ADMIN_KEY,
            "rst-consumer:port": "2201",
        },
        ["rst-consumer:mainPrivateKey", "rst-consumer:backupPrivateKey"],
    );
    pulumi.runtime.setMocks(
        {
            newResource(args) {
                seen.push({ type: args.type, name: args.name, inputs: args.inputs });
                const state: Record<string, any> = { ...args.inputs };
                if (args.type === "tls:index/privateKey:PrivateKey") {
                    state.publicKeyOpenssh = `${HOST_KEY}\n`;
                    state.publicKeyFingerprintSha256 = "SHA256:mock";
                    state.privateKeyOpenssh = "-----BEGIN OPENSSH PRIVATE KEY-----\nmock\n-----END OPENSSH PRIVATE KEY-----\n";
                }
                if (args.type === "command:remote:Command") {
                    // Main's host-key read; a backup's service install prints the backup's host keys.
                    state.stdout = args.name.endsWith("hostkeys") ? `${HOST_KEY}\n` : args.name.endsWith("-service") ? `reverse-ssh-tunnel: host key of this backup: ${HOST_KEY}\n` : "";
                    state.stderr = "";
                }
                return { id: `${args.name}-id`, state };
            },
            call: () => ({}),
        },
        "rst-consumer",
        "test",
        false,
    );
    program = await import("./index.js");
    await resolve(program.sshConfig);
    await resolve(program.keyFingerprint);
    // Let the remaining registrations reach the mock monitor.
    for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 20));
});

test("the tunnel is registered under the package's type token, with its key and commands", () => {
    const types = new Set(seen.map((s) => s.type));
    assert.ok(types.has("reverse-ssh-tunnel:index:ReverseTunnel"), "ReverseTunnel registered");
    assert.ok(types.has("tls:index/privateKey:PrivateKey"), "the tunnel key registered");
    const names = new Set(seen.filter((s) => s.type === "command:remote:Command").map((s) => s.name));
    for (const n of ["nas-sshd", "nas-account", "nas-tunnel-key", "nas-service"]) assert.ok(names.has(n), `${n} registered`);
});

test("main's connection comes from the Outputs, checked and defaulted", () => {
    const onMain = seen.filter((s) => s.type === "command:remote:Command" && unwrap(s.inputs.connection)?.host === "203.0.113.10");
    assert.ok(onMain.length >= 3, `commands on main: ${onMain.map((s) => s.name).join(", ")}`);
    const c = unwrap(onMain[0]!.inputs.connection);
    assert.equal(c.port, 22);
    assert.equal(c.user, "admin");
    assert.equal(c.hostKey, HOST_KEY);
    assert.match(c.privateKey, /BEGIN PRIVATE KEY/);
    // A non-root login runs every script through sudo -n (the scripts travel on stdin).
    assert.equal(unwrap(onMain[0]!.inputs.create), "sudo -n -- /bin/bash -s -- create");
});

test("the backup dials main's host by default and the outputs are typed", async () => {
    assert.equal(await resolve(program.port), 2201);
    const sshConfig = await resolve(program.sshConfig);
    assert.match(sshConfig, /Host backup-nas/);
    const service = seen.find((s) => s.type === "command:remote:Command" && s.name === "nas-service");
    assert.ok(service, "service command registered");
    assert.match(scripts(unwrap(service.inputs.stdin)), /203\.0\.113\.10/);
});
