/**
 * HostConnection takes Inputs: known values are checked when the component is
 * constructed (preview fails naming the key), Output values once they resolve (the
 * command resource fails before it runs anything), and pending values are not
 * judged early.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { HostConnection, toCommandConnection, validateConnection } from "../../components/connection";
import { remoteScript } from "../../components/connection/remoteScript";
import { makeKeyPair, SAMPLE_KEY } from "../support/fixtures";
import { installMocks, settle, unwrap } from "../support/mocks";

/** Runs test/support/connection-probe.ts with Output values for main's connection. */
function probe(values: { host: string; hostKey: string; privateKey?: string }): { error: string | null; registered: string[] } {
    const out = execFileSync("npx", ["tsx", path.join(__dirname, "../support/connection-probe.ts"), JSON.stringify(values)], { encoding: "utf8" });
    return JSON.parse(out.trim().split("\n").pop()!) as { error: string | null; registered: string[] };
}

/** Settles an Output to its value or its error (Output.promise is how the SDK awaits it). */
function settled<T>(o: pulumi.Output<T>): Promise<T> {
    return (o as unknown as { promise(): Promise<T> }).promise();
}

/** An Output still waiting for its producer (like a VM's address before the VM exists). */
function pending<T>(): pulumi.Output<T> {
    return pulumi.deferredOutput<T>()[0];
}

describe("HostConnection with Inputs", () => {
    let privateKey: string;
    beforeAll(() => {
        installMocks();
        privateKey = makeKeyPair().privateKey;
    });

    it("takes every dialling value from Outputs and fills the defaults", async () => {
        const c: HostConnection = { host: pulumi.output("203.0.113.7"), hostKey: pulumi.output(`${SAMPLE_KEY} comment`), privateKey: pulumi.secret(privateKey), user: pulumi.output("admin") };
        const out = unwrap(await settled(toCommandConnection("main.connection", c)));
        expect(out).toMatchObject({ host: "203.0.113.7", port: 22, user: "admin", hostKey: SAMPLE_KEY, privateKey });
    });

    it("fails at construction on a known bad value, naming the key, even next to pending ones", () => {
        expect(() => toCommandConnection("main.connection", { host: pending<string>(), port: 70000, hostKey: SAMPLE_KEY })).toThrow(/^main\.connection\.port: invalid port/);
        expect(() => toCommandConnection("main.connection", { host: pulumi.output("h.example") })).toThrow(/^main\.connection\.hostKey: required/);
        expect(() => validateConnection("backup.connection", { host: "b.example", hostKey: SAMPLE_KEY, proxy: { host: "bad host", hostKey: SAMPLE_KEY } })).toThrow(
            /^backup\.connection\.proxy\.host: invalid host/,
        );
    });

    it("does not judge pending values early", () => {
        expect(() => toCommandConnection("main.connection", { host: pending<string>(), hostKey: pending<string>(), user: pending<string>(), privateKey: pending<string>() })).not.toThrow();
    });

    it("fails the command before it runs once an Output resolves to a bad value, naming the key and never showing a private key", () => {
        const ok = probe({ host: "203.0.113.7", hostKey: SAMPLE_KEY });
        expect(ok).toEqual({ error: null, registered: ["reverse-ssh-tunnel:index:MainHealthCheck", "command:remote:Command"] });
        for (const [values, message] of [
            [{ host: "bad host!", hostKey: SAMPLE_KEY }, /^ConfigError: error serializing property "connection": main\.connection\.host: invalid host/],
            [{ host: "h.example", hostKey: "ssh-ed25519 nope" }, /^ConfigError: error serializing property "connection": main\.connection\.hostKey: not a valid OpenSSH public key/],
            [{ host: "h.example", hostKey: SAMPLE_KEY, privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0\n-----END OPENSSH PRIVATE KEY-----" }, /^ConfigError: error serializing property "connection": main\.connection\.privateKey: /],
        ] as const) {
            const r = probe(values);
            expect(r.error).toMatch(message);
            expect(r.error).not.toContain("c2VjcmV0");
            expect(r.registered).toEqual(["reverse-ssh-tunnel:index:MainHealthCheck"]);
        }
    });

    it("runs scripts through sudo -n when the login user is an Output other than root", async () => {
        const seen = installMocks();
        remoteScript("probe", { connection: { host: "h.example", hostKey: SAMPLE_KEY, user: pulumi.output("admin") }, connectionKey: "main.connection", create: "true" }, {});
        remoteScript("probe-root", { connection: { host: "h.example", hostKey: SAMPLE_KEY, user: pulumi.output("root") }, connectionKey: "main.connection", create: "true" }, {});
        await settle();
        expect(seen.find((s) => s.name === "probe")?.inputs.create).toBe("sudo -n -- /bin/bash -s -- create");
        expect(seen.find((s) => s.name === "probe-root")?.inputs.create).toBe("/bin/bash -s -- create");
    });
});

describe("the stdin bundle", () => {
    it("a phase that does not read the data stops at the end of the case: the data is never run as commands", async () => {
        const { renderPackedBundle } = await import("../../components/shell");
        const bundle = renderPackedBundle({ create: 'cat >/dev/null; echo created', update: "echo updated", delete: "echo deleted" }, "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n");
        for (const [phase, out] of [["create", "created"], ["update", "updated"], ["delete", "deleted"]] as const) {
            const r = spawnSync("bash", ["-s", "--", phase], { input: bundle, encoding: "utf8" });
            expect({ status: r.status, stdout: r.stdout.trim(), stderr: r.stderr }, phase).toEqual({ status: 0, stdout: out, stderr: "" });
        }
    });
});
