/**
 * Raised for input that must be fixed by the user before anything touches a host.
 * The message always names the offending setting and what is allowed; for a setting of
 * one tunnel it starts with the tunnel (`backup "pi": port: ...`), because with ten
 * backups in a program the setting's name alone does not say which one to fix.
 */
export class ConfigError extends Error {
    /** Dotted path of the setting, e.g. `backups[0].tunnelPort`. */
    readonly key: string;
    /** What is wrong with the setting: the message without the tunnel and the key. */
    readonly detail: string;
    /** The tunnel (backup name) the setting belongs to; undefined for settings of no single tunnel. */
    readonly tunnel: string | undefined;

    constructor(key: string, detail: string, tunnel?: string) {
        super(`${tunnel !== undefined ? `backup ${JSON.stringify(tunnel)}: ` : ""}${key}: ${detail}`);
        this.name = "ConfigError";
        this.key = key;
        this.detail = detail;
        this.tunnel = tunnel;
    }
}

/**
 * Runs `check` and names `tunnel` in any ConfigError it throws (an error that already
 * names a tunnel keeps it). Other errors pass through unchanged.
 */
export function forTunnel<T>(tunnel: string, check: () => T): T {
    try {
        return check();
    } catch (e) {
        if (e instanceof ConfigError && e.tunnel === undefined) throw new ConfigError(e.key, e.detail, tunnel);
        throw e;
    }
}
