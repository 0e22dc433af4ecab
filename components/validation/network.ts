import { isIP } from "node:net";
import { ConfigError } from "./errors";

const HOSTNAME_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * Returns `value` when it is an IPv4/IPv6 literal or an RFC 1123 host name, else throws.
 * Names are checked label by label so nothing but letters, digits, `-` and `.` can
 * reach ssh, sshd or a script.
 */
export function validateHost(key: string, value: unknown): string {
    if (typeof value === "string" && value.includes("%")) {
        // ssh_config expands %-tokens and systemd %-specifiers in HostName and unit lines.
        throw new ConfigError(key, `invalid host ${JSON.stringify(value)}: IPv6 zone IDs ('%') are not supported; use a global address or a DNS name`);
    }
    if (typeof value === "string" && value.length > 0 && value.length <= 253) {
        if (isIP(value) !== 0) {
            return value;
        }
        const name = value.endsWith(".") ? value.slice(0, -1) : value;
        if (name.split(".").every((label) => HOSTNAME_LABEL.test(label)) && !/^[0-9.]+$/.test(name)) {
            return value;
        }
    }
    throw new ConfigError(key, `invalid host ${JSON.stringify(value)}: use a DNS name (letters, digits, '-', '.') or an IP address`);
}

/**
 * Returns `value` when it is an integer port in `[min, 65535]`, else throws.
 *
 * @param min - lowest allowed port, default 1. Reverse listeners on main use 1024,
 *   because the unprivileged tunnel account cannot bind lower ports.
 */
export function validatePort(key: string, value: unknown, min = 1): number {
    if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= 65535) {
        return value;
    }
    // A valid port under the floor gets its own wording: the number is fine, the account is not allowed it.
    const what = typeof value === "number" && Number.isInteger(value) && value >= 1 && value < min ? `port ${value} is below ${min}` : `invalid port ${JSON.stringify(value)}`;
    throw new ConfigError(key, `${what}: use a whole number from ${min} to 65535`);
}

/** True when `host` is an IP literal (so it can be pinned with systemd's IPAddressAllow=). */
export function isIpLiteral(host: string): boolean {
    return isIP(host) !== 0;
}
