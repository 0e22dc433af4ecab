/**
 * Raised for input that must be fixed by the user before anything touches a host.
 * The message always names the offending setting and what is allowed.
 */
export class ConfigError extends Error {
    /** Dotted path of the setting, e.g. `backups[0].tunnelPort`. */
    readonly key: string;

    constructor(key: string, message: string) {
        super(`${key}: ${message}`);
        this.name = "ConfigError";
        this.key = key;
    }
}
