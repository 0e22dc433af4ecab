#!/bin/bash
# sandbox.sh ROOT WORKDIR CASES: runs worker.sh on the cases (one id per line of the
# file CASES) in a private mount and network namespace: /etc/ssh, /run, /etc/passwd
# and /etc/group are scratch copies there, so nothing of this machine (or of the cached
# Debian root ROOT, seen through an overlay) is changed. ROOT "/" uses this machine's
# own sshd. Only loopback exists in the network namespace (127.0.0.1, ::1).
set -euo pipefail
root=$1 work=$2 cases=$3
here=$(cd "$(dirname "$0")" && pwd)
exec unshare --mount --net --propagation private -- bash -c '
set -euo pipefail
root=$1 work=$2 cases=$3 here=$4
ip link set lo up
if [ "$root" = / ]; then
    top=/
else
    top=$(mktemp -d /tmp/rst-diff-root.XXXXXX)
    mount -t tmpfs tmpfs "$top"
    mkdir "$top/upper" "$top/work" "$top/merged"
    mount -t overlay overlay -o "lowerdir=$root,upperdir=$top/upper,workdir=$top/work" "$top/merged"
    top=$top/merged
    mount --bind /proc "$top/proc"
    mount --bind /dev "$top/dev"
fi
mkdir -p "$top/rst-diff"
mount --bind "$work" "$top/rst-diff"
mount -t tmpfs tmpfs "$top/run"
mount -t tmpfs tmpfs "$top/etc/ssh"
for f in passwd group; do
    cp "$top/etc/$f" "$top/run/base-$f"
    cp "$top/etc/$f" "$top/run/$f"
    mount --bind "$top/run/$f" "$top/etc/$f"
done
cp "$here/worker.sh" "$top/run/worker.sh"
cp "$cases" "$top/run/cases"
exec chroot "$top" bash /run/worker.sh /rst-diff /run/cases
' sandbox "$root" "$work" "$cases" "$here"
