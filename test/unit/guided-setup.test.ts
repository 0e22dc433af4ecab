/**
 * The guided setup's rules (scripts/setup-lib.ts): arguments, which host key is pinned
 * (ed25519, else ECDSA; RSA-only refused with the reason), and the stack file, which
 * must pass the stack's own validation (planStack). Keys are made by ssh-keygen.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { planStack } from "../../components/config";
import { choosePin, parseArgs, parseBackupSpec, renderStackFile, SetupError, stackConfig } from "../../scripts/setup-lib";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rst-setup-"));
function key(type: string): { pub: string; fp: string; priv: string } {
    const f = path.join(dir, `k-${type}-${Math.random().toString(36).slice(2)}`);
    execFileSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-f", f, ...(type === "rsa" ? ["-b", "3072"] : [])]);
    const fp = execFileSync("ssh-keygen", ["-lf", `${f}.pub`], { encoding: "utf8" }).split(" ")[1]!;
    return { pub: fs.readFileSync(`${f}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" "), fp, priv: f };
}
const ed = key("ed25519");
const ec = key("ecdsa");
const rsa = key("rsa");
const scan = (...keys: { pub: string }[]) => `# 192.0.2.1:22 SSH-2.0-OpenSSH_9.2p1\n${keys.map((k) => `192.0.2.1 ${k.pub}`).join("\n")}\n`;

describe("guided setup: arguments", () => {
    it("parses flags, backups and expected fingerprints", () => {
        const o = parseArgs(["--main-host", "m.example.org", "--main-user=admin", "--backup", "pi:10.0.0.5:root:2222", "--backup", "garage:h2:admin:2223:2022", "--yes", "--expect-fingerprint", `m.example.org=${ed.fp}`]);
        expect(o.stack).toBe("home");
        expect(o.mainHost).toBe("m.example.org");
        expect(o.mainUser).toBe("admin");
        expect(o.backups).toEqual([
            { name: "pi", host: "10.0.0.5", user: "root", tunnelPort: 2222 },
            { name: "garage", host: "h2", user: "admin", tunnelPort: 2223, sshPort: 2022 },
        ]);
        expect(o.yes).toBe(true);
        expect(o.expect.get("m.example.org")).toBe(ed.fp);
    });
    it("names the flag and the expected form on bad input", () => {
        expect(() => parseBackupSpec("pi:host:2222")).toThrow(/NAME:HOST:USER:TUNNELPORT/);
        expect(() => parseBackupSpec("pi:host:root:99999")).toThrow(/not a port/);
        expect(() => parseArgs(["--expect-fingerprint", "host=MD5:aa"])).toThrow(/HOST\[:PORT\]=SHA256/);
        expect(() => parseArgs(["--main-host"])).toThrow(/--main-host needs a value/);
        expect(() => parseArgs(["--bogus"])).toThrow(SetupError);
    });
});

describe("guided setup: the host key to pin", () => {
    it("prefers ed25519 and tells how to compare it on the host", () => {
        const p = choosePin("main", scan(rsa, ec, ed));
        expect(p).toEqual({ line: ed.pub, type: "ED25519", fingerprint: ed.fp, compareCommand: "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub" });
    });
    it("takes ECDSA when there is no ed25519 key", () => {
        const p = choosePin("main", scan(rsa, ec));
        expect(p.type).toBe("ECDSA");
        expect(p.fingerprint).toBe(ec.fp);
        expect(p.compareCommand).toBe("ssh-keygen -lf /etc/ssh/ssh_host_ecdsa_key.pub");
    });
    it("refuses a host with only an RSA key, saying why and what to do", () => {
        expect(() => choosePin("backup pi", scan(rsa))).toThrow(/backup pi offers only RSA host keys; an RSA pin is refused: .*'ssh-rsa' \(SHA-1\).*OpenSSH 8\.8.*ssh-keygen -A/);
    });
    it("refuses output without any host key", () => {
        expect(() => choosePin("main", "# 192.0.2.1:22 SSH-2.0-OpenSSH_9.2p1\n")).toThrow(/no usable host key/);
    });
});

describe("guided setup: the stack file", () => {
    it("holds no lab keys, pins both hosts and passes the stack's validation", () => {
        const o = parseArgs(["--main-host", "m.example.org", "--main-user", "admin", "--main-key", ed.priv, "--main-public-host", "203.0.113.7", "--backup", "pi:10.0.0.5:root:2222", "--login-user", "pi"]);
        const pins = { main: choosePin("main", scan(ed)), backups: [choosePin("backup pi", scan(ec))] };
        const c = stackConfig(o, pins);
        expect(c.main).toEqual({ host: "m.example.org", user: "admin", privateKeyFile: ed.priv, hostKey: ed.pub, publicHost: "203.0.113.7" });
        expect(c.backups).toEqual([{ name: "pi", tunnelPort: 2222, host: "10.0.0.5", user: "root", privateKeyFile: ed.priv, hostKey: ec.pub, loginUser: "pi" }]);
        const plan = planStack(c, dir);
        expect(plan.main.hostKey).toBe(ed.pub);
        expect(plan.tunnels[0]!.backup.hostKey).toBe(ec.pub);
        expect(plan.tunnels[0]!.mainPublicHost).toBe("203.0.113.7");
        const text = renderStackFile(c, pins, "2026-11-25");
        expect(text).not.toMatch(/\blab\b/);
        expect(text).toContain(`  reverse-ssh-tunnel:main:\n    host: "m.example.org"\n    user: "admin"\n`);
        expect(text).toContain(`    hostKey: ${JSON.stringify(ed.pub)}  # ED25519 ${ed.fp}\n`);
        expect(text).toContain(`  reverse-ssh-tunnel:backups:\n    - name: "pi"\n      tunnelPort: 2222\n`);
    });
});
