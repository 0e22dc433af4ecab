/**
 * What `npm test` does before the tests (scripts/test-prerequisites.ts) on machines
 * described by a fake probe: which packages it installs, with which commands, and
 * that it stops exactly the services its own installation started.
 */
import { describe, expect, it } from "vitest";
import { ensureTestPackages, Probe } from "../../scripts/test-prerequisites";

/** A machine where `files` are the executables and `dirs` the directory listings; `apt-get install` adds `onInstall`. */
function fakeMachine(opts: { files?: string[]; dirs?: Record<string, string[]>; uid?: number; systemd?: boolean; onInstall?: { files?: string[]; dirs?: Record<string, string[]> }; installStatus?: number }) {
    // python3 (test/multilang) is on every fake machine: these cases are about sshd and PostgreSQL.
    const files = new Set([...(opts.files ?? ["/usr/bin/apt-get"]), "/usr/bin/python3"]);
    const dirs: Record<string, string[]> = { ...(opts.dirs ?? {}) };
    const calls: string[] = [];
    const probe: Probe = {
        isExecutable: (f) => files.has(f),
        list: (d) => dirs[d] ?? [],
        env: {},
        uid: opts.uid ?? 0,
        systemd: opts.systemd ?? true,
    };
    const run = (argv: readonly string[]) => {
        const cmd = argv.join(" ").replace(/^env DEBIAN_FRONTEND=noninteractive /, "");
        calls.push(cmd);
        if (cmd.startsWith("apt-get install")) {
            for (const f of opts.onInstall?.files ?? []) files.add(f);
            Object.assign(dirs, opts.onInstall?.dirs ?? {});
            return opts.installStatus ?? 0;
        }
        return 0;
    };
    const log: string[] = [];
    return { probe, run, calls, log, logLine: (l: string) => log.push(l) };
}

const SSHD = "/usr/sbin/sshd";
const INITDB = "/usr/lib/postgresql/15/bin/initdb";
const PG = { "/usr/lib/postgresql": ["15"] };

describe("npm test's prerequisites", () => {
    it("does nothing when sshd and PostgreSQL's server are there", () => {
        const m = fakeMachine({ files: ["/usr/bin/apt-get", SSHD, INITDB], dirs: PG });
        expect(ensureTestPackages(m.probe, m.run, m.logLine)).toEqual([]);
        expect(m.calls).toEqual([]);
    });

    it("as root with systemd: installs both, then disables and stops ssh (socket too) and postgresql", () => {
        const m = fakeMachine({ onInstall: { files: [SSHD, INITDB], dirs: PG } });
        expect(ensureTestPackages(m.probe, m.run, m.logLine)).toEqual([]);
        expect(m.calls).toEqual([
            "apt-get update -qq",
            "apt-get install -y -qq --no-install-recommends openssh-server postgresql",
            "systemctl disable --now ssh.service ssh.socket",
            "systemctl disable --now postgresql",
        ]);
        expect(m.log.join("\n")).toMatch(/missing openssh-server: the sshd binary/);
        expect(m.log.join("\n")).toMatch(/missing postgresql: the server binaries/);
    });

    it("installs only what is missing and leaves a service that was there before alone", () => {
        const m = fakeMachine({ files: ["/usr/bin/apt-get", SSHD], onInstall: { files: [INITDB], dirs: PG } });
        ensureTestPackages(m.probe, m.run, m.logLine);
        expect(m.calls).toEqual(["apt-get update -qq", "apt-get install -y -qq --no-install-recommends postgresql", "systemctl disable --now postgresql"]);
    });

    it("without systemd: stops the sshd and the clusters the packages' init scripts started", () => {
        const m = fakeMachine({ systemd: false, onInstall: { files: [SSHD, INITDB], dirs: { ...PG, "/run": ["sshd.pid"], "/run/postgresql": ["15-main.pid", "15-main.pg_stat_tmp"] } } });
        ensureTestPackages(m.probe, m.run, m.logLine);
        expect(m.calls.slice(2)).toEqual(["/etc/init.d/ssh stop", "pg_ctlcluster 15 main stop"]);
    });

    it("not root: installs nothing and prints the command (with sudo)", () => {
        const m = fakeMachine({ uid: 1000 });
        expect(ensureTestPackages(m.probe, m.run, m.logLine)).toEqual(["openssh-server", "postgresql"]);
        expect(m.calls).toEqual([]);
        expect(m.log.join("\n")).toContain("install with: sudo apt-get install -y --no-install-recommends openssh-server postgresql");
    });

    it("a failed install still stops what got installed, and reports what is still missing", () => {
        const m = fakeMachine({ installStatus: 100, onInstall: { files: [SSHD] } });
        expect(ensureTestPackages(m.probe, m.run, m.logLine)).toEqual(["postgresql"]);
        expect(m.calls).toContain("systemctl disable --now ssh.service ssh.socket");
        expect(m.calls).not.toContain("systemctl disable --now postgresql");
        expect(m.log.join("\n")).toMatch(/apt-get install exited 100[\s\S]*still missing: postgresql/);
    });
});
