#!/usr/bin/env bash
# CPU conversion benchmark (docs/benchmarks.md): a generated Qwen3-8B-shaped
# Hugging Face checkpoint (bench/configs/qwen3-8b-config.json, 8 layers by
# default: 5.58 GB), page cache warm, converted to vLLM TP=2 and to
# Megatron-Core TP=2 by weight-layout-convert (as it runs by default, fsync'ed,
# and with --no-fsync), side by side with `cp -r` of the same checkpoint
# (without and with a closing `sync`) and with a libtorch eager conversion
# written the way the frameworks' loaders do it (bench/torch-eager/:
# torch::cat / chunk / contiguous, then saving). Each command runs RUNS
# times; the output folder is removed and `sync`ed between runs; the table
# gives the median wall time, GB/s of data written and peak RSS. Then peak
# RSS of weight-layout-convert for checkpoints of 2 and LAYERS layers.
#
# usage: bench/convert.sh [-n RUNS] [-l LAYERS] [-d WORKDIR]
set -euo pipefail
runs=3 layers=8 work=${TMPDIR:-/tmp}/wl-bench
while getopts "n:l:d:" o; do
  case $o in
    n) runs=$OPTARG ;; l) layers=$OPTARG ;; d) work=$OPTARG ;;
    *) echo "usage: $0 [-n RUNS] [-l LAYERS] [-d WORKDIR]"; exit 2 ;;
  esac
done
source "$(dirname "$0")/../scripts/lib.sh"
wl_build weight-layout-convert weight-layout-gen weight-layout-diff >&2
bin=$WL_BUILD/bin
torch=""
if dpkg -s libtorch-dev >/dev/null 2>&1; then
  torch=$("$WL_ROOT/bench/torch-eager/build.sh" 2>&1 | tail -1)
else
  echo "libtorch-dev is not installed: the libtorch eager rows are skipped" >&2
fi
mkdir -p "$work"
cfg=$WL_ROOT/bench/configs/qwen3-8b-config.json
gen() { # layers -> folder
  local d=$work/hf-$1
  [ -d "$d" ] || "$bin/weight-layout-gen" --config "$cfg" --layers "$1" --to "$d" >&2
  echo "$d"
}
hf=$(gen "$layers")
bytes_of() { du -sb --apparent-size "$1" | cut -f1; }
src_bytes=$(bytes_of "$hf")

# one NAME OUT CMD...: runs CMD $runs times (OUT removed and synced before
# each), prints "NAME|median s|GB/s|peak RSS MB".
one() {
  local name=$1 out=$2; shift 2
  local times=() rss=0
  for ((i = 0; i < runs; i++)); do
    rm -rf "$out"; sync
    cat "$hf"/*.safetensors >/dev/null # page cache warm
    local t0 t1
    t0=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$work/rss" "$@" >/dev/null
    t1=$(date +%s.%N)
    times+=("$(echo "$t1 - $t0" | bc -l)")
    local r; r=$(tail -1 "$work/rss")
    [ "$r" -gt "$rss" ] && rss=$r
  done
  local med; med=$(printf '%s\n' "${times[@]}" | sort -g | sed -n "$(((runs + 1) / 2))p")
  local b; b=$(bytes_of "$out")
  printf '%s|%.2f|%.2f|%.0f|%s\n' "$name" "$med" "$(echo "$b / $med / 1000000000" | bc -l)" \
    "$(echo "$rss / 1024" | bc -l)" "$(printf '%.2f ' "${times[@]}")"
}

results=()
results+=("$(one 'cp -r' "$work/cp" cp -r "$hf" "$work/cp")")
results+=("$(one 'cp -r, then sync' "$work/cp" sh -c "cp -r '$hf' '$work/cp' && sync")")
for layout in vllm megatron; do
  results+=("$(one "weight-layout-convert hf→$layout TP=2, --no-fsync" "$work/wl-$layout" \
    "$bin/weight-layout-convert" --quiet --no-fsync --mapping "$WL_ROOT/mappings/qwen3/hf-to-$layout.json" \
    --from "$hf" --to "$work/wl-$layout" --tp 2)")
  results+=("$(one "weight-layout-convert hf→$layout TP=2 (fsync'ed)" "$work/wl-$layout" \
    "$bin/weight-layout-convert" --quiet --mapping "$WL_ROOT/mappings/qwen3/hf-to-$layout.json" \
    --from "$hf" --to "$work/wl-$layout" --tp 2)")
  if [ -n "$torch" ]; then
    results+=("$(one "libtorch eager hf→$layout TP=2" "$work/torch-$layout" \
      "$torch" --layout "$layout" --from "$hf" --to "$work/torch-$layout" --tp 2)")
    # The baseline computes the same bytes.
    "$bin/weight-layout-diff" "$work/wl-$layout" "$work/torch-$layout" >&2
  fi
done

echo
echo "checkpoint: $hf ($(echo "$src_bytes / 1000000000" | bc -l | xargs printf '%.2f') GB, $layers layers), $runs runs each"
echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r), filesystem $(df -T "$work" | awk 'NR==2{print $2}')"
echo
echo "| command | median s | GB/s written | peak RSS (MB) | runs (s) |"
echo "|---|---:|---:|---:|---|"
for r in "${results[@]}"; do
  IFS='|' read -r name med rate rss all <<<"$r"
  echo "| $name | $med | $rate | $rss | $all |"
done
echo
# Peak memory does not grow with the checkpoint.
small=$(gen 2)
for d in "$small" "$hf"; do
  rm -rf "$work/rss-out"; sync
  /usr/bin/time -f "%M" -o "$work/rss" "$bin/weight-layout-convert" --quiet \
    --mapping "$WL_ROOT/mappings/qwen3/hf-to-vllm.json" --from "$d" --to "$work/rss-out" --tp 2
  echo "peak RSS, hf→vllm TP=2 of $(echo "$(bytes_of "$d") / 1000000000" | bc -l | xargs printf '%.2f') GB: $(echo "$(tail -1 "$work/rss") / 1024" | bc -l | xargs printf '%.0f') MB"
done
rm -rf "$work/rss-out" "$work/cp" "$work"/wl-* "$work"/torch-*
