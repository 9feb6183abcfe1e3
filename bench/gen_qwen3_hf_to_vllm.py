#!/usr/bin/env python3
"""Writes `wl` IR for a Qwen3 dense model from Hugging Face names to vLLM's
tensor-parallel layout, for one rank (func @rank<R>) or for every rank
(@rank0 .. @rank<TP-1>, --all-ranks).

The IR has the structure and ops of examples/qwen3-tiny-hf-to-vllm-tp2.mlir
(bf16 throughout):

  qkv_proj      shard r of interleave(q, k, v; dim 0, groups = tp); when tp
                exceeds the KV heads vLLM replicates them (rank r holds KV
                head r / (tp / kv)), written as
                concat(shard(q, tp, r), shard(k, kv, r*kv/tp), shard(v, ...))
  o_proj        shard of dim 1 (row-parallel)
  q_norm/k_norm replicated
  gate_up_proj  shard r of interleave(gate, up; dim 0, groups = tp)
  down_proj     shard of dim 1 (row-parallel)
  layernorms, model.norm  replicated
  embed_tokens, lm_head   vocabulary padded to a multiple of 64 (vLLM's
                DEFAULT_VOCAB_PADDING_SIZE), then shard of dim 0; the pad is
                left out when the vocabulary already is a multiple of 64

Defaults: Qwen3-32B (64 layers, hidden 5120, 64 heads, 8 KV heads, head_dim
128, intermediate 25600, vocab 151936), TP 8, rank 0.

Standard library only:  /usr/bin/python3 bench/gen_qwen3_hf_to_vllm.py -o x.mlir
"""

import argparse
import sys

VOCAB_PADDING = 64  # vLLM's DEFAULT_VOCAB_PADDING_SIZE


def ty(*shape):
    return "tensor<" + "x".join(str(s) for s in shape) + "xbf16>"


class Model:
    def __init__(self, a):
        self.layers = a.layers
        self.hidden = a.hidden
        self.heads = a.heads
        self.kv = a.kv_heads
        self.hd = a.head_dim
        self.inter = a.intermediate
        self.vocab = a.vocab
        self.tp = a.tp
        self.lm_head = not a.tie_word_embeddings

    def check(self):
        """The divisibility rules vLLM asserts; returns an error or None."""
        tp, kv = self.tp, self.kv
        if min(self.layers, self.hidden, self.heads, kv, self.hd, self.inter,
               self.vocab, tp) <= 0:
            return "every size must be positive"
        if self.heads % tp:
            return f"heads {self.heads} not divisible by tp {tp}"
        if self.heads % kv:
            return f"heads {self.heads} not divisible by kv heads {kv}"
        if tp > kv and tp % kv:
            return f"tp {tp} > kv heads {kv} but not a multiple of it"
        if tp <= kv and kv % tp:
            return f"kv heads {kv} not divisible by tp {tp}"
        if self.inter % tp:
            return f"intermediate {self.inter} not divisible by tp {tp}"
        if self.padded_vocab() % tp:
            return (f"padded vocabulary {self.padded_vocab()} not divisible "
                    f"by tp {tp}")
        return None

    def padded_vocab(self):
        return -(-self.vocab // VOCAB_PADDING) * VOCAB_PADDING

    def rank(self, r, out):
        """Writes func @rank<r>."""
        H, hd, kv, tp = self.hidden, self.hd, self.kv, self.tp
        nq, nkv, I = self.heads * hd, kv * hd, self.inter
        w = out.append

        def passthrough(name, var, shape):
            w(f'  %{var} = wl.source "{name}" : {ty(*shape)}')
            w(f'  wl.sink %{var} "{name}" : {ty(*shape)}')

        def row_parallel(name, var, rows, cols):
            c = cols // tp
            w(f'  %{var} = wl.source "{name}" : {ty(rows, cols)}')
            w(f"  %{var}_r = wl.shard %{var} dim 1 count {tp} index {r} : "
              f"{ty(rows, cols)} -> {ty(rows, c)}")
            w(f'  wl.sink %{var}_r "{name}" : {ty(rows, c)}')

        w(f"func.func @rank{r}() {{")
        for L in range(self.layers):
            p = f"model.layers.{L}."
            a = p + "self_attn."
            # qkv_proj
            w(f'  %q{L} = wl.source "{a}q_proj.weight" : {ty(nq, H)}')
            w(f'  %k{L} = wl.source "{a}k_proj.weight" : {ty(nkv, H)}')
            w(f'  %v{L} = wl.source "{a}v_proj.weight" : {ty(nkv, H)}')
            rq, rkv = nq // tp, nkv // min(tp, kv)
            rows = rq + 2 * rkv
            if tp <= kv:
                total = nq + 2 * nkv
                w(f"  %qkv_all{L} = wl.interleave %q{L}, %k{L}, %v{L} dim 0 "
                  f"groups {tp} : ({ty(nq, H)}, {ty(nkv, H)}, {ty(nkv, H)}) "
                  f"-> {ty(total, H)}")
                w(f"  %qkv{L} = wl.shard %qkv_all{L} dim 0 count {tp} "
                  f"index {r} : {ty(total, H)} -> {ty(rows, H)}")
            else:
                # vLLM replicates KV heads: rank r holds head r / (tp / kv).
                h = r * kv // tp
                w(f"  %q_r{L} = wl.shard %q{L} dim 0 count {tp} index {r} : "
                  f"{ty(nq, H)} -> {ty(rq, H)}")
                w(f"  %k_r{L} = wl.shard %k{L} dim 0 count {kv} index {h} : "
                  f"{ty(nkv, H)} -> {ty(rkv, H)}")
                w(f"  %v_r{L} = wl.shard %v{L} dim 0 count {kv} index {h} : "
                  f"{ty(nkv, H)} -> {ty(rkv, H)}")
                w(f"  %qkv{L} = wl.concat %q_r{L}, %k_r{L}, %v_r{L} dim 0 : "
                  f"({ty(rq, H)}, {ty(rkv, H)}, {ty(rkv, H)}) -> {ty(rows, H)}")
            w(f'  wl.sink %qkv{L} "{a}qkv_proj.weight" : {ty(rows, H)}')
            row_parallel(a + "o_proj.weight", f"o{L}", H, nq)
            passthrough(a + "q_norm.weight", f"qn{L}", [hd])
            passthrough(a + "k_norm.weight", f"kn{L}", [hd])
            # gate_up_proj
            m = p + "mlp."
            rI = I // tp
            w(f'  %gate{L} = wl.source "{m}gate_proj.weight" : {ty(I, H)}')
            w(f'  %up{L} = wl.source "{m}up_proj.weight" : {ty(I, H)}')
            w(f"  %gu_all{L} = wl.interleave %gate{L}, %up{L} dim 0 groups "
              f"{tp} : ({ty(I, H)}, {ty(I, H)}) -> {ty(2 * I, H)}")
            w(f"  %gu{L} = wl.shard %gu_all{L} dim 0 count {tp} index {r} : "
              f"{ty(2 * I, H)} -> {ty(2 * rI, H)}")
            w(f'  wl.sink %gu{L} "{m}gate_up_proj.weight" : {ty(2 * rI, H)}')
            row_parallel(m + "down_proj.weight", f"down{L}", H, I)
            passthrough(p + "input_layernorm.weight", f"ln1_{L}", [H])
            passthrough(p + "post_attention_layernorm.weight", f"ln2_{L}",
                        [H])
            w("")
        passthrough("model.norm.weight", "norm", [H])
        V, Vp = self.vocab, self.padded_vocab()
        rV = Vp // tp
        heads = [("model.embed_tokens.weight", "emb")]
        if self.lm_head:
            heads.append(("lm_head.weight", "head"))
        for name, var in heads:
            w(f'  %{var} = wl.source "{name}" : {ty(V, H)}')
            src = var
            if Vp != V:
                w(f"  %{var}_pad = wl.pad %{var} dim 0 low 0 high {Vp - V} : "
                  f"{ty(V, H)} -> {ty(Vp, H)}")
                src = var + "_pad"
            w(f"  %{var}_r = wl.shard %{src} dim 0 count {tp} index {r} : "
              f"{ty(Vp, H)} -> {ty(rV, H)}")
            w(f'  wl.sink %{var}_r "{name}" : {ty(rV, H)}')
        w("  return")
        w("}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--layers", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=5120)
    ap.add_argument("--heads", type=int, default=64)
    ap.add_argument("--kv-heads", type=int, default=8)
    ap.add_argument("--head-dim", type=int, default=128)
    ap.add_argument("--intermediate", type=int, default=25600)
    ap.add_argument("--vocab", type=int, default=151936)
    ap.add_argument("--tie-word-embeddings", action="store_true",
                    help="no lm_head (Qwen3-32B has one: false by default)")
    ap.add_argument("--tp", type=int, default=8)
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--rank", type=int, default=0,
                   help="write func @rank<R> only (default 0)")
    g.add_argument("--all-ranks", action="store_true",
                   help="write @rank0 .. @rank<TP-1>")
    ap.add_argument("-o", "--output", required=True, help="'-' for stdout")
    a = ap.parse_args(argv)

    model = Model(a)
    problem = model.check()
    if problem:
        ap.error(problem)
    if not a.all_ranks and not 0 <= a.rank < a.tp:
        ap.error(f"rank {a.rank} out of range for tp {a.tp}")

    out = [
        "// Generated by bench/gen_qwen3_hf_to_vllm.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
        f"// Qwen3: {a.layers} layers, hidden {a.hidden}, {a.heads} heads, "
        f"{a.kv_heads} KV heads, head_dim {a.head_dim}, intermediate "
        f"{a.intermediate}, vocab {a.vocab} (padded {model.padded_vocab()}); "
        f"HF -> vLLM TP={a.tp}",
        "",
    ]
    ranks = range(a.tp) if a.all_ranks else [a.rank]
    for i, r in enumerate(ranks):
        if i:
            out.append("")
        model.rank(r, out)
    text = "\n".join(out) + "\n"
    if a.output == "-":
        sys.stdout.write(text)
    else:
        with open(a.output, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
