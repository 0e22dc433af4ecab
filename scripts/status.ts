/**
 * `npm run status -- [--stack NAME] [--json]`: the fleet's state as main's health
 * timer last saw it, one line per backup (up or down, since when, port, key expiry),
 * read from main over SSH with the stack's own settings for main (address, admin
 * user and key, main's pinned host key). `--json` prints the monitor's document.
 *
 * Quick on purpose (the whole command well under a second plus the SSH round trip):
 * it reads Pulumi.<stack>.yaml itself and loads only the config schema, the lab
 * lookup and the status renderer, not the Pulumi SDK. A secret `mainPrivateKey` is
 * the one case that needs the Pulumi CLI (scripts/pulumi.sh) to decrypt.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { adaptLabJson, labLookup } from "../components/config/lab";
import { MainConfig } from "../components/config/schema";
import { MONITOR_COMMAND_PATH } from "../components/health/paths";
import { parseFleetStatus, renderStatusTable } from "../components/health/status";
import { shQuote } from "../components/shell/quote";
import { validateUserName } from "../components/validation/names";
import { validateHost, validatePort } from "../components/validation/network";

// js-yaml comes with @pulumi/pulumi (which reads stack files with it); it ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const yaml = require("js-yaml") as { load(text: string): unknown };

const ROOT = path.resolve(__dirname, "..");
const NS = "reverse-ssh-tunnel";

/** How the operator reaches main, as the stack does. */
interface MainAccess {
    host: string;
    port: number;
    user: string;
    keyFile?: string;
    key?: string;
    hostKey?: string;
    insecure: boolean;
}

/** Main's access from the stack's configuration (the same keys and lab lookup as planStack). */
export function mainAccess(stack: string, dir: string): MainAccess {
    const file = path.join(dir, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) throw new Error(`no stack file ${file} (--stack NAME?)`);
    const doc = (yaml.load(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
    const cfg = doc.config ?? {};
    const parsed = MainConfig.safeParse(cfg[`${NS}:main`]);
    if (!parsed.success) throw new Error(`${file}: ${NS}:main: ${parsed.error.issues[0]?.message ?? "invalid"}`);
    const m = parsed.data;
    const labFile = cfg[`${NS}:lab`];
    const lab = m.lab === undefined ? undefined : typeof labFile === "string" ? labLookup(path.resolve(dir, labFile), adaptLabJson)("main.lab", m.lab) : undefined;
    if (m.lab !== undefined && lab === undefined) throw new Error(`${file}: main.lab needs the '${NS}:lab' key`);
    const host = validateHost("main.host", m.host ?? lab?.address);
    const port = validatePort("main.port", m.port ?? lab?.port ?? 22);
    const user = validateUserName("main.user", m.user ?? lab?.adminUser ?? "root");
    const keyPath = m.privateKeyFile ?? lab?.adminKeyPath;
    const access: MainAccess = { host, port, user, insecure: m.insecureSkipHostKeyCheck === true };
    const hostKey = m.hostKey ?? lab?.hostKeys.find((k) => k.startsWith("ssh-ed25519"));
    if (hostKey !== undefined) access.hostKey = hostKey;
    if (keyPath !== undefined) {
        access.keyFile = path.resolve(dir, keyPath === "~" || keyPath.startsWith("~/") ? path.join(os.homedir(), keyPath.slice(1)) : keyPath);
    } else if ((cfg[`${NS}:mainPrivateKey`] as { secure?: string } | undefined)?.secure !== undefined) {
        access.key = execFileSync("bash", [path.join(ROOT, "scripts/pulumi.sh"), "config", "get", "--stack", stack, `${NS}:mainPrivateKey`], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    }
    return access;
}

/** Runs the monitor's `--json` on main over SSH and returns its document (raw text). */
export function readFleetStatusJson(stack: string, dir: string = ROOT): string {
    const main = mainAccess(stack, dir);
    // Private files (a decrypted key, the pinned host key) in a root-only directory of
    // the project's state, removed afterwards.
    const stateDir = path.join(dir, ".state");
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const tmp = fs.mkdtempSync(path.join(stateDir, "status-"));
    try {
        const args = ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", "-p", String(main.port), "-l", main.user];
        let keyFile = main.keyFile;
        if (main.key !== undefined) {
            keyFile = path.join(tmp, "key");
            fs.writeFileSync(keyFile, main.key.endsWith("\n") ? main.key : `${main.key}\n`, { mode: 0o600 });
        }
        if (keyFile !== undefined) args.push("-i", keyFile, "-o", "IdentitiesOnly=yes");
        if (main.hostKey !== undefined) {
            const known = path.join(tmp, "known_hosts");
            fs.writeFileSync(known, `rst-main ${main.hostKey.trim().split(/\s+/).slice(0, 2).join(" ")}\n`, { mode: 0o600 });
            args.push("-o", "HostKeyAlias=rst-main", "-o", `UserKnownHostsFile=${known}`, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes");
        } else if (!main.insecure) {
            throw new Error("main has no pinned hostKey in the stack config (nor insecureSkipHostKeyCheck)");
        }
        const remote = `${main.user === "root" ? "" : "sudo -n "}${shQuote(MONITOR_COMMAND_PATH)} --json`;
        const r = spawnSync("ssh", [...args, "--", main.host, remote], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
        if (r.status !== 0) throw new Error(`on main, ${remote} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
        return r.stdout;
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

if (require.main === module) {
    const argv = process.argv.slice(2);
    const at = argv.findIndex((a) => a === "--stack" || a === "-s");
    const stack = at >= 0 ? argv[at + 1] : (process.env.RST_STACK ?? "main");
    const unknown = argv.filter((a, i) => !["--json", "--stack", "-s"].includes(a) && !(at >= 0 && i === at + 1));
    if (unknown.length > 0 || stack === undefined) {
        console.error("usage: npm run status -- [--stack NAME] [--json]");
        process.exit(2);
    }
    try {
        const status = parseFleetStatus(readFleetStatusJson(stack));
        process.stdout.write(argv.includes("--json") ? `${JSON.stringify(status, null, 1)}\n` : renderStatusTable(status));
    } catch (e) {
        console.error(`status: ${(e as Error).message}`);
        process.exit(1);
    }
}
