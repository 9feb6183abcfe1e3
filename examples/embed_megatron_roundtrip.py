"""A round trip through Megatron-Core's layout at TP=2, in-process.

The Hugging Face Qwen3 checkpoint goes to both TP ranks of Megatron-Core (as
Megatron-Bridge lays it out: linear_qkv interleaved per query group, fused
layer norms, row- and column-parallel shards), each rank is checked against
Megatron-Bridge's rule written in torch ops, and the plan's inverse gathers
the ranks back; every tensor must come back bit for bit.

  PYTHONPATH=build/python /usr/bin/python3 examples/embed_megatron_roundtrip.py [CHECKPOINT]

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
TP = 2


def megatron_rule(hf, cfg, tp, r):
    H, nh, ng = (cfg["hidden_size"], cfg["num_attention_heads"],
                 cfg["num_key_value_heads"])
    hd = cfg["head_dim"]
    e = {"embedding.word_embeddings.weight":
         hf["model.embed_tokens.weight"].chunk(tp)[r],
         "output_layer.weight": hf["lm_head.weight"].chunk(tp)[r],
         "decoder.final_layernorm.weight": hf["model.norm.weight"]}
    for l in range(cfg["num_hidden_layers"]):
        p, m = "model.layers.%d." % l, "decoder.layers.%d." % l
        q = hf[p + "self_attn.q_proj.weight"].view(ng, nh // ng * hd, H)
        k = hf[p + "self_attn.k_proj.weight"].view(ng, hd, H)
        v = hf[p + "self_attn.v_proj.weight"].view(ng, hd, H)
        e[m + "self_attention.linear_qkv.weight"] = \
            torch.cat([q, k, v], 1).reshape(-1, H).chunk(tp)[r]
        e[m + "self_attention.linear_qkv.layer_norm_weight"] = \
            hf[p + "input_layernorm.weight"]
        e[m + "self_attention.q_layernorm.weight"] = \
            hf[p + "self_attn.q_norm.weight"]
        e[m + "self_attention.k_layernorm.weight"] = \
            hf[p + "self_attn.k_norm.weight"]
        e[m + "self_attention.linear_proj.weight"] = \
            hf[p + "self_attn.o_proj.weight"].chunk(tp, 1)[r]
        e[m + "mlp.linear_fc1.weight"] = torch.cat([
            hf[p + "mlp.gate_proj.weight"].chunk(tp)[r],
            hf[p + "mlp.up_proj.weight"].chunk(tp)[r]])
        e[m + "mlp.linear_fc1.layer_norm_weight"] = \
            hf[p + "post_attention_layernorm.weight"]
        e[m + "mlp.linear_fc2.weight"] = \
            hf[p + "mlp.down_proj.weight"].chunk(tp, 1)[r]
    return e


def same_bits(a, b):
    return a.shape == b.shape and a.dtype == b.dtype and torch.equal(
        a.view(torch.int16), b.view(torch.int16))


def main():
    if not os.path.exists(os.path.join(CKPT, "model.safetensors")):
        print("SKIP: no checkpoint at %s (../shared/checkpoints is absent)"
              % CKPT)
        return 0
    with open(os.path.join(CKPT, "config.json")) as f:
        cfg = json.load(f)
    hf, _ = wl.read_safetensors(CKPT)

    # Each rank as a Megatron worker would load it: its own plan.
    ranks = []
    for r in range(TP):
        plan = wl.compile("qwen3/hf-to-megatron", cfg, tp=TP, rank=r)
        shard = plan.run(hf, views=False)
        want = megatron_rule(hf, cfg, TP, r)
        assert sorted(shard) == sorted(want), sorted(set(shard) ^ set(want))
        for n, w in want.items():
            assert same_bits(shard[n], w), (r, n)
        ranks.append(shard)
        print("rank %d: %d Megatron tensors match Megatron-Bridge's layout"
              % (r, len(shard)))

    # The way back gathers every rank ("rank-<r>/<name>").
    back = wl.compile("qwen3/hf-to-megatron", cfg, tp=TP, reverse=True)
    gathered = {"rank-%d/%s" % (r, n): t
                for r, shard in enumerate(ranks) for n, t in shard.items()}
    restored = back.run(gathered, views=False)
    assert sorted(restored) == sorted(hf)
    for n, t in hf.items():
        assert same_bits(restored[n], t), n
    print("round trip HF -> Megatron tp=%d -> HF: %d tensors, %d bytes, "
          "bit for bit" % (TP, len(hf), sum(t.numel() * t.element_size()
                                            for t in hf.values())))

    # The same through one plan of every rank and its inverse().
    fwd = wl.compile("qwen3/hf-to-megatron", cfg, tp=TP, rank="all")
    assert fwd.inverse().hash == back.hash
    again = fwd.inverse().run(fwd.run(hf), views=False)
    assert all(same_bits(again[n], t) for n, t in hf.items())
    return 0


if __name__ == "__main__":
    sys.exit(main())
