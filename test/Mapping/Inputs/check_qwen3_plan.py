#!/usr/bin/env python3
"""Checks a rank's plan JSON (weight-layout-opt --emit=plan) for a Qwen3
HF -> vLLM mapping against vLLM's layout computed here directly from the
config, element by element. For small configs only (it expands every piece).

  /usr/bin/python3 test/Mapping/Inputs/check_qwen3_plan.py PLAN.json --rank R [model args]

Model args are those of gen_qwen3_hf_to_vllm.py (--layers --hidden --heads
--kv-heads --head-dim --intermediate --vocab --tp --tie-word-embeddings).
Independent of the generator's IR: the expectation is written from vLLM's
rules (QKVParallelLinear, MergedColumnParallelLinear, RowParallelLinear,
VocabParallelEmbedding with padding to 64). Standard library only.
"""

import argparse
import itertools
import json
import sys


def expected(a, r):
    """target name -> (shape, list of (source name, flat index) or None for
    padding), for rank r."""
    H, hd, tp, kv = a.hidden, a.head_dim, a.tp, a.kv_heads
    nq, nkv, I = a.heads * hd, kv * hd, a.intermediate
    Vp = -(-a.vocab // 64) * 64
    out = {}

    def rows(src, cols, row_ids):
        return [(src, i * cols + j) for i in row_ids for j in range(cols)]

    for L in range(a.layers):
        p = f"model.layers.{L}."
        s = p + "self_attn."
        q_rows = range(r * nq // tp, (r + 1) * nq // tp)
        if tp <= kv:
            kv_rows = range(r * nkv // tp, (r + 1) * nkv // tp)
        else:
            h = r // (tp // kv)  # vLLM: rank r holds KV head r / replicas
            kv_rows = range(h * hd, (h + 1) * hd)
        els = (rows(s + "q_proj.weight", H, q_rows)
               + rows(s + "k_proj.weight", H, kv_rows)
               + rows(s + "v_proj.weight", H, kv_rows))
        out[s + "qkv_proj.weight"] = ([len(q_rows) + 2 * len(kv_rows), H], els)
        c = nq // tp
        out[s + "o_proj.weight"] = (
            [H, c], [(s + "o_proj.weight", i * nq + r * c + j)
                     for i in range(H) for j in range(c)])
        for n in ("q_norm", "k_norm"):
            out[s + n + ".weight"] = ([hd], [(s + n + ".weight", i)
                                             for i in range(hd)])
        m = p + "mlp."
        ci = I // tp
        g_rows = range(r * ci, (r + 1) * ci)
        out[m + "gate_up_proj.weight"] = (
            [2 * ci, H], rows(m + "gate_proj.weight", H, g_rows)
            + rows(m + "up_proj.weight", H, g_rows))
        out[m + "down_proj.weight"] = (
            [H, ci], [(m + "down_proj.weight", i * I + r * ci + j)
                      for i in range(H) for j in range(ci)])
        for n in ("input_layernorm", "post_attention_layernorm"):
            out[p + n + ".weight"] = ([H], [(p + n + ".weight", i)
                                            for i in range(H)])
    out["model.norm.weight"] = ([H], [("model.norm.weight", i)
                                      for i in range(H)])
    cv = Vp // tp
    names = ["model.embed_tokens.weight"]
    if not a.tie_word_embeddings:
        names.append("lm_head.weight")
    for n in names:
        els = []
        for i in range(r * cv, (r + 1) * cv):
            els += ([(n, i * H + j) for j in range(H)] if i < a.vocab
                    else [None] * H)
        out[n] = ([cv, H], els)
    return out


def actual(plan):
    """target name -> (shape, list of (source name, flat index), None for a
    zero fill, or 'fill:<v>' / 'MULTI' / 'UNSET')."""
    src = plan["sources"]
    out = {}
    for t in plan["targets"]:
        n = 1
        for d in t["shape"]:
            n *= d
        out[t["name"]] = (t["shape"], ["UNSET"] * n)
    for k, pc in enumerate(plan["pieces"]):
        if pc.get("convert"):
            raise SystemExit(f"piece {k} converts; a bf16 mapping should not")
        tname = plan["targets"][pc["target"]]["name"]
        els = out[tname][1]
        fill = "fill" in pc
        for idx in itertools.product(*(range(e) for e in pc["shape"])):
            d = pc["dst_offset"] + sum(i * s for i, s in
                                       zip(idx, pc["dst_strides"]))
            if fill:
                v = None if pc["fill"] in (0, 0.0, "0", "0.0") else \
                    f"fill:{pc['fill']}"
            else:
                sn = src[pc["source"]]["name"]
                v = (sn, pc["src_offset"] + sum(
                    i * s for i, s in zip(idx, pc["src_strides"])))
            els[d] = v if els[d] == "UNSET" else "MULTI"
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("plan")
    ap.add_argument("--rank", type=int, required=True)
    for f in ("layers", "hidden", "heads", "kv-heads", "head-dim",
              "intermediate", "vocab", "tp"):
        ap.add_argument("--" + f, type=int, required=True)
    ap.add_argument("--tie-word-embeddings", action="store_true")
    a = ap.parse_args()
    plan = json.load(open(a.plan))
    exp, act = expected(a, a.rank), actual(plan)
    bad = 0
    if set(exp) != set(act):
        print("target names differ: missing", sorted(set(exp) - set(act)),
              "extra", sorted(set(act) - set(exp)))
        bad += 1
    srcshape = {s["name"]: s["shape"] for s in plan["sources"]}
    for name in sorted(set(exp) & set(act)):
        (es, ee), (as_, ae) = exp[name], act[name]
        if es != as_:
            print(f"{name}: shape {as_}, expected {es}")
            bad += 1
            continue
        diff = [i for i, (x, y) in enumerate(zip(ee, ae)) if x != y]
        if diff:
            i = diff[0]
            print(f"{name}: {len(diff)} of {len(ee)} elements differ; first "
                  f"at flat {i}: got {ae[i]}, expected {ee[i]}")
            bad += 1
    # Source shapes are HF's.
    a_ = a
    nq, nkv = a_.heads * a_.head_dim, a_.kv_heads * a_.head_dim
    want = {"q_proj": [nq, a_.hidden], "k_proj": [nkv, a_.hidden],
            "v_proj": [nkv, a_.hidden], "o_proj": [a_.hidden, nq],
            "gate_proj": [a_.intermediate, a_.hidden],
            "up_proj": [a_.intermediate, a_.hidden],
            "down_proj": [a_.hidden, a_.intermediate]}
    for n, s in srcshape.items():
        for k, w in want.items():
            if f".{k}.weight" in n and s != w:
                print(f"source {n}: shape {s}, expected {w}")
                bad += 1
    total = sum(len(e[1]) for e in exp.values())
    print(f"rank {a.rank}: {len(exp)} targets, {total} elements, "
          f"{len(plan['pieces'])} pieces: "
          + ("OK" if not bad else f"{bad} PROBLEMS"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
