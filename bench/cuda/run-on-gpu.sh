#!/usr/bin/env bash
# One call on a GPU machine: correctness of the CUDA executor, then its
# benchmark beside cudaMemcpy and the PyTorch / JAX peers. Expects, built on
# the build machine (the GPU machine has no MLIR):
#   gpu/cuda_bench, gpu/weight-layout-cuda-check   (cmake --build build)
#   gpu/plans/{bench,check}/*.json                 (bench/cuda/make_plans.py)
# Writes the logs under $OUT (or ./gpu-out).
set -uo pipefail
out=${OUT:-gpu-out}
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.max.sm,clocks.mem,driver_version --format=csv | tee "$out/smi.txt"
echo "== correctness: task table and kernel against the CPU executor"
./gpu/weight-layout-cuda-check --random 3000 gpu/plans/check 2>&1 | tail -5 | tee "$out/check.txt"
echo "== weight-layout CUDA executor"
./gpu/cuda_bench gpu/plans/bench --runs 20 ${WL_BENCH_UNITS:+--units $WL_BENCH_UNITS} --json "$out/ours.json" 2>&1 | tee "$out/ours.md"
[ -n "${WL_GPU_QUICK:-}" ] && exit 0 # kernels only
echo "== PyTorch peers"
PYTHONUNBUFFERED=1 python3 bench/cuda/peers.py torch "$out/ours.json" 2>&1 | tee "$out/torch.md"
echo "== JAX peers"
PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false python3 bench/cuda/peers.py jax "$out/ours.json" 2>&1 | tail -5 | tee "$out/jax.md"
echo "== GPU checkpoint conversion (the runtime path of --device cuda)"
./gpu/cuda_convert /tmp/wl-cuda-convert gpu/plans/convert/*.json 2>&1 | tee "$out/convert.txt"
