//===- ElementTypes.h - wl element types and layout::DType ------*- C++ -*-===//
//
// The one place where the element types of `wl` IR (MLIR builtin types) and
// the runtime's layout::DType meet: the frontend, the lowering to plans, the
// plans' IR and the canonicalizer all convert through these functions.
//
//===----------------------------------------------------------------------===//
#ifndef WL_IR_ELEMENTTYPES_H
#define WL_IR_ELEMENTTYPES_H

#include "wl/Layout/DType.h"

#include "mlir/IR/Types.h"

#include <optional>
#include <string_view>

namespace mlir {
class MLIRContext;
}

namespace wl {

/// The MLIR element type of `t`: bf16, f16, f32, f64, f8E4M3FN, f8E5M2, i1,
/// i8..i64 (signless: signed values) and ui8..ui64.
/// Post: toDType(elementTypeOf(ctx, t)) == t for every t.
mlir::Type elementTypeOf(mlir::MLIRContext *ctx, layout::DType t);

/// The DType of an element type; nullopt for a type wl does not support
/// (si32, f8E4M3FNUZ, i4, ...).
std::optional<layout::DType> toDType(mlir::Type type);

/// The element type a spec names in MLIR's spelling ("bf16", "ui32": see
/// layout::mlirName); a null type for any other text.
mlir::Type elementTypeNamed(mlir::MLIRContext *ctx, std::string_view name);

/// True when wl.cast from `from` to `to` keeps every value of `from` exactly
/// (so a later cast from `to` gives what a cast from `from` would). Integer
/// values are signed for iN (N > 1) and unsigned for i1 and uiN; float to
/// integer is never exact. Decided by layout::isExactCast, the rule the
/// plans use, for the types wl supports; false for any other.
bool isExactConversion(mlir::Type from, mlir::Type to);

} // namespace wl

#endif // WL_IR_ELEMENTTYPES_H
