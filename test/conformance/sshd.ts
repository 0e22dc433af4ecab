/**
 * A private OpenSSH server for the provider conformance tests: the host's
 * /usr/sbin/sshd (Debian package openssh-server) run as root on 127.0.0.1 only,
 * with its own config, host keys (ed25519 and RSA) and authorized key in a 0700
 * temp dir. Nothing of the host's own sshd configuration is used or touched.
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

/** A running test sshd. */
export interface TestSshd {
    /** Ports it listens on (all on 127.0.0.1), by role. */
    ports: Record<string, number>;
    /** Authorized client key (OpenSSH private key text) for root. */
    clientKey: string;
    /** A second key that is NOT authorized. */
    otherKey: string;
    /** Host public keys, `type base64` lines. */
    hostKeys: { ed25519: string; rsa: string };
    /** The temp dir (0700) holding config and keys. */
    dir: string;
    stop(): Promise<void>;
}

const SSHD = process.env.RST_SSHD ?? "/usr/sbin/sshd";

/** A free TCP port on 127.0.0.1 (bound and released: good enough for a test). */
export async function freePort(): Promise<number> {
    return await new Promise((resolve, reject) => {
        const s = net.createServer();
        s.once("error", reject);
        s.listen(0, "127.0.0.1", () => {
            const port = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(port));
        });
    });
}

function keygen(file: string, type: "ed25519" | "rsa"): void {
    execFileSync("ssh-keygen", ["-q", "-t", type, ...(type === "rsa" ? ["-b", "3072"] : []), "-N", "", "-C", "rst-conformance", "-f", file]);
}

/** Resolves once `port` answers with an SSH banner. */
async function waitForBanner(port: number, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
        const ok = await new Promise<boolean>((resolve) => {
            const c = net.connect(port, "127.0.0.1");
            c.setTimeout(1000);
            c.once("data", (d) => {
                c.destroy();
                resolve(d.toString().startsWith("SSH-"));
            });
            c.once("error", () => resolve(false));
            c.once("timeout", () => {
                c.destroy();
                resolve(false);
            });
        });
        if (ok) return;
        if (Date.now() > deadline) throw new Error(`test sshd did not answer on 127.0.0.1:${port}`);
        await new Promise((r) => setTimeout(r, 100));
    }
}

/** Starts sshd listening on one 127.0.0.1 port per role. */
export async function startSshd(roles: string[]): Promise<TestSshd> {
    if (!fs.existsSync(SSHD)) {
        throw new Error(`${SSHD} not found: the provider conformance tests need OpenSSH's server binary. ` + `Install it with: apt-get install --no-install-recommends openssh-server (or set RST_SSHD=/path/to/sshd)`);
    }
    if (process.getuid?.() !== 0) throw new Error("the provider conformance tests run sshd as root: run them as root (CI does)");
    // sshd's privilege separation needs this directory (the Debian service creates it).
    fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rst-conformance-sshd-"));
    fs.chmodSync(dir, 0o700);
    for (const t of ["ed25519", "rsa"] as const) keygen(path.join(dir, `host_${t}`), t);
    keygen(path.join(dir, "client"), "ed25519");
    keygen(path.join(dir, "other"), "ed25519");
    fs.copyFileSync(path.join(dir, "client.pub"), path.join(dir, "authorized_keys"));
    const ports: Record<string, number> = {};
    for (const r of roles) ports[r] = await freePort();
    const config = [
        ...Object.values(ports).map((p) => `ListenAddress 127.0.0.1:${p}`),
        `HostKey ${dir}/host_ed25519`,
        `HostKey ${dir}/host_rsa`,
        `AuthorizedKeysFile ${dir}/authorized_keys`,
        `PidFile ${dir}/sshd.pid`,
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "AllowTcpForwarding yes",
        "MaxStartups 100",
        "MaxSessions 50",
        "LogLevel VERBOSE",
        // remote.CopyToRemote copies over SFTP (the server's own, no helper binary).
        "Subsystem sftp internal-sftp",
    ].join("\n");
    fs.writeFileSync(path.join(dir, "sshd_config"), config + "\n", { mode: 0o600 });
    const log = fs.openSync(path.join(dir, "sshd.log"), "a");
    const child: ChildProcess = spawn(SSHD, ["-D", "-e", "-f", path.join(dir, "sshd_config")], { stdio: ["ignore", log, log] });
    let exited = false;
    child.once("exit", () => (exited = true));
    try {
        for (const p of Object.values(ports)) await waitForBanner(p, 10_000);
    } catch (e) {
        child.kill();
        throw new Error(`${(e as Error).message}; sshd log:\n${fs.readFileSync(path.join(dir, "sshd.log"), "utf8")}`);
    }
    const pub = (f: string) => fs.readFileSync(path.join(dir, f), "utf8").trim().split(" ").slice(0, 2).join(" ");
    return {
        ports,
        dir,
        clientKey: fs.readFileSync(path.join(dir, "client"), "utf8"),
        otherKey: fs.readFileSync(path.join(dir, "other"), "utf8"),
        hostKeys: { ed25519: pub("host_ed25519.pub"), rsa: pub("host_rsa.pub") },
        async stop() {
            if (!exited) {
                const gone = new Promise((r) => child.once("exit", r));
                child.kill("SIGTERM");
                await gone;
            }
            fs.closeSync(log);
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}

/**
 * A TCP server on 127.0.0.1 that counts connections and records when each
 * arrived. `behave(n, socket)` decides what happens to connection n (1-based):
 * by default it is ended at once (hangUp), which an SSH client sees as a
 * failed handshake (EOF).
 */
export interface CountingServer {
    port: number;
    /** Arrival times (ms since epoch), one per connection. */
    arrivals: number[];
    close(): Promise<void>;
}

export async function countingServer(behave?: (n: number, socket: net.Socket) => void): Promise<CountingServer> {
    const arrivals: number[] = [];
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => {
        arrivals.push(Date.now());
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
        s.on("error", () => undefined);
        if (behave) behave(arrivals.length, s);
        else hangUp(s);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return {
        port: (server.address() as net.AddressInfo).port,
        arrivals,
        close: () =>
            new Promise<void>((r) => {
                for (const s of sockets) s.destroy();
                server.close(() => r());
            }),
    };
}

/**
 * Ends a connection cleanly (FIN after draining what the client sent), so the
 * client reads EOF; closing with unread data would send a reset instead.
 */
export function hangUp(socket: net.Socket): void {
    socket.resume();
    socket.end();
}

/** Pipes `socket` to 127.0.0.1:`port` (a plain TCP relay). */
export function relay(socket: net.Socket, port: number): void {
    const up = net.connect(port, "127.0.0.1");
    socket.pipe(up).pipe(socket);
    up.on("error", () => socket.destroy());
    socket.on("error", () => up.destroy());
}

/** An ssh-agent holding `key`; its socket path and a stop function. */
export function startAgent(key: string): { sock: string; stop(): void } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rst-conformance-agent-"));
    fs.chmodSync(dir, 0o700);
    const sock = path.join(dir, "agent.sock");
    const out = execFileSync("ssh-agent", ["-s", "-a", sock], { encoding: "utf8" });
    const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(out)?.[1]);
    const keyFile = path.join(dir, "key");
    fs.writeFileSync(keyFile, key, { mode: 0o600 });
    execFileSync("ssh-add", ["-q", keyFile], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: "ignore" });
    return {
        sock,
        stop() {
            if (pid) process.kill(pid);
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}

/** Drops TCP SYNs to 127.0.0.1:port in a private nftables table (loopback only). */
export class SynDropper {
    private readonly table = `rst_conformance_${process.pid}`;
    constructor() {
        this.nft(`add table inet ${this.table}`);
        this.nft(`add chain inet ${this.table} out { type filter hook output priority 0 ; policy accept ; }`);
    }
    private nft(cmd: string): string {
        return execFileSync("nft", ["-a", ...cmd.split(" ")], { encoding: "utf8" });
    }
    /** Starts dropping; returns a function that stops it. */
    drop(port: number): () => void {
        this.nft(`add rule inet ${this.table} out ip daddr 127.0.0.1 tcp dport ${port} counter drop comment "p${port}"`);
        return () => {
            const list = this.nft(`list chain inet ${this.table} out`);
            const m = new RegExp(`comment "p${port}" # handle (\\d+)`).exec(list);
            if (m) this.nft(`delete rule inet ${this.table} out handle ${m[1]}`);
        };
    }
    /** SYNs dropped so far for `port`. */
    dropped(port: number): number {
        const list = this.nft(`list chain inet ${this.table} out`);
        const m = new RegExp(`dport ${port} .*counter packets (\\d+)`).exec(list);
        return m ? Number(m[1]) : 0;
    }
    close(): void {
        try {
            this.nft(`delete table inet ${this.table}`);
        } catch {
            /* already gone */
        }
    }
}
