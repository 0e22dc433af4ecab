/**
 * Ownership on the host: every account, key file, sshd block, client config and unit
 * this library writes names the Pulumi stack and component that own it, so that two
 * stacks (the README's "several stacks per main" for large fleets) can never share one
 * silently. Within one program, components/tunnel/registry.ts refuses duplicates; across
 * stacks only the host knows, so the apply scripts check there, under the host's
 * per-scope locks (two concurrent ups of two stacks cannot both win), before they write.
 *
 * The owner is `ORG/PROJECT/STACK/NAME`: the stack (what holds the state, hence the
 * key and the delete scripts) plus the component's resource name (two components of
 * one stack whose mains are Outputs are not compared by the registry, and would
 * otherwise share). Not the URN: it carries the parent chain and type, which change
 * when a component is moved under another parent with aliases, while name and stack
 * stay. Renaming the component (or moving it to another stack) is a change of owner,
 * done with `adopt: true` once.
 */
import { librarySection, shQuote } from "../shell";
import { ConfigError } from "../validation";

/** Arguments every renderer of an owned entry takes. */
export interface OwnershipArgs {
    /** The owner written into the entry and compared with the owner already on the host (see {@link ownerId}). */
    readonly owner: string;
    /**
     * Take over the entries of the same name held by another owner (that owner's destroy
     * then leaves them alone). Default false: such an entry refuses the apply before any
     * change, naming its owner.
     */
    readonly adopt?: boolean;
}

/** First part of the line that marks a file's owner (a comment in every format we write). */
export const OWNER_LINE_PREFIX = "# reverse-ssh-tunnel owner: ";

/** What the owner of an account is written after in its GECOS field. */
export const GECOS_OWNER_PREFIX = "owner=";

/** Characters of an owner: no space, ':' or ',' (GECOS), quote or newline (comments, shell). */
const OWNER = /^[A-Za-z0-9._%-]+(\/[A-Za-z0-9._%-]+)*$/;

/** Returns `value` when it can be an owner, else throws a {@link ConfigError}. */
export function validateOwner(key: string, value: unknown): string {
    if (typeof value !== "string" || value.length > 200 || !OWNER.test(value)) {
        throw new ConfigError(key, `invalid owner ${JSON.stringify(value)}: use up to 200 of A-Z a-z 0-9 . _ % - and /`);
    }
    return value;
}

/** One part of an owner: characters outside `[A-Za-z0-9._-]` (e.g. `/`, `:` of a resource name) as `%XX` of their UTF-8 bytes. */
function ownerPart(s: string): string {
    return [...Buffer.from(s, "utf8")].map((b) => (/[A-Za-z0-9._-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`)).join("");
}

/** The owner of a component: `ORG/PROJECT/STACK/NAME`, each part `%`-encoded (see the module comment for why). */
export function ownerId(organization: string, project: string, stack: string, resourceName: string): string {
    return validateOwner("owner", stackOwnerPrefix(organization, project, stack) + ownerPart(resourceName));
}

/** What every owner of one stack starts with: `ORG/PROJECT/STACK/`, encoded as in {@link ownerId}. */
export function stackOwnerPrefix(organization: string, project: string, stack: string): string {
    return [organization, project, stack].map(ownerPart).join("/") + "/";
}

/** The line that marks a file's owner. */
export function ownerLine(owner: string): string {
    return `${OWNER_LINE_PREFIX}${validateOwner("owner", owner)}`;
}

/** The shell variables the ownership functions read: `rst_owner` and `rst_adopt`. */
export function ownershipVariables(args: OwnershipArgs): string {
    return `rst_owner=${shQuote(validateOwner("owner", args.owner))}
rst_adopt=${args.adopt === true ? 1 : 0}`;
}

/** Reading a file's owner mark: `rst_mark_of FILE`, for scripts that only read marks (no owner of their own). */
const MARK_READER = String.raw`rst_own_prefix='${OWNER_LINE_PREFIX}'
# rst_mark_of FILE: the owner FILE's mark line names, or nothing (no file, no mark).
rst_mark_of() {
    [ -f "$1" ] || return 0
    awk -v p="$rst_own_prefix" 'index($0, p) == 1 { print substr($0, length(p) + 1); exit }' "$1"
}`;

/** {@link MARK_READER} alone, as a library section. */
export const OWNER_MARK_FUNCTIONS = librarySection(MARK_READER);

/**
 * Bash functions for the ownership checks, defined after the prelude. They read
 * `rst_owner` and `rst_adopt` (see {@link ownershipVariables}) when called. They hold
 * {@link OWNER_MARK_FUNCTIONS}: use one section or the other in a script.
 */
export const OWNERSHIP_FUNCTIONS = librarySection(MARK_READER + String.raw`
# rst_gecos_owner USER: the owner in the account's GECOS field, or nothing.
rst_gecos_owner() {
    local fields
    rst_getent_fields fields passwd "$1" || return 0
    [[ "${"$"}{fields[4]:-}" =~ \ ${GECOS_OWNER_PREFIX}([^ ]*)$ ]] || return 0
    printf '%s\n' "${"$"}{BASH_REMATCH[1]}"
}
# rst_has_lines FILE LINES: every line of LINES is a whole line of FILE.
rst_has_lines() {
    local l
    while IFS= read -r l; do
        grep -qxF -- "$l" "$1" || return 1
    done <<<"$2"
}
# rst_claim WHAT FOUND: WHAT, marked as FOUND's (not empty), is ours to change:
# it is, or adopt is set (then it is taken over); else the apply stops before any
# change, naming the other owner and how to move the entry.
rst_claim() {
    [ "$2" != "$rst_owner" ] || return 0
    if [ "$rst_adopt" = 1 ]; then
        rst_note "adopting $1 from $2 (adopt: true): $2 no longer owns it, and its destroy leaves it alone"
        return 0
    fi
    rst_fail "$1 belongs to $2, not to $rst_owner; nothing on this host was changed. To move it to this stack, set adopt: true on this tunnel (the other stack's destroy then leaves it alone); otherwise choose another backup name (or tunnel account)"
}
# rst_unmarked WHAT: WHAT has no owner mark (written before ownership marks) and is
# not what this stack would write: refused unless adopt is set.
rst_unmarked() {
    if [ "$rst_adopt" = 1 ]; then
        rst_note "adopting $1 (no owner mark; adopt: true)"
        return 0
    fi
    rst_fail "$1 has no owner mark (written before ownership marks, or by hand) and is not what $rst_owner would write, so it may belong to another stack; nothing on this host was changed. If it is this tunnel's, set adopt: true once"
}
# rst_held_by_other WHAT FOUND: true when a delete must leave WHAT alone (marked by another owner), and says so.
rst_held_by_other() {
    [ -n "$2" ] && [ "$2" != "$rst_owner" ] || return 1
    rst_note "$1 belongs to $2 now, not to $rst_owner: left as it is"
}`);

/**
 * The port claim of an apply (after {@link PORT_FUNCTIONS}): its ports as a variable, set
 * with the apply's other values, and the check, the same text for every tunnel (so a
 * call into main's script library). The sshd and account applies both claim them.
 */
export function portClaimVariable(ports: readonly number[]): string {
    return `rst_own_ports=(${ports.join(" ")})`;
}

/** Refuses ports another tunnel account holds; reads {@link portClaimVariable}'s `rst_own_ports`. */
export const PORT_CLAIM_CHECK = String.raw`rst_check_ports "$rst_user" "${"$"}{rst_own_ports[@]}"`;

/**
 * Bash functions that find the ports other tunnel accounts hold on main (their sshd
 * blocks and key files), for the sshd and account applies only. Needs
 * {@link OWNERSHIP_FUNCTIONS} before it. Paths come from variables set here (tests
 * point them into a scratch tree).
 */
export const PORT_FUNCTIONS = librarySection(String.raw`rst_own_sshd_config=/etc/ssh/sshd_config
rst_own_dropin_glob='/etc/ssh/sshd_config.d/00-reverse-ssh-tunnel-*.conf'
rst_own_keys_dir=/etc/ssh/reverse-ssh-tunnel/authorized_keys
# rst_port_holders USER PORT...: "PORT USER OWNER FILE" for each PORT that another
# tunnel account's sshd block (drop-in or managed block) or key file on this host
# lets listen; OWNER is "-" for an entry without a mark.
rst_port_holders() {
    local me="$1" f files=()
    shift
    for f in $rst_own_dropin_glob "$rst_own_sshd_config" "$rst_own_keys_dir"/*; do
        [ -f "$f" ] && files+=("$f")
    done
    [ "${'$'}{#files[@]}" -gt 0 ] || return 0
    awk -v me="$me" -v ports=" $* " -v p="$rst_own_prefix" -v keys="$rst_own_keys_dir/" -v cfg="$rst_own_sshd_config" '
        function flush(   q) { if (user != "" && user != me) for (q in got) print q, user, (owner == "" ? "-" : owner), fname; split("", got); user = ""; owner = "" }
        function take(line,   r) {
            while (match(line, /127\.0\.0\.1:[0-9]+/)) {
                r = substr(line, RSTART + 10, RLENGTH - 10)
                if (index(ports, " " r " ")) got[r] = 1
                line = substr(line, RSTART + RLENGTH)
            }
        }
        FNR == 1 {
            if (fname != "" && !inblock) flush()
            split("", got); user = ""; owner = ""; inblock = 0; fname = FILENAME
            iskeys = index(fname, keys) == 1
            if (iskeys) user = substr(fname, length(keys) + 1)
        }
        fname == cfg {
            if (index($0, "# BEGIN reverse-ssh-tunnel ") == 1) { flush(); inblock = 1; user = $4; next }
            if (index($0, "# END reverse-ssh-tunnel ") == 1) { flush(); inblock = 0; next }
            if (!inblock) next
        }
        index($0, p) == 1 { owner = substr($0, length(p) + 1); next }
        iskeys { if (!/^#/) take($0); next }
        fname != cfg && /^[ \t]*Match[ \t]+User[ \t]/ { user = $3 }
        /^[ \t]*PermitListen[ \t]/ { take($0) }
        END { if (fname != "" && !inblock) flush() }' "${'$'}{files[@]}"
}
# rst_check_ports USER PORT...: refuses ports another tunnel account on this host holds.
rst_check_ports() {
    local held
    held=$(rst_port_holders "$@" | sort -u | awk '{ printf "%s port %s: tunnel account %s of %s (%s)", sep, $1, $2, ($3 == "-" ? "no owner mark" : $3), $4; sep = ";" }')
    [ -z "$held" ] || rst_fail "a port of $1 is already used by another tunnel on this host:$held. Nothing on this host was changed; choose another port, or remove that tunnel from its stack first"
}`);
