// Malformed IR ends with a located diagnostic (file:line:col) and a non-zero
// exit, not a crash: `not` fails the test if the tool exits 0 or dies from a
// signal.
// RUN: split-file --leading-lines %s %t
// RUN: not weight-layout-opt %t/unknown_op.mlir 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not weight-layout-opt %t/missing_keyword.mlir 2>&1 | FileCheck %s --check-prefix=KEYWORD
// RUN: not weight-layout-opt %t/invalid_op.mlir 2>&1 | FileCheck %s --check-prefix=INVALID
// RUN: not weight-layout-opt %t/undefined_value.mlir 2>&1 | FileCheck %s --check-prefix=UNDEFINED
// RUN: not weight-layout-opt %t/truncated.mlir 2>&1 | FileCheck %s --check-prefix=TRUNCATED
// RUN: not weight-layout-opt %t/does-not-exist.mlir 2>&1 | FileCheck %s --check-prefix=MISSING

//--- unknown_op.mlir
// UNKNOWN: unknown_op.mlir:[[@LINE+2]]:8: error: custom op 'wl.frobnicate' is unknown
func.func @unknown_op(%x: tensor<4xf32>) {
  %0 = wl.frobnicate %x : tensor<4xf32>
  return
}

//--- missing_keyword.mlir
// KEYWORD: missing_keyword.mlir:[[@LINE+2]]:26: error: custom op 'wl.shard' expected 'count'
func.func @missing_keyword(%x: tensor<4xf32>) {
  %0 = wl.shard %x dim 0 index 0 : tensor<4xf32> -> tensor<4xf32>
  return
}

//--- invalid_op.mlir
// INVALID: invalid_op.mlir:[[@LINE+2]]:8: error: 'wl.shard' op size 4 of dimension 0 is not divisible by count 3
func.func @invalid_op(%x: tensor<4xf32>) {
  %0 = wl.shard %x dim 0 count 3 index 0 : tensor<4xf32> -> tensor<1xf32>
  return
}

//--- undefined_value.mlir
// UNDEFINED: undefined_value.mlir:[[@LINE+2]]:11: error: use of undeclared SSA value name
func.func @undefined_value() {
  wl.sink %nothing "x" : tensor<4xf32>
  return
}

//--- truncated.mlir
// TRUNCATED: truncated.mlir:{{[0-9]+}}:{{[0-9]+}}: error:
func.func @truncated(%x: tensor<4xf32>) {
  %0 = wl.slice %x offsets [0] sizes [2
//--- does-not-exist.txt
// MISSING: cannot open input file '{{.*}}does-not-exist.mlir': No such file or directory
