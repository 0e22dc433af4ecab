/**
 * The monitor's decision core as one awk program: from the previous state and this
 * round's checks it writes the new state, the alerts to run and the Prometheus
 * textfile. Pure (no clock, no I/O beyond the files it is given), so unit tests run
 * it with the host's awk on crafted inputs, exactly as main runs it (POSIX awk: mawk
 * on Debian).
 *
 * Inputs, tab-separated (ARGV[1] the previous state, possibly empty; ARGV[2] the checks):
 *   state:  {@link STATE_COLUMNS}
 *   checks: name port user fingerprint key_expiry listener banner session_start
 * Variables: now, after (seconds down before an alert), interval (minimum seconds
 * between two alerts of one backup; a recovery is always told), state_out, alerts_out,
 * metrics_out (files).
 * alerts_out lines: event (down|up), name, seconds down, port.
 */

/** Columns of the monitor's state file (one line per backup, tab-separated). */
export const STATE_COLUMNS = [
    "name",
    "port",
    "user",
    "fingerprint",
    "key_expiry",
    "up",
    "since",
    "session_start",
    "listener",
    "banner",
    "alerted",
    "last_alert",
    "checked",
] as const;

/** Prefix of every metric the monitor writes. */
export const METRIC_PREFIX = "reverse_ssh_tunnel_";

/** The awk program (see the module comment). */
export const MONITOR_CORE_AWK = String.raw`BEGIN { FS = OFS = "\t"; n = 0 }
FILENAME == ARGV[1] {
    if (NF >= 13) { known[$1] = 1; old_up[$1] = $6; old_since[$1] = $7; old_alerted[$1] = $11; old_last[$1] = $12 }
    next
}
NF < 8 { next }
{
    name = $1; port = $2; listener = $6 + 0; banner = $7 + 0
    up = (listener && banner) ? 1 : 0
    session = listener ? $8 : ""
    if (name in known) {
        since = (old_up[name] + 0 == up) ? old_since[name] : now
        alerted = old_alerted[name] + 0; last = old_last[name]
    } else {
        # First sight: the state starts now (an earlier outage is unknown).
        since = now; alerted = 0; last = ""
    }
    if (up == 0 && !alerted && now - since >= after && (last == "" || now - last >= interval)) {
        print "down", name, now - since, port > alerts_out
        alerted = 1; last = now
    } else if (up == 1 && alerted) {
        # The recovery of a told outage is always told, whatever the rate limit.
        print "up", name, now - old_since[name], port > alerts_out
        alerted = 0; last = now
    }
    print name, port, $3, $4, $5, up, since, session, listener, banner, alerted, last, now > state_out
    n++; r_name[n] = name; r_port[n] = port; r_user[n] = $3; r_fp[n] = $4; r_exp[n] = $5
    r_up[n] = up; r_since[n] = since; r_session[n] = session; r_listener[n] = listener; r_banner[n] = banner
}
# Label values: the monitor validated them; anything else is replaced, never escaped (awks differ).
function esc(v) { gsub(/[^A-Za-z0-9_.:+\/=@-]/, "_", v); return v }
function head(m, type, help) { printf "# HELP %s%s %s\n# TYPE %s%s %s\n", P, m, help, P, m, type > metrics_out }
function each(m, col,    i, v) {
    for (i = 1; i <= n; i++) {
        v = (col == "up") ? r_up[i] : (col == "listener") ? r_listener[i] : (col == "banner") ? r_banner[i] : (col == "since") ? r_since[i] : (col == "age") ? now - r_since[i] : (col == "session") ? r_session[i] : r_exp[i]
        if (v != "") printf "%s%s{backup=\"%s\"} %s\n", P, m, esc(r_name[i]), v > metrics_out
    }
}
END {
    P = "${METRIC_PREFIX}"
    head("up", "gauge", "1 when the backup's tunnel works end to end: main's listener held by the tunnel account's own sshd session and the backup's SSH banner answering through it.")
    each("up", "up")
    head("listener_up", "gauge", "1 when main's loopback listener of the backup is held by its tunnel account's sshd session.")
    each("listener_up", "listener")
    head("ssh_banner_up", "gauge", "1 when the backup's SSH banner answered through main's listener.")
    each("ssh_banner_up", "banner")
    head("last_change_timestamp_seconds", "gauge", "Unix time of the last change of reverse_ssh_tunnel_up (or of the first check).")
    each("last_change_timestamp_seconds", "since")
    head("state_duration_seconds", "gauge", "Seconds since the last change of reverse_ssh_tunnel_up, as of the last check.")
    each("state_duration_seconds", "age")
    head("session_start_timestamp_seconds", "gauge", "Unix time the tunnel's current sshd session was accepted (absent without a session).")
    each("session_start_timestamp_seconds", "session")
    head("key_expiry_timestamp_seconds", "gauge", "Unix time main stops accepting the tunnel key (absent without keyExpiry).")
    each("key_expiry_timestamp_seconds", "expiry")
    head("info", "gauge", "The backup's main port, tunnel account and tunnel key fingerprint; always 1.")
    # Labels in name order, as node_exporter prints them.
    for (i = 1; i <= n; i++) printf "%sinfo{backup=\"%s\",key_fingerprint=\"%s\",port=\"%s\",tunnel_user=\"%s\"} 1\n", P, esc(r_name[i]), esc(r_fp[i]), esc(r_port[i]), esc(r_user[i]) > metrics_out
    head("backups", "gauge", "Backups monitored on this main.")
    printf "%sbackups %d\n", P, n > metrics_out
    head("last_check_timestamp_seconds", "gauge", "Unix time of the monitor's last round (stale: the timer is not running).")
    printf "%slast_check_timestamp_seconds %d\n", P, now > metrics_out
}
`;
