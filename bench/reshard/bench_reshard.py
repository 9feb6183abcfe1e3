"""Resharding between processes on the CPU (gloo): weight_layout.reshard
against the gather-convert-scatter route RL frameworks take by default, in
the same run, on the same tensors (docs/benchmarks.md, "Resharding").

usage: bench_reshard.py --config CONFIG.json --layers N --work DIR
           [--case NAME ...] [--bucket-mb MB] [--bin BUILD/bin] [--repeat K]

A checkpoint of the config's shapes (N layers) is generated once
(weight-layout-gen, or torch and safetensors where it is not built). For each case, one process per rank (colocated: each
process is a source rank and a destination rank) loads its source rank's
tensors (load_checkpoint) and the destination rank's expected tensors, then
per route, timed between barriers:
- reshard: Reshard.execute, each process sending each peer only the
  elements that peer's ranks need, in rounds of --bucket-mb;
- gather: every source tensor all-gathered to every process (as Megatron's
  per-parameter all-gathers over its TP and EP groups do), converted to
  Hugging Face tensors (the source mapping's way back, each gathered tensor
  streamed in as it comes) and written into the destination rank's tensors
  (the destination's plan, as vLLM's load_weights slices them). It holds
  the whole Hugging Face model at once, where the frameworks convert a
  parameter or a bucket at a time: its traffic and time are theirs, its
  memory is not.
Each route's result is compared with the expected tensors, bit for bit.
Reported per process: seconds (the fastest of --repeat runs), bytes
received, and the peak extra memory (VmHWM after the route minus VmRSS
before it, the peak reset first; the largest over the runs).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import torch
import torch.distributed as dist

import weight_layout as wl

CASES = {
    # name: source mapping, its options, destination mapping, its options
    "megatron-tp2-ep2-to-vllm-tp2": (
        "qwen3_moe/hf-to-megatron", {"tp": 2, "ep": 2, "etp": 1},
        "qwen3_moe/hf-to-vllm", {"tp": 2}),
    "megatron-tp2-pp2-to-vllm-tp4": (
        "qwen3_moe/hf-to-megatron", {"tp": 2, "pp": 2},
        "qwen3_moe/hf-to-vllm", {"tp": 4}),
    "vllm-tp4-to-tp2-dp2": (
        "qwen3_moe/hf-to-vllm", {"tp": 4},
        "qwen3_moe/hf-to-vllm", {"tp": 2, "dp": 2}),
}


def memory(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def timed(fn):
    """Runs fn between barriers; (seconds, peak extra bytes)."""
    dist.barrier()
    base = memory("VmRSS")
    reset_peak()
    t0 = time.perf_counter()
    fn()
    dist.barrier()
    seconds = time.perf_counter() - t0
    return seconds, max(memory("VmHWM") - base, 0)


def gather_convert_scatter(ckpt_config, a_map, a_opts, b_map, b_opts,
                           ranks, me, sources, dests):
    """The frameworks' route; returns the bytes this process received.
    Each gathered tensor is streamed into the way back as it comes and
    dropped (the Hugging Face tensors are what is held), then the
    destination's plan writes this process's tensors from them."""
    plans = [wl.compile(a_map, ckpt_config, rank=r, **a_opts)
             for r in range(ranks)]
    back = wl.compile(a_map, ckpt_config, rank="all", reverse=True, **a_opts)
    hf = {name: torch.empty(shape, dtype=wl._arrays.framework_dtype(dtype))
          for name, dtype, shape in back._info["target_tensors"]}
    to_hf = back.loader(hf)
    received = 0
    for p in range(ranks):
        for name, dtype, shape in plans[p]._info["target_tensors"]:
            t = (sources[name] if p == me else
                 torch.empty(shape, dtype=wl._arrays.framework_dtype(dtype)))
            # gloo's collectives take few dtypes: the same bytes as uint8.
            dist.broadcast(t.reshape(-1).view(torch.uint8), src=p)
            if p != me:
                received += t.numel() * t.element_size()
            to_hf.feed("rank-%d/%s" % (p, name) if ranks > 1 else name, t)
            del t
    to_hf.finish()
    wl.compile(b_map, ckpt_config, rank=me, **b_opts).run_into(hf, dests)
    return received


def worker(me, n, init, args):
    dist.init_process_group("gloo", init_method=init, rank=me, world_size=n)
    a_map, a_opts, b_map, b_opts = CASES[args["case"]]
    ckpt = args["ckpt"]
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // n))
    t0 = time.perf_counter()
    r = wl.reshard(a_map, b_map, ckpt, from_options=a_opts, **b_opts)
    compile_s = time.perf_counter() - t0
    assert r.source_ranks == r.dest_ranks == n, (r.source_ranks, r.dest_ranks)
    sources = wl.load_checkpoint(ckpt, a_map, device="cpu", rank=me, **a_opts)
    want = wl.load_checkpoint(ckpt, b_map, device="cpu", rank=me, **b_opts)
    out = {"rank": me, "compile_s": compile_s,
           "source_bytes": sum(t.numel() * t.element_size()
                               for t in sources.values()),
           "dest_bytes": sum(t.numel() * t.element_size()
                             for t in want.values()),
           "moved_bytes": r.moved_bytes, "total_bytes": r.total_bytes}
    for route in ["reshard", "gather"] * args["repeat"]:
        # Touched before the clock (so that first-touch pages are not
        # counted) and unlike the expected values.
        dests = {k: torch.empty_like(v).fill_(-1) for k, v in want.items()}
        got = {}
        if route == "reshard":
            def go():
                r.execute(sources, dests, bucket_bytes=args["bucket"])
            s, peak = timed(go)
            got["received"] = r.last_stats["received_bytes"]
            got["rounds"] = r.last_stats["rounds"]
            got["buffer_peak"] = r.last_stats["peak_buffer_bytes"]
        else:
            box = {}

            def go():
                box["received"] = gather_convert_scatter(
                    ckpt, a_map, a_opts, b_map, b_opts, n, me, sources, dests)
            s, peak = timed(go)
            got["received"] = box["received"]
        got["equal"] = all(torch.equal(dests[k], want[k]) for k in want)
        # The fastest run's time; the largest peak of all runs (memory
        # freed by one run can stay resident and hide the next one's).
        best = out.get(route)
        got.update(seconds=s, peak_extra=peak)
        if best is not None:
            got["peak_extra"] = max(peak, best["peak_extra"])
            got["equal"] = got["equal"] and best["equal"]
            if best["seconds"] < s:
                best.update(peak_extra=got["peak_extra"], equal=got["equal"])
                got = best
        out[route] = got
        del dests
    dist.destroy_process_group()
    return out


def generate(args):
    ckpt = os.path.join(args.work, "ckpt-%dl" % args.layers)
    if os.path.exists(os.path.join(ckpt, "config.json")):
        return ckpt
    with open(args.config) as f:
        cfg = json.load(f)
    os.makedirs(args.work, exist_ok=True)
    conf = os.path.join(args.work, "config-%dl.json" % args.layers)
    cfg["num_hidden_layers"] = args.layers
    with open(conf, "w") as f:
        json.dump(cfg, f)
    gen = os.path.join(args.bin, "weight-layout-gen")
    if os.access(gen, os.X_OK):
        subprocess.check_call([gen, "--config", conf, "--to", ckpt, "--quiet"])
    else:  # e.g. on a machine without LLVM: torch and safetensors
        write_checkpoint(cfg, ckpt)
    return ckpt


def write_checkpoint(cfg, ckpt, shard_bytes=4 << 30):
    """Random bf16 tensors of every name the vLLM mapping reads, saved as
    transformers saves them (shards with an index) by safetensors."""
    from safetensors.torch import save_file
    os.makedirs(ckpt)
    names = sorted(wl.compile("qwen3_moe/hf-to-vllm", cfg, rank="all",
                              tp=1).sources)
    shards, cur, size = [], {}, 0
    gen = torch.Generator().manual_seed(0)
    for name, _, shape in names:
        t = (torch.rand(shape, generator=gen) - 0.5).to(torch.bfloat16)
        if cur and size + t.numel() * 2 > shard_bytes:
            shards.append(cur)
            cur, size = {}, 0
        cur[name] = t
        size += t.numel() * 2
    shards.append(cur)
    weight_map = {}
    for i, part in enumerate(shards):
        fname = "model-%05d-of-%05d.safetensors" % (i + 1, len(shards))
        save_file(part, os.path.join(ckpt, fname), metadata={"format": "pt"})
        weight_map.update({k: fname for k in part})
    with open(os.path.join(ckpt, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f)
    with open(os.path.join(ckpt, "config.json"), "w") as f:
        json.dump(cfg, f)


def run_case(case, ckpt, args):
    n = 1
    for v in CASES[case][3].values():
        n *= v
    with tempfile.TemporaryDirectory() as d:
        init = "file://" + os.path.join(d, "rendezvous")
        job = json.dumps({"case": case, "ckpt": ckpt,
                          "bucket": args.bucket_mb << 20,
                          "repeat": args.repeat})
        outs = [os.path.join(d, "out-%d.json" % i) for i in range(n)]
        procs = [subprocess.Popen([sys.executable, os.path.abspath(__file__),
                                   "--worker", str(i), str(n), init, job,
                                   outs[i]]) for i in range(n)]
        for p in procs:
            if p.wait() != 0:
                raise SystemExit("%s: a process failed" % case)
        return [json.load(open(o)) for o in outs]


def report(case, results):
    gb = 1e9
    print("%s (%d processes)" % (case, len(results)))
    r0 = results[0]
    print("  moved %.3f of %.3f GB (the plan's traffic); compile %.2f s" %
          (r0["moved_bytes"] / gb, r0["total_bytes"] / gb, r0["compile_s"]))
    for route in ("reshard", "gather"):
        t = max(x[route]["seconds"] for x in results)
        recv = [x[route]["received"] / gb for x in results]
        peak = [x[route]["peak_extra"] / gb for x in results]
        eq = all(x[route]["equal"] for x in results)
        extra = ""
        if route == "reshard":
            extra = ", %d rounds, buffers at most %.3f GB" % (
                max(x[route]["rounds"] for x in results),
                max(x[route]["buffer_peak"] for x in results) / gb)
        print("  %-8s %.3f s; received per process %s GB; peak extra "
              "memory %s GB; %s%s" % (
                  route, t, " ".join("%.3f" % v for v in recv),
                  " ".join("%.2f" % v for v in peak),
                  "bit-equal" if eq else "DIFFERS", extra))
    ratio = (max(x["gather"]["seconds"] for x in results) /
             max(x["reshard"]["seconds"] for x in results))
    print("  reshard is %.1fx faster than gather-convert-scatter" % ratio)


def main():
    if sys.argv[1:2] == ["--worker"]:
        me, n, init, job, out = sys.argv[2:7]
        result = worker(int(me), int(n), init, json.loads(job))
        with open(out, "w") as f:
            json.dump(result, f)
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--work", required=True)
    ap.add_argument("--case", action="append", choices=sorted(CASES))
    ap.add_argument("--bucket-mb", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--bin", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "build",
        "bin"))
    args = ap.parse_args()
    ckpt = generate(args)
    print("checkpoint %s: %.2f GB; %d cores; torch %s" % (
        ckpt, sum(os.path.getsize(os.path.join(ckpt, f))
                  for f in os.listdir(ckpt)) / 1e9, os.cpu_count(),
        torch.__version__))
    for case in args.case or list(CASES):
        report(case, run_case(case, ckpt, args))


if __name__ == "__main__":
    main()
