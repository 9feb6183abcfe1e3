"""Checkpoints loaded onto a GPU: weight_layout.load_checkpoint against the
peers' ways, in one run on one machine (docs/benchmarks.md, "Loading onto
a GPU"). Run on the GPU machine with the wheel installed:

  python3 bench/load/bench_load.py [--layers 6] [--out DIR] [--skip-transformers]

For a Qwen3-30B-A3B-shaped (hidden 2048, 128 experts of 768) and a
Qwen3-32B-shaped (hidden 5120, intermediate 25600) bf16 checkpoint of
--layers layers (real sizes otherwise; written once to --dir, page cache
warm unless said), each into vLLM's layout at TP=1 and one rank of TP=4:

- pinned:       cudaMemcpy host-to-device from page-locked memory of the
                same bytes (torch .to("cuda") of a pinned tensor): the roofline
- weight_layout: wl.load_checkpoint(ckpt, "<model>/hf-to-vllm", tp, rank)
- safetensors:  safetensors.torch.load_file(file, device="cuda") per shard,
                then vLLM's cat/chunk/stack in torch (QKVParallelLinear,
                MergedColumnParallelLinear, RowParallelLinear,
                VocabParallelEmbedding, FusedMoE w13/w2)
- transformers: AutoModelForCausalLM.from_pretrained(ckpt, device_map="cuda")
                (TP=1, its own layout)

Every weight_layout result is compared with the safetensors path tensor by
tensor (bit for bit). Also: the cold-cache load beside the disk's own read
rate (pages dropped with posix_fadvise), the in-process compile of a
64-layer plan and its cache hit, and a transformers model filled by
load_checkpoint(into=model.state_dict()) compared with from_pretrained.
GB/s is bytes landed on the GPU (the rank's targets) per second.
"""
import argparse
import json
import os
import sys
import threading
import time

import torch

import weight_layout as wl

MOE = {
    "architectures": ["Qwen3MoeForCausalLM"], "model_type": "qwen3_moe",
    "hidden_size": 2048, "num_attention_heads": 32, "num_key_value_heads": 4,
    "head_dim": 128, "intermediate_size": 6144, "moe_intermediate_size": 768,
    "num_experts": 128, "num_experts_per_tok": 8, "decoder_sparse_step": 1,
    "mlp_only_layers": [], "norm_topk_prob": True, "vocab_size": 151936,
    "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "max_position_embeddings":
    40960, "tie_word_embeddings": False, "attention_bias": False,
    "torch_dtype": "bfloat16", "hidden_act": "silu",
}
DENSE = {
    "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3",
    "hidden_size": 5120, "num_attention_heads": 64, "num_key_value_heads": 8,
    "head_dim": 128, "intermediate_size": 25600, "vocab_size": 151936,
    "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "max_position_embeddings":
    40960, "tie_word_embeddings": False, "attention_bias": False,
    "torch_dtype": "bfloat16", "hidden_act": "silu",
}


def hf_shapes(c):
    H, V = c["hidden_size"], c["vocab_size"]
    nh, nkv, hd = (c["num_attention_heads"], c["num_key_value_heads"],
                   c["head_dim"])
    out = [("model.embed_tokens.weight", (V, H))]
    for l in range(c["num_hidden_layers"]):
        p = "model.layers.%d." % l
        out += [(p + "input_layernorm.weight", (H,)),
                (p + "self_attn.q_proj.weight", (nh * hd, H)),
                (p + "self_attn.k_proj.weight", (nkv * hd, H)),
                (p + "self_attn.v_proj.weight", (nkv * hd, H)),
                (p + "self_attn.o_proj.weight", (H, nh * hd)),
                (p + "self_attn.q_norm.weight", (hd,)),
                (p + "self_attn.k_norm.weight", (hd,)),
                (p + "post_attention_layernorm.weight", (H,))]
        if c["model_type"] == "qwen3_moe":
            I, E = c["moe_intermediate_size"], c["num_experts"]
            out.append((p + "mlp.gate.weight", (E, H)))
            for e in range(E):
                q = p + "mlp.experts.%d." % e
                out += [(q + "gate_proj.weight", (I, H)),
                        (q + "up_proj.weight", (I, H)),
                        (q + "down_proj.weight", (H, I))]
        else:
            I = c["intermediate_size"]
            out += [(p + "mlp.gate_proj.weight", (I, H)),
                    (p + "mlp.up_proj.weight", (I, H)),
                    (p + "mlp.down_proj.weight", (H, I))]
    out += [("model.norm.weight", (H,)), ("lm_head.weight", (V, H))]
    return out


def write_checkpoint(folder, config, shard_bytes=4 << 30):
    """config.json and bf16 shards with an index, as transformers saves."""
    from safetensors.torch import save_file
    if os.path.exists(os.path.join(folder, "model.safetensors.index.json")):
        return
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    g = torch.Generator(device="cuda").manual_seed(0)
    shards, cur, size, weight_map = [], {}, 0, {}
    for name, shape in hf_shapes(config):
        t = torch.randn(shape, generator=g, device="cuda",
                        dtype=torch.float32).to(torch.bfloat16).cpu()
        cur[name] = t
        size += t.numel() * 2
        if size >= shard_bytes:
            shards.append(cur)
            cur, size = {}, 0
    if cur:
        shards.append(cur)
    for i, sh in enumerate(shards):
        fn = "model-%05d-of-%05d.safetensors" % (i + 1, len(shards))
        save_file(sh, os.path.join(folder, fn), metadata={"format": "pt"})
        for n in sh:
            weight_map[n] = fn
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f)
    os.sync()  # no writeback of these pages during the timings


def files_of(folder):
    return sorted(os.path.join(folder, f) for f in os.listdir(folder)
                  if f.endswith(".safetensors"))


def read_all(files, threads=1, chunk=16 << 20):
    """Reads every byte (warms the page cache, or measures the disk)."""
    jobs = []
    for f in files:
        n = os.path.getsize(f)
        jobs += [(f, o, min(chunk, n - o)) for o in range(0, n, chunk)]
    lock, it = threading.Lock(), iter(jobs)

    def work():
        fds = {}
        buf = bytearray(chunk)
        while True:
            with lock:
                j = next(it, None)
            if j is None:
                break
            f, o, n = j
            fd = fds.get(f) or fds.setdefault(f, os.open(f, os.O_RDONLY))
            os.preadv(fd, [memoryview(buf)[:n]], o)
        for fd in fds.values():
            os.close(fd)
    t0 = time.perf_counter()
    ts = [threading.Thread(target=work) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sum(os.path.getsize(f) for f in files), time.perf_counter() - t0


def drop_cache(files):
    for f in files:
        fd = os.open(f, os.O_RDONLY)
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)


def vllm_rule(hf, c, tp, r):
    """vLLM's parameters of rank r, from whole tensors (torch ops)."""
    out = {}
    V, H = c["vocab_size"], c["hidden_size"]
    vp = (V + 63) // 64 * 64
    for n in ("model.embed_tokens.weight", "lm_head.weight"):
        w = hf[n]
        if vp != V:
            w = torch.cat([w, w.new_zeros(vp - V, H)])
        out[n] = w.chunk(tp)[r]
    out["model.norm.weight"] = hf["model.norm.weight"]
    for l in range(c["num_hidden_layers"]):
        p = "model.layers.%d." % l
        a = p + "self_attn."
        out[a + "qkv_proj.weight"] = torch.cat(
            [hf[a + x + "_proj.weight"].chunk(tp)[r] for x in "qkv"])
        out[a + "o_proj.weight"] = hf[a + "o_proj.weight"].chunk(tp, 1)[r]
        for n in ("self_attn.q_norm.weight", "self_attn.k_norm.weight",
                  "input_layernorm.weight", "post_attention_layernorm.weight"):
            out[p + n] = hf[p + n]
        m = p + "mlp."
        if c["model_type"] == "qwen3_moe":
            out[m + "gate.weight"] = hf[m + "gate.weight"]
            E = c["num_experts"]
            e = m + "experts.%d."
            out[m + "experts.w13_weight"] = torch.stack([torch.cat([
                hf[(e % i) + "gate_proj.weight"].chunk(tp)[r],
                hf[(e % i) + "up_proj.weight"].chunk(tp)[r]])
                for i in range(E)])
            out[m + "experts.w2_weight"] = torch.stack([
                hf[(e % i) + "down_proj.weight"].chunk(tp, 1)[r]
                for i in range(E)])
        else:
            out[m + "gate_up_proj.weight"] = torch.cat([
                hf[m + "gate_proj.weight"].chunk(tp)[r],
                hf[m + "up_proj.weight"].chunk(tp)[r]])
            out[m + "down_proj.weight"] = hf[m + "down_proj.weight"].chunk(
                tp, 1)[r]
    return {n: t.contiguous() for n, t in out.items()}


def safetensors_path(folder, c, tp, r):
    from safetensors.torch import load_file
    hf = {}
    for f in files_of(folder):
        hf.update(load_file(f, device="cuda"))
    out = vllm_rule(hf, c, tp, r)
    del hf
    return out


class Rows(list):
    """The table's rows, each also printed as it comes (a run cut short
    keeps what it measured)."""

    def append(self, row):
        super().append(row)
        label, rank, way, nb, dt, st = row
        print("  %s %s %s: %.2f GB in %.3f s, %.1f GB/s%s" % (
            label, rank, way, nb / 1e9, dt, nb / dt / 1e9,
            "" if not st else " %s" % json.dumps(st)), flush=True)


def timed(fn, repeat=3):
    """(best seconds, result of the last call), GPU work included."""
    best, res = None, None
    for _ in range(repeat):
        res = None
        torch.cuda.empty_cache()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        res = fn()
        torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    return best, res


def nbytes(d):
    return sum(t.numel() * t.element_size() for t in d.values())


def same(a, b):
    """Names equal and every tensor equal bit for bit; the first difference."""
    if sorted(a) != sorted(b):
        return "names differ: %s" % sorted(set(a) ^ set(b))[:3]
    for n in a:
        x, y = a[n], b[n]
        if x.shape != y.shape or x.dtype != y.dtype:
            return "%s: %s %s vs %s %s" % (n, x.shape, x.dtype, y.shape,
                                          y.dtype)
        if not torch.equal(x.view(torch.int16), y.view(torch.int16)):
            return "%s differs" % n
    return None


def pinned_h2d(total, chunk=1 << 30):
    src = torch.empty(chunk, dtype=torch.uint8).pin_memory()
    dst = torch.empty(chunk, dtype=torch.uint8, device="cuda")
    dst.copy_(src, non_blocking=True)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    done = 0
    while done < total:
        dst.copy_(src, non_blocking=True)
        done += chunk
    torch.cuda.synchronize()
    return done / (time.perf_counter() - t0)


def transformers_rows(folder, c, label, total, rows, checks):
    """from_pretrained, and (MoE) a model filled by load_checkpoint."""
    from transformers import AutoConfig, AutoModelForCausalLM
    dt, model = timed(lambda: AutoModelForCausalLM.from_pretrained(
        folder, dtype=torch.bfloat16, device_map="cuda"), repeat=1)
    rows.append((label, "TP=1", "transformers from_pretrained "
                 "(device_map=cuda)", total, dt, None))
    if c["model_type"] == "qwen3_moe":
        ref = {n: t for n, t in model.state_dict().items()}
        with torch.device("cuda"):
            from transformers import AutoConfig
            empty = AutoModelForCausalLM.from_config(
                AutoConfig.from_pretrained(folder),
                dtype=torch.bfloat16)
        sd = empty.state_dict()
        dt, _ = timed(lambda: wl.load_checkpoint(
            folder, "qwen3_moe/hf-to-transformers", into=sd),
            repeat=1)
        rows.append((label, "TP=1", "weight_layout into "
                     "model.state_dict() (transformers layout)",
                     total, dt, wl.last_load_stats()))
        diff = same({n: sd[n] for n in ref if n in sd}, ref)
        checks.append(("%s: transformers model filled by "
                       "load_checkpoint(into=model.state_dict()) vs "
                       "from_pretrained, %d tensors" % (
                           label, len(ref)), diff))
        del empty, sd, ref
    del model
    torch.cuda.empty_cache()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--dir", default="/tmp/wl-load-bench")
    ap.add_argument("--out", default=os.environ.get("OUT", "."))
    ap.add_argument("--skip-transformers", action="store_true")
    a = ap.parse_args()
    rows, checks, notes = Rows(), [], []
    gpu = torch.cuda.get_device_name(0)
    print("# %s, python %s, torch %s, weight_layout %s, %d CPUs" % (
        gpu, sys.version.split()[0], torch.__version__, wl.__version__,
        os.cpu_count()))
    for label, base in (("Qwen3-30B-A3B-shaped", MOE),
                        ("Qwen3-32B-shaped", DENSE)):
        c = dict(base, num_hidden_layers=a.layers)
        folder = os.path.join(a.dir, c["model_type"])
        t0 = time.perf_counter()
        write_checkpoint(folder, c)
        files = files_of(folder)
        total, _ = read_all(files, threads=16)  # page cache warm
        print("## %s, %d layers: %.2f GB in %d files (made in %.0f s)" % (
            label, a.layers, total / 1e9, len(files),
            time.perf_counter() - t0))
        mapping = c["model_type"] + "/hf-to-vllm"
        roof = pinned_h2d(total)
        rows.append((label, "-", "pinned cudaMemcpy H2D (roofline)", total,
                     total / roof, None))
        for tp, r in ((1, 0), (4, 0)):
            wl.compile(mapping, folder, tp=tp, rank=r)  # compiled (cached)
            dt, got = timed(lambda: wl.load_checkpoint(
                folder, mapping, tp=tp, rank=r, device="cuda"))
            st = wl.last_load_stats()
            nb = nbytes(got)
            rows.append((label, "TP=%d r%d" % (tp, r), "weight_layout", nb,
                         dt, st))
            del got
            dt2, ref = timed(lambda: safetensors_path(folder, c, tp, r),
                             repeat=1)
            rows.append((label, "TP=%d r%d" % (tp, r),
                         "safetensors load_file + vLLM's cat/chunk",
                         nbytes(ref), dt2, None))
            got = wl.load_checkpoint(folder, mapping, tp=tp, rank=r)
            diff = same(got, ref)
            checks.append(("%s TP=%d rank %d: weight_layout vs safetensors + "
                           "vLLM's rule, %d tensors" % (label, tp, r,
                                                        len(got)), diff))
            del got, ref
            torch.cuda.empty_cache()
        # Cold: pages dropped, then the loader; then the disk alone.
        drop_cache(files)
        dt, got = timed(lambda: wl.load_checkpoint(folder, mapping,
                                                   device="cuda"), repeat=1)
        rows.append((label, "TP=1 r0", "weight_layout, cold cache",
                     nbytes(got), dt, wl.last_load_stats()))
        del got
        torch.cuda.empty_cache()
        for threads in (1, 16):
            drop_cache(files)
            n, dt = read_all(files, threads=threads)
            rows.append((label, "-", "disk read, cold, %d thread(s), 16 MiB "
                         "preads" % threads, n, dt, None))
        read_all(files, threads=16)
        if not a.skip_transformers:
            try:
                transformers_rows(folder, c, label, total, rows, checks)
            except Exception as e:  # reported, the rest still runs
                checks.append(("%s: transformers" % label, "failed: %r" % e))

    # Compile of a 64-layer plan, and its cache hit.
    c64 = dict(DENSE, num_hidden_layers=64)
    wl.clear_cache()
    t0 = time.perf_counter()
    wl.compile("qwen3/hf-to-vllm", c64, tp=4, rank=1)
    t1 = time.perf_counter()
    wl.compile("qwen3/hf-to-vllm", c64, tp=4, rank=2)
    t2 = time.perf_counter()
    notes.append("in-process compile of Qwen3-32B (64 layers) to vLLM TP=4: "
                 "%.3f s; a second rank from the cache: %.4f s" % (
                     t1 - t0, t2 - t1))
    print("\n| model | rank | way | GB on GPU | s | GB/s |")
    print("|---|---|---|---:|---:|---:|")
    for label, rank, way, nb, dt, st in rows:
        print("| %s | %s | %s | %.2f | %.3f | %.1f |" % (
            label, rank, way, nb / 1e9, dt, nb / dt / 1e9))
    for what, diff in checks:
        print("%s: %s" % ("OK" if diff is None else "DIFFERS", what) +
              ("" if diff is None else " (%s)" % diff))
    for n in notes:
        print(n)
    with open(os.path.join(a.out, "bench-load.json"), "w") as f:
        json.dump({"gpu": gpu, "rows": rows, "checks": checks,
                   "notes": notes}, f, indent=1, default=str)
    return 0 if all(d is None for _, d in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
