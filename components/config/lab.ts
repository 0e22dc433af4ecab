import * as fs from "node:fs";
import { ConfigError } from "../validation";

/** The part of the lab description (`npm run lab -- up` writes it) the stack reads. */
export interface LabHostInfo {
    /** Address the operator dials. */
    readonly address: string;
    /** Address other lab hosts dial (main's "public" address). */
    readonly publicAddress?: string;
    /** Admin login. */
    readonly adminUser: string;
    /** Admin private key path. */
    readonly adminKeyPath: string;
    /** Host public keys (OpenSSH lines). */
    readonly hostKeys: readonly string[];
    /** The host's sshd port, when not 22. */
    readonly port?: number;
    /** Backups: the account main's admin key logs into (the tunnel's default loginUser). */
    readonly loginUser?: string;
}

/** Reads host `name` from a lab description file; throws a ConfigError naming `key`. */
export type LabLookup = (key: string, name: string) => LabHostInfo;

/**
 * Builds a lookup over the lab description at `path`. The adapter keeps the stack
 * independent of the lab's full JSON shape.
 */
export function labLookup(path: string, adapt: (json: unknown, name: string) => LabHostInfo | undefined): LabLookup {
    let json: unknown;
    return (key, name) => {
        if (json === undefined) {
            if (!fs.existsSync(path)) {
                throw new ConfigError(key, `refers to lab host ${JSON.stringify(name)} but ${path} does not exist: run 'npm run lab -- up' first`);
            }
            json = JSON.parse(fs.readFileSync(path, "utf8"));
        }
        const info = adapt(json, name);
        if (info === undefined) {
            throw new ConfigError(key, `lab host ${JSON.stringify(name)} is not in ${path}`);
        }
        return info;
    };
}

/** Adapts the lab's `lab.json` (see lab/types.ts) to {@link LabHostInfo}. */
export function adaptLabJson(json: unknown, name: string): LabHostInfo | undefined {
    const host = (json as { hosts?: Record<string, any> }).hosts?.[name];
    if (host === undefined) return undefined;
    return {
        address: host.addresses.operator,
        ...(host.addresses.public !== undefined ? { publicAddress: host.addresses.public } : {}),
        adminUser: host.adminUser,
        adminKeyPath: host.adminKeyPath,
        hostKeys: [host.hostKeys.ed25519, host.hostKeys.rsa].filter((k: unknown) => typeof k === "string"),
        ...(typeof host.sshPort === "number" && host.sshPort !== 22 ? { port: host.sshPort } : {}),
        ...(host.role === "backup" && typeof (host.backupUser ?? (json as any).mainAdminKey?.backupUser) === "string"
            ? { loginUser: host.backupUser ?? (json as any).mainAdminKey.backupUser }
            : {}),
    };
}
