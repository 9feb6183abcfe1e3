#!/usr/bin/env bash
# The main job on its embedded default: builds weight-layout-opt and compiles
# the bundled mapping example (a tiny Qwen3, Hugging Face -> vLLM at TP=2)
# to canonical wl IR, where each rank reads only the rows it needs.
# Pass another .mlir file and weight-layout-opt options to compile that.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
wl_build weight-layout-opt
if [ $# -eq 0 ]; then
  set -- "$WL_ROOT/examples/qwen3-tiny-hf-to-vllm-tp2.mlir" --canonicalize
fi
"$WL_BUILD/bin/weight-layout-opt" "$@"
