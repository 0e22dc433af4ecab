# shellcheck shell=bash
# Helpers shared by toolchain/setup.sh and toolchain/env.sh (sourced, never run).
# Defines functions only: safe to source from an interactive shell.

# Directory of this file (toolchain/).
rst_toolchain_dir() {
	(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
}

# Loads toolchain/versions.env into the current shell (KEY=VALUE lines only).
rst_toolchain_load_versions() {
	local dir line
	dir="$(rst_toolchain_dir)"
	while IFS= read -r line || [ -n "$line" ]; do
		case "$line" in
		'' | '#'*) continue ;;
		[A-Z]*=*) export "${line?}" ;;
		esac
	done <"$dir/versions.env"
}

# Root of the binary cache (outside the repository).
rst_toolchain_cache_root() {
	printf '%s/toolchain\n' "${RST_CACHE_DIR:-/var/cache/reverse-ssh-tunnel}"
}

# Cache key: the versions plus a hash of versions.env and the wrapper modules'
# sources (go.mod, go.sum, *.go), so any change to them gets its own build.
rst_toolchain_key() {
	local dir hash
	dir="$(rst_toolchain_dir)"
	rst_toolchain_load_versions
	hash="$(
		cd "$dir" &&
			{
				printf 'versions.env\n'
				find go -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) \
					! -path '*/testdata/*' | LC_ALL=C sort
			} | while IFS= read -r f; do
				printf '%s  ' "$f"
				sha256sum <"$f" | cut -d' ' -f1
			done | sha256sum | cut -c1-12
	)"
	printf 'pulumi-%s_command-%s_tls-%s_%s\n' \
		"$PULUMI_VERSION" "$COMMAND_VERSION" "$TLS_VERSION" "$hash"
}

# Binaries of the offline toolchain, in build order (the CLI first: it installs the plugins).
# pulumi-language-nodejs is the project's shim in front of pulumi-language-nodejs-upstream
# (installed as libexec/pulumi-language-nodejs); rst-sdkgen and rst-sdkgen-dotnet write SDKs.
rst_toolchain_binaries() {
	rst_toolchain_core_binaries
	rst_toolchain_extra_binaries
}

# What `pulumi up` of a TypeScript program needs (the demo, the engine and lab tests).
rst_toolchain_core_binaries() {
	printf '%s\n' pulumi pulumi-language-nodejs-upstream pulumi-language-nodejs \
		pulumi-resource-command pulumi-resource-tls
}

# Built only when asked (`setup.sh --with NAME` or `--all`): the YAML host for the
# YAML consumer test; the SDK generators behind `pulumi package gen-sdk`/`add`
# (rst-sdkgen: Node.js through the shim, and bin/pulumi-language-{python,go,dotnet};
# rst-sdkgen-dotnet: C#) for the multi-language tests; the lowest CLI the library claims
# (pulumi-lowest) for the engine and consumer tests that run on both ends of the range.
rst_toolchain_extra_binaries() {
	printf '%s\n' pulumi-language-yaml rst-sdkgen rst-sdkgen-dotnet pulumi-lowest
}

# Version a binary reports (from versions.env; load it first).
rst_toolchain_binary_version() {
	case "$1" in
	pulumi) printf '%s\n' "$PULUMI_VERSION" ;;
	pulumi-lowest) printf '%s\n' "$PULUMI_MIN_VERSION" ;;
	pulumi-language-nodejs | pulumi-language-nodejs-upstream) printf '%s\n' "$LANGUAGE_HOST_VERSION" ;;
	pulumi-language-yaml) printf '%s\n' "$YAML_LANGUAGE_HOST_VERSION" ;;
	pulumi-resource-command) printf '%s\n' "$COMMAND_VERSION" ;;
	pulumi-resource-tls) printf '%s\n' "$TLS_VERSION" ;;
	rst-sdkgen) printf '%s\n' "$SDKGEN_VERSION" ;;
	rst-sdkgen-dotnet) printf '%s\n' "$DOTNET_CODEGEN_VERSION" ;;
	*) return 1 ;;
	esac
}

# Cache key of one binary: name, version and a hash of its wrapper module
# (every file under toolchain/go/<name>), so that a change to one wrapper
# rebuilds only that binary.
rst_toolchain_binary_key() {
	local dir version hash
	dir="$(rst_toolchain_dir)"
	rst_toolchain_load_versions
	version="$(rst_toolchain_binary_version "$1")"
	hash="$(
		cd "$dir/go" &&
			{
				printf 'version %s\n' "$version"
				find "$1" -type f ! -path '*/testdata/*' | LC_ALL=C sort | while IFS= read -r f; do
					printf '%s  ' "$f"
					sha256sum <"$f" | cut -d' ' -f1
				done
			} | sha256sum | cut -c1-12
	)"
	printf '%s-%s-%s\n' "$1" "$version" "$hash"
}

# Directory with the `pulumi` CLI and the language hosts (what goes on PATH).
rst_toolchain_bin_dir() {
	printf '%s/%s/bin\n' "$(rst_toolchain_cache_root)" "$(rst_toolchain_key)"
}

# Directory with the lowest claimed CLI (PULUMI_MIN_VERSION) and the same language hosts.
rst_toolchain_lowest_bin_dir() {
	printf '%s/%s/lowest/bin\n' "$(rst_toolchain_cache_root)" "$(rst_toolchain_key)"
}

# Directory with the resource plugin binaries (kept off PATH so that the engine
# does not treat them as ambient plugins; they are installed into PULUMI_HOME).
rst_toolchain_plugin_dir() {
	printf '%s/%s/plugins\n' "$(rst_toolchain_cache_root)" "$(rst_toolchain_key)"
}

# Prints the directory of an installed `pulumi` that the project can use as it is
# (version >= PULUMI_MIN_VERSION and < 4, a pulumi-language-nodejs beside it or on
# PATH, not one of the project's own builds); returns 1 with the reason on
# stderr otherwise. Load versions.env first.
rst_toolchain_installed_cli() {
	local pulumi_path dir version cache_root
	pulumi_path="$(command -v pulumi 2>/dev/null)" || return 1
	dir="$(dirname "$pulumi_path")"
	cache_root="$(rst_toolchain_cache_root)"
	case "$dir" in "$cache_root"/*) return 1 ;; esac
	version="$("$pulumi_path" version 2>/dev/null || true)"
	version="${version#v}"
	case "$version" in
	3.*) ;;
	*)
		echo "[toolchain] ignoring $pulumi_path: v$version is outside the supported range >= $PULUMI_MIN_VERSION, < 4" >&2
		return 1
		;;
	esac
	if [ "$(printf '%s\n%s\n' "$PULUMI_MIN_VERSION" "$version" | sort -V | head -n 1)" != "$PULUMI_MIN_VERSION" ]; then
		echo "[toolchain] ignoring $pulumi_path: v$version is outside the supported range >= $PULUMI_MIN_VERSION, < 4" >&2
		return 1
	fi
	if [ ! -x "$dir/pulumi-language-nodejs" ] && ! command -v pulumi-language-nodejs >/dev/null 2>&1; then
		echo "[toolchain] ignoring $pulumi_path: no pulumi-language-nodejs beside it or on PATH" >&2
		return 1
	fi
	printf '%s\n' "$dir"
}

# Exports the settings for running Pulumi offline (no backend URL/passphrase).
rst_toolchain_export_offline_env() {
	export PULUMI_SKIP_UPDATE_CHECK=true
	export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
	export PULUMI_DISABLE_REGISTRY_RESOLVE=true
}
