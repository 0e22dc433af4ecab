/**
 * The attack matrix: what someone holding a leaked tunnel key can try against main.
 * Every case runs real OpenSSH clients from the operator namespace (another host
 * than the backup) and checks both the client's outcome and main's state (new
 * listeners, sockets, files, tun devices) while the attempt is still running.
 */
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { getHost, hostExec, LabDescription } from "../../lab/client";

/** Outcome of one attack. */
export interface AttackResult {
    /** Short id, e.g. `shell`. */
    id: string;
    /** What was tried. */
    what: string;
    /** True when the attacker got what the attack wanted. */
    succeeded: boolean;
    /** New listeners/sockets/files seen on main during the attempt. */
    appeared: string[];
    /** Client output or probe result, for the report. */
    evidence: string;
}

/** Who attacks whom. */
export interface AttackTarget {
    lab: LabDescription;
    /** Tunnel account on main. */
    user: string;
    /** The stolen private key (file content). */
    privateKey: string;
    /** The account's own listen port (its intended -R). */
    ownPort: number;
    /** Another backup's port (must be free while attacking). */
    otherPort: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let probePort = 40100;

interface Proc {
    code: number | null;
    out: string;
    child: ChildProcess;
    done: Promise<void>;
}

function startSsh(t: AttackTarget, keyFile: string, args: string[], opts: { stdin?: string; env?: NodeJS.ProcessEnv; bin?: string } = {}): Proc {
    const main = getHost(t.lab.main, t.lab);
    const bin = opts.bin ?? "ssh";
    const common = [
        "-F", "/dev/null",
        "-i", keyFile,
        "-o", "IdentitiesOnly=yes",
        "-o", "StrictHostKeyChecking=yes",
        "-o", `UserKnownHostsFile=${t.lab.knownHostsPath}`,
        "-o", "ConnectTimeout=5",
        ...(bin === "ssh" ? ["-o", "ExitOnForwardFailure=yes"] : []),
    ];
    const argv = bin === "ssh" ? [...common, ...args.slice(0, -1), `${t.user}@${main.addresses.operator}`, ...args.slice(-1)] : [...common, ...args];
    const child = spawn(bin, argv.filter((a) => a !== ""), { env: opts.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
    const p: Proc = { code: null, out: "", child, done: Promise.resolve() };
    child.stdout?.on("data", (d) => (p.out += d));
    child.stderr?.on("data", (d) => (p.out += d));
    p.done = new Promise((r) => child.on("close", (code) => {
        p.code = code;
        r();
    }));
    if (opts.stdin !== undefined) child.stdin?.end(opts.stdin);
    else child.stdin?.end();
    return p;
}

async function finish(p: Proc, ms = 15_000): Promise<Proc> {
    const timer = setTimeout(() => p.child.kill("SIGKILL"), ms);
    await p.done;
    clearTimeout(timer);
    return p;
}

async function stop(p: Proc): Promise<Proc> {
    if (p.code === null) p.child.kill("SIGTERM");
    return finish(p, 3000);
}

/** Listening sockets, tun devices and marker files on main. */
async function mainState(t: AttackTarget): Promise<Set<string>> {
    const r = await hostExec(t.lab.main, [
        "sh",
        "-c",
        "ss -Hlntux | awk '{print $1, $5}'; ip -o link show type tun | awk '{print \"tun\", $2}'; ls -1d /tmp/rst-pwn* /var/tmp/rst-pwn* /tmp/ssh-* /tmp/rst-evil* 2>/dev/null | sed 's/^/file /'; true",
    ]);
    return new Set(r.stdout.split("\n").filter((l) => l.trim() !== ""));
}

/**
 * Runs PREPARE on main, reloads its sshd and waits until every listener main had
 * before is back: on SIGHUP sshd closes its sockets and re-executes itself, and a
 * snapshot taken in that gap would count sshd's own port as new in the next attempt.
 */
async function reloadMainSshd(t: AttackTarget, prepare: string): Promise<void> {
    const listeners = (s: Set<string>) => [...s].filter((l) => /^tcp /.test(l));
    const wanted = listeners(await mainState(t));
    // With socket activation (Accept=no) a SIGHUP'd sshd re-executes without the socket
    // systemd passed and dies: restart the service there, as the library's apply does.
    const r = await hostExec(t.lab.main, ["sh", "-c", `${prepare} && if systemctl is-active --quiet ssh.socket; then systemctl restart ssh.service; else systemctl reload ssh; fi`]);
    if (r.code !== 0) throw new Error(`attack setup on main failed: ${r.stderr}`);
    for (let i = 0; i < 100; i++) {
        const now = await mainState(t);
        if (wanted.every((l) => now.has(l))) return;
        await sleep(100);
    }
    throw new Error(`main's sshd did not listen again on ${wanted.join(", ")} within 10 s of its reload`);
}

/** Reads a TCP peer's first bytes (e.g. an SSH banner) through a local port. */
function readThrough(port: number, ms = 3000, send?: Buffer): Promise<string> {
    return new Promise((resolve) => {
        let got = "";
        const s = net.connect({ host: "127.0.0.1", port }, () => send && s.write(send));
        s.on("data", (d) => (got += d.toString("latin1")));
        const end = () => {
            s.destroy();
            resolve(got);
        };
        s.on("error", end);
        s.on("close", end);
        setTimeout(end, ms);
    });
}

/** SOCKS5 CONNECT to 127.0.0.1:22 (main's sshd) through a -D proxy; returns what came back. */
function socksProbe(port: number): Promise<string> {
    return new Promise((resolve) => {
        let stage = 0;
        let got = "";
        const s = net.connect({ host: "127.0.0.1", port }, () => s.write(Buffer.from([5, 1, 0])));
        s.on("data", (d) => {
            if (stage === 0) {
                stage = 1;
                s.write(Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, 0, 22]));
            } else if (stage === 1) {
                stage = 2;
                got += d.subarray(10).toString("latin1");
                if (d[1] !== 0) got = `socks-reply-${d[1]}`;
            } else got += d.toString("latin1");
        });
        const end = () => {
            s.destroy();
            resolve(got);
        };
        s.on("error", end);
        s.on("close", end);
        setTimeout(end, 4000);
    });
}

/**
 * Runs every attack and returns one result per case. Main must have socat (lab hosts
 * do); a Unix socket service is started on main for the socket cases.
 */
export async function runAttackMatrix(t: AttackTarget): Promise<AttackResult[]> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rst-attack-"));
    const keyFile = path.join(dir, "stolen_key");
    fs.writeFileSync(keyFile, t.privateKey, { mode: 0o600 });
    const results: AttackResult[] = [];
    const main = getHost(t.lab.main, t.lab);
    // A test may have reloaded main's sshd just before: start from a settled host.
    for (let i = 0, prev = ""; i < 50; i++) {
        const now = [...(await mainState(t))].sort().join("\n");
        if (now === prev && /^tcp /m.test(now)) break;
        prev = now;
        await sleep(200);
    }

    type BodyResult = { succeeded: boolean; evidence: string; allowed?: (line: string) => boolean; after?: Set<string> };
    async function attempt(id: string, what: string, body: () => Promise<BodyResult>) {
        const before = await mainState(t);
        const r = await body();
        const after = r.after ?? (await mainState(t));
        const appeared = [...after].filter((l) => !before.has(l) && !(r.allowed?.(l) ?? false));
        results.push({ id, what, succeeded: r.succeeded || appeared.length > 0, appeared, evidence: r.evidence.trim().slice(0, 300) });
        await hostExec(t.lab.main, ["sh", "-c", "rm -rf /tmp/rst-pwn* /var/tmp/rst-pwn* /tmp/rst-evil*"]);
    }
    // `after` is captured while the forward is still open.
    const attemptWhileOpen = (id: string, what: string, args: string[], probe: (p: Proc) => Promise<{ succeeded: boolean; evidence: string }>, allowed?: (l: string) => boolean) =>
        attempt(id, what, async (): Promise<BodyResult> => {
            const p = startSsh(t, keyFile, [...args, "-N", ""]);
            await sleep(1500);
            const r = await probe(p);
            const after = await mainState(t);
            await stop(p);
            return { ...r, evidence: `${r.evidence} | ${p.out}`, after, ...(allowed ? { allowed } : {}) };
        });

    // A Unix socket service on main, as a local target.
    await hostExec(t.lab.main, ["sh", "-c", "rm -f /run/rst-target.sock; (setsid socat UNIX-LISTEN:/run/rst-target.sock,fork,mode=777 SYSTEM:'echo UNIX-SECRET' </dev/null >/dev/null 2>&1 &)"]);
    await sleep(300);

    await attempt("shell", "interactive shell (ssh -tt)", async () => {
        const p = await finish(startSsh(t, keyFile, ["-tt", ""], { stdin: "echo PWNED-$((6*7)); touch /tmp/rst-pwn-shell; exit\n" }));
        return { succeeded: p.out.includes("PWNED-42"), evidence: p.out };
    });
    await attempt("command", "remote command (ssh host cmd)", async () => {
        const p = await finish(startSsh(t, keyFile, ["-T", "echo PWNED-$((6*7)); touch /tmp/rst-pwn-cmd"]));
        return { succeeded: p.out.includes("PWNED-42"), evidence: p.out };
    });
    await attempt("pty", "pty allocation with a command (ssh -tt host cmd)", async () => {
        const p = await finish(startSsh(t, keyFile, ["-tt", "echo PWNED-$((6*7)); touch /tmp/rst-pwn-pty"]));
        return { succeeded: p.out.includes("PWNED-42"), evidence: p.out };
    });
    for (const mode of ["default", "internal-sftp"] as const) {
        if (mode === "internal-sftp") {
            await reloadMainSshd(t, "cp -p /etc/ssh/sshd_config /etc/ssh/sshd_config.rst-attack && sed -i 's|^Subsystem.*|Subsystem sftp internal-sftp|' /etc/ssh/sshd_config && sshd -t");
        }
        const sfx = mode === "default" ? "" : " with Subsystem internal-sftp";
        const up = path.join(dir, "payload");
        fs.writeFileSync(up, "ssh-ed25519 AAAA attacker\n");
        await attempt(`sftp${mode === "default" ? "" : "-internal"}`, `sftp upload${sfx}`, async () => {
            const batch = path.join(dir, "batch");
            fs.writeFileSync(batch, `put ${up} /tmp/rst-pwn-sftp\n`);
            const p = await finish(startSsh(t, keyFile, ["-b", batch, `${t.user}@${main.addresses.operator}`], { bin: "sftp" }));
            const wrote = (await hostExec(t.lab.main, ["test", "-e", "/tmp/rst-pwn-sftp"])).code === 0;
            return { succeeded: wrote || p.out.includes("sftp> "), evidence: p.out };
        });
        await attempt(`authorized-keys-rewrite${mode === "default" ? "" : "-internal"}`, `replace its authorized keys with the attacker's key over sftp${sfx}`, async () => {
            const attacker = path.join(dir, "attacker");
            fs.rmSync(attacker, { force: true });
            fs.rmSync(`${attacker}.pub`, { force: true });
            await new Promise<void>((r) => spawn("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", attacker]).on("close", () => r()));
            const batch = path.join(dir, "batch");
            // Renaming a root-owned ~/.ssh away works wherever the home directory is the user's.
            fs.writeFileSync(batch, [
                `-put ${attacker}.pub /etc/ssh/reverse-ssh-tunnel/authorized_keys/${t.user}`,
                "-rename .ssh .ssh-rst-old",
                "-mkdir .ssh",
                `-put ${attacker}.pub .ssh/authorized_keys`,
                "",
            ].join("\n"));
            const p = await finish(startSsh(t, keyFile, ["-b", batch, `${t.user}@${main.addresses.operator}`], { bin: "sftp" }));
            // Proof: the attacker's own key now authenticates.
            const login = await finish(startSsh(t, attacker, ["-o", "BatchMode=yes", "-T", "true"]), 8000);
            const authenticated = !/Permission denied/.test(login.out);
            await hostExec(t.lab.main, ["sh", "-c", `h=$(getent passwd ${t.user} | cut -d: -f6); if [ -d "$h/.ssh-rst-old" ]; then rm -rf "$h/.ssh"; mv "$h/.ssh-rst-old" "$h/.ssh"; fi`]);
            return { succeeded: authenticated, evidence: `${p.out} | attacker key login: ${login.out}` };
        });
        for (const proto of ["sftp", "scp-legacy"] as const) {
            await attempt(`scp${proto === "scp-legacy" ? "-legacy" : ""}${mode === "default" ? "" : "-internal"}`, `scp upload (${proto === "scp-legacy" ? "scp -O" : "scp"})${sfx}`, async () => {
                const p = await finish(startSsh(t, keyFile, [...(proto === "scp-legacy" ? ["-O"] : []), up, `${t.user}@${main.addresses.operator}:/tmp/rst-pwn-scp`], { bin: "scp" }));
                const wrote = (await hostExec(t.lab.main, ["test", "-e", "/tmp/rst-pwn-scp"])).code === 0;
                return { succeeded: wrote || p.code === 0, evidence: p.out };
            });
        }
        if (mode === "internal-sftp") {
            await reloadMainSshd(t, "mv /etc/ssh/sshd_config.rst-attack /etc/ssh/sshd_config");
        }
    }
    let lp = probePort++;
    await attemptWhileOpen("local-forward", "-L to main's sshd (127.0.0.1:22)", ["-L", `127.0.0.1:${lp}:127.0.0.1:22`], async () => {
        const got = await readThrough(lp);
        return { succeeded: got.startsWith("SSH-"), evidence: `read: ${JSON.stringify(got.slice(0, 40))}` };
    });
    lp = probePort++;
    await attemptWhileOpen("dynamic-forward", "-D SOCKS proxy to main's 127.0.0.1:22", ["-D", `127.0.0.1:${lp}`], async () => {
        const got = await socksProbe(lp);
        return { succeeded: got.includes("SSH-"), evidence: `read: ${JSON.stringify(got.slice(0, 40))}` };
    });
    lp = probePort++;
    await attemptWhileOpen("local-unix-forward", "-L to a Unix socket on main", ["-L", `127.0.0.1:${lp}:/run/rst-target.sock`], async () => {
        const got = await readThrough(lp);
        return { succeeded: got.includes("UNIX-SECRET"), evidence: `read: ${JSON.stringify(got.slice(0, 40))}` };
    });
    await attemptWhileOpen("remote-unix-forward", "-R of a Unix socket on main", ["-R", "/tmp/rst-evil.sock:localhost:22"], async (p) => {
        const r = await hostExec(t.lab.main, ["test", "-S", "/tmp/rst-evil.sock"]);
        return { succeeded: r.code === 0, evidence: `socket exists: ${r.code === 0}; ssh exit ${p.code}` };
    });
    const listening = async (port: number) => (await hostExec(t.lab.main, ["sh", "-c", `ss -Hltn 'sport = :${port}' | awk '{print $4}'`])).stdout.trim();
    await attemptWhileOpen("remote-other-port", "-R on an arbitrary port (2399)", ["-R", "2399:localhost:22"], async () => {
        const l = await listening(2399);
        return { succeeded: l !== "", evidence: `listener: ${l || "none"}` };
    });
    await attemptWhileOpen("remote-other-backup-port", `-R on another backup's port (${t.otherPort})`, ["-R", `${t.otherPort}:localhost:22`], async () => {
        const l = await listening(t.otherPort);
        return { succeeded: l !== "", evidence: `listener: ${l || "none"}` };
    });
    await attemptWhileOpen("remote-wildcard-bind", `-R asking for 0.0.0.0:${t.ownPort}`, ["-R", `0.0.0.0:${t.ownPort}:localhost:22`], async () => {
        const l = await listening(t.ownPort);
        return { succeeded: /^(0\.0\.0\.0|\*|\[::\]):/m.test(l), evidence: `listener: ${l || "none"}` };
    }, (line) => /^tcp 127\.0\.0\.1:/.test(line) || /^tcp \[::1\]:/.test(line));
    await attemptWhileOpen("remote-ipv6-loopback", `-R on main's [::1]:${t.ownPort} (a squattable second listener)`, ["-R", `[::1]:${t.ownPort}:localhost:22`], async () => {
        const l = await listening(t.ownPort);
        return { succeeded: /^\[::1\]:/m.test(l), evidence: `listener: ${l || "none"}` };
    }, (line) => /^tcp 127\.0\.0\.1:/.test(line));
    await attempt("x11", "X11 forwarding (ssh -X)", async () => {
        const p = await finish(startSsh(t, keyFile, ["-X", "-o", "ForwardX11Trusted=yes", "-T", "echo DISPLAY=$DISPLAY"], { env: { ...process.env, DISPLAY: ":0" } }));
        return { succeeded: /DISPLAY=\S+/.test(p.out.replace("DISPLAY=$DISPLAY", "")), evidence: p.out };
    });
    await attempt("agent", "agent forwarding (ssh -A)", async () => {
        const p = await finish(startSsh(t, keyFile, ["-A", "-T", "echo AGENT=$SSH_AUTH_SOCK"], { env: { ...process.env, SSH_AUTH_SOCK: "/nonexistent/agent" } }));
        return { succeeded: /AGENT=\//.test(p.out), evidence: p.out };
    });
    await attemptWhileOpen("tun", "tun device forwarding (ssh -w)", ["-w", "any:any", "-o", "Tunnel=point-to-point"], async (p) => {
        const r = await hostExec(t.lab.main, ["sh", "-c", "ip -o link show type tun | wc -l"]);
        return { succeeded: r.stdout.trim() !== "0", evidence: `tun devices: ${r.stdout.trim()}; ssh exit ${p.code}` };
    });
    await attempt("password", "password / keyboard-interactive login (no key)", async () => {
        const askpass = path.join(dir, "askpass");
        fs.writeFileSync(askpass, "#!/bin/sh\necho ''\n", { mode: 0o755 });
        const p = await finish(
            startSsh(t, "/dev/null", ["-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password,keyboard-interactive", "-o", "NumberOfPasswordPrompts=1", "-T", "echo PWNED-$((6*7))"], {
                env: { ...process.env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "force", DISPLAY: "none" },
            }),
        );
        return { succeeded: p.out.includes("PWNED-42") || /This account is currently not available/.test(p.out), evidence: p.out };
    });
    await attempt("su", "su to the account from a local user on main", async () => {
        await hostExec(t.lab.main, ["sh", "-c", "id mallory >/dev/null 2>&1 || useradd -m -s /bin/bash mallory"]);
        const r = await hostExec(t.lab.main, ["sh", "-c", `runuser -u mallory -- su ${t.user} -s /bin/sh -c 'echo PWNED-$((6*7))' </dev/null 2>&1`]);
        await hostExec(t.lab.main, ["sh", "-c", "pkill -u mallory; userdel -r mallory 2>/dev/null; true"]);
        // Authentication passing is the failure, even if the nologin shell then refuses.
        const authenticated = r.stdout.includes("PWNED-42") || /not available|restricted shell/i.test(r.stdout);
        return { succeeded: authenticated, evidence: r.stdout };
    });
    // The one thing the key is for.
    await attemptWhileOpen("intended-remote-forward", `-R 127.0.0.1:${t.ownPort} (the tunnel itself)`, ["-R", `127.0.0.1:${t.ownPort}:localhost:22`], async () => {
        const l = await listening(t.ownPort);
        return { succeeded: l !== "", evidence: `listener: ${l || "none"}` };
    }, (line) => /^tcp (127\.0\.0\.1|\[::1\]):/.test(line));

    await hostExec(t.lab.main, ["sh", "-c", "pkill -f rst-target.sock; rm -f /run/rst-target.sock; true"]);
    fs.rmSync(dir, { recursive: true, force: true });
    return results;
}
