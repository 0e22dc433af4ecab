#!/usr/bin/env bash
# `npm run doctor [-- --lab | --real]`: checks this machine for the two ways of using
# the project and prints, for everything missing, the exact command that installs it.
#   (a) --lab:  the demo and the tests on the local lab (root, Debian/Ubuntu, Node, Go
#               >= 1.26 unless a Pulumi toolchain is already there; for npm test also
#               openssh-server's sshd binary and postgresql's server binaries)
#   (b) --real: your own hosts with an installed Pulumi CLI (no Go, no root)
# Exit status: 0 when the path asked for is ready (without a flag: when at least one
# path is), 1 otherwise. Nothing is installed or changed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
# shellcheck source=toolchain/lib.sh
. toolchain/lib.sh
rst_toolchain_load_versions

want=all
case "${1:-}" in
--lab) want=lab ;;
--real) want=real ;;
'' | --all) ;;
*)
    echo "usage: npm run doctor [-- --lab | --real]" >&2
    exit 2
    ;;
esac

# Node versions: vite (under vitest) needs ^20.19.0 || >=22.12.0; @pulumi/pulumi
# declares >= 22 but Node 20.19+ is what the project is tested on (CI).
NODE_RANGE="^20.19.0 || >=22.12.0"
GO_MIN=1.26

os_id=unknown os_like="" os_version="" os_name="unknown OS"
if [ -r /etc/os-release ]; then
    # shellcheck disable=SC1091
    os_id=$(. /etc/os-release && echo "${ID:-unknown}")
    os_like=$(. /etc/os-release && echo "${ID_LIKE:-}")
    os_version=$(. /etc/os-release && echo "${VERSION_ID:-}")
    os_name=$(. /etc/os-release && echo "${PRETTY_NAME:-$os_id}")
fi
is_debian_like=0
case " $os_id $os_like " in *" debian "* | *" ubuntu "*) is_debian_like=1 ;; esac
sudo_=""
[ "$(id -u)" = 0 ] || sudo_="sudo "
go_arch=$(uname -m)
case "$go_arch" in x86_64) go_arch=amd64 ;; aarch64) go_arch=arm64 ;; armv7l | armv6l) go_arch=armv6l ;; esac

# version_ge A B: version A >= B (dotted numbers).
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]; }

ready_lab=1 ready_real=1
ok() { printf '  ok       %s\n' "$*"; }
info() { printf '  note     %s\n' "$*"; }
# missing PATHS WHAT FIX: PATHS is lab, real or both.
missing() {
    printf '  MISSING  %s\n           install: %s\n' "$2" "$3"
    case "$1" in lab) ready_lab=0 ;; real) ready_real=0 ;; both) ready_lab=0 ready_real=0 ;; esac
}

node_fix() {
    # Debian 13 ships Node 20.19; Debian 12 and Ubuntu 22.04/24.04 ship 18 (too old).
    if [ "$os_id" = debian ] && [ "${os_version%%.*}" -ge 13 ] 2>/dev/null; then
        echo "${sudo_}apt-get install -y nodejs npm"
    else
        echo "curl -fsSL https://deb.nodesource.com/setup_22.x | ${sudo_}bash - && ${sudo_}apt-get install -y nodejs   (NodeSource; or any Node $NODE_RANGE from nodejs.org)"
    fi
}

printf 'reverse-ssh-tunnel doctor: %s, %s, user %s\n' "$os_name" "$(uname -m)" "$(id -un)"

echo
echo "both paths"
node_version=$(node --version 2>/dev/null || true)
node_version=${node_version#v}
if [ -z "$node_version" ]; then
    missing both "Node.js ($NODE_RANGE)" "$(node_fix)"
elif { version_ge "$node_version" 20.19.0 && ! version_ge "$node_version" 21.0.0; } || version_ge "$node_version" 22.12.0; then
    ok "node v$node_version ($NODE_RANGE)"
    case "$node_version" in 20.*) info "npm warns EBADENGINE for @pulumi/pulumi (it declares node >= 22); Node 20.19+ is tested and works" ;; esac
else
    missing both "Node.js $NODE_RANGE (found v$node_version)" "$(node_fix)"
fi
if npm_version=$(npm --version 2>/dev/null); then
    ok "npm $npm_version"
else
    missing both "npm" "$(node_fix)"
fi
if [ -f node_modules/@pulumi/pulumi/package.json ] && [ -x node_modules/.bin/tsx ]; then
    ok "npm packages (node_modules)"
else
    missing both "npm packages of this project (node_modules)" "npm ci --no-audit --no-fund"
fi

echo
echo "(a) demo and tests on the local lab: npm run demo, npm test"
if [ "$(id -u)" = 0 ]; then ok "running as root"; else missing lab "root (the lab creates network namespaces and containers)" "sudo -i, then run from this directory"; fi
if [ "$is_debian_like" = 1 ]; then ok "Debian/Ubuntu ($os_name)"; else missing lab "Debian or Ubuntu (found $os_name): the lab builds a Debian root with debootstrap" "use a Debian 12/13 or Ubuntu machine or VM"; fi
need_pkgs=()
for p in debootstrap:debootstrap systemd-nspawn:systemd-container ip:iproute2 nft:nftables conntrack:conntrack ssh:openssh-client ssh-keygen:openssh-client socat:socat nc:netcat-openbsd shellcheck:shellcheck fuser:psmisc flock:util-linux; do
    if command -v "${p%%:*}" >/dev/null 2>&1; then :; else
        case " ${need_pkgs[*]} " in *" ${p##*:} "*) ;; *) need_pkgs+=("${p##*:}") ;; esac
    fi
done
if [ "${#need_pkgs[@]}" = 0 ]; then
    ok "Debian packages (debootstrap systemd-container iproute2 nftables conntrack openssh-client socat netcat-openbsd shellcheck psmisc util-linux)"
else
    missing lab "Debian packages: ${need_pkgs[*]} (npm run demo installs them itself)" "${sudo_}apt-get install -y --no-install-recommends ${need_pkgs[*]}"
fi
# npm test's own packages (scripts/test-prerequisites.ts checks the same paths):
# openssh-server for the sshd binary the unit and conformance tests run on 127.0.0.1,
# postgresql for the server binaries of the shared-state tests. Not the services: npm
# test installs missing ones itself as root and stops what the install started.
test_pkgs=()
[ -x "${RST_SSHD:-/usr/sbin/sshd}" ] || test_pkgs+=(openssh-server)
pg_found=0
for initdb in "${RST_POSTGRESQL_LIB:-/usr/lib/postgresql}"/*/bin/initdb; do [ -x "$initdb" ] && pg_found=1; done
[ "$pg_found" = 1 ] || test_pkgs+=(postgresql)
[ -x /usr/bin/python3 ] || test_pkgs+=(python3) # py_compile of the generated Python SDK (test/multilang)
if [ "${#test_pkgs[@]}" = 0 ]; then
    ok "npm test's packages: openssh-server (sshd binary), postgresql (server binaries)"
else
    missing lab "for npm test: ${test_pkgs[*]} (openssh-server: the sshd binary the unit and conformance tests run on 127.0.0.1; postgresql: the shared-state tests' server; npm test installs them itself as root)" \
        "${sudo_}apt-get install -y --no-install-recommends ${test_pkgs[*]}, then stop what it started: ${sudo_}systemctl disable --now ssh.service ssh.socket postgresql (no sshd on this machine's port 22 is needed)"
fi
# The Pulumi toolchain: the offline build (cached) or an installed compatible CLI;
# CI and the lab tests always use the offline build (RST_TOOLCHAIN_OFFLINE=1).
offline_bin=$(rst_toolchain_bin_dir)
installed_cli=$(rst_toolchain_installed_cli 2>/dev/null) || installed_cli=""
go_bin=$(command -v go 2>/dev/null || { [ -x /usr/local/go/bin/go ] && echo /usr/local/go/bin/go; } || true)
go_version=""
[ -n "$go_bin" ] && go_version=$("$go_bin" env GOVERSION 2>/dev/null) && go_version=${go_version#go}
go_fix="curl -fsSL https://go.dev/dl/go1.26.8.linux-$go_arch.tar.gz | ${sudo_}tar -C /usr/local -xz   (toolchain/setup.sh finds /usr/local/go/bin/go)"
if [ -x "$offline_bin/pulumi" ] && [ -x "$offline_bin/pulumi-language-nodejs" ]; then
    ok "Pulumi toolchain: offline build cached ($offline_bin); Go not needed"
elif [ -n "$go_version" ] && version_ge "$go_version" "$GO_MIN"; then
    ok "Go $go_version (>= $GO_MIN): the first run builds the Pulumi toolchain (about 10 min, then cached)"
else
    what="Go >= $GO_MIN to build the Pulumi toolchain${go_version:+ (found go$go_version)}"
    if [ -n "$installed_cli" ] && [ "${RST_TOOLCHAIN_OFFLINE:-0}" != 1 ]; then
        info "$what; the demo can use the installed pulumi in $installed_cli instead, but npm test (RST_TOOLCHAIN_OFFLINE=1) needs the offline build"
        missing lab "$what (for npm test)" "$go_fix"
    else
        missing lab "$what" "$go_fix"
    fi
fi

echo
echo "(b) your own hosts with an installed Pulumi CLI: npm run setup, npm run pulumi -- up"
if [ -n "$installed_cli" ]; then
    ok "pulumi $("$installed_cli/pulumi" version 2>/dev/null) in $installed_cli (>= $PULUMI_MIN_VERSION, < 4; tested: $PULUMI_MIN_VERSION and $PULUMI_VERSION)"
elif [ -x "$offline_bin/pulumi" ] && [ -x "$offline_bin/pulumi-language-nodejs" ]; then
    ok "no installed pulumi, but the offline build is cached ($offline_bin): npm run pulumi uses it"
else
    reason=$(rst_toolchain_installed_cli 2>&1 >/dev/null | sed 's/^\[toolchain\] //')
    missing real "Pulumi CLI >= $PULUMI_MIN_VERSION, < 4 with its pulumi-language-nodejs (tested: $PULUMI_MIN_VERSION and $PULUMI_VERSION)${reason:+ ($reason)}" \
        "curl -fsSL https://get.pulumi.com | sh -s -- --version $PULUMI_VERSION && export PATH=\"\$HOME/.pulumi/bin:\$PATH\""
fi
if command -v ssh-keyscan >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1; then
    ok "ssh-keyscan, ssh-keygen (the guided setup fetches and fingerprints host keys)"
else
    missing real "ssh-keyscan and ssh-keygen (openssh-client)" "${sudo_}apt-get install -y openssh-client"
fi
if [ -n "${PULUMI_CONFIG_PASSPHRASE:-}${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    ok "a state passphrase is set (PULUMI_CONFIG_PASSPHRASE${PULUMI_CONFIG_PASSPHRASE_FILE:+_FILE})"
else
    info "before 'npm run pulumi' on real hosts: a passphrase of your own for the state, e.g."
    info "  mkdir -p ~/.config/reverse-ssh-tunnel && (umask 077 && head -c 24 /dev/urandom | base64 > ~/.config/reverse-ssh-tunnel/passphrase)"
    info "  export PULUMI_CONFIG_PASSPHRASE_FILE=~/.config/reverse-ssh-tunnel/passphrase"
fi

echo
lab_word=ready real_word=ready
[ "$ready_lab" = 1 ] || lab_word="not ready (see MISSING above)"
[ "$ready_real" = 1 ] || real_word="not ready (see MISSING above)"
echo "summary: (a) local lab: $lab_word; (b) real hosts: $real_word"
case "$want" in
lab) [ "$ready_lab" = 1 ] ;;
real) [ "$ready_real" = 1 ] ;;
*) [ "$ready_lab" = 1 ] || [ "$ready_real" = 1 ] ;;
esac
