"""The weight_layout checks on CUDA tensors, for a GPU machine with its own
PyTorch (pip, CUDA): the package is the same wheel as everywhere (ctypes
over libweight-layout.so), so the plans are compiled in-process there.

  python3 -m pip install --no-index --no-deps --target /tmp/wl dist/weight_layout-*.whl
  PYTHONPATH=/tmp/wl python3 python/tests/cuda_check.py

Every check compares element origins with the framework's rule (the same
rules as test_weight_layout.py) and every CUDA result with the CPU
executor's, bit for bit. Prints "N passed, N failed, N skipped"; exits
non-zero on a failure. Without a GPU the CUDA checks skip.
"""
import argparse
import json
import os
import sys
import time
import traceback

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import weight_layout as wl  # noqa: E402
from test_weight_layout import (CONFIG, QWEN3_5_CONFIG, SRC, H,  # noqa: E402
                                assert_same, checkpoint_folder,
                                megatron_rule, origin_tensors,
                                shares_storage, vllm_rule)

SMALL = os.path.join(SRC, "examples", "qwen3-small-config.json")


def compile_plans():
    """The plans of the checks, compiled in this process."""
    plans = {}
    for r in range(2):
        plans["vllm-tp2-r%d" % r] = wl.compile(
            "qwen3/hf-to-vllm", CONFIG, tp=2, rank=r, dtype=torch.int32)
    plans["vllm-tp1"] = wl.compile("qwen3/hf-to-vllm", CONFIG,
                                   dtype=torch.int32)
    meg = wl.compile("qwen3/hf-to-megatron", CONFIG, tp=2, rank="all",
                     dtype=torch.int32)
    plans["megatron-all"] = meg
    plans["megatron-back"] = meg.inverse()
    plans["small-bf16-tp2-r1"] = wl.compile("qwen3/hf-to-vllm", SMALL, tp=2,
                                            rank=1)
    if os.path.exists(QWEN3_5_CONFIG):
        f = wl.compile("qwen3_5/hf-to-vllm", QWEN3_5_CONFIG, dtype=torch.int32)
        plans["q35-fwd"] = f
        plans["q35-back"] = f.inverse()
        # bf16 with affine steps (Megatron's out_norm w - 1): converting
        # pieces on the device against the CPU executor.
        plans["q35-megatron-bf16"] = wl.compile("qwen3_5/hf-to-megatron",
                                                QWEN3_5_CONFIG)
    return plans


class Skip(Exception):
    pass


def main():
    argparse.ArgumentParser(description=__doc__).parse_args()
    t0 = time.perf_counter()
    P = compile_plans()
    t1 = time.perf_counter()
    cuda = torch.cuda.is_available()
    dev = torch.device("cuda", 0) if cuda else None
    print("python %s, torch %s, cuda %s, weight_layout %s (%s), executor %s; "
          "%d plans compiled in-process in %.3f s" % (
              sys.version.split()[0], torch.__version__,
              torch.cuda.get_device_name(0) if cuda else "none",
              wl.__version__, os.path.dirname(wl.__file__),
              wl.cuda_executor(), len(P), t1 - t0))
    results = {"passed": 0, "failed": 0, "skipped": 0}

    skip = set(os.environ.get("WL_SKIP", "").split(","))

    def check(fn):
        try:
            if fn.__name__ in skip:
                raise Skip("WL_SKIP")
            fn()
        except Skip as e:
            results["skipped"] += 1
            print("SKIPPED %s: %s" % (fn.__name__, e))
        except Exception:
            results["failed"] += 1
            print("FAILED %s" % fn.__name__)
            traceback.print_exc()
        else:
            results["passed"] += 1
            print("PASSED %s" % fn.__name__)
        sys.stdout.flush()
        return fn

    def need_cuda():
        if not cuda:
            raise Skip("no CUDA device")

    def hf(device="cpu"):
        return origin_tensors(P["vllm-tp1"].sources, device)

    @check
    def every_plan_cuda_equals_cpu_byte_for_byte():
        need_cuda()
        for name, p in P.items():
            src = origin_tensors(p.sources) if "bf16" not in name else {
                t.name: torch.randn(t.shape).to(t.dtype) for t in p.sources}
            cpu = p.run(src, views=False)
            gpu = p.run({n: t.to(dev) for n, t in src.items()}, views=False)
            for n, t in cpu.items():
                assert torch.equal(t.view(torch.uint8).view(-1),
                                   gpu[n].cpu().view(torch.uint8).view(-1)), \
                    (name, n)

    @check
    def bound_runs_follow_their_cuda_tensors():
        need_cuda()
        for name in ("vllm-tp2-r1", "vllm-tp1"):
            p = P[name]
            src = {n: t.to(dev) for n, t in origin_tensors(p.sources).items()}
            dst = {t.name: torch.full(t.shape, -1, dtype=t.dtype, device=dev)
                   for t in p.targets}
            bound = p.bind(src, dst)
            for step in range(3):  # new values in the same memory each time
                for t in dst.values():
                    t.fill_(-1)
                bound.run()
                assert wl.last_run_stats()["executor"] == "cuda", name
                want = p.run(src, views=False)
                for n, t in want.items():
                    assert torch.equal(t, dst[n]), (name, step, n)
                for t in src.values():
                    t.mul_(3).add_(step + 1)

    @check
    def jax_and_cupy_arrays_enter_through_dlpack():
        need_cuda()
        took = []
        src = hf()
        want = vllm_rule(src, 2, 1)
        try:
            import jax
            import jax.numpy as jnp
            arrs = {n: jnp.asarray(t.numpy()) for n, t in src.items()}
            assert_same(P["vllm-tp2-r1"].run(arrs), want)
            took.append("jax " + jax.__version__ + " on " +
                        str(next(iter(arrs.values())).devices()))
        except ImportError:
            pass
        try:
            import cupy
            arrs = {n: cupy.asarray(t.numpy()) for n, t in src.items()}
            out = P["vllm-tp2-r1"].run(arrs)
            assert all(t.is_cuda for t in out.values())
            assert_same(out, want)
            took.append("cupy " + cupy.__version__)
        except ImportError:
            pass
        if not took:
            raise Skip("neither JAX nor CuPy here")
        print("  took arrays of " + ", ".join(took))

    @check
    def cpu_vllm_rule():
        src = hf()
        for r in range(2):
            assert_same(P["vllm-tp2-r%d" % r].run(src), vllm_rule(src, 2, r))

    @check
    def cuda_run_vllm_rule():
        need_cuda()
        src = hf(dev)
        for r in range(2):
            out = P["vllm-tp2-r%d" % r].run(src, views=False)
            st = wl.last_run_stats()
            assert st["executor"] == "cuda", st
            assert all(t.is_cuda for t in out.values())
            assert_same(out, vllm_rule(src, 2, r))

    @check
    def cuda_views_share_storage():
        need_cuda()
        src = hf(dev)
        p = P["vllm-tp2-r1"]
        out = p.run(src)
        for t, (s, off) in p.describe()["aliases"].items():
            assert out[t].is_cuda and shares_storage(out[t], src[s]), t
            assert out[t].data_ptr() == src[s].data_ptr() + 4 * off
        assert_same(out, vllm_rule(src, 2, 1))

    @check
    def cuda_run_into_fused_and_column_slices():
        need_cuda()
        src = hf(dev)
        p = P["vllm-tp2-r1"]
        want = vllm_rule(src, 2, 1)
        dst = {t.name: torch.zeros(t.shape, dtype=t.dtype, device=dev)
               for t in p.targets}
        qkv = "model.layers.0.self_attn.qkv_proj.weight"
        o = "model.layers.0.self_attn.o_proj.weight"
        fused = torch.full((202, H), 9, dtype=torch.int32, device=dev)
        wide = torch.full((H, 2 * H), 7, dtype=torch.int32, device=dev)
        dst[qkv], dst[o] = fused[10:], wide[:, H:]
        p.run_into(src, dst)
        st = wl.last_run_stats()
        assert st["executor"] == "cuda" and st["staged_targets"] == 1, st
        assert torch.equal(fused[:10].cpu(),
                           torch.full((10, H), 9, dtype=torch.int32))
        assert torch.equal(wide[:, :H].cpu(),
                           torch.full((H, H), 7, dtype=torch.int32))
        assert_same(dst, want)

    @check
    def cuda_load_cpu_checkpoint_into_cuda_params():
        need_cuda()
        src = hf()
        for r in range(2):
            p = P["vllm-tp2-r%d" % r]
            dst = {t.name: torch.zeros(t.shape, dtype=t.dtype, device=dev)
                   for t in p.targets}
            assert p.load(sorted(src.items(), reverse=True), dst,
                          strict=False) == set(dst)
            st = wl.last_run_stats()
            # Uploaded per source and run by the CUDA executor.
            assert st["executor"] == "cuda" and st["uploaded_bytes"] > 0, st
            assert st["staged_targets"] == 0, st
            assert_same(dst, vllm_rule(src, 2, r))
            # A CUDA checkpoint streamed too.
            dst2 = {n: torch.zeros_like(t) for n, t in dst.items()}
            p.load({n: t.to(dev) for n, t in src.items()}, dst2,
                   strict=False)
            assert wl.last_run_stats()["executor"] == "cuda"
            assert_same(dst2, dst)

    @check
    def cuda_load_checkpoint_equals_cpu():
        need_cuda()
        import tempfile
        src = hf()
        with tempfile.TemporaryDirectory() as d:
            checkpoint_folder(d, src, shards=3)
            for tp, r in ((1, 0), (2, 1)):
                cpu = wl.load_checkpoint(d, "qwen3/hf-to-vllm", tp=tp, rank=r,
                                         device="cpu", dtype=torch.int32)
                gpu = wl.load_checkpoint(d, "qwen3/hf-to-vllm", tp=tp, rank=r,
                                         device="cuda", dtype=torch.int32,
                                         buffer_bytes=16384,
                                         batch_bytes=200000)
                st = wl.last_load_stats()
                assert st["executor"] == "cuda" and st["batches"] > 1, st
                assert all(t.is_cuda for t in gpu.values())
                assert_same(gpu, cpu)
                assert_same(gpu, vllm_rule(src, tp, r))
                # Into CUDA parameters, one a column slice.
                params = {n: torch.zeros_like(t) for n, t in gpu.items()}
                o = "model.layers.0.self_attn.o_proj.weight"
                wide = torch.zeros(H, 2 * params[o].shape[1],
                                   dtype=torch.int32, device=dev)
                params[o] = wide[:, params[o].shape[1]:]
                wl.load_checkpoint(d, "qwen3/hf-to-vllm", tp=tp, rank=r,
                                   dtype=torch.int32, into=params)
                assert_same(params, cpu)

    @check
    def cuda_load_readers_and_buffers():
        # Every split of the reads among readers and buffers lands the same
        # bytes; a shard cut short mid-load raises, and the next load (the
        # same kept buffers) is whole.
        need_cuda()
        import tempfile
        src = hf()
        with tempfile.TemporaryDirectory() as d:
            checkpoint_folder(d, src, shards=3)
            cpu = wl.load_checkpoint(d, "qwen3/hf-to-vllm", tp=2, rank=1,
                                     device="cpu", dtype=torch.int32)
            for threads, buffers, size in ((1, 0, 4096), (3, 1, 16384),
                                           (5, 7, 8192), (16, 0, 65536),
                                           (0, 0, 0)):
                gpu = wl.load_checkpoint(
                    d, "qwen3/hf-to-vllm", tp=2, rank=1, dtype=torch.int32,
                    threads=threads, buffers=buffers, buffer_bytes=size,
                    batch_bytes=100000)
                assert wl.last_load_stats()["batches"] > 1
                assert_same(gpu, cpu)
            shards = sorted(f for f in os.listdir(d)
                            if f.endswith(".safetensors"))
            victim = os.path.join(d, shards[-1])
            keep = open(victim, "rb").read()

            def cut(done, total):
                if os.path.getsize(victim) == len(keep):
                    os.truncate(victim, len(keep) // 2)
            try:
                wl.load_checkpoint(d, "qwen3/hf-to-vllm", tp=2, rank=1,
                                   dtype=torch.int32, buffer_bytes=4096,
                                   batch_bytes=100000, progress=cut)
                raise AssertionError("a shard cut short mid-load loaded")
            except RuntimeError as e:
                assert shards[-1] in str(e), e
            with open(victim, "wb") as f:
                f.write(keep)
            again = wl.load_checkpoint(d, "qwen3/hf-to-vllm", tp=2, rank=1,
                                       dtype=torch.int32, buffer_bytes=4096,
                                       batch_bytes=100000)
            assert_same(again, cpu)

    @check
    def cuda_side_stream():
        need_cuda()
        src = hf(dev)
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            out = P["vllm-tp2-r0"].run(src, views=False)
            out2 = {n: t * 1 for n, t in out.items()}  # ordered after it
        torch.cuda.synchronize()
        assert_same(out2, vllm_rule(src.copy(), 2, 0))

    @check
    def cuda_megatron_round_trip():
        need_cuda()
        src = hf(dev)
        out = P["megatron-all"].run(src, views=False)
        for r in range(2):
            pre = "rank-%d/" % r
            assert_same({n[len(pre):]: t for n, t in out.items()
                         if n.startswith(pre)}, megatron_rule(src, 2, r))
        assert_same(P["megatron-back"].run(out, views=False), src)

    @check
    def cuda_qwen3_5_views():
        need_cuda()
        if "q35-fwd" not in P:
            raise Skip("no Qwen3.5 plans")
        src = origin_tensors(P["q35-fwd"].sources, dev)
        vllm = P["q35-fwd"].run(src, views=False)
        assert wl.last_run_stats()["executor"] == "cuda"
        views = P["q35-back"].run(vllm)
        assert_same(views, src)
        for n, (s, _) in P["q35-back"].describe()["aliases"].items():
            assert shares_storage(views[n], vllm[s]), n
        assert len(P["q35-back"].describe()["aliases"]) == len(src)

    @check
    def cuda_converting_plan_equals_cpu():
        need_cuda()
        if "q35-megatron-bf16" not in P:
            raise Skip("no Qwen3.5 plans")
        p = P["q35-megatron-bf16"]
        assert p.describe()["convert_pieces"] > 0
        g = torch.Generator().manual_seed(1)
        src = {t.name: torch.randn(t.shape, generator=g).to(t.dtype)
               for t in p.sources}
        cpu = p.run(src, views=False)
        gpu = p.run({n: t.to(dev) for n, t in src.items()}, views=False)
        assert wl.last_run_stats()["executor"] == "cuda"
        for n, t in cpu.items():
            assert torch.equal(t.view(torch.int16),
                               gpu[n].cpu().view(torch.int16)), n

    @check
    def cuda_bf16_throughput():
        need_cuda()
        p = P["small-bf16-tp2-r1"]
        src = {t.name: torch.randn(t.shape, device=dev).to(t.dtype)
               for t in p.sources}
        dst = {t.name: torch.empty(t.shape, dtype=t.dtype, device=dev)
               for t in p.targets}
        cpu = p.run({n: t.cpu() for n, t in src.items()}, views=False)
        p.run_into(src, dst)
        for n, t in cpu.items():
            assert torch.equal(t.view(torch.int16),
                               dst[n].cpu().view(torch.int16)), n
        nbytes = p.describe()["bytes_written"]
        for _ in range(3):
            p.run_into(src, dst)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        n = 20
        for _ in range(n):
            p.run_into(src, dst)
        torch.cuda.synchronize()
        dt = (time.perf_counter() - t0) / n
        print("  run_into, %d target bytes: %.3f ms per call, %.0f GB/s "
              "(read + write)" % (nbytes, dt * 1e3, 2 * nbytes / dt / 1e9))

    print("%(passed)d passed, %(failed)d failed, %(skipped)d skipped" % results)
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
