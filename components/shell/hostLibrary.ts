import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "fflate";
import { isLibrarySection, librarySection } from "./bundle";
import { renderScript, SCRIPT_PRELUDE, sectionsOf } from "./prelude";
import { shQuote } from "./quote";

/**
 * Where script libraries live on a host: root-owned, outside any world-writable
 * directory, and not on a tmpfs (a reboot must not take the code of a delete away).
 */
export const HOST_LIBRARY_DIR = "/usr/local/lib/reverse-ssh-tunnel";

/**
 * A script library for one kind of host: the prelude, then every shared section of
 * the scripts this package runs there as a function. A command whose script is made of
 * those sections stores calls (a few hundred bytes) instead of the code (tens of kB),
 * and the engine rewrites the whole state after every step: the state per backup
 * shrinks by the code it no longer stores, once per command and twice per copy.
 *
 * Content-addressed: the file's name carries the hash of its text, so two versions of
 * this package (two stacks on one main, or an upgrade half-way through an update) use
 * two files side by side. Each command that uses a version marks it; the last mark's
 * removal removes the file.
 */
export interface HostLibrary {
    /** What the library serves, e.g. "main" (names its resource and messages). */
    readonly role: string;
    /** The first 16 hex digits of the SHA-256 of `text`: the file's version. */
    readonly hash: string;
    /** The whole SHA-256 of `text` (hex): what an uploaded copy must match before root installs it. */
    readonly sha256: string;
    /**
     * How the library reaches its hosts: `command`, packed on the stdin of one install
     * command per host and stack (main: one host shared by many tunnels); `upload`, as a
     * file `remote.CopyToRemote` puts below the login user's home, which each command
     * installs as root after checking its SHA-256 (a backup: one host per tunnel, where an
     * install command would store the library's text once per backup).
     */
    readonly delivery: "command" | "upload";
    /** The library file's text. */
    readonly text: string;
    /** What sourcing it runs before any call: the prelude and the definitions. */
    readonly head: string;
    /** Section text to the name of the function that runs it ("" for a definition the library runs only when sourced). */
    readonly functions: ReadonlyMap<string, string>;
}

/** Sections that are part of a compound command (an `if` line, its `fi`): never a function alone. */
const fragments = new Set<string>();

/**
 * Marks a script section as a fragment of a compound command that other sections
 * complete (`if ...; then` and its `fi`): a library never makes it a function (a
 * function body must be complete); commands carry it as it is. Returns the section.
 */
export function scriptFragment(text: string): string {
    fragments.add(text.trimEnd());
    return text;
}

/** Every library built in this process, by hash: lets tests and readers expand calls. */
const builtLibraries = new Map<string, HostLibrary>();

/** Where a library of this hash lives on the host. */
export function hostLibraryPath(hash: string): string {
    return `${HOST_LIBRARY_DIR}/lib-${hash}.sh`;
}

/**
 * Where the upload of a library version lands, relative to the login user's home (an
 * SFTP path without a leading slash is, and the home is the one place every login user
 * may write that is not shared with other users).
 */
export const HOST_LIBRARY_UPLOAD_DIR = ".cache/reverse-ssh-tunnel";

/** The upload's path of a library version, relative to the login user's home. */
export function hostLibraryUploadPath(hash: string): string {
    return `${HOST_LIBRARY_UPLOAD_DIR}/lib-${hash}.sh`;
}

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

/**
 * The functions that keep track of who uses a library version and put a version in
 * place, shared by the library (its users mark and release it; an uploaded one installs
 * itself) and the script installing it. A mark is an empty
 * file `users/HASH/USER`; a version without marks is removed with its directory. A
 * lock in the root-only state directory orders marks and removals (fd 8: the scopes of
 * rst_lock use fd 9 and may be held at the same time).
 */
export const LIBRARY_USE_FUNCTIONS = librarySection(String.raw`rst_lib_dir=${shQuote(HOST_LIBRARY_DIR)}
rst_lib_lock() {
    exec 8>"$rst_state_dir/lock-library"
    flock -w 300 8 || rst_fail "timed out after 300 s waiting for $rst_state_dir/lock-library"
}
rst_lib_collect() {
    local lib hash mark used kept=0
    for lib in "$rst_lib_dir"/lib-*.sh; do
        [ -e "$lib" ] || continue
        hash=${"$"}{lib##*/lib-}
        hash=${"$"}{hash%.sh}
        used=0
        for mark in "$rst_lib_dir/users/$hash"/*; do
            if [ -e "$mark" ]; then used=1 && break; fi
        done
        if [ "$used" = 1 ]; then
            kept=1
            continue
        fi
        rm -f -- "$lib"
        rm -rf -- "$rst_lib_dir/users/$hash"
        # An uploaded library (a backup's) goes with its upload.
        if [ "${"$"}{rst_lib_uploaded:-0}" = 1 ] && rst_lib_upload "$hash"; then rm -f -- "$REPLY"; fi
    done
    # A version in use keeps both directories: no rmdir that must fail (a process each).
    [ "$kept" = 1 ] || rmdir -- "$rst_lib_dir/users" "$rst_lib_dir" 2>/dev/null || true
    if [ "$kept" = 0 ] && [ "${"$"}{rst_lib_uploaded:-0}" = 1 ] && rst_lib_upload; then rmdir -- "$REPLY" 2>/dev/null || true; fi
}
# rst_lib_upload [HASH]: REPLY is where uploads wait below the login user's home (sudo
# resets HOME), or version HASH's upload.
rst_lib_upload() {
    local e
    rst_getent_fields e passwd "${"$"}{SUDO_USER:-root}" && [ -n "${"$"}{e[5]:-}" ] || return 1
    REPLY="${"$"}{e[5]}/${HOST_LIBRARY_UPLOAD_DIR}${"$"}{1:+/lib-$1.sh}"
}
# rst_lib_put HASH USER PHASE: puts version HASH in place from rst_lib_text (checked
# against its hash by the caller) and, unless PHASE is delete, marks USER's use of it,
# under the lock: a collection in between would take an unmarked version away.
rst_lib_put() {
    rst_lib_lock
    for rst_d in "$rst_lib_dir" "$rst_lib_dir/users"; do
        [ ! -L "$rst_d" ] || rst_fail "$rst_d is a symbolic link; remove it (only root may create this directory)"
    done
    [ -d "$rst_lib_dir" ] || mkdir -m 0755 -- "$rst_lib_dir"
    [ "$(stat -c '%u' -- "$rst_lib_dir")" = 0 ] || rst_fail "$rst_lib_dir must be owned by root; remove it and run again"
    # The text ends with a newline, which the here-string adds back.
    # shellcheck disable=SC2154 # rst_lib_text: the caller's
    rst_install_file "$rst_lib_dir/lib-$1.sh" 644 root root <<<"${"$"}{rst_lib_text%$'\n'}"
    [ "$3" = delete ] || rst_lib_mark "$1" "$2"
    exec 8>&-
}
# rst_lib_mark HASH USER: USER uses version HASH and no other (under the lock).
rst_lib_mark() {
    local mark
    [ -d "$rst_lib_dir/users" ] || mkdir -m 0755 -- "$rst_lib_dir/users"
    [ -d "$rst_lib_dir/users/$1" ] || mkdir -m 0755 -- "$rst_lib_dir/users/$1"
    : >"$rst_lib_dir/users/$1/$2"
    for mark in "$rst_lib_dir"/users/*/"$2"; do
        [ "$mark" = "$rst_lib_dir/users/$1/$2" ] || rm -f -- "$mark"
    done
}
rst_lib_use() {
    rst_lib_lock
    rst_lib_mark "$1" "$2"
    rst_lib_collect
    exec 8>&-
}
# rst_lib_release USER...: the users' marks go, of whichever version each marks.
rst_lib_release() {
    local user mark
    rst_lib_lock
    for user in "$@"; do
        for mark in "$rst_lib_dir"/users/*/"$user"; do
            [ ! -e "$mark" ] || rm -f -- "$mark"
        done
    done
    rst_lib_collect
    exec 8>&-
}`);

/**
 * Builds the library of one kind of host from two renders of every script run there
 * with different arguments: a section equal in both is code, one that differs holds
 * values and stays in the command. A section a real script has that the library lacks
 * travels in the command, so a call is only ever made to the very text it replaces.
 */
export function buildHostLibrary(role: string, samples: readonly (readonly string[])[], delivery: HostLibrary["delivery"] = "command"): HostLibrary {
    const count = new Map<string, Set<number>>();
    samples.forEach((scripts, i) => {
        for (const script of scripts) {
            const sections = sectionsOf(script);
            if (sections === undefined) throw new Error(`host library ${role}: a sample script was not made by renderScript`);
            for (const s of sections) {
                if (s.trim() === "") continue;
                (count.get(s) ?? count.set(s, new Set()).get(s)!).add(i);
            }
        }
    });
    const shared = [...count].filter(([s, seen]) => seen.size === samples.length && !fragments.has(s)).map(([s]) => s);
    if (!shared.includes(LIBRARY_USE_FUNCTIONS.trimEnd())) shared.unshift(LIBRARY_USE_FUNCTIONS.trimEnd());
    const functions = new Map<string, string>();
    // Definitions (library sections) run when the library is sourced: a script whose
    // leading sections they are needs no call; one met after other code is also a
    // function. Their comment lines stay in this package's source (they hold no heredoc).
    const definitions = shared.filter(isLibrarySection);
    const laterDefinitions = new Set(samples.flat().flatMap((script) => sectionsOf(script)!.filter((s, i, all) => isLibrarySection(s) && all.slice(0, i).some((p) => !isLibrarySection(p)))));
    // shellcheck directives stay: the library is linted as it is installed.
    const heads = [SCRIPT_PRELUDE.trimEnd(), ...definitions.map((d) => d.split("\n").filter((l) => !/^\s*#/.test(l) || /^\s*# shellcheck /.test(l)).join("\n"))];
    const bodies: string[] = [];
    for (const s of shared) {
        if (isLibrarySection(s) && !laterDefinitions.has(s)) {
            functions.set(s, "");
            continue;
        }
        // `shared` holds each text once: one function per text.
        const name = `rst_s_${sha256(s).slice(0, 12)}`;
        functions.set(s, name);
        bodies.push(`${name}() {\n${s}\n}`);
    }
    const text = [
        `#!/bin/bash\n# shellcheck disable=SC2034,SC2154,SC2317`,
        `# reverse-ssh-tunnel: script library for ${role} hosts, sourced by the scripts of its commands (each marks its use in users/). Managed by Pulumi; do not edit: a change breaks no check, but the next run of a command uses it as root.`,
        ...heads,
        ...bodies,
    ].join("\n\n") + "\n";
    const digest = sha256(text);
    const lib: HostLibrary = { role, hash: digest.slice(0, 16), sha256: digest, delivery, text, head: heads.join("\n\n"), functions };
    builtLibraries.set(lib.hash, lib);
    return lib;
}

/**
 * One phase of a command as calls into the library: its sections in order, each either
 * a call or (holding values) the section itself. Undefined when the script was not made
 * by `renderScript` (it then travels whole).
 */
function phaseCalls(lib: HostLibrary, script: string): string | undefined {
    const sections = sectionsOf(script);
    // A bare command (the default delete, "exit 0") runs as it is, after the library's prelude.
    if (sections === undefined) return script.length <= 200 && !script.startsWith("#!") ? script.trimEnd() : undefined;
    const calls: string[] = [];
    let leading = true;
    for (const s of sections) {
        if (s.trim() === "") continue;
        leading &&= isLibrarySection(s) && lib.functions.has(s);
        // Already run when the library was sourced.
        if (leading) continue;
        const call = lib.functions.get(s);
        if (call === "") return undefined; // a definition the library has only at its top, met after other code: send it whole
        calls.push(call ?? s);
    }
    return calls.join("\n");
}

/**
 * The lines of an uploaded library's command that install it when missing: read the
 * upload (the login user's file: not trusted), check its SHA-256, run it, and let it put
 * itself in place and mark this command's use (rst_lib_put). Inline, as no library is
 * there yet to call; the home lookup repeats rst_lib_upload's for that reason.
 */
function renderUploadInstall(lib: HostLibrary, user: string, installer: string): string {
    // Inside a double-quoted message: a URN of a resource at the stack's root has none of these.
    if (/["$`\\']/.test(installer)) throw new Error(`cannot quote the upload's URN ${installer} in a message`);
    return String.raw`# shellcheck disable=SC2034 # read by the library's rst_lib_collect
rst_lib_uploaded=1
if [ ! -f "$rst_lib_file" ] || [ -L "$rst_lib_file" ] || [ ! -O "$rst_lib_file" ]; then
    IFS=: read -r -a rst_pw <<<"$(getent passwd "${"$"}{SUDO_USER:-root}")"
    rst_lib_text=$(cat -- "${"$"}{rst_pw[5]:-/nonexistent}/${hostLibraryUploadPath(lib.hash)}" 2>/dev/null && echo .) || rst_lib_text=""
    rst_lib_text=${"$"}{rst_lib_text%.}
    if [ "$(printf %s "$rst_lib_text" | sha256sum)" != "${lib.sha256}  -" ]; then
        echo "reverse-ssh-tunnel: error: the script library $rst_lib_file is not on this host, and its upload ~${"$"}{SUDO_USER:-root}/${hostLibraryUploadPath(lib.hash)} is missing or not the version this command was made with; run: pulumi up --target-replace '${installer}'" >&2
        exit 2
    fi
    eval "$rst_lib_text"
    rst_lib_put ${lib.hash} ${user} "${"$"}{1:-}"
fi`;
}

/** A mark's name on the host: the user's readable name and a hash of its full identity. */
export function libraryUserId(identity: string, name: string): string {
    return `${name.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 80)}.${sha256(identity).slice(0, 12)}`;
}

/**
 * The bundle of a command whose phases call the library: sources the library version
 * (refusing a missing file with the way to reinstall it), marks its use on create and
 * update, and releases it after a successful delete. Undefined when a phase was not
 * made by `renderScript`: the caller then sends the whole scripts.
 *
 * @param alsoRelease - marks the successful delete releases besides its own: those of
 *   commands whose host is out of reach by the time their delete would run (a backup
 *   reached through the tunnel this command's delete removes). Default none.
 * @param retired - marks its create and update release: those of commands an earlier
 *   release made on this host, which this one replaced and whose own delete never runs
 *   there (out of reach). Default none.
 */
export function renderLibraryBundle(
    lib: HostLibrary,
    user: string,
    installer: string,
    scripts: { create: string; update: string; delete?: string },
    alsoRelease: readonly string[] = [],
    retired: readonly string[] = [],
): string | undefined {
    for (const u of [user, ...alsoRelease, ...retired]) if (!/^[A-Za-z0-9._-]+$/.test(u)) throw new Error(`invalid library user id ${JSON.stringify(u)}`);
    const create = phaseCalls(lib, scripts.create);
    const update = phaseCalls(lib, scripts.update);
    const del = scripts.delete === undefined ? "exit 0" : phaseCalls(lib, scripts.delete);
    if (create === undefined || update === undefined || del === undefined) return undefined;
    const use = `rst_lib_use ${lib.hash} ${user}${retired.length > 0 ? `\nrst_lib_release ${retired.join(" ")}` : ""}`;
    const release = `rst_lib_release_on_success() { [ "$1" != 0 ] || rst_lib_release ${[user, ...alsoRelease].join(" ")}; }
rst_exit_hooks+=(rst_lib_release_on_success)`;
    const phase = (names: string, body: string) => `${names}) {\n${body}\n}\n;;`;
    // A delete that only releases its mark has nothing to do where the library is gone.
    const releaseOnly = scripts.delete === undefined || scripts.delete.trim() === "exit 0";
    const uploaded = lib.delivery === "upload";
    return [
        `# reverse-ssh-tunnel: \`bash -s -- create|update|delete\` runs one phase with the script library ${lib.hash} on this host (${uploaded ? "uploaded" : "installed"} by ${installer}); data for it follows.`,
        `rst_lib_file=${hostLibraryPath(lib.hash)}`,
        ...(releaseOnly ? ['[ "${1:-}" != delete ] || [ -e "$rst_lib_file" ] || exit 0'] : []),
        ...(uploaded ? [renderUploadInstall(lib, user, installer)] : []),
        // Builtin tests only (no process): a regular file, not a link, owned by root.
        `# shellcheck source=/dev/null`,
        `if [ -f "$rst_lib_file" ] && [ ! -L "$rst_lib_file" ] && [ -O "$rst_lib_file" ]; then . "$rst_lib_file"; else echo "reverse-ssh-tunnel: error: the script library $rst_lib_file is missing on this host (removed by hand?); run: pulumi up --target-replace '${installer}'" >&2; exit 2; fi`,
        'case "${1:-}" in',
        ...(create === update ? [phase("create|update", `${use}\n${create}`)] : [phase("create", `${use}\n${create}`), phase("update", `${use}\n${update}`)]),
        phase("delete", `${release}\n${del}`),
        '*) echo "reverse-ssh-tunnel: error: unknown phase ${1:-}" >&2; exit 2 ;;',
        "esac; exit",
        "",
    ].join("\n");
}

/**
 * A library bundle with its calls replaced by the code they run and the library's
 * prelude in front: what the command does, readable (tests, and anyone reading a
 * command's stdin from the state). Text that calls no library is returned unchanged.
 */
export function expandLibraryBundle(bundle: string): string {
    const m = /^rst_lib_file=\S+\/lib-([0-9a-f]{16})\.sh$/m.exec(bundle);
    if (m === null) return bundle;
    const lib = builtLibraries.get(m[1]!);
    if (lib === undefined) return bundle;
    const byName = new Map([...lib.functions].filter(([, name]) => name !== "").map(([text, name]) => [name, text]));
    const lines = bundle.split("\n");
    const source = lines.findIndex((l) => l.startsWith("rst_lib_file="));
    // The lines that find and source the library become the library's prelude.
    const end = lines.findIndex((l, i) => i > source && l.startsWith("if [ -f \"$rst_lib_file\" ]"));
    // shellcheck cannot tell which functions the case arms reach (SC2317); the library's
    // head defines what other commands use too (SC2034).
    const expanded = ["#!/bin/bash", "# shellcheck disable=SC2034,SC2317", ...lines.slice(0, source), lib.head, ...lines.slice(end + 1)].join("\n");
    return expanded.replace(/^rst_s_[0-9a-f]{12}$/gm, (name) => byName.get(name) ?? name);
}

/** The library's text as the install command's data: gzip and base64 (stored twice in the state). */
export function packLibrary(lib: HostLibrary): string {
    return Buffer.from(gzipSync(Buffer.from(lib.text, "utf8"), { level: 9, mtime: 0 })).toString("base64").replace(/.{76}/g, "$&\n") + "\n";
}

/** The library text of packed data (tests). */
export function unpackLibrary(data: string): string {
    return Buffer.from(gunzipSync(Buffer.from(data.replace(/\n/g, ""), "base64"))).toString("utf8");
}

/**
 * Installs a library version (its packed text on stdin, checked against its hash) and
 * marks USER's use of it, releasing USER's older version: the previous version stays
 * while a command of the last update still marks it (its delete runs that version).
 */
export function renderLibraryInstallScript(lib: HostLibrary, user: string): string {
    return renderScript(
        LIBRARY_USE_FUNCTIONS,
        `rst_lib_hash=${lib.hash}
rst_lib_user=${shQuote(user)}`,
        String.raw`rst_lib_text=$(base64 -d | gzip -dc && echo .) || rst_fail "cannot unpack the script library (the host needs base64 and gzip)"
rst_lib_text=${"$"}{rst_lib_text%.}
[ "$(printf %s "$rst_lib_text" | sha256sum | cut -c1-16)" = "$rst_lib_hash" ] || rst_fail "the script library does not match its hash $rst_lib_hash"
rst_lib_put "$rst_lib_hash" "$rst_lib_user" create
rst_lib_lock
rst_lib_collect
exec 8>&-`,
    );
}

/** Releases USER's use of its library versions; the last user's release removes a version. */
export function renderLibraryReleaseScript(user: string): string {
    return renderScript(
        LIBRARY_USE_FUNCTIONS,
        `rst_lib_user=${shQuote(user)}`,
        String.raw`rst_lib_lock
for rst_mark in "$rst_lib_dir"/users/*/"$rst_lib_user"; do
    [ -e "$rst_mark" ] && rm -f -- "$rst_mark"
done
rst_lib_collect
exec 8>&-`,
    );
}
