//===- WLInterfaces.h - what every data-movement op defines -----*- C++ -*-===//
//
// DataMovementOp (WLInterfaces.td) and the element-by-element tensor that
// its `evaluate` method and the reference interpreter work on.
//
//===----------------------------------------------------------------------===//
#ifndef WL_IR_WLINTERFACES_H
#define WL_IR_WLINTERFACES_H

#include "wl/Layout/Region.h"

#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/Types.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>
#include <vector>

namespace wl {

/// A tensor as one bit pattern per element (low bits of each uint64_t),
/// row-major.
struct ElementTensor {
  mlir::Type elementType;
  std::vector<int64_t> shape;
  std::vector<uint64_t> bits;
};

/// Row-major coordinates of an ElementTensor, for `evaluate` and the
/// interpreter.
namespace eval {
using Coords = std::vector<int64_t>;
/// Elements of a tensor of `shape`.
int64_t count(const Coords &shape);
/// The coordinates of row-major flat index `i`, and back.
Coords unflat(const Coords &shape, int64_t i);
int64_t flat(const Coords &shape, const Coords &c);
} // namespace eval

} // namespace wl

#include "wl/IR/WLInterfaces.h.inc"

#endif // WL_IR_WLINTERFACES_H
