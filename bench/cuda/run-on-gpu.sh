#!/usr/bin/env bash
# One call on a GPU machine: correctness of the CUDA executor, then its
# benchmark beside cudaMemcpy and the PyTorch / JAX peers, then checkpoint
# conversion through the CUDA renderer. Expects, built on the build machine
# (the GPU machine has no MLIR):
#   gpu/cuda_bench, gpu/weight-layout-cuda-check, gpu/cuda_convert
#                                                  (cmake --build build)
#   gpu/copy_probe (optional: built with -DWL_BUILD_CUDA_EXPERIMENTS=ON)
#   gpu/plans/{bench,baselines,attn,check,convert}/*.json
#                                                  (scripts/make_plans.py)
# Writes the logs under $OUT (or ./gpu-out).
set -uo pipefail
out=${OUT:-gpu-out}
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.max.sm,clocks.mem,driver_version --format=csv | tee "$out/smi.txt"
echo "== correctness: task table and kernels against the CPU executor"
./gpu/weight-layout-cuda-check --random 3000 --fp8 600 gpu/plans/check 2>&1 | tail -3 | tee "$out/check.txt"
echo "== weight-layout CUDA executor"
./gpu/cuda_bench gpu/plans/bench --runs 20 ${WL_BENCH_UNITS:+--units $WL_BENCH_UNITS} --json "$out/ours.json" 2>&1 | tee "$out/ours.md"
echo "== the same, each run queued behind a spin kernel (the GPU's time alone, no launch gap)"
./gpu/cuda_bench gpu/plans/bench --runs 20 --queued 2>&1 | tee "$out/ours-queued.md"
echo "== MaxText attention in its parts (qkv_proj, o_proj)"
./gpu/cuda_bench gpu/plans/attn --runs 20 2>&1 | tee "$out/attn.md"
echo "== the driver's copy at several sizes, and transposes in the probe"
if [ -x ./gpu/copy_probe ]; then
  ./gpu/copy_probe 1024 tiles 2>&1 | tee "$out/probe.md"
else
  echo "skipped: no gpu/copy_probe (build with -DWL_BUILD_CUDA_EXPERIMENTS=ON)" | tee "$out/probe.md"
fi
echo "== baselines through the executor: contiguous copy and fill, padding alone, 1:2 read:write mixes (tailfills=1024: fused)"
./gpu/cuda_bench gpu/plans/baselines --runs 20 --config tailfills=1024 2>&1 | tee "$out/baselines.md"
[ -n "${WL_GPU_QUICK:-}" ] && exit 0 # kernels only
echo "== PyTorch peers"
PYTHONUNBUFFERED=1 python3 bench/cuda/peers.py torch "$out/ours.json" 2>&1 | tee "$out/torch.md"
echo "== JAX peers"
PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false python3 bench/cuda/peers.py jax "$out/ours.json" 2>&1 | tail -5 | tee "$out/jax.md"
echo "== GPU checkpoint conversion (the runtime path of --device cuda)"
./gpu/cuda_convert /tmp/wl-cuda-convert gpu/plans/convert/*.json 2>&1 | tee "$out/convert.txt"
echo "== the same, every byte through the executor (no copy_file_range)"
./gpu/cuda_convert --no-zero-copy /tmp/wl-cuda-convert gpu/plans/convert/*.json 2>&1 | tee "$out/convert-all.txt"
echo "== the same with 14 read threads"
./gpu/cuda_convert --no-zero-copy --read-threads 14 /tmp/wl-cuda-convert gpu/plans/convert/*.json 2>&1 | tail -1 | tee "$out/convert-all-14.txt"
