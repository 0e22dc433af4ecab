/**
 * One stdin for every phase of a command: the create, update and delete scripts in
 * one `case` statement (bash reads a compound command whole before running it), then
 * the data (e.g. a private key), which the running script reads from stdin. The
 * provider pipes the stored stdin to delete as well, so delete runs the delete
 * script of the last apply. The bundle ends with `esac; exit` on one line: a phase that
 * does not read the data (delete) must not fall through to bash reading it as commands.
 */
export function renderBundle(scripts: { create: string; update: string; delete?: string }, data = ""): string {
    const phase = (name: string, script: string) => `${name}) {
${script.trimEnd()}
}
;;`;
    return [
        "# reverse-ssh-tunnel: `bash -s -- create|update|delete` runs one phase; data for it follows the bundle.",
        'case "${1:-}" in',
        phase("create", scripts.create),
        phase("update", scripts.update),
        phase("delete", scripts.delete ?? "exit 0"),
        '*) echo "reverse-ssh-tunnel: error: unknown phase ${1:-}" >&2; exit 2 ;;',
        // `exit` on the same line: bash parses the whole line before running the case, so
        // the data after the bundle is never read as code, and a script that reads stdin
        // gets exactly the data.
        "esac; exit",
        "",
    ].join("\n") + data;
}
