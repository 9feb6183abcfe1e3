// --wl-check-coverage: every element of every target written exactly once
// (per function: each function is one rank with its own targets), and every
// source element read by some function of the module. Region boxes are
// [begin:end] per dimension, derived by hand below.
// RUN: weight-layout-opt %s --wl-check-coverage --split-input-file --verify-diagnostics
// The last case again with allow-unread=true: no diagnostic, the IR is printed.
// RUN: rm -rf %t
// RUN: split-file --leading-lines %s %t
// RUN: weight-layout-opt %t/unread.mlir --wl-check-coverage=allow-unread=true 2>&1 | FileCheck %s --check-prefix=ALLOW
// ALLOW-NOT: error
// ALLOW: func.func @unread_rank0
// ALLOW: func.func @unread_rank1
// ALLOW-NOT: error

// Rows 2..3 of a 4x8 target: no sink writes them.
func.func @gap_rows() {
  %a = wl.source "a" : tensor<2x8xf32>
  // expected-error @+1 {{target 't': elements [2:4, 0:8] (16 elements) are written by no piece}}
  wl.sink %a "t" at [0, 0] of [4, 8] : tensor<2x8xf32>
  return
}

// -----

// Two partial sinks of a 2x8 target write columns 0..1 and 6..7: columns
// 2..5 of both rows are missing (one box: rows merge). The error is on the
// first sink of the name, with a note on each other one.
func.func @gap_columns() {
  %a = wl.source "a" : tensor<2x2xf32>
  %b = wl.source "b" : tensor<2x2xf32>
  // expected-error @+1 {{target 't': elements [0:2, 2:6] (8 elements) are written by no piece}}
  wl.sink %a "t" at [0, 0] of [2, 8] : tensor<2x2xf32>
  // expected-note @+1 {{'t' is also written here}}
  wl.sink %b "t" at [0, 6] of [2, 8] : tensor<2x2xf32>
  return
}

// -----

// A 4x8 target with its top-left and bottom-right quarters written: the
// top-right and bottom-left are missing.
func.func @gap_quarters() {
  %a = wl.source "a" : tensor<2x4xf32>
  %b = wl.source "b" : tensor<2x4xf32>
  // expected-error @+1 {{target 't': elements [0:2, 4:8], [2:4, 0:4] (16 elements) are written by no piece}}
  wl.sink %a "t" at [0, 0] of [4, 8] : tensor<2x4xf32>
  // expected-note @+1 {{'t' is also written here}}
  wl.sink %b "t" at [2, 4] of [4, 8] : tensor<2x4xf32>
  return
}

// -----

// Columns 2..3 of an 8-row target: one box over all rows, not one per row.
func.func @gap_many_boxes() {
  %a = wl.source "a" : tensor<8x2xf32>
  // expected-error @+1 {{target 't': elements [0:8, 2:4] (16 elements) are written by no piece}}
  wl.sink %a "t" at [0, 0] of [8, 4] : tensor<8x2xf32>
  return
}

// -----

// Columns 0..3, 2..3 and 4..5 of a 4x6 target: columns 2..3 twice.
func.func @overlap() {
  %a = wl.source "a" : tensor<4x4xf32>
  %b = wl.source "b" : tensor<4x2xf32>
  %c = wl.source "c" : tensor<4x2xf32>
  // expected-error @+1 {{target 't': elements [0:4, 2:4] (8 elements) are written more than once}}
  wl.sink %a "t" at [0, 0] of [4, 6] : tensor<4x4xf32>
  // expected-note @+1 {{'t' is also written here}}
  wl.sink %b "t" at [0, 2] of [4, 6] : tensor<4x2xf32>
  // expected-note @+1 {{'t' is also written here}}
  wl.sink %c "t" at [0, 4] of [4, 6] : tensor<4x2xf32>
  return
}

// -----

// Two whole sinks of one name write every element twice.
func.func @overlap_whole() {
  %a = wl.source "a" : tensor<2x4xf32>
  // expected-error @+1 {{target 't': elements [0:2, 0:4] (8 elements) are written more than once}}
  wl.sink %a "t" : tensor<2x4xf32>
  // expected-note @+1 {{'t' is also written here}}
  wl.sink %a "t" : tensor<2x4xf32>
  return
}

// -----

// Exactly once: a 2x8 target from two partial sinks, and padding written by
// a fill piece, pass.
func.func @exact() {
  %a = wl.source "a" : tensor<2x4xf32>
  %b = wl.source "b" : tensor<2x3xf32>
  %bp = wl.pad %b dim 1 low 0 high 1 : tensor<2x3xf32> -> tensor<2x4xf32>
  wl.sink %a "t" at [0, 0] of [2, 8] : tensor<2x4xf32>
  wl.sink %bp "t" at [0, 4] of [2, 8] : tensor<2x4xf32>
  return
}

// -----

// A correct TP=2 module: each rank reads half of the columns of w and writes
// its own target "w"; together they read all of w.
func.func @rank0() {
  %w = wl.source "w" : tensor<4x4xbf16>
  %r = wl.shard %w dim 1 count 2 index 0 : tensor<4x4xbf16> -> tensor<4x2xbf16>
  wl.sink %r "w" : tensor<4x2xbf16>
  return
}
func.func @rank1() {
  %w = wl.source "w" : tensor<4x4xbf16>
  %r = wl.shard %w dim 1 count 2 index 1 : tensor<4x4xbf16> -> tensor<4x2xbf16>
  wl.sink %r "w" : tensor<4x2xbf16>
  return
}

// -----

// Sinks of one name must agree on the target shape...
func.func @disagree_shape() {
  %a = wl.source "a" : tensor<2x4xf32>
  %b = wl.source "b" : tensor<2x4xf32>
  wl.sink %a "t" at [0, 0] of [4, 4] : tensor<2x4xf32>
  // expected-error @+1 {{'wl.sink' op writes 't' with another dtype or shape than an earlier wl.sink of that name}}
  wl.sink %b "t" at [0, 0] of [2, 8] : tensor<2x4xf32>
  return
}

// -----

// ... and on the dtype.
func.func @disagree_dtype() {
  %a = wl.source "a" : tensor<2x4xf32>
  %b = wl.source "b" : tensor<2x4xbf16>
  wl.sink %a "t" at [0, 0] of [4, 4] : tensor<2x4xf32>
  // expected-error @+1 {{'wl.sink' op writes 't' with another dtype or shape than an earlier wl.sink of that name}}
  wl.sink %b "t" at [2, 0] of [4, 4] : tensor<2x4xbf16>
  return
}

// -----

// Sources of one name in one function must agree on the type.
func.func @disagree_source() {
  %a = wl.source "a" : tensor<2x4xf32>
  // expected-error @+1 {{'wl.source' op reads 'a' with another type than an earlier wl.source}}
  %b = wl.source "a" : tensor<8xf32>
  wl.sink %a "t" : tensor<2x4xf32>
  wl.sink %b "u" : tensor<8xf32>
  return
}

// -----

// The functions of a module are the ranks of one mapping: they read one
// checkpoint, so a source name has one type in all of them.
func.func @rank0() {
  // expected-note @+1 {{first read here}}
  %a = wl.source "a" : tensor<4x4xf32>
  %r = wl.shard %a dim 0 count 2 index 0 : tensor<4x4xf32> -> tensor<2x4xf32>
  wl.sink %r "r" : tensor<2x4xf32>
  return
}
func.func @rank1() {
  // expected-error @+1 {{'a' is read with another type than in another function of the module}}
  %a = wl.source "a" : tensor<2x4xbf16>
  wl.sink %a "r" : tensor<2x4xbf16>
  return
}

// -----

//--- unread.mlir
// Rank 0 reads row 0 of w and rank 1 row 3: rows 1..2 are read by no function.
// The error is on the first wl.source of the name in the module.
func.func @unread_rank0() {
  // expected-error @+1 {{source 'w': elements [1:3, 0:4] (8 elements) are read by no piece (in any function of the module)}}
  %w = wl.source "w" : tensor<4x4xf32>
  %r = wl.shard %w dim 0 count 4 index 0 : tensor<4x4xf32> -> tensor<1x4xf32>
  wl.sink %r "r" : tensor<1x4xf32>
  return
}
func.func @unread_rank1() {
  %w = wl.source "w" : tensor<4x4xf32>
  %r = wl.shard %w dim 0 count 4 index 3 : tensor<4x4xf32> -> tensor<1x4xf32>
  wl.sink %r "r" : tensor<1x4xf32>
  return
}
