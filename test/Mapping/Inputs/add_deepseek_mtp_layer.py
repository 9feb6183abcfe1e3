"""Completes the multi-token-prediction layers of a generated DeepSeek-V3
checkpoint as the released checkpoints hold them: for i < num_nextn_predict_layers,
model.layers.{num_hidden_layers + i}. enorm, hnorm, eh_proj [H, 2H],
shared_head.norm, shared_head.head [V, H], embed_tokens [V, H] and a whole
MoE decoder layer with MLA attention (q_a_proj, q_a_layernorm, q_b_proj, or
q_proj without q_lora_rank; kv_a_proj_with_mqa, kv_a_layernorm, kv_b_proj,
o_proj; mlp.gate, its F32 e_score_correction_bias, shared_experts, experts),
DeepSeek-V3's README_WEIGHTS.md and vLLM's deepseek_mtp.py names. Only the
tensors the checkpoint lacks are added (weight-layout-gen writes those a
mapping reads), as zeros in a second safetensors file: model.safetensors
becomes model-00001-of-00002.safetensors, the new tensors
model-00002-of-00002.safetensors, with a model.safetensors.index.json.
Standard library only.

usage: add_deepseek_mtp_layer.py CHECKPOINT_DIR [--no-head]
  --no-head  leave out embed_tokens and shared_head.head
"""
import json
import os
import sys

from second_shard import add_second_shard

d = sys.argv[1]
cfg = json.load(open(os.path.join(d, "config.json")))
H, N, V = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["vocab_size"]
nh, P, R, Vh = (cfg["num_attention_heads"], cfg["qk_nope_head_dim"],
                cfg["qk_rope_head_dim"], cfg["v_head_dim"])
Lq, Lkv = cfg.get("q_lora_rank"), cfg["kv_lora_rank"]
E, Im, S = cfg["n_routed_experts"], cfg["moe_intermediate_size"], cfg.get("n_shared_experts") or 0
bias = cfg.get("topk_method", "noaux_tc") == "noaux_tc"
want = {}
for i in range(cfg.get("num_nextn_predict_layers") or 0):
    p = f"model.layers.{N + i}."
    want.update({p + "enorm.weight": [H], p + "hnorm.weight": [H], p + "eh_proj.weight": [H, 2 * H],
                 p + "shared_head.norm.weight": [H], p + "input_layernorm.weight": [H],
                 p + "post_attention_layernorm.weight": [H],
                 p + "self_attn.kv_a_proj_with_mqa.weight": [Lkv + R, H],
                 p + "self_attn.kv_a_layernorm.weight": [Lkv],
                 p + "self_attn.kv_b_proj.weight": [nh * (P + Vh), Lkv],
                 p + "self_attn.o_proj.weight": [H, nh * Vh],
                 p + "mlp.gate.weight": [E, H]})
    if "--no-head" not in sys.argv:
        want.update({p + "embed_tokens.weight": [V, H], p + "shared_head.head.weight": [V, H]})
    if Lq is None:
        want[p + "self_attn.q_proj.weight"] = [nh * (P + R), H]
    else:
        want.update({p + "self_attn.q_a_proj.weight": [Lq, H], p + "self_attn.q_a_layernorm.weight": [Lq],
                     p + "self_attn.q_b_proj.weight": [nh * (P + R), Lq]})
    if bias:
        want[p + "mlp.gate.e_score_correction_bias"] = [E]
    if S:
        want.update({p + "mlp.shared_experts.gate_proj.weight": [S * Im, H],
                     p + "mlp.shared_experts.up_proj.weight": [S * Im, H],
                     p + "mlp.shared_experts.down_proj.weight": [H, S * Im]})
    for e in range(E):
        want.update({p + f"mlp.experts.{e}.gate_proj.weight": [Im, H],
                     p + f"mlp.experts.{e}.up_proj.weight": [Im, H],
                     p + f"mlp.experts.{e}.down_proj.weight": [H, Im]})

print(f"added {add_second_shard(d, want)} tensors")
