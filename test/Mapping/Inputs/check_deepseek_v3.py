"""DeepSeek-V3 / R1 / Kimi-K2 (model_type deepseek_v3): the per-rank layouts
of vLLM and of Megatron-Core (as Megatron-Bridge's DeepSeekV3Bridge fills
it), computed on tensors of origins from the frameworks' loaders, for
check_layout.py (which imports this file for model_type deepseek_v3 and
calls LAYOUTS[layout](cfg, a)). Written from the frameworks' code, not from
the mapping spec: every expected name is spelled out here.

  vLLM (vllm/model_executor/models/deepseek_v2.py, read at 002d6073):
    DeepseekV2Model.load_weights with stacked_params_mapping
    [gate_up_proj <- gate_proj (0), up_proj (1)] and mla_params_mapping
    [fused_qkv_a_proj <- q_a_proj (0), kv_a_proj_with_mqa (1)];
    MergedColumnParallelLinear puts shard k at the sum of the output sizes
    before it and narrows each shard to the tp rank's block (disable_tp:
    the whole shard); ColumnParallelLinear narrows dim 0, RowParallelLinear
    dim 1; ReplicatedLinear, RMSNorm and GateLinear keep everything (the
    gate in the model dtype); e_score_correction_bias is an fp32
    Parameter; FusedMoE's _load_w13 / _load_w2 narrow each expert's
    intermediate dimension to the MoE tp rank; VocabParallelEmbedding and
    ParallelLMHead pad the vocabulary to 64 and take row block tp_rank;
    names of the MTP layers (get_spec_layer_idx_from_weight_name) and
    rotary_emb.inv_freq are skipped.
  Megatron-Core (Megatron-Bridge deepseek/common.py get_common_mapping_list,
    deepseek_v3_bridge.py; AutoMapping: TELinear with parallel_mode
    "duplicated", norms and the router replicated, column-parallel
    torch.chunk on dim 0, row-parallel on dim 1; GatedMLPMapping: [gate
    chunk; up chunk]); experts placed by EP rank and split over ETP
    (check_layout.megatron_ranks), grouped-GEMM names by default (the
    bridge sets moe_grouped_gemm); MTP layers on the last pipeline stage
    as mtp.layers.{i} with the decoder layer under mtp_model_layer.

Options come from a.set ("K=V" strings, as passed to weight-layout-opt):
vLLM mla (1), mtp_head, inv_freq; Megatron grouped_gemm (1), pad_vocab.
Standard library only.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_layout import T, gated, megatron_ranks, vllm_moe_ranks  # noqa: E402


def options(a, **defaults):
    out = dict(defaults)
    for kv in getattr(a, "set", []) or []:
        k, v = kv.split("=", 1)
        out[k] = int(v)
    return out


class Dims:
    def __init__(self, cfg):
        self.H = cfg["hidden_size"]
        self.nh = cfg["num_attention_heads"]
        self.P = cfg["qk_nope_head_dim"]
        self.R = cfg["qk_rope_head_dim"]
        self.Vh = cfg["v_head_dim"]
        self.Lq = cfg.get("q_lora_rank")  # None: q_proj
        self.Lkv = cfg["kv_lora_rank"]
        self.I = cfg["intermediate_size"]
        self.Im = cfg["moe_intermediate_size"]
        self.E = cfg["n_routed_experts"]
        self.S = cfg.get("n_shared_experts") or 0
        self.K = cfg["first_k_dense_replace"]
        self.freq = cfg.get("moe_layer_freq", 1)
        self.N = cfg["num_hidden_layers"]
        self.M = cfg.get("num_nextn_predict_layers") or 0
        self.V = cfg["vocab_size"]
        # DeepseekV2MoE makes the bias for topk_method "noaux_tc"; the
        # released configs all say so (transformers' config drops the key,
        # and its DeepseekV3TopkRouter always has the buffer).
        self.bias = cfg.get("topk_method", "noaux_tc") == "noaux_tc"


def src(name, shape):
    return T.source(name, shape)


def vllm(cfg, a):
    d = Dims(cfg)
    o = options(a, mla=1)
    tp, r = a.tp, a.rank % a.tp
    H = d.H
    out = {}
    Vp = -(-d.V // 64) * 64  # pad_vocab_size(vocab_size, 64)
    for n in ("model.embed_tokens.weight", "lm_head.weight"):
        out[n] = src(n, [d.V, H]).pad_rows(Vp - d.V).chunk_rows(tp, r)
    out["model.norm.weight"] = src("model.norm.weight", [H])
    for l in range(d.N):  # make_layers(num_hidden_layers): MTP layers are not here
        p = f"model.layers.{l}."
        at = p + "self_attn."
        for n in ("input_layernorm.weight", "post_attention_layernorm.weight"):
            out[p + n] = src(p + n, [H])
        kva = src(at + "kv_a_proj_with_mqa.weight", [d.Lkv + d.R, H])
        if d.Lq is not None:
            qa = src(at + "q_a_proj.weight", [d.Lq, H])
            if o["mla"]:
                # DeepSeekV2FusedQkvAProjLinear(H, [Lq, Lkv + R], disable_tp):
                # shard 0 at rows 0.., shard 1 at rows Lq.., whole.
                out[at + "fused_qkv_a_proj.weight"] = T.cat([qa, kva])
            else:  # DeepseekV2Attention: two ReplicatedLinear
                out[at + "q_a_proj.weight"] = qa
                out[at + "kv_a_proj_with_mqa.weight"] = kva
            out[at + "q_a_layernorm.weight"] = src(at + "q_a_layernorm.weight", [d.Lq])
            out[at + "q_b_proj.weight"] = src(
                at + "q_b_proj.weight", [d.nh * (d.P + d.R), d.Lq]).chunk_rows(tp, r)
        else:
            out[at + "q_proj.weight"] = src(at + "q_proj.weight", [d.nh * (d.P + d.R), H]).chunk_rows(tp, r)
            out[at + "kv_a_proj_with_mqa.weight"] = kva
        out[at + "kv_a_layernorm.weight"] = src(at + "kv_a_layernorm.weight", [d.Lkv])
        out[at + "kv_b_proj.weight"] = src(at + "kv_b_proj.weight", [d.nh * (d.P + d.Vh), d.Lkv]).chunk_rows(tp, r)
        out[at + "o_proj.weight"] = src(at + "o_proj.weight", [H, d.nh * d.Vh]).chunk_cols(tp, r)
        m = p + "mlp."
        if l >= d.K and l % d.freq == 0:  # DeepseekV2DecoderLayer: is_moe_layer
            out[m + "gate.weight"] = src(m + "gate.weight", [d.E, H])
            if d.bias:
                out[m + "gate.e_score_correction_bias"] = src(m + "gate.e_score_correction_bias", [d.E])
            if d.S:
                Is, s = d.Im * d.S, m + "shared_experts."
                out[s + "gate_up_proj.weight"] = gated(s, Is, H, tp, r)
                out[s + "down_proj.weight"] = src(s + "down_proj.weight", [H, Is]).chunk_cols(tp, r)
            experts, mtp, mr = vllm_moe_ranks(cfg, a)
            w13, w2 = [], []
            for e in experts:
                x = m + f"experts.{e}."
                w13.append(gated(x, d.Im, H, mtp, mr))
                w2.append(src(x + "down_proj.weight", [H, d.Im]).chunk_cols(mtp, mr))
            out[m + "experts.w13_weight"] = T.cat(w13)
            out[m + "experts.w2_weight"] = T.cat(w2)
        else:  # DeepseekV2MLP
            out[m + "gate_up_proj.weight"] = gated(m, d.I, H, tp, r)
            out[m + "down_proj.weight"] = src(m + "down_proj.weight", [H, d.I]).chunk_cols(tp, r)
    return out


def megatron(cfg, a):
    d = Dims(cfg)
    o = options(a, grouped_gemm=1, pad_vocab=0)
    H = d.H
    tp, pp, ep = a.tp, a.pp, a.ep
    tr, pr, er, etp, etr = megatron_ranks(a)
    out = {}
    Vp = d.V
    if a.pad_vocab or o["pad_vocab"]:  # calculate_padded_vocab_size(V, 1280, tp)
        mult = 1280 * tp
        Vp = -(-d.V // mult) * mult

    def layer(hf, mc, gl):
        """HF layer gl (prefix hf) as Megatron-Core's TransformerLayer
        (prefix mc), TE spec with MLA."""
        at, sa = hf + "self_attn.", mc + "self_attention."
        out[mc + "input_layernorm.weight"] = src(hf + "input_layernorm.weight", [H])
        if d.Lq is not None:
            out[sa + "linear_q_down_proj.weight"] = src(at + "q_a_proj.weight", [d.Lq, H])
            out[sa + "linear_q_up_proj.layer_norm_weight"] = src(at + "q_a_layernorm.weight", [d.Lq])
            out[sa + "linear_q_up_proj.weight"] = src(
                at + "q_b_proj.weight", [d.nh * (d.P + d.R), d.Lq]).chunk_rows(tp, tr)
        else:
            out[sa + "linear_q_proj.weight"] = src(at + "q_proj.weight", [d.nh * (d.P + d.R), H]).chunk_rows(tp, tr)
        out[sa + "linear_kv_down_proj.weight"] = src(at + "kv_a_proj_with_mqa.weight", [d.Lkv + d.R, H])
        out[sa + "linear_kv_up_proj.layer_norm_weight"] = src(at + "kv_a_layernorm.weight", [d.Lkv])
        out[sa + "linear_kv_up_proj.weight"] = src(
            at + "kv_b_proj.weight", [d.nh * (d.P + d.Vh), d.Lkv]).chunk_rows(tp, tr)
        out[sa + "linear_proj.weight"] = src(at + "o_proj.weight", [H, d.nh * d.Vh]).chunk_cols(tp, tr)
        m, mm = hf + "mlp.", mc + "mlp."
        if gl < d.K:  # moe_layer_freq [0] * K + [1] * ...
            out[mm + "linear_fc1.layer_norm_weight"] = src(hf + "post_attention_layernorm.weight", [H])
            out[mm + "linear_fc1.weight"] = gated(m, d.I, H, tp, tr)
            out[mm + "linear_fc2.weight"] = src(m + "down_proj.weight", [H, d.I]).chunk_cols(tp, tr)
            return
        out[mc + "pre_mlp_layernorm.weight"] = src(hf + "post_attention_layernorm.weight", [H])
        out[mm + "router.weight"] = src(m + "gate.weight", [d.E, H])
        if d.bias:
            out[mm + "router.expert_bias"] = src(m + "gate.e_score_correction_bias", [d.E])
        if d.S:
            Is, s = d.Im * d.S, m + "shared_experts."
            out[mm + "shared_experts.linear_fc1.weight"] = gated(s, Is, H, tp, tr)
            out[mm + "shared_experts.linear_fc2.weight"] = src(s + "down_proj.weight", [H, Is]).chunk_cols(tp, tr)
        El = d.E // ep
        for j in range(El):  # EP rank er holds er * El + j as local j
            x = m + f"experts.{er * El + j}."
            if o["grouped_gemm"]:
                fc1, fc2 = mm + f"experts.linear_fc1.weight{j}", mm + f"experts.linear_fc2.weight{j}"
            else:
                fc1 = mm + f"experts.local_experts.{j}.linear_fc1.weight"
                fc2 = mm + f"experts.local_experts.{j}.linear_fc2.weight"
            out[fc1] = gated(x, d.Im, H, etp, etr)
            out[fc2] = src(x + "down_proj.weight", [H, d.Im]).chunk_cols(etp, etr)

    if pr == 0:
        out["embedding.word_embeddings.weight"] = src(
            "model.embed_tokens.weight", [d.V, H]).pad_rows(Vp - d.V).chunk_rows(tp, tr)
    per = d.N // pp
    for ll in range(per):
        gl = pr * per + ll
        layer(f"model.layers.{gl}.", f"decoder.layers.{ll}.", gl)
    if pr == pp - 1:
        out["output_layer.weight"] = src("lm_head.weight", [d.V, H]).pad_rows(Vp - d.V).chunk_rows(tp, tr)
        out["decoder.final_layernorm.weight"] = src("model.norm.weight", [H])
        for i in range(d.M):  # MultiTokenPredictionBlock, last stage
            hf, mc = f"model.layers.{d.N + i}.", f"mtp.layers.{i}."
            out[mc + "enorm.weight"] = src(hf + "enorm.weight", [H])
            out[mc + "hnorm.weight"] = src(hf + "hnorm.weight", [H])
            out[mc + "final_layernorm.weight"] = src(hf + "shared_head.norm.weight", [H])
            # eh_proj: column-parallel [H, 2H], rows chunked
            out[mc + "eh_proj.weight"] = src(hf + "eh_proj.weight", [H, 2 * H]).chunk_rows(tp, tr)
            layer(hf, mc + "mtp_model_layer.", d.N + i)
    return out


LAYOUTS = {"vllm": vllm, "megatron": megatron}
