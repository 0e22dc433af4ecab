import { ACCOUNT_MARKER, bash, heredoc, renderScript, shQuote } from "../shell";
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
}

/** The authorized-keys file content: one restricted line per key. */
export function renderAuthorizedKeys(args: TunnelAccountRenderArgs): string {
    const options = renderKeyOptions(args);
    const keys = [args.publicKey, ...(args.additionalPublicKeys ?? [])].map((k, i) => parsePublicKey(`publicKey[${i}]`, k));
    return [
        `# reverse-ssh-tunnel: keys of tunnel account ${args.user}. Managed by Pulumi; root-owned so the`,
        `# account cannot loosen its own restrictions.`,
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
    const keys = renderAuthorizedKeys(args);
    const options = renderKeyOptions(args);
    const gecos = `${ACCOUNT_MARKER}${args.description ? ` ${args.description}` : ""}`;
    return renderScript(
        `rst_user=${shQuote(args.user)}
rst_gecos=${shQuote(gecos)}
rst_keys_dir=${shQuote(AUTHORIZED_KEYS_DIR)}
rst_keys_file=${shQuote(authorizedKeysPath(args.user))}${
            args.keepPreviousKey
                ? `
rst_options=${shQuote(options)}
rst_previous_comment=${shQuote(PREVIOUS_KEY_COMMENT)}
rst_overlap_minutes=${ROTATION_OVERLAP_MINUTES}`
                : ""
        }`,
        String.raw`rst_lock accounts
rst_nologin=$(rst_nologin_shell)
rst_ensure_account "$rst_user" "$rst_gecos" "choose another tunnel user name"
rst_entry=$(getent passwd "$rst_user")
[ "$(printf '%s' "$rst_entry" | cut -d: -f7)" = "$rst_nologin" ] || { usermod --shell "$rst_nologin" "$rst_user"; rst_changed=1; }
[ "$(printf '%s' "$rst_entry" | cut -d: -f5)" = "$rst_gecos" ] || { usermod --comment "$rst_gecos" "$rst_user"; rst_changed=1; }
rst_shadow=$(getent shadow "$rst_user")
# '*': no password can ever match, yet the account is not "locked" (which would block keys when UsePAM is off).
[ "$(printf '%s' "$rst_shadow" | cut -d: -f2)" = '*' ] || { usermod --password '*' "$rst_user"; rst_changed=1; }
# An earlier revocation expires the account; an apply makes it usable again.
[ -z "$(printf '%s' "$rst_shadow" | cut -d: -f8)" ] || { usermod --expiredate '' "$rst_user"; rst_changed=1; }
rst_groups=$(id -nG "$rst_user")
[ "$rst_groups" = "$(id -ng "$rst_user")" ] || { usermod --groups '' "$rst_user"; rst_changed=1; }
rst_install_dir /etc/ssh/reverse-ssh-tunnel 755 root root
rst_install_dir "$rst_keys_dir" 755 root root
rst_keys_new=""
rst_mktemp rst_keys_new`,
        heredoc(`cat >"$rst_keys_new"`, keys),
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
        rst_prev_expiry=$(printf '%s\n' "$rst_prev_line" | grep -o 'expiry-time="[0-9]*Z"' | tail -n 1 | cut -d'"' -f2)
    fi
    if [ -n "$rst_prev_expiry" ] && [ "$rst_prev_key" != "$rst_new_key" ]; then
        printf '%s,expiry-time="%s" %s %s\n' "$rst_options" "$rst_prev_expiry" "$rst_prev_key" "$rst_previous_comment" >>"$rst_keys_new"
        rst_note "previous key of $rst_user stays valid until $rst_prev_expiry (UTC) or until the backup has switched"
    fi
fi`
            : "",
        String.raw`rst_install_file "$rst_keys_file" 644 root root <"$rst_keys_new"
if [ "$rst_changed" = 1 ]; then rst_note "tunnel account $rst_user ready"; fi`,
    );
}

/**
 * Renders the script that ends a rotation's overlap once the backup has switched:
 * exactly the current key stays authorized, and live sessions that authenticated
 * with any other key (found by the fingerprint sshd logged for the session) are
 * killed. A session whose key cannot be determined is killed too; the backup's
 * own tunnel reconnects within seconds.
 */
export function renderAccountFinalizeScript(args: TunnelAccountRenderArgs): string {
    const current = parsePublicKey("publicKey", args.publicKey);
    return [
        renderAccountApplyScript({ ...args, keepPreviousKey: false }).trimEnd(),
        bash`# The key file is final: the wait below needs no lock, and other backups' account
# changes on this main must not wait up to 60 s for this backup's reconnect.
rst_unlock
rst_current_fp=${shQuote(current.fingerprint)}
rst_uid=$(id -u "$rst_user")
# rst_session_fp PID: the key fingerprint sshd logged when the session of PID (the
# account's sshd process; its parent is the privileged monitor that logs) logged in.
rst_session_fp() {
    local ppid
    ppid=$(ps -o ppid= -p "$1" | tr -d ' ')
    [ -n "$ppid" ] || return 0
    { journalctl -q --no-pager -o cat _PID="$ppid" 2>/dev/null; grep -h "sshd[^ ]*\[$ppid\]" /var/log/auth.log 2>/dev/null; } |
        grep -o 'Accepted publickey for .* SHA256:[A-Za-z0-9+/=]*' | grep -o 'SHA256:[A-Za-z0-9+/=]*' | tail -n 1 || true
}
# The backup may still be reconnecting (a restart scheduled through the tunnel):
# wait up to 60 s for a session with the current key.
rst_back=0
for _ in $(seq 1 120); do
    for rst_pid in $(rst_own_pids "$rst_uid"); do
        if [ "$(rst_session_fp "$rst_pid")" = "$rst_current_fp" ]; then rst_back=1; fi
    done
    [ "$rst_back" = 0 ] || break
    sleep 0.5
done
for rst_pid in $(rst_own_pids "$rst_uid"); do
    rst_fp=$(rst_session_fp "$rst_pid")
    if [ "$rst_fp" != "$rst_current_fp" ]; then
        kill -KILL "$rst_pid" 2>/dev/null || true
        rst_note "ended a session of $rst_user that used $\{rst_fp:-an unknown key} (not the current key)"
    fi
done
[ "$rst_back" = 1 ] || rst_fail "only the current key of $rst_user is authorized now, but the backup has not connected with it within 60 s: check its unit (journalctl -u reverse-ssh-tunnel-<name>) on the backup"`,
    ].join("\n\n") + "\n";
}

/**
 * Renders the revocation script: the account is expired (no new login even if a key
 * were still found), its key file is deleted, every process of the account is
 * killed (that ends a live tunnel and closes its listeners), and the account is
 * removed. Safe to run again and on a host where nothing is left.
 */
export function renderAccountRevokeScript(args: Pick<TunnelAccountRenderArgs, "user" | "listenPorts">): string {
    validateUserName("user", args.user);
    args.listenPorts.forEach((p, i) => validatePort(`listenPorts[${i}]`, p, 1024));
    return renderScript(
        `rst_user=${shQuote(args.user)}
rst_keys_file=${shQuote(authorizedKeysPath(args.user))}
rst_ports=${shQuote(args.listenPorts.join(" "))}`,
        bash`rst_lock accounts
# Expired first: no new login even if a key were still found somewhere.
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
        rst_holders=$(ss -Hltnp "sport = :$rst_port" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u || true)
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
