/**
 * `npm run status`'s own side: it reaches main as the stack does (address, admin user
 * and key, pinned host key, from the stack file or the lab description) and stays
 * quick by loading no Pulumi SDK. The SSH round trip and the table from a real main
 * are in test/lab/observability.test.ts.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { mainAccess } from "../../scripts/status";
import { SAMPLE_KEY } from "../support/fixtures";

const ROOT = path.resolve(__dirname, "../..");

function project(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rst-status-"));
    for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
    return dir;
}

describe("npm run status: reaching main", () => {
    it("real hosts: host, port, user, key file (relative to the project) and the pinned host key", () => {
        const dir = project({
            "Pulumi.home.yaml": `config:\n  reverse-ssh-tunnel:main:\n    host: main.example.org\n    port: 2200\n    user: admin\n    privateKeyFile: keys/admin\n    hostKey: ${SAMPLE_KEY}\n    monitor:\n      alertCommand: echo hi\n  reverse-ssh-tunnel:backups:\n    - name: pi\n      host: 192.0.2.7\n      tunnelPort: 2222\n`,
        });
        expect(mainAccess("home", dir)).toEqual({ host: "main.example.org", port: 2200, user: "admin", keyFile: path.join(dir, "keys/admin"), hostKey: SAMPLE_KEY, insecure: false });
    });

    it("lab hosts: from the lab description, as the stack reads it", () => {
        const lab = { hosts: { main: { role: "main", addresses: { operator: "10.231.0.2", public: "10.231.1.1" }, adminUser: "admin", adminKeyPath: "/k/admin", hostKeys: { ed25519: SAMPLE_KEY } } } };
        const dir = project({ "lab.json": JSON.stringify(lab), "Pulumi.main.yaml": "config:\n  reverse-ssh-tunnel:lab: lab.json\n  reverse-ssh-tunnel:main:\n    lab: main\n" });
        expect(mainAccess("main", dir)).toEqual({ host: "10.231.0.2", port: 22, user: "admin", keyFile: "/k/admin", hostKey: SAMPLE_KEY, insecure: false });
    });

    it("refuses what the stack would refuse, naming the key", () => {
        const dir = project({ "Pulumi.bad.yaml": "config:\n  reverse-ssh-tunnel:main:\n    host: 'main.example.org; rm -rf /'\n" });
        expect(() => mainAccess("bad", dir)).toThrow(/main\.host/);
        expect(() => mainAccess("missing", dir)).toThrow(/no stack file/);
    });

    it("loads no Pulumi SDK (the command stays quick)", () => {
        const r = spawnSync("node", ["--require", "tsx/cjs", "-e", 'require("./scripts/status"); console.log(Object.keys(require.cache).filter((k) => k.includes("@pulumi")).length)'], { cwd: ROOT, encoding: "utf8" });
        expect(r.stderr).toBe("");
        expect(r.stdout.trim()).toBe("0");
    });
});
