// The frameworks' transforms from the seeds, written in wl as
// docs/dialect.md shows them; canonicalization gives each rank's reads.
// RUN: weight-layout-opt %s --canonicalize --split-input-file | FileCheck %s

// Megatron-Core linear_qkv: [q heads of group g, k_g, v_g] for each query
// group g (8 heads, 4 groups, head_dim 1, hidden 3), then column-parallel
// TP=2: rank 0 holds groups 0..1.
// CHECK-LABEL: func.func @megatron_qkv_tp2_rank0
// CHECK-SAME: (%[[Q:.*]]: tensor<8x3xbf16>, %[[K:.*]]: tensor<4x3xbf16>, %[[V:.*]]: tensor<4x3xbf16>)
// CHECK-NEXT: %[[Q0:.*]] = wl.shard %[[Q]] dim 0 count 2 index 0
// CHECK-NEXT: %[[K0:.*]] = wl.shard %[[K]] dim 0 count 2 index 0
// CHECK-NEXT: %[[V0:.*]] = wl.shard %[[V]] dim 0 count 2 index 0
// CHECK-NEXT: %[[R:.*]] = wl.interleave %[[Q0]], %[[K0]], %[[V0]] dim 0 groups 2 : (tensor<4x3xbf16>, tensor<2x3xbf16>, tensor<2x3xbf16>) -> tensor<8x3xbf16>
// CHECK-NEXT: return %[[R]]
func.func @megatron_qkv_tp2_rank0(%q: tensor<8x3xbf16>, %k: tensor<4x3xbf16>, %v: tensor<4x3xbf16>) -> tensor<8x3xbf16> {
  %qkv = wl.interleave %q, %k, %v dim 0 groups 4 : (tensor<8x3xbf16>, tensor<4x3xbf16>, tensor<4x3xbf16>) -> tensor<16x3xbf16>
  %r0 = wl.shard %qkv dim 0 count 2 index 0 : tensor<16x3xbf16> -> tensor<8x3xbf16>
  return %r0 : tensor<8x3xbf16>
}

// -----

// Megatron-Core gated attention (Qwen3-Next, Qwen3.5): HF q_proj holds per
// head the query then the output gate; linear_qkv is [q, gate, k, v] per
// query group (4 heads, 2 groups, head_dim 1). Going there and back is the
// identity.
// CHECK-LABEL: func.func @megatron_gated_qkv_round_trip
// CHECK-SAME: (%[[QG:.*]]: tensor<8x3xbf16>, %[[K:.*]]: tensor<2x3xbf16>, %[[V:.*]]: tensor<2x3xbf16>)
// CHECK-NEXT: %[[D:.*]]:2 = wl.deinterleave %[[QG]] dim 0 groups 4 sizes [4, 4]
// CHECK-NEXT: %[[QKV:.*]] = wl.interleave %[[D]]#0, %[[D]]#1, %[[K]], %[[V]] dim 0 groups 2
// CHECK-NEXT: return %[[QKV]], %[[QG]], %[[K]], %[[V]]
func.func @megatron_gated_qkv_round_trip(%qg: tensor<8x3xbf16>, %k: tensor<2x3xbf16>, %v: tensor<2x3xbf16>) -> (tensor<12x3xbf16>, tensor<8x3xbf16>, tensor<2x3xbf16>, tensor<2x3xbf16>) {
  %query, %gate = wl.deinterleave %qg dim 0 groups 4 sizes [4, 4] : tensor<8x3xbf16> -> tensor<4x3xbf16>, tensor<4x3xbf16>
  %qkv = wl.interleave %query, %gate, %k, %v dim 0 groups 2 : (tensor<4x3xbf16>, tensor<4x3xbf16>, tensor<2x3xbf16>, tensor<2x3xbf16>) -> tensor<12x3xbf16>
  // Back to HF.
  %p:4 = wl.deinterleave %qkv dim 0 groups 2 sizes [4, 4, 2, 2] : tensor<12x3xbf16> -> tensor<4x3xbf16>, tensor<4x3xbf16>, tensor<2x3xbf16>, tensor<2x3xbf16>
  %qg2 = wl.interleave %p#0, %p#1 dim 0 groups 4 : (tensor<4x3xbf16>, tensor<4x3xbf16>) -> tensor<8x3xbf16>
  return %qkv, %qg2, %p#2, %p#3 : tensor<12x3xbf16>, tensor<8x3xbf16>, tensor<2x3xbf16>, tensor<2x3xbf16>
}

// -----

// vLLM qkv_proj of rank 3 at TP=4 with 2 KV heads: KV heads are replicated,
// rank r holds KV head r / (tp / kv) = 1 (8 query heads, head_dim 1).
// CHECK-LABEL: func.func @vllm_qkv_kv_replication_rank3
// CHECK-SAME: (%[[Q:.*]]: tensor<8x3xbf16>, %[[K:.*]]: tensor<2x3xbf16>, %[[V:.*]]: tensor<2x3xbf16>)
// CHECK-NEXT: %[[Q3:.*]] = wl.shard %[[Q]] dim 0 count 4 index 3
// CHECK-NEXT: %[[K1:.*]] = wl.shard %[[K]] dim 0 count 2 index 1
// CHECK-NEXT: %[[V1:.*]] = wl.shard %[[V]] dim 0 count 2 index 1
// CHECK-NEXT: %[[R:.*]] = wl.concat %[[Q3]], %[[K1]], %[[V1]] dim 0
func.func @vllm_qkv_kv_replication_rank3(%q: tensor<8x3xbf16>, %k: tensor<2x3xbf16>, %v: tensor<2x3xbf16>) -> tensor<4x3xbf16> {
  %q3 = wl.shard %q dim 0 count 4 index 3 : tensor<8x3xbf16> -> tensor<2x3xbf16>
  %k1 = wl.shard %k dim 0 count 2 index 1 : tensor<2x3xbf16> -> tensor<1x3xbf16>
  %v1 = wl.shard %v dim 0 count 2 index 1 : tensor<2x3xbf16> -> tensor<1x3xbf16>
  %qkv = wl.concat %q3, %k1, %v1 dim 0 : (tensor<2x3xbf16>, tensor<1x3xbf16>, tensor<1x3xbf16>) -> tensor<4x3xbf16>
  return %qkv : tensor<4x3xbf16>
}

// -----

// Qwen3.5 full-attention q_proj: per head the query then the gate (4 heads,
// head_dim 1). The query alone, in Paddle's [in, out] orientation, for TP
// rank 1 of 2 (column-parallel: dim 1 of [in, out]) reads heads 2..3.
// CHECK-LABEL: func.func @qwen35_query_in_out_tp2_rank1
// CHECK-SAME: (%[[QG:.*]]: tensor<8x3xbf16>)
// CHECK-NEXT: %[[D:.*]]:2 = wl.deinterleave %[[QG]] dim 0 groups 4 sizes [4, 4]
// CHECK-NEXT: %[[S:.*]] = wl.shard %[[D]]#0 dim 0 count 2 index 1 : tensor<4x3xbf16> -> tensor<2x3xbf16>
// CHECK-NEXT: %[[T:.*]] = wl.permute %[[S]] perm [1, 0] : tensor<2x3xbf16> -> tensor<3x2xbf16>
// CHECK-NEXT: return %[[T]]
func.func @qwen35_query_in_out_tp2_rank1(%qg: tensor<8x3xbf16>) -> tensor<3x2xbf16> {
  %query, %gate = wl.deinterleave %qg dim 0 groups 4 sizes [4, 4] : tensor<8x3xbf16> -> tensor<4x3xbf16>, tensor<4x3xbf16>
  %t = wl.permute %query perm [1, 0] : tensor<4x3xbf16> -> tensor<3x4xbf16>
  %r1 = wl.shard %t dim 1 count 2 index 1 : tensor<3x4xbf16> -> tensor<3x2xbf16>
  return %r1 : tensor<3x2xbf16>
}

// -----

// MaxText scanned attention kernel [d_model, layers, heads, head_dim] (layer
// axis 1) to the HF q_proj [heads*head_dim, d_model] of layer 1.
// CHECK-LABEL: func.func @maxtext_query_kernel_layer1
// CHECK-SAME: (%[[K:.*]]: tensor<3x2x2x2xbf16>)
// CHECK-NEXT: %[[U:.*]]:2 = wl.unstack %[[K]] dim 1
// CHECK-NEXT: %[[R:.*]] = wl.reshape %[[U]]#1 : tensor<3x2x2xbf16> -> tensor<3x4xbf16>
// CHECK-NEXT: %[[P:.*]] = wl.permute %[[R]] perm [1, 0] : tensor<3x4xbf16> -> tensor<4x3xbf16>
// CHECK-NEXT: return %[[P]]
func.func @maxtext_query_kernel_layer1(%kernel: tensor<3x2x2x2xbf16>) -> tensor<4x3xbf16> {
  %l:2 = wl.unstack %kernel dim 1 : tensor<3x2x2x2xbf16> -> tensor<3x2x2xbf16>, tensor<3x2x2xbf16>
  %flat = wl.reshape %l#1 : tensor<3x2x2xbf16> -> tensor<3x4xbf16>
  %q = wl.permute %flat perm [1, 0] : tensor<3x4xbf16> -> tensor<4x3xbf16>
  return %q : tensor<4x3xbf16>
}

// -----

// MaxText -> vLLM-TPU MoE w13 (seed 004): per expert, each TP chunk of gate
// and of up padded to a multiple of 128, then [gate_t, up_t] per chunk t, in
// [d_model, 2*padded*tp] orientation (2 experts, intermediate 4, tp 2,
// d_model 3: chunks of 2 rows padded to 128).
// CHECK-LABEL: func.func @maxtext_w13_pad128
// CHECK: wl.pad %{{.*}} dim 2 low 0 high 126 : tensor<2x2x2x3xbf16> -> tensor<2x2x128x3xbf16>
// CHECK: wl.interleave %{{.*}}, %{{.*}} dim 1 groups 2 : (tensor<2x256x3xbf16>, tensor<2x256x3xbf16>) -> tensor<2x512x3xbf16>
// CHECK: wl.permute %{{.*}} perm [0, 2, 1] : tensor<2x512x3xbf16> -> tensor<2x3x512xbf16>
func.func @maxtext_w13_pad128(%gate: tensor<2x4x3xbf16>, %up: tensor<2x4x3xbf16>) -> tensor<2x3x512xbf16> {
  %g4 = wl.reshape %gate : tensor<2x4x3xbf16> -> tensor<2x2x2x3xbf16>
  %gp = wl.pad %g4 dim 2 low 0 high 126 : tensor<2x2x2x3xbf16> -> tensor<2x2x128x3xbf16>
  %g = wl.reshape %gp : tensor<2x2x128x3xbf16> -> tensor<2x256x3xbf16>
  %u4 = wl.reshape %up : tensor<2x4x3xbf16> -> tensor<2x2x2x3xbf16>
  %upad = wl.pad %u4 dim 2 low 0 high 126 : tensor<2x2x2x3xbf16> -> tensor<2x2x128x3xbf16>
  %u = wl.reshape %upad : tensor<2x2x128x3xbf16> -> tensor<2x256x3xbf16>
  %w13 = wl.interleave %g, %u dim 1 groups 2 : (tensor<2x256x3xbf16>, tensor<2x256x3xbf16>) -> tensor<2x512x3xbf16>
  %t = wl.permute %w13 perm [0, 2, 1] : tensor<2x512x3xbf16> -> tensor<2x3x512xbf16>
  return %t : tensor<2x3x512xbf16>
}
