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

} // namespace wl

#include "wl/IR/WLInterfaces.h.inc"

#endif // WL_IR_WLINTERFACES_H
