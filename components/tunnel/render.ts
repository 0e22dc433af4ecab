import { OWNERSHIP_FUNCTIONS, ownerLine, ownershipVariables } from "../ownership/render";
import { bash, fileWord, renderScript, shQuote } from "../shell";
import { parseHostKeyList, validatePort, validateTunnelName, validateUserName } from "../validation";

/** Where main's client config for backup `name` is installed (Debian's ssh_config includes this dir). */
export function clientConfigPath(name: string): string {
    return `/etc/ssh/ssh_config.d/reverse-ssh-tunnel-${name}.conf`;
}

/** Inputs of {@link renderMainClientConfig}. */
export interface MainClientConfigArgs {
    /** Backup name; the host alias is `backup-<name>`. */
    readonly name: string;
    /** Main's loopback port of the backup's SSH forward. */
    readonly port: number;
    /** Account to log into on the backup. Default `root`. */
    readonly loginUser?: string;
    /** The backup's host keys (OpenSSH lines), read over the pinned provisioning connection. */
    readonly backupHostKeys: readonly string[];
    /**
     * Owner written into the installed file and checked before it is written (see
     * components/ownership). Default: none, no mark and no check (the ready-to-paste
     * `sshConfig` output; the renderers' own tests); ReverseTunnel's install gives one.
     */
    readonly owner?: string;
    /** Take over the file from another owner. Default false. */
    readonly adopt?: boolean;
}

/**
 * A self-contained `~/.ssh/config` block for main: `ssh backup-<name>` goes through
 * the tunnel and accepts only the backup's pinned host key (via KnownHostsCommand,
 * OpenSSH >= 8.5), so a process squatting the port cannot pose as the backup.
 */
export function renderMainClientConfig(args: MainClientConfigArgs): string {
    validateTunnelName("name", args.name);
    validatePort("port", args.port, 1024);
    const user = validateUserName("loginUser", args.loginUser ?? "root");
    const alias = `backup-${args.name}`;
    const keys = parseHostKeyList("backupHostKeys", args.backupHostKeys.join("\n"));
    // One echo prints every pinned key, one per line.
    const known = keys.map((k) => `${alias} ${k.line}`).join("\\n");
    return [
        `# reverse-ssh-tunnel: backup ${args.name} through its reverse tunnel. Managed by Pulumi.`,
        ...(args.owner !== undefined ? [ownerLine(args.owner)] : []),
        `Host ${alias}`,
        `    HostName 127.0.0.1`,
        `    Port ${args.port}`,
        `    User ${user}`,
        `    HostKeyAlias ${alias}`,
        `    UserKnownHostsFile /dev/null`,
        `    GlobalKnownHostsFile /dev/null`,
        `    KnownHostsCommand /usr/bin/printf "${known}\\n"`,
        `    StrictHostKeyChecking yes`,
        `    UpdateHostKeys no`,
        `    CheckHostIP no`,
        ``,
    ].join("\n");
}

/**
 * The `ssh -G` keywords that carry the pins of main's `Host backup-<name>` block: where
 * the connection goes and how the backup's host key is checked. ssh takes the first
 * value it reads for each, so an earlier `Host *` (in root's ~/.ssh/config, or an
 * ssh_config.d file sorting before ours) can override them silently.
 */
export const CLIENT_PIN_KEYWORDS = ["hostname", "port", "hostkeyalias", "userknownhostsfile", "globalknownhostsfile", "knownhostscommand", "stricthostkeychecking", "proxycommand", "proxyjump"] as const;

/**
 * Script that installs the block for every user of main (a drop-in of the client
 * config), then asks ssh itself whether root's `ssh backup-<name>` keeps the pins:
 * `ssh -G` on our file alone gives the intended values, `ssh -G` with the real
 * configuration the effective ones; any pinned keyword that differs is reported as a
 * warning with the config blocks ssh applied before ours (file:line, from `ssh -vvv -G`).
 */
export function renderClientConfigInstallScript(args: MainClientConfigArgs): string {
    const path = clientConfigPath(args.name);
    const owned = args.owner !== undefined;
    return renderScript(
        ...(owned ? [OWNERSHIP_FUNCTIONS] : []),
        `rst_path=${shQuote(path)}
rst_alias=${shQuote(`backup-${args.name}`)}
rst_pin_keywords=${shQuote(CLIENT_PIN_KEYWORDS.join(" "))}
rst_cc_text=${fileWord(renderMainClientConfig(args))}${owned ? `\n${ownershipVariables({ owner: args.owner!, adopt: args.adopt === true })}` : ""}`,
        // Two stacks' installs of one name are serialised, so one of them is refused.
        ...(owned
            ? [
                  bash`rst_lock client-config
# What identifies a file written before ownership marks as this tunnel's: its alias,
# port and pinned host keys (the rest is the same for every tunnel).
rst_own_ident=""
while IFS= read -r rst_line; do
    case "$rst_line" in "Host "* | "    Port "* | "    KnownHostsCommand "*) rst_own_ident+=$\{rst_own_ident:+$'\n'}$rst_line ;; esac
done <<<"$rst_cc_text"
rst_own_found=$(rst_mark_of "$rst_path")
if [ -n "$rst_own_found" ]; then
    rst_claim "main's client config for $rst_alias ($rst_path)" "$rst_own_found"
elif [ -f "$rst_path" ] && ! rst_has_lines "$rst_path" "$rst_own_ident"; then
    rst_unmarked "main's client config for $rst_alias ($rst_path)"
fi`,
              ]
            : []),
        String.raw`rst_install_dir /etc/ssh/ssh_config.d 755 root root`,
        String.raw`rst_install_file "$rst_path" 644 root root <<<"$rst_cc_text"`,
        String.raw`if ! grep -qiE '^[[:space:]]*Include[[:space:]]+(/etc/ssh/)?ssh_config\.d/\*\.conf' /etc/ssh/ssh_config 2>/dev/null; then
    rst_note "warning: /etc/ssh/ssh_config does not include ssh_config.d/*.conf; paste the block into ~/.ssh/config instead"
fi
# rst_pins [SSH OPTION...]: "keyword value" for each pinned keyword as ssh -G resolves
# the alias (ssh reads root's ~/.ssh/config from the password database, not $HOME).
rst_pins() {
    local out
    out=$(ssh -G "$@" -- "$rst_alias" </dev/null 2>/dev/null) || return 1
    printf '%s\n' "$out" | awk -v keys="$rst_pin_keywords" '
        BEGIN { n = split(keys, k, " "); for (i = 1; i <= n; i++) v[k[i]] = "none" }
        ($1 in v) { key = $1; sub(/^[^ ]+ /, ""); v[key] = $0 }
        END { for (i = 1; i <= n; i++) print k[i], v[k[i]] }'
}
if command -v ssh >/dev/null 2>&1; then
    rst_want=$(rst_pins -F "$rst_path") || rst_fail "ssh -G -F $rst_path $rst_alias failed: the installed block does not parse"
    rst_have=$(rst_pins) || rst_have=""
    if [ "$rst_have" != "$rst_want" ]; then
        rst_lost=$(printf '%s\n' "$rst_have" | awk 'NR == FNR { w[$1] = substr($0, length($1) + 2); next }
            ($1 in w) && substr($0, length($1) + 2) != w[$1] { printf "%s%s is %s (pinned: %s)", sep, $1, substr($0, length($1) + 2), w[$1]; sep = "; " }' <(printf '%s\n' "$rst_want") -)
        # What ssh applied before our block, as it reports it: Host/Match blocks with
        # file:line, and every file it read (options before a file's first Host line apply too).
        rst_before=$(ssh -vvv -G -- "$rst_alias" </dev/null 2>&1 >/dev/null | awk -v ours="$rst_path" '
            done { next }
            /Reading configuration data / { f = $NF; if (f == ours) { done = 1; next } read = read sep0 f; sep0 = ", "; next }
            / line [0-9]+: Applying options for / { sub(/^debug[0-9]: /, ""); if (index($0, ours " line ") == 1) { done = 1; next } blocks = blocks sep1 $0; sep1 = "; " }
            END { printf "%s", (blocks != "" ? blocks : "no Host or Match block") "; files read before it: " read }' || true)
        rst_note "warning: as root, 'ssh $rst_alias' does not keep the pins of $rst_path: ${"$"}{rst_lost:-ssh -G failed}. Set before it by: $rst_before. Remove or narrow that setting (e.g. Host * -> Host !backup-* *), or the backup's host key is not checked as pinned"
    fi
fi`,
    );
}

/** Script that removes the client drop-in; one marked by another owner (adopted) stays. */
export function renderClientConfigRemoveScript(name: string, owner?: string): string {
    validateTunnelName("name", name);
    if (owner === undefined) return renderScript(`rst_remove ${shQuote(clientConfigPath(name))}`);
    return renderScript(
        OWNERSHIP_FUNCTIONS,
        `rst_path=${shQuote(clientConfigPath(name))}
${ownershipVariables({ owner })}`,
        bash`rst_lock client-config
rst_held_by_other "main's client config for backup-${name} ($rst_path)" "$(rst_mark_of "$rst_path")" || rst_remove "$rst_path"`,
    );
}

/** Script that prints the host's public host keys (read-only). */
export function renderReadHostKeysScript(): string {
    return renderScript(READ_HOST_KEYS);
}

/** Where a Debian host keeps its public host keys, strongest first (a shell word list). */
export const HOST_KEY_FILES = "/etc/ssh/ssh_host_ed25519_key.pub /etc/ssh/ssh_host_ecdsa_key.pub /etc/ssh/ssh_host_rsa_key.pub";

/** Prints the host's public host keys, one per line (`type base64`). */
const READ_HOST_KEYS = String.raw`found=0
for f in ${HOST_KEY_FILES}; do
    if [ -r "$f" ]; then
        cut -d' ' -f1,2 <"$f"
        found=1
    fi
done
[ "$found" = 1 ] || rst_fail "no readable host keys in /etc/ssh"`;
