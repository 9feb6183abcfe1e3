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
sleep 0.7
truncate -s 4096 "$work/src/model.safetensors"
wait $pid
echo "exit: $?"
sed "s|$work/||" "$work/err"
ls "$work" | grep -v '^err$' | sed 's/^/left: /'
