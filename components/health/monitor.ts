/**
 * The health timer on main: `reverse-ssh-tunnel-monitor` checks every monitored
 * backup's tunnel end to end each round, keeps each backup's state (up since when,
 * alerts told), writes the Prometheus textfile for node_exporter and runs the
 * operator's alert command. One per main, shared by every stack on it: each stack
 * writes its own list of backups under {@link MONITOR_ENTRIES_DIR}; the timer goes
 * with the last list.
 */
import { createHash } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";
import { dayAfter } from "../account/render";
import { bash, heredoc, renderScript, shQuote } from "../shell";
import { ConfigError, validatePort, validateTunnelName, validateUserName } from "../validation";
import { MONITOR_CORE_AWK } from "./core";
import { DEFAULT_TEXTFILE_DIRECTORY, MONITOR_COMMAND_PATH, MONITOR_ENTRIES_DIR, MONITOR_SETTINGS_PATH, MONITOR_STATE_DIR, MONITOR_TEXTFILE_NAME } from "./paths";
import { MONITOR_SERVICE, MONITOR_TIMER, renderMonitorService, renderMonitorTimer } from "./units";

export * from "./paths";

/** Settings of the health timer on main (`MainHealthCheckArgs.monitor`). */
export interface MainMonitorArgs {
    /**
     * Seconds between two rounds of checks (5-3600).
     * @default 30
     */
    readonly intervalSeconds?: number;
    /**
     * node_exporter's textfile directory; the monitor writes `reverse_ssh_tunnel.prom`
     * there (temporary file in the same directory, then rename). A world-writable
     * directory is refused at each round.
     * @default "/var/lib/prometheus/node-exporter"
     */
    readonly textfileDirectory?: string;
    /**
     * Shell command run as root on main (`/bin/sh -c`) when a backup's tunnel has been
     * down for `alertAfterSeconds`, and again when it is back. Its environment:
     * `RST_EVENT` (`down` or `up`), `RST_BACKUP` (the backup's name), `RST_DOWN_SECONDS`
     * (how long it has been, or was, down), `RST_PORT` and `RST_MAIN` (main's host
     * name). Killed after 60 s. E.g. `curl -fsS -d "backup $RST_BACKUP is $RST_EVENT" https://ntfy.sh/TOPIC`.
     * @default none (metrics only)
     */
    readonly alertCommand?: string;
    /**
     * Seconds a tunnel must be down before the alert command runs.
     * @default 300
     */
    readonly alertAfterSeconds?: number;
    /**
     * Least seconds between two alerts of one backup: a flapping tunnel is told once per
     * this time (a later outage waits; the recovery of a told outage is always told).
     * @default 3600
     */
    readonly alertIntervalSeconds?: number;
}

/** One backup as the health timer knows it: its tunnel's outputs of the same names. */
export interface MonitoredBackupArgs {
    /** Backup name (the tunnel's `backupName`). */
    readonly name: pulumi.Input<string>;
    /** Main's loopback port of the backup's SSH (the tunnel's `port`). */
    readonly port: pulumi.Input<number>;
    /** The tunnel account on main (the tunnel's `tunnelUser`). */
    readonly tunnelUser: pulumi.Input<string>;
    /** SHA256 fingerprint of the tunnel key (the tunnel's `keyFingerprint`). */
    readonly keyFingerprint: pulumi.Input<string>;
    /**
     * Last day main accepts the key, `YYYYMMDD` (the tunnel's `keyExpiry`); empty for none.
     * @default no expiry
     */
    readonly keyExpiry?: pulumi.Input<string>;
}

/** {@link MonitoredBackupArgs} resolved. */
export type MonitoredBackup = { readonly [K in keyof MonitoredBackupArgs]: pulumi.Unwrap<MonitoredBackupArgs[K]> };

/** {@link MainMonitorArgs} with every default filled in, validated. */
export type MonitorSettings = Required<Omit<MainMonitorArgs, "alertCommand">> & { readonly alertCommand: string };

function intIn(key: string, value: unknown, min: number, max: number, dflt: number): number {
    if (value === undefined) return dflt;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
        throw new ConfigError(key, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
    }
    return value;
}

/** Validates the settings and fills in the defaults (ConfigError naming `monitor.KEY`). */
export function resolveMonitorSettings(args: MainMonitorArgs = {}): MonitorSettings {
    const dir = args.textfileDirectory ?? DEFAULT_TEXTFILE_DIRECTORY;
    if (typeof dir !== "string" || !/^(\/[A-Za-z0-9._-]+)+$/.test(dir) || dir.split("/").some((p) => p === "." || p === "..")) {
        throw new ConfigError("monitor.textfileDirectory", `must be an absolute path of letters, digits, '.', '_' and '-' (no '..'), got ${JSON.stringify(dir)}`);
    }
    const cmd = args.alertCommand ?? "";
    if (typeof cmd !== "string" || cmd.includes("\0") || cmd.length > 4096) {
        throw new ConfigError("monitor.alertCommand", "must be a shell command of at most 4096 characters, without NUL");
    }
    return {
        intervalSeconds: intIn("monitor.intervalSeconds", args.intervalSeconds, 5, 3600, 30),
        textfileDirectory: dir,
        alertCommand: cmd.trim(),
        alertAfterSeconds: intIn("monitor.alertAfterSeconds", args.alertAfterSeconds, 0, 30 * 86400, 300),
        alertIntervalSeconds: intIn("monitor.alertIntervalSeconds", args.alertIntervalSeconds, 0, 30 * 86400, 3600),
    };
}

/** The settings file: shell assignments, each value quoted. */
export function renderMonitorSettings(s: MonitorSettings): string {
    return [
        "# reverse-ssh-tunnel-monitor settings (root-only: the alert command may hold a token). Managed by Pulumi.",
        `textfile_dir=${shQuote(s.textfileDirectory)}`,
        `alert_command=${shQuote(s.alertCommand)}`,
        `alert_after=${s.alertAfterSeconds}`,
        `alert_interval=${s.alertIntervalSeconds}`,
        "",
    ].join("\n");
}

/**
 * The file name of one owner's list under {@link MONITOR_ENTRIES_DIR}: readable, and
 * unique per owner (a hash of the full owner), whatever characters the stack uses.
 */
export function monitorEntriesPath(owner: string): string {
    const readable = owner.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 60) || "owner";
    const hash = createHash("sha256").update(owner).digest("hex").slice(0, 10);
    return `${MONITOR_ENTRIES_DIR}/${readable}-${hash}.tsv`;
}

/**
 * One owner's backup list (tab-separated: name, port, tunnel user, fingerprint, first
 * day the key is refused as YYYYMMDD or `-`); the install script turns the day into
 * Unix time on main, in main's time zone as sshd reads `expiry-time`.
 */
export function renderMonitorEntries(owner: string, backups: readonly MonitoredBackup[]): string {
    if (/[\n\0]/.test(owner)) throw new ConfigError("owner", "must be one line");
    const seen = new Set<string>();
    const lines = backups.map((b, i) => {
        const name = validateTunnelName(`backups[${i}].name`, b.name);
        if (seen.has(name)) throw new ConfigError("backups", `duplicate backup ${JSON.stringify(name)}`);
        seen.add(name);
        const port = validatePort(`backups[${i}].port`, b.port, 1024);
        const user = validateUserName(`backups[${i}].tunnelUser`, b.tunnelUser);
        if (typeof b.keyFingerprint !== "string" || !/^SHA256:[A-Za-z0-9+/]{43}$/.test(b.keyFingerprint)) {
            throw new ConfigError(`backups[${i}].keyFingerprint`, `not a SHA256 fingerprint: ${JSON.stringify(b.keyFingerprint)}`);
        }
        const expiry = b.keyExpiry ?? "";
        if (expiry !== "" && !/^\d{8}$/.test(expiry)) throw new ConfigError(`backups[${i}].keyExpiry`, "use YYYYMMDD");
        return [name, port, user, b.keyFingerprint, expiry === "" ? "-" : dayAfter(expiry)].join("\t");
    });
    return [`# reverse-ssh-tunnel: backups of ${owner.replace(/[^ -~]/g, "?")}, checked by reverse-ssh-tunnel-monitor. Managed by Pulumi.`, ...lines, ""].join("\n");
}

/**
 * The monitor command. Without arguments: one round (the timer's service runs it),
 * serialised by a lock. `--status` prints the last round as a table, `--json` as
 * one JSON document (what `npm run status` reads).
 */
export function renderMonitorCommand(): string {
    return [
        bash`#!/bin/bash
# reverse-ssh-tunnel-monitor: checks every reverse tunnel into this host (listener
# held by the tunnel account's own sshd session, the backup's SSH banner through it),
# writes node_exporter's textfile and runs the alert command. Managed by Pulumi.
#   reverse-ssh-tunnel-monitor           one round (reverse-ssh-tunnel-monitor.timer runs it)
#   reverse-ssh-tunnel-monitor --status  the last round, one line per backup
#   reverse-ssh-tunnel-monitor --json    the same as JSON
set -u
export LC_ALL=C
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
umask 077
settings=${shQuote(MONITOR_SETTINGS_PATH)}
entries_dir=${shQuote(MONITOR_ENTRIES_DIR)}
state_dir=${shQuote(MONITOR_STATE_DIR)}
textfile_name=${shQuote(MONITOR_TEXTFILE_NAME)}
state="$state_dir/state.tsv"
textfile_dir=${shQuote(DEFAULT_TEXTFILE_DIRECTORY)}
alert_command=""
alert_after=300
alert_interval=3600
check_timeout=5
max_parallel=32
fail() {
    printf 'reverse-ssh-tunnel-monitor: error: %s\n' "$*" >&2
    exit 1
}
note() {
    printf 'reverse-ssh-tunnel-monitor: %s\n' "$*"
}
[ "$(id -u)" = 0 ] || fail "run as root (sudo $0)"
# root_only PATH: owned by root and writable by nobody else (it is read as shell, or names what is probed).
root_only() {
    [ ! -L "$1" ] && [ "$(stat -c '%u' -- "$1")" = 0 ] && [ $((0$(stat -c '%a' -- "$1") & 022)) = 0 ]
}
if [ -e "$settings" ]; then
    root_only "$settings" || fail "$settings must be owned by root and writable by root only"
    # shellcheck source=/dev/null
    . "$settings"
fi
case "$\{1:-}" in
"") mode=round ;;
--status) mode=table ;;
--json) mode=json ;;
*)
    echo "usage: $0 [--status | --json]" >&2
    exit 2
    ;;
esac

if [ "$mode" != round ]; then
    [ -e "$state" ] || fail "no round has run yet (systemctl status reverse-ssh-tunnel-monitor.timer)"
    now=$(date +%s)
    if [ "$mode" = json ]; then
        awk -v now="$now" 'BEGIN { FS = "\t"; printf "{\"now\":%d,\"backups\":[", now }
            function num(v) { return v == "" ? "null" : v }
            NF >= 13 {
                printf "%s{\"backup\":\"%s\",\"up\":%s,\"since\":%s,\"port\":%s,\"tunnelUser\":\"%s\",\"keyFingerprint\":\"%s\",\"keyExpiry\":%s,\"sessionStart\":%s,\"listener\":%s,\"banner\":%s,\"checked\":%s}",
                    sep, $1, ($6 == 1 ? "true" : "false"), num($7), $2, $3, $4, num($5), num($8), ($9 == 1 ? "true" : "false"), ($10 == 1 ? "true" : "false"), num($13)
                sep = ","
            }
            END { print "]}" }' "$state"
    else
        awk -v now="$now" 'BEGIN { FS = "\t" }
            function dur(s) { return s >= 86400 ? int(s / 86400) "d" int(s % 86400 / 3600) "h" : s >= 3600 ? int(s / 3600) "h" int(s % 3600 / 60) "m" : s >= 60 ? int(s / 60) "m" int(s % 60) "s" : s "s" }
            NF >= 13 {
                n++; if ($6 != 1) down++
                ke = $5 == "" ? "never" : ($5 <= now ? "EXPIRED" : "in " dur($5 - now))
                line[n] = sprintf("%-24s %-5s %-12s %-6s %s", $1, ($6 == 1 ? "up" : "DOWN"), dur(now - $7), $2, ke)
                key[n] = ($6 == 1 ? "1" : "0") $1
                if ($13 > checked) checked = $13
            }
            END {
                printf "%-24s %-5s %-12s %-6s %s\n", "BACKUP", "STATE", "FOR", "PORT", "KEY EXPIRES"
                # Down first, then by name: with 100 backups the ones to look at come first.
                for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (key[j] < key[i]) { t = key[i]; key[i] = key[j]; key[j] = t; t = line[i]; line[i] = line[j]; line[j] = t }
                for (i = 1; i <= n; i++) print line[i]
                printf "%d backup(s), %d down; checked %ds ago\n", n, down, (n ? now - checked : 0)
            }' "$state"
    fi
    exit 0
fi

# A round. One at a time (timer, a manual run, a Pulumi apply).
mkdir -m 0700 -- "$state_dir" 2>/dev/null || true
if [ -L "$state_dir" ] || [ "$(stat -c '%u:%a' -- "$state_dir" 2>/dev/null)" != "0:700" ]; then
    fail "$state_dir must be a directory of root's with mode 0700"
fi
exec 9>"$state_dir/lock"
flock -w 120 9 || fail "another round has held $state_dir/lock for 120 s"
work=$(mktemp -d "$state_dir/.round.XXXXXX") || fail "mktemp in $state_dir"
metrics_tmp=""
trap 'rm -rf -- "$work"; [ -z "$metrics_tmp" ] || rm -f -- "$metrics_tmp"' EXIT
now=$(date +%s)
# The textfile directory first: nothing is probed for a file that cannot be written safely.
# Readable for node_exporter's user, parents too (this script's umask is 077).
[ -d "$textfile_dir" ] || (umask 022 && mkdir -p -- "$textfile_dir")
[ ! -L "$textfile_dir" ] || fail "$textfile_dir is a symbolic link"
# Never in a world-writable directory: another user could replace our file there.
[ $((0$(stat -c '%a' -- "$textfile_dir") & 002)) = 0 ] || fail "$textfile_dir is world-writable; node_exporter's textfile directory must not be"

# The backups: every list under $entries_dir (one per stack), first entry of a name wins.
: >"$work/entries"
if [ -d "$entries_dir" ]; then
    root_only "$entries_dir" || fail "$entries_dir must be owned by root and writable by root only"
    for f in "$entries_dir"/*.tsv; do
        [ -f "$f" ] || continue
        root_only "$f" || { note "skipping $f: not root's, or writable by others"; continue; }
        awk -v f="$f" 'BEGIN { FS = OFS = "\t" }
            /^#/ || NF == 0 { next }
            NF != 5 || $1 !~ /^[a-z0-9-]+$/ || $2 !~ /^[0-9]+$/ || $3 !~ /^[a-z_][a-z0-9_-]*$/ || $4 !~ /^SHA256:[A-Za-z0-9+\/]+$/ || $5 !~ /^([0-9]+|-)$/ {
                print "reverse-ssh-tunnel-monitor: skipping a malformed line of " f > "/dev/stderr"; next
            }
            { print }' "$f" >>"$work/entries"
    done
fi
awk 'BEGIN { FS = "\t" } !seen[$1]++' "$work/entries" >"$work/backups"

# Listeners, and the start of the sessions holding them.
ss -Hltnp >"$work/ss" 2>/dev/null || : >"$work/ss"
btime=$(awk '$1 == "btime" { print $2 }' /proc/stat)
hz=$(getconf CLK_TCK)
# session_start PID: Unix time PID started (field 22 of /proc/PID/stat, after the command name).
session_start() {
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    s=$\{s##*) }
    awk -v b="$btime" -v hz="$hz" '{ printf "%d", b + $20 / hz }' <<<"$s"
}
# check NAME PORT USER FINGERPRINT EXPIRY: one line of checks (see components/health/core.ts).
check() {
    local uid pid listener=0 banner=0 session="" line=""
    if uid=$(id -u -- "$3" 2>/dev/null); then
        while read -r pid; do
            # The session's own process runs as the tunnel account (its privileged
            # monitor is root): any other holder is not this backup's tunnel.
            if [ "$(awk '$1 == "Uid:" { print $2 }' "/proc/$pid/status" 2>/dev/null)" = "$uid" ]; then
                listener=1
                session=$(session_start "$pid")
                break
            fi
        done < <(awk -v a="127.0.0.1:$2" '$4 == a { s = $0; while (match(s, /pid=[0-9]+/)) { print substr(s, RSTART + 4, RLENGTH - 4); s = substr(s, RSTART + RLENGTH) } }' "$work/ss")
    fi
    if [ "$listener" = 1 ]; then
        # The backup's sshd answers first with its banner; we answer with ours and hang up.
        # shellcheck disable=SC2016 # $1 is the inner shell's argument
        line=$(timeout "$check_timeout" bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && IFS= read -r l <&3 && printf "%s" "$l" && printf "SSH-2.0-reverse-ssh-tunnel-monitor\r\n" >&3' _ "$2" 2>/dev/null) || true
        case "$line" in SSH-2.0-* | SSH-1.99-*) banner=1 ;; esac
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$listener" "$banner" "$session"
}
i=0
while IFS=$'\t' read -r name port user fp expiry; do
    i=$((i + 1))
    [ "$expiry" != - ] || expiry=""
    check "$name" "$port" "$user" "$fp" "$expiry" >"$work/check.$i" &
    if [ "$(jobs -rp | wc -l)" -ge "$max_parallel" ]; then wait -n; fi
done <"$work/backups"
wait
if [ "$i" -gt 0 ]; then cat "$work"/check.* | sort -t "$(printf '\t')" -k1,1 >"$work/checks"; else : >"$work/checks"; fi

# The decision core: new state, alerts and metrics.
[ -f "$state" ] || : >"$state"
: >"$work/state"
: >"$work/alerts"
# Not *.prom until complete: node_exporter reads only *.prom files.
metrics_tmp=$(mktemp "$textfile_dir/.$textfile_name.XXXXXX") || fail "cannot write in $textfile_dir"
core=""
IFS= read -r -d '' core <<'RST_CORE_AWK' || true`,
        MONITOR_CORE_AWK.trimEnd(),
        bash`RST_CORE_AWK
awk -v now="$now" -v after="$alert_after" -v interval="$alert_interval" -v state_out="$work/state" \
    -v alerts_out="$work/alerts" -v metrics_out="$metrics_tmp" "$core" "$state" "$work/checks" || fail "the decision core failed"
chmod 0644 -- "$metrics_tmp"
mv -fT -- "$metrics_tmp" "$textfile_dir/$textfile_name"
metrics_tmp=""
mv -fT -- "$work/state" "$state"

# Alerts: told once (the state above already records them), in parallel, 60 s each.
if [ -s "$work/alerts" ]; then
    main_host=$(hostname -f 2>/dev/null || hostname)
    while IFS=$'\t' read -r event name down_for port; do
        if [ -z "$alert_command" ]; then
            note "backup $name is $event (down $\{down_for}s); no alertCommand set"
            continue
        fi
        (
            out=$(RST_EVENT=$event RST_BACKUP=$name RST_DOWN_SECONDS=$down_for RST_PORT=$port RST_MAIN=$main_host \
                timeout 60 /bin/sh -c "$alert_command" </dev/null 2>&1)
            rc=$?
            note "backup $name is $event (down $\{down_for}s): alert command exited $rc$\{out:+: $(printf '%s' "$out" | tr '\n' ' ' | cut -c1-300)}"
        ) &
    done <"$work/alerts"
    wait
fi
exit 0
`,
    ].join("\n");
}

/** Script that installs (or updates) the monitor, its settings, one owner's list and the timer, then runs one round. */
export function renderMonitorInstallScript(settings: MonitorSettings, owner: string, backups: readonly MonitoredBackup[]): string {
    const entries = renderMonitorEntries(owner, backups);
    return renderScript(
        `rst_cmd=${shQuote(MONITOR_COMMAND_PATH)}
rst_settings=${shQuote(MONITOR_SETTINGS_PATH)}
rst_entries_dir=${shQuote(MONITOR_ENTRIES_DIR)}
rst_entries=${shQuote(monitorEntriesPath(owner))}
rst_service=${shQuote(MONITOR_SERVICE)}
rst_timer=${shQuote(MONITOR_TIMER)}`,
        String.raw`rst_lock monitor
rst_install_dir /usr/local/sbin 755 root root
rst_install_dir /etc/reverse-ssh-tunnel 755 root root
rst_install_dir "$rst_entries_dir" 755 root root`,
        heredoc(`rst_install_file "$rst_cmd" 755 root root`, renderMonitorCommand()),
        heredoc(`rst_install_file "$rst_settings" 600 root root`, renderMonitorSettings(settings)),
        String.raw`rst_list=""
rst_mktemp rst_list`,
        heredoc(`cat >"$rst_list"`, entries),
        String.raw`# The key's expiry day as Unix time in main's time zone (sshd reads expiry-time so).
rst_resolved=""
rst_mktemp rst_resolved
while IFS= read -r rst_line; do
    case "$rst_line" in
    '#'* | '') printf '%s\n' "$rst_line" ;;
    *)
        rst_day=$(printf '%s\n' "$rst_line" | cut -f5)
        rst_ts=-
        [ "$rst_day" = - ] || rst_ts=$(date -d "$rst_day" +%s) || rst_fail "cannot read the date $rst_day"
        printf '%s\t%s\n' "$(printf '%s\n' "$rst_line" | cut -f1-4)" "$rst_ts"
        ;;
    esac
done <"$rst_list" >"$rst_resolved"
rst_install_file "$rst_entries" 644 root root <"$rst_resolved"
rst_changed=0`,
        heredoc(`rst_install_file /etc/systemd/system/"$rst_service" 644 root root`, renderMonitorService()),
        heredoc(`rst_install_file /etc/systemd/system/"$rst_timer" 644 root root`, renderMonitorTimer(settings.intervalSeconds)),
        String.raw`if [ "$rst_changed" = 1 ]; then
    systemctl daemon-reload
    systemctl enable --quiet "$rst_timer"
    systemctl restart "$rst_timer"
    rst_note "installed $rst_timer (every ${settings.intervalSeconds} s)"
else
    systemctl enable --quiet "$rst_timer"
    systemctl start "$rst_timer"
fi
# One round now: the textfile and the status are there when the apply returns.
systemctl start "$rst_service" || rst_note "warning: the first round failed: journalctl -u $rst_service"`,
    );
}

/**
 * Script that removes one owner's list, then the timer, the monitor and its files
 * when no list is left (other stacks' tunnels into main keep it); else one round, so
 * the removed backups' series go at once.
 */
export function renderMonitorRemoveScript(settings: MonitorSettings, owner: string): string {
    return renderScript(
        `rst_cmd=${shQuote(MONITOR_COMMAND_PATH)}
rst_settings=${shQuote(MONITOR_SETTINGS_PATH)}
rst_entries_dir=${shQuote(MONITOR_ENTRIES_DIR)}
rst_entries=${shQuote(monitorEntriesPath(owner))}
rst_service=${shQuote(MONITOR_SERVICE)}
rst_timer=${shQuote(MONITOR_TIMER)}
rst_textfile=${shQuote(`${settings.textfileDirectory}/${MONITOR_TEXTFILE_NAME}`)}
rst_state_dir_monitor=${shQuote(MONITOR_STATE_DIR)}`,
        String.raw`rst_lock monitor
rst_remove "$rst_entries"
rst_left=0
for rst_f in "$rst_entries_dir"/*.tsv; do
    if [ -e "$rst_f" ]; then rst_left=$((rst_left + 1)); fi
done
if [ "$rst_left" -gt 0 ]; then
    rst_note "kept $rst_timer: $rst_left other list(s) of backups on this host (another stack's?)"
    if [ -x "$rst_cmd" ]; then "$rst_cmd" || rst_note "warning: a round of $rst_cmd failed"; fi
else
    if [ -e /etc/systemd/system/"$rst_timer" ]; then
        systemctl disable --now --quiet "$rst_timer" 2>/dev/null || true
        systemctl stop "$rst_service" 2>/dev/null || true
    fi
    rst_remove /etc/systemd/system/"$rst_timer" /etc/systemd/system/"$rst_service"
    systemctl daemon-reload
    systemctl reset-failed "$rst_service" "$rst_timer" 2>/dev/null || true
    rst_remove "$rst_textfile" "$rst_cmd" "$rst_settings" "$rst_entries_dir"
    rm -rf -- "$rst_state_dir_monitor"
    rmdir -- /etc/reverse-ssh-tunnel 2>/dev/null || true
fi`,
    );
}
