#!/bin/sh
# Runs one lab container and starts it again when the guest reboots itself
# (systemd-nspawn exits with 133 on a guest reboot), unless STOPFILE exists.
# Any other exit ends it. Before starting, it moves itself into each CGROUPDIR
# so that every container gets cgroups of its own.
# usage: supervise.sh NSPAWN_PIDFILE STOPFILE [CGROUPDIR...] -- systemd-nspawn ARGS...
set -u
pidfile=$1
stopfile=$2
shift 2
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
  if ! { mkdir -p "$1" && echo "$$" >"$1/cgroup.procs"; }; then
    echo "[lab supervisor] warning: could not join cgroup $1"
  fi
  shift
done
shift
rc=0
while :; do
  "$@" </dev/null &
  child=$!
  echo "$child" >"$pidfile"
  wait "$child"
  rc=$?
  echo "[lab supervisor] systemd-nspawn exited with status $rc at $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  if [ "$rc" -ne 133 ] || [ -e "$stopfile" ]; then
    break
  fi
  echo "[lab supervisor] guest asked for a reboot: starting it again"
done
rm -f "$pidfile"
exit "$rc"
