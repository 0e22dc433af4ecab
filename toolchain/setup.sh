#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Provides the Pulumi toolchain: the `pulumi` CLI, the Node.js and YAML language hosts and
# the `command` and `tls` resource plugins at the versions in toolchain/versions.env.
#
# Two modes:
# - Installed CLI (default when one is there): a `pulumi` on PATH in
#   [PULUMI_MIN_VERSION, 4) with a `pulumi-language-nodejs` is used as it is; the
#   engine downloads the plugins itself on first use (online). Nothing is built.
# - Offline build: when no compatible `pulumi` is installed, or when asked with
#   RST_TOOLCHAIN_OFFLINE=1 (CI and the lab set it). Builds the missing binaries
#   from Go modules (wrapper modules in toolchain/go/) and installs the plugins
#   with `pulumi plugin install ... --file` (offline). Each binary is cached on
#   its own under ${RST_CACHE_DIR:-/var/cache/reverse-ssh-tunnel}/toolchain/bins/,
#   keyed by its wrapper module, so changing one rebuilds only that one; the set
#   for the current versions is hard-linked into .../toolchain/<key>/{bin,plugins}.
#   A heartbeat line goes to stderr at least every 10 s while building.
#
# Prints `PULUMI_BIN=<dir>` last, on stdout (callers parse it); progress goes to stderr.
#
# RST_TOOLCHAIN_OFFLINE=1 forces the offline build; RST_TOOLCHAIN_REBUILD=1 (implies
# it) discards the cached binaries of the current key first.
#
# Usage: setup.sh [--with NAME]... [--all]. By default only what a TypeScript program's
# `pulumi up` needs is built (the CLI, the Node.js host, the two providers); the
# YAML host and the SDK generators are built when a caller names them (`npm test`
# does) or with --all.
set -euo pipefail

TC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$TC_DIR/lib.sh"
rst_toolchain_load_versions

WANTED_EXTRAS=()
while [ $# -gt 0 ]; do
	case "$1" in
	--all) mapfile -t WANTED_EXTRAS < <(rst_toolchain_extra_binaries) ;;
	--with)
		rst_toolchain_extra_binaries | grep -qxF -- "${2:-}" ||
			{ echo "toolchain/setup.sh: --with takes one of: $(rst_toolchain_extra_binaries | tr '\n' ' ')(got '${2:-}')" >&2; exit 2; }
		WANTED_EXTRAS+=("$2")
		shift
		;;
	*) echo "toolchain/setup.sh: unknown argument '$1' (usage: setup.sh [--with NAME]... [--all])" >&2; exit 2 ;;
	esac
	shift
done

SETUP_START="$(date +%s)"
log() { printf '[toolchain %s +%ss] %s\n' "$(date +%H:%M:%S)" "$(($(date +%s) - SETUP_START))" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

done_with() {
	printf 'PULUMI_BIN=%s\n' "$1"
	exit 0
}

PULUMI_HOME_DIR="${PULUMI_HOME:-$HOME/.pulumi}"
CACHE_ROOT="$(rst_toolchain_cache_root)"
KEY="$(rst_toolchain_key)"
KEY_DIR="$CACHE_ROOT/$KEY"
BIN_DIR="$KEY_DIR/bin"
PLUGIN_DIR="$KEY_DIR/plugins"
# The lowest claimed CLI's own bin dir (rst_toolchain_lowest_bin_dir), its ../libexec beside it.
LOWEST_DIR="$KEY_DIR/lowest"
STORE="$CACHE_ROOT/bins"

OFFLINE="${RST_TOOLCHAIN_OFFLINE:-0}"
[ "${RST_TOOLCHAIN_REBUILD:-}" = 1 ] && OFFLINE=1

# --- installed CLI (online) ---------------------------------------------------

if [ "$OFFLINE" != 1 ] && command -v pulumi >/dev/null 2>&1; then
	if path_bin="$(rst_toolchain_installed_cli)"; then
		log "using the installed $path_bin/pulumi ($("$path_bin/pulumi" version)); the engine downloads the command $COMMAND_VERSION and tls $TLS_VERSION plugins on first use (set RST_TOOLCHAIN_OFFLINE=1 to build the offline toolchain instead)"
		done_with "$path_bin"
	fi
	log "no usable installed pulumi (reason above): building the offline toolchain"
fi

# --- offline build ------------------------------------------------------------

rst_toolchain_export_offline_env

# plugin_installed KIND NAME VERSION: the plugin is in the Pulumi plugin cache.
plugin_installed() {
	local dir="$PULUMI_HOME_DIR/plugins/$1-$2-v$3"
	[ -x "$dir/pulumi-$1-$2" ] && [ ! -e "$dir.partial" ]
}

# plugin_is_ours NAME VERSION: the installed resource plugin is the cached build.
plugin_is_ours() {
	plugin_installed resource "$1" "$2" &&
		cmp -s "$PLUGIN_DIR/pulumi-resource-$1" "$PULUMI_HOME_DIR/plugins/resource-$1-v$2/pulumi-resource-$1"
}

# cli_ok DIR: DIR has a pulumi of the wanted version, the Node.js language host (shim
# and, in ../libexec, the upstream host behind it) and the extras asked for.
cli_ok() {
	local extra
	for extra in "${WANTED_EXTRAS[@]}"; do
		case "$extra" in
		pulumi-lowest) [ -x "$LOWEST_DIR/bin/pulumi" ] && [ -x "$LOWEST_DIR/bin/pulumi-language-nodejs" ] || return 1 ;;
		*) [ -x "$1/$extra" ] || return 1 ;;
		esac
	done
	if printf '%s\n' "${WANTED_EXTRAS[@]}" | grep -qx rst-sdkgen; then
		[ -x "$1/pulumi-language-python" ] && [ -x "$1/pulumi-language-go" ] && [ -x "$1/pulumi-language-dotnet" ] || return 1
	fi
	[ -x "$1/pulumi" ] && [ -x "$1/pulumi-language-nodejs" ] &&
		[ -x "$1/../libexec/pulumi-language-nodejs" ] &&
		[ "$("$1/pulumi" version 2>/dev/null)" = "v$PULUMI_VERSION" ]
}

if [ "${RST_TOOLCHAIN_REBUILD:-}" = 1 ]; then
	log "RST_TOOLCHAIN_REBUILD=1: discarding $KEY_DIR and its binaries"
	for name in $(rst_toolchain_binaries); do
		rm -rf "${STORE:?}/$(rst_toolchain_binary_key "$name")"
	done
	rm -rf "$KEY_DIR"
elif cli_ok "$BIN_DIR" && plugin_is_ours command "$COMMAND_VERSION" && plugin_is_ours tls "$TLS_VERSION"; then
	# The cached build for these versions, its plugins already installed.
	done_with "$BIN_DIR"
fi

mkdir -p "$CACHE_ROOT"
# One build at a time per cache (two sessions may run setup.sh at once).
if command -v flock >/dev/null 2>&1; then
	exec 9>"$CACHE_ROOT/.lock"
	waited=0
	until flock -w 10 9; do
		waited=$((waited + 10))
		log "waiting for another toolchain build to finish (lock $CACHE_ROOT/.lock) ... ${waited}s"
	done
fi

mkdir -p "$KEY_DIR" "$STORE"
BUILD_LOG="$KEY_DIR/build.log"

# require_in FILE TEXT: the wrapper's go.mod records the version in versions.env.
require_in() {
	grep -qF "$2" "$TC_DIR/go/$1" ||
		die "toolchain/go/$1 does not contain '$2' (from versions.env): update one or the other"
}

GO_READY=0
setup_go() {
	[ "$GO_READY" = 1 ] && return 0
	if ! command -v go >/dev/null 2>&1; then
		[ -x /usr/local/go/bin/go ] ||
			die "Go is not installed (need Go >= 1.26; or install the Pulumi CLI >= $PULUMI_MIN_VERSION and run without RST_TOOLCHAIN_OFFLINE=1)"
		export PATH="/usr/local/go/bin:$PATH"
	fi
	export GOFLAGS="-trimpath -buildvcs=false -mod=readonly"
	export GOTOOLCHAIN=local
	log "using $(go version)"
	GO_READY=1
}

# with_heartbeat LABEL CMD...: runs CMD with its output in the build log and a
# progress line on stderr every 10 s (a cold `go build` is silent for minutes).
with_heartbeat() {
	local label="$1" start pid next=10 elapsed status=0
	shift
	start="$(date +%s)"
	"$@" >>"$BUILD_LOG" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		elapsed=$(($(date +%s) - start))
		if [ "$elapsed" -ge "$next" ]; then
			log "$label ... ${elapsed}s"
			next=$((next + 10))
		fi
	done
	wait "$pid" || status=$?
	return "$status"
}

# go_build_in MODULE_DIR LDFLAGS OUTPUT PACKAGE (runs in a background subshell).
# shellcheck disable=SC2317 # invoked through with_heartbeat
go_build_in() {
	cd "$1" && go build -p "$(nproc)" -ldflags "-s -w $2" -o "$3" "$4"
}

# go_build NAME MODULE_DIR PACKAGE OUTPUT LDFLAGS: go build with timing and heartbeat.
go_build() {
	local name="$1" moddir="$2" pkg="$3" out="$4" ldflags="$5" start secs
	start="$(date +%s)"
	log "building $name ..."
	if ! with_heartbeat "building $name" \
		go_build_in "$moddir" "$ldflags" "$out.tmp" "$pkg"; then
		tail -n 30 "$BUILD_LOG" >&2
		die "building $name failed (log: $BUILD_LOG)"
	fi
	mv -f "$out.tmp" "$out"
	secs=$(($(date +%s) - start))
	log "built $name in ${secs}s"
	printf 'built %s in %ss\n' "$name" "$secs" >>"$BUILD_LOG"
}

VERSION_X=github.com/pulumi/pulumi/sdk/v3/go/common/version.Version

# build_binary NAME OUT_DIR: builds NAME (see rst_toolchain_binaries) into OUT_DIR.
build_binary() {
	local name="$1" out="$2/$1"
	case "$name" in
	pulumi)
		require_in pulumi/go.mod "$PULUMI_PKG_MODULE $PULUMI_PKG_MODULE_VERSION"
		go_build pulumi "$TC_DIR/go/pulumi" "$PULUMI_PKG_MODULE/cmd/pulumi" "$out" \
			"-X $VERSION_X=v$PULUMI_VERSION"
		;;
	pulumi-lowest)
		require_in pulumi-lowest/go.mod "$PULUMI_PKG_MODULE $PULUMI_LOWEST_PKG_MODULE_VERSION"
		go_build pulumi-lowest "$TC_DIR/go/pulumi-lowest" "$PULUMI_PKG_MODULE/cmd/pulumi" "$out" \
			"-X $VERSION_X=v$PULUMI_MIN_VERSION"
		;;
	pulumi-language-nodejs-upstream)
		require_in pulumi-language-nodejs-upstream/go.mod "$LANGUAGE_HOST_MODULE $LANGUAGE_HOST_MODULE_VERSION"
		go_build pulumi-language-nodejs-upstream "$TC_DIR/go/pulumi-language-nodejs-upstream" \
			"$LANGUAGE_HOST_MODULE/nodejs/cmd/pulumi-language-nodejs" "$out" \
			"-X $VERSION_X=v$LANGUAGE_HOST_VERSION"
		;;
	pulumi-language-nodejs)
		# The project's shim: forwards to the upstream host, implements RunPlugin.
		require_in pulumi-language-nodejs/go.mod "$PULUMI_SDK_MODULE $PULUMI_SDK_MODULE_VERSION"
		go_build pulumi-language-nodejs "$TC_DIR/go/pulumi-language-nodejs" . "$out" ""
		;;
	rst-sdkgen)
		require_in rst-sdkgen/go.mod "$PULUMI_PKG_MODULE $SDKGEN_PKG_MODULE_VERSION"
		go_build rst-sdkgen "$TC_DIR/go/rst-sdkgen" . "$out" "-X main.Version=$SDKGEN_VERSION"
		;;
	rst-sdkgen-dotnet)
		require_in rst-sdkgen-dotnet/go.mod "$PULUMI_PKG_MODULE $DOTNET_CODEGEN_PKG_MODULE_VERSION"
		go_build rst-sdkgen-dotnet "$TC_DIR/go/rst-sdkgen-dotnet" . "$out" ""
		;;
	pulumi-language-yaml)
		require_in pulumi-language-yaml/go.mod "$PULUMI_YAML_MODULE $PULUMI_YAML_MODULE_VERSION"
		go_build pulumi-language-yaml "$TC_DIR/go/pulumi-language-yaml" \
			"$PULUMI_YAML_MODULE/cmd/pulumi-language-yaml" "$out" \
			"-X $PULUMI_YAML_MODULE/pkg/version.Version=v$YAML_LANGUAGE_HOST_VERSION"
		;;
	pulumi-resource-command)
		require_in pulumi-resource-command/go.mod "$PULUMI_SDK_MODULE $PULUMI_SDK_MODULE_VERSION"
		require_in pulumi-resource-command/go.mod "$COMMAND_SFTP_MODULE $COMMAND_SFTP_MODULE_VERSION"
		go_build pulumi-resource-command "$TC_DIR/go/pulumi-resource-command" . "$out" \
			"-X main.Version=$COMMAND_VERSION"
		;;
	pulumi-resource-tls)
		require_in pulumi-resource-tls/go.mod "$TERRAFORM_BRIDGE_MODULE $TERRAFORM_BRIDGE_MODULE_VERSION"
		require_in pulumi-resource-tls/go.mod "$TERRAFORM_PLUGIN_SDK_FORK $TERRAFORM_PLUGIN_SDK_FORK_VERSION"
		require_in pulumi-resource-tls/shim/go.mod "$TLS_UPSTREAM_MODULE $TLS_UPSTREAM_MODULE_VERSION"
		# The provider embeds a schema generated by pulumi-tfgen-tls: build in a
		# scratch copy so that the repository stays untouched.
		local work="$2/work" tls_x
		tls_x="-X rst.local/toolchain/pulumi-resource-tls/provider.Version=$TLS_VERSION"
		rm -rf "$work"
		mkdir -p "$work"
		cp -R "$TC_DIR/go/pulumi-resource-tls" "$work/tls"
		printf '{}\n' >"$work/tls/cmd/pulumi-resource-tls/schema.json"
		printf '{}\n' >"$work/tls/cmd/pulumi-resource-tls/bridge-metadata.json"
		go_build pulumi-tfgen-tls "$work/tls" ./cmd/pulumi-tfgen-tls "$work/pulumi-tfgen-tls" "$tls_x"
		log "generating the tls schema ..."
		if ! (cd "$work" && "$work/pulumi-tfgen-tls" schema --out "$work/tls/cmd/pulumi-resource-tls") \
			>>"$BUILD_LOG" 2>&1; then
			tail -n 30 "$BUILD_LOG" >&2
			die "generating the tls schema failed (log: $BUILD_LOG)"
		fi
		go_build pulumi-resource-tls "$work/tls" ./cmd/pulumi-resource-tls "$out" "$tls_x"
		rm -rf "$work"
		;;
	*) die "unknown binary $name" ;;
	esac
}

# link_into SRC DEST: DEST is a hard link of SRC (a copy across file systems). Not a
# symlink: the CLI looks for language hosts beside its own resolved path.
link_into() {
	ln -f "$1" "$2" 2>/dev/null || cp -f "$1" "$2"
}

# provide NAME DEST_DIR [DEST_NAME]: DEST_DIR/DEST_NAME (default NAME) is the cached
# build of NAME for its current key, building it first when the store lacks it.
provide() {
	local name="$1" dest="$2" dest_name="${3:-$1}" store_dir
	store_dir="$STORE/$(rst_toolchain_binary_key "$name")"
	if [ ! -x "$store_dir/$name" ]; then
		setup_go
		rm -rf "$store_dir.tmp"
		mkdir -p "$store_dir.tmp"
		build_binary "$name" "$store_dir.tmp"
		rm -rf "$store_dir"
		mv "$store_dir.tmp" "$store_dir"
	fi
	mkdir -p "$dest"
	link_into "$store_dir/$name" "$dest/$dest_name"
}

printf '== %s (%s) on %s cores\n' "$KEY" "$(date -u +%FT%TZ)" "$(nproc)" >>"$BUILD_LOG"
cp "$TC_DIR/versions.env" "$KEY_DIR/versions.env"
for name in $(rst_toolchain_core_binaries) "${WANTED_EXTRAS[@]}"; do
	dest_name="$name"
	case "$name" in
	pulumi-resource-*) dest="$PLUGIN_DIR" ;;
	# Off PATH, where the shim looks for it (bin/../libexec/pulumi-language-nodejs).
	pulumi-language-nodejs-upstream) dest="$KEY_DIR/libexec" dest_name=pulumi-language-nodejs ;;
	# Its own bin dir (the CLI looks for language hosts beside itself), filled below.
	pulumi-lowest) dest="$LOWEST_DIR/bin" dest_name=pulumi ;;
	*) dest="$BIN_DIR" ;;
	esac
	[ -x "$dest/$dest_name" ] || provide "$name" "$dest" "$dest_name"
	# rst-sdkgen is also the python/go/dotnet language plugin (GeneratePackage only): by name.
	if [ "$name" = rst-sdkgen ]; then
		for lang in python go dotnet; do
			[ -x "$BIN_DIR/pulumi-language-$lang" ] || provide rst-sdkgen "$BIN_DIR" "pulumi-language-$lang"
		done
	fi
done
# The lowest CLI gets the same language hosts (hard links): a bin dir of its own whose
# ../libexec holds the upstream Node.js host, as the shim expects.
if [ -x "$LOWEST_DIR/bin/pulumi" ]; then
	mkdir -p "$LOWEST_DIR/libexec"
	for f in "$BIN_DIR"/* "$KEY_DIR"/libexec/*; do
		case "$f" in "$BIN_DIR/pulumi") continue ;; "$KEY_DIR"/libexec/*) d="$LOWEST_DIR/libexec" ;; *) d="$LOWEST_DIR/bin" ;; esac
		link_into "$f" "$d/$(basename "$f")"
	done
	[ "$("$LOWEST_DIR/bin/pulumi" version 2>/dev/null)" = "v$PULUMI_MIN_VERSION" ] ||
		die "$LOWEST_DIR/bin/pulumi does not report v$PULUMI_MIN_VERSION"
fi
log "toolchain ready in $KEY_DIR (build log: $BUILD_LOG)"

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

cli_ok "$BIN_DIR" || die "$BIN_DIR/pulumi does not report v$PULUMI_VERSION"
install_plugin command "$COMMAND_VERSION"
install_plugin tls "$TLS_VERSION"
if ! plugin_is_ours command "$COMMAND_VERSION" || ! plugin_is_ours tls "$TLS_VERSION"; then
	die "the resource plugins are not in $PULUMI_HOME_DIR/plugins after installing"
fi
done_with "$BIN_DIR"
