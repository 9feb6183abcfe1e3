"""Builds weight_layout without the compiler, for machines without MLIR (the
GPU machines, with their own PyTorch): plans are compiled elsewhere (here,
Plan.to_json / weight-layout-opt --emit=plan) and loaded with
weight_layout.from_json; weight_layout.compile raises ValueError saying so.
Everything else (run, run_into, load, views, inverse of JSON plans, the CPU
and CUDA executors) is the same code as the CMake build.

  python3 python/build_runtime_ext.py OUT_DIR [--nlohmann DIR] [--no-cuda]

OUT_DIR/weight_layout is then an importable package (PYTHONPATH=OUT_DIR).
Uses torch.utils.cpp_extension (ninja), nvcc for the CUDA executor when
torch has CUDA; --nlohmann names a folder holding nlohmann/json.hpp when it
is not in the system include path.
"""
import argparse
import glob
import os
import shutil
import sys

import torch
from torch.utils import cpp_extension

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--nlohmann", default=None)
    ap.add_argument("--no-cuda", action="store_true")
    ap.add_argument("--jobs", type=int, default=None)
    a = ap.parse_args()
    cuda = torch.cuda.is_available() or (
        torch.version.cuda is not None and not a.no_cuda)
    cuda = cuda and not a.no_cuda
    pkg = os.path.join(os.path.abspath(a.out), "weight_layout")
    build = os.path.join(os.path.abspath(a.out), "build")
    os.makedirs(pkg, exist_ok=True)
    os.makedirs(build, exist_ok=True)
    if a.jobs:
        os.environ["MAX_JOBS"] = str(a.jobs)
    lib = lambda *p: os.path.join(ROOT, "lib", *p)
    sources = (sorted(glob.glob(lib("Layout", "*.cpp"))) +
               sorted(glob.glob(lib("Support", "*.cpp"))) +
               sorted(glob.glob(lib("Safetensors", "*.cpp"))) + [
        lib("Plan", "Plan.cpp"),
        lib("Runtime", "CpuExecutor.cpp"),
        lib("Runtime", "ElementSteps.cpp"),
        lib("CudaTasks", "TaskTable.cpp"),
        lib("Torch", "PlanData.cpp"),
        lib("Torch", "CompileCache.cpp"),
        lib("Torch", "CudaDevice.cpp"),
        lib("Torch", "TorchRun.cpp"),
        os.path.join(ROOT, "python", "Module.cpp"),
    ])
    defines = ["-DWL_EMBED_NO_COMPILER=1", "-O2", "-ffp-contract=off",
               "-std=c++17"] + (["-g"] if os.environ.get("WL_DEBUG") else [])
    if cuda:
        sources.append(lib("Cuda", "CudaExecutor.cu"))
        defines += ["-DWL_HAVE_CUDA=1", "-DWL_TORCH_CUDA=1"]
        os.environ.setdefault("TORCH_CUDA_ARCH_LIST", "9.0")
    else:
        sources.append(lib("Cuda", "CudaStub.cpp"))
    includes = [os.path.join(ROOT, "include")]
    if a.nlohmann:
        includes.append(os.path.abspath(a.nlohmann))
    cpp_extension.load(
        name="_C", sources=sources, extra_include_paths=includes,
        extra_cflags=defines,
        extra_cuda_cflags=["-O3", "-fmad=false", "-std=c++17"],
        build_directory=build, with_cuda=cuda, verbose=False,
        is_python_module=False)  # only built here; imported as weight_layout._C
    so = glob.glob(os.path.join(build, "_C*.so"))
    if not so:
        sys.exit("no _C.so in %s" % build)
    shutil.copy(so[0], os.path.join(pkg, "_C.so"))
    shutil.copy(os.path.join(ROOT, "python", "weight_layout", "__init__.py"),
                pkg)
    print("built %s (cuda: %s)" % (pkg, cuda))


if __name__ == "__main__":
    main()
