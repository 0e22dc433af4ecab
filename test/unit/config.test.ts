import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { planStack, RawStackConfig } from "../../components/config";
import { makeKeyPair, SAMPLE_KEY } from "../support/fixtures";
import { installMocks, resolve, settle } from "../support/mocks";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rst-cfg-"));
const keyFile = path.join(dir, "admin");
fs.writeFileSync(keyFile, makeKeyPair().privateKey, { mode: 0o600 });

const base: RawStackConfig = {
    main: { host: "main.example.org", user: "admin", privateKeyFile: keyFile, hostKey: SAMPLE_KEY },
    backups: [{ name: "pi", host: "192.168.1.20", user: "admin", privateKeyFile: keyFile, hostKey: SAMPLE_KEY, tunnelPort: 2222 }],
};
const backup = (b: Record<string, unknown>) => ({ ...(base.backups as any[])[0], ...b });

describe("planStack", () => {
    it("fills defaults: public host from main, key file read, pins kept", () => {
        const plan = planStack(base, dir);
        expect(plan.tunnels).toHaveLength(1);
        const t = plan.tunnels[0]!;
        expect(t.mainPublicHost).toBe("main.example.org");
        expect(t.backup.privateKey).toMatch(/BEGIN OPENSSH PRIVATE KEY/);
        expect(t.main.hostKey).toBe(SAMPLE_KEY);
    });

    it.each([
        [{ ...base, main: { ...(base.main as object), prot: 22 } }, /^main: Unrecognized key/],
        [{ ...base, backups: [] }, /^backups: at least one backup/],
        [{ ...base, backups: [backup({ tunnelPort: "2222" })] }, /^backups\.0\.tunnelPort: /],
        [{ ...base, backups: [backup({ tunnelPort: 99999 })] }, /^backup "pi": backups\[0\]\.port: invalid port 99999/],
        [{ ...base, backups: [backup({ name: "Pi" })] }, /^backup "Pi": backups\[0\]\.name: invalid name/],
        [{ ...base, backups: [backup({ host: "pi;reboot" })] }, /^backup "pi": backups\[0\]\.backup\.connection\.host: invalid host/],
        [{ ...base, backups: [backup({ hostKey: undefined })] }, /^backup "pi": backups\[0\]\.backup\.connection\.hostKey: required/],
        [{ ...base, backups: [backup({ privateKeyFile: "/nonexistent/key" })] }, /^backup "pi": backups\[0\]\.privateKeyFile: cannot read private key file/],
        [{ ...base, backups: [backup({}), backup({ tunnelPort: 2223 })] }, /^backups: duplicate name "pi": backup "pi" \(backups\[0\]\) and backup "pi" \(backups\[1\]\)/],
        [{ ...base, backups: [backup({}), backup({ name: "garage" })] }, /duplicate forwarded port 2222: backup "pi" \(backups\[0\]\) and backup "garage" \(backups\[1\]\)/],
        [{ ...base, backups: [backup({}), backup({ name: "garage", tunnelPort: 2223, extraForwards: [{ remotePort: 2222 }] })] }, /duplicate forwarded port 2222/],
        [{ ...base, backups: [backup({}), backup({ name: "garage", tunnelPort: 2223, tunnelUser: "tunnel-pi" })] }, /duplicate tunnel user "tunnel-pi": backup "pi" \(backups\[0\]\) and backup "garage" \(backups\[1\]\)/],
        [{ ...base, lab: "nope.json", main: { lab: "main" } }, /^main\.lab: refers to lab host "main" but .* does not exist/],
    ] as Array<[RawStackConfig, RegExp]>)("refuses bad config %#", (raw, re) => {
        expect(() => planStack(raw, dir)).toThrow(re);
    });

    it("expands a leading ~/ in privateKeyFile to the home directory (no shell expands it)", () => {
        const home = fs.mkdtempSync(path.join(os.tmpdir(), "rst-home-"));
        fs.mkdirSync(path.join(home, ".ssh"));
        fs.copyFileSync(keyFile, path.join(home, ".ssh", "id_admin"));
        const saved = process.env.HOME;
        process.env.HOME = home;
        try {
            const plan = planStack({ ...base, backups: [backup({ privateKeyFile: "~/.ssh/id_admin" })] }, dir);
            expect(plan.tunnels[0]!.backup.privateKey).toMatch(/BEGIN OPENSSH PRIVATE KEY/);
            expect(() => planStack({ ...base, backups: [backup({ privateKeyFile: "~/.ssh/missing" })] }, dir)).toThrow(`cannot read private key file ${home}/.ssh/missing`);
        } finally {
            process.env.HOME = saved;
        }
    });

    it("reads hosts from a lab description", () => {
        const lab = {
            hosts: {
                main: { addresses: { operator: "10.231.0.2", public: "10.231.1.1" }, adminUser: "admin", adminKeyPath: keyFile, hostKeys: { ed25519: SAMPLE_KEY, rsa: "x" } },
                backup1: { addresses: { operator: "10.231.101.2" }, adminUser: "admin", adminKeyPath: keyFile, hostKeys: { ed25519: SAMPLE_KEY } },
            },
        };
        fs.writeFileSync(path.join(dir, "lab.json"), JSON.stringify(lab));
        const plan = planStack({ lab: "lab.json", main: { lab: "main" }, backups: [{ name: "pi", lab: "backup1", tunnelPort: 2222 }] }, dir);
        expect(plan.main).toMatchObject({ host: "10.231.0.2", user: "admin", hostKey: SAMPLE_KEY });
        expect(plan.tunnels[0]?.mainPublicHost).toBe("10.231.1.1");
        expect(plan.tunnels[0]?.backup.host).toBe("10.231.101.2");
    });

    it("reaches a backup through main when via: main", () => {
        const plan = planStack({ ...base, backups: [backup({ via: "main" })] }, dir);
        expect(plan.tunnels[0]?.backup).toMatchObject({ host: "127.0.0.1", port: 2222, proxy: { host: "main.example.org" } });
    });
});

describe("stack program (index.ts)", () => {
    it("creates one ReverseTunnel per backup and exports port, fingerprint and ssh config", async () => {
        const seen = installMocks();
        pulumi.runtime.setAllConfig({
            "reverse-ssh-tunnel:main": JSON.stringify(base.main),
            "reverse-ssh-tunnel:backups": JSON.stringify([backup({}), backup({ name: "garage", tunnelPort: 2223 })]),
        });
        // Imported only now: a program imported before setMocks would pass vacuously.
        const program = await import("../../index");
        const out = await resolve(program.sshConfig);
        await settle();
        expect(seen.filter((s) => s.type === "reverse-ssh-tunnel:index:ReverseTunnel").map((s) => s.name)).toEqual(["pi", "garage"]);
        expect(await resolve(program.backups.pi!.port)).toBe(2222);
        expect(out).toContain("Host backup-garage");
    });
});
