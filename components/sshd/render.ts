import { bash, commonLines, fileWordSections, renderScript, shQuote } from "../shell";
import { samplePolicyArgs } from "../library/samples";
import { validatePort, validateUserName } from "../validation";
import { OWNERSHIP_FUNCTIONS, ownerLine, ownershipVariables, PORT_CLAIM_CHECK, PORT_FUNCTIONS, portClaimVariable } from "../ownership/render";
import { SSHD_FUNCTIONS } from "./functions";
import { SSHD_JUDGE } from "./judge";
import { AUTHORIZED_KEYS_DIR, permitListenValue, REQUIRED_UNSET, tunnelPolicy, TunnelPolicyArgs } from "./policy";

/**
 * Where the Match block goes.
 * - `auto` (default): a drop-in when sshd_config includes `sshd_config.d/*.conf`
 *   before its first `Match`, otherwise a managed block at the end of sshd_config.
 * - `dropin`: always a drop-in; fails when sshd would not read it.
 * - `managed-block`: always a marked block at the end of sshd_config.
 */
export const SshdPlacement = {
    /** A drop-in when sshd_config includes sshd_config.d before its first Match, otherwise a managed block. */
    auto: "auto",
    /** Always a drop-in; fails when sshd would not read it. */
    dropin: "dropin",
    /** Always a marked block at the end of sshd_config. */
    managedBlock: "managed-block",
} as const;

/** Where the Match block goes: `auto`, `dropin` or `managed-block` (see the constant of the same name). */
export type SshdPlacement = (typeof SshdPlacement)[keyof typeof SshdPlacement];

/** Inputs of the sshd renderers. */
export interface SshdMatchBlockRenderArgs extends TunnelPolicyArgs {
    /** Placement of the block. Default `auto`. */
    readonly placement?: SshdPlacement;
    /** Label written into the block's header, e.g. the backup's name. Default: the user. */
    readonly description?: string;
    /**
     * Owner written into the block and checked on the host before any change (see
     * components/ownership). Default: none, no mark and no check (the renderers' own
     * tests and the differential test judge the policy alone); the components always give one.
     */
    readonly owner?: string;
    /** Take over this account's entries from another owner. Default false. */
    readonly adopt?: boolean;
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
    if (args.owner !== undefined) ownerLine(args.owner);
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
        blockHeader(args),
        ...(args.owner !== undefined ? [ownerLine(args.owner)] : []),
        `# Managed by Pulumi; local edits are overwritten.`,
        `Match User ${args.user}`,
        ...tunnelPolicy(args).map((s) => `    ${s.keyword} ${s.value}`),
    ];
    return `${lines.join("\n")}\n`;
}

/** The block's first line: names the account and the backup. */
function blockHeader(args: SshdMatchBlockRenderArgs): string {
    return `# reverse-ssh-tunnel: tunnel-only account ${args.user}${args.description ? ` (${args.description})` : ""}.`;
}

/**
 * The lines that identify a block written before ownership marks as this tunnel's:
 * its header (account and backup), its `Match User` and its `PermitListen`. The
 * policy lines may differ (an older release's), and are rewritten anyway.
 */
export function legacyBlockIdentity(args: SshdMatchBlockRenderArgs): string[] {
    return [blockHeader(args), `Match User ${args.user}`, `    PermitListen ${permitListenValue(args.listenPorts)}`];
}

/**
 * The ownership check of the sshd apply, before anything is written (the sshd step is
 * the first to write on main, and runs under the sshd lock): this account's block
 * (drop-in and managed block), key file and account must be ours, adopted, or an
 * unmarked block that is this tunnel's by {@link legacyBlockIdentity}; and no other
 * tunnel account's block or key file may hold one of its ports. Its values
 * (`rst_own_ident`, `rst_own_ports`) are set with the apply's other variables: the code
 * is the same for every tunnel, so it is a call into main's script library.
 */
const OWNERSHIP_CHECK = bash`rst_own_keys_file=${shQuote(AUTHORIZED_KEYS_DIR)}/$rst_user
rst_own_managed=""
rst_mktemp rst_own_managed
awk -v b="$rst_begin" -v e="$rst_end" '$0 == e { on = 0 } on { print } $0 == b { on = 1 }' "$rst_main_config" >"$rst_own_managed"
for rst_own_where in dropin managed; do
    if [ "$rst_own_where" = dropin ]; then
        rst_own_file=$rst_dropin rst_own_what="the sshd block of $rst_user ($rst_dropin)"
    else
        rst_own_file=$rst_own_managed rst_own_what="the sshd block of $rst_user (managed block in $rst_main_config)"
    fi
    [ -s "$rst_own_file" ] || continue
    rst_own_found=$(rst_mark_of "$rst_own_file")
    if [ -n "$rst_own_found" ]; then
        rst_claim "$rst_own_what" "$rst_own_found"
    elif ! rst_has_lines "$rst_own_file" "$rst_own_ident"; then
        rst_unmarked "$rst_own_what"
    fi
done
rst_own_found=$(rst_mark_of "$rst_own_keys_file")
[ -z "$rst_own_found" ] || rst_claim "the key file of $rst_user ($rst_own_keys_file)" "$rst_own_found"
rst_own_found=$(rst_gecos_owner "$rst_user")
[ -z "$rst_own_found" ] || rst_claim "the tunnel account $rst_user" "$rst_own_found"
${PORT_CLAIM_CHECK}`;

/**
 * The ownership check of the sshd removal: a block marked by another owner (taken
 * over with adopt) is left as it is, and so is the other location.
 */
const REMOVE_OWNERSHIP_CHECK = bash`rst_own_managed=""
rst_mktemp rst_own_managed
if [ -f "$rst_main_config" ]; then
    awk -v b="$rst_begin" -v e="$rst_end" '$0 == e { on = 0 } on { print } $0 == b { on = 1 }' "$rst_main_config" >"$rst_own_managed"
fi
if rst_held_by_other "the sshd block of $rst_user ($rst_dropin)" "$(rst_mark_of "$rst_dropin")" ||
    rst_held_by_other "the sshd block of $rst_user (managed block in $rst_main_config)" "$(rst_mark_of "$rst_own_managed")"; then
    rst_commit
    exit 0
fi`;

/** `key value` pairs the apply script checks in `sshd -T` output (values' words sorted). */
export function expectedEffectiveSettings(args: SshdMatchBlockRenderArgs): Array<[string, string]> {
    return tunnelPolicy(args)
        .filter((s) => s.effective !== undefined)
        .map((s) => [s.keyword.toLowerCase(), (s.effective as string).split(" ").sort().join(" ")]);
}

/** What `sshd -T` must report for the policy, one `key value` line each (the apply's `rst_want_text`). */
function expectedEffectiveText(args: SshdMatchBlockRenderArgs): string {
    return expectedEffectiveSettings(args)
        .map(([k, v]) => `${k} ${v}`)
        .join("\n");
}

/**
 * The judge's verdict on the files as written; the expected values come in
 * `rst_want_text` (see {@link expectedEffectiveText}).
 */
const VERIFICATION = bash`# sshd judges the files as they are now, for every kind of connection its Match lines
# tell apart (see SSHD_JUDGE): each must get the policy's values, set first by the
# policy's own block (sshd takes the first value it reads).
rst_want="" rst_unset=""
rst_mktemp rst_want
rst_mktemp rst_unset
printf '%s\n' "$rst_want_text" >"$rst_want"
cat >"$rst_unset" <<'RST_UNSET'
${REQUIRED_UNSET.map((r) => `${r.keyword.toLowerCase()} ${r.effective} ${r.why}`).join("\n")}
RST_UNSET
if [ "$rst_mode" = dropin ]; then
    rst_ob=0 rst_oe=0
else
    rst_ob=$(grep -nxF -- "$rst_begin" "$rst_main_config" | head -n 1 | cut -d: -f1)
    rst_oe=$(grep -nxF -- "$rst_end" "$rst_main_config" | head -n 1 | cut -d: -f1)
fi
rst_judge "$rst_user" "$rst_our_file" "$rst_ob" "$rst_oe" "$rst_want" "$rst_unset"
if [ -n "$rst_judge_problems" ]; then
    rst_restore
    rst_fail "sshd's settings for $rst_user conflict with the tunnel policy, so the previous files were restored and sshd was not reloaded.$rst_judge_problems"
fi
rst_note "sshd's own evaluation for $rst_user holds the policy on all $rst_judge_probes kinds of connection its Match lines tell apart"`;

let fixedLines: { block: Set<string>; want: Set<string> } | undefined;

/**
 * The lines of the block and of the expected `sshd -T` values that are the same for
 * any tunnel (the two sample tunnels share them): the apply leaves their runs to the
 * main library (see fileWordSections).
 */
function fixedPolicyLines(): { block: Set<string>; want: Set<string> } {
    if (fixedLines === undefined) {
        const [a, b] = [samplePolicyArgs(0), samplePolicyArgs(1)];
        fixedLines = { block: commonLines(renderMatchBlock(a), renderMatchBlock(b)), want: commonLines(expectedEffectiveText(a), expectedEffectiveText(b)) };
    }
    return fixedLines;
}

/**
 * Renders the script that installs or updates the Match block: under a host-wide
 * lock it writes the block where nothing of sshd_config is read before it, checks
 * with `sshd -t`, refuses earlier Match blocks that can apply to the account,
 * checks `sshd -T` for the connections a backup makes, and makes the running sshd
 * take the files when something changed or an interrupted run left them unapplied.
 * On any failure or interruption every touched file is restored.
 */
export function renderSshdApplyScript(args: SshdMatchBlockRenderArgs): string {
    checkArgs(args);
    const placement = args.placement ?? "auto";
    const { begin, end } = managedBlockMarkers(args.user);
    const block = renderMatchBlock(args);
    const owned = args.owner !== undefined;
    return renderScript(
        SSHD_FUNCTIONS,
        // Before the judge: the removal script starts the same way, so a bundle carries it once.
        ...(owned ? [OWNERSHIP_FUNCTIONS, PORT_FUNCTIONS] : []),
        SSHD_JUDGE,
        `rst_user=${shQuote(args.user)}
rst_placement=${shQuote(placement)}
rst_dropin=${shQuote(dropinPath(args.user))}
rst_begin=${shQuote(begin)}
rst_end=${shQuote(end)}`,
        // The policy's lines that are the same for every tunnel are sections the main library holds.
        ...fileWordSections("rst_block_text", block, fixedPolicyLines().block),
        ...fileWordSections("rst_want_text", expectedEffectiveText(args), fixedPolicyLines().want),
        ...(owned
            ? [
                  `${ownershipVariables({ owner: args.owner!, adopt: args.adopt === true })}
rst_own_ident=${shQuote(legacyBlockIdentity(args).join("\n"))}
${portClaimVariable(args.listenPorts)}`,
              ]
            : []),
        bash`rst_sshd_locked
[ -f "$rst_main_config" ] || rst_fail "$rst_main_config does not exist"
# The policy is written before the account exists (so the key is never accepted
# without it); an account of that name that is not ours is refused here already.
if [ "$(rst_account_state "$rst_user")" = foreign ]; then
    rst_fail "account $rst_user already exists on this host and was not created by reverse-ssh-tunnel; choose another tunnel user name"
fi
`,
        ...(owned ? [OWNERSHIP_CHECK] : []),
        bash`case "$rst_placement" in
auto) if rst_includes_dropins; then rst_mode=dropin; else rst_mode=managed-block; fi ;;
dropin)
    rst_includes_dropins || rst_fail "placement 'dropin' was asked for, but $rst_main_config has no 'Include $rst_dropin_dir/*.conf' before its first Match, so sshd would ignore the drop-in; add the Include at the top or use placement 'managed-block'"
    rst_mode=dropin
    ;;
*) rst_mode=managed-block ;;
esac
if [ "$rst_mode" = dropin ]; then rst_our_file=$rst_dropin; else rst_our_file=$rst_main_config; fi
rst_backup "$rst_main_config" "$rst_dropin"
read -r rst_main_mode rst_main_owner rst_main_group <<<"$(stat -c '%a %U %G' -- "$rst_main_config")"
rst_stripped=""
rst_mktemp rst_stripped
rst_strip_block "$rst_main_config" "$rst_begin" "$rst_end" >"$rst_stripped"`,
        String.raw`if [ "$rst_mode" = dropin ]; then
    rst_install_file "$rst_main_config" "$rst_main_mode" "$rst_main_owner" "$rst_main_group" <"$rst_stripped"
    rst_install_dir "$rst_dropin_dir" 755 root root
    rst_install_file "$rst_dropin" 644 root root <<<"$rst_block_text"
else
    rst_remove "$rst_dropin"
    rst_block=""
    rst_mktemp rst_block
    rst_merged=""
    rst_mktemp rst_merged
    # "Match all" ends our block, so the lines that follow keep their own scope.
    printf '%s\n%s\nMatch all\n%s\n' "$rst_begin" "$rst_block_text" "$rst_end" >"$rst_block"
    rst_insert_block "$rst_stripped" "$rst_block" >"$rst_merged"
    # Not a pipeline: rst_install_file must run in this shell so rst_changed sticks.
    rst_install_file "$rst_main_config" "$rst_main_mode" "$rst_main_owner" "$rst_main_group" <"$rst_merged"
fi`,
        `rst_validate_syntax`,
        VERIFICATION,
        bash`if [ "$rst_changed" = 1 ] || [ "$rst_pending_before" = 1 ]; then
    rst_reload_sshd
    rst_commit
    rst_note "sshd policy for $rst_user installed ($rst_mode); sshd ($rst_sshd_mode_used) runs on it"
else
    rst_commit
    rst_note "sshd policy for $rst_user already in place ($rst_mode)"
fi`,
    );
}

/**
 * Renders the script that removes the Match block (drop-in and managed block) and
 * makes sshd take the change the same safe way. Removing an absent block is a
 * no-op. Revocation does not depend on it: the account and its key are gone first.
 */
export function renderSshdRemoveScript(args: Pick<SshdMatchBlockRenderArgs, "user" | "owner">): string {
    validateUserName("user", args.user);
    const { begin, end } = managedBlockMarkers(args.user);
    const owned = args.owner !== undefined;
    return renderScript(
        SSHD_FUNCTIONS,
        ...(owned ? [OWNERSHIP_FUNCTIONS] : []),
        `rst_user=${shQuote(args.user)}
rst_dropin=${shQuote(dropinPath(args.user))}
rst_begin=${shQuote(begin)}
rst_end=${shQuote(end)}${owned ? `\n${ownershipVariables({ owner: args.owner! })}` : ""}`,
        bash`rst_sshd_locked`,
        ...(owned ? [REMOVE_OWNERSHIP_CHECK] : []),
        bash`rst_backup "$rst_main_config" "$rst_dropin"
rst_remove "$rst_dropin"
if [ -f "$rst_main_config" ] && grep -qxF -- "$rst_begin" "$rst_main_config"; then
    rst_stripped=""
    rst_mktemp rst_stripped
    rst_strip_block "$rst_main_config" "$rst_begin" "$rst_end" >"$rst_stripped"
    read -r rst_main_mode rst_main_owner rst_main_group <<<"$(stat -c '%a %U %G' -- "$rst_main_config")"
    rst_install_file "$rst_main_config" "$rst_main_mode" "$rst_main_owner" "$rst_main_group" <"$rst_stripped"
fi
if [ "$rst_changed" = 1 ] || [ "$rst_pending_before" = 1 ]; then
    rst_validate_syntax
    rst_reload_sshd
    rst_commit
    rst_note "sshd policy for $rst_user removed; sshd ($rst_sshd_mode_used) runs without it"
else
    rst_commit
fi`,
    );
}
