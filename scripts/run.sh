#!/usr/bin/env bash
# The main job on its embedded default: builds the tools, generates a small
# Qwen3-shaped Hugging Face checkpoint (examples/qwen3-small-config.json, 4
# layers, 0.26 GB), converts it to vLLM at TP=2 and to Megatron-Core at TP=2,
# converts both back with --reverse, and checks that every tensor comes back
# byte for byte. Each conversion prints its summary. Needs nothing outside
# the checkout. Work goes to $WL_RUN_DIR (default: build/run).
#
# With arguments it runs weight-layout-convert with them instead, e.g.
#   ./scripts/run.sh --mapping mappings/qwen3/hf-to-vllm.json \
#       --from path/to/Qwen3-8B --to out/vllm-tp4 --tp 4
set -euo pipefail
source "$(dirname "$0")/lib.sh"
wl_build weight-layout-convert weight-layout-gen weight-layout-diff
bin="$WL_BUILD/bin"
if [ $# -gt 0 ]; then
  exec "$bin/weight-layout-convert" "$@"
fi
run=${WL_RUN_DIR:-$WL_BUILD/run}
rm -rf "$run" && mkdir -p "$run"
say() { printf '\n== %s\n' "$*"; }

say "generate a Qwen3-shaped Hugging Face checkpoint"
"$bin/weight-layout-gen" --config "$WL_ROOT/examples/qwen3-small-config.json" --to "$run/hf"

say "Hugging Face -> vLLM, TP=2 (rank-0/ and rank-1/, each a complete checkpoint)"
"$bin/weight-layout-convert" --mapping "$WL_ROOT/mappings/qwen3/hf-to-vllm.json" \
  --from "$run/hf" --to "$run/vllm-tp2" --tp 2 --verify
say "vLLM TP=2 -> Hugging Face (--reverse)"
"$bin/weight-layout-convert" --mapping "$WL_ROOT/mappings/qwen3/hf-to-vllm.json" \
  --from "$run/vllm-tp2" --to "$run/hf-from-vllm" --reverse --verify
"$bin/weight-layout-diff" "$run/hf" "$run/hf-from-vllm"

say "Hugging Face -> Megatron-Core, TP=2"
"$bin/weight-layout-convert" --mapping "$WL_ROOT/mappings/qwen3/hf-to-megatron.json" \
  --from "$run/hf" --to "$run/megatron-tp2" --tp 2 --verify
say "Megatron-Core TP=2 -> Hugging Face (--reverse)"
"$bin/weight-layout-convert" --mapping "$WL_ROOT/mappings/qwen3/hf-to-megatron.json" \
  --from "$run/megatron-tp2" --to "$run/hf-from-megatron" --reverse --verify
"$bin/weight-layout-diff" "$run/hf" "$run/hf-from-megatron"

say "done: outputs in $run"
