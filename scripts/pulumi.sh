#!/usr/bin/env bash
# `npm run pulumi -- <args>`: runs the project's Pulumi CLI (toolchain/setup.sh's
# choice: an installed compatible CLI, else the offline build) with this project's
# backend and passphrase (scripts/stack-env.sh) on the stack chosen by
# `--stack NAME` / `-s NAME` in <args>, else $RST_STACK, else `main` (the demo's).
# The stack is selected (created on first use) before <args> run, so
#   npm run pulumi -- preview
#   npm run pulumi -- stack output sshConfig
#   npm run pulumi -- up --stack home
# need nothing else. `npm run --silent pulumi -- --print-env` prints `export` lines for
# the current shell instead (eval "$(npm run --silent pulumi -- --print-env)").
set -euo pipefail
cd "$(dirname "$0")/.."

stack="${RST_STACK:-main}"
print_env=0
args=()
while [ "$#" -gt 0 ]; do
    case "$1" in
    --print-env) print_env=1 ;;
    -s | --stack)
        [ "$#" -ge 2 ] || { echo "error: $1 needs a stack name" >&2; exit 2; }
        stack="$2"
        args+=("$1" "$2")
        shift
        ;;
    --stack=*)
        stack="${1#--stack=}"
        args+=("$1")
        ;;
    *) args+=("$1") ;;
    esac
    shift
done

stack_file="Pulumi.$stack.yaml"
if [ ! -f "$stack_file" ]; then
    echo "error: no stack file $stack_file: create it with 'npm run setup -- --stack $stack ...' (guided setup for real hosts)" >&2
    exit 1
fi

# The toolchain: nothing to do (about 0.4 s) once it is there; progress on stderr.
bash toolchain/setup.sh >/dev/null
# shellcheck source=/dev/null
. toolchain/env.sh
# shellcheck source=scripts/stack-env.sh
. scripts/stack-env.sh
rst_stack_env "$stack_file" || exit 1

if [ "$print_env" = 1 ]; then
    printf 'export PATH=%q\n' "$PATH"
    printf 'export PULUMI_BACKEND_URL=%q\n' "$PULUMI_BACKEND_URL"
    for v in PULUMI_SKIP_UPDATE_CHECK PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION PULUMI_DISABLE_REGISTRY_RESOLVE; do
        [ -n "${!v:-}" ] && printf 'export %s=%q\n' "$v" "${!v}"
    done
    # Only the lab's published passphrase is printed; a real stack's stays where the operator keeps it.
    if [ "${PULUMI_CONFIG_PASSPHRASE:-}" = "$RST_LAB_PASSPHRASE" ]; then
        printf 'export PULUMI_CONFIG_PASSPHRASE=%q\n' "$PULUMI_CONFIG_PASSPHRASE"
    fi
    printf 'pulumi stack select %q\n' "$stack"
    exit 0
fi

# Select the stack first (creating it on first use), except for commands that do not
# work on one stack; `stack rm` without a name removes the chosen stack, never creates it.
case "${args[0]:-} ${args[1]:-}" in
" " | "stack ls"* | "stack rm"* | version* | about* | whoami* | plugin* | login* | logout* | help* | --help* | -h* | --version*)
    [ "${args[0]:-} ${args[1]:-}" = "stack rm" ] && { pulumi stack select "$stack" >/dev/null 2>&1 || true; }
    ;;
*) pulumi stack select --create "$stack" --non-interactive >/dev/null ;;
esac
exec pulumi "${args[@]}"
