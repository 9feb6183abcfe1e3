// A tiny Qwen3 (1 layer, hidden 8, 4 query heads and 2 KV heads of size 2,
// intermediate 12, vocabulary 100) from Hugging Face names to vLLM's
// tensor-parallel layout at TP=2: one function per rank.
//
// Written the way the mapping frontend emits it: each vLLM tensor is the
// rank's shard of a whole-model layout. Canonicalization pushes the shards
// to the sources, so each rank reads exactly its rows and columns:
//   weight-layout-opt --canonicalize examples/qwen3-tiny-hf-to-vllm-tp2.mlir
//
//   qkv_proj      [q_r | k_r | v_r]  = shard r of interleave(q, k, v; G = tp)
//   gate_up_proj  [gate_r | up_r]    = shard r of interleave(gate, up; G = tp)
//   o_proj, down_proj                = row-parallel: shard of dim 1
//   embed_tokens, lm_head            = vocab-parallel after padding the
//                                      vocabulary to a multiple of 64
//   norms                            = replicated

func.func @rank0() {
  %q = wl.source "model.layers.0.self_attn.q_proj.weight" : tensor<8x8xbf16>
  %k = wl.source "model.layers.0.self_attn.k_proj.weight" : tensor<4x8xbf16>
  %v = wl.source "model.layers.0.self_attn.v_proj.weight" : tensor<4x8xbf16>
  %qkv_all = wl.interleave %q, %k, %v dim 0 groups 2 : (tensor<8x8xbf16>, tensor<4x8xbf16>, tensor<4x8xbf16>) -> tensor<16x8xbf16>
  %qkv = wl.shard %qkv_all dim 0 count 2 index 0 : tensor<16x8xbf16> -> tensor<8x8xbf16>
  wl.sink %qkv "model.layers.0.self_attn.qkv_proj.weight" : tensor<8x8xbf16>

  %o = wl.source "model.layers.0.self_attn.o_proj.weight" : tensor<8x8xbf16>
  %o_r = wl.shard %o dim 1 count 2 index 0 : tensor<8x8xbf16> -> tensor<8x4xbf16>
  wl.sink %o_r "model.layers.0.self_attn.o_proj.weight" : tensor<8x4xbf16>

  %qn = wl.source "model.layers.0.self_attn.q_norm.weight" : tensor<2xbf16>
  wl.sink %qn "model.layers.0.self_attn.q_norm.weight" : tensor<2xbf16>
  %kn = wl.source "model.layers.0.self_attn.k_norm.weight" : tensor<2xbf16>
  wl.sink %kn "model.layers.0.self_attn.k_norm.weight" : tensor<2xbf16>

  %gate = wl.source "model.layers.0.mlp.gate_proj.weight" : tensor<12x8xbf16>
  %up = wl.source "model.layers.0.mlp.up_proj.weight" : tensor<12x8xbf16>
  %gu_all = wl.interleave %gate, %up dim 0 groups 2 : (tensor<12x8xbf16>, tensor<12x8xbf16>) -> tensor<24x8xbf16>
  %gu = wl.shard %gu_all dim 0 count 2 index 0 : tensor<24x8xbf16> -> tensor<12x8xbf16>
  wl.sink %gu "model.layers.0.mlp.gate_up_proj.weight" : tensor<12x8xbf16>

  %down = wl.source "model.layers.0.mlp.down_proj.weight" : tensor<8x12xbf16>
  %down_r = wl.shard %down dim 1 count 2 index 0 : tensor<8x12xbf16> -> tensor<8x6xbf16>
  wl.sink %down_r "model.layers.0.mlp.down_proj.weight" : tensor<8x6xbf16>

  %ln1 = wl.source "model.layers.0.input_layernorm.weight" : tensor<8xbf16>
  wl.sink %ln1 "model.layers.0.input_layernorm.weight" : tensor<8xbf16>
  %ln2 = wl.source "model.layers.0.post_attention_layernorm.weight" : tensor<8xbf16>
  wl.sink %ln2 "model.layers.0.post_attention_layernorm.weight" : tensor<8xbf16>
  %norm = wl.source "model.norm.weight" : tensor<8xbf16>
  wl.sink %norm "model.norm.weight" : tensor<8xbf16>

  %emb = wl.source "model.embed_tokens.weight" : tensor<100x8xbf16>
  %emb_pad = wl.pad %emb dim 0 low 0 high 28 : tensor<100x8xbf16> -> tensor<128x8xbf16>
  %emb_r = wl.shard %emb_pad dim 0 count 2 index 0 : tensor<128x8xbf16> -> tensor<64x8xbf16>
  wl.sink %emb_r "model.embed_tokens.weight" : tensor<64x8xbf16>
  %head = wl.source "lm_head.weight" : tensor<100x8xbf16>
  %head_pad = wl.pad %head dim 0 low 0 high 28 : tensor<100x8xbf16> -> tensor<128x8xbf16>
  %head_r = wl.shard %head_pad dim 0 count 2 index 0 : tensor<128x8xbf16> -> tensor<64x8xbf16>
  wl.sink %head_r "lm_head.weight" : tensor<64x8xbf16>
  return
}

func.func @rank1() {
  %q = wl.source "model.layers.0.self_attn.q_proj.weight" : tensor<8x8xbf16>
  %k = wl.source "model.layers.0.self_attn.k_proj.weight" : tensor<4x8xbf16>
  %v = wl.source "model.layers.0.self_attn.v_proj.weight" : tensor<4x8xbf16>
  %qkv_all = wl.interleave %q, %k, %v dim 0 groups 2 : (tensor<8x8xbf16>, tensor<4x8xbf16>, tensor<4x8xbf16>) -> tensor<16x8xbf16>
  %qkv = wl.shard %qkv_all dim 0 count 2 index 1 : tensor<16x8xbf16> -> tensor<8x8xbf16>
  wl.sink %qkv "model.layers.0.self_attn.qkv_proj.weight" : tensor<8x8xbf16>

  %o = wl.source "model.layers.0.self_attn.o_proj.weight" : tensor<8x8xbf16>
  %o_r = wl.shard %o dim 1 count 2 index 1 : tensor<8x8xbf16> -> tensor<8x4xbf16>
  wl.sink %o_r "model.layers.0.self_attn.o_proj.weight" : tensor<8x4xbf16>

  %qn = wl.source "model.layers.0.self_attn.q_norm.weight" : tensor<2xbf16>
  wl.sink %qn "model.layers.0.self_attn.q_norm.weight" : tensor<2xbf16>
  %kn = wl.source "model.layers.0.self_attn.k_norm.weight" : tensor<2xbf16>
  wl.sink %kn "model.layers.0.self_attn.k_norm.weight" : tensor<2xbf16>

  %gate = wl.source "model.layers.0.mlp.gate_proj.weight" : tensor<12x8xbf16>
  %up = wl.source "model.layers.0.mlp.up_proj.weight" : tensor<12x8xbf16>
  %gu_all = wl.interleave %gate, %up dim 0 groups 2 : (tensor<12x8xbf16>, tensor<12x8xbf16>) -> tensor<24x8xbf16>
  %gu = wl.shard %gu_all dim 0 count 2 index 1 : tensor<24x8xbf16> -> tensor<12x8xbf16>
  wl.sink %gu "model.layers.0.mlp.gate_up_proj.weight" : tensor<12x8xbf16>

  %down = wl.source "model.layers.0.mlp.down_proj.weight" : tensor<8x12xbf16>
  %down_r = wl.shard %down dim 1 count 2 index 1 : tensor<8x12xbf16> -> tensor<8x6xbf16>
  wl.sink %down_r "model.layers.0.mlp.down_proj.weight" : tensor<8x6xbf16>

  %ln1 = wl.source "model.layers.0.input_layernorm.weight" : tensor<8xbf16>
  wl.sink %ln1 "model.layers.0.input_layernorm.weight" : tensor<8xbf16>
  %ln2 = wl.source "model.layers.0.post_attention_layernorm.weight" : tensor<8xbf16>
  wl.sink %ln2 "model.layers.0.post_attention_layernorm.weight" : tensor<8xbf16>
  %norm = wl.source "model.norm.weight" : tensor<8xbf16>
  wl.sink %norm "model.norm.weight" : tensor<8xbf16>

  // Rank 1 holds vocabulary rows 64..127: 36 real rows and 28 of padding.
  %emb = wl.source "model.embed_tokens.weight" : tensor<100x8xbf16>
  %emb_pad = wl.pad %emb dim 0 low 0 high 28 : tensor<100x8xbf16> -> tensor<128x8xbf16>
  %emb_r = wl.shard %emb_pad dim 0 count 2 index 1 : tensor<128x8xbf16> -> tensor<64x8xbf16>
  wl.sink %emb_r "model.embed_tokens.weight" : tensor<64x8xbf16>
  %head = wl.source "lm_head.weight" : tensor<100x8xbf16>
  %head_pad = wl.pad %head dim 0 low 0 high 28 : tensor<100x8xbf16> -> tensor<128x8xbf16>
  %head_r = wl.shard %head_pad dim 0 count 2 index 1 : tensor<128x8xbf16> -> tensor<64x8xbf16>
  wl.sink %head_r "lm_head.weight" : tensor<64x8xbf16>
  return
}
