import { ACCOUNT_MARKER, bash, fileWord, renderScript, shQuote } from "../shell";
import { scriptFragment } from "../shell/hostLibrary";
import { GECOS_OWNER_PREFIX, OWNERSHIP_FUNCTIONS, ownerLine, ownershipVariables, PORT_CLAIM_CHECK, PORT_FUNCTIONS, portClaimVariable } from "../ownership/render";
import { AUTHORIZED_KEYS_DIR, FORCED_COMMAND, permitListenValue } from "../sshd/policy";
import { ConfigError, parsePublicKey, validatePort, validateUserName } from "../validation";

export { ACCOUNT_MARKER };

/** Inputs of the tunnel-account renderers. */
export interface TunnelAccountRenderArgs {
    /** Account name on main. */
    readonly user: string;
    /** Loopback ports on main this key may listen on. */
    readonly listenPorts: readonly number[];
    /** The backup's public key (OpenSSH line). */
    readonly publicKey: string;
    /**
     * Extra public keys kept authorized with the same restrictions. Default none.
     */
    readonly additionalPublicKeys?: readonly string[];
    /**
     * Last day the key is accepted, `YYYYMMDD` in main's time zone: sshd refuses it
     * from midnight at the end of that day (`expiry-time` of the next day). Default:
     * no expiry.
     */
    readonly expiry?: string;
    /**
     * Source addresses the key is accepted from (sshd `from=` patterns). Default: any,
     * because a backup behind a consumer NAT rarely has a fixed address.
     */
    readonly allowedSources?: readonly string[];
    /** Free-text label for the GECOS field, e.g. the backup's name. Default: none. */
    readonly description?: string;
    /**
     * Keep the key that was current before this apply next to the new one, with the
     * new options and an `expiry-time` {@link ROTATION_OVERLAP_MINUTES} minutes ahead
     * (a rotation's overlap: the backup holds the old key until it switches). Only
     * the immediately previous key is kept, and it dies by itself even if the backup
     * never switches. Default false: the file holds exactly the given keys.
     */
    readonly keepPreviousKey?: boolean;
    /**
     * Owner written into the key file and the GECOS field and checked on the host before
     * any change (see components/ownership). Default: none, no mark and no check (the
     * renderers' own tests); the components always give one.
     */
    readonly owner?: string;
    /** Take over this account and its key file from another owner. Default false. */
    readonly adopt?: boolean;
}

/** Path of the root-owned authorized-keys file for `user`. */
export function authorizedKeysPath(user: string): string {
    return `${AUTHORIZED_KEYS_DIR}/${user}`;
}

/**
 * How long the previous key stays valid during a rotation (or narrowing) when the
 * backup has not switched yet: long enough for one `pulumi up` of a large fleet,
 * short enough that a key leaked from an unreachable backup dies on its own.
 */
export const ROTATION_OVERLAP_MINUTES = 30;

/** Comment that marks the previous key's line during a rotation overlap. */
export const PREVIOUS_KEY_COMMENT = "previous-key";

/** The day after a `YYYYMMDD` date, in the same form (sshd refuses a key from that date's midnight). */
export function dayAfter(yyyymmdd: string): string {
    const d = new Date(Date.UTC(Number(yyyymmdd.slice(0, 4)), Number(yyyymmdd.slice(4, 6)) - 1, Number(yyyymmdd.slice(6, 8)) + 1));
    return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, "0")}${String(d.getUTCDate()).padStart(2, "0")}`;
}

const SOURCE_PATTERN = /^!?[0-9A-Za-z.:*?/-]+$/;

/**
 * The key options for one authorized key: `restrict` turns off everything, then only
 * port forwarding comes back, narrowed to this account's listen ports; any session
 * runs a forced command that does nothing.
 */
export function renderKeyOptions(args: TunnelAccountRenderArgs): string {
    checkArgs(args);
    const opts = ["restrict", "port-forwarding"];
    for (const spec of permitListenValue(args.listenPorts).split(" ")) {
        opts.push(`permitlisten="${spec}"`);
    }
    // Defence in depth, whatever sshd_config says: -L and -D may only ask for the
    // limited broadcast address, to which no TCP connection can be made (sshd refuses
    // port 0 and "none" here); a session would run nothing. Unix-socket forwards have
    // no key option: sshd's AllowStreamLocalForwarding no closes those.
    opts.push(`permitopen="255.255.255.255:1"`);
    opts.push(`command="${FORCED_COMMAND}"`);
    if (args.expiry !== undefined) {
        opts.push(`expiry-time="${dayAfter(args.expiry)}"`);
    }
    if (args.allowedSources !== undefined && args.allowedSources.length > 0) {
        opts.push(`from="${args.allowedSources.join(",")}"`);
    }
    return opts.join(",");
}

function checkArgs(args: TunnelAccountRenderArgs): void {
    validateUserName("user", args.user);
    if (args.listenPorts.length === 0) {
        throw new ConfigError("listenPorts", "at least one port is required");
    }
    args.listenPorts.forEach((p, i) => validatePort(`listenPorts[${i}]`, p, 1024));
    if (args.expiry !== undefined && (!/^\d{8}$/.test(args.expiry) || dayAfter(args.expiry) <= args.expiry || Number(args.expiry.slice(4, 6)) > 12 || Number(args.expiry.slice(6)) > 31)) {
        throw new ConfigError("expiry", `invalid date ${JSON.stringify(args.expiry)}: use YYYYMMDD, the last day the key is accepted`);
    }
    (args.allowedSources ?? []).forEach((s, i) => {
        if (!SOURCE_PATTERN.test(s)) {
            throw new ConfigError(`allowedSources[${i}]`, `invalid pattern ${JSON.stringify(s)}: use addresses, CIDRs or host patterns`);
        }
    });
    if (args.description !== undefined && !/^[A-Za-z0-9 ._-]{0,64}$/.test(args.description)) {
        throw new ConfigError("description", "use up to 64 letters, digits, spaces, '.', '_' or '-'");
    }
    if (args.owner !== undefined) ownerLine(args.owner);
}

/** The GECOS field of the account: the marker, the description, then the owner. */
export function accountGecos(args: Pick<TunnelAccountRenderArgs, "description" | "owner">): string {
    return `${ACCOUNT_MARKER}${args.description ? ` ${args.description}` : ""}${args.owner !== undefined ? ` ${GECOS_OWNER_PREFIX}${args.owner}` : ""}`;
}

/** The authorized-keys file content: one restricted line per key. */
export function renderAuthorizedKeys(args: TunnelAccountRenderArgs): string {
    const options = renderKeyOptions(args);
    const keys = [args.publicKey, ...(args.additionalPublicKeys ?? [])].map((k, i) => parsePublicKey(`publicKey[${i}]`, k));
    return [
        `# reverse-ssh-tunnel: keys of tunnel account ${args.user}. Managed by Pulumi; root-owned so the`,
        `# account cannot loosen its own restrictions.`,
        ...(args.owner !== undefined ? [ownerLine(args.owner)] : []),
        ...keys.map((k) => `${options} ${k.line} ${args.user}`),
        "",
    ].join("\n");
}

/**
 * Renders the create/update script: a system account with a nologin shell, password
 * field `*` (no password, not "locked", so public-key login works with UsePAM no), no
 * supplementary groups, no home; then the root-owned authorized-keys file. An
 * existing account is adopted only when it carries {@link ACCOUNT_MARKER}. With
 * `keepPreviousKey`, the key current before this apply stays, re-rendered with the
 * new options and a short `expiry-time`.
 */
export function renderAccountApplyScript(args: TunnelAccountRenderArgs): string {
    const p = accountApplyParts(args);
    return renderScript(...p.libraries, p.variables, ...p.checksAndAccount, ...p.newKeys, SESSION_FUNCTIONS, p.keyFile);
}

/**
 * The account apply's sections: function libraries, variables, the checks and the
 * account, the new key file in a temporary file (with the rotation's previous key), and
 * the key file's install with its session sweep (which needs {@link SESSION_FUNCTIONS}
 * defined before it).
 */
function accountApplyParts(args: TunnelAccountRenderArgs): { libraries: string[]; variables: string; checksAndAccount: string[]; newKeys: string[]; keyFile: string } {
    const keys = renderAuthorizedKeys(args);
    const options = renderKeyOptions(args);
    const gecos = accountGecos(args);
    const owned = args.owner !== undefined;
    return {
        libraries: owned ? [OWNERSHIP_FUNCTIONS, PORT_FUNCTIONS] : [],
        variables: `rst_user=${shQuote(args.user)}
rst_gecos=${shQuote(gecos)}
rst_keys_dir=${shQuote(AUTHORIZED_KEYS_DIR)}
rst_keys_file=${shQuote(authorizedKeysPath(args.user))}
rst_sweep_pending="$rst_state_dir/sweep-pending-$rst_user"
rst_keys_text=${fileWord(keys)}${owned ? `\n${ownershipVariables({ owner: args.owner!, adopt: args.adopt === true })}\n${accountOwnershipVariables(args)}` : ""}${
            args.keepPreviousKey
                ? `
rst_options=${shQuote(options)}
rst_previous_comment=${shQuote(PREVIOUS_KEY_COMMENT)}
rst_overlap_minutes=${ROTATION_OVERLAP_MINUTES}`
                : ""
        }`,
        checksAndAccount: [
            String.raw`rst_lock accounts`,
            ...(owned ? [ACCOUNT_OWNERSHIP_CHECK] : []),
            String.raw`rst_nologin=$(rst_nologin_shell)
rst_ensure_account "$rst_user" "$rst_gecos" "choose another tunnel user name"
rst_getent_fields rst_fields passwd "$rst_user"
[ "${"$"}{rst_fields[6]:-}" = "$rst_nologin" ] || { usermod --shell "$rst_nologin" "$rst_user"; rst_changed=1; }
[ "${"$"}{rst_fields[4]:-}" = "$rst_gecos" ] || { usermod --comment "$rst_gecos" "$rst_user"; rst_changed=1; }
rst_getent_fields rst_fields shadow "$rst_user"
# '*': no password can ever match, yet the account is not "locked" (which would block keys when UsePAM is off).
[ "${"$"}{rst_fields[1]:-}" = '*' ] || { usermod --password '*' "$rst_user"; rst_changed=1; }
# An earlier revocation expires the account; an apply makes it usable again.
[ -z "${"$"}{rst_fields[7]:-}" ] || { usermod --expiredate '' "$rst_user"; rst_changed=1; }
rst_groups=$(id -nG "$rst_user")
[ "$rst_groups" = "$(id -ng "$rst_user")" ] || { usermod --groups '' "$rst_user"; rst_changed=1; }
rst_install_dir /etc/ssh/reverse-ssh-tunnel 755 root root
rst_install_dir "$rst_keys_dir" 755 root root`,
        ],
        newKeys: [
            String.raw`rst_keys_new=""
rst_mktemp rst_keys_new`,
            String.raw`printf '%s\n' "$rst_keys_text" >"$rst_keys_new"`,
            args.keepPreviousKey
                ? bash`# The rotation overlap: only the key that was current until now (the first key
# line) stays, with today's options and an expiry; a pending overlap line is kept
# with its own expiry when this apply runs again.
rst_new_key=$(awk '!/^#/ && NF >= 3 { print $2, $3; exit }' "$rst_keys_new")
if [ -f "$rst_keys_file" ]; then
    rst_prev_key=$(awk '!/^#/ && NF >= 3 { print $2, $3; exit }' "$rst_keys_file")
    rst_prev_line=$(awk -v c="$rst_previous_comment" '!/^#/ && $NF == c { print; exit }' "$rst_keys_file")
    rst_prev_expiry=""
    if [ -n "$rst_prev_key" ] && [ "$rst_prev_key" != "$rst_new_key" ]; then
        rst_prev_expiry=$(date -u -d "+$rst_overlap_minutes minutes" +%Y%m%d%H%MZ)
    elif [ -n "$rst_prev_line" ]; then
        rst_prev_key=$(printf '%s\n' "$rst_prev_line" | awk '{ print $2, $3 }')
        rst_prev_expiry=$(printf '%s\n' "$rst_prev_line" | grep -o 'expiry-time="[0-9]*Z"' | tail -n 1 | cut -d'"' -f2 || true)
        # An overlap that has ended is dropped: the file then changes, and the sweep
        # below ends the sessions that key still holds (sshd checks expiry-time only at login).
        if [[ ! "$rst_prev_expiry" > "$(date -u +%Y%m%d%H%MZ)" ]]; then rst_prev_expiry=""; fi
    fi
    if [ -n "$rst_prev_expiry" ] && [ "$rst_prev_key" != "$rst_new_key" ]; then
        printf '%s,expiry-time="%s" %s %s\n' "$rst_options" "$rst_prev_expiry" "$rst_prev_key" "$rst_previous_comment" >>"$rst_keys_new"
        rst_note "previous key of $rst_user stays valid until $rst_prev_expiry (UTC) or until the backup has switched"
    fi
fi`
                : "",
        ],
        keyFile: String.raw`# What authorized each live session until now: the file as it was.
rst_keys_old=""
rst_mktemp rst_keys_old
if [ -f "$rst_keys_file" ]; then cat -- "$rst_keys_file" >"$rst_keys_old"; fi
rst_keys_changed=0
cmp -s -- "$rst_keys_old" "$rst_keys_new" || rst_keys_changed=1
# A run that changed the file and was cut off before its sweep (a dropped connection
# hangs the script up) left this marker: what authorized the sessions still alive is
# unknown, so every one of them ends this time (the tunnel reconnects).
rst_sweep_all=0
if [ -e "$rst_sweep_pending" ]; then
    rst_keys_changed=1 rst_sweep_all=1
    rst_note "an earlier apply for $rst_user was cut off before it ended the sessions of changed key lines: ending every session of $rst_user now"
fi
if [ "$rst_keys_changed" = 1 ]; then : >"$rst_sweep_pending"; fi
rst_install_file "$rst_keys_file" 644 root root <"$rst_keys_new"
if [ "$rst_changed" = 1 ]; then rst_note "tunnel account $rst_user ready"; fi
if [ "$rst_keys_changed" = 1 ]; then
    # The file is final: other backups' account changes need not wait for the sweep.
    rst_unlock
    # sshd checks a key line (the key, from=, expiry-time) only at login. A session
    # keeps running only when the very line that let it in is still in the file,
    # unchanged; every other session (removed or rotated key, narrowed from=, new
    # expiry, or a key sshd's record does not name) ends here and must log in again
    # under the new file, where sshd judges it.
    rst_keep=""
    rst_mktemp rst_keep
    [ "$rst_sweep_all" = 1 ] || rst_unchanged_fingerprints "$rst_keys_old" "$rst_keys_new" >"$rst_keep"
    rst_end_sessions "$rst_user" "$rst_keep"
    # A login that read the old file just before it was replaced may show up only now.
    sleep 0.5
    rst_end_sessions "$rst_user" "$rst_keep"
    rm -f -- "$rst_sweep_pending"
fi`,
    };
}

/**
 * The values of the ownership check of the account apply, which runs under the
 * accounts lock and before any change: the key file and the account must be ours or
 * adopted. An unmarked key file (written before ownership marks) is ours when its
 * current (first) key is our key:
 * only the stack holding the key pair has it. An unmarked account of ours is ours when
 * its GECOS is what we wrote before marks (marker and description) and its key file is
 * ours or absent. No other tunnel account's key file or sshd block may hold our ports.
 */
function accountOwnershipVariables(args: TunnelAccountRenderArgs): string {
    const key = parsePublicKey("publicKey", args.publicKey).line.split(" ").slice(0, 2).join(" ");
    return `rst_own_key=${shQuote(key)}
rst_own_legacy_gecos=${shQuote(accountGecos({ ...(args.description !== undefined ? { description: args.description } : {}) }))}
${portClaimVariable(args.listenPorts)}`;
}

/** The check itself: the same code for every tunnel (a call into main's script library). */
const ACCOUNT_OWNERSHIP_CHECK = bash`rst_own_found=$(rst_mark_of "$rst_keys_file")
if [ -n "$rst_own_found" ]; then
    rst_claim "the key file of $rst_user ($rst_keys_file)" "$rst_own_found"
elif [ -f "$rst_keys_file" ] && [ "$(awk '!/^#/ && NF >= 3 { print $2, $3; exit }' "$rst_keys_file")" != "$rst_own_key" ]; then
    rst_unmarked "the key file of $rst_user ($rst_keys_file)"
fi
rst_own_found=$(rst_gecos_owner "$rst_user")
if [ -n "$rst_own_found" ]; then
    rst_claim "the tunnel account $rst_user" "$rst_own_found"
elif [ "$(rst_account_state "$rst_user")" = ours ] && [ "$(getent passwd "$rst_user" | cut -d: -f5)" != "$rst_own_legacy_gecos" ]; then
    rst_unmarked "the tunnel account $rst_user"
fi
${PORT_CLAIM_CHECK}`;

/**
 * Shell functions that attribute this host's live sshd sessions of a tunnel account
 * to the key sshd accepted for them, and end the sessions whose key is not kept.
 *
 * Attribution uses sshd's own record only: the "Accepted publickey for USER from
 * ADDR port N ssh2: TYPE SHA256:FP" message that the session's privileged monitor
 * (the parent of the account's process) logs at login, matched on fields nobody
 * else can write: the journal's trusted `_PID` (the monitor) and `_UID` (root), this
 * boot (`-b`, `_BOOT_ID`), a time window around the monitor's start, and the whole
 * message anchored at both ends. Text a client chooses (an invalid user name, a
 * failed attempt's key) is in another process's record or another message and can
 * never satisfy it. Syslog's text files are not read: any local user can write a
 * line "sshd[PID]: Accepted publickey ..." there (`logger -t 'sshd[PID]'`), while
 * the journal's `_PID` and `_UID` come from the kernel. A session whose key cannot
 * be determined this way (no journal record) is treated as not kept.
 */
export const SESSION_FUNCTIONS = String.raw`rst_boot_id=$(tr -d '-' </proc/sys/kernel/random/boot_id)
rst_btime=$(awk '$1 == "btime" { print $2 }' /proc/stat)
rst_hz=$(getconf CLK_TCK)
# rst_proc_field PID N: field N of /proc/PID/stat (N >= 3; the command name, which
# may hold spaces, is skipped).
rst_proc_field() {
    local stat
    rst_read_line stat "/proc/$1/stat" || return 1
    # shellcheck disable=SC2086 # numbers only after the command name
    set -- $2 ${"$"}{stat##*) }
    shift "$(($1 - 2))"
    printf '%s\n' "$1"
}
# rst_start_usec PID: when PID started, in microseconds since the epoch (the
# kernel's boot time has 1 s resolution: callers allow 2 s of slack).
rst_start_usec() {
    local ticks
    ticks=$(rst_proc_field "$1" 22) || return 1
    printf '%s\n' "$((rst_btime * 1000000 + ticks * 1000000 / rst_hz))"
}
# rst_session_monitor PID: the privileged sshd monitor of the account's process PID
# (its parent: root, sshd or sshd-session, in this host's PID namespace), or nothing.
rst_session_monitor() {
    local ppid comm=""
    ppid=$(rst_proc_field "$1" 4) || return 0
    rst_read_line comm "/proc/$ppid/comm" || return 0
    case "$comm" in sshd | sshd-session) ;; *) return 0 ;; esac
    [ "$(awk '$1 == "Uid:" { print $2 }' "/proc/$ppid/status" 2>/dev/null)" = 0 ] || return 0
    [ "$(readlink "/proc/$ppid/ns/pid" 2>/dev/null)" = "$(readlink /proc/$$/ns/pid)" ] || return 0
    printf '%s\n' "$ppid"
}
# rst_accepted_fp USER MONITOR FROM_USEC TO_USEC: the key fingerprint of the one
# "Accepted publickey" record the monitor logged for USER in this boot and window.
# Two different keys, or none, print nothing.
rst_accepted_fp() {
    local user="$1" mon="$2" lo="$3" hi="$4" fps
    fps=$(journalctl -q --no-pager -b -o json _PID="$mon" --since "@$((lo / 1000000))" 2>/dev/null |
        awk -v pid="$mon" -v boot="$rst_boot_id" -v user="$user" -v lo="$lo" -v hi="$hi" '
            # A JSON string field of a safe charset; escaped or binary values never match.
            # (An unescaped quote after "{" or "," opens a key in valid JSON.)
            function field(name, re,    v) {
                if (!match($0, "[{,] *\"" name "\" *: *\"" re "\" *[,}]")) return ""
                v = substr($0, RSTART, RLENGTH)
                sub("^[{,] *\"" name "\" *: *\"", "", v)
                sub("\" *[,}]$", "", v)
                return v
            }
            {
                msg = field("MESSAGE", "Accepted publickey for " user " from [0-9A-Fa-f.:]+ port [0-9]+ ssh2: [A-Z0-9-]+ SHA256:[A-Za-z0-9+/]+")
                if (msg == "" || field("_PID", "[0-9]+") != pid || field("_UID", "[0-9]+") != "0" || field("_BOOT_ID", "[0-9a-f]+") != boot) next
                id = field("SYSLOG_IDENTIFIER", "[a-z-]+")
                if (id != "sshd" && id != "sshd-session") next
                t = field("__REALTIME_TIMESTAMP", "[0-9]+") + 0
                if (t < lo || t > hi) next
                n = split(msg, w, " ")
                print w[n]
            }' | sort -u)
    if [ "$(printf '%s' "$fps" | grep -c .)" = 1 ]; then printf '%s\n' "$fps"; fi
}
# rst_session_fp USER PID: the key sshd accepted for the session whose account
# process is PID, or nothing. A record the journal has not written yet (it logs
# asynchronously) is waited for while the session is young.
rst_session_fp() {
    local mon lo hi fp
    mon=$(rst_session_monitor "$2")
    [ -n "$mon" ] || return 0
    lo=$(rst_start_usec "$mon") || return 0
    hi=$(rst_start_usec "$2") || return 0
    lo=$((lo - 2000000))
    hi=$((hi + 10000000))
    for _ in $(seq 1 15); do
        fp=$(rst_accepted_fp "$1" "$mon" "$lo" "$hi")
        if [ -n "$fp" ] || [ "$(date +%s%6N)" -gt "$hi" ]; then break; fi
        sleep 0.2
    done
    printf '%s\n' "$fp"
}
# rst_unchanged_fingerprints OLD NEW: fingerprints of the keys whose line in NEW is
# byte for byte a line of OLD (same key, same options, same expiry).
rst_unchanged_fingerprints() {
    local keys
    keys=$(awk 'NR == FNR { old[$0] = 1; next } !/^#/ && NF >= 3 && ($0 in old) { print $2, $3 }' "$1" "$2")
    [ -n "$keys" ] || return 0
    printf '%s\n' "$keys" | ssh-keygen -l -E sha256 -f /dev/stdin | awk '{ print $2 }'
}
# rst_end_sessions USER KEEP: SIGKILLs every session of USER on this host (its
# process and the session's sshd monitor: the tunnel, its listeners and the TCP
# connection go) whose accepted key is not listed in the file KEEP.
rst_end_sessions() {
    local uid pid fp mon ended=""
    uid=$(id -u "$1" 2>/dev/null) || return 0
    for pid in $(rst_own_pids "$uid"); do
        fp=$(rst_session_fp "$1" "$pid")
        if [ -n "$fp" ] && grep -qxF -- "$fp" "$2"; then continue; fi
        mon=$(rst_session_monitor "$pid")
        # shellcheck disable=SC2086 # $mon: one PID or nothing
        kill -KILL "$pid" $mon 2>/dev/null || true
        ended="$ended $pid"
        rst_note "ended a session of $1 (pid $pid) that used ${"$"}{fp:-a key that the log of sshd does not name}: its key line changed or is gone"
    done
    for pid in $ended; do
        for _ in $(seq 1 50); do
            [ -d "/proc/$pid" ] || break
            sleep 0.1
        done
        [ ! -d "/proc/$pid" ] || rst_fail "a session of $1 on this host (pid $pid) survived SIGKILL for 5 s"
    done
}`;

/**
 * Renders the script that ends a rotation's overlap once the backup has switched:
 * exactly the current key(s) stay authorized; the apply's sweep ends the live
 * sessions whose key line was removed or changed (the previous key's, found by the
 * fingerprint sshd recorded for the session, see {@link SESSION_FUNCTIONS}); then
 * it waits up to 60 s for the backup's session with the current key.
 */
export function renderAccountFinalizeScript(args: TunnelAccountRenderArgs): string {
    const current = parsePublicKey("publicKey", args.publicKey);
    const p = accountApplyParts({ ...args, keepPreviousKey: false });
    return renderScript(
        ...p.libraries,
        p.variables,
        SESSION_FUNCTIONS,
        // A first up, or a rotation already finished: the key file holds exactly the
        // final keys, root's and unlinked, and no sweep is pending, so the apply would
        // change nothing (the account's own apply ran just before). Read under the
        // lock the apply takes.
        String.raw`rst_lock accounts`,
        ...p.newKeys,
        scriptFragment(String.raw`if [ -e "$rst_sweep_pending" ] || ! rst_in_place "$rst_keys_file" 644 root root "$rst_keys_new"; then`),
        ...p.checksAndAccount,
        p.keyFile,
        scriptFragment("fi"),
        `rst_current_fp=${shQuote(current.fingerprint)}
rst_wait_ports=(${args.listenPorts.join(" ")})`,
        bash`# The key file is final: the wait below needs no lock, and other backups' account
# changes on this main must not wait up to 60 s for this backup's reconnect.
rst_unlock
rst_uid=$(id -u "$rst_user")
# The tunnel is up when a session of the account with the current key holds a
# listener on each of its ports (the forwards ssh asked for: with
# ExitOnForwardFailure a refused one ends the session). The backup may still be
# reconnecting (a restart scheduled through the tunnel): wait up to 60 s.
rst_back=0
# Without ss (iproute2) the session alone is the sign.
rst_listeners=()
if command -v ss >/dev/null 2>&1; then rst_listeners=("$\{rst_wait_ports[@]}"); fi
for _ in $(seq 1 120); do
    rst_pids=$(rst_own_pids "$rst_uid")
    rst_listening=1
    for rst_port in "$\{rst_listeners[@]}"; do
        rst_holders=$(rst_port_pids "$rst_port")
        if [ -z "$rst_pids" ] || [ -z "$rst_holders" ] || ! grep -qxF -f <(printf '%s\n' "$rst_pids") <<<"$rst_holders"; then
            rst_listening=0
            break
        fi
    done
    if [ "$rst_listening" = 1 ]; then
        for rst_pid in $rst_pids; do
            if [ "$(rst_session_fp "$rst_user" "$rst_pid")" = "$rst_current_fp" ]; then rst_back=1; fi
        done
    fi
    [ "$rst_back" = 0 ] || break
    sleep 0.5
done
[ "$rst_back" = 1 ] || rst_fail "only the current key of $rst_user is authorized now, but the backup has not connected with it and opened its forwards (127.0.0.1 port $\{rst_wait_ports[*]}) within 60 s: check its unit (journalctl -u reverse-ssh-tunnel-<name>) on the backup. sshd's last lines on main for $rst_user:
$(journalctl -t sshd -t sshd-session -n 400 --no-pager -o short-iso 2>/dev/null | grep -F -- " $rst_user " | tail -n 5 || true)"`,
    );
}

/**
 * Renders the revocation script: the account is expired (no new login even if a key
 * were still found), its key file is deleted, every process of the account is
 * killed (that ends a live tunnel and closes its listeners), and the account is
 * removed. Safe to run again and on a host where nothing is left.
 */
export function renderAccountRevokeScript(args: Pick<TunnelAccountRenderArgs, "user" | "listenPorts" | "owner">): string {
    validateUserName("user", args.user);
    args.listenPorts.forEach((p, i) => validatePort(`listenPorts[${i}]`, p, 1024));
    const owned = args.owner !== undefined;
    return renderScript(
        ...(owned ? [OWNERSHIP_FUNCTIONS] : []),
        `rst_user=${shQuote(args.user)}
rst_keys_file=${shQuote(authorizedKeysPath(args.user))}
rst_ports=${shQuote(args.listenPorts.join(" "))}${owned ? `\n${ownershipVariables({ owner: args.owner! })}` : ""}`,
        bash`rst_lock accounts`,
        // Another owner's (adopted) account, key and live tunnel are never touched.
        ...(owned
            ? [
                  bash`if rst_held_by_other "the key file of $rst_user ($rst_keys_file)" "$(rst_mark_of "$rst_keys_file")" ||
    rst_held_by_other "the tunnel account $rst_user" "$(rst_gecos_owner "$rst_user")"; then
    exit 0
fi`,
              ]
            : []),
        bash`# Expired first: no new login even if a key were still found somewhere.
[ "$(rst_account_state "$rst_user")" != ours ] || usermod --expiredate 1 "$rst_user"
[ "$(rst_account_state "$rst_user")" != foreign ] || rst_note "account $rst_user exists but is not ours; leaving it alone"
rst_remove "$rst_keys_file"
# Directories go only once no other tunnel account uses them (rmdir of a non-empty one is a no-op).
rst_remove "$(dirname -- "$rst_keys_file")" /etc/ssh/reverse-ssh-tunnel
# The session processes of an sshd connection run as the user: killing them (on
# this host only, never a container's processes of the same UID) ends the live
# tunnel and closes its listeners.
rst_delete_account "$rst_user"
# The listener must be gone; one still held by an sshd session means the tunnel lives on.
for rst_port in $rst_ports; do
    for _ in $(seq 1 30); do
        rst_holders=$(rst_port_pids "$rst_port")
        rst_live=""
        for rst_pid in $rst_holders; do
            [ "$(readlink "/proc/$rst_pid/ns/pid" 2>/dev/null)" = "$(readlink /proc/$$/ns/pid)" ] || continue
            case "$(cat "/proc/$rst_pid/comm" 2>/dev/null)" in sshd*) rst_live="$rst_live $rst_pid" ;; esac
        done
        [ -n "$rst_live" ] || break
        sleep 0.1
    done
    if [ -n "$rst_live" ]; then
        rst_fail "port $rst_port on this host is still held by sshd (pid$rst_live) after revoking $rst_user; the tunnel may still be up: check 'ss -ltnp sport = :$rst_port'"
    fi
    if [ -n "$rst_holders" ]; then
        rst_note "port $rst_port is held by another program on this host (pid $(printf '%s' "$rst_holders" | tr '\n' ' ')), not by $rst_user"
    fi
done
if [ "$rst_changed" = 1 ]; then rst_note "tunnel account $rst_user revoked"; fi`,
    );
}
