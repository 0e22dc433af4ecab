import { createHash } from "node:crypto";
import { shQuote } from "./quote";

/**
 * Renders `content` as a quoted here-document body for `command`.
 *
 * The delimiter is quoted, so the body is never expanded by the shell, and it is
 * derived from the content's hash and checked against every line, so no content can
 * end the document early.
 *
 * @param command - the command that reads the document on stdin (already quoted).
 * @param content - file content; a trailing newline is added when missing.
 */
export function heredoc(command: string, content: string): string {
    if (content.includes("\0")) {
        throw new Error("file content cannot contain a NUL byte");
    }
    const body = content.endsWith("\n") ? content : `${content}\n`;
    const lines = new Set(body.split("\n"));
    let salt = 0;
    let delimiter: string;
    do {
        const digest = createHash("sha256").update(`${salt}:${body}`).digest("hex").slice(0, 12);
        delimiter = `RST_EOF_${digest}`;
        salt++;
    } while (lines.has(delimiter));
    return `${command} <<'${delimiter}'\n${body}${delimiter}`;
}

/**
 * Template tag for bash source kept in TypeScript: like `String.raw`, but `$\{`
 * stands for bash's `${` (which a template literal would take as interpolation).
 */
export function bash(strings: TemplateStringsArray, ...values: unknown[]): string {
    return String.raw(strings, ...values).replace(/\$\\\{/g, "${");
}

/**
 * A file's content as one quoted shell word for a variable that a bash here-string
 * (`cmd <<<"$var"`, no process) or `printf '%s\n' "$var"` turns back into exactly that
 * content. Values travel in variables so that the code around them is the same for
 * every tunnel and lives in a host's script library, not in each command's state.
 *
 * @param content - file content; a trailing newline is added when missing (as {@link heredoc} does).
 */
export function fileWord(content: string): string {
    const body = content.endsWith("\n") ? content : `${content}\n`;
    return shQuote(body.slice(0, -1));
}
