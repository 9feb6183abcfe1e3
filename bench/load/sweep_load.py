"""Where load_checkpoint's time goes, on the GPU machine: the page cache's
own hot read rate at 8, 16 and 32 threads beside load_checkpoint at
several reader, buffer and batch sizes (best of two), with the loader's
stats (time the calling thread waited for reads, ran batches, allocated).
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
    for th in (8, 16, 32):
        n, dt = B.read_all(B.files_of(folder), threads=th)
        print("%s page cache read, hot, %d threads, 16 MiB preads: %.1f GB/s" % (label, th, n / dt / 1e9), flush=True)
    m = c["model_type"] + "/hf-to-vllm"
    for tp in (1, 4):
        wl.compile(m, folder, tp=tp)
        for kw in ({}, {"threads": 32}, {"threads": 8}, {"buffer_bytes": 8 << 20}, {"batch_bytes": 4 << 30}):
            best = None
            for _ in range(2):
                torch.cuda.synchronize()
                t0 = time.perf_counter()
                out = wl.load_checkpoint(folder, m, tp=tp, **kw)
                torch.cuda.synchronize()
                dt = time.perf_counter() - t0
                st = wl.last_load_stats()
                nb = st["bytes_written"]
                if best is None or dt < best[0]:
                    best = (dt, st)
                del out
            dt, st = best
            print("%s tp=%d %s: %.3f s %.1f GB/s read_wait %.3f exec %.3f alloc %.3f reads %d batches %d" % (
                label, tp, kw, dt, st["bytes_written"] / dt / 1e9, st["read_wait_seconds"], st["execute_seconds"], st["alloc_seconds"], st["reads"], st["batches"]), flush=True)
