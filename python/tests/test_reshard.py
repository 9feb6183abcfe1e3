"""weight_layout.reshard over torch.distributed (gloo, CPU processes): each
process packs, exchanges and unpacks its part, and every destination rank
equals what the destination mapping's own plan makes from the checkpoint,
element by element (each element holds its origin). Colocated processes
(each a source and a destination rank) and disjoint ones (senders, then
receivers), in one round and in rounds of a small bucket; the bytes sent
equal the reshard's traffic and no process holds more than the bucket in
buffers."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

import torch

import weight_layout as wl

SRC = os.environ.get("WL_SOURCE_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")
INPUTS = os.path.join(SRC, "test", "Mapping", "Inputs")


def checkpoint(mapping, config, options, dtype):
    """Every tensor the mapping reads, element i of tensor k = k << 20 | i
    (i32), or (k + 1) * 65536 + i (f32, exact below 2 ** 24)."""
    plan = wl.compile(mapping, config, rank="all", dtype=dtype, **options)
    out = {}
    for k, (name, _, shape) in enumerate(sorted(plan.sources)):
        n = 1
        for d in shape:
            n *= d
        if dtype == "i32":
            t = torch.arange(n, dtype=torch.int32) + ((k + 1) << 20)
        else:
            assert n <= 65536 and (k + 2) * 65536 <= 1 << 24
            t = (torch.arange(n) + (k + 1) * 65536).to(torch.float32)
        out[name] = t.reshape(shape)
    return out


CASES = {  # source, its options, destination, its options, config,
    # dest_offset (0: colocated), bucket_bytes (0: one round)[, dtype]
    # Megatron-Core TP=2, EP=2, ETP=1 (2 ranks) -> vLLM TP=4, colocated:
    # processes 2 and 3 only receive.
    "megatron-to-vllm": ("qwen3_moe/hf-to-megatron", {"tp": 2, "ep": 2, "etp": 1},
                         "qwen3_moe/hf-to-vllm", {"tp": 4},
                         "qwen3_moe-config.json", 0, 0),
    "megatron-to-vllm-bucket": ("qwen3_moe/hf-to-megatron",
                                {"tp": 2, "ep": 2, "etp": 1},
                                "qwen3_moe/hf-to-vllm", {"tp": 4},
                                "qwen3_moe-config.json", 0, 16384),
    # vLLM TP=2 with expert parallelism (2 senders) -> Megatron-Core TP=2,
    # DP=2, EP=2 (4 receivers), disjoint.
    "vllm-to-megatron": ("qwen3_moe/hf-to-vllm", {"tp": 2, "ep": 2},
                         "qwen3_moe/hf-to-megatron", {"tp": 2, "dp": 2, "ep": 2},
                         "qwen3_moe-config.json", 2, 20000),
    "vllm-tp4-to-tp2": ("qwen3/hf-to-vllm", {"tp": 4}, "qwen3/hf-to-vllm",
                        {"tp": 2}, "qwen3-config.json", 0, 0),
    # Qwen3.5 (gated delta net layers): vLLM TP=4 -> Megatron-Core TP=2,
    # PP=2, colocated, in rounds (f32: Megatron's norms pass an affine).
    "qwen3_5-vllm-to-megatron": ("qwen3_5/hf-to-vllm", {"tp": 4},
                                 "qwen3_5/hf-to-megatron",
                                 {"tp": 2, "pp": 2, "out_norm_offset": 0},
                                 "qwen3_5-config.json", 0, 8192, "f32"),
}


def worker(me, n, case, init):
    """One process: its source rank's tensors in, its destination rank's
    out; returns (bytes sent, tensors that differ, moved, total, stats)."""
    src_map, src_opts, dst_map, dst_opts, config, offset, bucket = \
        CASES[case][:7]
    dtype = CASES[case][7] if len(CASES[case]) > 7 else "i32"
    config = os.path.join(INPUTS, config)
    torch.distributed.init_process_group("gloo", init_method=init, rank=me,
                                         world_size=n)
    try:
        hf = checkpoint(src_map, config, src_opts, dtype)
        r = wl.reshard(src_map, dst_map, config, from_options=src_opts,
                       dtype=dtype, **dst_opts)
        a = me if me < r.source_ranks else -1
        b = me - offset if 0 <= me - offset < r.dest_ranks else -1
        sources = (wl.compile(src_map, config, rank=a, dtype=dtype,
                              **src_opts).run(hf, views=False)
                   if a >= 0 else None)
        want = dests = None
        if b >= 0:
            want = wl.compile(dst_map, config, rank=b, dtype=dtype,
                              **dst_opts).run(hf, views=False)
            dests = {k: torch.full_like(v, -1) for k, v in want.items()}
        sent = r.execute(sources, dests, dest_offset=offset,
                         bucket_bytes=bucket)
        bad = [k for k in (want or {}) if not torch.equal(dests[k], want[k])]
        return sent, bad, r.moved_bytes, r.total_bytes, r.last_stats
    finally:
        torch.distributed.destroy_process_group()


def run_case(case, n):
    """n processes of this file (--worker), their results."""
    with tempfile.TemporaryDirectory() as d:
        init = "file://" + os.path.join(d, "rendezvous")
        outs = [os.path.join(d, "out-%d.json" % i) for i in range(n)]
        procs = [subprocess.Popen([sys.executable, os.path.abspath(__file__),
                                   "--worker", str(i), str(n), case, init,
                                   outs[i]])
                 for i in range(n)]
        for p in procs:
            assert p.wait(timeout=300) == 0, "a reshard process failed"
        return [json.load(open(o)) for o in outs]


def check(case, n, colocated):
    got = run_case(case, n)
    bucket = CASES[case][6]
    for me, (sent, bad, moved, total, stats) in enumerate(got):
        assert not bad, "process %d: %s differ" % (me, bad)
        if bucket:
            assert stats["peak_buffer_bytes"] <= bucket, (me, stats)
    if bucket:  # the traffic is far larger than the bucket: rounds
        assert max(g[4]["rounds"] for g in got) > 1, got
    sent = sum(g[0] for g in got)
    moved, total = got[0][2], got[0][3]
    # Colocated, what a rank holds for itself stays; disjoint, all moves.
    assert sent == (moved if colocated else total), (sent, moved, total)


def have_gloo():
    if not torch.distributed.is_available():
        raise unittest.SkipTest("torch.distributed is not available")


def test_reshard_megatron_to_vllm_colocated():
    have_gloo()
    check("megatron-to-vllm", 4, True)


def test_reshard_vllm_to_megatron_disjoint():
    have_gloo()
    check("vllm-to-megatron", 6, False)


def test_reshard_vllm_tp_shrinks_colocated():
    have_gloo()
    check("vllm-tp4-to-tp2", 4, True)


def test_reshard_megatron_to_vllm_in_rounds():
    have_gloo()
    check("megatron-to-vllm-bucket", 4, True)


def test_reshard_qwen3_5_vllm_to_megatron_in_rounds():
    have_gloo()
    check("qwen3_5-vllm-to-megatron", 4, True)


def test_reshard_errors():
    cfg = os.path.join(INPUTS, "qwen3_moe-config.json")
    try:
        wl.reshard("qwen3_moe/hf-to-megatron", "qwen3_moe/hf-to-vllm", cfg,
                   from_options={"tp": 2, "ep": 2}, tp=2)
        raise AssertionError("a degree Megatron forbids was accepted")
    except ValueError as e:
        assert "tp x cp x dp must be a multiple of etp x ep" in str(e), e
    r = wl.reshard("qwen3_moe/hf-to-vllm", "qwen3_moe/hf-to-vllm", cfg,
                   from_options={"tp": 2}, tp=4)
    try:
        r.part(2, 0)
        raise AssertionError("a source rank beyond the mapping's was accepted")
    except ValueError as e:
        assert "source rank 2 of 2" in str(e), e


if __name__ == "__main__" and sys.argv[1:2] == ["--worker"]:
    me, n, case, init, out = sys.argv[2:7]
    result = worker(int(me), int(n), case, init)
    with open(out, "w") as f:
        json.dump(result, f)
