/**
 * The one value that joins a tunnel's two halves across stacks: the main half exports
 * it (`ReverseTunnel.handoff`), the backup half takes it (`ReverseTunnelArgs.handoff`).
 * It carries what the backup must agree on with main (the ports main permits, the
 * account names, main's public address and host keys) and the key, so nothing is
 * repeated by hand, and any setting the backup half still gives is checked against it
 * when the handoff resolves, which is at preview for a StackReference output.
 */
import { ConfigError } from "../validation/errors";
import { parseHostKeyList } from "../validation/keys";
import { validateHost, validatePort } from "../validation/network";
import { validateTunnelName, validateUserName } from "../validation";

/** Version of the handoff's shape; a backup half refuses one it does not know. */
export const HANDOFF_VERSION = 1;

/**
 * What the main half hands to the backup half (the `handoff` output; secret, as it
 * holds the tunnel's private key).
 */
export interface TunnelHandoff {
    /** Shape version ({@link HANDOFF_VERSION}). */
    readonly version: number;
    /** The backup's name (accounts, unit and host alias derive from it). */
    readonly name: string;
    /** Main's loopback port of the backup's SSH. */
    readonly port: number;
    /** Every port main permits this tunnel, `port` first, then the extra forwards'. */
    readonly ports: number[];
    /** The tunnel account on main. */
    readonly tunnelUser: string;
    /** The service account on the backup. */
    readonly serviceUser: string;
    /** Main's address as the backup dials it. */
    readonly mainPublicHost: string;
    /** Main's SSH port as the backup dials it. */
    readonly mainPublicPort: number;
    /** Main's host keys (OpenSSH lines), pinned by the backup. */
    readonly mainHostKeys: string[];
    /** The tunnel key's private half (OpenSSH PEM). */
    readonly privateKey: string;
    /** SHA256 fingerprint of the tunnel key. */
    readonly keyFingerprint: string;
}

/** What the backup half itself says, to be compared with the handoff (undefined: not given). */
export interface HandoffExpectations {
    readonly name: string;
    readonly port?: number;
    readonly extraPorts?: number[];
    readonly tunnelUser?: string;
    readonly serviceUser?: string;
    readonly mainPublicHost?: string;
    readonly mainPublicPort?: number;
}

const KEY = "handoff";

function field<T>(h: Record<string, unknown>, name: string, check: (key: string, v: unknown) => T): T {
    if (!(name in h)) throw new ConfigError(`${KEY}.${name}`, "missing: pass the main half's whole `handoff` output (e.g. mainStack.requireOutput(\"handoff\"))");
    return check(`${KEY}.${name}`, h[name]);
}

function stringList(key: string, v: unknown): string[] {
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw new ConfigError(key, "must be a list of strings");
    return v as string[];
}

/**
 * Checks a handoff value (as it arrives from a StackReference: untyped) and that every
 * setting the backup half gives itself agrees with it; returns it typed. Throws a
 * ConfigError naming the setting and what to change.
 */
export function checkHandoff(value: unknown, want: HandoffExpectations): TunnelHandoff {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
        throw new ConfigError(KEY, "must be the main half's `handoff` output (an object); got " + (value === undefined ? "nothing" : typeof value));
    }
    const h = value as Record<string, unknown>;
    const version = field(h, "version", (_k, v) => v);
    if (version !== HANDOFF_VERSION) {
        throw new ConfigError(`${KEY}.version`, `this release reads handoff version ${HANDOFF_VERSION}, the main half wrote ${JSON.stringify(version)}: use the same reverse-ssh-tunnel release in both stacks`);
    }
    const out: TunnelHandoff = {
        version: HANDOFF_VERSION,
        name: field(h, "name", validateTunnelName),
        port: field(h, "port", (k, v) => validatePort(k, v, 1024)),
        ports: field(h, "ports", (k, v) => {
            if (!Array.isArray(v) || v.length === 0) throw new ConfigError(k, "must be a non-empty list of ports");
            return v.map((p, i) => validatePort(`${k}[${i}]`, p, 1024));
        }),
        tunnelUser: field(h, "tunnelUser", validateUserName),
        serviceUser: field(h, "serviceUser", validateUserName),
        mainPublicHost: field(h, "mainPublicHost", validateHost),
        mainPublicPort: field(h, "mainPublicPort", (k, v) => validatePort(k, v)),
        mainHostKeys: field(h, "mainHostKeys", (k, v) => parseHostKeyList(k, stringList(k, v).join("\n")).map((x) => x.line)),
        privateKey: field(h, "privateKey", (k, v) => {
            if (typeof v !== "string" || !v.includes("PRIVATE KEY")) throw new ConfigError(k, "must be the tunnel's private key (the main half's `handoff` output carries it)");
            return v;
        }),
        keyFingerprint: field(h, "keyFingerprint", (k, v) => {
            if (typeof v !== "string" || !v.startsWith("SHA256:")) throw new ConfigError(k, "must be a SHA256 key fingerprint");
            return v;
        }),
    };
    if (out.ports[0] !== out.port) throw new ConfigError(`${KEY}.ports`, `must start with the tunnel port ${out.port}`);
    const mismatch = (setting: string, here: unknown, there: unknown) =>
        new ConfigError(setting, `this backup half says ${JSON.stringify(here)} but the main half's handoff says ${JSON.stringify(there)}: drop \`${setting}\` here (the handoff carries it) or change one side`);
    if (want.name !== out.name) {
        throw new ConfigError("name", `this backup half is ${JSON.stringify(want.name)} but the handoff is for backup ${JSON.stringify(out.name)}: give the handoff of this backup's main half, or set name: ${JSON.stringify(out.name)}`);
    }
    if (want.port !== undefined && want.port !== out.port) throw mismatch("port", want.port, out.port);
    if (want.extraPorts !== undefined) {
        const here = [...want.extraPorts].sort((a, b) => a - b);
        const there = out.ports.slice(1).sort((a, b) => a - b);
        if (here.join(",") !== there.join(",")) throw mismatch("extraForwards[].remotePort", here, there);
    }
    if (want.tunnelUser !== undefined && want.tunnelUser !== out.tunnelUser) throw mismatch("tunnelUser", want.tunnelUser, out.tunnelUser);
    if (want.serviceUser !== undefined && want.serviceUser !== out.serviceUser) throw mismatch("serviceUser", want.serviceUser, out.serviceUser);
    if (want.mainPublicHost !== undefined && want.mainPublicHost !== out.mainPublicHost) throw mismatch("mainPublicHost", want.mainPublicHost, out.mainPublicHost);
    if (want.mainPublicPort !== undefined && want.mainPublicPort !== out.mainPublicPort) throw mismatch("mainPublicPort", want.mainPublicPort, out.mainPublicPort);
    return out;
}
