import { OWNER_MARK_FUNCTIONS } from "../ownership/render";
import { bash, heredoc, renderScript, shQuote } from "../shell";

/** Where the health command is installed on main. */
export const HEALTH_COMMAND_PATH = "/usr/local/sbin/reverse-ssh-tunnel-health";

/** main's client entry of every tunnel, whichever stack installed it (see `clientConfigPath`). */
const CLIENT_ENTRIES = "/etc/ssh/ssh_config.d/reverse-ssh-tunnel-*.conf";

/**
 * The health command for main. For every tunnel whose client entry is installed
 * (`/etc/ssh/ssh_config.d/reverse-ssh-tunnel-*.conf`) it checks that the listener is
 * up and that ssh through it reaches a host presenting the backup's pinned key (it
 * stops at authentication, so it needs no credentials). Exit 0 when all are up, 1
 * when one is not, 2 when none is configured: usable from cron and monitoring.
 * `--json` prints one JSON object per line.
 */
export function renderHealthCommand(): string {
    return String.raw`#!/bin/bash
# reverse-ssh-tunnel-health: state of every reverse tunnel into this host. Managed by Pulumi.
set -u
export LC_ALL=C
json=0
[ "${"$"}{1:-}" = --json ] && json=1
status=0
found=0
[ "$json" = 1 ] || printf '%-24s %-6s %-9s %s\n' BACKUP PORT LISTENER SSH
for conf in ${CLIENT_ENTRIES}; do
    [ -e "$conf" ] || continue
    found=1
    name=$(awk '$1 == "Host" { print $2; exit }' "$conf")
    port=$(awk '$1 == "Port" { print $2; exit }' "$conf")
    if ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then listener=up; else listener=down; fi
    ssh_state=down
    if [ "$listener" = up ]; then
        # Host key checked against the pin, then no authentication method is offered.
        err=$(ssh -F "$conf" -o BatchMode=yes -o ConnectTimeout=5 -o PreferredAuthentications=none \
            -o PubkeyAuthentication=no -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no \
            "$name" true 2>&1 </dev/null)
        case "$err" in
        *"Permission denied"*) ssh_state=ok ;;
        *"Host key verification failed"* | *"REMOTE HOST IDENTIFICATION HAS CHANGED"*) ssh_state=wrong-host-key ;;
        *) ssh_state=unreachable ;;
        esac
    fi
    [ "$ssh_state" = ok ] || status=1
    if [ "$json" = 1 ]; then
        printf '{"backup":"%s","port":%s,"listener":"%s","ssh":"%s"}\n' "$name" "$port" "$listener" "$ssh_state"
    else
        printf '%-24s %-6s %-9s %s\n' "$name" "$port" "$listener" "$ssh_state"
    fi
done
if [ "$found" = 0 ]; then
    echo "no reverse-ssh-tunnel backups configured on this host" >&2
    exit 2
fi
exit "$status"
`;
}

/** Script that installs the health command. */
export function renderHealthInstallScript(): string {
    return renderScript(
        `rst_path=${shQuote(HEALTH_COMMAND_PATH)}`,
        String.raw`rst_install_dir /usr/local/sbin 755 root root`,
        heredoc(`rst_install_file "$rst_path" 755 root root`, renderHealthCommand()),
    );
}

/**
 * Script that removes the health command, unless tunnels of other stacks remain on main:
 * several stacks (a fleet split into stacks, or teams) share one main and one health
 * command. `stack` is the removing stack's owner prefix (`ORG/PROJECT/STACK/`, see
 * components/ownership): entries it marks are this stack's own, which its destroy removes
 * in the same run (the health command goes first, as it depends on the tunnels), so they
 * do not keep it; unmarked entries and other stacks' do. Without `stack` every entry keeps it.
 */
export function renderHealthRemoveScript(stack = ""): string {
    return renderScript(
        OWNER_MARK_FUNCTIONS,
        `rst_path=${shQuote(HEALTH_COMMAND_PATH)}
rst_stack=${shQuote(stack)}`,
        bash`rst_remaining=0
rst_own=0
for rst_entry in ${CLIENT_ENTRIES}; do
    [ -e "$rst_entry" ] || continue
    rst_mark=$(rst_mark_of "$rst_entry")
    if [ -n "$rst_stack" ] && [ "$\{rst_mark#"$rst_stack"}" != "$rst_mark" ]; then
        rst_own=$((rst_own + 1))
    else
        rst_remaining=$((rst_remaining + 1))
    fi
done
if [ "$rst_remaining" -gt 0 ]; then
    rst_note "kept $rst_path: $rst_remaining tunnel(s) into this host remain (another stack's?)"
else
    rst_remove "$rst_path"
    [ "$rst_own" = 0 ] || rst_note "removed $rst_path: the $rst_own tunnel(s) left on this host are this stack's, which this destroy removes"
fi`,
    );
}
