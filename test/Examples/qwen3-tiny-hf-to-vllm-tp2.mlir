// The README's main-job example: each vLLM rank reads only its part.
// RUN: weight-layout-opt %wl_src/examples/qwen3-tiny-hf-to-vllm-tp2.mlir --canonicalize | FileCheck %s

// CHECK-LABEL: func.func @rank0
// CHECK-DAG: %[[Q:.*]] = wl.source "model.layers.0.self_attn.q_proj.weight"
// CHECK-DAG: %[[K:.*]] = wl.source "model.layers.0.self_attn.k_proj.weight"
// CHECK-DAG: %[[V:.*]] = wl.source "model.layers.0.self_attn.v_proj.weight"
// CHECK-DAG: %[[Q0:.*]] = wl.shard %[[Q]] dim 0 count 2 index 0
// CHECK-DAG: %[[K0:.*]] = wl.shard %[[K]] dim 0 count 2 index 0
// CHECK-DAG: %[[V0:.*]] = wl.shard %[[V]] dim 0 count 2 index 0
// CHECK: %[[QKV:.*]] = wl.concat %[[Q0]], %[[K0]], %[[V0]] dim 0
// CHECK: wl.sink %[[QKV]] "model.layers.0.self_attn.qkv_proj.weight"
// Rank 0 holds vocabulary rows 0..63, all real.
// CHECK: %[[E:.*]] = wl.source "model.embed_tokens.weight"
// CHECK-NEXT: %[[E0:.*]] = wl.slice %[[E]] offsets [0, 0] sizes [64, 8] strides [1, 1]
// CHECK-NEXT: wl.sink %[[E0]] "model.embed_tokens.weight" : tensor<64x8xbf16>

// CHECK-LABEL: func.func @rank1
// CHECK: wl.shard %{{.*}} dim 1 count 2 index 1 : tensor<8x8xbf16> -> tensor<8x4xbf16>
// CHECK-NEXT: wl.sink %{{.*}} "model.layers.0.self_attn.o_proj.weight"
// CHECK: %[[G:.*]] = wl.shard %{{.*}} dim 0 count 2 index 1 : tensor<12x8xbf16> -> tensor<6x8xbf16>
// CHECK-NEXT: %[[U:.*]] = wl.shard %{{.*}} dim 0 count 2 index 1 : tensor<12x8xbf16> -> tensor<6x8xbf16>
// CHECK-NEXT: %[[GU:.*]] = wl.concat %[[G]], %[[U]] dim 0
// CHECK-NEXT: wl.sink %[[GU]] "model.layers.0.mlp.gate_up_proj.weight"
// Rank 1 holds rows 64..127: 36 real rows, then 28 rows of padding.
// CHECK: %[[E:.*]] = wl.source "model.embed_tokens.weight"
// CHECK-NEXT: %[[E1:.*]] = wl.slice %[[E]] offsets [64, 0] sizes [36, 8] strides [1, 1]
// CHECK-NEXT: %[[P:.*]] = wl.pad %[[E1]] dim 0 low 0 high 28 : tensor<36x8xbf16> -> tensor<64x8xbf16>
// CHECK-NEXT: wl.sink %[[P]] "model.embed_tokens.weight"
