#!/usr/bin/env bash
# The main job for a newcomer: installs what is missing, boots the lab (unless real
# hosts are configured in Pulumi.main.yaml), runs `pulumi up` on the `main` stack and
# shows `ssh backup-pi` from main reaching the backup through the tunnel.
#   bash scripts/demo.sh        # up
#   bash scripts/demo.sh down   # pulumi destroy, pulumi stack rm main (keeps Pulumi.main.yaml), lab down
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# with_heartbeat LABEL CMD...: runs CMD and prints "LABEL ... Ns" every 10 s while it
# runs (apt-get -qq and npm ci --loglevel=error are otherwise silent for minutes).
with_heartbeat() {
    local label="$1" start pid status=0
    shift
    start=$(date +%s)
    "$@" &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            sleep 1
            kill -0 "$pid" 2>/dev/null || break 2
        done
        printf '   %s ... %ss\n' "$label" "$(($(date +%s) - start))"
    done
    wait "$pid" || status=$?
    return "$status"
}

need_pkgs=()
for p in debootstrap:debootstrap systemd-nspawn:systemd-container nft:nftables ssh:openssh-client socat:socat shellcheck:shellcheck; do
    command -v "${p%%:*}" >/dev/null 2>&1 || need_pkgs+=("${p##*:}")
done
if [ "${#need_pkgs[@]}" -gt 0 ]; then
    say "installing Debian packages: ${need_pkgs[*]}"
    with_heartbeat "apt-get install" bash -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" iproute2 conntrack >/dev/null' _ "${need_pkgs[@]}"
fi
[ -d node_modules/@pulumi/pulumi ] || { say "installing npm packages"; with_heartbeat "npm ci" npm ci --no-audit --no-fund --loglevel=error; }

say "Pulumi toolchain (built offline from Go modules on first use, cached)"
bash toolchain/setup.sh >/dev/null
# shellcheck source=/dev/null
. toolchain/env.sh
# shellcheck source=scripts/stack-env.sh
. scripts/stack-env.sh
rst_stack_env Pulumi.main.yaml || exit 1
uses_lab=0
grep -q '^  reverse-ssh-tunnel:lab: ' Pulumi.main.yaml && uses_lab=1

if [ "${1:-up}" = down ]; then
    say "pulumi destroy (stack main)"
    if pulumi stack select main >/dev/null 2>&1; then
        pulumi destroy --yes --non-interactive --skip-preview
        say "pulumi stack rm main (Pulumi.main.yaml is kept)"
        pulumi stack rm --yes --preserve-config --non-interactive main
    fi
    if [ "$uses_lab" = 1 ]; then say "lab down"; npx tsx lab/cli.ts down; fi
    exit 0
fi

if [ "$uses_lab" = 1 ]; then
    say "starting the lab (main + NAT router + backup)"
    npx tsx lab/cli.ts up --backups 1
fi
pulumi stack select main >/dev/null 2>&1 || pulumi stack init main --non-interactive
say "pulumi up (stack main)"
pulumi up --yes --non-interactive --skip-preview
say "your tunnels"
# One line per backup (the `summary` output): port, tunnel key fingerprint, what to run.
# shellcheck disable=SC2016 # JavaScript template literals, not shell
pulumi stack output summary --json | node -e 'for (const [n, l] of Object.entries(JSON.parse(require("fs").readFileSync(0, "utf8")))) console.log(`   backup ${n}: ${l}`)'
echo "   ssh config for main (already installed there): npm run pulumi -- stack output sshConfig"
echo "   everything else: npm run pulumi -- stack output   (or -- stack output backups --json)"
if [ "$uses_lab" = 1 ]; then
    say "on main: ssh backup-pi (through the reverse tunnel, host key pinned)"
    # shellcheck disable=SC2016 # expanded on the backup, not here
    npx tsx lab/cli.ts exec main -- runuser -u admin -- ssh -o BatchMode=yes backup-pi 'echo "hello from $(hostname), reached through the tunnel as $(id -un)"'
    say "done: 'npm run lab -- ssh main' then 'ssh backup-pi' to try it yourself; 'npm run demo:down' to tear down"
fi
