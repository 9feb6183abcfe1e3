"""Checks a plan (weight-layout-opt --emit=plan) against a framework's layout
computed here from first principles, element by element.

  check_layout.py PLAN.json --config CONFIG.json --layout vllm|megatron|transformers
                  --tp N [--pp N] --rank R [--pad-vocab]
  check_layout.py --opt WEIGHT_LAYOUT_OPT --spec SPEC.json --config ... \
                  --layout ... --tp N [--pp N] [--pad-vocab]
      (compiles and checks the plan of every rank)

Every source element is named by its origin (tensor name, flat index); the
expected target tensors are built with the operations the framework's own
loader performs (torch.chunk, torch.cat, view), written out on lists of
origins, and compared with what the plan's pieces read. Prints "rank R: OK"
or the first differing element of each wrong target, and exits 1 then.
Standard library only.
"""
import argparse
import importlib
import itertools
import json
import os
import subprocess
import sys
import tempfile


class T:
    """A 2-d (or 1-d) tensor of origins, row-major: rows of lists."""

    def __init__(self, rows):
        self.rows = rows

    @staticmethod
    def source(name, shape):
        if len(shape) == 1:
            return T([[(name, i) for i in range(shape[0])]])
        r, c = shape
        return T([[(name, i * c + j) for j in range(c)] for i in range(r)])

    def chunk_rows(self, n, k):  # torch.chunk(x, n, dim=0)[k] (even)
        step = len(self.rows) // n
        return T(self.rows[k * step:(k + 1) * step])

    def chunk_cols(self, n, k):  # torch.chunk(x, n, dim=1)[k] (even)
        step = len(self.rows[0]) // n
        return T([r[k * step:(k + 1) * step] for r in self.rows])

    def rows_range(self, a, b):
        return T(self.rows[a:b])

    @staticmethod
    def cat(ts):  # torch.cat(ts, dim=0)
        return T([r for t in ts for r in t.rows])

    def pad_rows(self, n):  # zero rows appended
        w = len(self.rows[0])
        return T(self.rows + [["fill:0.0"] * w for _ in range(n)])

    def flat(self):
        return [x for r in self.rows for x in r]

    def converted(self, *steps):  # the plan's conversion, part of the origin
        return T([[x + (tuple(steps),) for x in r] for r in self.rows])


def qwen3(cfg):
    H, nh, nkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or H // nh
    return H, nh, nkv, hd, cfg["intermediate_size"], cfg["vocab_size"], cfg["num_hidden_layers"]


def llama_family(cfg):
    """Llama's layout (LlamaAttention, LlamaMLP: llama, mistral): no q/k
    norms; attention_bias and mlp_bias (absent: false) add the biases."""
    return cfg.get("model_type") in ("llama", "mistral")


def glm(cfg):
    """GLM-4.5's differences (Glm4MoeForCausalLM, vLLM's glm4_moe.py): dense
    layers below first_k_dense_replace, a shared expert, the router's
    e_score_correction_bias, q/k norms only with use_qk_norm, and an o_proj
    without bias although attention_bias is set."""
    return cfg.get("model_type") == "glm4_moe"


def bias(name, n):
    """A 1-d bias as an [n, 1] column, so that chunk_rows splits it."""
    return T.source(name, [n, 1])


def gated(prefix, rows, H, n, r):
    """A gated MLP's fused [gate; up] for rank r of n: rows r of n of
    prefix + gate_proj.weight, then of up_proj.weight (vLLM's
    MergedColumnParallelLinear, Megatron-Bridge's GatedMLPMapping)."""
    return T.cat([T.source(prefix + "gate_proj.weight", [rows, H]).chunk_rows(n, r),
                  T.source(prefix + "up_proj.weight", [rows, H]).chunk_rows(n, r)])


def vllm_moe_ranks(cfg, a):
    """(experts held, MoE tensor-parallel size, its rank) for vLLM's rank
    a.rank = dp_rank * tp + tp_rank (init_distributed_environment, PP 1).
    FusedMoEParallelConfig.make: without expert parallelism every expert is
    split over the tp x dp ranks (flatten_tp_across_dp, rank dp_rank * tp +
    tp_rank); with it (ep = tp x dp) ep_rank = dp_rank * tp + tp_rank holds
    whole experts, placed by determine_expert_map's linear strategy: E // ep
    each, the first E % ep ranks one more, contiguous from ep_rank *
    (E // ep) + min(ep_rank, E % ep)."""
    E = cfg.get("num_experts", cfg.get("num_local_experts", cfg.get("n_routed_experts", 0)))
    flat = (a.rank // a.tp) * a.tp + a.rank % a.tp
    if a.ep == 1:
        return range(E), a.tp * a.dp, flat
    assert a.ep == a.tp * a.dp, "vLLM's EP group is tp x dp"
    base, rem = divmod(E, a.ep)
    start = flat * base + min(flat, rem)
    return range(start, start + base + (1 if flat < rem else 0)), 1, 0


def vllm(cfg, a):
    if "linear_num_key_heads" in cfg:
        return vllm_hybrid(cfg, a)
    H, nh, nkv, hd, I, V, L = qwen3(cfg)
    tp, r = a.tp, a.rank % a.tp
    out = {}
    Vp = -(-V // 64) * 64  # pad_vocab_size(V, 64)
    emb = T.source("model.embed_tokens.weight", [V, H]).pad_rows(Vp - V)
    out["model.embed_tokens.weight"] = emb.chunk_rows(tp, r)
    if not cfg.get("tie_word_embeddings"):
        out["lm_head.weight"] = T.source("lm_head.weight", [V, H]).pad_rows(Vp - V).chunk_rows(tp, r)
    out["model.norm.weight"] = T.source("model.norm.weight", [H])
    # QKVParallelLinear: kv heads replicated when tp >= nkv.
    kv_parts = nkv if tp >= nkv else tp
    E = cfg.get("num_experts", cfg.get("num_local_experts", cfg.get("n_routed_experts", 0)))
    if tp >= nkv:
        kv_rank = r // (tp // nkv)
    else:
        kv_rank = r
    step = cfg.get("decoder_sparse_step", 1)
    for l in range(L):
        p = f"model.layers.{l}."
        moe = E > 0 and l not in cfg.get("mlp_only_layers", []) and (l + 1) % step == 0
        if glm(cfg):
            moe = l >= cfg["first_k_dense_replace"]
        q = T.source(p + "self_attn.q_proj.weight", [nh * hd, H])
        k = T.source(p + "self_attn.k_proj.weight", [nkv * hd, H])
        v = T.source(p + "self_attn.v_proj.weight", [nkv * hd, H])
        out[p + "self_attn.qkv_proj.weight"] = T.cat(
            [q.chunk_rows(tp, r), k.chunk_rows(kv_parts, kv_rank), v.chunk_rows(kv_parts, kv_rank)])
        out[p + "self_attn.o_proj.weight"] = T.source(p + "self_attn.o_proj.weight", [H, nh * hd]).chunk_cols(tp, r)
        if cfg.get("attention_bias"):  # the biases as their weights' rows
            out[p + "self_attn.qkv_proj.bias"] = T.cat(
                [bias(p + "self_attn.q_proj.bias", nh * hd).chunk_rows(tp, r),
                 bias(p + "self_attn.k_proj.bias", nkv * hd).chunk_rows(kv_parts, kv_rank),
                 bias(p + "self_attn.v_proj.bias", nkv * hd).chunk_rows(kv_parts, kv_rank)])
            if not glm(cfg):
                out[p + "self_attn.o_proj.bias"] = T.source(p + "self_attn.o_proj.bias", [H])
        if cfg.get("mlp_bias"):
            out[p + "mlp.gate_up_proj.bias"] = T.cat(
                [bias(p + "mlp.gate_proj.bias", I).chunk_rows(tp, r),
                 bias(p + "mlp.up_proj.bias", I).chunk_rows(tp, r)])
            out[p + "mlp.down_proj.bias"] = T.source(p + "mlp.down_proj.bias", [H])
        if moe:  # FusedMoE: local experts, [gate_r; up_r] per expert
            Im = cfg["moe_intermediate_size"]
            out[p + "mlp.gate.weight"] = T.source(p + "mlp.gate.weight", [E, H])
            experts, mtp, mr = vllm_moe_ranks(cfg, a)
            w13, w2 = [], []
            for e in experts:
                x = p + f"mlp.experts.{e}."
                w13 += [T.source(x + "gate_proj.weight", [Im, H]).chunk_rows(mtp, mr),
                        T.source(x + "up_proj.weight", [Im, H]).chunk_rows(mtp, mr)]
                w2.append(T.source(x + "down_proj.weight", [H, Im]).chunk_cols(mtp, mr))
            out[p + "mlp.experts.w13_weight"] = T.cat(w13)
            out[p + "mlp.experts.w2_weight"] = T.cat(w2)
            if glm(cfg):  # fp32 router and bias; the shared expert over tp (even with EP)
                out[p + "mlp.gate.weight"] = T.source(p + "mlp.gate.weight", [E, H]).converted(("cast", "F32"))
                out[p + "mlp.gate.e_score_correction_bias"] = T.source(
                    p + "mlp.gate.e_score_correction_bias", [E])
                Is, s_ = Im * cfg["n_shared_experts"], p + "mlp.shared_experts."
                out[s_ + "gate_up_proj.weight"] = gated(s_, Is, H, tp, r)
                out[s_ + "down_proj.weight"] = T.source(s_ + "down_proj.weight", [H, Is]).chunk_cols(tp, r)
        else:
            g = T.source(p + "mlp.gate_proj.weight", [I, H])
            u = T.source(p + "mlp.up_proj.weight", [I, H])
            out[p + "mlp.gate_up_proj.weight"] = T.cat([g.chunk_rows(tp, r), u.chunk_rows(tp, r)])
            out[p + "mlp.down_proj.weight"] = T.source(p + "mlp.down_proj.weight", [H, I]).chunk_cols(tp, r)
        if not llama_family(cfg) and (not glm(cfg) or cfg.get("use_qk_norm")):
            for n in ("self_attn.q_norm.weight", "self_attn.k_norm.weight"):
                out[p + n] = T.source(p + n, [hd])
        for n in ("input_layernorm.weight", "post_attention_layernorm.weight"):
            out[p + n] = T.source(p + n, [H])
    return out


def vllm_hybrid(cfg, a):
    """vLLM's Qwen3.5 loader: stacked_params_mapping onto the merged
    column-parallel params, with torch.chunk per rank of every shard."""
    H, nh, nkv, hd, I, V, L = qwen3(cfg)
    tp, r = a.tp, a.rank % a.tp
    nk, nv = cfg["linear_num_key_heads"], cfg["linear_num_value_heads"]
    kd, vd = nk * cfg["linear_key_head_dim"], nv * cfg["linear_value_head_dim"]
    ck = cfg["linear_conv_kernel_dim"]
    out = {}
    Vp = -(-V // 64) * 64
    out["model.embed_tokens.weight"] = T.source("model.embed_tokens.weight", [V, H]).pad_rows(Vp - V).chunk_rows(tp, r)
    if not cfg.get("tie_word_embeddings"):
        out["lm_head.weight"] = T.source("lm_head.weight", [V, H]).pad_rows(Vp - V).chunk_rows(tp, r)
    out["model.norm.weight"] = T.source("model.norm.weight", [H])
    kv_parts = nkv if tp >= nkv else tp
    kv_rank = r // (tp // nkv) if tp >= nkv else r
    for l in range(L):
        p = f"model.layers.{l}."
        for n in ("input_layernorm.weight", "post_attention_layernorm.weight"):
            out[p + n] = T.source(p + n, [H])
        if cfg["layer_types"][l] == "full_attention":
            a_ = p + "self_attn."
            q = T.source(a_ + "q_proj.weight", [nh * 2 * hd, H])  # [query_h; gate_h] per head
            k = T.source(a_ + "k_proj.weight", [nkv * hd, H])
            v = T.source(a_ + "v_proj.weight", [nkv * hd, H])
            out[a_ + "qkv_proj.weight"] = T.cat(
                [q.chunk_rows(tp, r), k.chunk_rows(kv_parts, kv_rank), v.chunk_rows(kv_parts, kv_rank)])
            out[a_ + "o_proj.weight"] = T.source(a_ + "o_proj.weight", [H, nh * hd]).chunk_cols(tp, r)
            for n in ("q_norm.weight", "k_norm.weight"):
                out[a_ + n] = T.source(a_ + n, [hd])
        else:
            g = p + "linear_attn."
            if cfg.get("model_type") == "qwen3_next":
                # Checkpoint in_proj_qkvz: per key head [q_g, k_g, v_g, z_g];
                # in_proj_ba: per key head [b_g, a_g].
                dk, dv = cfg["linear_key_head_dim"], cfg["linear_value_head_dim"]
                vg = nv // nk * dv
                qkvz = T.source(g + "in_proj_qkvz.weight", [2 * kd + 2 * vd, H])
                ba = T.source(g + "in_proj_ba.weight", [2 * nv, H])
                if a.qkvz_form == 0:  # vLLM: contiguous key-head groups
                    out[g + "in_proj_qkvz.weight"] = qkvz.chunk_rows(tp, r)
                    out[g + "in_proj_ba.weight"] = ba.chunk_rows(tp, r)
                else:
                    blk = 2 * dk + 2 * vg
                    parts = [[], [], [], []]
                    for h in range(nk):
                        o = h * blk
                        for i, (lo, n) in enumerate(((0, dk), (dk, dk), (2 * dk, vg), (2 * dk + vg, vg))):
                            parts[i].append(qkvz.rows_range(o + lo, o + lo + n))
                    out[g + "in_proj_qkvz.weight"] = T.cat([T.cat(x).chunk_rows(tp, r) for x in parts])
                    bpg = nv // nk
                    bs = T.cat([ba.rows_range(h * 2 * bpg, h * 2 * bpg + bpg) for h in range(nk)])
                    as_ = T.cat([ba.rows_range(h * 2 * bpg + bpg, (h + 1) * 2 * bpg) for h in range(nk)])
                    out[g + "in_proj_ba.weight"] = T.cat([bs.chunk_rows(tp, r), as_.chunk_rows(tp, r)])
            else:
                qkv = T.source(g + "in_proj_qkv.weight", [2 * kd + vd, H])
                qb, kb, vb = qkv.rows_range(0, kd), qkv.rows_range(kd, 2 * kd), qkv.rows_range(2 * kd, 2 * kd + vd)
                z = T.source(g + "in_proj_z.weight", [vd, H])
                out[g + "in_proj_qkvz.weight"] = T.cat([x.chunk_rows(tp, r) for x in (qb, kb, vb, z)])
                b = T.source(g + "in_proj_b.weight", [nv, H])
                a2 = T.source(g + "in_proj_a.weight", [nv, H])
                out[g + "in_proj_ba.weight"] = T.cat([b.chunk_rows(tp, r), a2.chunk_rows(tp, r)])
            conv = T.source(g + "conv1d.weight", [2 * kd + vd, ck])  # [C, 1, K] as rows of K
            cq, cK, cv = conv.rows_range(0, kd), conv.rows_range(kd, 2 * kd), conv.rows_range(2 * kd, 2 * kd + vd)
            out[g + "conv1d.weight"] = T.cat([x.chunk_rows(tp, r) for x in (cq, cK, cv)])
            for n in ("A_log", "dt_bias"):
                out[g + n] = T([T.source(g + n, [nv]).rows[0]]).chunk_cols(tp, r)
            out[g + "norm.weight"] = T.source(g + "norm.weight", [cfg["linear_value_head_dim"]])
            out[g + "out_proj.weight"] = T.source(g + "out_proj.weight", [H, vd]).chunk_cols(tp, r)
        m = p + "mlp."
        E = cfg.get("num_experts", 0)
        if E:
            Im = cfg["moe_intermediate_size"]
            Is = cfg["shared_expert_intermediate_size"]
            out[m + "gate.weight"] = T.source(m + "gate.weight", [E, H])
            out[m + "shared_expert_gate.weight"] = T.source(m + "shared_expert_gate.weight", [1, H])
            s_ = m + "shared_expert."
            out[s_ + "gate_up_proj.weight"] = gated(s_, Is, H, tp, r)
            out[s_ + "down_proj.weight"] = T.source(s_ + "down_proj.weight", [H, Is]).chunk_cols(tp, r)
            experts, mtp, mr = vllm_moe_ranks(cfg, a)
            w13, w2 = [], []
            for e in experts:
                x = m + f"experts.{e}."
                w13 += [T.source(x + "gate_proj.weight", [Im, H]).chunk_rows(mtp, mr),
                        T.source(x + "up_proj.weight", [Im, H]).chunk_rows(mtp, mr)]
                w2.append(T.source(x + "down_proj.weight", [H, Im]).chunk_cols(mtp, mr))
            out[m + "experts.w13_weight"] = T.cat(w13)
            out[m + "experts.w2_weight"] = T.cat(w2)
        else:
            out[m + "gate_up_proj.weight"] = gated(m, I, H, tp, r)
            out[m + "down_proj.weight"] = T.source(m + "down_proj.weight", [H, I]).chunk_cols(tp, r)
    return out


def megatron_ranks(a):
    """(tp_rank, pp_rank, ep_rank, etp, etp_rank) of Megatron-Core's rank
    a.rank. parallel_state.initialize_model_parallel numbers the dense
    layers' ranks with RankGenerator order "tp-cp-ep-dp-pp" (tp fastest;
    ep is 1 there): rank = tp_rank + tp * (cp_rank + cp * (dp_rank + dp *
    pp_rank)); the experts' generator (order "tp-ep-dp-pp" over
    expert_tensor_parallel_size) folds the tp x cp x dp ranks of a stage
    into etp x ep x edp: etp_rank = local % etp, ep_rank = (local // etp) %
    ep, with local = rank % (tp x cp x dp) and etp defaulting to tp."""
    tp, cp, dp = a.tp, a.cp, a.dp
    etp = a.etp or tp
    local = a.rank % (tp * cp * dp)
    return (a.rank % tp, a.rank // (tp * cp * dp), (local // etp) % a.ep,
            etp, local % etp)


def megatron_hybrid(cfg, a):
    """Megatron-Bridge's Qwen3NextBridge (and the Qwen3.5 variants):
    merge_qkv_weights with the output gate, merge_gdn_linear_weights with
    Megatron-Core's per-rank [q_r, k_r, v_r, z_r, b_r, a_r], the conv1d
    channels [q_r; k_r; v_r], out_norm = w - 1, grouped-GEMM experts."""
    H, nh, ng, hd, I, V, L = qwen3(cfg)
    tp, pp, ep = a.tp, a.pp, a.ep
    tr, pr, er, etp, etr = megatron_ranks(a)
    nk, nv = cfg["linear_num_key_heads"], cfg["linear_num_value_heads"]
    dk, dv = cfg["linear_key_head_dim"], cfg["linear_value_head_dim"]
    kd, vd, ck = nk * dk, nv * dv, cfg["linear_conv_kernel_dim"]
    out = {}
    if pr == 0:
        out["embedding.word_embeddings.weight"] = T.source("model.embed_tokens.weight", [V, H]).chunk_rows(tp, tr)
    if pr == pp - 1:
        if not cfg.get("tie_word_embeddings"):
            out["output_layer.weight"] = T.source("lm_head.weight", [V, H]).chunk_rows(tp, tr)
        out["decoder.final_layernorm.weight"] = T.source("model.norm.weight", [H])
    per, hpg = L // pp, nh // ng
    E = cfg.get("num_experts", 0)
    for ll in range(per):
        gl = pr * per + ll
        p, m = f"model.layers.{gl}.", f"decoder.layers.{ll}."
        if cfg["layer_types"][gl] == "full_attention":
            q = T.source(p + "self_attn.q_proj.weight", [nh * 2 * hd, H])  # view [nh, 2hd, H]
            qh = [q.rows_range(h * 2 * hd, h * 2 * hd + hd) for h in range(nh)]
            zh = [q.rows_range(h * 2 * hd + hd, (h + 1) * 2 * hd) for h in range(nh)]
            k = T.source(p + "self_attn.k_proj.weight", [ng * hd, H])
            v = T.source(p + "self_attn.v_proj.weight", [ng * hd, H])
            parts = []
            for g in range(ng):  # [q_group, z_group, k_g, v_g]
                parts += qh[g * hpg:(g + 1) * hpg] + zh[g * hpg:(g + 1) * hpg]
                parts += [k.rows_range(g * hd, (g + 1) * hd), v.rows_range(g * hd, (g + 1) * hd)]
            out[m + "self_attention.linear_qkv.weight"] = T.cat(parts).chunk_rows(tp, tr)
            out[m + "self_attention.linear_qkv.layer_norm_weight"] = T.source(p + "input_layernorm.weight", [H])
            out[m + "self_attention.q_layernorm.weight"] = T.source(p + "self_attn.q_norm.weight", [hd])
            out[m + "self_attention.k_layernorm.weight"] = T.source(p + "self_attn.k_norm.weight", [hd])
            out[m + "self_attention.linear_proj.weight"] = T.source(p + "self_attn.o_proj.weight", [H, nh * hd]).chunk_cols(tp, tr)
        else:
            g_ = p + "linear_attn."
            if "in_proj_qkvz" in str(cfg.get("model_type")) or cfg.get("model_type") == "qwen3_next":
                qkvz = T.source(g_ + "in_proj_qkvz.weight", [2 * kd + 2 * vd, H])
                ba = T.source(g_ + "in_proj_ba.weight", [2 * nv, H])
                vg, bg = nv // nk * dv, nv // nk
                blk = 2 * dk + 2 * vg
                q_ = T.cat([qkvz.rows_range(h * blk, h * blk + dk) for h in range(nk)])
                k_ = T.cat([qkvz.rows_range(h * blk + dk, h * blk + 2 * dk) for h in range(nk)])
                v_ = T.cat([qkvz.rows_range(h * blk + 2 * dk, h * blk + 2 * dk + vg) for h in range(nk)])
                z_ = T.cat([qkvz.rows_range(h * blk + 2 * dk + vg, (h + 1) * blk) for h in range(nk)])
                b_ = T.cat([ba.rows_range(h * 2 * bg, h * 2 * bg + bg) for h in range(nk)])
                a2 = T.cat([ba.rows_range(h * 2 * bg + bg, (h + 1) * 2 * bg) for h in range(nk)])
            else:
                qkv = T.source(g_ + "in_proj_qkv.weight", [2 * kd + vd, H])
                q_, k_, v_ = qkv.rows_range(0, kd), qkv.rows_range(kd, 2 * kd), qkv.rows_range(2 * kd, 2 * kd + vd)
                z_ = T.source(g_ + "in_proj_z.weight", [vd, H])
                b_ = T.source(g_ + "in_proj_b.weight", [nv, H])
                a2 = T.source(g_ + "in_proj_a.weight", [nv, H])
            out[m + "self_attention.in_proj.weight"] = T.cat([x.chunk_rows(tp, tr) for x in (q_, k_, v_, z_, b_, a2)])
            out[m + "self_attention.in_proj.layer_norm_weight"] = T.source(p + "input_layernorm.weight", [H])
            conv = T.source(g_ + "conv1d.weight", [2 * kd + vd, ck])
            out[m + "self_attention.conv1d.weight"] = T.cat(
                [conv.rows_range(lo, hi).chunk_rows(tp, tr) for lo, hi in ((0, kd), (kd, 2 * kd), (2 * kd, 2 * kd + vd))])
            for n in ("A_log", "dt_bias"):
                out[m + "self_attention." + n] = T([T.source(g_ + n, [nv]).rows[0]]).chunk_cols(tp, tr)
            nrm = T.source(g_ + "norm.weight", [dv])
            if a.out_norm_offset:
                nrm = T([[x + ((("affine", 1.0, float(a.out_norm_offset)),),) for x in nrm.rows[0]]])
            out[m + "self_attention.out_norm.weight"] = nrm
            out[m + "self_attention.out_proj.weight"] = T.source(g_ + "out_proj.weight", [H, vd]).chunk_cols(tp, tr)
        if E:
            Im, Is, El = cfg["moe_intermediate_size"], cfg["shared_expert_intermediate_size"], E // ep
            out[m + "mlp.router.weight"] = T.source(p + "mlp.gate.weight", [E, H])
            out[m + "pre_mlp_layernorm.weight"] = T.source(p + "post_attention_layernorm.weight", [H])
            out[m + "mlp.shared_experts.gate_weight"] = T.source(p + "mlp.shared_expert_gate.weight", [1, H])
            s_ = p + "mlp.shared_expert."
            out[m + "mlp.shared_experts.linear_fc1.weight"] = gated(s_, Is, H, tp, tr)
            out[m + "mlp.shared_experts.linear_fc2.weight"] = T.source(s_ + "down_proj.weight", [H, Is]).chunk_cols(tp, tr)
            for e in range(El):
                x = p + f"mlp.experts.{er * El + e}."
                out[m + f"mlp.experts.linear_fc1.weight{e}"] = gated(x, Im, H, etp, etr)
                out[m + f"mlp.experts.linear_fc2.weight{e}"] = T.source(x + "down_proj.weight", [H, Im]).chunk_cols(etp, etr)
        else:
            out[m + "mlp.linear_fc1.weight"] = T.cat(
                [T.source(p + "mlp.gate_proj.weight", [I, H]).chunk_rows(tp, tr),
                 T.source(p + "mlp.up_proj.weight", [I, H]).chunk_rows(tp, tr)])
            out[m + "mlp.linear_fc1.layer_norm_weight"] = T.source(p + "post_attention_layernorm.weight", [H])
            out[m + "mlp.linear_fc2.weight"] = T.source(p + "mlp.down_proj.weight", [H, I]).chunk_cols(tp, tr)
    return out


def megatron_qkv(cfg, prefix, tp, tr):
    """QKVMapping: merge_qkv_weights / merge_qkv_biases ([q heads of g, k_g,
    v_g] for each query group g), then torch.chunk over tp; the weight and,
    with attention_bias, the bias. prefix is the HF layer's."""
    H, nh, ng, hd = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    hpg = nh // ng
    tensors = {"weight": lambda n, r: T.source(n, [r, H])}
    if cfg.get("attention_bias"):
        tensors["bias"] = bias
    out = {}
    for kind, make in tensors.items():
        q = make(prefix + f"self_attn.q_proj.{kind}", nh * hd)
        k = make(prefix + f"self_attn.k_proj.{kind}", ng * hd)
        v = make(prefix + f"self_attn.v_proj.{kind}", ng * hd)
        parts = []
        for g in range(ng):
            parts += [q.rows_range(g * hpg * hd, (g + 1) * hpg * hd),
                      k.rows_range(g * hd, (g + 1) * hd), v.rows_range(g * hd, (g + 1) * hd)]
        out[kind] = T.cat(parts).chunk_rows(tp, tr)
    return out


def megatron_glm_layer(cfg, a, p, m, moe):
    """One GLM-4.5 decoder layer (HF prefix p) as GLM45Bridge loads it into
    Megatron-Core's TE layer spec (prefix m): input_layernorm fused into
    linear_qkv (TELayerNormColumnParallelLinear), q/k layernorms only with
    use_qk_norm (qk_layernorm), o_proj without bias (add_bias_linear False);
    dense: GatedMLPMapping with post_attention_layernorm fused into
    linear_fc1; MoE: TENorm pre_mlp_layernorm, TopKRouter weight (params
    dtype) and its fp32 expert_bias buffer, the shared expert over the dense
    tp group, TEGroupedMLP experts weight{j} = global expert ep_rank * E/ep +
    j (_megatron_local_name_to_global), [gate; up] chunked over etp."""
    H, nh, hd = cfg["hidden_size"], cfg["num_attention_heads"], cfg["head_dim"]
    tp = a.tp
    tr, pr, er, etp, etr = megatron_ranks(a)
    out = {}
    qkv = megatron_qkv(cfg, p, tp, tr)
    sa = m + "self_attention."
    out[sa + "linear_qkv.weight"] = qkv["weight"]
    if "bias" in qkv:
        out[sa + "linear_qkv.bias"] = qkv["bias"]
    out[sa + "linear_qkv.layer_norm_weight"] = T.source(p + "input_layernorm.weight", [H])
    out[sa + "linear_proj.weight"] = T.source(p + "self_attn.o_proj.weight", [H, nh * hd]).chunk_cols(tp, tr)
    if cfg.get("use_qk_norm"):
        out[sa + "q_layernorm.weight"] = T.source(p + "self_attn.q_norm.weight", [hd])
        out[sa + "k_layernorm.weight"] = T.source(p + "self_attn.k_norm.weight", [hd])
    post = T.source(p + "post_attention_layernorm.weight", [H])

    if not moe:
        I = cfg["intermediate_size"]
        out[m + "mlp.linear_fc1.weight"] = gated(p + "mlp.", I, H, tp, tr)
        out[m + "mlp.linear_fc1.layer_norm_weight"] = post
        out[m + "mlp.linear_fc2.weight"] = T.source(p + "mlp.down_proj.weight", [H, I]).chunk_cols(tp, tr)
        return out
    E, Im = cfg["n_routed_experts"], cfg["moe_intermediate_size"]
    Is, El = Im * cfg["n_shared_experts"], E // a.ep
    out[m + "pre_mlp_layernorm.weight"] = post
    out[m + "mlp.router.weight"] = T.source(p + "mlp.gate.weight", [E, H])
    out[m + "mlp.router.expert_bias"] = T.source(p + "mlp.gate.e_score_correction_bias", [E])
    s_ = p + "mlp.shared_experts."
    out[m + "mlp.shared_experts.linear_fc1.weight"] = gated(s_, Is, H, tp, tr)
    out[m + "mlp.shared_experts.linear_fc2.weight"] = T.source(s_ + "down_proj.weight", [H, Is]).chunk_cols(tp, tr)
    for j in range(El):
        x = p + f"mlp.experts.{er * El + j}."
        out[m + f"mlp.experts.linear_fc1.weight{j}"] = gated(x, Im, H, etp, etr)
        out[m + f"mlp.experts.linear_fc2.weight{j}"] = T.source(x + "down_proj.weight", [H, Im]).chunk_cols(etp, etr)
    return out


def megatron_glm(cfg, a):
    """Megatron-Bridge's GLM45Bridge (glm45_bridge.py): moe_layer_freq
    [0] * first_k_dense_replace + [1] * rest, decoder layers split evenly
    over pp; with num_nextn_predict_layers, Megatron-Core's MTP layers on
    the last stage only (mtp_on_this_rank): mtp.layers.m.{enorm, hnorm,
    final_layernorm (shared_head.norm)}, eh_proj (TEColumnParallelLinear:
    rows chunked over tp), mtp_model_layer = the last decoder layer's (MoE)
    spec on HF layer num_hidden_layers + m, and, when that stage is not the
    first, its own embedding (GPTModel: pre_process or mtp_process). The
    MTP layer's embed_tokens and shared_head.head are not mapped."""
    H, V, L = cfg["hidden_size"], cfg["vocab_size"], cfg["num_hidden_layers"]
    tp, pp = a.tp, a.pp
    tr, pr, _, _, _ = megatron_ranks(a)
    mtp = cfg.get("num_nextn_predict_layers") or 0
    Vp = -(-V // (128 * tp)) * (128 * tp) if a.pad_vocab else V
    emb = T.source("model.embed_tokens.weight", [V, H]).pad_rows(Vp - V).chunk_rows(tp, tr)
    out = {}
    if pr == 0 or (pr == pp - 1 and mtp):
        out["embedding.word_embeddings.weight"] = emb
    if pr == pp - 1:
        out["output_layer.weight"] = T.source("lm_head.weight", [V, H]).pad_rows(Vp - V).chunk_rows(tp, tr)
        out["decoder.final_layernorm.weight"] = T.source("model.norm.weight", [H])
    per = L // pp
    for ll in range(per):
        gl = pr * per + ll
        out.update(megatron_glm_layer(cfg, a, f"model.layers.{gl}.", f"decoder.layers.{ll}.",
                                      gl >= cfg["first_k_dense_replace"]))
    if pr != pp - 1:
        return out
    for i in range(mtp):
        p, m = f"model.layers.{L + i}.", f"mtp.layers.{i}."
        out[m + "enorm.weight"] = T.source(p + "enorm.weight", [H])
        out[m + "hnorm.weight"] = T.source(p + "hnorm.weight", [H])
        out[m + "final_layernorm.weight"] = T.source(p + "shared_head.norm.weight", [H])
        out[m + "eh_proj.weight"] = T.source(p + "eh_proj.weight", [H, 2 * H]).chunk_rows(tp, tr)
        out.update(megatron_glm_layer(cfg, a, p, m + "mtp_model_layer.", True))
    return out


def megatron(cfg, a):
    if "linear_num_key_heads" in cfg:
        return megatron_hybrid(cfg, a)
    if glm(cfg):
        return megatron_glm(cfg, a)
    H, nh, ng, hd, I, V, L = qwen3(cfg)
    tp, pp, ep = a.tp, a.pp, a.ep
    tr, pr, er, etp, etr = megatron_ranks(a)
    E = cfg.get("num_experts", cfg.get("num_local_experts", 0))
    step = cfg.get("decoder_sparse_step", 1)
    out = {}
    Vp = V
    if a.pad_vocab:  # calculate_padded_vocab_size(V, 128, tp)
        m = 128 * tp
        Vp = -(-V // m) * m
    if pr == 0:
        out["embedding.word_embeddings.weight"] = T.source(
            "model.embed_tokens.weight", [V, H]).pad_rows(Vp - V).chunk_rows(tp, tr)
    if pr == pp - 1:
        if not cfg.get("tie_word_embeddings"):
            out["output_layer.weight"] = T.source("lm_head.weight", [V, H]).pad_rows(Vp - V).chunk_rows(tp, tr)
        out["decoder.final_layernorm.weight"] = T.source("model.norm.weight", [H])
    per = L // pp
    hpg = nh // ng
    for ll in range(per):
        gl = pr * per + ll
        p, m = f"model.layers.{gl}.", f"decoder.layers.{ll}."
        q = T.source(p + "self_attn.q_proj.weight", [nh * hd, H])
        k = T.source(p + "self_attn.k_proj.weight", [ng * hd, H])
        v = T.source(p + "self_attn.v_proj.weight", [ng * hd, H])
        groups = []
        for g in range(ng):  # merge_qkv_weights: [q heads of g, k_g, v_g]
            groups += [q.rows_range(g * hpg * hd, (g + 1) * hpg * hd),
                       k.rows_range(g * hd, (g + 1) * hd), v.rows_range(g * hd, (g + 1) * hd)]
        out[m + "self_attention.linear_qkv.weight"] = T.cat(groups).chunk_rows(tp, tr)
        out[m + "self_attention.linear_qkv.layer_norm_weight"] = T.source(p + "input_layernorm.weight", [H])
        if not llama_family(cfg):
            out[m + "self_attention.q_layernorm.weight"] = T.source(p + "self_attn.q_norm.weight", [hd])
            out[m + "self_attention.k_layernorm.weight"] = T.source(p + "self_attn.k_norm.weight", [hd])
        out[m + "self_attention.linear_proj.weight"] = T.source(p + "self_attn.o_proj.weight", [H, nh * hd]).chunk_cols(tp, tr)
        if cfg.get("attention_bias"):  # merge_qkv_weights on the biases
            qb = bias(p + "self_attn.q_proj.bias", nh * hd)
            kb = bias(p + "self_attn.k_proj.bias", ng * hd)
            vb = bias(p + "self_attn.v_proj.bias", ng * hd)
            bg = []
            for g in range(ng):
                bg += [qb.rows_range(g * hpg * hd, (g + 1) * hpg * hd),
                       kb.rows_range(g * hd, (g + 1) * hd), vb.rows_range(g * hd, (g + 1) * hd)]
            out[m + "self_attention.linear_qkv.bias"] = T.cat(bg).chunk_rows(tp, tr)
            out[m + "self_attention.linear_proj.bias"] = T.source(p + "self_attn.o_proj.bias", [H])
        if cfg.get("mlp_bias"):
            out[m + "mlp.linear_fc1.bias"] = T.cat(
                [bias(p + "mlp.gate_proj.bias", I).chunk_rows(tp, tr),
                 bias(p + "mlp.up_proj.bias", I).chunk_rows(tp, tr)])
            out[m + "mlp.linear_fc2.bias"] = T.source(p + "mlp.down_proj.bias", [H])
        if E and gl not in cfg.get("mlp_only_layers", []) and (gl + 1) % step == 0:
            Im, El = cfg["moe_intermediate_size"], E // ep
            out[m + "mlp.router.weight"] = T.source(p + "mlp.gate.weight", [E, H])
            out[m + "pre_mlp_layernorm.weight"] = T.source(p + "post_attention_layernorm.weight", [H])
            for e in range(El):  # EP-local numbering
                x = p + f"mlp.experts.{er * El + e}."
                y = m + f"mlp.experts.local_experts.{e}."
                out[y + "linear_fc1.weight"] = gated(x, Im, H, etp, etr)
                out[y + "linear_fc2.weight"] = T.source(x + "down_proj.weight", [H, Im]).chunk_cols(etp, etr)
            continue
        g_ = T.source(p + "mlp.gate_proj.weight", [I, H])
        u = T.source(p + "mlp.up_proj.weight", [I, H])
        out[m + "mlp.linear_fc1.weight"] = T.cat([g_.chunk_rows(tp, tr), u.chunk_rows(tp, tr)])
        out[m + "mlp.linear_fc1.layer_norm_weight"] = T.source(p + "post_attention_layernorm.weight", [H])
        out[m + "mlp.linear_fc2.weight"] = T.source(p + "mlp.down_proj.weight", [H, I]).chunk_cols(tp, tr)
    return out


def transformers(cfg, a):
    H, nh, nkv, hd, I, V, L = qwen3(cfg)
    E = cfg.get("num_experts", cfg.get("num_local_experts", 0))
    step = cfg.get("decoder_sparse_step", 1)
    out = {}

    def copy(name, shape):
        out[name] = T.source(name, shape)

    copy("model.embed_tokens.weight", [V, H])
    if not cfg.get("tie_word_embeddings"):
        copy("lm_head.weight", [V, H])
    copy("model.norm.weight", [H])
    for l in range(L):
        p = f"model.layers.{l}."
        copy(p + "self_attn.q_proj.weight", [nh * hd, H])
        copy(p + "self_attn.k_proj.weight", [nkv * hd, H])
        copy(p + "self_attn.v_proj.weight", [nkv * hd, H])
        copy(p + "self_attn.o_proj.weight", [H, nh * hd])
        for n in ("self_attn.q_norm.weight", "self_attn.k_norm.weight"):
            copy(p + n, [hd])
        for n in ("input_layernorm.weight", "post_attention_layernorm.weight"):
            copy(p + n, [H])
        if E and l not in cfg.get("mlp_only_layers", []) and (l + 1) % step == 0:
            Im = cfg["moe_intermediate_size"]
            copy(p + "mlp.gate.weight", [E, H])
            x = p + "mlp.experts."
            # Qwen3MoeExperts: gate_up_proj[e] = cat(gate_e, up_e), down_proj[e] = down_e
            out[x + "gate_up_proj"] = T.cat(
                [T.source(x + f"{e}.{w}_proj.weight", [Im, H]) for e in range(E) for w in ("gate", "up")])
            out[x + "down_proj"] = T.cat([T.source(x + f"{e}.down_proj.weight", [H, Im]) for e in range(E)])
        else:
            copy(p + "mlp.gate_proj.weight", [I, H])
            copy(p + "mlp.up_proj.weight", [I, H])
            copy(p + "mlp.down_proj.weight", [H, I])
    return out


class ND:
    """An N-d array of origins with the jnp operations the converter uses."""

    def __init__(self, shape, data):
        self.shape, self.data = list(shape), data

    @staticmethod
    def source(name, shape):
        n = 1
        for d in shape:
            n *= d
        return ND(shape, [(name, i) for i in range(n)])

    def _strides(self):
        st, acc = [], 1
        for d in reversed(self.shape):
            st.insert(0, acc)
            acc *= d
        return st

    def transpose(self, perm):  # jnp.transpose: result dim k = input dim perm[k]
        shape = [self.shape[p] for p in perm]
        st = self._strides()
        out = []
        for idx in itertools.product(*[range(d) for d in shape]):
            out.append(self.data[sum(idx[k] * st[perm[k]] for k in range(len(perm)))])
        return ND(shape, out)

    def reshape(self, shape):
        n = len(self.data)
        shape = list(shape)
        if -1 in shape:
            k = shape.index(-1)
            rest = 1
            for i, d in enumerate(shape):
                if i != k:
                    rest *= d
            shape[k] = n // rest
        return ND(shape, list(self.data))

    def unstack(self, axis):
        perm = [axis] + [i for i in range(len(self.shape)) if i != axis]
        t = self.transpose(perm)
        step = len(t.data) // t.shape[0]
        return [ND(t.shape[1:], t.data[i * step:(i + 1) * step]) for i in range(t.shape[0])]

    @staticmethod
    def concatenate(parts, axis):
        # move axis to front, concatenate, move back
        perm = [axis] + [i for i in range(len(parts[0].shape)) if i != axis]
        inv = [perm.index(i) for i in range(len(perm))]
        moved = [p.transpose(perm) for p in parts]
        shape = list(moved[0].shape)
        shape[0] = sum(m.shape[0] for m in moved)
        return ND(shape, [x for m in moved for x in m.data]).transpose(inv)

    @staticmethod
    def stack(parts, axis):
        ex = [ND(p.shape[:axis] + [1] + p.shape[axis:], p.data) for p in parts]
        return ND.concatenate(ex, axis)

    def pad(self, axis, high, fill):
        perm = [axis] + [i for i in range(len(self.shape)) if i != axis]
        inv = [perm.index(i) for i in range(len(perm))]
        m = self.transpose(perm)
        row = len(m.data) // m.shape[0]
        shape = list(m.shape)
        shape[0] += high
        return ND(shape, m.data + [fill] * (high * row)).transpose(inv)


def vllm_tpu(cfg, a):
    """Qwen3MaxTextToVLLMConverter, step by step, on origins."""
    H, nh, nkv, hd, I, V, L = qwen3(cfg)
    E = cfg.get("num_experts", cfg.get("num_local_experts", 0))
    Im = cfg["moe_intermediate_size"]
    vllm_tp = a.rollout_tp
    src = lambda n, s: ND.source(n, s)
    out = {}
    out["vllm_model.model.embed_tokens.weight"] = src("token_embedder.embedding", [V, H])
    out["vllm_model.model.norm.weight"] = src("decoder.decoder_norm.scale", [H])
    out["vllm_model.lm_head.weight"] = src("decoder.logits_dense.kernel", [H, V]).transpose([1, 0])
    for key, name in (("input_layernorm", "pre_self_attention_layer_norm"),
                      ("post_attention_layernorm", "post_self_attention_layer_norm")):
        for i, x in enumerate(src(f"decoder.layers.{name}.scale", [H, L]).transpose([1, 0]).unstack(0)):
            out[f"vllm_model.model.layers.{i}.{key}.weight"] = x
    # _make_attn_compute(tp = min(vllm_tp, kv heads))
    tp = min(vllm_tp, nkv)
    q = src("decoder.layers.self_attention.query.kernel", [H, L, nh, hd]).transpose([1, 0, 2, 3])
    k = src("decoder.layers.self_attention.key.kernel", [H, L, nkv, hd]).transpose([1, 0, 2, 3])
    v = src("decoder.layers.self_attention.value.kernel", [H, L, nkv, hd]).transpose([1, 0, 2, 3])
    qb = q.reshape([L, H, tp, nh // tp, hd])
    kb = k.reshape([L, H, tp, nkv // tp, hd])
    vb = v.reshape([L, H, tp, nkv // tp, hd])
    qkv = ND.concatenate([qb, kb, vb], 3).reshape([L, H, -1]).transpose([0, 2, 1])
    o = src("decoder.layers.self_attention.out.kernel", [nh, L, hd, H]).transpose([1, 3, 0, 2])
    o = o.reshape([o.shape[0], o.shape[1], -1])
    qn = src("decoder.layers.self_attention.query_norm.scale", [hd, L]).transpose([1, 0])
    kn = src("decoder.layers.self_attention.key_norm.scale", [hd, L]).transpose([1, 0])
    for key, t in (("self_attn.qkv_proj.weight", qkv), ("self_attn.o_proj.weight", o),
                   ("self_attn.q_norm.weight", qn), ("self_attn.k_norm.weight", kn)):
        for i, x in enumerate(t.unstack(0)):
            out[f"vllm_model.model.layers.{i}.{key}"] = x
    gate = src("decoder.layers.moe_block.gate.kernel", [H, L, E]).transpose([1, 2, 0])
    for i, x in enumerate(gate.unstack(0)):
        out[f"vllm_model.model.layers.{i}.mlp.gate.weight"] = x
    wo = src("decoder.layers.moe_block.wo", [E, L, Im, H]).transpose([1, 0, 3, 2]).transpose([0, 1, 3, 2])
    for i, x in enumerate(wo.unstack(0)):
        out[f"vllm_model.model.layers.{i}.mlp.experts.w2_weight"] = x
    wi0 = src("decoder.layers.moe_block.wi_0", [E, L, H, Im]).transpose([1, 0, 2, 3])
    wi1 = src("decoder.layers.moe_block.wi_1", [E, L, H, Im]).transpose([1, 0, 2, 3])
    for i, (w0, w1) in enumerate(zip(wi0.unstack(0), wi1.unstack(0))):
        w0, w1 = w0.transpose([0, 2, 1]), w1.transpose([0, 2, 1])
        chunk = Im // vllm_tp
        padded = ((chunk + 127) // 128) * 128
        g = w0.reshape([E, vllm_tp, chunk, H])
        u = w1.reshape([E, vllm_tp, chunk, H])
        if padded > chunk:
            g, u = g.pad(2, padded - chunk, "fill:0.0"), u.pad(2, padded - chunk, "fill:0.0")
        comb = ND.stack([g, u], 2).reshape([E, 2 * padded * vllm_tp, H])
        out[f"vllm_model.model.layers.{i}.mlp.experts.w13_weight"] = comb.transpose([0, 2, 1])
    return {k: T([x.data]) for k, x in out.items()}


def fastdeploy(cfg, a):
    """FastDeploy's Qwen3_5ForCausalLM.load_weights and the linear layers'
    weight loaders (QKVGateParallelLinear with split_q_gate,
    MergedColumnParallelLinear, Column/RowParallelLinear, ReplicatedLinear),
    then the [out, in] -> [in, out] transpose of torch-format weights."""
    H, nh, nkv, hd, I, V, L = qwen3(cfg)
    tp, r = a.tp, a.rank % a.tp
    nk, nv = cfg["linear_num_key_heads"], cfg["linear_num_value_heads"]
    kd, vd = nk * cfg["linear_key_head_dim"], nv * cfg["linear_value_head_dim"]
    dv, ck = cfg["linear_value_head_dim"], cfg["linear_conv_kernel_dim"]
    plus1 = (("affine", 1.0, 1.0),) if a.norm_offset else None

    def norm(name, n):  # loaded_weight = 1.0 + loaded_weight
        t = T.source(name, [n])
        if plus1:
            t = T([[x + (plus1,) for x in t.rows[0]]])
        return t

    def transpose(t):  # Paddle [in, out]
        return T([list(col) for col in zip(*t.rows)])

    out = {}
    out["model.embed_tokens.embeddings.weight"] = T.source("model.embed_tokens.weight", [V, H]).chunk_rows(tp, r)
    if not cfg.get("tie_word_embeddings"):
        out["lm_head.linear.weight"] = transpose(T.source("lm_head.weight", [V, H]).chunk_rows(tp, r))
    out["model.norm.weight"] = norm("model.norm.weight", H)
    replicas = max(1, tp // nkv)
    kv_per = max(1, nkv // tp)
    for l in range(L):
        p = f"model.layers.{l}."
        out[p + "input_layernorm.weight"] = norm(p + "input_layernorm.weight", H)
        out[p + "post_attention_layernorm.weight"] = norm(p + "post_attention_layernorm.weight", H)
        m = p + "mlp."
        out[m + "up_gate_proj.weight"] = transpose(gated(m, I, H, tp, r))
        out[m + "down_proj.weight"] = transpose(T.source(m + "down_proj.weight", [H, I]).chunk_cols(tp, r))
        if cfg["layer_types"][l] == "full_attention":
            a_ = p + "self_attn."
            q = T.source(a_ + "q_proj.weight", [nh * 2 * hd, H])
            query = T.cat([q.rows_range(h * 2 * hd, h * 2 * hd + hd) for h in range(nh)])
            gate = T.cat([q.rows_range(h * 2 * hd + hd, (h + 1) * 2 * hd) for h in range(nh)])
            nhr = nh // tp
            kv_id = r // replicas  # shard_id = local_rank // num_kv_head_replicas
            k = T.source(a_ + "k_proj.weight", [nkv * hd, H])
            v = T.source(a_ + "v_proj.weight", [nkv * hd, H])
            qkvg = T.cat([query.rows_range(r * nhr * hd, (r + 1) * nhr * hd),
                          k.rows_range(kv_id * kv_per * hd, (kv_id + 1) * kv_per * hd),
                          v.rows_range(kv_id * kv_per * hd, (kv_id + 1) * kv_per * hd),
                          gate.rows_range(r * nhr * hd, (r + 1) * nhr * hd)])
            out[a_ + "qkvg_proj.weight"] = transpose(qkvg)
            out[a_ + "o_proj.weight"] = transpose(T.source(a_ + "o_proj.weight", [H, nh * hd]).chunk_cols(tp, r))
            out[a_ + "qk_norm.q_norm.weight"] = norm(a_ + "q_norm.weight", hd)
            out[a_ + "qk_norm.k_norm.weight"] = norm(a_ + "k_norm.weight", hd)
        else:
            g = p + "linear_attn."
            out[g + "in_proj_qkv.weight"] = transpose(T.source(g + "in_proj_qkv.weight", [2 * kd + vd, H]).chunk_rows(tp, r))
            out[g + "in_proj_z.weight"] = transpose(T.source(g + "in_proj_z.weight", [vd, H]).chunk_rows(tp, r))
            out[g + "in_proj_b.weight"] = transpose(T.source(g + "in_proj_b.weight", [nv, H]))
            out[g + "in_proj_a.weight"] = transpose(T.source(g + "in_proj_a.weight", [nv, H]))
            out[g + "conv1d_weight"] = T.source(g + "conv1d.weight", [2 * kd + vd, ck])
            out[g + "A_log"] = T.source(g + "A_log", [nv])
            out[g + "dt_bias"] = T.source(g + "dt_bias", [nv])
            n = T.source(g + "norm.weight", [dv])
            out[g + "norm.weight"] = T([[x + ((("cast", "F32"),),) for x in n.rows[0]]])
            out[g + "out_proj.weight"] = transpose(T.source(g + "out_proj.weight", [H, vd]).chunk_cols(tp, r))
    return out


def actual(plan):
    src, tgt = plan["sources"], plan["targets"]
    out = {}
    for t in tgt:
        n = 1
        for d in t["shape"]:
            n *= d
        out[t["name"]] = [None] * n
    for pc in plan["pieces"]:
        els = out[tgt[pc["target"]]["name"]]
        for idx in itertools.product(*[range(e) for e in pc["shape"]]):
            d = pc["dst_offset"] + sum(i * s for i, s in zip(idx, pc["dst_strides"]))
            if "fill" in pc:
                v = f"fill:{float(pc['fill'])}"
            else:
                v = (src[pc["source"]]["name"],
                     pc["src_offset"] + sum(i * s for i, s in zip(idx, pc["src_strides"])))
                if "convert" in pc:  # the conversion is part of the origin
                    v = v + (tuple(("affine", c["scale"], c["offset"]) if c["op"] == "affine"
                                   else ("cast", c["to"]) for c in pc["convert"]),)
            els[d] = v if els[d] is None else "WRITTEN TWICE"
    return out


def family_layouts(cfg):
    """A family with a checker of its own (check_<model_type>.py beside this
    file: gpt_oss, deepseek_v3) lists its layouts in LAYOUTS; the others are
    computed here."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        f"check_{cfg.get('model_type', '')}.py")
    if not os.path.exists(path):
        return {"vllm": vllm, "megatron": megatron, "transformers": transformers,
                "vllm-tpu": vllm_tpu, "fastdeploy": fastdeploy}
    sys.path.insert(0, os.path.dirname(path))
    return importlib.import_module(f"check_{cfg['model_type']}").LAYOUTS


def check(a, cfg, plan):
    exp = family_layouts(cfg)[a.layout](cfg, a)
    act = actual(plan)
    bad = 0
    if set(exp) != set(act):
        print("targets differ: missing", sorted(set(exp) - set(act)),
              "extra", sorted(set(act) - set(exp)))
        bad += 1
    for name in sorted(set(exp) & set(act)):
        e, g = exp[name].flat(), act[name]
        if len(e) != len(g):
            print(f"{name}: {len(g)} elements, expected {len(e)}")
            bad += 1
            continue
        diff = [i for i, (x, y) in enumerate(zip(e, g)) if x != y]
        if diff:
            print(f"{name}: {len(diff)} of {len(e)} elements differ; first at "
                  f"{diff[0]}: got {g[diff[0]]}, expected {e[diff[0]]}")
            bad += 1
    print(f"rank {a.rank}: " + ("OK" if not bad else f"{bad} PROBLEMS"))
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("plan", nargs="?")
    ap.add_argument("--opt")
    ap.add_argument("--spec")
    ap.add_argument("--config", required=True)
    ap.add_argument("--layout",
                    choices=["vllm", "megatron", "transformers", "vllm-tpu",
                             "fastdeploy"],
                    required=True)
    ap.add_argument("--rollout-tp", type=int, default=1)
    ap.add_argument("--qkvz-form", type=int, default=0)
    ap.add_argument("--norm-offset", type=int, default=1)
    ap.add_argument("--out-norm-offset", type=int, default=-1)
    ap.add_argument("--tp", type=int, default=1)
    ap.add_argument("--pp", type=int, default=1)
    ap.add_argument("--ep", type=int, default=1)
    ap.add_argument("--dp", type=int, default=1)
    ap.add_argument("--cp", type=int, default=1)
    ap.add_argument("--etp", type=int)
    ap.add_argument("--rank", type=int, default=0)
    ap.add_argument("--pad-vocab", action="store_true")
    ap.add_argument("--set", action="append", default=[],
                    help="a spec option K=V, passed to weight-layout-opt "
                         "(a family's checker reads it from a.set)")
    a = ap.parse_args()
    cfg = json.load(open(a.config))
    if not a.spec:
        return 1 if check(a, cfg, json.load(open(a.plan))) else 0
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        # The frameworks' rank counts: vLLM tp x dp; Megatron-Core
        # tp x cp x dp x pp (expert parallelism folds into them); the
        # others tp x ep x pp.
        ranks = {"vllm": a.tp * a.dp,
                 "megatron": a.tp * a.cp * a.dp * a.pp}.get(
                     a.layout, a.tp * a.pp * a.ep)
        for r in range(ranks):
            a.rank = r
            out = os.path.join(tmp, f"rank{r}.json")
            cmd = [a.opt, "--mapping", a.spec, "--config", a.config,
                   "--tp", str(a.tp), "--pp", str(a.pp), "--ep", str(a.ep),
                   "--dp", str(a.dp), "--cp", str(a.cp), "--rank", str(r),
                   "--emit=plan", "-o", out]
            if a.etp is not None:
                cmd += ["--etp", str(a.etp)]
            if a.pad_vocab:
                cmd += ["--set", "pad_vocab=1"]
            if a.layout == "megatron" and a.out_norm_offset != -1:
                cmd += ["--set", f"out_norm_offset={a.out_norm_offset}"]
            if a.layout == "fastdeploy":
                cmd += ["--set", f"norm_offset={a.norm_offset}"]
            for kv in a.set:
                cmd += ["--set", kv]
            if a.qkvz_form:
                cmd += ["--set", f"qkvz_form={a.qkvz_form}"]
            if a.layout == "vllm-tpu":
                cmd += ["--set", f"rollout_tp={a.rollout_tp}"]
            subprocess.run(cmd, check=True)
            bad += check(a, cfg, json.load(open(out)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
