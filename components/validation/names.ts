import { ConfigError } from "./errors";

/**
 * Linux account names we accept: the portable subset of shadow-utils'
 * NAME_REGEX (lower case, digit, `_` and `-`, not starting with `-` or a digit), at
 * most 32 characters. Stricter than useradd on purpose: these names end up in paths,
 * sshd `Match User` lines and unit names.
 */
const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

/** Tunnel (backup) names: used in unit names, file names and default user names. */
const TUNNEL_NAME = /^[a-z0-9](?:[a-z0-9-]{0,22}[a-z0-9])?$/;

/** Returns `value` when it is a valid Linux user name, else throws a {@link ConfigError}. */
export function validateUserName(key: string, value: unknown): string {
    if (typeof value !== "string" || !USER_NAME.test(value)) {
        throw new ConfigError(
            key,
            `invalid user name ${JSON.stringify(value)}: use 1-32 characters of a-z, 0-9, '_' and '-', starting with a letter or '_'`,
        );
    }
    return value;
}

/** Returns `value` when it is a valid tunnel name, else throws a {@link ConfigError}. */
export function validateTunnelName(key: string, value: unknown): string {
    if (typeof value !== "string" || !TUNNEL_NAME.test(value)) {
        throw new ConfigError(
            key,
            `invalid name ${JSON.stringify(value)}: use 1-24 characters of a-z, 0-9 and '-', not starting or ending with '-'`,
        );
    }
    return value;
}

/** Throws when two entries share a value (names, ports, users) and says which. */
export function assertUnique<T>(key: string, what: string, values: readonly T[]): void {
    const seen = new Map<T, number>();
    values.forEach((v, i) => {
        const first = seen.get(v);
        if (first !== undefined) {
            throw new ConfigError(key, `duplicate ${what} ${JSON.stringify(v)} (entries ${first} and ${i}); each must be unique`);
        }
        seen.set(v, i);
    });
}
