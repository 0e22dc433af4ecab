import { heredoc, renderScript, shQuote } from "../shell";
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
    /** Account to log into on the backup. Default `pi`. */
    readonly loginUser?: string;
    /** The backup's host keys (OpenSSH lines), read over the pinned provisioning connection. */
    readonly backupHostKeys: readonly string[];
}

/**
 * A self-contained `~/.ssh/config` block for main: `ssh backup-<name>` goes through
 * the tunnel and accepts only the backup's pinned host key (via KnownHostsCommand,
 * OpenSSH >= 8.5), so a process squatting the port cannot pose as the backup.
 */
export function renderMainClientConfig(args: MainClientConfigArgs): string {
    validateTunnelName("name", args.name);
    validatePort("port", args.port, 1024);
    const user = validateUserName("loginUser", args.loginUser ?? "pi");
    const alias = `backup-${args.name}`;
    const keys = parseHostKeyList("backupHostKeys", args.backupHostKeys.join("\n"));
    // One echo prints every pinned key, one per line.
    const known = keys.map((k) => `${alias} ${k.line}`).join("\\n");
    return [
        `# reverse-ssh-tunnel: backup ${args.name} through its reverse tunnel. Managed by Pulumi.`,
        `Host ${alias}`,
        `    HostName localhost`,
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

/** Script that installs the block for every user of main (a drop-in of the client config). */
export function renderClientConfigInstallScript(args: MainClientConfigArgs): string {
    const path = clientConfigPath(args.name);
    return renderScript(
        `rst_path=${shQuote(path)}`,
        String.raw`rst_install_dir /etc/ssh/ssh_config.d 755 root root`,
        heredoc(`rst_install_file "$rst_path" 644 root root`, renderMainClientConfig(args)),
        String.raw`if ! grep -qiE '^[[:space:]]*Include[[:space:]]+(/etc/ssh/)?ssh_config\.d/\*\.conf' /etc/ssh/ssh_config 2>/dev/null; then
    rst_note "warning: /etc/ssh/ssh_config does not include ssh_config.d/*.conf; paste the block into ~/.ssh/config instead"
fi`,
    );
}

/** Script that removes the client drop-in. */
export function renderClientConfigRemoveScript(name: string): string {
    validateTunnelName("name", name);
    return renderScript(`rst_remove ${shQuote(clientConfigPath(name))}`);
}

/** Script that prints the host's public host keys (read-only). */
export function renderReadHostKeysScript(): string {
    return renderScript(String.raw`found=0
for f in /etc/ssh/ssh_host_ed25519_key.pub /etc/ssh/ssh_host_ecdsa_key.pub /etc/ssh/ssh_host_rsa_key.pub; do
    if [ -r "$f" ]; then
        cut -d' ' -f1,2 <"$f"
        found=1
    fi
done
[ "$found" = 1 ] || rst_fail "no readable host keys in /etc/ssh"`);
}
