#!/usr/bin/env bash
# Times lowering one rank's plan for a Qwen3 model, HF -> vLLM (issue 3).
#
#   bench/plan-lowering.sh [-n RUNS] [-k] [BUILD_DIR] [-- GENERATOR_ARGS...]
#
# BUILD_DIR defaults to build/ (the binary is BUILD_DIR/bin/weight-layout-opt).
# GENERATOR_ARGS go to bench/gen_qwen3_hf_to_vllm.py (default: Qwen3-32B,
# TP 8); do not pass -o, --rank or --all-ranks. -k keeps the temp dir.
#
# It writes the IR for rank 0 alone and for all ranks into a temp dir, then
# times, RUNS times each (default 5), best and median of the wall time:
#   cp of the IR file                     (floor: reading the file)
#   weight-layout-opt on an empty module  (floor: process start)
#   weight-layout-opt FILE -o /dev/null   (floor: MLIR parse + verify)
#   --emit=plan --func rank0 FILE                            (the figure)
#   the same with --canonicalize
#   --emit=plan --func rank0 ALL_RANKS_FILE  (gaps/overlaps of rank 0 only)
#   the same with --check-unread  (also proves all ranks read every source)
# A single rank reads only its shards of the sources; --check-unread is
# meant for the all-ranks module.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=/usr/bin/python3
RUNS=5
KEEP=0
BUILD=$ROOT/build
while [ $# -gt 0 ]; do
  case "$1" in
    -n) RUNS=$2; shift 2 ;;
    -k) KEEP=1; shift ;;
    -h|--help) sed -n '2,/^[^#]/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; break ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) BUILD=$1; shift ;;
  esac
done
GEN_ARGS=("$@")
OPT=$BUILD/bin/weight-layout-opt
[ -x "$OPT" ] || { echo "no $OPT (build first, or pass the build dir)" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/wl-plan-bench.XXXXXX")
if [ "$KEEP" = 1 ]; then
  echo "temp dir: $TMP" >&2
else
  trap 'rm -rf "$TMP"' EXIT
fi

ONE=$TMP/rank0.mlir
ALL=$TMP/all-ranks.mlir
"$PY" "$ROOT/bench/gen_qwen3_hf_to_vllm.py" "${GEN_ARGS[@]}" --rank 0 -o "$ONE"
"$PY" "$ROOT/bench/gen_qwen3_hf_to_vllm.py" "${GEN_ARGS[@]}" --all-ranks -o "$ALL"
: > "$TMP/empty.mlir"

now() { echo "${EPOCHREALTIME/[.,]/}"; }   # microseconds, no fork

# time_cmd LABEL CMD...: runs CMD RUNS times (stdout/stderr to a log), prints
# a table row with best and median in ms.
ROWS=()
time_cmd() {
  local label=$1; shift
  local ts=() i t0 t1
  "$@" >"$TMP/log" 2>&1 || { echo "failed: $*" >&2; cat "$TMP/log" >&2; exit 1; }  # warm-up
  for ((i = 0; i < RUNS; i++)); do
    t0=$(now)
    "$@" >"$TMP/log" 2>&1 || { echo "failed: $*" >&2; cat "$TMP/log" >&2; exit 1; }
    t1=$(now)
    ts+=($((t1 - t0)))
  done
  local sorted
  sorted=$(printf '%s\n' "${ts[@]}" | sort -n)
  local best med
  best=$(echo "$sorted" | head -1)
  med=$(echo "$sorted" | awk -v n="$RUNS" '{a[NR]=$1} END {
    if (n % 2) print a[(n+1)/2]; else print (a[n/2] + a[n/2+1]) / 2 }')
  ROWS+=("$(printf '| %s | %.1f | %.1f |' "$label" "$(echo "$best" | awk '{print $1/1000}')" \
    "$(echo "$med" | awk '{print $1/1000}')")")
}

PLAN=$TMP/plan.json
PLANC=$TMP/plan-canon.json
PLANA=$TMP/plan-all.json
time_cmd "\`cp\` of the rank-0 IR file" cp "$ONE" "$TMP/copy.mlir"
time_cmd "weight-layout-opt on an empty module (process start)" "$OPT" "$TMP/empty.mlir" -o /dev/null
time_cmd "parse + verify rank-0 IR (\`weight-layout-opt FILE -o /dev/null\`)" "$OPT" "$ONE" -o /dev/null
time_cmd "**plan, rank 0** (\`--emit=plan --func rank0\`)" \
  "$OPT" --emit=plan --func rank0 "$ONE" -o "$PLAN"
time_cmd "plan, rank 0, \`--canonicalize\`" \
  "$OPT" --emit=plan --canonicalize --func rank0 "$ONE" -o "$PLANC"
time_cmd "parse + verify all-ranks IR" "$OPT" "$ALL" -o /dev/null
time_cmd "plan, rank 0 of the all-ranks module" \
  "$OPT" --emit=plan --func rank0 "$ALL" -o "$TMP/plan-all-ur.json"
time_cmd "the same with \`--check-unread\` (all ranks read every source)" \
  "$OPT" --emit=plan --check-unread --func rank0 "$ALL" -o "$PLANA"

stats() {
  "$PY" - "$@" <<'EOF'
import json, os, sys
one, all_, plan, planc, plana = sys.argv[1:]
p = json.load(open(plan))
n = len(p["pieces"])
fills = sum(1 for x in p["pieces"] if x.get("source", -1) < 0)
aliases = sum(1 for t in p["targets"] if "alias" in t)
def lines(f):
    with open(f) as fh:
        return sum(1 for _ in fh)
print(f"- rank-0 IR: {os.path.getsize(one)} bytes, {lines(one)} lines; "
      f"all-ranks IR: {os.path.getsize(all_)} bytes, {lines(all_)} lines")
print(f"- rank-0 plan: {os.path.getsize(plan)} bytes, {len(p['sources'])} "
      f"sources, {len(p['targets'])} targets ({aliases} with an alias), "
      f"{n} pieces ({fills} fills)")
same = lambda a, b: open(a, "rb").read() == open(b, "rb").read()
print(f"- plan with --canonicalize identical: {'yes' if same(plan, planc) else 'NO'}; "
      f"plan from the all-ranks module identical: {'yes' if same(plan, plana) else 'NO'}")
EOF
}

echo "weight-layout-opt: $OPT"
echo "generator args: ${GEN_ARGS[*]:-(defaults: Qwen3-32B, TP 8)}; runs: $RUNS (+1 warm-up)"
echo
stats "$ONE" "$ALL" "$PLAN" "$PLANC" "$PLANA"
echo
echo "| command | best (ms) | median (ms) |"
echo "|---|---:|---:|"
printf '%s\n' "${ROWS[@]}"
