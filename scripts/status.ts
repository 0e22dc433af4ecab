/**
 * `npm run status -- [--stack NAME] [--json]`: the fleet's state as main's health
 * timer last saw it, one line per backup (up or down, since when, port, key expiry),
 * read from main over SSH with the stack's own connection settings (main's pinned
 * host key, the admin key). `--json` prints the monitor's document for scripts.
 *
 * The stack's configuration is read from Pulumi.<stack>.yaml; a secret `mainPrivateKey`
 * is decrypted by the project's Pulumi CLI (scripts/pulumi.sh), else no CLI runs.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { planStack } from "../components/config";
import { MONITOR_COMMAND_PATH, parseFleetStatus, renderStatusTable } from "../components/health";
import { shQuote } from "../components/shell";

// js-yaml comes with @pulumi/pulumi (which reads stack files with it); it ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const yaml = require("js-yaml") as { load(text: string): unknown };

const ROOT = path.resolve(__dirname, "..");
const NS = "reverse-ssh-tunnel";

/** Options of {@link readFleetStatus}. */
export interface StatusOptions {
    /** Stack name. Default $RST_STACK, else `main`. */
    readonly stack?: string;
    /** Project directory (where Pulumi.<stack>.yaml lives). Default this repository. */
    readonly dir?: string;
}

/** The stack's config values (plain), with a secret mainPrivateKey decrypted when main needs it. */
function stackConfig(stack: string, dir: string): Record<string, unknown> {
    const file = path.join(dir, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) throw new Error(`no stack file ${file} (--stack NAME?)`);
    const doc = (yaml.load(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(doc.config ?? {})) if (k.startsWith(`${NS}:`)) out[k.slice(NS.length + 1)] = v;
    const main = out.main as { privateKeyFile?: string; lab?: string } | undefined;
    const secret = out.mainPrivateKey as { secure?: string } | undefined;
    delete out.mainPrivateKey;
    delete out.backupPrivateKey;
    if (secret?.secure !== undefined && main?.privateKeyFile === undefined && main?.lab === undefined) {
        out.mainPrivateKey = execFileSync("bash", [path.join(ROOT, "scripts/pulumi.sh"), "config", "get", "--stack", stack, `${NS}:mainPrivateKey`], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    }
    return out;
}

/** Runs the monitor's `--json` on main over SSH and returns its document (raw text). */
export function readFleetStatusJson(opts: StatusOptions = {}): string {
    const stack = opts.stack ?? process.env.RST_STACK ?? "main";
    const dir = opts.dir ?? ROOT;
    const cfg = stackConfig(stack, dir);
    // The same checks and lab lookups as pulumi up: main is reached exactly as the stack reaches it.
    const plan = planStack(
        {
            main: cfg.main,
            backups: cfg.backups,
            ...(typeof cfg.lab === "string" ? { lab: cfg.lab } : {}),
            ...(typeof cfg.mainPrivateKey === "string" ? { mainPrivateKey: cfg.mainPrivateKey } : {}),
        },
        dir,
    );
    const main = plan.main;
    if (main.proxy !== undefined) throw new Error("main reached through a proxy: run the status command on main instead");
    // Private files (key, pinned host key) in a root-only directory of the project's state, removed after.
    const stateDir = path.join(dir, ".state");
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const tmp = fs.mkdtempSync(path.join(stateDir, "status-"));
    try {
        const args = ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", "-p", String(main.port ?? 22), "-l", String(main.user ?? "root")];
        if (typeof main.privateKey === "string") {
            const key = path.join(tmp, "key");
            fs.writeFileSync(key, main.privateKey.endsWith("\n") ? main.privateKey : `${main.privateKey}\n`, { mode: 0o600 });
            args.push("-i", key, "-o", "IdentitiesOnly=yes");
        }
        if (typeof main.hostKey === "string") {
            const known = path.join(tmp, "known_hosts");
            fs.writeFileSync(known, `rst-main ${main.hostKey.trim().split(/\s+/).slice(0, 2).join(" ")}\n`, { mode: 0o600 });
            args.push("-o", "HostKeyAlias=rst-main", "-o", `UserKnownHostsFile=${known}`, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes");
        } else if (main.insecureSkipHostKeyCheck !== true) {
            throw new Error("main has no pinned hostKey in the stack config (or insecureSkipHostKeyCheck)");
        }
        const remote = `${main.user === undefined || main.user === "root" ? "" : "sudo -n "}${shQuote(MONITOR_COMMAND_PATH)} --json`;
        const r = spawnSync("ssh", [...args, "--", String(main.host), remote], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
        if (r.status !== 0) throw new Error(`on main, ${remote} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
        return r.stdout;
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

if (require.main === module) {
    const argv = process.argv.slice(2);
    const at = argv.findIndex((a) => a === "--stack" || a === "-s");
    const stack = at >= 0 ? argv[at + 1] : undefined;
    const unknown = argv.filter((a, i) => !["--json", "--stack", "-s"].includes(a) && !(at >= 0 && i === at + 1));
    if (unknown.length > 0 || (at >= 0 && stack === undefined)) {
        console.error("usage: npm run status -- [--stack NAME] [--json]");
        process.exit(2);
    }
    try {
        const text = readFleetStatusJson(stack !== undefined ? { stack } : {});
        const status = parseFleetStatus(text);
        process.stdout.write(argv.includes("--json") ? `${JSON.stringify(status, null, 1)}\n` : renderStatusTable(status));
    } catch (e) {
        console.error(`status: ${(e as Error).message}`);
        process.exit(1);
    }
}
