#!/usr/bin/env bash
# Block FP8 on one GPU, in two halves (the GPU machine has no MLIR):
#
#   bench/quant/gpu.sh prepare [DIR]   on the build machine: a Qwen3-32B
#       layer (hidden 5120, 64 query and 8 KV heads of 128, intermediate
#       25600, a 1024 vocabulary) as bf16 (weight-layout-gen) and as block
#       FP8 (make_fp8.py, then its NumPy dequantization as bf16 data with
#       varied block maxima); weight-layout-convert --emit-plans writes the
#       plans it would run for qwen3/hf-to-vllm at tp 1: dequantize
#       (--dtype bf16, the CUDA executor's plan: a piece per block) and
#       quantize (--quantize fp8), and one of MXFP4: a
#       gpt-oss-20b layer's experts to bf16 (gpt_oss/hf-to-transformers,
#       bench/quant/mxfp4_cpu.sh's checkpoint); they go to
#       gpu/plans25/ with gpu/cuda_bench and gpu/weight-layout-cuda-check,
#       and the quantizing plan without its scale grids' fills to
#       gpu/plans25-diag/.
#   bench/quant/gpu.sh run             on the GPU machine (carry
#       gpu/cuda_bench, gpu/weight-layout-cuda-check, gpu/plans25,
#       gpu/plans25-bench and gpu/plans25-diag):
#       the CUDA executor against the CPU one on random block-FP8 and
#       MXFP4 plans (byte for byte), cuda_bench of the layers' plans beside
#       cudaMemcpy of the same bytes (4096 elements of each spot-checked),
#       and bench/quant/gpu_peers.py (PyTorch's weight_dequant and
#       per_block_cast_to_fp8 beside a device copy).
#
# The quantizing plan holds each block's factor (its amax pass ran on the
# host while the plan was made): on the GPU it times the cast and scale.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
case "${1:-}" in
prepare)
  work=${2:-/tmp/wl-quant-gpu}
  bin=${WL_BIN:-$src/build/bin}
  py=${PYTHON:-/usr/bin/python3}
  mkdir -p "$work" "$src/gpu/plans25"
  cat > "$work/config.json" <<'JSON'
{"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "dtype": "bfloat16",
 "hidden_size": 5120, "intermediate_size": 25600, "head_dim": 128,
 "num_attention_heads": 64, "num_key_value_heads": 8, "num_hidden_layers": 1,
 "rms_norm_eps": 1e-06, "tie_word_embeddings": false, "vocab_size": 1024,
 "rope_parameters": {"rope_theta": 1000000.0, "rope_type": "default"}}
JSON
  rm -rf "$work/bf16" "$work/fp8" "$work/rbf16" "$work/plans"
  "$bin/weight-layout-gen" --config "$work/config.json" --to "$work/bf16" --quiet
  "$py" "$src/bench/quant/make_fp8.py" "$work/bf16" "$work/fp8" 128
  "$py" "$src/test/Convert/Inputs/fp8.py" dequantize "$work/fp8" "$work/rbf16"
  spec=$src/mappings/qwen3/hf-to-vllm.json
  "$bin/weight-layout-convert" --mapping "$spec" --from "$work/fp8" --to "$work/x" \
    --dtype bf16 --device cuda --dry-run --emit-plans "$work/plans/dq" >/dev/null
  "$bin/weight-layout-convert" --mapping "$spec" --from "$work/rbf16" --to "$work/x" \
    --quantize fp8 --dry-run --emit-plans "$work/plans/q" >/dev/null
  cp "$work/plans/dq/plan.json" "$src/gpu/plans25/dequantize-qwen3-32b-layer.json"
  cp "$work/plans/q/plan.json" "$src/gpu/plans25/quantize-qwen3-32b-layer.json"
  # The quantizing plan without its scale grids' fills (the grids left
  # unwritten): the conversions' time apart from the fills'.
  mkdir -p "$src/gpu/plans25-diag"
  "$py" -c 'import json, sys
p = json.load(open(sys.argv[1]))
p["pieces"] = [x for x in p["pieces"] if "fill" not in x]
json.dump(p, open(sys.argv[2], "w"))' "$work/plans/q/plan.json" "$src/gpu/plans25-diag/quantize-data-only.json"
  # MXFP4: one gpt-oss-20b layer's experts dequantized to transformers'
  # bf16 layout (bench/quant/mxfp4_cpu.sh makes the checkpoint).
  WL_BIN=$bin bash "$src/bench/quant/mxfp4_cpu.sh" 1 "$work/mxfp4" >/dev/null
  "$bin/weight-layout-convert" --mapping "$src/mappings/gpt_oss/hf-to-transformers.json" \
    --from "$work/mxfp4/mx-1" --to "$work/x" --dtype bf16 --dry-run \
    --emit-plans "$work/plans/mx" >/dev/null
  # Timed only: the check's reference executor (element by element) would
  # take minutes on its 1.65 GB.
  mkdir -p "$src/gpu/plans25-bench"
  cp "$work/plans/mx/plan.json" "$src/gpu/plans25-bench/dequantize-mxfp4-gpt-oss-20b-layer.json"
  cp "$bin/cuda_bench" "$bin/weight-layout-cuda-check" "$src/gpu/"
  echo "gpu/plans25, gpu/cuda_bench, gpu/weight-layout-cuda-check ready"
  ;;
run)
  cd "$src"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  # Each step under its own time limit, so that one that hangs leaves the
  # others their time.
  echo "== the CUDA executor against the CPU one"
  # Random plans only: the reference executor, element by element, takes
  # minutes on the layers' 1.5 GB plans, which cuda_bench spot-checks.
  timeout 240 ./gpu/weight-layout-cuda-check --random 20 --fp8 300 --mxfp4 300 2>&1 | tail -3
  echo "== cuda_bench: the layers' plans beside cudaMemcpy"
  timeout 120 ./gpu/cuda_bench gpu/plans25 --runs 20 2>&1 | tail -8
  timeout 120 ./gpu/cuda_bench gpu/plans25-bench --runs 20 2>&1 | tail -3
  timeout 120 ./gpu/cuda_bench gpu/plans25-diag --runs 20 2>&1 | tail -3
  echo "== PyTorch"
  timeout 120 python3 bench/quant/gpu_peers.py 2>&1 | tail -8
  ;;
*)
  echo "usage: bench/quant/gpu.sh prepare [DIR] | run" >&2
  exit 2
  ;;
esac
