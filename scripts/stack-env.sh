# shellcheck shell=bash
# Source this file from the project directory: sets the backend and passphrase for
# the `main` stack.
# - State goes to .state/pulumi, created 0700: it holds the tunnel keys and any admin
#   key read from a file.
# - The published lab passphrase is used only when the stack targets the local lab
#   (`reverse-ssh-tunnel:lab` in Pulumi.main.yaml). A stack for real hosts needs
#   PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) of the operator's own.
RST_LAB_PASSPHRASE=reverse-ssh-tunnel-lab
rst_stack_env() {
    local stack_file="${1:-Pulumi.main.yaml}" uses_lab=0
    grep -q '^  reverse-ssh-tunnel:lab: ' "$stack_file" 2>/dev/null && uses_lab=1
    mkdir -p .state && (umask 077 && mkdir -p .state/pulumi) || return 1
    chmod 700 .state/pulumi || return 1
    export PULUMI_BACKEND_URL="file://$PWD/.state/pulumi"
    if [ "$uses_lab" = 1 ]; then
        export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-$RST_LAB_PASSPHRASE}"
        return 0
    fi
    if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
        echo "error: $stack_file targets real hosts, so its state (tunnel keys, admin keys) needs a passphrase of your own:" >&2
        echo "       export PULUMI_CONFIG_PASSPHRASE_FILE=~/.config/reverse-ssh-tunnel/passphrase   (or PULUMI_CONFIG_PASSPHRASE)" >&2
        return 1
    fi
    if [ "${PULUMI_CONFIG_PASSPHRASE:-}" = "$RST_LAB_PASSPHRASE" ]; then
        echo "error: PULUMI_CONFIG_PASSPHRASE is the published lab passphrase, but $stack_file targets real hosts; choose a passphrase of your own" >&2
        return 1
    fi
    # Pulumi uses PULUMI_CONFIG_PASSPHRASE_FILE only when PULUMI_CONFIG_PASSPHRASE is unset.
    if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -n "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
        if [ ! -r "$PULUMI_CONFIG_PASSPHRASE_FILE" ]; then
            echo "error: PULUMI_CONFIG_PASSPHRASE_FILE=$PULUMI_CONFIG_PASSPHRASE_FILE cannot be read; create it (README \"Set up real hosts\", step 2)" >&2
            return 1
        fi
        if [ "$(head -n 1 "$PULUMI_CONFIG_PASSPHRASE_FILE")" = "$RST_LAB_PASSPHRASE" ]; then
            echo "error: $PULUMI_CONFIG_PASSPHRASE_FILE holds the published lab passphrase, but $stack_file targets real hosts; choose a passphrase of your own" >&2
            return 1
        fi
    fi
    return 0
}
