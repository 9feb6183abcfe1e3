"""Every rank's reshard kernels on one GPU, the exchange replaced by a device
copy, against the device copy roofline (docs/benchmarks.md, "Resharding on
one GPU"; the multi-GPU NCCL measurement needs several GPUs).

usage: one_gpu.py [--layers N] [--bucket-mb MB] [--repeat K] [--bound]

A Qwen3-30B-A3B-shaped bf16 model of N layers (random values) is made on
the GPU as Hugging Face tensors, then as every rank of the source layout
(Megatron-Core TP=2 EP=2 ETP=1) and, for the check, every rank of the
destination (vLLM TP=2). For each process of a colocated reshard its part
runs on the one GPU: pack (its send plans), "exchange" (each buffer copied
into a receive buffer, device to device), unpack (its receive plans into
its destination tensors, in place). Timed with CUDA events; bytes are
read + written. The roofline is torch's device copy of one buffer as large
as the destination (read + written).

With --bound the buffers are made once and every plan is bound to its
tensors once (Plan.bind), as an RL loop would keep them from one sync to
the next: a sync then launches kernels and copies, nothing else. Without
it every pack makes new buffers and every call hands its tensors over.
"""

import argparse
import json
import os
import time

import torch

import weight_layout as wl

# Qwen3-30B-A3B's shapes (the layers set by --layers).
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                       "configs", "qwen3-30b-a3b-config.json")) as f:
    MOE = json.load(f)
A, A_OPTS = "qwen3_moe/hf-to-megatron", {"tp": 2, "ep": 2, "etp": 1}
B, B_OPTS = "qwen3_moe/hf-to-vllm", {"tp": 2}


def nbytes(ts):
    return sum(t.numel() * t.element_size() for t in ts)


def timed(fn):
    if not torch.cuda.is_available():  # --device cpu: a trial of the script
        t0 = time.perf_counter()
        out = fn()
        return time.perf_counter() - t0, out
    start, end = (torch.cuda.Event(enable_timing=True) for _ in range(2))
    torch.cuda.synchronize()
    start.record()
    out = fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / 1e3, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--bucket-mb", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--bound", action="store_true")
    args = ap.parse_args()
    cfg = dict(MOE, num_hidden_layers=args.layers)
    dev = torch.device(args.device)
    print("%s, torch %s; %d layers" % (
        torch.cuda.get_device_name() if dev.type == "cuda" else "CPU",
        torch.__version__, args.layers))
    t0 = time.perf_counter()
    r = wl.reshard(A, B, cfg, from_options=A_OPTS, **B_OPTS)
    print("reshard compile %.2f s: %d -> %d ranks, moved %.3f of %.3f GB" % (
        time.perf_counter() - t0, r.source_ranks, r.dest_ranks,
        r.moved_bytes / 1e9, r.total_bytes / 1e9))
    n = max(r.source_ranks, r.dest_ranks)
    gen = torch.Generator(device=dev).manual_seed(0)
    every = wl.compile(A, cfg, rank="all", **A_OPTS)
    hf = {name: torch.randn(shape, generator=gen, device=dev).to(torch.bfloat16)
          for name, _, shape in every.sources}
    src = [wl.compile(A, cfg, rank=a, **A_OPTS).run(hf, views=False)
           for a in range(r.source_ranks)]
    want = [wl.compile(B, cfg, rank=b, **B_OPTS).run(hf, views=False)
            for b in range(r.dest_ranks)]
    del hf
    parts = [r.part(p if p < r.source_ranks else -1,
                    p if p < r.dest_ranks else -1, args.bucket_mb << 20)
             for p in range(n)]
    rounds = max(len(p.rounds) for p in parts)
    dest_bytes = sum(nbytes(w.values()) for w in want)

    def sync(dests):
        """One full sync; per phase seconds and bytes (read + written)."""
        phase = {"pack": [0.0, 0], "exchange": [0.0, 0], "unpack": [0.0, 0]}
        for k in range(rounds):
            wire = {}  # (sender, destination) -> {name: buffer}
            for p in range(n):
                if k >= len(parts[p].rounds):
                    continue
                for d, plan in parts[p].rounds[k].send.items():
                    s, bufs = timed(lambda: plan.run(src[p], views=False))
                    phase["pack"][0] += s
                    phase["pack"][1] += 2 * nbytes(bufs.values())
                    wire[(p, d)] = bufs
            incoming = [{} for _ in range(n)]
            for (p, d), bufs in wire.items():
                def copy():
                    out = {}
                    for name, t in bufs.items():
                        c = torch.empty_like(t)
                        c.copy_(t)
                        out["from-%d/%s" % (p, name.split("/", 1)[1])] = c
                    return out
                s, got = timed(copy)
                phase["exchange"][0] += s
                phase["exchange"][1] += 2 * nbytes(got.values())
                incoming[d].update(got)
            del wire
            for b in range(r.dest_ranks):
                if k >= len(parts[b].rounds):
                    continue
                rnd = parts[b].rounds[k]
                given = dict(src[b]) if (k == 0 and b < r.source_ranks) else {}
                given.update(incoming[b])
                s, _ = timed(lambda: rnd.receive.run_into(
                    given, dests[b], partial=rounds > 1))
                phase["unpack"][0] += s
            del incoming
        # Unpack reads each destination element once (from the process's
        # own tensors or a buffer, of the same dtype) and writes it once.
        phase["unpack"][1] = 2 * dest_bytes
        return phase

    def bind_all(dests):
        """Buffers made once and every plan bound: per round, per process,
        its pack runs, its exchange copies and its unpack run."""
        rounds_of = []
        for k in range(rounds):
            packs, copies, unpacks = [], [], []
            incoming = [{} for _ in range(n)]
            for p in range(n):
                if k >= len(parts[p].rounds):
                    continue
                for d, plan in parts[p].rounds[k].send.items():
                    bufs = {t.name: torch.empty(t.shape, dtype=t.dtype,
                                                device=dev)
                            for t in plan.targets}
                    packs.append((plan.bind(src[p], bufs), bufs))
                    for name, t in bufs.items():
                        got = torch.empty_like(t)
                        copies.append((got, t))
                        incoming[d]["from-%d/%s" % (
                            p, name.split("/", 1)[1])] = got
            for b in range(r.dest_ranks):
                if k >= len(parts[b].rounds):
                    continue
                given = dict(src[b]) if (k == 0 and b < r.source_ranks) else {}
                given.update(incoming[b])
                unpacks.append(parts[b].rounds[k].receive.bind(
                    given, dests[b], partial=rounds > 1))
            rounds_of.append((packs, copies, unpacks))
        return rounds_of

    def sync_bound(bound):
        phase = {"pack": [0.0, 0], "exchange": [0.0, 0], "unpack": [0.0, 0]}
        for packs, copies, unpacks in bound:
            s, _ = timed(lambda: [b.run() for b, _ in packs])
            phase["pack"][0] += s
            phase["pack"][1] += sum(2 * nbytes(bufs.values())
                                    for _, bufs in packs)
            s, _ = timed(lambda: [x.copy_(y) for x, y in copies])
            phase["exchange"][0] += s
            phase["exchange"][1] += sum(2 * nbytes([y]) for _, y in copies)
            s, _ = timed(lambda: [u.run() for u in unpacks])
            phase["unpack"][0] += s
        phase["unpack"][1] = 2 * dest_bytes
        return phase

    best = None
    dests = bound = None
    if args.bound:
        dests = [{k: torch.full_like(v, -1.0) for k, v in w.items()}
                 for w in want]
        t0 = time.perf_counter()
        bound = bind_all(dests)
        print("buffers made and plans bound once: %.1f ms" % (
            (time.perf_counter() - t0) * 1e3))
    for _ in range(args.repeat):
        if bound:
            for d in dests:
                for v in d.values():
                    v.fill_(-1.0)
            phase = sync_bound(bound)
        else:
            dests = [{k: torch.full_like(v, -1.0) for k, v in w.items()}
                     for w in want]
            phase = sync(dests)
        ok = all(torch.equal(dests[b][k], want[b][k])
                 for b in range(r.dest_ranks) for k in want[b])
        total = sum(v[0] for v in phase.values())
        if best is None or total < best[0]:
            best = (total, phase, ok)
        if not bound:
            del dests
    # The roofline: one device copy as large as the destination.
    x = torch.empty(dest_bytes // 2, dtype=torch.bfloat16, device=dev)
    y = torch.empty_like(x)
    copy_s = min(timed(lambda: y.copy_(x))[0] for _ in range(5))
    copy_bw = 2 * dest_bytes / copy_s
    total, phase, ok = best
    print("device copy of %.3f GB: %.2f ms, %.0f GB/s (read + written)" % (
        dest_bytes / 1e9, copy_s * 1e3, copy_bw / 1e9))
    moved = 0
    for name, (s, b) in phase.items():
        bw = b / s if s else 0
        print("  %-8s %8.2f ms  %7.3f GB  %6.0f GB/s  %5.1f%% of the copy" % (
            name, s * 1e3, b / 1e9, bw / 1e9, 100 * bw / copy_bw))
        moved += b
    print("full sync (%d processes, %d round%s): %.2f ms; the same bytes at "
          "the copy's rate %.2f ms: %.1f%%; %s" % (
              n, rounds, "" if rounds == 1 else "s", total * 1e3,
              moved / copy_bw * 1e3, 100 * moved / copy_bw / total,
              "bit-equal to the destination's own plan" if ok else "DIFFERS"))


if __name__ == "__main__":
    main()
