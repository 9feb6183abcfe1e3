// --wl-detect-aliases: wl.alias = {source, offset} on a sink whose target is
// one unconverted contiguous run of one source of the same dtype (offset in
// elements, row-major).
// RUN: weight-layout-opt %s --wl-detect-aliases | FileCheck %s

// CHECK-LABEL: func.func @aliases
func.func @aliases() {
  %w = wl.source "w" : tensor<4x4xbf16>
  // The whole source.
  // CHECK: wl.sink %{{.*}} "copy" {wl.alias = {offset = 0 : i64, source = "w"}} : tensor<4x4xbf16>
  wl.sink %w "copy" : tensor<4x4xbf16>
  // Row 3 of 4: elements 12..15.
  // CHECK: wl.sink %{{.*}} "last_row" {wl.alias = {offset = 12 : i64, source = "w"}} : tensor<1x4xbf16>
  %r = wl.shard %w dim 0 count 4 index 3 : tensor<4x4xbf16> -> tensor<1x4xbf16>
  wl.sink %r "last_row" : tensor<1x4xbf16>
  // Rows 2..3 of 4, seen as a flat vector: elements 8..15.
  // CHECK: wl.sink %{{.*}} "rows_flat" {wl.alias = {offset = 8 : i64, source = "w"}} : tensor<8xbf16>
  %h = wl.shard %w dim 0 count 2 index 1 : tensor<4x4xbf16> -> tensor<2x4xbf16>
  %f = wl.reshape %h : tensor<2x4xbf16> -> tensor<8xbf16>
  wl.sink %f "rows_flat" : tensor<8xbf16>
  // A row of the unstacked layers of a stacked source: s[1] is elements 8..15.
  // CHECK: wl.sink %{{.*}} "layer1" {wl.alias = {offset = 8 : i64, source = "s"}} : tensor<2x4xbf16>
  %s = wl.source "s" : tensor<2x2x4xbf16>
  %l:2 = wl.unstack %s dim 0 : tensor<2x2x4xbf16> -> tensor<2x4xbf16>, tensor<2x4xbf16>
  wl.sink %l#1 "layer1" : tensor<2x4xbf16>
  // A target assembled by two partial sinks from neighbouring rows of one
  // source is still one run: both sinks are marked.
  // CHECK: wl.sink %{{.*}} "halves" at [0, 0] of [4, 4] {wl.alias = {offset = 0 : i64, source = "w"}} : tensor<2x4xbf16>
  // CHECK: wl.sink %{{.*}} "halves" at [2, 0] of [4, 4] {wl.alias = {offset = 0 : i64, source = "w"}} : tensor<2x4xbf16>
  %top, %bottom = wl.split %w dim 0 sizes [2, 2] : tensor<4x4xbf16> -> tensor<2x4xbf16>, tensor<2x4xbf16>
  wl.sink %top "halves" at [0, 0] of [4, 4] : tensor<2x4xbf16>
  wl.sink %bottom "halves" at [2, 0] of [4, 4] : tensor<2x4xbf16>
  return
}

// CHECK-LABEL: func.func @no_aliases
func.func @no_aliases() {
  %w = wl.source "w" : tensor<4x4xbf16>
  %v = wl.source "v" : tensor<4x4xbf16>
  // Columns 0..1: four runs of 2, not one.
  // CHECK: wl.sink %{{.*}} "cols" : tensor<4x2xbf16>
  %c = wl.shard %w dim 1 count 2 index 0 : tensor<4x4xbf16> -> tensor<4x2xbf16>
  wl.sink %c "cols" : tensor<4x2xbf16>
  // Converted elements are not a view.
  // CHECK: wl.sink %{{.*}} "cast" : tensor<4x4xf32>
  %x = wl.cast %w : tensor<4x4xbf16> -> tensor<4x4xf32>
  wl.sink %x "cast" : tensor<4x4xf32>
  // CHECK: wl.sink %{{.*}} "affine" : tensor<4x4xbf16>
  %a = wl.affine %w offset -1.0 : tensor<4x4xbf16>
  wl.sink %a "affine" : tensor<4x4xbf16>
  // Two sources.
  // CHECK: wl.sink %{{.*}} "cat" : tensor<8x4xbf16>
  %cat = wl.concat %w, %v dim 0 : (tensor<4x4xbf16>, tensor<4x4xbf16>) -> tensor<8x4xbf16>
  wl.sink %cat "cat" : tensor<8x4xbf16>
  // A transpose.
  // CHECK: wl.sink %{{.*}} "t" : tensor<4x4xbf16>
  %t = wl.permute %w perm [1, 0] : tensor<4x4xbf16> -> tensor<4x4xbf16>
  wl.sink %t "t" : tensor<4x4xbf16>
  // Padding is not in the source.
  // CHECK: wl.sink %{{.*}} "padded" : tensor<5x4xbf16>
  %p = wl.pad %w dim 0 low 0 high 1 : tensor<4x4xbf16> -> tensor<5x4xbf16>
  wl.sink %p "padded" : tensor<5x4xbf16>
  // CHECK-NOT: wl.alias
  return
}
