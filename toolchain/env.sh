# shellcheck source-path=SCRIPTDIR
# shellcheck shell=bash
# Source this file (`. toolchain/env.sh`) to use the project's Pulumi toolchain:
# when the offline build for the current versions exists, puts its bin dir
# (pulumi + pulumi-language-nodejs) first on PATH and exports the offline
# settings; otherwise uses the installed `pulumi` as it is (online plugin
# acquisition). The backend URL and passphrase are left to the project. Run
# toolchain/setup.sh first (it prints the same bin dir).

_rst_tc_env_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$_rst_tc_env_dir/lib.sh"

rst_toolchain_load_versions

_rst_tc_bin="$(rst_toolchain_bin_dir)"
if [ -x "$_rst_tc_bin/pulumi" ] && [ -x "$_rst_tc_bin/pulumi-language-nodejs" ]; then
	case ":$PATH:" in
	*":$_rst_tc_bin:"*) ;;
	*) export PATH="$_rst_tc_bin:$PATH" ;;
	esac
	export PULUMI_BIN="$_rst_tc_bin"
	rst_toolchain_export_offline_env
elif command -v pulumi >/dev/null 2>&1; then
	PULUMI_BIN="$(dirname "$(command -v pulumi)")"
	export PULUMI_BIN
else
	echo "toolchain/env.sh: $_rst_tc_bin is not built yet: run toolchain/setup.sh" >&2
fi
unset _rst_tc_env_dir _rst_tc_bin
