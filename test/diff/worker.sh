#!/bin/bash
# worker.sh DIR CASES: inside the sandbox (see sandbox.sh), for each case id in the file
# CASES: lays out the case's admin configuration in /etc/ssh, runs the real rendered
# apply script (DIR/apply.sh) on it, then lets sshd judge the result over the case's own
# probe connections (DIR/cases/ID/probes: derived by the generator from what it wrote,
# not by the code under test). Writes DIR/results/ID:
#   rc N            the apply's exit status
#   mutated 0|1     a refused apply left /etc/ssh different from before
#   dev SPEC KEY..  a probe whose effective value is not the policy's (after an accepted
#                   apply: a violation; after a refusal: judged on the case's "placed"
#                   tree, the policy where the library would put it, to tell a right
#                   refusal from a false one)
#   probes N        how many probe connections were judged
#   err TEXT        the first lines of a refusal
#   invalid TEXT    sshd -t rejects the admin's configuration itself (not counted)
set -u
dir=$1
cases=$2
export LC_ALL=C
mkdir -p /run/sshd "$dir/results"
# A stand-in for the running sshd: the apply finds it by its pidfile and sends it SIGHUP.
bash -c 'trap "" HUP; exec sleep 1000000' &
echo $! >/run/sshd.pid
trap 'kill "$(cat /run/sshd.pid)" 2>/dev/null' EXIT
ACCOUNT='tunnel-x:x:990:990:reverse-ssh-tunnel test account:/nonexistent:/usr/sbin/nologin'

reset_tree() {
    find /etc/ssh -mindepth 1 -delete
    cp -a "$1/." /etc/ssh/
    install -m 600 "$dir/hostkey" /etc/ssh/ssh_host_ed25519_key
    install -m 644 "$dir/hostkey.pub" /etc/ssh/ssh_host_ed25519_key.pub
}
# account present|absent: the tunnel account as the library creates it (own group only).
account() {
    cat /run/base-passwd >/etc/passwd
    cat /run/base-group >/etc/group
    if [ "$1" = present ]; then
        echo "$ACCOUNT" >>/etc/passwd
        echo "tunnel-x:x:990:" >>/etc/group
    fi
}
snapshot() {
    (cd /etc/ssh && find . -type f ! -name 'ssh_host_*' -exec md5sum {} + | sort)
}
# judge PROBES: one 'sshd -T -C' per probe into a scratch dir, then one awk pass that
# prints "dev SPEC KEY have=... want=..." for every value other than the policy's.
judge() {
    local spec n=0 out=/run/judge
    rm -rf "$out"
    mkdir -p "$out"
    while IFS= read -r spec; do
        [ -n "$spec" ] || continue
        n=$((n + 1))
        printf '%s\n' "$spec" >"$out/$n.spec"
        /usr/sbin/sshd -T -C "$spec" >"$out/$n.out" 2>&1
        echo $? >"$out/$n.rc"
    done <"$1"
    awk -v dir="$out" -v n="$n" -v want="$dir/want" '
        function sorted(s,   k, a, i, j, t, r) {
            k = split(s, a, " ")
            for (i = 2; i <= k; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
            r = ""; for (i = 1; i <= k; i++) r = r (i > 1 ? " " : "") a[i]
            return r
        }
        BEGIN {
            while ((getline line < want) > 0) { split(line, f, " "); k = f[1]; sub(/^[^ ]+ /, "", line); w[k] = line }
            for (i = 1; i <= n; i++) {
                getline spec < (dir "/" i ".spec"); close(dir "/" i ".spec")
                getline rc < (dir "/" i ".rc"); close(dir "/" i ".rc")
                split("", h); last = ""
                while ((getline line < (dir "/" i ".out")) > 0) {
                    last = line; split(line, f, " "); k = f[1]; sub(/^[^ ]+ ?/, "", line)
                    if (k in h) h[k] = h[k] " " line; else h[k] = line
                }
                close(dir "/" i ".out")
                if (rc != 0) { print "dev " spec " error " last; continue }
                for (k in w) { v = (k in h) ? sorted(h[k]) : "<unset>"; if (v != w[k]) print "dev " spec " " k " have=" v " want=" w[k] }
            }
        }'
}

while IFS= read -r id; do
    c=$dir/cases/$id
    res=$dir/results/$id
    acct=$(cat "$c/account")
    reset_tree "$c/etc"
    account "$acct"
    rm -rf /run/reverse-ssh-tunnel
    # A configuration sshd itself rejects is not a case (the apply refuses it at sshd -t).
    if ! inv=$(/usr/sbin/sshd -t 2>&1); then
        printf 'invalid %s\n' "$(printf '%s' "$inv" | tail -n 1)" >"$res"
        continue
    fi
    before=$(snapshot)
    bash "$dir/apply.sh" </dev/null >"$c/apply.out" 2>"$c/apply.err"
    rc=$?
    {
        echo "rc $rc"
        echo "probes $(grep -c . "$c/probes")"
        if [ "$rc" = 0 ]; then
            account present
            judge "$c/probes"
        else
            [ "$before" = "$(snapshot)" ] && echo "mutated 0" || echo "mutated 1"
            head -c 600 "$c/apply.err" | tr '\n' ' ' | sed 's/^/err /'
            echo
            reset_tree "$c/placed"
            account present
            judge "$c/probes"
        fi
    } >"$res"
done <"$cases"
