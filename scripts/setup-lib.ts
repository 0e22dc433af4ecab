/**
 * Pure parts of the guided setup (`npm run setup`, scripts/setup.ts): its arguments,
 * the choice of the host key to pin from an ssh-keyscan listing, and the stack file
 * it writes. No I/O here, so each rule is unit-tested (test/unit/guided-setup.test.ts).
 */
import { parseHostKeyList, ParsedPublicKey } from "../components/validation";

/** One backup as given with `--backup NAME:HOST:USER:TUNNELPORT[:SSHPORT]`. */
export interface BackupSpec {
    /** Backup name (a-z, 0-9, '-'). */
    readonly name: string;
    /** Address Pulumi dials for the first install (its home network). */
    readonly host: string;
    /** Admin user on the backup (root, or one with NOPASSWD sudo). */
    readonly user: string;
    /** Main's loopback port for the backup's SSH. */
    readonly tunnelPort: number;
    /** The backup's SSH port. Default 22. */
    readonly sshPort?: number;
}

/** Everything the setup needs; what is missing is asked for interactively. */
export interface SetupOptions {
    /** Stack name; the file is `Pulumi.<stack>.yaml`. Default `home`. */
    stack: string;
    mainHost?: string;
    /** Main's SSH port. Default 22. */
    mainPort?: number;
    mainUser?: string;
    /** Admin private key file for main. Default: none (the SSH agent). */
    mainKey?: string;
    /** Address/port the backups dial when it differs from what the operator dials. */
    mainPublicHost?: string;
    mainPublicPort?: number;
    backups: BackupSpec[];
    /** Admin private key file for the backups. Default: main's. */
    backupKey?: string;
    /** Account `ssh backup-NAME` logs into on every backup. Default pi. */
    loginUser?: string;
    /** Accept the fingerprints without asking (needs an expected fingerprint per host). */
    yes: boolean;
    /** `HOST` or `HOST:PORT` -> `SHA256:...` the host must present. */
    expect: Map<string, string>;
    /** Overwrite an existing stack file. */
    force: boolean;
}

/** A usage or input error: the message names the flag and the fix. */
export class SetupError extends Error {
    override name = "SetupError";
}

export const USAGE = `usage: npm run setup -- [--stack NAME] --main-host HOST [--main-port 22] --main-user USER [--main-key FILE]
                      [--main-public-host HOST] [--main-public-port PORT]
                      --backup NAME:HOST:USER:TUNNELPORT[:SSHPORT] ... [--backup-key FILE] [--login-user USER]
                      [--yes --expect-fingerprint HOST[:PORT]=SHA256:... ...] [--force]
Missing values are asked for on a terminal. Writes Pulumi.<stack>.yaml (default stack: home).`;

function port(flag: string, v: string): number {
    if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535) throw new SetupError(`${flag}: ${JSON.stringify(v)} is not a port (1-65535)`);
    return Number(v);
}

/** Parses `NAME:HOST:USER:TUNNELPORT[:SSHPORT]`. */
export function parseBackupSpec(v: string): BackupSpec {
    const f = v.split(":");
    if (f.length < 4 || f.length > 5 || f.slice(0, 4).some((x) => x === "")) {
        throw new SetupError(`--backup ${JSON.stringify(v)}: expected NAME:HOST:USER:TUNNELPORT[:SSHPORT], e.g. pi:192.168.1.20:admin:2222`);
    }
    return {
        name: f[0]!,
        host: f[1]!,
        user: f[2]!,
        tunnelPort: port("--backup TUNNELPORT", f[3]!),
        ...(f[4] !== undefined ? { sshPort: port("--backup SSHPORT", f[4]) } : {}),
    };
}

/** Parses the command line (flags after `npm run setup --`). */
export function parseArgs(argv: readonly string[]): SetupOptions {
    const o: SetupOptions = { stack: "home", backups: [], yes: false, expect: new Map(), force: false };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i]!;
        const eq = a.indexOf("=");
        const flag = a.startsWith("--") && eq > 0 ? a.slice(0, eq) : a;
        const inline = a.startsWith("--") && eq > 0 ? a.slice(eq + 1) : undefined;
        const value = (): string => {
            if (inline !== undefined) return inline;
            const v = argv[++i];
            if (v === undefined || v.startsWith("--")) throw new SetupError(`${flag} needs a value\n${USAGE}`);
            return v;
        };
        switch (flag) {
            case "--stack":
                o.stack = value();
                if (!/^[A-Za-z0-9_.-]+$/.test(o.stack)) throw new SetupError(`--stack ${JSON.stringify(o.stack)}: use letters, digits, '-', '_', '.'`);
                break;
            case "--main-host":
                o.mainHost = value();
                break;
            case "--main-port":
                o.mainPort = port(flag, value());
                break;
            case "--main-user":
                o.mainUser = value();
                break;
            case "--main-key":
                o.mainKey = value();
                break;
            case "--main-public-host":
                o.mainPublicHost = value();
                break;
            case "--main-public-port":
                o.mainPublicPort = port(flag, value());
                break;
            case "--backup":
                o.backups.push(parseBackupSpec(value()));
                break;
            case "--backup-key":
                o.backupKey = value();
                break;
            case "--login-user":
                o.loginUser = value();
                break;
            case "--yes":
            case "-y":
                o.yes = true;
                break;
            case "--expect-fingerprint": {
                const v = value();
                const at = v.lastIndexOf("=");
                const fp = v.slice(at + 1);
                if (at <= 0 || !/^SHA256:[A-Za-z0-9+/]{43}$/.test(fp)) {
                    throw new SetupError(`--expect-fingerprint ${JSON.stringify(v)}: expected HOST[:PORT]=SHA256:<43 characters>, as 'ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub' prints it on the host`);
                }
                o.expect.set(v.slice(0, at), fp);
                break;
            }
            case "--force":
                o.force = true;
                break;
            case "--help":
            case "-h":
                throw new SetupError(USAGE);
            default:
                throw new SetupError(`unknown argument ${JSON.stringify(a)}\n${USAGE}`);
        }
    }
    return o;
}

/** The key the stack pins for a host, with what the operator compares. */
export interface HostPin {
    /** `ssh-ed25519 AAAA...` or `ecdsa-sha2-nistp256 AAAA...` (no comment). */
    readonly line: string;
    /** `ED25519` or `ECDSA`. */
    readonly type: string;
    /** `SHA256:...`, as `ssh-keygen -lf` prints it. */
    readonly fingerprint: string;
    /** The command to run on the host itself to see the same fingerprint. */
    readonly compareCommand: string;
}

/**
 * Chooses the host key to pin from ssh-keyscan's output: ed25519, else ECDSA. A host
 * that offers only RSA is refused: the command provider offers only the pinned key's
 * algorithm and, for RSA, only `ssh-rsa` (SHA-1) signatures, which OpenSSH >= 8.8
 * refuses (the handshake fails with "no common algorithm for host key").
 */
export function choosePin(what: string, keyscanOutput: string): HostPin {
    let keys: ParsedPublicKey[];
    try {
        keys = parseHostKeyList(what, keyscanOutput);
    } catch (e) {
        throw new SetupError(`${what}: ssh-keyscan returned no usable host key (${(e as Error).message})`);
    }
    const ed = keys.find((k) => k.type === "ed25519");
    const ec = keys.find((k) => k.type === "ecdsa");
    const pick = ed ?? ec;
    if (pick === undefined) {
        throw new SetupError(
            `${what} offers only ${[...new Set(keys.map((k) => k.type.toUpperCase()))].join(", ")} host keys; an RSA pin is refused: Pulumi's SSH client would offer only 'ssh-rsa' (SHA-1) signatures, which OpenSSH 8.8 and later refuse. On the host, create an ed25519 host key and reload sshd: 'ssh-keygen -A && systemctl reload ssh', then run the setup again`,
        );
    }
    const file = pick === ed ? "/etc/ssh/ssh_host_ed25519_key.pub" : "/etc/ssh/ssh_host_ecdsa_key.pub";
    return { line: pick.line, type: pick.type === "ed25519" ? "ED25519" : "ECDSA", fingerprint: pick.fingerprint, compareCommand: `ssh-keygen -lf ${file}` };
}

/** Key of `--expect-fingerprint` for a host: `HOST`, or `HOST:PORT` when the port is not 22. */
export function expectKey(host: string, sshPort: number | undefined): string[] {
    return sshPort !== undefined && sshPort !== 22 ? [`${host}:${sshPort}`] : [host, `${host}:22`];
}

/** The stack configuration the setup writes (plain values only, no secrets). */
export interface StackConfig {
    readonly main: Record<string, string | number>;
    readonly backups: Record<string, string | number>[];
}

/** Builds the stack configuration from the options and the accepted pins. */
export function stackConfig(o: SetupOptions, pins: { main: HostPin; backups: HostPin[] }): StackConfig {
    const main: Record<string, string | number> = { host: o.mainHost!, ...(o.mainPort !== undefined ? { port: o.mainPort } : {}), user: o.mainUser! };
    if (o.mainKey !== undefined) main.privateKeyFile = o.mainKey;
    main.hostKey = pins.main.line;
    if (o.mainPublicHost !== undefined) main.publicHost = o.mainPublicHost;
    if (o.mainPublicPort !== undefined) main.publicPort = o.mainPublicPort;
    const backupKey = o.backupKey ?? o.mainKey;
    const backups = o.backups.map((b, i) => {
        const e: Record<string, string | number> = { name: b.name, tunnelPort: b.tunnelPort, host: b.host };
        if (b.sshPort !== undefined) e.port = b.sshPort;
        e.user = b.user;
        if (backupKey !== undefined) e.privateKeyFile = backupKey;
        e.hostKey = pins.backups[i]!.line;
        if (o.loginUser !== undefined) e.loginUser = o.loginUser;
        return e;
    });
    return { main, backups };
}

/** YAML scalar: numbers plain, strings as JSON strings (valid YAML double-quoted scalars). */
const scalar = (v: string | number) => (typeof v === "number" ? String(v) : JSON.stringify(v));

/** Renders `Pulumi.<stack>.yaml` with comments saying where each pin came from. */
export function renderStackFile(c: StackConfig, pins: { main: HostPin; backups: HostPin[] }, when: string): string {
    const lines = [
        `# Written by 'npm run setup' on ${when}. Host keys were fetched with ssh-keyscan and`,
        `# their fingerprints confirmed by the operator. Schema: Pulumi.yaml; docs/operations.md "Configuration".`,
        "config:",
        "  reverse-ssh-tunnel:main:",
        ...Object.entries(c.main).map(([k, v]) => `    ${k}: ${scalar(v)}${k === "hostKey" ? `  # ${pins.main.type} ${pins.main.fingerprint}` : ""}`),
        "  reverse-ssh-tunnel:backups:",
        ...c.backups.flatMap((b, i) =>
            Object.entries(b).map(([k, v], j) => `    ${j === 0 ? "- " : "  "}${k}: ${scalar(v)}${k === "hostKey" ? `  # ${pins.backups[i]!.type} ${pins.backups[i]!.fingerprint}` : ""}`),
        ),
    ];
    return `${lines.join("\n")}\n`;
}
