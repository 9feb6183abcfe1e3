// Round trip of every wl op: the custom form prints, re-parses and prints the
// same; the generic form re-parses to the same custom form.
// RUN: weight-layout-opt %s | weight-layout-opt | FileCheck %s
// RUN: weight-layout-opt %s --mlir-print-op-generic | weight-layout-opt | FileCheck %s

// CHECK-LABEL: func.func @io
func.func @io() {
  // CHECK: %[[Q:.*]] = wl.source "model.layers.0.self_attn.q_proj.weight" : tensor<8x4xbf16>
  %q = wl.source "model.layers.0.self_attn.q_proj.weight" : tensor<8x4xbf16>
  // CHECK: wl.sink %[[Q]] "model.layers.0.self_attn.qkv_proj.weight" : tensor<8x4xbf16>
  wl.sink %q "model.layers.0.self_attn.qkv_proj.weight" : tensor<8x4xbf16>
  // CHECK: wl.sink %[[Q]] "fused" at [4, 0] of [16, 4] : tensor<8x4xbf16>
  wl.sink %q "fused" at [4, 0] of [16, 4] : tensor<8x4xbf16>
  return
}

// Every safetensors element type is accepted.
// CHECK-LABEL: func.func @element_types
func.func @element_types() {
  // CHECK: tensor<2xbf16>
  %0 = wl.source "bf16" : tensor<2xbf16>
  // CHECK: tensor<2xf16>
  %1 = wl.source "f16" : tensor<2xf16>
  // CHECK: tensor<2xf32>
  %2 = wl.source "f32" : tensor<2xf32>
  // CHECK: tensor<2xf64>
  %3 = wl.source "f64" : tensor<2xf64>
  // CHECK: tensor<2xf8E4M3FN>
  %4 = wl.source "f8e4m3" : tensor<2xf8E4M3FN>
  // CHECK: tensor<2xf8E5M2>
  %5 = wl.source "f8e5m2" : tensor<2xf8E5M2>
  // CHECK: tensor<2xi1>
  %6 = wl.source "bool" : tensor<2xi1>
  // CHECK: tensor<2xi8>
  %7 = wl.source "i8" : tensor<2xi8>
  // CHECK: tensor<2xi16>
  %8 = wl.source "i16" : tensor<2xi16>
  // CHECK: tensor<2xi32>
  %9 = wl.source "i32" : tensor<2xi32>
  // CHECK: tensor<2xi64>
  %10 = wl.source "i64" : tensor<2xi64>
  // CHECK: tensor<2xui8>
  %11 = wl.source "u8" : tensor<2xui8>
  // CHECK: tensor<2xui16>
  %12 = wl.source "u16" : tensor<2xui16>
  // CHECK: tensor<2xui32>
  %13 = wl.source "u32" : tensor<2xui32>
  // CHECK: tensor<2xui64>
  %14 = wl.source "u64" : tensor<2xui64>
  // A scalar (rank 0) tensor.
  // CHECK: tensor<f32>
  %15 = wl.source "scalar" : tensor<f32>
  return
}

// CHECK-LABEL: func.func @slicing
func.func @slicing(%x: tensor<16x8xf32>) -> (tensor<4x3xf32>, tensor<2x8xf32>) {
  // CHECK: wl.slice %{{.*}} offsets [4, 1] sizes [4, 3] strides [2, 2] : tensor<16x8xf32> -> tensor<4x3xf32>
  %0 = wl.slice %x offsets [4, 1] sizes [4, 3] strides [2, 2] : tensor<16x8xf32> -> tensor<4x3xf32>
  // CHECK: wl.shard %{{.*}} dim 0 count 8 index 7 : tensor<16x8xf32> -> tensor<2x8xf32>
  %1 = wl.shard %x dim 0 count 8 index 7 : tensor<16x8xf32> -> tensor<2x8xf32>
  return %0, %1 : tensor<4x3xf32>, tensor<2x8xf32>
}

// CHECK-LABEL: func.func @concat_split
func.func @concat_split(%a: tensor<2x4xbf16>, %b: tensor<3x4xbf16>) -> (tensor<5x4xbf16>, tensor<1x4xbf16>) {
  // CHECK: wl.concat %{{.*}}, %{{.*}} dim 0 : (tensor<2x4xbf16>, tensor<3x4xbf16>) -> tensor<5x4xbf16>
  %0 = wl.concat %a, %b dim 0 : (tensor<2x4xbf16>, tensor<3x4xbf16>) -> tensor<5x4xbf16>
  // CHECK: wl.split %{{.*}} dim 0 sizes [1, 4, 0] : tensor<5x4xbf16> -> tensor<1x4xbf16>, tensor<4x4xbf16>, tensor<0x4xbf16>
  %1:3 = wl.split %0 dim 0 sizes [1, 4, 0] : tensor<5x4xbf16> -> tensor<1x4xbf16>, tensor<4x4xbf16>, tensor<0x4xbf16>
  return %0, %1#0 : tensor<5x4xbf16>, tensor<1x4xbf16>
}

// Megatron QKV: 4 query heads in 2 groups, head_dim 2.
// CHECK-LABEL: func.func @interleave
func.func @interleave(%q: tensor<8x4xbf16>, %k: tensor<4x4xbf16>, %v: tensor<4x4xbf16>) -> tensor<4x4xbf16> {
  // CHECK: wl.interleave %{{.*}}, %{{.*}}, %{{.*}} dim 0 groups 2 : (tensor<8x4xbf16>, tensor<4x4xbf16>, tensor<4x4xbf16>) -> tensor<16x4xbf16>
  %0 = wl.interleave %q, %k, %v dim 0 groups 2 : (tensor<8x4xbf16>, tensor<4x4xbf16>, tensor<4x4xbf16>) -> tensor<16x4xbf16>
  // CHECK: wl.deinterleave %{{.*}} dim 0 groups 2 sizes [8, 4, 4] : tensor<16x4xbf16> -> tensor<8x4xbf16>, tensor<4x4xbf16>, tensor<4x4xbf16>
  %1:3 = wl.deinterleave %0 dim 0 groups 2 sizes [8, 4, 4] : tensor<16x4xbf16> -> tensor<8x4xbf16>, tensor<4x4xbf16>, tensor<4x4xbf16>
  return %1#1 : tensor<4x4xbf16>
}

// CHECK-LABEL: func.func @shape
func.func @shape(%x: tensor<8x6xf16>) -> tensor<3x2x8xf16> {
  // CHECK: %[[R:.*]] = wl.reshape %{{.*}} : tensor<8x6xf16> -> tensor<8x2x3xf16>
  %0 = wl.reshape %x : tensor<8x6xf16> -> tensor<8x2x3xf16>
  // CHECK: wl.permute %[[R]] perm [2, 1, 0] : tensor<8x2x3xf16> -> tensor<3x2x8xf16>
  %1 = wl.permute %0 perm [2, 1, 0] : tensor<8x2x3xf16> -> tensor<3x2x8xf16>
  return %1 : tensor<3x2x8xf16>
}

// CHECK-LABEL: func.func @stack
func.func @stack(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>) -> tensor<3xf32> {
  // CHECK: wl.stack %{{.*}}, %{{.*}} dim 2 : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3x2xf32>
  %0 = wl.stack %a, %b dim 2 : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3x2xf32>
  // CHECK: wl.unstack %{{.*}} dim 0 : tensor<2x3x2xf32> -> tensor<3x2xf32>, tensor<3x2xf32>
  %1:2 = wl.unstack %0 dim 0 : tensor<2x3x2xf32> -> tensor<3x2xf32>, tensor<3x2xf32>
  // CHECK: wl.unstack %{{.*}} dim 1 : tensor<3x2xf32> -> tensor<3xf32>, tensor<3xf32>
  %2:2 = wl.unstack %1#0 dim 1 : tensor<3x2xf32> -> tensor<3xf32>, tensor<3xf32>
  return %2#1 : tensor<3xf32>
}

// CHECK-LABEL: func.func @values
func.func @values(%x: tensor<4x4xbf16>, %i: tensor<3xi32>) -> (tensor<8x4xbf16>, tensor<4x8xbf16>, tensor<5xi32>, tensor<4x4xf32>, tensor<4x4xbf16>, tensor<4x4xbf16>) {
  // CHECK: wl.pad %{{.*}} dim 0 low 1 high 3 : tensor<4x4xbf16> -> tensor<8x4xbf16>
  %0 = wl.pad %x dim 0 low 1 high 3 : tensor<4x4xbf16> -> tensor<8x4xbf16>
  // CHECK: wl.pad %{{.*}} dim 1 low 0 high 4 value -1.500000e+00 : bf16 : tensor<4x4xbf16> -> tensor<4x8xbf16>
  %1 = wl.pad %x dim 1 low 0 high 4 value -1.5 : bf16 : tensor<4x4xbf16> -> tensor<4x8xbf16>
  // CHECK: wl.pad %{{.*}} dim 0 low 2 high 0 value -7 : i32 : tensor<3xi32> -> tensor<5xi32>
  %2 = wl.pad %i dim 0 low 2 high 0 value -7 : i32 : tensor<3xi32> -> tensor<5xi32>
  // CHECK: wl.cast %{{.*}} : tensor<4x4xbf16> -> tensor<4x4xf32>
  %3 = wl.cast %x : tensor<4x4xbf16> -> tensor<4x4xf32>
  // CHECK: wl.affine %{{.*}} offset -1.000000e+00 : tensor<4x4xbf16>
  %4 = wl.affine %x offset -1.0 : tensor<4x4xbf16>
  // CHECK: wl.affine %{{.*}} scale 5.000000e-01 offset 2.500000e-01 : tensor<4x4xbf16>
  %5 = wl.affine %x scale 0.5 offset 0.25 : tensor<4x4xbf16>
  return %0, %1, %2, %3, %4, %5 : tensor<8x4xbf16>, tensor<4x8xbf16>, tensor<5xi32>, tensor<4x4xf32>, tensor<4x4xbf16>, tensor<4x4xbf16>
}

// A NaN fill round-trips through its hexadecimal form.
// CHECK-LABEL: func.func @nan_fill
func.func @nan_fill(%x: tensor<2xf32>) -> tensor<3xf32> {
  // CHECK: wl.pad %{{.*}} dim 0 low 0 high 1 value 0x7FC00000 : f32
  %0 = wl.pad %x dim 0 low 0 high 1 value 0x7FC00000 : f32 : tensor<2xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
