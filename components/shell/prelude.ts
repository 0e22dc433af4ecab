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
rst_fail() {
    printf 'reverse-ssh-tunnel: error: %s\n' "$*" >&2
    exit 1
}
# Notes go to stdout: the provider shows stderr as warnings.
rst_note() {
    printf 'reverse-ssh-tunnel: %s\n' "$*"
}
# rst_install_file PATH MODE OWNER GROUP: content on stdin; replaced atomically, only when different.
# shellcheck disable=SC2034 # rst_changed is read by the scripts that need it
rst_install_file() {
    local path="$1" mode="$2" owner="$3" group="$4" tmp
    tmp=$(mktemp "$(dirname -- "$path")/.rst-tmp.XXXXXX")
    cat >"$tmp"
    if [ -f "$path" ] && cmp -s -- "$tmp" "$path" &&
        [ "$(stat -c '%a:%U:%G' -- "$path")" = "$mode:$owner:$group" ]; then
        rm -f -- "$tmp"
        return 0
    fi
    chown "$owner:$group" -- "$tmp"
    chmod "$mode" -- "$tmp"
    mv -f -- "$tmp" "$path"
    rst_changed=1
}
# rst_install_dir PATH MODE OWNER GROUP
# shellcheck disable=SC2034
rst_install_dir() {
    local path="$1" mode="$2" owner="$3" group="$4"
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
# rst_remove PATH...: removes files or empty directories that exist.
# shellcheck disable=SC2034
rst_remove() {
    local path
    for path in "$@"; do
        if [ -d "$path" ] && [ ! -L "$path" ]; then
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
    local entry
    entry=$(getent passwd "$1") || { echo absent; return 0; }
    case "$(printf '%s' "$entry" | cut -d: -f5)" in
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
# rst_delete_account USER: kills every process of an account of ours (that ends its
# sshd sessions) and deletes it; leaves any other account alone.
# shellcheck disable=SC2034
rst_delete_account() {
    [ "$(rst_account_state "$1")" = ours ] || return 0
    for _ in $(seq 1 50); do
        pkill -KILL -u "$1" 2>/dev/null || true
        pgrep -u "$1" >/dev/null 2>&1 || break
        sleep 0.1
    done
    pgrep -u "$1" >/dev/null 2>&1 && rst_fail "processes of $1 survived SIGKILL for 5 s"
    userdel "$1" 2>/dev/null || userdel --force "$1"
    rst_changed=1
}
# rst_lock: serialises every reverse-ssh-tunnel script on this host (parallel Pulumi applies).
rst_lock() {
    mkdir -p /run/lock
    exec 9>/run/lock/reverse-ssh-tunnel.lock
    flock -w 300 9 || rst_fail "timed out waiting for /run/lock/reverse-ssh-tunnel.lock"
}
`;

/** Joins the prelude and script sections into one script, separated by blank lines. */
export function renderScript(...sections: string[]): string {
    return [`#!/bin/bash`, SCRIPT_PRELUDE, ...sections].map((s) => s.trimEnd()).join("\n\n") + "\n";
}
