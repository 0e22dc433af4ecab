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

/** A run of lines shorter than this stays inline: a library call line would save little. */
const MIN_FIXED_RUN = 60;

/**
 * Shell sections that set `variable` to what {@link fileWord} quotes, cut where the
 * lines `fixed` holds begin and end: each run of such lines (of at least 60 characters)
 * becomes a section `variable+='…'` of its own, the others stay with the values around
 * them. A run that is the same text for every tunnel is then a section the host library
 * holds (its samples share it), so a command's stdin, which the state stores twice,
 * carries a call instead of the text; any run the library does not hold still travels
 * as it is. Pass each section to `renderScript` as one section.
 *
 * @param fixed - the lines that are the same for every tunnel (see {@link commonLines}).
 */
export function fileWordSections(variable: string, content: string, fixed: ReadonlySet<string>): string[] {
    if (!/^[a-z_][a-z0-9_]*$/.test(variable)) throw new Error(`invalid shell variable name ${JSON.stringify(variable)}`);
    const body = content.endsWith("\n") ? content.slice(0, -1) : content;
    const runs: Array<{ fixed: boolean; lines: string[] }> = [];
    for (const line of body.split("\n")) {
        const last = runs[runs.length - 1];
        // A blank line ends a run: it separates a file's parts, and what follows one
        // differs between tunnels (a run must be cut the same way in all of them).
        const isFixed = line !== "" && fixed.has(line);
        if (last !== undefined && last.fixed === isFixed) last.lines.push(line);
        else runs.push({ fixed: isFixed, lines: [line] });
    }
    // Short fixed runs join the text around them.
    const merged: string[][] = [];
    let inline: string[] | undefined;
    for (const run of runs) {
        if (run.fixed && run.lines.join("\n").length >= MIN_FIXED_RUN) {
            merged.push(run.lines);
            inline = undefined;
        } else if (inline !== undefined) {
            inline.push(...run.lines);
        } else {
            inline = [...run.lines];
            merged.push(inline);
        }
    }
    return merged.map((lines, i) => `${variable}${i === 0 ? "=" : "+="}${shQuote(`${i === 0 ? "" : "\n"}${lines.join("\n")}`)}`);
}

/**
 * The lines two renderings of the same text for different tunnels share: what
 * {@link fileWordSections} can leave to a host library.
 */
export function commonLines(a: string, b: string): Set<string> {
    const inB = new Set(b.split("\n"));
    return new Set(a.split("\n").filter((l) => inB.has(l)));
}
