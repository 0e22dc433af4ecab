# shellcheck source-path=SCRIPTDIR
# shellcheck shell=bash
# Source this file (`. toolchain/env.sh`) to use the project's Pulumi toolchain,
# chosen like setup.sh: an installed compatible `pulumi` as it is (online plugin
# acquisition), unless RST_TOOLCHAIN_OFFLINE=1 or there is none; then the offline
# build's bin dir (pulumi + language hosts) goes first on PATH and the offline
# settings are exported. The backend URL and passphrase are left to the project. Run
# toolchain/setup.sh first (it prints the same bin dir). RST_PULUMI_CLI=lowest takes the
# lowest CLI the library claims (PULUMI_MIN_VERSION, built by `setup.sh --with
# pulumi-lowest` or `--all`) with the same language hosts, instead of the newest.

_rst_tc_env_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$_rst_tc_env_dir/lib.sh"

rst_toolchain_load_versions

_rst_tc_bin="$(rst_toolchain_bin_dir)"
[ "${RST_PULUMI_CLI:-}" != lowest ] || _rst_tc_bin="$(rst_toolchain_lowest_bin_dir)"
# Same choice as setup.sh: an installed compatible CLI unless RST_TOOLCHAIN_OFFLINE=1.
if [ "${RST_TOOLCHAIN_OFFLINE:-0}" != 1 ] && _rst_tc_installed="$(rst_toolchain_installed_cli 2>/dev/null)"; then
	export PULUMI_BIN="$_rst_tc_installed"
elif [ -x "$_rst_tc_bin/pulumi" ] && [ -x "$_rst_tc_bin/pulumi-language-nodejs" ]; then
	case ":$PATH:" in
	*":$_rst_tc_bin:"*) ;;
	*) export PATH="$_rst_tc_bin:$PATH" ;;
	esac
	export PULUMI_BIN="$_rst_tc_bin"
	rst_toolchain_export_offline_env
else
	echo "toolchain/env.sh: $_rst_tc_bin is not built yet: run toolchain/setup.sh$([ "${RST_PULUMI_CLI:-}" != lowest ] || echo ' --with pulumi-lowest')" >&2
fi
unset _rst_tc_env_dir _rst_tc_bin _rst_tc_installed
