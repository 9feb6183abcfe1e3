"""Adds GLM-4.5's multi-token-prediction layer to a generated checkpoint, as
the released checkpoints hold it (model.layers.{num_hidden_layers}: enorm,
hnorm, eh_proj [H, 2H], shared_head.norm, a whole MoE decoder layer; with
--head also embed_tokens and shared_head.head, which GLM-4.5 ships and
GLM-4.6 does not; vLLM's glm4_moe_mtp.py and PR #27597), as a second
safetensors file of zeros: model.safetensors becomes
model-00001-of-00002.safetensors, the layer model-00002-of-00002, with a
model.safetensors.index.json. Standard library only.

usage: add_mtp_layer.py CHECKPOINT_DIR [--head]
"""
import json
import os
import sys

from second_shard import add_second_shard

d = sys.argv[1]
cfg = json.load(open(os.path.join(d, "config.json")))
H, N = cfg["hidden_size"], cfg["num_hidden_layers"]
nh, nkv, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
E, Im, S, V = (cfg["n_routed_experts"], cfg["moe_intermediate_size"],
               cfg["n_shared_experts"], cfg["vocab_size"])
p = f"model.layers.{N}."
t = {p + "enorm.weight": [H], p + "hnorm.weight": [H], p + "eh_proj.weight": [H, 2 * H],
     p + "shared_head.norm.weight": [H], p + "input_layernorm.weight": [H],
     p + "post_attention_layernorm.weight": [H],
     p + "self_attn.q_proj.weight": [nh * hd, H], p + "self_attn.k_proj.weight": [nkv * hd, H],
     p + "self_attn.v_proj.weight": [nkv * hd, H], p + "self_attn.o_proj.weight": [H, nh * hd],
     p + "mlp.gate.weight": [E, H], p + "mlp.gate.e_score_correction_bias": [E],
     p + "mlp.shared_experts.gate_proj.weight": [S * Im, H],
     p + "mlp.shared_experts.up_proj.weight": [S * Im, H],
     p + "mlp.shared_experts.down_proj.weight": [H, S * Im]}
if cfg.get("attention_bias"):
    t.update({p + "self_attn.q_proj.bias": [nh * hd], p + "self_attn.k_proj.bias": [nkv * hd],
              p + "self_attn.v_proj.bias": [nkv * hd]})
if cfg.get("use_qk_norm"):
    t.update({p + "self_attn.q_norm.weight": [hd], p + "self_attn.k_norm.weight": [hd]})
for e in range(E):
    t.update({p + f"mlp.experts.{e}.gate_proj.weight": [Im, H],
              p + f"mlp.experts.{e}.up_proj.weight": [Im, H],
              p + f"mlp.experts.{e}.down_proj.weight": [H, Im]})
if "--head" in sys.argv:
    t.update({p + "embed_tokens.weight": [V, H], p + "shared_head.head.weight": [V, H]})
add_second_shard(d, t)
