import { ACCOUNT_MARKER, heredoc, renderScript, shQuote } from "../shell";
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
     * Extra public keys kept authorized with the same restrictions, e.g. the previous
     * key during a rotation. Default none.
     */
    readonly additionalPublicKeys?: readonly string[];
    /** Last day the key is accepted, `YYYYMMDD` (sshd `expiry-time`). Default: no expiry. */
    readonly expiry?: string;
    /**
     * Source addresses the key is accepted from (sshd `from=` patterns). Default: any,
     * because a backup behind a consumer NAT rarely has a fixed address.
     */
    readonly allowedSources?: readonly string[];
    /** Free-text label for the GECOS field, e.g. the backup's name. Default: none. */
    readonly description?: string;
    /**
     * Keep key lines already in the file next to the new ones (a rotation's overlap:
     * the backup still holds the old key until it switches). Default false: the file
     * holds exactly the given keys.
     */
    readonly keepExistingKeys?: boolean;
}

/** Path of the root-owned authorized-keys file for `user`. */
export function authorizedKeysPath(user: string): string {
    return `${AUTHORIZED_KEYS_DIR}/${user}`;
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
    opts.push(`command="${FORCED_COMMAND}"`);
    if (args.expiry !== undefined) {
        opts.push(`expiry-time="${args.expiry}"`);
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
    if (args.expiry !== undefined && !/^\d{8}$/.test(args.expiry)) {
        throw new ConfigError("expiry", `invalid date ${JSON.stringify(args.expiry)}: use YYYYMMDD`);
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
 * existing account is adopted only when it carries {@link ACCOUNT_MARKER}.
 */
export function renderAccountApplyScript(args: TunnelAccountRenderArgs): string {
    const keys = renderAuthorizedKeys(args);
    const gecos = `${ACCOUNT_MARKER}${args.description ? ` ${args.description}` : ""}`;
    return renderScript(
        `rst_user=${shQuote(args.user)}
rst_gecos=${shQuote(gecos)}
rst_keys_dir=${shQuote(AUTHORIZED_KEYS_DIR)}
rst_keys_file=${shQuote(authorizedKeysPath(args.user))}`,
        String.raw`rst_lock
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
rst_install_dir "$rst_keys_dir" 755 root root`,
        heredoc(`rst_keys_new=$(mktemp) && cat >"$rst_keys_new"`, keys),
        args.keepExistingKeys
            ? String.raw`if [ -f "$rst_keys_file" ]; then
    # Lines of keys not given now (e.g. the key being rotated out) stay until the next exact apply.
    rst_keys_kept=$(mktemp)
    grep -v '^#' -- "$rst_keys_file" | grep -vxF -f "$rst_keys_new" >"$rst_keys_kept" || true
    cat -- "$rst_keys_kept" >>"$rst_keys_new"
    rm -f -- "$rst_keys_kept"
fi`
            : "",
        String.raw`rst_install_file "$rst_keys_file" 644 root root <"$rst_keys_new"
rm -f -- "$rst_keys_new"
if [ "$rst_changed" = 1 ]; then rst_note "tunnel account $rst_user ready"; fi`,
    );
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
        String.raw`rst_lock
# Expired first: no new login even if a key were still found somewhere.
[ "$(rst_account_state "$rst_user")" != ours ] || usermod --expiredate 1 "$rst_user"
[ "$(rst_account_state "$rst_user")" != foreign ] || rst_note "account $rst_user exists but is not ours; leaving it alone"
rst_remove "$rst_keys_file"
# Directories go only once no other tunnel account uses them (rmdir of a non-empty one is a no-op).
rst_remove "$(dirname -- "$rst_keys_file")" /etc/ssh/reverse-ssh-tunnel
# The session processes of an sshd connection run as the user: killing them ends the
# live tunnel even though sshd's privileged monitor runs as root.
rst_delete_account "$rst_user"
for rst_port in $rst_ports; do
    if command -v ss >/dev/null 2>&1 && [ -n "$(ss -Hltn "sport = :$rst_port" 2>/dev/null)" ]; then
        rst_note "port $rst_port is still listening on this host (not by $rst_user, which is gone)"
    fi
done
if [ "$rst_changed" = 1 ]; then rst_note "tunnel account $rst_user revoked"; fi`,
    );
}
