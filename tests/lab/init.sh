#!/bin/sh
# PID 1 of a migrator lab VM. tests/lab/lab.py starts it as
#   ip netns exec NETNS unshare --pid --fork --kill-child --mount-proc --mount --uts --ipc \
#       --propagation private /bin/sh init.sh VMDIR
# so it runs in the VM's own network, PID, mount, UTS and IPC namespaces. VMDIR (written by
# lab.py) holds:
#   vm.env       NAME=... (sourced)
#   mounts       one mount per line: KIND<TAB>SOURCE<TAB>TARGET, in order; KIND is
#                bind | rbind | robind (bind, then read-only) | tmpfs (SOURCE = mount options)
#   services.sh  the start lines of sshd and the VM's services (each backgrounds its daemon)
# It mounts the VM's private directories, sets the hostname, starts the services, then
# reaps orphans and waits forever: the VM lives until the lab kills this process.
set -eu
VMDIR=$1
. "$VMDIR/vm.env"
say() { echo "init[$NAME]: $*"; }

# Read everything needed from VMDIR now: when VMDIR is under /tmp, the VM's own /tmp hides it.
SERVICES=$(cat "$VMDIR/services.sh")
TAB=$(printf '\t')
while IFS=$TAB read -r kind src dst; do
  case $kind in
    '' | '#'*) continue ;;
    bind) mount --bind "$src" "$dst" ;;
    rbind) mount --rbind "$src" "$dst" ;;
    robind) mount --bind "$src" "$dst"; mount -o remount,bind,ro "$dst" ;;
    tmpfs) mount -t tmpfs -o "$src" "lab-$NAME" "$dst" ;;
    *) say "unknown mount kind '$kind'"; exit 1 ;;
  esac
done <"$VMDIR/mounts"
hostname "$NAME"
cd /
say "mounts done"

eval "$SERVICES"
say "services started"

while :; do
  wait || :                    # reaps every child, re-parented orphans included
  sleep 3600 & wait $! || :    # all services gone: keep PID 1 (and the VM) alive anyway
done
