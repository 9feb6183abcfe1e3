// weight-layout-opt --emit=plan: the plan JSON of one function
// (docs/plan-format.md), after the coverage check of the whole module.
// Expected pieces were derived by hand (flat row-major element positions).
// RUN: rm -rf %t
// RUN: split-file --leading-lines %s %t
// RUN: weight-layout-opt --emit=plan %t/one.mlir | FileCheck %s
// RUN: weight-layout-opt --emit=plan %t/one.mlir -o %t/one.json
// RUN: FileCheck %s < %t/one.json
// RUN: weight-layout-opt --emit=plan --func rank1 %t/two.mlir | FileCheck %s --check-prefix=RANK1
// RUN: weight-layout-opt --emit=plan --func=rank0 %t/two.mlir | FileCheck %s --check-prefix=RANK0
// RUN: weight-layout-opt --emit=plan --canonicalize --func rank1 %t/two.mlir | FileCheck %s --check-prefix=RANK1
// RUN: not weight-layout-opt --emit=plan %t/two.mlir 2>&1 | FileCheck %s --check-prefix=NOFUNC
// RUN: not weight-layout-opt --emit=plan --func rank2 %t/two.mlir 2>&1 | FileCheck %s --check-prefix=BADFUNC
// RUN: not weight-layout-opt --emit=plan %t/gap.mlir -o %t/gap.json 2>&1 | FileCheck %s --check-prefix=GAP
// RUN: not test -e %t/gap.json
// RUN: weight-layout-opt --emit=plan --func rank0 %t/unread.mlir | FileCheck %s --check-prefix=RANK0
// RUN: not weight-layout-opt --emit=plan --check-unread --func rank0 %t/unread.mlir 2>&1 | FileCheck %s --check-prefix=UNREAD
// RUN: not weight-layout-opt --emit=plan --bogus %t/one.mlir 2>&1 | FileCheck %s --check-prefix=USAGE
// RUN: weight-layout-opt --emit=plan --reverse --func f %t/bijective.mlir | FileCheck %s --check-prefix=REVERSE
// RUN: not weight-layout-opt --emit=plan --reverse --func rank0 %t/two.mlir 2>&1 | FileCheck %s --check-prefix=NOREVERSE
// RUN: not weight-layout-opt --emit=plan --reverse --exact %t/one.mlir 2>&1 | FileCheck %s --check-prefix=AFFINE
// RUN: weight-layout-opt --emit=plan --reverse --func affine %t/bijective.mlir 2>&1 | FileCheck %s --check-prefix=UNAFFINE
// RUN: not weight-layout-opt --emit=plan --reverse --func twice %t/bijective.mlir 2>&1 | FileCheck %s --check-prefix=NOTINJECTIVE

//--- one.mlir
// qkv: Megatron QKV with 2 groups, rows [q0 q1 k0 v0 q2 q3 k1 v1] of 2
// elements. The per-group pieces of each operand re-roll into one 2-d piece:
// q rows 2g..2g+1 (src 4g, 4 elements) go to position 8g; k row g (src 2g)
// to 8g + 4; v row g to 8g + 6.
// k: a whole copy, so the target has an alias.
// e: 3 rows of 2, then 1 row of NaN padding at positions 6..7.
// n: a cast, then an affine in f32.
// i: one element of padding (value 255, rank 0 piece), then the data.
// CHECK:      {
// CHECK-NEXT:  "version": 1,
// CHECK-NEXT:  "sources": [
// CHECK-NEXT:   {"name":"q","dtype":"BF16","shape":[4,2]},
// CHECK-NEXT:   {"name":"k","dtype":"BF16","shape":[2,2]},
// CHECK-NEXT:   {"name":"v","dtype":"BF16","shape":[2,2]},
// CHECK-NEXT:   {"name":"e","dtype":"F32","shape":[3,2]},
// CHECK-NEXT:   {"name":"n","dtype":"BF16","shape":[2]},
// CHECK-NEXT:   {"name":"i","dtype":"U8","shape":[2]}
// CHECK-NEXT:  ],
// CHECK-NEXT:  "targets": [
// CHECK-NEXT:   {"name":"qkv","dtype":"BF16","shape":[8,2]},
// CHECK-NEXT:   {"name":"k","dtype":"BF16","shape":[2,2],"alias":{"source":1,"offset":0}},
// CHECK-NEXT:   {"name":"e","dtype":"F32","shape":[4,2]},
// CHECK-NEXT:   {"name":"n","dtype":"F32","shape":[2]},
// CHECK-NEXT:   {"name":"i","dtype":"U8","shape":[3]}
// CHECK-NEXT:  ],
// CHECK-NEXT:  "pieces": [
// CHECK-NEXT:   {"target":0,"source":0,"dst_offset":0,"src_offset":0,"shape":[2,4],"dst_strides":[8,1],"src_strides":[4,1]},
// CHECK-NEXT:   {"target":0,"source":1,"dst_offset":4,"src_offset":0,"shape":[2,2],"dst_strides":[8,1],"src_strides":[2,1]},
// CHECK-NEXT:   {"target":0,"source":2,"dst_offset":6,"src_offset":0,"shape":[2,2],"dst_strides":[8,1],"src_strides":[2,1]},
// CHECK-NEXT:   {"target":1,"source":1,"dst_offset":0,"src_offset":0,"shape":[4],"dst_strides":[1],"src_strides":[1]},
// CHECK-NEXT:   {"target":2,"source":3,"dst_offset":0,"src_offset":0,"shape":[6],"dst_strides":[1],"src_strides":[1]},
// CHECK-NEXT:   {"target":2,"fill":"nan","dst_offset":6,"shape":[2],"dst_strides":[1]},
// CHECK-NEXT:   {"target":3,"source":4,"dst_offset":0,"src_offset":0,"shape":[2],"dst_strides":[1],"src_strides":[1],"convert":[{"op":"cast","from":"BF16","to":"F32"},{"op":"affine","dtype":"F32","scale":2.0,"offset":-1.0}]},
// CHECK-NEXT:   {"target":4,"source":5,"dst_offset":1,"src_offset":0,"shape":[2],"dst_strides":[1],"src_strides":[1]},
// CHECK-NEXT:   {"target":4,"fill":255,"dst_offset":0,"shape":[],"dst_strides":[]}
// CHECK-NEXT:  ]
// CHECK-NEXT: }
func.func @rank0() {
  %q = wl.source "q" : tensor<4x2xbf16>
  %k = wl.source "k" : tensor<2x2xbf16>
  %v = wl.source "v" : tensor<2x2xbf16>
  %qkv = wl.interleave %q, %k, %v dim 0 groups 2 : (tensor<4x2xbf16>, tensor<2x2xbf16>, tensor<2x2xbf16>) -> tensor<8x2xbf16>
  wl.sink %qkv "qkv" : tensor<8x2xbf16>
  wl.sink %k "k" : tensor<2x2xbf16>
  %e = wl.source "e" : tensor<3x2xf32>
  %p = wl.pad %e dim 0 low 0 high 1 value 0x7FC00000 : f32 : tensor<3x2xf32> -> tensor<4x2xf32>
  wl.sink %p "e" : tensor<4x2xf32>
  %n = wl.source "n" : tensor<2xbf16>
  %nf = wl.cast %n : tensor<2xbf16> -> tensor<2xf32>
  %na = wl.affine %nf scale 2.0 offset -1.0 : tensor<2xf32>
  wl.sink %na "n" : tensor<2xf32>
  %i = wl.source "i" : tensor<2xui8>
  %ip = wl.pad %i dim 0 low 1 high 0 value 255 : ui8 : tensor<2xui8> -> tensor<3xui8>
  wl.sink %ip "i" : tensor<3xui8>
  return
}

//--- two.mlir
// Two ranks of a column-parallel weight; rank 1 also transposes its half:
// t[i, j] = w[j, 2 + i], source position 2 + i + 4j.
// RANK0:      "pieces": [
// RANK0-NEXT:   {"target":0,"source":0,"dst_offset":0,"src_offset":0,"shape":[4,2],"dst_strides":[2,1],"src_strides":[4,1]}
// RANK0-NEXT:  ]
// RANK1:      "targets": [
// RANK1-NEXT:   {"name":"w","dtype":"BF16","shape":[2,4]}
// RANK1-NEXT:  ],
// RANK1-NEXT:  "pieces": [
// RANK1-NEXT:   {"target":0,"source":0,"dst_offset":0,"src_offset":2,"shape":[2,4],"dst_strides":[4,1],"src_strides":[1,4]}
// RANK1-NEXT:  ]
// NOFUNC: two.mlir: 2 functions; choose one with --func NAME (@rank0, @rank1)
// BADFUNC: two.mlir: no function @rank2 (there are @rank0, @rank1)
func.func @rank0() {
  %w = wl.source "w" : tensor<4x4xbf16>
  %r = wl.shard %w dim 1 count 2 index 0 : tensor<4x4xbf16> -> tensor<4x2xbf16>
  wl.sink %r "w" : tensor<4x2xbf16>
  return
}
func.func @rank1() {
  %w = wl.source "w" : tensor<4x4xbf16>
  %r = wl.shard %w dim 1 count 2 index 1 : tensor<4x4xbf16> -> tensor<4x2xbf16>
  %t = wl.permute %r perm [1, 0] : tensor<4x2xbf16> -> tensor<2x4xbf16>
  wl.sink %t "w" : tensor<2x4xbf16>
  return
}

//--- gap.mlir
// Rows 2..3 of "t" are written by nobody: no plan, a located error, and no
// output file.
// GAP: gap.mlir:[[@LINE+4]]:3: error: target 't': elements [2:4, 0:8] (16 elements) are written by no piece
// GAP-NOT: "version"
func.func @gap() {
  %a = wl.source "a" : tensor<2x8xf32>
  wl.sink %a "t" at [0, 0] of [4, 8] : tensor<2x8xf32>
  return
}

//--- unread.mlir
// Unread source elements are checked only with --check-unread, across the
// whole module (the ranks of one mapping), even when only rank 0's plan is
// asked for: here rank 1 is missing, so half of w is read by no function.
// UNREAD: unread.mlir:[[@LINE+2]]:8: error: source 'w': elements [0:4, 2:4] (8 elements) are read by no piece (in any function of the module)
func.func @rank0() {
  %w = wl.source "w" : tensor<4x4xbf16>
  %r = wl.shard %w dim 1 count 2 index 0 : tensor<4x4xbf16> -> tensor<4x2xbf16>
  wl.sink %r "w" : tensor<4x2xbf16>
  return
}
// USAGE: weight-layout-opt --emit=plan: unknown option '--bogus'
// USAGE-NEXT: usage: weight-layout-opt --emit=plan [--func NAME] [--canonicalize] [--check-unread] [--reverse [--exact]] [-o FILE] [INPUT]

//--- bijective.mlir
// Megatron-style interleave of q (2 rows per group) and k (1 row per group):
// qkv rows [q0 q1 k0 q2 q3 k1]. The reverse plan reads q's rows 3g..3g+1
// (src 6g, 4 elements) and k's row 3g + 2 (src 6g + 4) back.
// REVERSE:      "sources": [
// REVERSE-NEXT:   {"name":"qkv","dtype":"BF16","shape":[6,2]}
// REVERSE-NEXT:  ],
// REVERSE-NEXT:  "targets": [
// REVERSE-NEXT:   {"name":"q","dtype":"BF16","shape":[4,2]},
// REVERSE-NEXT:   {"name":"k","dtype":"BF16","shape":[2,2]}
// REVERSE-NEXT:  ],
// REVERSE-NEXT:  "pieces": [
// REVERSE-NEXT:   {"target":0,"source":0,"dst_offset":0,"src_offset":0,"shape":[2,4],"dst_strides":[4,1],"src_strides":[6,1]},
// REVERSE-NEXT:   {"target":1,"source":0,"dst_offset":0,"src_offset":4,"shape":[2,2],"dst_strides":[2,1],"src_strides":[6,1]}
// REVERSE-NEXT:  ]
func.func @f() {
  %q = wl.source "q" : tensor<4x2xbf16>
  %k = wl.source "k" : tensor<2x2xbf16>
  %qkv = wl.interleave %q, %k dim 0 groups 2 : (tensor<4x2xbf16>, tensor<2x2xbf16>) -> tensor<6x2xbf16>
  wl.sink %qkv "qkv" : tensor<6x2xbf16>
  return
}
// y = 2x - 1 of a bf16 weight, computed in f32.
func.func @affine() {
  %w = wl.source "w" : tensor<4xbf16>
  %f = wl.cast %w : tensor<4xbf16> -> tensor<4xf32>
  %y = wl.affine %f scale 2.0 offset -1.0 : tensor<4xf32>
  wl.sink %y "y" : tensor<4xf32>
  return
}
// k delivered twice: the way back would have two values for each element.
func.func @twice() {
  %k = wl.source "k" : tensor<2x2xbf16>
  wl.sink %k "a" : tensor<2x2xbf16>
  %r = wl.shard %k dim 0 count 2 index 1 : tensor<2x2xbf16> -> tensor<1x2xbf16>
  wl.sink %r "b" : tensor<1x2xbf16>
  return
}
// NOTINJECTIVE: bijective.mlir: @twice: cannot invert: the mapping is not injective: source 'k' elements [1:2, 0:2] (2 elements) are read more than once
// One rank's shard does not hold the whole source.
// NOREVERSE: two.mlir: @rank0: cannot invert: the mapping drops data: source 'w' elements [0:4, 2:4] (8 elements) are read by no target
// one.mlir's n is an affine of its source: no exact way back.
// AFFINE: one.mlir: @rank0: cannot invert: target 'n' is computed with affine (scale 2, offset -1) of source 'n', which has no exact inverse
// Without --exact, y = 2x - 1 comes back as x = 0.5y + 0.5, then cast back
// to bf16, with a note.
// UNAFFINE: bijective.mlir: note: 1 tensor comes back through the inverse of an affine or narrowing cast, which can round (not bit for bit; --exact refuses): 'w'
// UNAFFINE: "convert":[{"op":"affine","dtype":"F32","scale":0.5,"offset":0.5},{"op":"cast","from":"F32","to":"BF16"}]
