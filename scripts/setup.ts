/**
 * `npm run setup -- ...`: guided setup for real hosts. Asks for (or takes as flags)
 * main's and each backup's address and admin user, validates everything it can before
 * touching a host, fetches each host key with ssh-keyscan (ed25519, else ECDSA; RSA-only
 * hosts are refused), shows the fingerprints with the command that prints the same on
 * the host, requires a confirmation (or `--yes` with `--expect-fingerprint` per host),
 * validates the result with the stack's own planStack and writes Pulumi.<stack>.yaml.
 * Usage: scripts/setup-lib.ts USAGE, docs/operations.md "Set up real hosts".
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createInterface, Interface } from "node:readline/promises";
import { planStack } from "../components/config";
import { ConfigError } from "../components/validation";
import { BackupSpec, choosePin, expectKey, HostPin, parseArgs, parseBackupSpec, renderStackFile, SetupError, SetupOptions, stackConfig } from "./setup-lib";

const ROOT = path.resolve(__dirname, "..");
/** Where the operator ran `npm run setup` (npm changes into the project directory). */
const USER_CWD = process.env.INIT_CWD ?? process.cwd();

const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true;
let rl: Interface | undefined;
let lines: AsyncIterator<string> | undefined;
/** Asks on the terminal; answers typed ahead are kept (readline's line iterator buffers them). */
async function ask(question: string): Promise<string> {
    rl ??= createInterface({ input: process.stdin, output: process.stdout });
    lines ??= rl[Symbol.asyncIterator]();
    rl.setPrompt(question);
    rl.prompt();
    const r = await lines.next();
    if (r.done === true) throw new SetupError("input ended (Ctrl-D); nothing was written");
    return String(r.value).trim();
}

/** Absolute path of a key file as the operator typed it (`~` and relative paths resolved). */
function keyPath(p: string): string {
    const home = p === "~" || p.startsWith("~/") ? path.join(os.homedir(), p.slice(1)) : p;
    return path.resolve(USER_CWD, home);
}

async function need<T>(value: T | undefined, flag: string, question: string, parse: (s: string) => T): Promise<T> {
    if (value !== undefined) return value;
    if (!interactive) throw new SetupError(`${flag} is required (or run 'npm run setup' on a terminal to be asked)`);
    for (;;) {
        const a = await ask(question);
        if (a !== "") {
            try {
                return parse(a);
            } catch (e) {
                console.log(`  ${(e as Error).message}`);
            }
        }
    }
}

async function complete(o: SetupOptions): Promise<void> {
    o.mainHost = await need(o.mainHost, "--main-host", "main: address or DNS name you ssh to: ", (s) => s);
    o.mainUser = await need(o.mainUser, "--main-user", "main: admin user (root, or one with NOPASSWD sudo): ", (s) => s);
    if (o.mainKey === undefined && interactive) {
        const k = await ask("main: admin private key file (empty: use the SSH agent): ");
        if (k !== "") o.mainKey = k;
    }
    if (o.backups.length === 0) {
        if (!interactive) throw new SetupError("--backup NAME:HOST:USER:TUNNELPORT is required at least once (or run 'npm run setup' on a terminal to be asked)");
        for (let port = 2222; ; port++) {
            const name = await ask(`backup ${o.backups.length + 1}: name (a-z, 0-9, '-'${o.backups.length > 0 ? "; empty to finish" : ""}): `);
            if (name === "") {
                if (o.backups.length > 0) break;
                continue;
            }
            const addr = await need<string>(undefined, "", `backup ${name}: address on its home network, HOST or HOST:SSHPORT (for the first install): `, (s) => s);
            const [host, sshPort] = /^[^:]+:\d+$/.test(addr) ? addr.split(":") : [addr, undefined];
            const user = await need<string>(undefined, "", `backup ${name}: admin user (root, or NOPASSWD sudo): `, (s) => s);
            const tp = (await ask(`backup ${name}: port on main's loopback for its SSH [${port}]: `)) || String(port);
            try {
                o.backups.push(parseBackupSpec(`${name}:${host}:${user}:${tp}${sshPort !== undefined ? `:${sshPort}` : ""}`));
            } catch (e) {
                console.log(`  ${(e as Error).message}`);
            }
        }
    }
    if (o.mainKey !== undefined) o.mainKey = keyPath(o.mainKey);
    if (o.backupKey !== undefined) o.backupKey = keyPath(o.backupKey);
}

/** Runs the stack's validation; a ConfigError becomes a SetupError naming the setting. */
function validate(config: { main: unknown; backups: unknown }): void {
    try {
        planStack(config, ROOT);
    } catch (e) {
        if (e instanceof ConfigError) throw new SetupError(`invalid configuration: ${e.message}`);
        throw e;
    }
}

function keyscan(what: string, host: string, port: number): HostPin {
    const r = spawnSync("ssh-keyscan", ["-T", "10", "-p", String(port), "-t", "ed25519,ecdsa,rsa", host], { encoding: "utf8", timeout: 60_000 });
    if (r.error !== undefined && (r.error as NodeJS.ErrnoException).code === "ENOENT") {
        throw new SetupError("ssh-keyscan is not installed: apt-get install -y openssh-client (see 'npm run doctor')");
    }
    if (r.stdout.trim() === "") {
        const why = r.stderr
            .split("\n")
            .filter((l) => l.trim() !== "" && !l.startsWith("#"))
            .join("; ");
        throw new SetupError(`${what}: ssh-keyscan -p ${port} ${host} got no host key${why ? ` (${why})` : ""}: check the address and port, and that sshd runs there and is reachable from this machine`);
    }
    return choosePin(what, r.stdout);
}

async function confirm(what: string, host: string, sshPort: number | undefined, pin: HostPin, o: SetupOptions): Promise<void> {
    console.log(`\n${what} (${host}${sshPort !== undefined && sshPort !== 22 ? `:${sshPort}` : ""}) presents this ${pin.type} host key:`);
    console.log(`    ${pin.fingerprint}`);
    console.log(`  Compare it with what the host itself prints (on its console, or over a connection you already trust):`);
    console.log(`    ${pin.compareCommand}`);
    const expected = expectKey(host, sshPort)
        .map((k) => o.expect.get(k))
        .find((v) => v !== undefined);
    if (expected !== undefined) {
        if (expected !== pin.fingerprint) {
            throw new SetupError(
                `${what} (${host}): the host key's fingerprint is ${pin.fingerprint}, but --expect-fingerprint says ${expected}. Do not continue: someone may be in the middle, or the expected value is from another host or key type (compare with '${pin.compareCommand}' on the host)`,
            );
        }
        console.log(`  matches --expect-fingerprint: accepted`);
        return;
    }
    if (o.yes) {
        throw new SetupError(`--yes needs --expect-fingerprint ${expectKey(host, sshPort)[0]}=SHA256:... for ${what}: without it no fingerprint would have been compared`);
    }
    if (!interactive) {
        throw new SetupError(`${what}: no terminal to confirm the fingerprint on: pass --yes --expect-fingerprint ${expectKey(host, sshPort)[0]}=${pin.fingerprint} once you have compared it on the host`);
    }
    const a = await ask(`  Does '${pin.compareCommand}' on ${what} print ${pin.fingerprint}? [y/N] `);
    if (!/^y(es)?$/i.test(a)) throw new SetupError(`${what}: fingerprint not confirmed; nothing was written`);
}

async function main(): Promise<void> {
    const o = parseArgs(process.argv.slice(2));
    const file = path.join(ROOT, `Pulumi.${o.stack}.yaml`);
    if (fs.existsSync(file) && !o.force) {
        throw new SetupError(`${path.basename(file)} exists already: choose another --stack, or add --force to replace its configuration (its encryption salt is kept)`);
    }
    await complete(o);

    // Everything but the host keys is checked before any host is contacted.
    const unpinned = { main: { line: "", type: "", fingerprint: "", compareCommand: "" }, backups: o.backups.map(() => ({ line: "", type: "", fingerprint: "", compareCommand: "" })) };
    const pre = stackConfig(o, unpinned);
    const strip = (h: Record<string, string | number>) => {
        const { hostKey: _drop, ...rest } = h;
        return { ...rest, insecureSkipHostKeyCheck: true };
    };
    validate({ main: strip(pre.main), backups: pre.backups.map(strip) });

    const mainPin = keyscan("main", o.mainHost!, o.mainPort ?? 22);
    await confirm("main", o.mainHost!, o.mainPort, mainPin, o);
    const backupPins: HostPin[] = [];
    for (const b of o.backups as BackupSpec[]) {
        const pin = keyscan(`backup ${b.name}`, b.host, b.sshPort ?? 22);
        await confirm(`backup ${b.name}`, b.host, b.sshPort, pin, o);
        backupPins.push(pin);
    }
    const pins = { main: mainPin, backups: backupPins };
    const config = stackConfig(o, pins);
    validate(config);

    let text = renderStackFile(config, pins, new Date().toISOString().slice(0, 10));
    if (fs.existsSync(file)) {
        // Keep the stack's encryption salt: the state's secrets depend on it.
        const salt = fs
            .readFileSync(file, "utf8")
            .split("\n")
            .find((l) => l.startsWith("encryptionsalt:"));
        if (salt !== undefined) text += `${salt}\n`;
    }
    fs.writeFileSync(file, text);
    const n = o.backups.length;
    console.log(`\nwrote ${path.basename(file)}: main and ${n} backup${n === 1 ? "" : "s"}, host keys pinned. Next:`);
    console.log(`  export PULUMI_CONFIG_PASSPHRASE_FILE=~/.config/reverse-ssh-tunnel/passphrase   # a passphrase of your own for the state`);
    console.log(`  npm run pulumi -- preview --stack ${o.stack}`);
    console.log(`  npm run pulumi -- up --stack ${o.stack}`);
}

main()
    .then(() => rl?.close())
    .catch((e: unknown) => {
        rl?.close();
        if (e instanceof SetupError) {
            console.error(`error: ${e.message}`);
            process.exit(1);
        }
        throw e;
    });
