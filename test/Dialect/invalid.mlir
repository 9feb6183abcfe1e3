// Every verifier branch of the wl ops, each with the message it must give.
// RUN: weight-layout-opt %s --split-input-file --verify-diagnostics

//===----------------------------------------------------------------------===//
// wl.source, wl.sink
//===----------------------------------------------------------------------===//

func.func @source_empty_name() {
  // expected-error @+1 {{'wl.source' op needs a non-empty tensor name}}
  %0 = wl.source "" : tensor<2xf32>
  return
}

// -----

func.func @source_dynamic_shape() {
  // expected-error @+1 {{'wl.source' op result #0 must be statically shaped tensor of safetensors element type values}}
  %0 = wl.source "x" : tensor<?xf32>
  return
}

// -----

func.func @source_unknown_element_type() {
  // expected-error @+1 {{'wl.source' op result #0 must be statically shaped tensor of safetensors element type values}}
  %0 = wl.source "x" : tensor<2xcomplex<f32>>
  return
}

// -----

func.func @sink_empty_name(%x: tensor<2xf32>) {
  // expected-error @+1 {{'wl.sink' op needs a non-empty tensor name}}
  wl.sink %x "" : tensor<2xf32>
  return
}

// -----

func.func @sink_box_rank(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'wl.sink' op has 1 offsets and a target shape of rank 2 for an input of rank 2}}
  wl.sink %x "t" at [0] of [4, 3] : tensor<2x3xf32>
  return
}

// -----

func.func @sink_box_outside(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'wl.sink' op writes [3, 5) of dimension 0, beyond the target size 4}}
  wl.sink %x "t" at [3, 0] of [4, 3] : tensor<2x3xf32>
  return
}

// -----

func.func @sink_box_negative(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'wl.sink' op offset and target size of dimension 1 must be non-negative}}
  wl.sink %x "t" at [0, -1] of [4, 3] : tensor<2x3xf32>
  return
}

// -----

func.func @sink_box_half(%x: tensor<2xf32>) {
  // expected-error @+1 {{'wl.sink' op needs both 'offsets' and 'target_shape', or neither}}
  "wl.sink"(%x) <{name = "t", offsets = array<i64: 0>}> : (tensor<2xf32>) -> ()
  return
}

// -----

//===----------------------------------------------------------------------===//
// wl.slice
//===----------------------------------------------------------------------===//

func.func @slice_offsets_count(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{'wl.slice' op expected 2 offsets (one per input dimension), got 1}}
  %0 = wl.slice %x offsets [0] sizes [1, 1] strides [1, 1] : tensor<4x4xf32> -> tensor<1x1xf32>
  return
}

// -----

func.func @slice_sizes_count(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{'wl.slice' op expected 2 sizes (one per input dimension), got 3}}
  %0 = wl.slice %x offsets [0, 0] sizes [1, 1, 1] strides [1, 1] : tensor<4x4xf32> -> tensor<1x1xf32>
  return
}

// -----

func.func @slice_strides_count(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{'wl.slice' op expected 2 strides (one per input dimension), got 0}}
  %0 = wl.slice %x offsets [0, 0] sizes [1, 1] strides [] : tensor<4x4xf32> -> tensor<1x1xf32>
  return
}

// -----

func.func @slice_negative_offset(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{'wl.slice' op offset -1 in dimension 1 is negative}}
  %0 = wl.slice %x offsets [0, -1] sizes [1, 1] strides [1, 1] : tensor<4x4xf32> -> tensor<1x1xf32>
  return
}

// -----

func.func @slice_negative_size(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{'wl.slice' op size -2 in dimension 0 is negative}}
  %0 = wl.slice %x offsets [0, 0] sizes [-2, 1] strides [1, 1] : tensor<4x4xf32> -> tensor<1x1xf32>
  return
}

// -----

func.func @slice_zero_stride(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{'wl.slice' op stride 0 in dimension 1 must be at least 1}}
  %0 = wl.slice %x offsets [0, 0] sizes [1, 1] strides [1, 0] : tensor<4x4xf32> -> tensor<1x1xf32>
  return
}

// -----

func.func @slice_empty_past_end(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{'wl.slice' op offset 5 in dimension 0 is past the input size 4}}
  %0 = wl.slice %x offsets [5, 0] sizes [0, 1] strides [1, 1] : tensor<4x4xf32> -> tensor<0x1xf32>
  return
}

// -----

func.func @slice_reads_past_end(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'wl.slice' op dimension 1 reads up to index offset 2 + (size 3 - 1) * stride 3, past the input size 8}}
  %0 = wl.slice %x offsets [0, 2] sizes [4, 3] strides [1, 3] : tensor<4x8xf32> -> tensor<4x3xf32>
  return
}

// -----

func.func @slice_overflow(%x: tensor<4xf32>) {
  // expected-error @+1 {{'wl.slice' op dimension 0 reads up to index offset 0 + (size 2 - 1) * stride 9223372036854775807, past the input size 4}}
  %0 = wl.slice %x offsets [0] sizes [2] strides [9223372036854775807] : tensor<4xf32> -> tensor<2xf32>
  return
}

// -----

func.func @slice_wrong_result_type(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{'wl.slice' op result #0 has type 'tensor<2x3xf32>', but its operands and attributes give 'tensor<2x2xf32>'}}
  %0 = wl.slice %x offsets [0, 0] sizes [2, 2] strides [1, 1] : tensor<4x4xf32> -> tensor<2x3xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// wl.shard
//===----------------------------------------------------------------------===//

func.func @shard_dim(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{'wl.shard' op dim 2 is out of range for a tensor of rank 2 (expected 0 <= dim < 2)}}
  %0 = wl.shard %x dim 2 count 2 index 0 : tensor<4x4xf32> -> tensor<2x4xf32>
  return
}

// -----

func.func @shard_negative_dim(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{'wl.shard' op dim -1 is out of range for a tensor of rank 2 (expected 0 <= dim < 2)}}
  %0 = wl.shard %x dim -1 count 2 index 0 : tensor<4x4xf32> -> tensor<2x4xf32>
  return
}

// -----

func.func @shard_count(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{'wl.shard' op count 0 must be at least 1}}
  %0 = wl.shard %x dim 0 count 0 index 0 : tensor<4x4xf32> -> tensor<2x4xf32>
  return
}

// -----

func.func @shard_index(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{'wl.shard' op index 2 is out of range for count 2 (expected 0 <= index < 2)}}
  %0 = wl.shard %x dim 0 count 2 index 2 : tensor<4x4xf32> -> tensor<2x4xf32>
  return
}

// -----

func.func @shard_not_divisible(%x: tensor<6x4xf32>) {
  // expected-error @+1 {{'wl.shard' op size 6 of dimension 0 is not divisible by count 4}}
  %0 = wl.shard %x dim 0 count 4 index 0 : tensor<6x4xf32> -> tensor<1x4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// wl.concat
//===----------------------------------------------------------------------===//

func.func @concat_no_operands() {
  // expected-error @+1 {{'wl.concat' op needs at least one operand}}
  %0 = wl.concat dim 0 : () -> tensor<0xf32>
  return
}

// -----

func.func @concat_element_type(%a: tensor<2xf32>, %b: tensor<2xbf16>) {
  // expected-error @+1 {{'wl.concat' op operand #1 has element type 'bf16', but operand #0 has 'f32'}}
  %0 = wl.concat %a, %b dim 0 : (tensor<2xf32>, tensor<2xbf16>) -> tensor<4xf32>
  return
}

// -----

func.func @concat_rank(%a: tensor<2xf32>, %b: tensor<2x1xf32>) {
  // expected-error @+1 {{'wl.concat' op operand #1 has rank 2, but operand #0 has rank 1}}
  %0 = wl.concat %a, %b dim 0 : (tensor<2xf32>, tensor<2x1xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @concat_other_dim(%a: tensor<2x4xf32>, %b: tensor<3x5xf32>) {
  // expected-error @+1 {{'wl.concat' op operand #1 has size 5 in dimension 1, but operand #0 has size 4}}
  %0 = wl.concat %a, %b dim 0 : (tensor<2x4xf32>, tensor<3x5xf32>) -> tensor<5x4xf32>
  return
}

// -----

func.func @concat_dim(%a: tensor<2x4xf32>, %b: tensor<3x4xf32>) {
  // expected-error @+1 {{'wl.concat' op dim 2 is out of range for a tensor of rank 2 (expected 0 <= dim < 2)}}
  %0 = wl.concat %a, %b dim 2 : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<5x4xf32>
  return
}

// -----

func.func @concat_overflow(%a: tensor<4611686018427387904xi8>) {
  // expected-error @+1 {{'wl.concat' op total size in dimension 0 overflows int64}}
  %0 = wl.concat %a, %a dim 0 : (tensor<4611686018427387904xi8>, tensor<4611686018427387904xi8>) -> tensor<1xi8>
  return
}

// -----

func.func @concat_wrong_result_type(%a: tensor<2x4xf32>, %b: tensor<3x4xf32>) {
  // expected-error @+1 {{'wl.concat' op result #0 has type 'tensor<6x4xf32>', but its operands and attributes give 'tensor<5x4xf32>'}}
  %0 = wl.concat %a, %b dim 0 : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<6x4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// wl.split
//===----------------------------------------------------------------------===//

func.func @split_dim(%x: tensor<4xf32>) {
  // expected-error @+1 {{'wl.split' op dim 1 is out of range for a tensor of rank 1 (expected 0 <= dim < 1)}}
  %0:2 = wl.split %x dim 1 sizes [2, 2] : tensor<4xf32> -> tensor<2xf32>, tensor<2xf32>
  return
}

// -----

func.func @split_no_sizes(%x: tensor<4xf32>) {
  // expected-error @+1 {{'wl.split' op needs at least one size}}
  "wl.split"(%x) <{dim = 0 : i64, sizes = array<i64>}> : (tensor<4xf32>) -> ()
  return
}

// -----

func.func @split_negative_size(%x: tensor<4xf32>) {
  // expected-error @+1 {{'wl.split' op size -1 of result #0 is negative}}
  %0:2 = wl.split %x dim 0 sizes [-1, 5] : tensor<4xf32> -> tensor<1xf32>, tensor<5xf32>
  return
}

// -----

func.func @split_sum(%x: tensor<6x2xf32>) {
  // expected-error @+1 {{'wl.split' op sizes [2, 3] sum to 5, but dimension 0 has size 6}}
  %0:2 = wl.split %x dim 0 sizes [2, 3] : tensor<6x2xf32> -> tensor<2x2xf32>, tensor<3x2xf32>
  return
}

// -----

func.func @split_overflow(%x: tensor<4xf32>) {
  // expected-error @+1 {{'wl.split' op sizes overflow int64}}
  %0:2 = wl.split %x dim 0 sizes [9223372036854775807, 9223372036854775807] : tensor<4xf32> -> tensor<1xf32>, tensor<1xf32>
  return
}

// -----

func.func @split_wrong_result_count(%x: tensor<4xf32>) {
  // expected-error @+1 {{'wl.split' op has 3 result(s), but its operands and attributes give 2}}
  %0:3 = wl.split %x dim 0 sizes [2, 2] : tensor<4xf32> -> tensor<2xf32>, tensor<1xf32>, tensor<1xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// wl.interleave
//===----------------------------------------------------------------------===//

func.func @interleave_dim(%a: tensor<4xf32>) {
  // expected-error @+1 {{'wl.interleave' op dim 1 is out of range for a tensor of rank 1 (expected 0 <= dim < 1)}}
  %0 = wl.interleave %a, %a dim 1 groups 2 : (tensor<4xf32>, tensor<4xf32>) -> tensor<8xf32>
  return
}

// -----

func.func @interleave_groups(%a: tensor<4xf32>) {
  // expected-error @+1 {{'wl.interleave' op groups 0 must be at least 1}}
  %0 = wl.interleave %a, %a dim 0 groups 0 : (tensor<4xf32>, tensor<4xf32>) -> tensor<8xf32>
  return
}

// -----

func.func @interleave_not_divisible(%a: tensor<4x2xf32>, %b: tensor<6x2xf32>) {
  // expected-error @+1 {{'wl.interleave' op operand #1 has size 6 in dimension 0, which is not divisible by groups 4}}
  %0 = wl.interleave %a, %b dim 0 groups 4 : (tensor<4x2xf32>, tensor<6x2xf32>) -> tensor<10x2xf32>
  return
}

// -----

func.func @interleave_operands_disagree(%a: tensor<4x2xf32>, %b: tensor<4x3xf32>) {
  // expected-error @+1 {{'wl.interleave' op operand #1 has size 3 in dimension 1, but operand #0 has size 2}}
  %0 = wl.interleave %a, %b dim 0 groups 2 : (tensor<4x2xf32>, tensor<4x3xf32>) -> tensor<8x2xf32>
  return
}

// -----

func.func @interleave_overflow(%a: tensor<4611686018427387904xi8>) {
  // expected-error @+1 {{'wl.interleave' op total size in dimension 0 overflows int64}}
  %0 = wl.interleave %a, %a dim 0 groups 2 : (tensor<4611686018427387904xi8>, tensor<4611686018427387904xi8>) -> tensor<1xi8>
  return
}

// -----

//===----------------------------------------------------------------------===//
// wl.deinterleave
//===----------------------------------------------------------------------===//

func.func @deinterleave_dim(%x: tensor<8xf32>) {
  // expected-error @+1 {{'wl.deinterleave' op dim -2 is out of range for a tensor of rank 1 (expected 0 <= dim < 1)}}
  %0:2 = wl.deinterleave %x dim -2 groups 2 sizes [4, 4] : tensor<8xf32> -> tensor<4xf32>, tensor<4xf32>
  return
}

// -----

func.func @deinterleave_groups(%x: tensor<8xf32>) {
  // expected-error @+1 {{'wl.deinterleave' op groups -1 must be at least 1}}
  %0:2 = wl.deinterleave %x dim 0 groups -1 sizes [4, 4] : tensor<8xf32> -> tensor<4xf32>, tensor<4xf32>
  return
}

// -----

func.func @deinterleave_no_sizes(%x: tensor<8xf32>) {
  // expected-error @+1 {{'wl.deinterleave' op needs at least one size}}
  "wl.deinterleave"(%x) <{dim = 0 : i64, groups = 2 : i64, sizes = array<i64>}> : (tensor<8xf32>) -> ()
  return
}

// -----

func.func @deinterleave_negative_size(%x: tensor<8xf32>) {
  // expected-error @+1 {{'wl.deinterleave' op size -2 of result #1 is negative}}
  %0:2 = wl.deinterleave %x dim 0 groups 2 sizes [10, -2] : tensor<8xf32> -> tensor<10xf32>, tensor<2xf32>
  return
}

// -----

func.func @deinterleave_not_divisible(%x: tensor<8xf32>) {
  // expected-error @+1 {{'wl.deinterleave' op size 3 of result #1 is not divisible by groups 2}}
  %0:2 = wl.deinterleave %x dim 0 groups 2 sizes [4, 3] : tensor<8xf32> -> tensor<4xf32>, tensor<3xf32>
  return
}

// -----

func.func @deinterleave_sum(%x: tensor<8xf32>) {
  // expected-error @+1 {{'wl.deinterleave' op sizes [2, 4] sum to 6, but dimension 0 has size 8}}
  %0:2 = wl.deinterleave %x dim 0 groups 2 sizes [2, 4] : tensor<8xf32> -> tensor<2xf32>, tensor<4xf32>
  return
}

// -----

func.func @deinterleave_overflow(%x: tensor<8xf32>) {
  // expected-error @+1 {{'wl.deinterleave' op sizes overflow int64}}
  %0:2 = wl.deinterleave %x dim 0 groups 1 sizes [9223372036854775807, 9223372036854775807] : tensor<8xf32> -> tensor<4xf32>, tensor<4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// wl.reshape
//===----------------------------------------------------------------------===//

func.func @reshape_element_type(%x: tensor<4xbf16>) {
  // expected-error @+1 {{'wl.reshape' op changes the element type from 'bf16' to 'f32'; use wl.cast to convert values}}
  %0 = wl.reshape %x : tensor<4xbf16> -> tensor<2x2xf32>
  return
}

// -----

func.func @reshape_count(%x: tensor<4x8xbf16>) {
  // expected-error @+1 {{'wl.reshape' op input has 32 elements (shape [4, 8]), but the result has 30 (shape [5, 6])}}
  %0 = wl.reshape %x : tensor<4x8xbf16> -> tensor<5x6xbf16>
  return
}

// -----

func.func @reshape_overflow(%x: tensor<4611686018427387904x4xi8>) {
  // expected-error @+1 {{'wl.reshape' op element count overflows int64}}
  %0 = wl.reshape %x : tensor<4611686018427387904x4xi8> -> tensor<4xi8>
  return
}

// -----

//===----------------------------------------------------------------------===//
// wl.permute
//===----------------------------------------------------------------------===//

func.func @permute_length(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'wl.permute' op perm has 3 entries, but the input has rank 2}}
  %0 = wl.permute %x perm [0, 1, 2] : tensor<2x3xf32> -> tensor<2x3xf32>
  return
}

// -----

func.func @permute_range(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'wl.permute' op perm entry 2 is out of range for rank 2}}
  %0 = wl.permute %x perm [2, 0] : tensor<2x3xf32> -> tensor<3x2xf32>
  return
}

// -----

func.func @permute_duplicate(%x: tensor<2x3x4xf32>) {
  // expected-error @+1 {{'wl.permute' op perm [1, 0, 1] names dimension 1 twice}}
  %0 = wl.permute %x perm [1, 0, 1] : tensor<2x3x4xf32> -> tensor<3x2x3xf32>
  return
}

// -----

func.func @permute_wrong_result_type(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'wl.permute' op result #0 has type 'tensor<2x3xf32>', but its operands and attributes give 'tensor<3x2xf32>'}}
  %0 = wl.permute %x perm [1, 0] : tensor<2x3xf32> -> tensor<2x3xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// wl.stack, wl.unstack
//===----------------------------------------------------------------------===//

func.func @stack_no_operands() {
  // expected-error @+1 {{'wl.stack' op needs at least one operand}}
  %0 = wl.stack dim 0 : () -> tensor<0xf32>
  return
}

// -----

func.func @stack_different_shapes(%a: tensor<2x3xf32>, %b: tensor<3x3xf32>) {
  // expected-error @+1 {{'wl.stack' op operand #1 has size 3 in dimension 0, but operand #0 has size 2}}
  %0 = wl.stack %a, %b dim 0 : (tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<2x2x3xf32>
  return
}

// -----

func.func @stack_dim(%a: tensor<2x3xf32>) {
  // expected-error @+1 {{'wl.stack' op dim 3 is out of range for stacking tensors of rank 2 (expected 0 <= dim <= 2)}}
  %0 = wl.stack %a, %a dim 3 : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3x2xf32>
  return
}

// -----

func.func @unstack_dim(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'wl.unstack' op dim 2 is out of range for a tensor of rank 2 (expected 0 <= dim < 2)}}
  %0:2 = wl.unstack %x dim 2 : tensor<2x3xf32> -> tensor<3xf32>, tensor<3xf32>
  return
}

// -----

func.func @unstack_result_count(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'wl.unstack' op has 1 result(s), but its operands and attributes give 2}}
  %0 = wl.unstack %x dim 0 : tensor<2x3xf32> -> tensor<3xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// wl.pad
//===----------------------------------------------------------------------===//

func.func @pad_dim(%x: tensor<4xf32>) {
  // expected-error @+1 {{'wl.pad' op dim 1 is out of range for a tensor of rank 1 (expected 0 <= dim < 1)}}
  %0 = wl.pad %x dim 1 low 0 high 4 : tensor<4xf32> -> tensor<8xf32>
  return
}

// -----

func.func @pad_low(%x: tensor<4xf32>) {
  // expected-error @+1 {{'wl.pad' op low -1 is negative}}
  %0 = wl.pad %x dim 0 low -1 high 4 : tensor<4xf32> -> tensor<7xf32>
  return
}

// -----

func.func @pad_high(%x: tensor<4xf32>) {
  // expected-error @+1 {{'wl.pad' op high -4 is negative}}
  %0 = wl.pad %x dim 0 low 0 high -4 : tensor<4xf32> -> tensor<0xf32>
  return
}

// -----

func.func @pad_overflow(%x: tensor<4xf32>) {
  // expected-error @+1 {{'wl.pad' op padded size of dimension 0 overflows int64}}
  %0 = wl.pad %x dim 0 low 0 high 9223372036854775807 : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @pad_value_type(%x: tensor<4xbf16>) {
  // expected-error @+1 {{'wl.pad' op fill value has type 'f32', but the tensor holds 'bf16'}}
  %0 = wl.pad %x dim 0 low 0 high 4 value 1.0 : f32 : tensor<4xbf16> -> tensor<8xbf16>
  return
}

// -----

func.func @pad_value_not_a_number(%x: tensor<4xbf16>) {
  // expected-error @+1 {{expected a typed number such as `1.0 : bf16`}}
  %0 = wl.pad %x dim 0 low 0 high 4 value "one" : tensor<4xbf16> -> tensor<8xbf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// wl.cast, wl.affine
//===----------------------------------------------------------------------===//

func.func @cast_shape(%x: tensor<4xbf16>) {
  // expected-error @+1 {{'wl.cast' op result shape [2, 2] differs from the input shape [4]; a cast converts values only}}
  %0 = wl.cast %x : tensor<4xbf16> -> tensor<2x2xf32>
  return
}

// -----

func.func @cast_float_to_int(%x: tensor<4xbf16>) {
  // expected-error @+1 {{'wl.cast' op cannot convert float 'bf16' to integer 'i32': fractions would be dropped silently}}
  %0 = wl.cast %x : tensor<4xbf16> -> tensor<4xi32>
  return
}

// -----

func.func @affine_integer(%x: tensor<4xi32>) {
  // expected-error @+1 {{'wl.affine' op works on float tensors, but the tensor holds 'i32'}}
  %0 = wl.affine %x offset 1.0 : tensor<4xi32>
  return
}

// -----

func.func @affine_scale_not_finite(%x: tensor<4xf32>) {
  // expected-error @+1 {{'wl.affine' op scale must be finite}}
  %0 = wl.affine %x scale 0x7FF0000000000000 : tensor<4xf32>
  return
}

// -----

func.func @affine_offset_not_finite(%x: tensor<4xf32>) {
  // expected-error @+1 {{'wl.affine' op offset must be finite}}
  %0 = wl.affine %x offset 0x7FF8000000000000 : tensor<4xf32>
  return
}

// -----

func.func @interleave_no_operands() {
  // expected-error @+1 {{'wl.interleave' op needs at least one operand}}
  %0 = wl.interleave dim 0 groups 2 : () -> tensor<0xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Generic forms that skip the custom parser
//===----------------------------------------------------------------------===//

func.func @generic_missing_attribute(%x: tensor<4xf32>) {
  // expected-error @+1 {{'wl.shard' op requires attribute 'count'}}
  %0 = "wl.shard"(%x) <{dim = 0 : i64, index = 0 : i64}> : (tensor<4xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @generic_wrong_attribute_kind(%x: tensor<4xf32>) {
  // expected-error @+1 {{invalid properties {dim = "zero"} for op wl.concat: Invalid attribute `dim` in property conversion: "zero"}}
  %0 = "wl.concat"(%x) <{dim = "zero"}> : (tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @generic_missing_operand() {
  // expected-error @+1 {{'wl.sink' op requires a single operand}}
  "wl.sink"() <{name = "x"}> : () -> ()
  return
}

// -----

func.func @generic_pad_value_kind(%x: tensor<4xf32>) {
  // expected-error @+1 {{'wl.pad' op fill value has type 'none', but the tensor holds 'f32'}}
  %0 = "wl.pad"(%x) <{dim = 0 : i64, low = 0 : i64, high = 1 : i64, value = "one"}> : (tensor<4xf32>) -> tensor<5xf32>
  return
}
