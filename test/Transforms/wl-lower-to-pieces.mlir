// --wl-lower-to-pieces: the pieces of each wl.sink, before the plan-level
// re-rolling of --emit=plan. A piece "shape [S] dst D [DS] <- 'src' O [SS]"
// writes, for each index t of shape S, target flat position D + sum t*DS from
// source flat position O + sum t*SS. Every expected piece below was derived by
// hand from the op semantics (row-major flat positions, coalesced: unit dims
// dropped, dims merged where both strides line up).
// RUN: weight-layout-opt %s --wl-lower-to-pieces --split-input-file | FileCheck %s

// The whole tensor is one contiguous run of 4 * 8 elements.
// CHECK-LABEL: func.func @identity
// CHECK: wl.sink %{{.*}} "w" {wl.pieces = ["shape [32] dst 0 [1] <- 'w' 0 [1]"]} : tensor<4x8xf32>
func.func @identity() {
  %w = wl.source "w" : tensor<4x8xf32>
  wl.sink %w "w" : tensor<4x8xf32>
  return
}

// -----

// Rows 4..5 of an 8x4 tensor: flat positions 16..23, one 1-d run.
// CHECK-LABEL: func.func @row_shard
// CHECK: wl.sink %{{.*}} "r" {wl.pieces = ["shape [8] dst 0 [1] <- 'w' 16 [1]"]} : tensor<2x4xf32>
func.func @row_shard() {
  %w = wl.source "w" : tensor<8x4xf32>
  %r = wl.shard %w dim 0 count 4 index 2 : tensor<8x4xf32> -> tensor<2x4xf32>
  wl.sink %r "r" : tensor<2x4xf32>
  return
}

// -----

// Columns 4..7 of a 4x8 tensor: 4 rows of 4, source rows 8 apart.
// CHECK-LABEL: func.func @column_shard
// CHECK: wl.sink %{{.*}} "c" {wl.pieces = ["shape [4, 4] dst 0 [4, 1] <- 'w' 4 [8, 1]"]} : tensor<4x4xf32>
func.func @column_shard() {
  %w = wl.source "w" : tensor<4x8xf32>
  %r = wl.shard %w dim 1 count 2 index 1 : tensor<4x8xf32> -> tensor<4x4xf32>
  wl.sink %r "c" : tensor<4x4xf32>
  return
}

// -----

// t[i, j] = w[j, i]: target 2*i + j, source 3*j + i.
// CHECK-LABEL: func.func @transpose
// CHECK: wl.sink %{{.*}} "t" {wl.pieces = ["shape [3, 2] dst 0 [2, 1] <- 'w' 0 [1, 3]"]} : tensor<3x2xf32>
func.func @transpose() {
  %w = wl.source "w" : tensor<2x3xf32>
  %t = wl.permute %w perm [1, 0] : tensor<2x3xf32> -> tensor<3x2xf32>
  wl.sink %t "t" : tensor<3x2xf32>
  return
}

// -----

// Along dim 0 each operand is one run (a: 0..7, b: 8..19). Along dim 1, x
// fills columns 0..2 of each row of 4; y (2x1) is column 3, positions 3 and 7.
// CHECK-LABEL: func.func @concat
// CHECK: wl.sink %{{.*}} "rows" {wl.pieces = ["shape [8] dst 0 [1] <- 'a' 0 [1]", "shape [12] dst 8 [1] <- 'b' 0 [1]"]} : tensor<5x4xf32>
// CHECK: wl.sink %{{.*}} "cols" {wl.pieces = ["shape [2, 3] dst 0 [4, 1] <- 'x' 0 [3, 1]", "shape [2] dst 3 [4] <- 'y' 0 [1]"]} : tensor<2x4xf32>
func.func @concat() {
  %a = wl.source "a" : tensor<2x4xf32>
  %b = wl.source "b" : tensor<3x4xf32>
  %c = wl.concat %a, %b dim 0 : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<5x4xf32>
  wl.sink %c "rows" : tensor<5x4xf32>
  %x = wl.source "x" : tensor<2x3xf32>
  %y = wl.source "y" : tensor<2x1xf32>
  %z = wl.concat %x, %y dim 1 : (tensor<2x3xf32>, tensor<2x1xf32>) -> tensor<2x4xf32>
  wl.sink %z "cols" : tensor<2x4xf32>
  return
}

// -----

// Megatron QKV, 2 query groups: rows [q0 q1 k0 v0 q2 q3 k1 v1], 2 elements a
// row. One piece per (operand, group), operand-major, not yet re-rolled:
// q rows 0..1 -> 0..1 (pos 0), q rows 2..3 -> 4..5 (pos 8, src 4),
// k row 0 -> 2 (pos 4), k row 1 -> 6 (pos 12, src 2),
// v row 0 -> 3 (pos 6), v row 1 -> 7 (pos 14, src 2).
// CHECK-LABEL: func.func @megatron_qkv
// CHECK: wl.sink %{{.*}} "qkv" {wl.pieces = ["shape [4] dst 0 [1] <- 'q' 0 [1]", "shape [4] dst 8 [1] <- 'q' 4 [1]", "shape [2] dst 4 [1] <- 'k' 0 [1]", "shape [2] dst 12 [1] <- 'k' 2 [1]", "shape [2] dst 6 [1] <- 'v' 0 [1]", "shape [2] dst 14 [1] <- 'v' 2 [1]"]} : tensor<8x2xbf16>
func.func @megatron_qkv() {
  %q = wl.source "q" : tensor<4x2xbf16>
  %k = wl.source "k" : tensor<2x2xbf16>
  %v = wl.source "v" : tensor<2x2xbf16>
  %qkv = wl.interleave %q, %k, %v dim 0 groups 2 : (tensor<4x2xbf16>, tensor<2x2xbf16>, tensor<2x2xbf16>) -> tensor<8x2xbf16>
  wl.sink %qkv "qkv" : tensor<8x2xbf16>
  return
}

// -----

// Two groups of 4 rows [a a b b | a a b b]: a is rows 0..1 and 4..5 of x
// (positions 0..3 and 8..11), b rows 2..3 and 6..7 (4..7 and 12..15); each
// one piece, the groups a dimension of stride 8 (not a piece per group).
// CHECK-LABEL: func.func @deinterleave
// CHECK: wl.sink %{{.*}} "a" {wl.pieces = ["shape [2, 4] dst 0 [4, 1] <- 'x' 0 [8, 1]"]} : tensor<4x2xbf16>
// CHECK: wl.sink %{{.*}} "b" {wl.pieces = ["shape [2, 4] dst 0 [4, 1] <- 'x' 4 [8, 1]"]} : tensor<4x2xbf16>
func.func @deinterleave() {
  %x = wl.source "x" : tensor<8x2xbf16>
  %a, %b = wl.deinterleave %x dim 0 groups 2 sizes [4, 4] : tensor<8x2xbf16> -> tensor<4x2xbf16>, tensor<4x2xbf16>
  wl.sink %a "a" : tensor<4x2xbf16>
  wl.sink %b "b" : tensor<4x2xbf16>
  return
}

// -----

// flat[f] = t[f / 2, f % 2] = w[f % 2, f / 2]: source 3 * (f % 2) + f / 2,
// a 2-d piece into a 1-d target (piece dims need not be tensor dims).
// mixed = the same flat order seen as 2x3; the lowering splits it where the
// 3x2 and 2x3 radixes do not line up, f = 0..5 reading 0, 3 | 1 | 4 | 2, 5.
// split_rows: columns 2..3 of a 4x4 tensor, reshaped: still 4 runs of 2.
// CHECK-LABEL: func.func @reshape
// CHECK: wl.sink %{{.*}} "flat" {wl.pieces = ["shape [3, 2] dst 0 [2, 1] <- 'w' 0 [1, 3]"]} : tensor<6xf32>
// CHECK: wl.sink %{{.*}} "mixed" {wl.pieces = ["shape [2] dst 0 [1] <- 'w' 0 [3]", "shape [] dst 2 [] <- 'w' 1 []", "shape [] dst 3 [] <- 'w' 4 []", "shape [2] dst 4 [1] <- 'w' 2 [3]"]} : tensor<2x3xf32>
// CHECK: wl.sink %{{.*}} "split_rows" {wl.pieces = ["shape [4, 2] dst 0 [2, 1] <- 'c' 2 [4, 1]"]} : tensor<2x2x2xf32>
func.func @reshape() {
  %w = wl.source "w" : tensor<2x3xf32>
  %t = wl.permute %w perm [1, 0] : tensor<2x3xf32> -> tensor<3x2xf32>
  %f = wl.reshape %t : tensor<3x2xf32> -> tensor<6xf32>
  wl.sink %f "flat" : tensor<6xf32>
  %r = wl.reshape %t : tensor<3x2xf32> -> tensor<2x3xf32>
  wl.sink %r "mixed" : tensor<2x3xf32>
  %c = wl.source "c" : tensor<4x4xf32>
  %cs = wl.shard %c dim 1 count 2 index 1 : tensor<4x4xf32> -> tensor<4x2xf32>
  %h = wl.reshape %cs : tensor<4x2xf32> -> tensor<2x2x2xf32>
  wl.sink %h "split_rows" : tensor<2x2x2xf32>
  return
}

// -----

// stacked[i, k, j] = (a, b)[k][i, j]: position 4i + 2k + j. Unstack result 1
// of e (2x3x2) is e[i, 1, j]: position 6i + 2 + j.
// CHECK-LABEL: func.func @stack_unstack
// CHECK: wl.sink %{{.*}} "stacked" {wl.pieces = ["shape [2, 2] dst 0 [4, 1] <- 'a' 0 [2, 1]", "shape [2, 2] dst 2 [4, 1] <- 'b' 0 [2, 1]"]} : tensor<2x2x2xf32>
// CHECK: wl.sink %{{.*}} "layer1" {wl.pieces = ["shape [2, 2] dst 0 [2, 1] <- 'e' 2 [6, 1]"]} : tensor<2x2xf32>
func.func @stack_unstack() {
  %a = wl.source "a" : tensor<2x2xf32>
  %b = wl.source "b" : tensor<2x2xf32>
  %s = wl.stack %a, %b dim 1 : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2x2xf32>
  wl.sink %s "stacked" : tensor<2x2x2xf32>
  %e = wl.source "e" : tensor<2x3x2xf32>
  %u:3 = wl.unstack %e dim 1 : tensor<2x3x2xf32> -> tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>
  wl.sink %u#1 "layer1" : tensor<2x2xf32>
  return
}

// -----

// Padding is a fill piece: column 0 of each row of 4 (positions 0 and 4);
// the data goes to columns 1..3. Integer fills print as integers.
// CHECK-LABEL: func.func @pad
// CHECK: wl.sink %{{.*}} "left" {wl.pieces = ["shape [2, 3] dst 1 [4, 1] <- 'w' 0 [3, 1]", "shape [2] dst 0 [4] fill 1"]} : tensor<2x4xbf16>
// CHECK: wl.sink %{{.*}} "ints" {wl.pieces = ["shape [3] dst 0 [1] <- 'i' 0 [1]", "shape [2] dst 3 [1] fill -1"]} : tensor<5xi32>
func.func @pad() {
  %w = wl.source "w" : tensor<2x3xbf16>
  %p = wl.pad %w dim 1 low 1 high 0 value 1.0 : bf16 : tensor<2x3xbf16> -> tensor<2x4xbf16>
  wl.sink %p "left" : tensor<2x4xbf16>
  %i = wl.source "i" : tensor<3xi32>
  %pi = wl.pad %i dim 0 low 0 high 2 value -1 : i32 : tensor<3xi32> -> tensor<5xi32>
  wl.sink %pi "ints" : tensor<5xi32>
  return
}

// -----

// Conversions are a suffix of the piece, in order. On padding they are
// applied at compile time: 3.0 - 1.0 = 2 (a single element: rank 0).
// CHECK-LABEL: func.func @convert
// CHECK: wl.sink %{{.*}} "cast" {wl.pieces = ["shape [8] dst 0 [1] <- 'w' 0 [1] convert cast bf16->f32"]} : tensor<2x4xf32>
// CHECK: wl.sink %{{.*}} "affine" {wl.pieces = ["shape [8] dst 0 [1] <- 'w' 0 [1] convert cast bf16->f32 convert affine(0.5, -1)"]} : tensor<2x4xf32>
// CHECK: wl.sink %{{.*}} "pad_affine" {wl.pieces = ["shape [2] dst 0 [1] <- 'n' 0 [1] convert affine(1, -1)", "shape [] dst 2 [] fill 2"]} : tensor<3xbf16>
func.func @convert() {
  %w = wl.source "w" : tensor<2x4xbf16>
  %c = wl.cast %w : tensor<2x4xbf16> -> tensor<2x4xf32>
  wl.sink %c "cast" : tensor<2x4xf32>
  %a = wl.affine %c scale 0.5 offset -1.0 : tensor<2x4xf32>
  wl.sink %a "affine" : tensor<2x4xf32>
  %n = wl.source "n" : tensor<2xbf16>
  %np = wl.pad %n dim 0 low 0 high 1 value 3.0 : bf16 : tensor<2xbf16> -> tensor<3xbf16>
  %na = wl.affine %np offset -1.0 : tensor<3xbf16>
  wl.sink %na "pad_affine" : tensor<3xbf16>
  return
}

// -----

// s[i, j] = w[1 + 2i, 3j]: source position 4 + 8i + 3j.
// CHECK-LABEL: func.func @strided_slice
// CHECK: wl.sink %{{.*}} "s" {wl.pieces = ["shape [3, 2] dst 0 [2, 1] <- 'w' 4 [8, 3]"]} : tensor<3x2xf32>
func.func @strided_slice() {
  %w = wl.source "w" : tensor<8x4xf32>
  %s = wl.slice %w offsets [1, 0] sizes [3, 2] strides [2, 3] : tensor<8x4xf32> -> tensor<3x2xf32>
  wl.sink %s "s" : tensor<3x2xf32>
  return
}

// -----

// Partial sinks: each sink's pieces start at its box (column 4 = position 4).
// CHECK-LABEL: func.func @partial_sinks
// CHECK: wl.sink %{{.*}} "ab" at [0, 0] of [2, 8] {wl.pieces = ["shape [2, 4] dst 0 [8, 1] <- 'a' 0 [4, 1]"]} : tensor<2x4xf32>
// CHECK: wl.sink %{{.*}} "ab" at [0, 4] of [2, 8] {wl.pieces = ["shape [2, 4] dst 4 [8, 1] <- 'b' 0 [4, 1]"]} : tensor<2x4xf32>
func.func @partial_sinks() {
  %a = wl.source "a" : tensor<2x4xf32>
  %b = wl.source "b" : tensor<2x4xf32>
  wl.sink %a "ab" at [0, 0] of [2, 8] : tensor<2x4xf32>
  wl.sink %b "ab" at [0, 4] of [2, 8] : tensor<2x4xf32>
  return
}

// -----

// The lowering reads only what reaches the sink, whatever the form of the IR:
// rank 1's rows of a padded vocabulary are rows 8..9 of e (positions 32..39)
// and 6 rows of padding (positions 8..31 of the target).
// CHECK-LABEL: func.func @padded_vocab_rank1
// CHECK: wl.sink %{{.*}} "e" {wl.pieces = ["shape [8] dst 0 [1] <- 'e' 32 [1]", "shape [24] dst 8 [1] fill 0"]} : tensor<8x4xbf16>
func.func @padded_vocab_rank1() {
  %e = wl.source "e" : tensor<10x4xbf16>
  %p = wl.pad %e dim 0 low 0 high 6 : tensor<10x4xbf16> -> tensor<16x4xbf16>
  %r = wl.shard %p dim 0 count 2 index 1 : tensor<16x4xbf16> -> tensor<8x4xbf16>
  wl.sink %r "e" : tensor<8x4xbf16>
  return
}
