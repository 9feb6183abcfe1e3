"""Load a Hugging Face Qwen3 checkpoint straight into vLLM-shaped TP=2
parameters of rank 1, reading only rank 1's bytes.

The plan says which elements of each checkpoint tensor rank 1 needs
(plan.source_ranges()); weight_layout.read_safetensors fetches exactly those
with pread (no mmap, so every byte counted was really read from the file),
and plan.run_into writes them into the parameters in place. Every parameter
is then compared with vLLM's own sharding rule written in torch ops on the
whole checkpoint.

  PYTHONPATH=build/python /usr/bin/python3 examples/embed_load_vllm_tp2_rank1.py [CHECKPOINT]

Skips (exit 0, "SKIP: ...") when ../shared/checkpoints is absent.
"""
import json
import os
import sys

import torch
import weight_layout as wl

ROOT = os.environ.get("WL_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))
CKPT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    ROOT, "..", "shared", "checkpoints", "hf", "qwen3")
TP, RANK = 2, 1


def vllm_rule(hf, cfg, tp, r):
    """vLLM's shards of rank r: QKVParallelLinear [q_r; k_r; v_r],
    MergedColumnParallelLinear [gate_r; up_r], RowParallelLinear column
    halves, VocabParallelEmbedding rows of the vocabulary padded to 64."""
    H, V = cfg["hidden_size"], cfg["vocab_size"]
    nkv = cfg["num_key_value_heads"]
    vp = (V + 63) // 64 * 64
    out = {}
    for n in ("model.embed_tokens.weight", "lm_head.weight"):
        out[n] = torch.cat([hf[n], hf[n].new_zeros(vp - V, H)]).chunk(tp)[r]
    out["model.norm.weight"] = hf["model.norm.weight"]
    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % l
        kv = lambda w: (w.chunk(tp)[r] if nkv >= tp else
                        w.chunk(nkv)[r * nkv // tp])
        out[p + "self_attn.qkv_proj.weight"] = torch.cat([
            hf[p + "self_attn.q_proj.weight"].chunk(tp)[r],
            kv(hf[p + "self_attn.k_proj.weight"]),
            kv(hf[p + "self_attn.v_proj.weight"])])
        out[p + "self_attn.o_proj.weight"] = \
            hf[p + "self_attn.o_proj.weight"].chunk(tp, 1)[r]
        for n in ("self_attn.q_norm.weight", "self_attn.k_norm.weight",
                  "input_layernorm.weight", "post_attention_layernorm.weight"):
            out[p + n] = hf[p + n]
        out[p + "mlp.gate_up_proj.weight"] = torch.cat([
            hf[p + "mlp.gate_proj.weight"].chunk(tp)[r],
            hf[p + "mlp.up_proj.weight"].chunk(tp)[r]])
        out[p + "mlp.down_proj.weight"] = \
            hf[p + "mlp.down_proj.weight"].chunk(tp, 1)[r]
    return out


def main():
    if not os.path.exists(os.path.join(CKPT, "model.safetensors")):
        print("SKIP: no checkpoint at %s (../shared/checkpoints is absent)"
              % CKPT)
        return 0
    with open(os.path.join(CKPT, "config.json")) as f:
        cfg = json.load(f)

    # What the loader writes: one line naming the mapping.
    plan = wl.compile("qwen3/hf-to-vllm", cfg, tp=TP, rank=RANK)

    # vLLM's parameters of rank 1, as its model constructor allocates them
    # (here: empty tensors of the plan's target shapes).
    params = {t.name: torch.empty(t.shape, dtype=t.dtype)
              for t in plan.targets}
    ptrs = {n: p.data_ptr() for n, p in params.items()}

    # Only rank 1's bytes leave the file.
    tensors, stats = wl.read_safetensors(CKPT, ranges=plan.source_ranges())
    plan.run_into(tensors, params)

    assert {n: p.data_ptr() for n, p in params.items()} == ptrs, \
        "parameters were written in place"
    d = plan.describe()
    total = os.path.getsize(os.path.join(CKPT, "model.safetensors"))
    print("rank %d of tp %d: read %d of %d tensor bytes (%.1f%%) in %d "
          "preads; file %d bytes" % (
              RANK, TP, stats["bytes_read"], stats["bytes_total"],
              100.0 * stats["bytes_read"] / stats["bytes_total"],
              stats["reads"], total))
    assert stats["bytes_read"] == d["bytes_read"], (stats, d["bytes_read"])
    assert stats["bytes_read"] < 0.55 * stats["bytes_total"]

    # Check every element against vLLM's rule on the whole checkpoint.
    whole, _ = wl.read_safetensors(CKPT)
    want = vllm_rule(whole, cfg, TP, RANK)
    assert sorted(want) == sorted(params), sorted(set(want) ^ set(params))
    for n, w in want.items():
        got = params[n]
        assert got.shape == w.shape and got.dtype == w.dtype, n
        assert torch.equal(got.view(torch.int16), w.view(torch.int16)), n
    print("%d vLLM parameters of rank %d match vLLM's sharding bit for bit"
          % (len(params), RANK))
    return 0


if __name__ == "__main__":
    sys.exit(main())
