import { bash, librarySection } from "../shell";

/** awk function turning an sshd pattern (`*`, `?`) into an anchored regular expression. */
const AWK_GLOB2RE = String.raw`        function glob2re(p,   r, i, c) {
            r = "^"
            for (i = 1; i <= length(p); i++) {
                c = substr(p, i, 1)
                if (c == "*") r = r ".*"
                else if (c == "?") r = r "."
                else if (index("\\.^$+(){}|/[]", c) > 0) r = r "\\" c
                else r = r c
            }
            return r "$"
        }`;

/**
 * Bash functions shared by the sshd apply and remove scripts: back up the files a
 * change touches and restore them on any exit before the change is committed; list
 * the configuration in sshd's reading order (Includes expanded); find `Match` blocks
 * read before the policy that can apply to the tunnel account; evaluate the
 * effective settings for the connections a backup really makes; and make the
 * running sshd take the files, however systemd runs it.
 */
export const SSHD_FUNCTIONS = librarySection(bash`rst_sshd=$(command -v sshd || true)
[ -n "$rst_sshd" ] || rst_sshd=/usr/sbin/sshd
[ -x "$rst_sshd" ] || rst_fail "sshd was not found on this host (looked on PATH and at /usr/sbin/sshd)"
rst_main_config=/etc/ssh/sshd_config
rst_dropin_dir=/etc/ssh/sshd_config.d
# Created under the sshd lock by the first rst_backup (see rst_sshd_locked).
rst_backup_dir=""
# Set once sshd runs on the new files (or nothing needed it): from then on an exit
# keeps them. Before that, any exit (failure, INT, TERM, HUP, PIPE) restores them.
rst_committed=0
# Marker: the files may differ from what the running sshd uses (an earlier run was
# killed between writing and reloading). While it exists, the next run reloads.
rst_pending="$rst_state_dir/sshd-reload-pending"
rst_pending_before=0
[ ! -e "$rst_pending" ] || rst_pending_before=1
rst_restore_unless_committed() {
    [ "$rst_committed" = 1 ] || rst_restore
}
rst_exit_hooks+=(rst_restore_unless_committed)
# rst_sshd_locked: takes the sshd lock, then removes what a killed run (SIGKILL: no
# trap ran) left: every sshd-backup directory now belongs to a dead script, because
# a live one creates its own only once it holds this lock.
rst_sshd_locked() {
    rst_lock sshd
    rm -rf -- "$rst_state_dir"/sshd-backup.*
    rst_backup_dir=$(mktemp -d "$rst_state_dir/sshd-backup.XXXXXX")
    rst_tmp_paths+=("$rst_backup_dir")
}
# rst_backup FILE...: remembers the current state of files (or their absence), and
# marks sshd as possibly out of date until the change is committed.
rst_backup() {
    local f key
    : >"$rst_pending"
    for f in "$@"; do
        key=${'$'}{f//\//%}
        if [ -e "$rst_backup_dir/$key" ] || [ -e "$rst_backup_dir/$key.absent" ]; then
            continue
        fi
        if [ -e "$f" ]; then
            cp -p -- "$f" "$rst_backup_dir/$key"
        else
            : >"$rst_backup_dir/$key.absent"
        fi
    done
}
# rst_restore: puts every backed-up file back as it was.
rst_restore() {
    local saved name f
    [ -n "$rst_backup_dir" ] || return 0
    for saved in "$rst_backup_dir"/*; do
        [ -e "$saved" ] || continue
        name=${'$'}{saved##*/}
        case "$name" in
        *.absent)
            f=${'$'}{name%.absent}
            rm -f -- "${'$'}{f//%//}"
            ;;
        *)
            cp -p -- "$saved" "${'$'}{name//%//}"
            ;;
        esac
    done
    [ "$rst_pending_before" = 1 ] || rm -f -- "$rst_pending"
}
# rst_includes_dropins: true when sshd_config includes sshd_config.d/*.conf before its first Match.
rst_includes_dropins() {
    [ -f "$rst_main_config" ] || return 1
    awk -v dir="$rst_dropin_dir" '
        { sub(/\r$/, ""); sub(/^[ \t]+/, ""); n = split($0, w, /[ \t=]+/); for (i = 1; i <= n; i++) gsub(/["]/, "", w[i]) }
        tolower(w[1]) == "match" { exit }
        tolower(w[1]) == "include" {
            for (i = 2; i <= n; i++) {
                if (substr(w[i], 1, 1) == "#") break
                if (w[i] == dir "/*.conf" || w[i] == "sshd_config.d/*.conf") { found = 1 }
            }
        }
        END { exit !found }' "$rst_main_config"
}
# rst_strip_block FILE BEGIN END: prints FILE without the lines from BEGIN to END.
rst_strip_block() {
    awk -v b="$2" -v e="$3" '$0 == b { skip = 1 } !skip { print } $0 == e { skip = 0 }' "$1"
}
# rst_insert_block FILE BLOCKFILE: prints FILE with BLOCKFILE inserted before its
# first Match line (so no Match of sshd_config is read before it), or at the end.
rst_insert_block() {
    awk -v blk="$2" '
        function emit(   l) { while ((getline l < blk) > 0) print l; close(blk); done = 1 }
        { t = $0; sub(/^[ \t]+/, "", t); split(t, w, /[ \t=\r]+/); gsub(/["]/, "", w[1]) }
        !done && tolower(w[1]) == "match" { emit() }
        { print }
        END { if (!done) emit() }' "$1"
}
# rst_user_groups USER: the account's groups, or its own group's name before it exists.
rst_user_groups() {
    id -nG "$1" 2>/dev/null || printf '%s\n' "$1"
}
# rst_access_list_problem DUMP USER: why AllowUsers/DenyUsers/AllowGroups/DenyGroups
# would refuse USER, or nothing.
rst_access_list_problem() {
    printf '%s\n' "$1" | awk -v user="$2" -v groups="$(rst_user_groups "$2")" '
${AWK_GLOB2RE}
        function anygroup(p,   n, g, i) { n = split(groups, g, " "); for (i = 1; i <= n; i++) if (g[i] ~ glob2re(p)) return 1; return 0 }
        $1 == "allowusers" { au = 1; for (i = 2; i <= NF; i++) { p = $i; h = "*"; if (index(p, "@")) { h = substr(p, index(p, "@") + 1); p = substr(p, 1, index(p, "@") - 1) } if (user ~ glob2re(p) && h == "*") aok = 1 } }
        $1 == "denyusers" { for (i = 2; i <= NF; i++) { p = $i; if (index(p, "@")) p = substr(p, 1, index(p, "@") - 1); if (user ~ glob2re(p)) du = du " " $i } }
        $1 == "allowgroups" { ag = 1; for (i = 2; i <= NF; i++) if (anygroup($i)) gok = 1 }
        $1 == "denygroups" { for (i = 2; i <= NF; i++) if (anygroup($i)) dg = dg " " $i }
        END {
            if (au && !aok) print "allowusers: AllowUsers does not list " user " (for every source address), so sshd refuses it"
            if (du != "") print "denyusers: DenyUsers matches " user " (" substr(du, 2) ")"
            if (ag && !gok) print "allowgroups: AllowGroups does not list a group of " user " (" groups ")"
            if (dg != "") print "denygroups: DenyGroups matches a group of " user " (" substr(dg, 2) ")"
        }'
}
# rst_sshd_mode: how sshd runs here: "socket-per-connection UNIT" (Accept=yes: each
# connection runs a fresh sshd that reads the files), "socket SOCKET SERVICE"
# (Accept=no: one sshd gets the listening socket from systemd), "service UNIT",
# "pidfile FILE", or "none".
rst_sshd_mode() {
    local unit svc pidfile pid
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        for unit in ssh.socket sshd.socket; do
            systemctl is-active --quiet "$unit" || continue
            if [ "$(systemctl show -P Accept "$unit")" = yes ]; then
                echo "socket-per-connection $unit"
            else
                svc=$(systemctl show -P Triggers "$unit" | awk '{ print $1 }')
                echo "socket $unit $\{svc:-ssh.service}"
            fi
            return 0
        done
        for unit in ssh.service sshd.service; do
            if systemctl is-active --quiet "$unit"; then
                echo "service $unit"
                return 0
            fi
        done
    fi
    for pidfile in /run/sshd.pid /var/run/sshd.pid; do
        if [ -s "$pidfile" ] && rst_read_line pid "$pidfile" && kill -0 "$pid" 2>/dev/null; then
            echo "pidfile $pidfile"
            return 0
        fi
    done
    echo none
}
# rst_apply_running MODE...: makes the running sshd use the files on disk.
rst_apply_running() {
    local pid
    case "$1" in
    service) systemctl reload "$2" ;;
    # A SIGHUP makes sshd re-execute itself, and the new process does not get the
    # socket systemd passed: it dies with "Cannot bind any address". A restart of
    # the service hands the socket over again; sessions survive (KillMode=process)
    # and new connections wait in the socket meanwhile.
    socket) if systemctl is-active --quiet "$3"; then systemctl restart "$3"; fi ;;
    socket-per-connection) : ;;
    pidfile) rst_read_line pid "$2" && kill -HUP "$pid" ;;
    *) return 1 ;;
    esac
}
# rst_sshd_pid MODE...: the listening daemon's PID (service and pidfile modes).
rst_sshd_pid() {
    local pid
    case "$1" in
    service) systemctl show -P MainPID "$2" 2>/dev/null ;;
    pidfile) rst_read_line pid "$2" && echo "$pid" ;;
    esac
}
# rst_sshd_listen_inodes PID: the inodes of the TCP sockets PID listens on, one
# "ino:N" per line (nothing without ss).
rst_sshd_listen_inodes() {
    command -v ss >/dev/null 2>&1 || return 0
    ss -Hltnpe 2>/dev/null | grep -F "pid=$1," | grep -o 'ino:[0-9]*' || true
}
# rst_sshd_up MODE...: the daemon (or its socket) is running after the change, and
# a re-executed daemon listens again on as many sockets as before: on SIGHUP sshd
# closes them and re-executes, so "active" alone would let the apply return while
# logins are still refused. It is back once it listens on as many new sockets (inodes
# not in rst_listen_before, set by rst_reload_sshd), looked for every 20 ms: no fixed
# wait, as every tunnel's apply reloads under the sshd lock.
rst_sshd_up() {
    local pid n=0 i want
    case "$1" in
    service) systemctl is-active --quiet "$2" || return 1 ;;
    socket | socket-per-connection) systemctl is-active --quiet "$2"; return ;;
    pidfile) [ -s "$2" ] && rst_read_line pid "$2" && kill -0 "$pid" 2>/dev/null || return 1 ;;
    *) return 1 ;;
    esac
    pid=$(rst_sshd_pid "$@")
    case "$\{rst_listen_before:-}:$pid" in
    :* | *: | *:0)
        # Nothing to tell the new sockets by (no ss, or no PID): give the re-execution
        # a moment, then it must still run.
        sleep 0.3
        case "$1" in
        service) systemctl is-active --quiet "$2" ;;
        pidfile) kill -0 "$pid" 2>/dev/null ;;
        esac
        return
        ;;
    esac
    want=$(grep -c . <<<"$rst_listen_before")
    for ((i = 0; i < 500; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        n=$(rst_sshd_listen_inodes "$pid" | grep -cvxF -f <(printf '%s\n' "$rst_listen_before") || true)
        [ "$\{n:-0}" -ge "$want" ] && return 0
        sleep 0.02
    done
    # Fewer sockets than before can be the admin's own pending change to Port or
    # ListenAddress, which the reload also applies; none at all is a dead daemon.
    [ "$\{n:-0}" -ge 1 ] && kill -0 "$pid" 2>/dev/null && return 0
    echo "sshd (pid $pid) listened on $want socket(s) before the reload and on no new one after it" >&2
    return 1
}
# rst_reload_sshd: makes the running sshd take the new files; on failure restores
# the previous files, brings sshd back on them and fails naming the mode.
rst_reload_sshd() {
    local mode err=""
    read -r -a mode <<<"$(rst_sshd_mode)"
    if [ "$\{mode[0]}" = none ]; then
        rst_restore
        rst_fail "the configuration is valid but no running sshd was found (looked for ssh.socket, sshd.socket, ssh.service, sshd.service, /run/sshd.pid); the previous files were restored"
    fi
    rst_listen_before=$(rst_sshd_listen_inodes "$(rst_sshd_pid "$\{mode[@]}")")
    if ! err=$(rst_apply_running "$\{mode[@]}" 2>&1) || ! err=$(rst_sshd_up "$\{mode[@]}" 2>&1); then
        rst_restore
        rst_apply_running "$\{mode[@]}" >/dev/null 2>&1 || true
        rst_fail "sshd (run as: $\{mode[*]}) did not take the new configuration: $\{err:-it stopped}; the previous files were restored and sshd was brought back on them. See 'journalctl -u $\{mode[1]}' on this host"
    fi
    rst_sshd_mode_used="$\{mode[*]}"
}
# rst_commit: the running sshd and the files agree from now on.
rst_commit() {
    rst_committed=1
    rm -f -- "$rst_pending"
}
# rst_validate_syntax: sshd -t on the files as they are now; restores and fails on error.
rst_validate_syntax() {
    local err
    if ! err=$("$rst_sshd" -t 2>&1); then
        rst_restore
        rst_fail "sshd -t rejected the new configuration; the previous files were restored and sshd was not reloaded: $err"
    fi
}
`);
