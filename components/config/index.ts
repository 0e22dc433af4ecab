import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { HostConnection } from "../connection";
import { MainMonitorArgs, resolveMonitorSettings } from "../health/monitor";
import { ReverseTunnelArgs, resolveTunnelSettings } from "../tunnel";
import { ConfigError, forTunnel, validatePrivateKey } from "../validation";
import { adaptLabJson, LabHostInfo, labLookup, LabLookup } from "./lab";
import { BackupConfig, HostConfig, MainConfig } from "./schema";

export * from "./schema";
export * from "./lab";

/** Raw configuration values as read from the stack (plain JSON). */
export interface RawStackConfig {
    /** `main` object. */
    readonly main: unknown;
    /** `backups` array. */
    readonly backups: unknown;
    /** Path of a lab description; relative paths are taken from `baseDir`. Default none. */
    readonly lab?: string;
    /** Secret `mainPrivateKey`, used when main has no key file. */
    readonly mainPrivateKey?: pulumi.Input<string>;
    /** Secret `backupPrivateKey`, used for every backup without a key file. */
    readonly backupPrivateKey?: pulumi.Input<string>;
}

/** A tunnel's args with its name and both sides always set (stack config has one entry per backup). */
export type NamedTunnelArgs = ReverseTunnelArgs & { readonly name: string; readonly main: HostConnection; readonly backup: HostConnection };

/** What `index.ts` needs to build the stack: one ReverseTunnel per backup. */
export interface StackPlan {
    /** Main's connection. */
    readonly main: HostConnection;
    /** One entry per backup, validated. */
    readonly tunnels: NamedTunnelArgs[];
    /** The health timer's settings (validated), `false` for none. */
    readonly monitor: MainMonitorArgs | false;
}

function parseWith<T>(key: string, schema: z.ZodType<T>, value: unknown): T {
    const r = schema.safeParse(value);
    if (!r.success) {
        const first = r.error.issues[0];
        const where = first && first.path.length > 0 ? `${key}.${first.path.join(".")}` : key;
        throw new ConfigError(where, first ? first.message : "invalid value");
    }
    return r.data;
}

function readKeyFile(key: string, file: string, baseDir: string): string {
    // `~/.ssh/id_ed25519` is how people write key paths; the shell is not there to expand it.
    const expanded = file === "~" || file.startsWith("~/") ? path.join(os.homedir(), file.slice(1)) : file;
    const p = path.resolve(baseDir, expanded);
    let text: string;
    try {
        text = fs.readFileSync(p, "utf8");
    } catch (e) {
        throw new ConfigError(key, `cannot read private key file ${p}: ${(e as NodeJS.ErrnoException).code ?? "error"}`);
    }
    return validatePrivateKey(key, text);
}

function connectionOf(
    key: string,
    c: HostConfig,
    lookup: LabLookup | undefined,
    baseDir: string,
    secretKey: pulumi.Input<string> | undefined,
): { conn: HostConnection & { readonly host: string }; lab?: LabHostInfo } {
    let lab: LabHostInfo | undefined;
    if (c.lab !== undefined) {
        if (lookup === undefined) throw new ConfigError(`${key}.lab`, "set the 'lab' config key (path of lab.json) to use lab hosts");
        lab = lookup(`${key}.lab`, c.lab);
    }
    const host = c.host ?? lab?.address;
    if (host === undefined) throw new ConfigError(`${key}.host`, "required (or 'lab')");
    const keyFile = c.privateKeyFile ?? lab?.adminKeyPath;
    const privateKey =
        keyFile !== undefined
            ? readKeyFile(`${key}.privateKeyFile`, keyFile, baseDir)
            : typeof secretKey === "string"
              ? validatePrivateKey(`${key}PrivateKey`, secretKey)
              : secretKey;
    const hostKey = c.hostKey ?? lab?.hostKeys.find((k) => k.startsWith("ssh-ed25519"));
    // Stack config is plain text, so the host is a known string here.
    const conn: HostConnection & { readonly host: string } = {
        host,
        ...(c.port !== undefined ? { port: c.port } : lab?.port !== undefined ? { port: lab.port } : {}),
        ...(c.user !== undefined || lab !== undefined ? { user: c.user ?? lab?.adminUser } : {}),
        ...(privateKey !== undefined ? { privateKey } : {}),
        ...(hostKey !== undefined ? { hostKey } : {}),
        ...(c.insecureSkipHostKeyCheck !== undefined ? { insecureSkipHostKeyCheck: c.insecureSkipHostKeyCheck } : {}),
    };
    return { conn, ...(lab !== undefined ? { lab } : {}) };
}

/**
 * Turns raw stack configuration into validated tunnel arguments. Every error is a
 * {@link ConfigError} naming the key, thrown before any resource is registered.
 *
 * @param baseDir - directory relative paths are resolved against (the project dir).
 */
export function planStack(raw: RawStackConfig, baseDir: string): StackPlan {
    const lookup = raw.lab !== undefined ? labLookup(path.resolve(baseDir, raw.lab), adaptLabJson) : undefined;
    const mainCfg = parseWith("main", MainConfig, raw.main);
    const backupsCfg = parseWith("backups", z.array(BackupConfig).min(1, "at least one backup is required"), raw.backups);
    const { conn: main, lab: mainLab } = connectionOf("main", mainCfg, lookup, baseDir, raw.mainPrivateKey);

    const tunnels = backupsCfg.map((b, i): NamedTunnelArgs =>
        // Every error about one backup names it (`backup "pi": backups[0].port: ...`).
        forTunnel(b.name, () => {
            const key = `backups[${i}]`;
            const { conn, lab: backupLab } = connectionOf(key, b, lookup, baseDir, raw.backupPrivateKey);
            const backup: HostConnection =
                b.via === "main"
                    ? { ...conn, host: "127.0.0.1", port: b.tunnelPort, proxy: main }
                    : conn;
            const args: NamedTunnelArgs = {
                name: b.name,
                main,
                mainPublicHost: mainCfg.publicHost ?? mainLab?.publicAddress ?? main.host,
                ...(mainCfg.publicPort !== undefined ? { mainPublicPort: mainCfg.publicPort } : {}),
                backup,
                port: b.tunnelPort,
                ...(b.extraForwards !== undefined ? { extraForwards: b.extraForwards } : {}),
                ...(b.tunnelUser !== undefined ? { tunnelUser: b.tunnelUser } : {}),
                ...(b.loginUser !== undefined ? { loginUser: b.loginUser } : backupLab?.loginUser !== undefined ? { loginUser: backupLab.loginUser } : {}),
                ...(b.backupSshPort !== undefined ? { backupSshPort: b.backupSshPort } : {}),
                ...(b.serviceUser !== undefined ? { serviceUser: b.serviceUser } : {}),
                ...(b.keyAlgorithm !== undefined ? { keyAlgorithm: b.keyAlgorithm } : {}),
                ...(b.keyRotation !== undefined ? { keyRotation: b.keyRotation } : {}),
                ...(b.keyExpiry !== undefined ? { keyExpiry: b.keyExpiry } : {}),
                ...(b.allowedSources !== undefined ? { allowedSources: b.allowedSources } : {}),
                ...(mainCfg.sshdPlacement !== undefined ? { sshdPlacement: mainCfg.sshdPlacement } : {}),
                ...(b.compromised !== undefined ? { compromised: b.compromised } : {}),
                ...(b.adopt !== undefined ? { adopt: b.adopt } : {}),
            };
            try {
                resolveTunnelSettings(args);
            } catch (e) {
                if (e instanceof ConfigError) throw new ConfigError(`${key}.${e.key}`, e.detail, e.tunnel);
                throw e;
            }
            return args;
        }),
    );
    const settings = tunnels.map((t) => resolveTunnelSettings(t));
    const label = (i: number) => `backup ${JSON.stringify(settings[i]!.name)} (backups[${i}])`;
    uniqueAcrossBackups("name", settings.map((s) => [s.name]), label);
    uniqueAcrossBackups("tunnel user", settings.map((s) => [s.tunnelUser]), label);
    uniqueAcrossBackups("forwarded port", settings.map((s) => s.forwards.map((f) => f.remotePort)), label);
    const monitor = mainCfg.monitor === false ? false : mainCfg.monitor ?? {};
    if (monitor !== false) resolveMonitorSettings(monitor);
    return { main, tunnels, monitor };
}

/**
 * Throws when two backups share a value (a name, tunnel user or port), naming both
 * backups: the user has to change one of the two and must see which they are.
 */
function uniqueAcrossBackups<T>(what: string, perBackup: ReadonlyArray<readonly T[]>, label: (i: number) => string): void {
    const seen = new Map<T, number>();
    for (const [i, values] of perBackup.entries()) {
        for (const v of values) {
            const first = seen.get(v);
            if (first !== undefined && first !== i) {
                throw new ConfigError("backups", `duplicate ${what} ${JSON.stringify(v)}: ${label(first)} and ${label(i)}; each must be unique`);
            }
            seen.set(v, i);
        }
    }
}
