// --wl-propagate-shards applies only the selection patterns (slice and shard
// moved towards the sources, slice of slice, slice to shard). The other
// canonicalization patterns (permute of permute, nested concat, split of
// concat, cast of cast, pad of pad, deinterleave of interleave) must not fire.
// Expected results were derived by hand from the op semantics.
// RUN: weight-layout-opt %s --wl-propagate-shards --split-input-file | FileCheck %s

// vLLM rank 1 of the rank-packed interleave (G = tp = 2): rows 8..15 of
// [q0 q1 q2 q3 k0 k1 v0 v1 | q4..q7 k2 k3 v2 v3] are group 1 whole, i.e. the
// concat of chunk 1 of each operand.
// CHECK-LABEL: func.func @shard_of_interleave_one_group
// CHECK-NEXT: %[[Q:.*]] = wl.source "q" : tensor<8x4xbf16>
// CHECK-NEXT: %[[K:.*]] = wl.source "k" : tensor<4x4xbf16>
// CHECK-NEXT: %[[V:.*]] = wl.source "v" : tensor<4x4xbf16>
// CHECK-NEXT: %[[Q1:.*]] = wl.shard %[[Q]] dim 0 count 2 index 1 : tensor<8x4xbf16> -> tensor<4x4xbf16>
// CHECK-NEXT: %[[K1:.*]] = wl.shard %[[K]] dim 0 count 2 index 1 : tensor<4x4xbf16> -> tensor<2x4xbf16>
// CHECK-NEXT: %[[V1:.*]] = wl.shard %[[V]] dim 0 count 2 index 1 : tensor<4x4xbf16> -> tensor<2x4xbf16>
// CHECK-NEXT: %[[C:.*]] = wl.concat %[[Q1]], %[[K1]], %[[V1]] dim 0
// CHECK-NEXT: wl.sink %[[C]] "qkv" : tensor<8x4xbf16>
// CHECK-NEXT: return
func.func @shard_of_interleave_one_group() {
  %q = wl.source "q" : tensor<8x4xbf16>
  %k = wl.source "k" : tensor<4x4xbf16>
  %v = wl.source "v" : tensor<4x4xbf16>
  %qkv = wl.interleave %q, %k, %v dim 0 groups 2 : (tensor<8x4xbf16>, tensor<4x4xbf16>, tensor<4x4xbf16>) -> tensor<16x4xbf16>
  %r = wl.shard %qkv dim 0 count 2 index 1 : tensor<16x4xbf16> -> tensor<8x4xbf16>
  wl.sink %r "qkv" : tensor<8x4xbf16>
  return
}

// -----

// Megatron QKV with 4 query groups of 4 rows (q 2, k 1, v 1), TP 2: rank 0
// holds groups 0..1, the interleave of rows 0..3 of q and 0..1 of k and v.
// CHECK-LABEL: func.func @shard_of_interleave_whole_groups
// CHECK-DAG: %[[Q:.*]] = wl.source "q"
// CHECK-DAG: %[[K:.*]] = wl.source "k"
// CHECK-DAG: %[[V:.*]] = wl.source "v"
// CHECK-DAG: %[[Q0:.*]] = wl.shard %[[Q]] dim 0 count 2 index 0 : tensor<8x4xbf16> -> tensor<4x4xbf16>
// CHECK-DAG: %[[K0:.*]] = wl.shard %[[K]] dim 0 count 2 index 0 : tensor<4x4xbf16> -> tensor<2x4xbf16>
// CHECK-DAG: %[[V0:.*]] = wl.shard %[[V]] dim 0 count 2 index 0 : tensor<4x4xbf16> -> tensor<2x4xbf16>
// CHECK: %[[I:.*]] = wl.interleave %[[Q0]], %[[K0]], %[[V0]] dim 0 groups 2
// CHECK-NEXT: wl.sink %[[I]] "qkv" : tensor<8x4xbf16>
func.func @shard_of_interleave_whole_groups() {
  %q = wl.source "q" : tensor<8x4xbf16>
  %k = wl.source "k" : tensor<4x4xbf16>
  %v = wl.source "v" : tensor<4x4xbf16>
  %qkv = wl.interleave %q, %k, %v dim 0 groups 4 : (tensor<8x4xbf16>, tensor<4x4xbf16>, tensor<4x4xbf16>) -> tensor<16x4xbf16>
  %r = wl.shard %qkv dim 0 count 2 index 0 : tensor<16x4xbf16> -> tensor<8x4xbf16>
  wl.sink %r "qkv" : tensor<8x4xbf16>
  return
}

// -----

// Rows 0..3 of concat(a: 2 rows, b: 6 rows) are a and rows 0..1 of b.
// CHECK-LABEL: func.func @shard_of_concat_same_dim
// CHECK-NEXT: %[[A:.*]] = wl.source "a"
// CHECK-NEXT: %[[B:.*]] = wl.source "b"
// CHECK-NEXT: %[[B0:.*]] = wl.shard %[[B]] dim 0 count 3 index 0 : tensor<6x8xf32> -> tensor<2x8xf32>
// CHECK-NEXT: %[[C:.*]] = wl.concat %[[A]], %[[B0]] dim 0
// CHECK-NEXT: wl.sink %[[C]] "c" : tensor<4x8xf32>
func.func @shard_of_concat_same_dim() {
  %a = wl.source "a" : tensor<2x8xf32>
  %b = wl.source "b" : tensor<6x8xf32>
  %c = wl.concat %a, %b dim 0 : (tensor<2x8xf32>, tensor<6x8xf32>) -> tensor<8x8xf32>
  %r = wl.shard %c dim 0 count 2 index 0 : tensor<8x8xf32> -> tensor<4x8xf32>
  wl.sink %r "c" : tensor<4x8xf32>
  return
}

// -----

// A shard across the other dimension is the concat of the operands' shards.
// CHECK-LABEL: func.func @shard_of_concat_other_dim
// CHECK-NEXT: %[[A:.*]] = wl.source "a"
// CHECK-NEXT: %[[B:.*]] = wl.source "b"
// CHECK-NEXT: %[[A3:.*]] = wl.shard %[[A]] dim 1 count 4 index 3 : tensor<2x8xf32> -> tensor<2x2xf32>
// CHECK-NEXT: %[[B3:.*]] = wl.shard %[[B]] dim 1 count 4 index 3 : tensor<6x8xf32> -> tensor<6x2xf32>
// CHECK-NEXT: %[[C:.*]] = wl.concat %[[A3]], %[[B3]] dim 0
// CHECK-NEXT: wl.sink %[[C]] "c" : tensor<8x2xf32>
func.func @shard_of_concat_other_dim() {
  %a = wl.source "a" : tensor<2x8xf32>
  %b = wl.source "b" : tensor<6x8xf32>
  %c = wl.concat %a, %b dim 0 : (tensor<2x8xf32>, tensor<6x8xf32>) -> tensor<8x8xf32>
  %r = wl.shard %c dim 1 count 4 index 3 : tensor<8x8xf32> -> tensor<8x2xf32>
  wl.sink %r "c" : tensor<8x2xf32>
  return
}

// -----

// Rows 4..5 of w^T are columns 4..5 of w.
// CHECK-LABEL: func.func @shard_of_permute
// CHECK-NEXT: %[[W:.*]] = wl.source "w" : tensor<4x6xf32>
// CHECK-NEXT: %[[S:.*]] = wl.shard %[[W]] dim 1 count 3 index 2 : tensor<4x6xf32> -> tensor<4x2xf32>
// CHECK-NEXT: %[[T:.*]] = wl.permute %[[S]] perm [1, 0] : tensor<4x2xf32> -> tensor<2x4xf32>
// CHECK-NEXT: wl.sink %[[T]] "t" : tensor<2x4xf32>
func.func @shard_of_permute() {
  %w = wl.source "w" : tensor<4x6xf32>
  %t = wl.permute %w perm [1, 0] : tensor<4x6xf32> -> tensor<6x4xf32>
  %r = wl.shard %t dim 0 count 3 index 2 : tensor<6x4xf32> -> tensor<2x4xf32>
  wl.sink %r "t" : tensor<2x4xf32>
  return
}

// -----

// h[i, j, k] = w[2i + j, k]: i in 2..3 is rows 4..7 of w.
// CHECK-LABEL: func.func @shard_of_reshape
// CHECK-NEXT: %[[W:.*]] = wl.source "w" : tensor<8x6xf32>
// CHECK-NEXT: %[[S:.*]] = wl.shard %[[W]] dim 0 count 2 index 1 : tensor<8x6xf32> -> tensor<4x6xf32>
// CHECK-NEXT: %[[R:.*]] = wl.reshape %[[S]] : tensor<4x6xf32> -> tensor<2x2x6xf32>
// CHECK-NEXT: wl.sink %[[R]] "h" : tensor<2x2x6xf32>
func.func @shard_of_reshape() {
  %w = wl.source "w" : tensor<8x6xf32>
  %h = wl.reshape %w : tensor<8x6xf32> -> tensor<4x2x6xf32>
  %r = wl.shard %h dim 0 count 2 index 1 : tensor<4x2x6xf32> -> tensor<2x2x6xf32>
  wl.sink %r "h" : tensor<2x2x6xf32>
  return
}

// -----

// Columns 0..1 of reshape(4x6 -> 6x4) are not one box of the input: stays.
// CHECK-LABEL: func.func @shard_of_reshape_not_a_box
// CHECK-NEXT: %[[W:.*]] = wl.source "w"
// CHECK-NEXT: %[[R:.*]] = wl.reshape %[[W]] : tensor<4x6xf32> -> tensor<6x4xf32>
// CHECK-NEXT: %[[S:.*]] = wl.shard %[[R]] dim 1 count 2 index 0
// CHECK-NEXT: wl.sink %[[S]] "r"
func.func @shard_of_reshape_not_a_box() {
  %w = wl.source "w" : tensor<4x6xf32>
  %h = wl.reshape %w : tensor<4x6xf32> -> tensor<6x4xf32>
  %r = wl.shard %h dim 1 count 2 index 0 : tensor<6x4xf32> -> tensor<6x2xf32>
  wl.sink %r "r" : tensor<6x2xf32>
  return
}

// -----

// Vocabulary rank 1 of 10 rows padded to 16: rows 8..9 of e, then 6 rows of
// padding.
// CHECK-LABEL: func.func @shard_of_pad
// CHECK-NEXT: %[[E:.*]] = wl.source "e" : tensor<10x4xbf16>
// CHECK-NEXT: %[[S:.*]] = wl.shard %[[E]] dim 0 count 5 index 4 : tensor<10x4xbf16> -> tensor<2x4xbf16>
// CHECK-NEXT: %[[P:.*]] = wl.pad %[[S]] dim 0 low 0 high 6 : tensor<2x4xbf16> -> tensor<8x4xbf16>
// CHECK-NEXT: wl.sink %[[P]] "e" : tensor<8x4xbf16>
func.func @shard_of_pad() {
  %e = wl.source "e" : tensor<10x4xbf16>
  %p = wl.pad %e dim 0 low 0 high 6 : tensor<10x4xbf16> -> tensor<16x4xbf16>
  %r = wl.shard %p dim 0 count 2 index 1 : tensor<16x4xbf16> -> tensor<8x4xbf16>
  wl.sink %r "e" : tensor<8x4xbf16>
  return
}

// -----

// stack: the stack of the operands' shards (dim 2 of the result is dim 1 of
// each operand). unstack: result 1 is e[:, 1, :], a slice of e. split:
// result 1 is rows 6..9 of x, and rows 2..3 of it are rows 8..9 of x.
// CHECK-LABEL: func.func @shard_of_stack_unstack_split
// CHECK-NEXT: %[[A:.*]] = wl.source "a"
// CHECK-NEXT: %[[B:.*]] = wl.source "b"
// CHECK-NEXT: %[[A1:.*]] = wl.shard %[[A]] dim 1 count 2 index 1 : tensor<4x6xf32> -> tensor<4x3xf32>
// CHECK-NEXT: %[[B1:.*]] = wl.shard %[[B]] dim 1 count 2 index 1 : tensor<4x6xf32> -> tensor<4x3xf32>
// CHECK-NEXT: %[[S:.*]] = wl.stack %[[A1]], %[[B1]] dim 0
// CHECK-NEXT: wl.sink %[[S]] "st" : tensor<2x4x3xf32>
// CHECK-NEXT: %[[E:.*]] = wl.source "e"
// CHECK-NEXT: %[[E1:.*]] = wl.slice %[[E]] offsets [0, 1, 0] sizes [3, 1, 2] strides [1, 1, 1] : tensor<3x2x4xf32> -> tensor<3x1x2xf32>
// CHECK-NEXT: %[[U:.*]] = wl.reshape %[[E1]] : tensor<3x1x2xf32> -> tensor<3x2xf32>
// CHECK-NEXT: wl.sink %[[U]] "un" : tensor<3x2xf32>
// CHECK-NEXT: %[[X:.*]] = wl.source "x"
// CHECK-NEXT: %[[X4:.*]] = wl.shard %[[X]] dim 0 count 5 index 4 : tensor<10x4xf32> -> tensor<2x4xf32>
// CHECK-NEXT: wl.sink %[[X4]] "sp" : tensor<2x4xf32>
// CHECK-NOT: wl.stack
// CHECK-NOT: wl.unstack
// CHECK-NOT: wl.split
func.func @shard_of_stack_unstack_split() {
  %a = wl.source "a" : tensor<4x6xf32>
  %b = wl.source "b" : tensor<4x6xf32>
  %s = wl.stack %a, %b dim 0 : (tensor<4x6xf32>, tensor<4x6xf32>) -> tensor<2x4x6xf32>
  %r = wl.shard %s dim 2 count 2 index 1 : tensor<2x4x6xf32> -> tensor<2x4x3xf32>
  wl.sink %r "st" : tensor<2x4x3xf32>
  %e = wl.source "e" : tensor<3x2x4xf32>
  %u:2 = wl.unstack %e dim 1 : tensor<3x2x4xf32> -> tensor<3x4xf32>, tensor<3x4xf32>
  %ur = wl.shard %u#1 dim 1 count 2 index 0 : tensor<3x4xf32> -> tensor<3x2xf32>
  wl.sink %ur "un" : tensor<3x2xf32>
  %x = wl.source "x" : tensor<10x4xf32>
  %p:2 = wl.split %x dim 0 sizes [6, 4] : tensor<10x4xf32> -> tensor<6x4xf32>, tensor<4x4xf32>
  %pr = wl.shard %p#1 dim 0 count 2 index 1 : tensor<4x4xf32> -> tensor<2x4xf32>
  wl.sink %pr "sp" : tensor<2x4xf32>
  return
}

// -----

// Through cast and affine: the elementwise ops are applied to the shard.
// CHECK-LABEL: func.func @shard_of_cast_affine
// CHECK-NEXT: %[[W:.*]] = wl.source "w" : tensor<4x4xbf16>
// CHECK-NEXT: %[[S:.*]] = wl.shard %[[W]] dim 1 count 2 index 1 : tensor<4x4xbf16> -> tensor<4x2xbf16>
// CHECK-NEXT: %[[C:.*]] = wl.cast %[[S]] : tensor<4x2xbf16> -> tensor<4x2xf32>
// CHECK-NEXT: %[[A:.*]] = wl.affine %[[C]] scale 2.000000e+00 offset -1.000000e+00 : tensor<4x2xf32>
// CHECK-NEXT: wl.sink %[[A]] "w" : tensor<4x2xf32>
func.func @shard_of_cast_affine() {
  %w = wl.source "w" : tensor<4x4xbf16>
  %c = wl.cast %w : tensor<4x4xbf16> -> tensor<4x4xf32>
  %a = wl.affine %c scale 2.0 offset -1.0 : tensor<4x4xf32>
  %r = wl.shard %a dim 1 count 2 index 1 : tensor<4x4xf32> -> tensor<4x2xf32>
  wl.sink %r "w" : tensor<4x2xf32>
  return
}

// -----

// A slice of one equal chunk becomes a shard; a slice of a slice composes.
// CHECK-LABEL: func.func @slice_to_shard_and_compose
// CHECK-NEXT: %[[W:.*]] = wl.source "w" : tensor<8x4xf32>
// CHECK-NEXT: %[[A:.*]] = wl.shard %[[W]] dim 0 count 4 index 2 : tensor<8x4xf32> -> tensor<2x4xf32>
// CHECK-NEXT: wl.sink %[[A]] "a"
// CHECK-NEXT: %[[B:.*]] = wl.slice %[[W]] offsets [3, 0] sizes [2, 4] strides [2, 1] : tensor<8x4xf32> -> tensor<2x4xf32>
// CHECK-NEXT: wl.sink %[[B]] "b"
func.func @slice_to_shard_and_compose() {
  %w = wl.source "w" : tensor<8x4xf32>
  %a = wl.slice %w offsets [4, 0] sizes [2, 4] strides [1, 1] : tensor<8x4xf32> -> tensor<2x4xf32>
  wl.sink %a "a" : tensor<2x4xf32>
  // Rows 1, 3, 5, 7, then rows 1..2 of those: rows 3 and 5.
  %odd = wl.slice %w offsets [1, 0] sizes [4, 4] strides [2, 1] : tensor<8x4xf32> -> tensor<4x4xf32>
  %b = wl.slice %odd offsets [1, 0] sizes [2, 4] strides [1, 1] : tensor<4x4xf32> -> tensor<2x4xf32>
  wl.sink %b "b" : tensor<2x4xf32>
  return
}

// -----

// Selections that cannot move stay: a range that straddles two interleave
// groups, and a strided selection of an interleave.
// CHECK-LABEL: func.func @no_move_across_groups
// CHECK: %[[I:.*]] = wl.interleave
// CHECK-NEXT: %[[A:.*]] = wl.slice %[[I]] offsets [2, 0] sizes [4, 4] strides [1, 1]
// CHECK-NEXT: wl.sink %[[A]] "straddle"
// CHECK-NEXT: %[[B:.*]] = wl.slice %[[I]] offsets [0, 0] sizes [4, 4] strides [2, 1]
// CHECK-NEXT: wl.sink %[[B]] "strided"
func.func @no_move_across_groups() {
  %q = wl.source "q" : tensor<4x4xbf16>
  %k = wl.source "k" : tensor<4x4xbf16>
  %i = wl.interleave %q, %k dim 0 groups 2 : (tensor<4x4xbf16>, tensor<4x4xbf16>) -> tensor<8x4xbf16>
  %a = wl.slice %i offsets [2, 0] sizes [4, 4] strides [1, 1] : tensor<8x4xbf16> -> tensor<4x4xbf16>
  wl.sink %a "straddle" : tensor<4x4xbf16>
  %b = wl.slice %i offsets [0, 0] sizes [4, 4] strides [2, 1] : tensor<8x4xbf16> -> tensor<4x4xbf16>
  wl.sink %b "strided" : tensor<4x4xbf16>
  return
}

// -----

// The non-selection patterns of --canonicalize do not fire: permute of
// permute (--canonicalize would give one permute [1, 2, 0]).
// CHECK-LABEL: func.func @no_compose_permutes
// CHECK-NEXT: %[[W:.*]] = wl.source "w" : tensor<2x3x4xf32>
// CHECK-NEXT: %[[P1:.*]] = wl.permute %[[W]] perm [1, 0, 2] : tensor<2x3x4xf32> -> tensor<3x2x4xf32>
// CHECK-NEXT: %[[P2:.*]] = wl.permute %[[P1]] perm [0, 2, 1] : tensor<3x2x4xf32> -> tensor<3x4x2xf32>
// CHECK-NEXT: wl.sink %[[P2]] "pp" : tensor<3x4x2xf32>
func.func @no_compose_permutes() {
  %w = wl.source "w" : tensor<2x3x4xf32>
  %p1 = wl.permute %w perm [1, 0, 2] : tensor<2x3x4xf32> -> tensor<3x2x4xf32>
  %p2 = wl.permute %p1 perm [0, 2, 1] : tensor<3x2x4xf32> -> tensor<3x4x2xf32>
  wl.sink %p2 "pp" : tensor<3x4x2xf32>
  return
}

// -----

// Nor nested concat, split of concat, cast of an exact widening, pad of pad,
// deinterleave of interleave.
// CHECK-LABEL: func.func @no_other_patterns
// CHECK-NEXT: %[[A:.*]] = wl.source "a"
// CHECK-NEXT: %[[B:.*]] = wl.source "b"
// CHECK-NEXT: %[[C:.*]] = wl.source "c"
// CHECK-NEXT: %[[BC:.*]] = wl.concat %[[B]], %[[C]] dim 0
// CHECK-NEXT: %[[ABC:.*]] = wl.concat %[[A]], %[[BC]] dim 0
// CHECK-NEXT: wl.sink %[[ABC]] "nested"
// CHECK-NEXT: %[[S:.*]]:2 = wl.split %[[ABC]] dim 0 sizes [2, 4]
// CHECK-NEXT: wl.sink %[[S]]#1 "split"
// CHECK-NEXT: %[[W1:.*]] = wl.cast %[[A]] : tensor<2x4xbf16> -> tensor<2x4xf32>
// CHECK-NEXT: %[[W2:.*]] = wl.cast %[[W1]] : tensor<2x4xf32> -> tensor<2x4xf64>
// CHECK-NEXT: wl.sink %[[W2]] "casts"
// CHECK-NEXT: %[[P1:.*]] = wl.pad %[[A]] dim 0 low 1 high 0
// CHECK-NEXT: %[[P2:.*]] = wl.pad %[[P1]] dim 0 low 0 high 1
// CHECK-NEXT: wl.sink %[[P2]] "pads"
// CHECK-NEXT: %[[I:.*]] = wl.interleave %[[A]], %[[B]] dim 0 groups 2
// CHECK-NEXT: %[[D:.*]]:2 = wl.deinterleave %[[I]] dim 0 groups 2 sizes [2, 2]
// CHECK-NEXT: wl.sink %[[D]]#0 "deint"
func.func @no_other_patterns() {
  %a = wl.source "a" : tensor<2x4xbf16>
  %b = wl.source "b" : tensor<2x4xbf16>
  %c = wl.source "c" : tensor<2x4xbf16>
  %bc = wl.concat %b, %c dim 0 : (tensor<2x4xbf16>, tensor<2x4xbf16>) -> tensor<4x4xbf16>
  %abc = wl.concat %a, %bc dim 0 : (tensor<2x4xbf16>, tensor<4x4xbf16>) -> tensor<6x4xbf16>
  wl.sink %abc "nested" : tensor<6x4xbf16>
  %s:2 = wl.split %abc dim 0 sizes [2, 4] : tensor<6x4xbf16> -> tensor<2x4xbf16>, tensor<4x4xbf16>
  wl.sink %s#1 "split" : tensor<4x4xbf16>
  %w1 = wl.cast %a : tensor<2x4xbf16> -> tensor<2x4xf32>
  %w2 = wl.cast %w1 : tensor<2x4xf32> -> tensor<2x4xf64>
  wl.sink %w2 "casts" : tensor<2x4xf64>
  %p1 = wl.pad %a dim 0 low 1 high 0 : tensor<2x4xbf16> -> tensor<3x4xbf16>
  %p2 = wl.pad %p1 dim 0 low 0 high 1 : tensor<3x4xbf16> -> tensor<4x4xbf16>
  wl.sink %p2 "pads" : tensor<4x4xbf16>
  %i = wl.interleave %a, %b dim 0 groups 2 : (tensor<2x4xbf16>, tensor<2x4xbf16>) -> tensor<4x4xbf16>
  %d:2 = wl.deinterleave %i dim 0 groups 2 sizes [2, 2] : tensor<4x4xbf16> -> tensor<2x4xbf16>, tensor<2x4xbf16>
  wl.sink %d#0 "deint" : tensor<2x4xbf16>
  return
}
