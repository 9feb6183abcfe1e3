"""Checks the files weight-layout-convert wrote for Qwen3 HF -> vLLM at tp
ranks against the Hugging Face checkpoint, from first principles and with no
part of weight-layout: for every rank, qkv_proj is [q_r; k_r; v_r] (rows of
each projection split in tp equal parts, KV heads replicated when tp >
heads), gate_up_proj is [gate_r; up_r], o_proj and down_proj hold the rank's
columns, the embedding and lm_head the rank's vocabulary rows (padded to a
multiple of 64), norms whole. Elements are compared as raw bytes.

usage: check_vllm_files.py HF_DIR OUT_DIR TP"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Inputs"))
import safetensors_io  # noqa: E402

hf, out, tp = sys.argv[1], sys.argv[2], int(sys.argv[3])


def read(path):
    h, data = safetensors_io.read(path)
    t = {}
    for k, v in h.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        t[k] = (v["shape"], data[b:e], v["dtype"])
    return t


def rows(t, a, b):
    shape, data, _ = t
    w = len(data) // shape[0]
    return data[a * w:b * w]


def cols(t, a, b):
    shape, data, _ = t
    es = len(data) // (shape[0] * shape[1])
    w = shape[1] * es
    return b"".join(data[r * w + a * es:r * w + b * es] for r in range(shape[0]))


cfg = json.load(open(os.path.join(hf, "config.json")))
src = read(os.path.join(hf, "model.safetensors"))
nh, nkv, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
inter, vocab = cfg["intermediate_size"], cfg["vocab_size"]
vpad = (vocab + 63) // 64 * 64
checked = 0
for r in range(tp):
    dst = read(os.path.join(out, f"rank-{r}" if tp > 1 else "", "model.safetensors"))
    def expect(name, want):
        global checked
        got = dst[name][1]
        assert got == want, f"rank {r}: {name} differs"
        checked += 1
    for L in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{L}."
        q = src[p + "self_attn.q_proj.weight"]
        k = src[p + "self_attn.k_proj.weight"]
        v = src[p + "self_attn.v_proj.weight"]
        qr = nh * hd // tp
        if tp <= nkv:
            kv = (r * nkv // tp * hd, (r + 1) * nkv // tp * hd)
        else:  # replicated: rank r holds kv head r // (tp // nkv)
            head = r // (tp // nkv)
            kv = (head * hd, (head + 1) * hd)
        expect(p + "self_attn.qkv_proj.weight",
               rows(q, r * qr, (r + 1) * qr) + rows(k, *kv) + rows(v, *kv))
        o = src[p + "self_attn.o_proj.weight"]
        expect(p + "self_attn.o_proj.weight", cols(o, r * qr, (r + 1) * qr))
        ir = inter // tp
        g, u = src[p + "mlp.gate_proj.weight"], src[p + "mlp.up_proj.weight"]
        expect(p + "mlp.gate_up_proj.weight",
               rows(g, r * ir, (r + 1) * ir) + rows(u, r * ir, (r + 1) * ir))
        expect(p + "mlp.down_proj.weight",
               cols(src[p + "mlp.down_proj.weight"], r * ir, (r + 1) * ir))
        for n in ["input_layernorm", "post_attention_layernorm",
                  "self_attn.q_norm", "self_attn.k_norm"]:
            expect(p + n + ".weight", src[p + n + ".weight"][1])
    vr = vpad // tp
    for name in ["model.embed_tokens.weight", "lm_head.weight"]:
        t = src[name]
        a, b = r * vr, (r + 1) * vr
        want = rows(t, min(a, vocab), min(b, vocab))
        want += b"\0" * (len(dst[name][1]) - len(want))  # vocabulary padding
        expect(name, want)
    expect("model.norm.weight", src["model.norm.weight"][1])
print(f"vLLM files OK: {checked} tensors over {tp} rank(s)")
