#!/usr/bin/env bash
# Builds the libFuzzer target of the safetensors header parser with clang
# (-fsanitize=fuzzer,address,undefined), without configuring the project,
# writes a seed corpus and runs the fuzzer.
#
#   scripts/fuzz-safetensors.sh [SECONDS] [libFuzzer options...]
#
# SECONDS (default 60) goes to -max_total_time. The build and the corpus go
# to build-fuzz/ (WL_FUZZ_BUILD=dir to change it; CLANGXX=clang++-14 to pick
# the compiler). The corpus grows across runs in build-fuzz/corpus; crashes
# land in build-fuzz/artifacts. Exit status: libFuzzer's (0: no crash).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# The tiny real checkpoints beside the checkout (or $WL_SHARED), as seeds.
shared=${WL_SHARED:-$root/../shared}
seconds=${1:-60}
[ $# -gt 0 ] && shift
out=${WL_FUZZ_BUILD:-$root/build-fuzz}
cxx=${CLANGXX:-clang++}
flags=(-std=c++17 -O2 -g -fno-omit-frame-pointer -I"$root/include")
fuzz=(-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)

mkdir -p "$out/corpus" "$out/seeds" "$out/artifacts"
srcs=("$root"/lib/Safetensors/*.cpp "$root"/lib/Support/*.cpp "$root"/lib/Layout/*.cpp)

echo "== building $out/fuzz-safetensors-header"
"$cxx" "${flags[@]}" "${fuzz[@]}" "${srcs[@]}" \
  "$root/tools/fuzz-safetensors/FuzzHeader.cpp" -o "$out/fuzz-safetensors-header"
"$cxx" "${flags[@]}" "${srcs[@]}" \
  "$root/tools/fuzz-safetensors/MakeSeeds.cpp" -o "$out/make-seeds"

echo "== seeds"
rm -f "$out"/seeds/seed-*
shopt -s nullglob
"$out/make-seeds" "$out/seeds" "$shared"/checkpoints/hf/*/model.safetensors

echo "== fuzzing for $seconds s"
log="$out/fuzz.log"
set +e
(cd "$out" && ./fuzz-safetensors-header \
  -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 \
  -timeout=10 -max_len=32768 -dict="$root/tools/fuzz-safetensors/safetensors.dict" \
  -artifact_prefix="$out/artifacts/" "$@" corpus seeds) 2>&1 | tee "$log" |
  grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^Done|^stat::|ERROR|SUMMARY|==[0-9]+==' || true
rc=${PIPESTATUS[0]}
set -e

echo "== summary"
grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true
grep -E '^Done [0-9]+ runs' "$log" | tail -1 || true
grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$log" || true
echo "corpus: $(ls "$out/corpus" | wc -l) files"
crashes=$(ls "$out/artifacts" | wc -l)
echo "artifacts (crashes, leaks, timeouts, OOMs): $crashes"
exit "$rc"
