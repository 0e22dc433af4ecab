/**
 * Marker in the GECOS field of every account this library creates: only accounts
 * carrying it are ever modified or deleted.
 */
export const ACCOUNT_MARKER = "reverse-ssh-tunnel";

/**
 * The bash prelude every rendered remote script starts with: strict mode, a fixed
 * PATH and locale, and small idempotent file primitives that only touch a file when
 * its content, mode or owner differ (so a second apply changes nothing on disk).
 */
export const SCRIPT_PRELUDE = String.raw`set -euo pipefail
umask 022
export LC_ALL=C
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
rst_changed=0
# Root-only directory (0700) for locks, temporary files and markers: never a
# world-writable place, where another local user could squat a lock or plant a link.
rst_state_dir=/run/reverse-ssh-tunnel
rst_fail() {
    printf 'reverse-ssh-tunnel: error: %s\n' "$*" >&2
    exit 1
}
# Notes go to stdout, so they read as progress in Pulumi's output, not as problems.
rst_note() {
    printf 'reverse-ssh-tunnel: %s\n' "$*"
}
# Exit handling: hooks run on every exit (also INT, TERM, HUP, PIPE), then the
# temporary paths are removed. A script registers a restore hook until it commits.
rst_exit_hooks=()
rst_tmp_paths=()
rst_on_exit() {
    local rc=$? hook
    trap - EXIT INT TERM HUP PIPE
    for hook in "${'$'}{rst_exit_hooks[@]}"; do
        "$hook" "$rc" || true
    done
    if [ "${'$'}{#rst_tmp_paths[@]}" -gt 0 ]; then rm -rf -- "${'$'}{rst_tmp_paths[@]}"; fi
    exit "$rc"
}
trap rst_on_exit EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE
trap 'exit 143' TERM
# rst_private_dir: creates or checks the root-only state directory and sends
# mktemp there.
rst_private_dir() {
    # Scripts start concurrently on a fresh boot (one per resource): a lost mkdir
    # race is fine when the winner made a directory; the checks below judge it.
    [ -e "$rst_state_dir" ] || mkdir -m 0700 -- "$rst_state_dir" 2>/dev/null || true
    [ ! -L "$rst_state_dir" ] || rst_fail "$rst_state_dir is a symbolic link; remove it (only root may create this directory)"
    [ -d "$rst_state_dir" ] || rst_fail "cannot create the directory $rst_state_dir"
    [ "$(stat -c '%u:%a' -- "$rst_state_dir")" = "0:700" ] ||
        rst_fail "$rst_state_dir must be a directory owned by root with mode 0700 (found $(stat -c '%U:%a' -- "$rst_state_dir")); remove it and run again"
    export TMPDIR="$rst_state_dir"
    rst_clean_stale_tmp "$rst_state_dir"
}
# rst_clean_stale_tmp DIR: removes the temporary files of runs that were killed
# (SIGKILL: no trap ran). Their names carry the creating script's PID; a file whose
# PID is alive is left alone (a live run's, or at worst a reused PID's).
rst_clean_stale_tmp() {
    local f pid
    for f in "$1"/.rst-tmp.*.*; do
        [ -e "$f" ] || continue
        pid=${'$'}{f##*/.rst-tmp.}
        pid=${'$'}{pid%%.*}
        case "$pid" in '' | *[!0-9]*) continue ;; esac
        kill -0 "$pid" 2>/dev/null || rm -rf -- "$f"
    done
}
rst_private_dir
# rst_read_line VAR FILE: sets VAR to the first line of FILE (a PID file, a /proc
# entry) without a process; false when FILE cannot be read.
rst_read_line() {
    local rst_line_=""
    { IFS= read -r rst_line_ || [ -n "$rst_line_" ]; } 2>/dev/null <"$2" || return 1
    printf -v "$1" '%s' "$rst_line_"
}
# rst_getent_fields ARRAY DATABASE KEY: sets ARRAY to the fields of KEY's entry in
# DATABASE (passwd, shadow), split at ':' by bash (a cut per field costs a process
# each); false when there is no such entry.
rst_getent_fields() {
    local rst_entry_
    rst_entry_=$(getent "$2" "$3") || return 1
    IFS=: read -r -a "$1" <<<"$rst_entry_"
}
# rst_mktemp VAR [DIR]: sets VAR to a new empty temporary file (in DIR, default the
# root-only state directory), removed on exit. Not used as $(...): a subshell could
# not register it. Made without a process (a script makes many, and each process
# costs milliseconds): noclobber turns the redirection into an exclusive create, so
# an existing name, or a link planted under it, is never opened; the name's random
# part comes from the kernel (SRANDOM, bash 5.1 and later).
rst_mktemp() {
    local dir="${'$'}{2:-$rst_state_dir}" t n
    for ((n = 0; n < 100; n++)); do
        t="$dir/.rst-tmp.$$.${'$'}{SRANDOM:-$RANDOM}$RANDOM"
        set -C
        if { : >"$t"; } 2>/dev/null; then
            set +C
            rst_tmp_paths+=("$t")
            printf -v "$1" '%s' "$t"
            return 0
        fi
        set +C
    done
    rst_fail "cannot create a temporary file in $dir"
}
# rst_in_place PATH MODE OWNER GROUP CONTENT: PATH is a regular file (not a link) with
# exactly CONTENT's bytes, that mode and that owner.
rst_in_place() {
    [ -f "$1" ] && [ ! -L "$1" ] && cmp -s -- "$5" "$1" && [ "$(stat -c '%a:%U:%G' -- "$1")" = "$2:$3:$4" ]
}
# rst_install_file PATH MODE OWNER GROUP: content on stdin; replaced atomically, only when different.
# shellcheck disable=SC2034 # rst_changed is read by the scripts that need it
rst_install_file() {
    local path="$1" mode="$2" owner="$3" group="$4" tmp="" dir=.
    # As dirname: the part before the last slash, "/" for a file in the root.
    case "$path" in */*) dir=${'$'}{path%/*} && dir=${'$'}{dir:-/} ;; esac
    # The temporary copy sits next to the target (same filesystem for mv) and is
    # removed on any exit, so an interrupted run leaves no stray copy of a key.
    rst_clean_stale_tmp "$dir"
    # Made 0600 by the umask, not a chmod: each process costs milliseconds. An unchanged
    # file's copy stays until the exit trap removes all of them with one rm.
    umask 077
    rst_mktemp tmp "$dir"
    umask 022
    cat >"$tmp"
    if rst_in_place "$path" "$mode" "$owner" "$group" "$tmp"; then
        return 0
    fi
    chown "$owner:$group" -- "$tmp"
    chmod "$mode" -- "$tmp"
    mv -f -T -- "$tmp" "$path"
    rst_changed=1
}
# rst_install_dir PATH MODE OWNER GROUP
# shellcheck disable=SC2034
rst_install_dir() {
    local path="$1" mode="$2" owner="$3" group="$4"
    [ ! -L "$path" ] || rst_fail "$path is a symbolic link; expected a directory"
    if [ ! -d "$path" ]; then
        mkdir -p -- "$path"
        rst_changed=1
    fi
    if [ "$(stat -c '%a:%U:%G' -- "$path")" != "$mode:$owner:$group" ]; then
        chown "$owner:$group" -- "$path"
        chmod "$mode" -- "$path"
        rst_changed=1
    fi
}
# rst_remove PATH...: removes files or empty directories that exist, and any
# temporary copies an interrupted run left in a directory being removed.
# shellcheck disable=SC2034
rst_remove() {
    local path
    for path in "$@"; do
        if [ -d "$path" ] && [ ! -L "$path" ]; then
            rm -f -- "$path"/.rst-tmp.*
            if rmdir -- "$path" 2>/dev/null; then rst_changed=1; fi
        elif [ -e "$path" ] || [ -L "$path" ]; then
            rm -f -- "$path"
            rst_changed=1
        fi
    done
}
# rst_nologin_shell: the host's nologin, wherever its distribution puts it.
rst_nologin_shell() {
    command -v nologin || { [ -x /usr/sbin/nologin ] && echo /usr/sbin/nologin; } || rst_fail "no nologin shell found on this host"
}
# rst_account_state USER: "ours" (carries the marker), "foreign" or "absent".
rst_account_state() {
    local fields
    rst_getent_fields fields passwd "$1" || { echo absent; return 0; }
    case "${'$'}{fields[4]:-}" in
    ${ACCOUNT_MARKER}*) echo ours ;;
    *) echo foreign ;;
    esac
}
# rst_ensure_account USER GECOS HINT: a system account (nologin, no home, own group),
# created when absent, kept when ours, refused when it belongs to someone else.
# shellcheck disable=SC2034
rst_ensure_account() {
    case "$(rst_account_state "$1")" in
    ours) ;;
    foreign) rst_fail "account $1 already exists and was not created by reverse-ssh-tunnel; $3" ;;
    absent)
        local shell
        shell=$(rst_nologin_shell)
        useradd --system --user-group --no-create-home --home-dir /nonexistent \
            --shell "$shell" --comment "$2" "$1"
        rst_changed=1
        ;;
    esac
}
# rst_own_pids UID: processes of UID in this host's own PID namespace. Containers
# on the host reuse UIDs (999 is postgres in many images): they must never match.
rst_own_pids() {
    pgrep --ns $$ --nslist pid -u "$1" 2>/dev/null || true
}
# rst_port_pids PORT: the PIDs of the processes listening on TCP PORT of this host, one
# per line (nothing without ss).
rst_port_pids() {
    ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u || true
}
# rst_kill_account_processes USER: SIGKILLs the account's processes on this host
# (its sshd sessions: that ends a live tunnel and closes its listeners).
rst_kill_account_processes() {
    local uid i
    uid=$(id -u "$1" 2>/dev/null) || return 0
    for ((i = 0; i < 50; i++)); do
        pkill -KILL --ns $$ --nslist pid -u "$uid" 2>/dev/null || true
        [ -n "$(rst_own_pids "$uid")" ] || return 0
        sleep 0.1
    done
    rst_fail "processes of $1 on this host survived SIGKILL for 5 s: $(rst_own_pids "$uid" | tr '\n' ' ')"
}
# rst_delete_account USER: kills the processes of an account of ours on this host
# and deletes it; leaves any other account alone.
# shellcheck disable=SC2034
rst_delete_account() {
    [ "$(rst_account_state "$1")" = ours ] || return 0
    rst_kill_account_processes "$1"
    # userdel refuses while any process on the machine (a container's too) has the
    # UID; --force only skips that check, it never signals anything.
    userdel "$1" 2>/dev/null || userdel --force "$1"
    rst_changed=1
}
# rst_lock SCOPE: serialises the reverse-ssh-tunnel scripts of one scope on this host
# (parallel Pulumi applies): "sshd" for sshd's files and reloads, "accounts" for the
# tunnel accounts and their key directory, "services" for a backup's units. Scripts
# of different scopes run side by side. The lock files live in the root-only state
# directory, where no other user can create or replace them.
rst_lock() {
    exec 9>"$rst_state_dir/lock-$1"
    flock -w 300 9 || rst_fail "timed out after 300 s waiting for $rst_state_dir/lock-$1 (another reverse-ssh-tunnel script holds it)"
}
# rst_unlock: releases the lock taken by rst_lock before the script ends.
rst_unlock() {
    exec 9>&-
}
`;

/**
 * The sections of each script `renderScript` made (trimmed, without the shebang and
 * prelude), by its text: what lets a bundle call the sections a host library already
 * holds instead of carrying them (see `hostLibrary`). A script built another way has
 * no entry and travels whole.
 */
const scriptSections = new Map<string, readonly string[]>();

/** Joins the prelude and script sections into one script, separated by blank lines. */
export function renderScript(...sections: string[]): string {
    const trimmed = sections.map((s) => s.trimEnd());
    const script = [`#!/bin/bash`, SCRIPT_PRELUDE.trimEnd(), ...trimmed].join("\n\n") + "\n";
    scriptSections.set(script, trimmed);
    return script;
}

/** The sections of a script made by `renderScript`, or undefined for any other text. */
export function sectionsOf(script: string): readonly string[] | undefined {
    return scriptSections.get(script);
}
