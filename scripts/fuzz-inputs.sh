#!/usr/bin/env bash
# Builds the libFuzzer targets of the untrusted inputs other than safetensors
# files (tools/fuzz-inputs: spec, expr, config, index, manifest) with clang
# (-fsanitize=fuzzer,address,undefined), without configuring the project,
# writes the seed corpus of one target and runs it.
#
#   scripts/fuzz-inputs.sh TARGET [SECONDS] [libFuzzer options...]
#   scripts/fuzz-inputs.sh build          # only builds every target
#
# TARGET is spec (mapping specs: loadSpec, Env, forEachName), expr (one spec
# expression: parseExpr, evaluate), config (config.json under the library's
# specs), index (model.safetensors.index.json: parseIndexText) or manifest
# (weight-layout.json: parseManifest). SECONDS (default 60) goes to
# -max_total_time. The build goes to build-fuzz/ (WL_FUZZ_BUILD=dir to change
# it; CLANGXX=clang++-14 to pick the compiler); each target's corpus grows
# across runs in build-fuzz/inputs/TARGET/corpus, crashes, leaks, timeouts
# and OOMs land in build-fuzz/inputs/TARGET/artifacts, libFuzzer's output in
# build-fuzz/inputs/TARGET/fuzz.log. The regression inputs of
# test/Fuzz/TARGET are seeds too. Exit status: libFuzzer's (0: nothing found).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# The tiny real checkpoints beside the checkout (or $WL_SHARED), as seeds.
shared=${WL_SHARED:-$root/../shared}
target=${1:-}
case "$target" in
  spec | expr | config | index | manifest | build) ;;
  *)
    echo "usage: $0 spec|expr|config|index|manifest|build [SECONDS] [libFuzzer options...]" >&2
    exit 2
    ;;
esac
shift
seconds=${1:-60}
[ $# -gt 0 ] && shift
out=${WL_FUZZ_BUILD:-$root/build-fuzz}
cxx=${CLANGXX:-clang++}
flags=(-std=c++17 -g -fno-omit-frame-pointer -I"$root/include"
       -DWL_SOURCE_DIR="\"$root\"")
fuzz=(-O2 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all)
plain=(-O1)
tool=$root/tools/fuzz-inputs
shopt -s nullglob
libs=("$root"/lib/Support/*.cpp "$root"/lib/MappingSpec/*.cpp
      "$root"/lib/Convert/*.cpp "$root"/lib/Safetensors/*.cpp
      "$root"/lib/Layout/*.cpp)

# Compiles each source of "$@" into $1 (an object folder) unless its object
# is newer than it and than every header of $headers; the objects go to
# the array objs.
headers=("$root/include" "$root/lib")
compile() {
  local dir=$1 kind=$2
  shift 2
  mkdir -p "$dir"
  objs=()
  local src obj
  for src in "$@"; do
    obj=$dir/$(basename "$(dirname "$src")")-$(basename "${src%.cpp}").o
    if [ ! -e "$obj" ] || [ "$src" -nt "$obj" ] ||
       [ -n "$(find "${headers[@]}" -name '*.h' -newer "$obj" -print -quit)" ]; then
      echo "   $(basename "$src")"
      if [ "$kind" = fuzz ]; then
        "$cxx" "${flags[@]}" "${fuzz[@]}" -c "$src" -o "$obj"
      else
        "$cxx" "${flags[@]}" "${plain[@]}" -c "$src" -o "$obj"
      fi
    fi
    objs+=("$obj")
  done
}

echo "== building in $out"
compile "$out/inputs-obj/fuzz" fuzz "${libs[@]}"
fuzzObjs=("${objs[@]}")
compile "$out/inputs-obj/plain" plain "${libs[@]}"
plainObjs=("${objs[@]}")
headers+=("$tool")
targets=(spec expr config index manifest)
[ "$target" != build ] && targets=("$target")
for t in "${targets[@]}"; do
  compile "$out/inputs-obj/fuzz" fuzz "$tool/Fuzz${t^}.cpp"
  "$cxx" -fsanitize=fuzzer,address,undefined "${objs[@]}" "${fuzzObjs[@]}" \
    -o "$out/fuzz-$t"
  echo "   $out/fuzz-$t"
done
compile "$out/inputs-obj/plain" plain "$tool/MakeSeeds.cpp"
"$cxx" "${objs[@]}" "${plainObjs[@]}" -o "$out/fuzz-inputs-make-seeds"
[ "$target" = build ] && exit 0

dir=$out/inputs/$target
mkdir -p "$dir/corpus" "$dir/seeds" "$dir/artifacts"
echo "== seeds of $target"
rm -f "$dir"/seeds/*
specs=("$root"/mappings/*/*.json)
topSpecs=()
for s in "${specs[@]}"; do
  [ "$(basename "$(dirname "$s")")" = common ] || topSpecs+=("$s")
done
case "$target" in
  spec)
    for s in "${specs[@]}"; do
      cp "$s" "$dir/seeds/$(basename "$(dirname "$s")")-$(basename "$s")"
    done
    maxLen=65536
    ;;
  expr)
    "$out/fuzz-inputs-make-seeds" expr "$dir/seeds" "${topSpecs[@]}"
    maxLen=9000
    ;;
  config)
    for c in "$root"/test/Mapping/Inputs/*config*.json "$root"/examples/*config*.json \
             "$shared"/checkpoints/*/*/config.json "$shared"/checkpoints/*/config.json; do
      cp "$c" "$dir/seeds/$(echo "${c#/}" | tr / _)"
    done
    maxLen=65536
    ;;
  index)
    "$out/fuzz-inputs-make-seeds" index "$dir/seeds" \
      "$shared"/checkpoints/hf/*/model.safetensors
    for c in "$shared"/checkpoints/*/*/*.index.json "$shared"/checkpoints/*/*.index.json; do
      cp "$c" "$dir/seeds/$(echo "${c#/}" | tr / _)"
    done
    maxLen=65536
    ;;
  manifest)
    "$out/fuzz-inputs-make-seeds" manifest "$dir/seeds"
    maxLen=16384
    ;;
esac
for f in "$root"/test/Fuzz/"$target"/*; do
  cp "$f" "$dir/seeds/regression-$(basename "$f")"
done
echo "$(ls "$dir/seeds" | wc -l) seeds in $dir/seeds"

echo "== fuzzing $target for $seconds s"
log=$dir/fuzz.log
set +e
(cd "$dir" && "$out/fuzz-$target" \
  -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 \
  -timeout=10 -max_len="$maxLen" -dict="$tool/$target.dict" \
  -artifact_prefix="$dir/artifacts/" "$@" corpus seeds) 2>&1 | tee "$log" |
  grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^Done|^stat::|ERROR|SUMMARY|==[0-9]+==' || true
rc=${PIPESTATUS[0]}
set -e

echo "== summary of $target"
grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)' "$log" | tail -2 || true
grep -E '^Done [0-9]+ runs' "$log" | tail -1 || true
grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$log" || true
echo "corpus: $(ls "$dir/corpus" | wc -l) files"
echo "artifacts (crashes, leaks, timeouts, OOMs): $(ls "$dir/artifacts" | wc -l)"
exit "$rc"
