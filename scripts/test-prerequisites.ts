/**
 * The Debian packages `npm test` needs besides the lab's, installed before the tests
 * run (as the demo installs its own), so the README's commands pass on a fresh machine:
 *   - openssh-server, for its `sshd` binary: the unit tests of the early-Match analysis
 *     and the provider conformance tests run private sshd instances on 127.0.0.1;
 *   - postgresql, for its server binaries: the shared-state tests run a private server
 *     on 127.0.0.1.
 * Neither package's service may keep running: the packages start sshd on this
 * machine's port 22 and a PostgreSQL cluster on 5432 when installed, and the tests
 * need neither. So what this run installed is stopped and disabled again, as .ci/run
 * does. A service that was there before is left alone: it may be how the operator
 * reaches this machine.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/** A package the tests need and how to tell it is installed. */
interface TestPackage {
    /** Debian package name. */
    readonly name: string;
    /** Why the tests need it (printed when it is missing). */
    readonly why: string;
    /** True when what the tests use from it is present. */
    readonly present: (env: Probe) => boolean;
}

/** What the checks read from the machine; the unit test passes a fake. */
export interface Probe {
    /** True for an existing executable file. */
    isExecutable(file: string): boolean;
    /** Entries of a directory; empty when it does not exist. */
    list(dir: string): string[];
    /** Environment variables. */
    readonly env: NodeJS.ProcessEnv;
    /** Effective user id. */
    readonly uid: number;
    /** True when systemd is the running init (what `systemctl` needs). */
    readonly systemd: boolean;
}

/** Runs one command; resolves to its exit status. The unit test records the calls. */
export type Runner = (argv: readonly string[]) => number;

/** `RST_SSHD` points at another sshd (as for the conformance tests); default Debian's. */
export function sshdPath(env: NodeJS.ProcessEnv): string {
    return env.RST_SSHD ?? "/usr/sbin/sshd";
}

/** Where Debian's postgresql puts its versioned server binaries (`RST_POSTGRESQL_LIB` for tests of this check). */
export function postgresqlLib(env: NodeJS.ProcessEnv): string {
    return env.RST_POSTGRESQL_LIB ?? "/usr/lib/postgresql";
}

export const TEST_PACKAGES: readonly TestPackage[] = [
    {
        name: "openssh-server",
        why: "the sshd binary: unit and conformance tests run their own sshd on 127.0.0.1",
        present: (p) => p.isExecutable(sshdPath(p.env)),
    },
    {
        name: "postgresql",
        why: "the server binaries: the shared-state tests run their own server on 127.0.0.1",
        present: (p) => p.list(postgresqlLib(p.env)).some((v) => p.isExecutable(path.join(postgresqlLib(p.env), v, "bin", "initdb"))),
    },
    { name: "python3", why: "py_compile of the generated Python SDK and its consumer (test/multilang/sdks.test.ts)", present: (p) => p.isExecutable("/usr/bin/python3") },
];

/** The install command, as printed for someone to run by hand. */
export function installCommand(names: readonly string[], root: boolean): string {
    return `${root ? "" : "sudo "}apt-get install -y --no-install-recommends ${names.join(" ")}`;
}

/**
 * The commands that stop and disable what installing `installed` started. With
 * systemd: the units (ssh.socket too, since socket activation would start sshd on
 * port 22 again; stopping postgresql.service stops the clusters bound to it).
 * Without systemd (a container, where the packages' init scripts may have started
 * them): sshd through its init script and each running packaged cluster with
 * pg_ctlcluster, found by their pid files.
 */
export function quiesceCommands(installed: readonly string[], p: Probe): string[][] {
    const cmds: string[][] = [];
    if (installed.includes("openssh-server")) {
        if (p.systemd) cmds.push(["systemctl", "disable", "--now", "ssh.service", "ssh.socket"]);
        else if (p.list("/run").includes("sshd.pid")) cmds.push(["/etc/init.d/ssh", "stop"]);
    }
    if (installed.includes("postgresql")) {
        if (p.systemd) cmds.push(["systemctl", "disable", "--now", "postgresql"]);
        else {
            for (const pid of p.list("/run/postgresql")) {
                const m = /^(\d+(?:\.\d+)?)-(.+)\.pid$/.exec(pid);
                if (m) cmds.push(["pg_ctlcluster", m[1]!, m[2]!, "stop"]);
            }
        }
    }
    return cmds;
}

/**
 * Installs the missing test packages when running as root on a Debian-like machine,
 * then stops what the installation started. Returns the packages still missing
 * (printed with the command to install them), so the caller can go on: the tests
 * that need them then fail with their own message.
 */
export function ensureTestPackages(p: Probe, run: Runner, log: (line: string) => void = (l) => console.log(l)): string[] {
    const missing = TEST_PACKAGES.filter((t) => !t.present(p));
    if (missing.length === 0) return [];
    const names = missing.map((t) => t.name);
    for (const t of missing) log(`[npm test] missing ${t.name}: ${t.why}`);
    if (p.uid !== 0 || !p.isExecutable("/usr/bin/apt-get")) {
        log(`[npm test] not installing (needs root and apt-get); install with: ${installCommand(names, p.uid === 0)}`);
        return names;
    }
    log(`[npm test] installing: ${installCommand(names, true)}`);
    const aptEnv = ["env", "DEBIAN_FRONTEND=noninteractive"];
    // A fresh machine may have no package lists yet; install fails without them.
    if (run([...aptEnv, "apt-get", "update", "-qq"]) !== 0) log("[npm test] apt-get update failed; trying the install anyway");
    const status = run([...aptEnv, "apt-get", "install", "-y", "-qq", "--no-install-recommends", ...names]);
    // Stopped even after a failed install: a half-configured package may have started its service.
    const installed = missing.filter((t) => t.present(p)).map((t) => t.name);
    for (const cmd of quiesceCommands(installed, p)) run(cmd);
    if (status !== 0) log(`[npm test] apt-get install exited ${status}`);
    const still = missing.filter((t) => !t.present(p)).map((t) => t.name);
    if (still.length > 0) log(`[npm test] still missing: ${still.join(", ")}`);
    return still;
}

/** The real machine. */
export const machine: Probe = {
    isExecutable(file) {
        try {
            fs.accessSync(file, fs.constants.X_OK);
            return fs.statSync(file).isFile();
        } catch {
            return false;
        }
    },
    list(dir) {
        try {
            return fs.readdirSync(dir).sort();
        } catch {
            return [];
        }
    },
    env: process.env,
    uid: process.getuid?.() ?? -1,
    systemd: fs.existsSync("/run/systemd/system"),
};

/** Runs a command with inherited output; a command that cannot start counts as failed. */
export const runInherit: Runner = (argv) => {
    const r = spawnSync(argv[0]!, argv.slice(1), { stdio: "inherit" });
    return r.status ?? 1;
};
