#!/usr/bin/env python3
"""Writes a realistic config.json for a mapping's model type: the test
config of that type (test/Mapping/Inputs, or bench/configs) with the sizes
of a released model (or, where one layer of it would be tens of GB, its
dimensions with fewer experts, said in `note`).

usage: configs.py MODEL_TYPE OUT.json   (prints the model it is shaped as)
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INPUTS = os.path.join(ROOT, "test", "Mapping", "Inputs")

# Qwen3-Next's attention and gated-delta-net sizes, which the Qwen3.5
# shapes below take too.
NEXT_ATTENTION = dict(num_attention_heads=16, head_dim=256, linear_key_head_dim=128,
                      linear_value_head_dim=128, linear_num_key_heads=16,
                      linear_num_value_heads=32, vocab_size=151936)

# model_type -> (base config file, overrides, what it is shaped as)
SHAPES = {
    "llama": ("llama-config.json",
              dict(hidden_size=4096, num_attention_heads=32, num_key_value_heads=8,
                   head_dim=128, intermediate_size=14336, vocab_size=128256),
              "Llama-3.1-8B"),
    "mistral": ("mistral-config.json",
                dict(hidden_size=4096, num_attention_heads=32, num_key_value_heads=8,
                     head_dim=128, intermediate_size=14336, vocab_size=32768),
                "Mistral-7B-v0.3"),
    "qwen3": ("../../../bench/configs/qwen3-8b-config.json", {}, "Qwen3-8B"),
    "qwen3_moe": ("../../../bench/configs/qwen3-30b-a3b-config.json", {},
                  "Qwen3-30B-A3B"),
    "qwen3_next": ("qwen3_next-config.json",
                   dict(NEXT_ATTENTION, hidden_size=2048, num_key_value_heads=2,
                        intermediate_size=5120, moe_intermediate_size=512,
                        shared_expert_intermediate_size=512, num_experts=512,
                        num_experts_per_tok=10),
                   "Qwen3-Next-80B-A3B"),
    "qwen3_5": ("qwen3_5-config.json",
                dict(NEXT_ATTENTION, hidden_size=4096, num_key_value_heads=4,
                     intermediate_size=12288),
                "a Qwen3.5 dense model of hidden 4096 (Qwen3-Next's attention sizes)"),
    "qwen3_5_moe": ("qwen3_5_moe-config.json",
                    dict(NEXT_ATTENTION, hidden_size=2048, num_key_value_heads=2,
                         moe_intermediate_size=512,
                         shared_expert_intermediate_size=512, num_experts=256,
                         num_experts_per_tok=8),
                    "a Qwen3.5-MoE of hidden 2048, 256 experts of 512"),
    "deepseek_v3": ("deepseek_v3-config.json",
                    dict(hidden_size=7168, num_attention_heads=128, num_key_value_heads=128,
                         q_lora_rank=1536, kv_lora_rank=512, qk_nope_head_dim=128,
                         qk_rope_head_dim=64, qk_head_dim=192, head_dim=64,
                         v_head_dim=128, intermediate_size=18432,
                         moe_intermediate_size=2048, n_routed_experts=16,
                         n_shared_experts=1, num_experts_per_tok=8, n_group=8,
                         topk_group=4, first_k_dense_replace=1, vocab_size=129280),
                    "DeepSeek-V3's dimensions with 16 routed experts (256 would make a layer 22 GB)"),
    "gpt_oss": ("gpt_oss-config.json",
                dict(hidden_size=2880, num_attention_heads=64, num_key_value_heads=8,
                     head_dim=64, intermediate_size=2880, num_local_experts=32,
                     num_experts_per_tok=4, vocab_size=201088),
                "gpt-oss-20b"),
    "glm4_moe": ("glm4_moe-config.json",
                 dict(hidden_size=4096, num_attention_heads=96, num_key_value_heads=8,
                      head_dim=128, intermediate_size=10944, moe_intermediate_size=1408,
                      n_routed_experts=64, n_shared_experts=1, num_experts_per_tok=8,
                      first_k_dense_replace=1, vocab_size=151552),
                 "GLM-4.5-Air's dimensions with 64 routed experts (128 in the model)"),
}
SHAPES["kimi_k2"] = (SHAPES["deepseek_v3"][0], dict(SHAPES["deepseek_v3"][1], model_type="kimi_k2"),
                     "Kimi-K2 as DeepSeek-V3 above, model_type kimi_k2")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: configs.py MODEL_TYPE OUT.json")
    model_type, out = sys.argv[1], sys.argv[2]
    if model_type not in SHAPES:
        sys.exit(f"configs.py: no sizes for model type {model_type!r} "
                 f"(known: {', '.join(sorted(SHAPES))})")
    base, over, shaped = SHAPES[model_type]
    with open(os.path.join(INPUTS, base)) as f:
        cfg = json.load(f)
    body = cfg.get("text_config", cfg)
    body.update(over)
    with open(out, "w") as f:
        json.dump(cfg, f, indent=1)
    print(shaped)


if __name__ == "__main__":
    main()
