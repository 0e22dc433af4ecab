import { bash, librarySection } from "../shell";

/**
 * Source addresses every probe set holds when some `Match` line tests the client: a
 * public one and one of each private range, because an admin's `Match Address`
 * typically names the LAN or a VPN. The addresses, networks and host patterns named
 * in the `Match` lines themselves are added to these (see `SSHD_JUDGE`).
 */
export const PROBE_SOURCES = ["203.0.113.1", "10.0.0.1", "172.16.0.1", "192.168.0.1", "127.0.0.1"] as const;

/** IPv6 sources added when sshd listens on an IPv6 address. */
export const PROBE_SOURCES_V6 = ["2001:db8::1", "fd00::1", "::1"] as const;

/**
 * Most connection kinds one apply evaluates. A configuration whose `Match` lines name
 * so many addresses and ports that the cross product is larger is refused as
 * uncertain rather than checked in part.
 */
export const PROBE_LIMIT = 1500;

/** Host name probed (with `UseDNS yes`) as one that no `Match Host` pattern names. */
export const OUTSIDE_HOST = "rst-probe.invalid";

/**
 * awk program turning sshd's own trace of the configuration into probe connections.
 * Input: the text of every `Match` line, as sshd printed it while reading (one per
 * line, after a line `@texts`), then the listeners sshd has (`@listen ADDR PORT`, a
 * wildcard already expanded to the host's addresses). Output: one `sshd -T -C`
 * specification per line, or `@uncertain REASON`.
 *
 * It reads the texts generously: every word, split at blanks, `=` and commas, quotes
 * and `!` removed, counts, comment words included. A word too many only adds probes;
 * a criterion is never missed, whatever sshd's tokeniser did with quotes or `=`.
 * Each address or network named gives its first and last address and the addresses
 * just outside it, so every region that the named networks cut the address space
 * into has a probe source (CIDR lists are unions of intervals). Connections arrive
 * only where sshd listens, so `LocalAddress`/`LocalPort` are probed on those
 * listeners (every one of them), not on the values the Match lines name.
 */
const AWK_PROBES = String.raw`
function ip4(s,   a, i, v) {
    if (s !~ /^[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+$/) return -1
    split(s, a, "."); v = 0
    for (i = 1; i <= 4; i++) { if (a[i] + 0 > 255) return -1; v = v * 256 + a[i] }
    return v
}
function fmt4(v,   d, c, b) { d = v % 256; v = int(v / 256); c = v % 256; v = int(v / 256); b = v % 256; return int(v / 256) "." b "." c "." d }
function hex(s,   i, c, v) {
    v = 0; s = tolower(s)
    for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)); if (c == 0) return -1; v = v * 16 + c - 1 }
    return v
}
function ip6(s, g,   k, h, t, nh, nt, hh, tt, i) {
    if (s !~ /^[0-9a-fA-F:]+$/ || index(s, ":") == 0) return 0
    k = index(s, "::")
    if (k) { h = substr(s, 1, k - 1); t = substr(s, k + 2); if (index(t, "::")) return 0 } else { h = s; t = "" }
    nh = (h == "") ? 0 : split(h, hh, ":"); nt = (t == "") ? 0 : split(t, tt, ":")
    if ((k == 0 && nh != 8) || (k && nh + nt > 7)) return 0
    for (i = 1; i <= 8; i++) g[i] = 0
    for (i = 1; i <= nh; i++) { if (length(hh[i]) < 1 || length(hh[i]) > 4) return 0; g[i] = hex(hh[i]) }
    for (i = 1; i <= nt; i++) { if (length(tt[i]) < 1 || length(tt[i]) > 4) return 0; g[8 - nt + i] = hex(tt[i]) }
    return 1
}
# As inet_ntop writes it (sshd matches Host patterns against this text): the longest
# run of two or more zero groups shortened to "::".
function fmt6(g,   i, bs, bl, cs, cl, s) {
    bs = 0; bl = 0; cl = 0
    for (i = 1; i <= 8; i++) {
        if (g[i] == 0) { if (cl == 0) cs = i; cl++; if (cl > bl) { bl = cl; bs = cs } } else cl = 0
    }
    if (bl < 2) bs = 0
    s = ""
    for (i = 1; i <= 8; i++) {
        if (bs && i >= bs && i < bs + bl) { if (i == bs) s = s "::"; continue }
        if (s != "" && substr(s, length(s)) != ":") s = s ":"
        s = s sprintf("%x", g[i])
    }
    return s
}
function point(a) { if (!(a in addr)) { addr[a] = 1; addrs[++naddrs] = a } }
function net4(tok,   a, len, v, size, st, en) {
    a = tok; len = 32
    if (index(tok, "/")) { a = substr(tok, 1, index(tok, "/") - 1); len = substr(tok, index(tok, "/") + 1) }
    if (len !~ /^[0-9]+$/ || len + 0 > 32) return 0
    len = len + 0
    v = ip4(a); if (v < 0) return 0
    size = 2 ^ (32 - len); st = int(v / size) * size; en = st + size - 1
    point(fmt4(v)); point(fmt4(st)); point(fmt4(en))
    if (st > 0) point(fmt4(st - 1))
    if (en < 4294967295) point(fmt4(en + 1))
    return 1
}
function net6(tok,   a, len, g, st, en, i, lo, size, z) {
    a = tok; len = 128
    if (index(tok, "/")) { a = substr(tok, 1, index(tok, "/") - 1); len = substr(tok, index(tok, "/") + 1) }
    if (len !~ /^[0-9]+$/ || len + 0 > 128 || !ip6(a, g)) return 0
    # A number from here on: awk compares a substr() result with a number as text.
    len = len + 0
    for (i = 1; i <= 8; i++) {
        lo = (i - 1) * 16
        if (len >= lo + 16) { st[i] = g[i]; en[i] = g[i] }
        else if (len <= lo) { st[i] = 0; en[i] = 65535 }
        else { size = 2 ^ (16 - (len - lo)); st[i] = int(g[i] / size) * size; en[i] = st[i] + size - 1 }
    }
    point(fmt6(g)); point(fmt6(st)); point(fmt6(en))
    z = 1; for (i = 1; i <= 8; i++) if (st[i] != 0) z = 0
    if (!z) { for (i = 8; i >= 1; i--) { if (st[i] > 0) { st[i]--; break } st[i] = 65535 } point(fmt6(st)) }
    z = 1; for (i = 1; i <= 8; i++) if (en[i] != 65535) z = 0
    if (!z) { for (i = 8; i >= 1; i--) { if (en[i] < 65535) { en[i]++; break } en[i] = 0 } point(fmt6(en)) }
    return 1
}
# An address pattern with * or ?: members with a few fillers (an IPv4 pattern can
# stand for one to four octets).
function wild4(tok,   f, n, i, c) {
    n = split("1 0 255 1.1 0.0 1.1.1", f, " ")
    for (i = 1; i <= n; i++) {
        c = tok; gsub(/[*]/, f[i], c); gsub(/[?]/, "1", c)
        if (ip4(c) >= 0) point(c)
    }
}
function addname(w,   h) {
    h = w; gsub(/[*]/, "rst-probe", h); gsub(/[?]/, "x", h)
    if (!(h in name)) { name[h] = 1; names[++nnames] = h }
}
function addrdom(w) { if (!(w in rd)) { rd[w] = 1; rds[++nrds] = w } }
# word W: one word of a Match line. CUR is the criterion it follows: host patterns
# and routing domains become names to probe (a criterion word with nothing after it
# is taken as a value too).
function word(w,   lw, crit) {
    lw = tolower(w)
    crit = (lw ~ /^(user|group|host|address|localaddress|localport|rdomain|all|invalid-user|version)$/)
    if (crit) {
        if (cur == "host" && !vals) addname(w)
        if (cur == "rdomain" && !vals) addrdom(w)
        cur = lw; vals = 0
        if (lw == "address" || lw == "host") src = 1
        else if (lw == "localaddress" || lw == "localport") lst = 1
        else if (lw == "rdomain") lst = 1
        return
    }
    vals++
    if (cur == "host") addname(w)
    if (cur == "rdomain") addrdom(w)
    if (net4(w) || net6(w)) return
    if (w ~ /^[0-9.]*[*?][0-9.*?]*$/ && w ~ /[.]/) wild4(w)
}
BEGIN { mode = "" }
$0 == "@texts" { mode = "t"; next }
$0 == "@cut" { cut = 1; next }
$1 == "@listen" { if (!(($2 " " $3) in lp)) { lp[$2 " " $3] = 1; lpair[++nl] = $2 " " $3; if (index($2, ":")) v6 = 1 }; next }
$1 == "@usedns" { usedns = ($2 == "yes"); next }
mode == "t" {
    cur = ""; vals = 0
    n = split($0, w, /[ \t=,]+/)
    for (i = 1; i <= n; i++) { t = w[i]; gsub(/["]/, "", t); sub(/^!+/, "", t); if (t != "") word(t) }
}
END {
    if (cut) { print "@uncertain a Match line is longer than a line of sshd'"'"'s log (1 KiB), so its criteria cannot be read whole; split it"; exit }
    if (nl == 0) lpair[++nl] = "0.0.0.0 22"
    ns = 0
    if (src) {
        split("${PROBE_SOURCES.join(" ")}", fx, " "); for (i in fx) s[fx[i]] = 1
        if (v6) { split("${PROBE_SOURCES_V6.join(" ")}", fx, " "); for (i in fx) s[fx[i]] = 1 }
        for (i = 1; i <= naddrs; i++) s[addrs[i]] = 1
        for (a in s) srcs[++ns] = a
    } else srcs[++ns] = "${PROBE_SOURCES[0]}"
    nls = 0
    if (lst) {
        for (i = 1; i <= nl; i++) lsts[++nls] = lpair[i]
    } else lsts[++nls] = lpair[1]
    nh = 1
    if (src && usedns) nh += nnames + 1
    nr = 1 + nrds
    total = ns * nh * nls * nr
    if (total > limit) { print "@uncertain the Match lines name so many addresses, ports and names that " total " kinds of connection would have to be checked (the limit is " limit ")"; exit }
    for (i = 1; i <= ns; i++) for (j = 1; j <= nls; j++) {
        split(lsts[j], lpr, " ")
        for (h = 1; h <= nh; h++) {
            host = srcs[i]
            if (h > 1) host = (h - 1 <= nnames) ? names[h - 1] : "${OUTSIDE_HOST}"
            for (r = 1; r <= nr; r++) {
                spec = "user=" user ",host=" host ",addr=" srcs[i] ",laddr=" lpr[1] ",lport=" lpr[2]
                if (r > 1) spec = spec ",rdomain=" rds[r - 1]
                print spec
            }
        }
    }
}`;

/**
 * awk program judging every probe from sshd's own output, in one pass: for probe N
 * (line N of the file `specs`), the effective values (`sshd -T`, `dir/N.out`) against
 * the policy, and, from the trace (`sshd -ddd`, `dir/N.err`), which file:line set each
 * of the policy's keywords first for that connection. sshd takes the first value it
 * reads in the Match blocks that apply; where a value differs and it was not the
 * policy's own block that set it first, a block read before ours applies there (named
 * in the finding; one that sets the policy's own value is harmless). Prints one
 * TAB-separated finding per kind and keyword (the first probe that shows it), with the
 * probe's number: `N early KEYWORD FILE LINE WRITTEN`, `N value KEYWORD HAVE WANT`,
 * `N missing KEYWORD`, `N unset KEYWORD HAVE WANT` (for the keywords of the file
 * `unsetfile`, "keyword value why": that value, where sshd reports it at all), `N error
 * TEXT` (sshd could not evaluate it); then `N access` for each probe whose
 * AllowUsers/DenyUsers/AllowGroups/DenyGroups differ from all earlier probes'.
 */
const AWK_VERDICT = String.raw`
function sorted(s,   n, a, i, j, t, r) {
    n = split(s, a, " ")
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    r = ""; for (i = 1; i <= n; i++) r = r (i > 1 ? " " : "") a[i]
    return r
}
function report(n, what, k, rest) {
    if ((what SUBSEP k) in told) return
    told[what, k] = 1
    printf "%s\t%s\t%s\t%s\n", n, what, k, rest
}
function probe(n,   file, line, again, s, p, loc, kw, k, f, ln, first, have, early, rc, msg, h, sig) {
    file = dir "/" n ".rc"; rc = 1
    if ((getline line < file) > 0) rc = line
    close(file)
    file = dir "/" n ".err"; again = 0; msg = ""
    while ((getline line < file) > 0) {
        # sshd ends the lines it logs to stderr with CR LF.
        sub(/\r$/, "", line)
        if (substr(line, 1, 6) != "debug1" && substr(line, 1, 6) != "debug2" && substr(line, 1, 6) != "debug3") msg = line
        if (index(line, "parse_server_config_depth: config reprocess config")) { again = 1; continue }
        if (!again || substr(line, 1, 8) != "debug3: ") continue
        s = substr(line, 9); p = index(s, " setting "); if (!p) continue
        loc = substr(s, 1, p - 1); split(substr(s, p + 9), kw, " "); k = tolower(kw[1]); gsub(/["]/, "", k)
        if (k == "challengeresponseauthentication" || k == "skeyauthentication") k = "kbdinteractiveauthentication"
        if (!(k in w) || (k in first)) continue
        f = loc; ln = loc; sub(/:[0-9]+$/, "", f); sub(/^.*:/, "", ln)
        if (f == "reprocess config") f = mainfile
        first[k] = 1
        if (!(f == ourfile && (ob == 0 || (ln + 0 > ob && ln + 0 < oe)))) early[k] = f "\t" ln "\t" kw[1]
    }
    close(file)
    if (rc != 0) { report(n, "error", "-", msg); return }
    file = dir "/" n ".out"; sig = ""
    while ((getline line < file) > 0) {
        split(line, kw, " "); k = kw[1]; sub(/^[^ ]+ ?/, "", line)
        # Not "have[k] = (k in have) ? ...": mawk creates have[k] before it tests it.
        if (k in have) have[k] = have[k] " " line; else have[k] = line
        if (k ~ /^(allow|deny)(users|groups)$/) sig = sig k " " line "|"
    }
    close(file)
    for (k in w) {
        h = (k in have) ? sorted(have[k]) : "<unset>"
        if (h != w[k]) {
            report(n, "value", k, h "\t" w[k])
            if (k in early) report(n, "early", k, early[k])
        }
        if (!(k in first)) report(n, "missing", k, "")
    }
    for (k in uv) if ((k in have) && have[k] != uv[k]) report(n, "unset", k, have[k] "\t" uv[k])
    if (sig != "" && !(sig in sigs)) { sigs[sig] = 1; access[++naccess] = n }
}
BEGIN {
    while ((getline line < want) > 0) { split(line, a, " "); k = a[1]; sub(/^[^ ]+ /, "", line); w[k] = line }
    while ((getline line < unsetfile) > 0) { split(line, a, " "); uv[a[1]] = a[2] }
    n = 0
    while ((getline line < specs) > 0) probe(++n)
    for (i = 1; i <= naccess; i++) printf "%s\taccess\t-\t-\n", access[i]
    print "@probes\t" n
}`;

/**
 * Bash functions that let sshd judge the configuration: they run the installed sshd
 * in test mode (`sshd -T -ddd -C ...`) for every kind of connection the Match lines
 * can tell apart, and read its verdict: the effective values, and its own trace of
 * which file:line set each keyword. Nothing here parses sshd_config: the `Match` lines
 * come from sshd's trace, so comments, quotes, `=`, CRLF, keyword case, aliases and
 * Include rules are read exactly as the sshd on the host reads them.
 *
 * Before the tunnel account exists (the policy is installed first), sshd is run in a
 * private mount namespace whose /etc/passwd and /etc/group also hold the account as
 * it will be created (own group, no other), so `Match Group` is judged as it will be.
 */
export const SSHD_JUDGE = librarySection(bash`# rst_judge_ns USER CMD...: runs CMD where the account USER exists (see above). The
# stand-in passwd and group files are made once per script and user.
rst_judge_ns_for=""
rst_judge_pw=""
rst_judge_gr=""
rst_judge_ns() {
    local user="$1" id
    shift
    if getent passwd "$user" >/dev/null; then
        "$@"
        return
    fi
    if [ "$rst_judge_ns_for" != "$user" ]; then
        for ((id = 64999; id >= 60000; id--)); do
            if ! getent passwd "$id" >/dev/null && ! getent group "$id" >/dev/null; then break; fi
        done
        rst_mktemp rst_judge_pw
        rst_mktemp rst_judge_gr
        { cat /etc/passwd; printf '%s:x:%s:%s:reverse-ssh-tunnel probe:/nonexistent:/usr/sbin/nologin\n' "$user" "$id" "$id"; } >"$rst_judge_pw"
        { cat /etc/group; printf '%s:x:%s:\n' "$user" "$id"; } >"$rst_judge_gr"
        chmod 644 -- "$rst_judge_pw" "$rst_judge_gr"
        rst_judge_ns_for=$user
    fi
    # shellcheck disable=SC2016 # expanded by the inner bash
    unshare --mount --propagation private -- bash -c 'mount --bind "$1" /etc/passwd && mount --bind "$2" /etc/group && shift 2 && exec "$@"' \
        rst-judge "$rst_judge_pw" "$rst_judge_gr" "$@" ||
        rst_fail "could not evaluate sshd's configuration for $user before the account exists (unshare --mount failed; it needs CAP_SYS_ADMIN)"
}
# rst_judge_runner: bash source run as 'bash -c "$rst_judge_runner" NAME SSHD DIR
# SPECFILE PAR' (through rst_judge_ns, so a separate program): one 'sshd -T -ddd -C SPEC'
# per line of SPECFILE, PAR at a time, into DIR/N.out (effective values), DIR/N.err
# (trace) and DIR/N.rc.
# shellcheck disable=SC2016 # expanded by the inner bash
rst_judge_runner='sshd=$1 dir=$2 n=0 running=0 par=$4
while IFS= read -r spec; do
    n=$((n + 1))
    { "$sshd" -T -ddd -C "$spec" >"$dir/$n.out" 2>"$dir/$n.err"; echo $? >"$dir/$n.rc"; } &
    running=$((running + 1))
    if [ "$running" -ge "$par" ]; then wait -n || true; running=$((running - 1)); fi
done <"$3"
wait'
# rst_judge_listeners DUMP: "ADDR PORT" for every address and port sshd listens on:
# its own sockets and those systemd holds for it (ss, the socket units), and what its
# configuration asks for (listenaddress in DUMP, for the next start). A wildcard
# stands for each of the host's addresses.
rst_judge_listeners() {
    local hostaddrs unit l
    hostaddrs=$(ip -o addr show 2>/dev/null | awk '{ split($4, a, "/"); if (a[1] !~ /^fe80/) print a[1] }')
    {
        awk '$1 == "listenaddress" { print $2 }' "$1"
        if command -v ss >/dev/null 2>&1; then
            ss -Hltnp 2>/dev/null | awk '/"sshd"|"sshd-session"/ { print $4 }'
        fi
        if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
            for unit in ssh.socket sshd.socket; do
                systemctl is-active --quiet "$unit" 2>/dev/null || continue
                for l in $(systemctl show -P Listen "$unit" 2>/dev/null | awk '{ print $1 }'); do
                    case "$l" in *[!0-9]*) echo "$l" ;; *) echo "[::]:$l" ;; esac
                done
            done
        fi
    } | awk -v hostaddrs="$hostaddrs" '
        {
            spec = $1
            if (spec ~ /^\[/) { a = substr(spec, 2, index(spec, "]") - 2); p = substr(spec, index(spec, "]:") + 2) }
            else { a = spec; p = spec; sub(/:[0-9]+$/, "", a); sub(/^.*:/, "", p) }
            if (p !~ /^[0-9]+$/) next
            if (a == "0.0.0.0" || a == "::" || a == "*") {
                n = split(hostaddrs, h, "\n")
                for (i = 1; i <= n; i++) if (h[i] != "" && (a != "0.0.0.0" || index(h[i], ":") == 0)) print h[i], p
            } else print a, p
        }' | sort -u
}
# rst_judge_specs USER DIR: from a first probe (DIR/0.*), the probe connections:
# one 'sshd -T -C' specification per line into DIR/specs; fails when they are too many.
rst_judge_specs() {
    local user="$1" dir="$2" out
    out=$(
        {
            echo "@usedns $(awk '$1 == "usedns" { print $2 }' "$dir/0.out")"
            rst_judge_listeners "$dir/0.out" | sed 's/^/@listen /'
            echo @texts
            # sshd cuts a log line at 1 KiB: a Match line whose trace does not end as
            # sshd ends it was cut, and its criteria cannot be read whole.
            awk '
                { sub(/\r$/, "") }
                /^debug3: checking match for / {
                    t = $0; sub(/^debug3: checking match for [\x27]/, "", t)
                    if (t !~ /[\x27] user .* lport -?[0-9]+( on line [0-9]+)?$/) { print "@cut"; next }
                    sub(/[\x27] user .* lport -?[0-9]+( on line [0-9]+)?$/, "", t); print t
                }
                /^debug3: checking syntax for / {
                    t = $0; sub(/^debug3: checking syntax for [\x27]Match /, "", t)
                    if (t !~ /[\x27]( on line [0-9]+)?$/) { print "@cut"; next }
                    sub(/[\x27]( on line [0-9]+)?$/, "", t); print t
                }' "$dir/0.err"
        } | awk -v user="$user" -v limit=${PROBE_LIMIT} '${AWK_PROBES}'
    )
    case "$out" in
    @uncertain*) rst_fail "cannot check sshd's configuration for $user: $\{out#@uncertain }; no file was changed for good (the previous files were restored)" ;;
    esac
    printf '%s\n' "$out" >"$dir/specs"
}
# rst_judge_where TRACE KEYWORD: FILE:LINE: TEXT of every line sshd read that sets
# KEYWORD (for messages; from sshd's own trace).
rst_judge_where() {
    awk -v k="$2" -v mainfile="$rst_main_config" '
        { sub(/\r$/, "") }
        substr($0, 1, 8) == "debug3: " {
            s = substr($0, 9); p = index(s, " setting "); if (!p) next
            loc = substr(s, 1, p - 1); rest = substr(s, p + 9); split(rest, kw, " ")
            if (tolower(kw[1]) != k) next
            f = loc; ln = loc; sub(/:[0-9]+$/, "", f); sub(/^.*:/, "", ln)
            if (f == "reprocess config") f = mainfile
            if (!((f ":" ln) in seen)) { seen[f ":" ln] = 1; printf "%s:%s: %s\n", f, ln, rest }
        }' "$1"
}
# rst_judge_match_of FILE LINE: the Match line above LINE in FILE, as FILE:N: TEXT
# (for messages only: which block sshd applied is already known from its trace).
rst_judge_match_of() {
    awk -v stop="$2" -v f="$1" 'NR > stop { exit } { t = $0; sub(/^[ \t]+/, "", t); split(t, w, /[ \t=]+/); gsub(/["]/, "", w[1]) }
        tolower(w[1]) == "match" { m = NR; text = t } END { if (m) printf "%s:%s: %s\n", f, m, text; else printf "%s: (inside a Match block of the file that includes it)\n", f }' "$1" | tr -d '\r' | tr '\t' ' '
}
# rst_judge USER OURFILE BEGIN END WANTFILE UNSETFILE: sshd's verdict on the
# configuration as it is on disk now, for every connection the Match lines can tell
# apart. The policy is the block of OURFILE between the lines BEGIN and END (0 0: the
# whole file); WANTFILE holds "keyword value" lines (values' words sorted) that every
# probe must show, UNSETFILE "keyword value why" lines for keywords the policy does not
# set but that must have that value where sshd reports them. Sets rst_judge_problems
# (empty when all hold) and rst_judge_probes (how many connections were evaluated).
rst_judge() {
    local user="$1" ourfile="$2" ob="$3" oe="$4" want="$5" unsetf="$6" dir rc par n spec what k f ln written why ctx seenk="" early=""
    dir=$(mktemp -d "$rst_state_dir/.rst-tmp.$$.XXXXXX")
    rst_tmp_paths+=("$dir")
    printf 'user=%s,host=%s,addr=%s,laddr=127.0.0.1,lport=22\n' "$user" ${PROBE_SOURCES[0]} ${PROBE_SOURCES[0]} >"$dir/first"
    rst_judge_ns "$user" bash -c "$rst_judge_runner" rst-judge "$rst_sshd" "$dir" "$dir/first" 1
    mv -- "$dir/1.out" "$dir/0.out"
    mv -- "$dir/1.err" "$dir/0.err"
    rst_read_line rc "$dir/1.rc" || rc=""
    if [ "$rc" != 0 ]; then
        rst_fail "sshd -T could not evaluate the configuration for $user: $(grep -v '^debug' -- "$dir/0.err" | tail -n 3)"
    fi
    rst_judge_specs "$user" "$dir"
    # A few sshd at a time: as many as there are CPUs, at most 4.
    par=$(nproc 2>/dev/null || echo 2)
    [ "$par" -le 4 ] || par=4
    rst_judge_ns "$user" bash -c "$rst_judge_runner" rst-judge "$rst_sshd" "$dir" "$dir/specs" "$par"
    rst_judge_problems=""
    rst_judge_probes=0
    while IFS=$'\t' read -r n what k f ln written; do
        if [ "$n" = @probes ]; then
            rst_judge_probes=$what
            continue
        fi
        spec=$(sed -n "$n{p;q}" "$dir/specs")
        ctx=$(printf '%s' "$spec" | awk -F, '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } printf "from %s%s to %s port %s%s", v["addr"], (v["host"] != v["addr"] ? " (host " v["host"] ")" : ""), v["laddr"], v["lport"], (v["rdomain"] != "" ? " rdomain " v["rdomain"] : "") }')
        case "$what" in
        early)
            early="$early
$(rst_judge_match_of "$f" "$ln")	      sets $written at $f:$ln (sshd applies it $ctx)"
            ;;
        value)
            rst_judge_problems="$rst_judge_problems
  - $k is '$f' for $user ($ctx), the tunnel policy needs '$ln'; set at:
$(rst_judge_where "$dir/$n.err" "$k" | sed 's/^/      /')"
            ;;
        unset)
            rst_judge_problems="$rst_judge_problems
  - $k is '$f' for $user ($ctx): $(awk -v k="$k" '$1 == k { $1 = ""; $2 = ""; sub(/^ +/, ""); print }' "$unsetf"); set at:
$(rst_judge_where "$dir/$n.err" "$k" | sed 's/^/      /')"
            ;;
        missing)
            rst_judge_problems="$rst_judge_problems
  - sshd does not apply the tunnel policy's $k to $user ($ctx): its block is not read there, or read where its Match line is not in force"
            ;;
        error)
            rst_judge_problems="$rst_judge_problems
  - sshd -T could not evaluate the configuration for $user ($ctx): $f"
            ;;
        access)
            while IFS=: read -r k why; do
                [ -n "$k" ] || continue
                grep -qxF -- "access $k" <<<"$seenk" && continue
                seenk="$seenk
access $k"
                rst_judge_problems="$rst_judge_problems
  - $why ($ctx); set at:
$(rst_judge_where "$dir/0.err" "$k" | sed 's/^/      /')
    Fix: add $user to that list yourself (this library does not edit access lists), or remove the entry that excludes it."
            done <<<"$(rst_access_list_problem "$(cat -- "$dir/$n.out")" "$user")"
            ;;
        esac
    done < <(awk -v dir="$dir" -v specs="$dir/specs" -v want="$want" -v unsetfile="$unsetf" -v mainfile="$rst_main_config" \
        -v ourfile="$ourfile" -v ob="$ob" -v oe="$oe" '${AWK_VERDICT}')
    if [ -n "$early" ]; then
        rst_judge_problems="
  - these Match blocks are read before the tunnel policy and apply to $user for some connections (as sshd itself
    evaluates them); their values would win over the policy:
$(printf '%s\n' "$early" | awk -F '\t' 'NF { if (!($1 in s)) { o[++n] = $1; s[$1] = "" } s[$1] = s[$1] "\n" $2 } END { for (i = 1; i <= n; i++) print "      " o[i] s[o[i]] }')
    Fix: exclude the tunnel accounts from each of them, e.g. add 'User *,!tunnel-*' to its Match line (an account
    name alone is not enough: sshd needs a positive pattern), or move it after the policy (below the Include line
    of $rst_main_config, or into a drop-in whose name sorts after $(basename -- "$ourfile")).$rst_judge_problems"
    fi
}`);
