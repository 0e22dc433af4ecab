import { gunzipSync, gzipSync } from "fflate";
import { renderScript, SCRIPT_PRELUDE, sectionsOf } from "./prelude";

/**
 * Sections shared by many scripts (function libraries). A script built by
 * `renderScript` that starts with the prelude and then these sections lets the
 * bundle carry them once for all its phases.
 */
const librarySections = new Set<string>();

/**
 * Marks a script section as a library: definitions and set-up that read nothing from
 * stdin and use none of a script's own variables. Returns the section unchanged. Put library
 * sections first after the prelude, so bundles can hoist them.
 */
export function librarySection(text: string): string {
    if (/<<-?\s*['"]?[A-Za-z_]/.test(text)) throw new Error("a library section cannot hold a heredoc (its comment lines are dropped in bundles)");
    librarySections.add(text.trimEnd());
    return text;
}

/** True for a section marked by `librarySection` (definitions only). */
export function isLibrarySection(text: string): boolean {
    return librarySections.has(text.trimEnd());
}

/**
 * One script that runs several scripts made by `renderScript` in one shell, in order:
 * their library sections first (each once: they only define), then the other sections
 * of each script in turn. One command then does the work of several on one login.
 * The scripts must not end early (`exit 0`) where a later one has work left, and must not
 * read a variable another sets before setting it themselves.
 */
export function joinScripts(...scripts: string[]): string {
    const parts = scripts.map((script) => {
        const sections = sectionsOf(script);
        if (sections === undefined) throw new Error("joinScripts: a script not made by renderScript");
        return sections;
    });
    const definitions = [...new Set(parts.flat().filter(isLibrarySection))];
    return renderScript(...definitions, ...parts.flatMap((sections) => sections.filter((s) => !isLibrarySection(s))));
}

/** How `renderScript` joins the shebang, the prelude and the sections. */
const SEPARATOR = "\n\n";
const SCRIPT_HEAD = `#!/bin/bash${SEPARATOR}${SCRIPT_PRELUDE.trimEnd()}${SEPARATOR}`;

/**
 * A shared section without its whole-line comments: they explain the source (kept in
 * this package) and are a third of the prelude's bytes, which every command's state
 * stores twice. Library sections hold no heredocs, so such a line is never data.
 */
function withoutCommentLines(section: string): string {
    return section
        .split("\n")
        .filter((l) => !/^\s*#/.test(l))
        .join("\n");
}

/** A top-level piece of the prelude: a function (named) or the statements between functions. */
interface PreludePiece {
    readonly name?: string;
    readonly text: string;
}

/** The prelude cut at its functions (`name() {` to the next line `}`, both at column 0). */
const PRELUDE_PIECES: readonly PreludePiece[] = (() => {
    const pieces: PreludePiece[] = [];
    let lines: string[] = [];
    let name: string | undefined;
    for (const line of SCRIPT_PRELUDE.trimEnd().split("\n")) {
        const start = /^([A-Za-z_][A-Za-z0-9_]*)\(\) \{$/.exec(line);
        if (name === undefined && start !== null) {
            // Comment lines just before a function belong to it; the statements before them stay.
            let cut = lines.length;
            while (cut > 0 && /^\s*#/.test(lines[cut - 1]!)) cut--;
            if (cut > 0) pieces.push({ text: lines.slice(0, cut).join("\n") });
            lines = lines.slice(cut);
            name = start[1];
        }
        lines.push(line);
        if (name !== undefined && line === "}") {
            pieces.push({ name, text: lines.join("\n") });
            lines = [];
            name = undefined;
        }
    }
    if (name !== undefined) throw new Error(`prelude: function ${name} has no closing line`);
    if (lines.length > 0) pieces.push({ text: lines.join("\n") });
    return pieces;
})();

/** The words of a text outside its comment lines: the names it may call, trap or register as a hook. */
const wordsOf = (text: string) => withoutCommentLines(text).match(/[A-Za-z0-9_]+/g) ?? [];

/**
 * The prelude with only the functions `code` (or the prelude's own statements, or
 * another kept function) names: a command that reads host keys needs none of the
 * account functions. What a bundle stores, twice per command, for every command of
 * every backup; a whole script (lint, tests, the host library) keeps the whole prelude.
 */
export function preludeFor(code: string): string {
    const named = new Set([code, ...PRELUDE_PIECES.filter((p) => p.name === undefined).map((p) => p.text)].flatMap(wordsOf));
    const kept = new Set<string>();
    for (let grew = true; grew; ) {
        grew = false;
        for (const p of PRELUDE_PIECES) {
            if (p.name === undefined || kept.has(p.name) || !named.has(p.name)) continue;
            kept.add(p.name);
            for (const w of wordsOf(p.text)) named.add(w);
            grew = true;
        }
    }
    return PRELUDE_PIECES.filter((p) => p.name === undefined || kept.has(p.name))
        .map((p) => p.text)
        .join("\n");
}

/** The prelude and leading library sections of a script (its hoistable head), as a list. */
function leadingSections(script: string): string[] {
    if (!script.startsWith(SCRIPT_HEAD)) return [];
    const heads = [SCRIPT_PRELUDE.trimEnd()];
    let rest = script.slice(SCRIPT_HEAD.length);
    for (;;) {
        const lib = [...librarySections].find((l) => rest.startsWith(l + SEPARATOR));
        if (lib === undefined) return heads;
        heads.push(lib);
        rest = rest.slice(lib.length + SEPARATOR.length);
    }
}

/**
 * One stdin for every phase of a command: the create, update and delete scripts in
 * one `case` statement (bash reads a compound command whole before running it), then
 * the data (e.g. a private key), which the running script reads from stdin. The
 * provider pipes the stored stdin to delete as well, so delete runs the delete
 * script of the last apply. The bundle ends with `esac; exit` on one line: a phase that
 * does not read the data (delete) must not fall through to bash reading it as commands.
 *
 * The state stores every command's stdin twice (input and output), and the engine
 * rewrites the whole state after each step, so the bundle carries what its phases
 * share (the prelude and library sections) once, in a `{ }` group before the `case`,
 * and a create script that equals the update script once (`create|update)`).
 */
export function renderBundle(scripts: { create: string; update: string; delete?: string }, data = ""): string {
    const del = scripts.delete ?? "exit 0";
    const full = [scripts.create, scripts.update, del].filter((s) => s.startsWith(SCRIPT_HEAD));
    const heads = full.map(leadingSections);
    const shared: string[] = [];
    if (heads.length > 0) {
        for (let k = 0; k < heads[0]!.length && heads.every((h) => h[k] === heads[0]![k]); k++) shared.push(heads[0]![k]!);
    }
    const prefix = shared.length > 0 ? ["#!/bin/bash", ...shared].join(SEPARATOR) + SEPARATOR : "";
    const body = (s: string) => (prefix !== "" && s.startsWith(prefix) ? s.slice(prefix.length) : s).trimEnd();
    const phase = (names: string, script: string) => `${names}) {
${body(script)}
}
;;`;
    // Everything the bundle runs besides the prelude: what decides which of its functions it keeps.
    const code = [...shared.slice(1), ...[scripts.create, scripts.update, del].map(body)].join("\n");
    const phases = body(scripts.create) === body(scripts.update)
        ? [phase("create|update", scripts.create)]
        : [phase("create", scripts.create), phase("update", scripts.update)];
    return [
        "# reverse-ssh-tunnel: `bash -s -- create|update|delete` runs one phase; data for it follows the bundle.",
        // A group is read whole before it runs, like the case: nothing in it can read
        // the rest of the bundle as its stdin.
        ...(shared.length > 0 ? ["{", shared.map((s, k) => withoutCommentLines(k === 0 ? preludeFor(code) : s)).join(SEPARATOR), "}"] : []),
        'case "${1:-}" in',
        ...phases,
        phase("delete", del),
        '*) echo "reverse-ssh-tunnel: error: unknown phase ${1:-}" >&2; exit 2 ;;',
        // `exit` on the same line: bash parses the whole line before running the case, so
        // the data after the bundle is never read as code, and a script that reads stdin
        // gets exactly the data.
        "esac; exit",
        "",
    ].join("\n") + data;
}

/** The line that ends a packed bundle's base64 text (base64 never produces it). */
const PACKED_END = "RST_PACKED";
/** Bytes per base64 line of a packed bundle: coreutils' and busybox's width. */
const BASE64_LINE = 76;

/** The shell lines around a packed bundle's base64 text, shared by packing and unpacking. */
const PACKED_HEAD = [
    // Short: every command's record stores it twice. The bundle's own first line says more.
    "# reverse-ssh-tunnel: bash -s -- create|update|delete",
    `rst_bundle=$(base64 -d <<'${PACKED_END}' | gzip -dc`,
].join("\n");
const PACKED_TAIL = [
    PACKED_END,
    ") || { echo 'reverse-ssh-tunnel: error: cannot unpack the script bundle (the host needs base64 and gzip)' >&2; exit 2; }",
    'eval "$rst_bundle"; exit',
    "",
].join("\n");

/**
 * A bundle (without data) as it travels and is stored: gzip and base64 inside a
 * short stub that unpacks it and runs it with the command's arguments. The
 * engine rewrites the whole state after every step and stores each stdin twice, so
 * the bytes per command multiply with the stack's size; the scripts compress about
 * 2.4 times.
 *
 * Deterministic: fflate is pure JavaScript (the same bytes on every machine and Node
 * release, so an unchanged program never shows a diff), and the gzip header carries no
 * time. bash parses the `eval` line whole before running it and the bundle ends with
 * `esac; exit`, so the data after it is still read only by a script that reads stdin.
 * The unpacking costs the host two short processes (coreutils `base64`, `gzip`).
 */
export function packBundle(bundle: string): string {
    const b64 = Buffer.from(gzipSync(Buffer.from(bundle, "utf8"), { level: 9, mtime: 0 })).toString("base64");
    return `${PACKED_HEAD}\n${b64.match(new RegExp(`.{1,${BASE64_LINE}}`, "g"))!.join("\n")}\n${PACKED_TAIL}`;
}

/**
 * `renderBundle` packed by {@link packBundle}, then the data: what a command's stdin
 * holds and the state stores.
 */
export function renderPackedBundle(scripts: { create: string; update: string; delete?: string }, data = ""): string {
    return packBundle(renderBundle(scripts)) + data;
}

/**
 * The readable bundle and the data of a packed stdin (to read a command's scripts from
 * the state, or in tests). Throws when the text is not a packed bundle.
 */
export function unpackBundle(stdin: string): { bundle: string; data: string } {
    if (!stdin.startsWith(`${PACKED_HEAD}\n`)) throw new Error("not a packed reverse-ssh-tunnel script bundle");
    const end = stdin.indexOf(`\n${PACKED_TAIL}`);
    if (end < 0) throw new Error("packed script bundle without its end line");
    const b64 = stdin.slice(PACKED_HEAD.length + 1, end).replace(/\n/g, "");
    return { bundle: Buffer.from(gunzipSync(Buffer.from(b64, "base64"))).toString("utf8"), data: stdin.slice(end + 1 + PACKED_TAIL.length) };
}
