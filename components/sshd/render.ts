import { heredoc, renderScript, shQuote } from "../shell";
import { validatePort, validateUserName } from "../validation";
import { SSHD_FUNCTIONS } from "./functions";
import { REQUIRED_UNSET, tunnelPolicy, TunnelPolicyArgs } from "./policy";

/**
 * Where the Match block goes.
 * - `auto` (default): a drop-in when sshd_config includes `sshd_config.d/*.conf`
 *   before its first `Match`, otherwise a managed block at the end of sshd_config.
 * - `dropin`: always a drop-in; fails when sshd would not read it.
 * - `managed-block`: always a marked block at the end of sshd_config.
 */
export type SshdPlacement = "auto" | "dropin" | "managed-block";

/** Inputs of the sshd renderers. */
export interface SshdMatchBlockRenderArgs extends TunnelPolicyArgs {
    /** Placement of the block. Default `auto`. */
    readonly placement?: SshdPlacement;
    /** Label written into the block's header, e.g. the backup's name. Default: the user. */
    readonly description?: string;
}

/** Path of the drop-in for `user`. `00-` so that it is read before ordinary drop-ins. */
export function dropinPath(user: string): string {
    return `/etc/ssh/sshd_config.d/00-reverse-ssh-tunnel-${user}.conf`;
}

/** The marker lines around a managed block in sshd_config. */
export function managedBlockMarkers(user: string): { begin: string; end: string } {
    return {
        begin: `# BEGIN reverse-ssh-tunnel ${user} (managed by Pulumi; do not edit)`,
        end: `# END reverse-ssh-tunnel ${user}`,
    };
}

function checkArgs(args: SshdMatchBlockRenderArgs): void {
    validateUserName("user", args.user);
    if (args.listenPorts.length === 0) {
        throw new Error("listenPorts: at least one port is required");
    }
    args.listenPorts.forEach((p, i) => validatePort(`listenPorts[${i}]`, p, 1024));
    if (args.description !== undefined && /[\r\n]/.test(args.description)) {
        throw new Error("description: must be a single line");
    }
}

/** Renders the `Match User` block (without markers). */
export function renderMatchBlock(args: SshdMatchBlockRenderArgs): string {
    checkArgs(args);
    const lines = [
        `# reverse-ssh-tunnel: tunnel-only account ${args.user}${args.description ? ` (${args.description})` : ""}.`,
        `# Managed by Pulumi; local edits are overwritten.`,
        `Match User ${args.user}`,
        ...tunnelPolicy(args).map((s) => `    ${s.keyword} ${s.value}`),
    ];
    return `${lines.join("\n")}\n`;
}

/** `key value` pairs the apply script checks in `sshd -T` output (values' words sorted). */
export function expectedEffectiveSettings(args: SshdMatchBlockRenderArgs): Array<[string, string]> {
    return tunnelPolicy(args)
        .filter((s) => s.effective !== undefined)
        .map((s) => [s.keyword.toLowerCase(), (s.effective as string).split(" ").sort().join(" ")]);
}

function renderVerification(args: SshdMatchBlockRenderArgs): string {
    const expected = expectedEffectiveSettings(args)
        .map(([k, v]) => `${k} ${v}`)
        .join("\n");
    const unset = REQUIRED_UNSET.map((r) => `${r.keyword.toLowerCase()} ${r.effective} ${r.why}`).join("\n");
    return String.raw`# The effective values for this user must be exactly the policy's; anything else
# means another part of the configuration wins (an earlier Match, a global veto).
rst_dump=""
if ! rst_dump=$(rst_effective "$rst_user"); then
    rst_restore
    rst_fail "sshd -T could not evaluate the configuration for $rst_user; previous files restored: $rst_dump"
fi
rst_problems=""
while read -r rst_key rst_want; do
    rst_have=$(rst_effective_value "$rst_dump" "$rst_key")
    if [ "$rst_have" != "$rst_want" ]; then
        rst_problems="$rst_problems
  - $rst_key is '$rst_have' for $rst_user, the tunnel policy needs '$rst_want'; set at:
$(rst_where "$rst_key" | sed 's/^/      /')"
    fi
done <<'RST_EXPECTED'
${expected}
RST_EXPECTED
while read -r rst_key rst_want rst_why; do
    rst_have=$(rst_effective_value "$rst_dump" "$rst_key")
    if [ "$rst_have" != "<unset>" ] && [ "$rst_have" != "$rst_want" ]; then
        rst_problems="$rst_problems
  - $rst_key is '$rst_have': $rst_why; set at:
$(rst_where "$rst_key" | sed 's/^/      /')"
    fi
done <<'RST_UNSET'
${unset}
RST_UNSET
if [ -n "$rst_problems" ]; then
    rst_restore
    rst_fail "sshd's effective settings for $rst_user conflict with the tunnel policy, so the previous files were restored and sshd was not reloaded.$rst_problems
  Match blocks sshd reads (the first matching one wins per keyword, before ours if listed earlier):
$(rst_config_files | while IFS= read -r f; do grep -H -n -i -E '^[[:space:]]*Match[[:space:]]' -- "$f" || true; done | sed 's/^/      /')"
fi`;
}

/**
 * Renders the script that installs or updates the Match block: under a host-wide
 * lock it writes the block, validates with `sshd -t`, checks `sshd -T -C user=...`
 * against the policy, and reloads sshd only when all passed and something changed.
 * On any failure every touched file is restored and sshd keeps its old config.
 */
export function renderSshdApplyScript(args: SshdMatchBlockRenderArgs): string {
    checkArgs(args);
    const placement = args.placement ?? "auto";
    const { begin, end } = managedBlockMarkers(args.user);
    const block = renderMatchBlock(args);
    // `Match all` ends our block, so lines an admin appends later stay global in effect.
    const managed = `${begin}\n${block}Match all\n${end}\n`;
    return renderScript(
        `rst_user=${shQuote(args.user)}
rst_placement=${shQuote(placement)}
rst_dropin=${shQuote(dropinPath(args.user))}
rst_begin=${shQuote(begin)}
rst_end=${shQuote(end)}`,
        SSHD_FUNCTIONS,
        String.raw`rst_lock
[ -f "$rst_main_config" ] || rst_fail "$rst_main_config does not exist"
case "$rst_placement" in
auto) if rst_includes_dropins; then rst_mode=dropin; else rst_mode=managed-block; fi ;;
dropin)
    rst_includes_dropins || rst_fail "placement 'dropin' was asked for, but $rst_main_config has no 'Include $rst_dropin_dir/*.conf' before its first Match, so sshd would ignore the drop-in; add the Include at the top or use placement 'managed-block'"
    rst_mode=dropin
    ;;
*) rst_mode=managed-block ;;
esac
rst_backup "$rst_main_config" "$rst_dropin"
rst_main_mode=$(stat -c '%a' -- "$rst_main_config")
rst_main_owner=$(stat -c '%U' -- "$rst_main_config")
rst_main_group=$(stat -c '%G' -- "$rst_main_config")
rst_stripped=$(mktemp)
rst_strip_block "$rst_main_config" "$rst_begin" "$rst_end" >"$rst_stripped"`,
        `if [ "$rst_mode" = dropin ]; then
    rst_install_file "$rst_main_config" "$rst_main_mode" "$rst_main_owner" "$rst_main_group" <"$rst_stripped"
    rst_install_dir "$rst_dropin_dir" 755 root root
    ${heredoc(`rst_install_file "$rst_dropin" 644 root root`, block)}
else
    rst_remove "$rst_dropin"
    # Not a pipeline: rst_install_file must run in this shell so rst_changed sticks.
    ${heredoc('cat -- "$rst_stripped" - >"$rst_stripped.new"', managed)}
    rst_install_file "$rst_main_config" "$rst_main_mode" "$rst_main_owner" "$rst_main_group" <"$rst_stripped.new"
    rm -f -- "$rst_stripped.new"
fi
rm -f -- "$rst_stripped"`,
        `rst_validate_syntax`,
        renderVerification(args),
        String.raw`if [ "$rst_changed" = 1 ]; then
    rst_reload_sshd
    rst_note "sshd policy for $rst_user installed ($rst_mode) and sshd reloaded"
else
    rst_note "sshd policy for $rst_user already in place ($rst_mode)"
fi`,
    );
}

/**
 * Renders the script that removes the Match block (drop-in and managed block) and
 * reloads sshd the same safe way. Removing an absent block is a no-op.
 */
export function renderSshdRemoveScript(args: Pick<SshdMatchBlockRenderArgs, "user">): string {
    validateUserName("user", args.user);
    const { begin, end } = managedBlockMarkers(args.user);
    return renderScript(
        `rst_user=${shQuote(args.user)}
rst_dropin=${shQuote(dropinPath(args.user))}
rst_begin=${shQuote(begin)}
rst_end=${shQuote(end)}`,
        SSHD_FUNCTIONS,
        String.raw`rst_lock
rst_backup "$rst_main_config" "$rst_dropin"
rst_remove "$rst_dropin"
if [ -f "$rst_main_config" ] && grep -qxF -- "$rst_begin" "$rst_main_config"; then
    rst_stripped=$(mktemp)
    rst_strip_block "$rst_main_config" "$rst_begin" "$rst_end" >"$rst_stripped"
    rst_install_file "$rst_main_config" "$(stat -c '%a' -- "$rst_main_config")" \
        "$(stat -c '%U' -- "$rst_main_config")" "$(stat -c '%G' -- "$rst_main_config")" <"$rst_stripped"
    rm -f -- "$rst_stripped"
fi
if [ "$rst_changed" = 1 ]; then
    rst_validate_syntax
    rst_reload_sshd
    rst_note "sshd policy for $rst_user removed and sshd reloaded"
fi`,
    );
}
