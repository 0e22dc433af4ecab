import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { shQuote } from "../shell";
import { ConfigError, parseHostKeyPin, validateHost, validatePort, validateUserName } from "../validation";

/**
 * How the provisioning side (Pulumi) reaches a host over SSH.
 *
 * Plain fields are validated when a component is constructed, so a typo fails at
 * preview time before any host is touched.
 */
export interface HostConnection {
    /** Address or DNS name the operator dials. Required. */
    readonly host: string;
    /** SSH port. Default 22. */
    readonly port?: number;
    /**
     * Login user. Default `root`. Any other user must be allowed to run `sudo -n`
     * (NOPASSWD) for `/bin/bash`, because there is no TTY for a password prompt.
     */
    readonly user?: string;
    /** Private key for the login (kept secret). Default: use the SSH agent. */
    readonly privateKey?: pulumi.Input<string>;
    /** Agent socket when no `privateKey` is given. Default: `$SSH_AUTH_SOCK`. */
    readonly agentSocketPath?: string;
    /**
     * The host's public key (`ssh-ed25519 AAAA...`): the connection refuses any other.
     * Required unless {@link insecureSkipHostKeyCheck} is set. Prefer ed25519: an RSA
     * pin makes the client offer only ssh-rsa (SHA-1), which OpenSSH >= 8.8 refuses.
     */
    readonly hostKey?: string;
    /**
     * Explicit opt-out of host-key pinning: anyone on the path can then impersonate the
     * host and receive every script and the tunnel's private key. Default false.
     */
    readonly insecureSkipHostKeyCheck?: boolean;
    /** A jump host to dial through (one hop). Default: dial directly. */
    readonly proxy?: Omit<HostConnection, "proxy">;
    /** How often a failed dial is retried (-1: forever). Default 10. */
    readonly dialErrorLimit?: number;
    /** Seconds per dial attempt. Default 15. */
    readonly perDialTimeout?: number;
}

type ConnectionFields = Omit<command.types.input.remote.ConnectionArgs, "proxy">;

function checkedFields(key: string, c: Omit<HostConnection, "proxy">): ConnectionFields {
    if (c === undefined || c === null || typeof c !== "object") {
        throw new ConfigError(key, "a connection (host, hostKey, ...) is required");
    }
    validateHost(`${key}.host`, c.host);
    if (c.port !== undefined) validatePort(`${key}.port`, c.port);
    if (c.user !== undefined) validateUserName(`${key}.user`, c.user);
    let hostKey: string | undefined;
    if (c.hostKey !== undefined) {
        hostKey = parseHostKeyPin(`${key}.hostKey`, c.hostKey).line;
    } else if (c.insecureSkipHostKeyCheck !== true) {
        throw new ConfigError(
            `${key}.hostKey`,
            "required: pin the host's public key (e.g. the line of /etc/ssh/ssh_host_ed25519_key.pub), or set insecureSkipHostKeyCheck: true to opt out explicitly",
        );
    }
    if (c.agentSocketPath !== undefined && !/^\/[^\0\n]*$/.test(c.agentSocketPath)) {
        throw new ConfigError(`${key}.agentSocketPath`, "must be an absolute path");
    }
    return {
        host: c.host,
        port: c.port ?? 22,
        user: c.user ?? "root",
        ...(c.privateKey !== undefined ? { privateKey: pulumi.secret(c.privateKey) } : {}),
        ...(c.agentSocketPath !== undefined ? { agentSocketPath: c.agentSocketPath } : {}),
        ...(hostKey !== undefined ? { hostKey } : {}),
        ...(c.dialErrorLimit !== undefined ? { dialErrorLimit: c.dialErrorLimit } : {}),
        ...(c.perDialTimeout !== undefined ? { perDialTimeout: c.perDialTimeout } : {}),
    };
}

/** Validates a connection's plain fields (and its proxy's) without creating anything. */
export function validateConnection(key: string, c: HostConnection): void {
    checkedFields(key, c);
    if (c.proxy !== undefined) checkedFields(`${key}.proxy`, c.proxy);
}

/**
 * Validates `c` and turns it into a `@pulumi/command` connection (the whole object is
 * a secret, because it may carry a private key).
 *
 * @param key - the setting's name, used in error messages (e.g. `main.connection`).
 * @throws ConfigError for an invalid host, port, user or host key, or a missing pin.
 */
export function toCommandConnection(key: string, c: HostConnection): pulumi.Output<command.types.input.remote.ConnectionArgs> {
    const fields = checkedFields(key, c);
    const proxy = c.proxy !== undefined ? checkedFields(`${key}.proxy`, c.proxy) : undefined;
    return pulumi.secret({ ...fields, ...(proxy !== undefined ? { proxy } : {}) }) as pulumi.Output<command.types.input.remote.ConnectionArgs>;
}

/**
 * The short command string that runs one phase of a script bundle read from stdin
 * (see `renderBundle`): `bash -s -- PHASE` for root, through `sudo -n` for anyone
 * else. Short on purpose: a failed command's error text starts with this string.
 */
export function privilegedPhase(c: Pick<HostConnection, "user">, phase: "create" | "update" | "delete"): string {
    const run = `/bin/bash -s -- ${phase}`;
    return (c.user ?? "root") === "root" ? run : `sudo -n -- ${run}`;
}

/**
 * Wraps a rendered bash script into the command string @pulumi/command runs through
 * the login shell: `bash -c` for root, `sudo -n bash -c` for anyone else (no TTY, so
 * sudo must not ask). stdin passes through either way.
 */
export function privileged(c: Pick<HostConnection, "user">, script: string): string {
    const run = `/bin/bash -c ${shQuote(script)}`;
    return (c.user ?? "root") === "root" ? run : `sudo -n -- ${run}`;
}
