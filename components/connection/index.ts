import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { shQuote } from "../shell";
import { ConfigError, parseHostKeyPin, validateHost, validatePort, validatePrivateKey, validateUserName } from "../validation";

/**
 * How the provisioning side (Pulumi) reaches one SSH hop (a host, or the jump host in
 * front of it).
 *
 * `host`, `port`, `user`, `hostKey` and `privateKey` take Inputs, so a VM created in
 * the same program can hand over its address and host key. Every value is checked
 * before any command runs on the host: plain values when the component is
 * constructed (so `pulumi preview` fails naming the setting), Output values as soon
 * as they are known (at preview when they already are, else the resource fails
 * before its first command).
 */
export interface SshHop {
    /** Address or DNS name the operator dials. Required. */
    readonly host: pulumi.Input<string>;
    /**
     * SSH port.
     * @default 22
     */
    readonly port?: pulumi.Input<number>;
    /**
     * Login user. Any other user than root must be allowed to run `sudo -n`
     * (NOPASSWD) for `/bin/bash`, because there is no TTY for a password prompt.
     * @default "root"
     */
    readonly user?: pulumi.Input<string>;
    /**
     * Private key for the login, PEM or OpenSSH format (kept secret, never shown in
     * an error). When omitted, the SSH agent is used.
     */
    readonly privateKey?: pulumi.Input<string>;
    /**
     * Agent socket when no `privateKey` is given. When omitted, `$SSH_AUTH_SOCK` of the
     * Pulumi process is used.
     */
    readonly agentSocketPath?: string;
    /**
     * The host's public key (`ssh-ed25519 AAAA...`): the connection refuses any other.
     * Required unless `insecureSkipHostKeyCheck` is set. Pin the ed25519 (or ECDSA)
     * key: an RSA pin is refused, because it makes the client offer only ssh-rsa
     * (SHA-1), which OpenSSH >= 8.8 refuses.
     */
    readonly hostKey?: pulumi.Input<string>;
    /**
     * Explicit opt-out of host-key pinning: anyone on the path can then impersonate the
     * host and receive every script and the tunnel's private key.
     * @default false
     */
    readonly insecureSkipHostKeyCheck?: boolean;
    /**
     * How often a failed dial is retried (-1: forever).
     * @default 10
     */
    readonly dialErrorLimit?: number;
    /**
     * Seconds per dial attempt.
     * @default 15
     */
    readonly perDialTimeout?: number;
}

/** How the provisioning side (Pulumi) reaches a host over SSH: one SshHop, optionally through a jump host. */
export interface HostConnection extends SshHop {
    /** A jump host to dial through (one hop). When omitted, the host is dialled directly. */
    readonly proxy?: SshHop;
}

type ConnectionFields = Omit<command.types.input.remote.ConnectionArgs, "proxy">;

/** A value the program knows now (not an Output or a promise still to resolve). */
function isPlain(v: unknown): boolean {
    return !pulumi.Output.isInstance(v) && !(v instanceof Promise);
}

/** Checks one hop whose Inputs are all resolved; returns the `@pulumi/command` fields. */
function checkedFields(key: string, c: SshHop & { host: unknown; port?: unknown; user?: unknown; hostKey?: unknown; privateKey?: unknown }): ConnectionFields {
    if (c === undefined || c === null || typeof c !== "object") {
        throw new ConfigError(key, "a connection (host, hostKey, ...) is required");
    }
    const host = validateHost(`${key}.host`, c.host);
    const port = c.port === undefined ? 22 : validatePort(`${key}.port`, c.port);
    const user = c.user === undefined ? "root" : validateUserName(`${key}.user`, c.user);
    let hostKey: string | undefined;
    if (c.hostKey !== undefined) {
        hostKey = parseHostKeyPin(`${key}.hostKey`, c.hostKey).line;
    } else if (c.insecureSkipHostKeyCheck !== true) {
        throw new ConfigError(
            `${key}.hostKey`,
            "required: pin the host's public key (e.g. the line of /etc/ssh/ssh_host_ed25519_key.pub), or set insecureSkipHostKeyCheck: true to opt out explicitly",
        );
    }
    const privateKey = c.privateKey === undefined ? undefined : validatePrivateKey(`${key}.privateKey`, c.privateKey);
    if (c.agentSocketPath !== undefined && !/^\/[^\0\n]*$/.test(c.agentSocketPath)) {
        throw new ConfigError(`${key}.agentSocketPath`, "must be an absolute path");
    }
    return {
        host,
        port,
        user,
        ...(privateKey !== undefined ? { privateKey } : {}),
        ...(c.agentSocketPath !== undefined ? { agentSocketPath: c.agentSocketPath } : {}),
        ...(hostKey !== undefined ? { hostKey } : {}),
        ...(c.dialErrorLimit !== undefined ? { dialErrorLimit: c.dialErrorLimit } : {}),
        ...(c.perDialTimeout !== undefined ? { perDialTimeout: c.perDialTimeout } : {}),
    };
}

/** The fields that take Inputs. */
const INPUT_FIELDS = ["host", "port", "user", "hostKey", "privateKey"] as const;

/** Valid stand-ins for values still to be resolved (a pending private key is not checked now). */
const PENDING: Record<(typeof INPUT_FIELDS)[number], unknown> = {
    host: "pending.invalid",
    port: 22,
    user: "root",
    hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
    privateKey: undefined,
};

/**
 * Checks the values of one hop that are known now; fields still to come from another
 * resource (Outputs, promises) count as present and are checked once resolved.
 */
function checkKnownFields(key: string, c: SshHop): void {
    if (c === undefined || c === null || typeof c !== "object") {
        throw new ConfigError(key, "a connection (host, hostKey, ...) is required");
    }
    const known: Record<string, unknown> = { ...c };
    for (const f of INPUT_FIELDS) {
        if (!isPlain(c[f])) known[f] = PENDING[f];
    }
    checkedFields(key, known as unknown as SshHop);
}

/**
 * Validates the values of a connection (and its proxy) that are known now, without
 * creating anything; Output values are checked later by {@link toCommandConnection}.
 *
 * @throws ConfigError naming the setting, e.g. `main.connection.port`.
 */
export function validateConnection(key: string, c: HostConnection): void {
    checkKnownFields(key, c);
    if (c.proxy !== undefined) checkKnownFields(`${key}.proxy`, c.proxy);
}

function resolvedFields(key: string, c: SshHop): pulumi.Output<ConnectionFields> {
    return pulumi
        .all([c.host, c.port, c.user, c.hostKey, c.privateKey])
        .apply(([host, port, user, hostKey, privateKey]) => checkedFields(key, { ...c, host, port, user, hostKey, privateKey }));
}

/**
 * Validates `c` and turns it into a `@pulumi/command` connection (the whole object is
 * a secret, because it may carry a private key). Known values are checked now;
 * Output values when they resolve, so a bad one fails the command resource before it
 * runs anything.
 *
 * @param key - the setting's name, used in error messages (e.g. `main.connection`).
 * @throws ConfigError for an invalid host, port, user, host key or private key, or a missing pin.
 */
export function toCommandConnection(key: string, c: HostConnection): pulumi.Output<command.types.input.remote.ConnectionArgs> {
    validateConnection(key, c);
    const fields = resolvedFields(key, c);
    const proxy = c.proxy !== undefined ? resolvedFields(`${key}.proxy`, c.proxy) : undefined;
    return pulumi.secret(
        pulumi.all([fields, proxy]).apply(([f, p]) => ({ ...f, ...(p !== undefined ? { proxy: p } : {}) })),
    ) as pulumi.Output<command.types.input.remote.ConnectionArgs>;
}

/**
 * The short command string that runs one phase of a script bundle read from stdin
 * (see `renderBundle`): `bash -s -- PHASE` for root, through `sudo -n` for anyone
 * else. Short on purpose: a failed command's error text starts with this string.
 */
export function privilegedPhase(c: { readonly user?: string }, phase: "create" | "update" | "delete"): string {
    const run = `/bin/bash -s -- ${phase}`;
    return (c.user ?? "root") === "root" ? run : `sudo -n -- ${run}`;
}

/**
 * Wraps a rendered bash script into the command string @pulumi/command runs through
 * the login shell: `bash -c` for root, `sudo -n bash -c` for anyone else (no TTY, so
 * sudo must not ask). stdin passes through either way.
 */
export function privileged(c: { readonly user?: string }, script: string): string {
    const run = `/bin/bash -c ${shQuote(script)}`;
    return (c.user ?? "root") === "root" ? run : `sudo -n -- ${run}`;
}
