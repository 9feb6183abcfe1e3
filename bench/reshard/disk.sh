#!/usr/bin/env bash
# A reshard on disk against the two-step route through Hugging Face, in the
# same run (docs/benchmarks.md, "Resharding"):
#   direct:   weight-layout-convert --from A --mapping B   (rank to rank)
#   two-step: weight-layout-convert --reverse --from A; then --mapping B
# Each timed after dropping nothing (the source folder is hot in the page
# cache for both, written just before); the tool's own summary line gives
# its peak memory. The outputs are compared with diff -r.
# usage: disk.sh BINDIR WORKDIR HF-CHECKPOINT A "A-OPTIONS" B "B-OPTIONS"
set -eu
bin=$1 work=$2 hf=$3 a=$4 oa=$5 b=$6 ob=$7
conv="$bin/weight-layout-convert"
rm -rf "$work" && mkdir -p "$work"
# shellcheck disable=SC2086
"$conv" -q --no-fsync --mapping "$a" --from "$hf" --to "$work/A" $oa
du -sh "$work/A" | sed 's/^/source folder: /'
t() { local s; s=$(date +%s.%N); "$@"; echo "$(echo "$(date +%s.%N) - $s" | bc)"; }
echo "direct:"
# shellcheck disable=SC2086
d=$( { t "$conv" --no-fsync --mapping "$b" --from "$work/A" --to "$work/direct" $ob; } 2>&1 | tee /dev/stderr | tail -1)
echo "two-step:"
s1=$( { t "$conv" --no-fsync --reverse --mapping "$a" --from "$work/A" --to "$work/hf"; } 2>&1 | tee /dev/stderr | tail -1)
# shellcheck disable=SC2086
s2=$( { t "$conv" --no-fsync --mapping "$b" --from "$work/hf" --to "$work/twostep" $ob; } 2>&1 | tee /dev/stderr | tail -1)
diff -r "$work/direct" "$work/twostep" >/dev/null && echo "outputs: identical" || echo "outputs: DIFFER"
echo "direct $d s; two-step $(echo "$s1 + $s2" | bc) s ($s1 + $s2)"
