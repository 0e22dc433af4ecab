/**
 * `npm run doctor` (scripts/doctor.sh): what is missing, with the command that installs
 * it, and a non-zero exit. Each case runs the script with a PATH of its own (real
 * tools linked in, fake `node`/`pulumi`/`go` where a version matters) and an empty
 * toolchain cache, so the result does not depend on what this machine has installed.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");
const TOOLS = ["bash", "sh", "env", "sort", "head", "sed", "id", "uname", "dirname", "cat", "sha256sum", "find", "cut", "date", "ssh-keyscan", "ssh-keygen", "npm"];

function which(tool: string): string | undefined {
    try {
        return execFileSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim() || undefined;
    } catch {
        return undefined;
    }
}

function fake(dir: string, name: string, body: string): void {
    fs.writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
}

/** Runs the doctor with only TOOLS, the real node (unless faked) and the given fakes on PATH. */
function doctor(args: string[], fakes: Record<string, string>, env: Record<string, string> = {}): { status: number | null; out: string } {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "rst-doctor-bin-"));
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), "rst-doctor-cache-"));
    for (const t of [...TOOLS, "node"]) {
        const p = which(t);
        if (p !== undefined && fakes[t] === undefined) fs.symlinkSync(p, path.join(bin, t));
    }
    for (const [name, body] of Object.entries(fakes)) fake(bin, name, body);
    const r = spawnSync("bash", ["scripts/doctor.sh", ...args], {
        cwd: ROOT,
        encoding: "utf8",
        env: { PATH: bin, HOME: os.tmpdir(), RST_CACHE_DIR: cache, ...env },
    });
    return { status: r.status, out: r.stdout + r.stderr };
}

describe("doctor (scripts/doctor.sh)", () => {
    it("real hosts without a Pulumi CLI: names it, prints the installer command, exits 1", () => {
        const r = doctor(["--real"], {});
        expect(r.out).toContain("MISSING  Pulumi CLI >= 3.259.0, < 4 with its pulumi-language-nodejs (tested: 3.259.0 and 3.276.0)");
        expect(r.out).toContain("curl -fsSL https://get.pulumi.com | sh -s -- --version 3.276.0");
        expect(r.out).toMatch(/\(b\) real hosts: not ready/);
        expect(r.status).toBe(1);
    });

    it("real hosts with a compatible installed CLI (3.260.1 + its language host): ready, exit 0", () => {
        const r = doctor(["--real"], { pulumi: "echo v3.260.1", "pulumi-language-nodejs": "exit 0" });
        expect(r.out).toContain("ok       pulumi v3.260.1");
        expect(r.out).toMatch(/\(b\) real hosts: ready/);
        expect(r.status).toBe(0);
    });

    it("refuses a Pulumi CLI 4.x with the reason", () => {
        const r = doctor(["--real"], { pulumi: "echo v4.0.0", "pulumi-language-nodejs": "exit 0" });
        expect(r.out).toMatch(/MISSING {2}Pulumi CLI .*v4\.0\.0 is outside the supported range/);
        expect(r.status).toBe(1);
    });

    it("Node 18 is too old for both paths: the install command, exit 1", () => {
        const r = doctor([], { node: "echo v18.19.0", pulumi: "echo v3.260.1", "pulumi-language-nodejs": "exit 0" });
        expect(r.out).toContain("MISSING  Node.js ^20.19.0 || >=22.12.0 (found v18.19.0)");
        expect(r.out).toMatch(/install: .*(nodesource|apt-get install -y nodejs)/);
        expect(r.status).toBe(1);
    });

    it("the lab path with Go 1.24 and no cached toolchain: asks for Go >= 1.26 with the download command", () => {
        const r = doctor(["--lab"], { go: "echo go1.24.4" });
        expect(r.out).toContain("MISSING  Go >= 1.26 to build the Pulumi toolchain (found go1.24.4)");
        expect(r.out).toMatch(/install: curl -fsSL https:\/\/go\.dev\/dl\/go1\.26\.8\.linux-\w+\.tar\.gz/);
        expect(r.status).toBe(1);
    });

    it("the lab path without openssh-server and postgresql: names both as npm test's, with the install command, exit 1", () => {
        const none = fs.mkdtempSync(path.join(os.tmpdir(), "rst-doctor-none-"));
        const r = doctor(["--lab"], {}, { RST_SSHD: path.join(none, "sshd"), RST_POSTGRESQL_LIB: none });
        expect(r.out).toMatch(/MISSING {2}for npm test: openssh-server postgresql \(openssh-server: the sshd binary/);
        expect(r.out).toContain("install: apt-get install -y --no-install-recommends openssh-server postgresql, then stop what it started: systemctl disable --now ssh.service ssh.socket postgresql");
        expect(r.out).toMatch(/\(a\) local lab: not ready/);
        expect(r.status).toBe(1);
    });

    it("the lab path with the sshd binary and PostgreSQL's server binaries: ok for npm test's packages", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rst-doctor-pkgs-"));
        fs.mkdirSync(path.join(dir, "15", "bin"), { recursive: true });
        fake(dir, "sshd", "exit 0");
        fake(path.join(dir, "15", "bin"), "initdb", "exit 0");
        const r = doctor(["--lab"], {}, { RST_SSHD: path.join(dir, "sshd"), RST_POSTGRESQL_LIB: dir });
        expect(r.out).toContain("ok       npm test's packages: openssh-server (sshd binary), postgresql (server binaries)");
        expect(r.out).not.toContain("for npm test:");
    });

    it("with a usage error: exit 2", () => {
        expect(doctor(["--bogus"], {}).status).toBe(2);
    });
});
