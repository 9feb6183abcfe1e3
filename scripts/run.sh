#!/usr/bin/env bash
# The main job on its embedded default: builds weight-layout-opt and compiles
# the bundled mapping example (a tiny Qwen3, Hugging Face -> vLLM at TP=2) to
# the plan of rank 1, after proving that the two ranks together write every
# target element exactly once and read every source element.
# Pass a .mlir file and weight-layout-opt options to compile that instead
# (e.g. `./scripts/run.sh my.mlir --canonicalize`, or `--emit=plan --func F`).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
wl_build weight-layout-opt
if [ $# -eq 0 ]; then
  set -- --emit=plan --func rank1 "$WL_ROOT/examples/qwen3-tiny-hf-to-vllm-tp2.mlir"
fi
"$WL_BUILD/bin/weight-layout-opt" "$@"
