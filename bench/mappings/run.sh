#!/usr/bin/env bash
# Every mapping of the library on the CPU (docs/benchmarks.md, "Every
# mapping"): for each, a checkpoint of its source format generated at a
# released model's sizes (configs.py) with LAYERS layers and with twice as
# many, converted as weight-layout-convert runs by default (fsync'ed) and
# with --no-fsync, beside `cp -r; sync` and `cp -r` of the same input, the
# page cache warm, the output removed and synced before each. The four are
# run in turn REPS times (-r, default 1) and each figure is the median of
# its REPS, since the disk's times vary up to 3x between identical runs.
# With -c (as root) the page cache is dropped before each run and only the
# run's input read back in, so that every run starts from the same memory:
# otherwise the pages of earlier runs' inputs and outputs fill the cache
# and some runs pay for reclaiming them.
# Prints one markdown row per mapping: GB written, seconds, GB/s written,
# the ratios to cp, and the tool's two memory figures (peak resident with
# mapped source pages; allocated) at LAYERS and at 2 x LAYERS.
#
# usage: bench/mappings/run.sh [-l LAYERS] [-r REPS] [-c] [-d WORKDIR] [MAPPING ...]
#   (MAPPING as --list-mappings names it; default: every mapping)
set -euo pipefail
layers=2 reps=1 drop=0 work=${TMPDIR:-/tmp}/wl-mappings
while getopts "l:r:cd:" o; do
  case $o in
    l) layers=$OPTARG ;; r) reps=$OPTARG ;; c) drop=1 ;; d) work=$OPTARG ;;
    *) echo "usage: $0 [-l LAYERS] [-r REPS] [-c] [-d WORKDIR] [MAPPING ...]"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
case $layers in
  '' | *[!0-9]* | 0*) echo "$0: -l wants a layer count of 1 or more, not '$layers'" >&2; exit 2 ;;
esac
[ ${#layers} -le 4 ] || { echo "$0: -l $layers: too many layers for a benchmark" >&2; exit 2; }
case $reps in
  [1-9]) ;;
  *) echo "$0: -r wants a repetition count from 1 to 9, not '$reps'" >&2; exit 2 ;;
esac
if [ "$drop" = 1 ] && [ ! -w /proc/sys/vm/drop_caches ]; then
  echo "$0: -c drops the page cache and needs root (/proc/sys/vm/drop_caches)" >&2; exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib.sh"
wl_build weight-layout-convert weight-layout-gen >&2
bin=$WL_BUILD/bin
py=${PYTHON:-/usr/bin/python3}
mkdir -p "$work"
mappings=("$@")
if [ ${#mappings[@]} -eq 0 ]; then
  mapfile -t mappings < <("$bin/weight-layout-convert" --list-mappings | awk 'NF > 2 && $1 ~ /\// {print $1}')
fi

# The options each conversion runs with: two ranks where the layout has
# ranks (the usual shape of a resharded checkpoint), MaxText's rollout TP 4.
options() {
  case $1 in
    */maxtext-to-vllm-tpu) echo "--set rollout_tp=4" ;;
    */hf-to-maxtext | */hf-to-transformers) echo "" ;;
    gpt_oss/hf-to-megatron) echo "--tp 2 --etp 1" ;; # experts whole, as Megatron-Bridge keeps them
    *) echo "--tp 2" ;;
  esac
}
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
bytes_of() { du -sb --apparent-size "$1" | cut -f1; }
gb() { printf '%.2f' "$(echo "$1 / 1000000000" | bc -l)"; }
ratio() { printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# The input in the page cache (after dropping the rest of it, with -c).
warm() {
  [ "$drop" = 0 ] || echo 1 >/proc/sys/vm/drop_caches
  cat "$1"/*.safetensors >/dev/null
}
# convert IN OUT OPTS... -> "seconds|peak|allocated" (the summary's figures)
convert() {
  local in=$1 out=$2; shift 2
  rm -rf "$out"; sync; warm "$in"
  local t0 t1 line
  t0=$(date +%s.%N)
  line=$("$bin/weight-layout-convert" --mapping "$spec" --from "$in" --to "$out" "$@" 2>&1 | tail -1)
  t1=$(date +%s.%N)
  local peak alloc
  peak=$(echo "$line" | sed -n 's/.*peak memory \([0-9.]* [kMG]*B\).*/\1/p')
  alloc=$(echo "$line" | sed -n 's/.*(allocated \([0-9.]* [kMG]*B\)).*/\1/p')
  [ -n "$peak" ] || { echo "$spec: $line" >&2; echo "failed|-|-"; return; }
  echo "$(echo "$t1 - $t0" | bc -l)|$peak|$alloc"
}
for m in "${mappings[@]}"; do
  # Names as --list-mappings gives them: family/name, no path elsewhere.
  case $m in
    */*/* | ../* | */.. | *[!A-Za-z0-9_./-]*) echo "$0: '$m' is not a mapping name (family/name)" >&2; exit 2 ;;
  esac
  [ -f "$WL_ROOT/mappings/$m.json" ] || { echo "$0: no mapping '$m' (weight-layout-convert --list-mappings)" >&2; exit 2; }
done
echo "| mapping | shaped as | options | layers | GB out | s | cp -r; sync s | ratio | --no-fsync s | cp -r s | ratio | peak resident | allocated | at 2x layers: peak resident | allocated |"
echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for m in "${mappings[@]}"; do
  spec=$WL_ROOT/mappings/$m.json
  mt=${m%%/*}
  cfg=$work/config-$mt.json
  shaped=$("$py" "$here/configs.py" "$mt" "$cfg")
  read -r -a opts <<<"$(options "$m")"
  row=""
  for l in "$layers" $((2 * layers)); do
    in=$work/in-$mt-${m##*/}-$l
    [ -d "$in" ] || "$bin/weight-layout-gen" --config "$cfg" --mapping "$spec" --layers "$l" --to "$in" --quiet
    if [ "$l" = "$layers" ]; then
      ts=() tns=() cpss=() cps_=()
      for ((r = 0; r < reps; ++r)); do
        IFS='|' read -r t peak alloc <<<"$(convert "$in" "$work/out" ${opts[@]+"${opts[@]}"})"
        if [ "$t" = failed ]; then # said on stderr; the next mapping
          echo "| $m | $shaped | ${opts[*]:-} | $l | failed (see stderr) |"
          rm -rf "$in" "$work/out"
          continue 3
        fi
        out=$(bytes_of "$work/out")
        IFS='|' read -r tn _ _ <<<"$(convert "$in" "$work/out" ${opts[@]+"${opts[@]}"} --no-fsync)"
        rm -rf "$work/out" "$work/cp"; sync; warm "$in"
        cpss+=("$(secs bash -c "cp -r '$in' '$work/cp' && sync")")
        rm -rf "$work/cp"; sync; warm "$in"
        cps_+=("$(secs cp -r "$in" "$work/cp")")
        rm -rf "$work/cp"; sync
        ts+=("$t") tns+=("$tn")
      done
      t=$(median "${ts[@]}") tn=$(median "${tns[@]}") cps=$(median "${cpss[@]}") cp=$(median "${cps_[@]}")
      row="| $m | $shaped | ${opts[*]:-} | $l | $(gb "$out") | $(printf '%.2f' "$t") | $(printf '%.2f' "$cps") | $(ratio "$cps" "$t") | $(printf '%.2f' "$tn") | $(printf '%.2f' "$cp") | $(ratio "$cp" "$tn") | $peak | $alloc"
    else
      IFS='|' read -r _ peak2 alloc2 <<<"$(convert "$in" "$work/out" ${opts[@]+"${opts[@]}"} --no-fsync)"
      rm -rf "$work/out"; sync
      row="$row | $peak2 | $alloc2 |"
    fi
    rm -rf "$in"
  done
  echo "$row"
done
