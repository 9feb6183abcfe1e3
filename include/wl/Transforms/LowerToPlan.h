//===- LowerToPlan.h - wl functions to plans of pieces ----------*- C++ -*-===//
#ifndef WL_TRANSFORMS_LOWERTOPLAN_H
#define WL_TRANSFORMS_LOWERTOPLAN_H

#include "wl/IR/ElementTypes.h"
#include "wl/Layout/Plan.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"

namespace wl {

/// A function lowered to a plan, with the ops behind each tensor so that
/// problems can be reported where they come from.
struct LoweredFunction {
  layout::Plan plan;
  /// For each target, the wl.sink ops that write it.
  std::vector<llvm::SmallVector<mlir::Operation *, 1>> targetSinks;
  /// For each source, the wl.source ops that read it.
  std::vector<llvm::SmallVector<mlir::Operation *, 1>> sourceOps;
  /// For each piece, the sink it came from.
  std::vector<mlir::Operation *> pieceSinks;
};

/// Lowers every wl op of `fn` to pieces: each value's elements are tracked as
/// boxes of strided source reads, so a rank's plan reads only the source
/// elements that reach its sinks, whatever the form of the IR. Sources and
/// targets are listed in order of first appearance; sources and sinks that
/// share a name must agree on dtype (and shape). Pieces are coalesced.
/// Emits an error on the offending op and fails on an op it cannot lower.
mlir::FailureOr<LoweredFunction> lowerFunction(mlir::func::FuncOp fn);

/// Lowers every function of `module` (the ranks of one mapping) into one
/// plan: sources shared by name, targets named "<prefix><name>" where the
/// prefix is "rank-<r>/" for a function @rank<r> when the module has more
/// than one function (and empty otherwise). Pieces are normalized.
mlir::FailureOr<layout::Plan> lowerAllRanks(mlir::ModuleOp module);

} // namespace wl

#endif // WL_TRANSFORMS_LOWERTOPLAN_H
