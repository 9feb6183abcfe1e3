"""Hugging Face-named views into vLLM's merged Qwen3.5 tensors (no copies).

The use case of the seed this project grew from: an RL trainer holds vLLM's
merged parameters (in_proj_qkvz, in_proj_ba, qkv_proj, gate_up_proj) and
wants the Hugging Face model's parameters as views of the same memory. The
plan of the way back (reverse=True) marks every HF tensor as one contiguous
run of a vLLM tensor, so run() returns views: data_ptr() shows they share
storage, and nothing is copied.

  PYTHONPATH=build/python /usr/bin/python3 examples/embed_qwen3_5_hf_views.py [CHECKPOINT]

Skips (exit 0, "SKIP: ...") when ../shared/checkpoints is absent.
"""
import os
import sys

import torch
import weight_layout as wl

ROOT = os.environ.get("WL_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))
CKPT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    ROOT, "..", "shared", "checkpoints", "hf", "qwen3_5")


def vllm_merged(hf):
    """vLLM's merged tensors at TP=1, from its own packing rules."""
    out = {}
    for n, t in hf.items():
        p = n.rsplit(".", 2)[0] + "."
        if n.endswith("linear_attn.in_proj_qkv.weight"):
            out[p + "in_proj_qkvz.weight"] = torch.cat(
                [t, hf[p + "in_proj_z.weight"]])
        elif n.endswith("linear_attn.in_proj_b.weight"):
            out[p + "in_proj_ba.weight"] = torch.cat(
                [t, hf[p + "in_proj_a.weight"]])
        elif n.endswith("self_attn.q_proj.weight"):
            out[p + "qkv_proj.weight"] = torch.cat(
                [t, hf[p + "k_proj.weight"], hf[p + "v_proj.weight"]])
        elif n.endswith("mlp.gate_proj.weight"):
            out[p + "gate_up_proj.weight"] = torch.cat(
                [t, hf[p + "up_proj.weight"]])
        elif any(n.endswith(s) for s in (
                "in_proj_z.weight", "in_proj_a.weight", "k_proj.weight",
                "v_proj.weight", "up_proj.weight")):
            continue
        else:
            out[n] = t
    return out


def storage_ptr(t):
    """The storage's data_ptr (the seed's check; untyped_storage on
    torch >= 2)."""
    s = t.untyped_storage() if hasattr(t, "untyped_storage") else t.storage()
    return s.data_ptr()


def bits(t):
    return t.view(torch.int16) if t.dtype == torch.bfloat16 else t


def main():
    if not os.path.exists(os.path.join(CKPT, "model.safetensors")):
        print("SKIP: no checkpoint at %s (../shared/checkpoints is absent)"
              % CKPT)
        return 0
    hf, _ = wl.read_safetensors(CKPT)

    # vLLM's merged parameters, loaded from the checkpoint by the plan and
    # checked against vLLM's packing rule.
    vllm = wl.compile("qwen3_5/hf-to-vllm", CKPT).run(hf, views=False)
    want = vllm_merged(hf)
    assert sorted(want) == sorted(vllm), sorted(set(want) ^ set(vllm))
    for n, w in want.items():
        assert torch.equal(bits(vllm[n]), bits(w)), n

    # The HF views: one line naming the mapping's way back.
    back = wl.compile("qwen3_5/hf-to-vllm", CKPT, reverse=True)
    views = back.run(vllm)
    st = wl.last_run_stats()
    d = back.describe()

    assert sorted(views) == sorted(hf)
    shared = 0
    for n, v in views.items():
        assert torch.equal(bits(v), bits(hf[n])), n
        src, offset = d["aliases"][n]
        base = vllm[src]
        # The seed's check: the same storage as the vLLM tensor.
        assert storage_ptr(v) == storage_ptr(base), n
        assert v.data_ptr() == base.data_ptr() + offset * base.element_size()
        shared += 1
    qkvz = "model.layers.0.linear_attn.in_proj_qkvz.weight"
    z = views["model.layers.0.linear_attn.in_proj_z.weight"]
    qkv = views["model.layers.0.linear_attn.in_proj_qkv.weight"]
    print("in_proj_qkvz  data_ptr %#x" % vllm[qkvz].data_ptr())
    print("in_proj_qkv   data_ptr %#x (offset 0)" % qkv.data_ptr())
    print("in_proj_z     data_ptr %#x (offset %d rows)" % (
        z.data_ptr(), (z.data_ptr() - vllm[qkvz].data_ptr()) //
        (vllm[qkvz].shape[1] * 2)))
    # A write through the HF view is a write into vLLM's tensor.
    z[0, 0] = 1.5
    assert vllm[qkvz][qkv.shape[0], 0].item() == 1.5
    assert st["bytes_written"] == 0 and st["views"] == len(views), st
    print("%d HF parameters are views sharing storage with %d vLLM tensors; "
          "%d bytes copied" % (shared, len(vllm), st["bytes_written"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
