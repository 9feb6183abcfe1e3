#!/usr/bin/env bash
# A source file truncated while it is converted: the read of the vanished
# pages must not kill the tool (SIGBUS), the conversion fails with one
# message, and nothing is left behind.
# usage: truncate.sh CONVERT SPEC FROM WORKDIR
set -u
convert=$1 spec=$2 from=$3 work=$4
rm -rf "$work" && mkdir -p "$work" && cp -r "$from" "$work/src"
WL_CONVERT_TEST_STALL_MS=100 "$convert" --mapping "$spec" --from "$work/src" \
  --to "$work/out" --tp 2 --quiet 2>"$work/err" &
pid=$!
# Once the staging folder exists the source is open and being read.
for _ in $(seq 200); do
  ls -d "$work"/out.wl-tmp-* >/dev/null 2>&1 && break
  sleep 0.1
done
sleep 0.3
truncate -s 4096 "$work/src/model.safetensors"
wait $pid
echo "exit: $?"
sed "s|$work/||" "$work/err"
ls "$work" | grep -v '^err$' | sed 's/^/left: /'
