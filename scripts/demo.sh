#!/usr/bin/env bash
# The main job for a newcomer: installs what is missing, boots the lab (unless real
# hosts are configured in Pulumi.main.yaml), runs `pulumi up` on the `main` stack and
# shows `ssh backup-pi` from main reaching the backup through the tunnel.
#   bash scripts/demo.sh        # up
#   bash scripts/demo.sh down   # pulumi destroy + lab down
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

need_pkgs=()
for p in debootstrap:debootstrap systemd-nspawn:systemd-container nft:nftables ssh:openssh-client socat:socat shellcheck:shellcheck; do
    command -v "${p%%:*}" >/dev/null 2>&1 || need_pkgs+=("${p##*:}")
done
if [ "${#need_pkgs[@]}" -gt 0 ]; then
    say "installing Debian packages: ${need_pkgs[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" iproute2 conntrack >/dev/null
fi
[ -d node_modules/@pulumi/pulumi ] || { say "installing npm packages"; npm ci --no-audit --no-fund --loglevel=error; }

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
    pulumi stack select main >/dev/null 2>&1 && pulumi destroy --yes --non-interactive --skip-preview
    [ "$uses_lab" = 1 ] && { say "lab down"; npx tsx lab/cli.ts down; }
    exit 0
fi

if [ "$uses_lab" = 1 ]; then
    say "starting the lab (main + NAT router + backup)"
    npx tsx lab/cli.ts up --backups 1
fi
pulumi stack select main >/dev/null 2>&1 || pulumi stack init main --non-interactive
say "pulumi up (stack main)"
pulumi up --yes --non-interactive --skip-preview
say "stack outputs"
pulumi stack output backups --show-secrets=false --json | head -40
if [ "$uses_lab" = 1 ]; then
    say "on main: ssh backup-pi (through the reverse tunnel, host key pinned)"
    # shellcheck disable=SC2016 # expanded on the backup, not here
    npx tsx lab/cli.ts exec main -- runuser -u admin -- ssh -o BatchMode=yes backup-pi 'echo "hello from $(hostname), reached through the tunnel as $(id -un)"'
    say "done: 'npm run lab -- ssh main' then 'ssh backup-pi' to try it yourself; 'npm run demo:down' to tear down"
fi
