/**
 * Bash functions shared by the sshd apply and remove scripts: back up and restore
 * the files a change touches, validate with the running sshd binary, reload the
 * daemon whatever its unit is called, and explain conflicts.
 */
export const SSHD_FUNCTIONS = String.raw`rst_sshd=$(command -v sshd || true)
[ -n "$rst_sshd" ] || rst_sshd=/usr/sbin/sshd
[ -x "$rst_sshd" ] || rst_fail "sshd was not found on this host (looked on PATH and at /usr/sbin/sshd)"
rst_main_config=/etc/ssh/sshd_config
rst_dropin_dir=/etc/ssh/sshd_config.d
rst_backup_dir=$(mktemp -d /run/reverse-ssh-tunnel-backup.XXXXXX)
trap 'rm -rf -- "$rst_backup_dir"' EXIT
# rst_backup FILE...: remembers the current state of files (or their absence).
rst_backup() {
    local f key
    for f in "$@"; do
        key=$(printf '%s' "$f" | tr '/' '%')
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
    for saved in "$rst_backup_dir"/*; do
        [ -e "$saved" ] || continue
        name=$(basename -- "$saved")
        case "$name" in
        *.absent)
            f=$(printf '%s' "$name" | sed 's/[.]absent$//' | tr '%' '/')
            rm -f -- "$f"
            ;;
        *)
            f=$(printf '%s' "$name" | tr '%' '/')
            cp -p -- "$saved" "$f"
            ;;
        esac
    done
}
# rst_config_files: sshd_config and the drop-ins it may include, in sshd's reading order.
rst_config_files() {
    local f
    printf '%s\n' "$rst_main_config"
    for f in "$rst_dropin_dir"/*.conf; do
        [ -e "$f" ] && printf '%s\n' "$f"
    done
    return 0
}
# rst_includes_dropins: true when sshd_config includes sshd_config.d/*.conf before its first Match.
rst_includes_dropins() {
    [ -f "$rst_main_config" ] || return 1
    awk -v dir="$rst_dropin_dir" '
        tolower($1) == "match" { exit }
        tolower($1) == "include" {
            for (i = 2; i <= NF; i++) {
                if ($i == dir "/*.conf" || $i == "sshd_config.d/*.conf") { found = 1 }
            }
        }
        END { exit !found }' "$rst_main_config"
}
# rst_strip_block FILE BEGIN END: prints FILE without the lines from BEGIN to END.
rst_strip_block() {
    awk -v b="$2" -v e="$3" '$0 == b { skip = 1 } !skip { print } $0 == e { skip = 0 }' "$1"
}
# rst_where KEYWORD: file:line of every line that sets KEYWORD, for error messages.
rst_where() {
    local f
    rst_config_files | while IFS= read -r f; do
        grep -H -n -i -E "^[[:space:]]*$1([[:space:]]|=)" -- "$f" || true
    done
}
# rst_validate_syntax: sshd -t on the files as they are now; restores and fails on error.
rst_validate_syntax() {
    local err
    if ! err=$("$rst_sshd" -t 2>&1); then
        rst_restore
        rst_fail "sshd -t rejected the new configuration; the previous files were restored and sshd was not reloaded: $err"
    fi
}
# rst_effective USER: sshd -T for a connection of USER.
rst_effective() {
    "$rst_sshd" -T -C "user=$1,host=reverse-ssh-tunnel.invalid,addr=203.0.113.1" 2>&1
}
# rst_effective_value DUMP KEYWORD: the value sshd -T reports for KEYWORD (words sorted), or "<unset>".
rst_effective_value() {
    printf '%s\n' "$1" | awk -v k="$2" '
        $1 == k { found = 1; for (i = 2; i <= NF; i++) { print $i } }
        END { if (!found) { print "<unset>" } }' | sort | tr '\n' ' ' | sed 's/ $//'
}
# rst_reload_sshd: reloads the running sshd, whatever its unit is called.
rst_reload_sshd() {
    local unit pidfile
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        for unit in ssh.service sshd.service; do
            if systemctl is-active --quiet "$unit"; then
                systemctl reload "$unit" || rst_fail "systemctl reload $unit failed"
                return 0
            fi
        done
        for unit in ssh.socket sshd.socket; do
            # Socket-activated sshd reads the configuration for every new connection.
            systemctl is-active --quiet "$unit" && return 0
        done
    fi
    for pidfile in /run/sshd.pid /var/run/sshd.pid; do
        if [ -s "$pidfile" ] && kill -HUP "$(cat -- "$pidfile")" 2>/dev/null; then
            return 0
        fi
    done
    rst_fail "the configuration is valid but no running sshd was found to reload (ssh.service, sshd.service, ssh.socket, /run/sshd.pid)"
}
`;
