/**
 * POSIX shell quoting. Every value that reaches a rendered script goes through
 * {@link shQuote} (after validation), so even a value that slipped past validation
 * stays one inert word.
 */

/**
 * Quotes `value` as a single POSIX shell word.
 *
 * Single quotes make every character literal except `'` itself, which is closed,
 * escaped and reopened. NUL cannot be represented in a shell word, so it is rejected.
 *
 * @throws Error when `value` contains a NUL byte.
 */
export function shQuote(value: string): string {
    if (value.includes("\0")) {
        throw new Error("a shell word cannot contain a NUL byte");
    }
    if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) {
        return value;
    }
    return `'${value.replace(/'/g, `'"'"'`)}'`;
}

/** Quotes each element and joins them with spaces: a ready-to-run argv. */
export function shJoin(argv: readonly string[]): string {
    return argv.map(shQuote).join(" ");
}
