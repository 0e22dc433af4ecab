/**
 * One program's tunnels are checked together when they are constructed: a second
 * tunnel on the same main with a name, port or tunnel account already taken is
 * refused before anything is registered, and the error names both tunnels. Errors
 * about one tunnel's settings start with `backup "NAME": `.
 */
import * as pulumi from "@pulumi/pulumi";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ReverseTunnel, ReverseTunnelArgs } from "../../components/tunnel";
import { mainIdentity } from "../../components/tunnel/registry";
import { ConfigError } from "../../components/validation";
import { makeKeyPair, SAMPLE_KEY } from "../support/fixtures";
import { installMocks, Registered, settle } from "../support/mocks";

const MAIN = { host: "203.0.113.10", user: "admin", hostKey: SAMPLE_KEY };
const backup = (host: string) => ({ host, user: "pi", hostKey: SAMPLE_KEY });
const tunnel = (resourceName: string, args: Partial<ReverseTunnelArgs> = {}) =>
    new ReverseTunnel(resourceName, { main: MAIN, backup: backup("192.168.1.20"), port: 2222, ...args });

// Registrations finish asynchronously: let them end before the next test installs new mocks.
afterEach(settle);

/** Commands of the tunnel named `resourceName` (its children are named `<resourceName>-...`). */
const commandsOf = (seen: Registered[], resourceName: string) => seen.filter((r) => r.type === "command:remote:Command" && r.name.startsWith(`${resourceName}-`));

describe("errors name the tunnel", () => {
    beforeEach(() => {
        installMocks();
    });

    it("a setting of one tunnel: backup \"pi\": port 80 is below 1024", () => {
        expect(() => tunnel("pi", { port: 80 })).toThrow(/^backup "pi": port: port 80 is below 1024: use a whole number from 1024 to 65535$/);
    });

    it("the name given in args wins over the resource name, also when it is the invalid setting", () => {
        expect(() => tunnel("pi-resource", { name: "pi", tunnelUser: "Root" })).toThrow(/^backup "pi": tunnelUser: invalid user name "Root"/);
        expect(() => tunnel("pi-resource", { name: "PI" })).toThrow(/^backup "PI": name: invalid name "PI"/);
    });

    it("keeps the setting as ConfigError.key and the tunnel as ConfigError.tunnel", () => {
        let err: unknown;
        try {
            tunnel("pi", { port: 80 });
        } catch (e) {
            err = e;
        }
        expect(err).toBeInstanceOf(ConfigError);
        expect((err as ConfigError).key).toBe("port");
        expect((err as ConfigError).tunnel).toBe("pi");
        expect((err as ConfigError).detail).toBe("port 80 is below 1024: use a whole number from 1024 to 65535");
    });
});

describe("a program's tunnels on one main are checked together", () => {
    let seen: Registered[];
    beforeEach(() => {
        seen = installMocks();
    });

    it("refuses a second tunnel with the same port, naming both, before it registers any command", async () => {
        tunnel("pi");
        expect(() => tunnel("garage", { backup: backup("192.168.1.21") })).toThrow(
            /^backup "garage": port: port 2222 is already used by backup "pi" on main 203\.0\.113\.10:22; each tunnel on a main needs its own$/,
        );
        await settle();
        expect(commandsOf(seen, "pi").length).toBeGreaterThan(0);
        expect(commandsOf(seen, "garage")).toEqual([]);
    });

    it("refuses a port of the second tunnel's extra forwards that the first one uses (either way round)", () => {
        tunnel("pi", { extraForwards: [{ remotePort: 8443, localPort: 443 }] });
        expect(() => tunnel("garage", { port: 2223, extraForwards: [{ remotePort: 2222 }] })).toThrow(/^backup "garage": extraForwards: port 2222 is already used by backup "pi"/);
        expect(() => tunnel("nas", { port: 8443 })).toThrow(/^backup "nas": port: port 8443 is already used by backup "pi"/);
    });

    it("refuses the same name under another resource name, naming both resources", () => {
        tunnel("pi-a", { name: "pi" });
        expect(() => tunnel("pi-b", { name: "pi", port: 2223, tunnelUser: "tunnel-pi2" })).toThrow(
            /^backup "pi": name: the name "pi" \(resource "pi-b"\) is already used by backup "pi" \(resource "pi-a"\) on main 203\.0\.113\.10:22/,
        );
    });

    it("refuses the same tunnel account", () => {
        tunnel("pi");
        expect(() => tunnel("garage", { port: 2223, tunnelUser: "tunnel-pi" })).toThrow(/^backup "garage": tunnelUser: the tunnel account "tunnel-pi" is already used by backup "pi"/);
    });

    it("knows one main by its host in any case and with a root dot, and its default port 22", () => {
        tunnel("pi", { main: { ...MAIN, host: "Main.Example.org." } });
        expect(() => tunnel("garage", { main: { ...MAIN, host: "main.example.org", port: 22 } })).toThrow(/on main main\.example\.org:22/);
    });

    it("accepts the same name, port and account on different mains", () => {
        tunnel("pi-one", { name: "pi" });
        tunnel("pi-two", { name: "pi", main: { ...MAIN, host: "203.0.113.11" } });
        tunnel("pi-three", { name: "pi", main: { ...MAIN, port: 2022 } });
    });

    it("skips the comparison when main's host is not known yet (an Output)", () => {
        tunnel("pi");
        tunnel("pi-later", { name: "pi", main: { ...MAIN, host: pulumi.output("203.0.113.10") } });
    });

    it("does not count a refused tunnel: fixing the clash in the same run is accepted", () => {
        tunnel("pi");
        expect(() => tunnel("garage")).toThrow(/already used/);
        tunnel("garage", { port: 2223 });
    });

    it("compares only main halves and whole tunnels: a backup half of the same name is not a second claim on main", () => {
        tunnel("nas-main", { name: "nas", backup: undefined });
        new ReverseTunnel("nas-backup", { name: "nas", backup: backup("192.168.1.20"), port: 2222, mainPublicHost: MAIN.host, privateKey: makeKeyPair().privateKey, mainHostKeys: [SAMPLE_KEY] });
    });

    it("starts empty in a new program run (new mocks: a new resource monitor)", async () => {
        tunnel("pi");
        await settle();
        installMocks();
        tunnel("pi");
    });
});

describe("mainIdentity", () => {
    it.each([
        [{ host: "203.0.113.10" }, "203.0.113.10:22"],
        [{ host: "2001:db8::1", port: 2022 }, "[2001:db8::1]:2022"],
        [{ host: "127.0.0.1", port: 2201, proxy: { host: "Main.example.org" } }, "main.example.org:22 -> 127.0.0.1:2201"],
        [{ host: pulumi.output("x") }, undefined],
        [{ host: "h", port: pulumi.output(22) }, undefined],
        [{ host: "127.0.0.1", proxy: { host: pulumi.output("jump") } }, undefined],
    ] as Array<[Parameters<typeof mainIdentity>[0], string | undefined]>)("%#: %s", (main, id) => {
        expect(mainIdentity(main)).toBe(id);
    });
});
