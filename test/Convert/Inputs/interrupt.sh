#!/usr/bin/env bash
# Interrupts weight-layout-convert half-way and checks that nothing is left
# under --to: SIGTERM and SIGINT remove the staging folder; after SIGKILL it
# stays under its temporary name only, and the next run removes it.
# usage: interrupt.sh CONVERT SPEC FROM WORKDIR
set -u
convert=$1 spec=$2 from=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
run() { WL_CONVERT_TEST_STALL_MS=100 "$convert" --mapping "$spec" --from "$from" --to "$work/out" --tp 2 --quiet "$@" & }
for sig in TERM INT KILL; do
  run
  pid=$!
  sleep 0.7
  kill -$sig $pid
  wait $pid
  rc=$?
  echo "SIG$sig: exit $rc"
  if [ -e "$work/out" ]; then echo "SIG$sig: --to exists"; fi
  ls "$work" | sed "s/[0-9][0-9]*$/PID/" | sed "s/^/SIG$sig: left: /"
done
# The next run replaces the stale staging folder of the killed process.
"$convert" --mapping "$spec" --from "$from" --to "$work/out" --tp 2 --quiet && echo "rerun: ok"
ls "$work" | sed "s/^/after rerun: /"
