"""Where load_checkpoint's time goes, on the GPU machine: the page cache's
own hot read rate (8 to 32 threads, 4 and 16 MiB preads) beside
load_checkpoint at several reader, buffer and batch sizes (best of
three), with the loader's stats (time the calling thread waited for
reads, ran batches), and the route without a CPU copy (the file mapping
registered for DMA).
Uses bench_load.py's checkpoints (written when missing).

  PYTHONPATH=/tmp/wl python3 bench/load/sweep_load.py
"""
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_load as B  # noqa: E402
import weight_layout as wl  # noqa: E402
for label, base in (("moe", B.MOE), ("dense", B.DENSE)):
    c = dict(base, num_hidden_layers=6)
    folder = os.path.join("/tmp/wl-load-bench", c["model_type"])
    B.write_checkpoint(folder, c)
    B.read_all(B.files_of(folder), threads=16)
    for th in (8, 12, 14, 16, 32):
        for mib in (4, 16):
            n, dt = B.read_all(B.files_of(folder), threads=th, chunk=mib << 20)
            print("%s page cache read, hot, %d threads, %d MiB preads: %.1f GB/s" % (label, th, mib, n / dt / 1e9), flush=True)
    m = c["model_type"] + "/hf-to-vllm"
    for tp in (1, 4):
        wl.compile(m, folder, tp=tp)
        for kw in ({}, {"threads": 16}, {"threads": 12}, {"threads": 8}, {"buffers": 42},
                   {"buffer_bytes": 2 << 20}, {"buffer_bytes": 8 << 20}, {"buffer_bytes": 16 << 20},
                   {"batch_bytes": 4 << 30}):
            best = None
            for _ in range(3):
                torch.cuda.synchronize()
                t0 = time.perf_counter()
                out = wl.load_checkpoint(folder, m, tp=tp, **kw)
                torch.cuda.synchronize()
                dt = time.perf_counter() - t0
                st = wl.last_load_stats()
                if best is None or dt < best[0]:
                    best = (dt, st)
                del out
            dt, st = best
            print("%s tp=%d %s: %.3f s %.1f GB/s read_wait %.3f exec %.3f alloc %.3f reads %d batches %d" % (
                label, tp, kw, dt, st["bytes_written"] / dt / 1e9, st["read_wait_seconds"], st["execute_seconds"], st["alloc_seconds"], st["reads"], st["batches"]), flush=True)


def registered_mmap_rate(files):
    """Each file mapped read-only, registered for DMA (cudaHostRegister,
    read-only flag) and copied to the device with no CPU copy: register,
    copy and unregister seconds."""
    import mmap
    import numpy as np
    cudart = torch.cuda.cudart()
    reg = cp = unreg = 0.0
    total = 0
    for f in files:
        n = os.path.getsize(f)
        with open(f, "rb") as fh:
            mm = mmap.mmap(fh.fileno(), n, prot=mmap.PROT_READ)
        a = np.frombuffer(mm, dtype=np.uint8)
        d = torch.empty(n, dtype=torch.uint8, device="cuda")
        t0 = time.perf_counter()
        err = cudart.cudaHostRegister(a.ctypes.data, n, 8)
        t1 = time.perf_counter()
        d.copy_(torch.from_numpy(a), non_blocking=True)
        torch.cuda.synchronize()
        t2 = time.perf_counter()
        cudart.cudaHostUnregister(a.ctypes.data)
        t3 = time.perf_counter()
        if int(err) != 0:
            return "cudaHostRegister failed: %s" % err
        reg, cp, unreg, total = reg + t1 - t0, cp + t2 - t1, unreg + t3 - t2, total + n
        del a, d
        mm.close()
    return "%.2f GB: register %.3f s, copy %.3f s (%.1f GB/s), unregister %.3f s; end to end %.1f GB/s" % (
        total / 1e9, reg, cp, total / cp / 1e9, unreg, total / (reg + cp + unreg) / 1e9)


for label, base in (("moe", B.MOE), ("dense", B.DENSE)):
    folder = os.path.join("/tmp/wl-load-bench", base["model_type"])
    for _ in range(2):
        print("%s registered mmap: %s" % (label, registered_mmap_rate(B.files_of(folder))), flush=True)
