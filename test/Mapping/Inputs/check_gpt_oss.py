"""gpt-oss's layouts for check_layout.py, written from the frameworks' code:

vLLM (vllm/model_executor/models/gpt_oss.py at a6b6cfaa): hf_to_vllm_mapper
renames .self_attn. to .attn., embed_tokens to embedding and the experts'
tensors to w13_weight/w13_bias/w2_weight/w2_bias; _load_weights_other
slices the experts itself: without expert parallelism over the MoE
tensor-parallel ranks (tp x dp, rank dp_rank * tp + tp_rank), narrowing
2 I_loc interleaved columns of gate_up_proj and transposing; w2_bias is
zeroed on every rank but the first; with expert parallelism contiguous
E / ep experts, whole. The sinks are narrowed by heads.

Megatron-Core through Megatron-Bridge (gpt_oss_bridge.py at 8a84d716):
QKVMapping's per-group [q, k, v]; softmax_offset from the sinks; the
router with its bias; per expert, gate_up_proj[e] transposed with its
rows de-interleaved to [gate; up] (GPTOSSMLPGateUpProjMapping),
down_proj[e] transposed; expert tensor parallelism 1; TEGroupedMLP's
names (moe_grouped_gemm), or SequentialMLP's with grouped_gemm=0.
"""
from check_layout import T, bias, megatron_ranks


def rows(name, r, c, base=0):
    """An [r, c] tensor of origins at flat offset base of `name`."""
    return T([[(name, base + i * c + j) for j in range(c)] for i in range(r)])


def transposed(t):
    return T([list(col) for col in zip(*t.rows)])


def sizes(cfg):
    return (cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"],
            cfg["head_dim"], cfg["intermediate_size"], cfg["vocab_size"],
            cfg["num_hidden_layers"], cfg["num_local_experts"])


def vllm(cfg, a):
    H, nh, nkv, hd, I, V, L, E = sizes(cfg)
    tp, r = a.tp, a.rank % a.tp
    flat = a.rank  # dp_rank * tp + tp_rank
    out = {}
    Vp = -(-V // 64) * 64
    out["model.embedding.weight"] = T.source("model.embed_tokens.weight", [V, H]).pad_rows(Vp - V).chunk_rows(tp, r)
    out["lm_head.weight"] = T.source("lm_head.weight", [V, H]).pad_rows(Vp - V).chunk_rows(tp, r)
    out["model.norm.weight"] = T.source("model.norm.weight", [H])
    if a.ep == 1:  # every expert, split over the tp x dp ranks
        experts, mtp, mr = range(E), a.tp * a.dp, flat
    else:  # experts_per_rank = E // ep_size, from ep_rank * experts_per_rank
        per = E // a.ep
        experts, mtp, mr = range(flat * per, (flat + 1) * per), 1, 0
    Il = I // mtp
    for l in range(L):
        p, v_ = f"model.layers.{l}.self_attn.", f"model.layers.{l}.attn."
        out[v_ + "qkv_proj.weight"] = T.cat(
            [T.source(p + "q_proj.weight", [nh * hd, H]).chunk_rows(tp, r),
             T.source(p + "k_proj.weight", [nkv * hd, H]).chunk_rows(tp, r),
             T.source(p + "v_proj.weight", [nkv * hd, H]).chunk_rows(tp, r)])
        out[v_ + "qkv_proj.bias"] = T.cat(
            [bias(p + "q_proj.bias", nh * hd).chunk_rows(tp, r),
             bias(p + "k_proj.bias", nkv * hd).chunk_rows(tp, r),
             bias(p + "v_proj.bias", nkv * hd).chunk_rows(tp, r)])
        out[v_ + "o_proj.weight"] = T.source(p + "o_proj.weight", [H, nh * hd]).chunk_cols(tp, r)
        out[v_ + "o_proj.bias"] = T.source(p + "o_proj.bias", [H])
        out[v_ + "sinks"] = bias(p + "sinks", nh).chunk_rows(tp, r)
        m = f"model.layers.{l}.mlp."
        out[m + "router.weight"] = T.source(m + "router.weight", [E, H])
        out[m + "router.bias"] = T.source(m + "router.bias", [E])
        for n in ("input_layernorm.weight", "post_attention_layernorm.weight"):
            out[f"model.layers.{l}." + n] = T.source(f"model.layers.{l}." + n, [H])
        if "mxfp4=1" in a.set:
            out.update(mxfp4_experts(cfg, m, experts, mtp, mr))
            continue
        w13, b13, w2, b2 = [], [], [], []
        for e in experts:
            gu = rows(m + "experts.gate_up_proj", H, 2 * I, e * H * 2 * I)
            # narrow(-1, 2 t' I_loc, 2 I_loc), then permute(0, 2, 1)
            w13.append(transposed(T([x[2 * mr * Il:2 * (mr + 1) * Il] for x in gu.rows])))
            b13.append(T([rows(m + "experts.gate_up_proj_bias", 1, 2 * I, e * 2 * I)
                          .rows[0][2 * mr * Il:2 * (mr + 1) * Il]]))
            dp_ = rows(m + "experts.down_proj", I, H, e * I * H)
            w2.append(transposed(dp_.rows_range(mr * Il, (mr + 1) * Il)))
            db = rows(m + "experts.down_proj_bias", 1, H, e * H)
            b2.append(db if mr == 0 else T([["fill:0.0"] * H]))
        out[m + "experts.w13_weight"] = T.cat(w13)
        out[m + "experts.w13_bias"] = T.cat(b13)
        out[m + "experts.w2_weight"] = T.cat(w2)
        out[m + "experts.w2_bias"] = T.cat(b2)
    return out


def mxfp4_experts(cfg, m, experts, mtp, mr):
    """vLLM's MXFP4 experts (_load_weights_mxfp4; Mxfp4MoEMethod's zeroed
    parameters, padded to Ip = round_up(I / tp', 64) on the Triton
    backend): the blocks' last two axes flattened, whole 32-blocks of the
    intermediate dimension per MoE rank (per_rank = cdiv(I / 32, tp') * 32,
    narrowed to [start, min(start + per_rank, I))), the rest zeros."""
    H, I = cfg["hidden_size"], cfg["intermediate_size"]
    per = -(-(I // 32) // mtp) * 32
    start = min(mr * per, I)
    end = min(start + per, I)
    Ip = -(-(I // mtp) // 64) * 64
    zero = "fill:0.0"

    def rows_of(name, ncols, src_rows, lo, hi, padded):
        # [experts, padded, ncols]: source rows [lo, hi) of each expert.
        out_ = []
        for e in experts:
            for r in range(padded):
                q = lo + r
                out_.append([(name, (e * src_rows + q) * ncols + c) if q < hi else zero
                             for c in range(ncols)])
        return T(out_)

    def cols_of(name, ncols, lo, hi, padded):
        # [experts, H, padded]: source columns [lo, hi) of each [H, ncols].
        out_ = []
        for e in experts:
            for h in range(H):
                out_.append([(name, (e * H + h) * ncols + lo + c) if lo + c < hi else zero
                             for c in range(padded)])
        return T(out_)
    x = m + "experts."
    return {
        x + "w13_weight": rows_of(x + "gate_up_proj_blocks", H // 2, 2 * I, 2 * start, 2 * end, 2 * Ip),
        x + "w13_weight_scale": rows_of(x + "gate_up_proj_scales", H // 32, 2 * I, 2 * start, 2 * end, 2 * Ip),
        x + "w13_bias": T([[(x + "gate_up_proj_bias", e * 2 * I + 2 * start + c)
                            if 2 * start + c < 2 * end else zero for c in range(2 * Ip)]
                           for e in experts]),
        x + "w2_weight": cols_of(x + "down_proj_blocks", I // 2, start // 2, end // 2, Ip // 2),
        x + "w2_weight_scale": cols_of(x + "down_proj_scales", I // 32, start // 32, end // 32, Ip // 32),
        x + "w2_bias": T([[(x + "down_proj_bias", e * H + h) if mr == 0 else zero for h in range(H)]
                          for e in experts]),
    }


def megatron(cfg, a):
    H, nh, ng, hd, I, V, L, E = sizes(cfg)
    tp, pp, ep = a.tp, a.pp, a.ep
    tr, pr, er, etp, etr = megatron_ranks(a)
    assert etp == 1, "the bridge keeps gpt-oss's experts whole"
    grouped = "grouped_gemm=0" not in a.set  # the bridge's moe_grouped_gemm
    out = {}
    Vp = V
    if a.pad_vocab:  # calculate_padded_vocab_size(V, 128, tp)
        Vp = -(-V // (128 * tp)) * 128 * tp
    if pr == 0:
        out["embedding.word_embeddings.weight"] = T.source(
            "model.embed_tokens.weight", [V, H]).pad_rows(Vp - V).chunk_rows(tp, tr)
    if pr == pp - 1:
        out["output_layer.weight"] = T.source("lm_head.weight", [V, H]).pad_rows(Vp - V).chunk_rows(tp, tr)
        out["decoder.final_layernorm.weight"] = T.source("model.norm.weight", [H])
    per, hpg, El = L // pp, nh // ng, E // ep
    for ll in range(per):
        gl = pr * per + ll
        p, m = f"model.layers.{gl}.", f"decoder.layers.{ll}."
        a_ = m + "self_attention."

        def groups(kind, shape_of):  # merge_qkv_weights / merge_qkv_biases
            q, k, v = (shape_of(p + f"self_attn.{x}_proj.{kind}", n)
                       for x, n in (("q", nh * hd), ("k", ng * hd), ("v", ng * hd)))
            out_ = []
            for g in range(ng):
                out_ += [q.rows_range(g * hpg * hd, (g + 1) * hpg * hd),
                         k.rows_range(g * hd, (g + 1) * hd), v.rows_range(g * hd, (g + 1) * hd)]
            return T.cat(out_).chunk_rows(tp, tr)
        out[a_ + "linear_qkv.weight"] = groups("weight", lambda n, s: T.source(n, [s, H]))
        out[a_ + "linear_qkv.bias"] = groups("bias", bias)
        out[a_ + "linear_qkv.layer_norm_weight"] = T.source(p + "input_layernorm.weight", [H])
        out[a_ + "linear_proj.weight"] = T.source(p + "self_attn.o_proj.weight", [H, nh * hd]).chunk_cols(tp, tr)
        out[a_ + "linear_proj.bias"] = T.source(p + "self_attn.o_proj.bias", [H])
        out[a_ + "core_attention.softmax_offset"] = bias(p + "self_attn.sinks", nh).chunk_rows(tp, tr)
        out[m + "pre_mlp_layernorm.weight"] = T.source(p + "post_attention_layernorm.weight", [H])
        out[m + "mlp.router.weight"] = T.source(p + "mlp.router.weight", [E, H])
        out[m + "mlp.router.bias"] = T.source(p + "mlp.router.bias", [E])
        x = p + "mlp.experts."
        for j in range(El):
            e = er * El + j  # _megatron_local_name_to_global
            if grouped:  # TEGroupedMLP: linear_fc1.weight{j}, bias{j}
                name = lambda n: m + f"mlp.experts.{n}{j}"
            else:  # SequentialMLP
                name = lambda n: m + f"mlp.experts.local_experts.{j}.{n}"
            fc1 = transposed(rows(x + "gate_up_proj", H, 2 * I, e * H * 2 * I))
            out[name("linear_fc1.weight")] = T(fc1.rows[0::2] + fc1.rows[1::2])
            b = rows(x + "gate_up_proj_bias", 2 * I, 1, e * 2 * I)
            out[name("linear_fc1.bias")] = T(b.rows[0::2] + b.rows[1::2])
            out[name("linear_fc2.weight")] = transposed(rows(x + "down_proj", I, H, e * I * H))
            out[name("linear_fc2.bias")] = rows(x + "down_proj_bias", 1, H, e * H)
    return out


LAYOUTS = {"vllm": vllm, "megatron": megatron}
