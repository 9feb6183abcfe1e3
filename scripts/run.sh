#!/usr/bin/env bash
# The main job on its embedded default: builds weight-layout-opt and compiles
# the Qwen3 Hugging Face -> vLLM mapping spec (mappings/qwen3/hf-to-vllm.json)
# for the bundled tiny Qwen3 config at TP=2 to the plan of rank 1, after
# proving that the two ranks together write every target element exactly once
# and read every source element.
# Pass weight-layout-opt arguments to do something else, e.g.
#   ./scripts/run.sh --mapping mappings/qwen3_moe/hf-to-vllm.json \
#       --config path/to/config.json --tp 2 --ep 2 --rank 3 --emit=plan
#   ./scripts/run.sh examples/qwen3-tiny-hf-to-vllm-tp2.mlir --canonicalize
set -euo pipefail
source "$(dirname "$0")/lib.sh"
wl_build weight-layout-opt
if [ $# -eq 0 ]; then
  set -- --mapping "$WL_ROOT/mappings/qwen3/hf-to-vllm.json" \
    --config "$WL_ROOT/examples/qwen3-tiny-config.json" --tp 2 --rank 1 --emit=plan
fi
"$WL_BUILD/bin/weight-layout-opt" "$@"
