// Every folder and canonicalization pattern of the wl dialect, each shown
// firing and, where a near miss exists, not firing. Expected results were
// derived by hand from the op semantics.
// RUN: weight-layout-opt %s --canonicalize --split-input-file | FileCheck %s

//===----------------------------------------------------------------------===//
// Folders
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @fold_whole_slice
// CHECK-SAME: (%[[X:.*]]: tensor<4x4xf32>, %[[Y:.*]]: tensor<1x4xf32>)
// CHECK-NEXT: %[[S:.*]] = wl.slice %[[X]] offsets [1, 0] sizes [3, 4] strides [1, 1]
// CHECK-NEXT: return %[[X]], %[[Y]], %[[S]]
func.func @fold_whole_slice(%x: tensor<4x4xf32>, %y: tensor<1x4xf32>) -> (tensor<4x4xf32>, tensor<1x4xf32>, tensor<3x4xf32>) {
  %0 = wl.slice %x offsets [0, 0] sizes [4, 4] strides [1, 1] : tensor<4x4xf32> -> tensor<4x4xf32>
  // A stride on a dimension of size 1 selects nothing more.
  %1 = wl.slice %y offsets [0, 0] sizes [1, 4] strides [5, 1] : tensor<1x4xf32> -> tensor<1x4xf32>
  // Not the whole tensor: stays.
  %2 = wl.slice %x offsets [1, 0] sizes [3, 4] strides [1, 1] : tensor<4x4xf32> -> tensor<3x4xf32>
  return %0, %1, %2 : tensor<4x4xf32>, tensor<1x4xf32>, tensor<3x4xf32>
}

// -----

// CHECK-LABEL: func.func @fold_trivial_ops
// CHECK-SAME: (%[[X:.*]]: tensor<4x6xbf16>)
// CHECK-NEXT: return %[[X]], %[[X]], %[[X]], %[[X]], %[[X]], %[[X]], %[[X]], %[[X]], %[[X]], %[[X]], %[[X]]
func.func @fold_trivial_ops(%x: tensor<4x6xbf16>) -> (tensor<4x6xbf16>, tensor<4x6xbf16>, tensor<4x6xbf16>, tensor<4x6xbf16>, tensor<4x6xbf16>, tensor<4x6xbf16>, tensor<4x6xbf16>, tensor<4x6xbf16>, tensor<4x6xbf16>, tensor<4x6xbf16>, tensor<4x6xbf16>) {
  %0 = wl.shard %x dim 1 count 1 index 0 : tensor<4x6xbf16> -> tensor<4x6xbf16>
  %1 = wl.concat %x dim 0 : (tensor<4x6xbf16>) -> tensor<4x6xbf16>
  %2 = wl.split %x dim 0 sizes [4] : tensor<4x6xbf16> -> tensor<4x6xbf16>
  %3 = wl.interleave %x dim 1 groups 3 : (tensor<4x6xbf16>) -> tensor<4x6xbf16>
  %4 = wl.deinterleave %x dim 1 groups 2 sizes [6] : tensor<4x6xbf16> -> tensor<4x6xbf16>
  %5 = wl.reshape %x : tensor<4x6xbf16> -> tensor<4x6xbf16>
  %6 = wl.permute %x perm [0, 1] : tensor<4x6xbf16> -> tensor<4x6xbf16>
  %7 = wl.pad %x dim 0 low 0 high 0 : tensor<4x6xbf16> -> tensor<4x6xbf16>
  %8 = wl.cast %x : tensor<4x6xbf16> -> tensor<4x6xbf16>
  %9 = wl.affine %x scale 1.0 offset 0.0 : tensor<4x6xbf16>
  %10 = wl.affine %x offset -0.0 : tensor<4x6xbf16>
  return %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10 : tensor<4x6xbf16>, tensor<4x6xbf16>, tensor<4x6xbf16>, tensor<4x6xbf16>, tensor<4x6xbf16>, tensor<4x6xbf16>, tensor<4x6xbf16>, tensor<4x6xbf16>, tensor<4x6xbf16>, tensor<4x6xbf16>, tensor<4x6xbf16>
}

// -----

// CHECK-LABEL: func.func @no_fold_nontrivial_ops
// CHECK: wl.shard
// CHECK: wl.permute
// CHECK: wl.pad
// CHECK: wl.affine
func.func @no_fold_nontrivial_ops(%x: tensor<4x6xbf16>) -> (tensor<2x6xbf16>, tensor<6x4xbf16>, tensor<5x6xbf16>, tensor<4x6xbf16>) {
  %0 = wl.shard %x dim 0 count 2 index 0 : tensor<4x6xbf16> -> tensor<2x6xbf16>
  %1 = wl.permute %x perm [1, 0] : tensor<4x6xbf16> -> tensor<6x4xbf16>
  %2 = wl.pad %x dim 0 low 1 high 0 : tensor<4x6xbf16> -> tensor<5x6xbf16>
  %3 = wl.affine %x scale 1.0 offset 1.0 : tensor<4x6xbf16>
  return %0, %1, %2, %3 : tensor<2x6xbf16>, tensor<6x4xbf16>, tensor<5x6xbf16>, tensor<4x6xbf16>
}

// -----

// reshape(reshape(x)) = reshape(x)
// CHECK-LABEL: func.func @fold_reshape_chain
// CHECK-SAME: (%[[X:.*]]: tensor<4x6xf32>)
// CHECK-NEXT: %[[R:.*]] = wl.reshape %[[X]] : tensor<4x6xf32> -> tensor<24xf32>
// CHECK-NEXT: return %[[R]], %[[X]]
func.func @fold_reshape_chain(%x: tensor<4x6xf32>) -> (tensor<24xf32>, tensor<4x6xf32>) {
  %0 = wl.reshape %x : tensor<4x6xf32> -> tensor<2x3x4xf32>
  %1 = wl.reshape %0 : tensor<2x3x4xf32> -> tensor<24xf32>
  // Back to the input shape: the chain is the identity.
  %2 = wl.reshape %0 : tensor<2x3x4xf32> -> tensor<4x6xf32>
  return %1, %2 : tensor<24xf32>, tensor<4x6xf32>
}

// -----

//===----------------------------------------------------------------------===//
// Slice-like ops (wl.slice, wl.shard) pushed towards the sources
//===----------------------------------------------------------------------===//

// shard(shard(x)) = shard(x) with the chunks multiplied: rows 8..15 then
// rows 6..7 of those = rows 14..15 = chunk 7 of 8.
// CHECK-LABEL: func.func @compose_shards
// CHECK-SAME: (%[[X:.*]]: tensor<16x4xf32>)
// CHECK-NEXT: %[[R:.*]] = wl.shard %[[X]] dim 0 count 8 index 7 : tensor<16x4xf32> -> tensor<2x4xf32>
// CHECK-NEXT: return %[[R]]
func.func @compose_shards(%x: tensor<16x4xf32>) -> tensor<2x4xf32> {
  %0 = wl.shard %x dim 0 count 2 index 1 : tensor<16x4xf32> -> tensor<8x4xf32>
  %1 = wl.shard %0 dim 0 count 4 index 3 : tensor<8x4xf32> -> tensor<2x4xf32>
  return %1 : tensor<2x4xf32>
}

// -----

// slice(slice(x)) with strides: indices 1,3,..,13 then 1,3,5 of those =
// 3, 7, 11 of x.
// CHECK-LABEL: func.func @compose_strided_slices
// CHECK-SAME: (%[[X:.*]]: tensor<16xf32>)
// CHECK-NEXT: %[[R:.*]] = wl.slice %[[X]] offsets [3] sizes [3] strides [4] : tensor<16xf32> -> tensor<3xf32>
// CHECK-NEXT: return %[[R]]
func.func @compose_strided_slices(%x: tensor<16xf32>) -> tensor<3xf32> {
  %0 = wl.slice %x offsets [1] sizes [7] strides [2] : tensor<16xf32> -> tensor<7xf32>
  %1 = wl.slice %0 offsets [1] sizes [3] strides [2] : tensor<7xf32> -> tensor<3xf32>
  return %1 : tensor<3xf32>
}

// -----

// shard(slice(x)) on another dimension: one slice of x.
// CHECK-LABEL: func.func @compose_shard_of_slice
// CHECK-SAME: (%[[X:.*]]: tensor<8x6xf32>)
// CHECK-NEXT: %[[R:.*]] = wl.slice %[[X]] offsets [4, 2] sizes [4, 4] strides [1, 1] : tensor<8x6xf32> -> tensor<4x4xf32>
// CHECK-NEXT: return %[[R]]
func.func @compose_shard_of_slice(%x: tensor<8x6xf32>) -> tensor<4x4xf32> {
  %0 = wl.slice %x offsets [0, 2] sizes [8, 4] strides [1, 1] : tensor<8x6xf32> -> tensor<8x4xf32>
  %1 = wl.shard %0 dim 0 count 2 index 1 : tensor<8x4xf32> -> tensor<4x4xf32>
  return %1 : tensor<4x4xf32>
}

// -----

// A slice that is one equal chunk of one dimension is a shard.
// CHECK-LABEL: func.func @slice_to_shard
// CHECK-SAME: (%[[X:.*]]: tensor<8x4xf32>)
// CHECK-NEXT: %[[A:.*]] = wl.shard %[[X]] dim 0 count 4 index 2 : tensor<8x4xf32> -> tensor<2x4xf32>
// CHECK-NEXT: %[[B:.*]] = wl.slice %[[X]] offsets [1, 0] sizes [2, 4] strides [1, 1]
// CHECK-NEXT: %[[C:.*]] = wl.slice %[[X]] offsets [0, 0] sizes [4, 4] strides [2, 1]
// CHECK-NEXT: return %[[A]], %[[B]], %[[C]]
func.func @slice_to_shard(%x: tensor<8x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<4x4xf32>) {
  %0 = wl.slice %x offsets [4, 0] sizes [2, 4] strides [1, 1] : tensor<8x4xf32> -> tensor<2x4xf32>
  // Not aligned to a chunk boundary.
  %1 = wl.slice %x offsets [1, 0] sizes [2, 4] strides [1, 1] : tensor<8x4xf32> -> tensor<2x4xf32>
  // Strided.
  %2 = wl.slice %x offsets [0, 0] sizes [4, 4] strides [2, 1] : tensor<8x4xf32> -> tensor<4x4xf32>
  return %0, %1, %2 : tensor<2x4xf32>, tensor<2x4xf32>, tensor<4x4xf32>
}

// -----

// shard(permute(x)) = permute(shard(x)) on the dimension the permute read.
// CHECK-LABEL: func.func @shard_through_permute
// CHECK-SAME: (%[[X:.*]]: tensor<4x6xf32>)
// CHECK-NEXT: %[[S:.*]] = wl.shard %[[X]] dim 1 count 3 index 2 : tensor<4x6xf32> -> tensor<4x2xf32>
// CHECK-NEXT: %[[P:.*]] = wl.permute %[[S]] perm [1, 0] : tensor<4x2xf32> -> tensor<2x4xf32>
// CHECK-NEXT: return %[[P]]
func.func @shard_through_permute(%x: tensor<4x6xf32>) -> tensor<2x4xf32> {
  %0 = wl.permute %x perm [1, 0] : tensor<4x6xf32> -> tensor<6x4xf32>
  %1 = wl.shard %0 dim 0 count 3 index 2 : tensor<6x4xf32> -> tensor<2x4xf32>
  return %1 : tensor<2x4xf32>
}

// -----

// shard of whole heads of a per-head view = rows of the [heads*head_dim, in]
// weight: heads 2..3 of 4 (head_dim 2) are rows 4..7.
// CHECK-LABEL: func.func @shard_through_reshape
// CHECK-SAME: (%[[X:.*]]: tensor<8x3xf32>)
// CHECK-NEXT: %[[S:.*]] = wl.shard %[[X]] dim 0 count 2 index 1 : tensor<8x3xf32> -> tensor<4x3xf32>
// CHECK-NEXT: %[[R:.*]] = wl.reshape %[[S]] : tensor<4x3xf32> -> tensor<2x2x3xf32>
// CHECK-NEXT: return %[[R]]
func.func @shard_through_reshape(%x: tensor<8x3xf32>) -> tensor<2x2x3xf32> {
  %0 = wl.reshape %x : tensor<8x3xf32> -> tensor<4x2x3xf32>
  %1 = wl.shard %0 dim 0 count 2 index 1 : tensor<4x2x3xf32> -> tensor<2x2x3xf32>
  return %1 : tensor<2x2x3xf32>
}

// -----

// Half of every head's rows is not one box of the [heads*head_dim, in]
// weight: no rewrite.
// CHECK-LABEL: func.func @no_shard_through_reshape
// CHECK-NEXT: wl.reshape
// CHECK-NEXT: wl.shard %{{.*}} dim 1 count 2 index 0
// CHECK-NEXT: return
func.func @no_shard_through_reshape(%x: tensor<8x3xf32>) -> tensor<4x1x3xf32> {
  %0 = wl.reshape %x : tensor<8x3xf32> -> tensor<4x2x3xf32>
  %1 = wl.shard %0 dim 1 count 2 index 0 : tensor<4x2x3xf32> -> tensor<4x1x3xf32>
  return %1 : tensor<4x1x3xf32>
}

// -----

// Rows 2..7 of concat(a[2], b[3], e[3]) are exactly b and e.
// CHECK-LABEL: func.func @slice_of_concat_aligned
// CHECK-SAME: (%[[A:.*]]: tensor<2x4xf32>, %[[B:.*]]: tensor<3x4xf32>, %[[E:.*]]: tensor<3x4xf32>)
// CHECK-NEXT: %[[R:.*]] = wl.concat %[[B]], %[[E]] dim 0 : (tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<6x4xf32>
// CHECK-NEXT: return %[[R]]
func.func @slice_of_concat_aligned(%a: tensor<2x4xf32>, %b: tensor<3x4xf32>, %e: tensor<3x4xf32>) -> tensor<6x4xf32> {
  %0 = wl.concat %a, %b, %e dim 0 : (tensor<2x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<8x4xf32>
  %1 = wl.slice %0 offsets [2, 0] sizes [6, 4] strides [1, 1] : tensor<8x4xf32> -> tensor<6x4xf32>
  return %1 : tensor<6x4xf32>
}

// -----

// Chunk 1 of 4 of concat(a[4], b[4]) lies inside a: chunk 1 of 2 of a.
// CHECK-LABEL: func.func @shard_of_concat_inside_operand
// CHECK-SAME: (%[[A:.*]]: tensor<4x4xf32>, %[[B:.*]]: tensor<4x4xf32>)
// CHECK-NEXT: %[[R:.*]] = wl.shard %[[A]] dim 0 count 2 index 1 : tensor<4x4xf32> -> tensor<2x4xf32>
// CHECK-NEXT: return %[[R]]
func.func @shard_of_concat_inside_operand(%a: tensor<4x4xf32>, %b: tensor<4x4xf32>) -> tensor<2x4xf32> {
  %0 = wl.concat %a, %b dim 0 : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<8x4xf32>
  %1 = wl.shard %0 dim 0 count 4 index 1 : tensor<8x4xf32> -> tensor<2x4xf32>
  return %1 : tensor<2x4xf32>
}

// -----

// Rows 1..4 of concat(a[2], b[3], e[3]) are a's row 1 then all of b.
// CHECK-LABEL: func.func @slice_of_concat_partial
// CHECK-SAME: (%[[A:.*]]: tensor<2x4xf32>, %[[B:.*]]: tensor<3x4xf32>, %[[E:.*]]: tensor<3x4xf32>)
// CHECK-NEXT: %[[A1:.*]] = wl.shard %[[A]] dim 0 count 2 index 1 : tensor<2x4xf32> -> tensor<1x4xf32>
// CHECK-NEXT: %[[R:.*]] = wl.concat %[[A1]], %[[B]] dim 0 : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<4x4xf32>
// CHECK-NEXT: return %[[R]]
func.func @slice_of_concat_partial(%a: tensor<2x4xf32>, %b: tensor<3x4xf32>, %e: tensor<3x4xf32>) -> tensor<4x4xf32> {
  %0 = wl.concat %a, %b, %e dim 0 : (tensor<2x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<8x4xf32>
  %1 = wl.slice %0 offsets [1, 0] sizes [4, 4] strides [1, 1] : tensor<8x4xf32> -> tensor<4x4xf32>
  return %1 : tensor<4x4xf32>
}

// -----

// A shard across the concatenated dimension is the concat of the shards.
// CHECK-LABEL: func.func @shard_of_concat_other_dim
// CHECK-SAME: (%[[A:.*]]: tensor<2x4xf32>, %[[B:.*]]: tensor<3x4xf32>)
// CHECK-NEXT: %[[SA:.*]] = wl.shard %[[A]] dim 1 count 2 index 0 : tensor<2x4xf32> -> tensor<2x2xf32>
// CHECK-NEXT: %[[SB:.*]] = wl.shard %[[B]] dim 1 count 2 index 0 : tensor<3x4xf32> -> tensor<3x2xf32>
// CHECK-NEXT: %[[R:.*]] = wl.concat %[[SA]], %[[SB]] dim 0
// CHECK-NEXT: return %[[R]]
func.func @shard_of_concat_other_dim(%a: tensor<2x4xf32>, %b: tensor<3x4xf32>) -> tensor<5x2xf32> {
  %0 = wl.concat %a, %b dim 0 : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<5x4xf32>
  %1 = wl.shard %0 dim 1 count 2 index 0 : tensor<5x4xf32> -> tensor<5x2xf32>
  return %1 : tensor<5x2xf32>
}

// -----

// A strided slice along the concatenated dimension stays.
// CHECK-LABEL: func.func @no_strided_slice_of_concat
// CHECK-NEXT: wl.concat
// CHECK-NEXT: wl.slice
// CHECK-NEXT: return
func.func @no_strided_slice_of_concat(%a: tensor<2x4xf32>, %b: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %0 = wl.concat %a, %b dim 0 : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<5x4xf32>
  %1 = wl.slice %0 offsets [0, 0] sizes [3, 4] strides [2, 1] : tensor<5x4xf32> -> tensor<3x4xf32>
  return %1 : tensor<3x4xf32>
}

// -----

// vLLM's qkv_proj for rank 1 of TP=2 from the rank-packed layout
// interleave_{G=tp}(q, k, v) is [q_1 | k_1 | v_1].
// CHECK-LABEL: func.func @shard_of_interleave_rank_packing
// CHECK-SAME: (%[[Q:.*]]: tensor<8x4xbf16>, %[[K:.*]]: tensor<4x4xbf16>, %[[V:.*]]: tensor<4x4xbf16>)
// CHECK-NEXT: %[[Q1:.*]] = wl.shard %[[Q]] dim 0 count 2 index 1 : tensor<8x4xbf16> -> tensor<4x4xbf16>
// CHECK-NEXT: %[[K1:.*]] = wl.shard %[[K]] dim 0 count 2 index 1 : tensor<4x4xbf16> -> tensor<2x4xbf16>
// CHECK-NEXT: %[[V1:.*]] = wl.shard %[[V]] dim 0 count 2 index 1 : tensor<4x4xbf16> -> tensor<2x4xbf16>
// CHECK-NEXT: %[[R:.*]] = wl.concat %[[Q1]], %[[K1]], %[[V1]] dim 0
// CHECK-NEXT: return %[[R]]
func.func @shard_of_interleave_rank_packing(%q: tensor<8x4xbf16>, %k: tensor<4x4xbf16>, %v: tensor<4x4xbf16>) -> tensor<8x4xbf16> {
  %0 = wl.interleave %q, %k, %v dim 0 groups 2 : (tensor<8x4xbf16>, tensor<4x4xbf16>, tensor<4x4xbf16>) -> tensor<16x4xbf16>
  %1 = wl.shard %0 dim 0 count 2 index 1 : tensor<16x4xbf16> -> tensor<8x4xbf16>
  return %1 : tensor<8x4xbf16>
}

// -----

// A shard over whole groups keeps the interleave on the shards: Megatron's
// column-parallel linear_qkv, 4 groups on TP=2.
// CHECK-LABEL: func.func @shard_of_interleave_whole_groups
// CHECK-SAME: (%[[Q:.*]]: tensor<8x4xbf16>, %[[K:.*]]: tensor<4x4xbf16>)
// CHECK-NEXT: %[[Q0:.*]] = wl.shard %[[Q]] dim 0 count 2 index 0 : tensor<8x4xbf16> -> tensor<4x4xbf16>
// CHECK-NEXT: %[[K0:.*]] = wl.shard %[[K]] dim 0 count 2 index 0 : tensor<4x4xbf16> -> tensor<2x4xbf16>
// CHECK-NEXT: %[[R:.*]] = wl.interleave %[[Q0]], %[[K0]] dim 0 groups 2 : (tensor<4x4xbf16>, tensor<2x4xbf16>) -> tensor<6x4xbf16>
// CHECK-NEXT: return %[[R]]
func.func @shard_of_interleave_whole_groups(%q: tensor<8x4xbf16>, %k: tensor<4x4xbf16>) -> tensor<6x4xbf16> {
  %0 = wl.interleave %q, %k dim 0 groups 4 : (tensor<8x4xbf16>, tensor<4x4xbf16>) -> tensor<12x4xbf16>
  %1 = wl.shard %0 dim 0 count 2 index 0 : tensor<12x4xbf16> -> tensor<6x4xbf16>
  return %1 : tensor<6x4xbf16>
}

// -----

// Inside group 1 of interleave_{G=2}(q[8], k[4]) (rows 6..11 = q rows 4..7,
// k rows 2..3), rows 8..11 are q rows 6..7 then k rows 2..3.
// CHECK-LABEL: func.func @slice_of_interleave_inside_group
// CHECK-SAME: (%[[Q:.*]]: tensor<8x4xbf16>, %[[K:.*]]: tensor<4x4xbf16>)
// CHECK-NEXT: %[[QS:.*]] = wl.shard %[[Q]] dim 0 count 4 index 3 : tensor<8x4xbf16> -> tensor<2x4xbf16>
// CHECK-NEXT: %[[KS:.*]] = wl.shard %[[K]] dim 0 count 2 index 1 : tensor<4x4xbf16> -> tensor<2x4xbf16>
// CHECK-NEXT: %[[R:.*]] = wl.concat %[[QS]], %[[KS]] dim 0
// CHECK-NEXT: return %[[R]]
func.func @slice_of_interleave_inside_group(%q: tensor<8x4xbf16>, %k: tensor<4x4xbf16>) -> tensor<4x4xbf16> {
  %0 = wl.interleave %q, %k dim 0 groups 2 : (tensor<8x4xbf16>, tensor<4x4xbf16>) -> tensor<12x4xbf16>
  %1 = wl.shard %0 dim 0 count 3 index 2 : tensor<12x4xbf16> -> tensor<4x4xbf16>
  return %1 : tensor<4x4xbf16>
}

// -----

// A range that cuts two groups partway stays.
// CHECK-LABEL: func.func @no_slice_of_interleave_across_groups
// CHECK-NEXT: wl.interleave
// CHECK-NEXT: wl.slice
// CHECK-NEXT: return
func.func @no_slice_of_interleave_across_groups(%q: tensor<8x4xbf16>, %k: tensor<4x4xbf16>) -> tensor<6x4xbf16> {
  %0 = wl.interleave %q, %k dim 0 groups 2 : (tensor<8x4xbf16>, tensor<4x4xbf16>) -> tensor<12x4xbf16>
  %1 = wl.slice %0 offsets [3, 0] sizes [6, 4] strides [1, 1] : tensor<12x4xbf16> -> tensor<6x4xbf16>
  return %1 : tensor<6x4xbf16>
}

// -----

// Chunk 1 of 2 of split result #1 (rows 4..9) is rows 7..9 of x.
// CHECK-LABEL: func.func @shard_of_split_result
// CHECK-SAME: (%[[X:.*]]: tensor<10x4xf32>)
// CHECK-NEXT: %[[R:.*]] = wl.slice %[[X]] offsets [7, 0] sizes [3, 4] strides [1, 1] : tensor<10x4xf32> -> tensor<3x4xf32>
// CHECK-NEXT: return %[[R]]
func.func @shard_of_split_result(%x: tensor<10x4xf32>) -> tensor<3x4xf32> {
  %0:2 = wl.split %x dim 0 sizes [4, 6] : tensor<10x4xf32> -> tensor<4x4xf32>, tensor<6x4xf32>
  %1 = wl.shard %0#1 dim 0 count 2 index 1 : tensor<6x4xf32> -> tensor<3x4xf32>
  return %1 : tensor<3x4xf32>
}

// -----

// Experts 2..3 of 4 stacked (EP rank 1 of 2) are a stack of those two; one
// expert is a reshape of it; a shard inside every expert stacks the shards.
// CHECK-LABEL: func.func @shard_of_stack
// CHECK-SAME: (%[[A:.*]]: tensor<2x3xf32>, %[[B:.*]]: tensor<2x3xf32>, %[[C:.*]]: tensor<2x3xf32>, %[[D:.*]]: tensor<2x3xf32>)
// CHECK-NEXT: %[[EP:.*]] = wl.stack %[[C]], %[[D]] dim 0 : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x2x3xf32>
// CHECK-NEXT: %[[ONE:.*]] = wl.reshape %[[C]] : tensor<2x3xf32> -> tensor<1x2x3xf32>
// CHECK-NEXT: %[[SA:.*]] = wl.shard %[[A]] dim 1 count 3 index 0
// CHECK-NEXT: %[[SB:.*]] = wl.shard %[[B]] dim 1 count 3 index 0
// CHECK-NEXT: %[[SC:.*]] = wl.shard %[[C]] dim 1 count 3 index 0
// CHECK-NEXT: %[[SD:.*]] = wl.shard %[[D]] dim 1 count 3 index 0
// CHECK-NEXT: %[[TP:.*]] = wl.stack %[[SA]], %[[SB]], %[[SC]], %[[SD]] dim 0 : {{.*}} -> tensor<4x2x1xf32>
// CHECK-NEXT: return %[[EP]], %[[ONE]], %[[TP]]
func.func @shard_of_stack(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>, %c: tensor<2x3xf32>, %d: tensor<2x3xf32>) -> (tensor<2x2x3xf32>, tensor<1x2x3xf32>, tensor<4x2x1xf32>) {
  %0 = wl.stack %a, %b, %c, %d dim 0 : (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<4x2x3xf32>
  %1 = wl.shard %0 dim 0 count 2 index 1 : tensor<4x2x3xf32> -> tensor<2x2x3xf32>
  %2 = wl.shard %0 dim 0 count 4 index 2 : tensor<4x2x3xf32> -> tensor<1x2x3xf32>
  %3 = wl.shard %0 dim 2 count 3 index 0 : tensor<4x2x3xf32> -> tensor<4x2x1xf32>
  return %1, %2, %3 : tensor<2x2x3xf32>, tensor<1x2x3xf32>, tensor<4x2x1xf32>
}

// -----

// Chunk 1 of 2 of layer 2 of an unstacked [layers, 4] tensor is a reshape of
// the box at row 2, columns 2..3.
// CHECK-LABEL: func.func @shard_of_unstack_result
// CHECK-SAME: (%[[X:.*]]: tensor<3x4xf32>)
// CHECK-NEXT: %[[S:.*]] = wl.slice %[[X]] offsets [2, 2] sizes [1, 2] strides [1, 1] : tensor<3x4xf32> -> tensor<1x2xf32>
// CHECK-NEXT: %[[R:.*]] = wl.reshape %[[S]] : tensor<1x2xf32> -> tensor<2xf32>
// CHECK-NEXT: return %[[R]]
func.func @shard_of_unstack_result(%x: tensor<3x4xf32>) -> tensor<2xf32> {
  %0:3 = wl.unstack %x dim 0 : tensor<3x4xf32> -> tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  %1 = wl.shard %0#2 dim 0 count 2 index 1 : tensor<4xf32> -> tensor<2xf32>
  return %1 : tensor<2xf32>
}

// -----

// pad(x[4], low 2, high 2): rows 2..3 are x's rows 0..1; rows 0..3 are the
// low padding then x's rows 0..1; a shard of the other dimension keeps the
// padding around the shard of x. (The canonicalizer does not CSE.)
// CHECK-LABEL: func.func @shard_of_pad
// CHECK-SAME: (%[[X:.*]]: tensor<4x2xf32>)
// CHECK-NEXT: %[[IN:.*]] = wl.shard %[[X]] dim 0 count 2 index 0 : tensor<4x2xf32> -> tensor<2x2xf32>
// CHECK-NEXT: %[[IN2:.*]] = wl.shard %[[X]] dim 0 count 2 index 0 : tensor<4x2xf32> -> tensor<2x2xf32>
// CHECK-NEXT: %[[LOW:.*]] = wl.pad %[[IN2]] dim 0 low 2 high 0 : tensor<2x2xf32> -> tensor<4x2xf32>
// CHECK-NEXT: %[[COL:.*]] = wl.shard %[[X]] dim 1 count 2 index 1 : tensor<4x2xf32> -> tensor<4x1xf32>
// CHECK-NEXT: %[[SIDE:.*]] = wl.pad %[[COL]] dim 0 low 2 high 2 value 5.000000e-01 : f32 : tensor<4x1xf32> -> tensor<8x1xf32>
// CHECK-NEXT: return %[[IN]], %[[LOW]], %[[SIDE]]
func.func @shard_of_pad(%x: tensor<4x2xf32>) -> (tensor<2x2xf32>, tensor<4x2xf32>, tensor<8x1xf32>) {
  %0 = wl.pad %x dim 0 low 2 high 2 : tensor<4x2xf32> -> tensor<8x2xf32>
  %1 = wl.shard %0 dim 0 count 4 index 1 : tensor<8x2xf32> -> tensor<2x2xf32>
  %2 = wl.shard %0 dim 0 count 2 index 0 : tensor<8x2xf32> -> tensor<4x2xf32>
  %3 = wl.pad %x dim 0 low 2 high 2 value 0.5 : f32 : tensor<4x2xf32> -> tensor<8x2xf32>
  %4 = wl.shard %3 dim 1 count 2 index 1 : tensor<8x2xf32> -> tensor<8x1xf32>
  return %1, %2, %4 : tensor<2x2xf32>, tensor<4x2xf32>, tensor<8x1xf32>
}

// -----

// A shard of only padding has nothing to push: it stays.
// CHECK-LABEL: func.func @no_shard_of_only_padding
// CHECK-NEXT: wl.pad
// CHECK-NEXT: wl.shard
// CHECK-NEXT: return
func.func @no_shard_of_only_padding(%x: tensor<4x2xf32>) -> tensor<4x2xf32> {
  %0 = wl.pad %x dim 0 low 4 high 0 : tensor<4x2xf32> -> tensor<8x2xf32>
  %1 = wl.shard %0 dim 0 count 2 index 0 : tensor<8x2xf32> -> tensor<4x2xf32>
  return %1 : tensor<4x2xf32>
}

// -----

// Elementwise ops commute with selections: convert only what is kept.
// CHECK-LABEL: func.func @shard_of_elementwise
// CHECK-SAME: (%[[X:.*]]: tensor<4x2xbf16>)
// CHECK-NEXT: %[[S:.*]] = wl.shard %[[X]] dim 0 count 2 index 1 : tensor<4x2xbf16> -> tensor<2x2xbf16>
// CHECK-NEXT: %[[C:.*]] = wl.cast %[[S]] : tensor<2x2xbf16> -> tensor<2x2xf32>
// CHECK-NEXT: %[[T:.*]] = wl.shard %[[X]] dim 1 count 2 index 0 : tensor<4x2xbf16> -> tensor<4x1xbf16>
// CHECK-NEXT: %[[A:.*]] = wl.affine %[[T]] offset -1.000000e+00 : tensor<4x1xbf16>
// CHECK-NEXT: return %[[C]], %[[A]]
func.func @shard_of_elementwise(%x: tensor<4x2xbf16>) -> (tensor<2x2xf32>, tensor<4x1xbf16>) {
  %0 = wl.cast %x : tensor<4x2xbf16> -> tensor<4x2xf32>
  %1 = wl.shard %0 dim 0 count 2 index 1 : tensor<4x2xf32> -> tensor<2x2xf32>
  %2 = wl.affine %x offset -1.0 : tensor<4x2xbf16>
  %3 = wl.shard %2 dim 1 count 2 index 0 : tensor<4x2xbf16> -> tensor<4x1xbf16>
  return %1, %3 : tensor<2x2xf32>, tensor<4x1xbf16>
}

// -----

//===----------------------------------------------------------------------===//
// wl.concat, wl.split
//===----------------------------------------------------------------------===//

// concat_d(concat_d(a, b), e) = concat_d(a, b, e); a nested concat of
// another dimension stays.
// CHECK-LABEL: func.func @flatten_concat
// CHECK-SAME: (%[[A:.*]]: tensor<2x4xf32>, %[[B:.*]]: tensor<2x4xf32>, %[[E:.*]]: tensor<2x4xf32>)
// CHECK-NEXT: %[[F:.*]] = wl.concat %[[A]], %[[B]], %[[E]] dim 0 : (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<6x4xf32>
// CHECK-NEXT: %[[I:.*]] = wl.concat %[[A]], %[[B]] dim 1
// CHECK-NEXT: %[[O:.*]] = wl.concat %[[I]], %[[I]] dim 0
// CHECK-NEXT: return %[[F]], %[[O]]
func.func @flatten_concat(%a: tensor<2x4xf32>, %b: tensor<2x4xf32>, %e: tensor<2x4xf32>) -> (tensor<6x4xf32>, tensor<4x8xf32>) {
  %0 = wl.concat %a, %b dim 0 : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  %1 = wl.concat %0, %e dim 0 : (tensor<4x4xf32>, tensor<2x4xf32>) -> tensor<6x4xf32>
  %2 = wl.concat %a, %b dim 1 : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x8xf32>
  %3 = wl.concat %2, %2 dim 0 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<4x8xf32>
  return %1, %3 : tensor<6x4xf32>, tensor<4x8xf32>
}

// -----

// concat of all results of a split, in order, is its input; of a run of
// them, the slice they came from; out of order, nothing changes.
// CHECK-LABEL: func.func @concat_of_split_results
// CHECK-SAME: (%[[X:.*]]: tensor<6x4xf32>)
// CHECK-NEXT: %[[S:.*]]:3 = wl.split %[[X]] dim 0 sizes [1, 2, 3]
// CHECK-NEXT: %[[SPAN:.*]] = wl.shard %[[X]] dim 0 count 2 index 0 : tensor<6x4xf32> -> tensor<3x4xf32>
// CHECK-NEXT: %[[SWAP:.*]] = wl.concat %[[S]]#1, %[[S]]#0 dim 0
// CHECK-NEXT: return %[[X]], %[[SPAN]], %[[SWAP]]
func.func @concat_of_split_results(%x: tensor<6x4xf32>) -> (tensor<6x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>) {
  %0:3 = wl.split %x dim 0 sizes [1, 2, 3] : tensor<6x4xf32> -> tensor<1x4xf32>, tensor<2x4xf32>, tensor<3x4xf32>
  %1 = wl.concat %0#0, %0#1, %0#2 dim 0 : (tensor<1x4xf32>, tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<6x4xf32>
  %2 = wl.concat %0#0, %0#1 dim 0 : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<3x4xf32>
  %3 = wl.concat %0#1, %0#0 dim 0 : (tensor<2x4xf32>, tensor<1x4xf32>) -> tensor<3x4xf32>
  return %1, %2, %3 : tensor<6x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>
}

// -----

// split of a concat along its boundaries gives back the operands; a finer
// split gives slices of them.
// CHECK-LABEL: func.func @split_of_concat
// CHECK-SAME: (%[[A:.*]]: tensor<2x4xf32>, %[[B:.*]]: tensor<3x4xf32>)
// CHECK-NEXT: %[[A0:.*]] = wl.shard %[[A]] dim 0 count 2 index 0 : tensor<2x4xf32> -> tensor<1x4xf32>
// CHECK-NEXT: %[[A1:.*]] = wl.shard %[[A]] dim 0 count 2 index 1 : tensor<2x4xf32> -> tensor<1x4xf32>
// CHECK-NEXT: %[[REST:.*]] = wl.concat %[[A1]], %[[B]] dim 0 : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<4x4xf32>
// CHECK-NEXT: return %[[A]], %[[B]], %[[A0]], %[[REST]]
func.func @split_of_concat(%a: tensor<2x4xf32>, %b: tensor<3x4xf32>) -> (tensor<2x4xf32>, tensor<3x4xf32>, tensor<1x4xf32>, tensor<4x4xf32>) {
  %0 = wl.concat %a, %b dim 0 : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<5x4xf32>
  %1:2 = wl.split %0 dim 0 sizes [2, 3] : tensor<5x4xf32> -> tensor<2x4xf32>, tensor<3x4xf32>
  %2:2 = wl.split %0 dim 0 sizes [1, 4] : tensor<5x4xf32> -> tensor<1x4xf32>, tensor<4x4xf32>
  return %1#0, %1#1, %2#0, %2#1 : tensor<2x4xf32>, tensor<3x4xf32>, tensor<1x4xf32>, tensor<4x4xf32>
}

// -----

// A split of another dimension than the concat's stays.
// CHECK-LABEL: func.func @no_split_of_concat_other_dim
// CHECK-NEXT: wl.concat
// CHECK-NEXT: wl.split
// CHECK-NEXT: return
func.func @no_split_of_concat_other_dim(%a: tensor<2x4xf32>, %b: tensor<3x4xf32>) -> tensor<5x1xf32> {
  %0 = wl.concat %a, %b dim 0 : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<5x4xf32>
  %1:2 = wl.split %0 dim 1 sizes [1, 3] : tensor<5x4xf32> -> tensor<5x1xf32>, tensor<5x3xf32>
  return %1#0 : tensor<5x1xf32>
}

// -----

//===----------------------------------------------------------------------===//
// wl.interleave, wl.deinterleave
//===----------------------------------------------------------------------===//

// One group is a concat; one result is a split.
// CHECK-LABEL: func.func @one_group
// CHECK-SAME: (%[[A:.*]]: tensor<2x4xf32>, %[[B:.*]]: tensor<3x4xf32>)
// CHECK-NEXT: %[[C:.*]] = wl.concat %[[A]], %[[B]] dim 0 : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<5x4xf32>
// CHECK-NEXT: %[[S:.*]]:2 = wl.split %[[C]] dim 1 sizes [1, 3] : tensor<5x4xf32> -> tensor<5x1xf32>, tensor<5x3xf32>
// CHECK-NEXT: return %[[C]], %[[S]]#1
func.func @one_group(%a: tensor<2x4xf32>, %b: tensor<3x4xf32>) -> (tensor<5x4xf32>, tensor<5x3xf32>) {
  %0 = wl.interleave %a, %b dim 0 groups 1 : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<5x4xf32>
  %1:2 = wl.deinterleave %0 dim 1 groups 1 sizes [1, 3] : tensor<5x4xf32> -> tensor<5x1xf32>, tensor<5x3xf32>
  return %0, %1#1 : tensor<5x4xf32>, tensor<5x3xf32>
}

// -----

// interleave(deinterleave(x)) with the same groups, all results in order, is
// x; out of order it stays.
// CHECK-LABEL: func.func @interleave_of_deinterleave
// CHECK-SAME: (%[[X:.*]]: tensor<6x3xf32>)
// CHECK-NEXT: %[[D:.*]]:2 = wl.deinterleave %[[X]] dim 0 groups 2 sizes [4, 2]
// CHECK-NEXT: %[[SWAP:.*]] = wl.interleave %[[D]]#1, %[[D]]#0 dim 0 groups 2
// CHECK-NEXT: return %[[X]], %[[SWAP]]
func.func @interleave_of_deinterleave(%x: tensor<6x3xf32>) -> (tensor<6x3xf32>, tensor<6x3xf32>) {
  %0:2 = wl.deinterleave %x dim 0 groups 2 sizes [4, 2] : tensor<6x3xf32> -> tensor<4x3xf32>, tensor<2x3xf32>
  %1 = wl.interleave %0#0, %0#1 dim 0 groups 2 : (tensor<4x3xf32>, tensor<2x3xf32>) -> tensor<6x3xf32>
  %2 = wl.interleave %0#1, %0#0 dim 0 groups 2 : (tensor<2x3xf32>, tensor<4x3xf32>) -> tensor<6x3xf32>
  return %1, %2 : tensor<6x3xf32>, tensor<6x3xf32>
}

// -----

// deinterleave(interleave(a, b)) with the same groups and sizes gives back
// a and b; with other sizes it stays.
// CHECK-LABEL: func.func @deinterleave_of_interleave
// CHECK-SAME: (%[[A:.*]]: tensor<4x3xf32>, %[[B:.*]]: tensor<2x3xf32>)
// CHECK-NEXT: %[[I:.*]] = wl.interleave %[[A]], %[[B]] dim 0 groups 2
// CHECK-NEXT: %[[D:.*]]:2 = wl.deinterleave %[[I]] dim 0 groups 2 sizes [2, 4]
// CHECK-NEXT: return %[[A]], %[[B]], %[[D]]#0
func.func @deinterleave_of_interleave(%a: tensor<4x3xf32>, %b: tensor<2x3xf32>) -> (tensor<4x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
  %0 = wl.interleave %a, %b dim 0 groups 2 : (tensor<4x3xf32>, tensor<2x3xf32>) -> tensor<6x3xf32>
  %1:2 = wl.deinterleave %0 dim 0 groups 2 sizes [4, 2] : tensor<6x3xf32> -> tensor<4x3xf32>, tensor<2x3xf32>
  %2:2 = wl.deinterleave %0 dim 0 groups 2 sizes [2, 4] : tensor<6x3xf32> -> tensor<2x3xf32>, tensor<4x3xf32>
  return %1#0, %1#1, %2#0 : tensor<4x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>
}

// -----

//===----------------------------------------------------------------------===//
// wl.permute
//===----------------------------------------------------------------------===//

// permute(permute(x, p), q) = permute(x, r), r[k] = p[q[k]]; a pair that
// cancels folds away.
// CHECK-LABEL: func.func @compose_permutes
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK-NEXT: %[[P:.*]] = wl.permute %[[X]] perm [1, 2, 0] : tensor<2x3x4xf32> -> tensor<3x4x2xf32>
// CHECK-NEXT: return %[[X]], %[[P]]
func.func @compose_permutes(%x: tensor<2x3x4xf32>) -> (tensor<2x3x4xf32>, tensor<3x4x2xf32>) {
  %0 = wl.permute %x perm [1, 2, 0] : tensor<2x3x4xf32> -> tensor<3x4x2xf32>
  %1 = wl.permute %0 perm [2, 0, 1] : tensor<3x4x2xf32> -> tensor<2x3x4xf32>
  %2 = wl.permute %x perm [1, 0, 2] : tensor<2x3x4xf32> -> tensor<3x2x4xf32>
  %3 = wl.permute %2 perm [0, 2, 1] : tensor<3x2x4xf32> -> tensor<3x4x2xf32>
  return %1, %3 : tensor<2x3x4xf32>, tensor<3x4x2xf32>
}

// -----

//===----------------------------------------------------------------------===//
// wl.stack, wl.unstack
//===----------------------------------------------------------------------===//

// stack(unstack(x)) in order is x; out of order it stays; stacking one
// tensor is a reshape.
// CHECK-LABEL: func.func @stack_patterns
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>)
// CHECK-NEXT: %[[U:.*]]:2 = wl.unstack %[[X]] dim 0
// CHECK-NEXT: %[[SWAP:.*]] = wl.stack %[[U]]#1, %[[U]]#0 dim 0
// CHECK-NEXT: %[[ONE:.*]] = wl.reshape %[[X]] : tensor<2x3xf32> -> tensor<2x1x3xf32>
// CHECK-NEXT: return %[[X]], %[[SWAP]], %[[ONE]]
func.func @stack_patterns(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x1x3xf32>) {
  %0:2 = wl.unstack %x dim 0 : tensor<2x3xf32> -> tensor<3xf32>, tensor<3xf32>
  %1 = wl.stack %0#0, %0#1 dim 0 : (tensor<3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %2 = wl.stack %0#1, %0#0 dim 0 : (tensor<3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %3 = wl.stack %x dim 1 : (tensor<2x3xf32>) -> tensor<2x1x3xf32>
  return %1, %2, %3 : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x1x3xf32>
}

// -----

// unstack(stack(a, b)) on the same dimension gives a and b; on another it
// stays; unstacking a dimension of size 1 is a reshape.
// CHECK-LABEL: func.func @unstack_patterns
// CHECK-SAME: (%[[A:.*]]: tensor<2x3xf32>, %[[B:.*]]: tensor<2x3xf32>, %[[Y:.*]]: tensor<1x4xf32>)
// CHECK-NEXT: %[[S:.*]] = wl.stack %[[A]], %[[B]] dim 1
// CHECK-NEXT: %[[U:.*]]:2 = wl.unstack %[[S]] dim 0
// CHECK-NEXT: %[[R:.*]] = wl.reshape %[[Y]] : tensor<1x4xf32> -> tensor<4xf32>
// CHECK-NEXT: return %[[A]], %[[B]], %[[U]]#0, %[[R]]
func.func @unstack_patterns(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>, %y: tensor<1x4xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<4xf32>) {
  %0 = wl.stack %a, %b dim 1 : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x2x3xf32>
  %1:2 = wl.unstack %0 dim 1 : tensor<2x2x3xf32> -> tensor<2x3xf32>, tensor<2x3xf32>
  %2:2 = wl.unstack %0 dim 0 : tensor<2x2x3xf32> -> tensor<2x3xf32>, tensor<2x3xf32>
  %3 = wl.unstack %y dim 0 : tensor<1x4xf32> -> tensor<4xf32>
  return %1#0, %1#1, %2#0, %3 : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<4xf32>
}

// -----

//===----------------------------------------------------------------------===//
// wl.pad, wl.cast
//===----------------------------------------------------------------------===//

// Two pads of one dimension with one value merge (no value = +0.0); with
// different values (here -0.0 against +0.0) they stay apart.
// CHECK-LABEL: func.func @merge_pads
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>)
// CHECK-NEXT: %[[Z:.*]] = wl.pad %[[X]] dim 0 low 1 high 2 : tensor<4xf32> -> tensor<7xf32>
// CHECK-NEXT: %[[M:.*]] = wl.pad %[[X]] dim 0 low 3 high 5 value 0.000000e+00 : f32 : tensor<4xf32> -> tensor<12xf32>
// CHECK-NEXT: %[[N:.*]] = wl.pad %[[Z]] dim 0 low 0 high 1 value -0.000000e+00 : f32
// CHECK-NEXT: return %[[M]], %[[N]]
func.func @merge_pads(%x: tensor<4xf32>) -> (tensor<12xf32>, tensor<8xf32>) {
  %0 = wl.pad %x dim 0 low 1 high 2 : tensor<4xf32> -> tensor<7xf32>
  %1 = wl.pad %0 dim 0 low 2 high 3 value 0.0 : f32 : tensor<7xf32> -> tensor<12xf32>
  %2 = wl.pad %0 dim 0 low 0 high 1 value -0.0 : f32 : tensor<7xf32> -> tensor<8xf32>
  return %1, %2 : tensor<12xf32>, tensor<8xf32>
}

// -----

// A cast after an exact widening is one cast; after a lossy step it stays.
// CHECK-LABEL: func.func @cast_chains
// CHECK-SAME: (%[[B:.*]]: tensor<4xbf16>, %[[F:.*]]: tensor<4xf32>, %[[I:.*]]: tensor<4xi8>)
// CHECK-NEXT: %[[H:.*]] = wl.cast %[[B]] : tensor<4xbf16> -> tensor<4xf16>
// CHECK-NEXT: %[[L:.*]] = wl.cast %[[F]] : tensor<4xf32> -> tensor<4xbf16>
// CHECK-NEXT: %[[L2:.*]] = wl.cast %[[L]] : tensor<4xbf16> -> tensor<4xf32>
// CHECK-NEXT: %[[IF:.*]] = wl.cast %[[I]] : tensor<4xi8> -> tensor<4xf32>
// CHECK-NEXT: %[[U:.*]] = wl.cast %[[I]] : tensor<4xi8> -> tensor<4xui16>
// CHECK-NEXT: %[[UF:.*]] = wl.cast %[[U]] : tensor<4xui16> -> tensor<4xf32>
// CHECK-NEXT: return %[[H]], %[[B]], %[[L2]], %[[IF]], %[[UF]]
func.func @cast_chains(%b: tensor<4xbf16>, %f: tensor<4xf32>, %i: tensor<4xi8>) -> (tensor<4xf16>, tensor<4xbf16>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  // bf16 -> f32 is exact: bf16 -> f16 directly.
  %0 = wl.cast %b : tensor<4xbf16> -> tensor<4xf32>
  %1 = wl.cast %0 : tensor<4xf32> -> tensor<4xf16>
  // bf16 -> f32 -> bf16 is the identity.
  %2 = wl.cast %0 : tensor<4xf32> -> tensor<4xbf16>
  // f32 -> bf16 rounds: the round trip stays.
  %3 = wl.cast %f : tensor<4xf32> -> tensor<4xbf16>
  %4 = wl.cast %3 : tensor<4xbf16> -> tensor<4xf32>
  // i8 -> i32 keeps every value: i8 -> f32 directly.
  %5 = wl.cast %i : tensor<4xi8> -> tensor<4xi32>
  %6 = wl.cast %5 : tensor<4xi32> -> tensor<4xf32>
  // i8 -> ui16 wraps negative values: stays.
  %7 = wl.cast %i : tensor<4xi8> -> tensor<4xui16>
  %8 = wl.cast %7 : tensor<4xui16> -> tensor<4xf32>
  return %1, %2, %4, %6, %8 : tensor<4xf16>, tensor<4xbf16>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}
