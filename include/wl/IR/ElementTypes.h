//===- ElementTypes.h - facts about wl element types ------------*- C++ -*-===//
#ifndef WL_IR_ELEMENTTYPES_H
#define WL_IR_ELEMENTTYPES_H

#include "mlir/IR/Types.h"

namespace wl {

/// True when wl.cast from `from` to `to` keeps every value of `from` exactly
/// (so a later cast from `to` gives what a cast from `from` would). Integer
/// values are signed for iN (N > 1) and unsigned for i1 and uiN; float to
/// integer is never exact.
bool isExactConversion(mlir::Type from, mlir::Type to);

} // namespace wl

#endif // WL_IR_ELEMENTTYPES_H
