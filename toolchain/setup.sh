#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Provides the Pulumi toolchain offline: the `pulumi` CLI, the Node.js language
# host and the `command` and `tls` resource plugins at the versions in
# toolchain/versions.env.
#
# - Does nothing when they are already there (the cached build for these
#   versions, or a `pulumi` on PATH of the right version next to a
#   `pulumi-language-nodejs`, with both plugins installed in PULUMI_HOME).
# - Otherwise builds the missing binaries from Go modules (wrapper modules in
#   toolchain/go/) into ${RST_CACHE_DIR:-/var/cache/reverse-ssh-tunnel}/toolchain/<key>/
#   and installs the plugins with `pulumi plugin install ... --file` (offline).
# - Prints `PULUMI_BIN=<dir>` last, on stdout; progress goes to stderr.
#
# RST_TOOLCHAIN_REBUILD=1 discards the cached build for the current key first.
set -euo pipefail

TC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$TC_DIR/lib.sh"
rst_toolchain_load_versions
rst_toolchain_export_offline_env

log() { printf '[toolchain %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

PULUMI_HOME_DIR="${PULUMI_HOME:-$HOME/.pulumi}"
CACHE_ROOT="$(rst_toolchain_cache_root)"
KEY="$(rst_toolchain_key)"
KEY_DIR="$CACHE_ROOT/$KEY"
BIN_DIR="$KEY_DIR/bin"
PLUGIN_DIR="$KEY_DIR/plugins"

# plugin_installed KIND NAME VERSION: the plugin is in the Pulumi plugin cache.
plugin_installed() {
	local dir="$PULUMI_HOME_DIR/plugins/$1-$2-v$3"
	[ -x "$dir/pulumi-$1-$2" ] && [ ! -e "$dir.partial" ]
}

plugins_installed() {
	plugin_installed resource command "$COMMAND_VERSION" &&
		plugin_installed resource tls "$TLS_VERSION"
}

# plugin_is_ours NAME VERSION: the installed resource plugin is the cached build.
plugin_is_ours() {
	plugin_installed resource "$1" "$2" &&
		cmp -s "$PLUGIN_DIR/pulumi-resource-$1" "$PULUMI_HOME_DIR/plugins/resource-$1-v$2/pulumi-resource-$1"
}

# cli_ok DIR: DIR has a pulumi of the wanted version and a Node.js language host.
cli_ok() {
	[ -x "$1/pulumi" ] && [ -x "$1/pulumi-language-nodejs" ] &&
		[ "$("$1/pulumi" version 2>/dev/null)" = "v$PULUMI_VERSION" ]
}

done_with() {
	printf 'PULUMI_BIN=%s\n' "$1"
	exit 0
}

if [ "${RST_TOOLCHAIN_REBUILD:-}" = 1 ]; then
	log "RST_TOOLCHAIN_REBUILD=1: discarding $KEY_DIR"
	rm -rf "$KEY_DIR"
else
	# 1. The cached build for these versions, its plugins already installed.
	if cli_ok "$BIN_DIR" && plugin_is_ours command "$COMMAND_VERSION" && plugin_is_ours tls "$TLS_VERSION"; then
		done_with "$BIN_DIR"
	fi
	# 2. A pulumi on PATH at the right version, plugins already installed.
	if path_pulumi="$(command -v pulumi 2>/dev/null)"; then
		path_bin="$(dirname "$path_pulumi")"
		if [ "$path_bin" != "$BIN_DIR" ] && cli_ok "$path_bin" && plugins_installed; then
			log "using $path_pulumi (v$PULUMI_VERSION) with the installed plugins"
			done_with "$path_bin"
		fi
	fi
fi

mkdir -p "$CACHE_ROOT"
# One build at a time per cache (two sessions may run setup.sh at once).
if command -v flock >/dev/null 2>&1; then
	exec 9>"$CACHE_ROOT/.lock"
	flock 9
fi

BUILD_LOG="$KEY_DIR/build.log"

need_build() {
	[ -x "$BIN_DIR/pulumi" ] && [ -x "$BIN_DIR/pulumi-language-nodejs" ] &&
		[ -x "$PLUGIN_DIR/pulumi-resource-command" ] && [ -x "$PLUGIN_DIR/pulumi-resource-tls" ] &&
		return 1
	return 0
}

# require_in FILE TEXT: the wrapper's go.mod records the version in versions.env.
require_in() {
	grep -qF "$2" "$TC_DIR/go/$1" ||
		die "toolchain/go/$1 does not contain '$2' (from versions.env): update one or the other"
}

setup_go() {
	if ! command -v go >/dev/null 2>&1; then
		[ -x /usr/local/go/bin/go ] || die "Go is not installed (need Go >= 1.26)"
		export PATH="/usr/local/go/bin:$PATH"
	fi
	export GOFLAGS="-trimpath -buildvcs=false -mod=readonly"
	export GOTOOLCHAIN=local
	log "using $(go version)"
}

# build NAME MODULE_DIR PACKAGE OUTPUT LDFLAGS: go build with timing.
build() {
	local name="$1" moddir="$2" pkg="$3" out="$4" ldflags="$5" start secs
	start="$(date +%s)"
	log "building $name ..."
	if ! (cd "$moddir" && go build -p "$(nproc)" -ldflags "-s -w $ldflags" -o "$out.tmp" "$pkg") \
		>>"$BUILD_LOG" 2>&1; then
		tail -n 30 "$BUILD_LOG" >&2
		die "building $name failed (log: $BUILD_LOG)"
	fi
	mv -f "$out.tmp" "$out"
	secs=$(($(date +%s) - start))
	log "built $name in ${secs}s"
	printf 'built %s in %ss\n' "$name" "$secs" >>"$BUILD_LOG"
}

build_all() {
	require_in pulumi/go.mod "$PULUMI_PKG_MODULE $PULUMI_PKG_MODULE_VERSION"
	require_in pulumi-language-nodejs/go.mod "$PULUMI_SDK_MODULE $PULUMI_SDK_MODULE_VERSION"
	require_in pulumi-resource-command/go.mod "$PULUMI_SDK_MODULE $PULUMI_SDK_MODULE_VERSION"
	require_in pulumi-resource-tls/go.mod "$TERRAFORM_BRIDGE_MODULE $TERRAFORM_BRIDGE_MODULE_VERSION"
	require_in pulumi-resource-tls/go.mod "$TERRAFORM_PLUGIN_SDK_FORK $TERRAFORM_PLUGIN_SDK_FORK_VERSION"
	require_in pulumi-resource-tls/shim/go.mod "$TLS_UPSTREAM_MODULE $TLS_UPSTREAM_MODULE_VERSION"

	setup_go
	mkdir -p "$BIN_DIR" "$PLUGIN_DIR"
	cp "$TC_DIR/versions.env" "$KEY_DIR/versions.env"
	printf '== build %s (%s) on %s cores\n' "$KEY" "$(date -u +%FT%TZ)" "$(nproc)" >>"$BUILD_LOG"
	local total_start version_x
	total_start="$(date +%s)"
	version_x="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"

	[ -x "$BIN_DIR/pulumi" ] ||
		build pulumi "$TC_DIR/go/pulumi" "$PULUMI_PKG_MODULE/cmd/pulumi" "$BIN_DIR/pulumi" "$version_x"
	[ -x "$BIN_DIR/pulumi-language-nodejs" ] ||
		build pulumi-language-nodejs "$TC_DIR/go/pulumi-language-nodejs" . \
			"$BIN_DIR/pulumi-language-nodejs" \
			"-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$LANGUAGE_HOST_VERSION"
	[ -x "$PLUGIN_DIR/pulumi-resource-command" ] ||
		build pulumi-resource-command "$TC_DIR/go/pulumi-resource-command" . \
			"$PLUGIN_DIR/pulumi-resource-command" "-X main.Version=$COMMAND_VERSION"

	if [ ! -x "$PLUGIN_DIR/pulumi-resource-tls" ]; then
		# The provider embeds a schema generated by pulumi-tfgen-tls: build in a
		# scratch copy so that the repository stays untouched.
		local work="$KEY_DIR/work" tls_x
		tls_x="-X rst.local/toolchain/pulumi-resource-tls/provider.Version=$TLS_VERSION"
		rm -rf "$work"
		mkdir -p "$work"
		cp -R "$TC_DIR/go/pulumi-resource-tls" "$work/tls"
		printf '{}\n' >"$work/tls/cmd/pulumi-resource-tls/schema.json"
		printf '{}\n' >"$work/tls/cmd/pulumi-resource-tls/bridge-metadata.json"
		build pulumi-tfgen-tls "$work/tls" ./cmd/pulumi-tfgen-tls "$work/pulumi-tfgen-tls" "$tls_x"
		log "generating the tls schema ..."
		if ! (cd "$work" && "$work/pulumi-tfgen-tls" schema --out "$work/tls/cmd/pulumi-resource-tls") \
			>>"$BUILD_LOG" 2>&1; then
			tail -n 30 "$BUILD_LOG" >&2
			die "generating the tls schema failed (log: $BUILD_LOG)"
		fi
		build pulumi-resource-tls "$work/tls" ./cmd/pulumi-resource-tls "$PLUGIN_DIR/pulumi-resource-tls" "$tls_x"
		rm -rf "$work"
	fi
	local secs=$(($(date +%s) - total_start))
	log "build finished in ${secs}s (log: $BUILD_LOG)"
	printf 'total %ss\n' "$secs" >>"$BUILD_LOG"
}

# install_plugin NAME VERSION: put the cached binary into the Pulumi plugin
# cache, replacing another binary installed under the same version.
install_plugin() {
	local name="$1" version="$2" bin="$PLUGIN_DIR/pulumi-resource-$1" flags=()
	plugin_is_ours "$name" "$version" && return 0
	if plugin_installed resource "$name" "$version"; then
		log "replacing the installed resource plugin $name $version with the project's build"
		flags=(--reinstall)
	else
		log "installing resource plugin $name $version into $PULUMI_HOME_DIR/plugins"
	fi
	"$BIN_DIR/pulumi" plugin install resource "$name" "$version" --file "$bin" "${flags[@]}" >&2 ||
		die "pulumi plugin install resource $name $version failed"
}

if need_build; then
	mkdir -p "$KEY_DIR"
	build_all
fi
cli_ok "$BIN_DIR" || die "$BIN_DIR/pulumi does not report v$PULUMI_VERSION"
install_plugin command "$COMMAND_VERSION"
install_plugin tls "$TLS_VERSION"
plugins_installed || die "the resource plugins are not in $PULUMI_HOME_DIR/plugins after installing"
done_with "$BIN_DIR"
