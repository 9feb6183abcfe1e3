#!/usr/bin/env bash
# Builds the PyTorch-eager baseline of the CPU conversion benchmark
# (bench/torch-eager/torch_eager_convert.cpp, a standalone CMake project
# against Debian's libtorch-dev 1.13) into
# ${WL_BENCH_BUILD:-/work/main/build-bench}/torch-eager, Release (-O2), and
# prints the binary's path. Installs nothing.
set -euo pipefail

src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${WL_BENCH_BUILD:-/work/main/build-bench}/torch-eager"
jobs="${WL_BENCH_JOBS:-2}"

if ! dpkg -s libtorch-dev >/dev/null 2>&1; then
  echo "build.sh: libtorch-dev is not installed; install it with:" >&2
  echo "  apt-get install -y libtorch-dev cmake ninja-build g++" >&2
  exit 1
fi

generator=()
if command -v ninja >/dev/null 2>&1; then
  generator=(-G Ninja)
fi
if [[ -f "$build/CMakeCache.txt" ]]; then
  generator=()   # keep the generator the build folder was configured with
fi

cmake -S "$src" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release >&2
cmake --build "$build" -j "$jobs" >&2
echo "$build/torch_eager_convert"
