//===- PlanToIR.h - a plan written back as wl IR ----------------*- C++ -*-===//
#ifndef WL_MAPPING_PLANTOIR_H
#define WL_MAPPING_PLANTOIR_H

#include "wl/Layout/Plan.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace wl::mapping {

/// A function @`name` that computes `plan` with wl ops: each piece is a
/// wl.slice of its source, reshaped and permuted onto the box of the target
/// it writes, through its cast and affine steps, and delivered by
/// `wl.sink ... at [offsets] of [shape]` (a plain sink when it is the whole
/// target). A piece whose dimensions do not lie on tensor dimensions is
/// written row by row from the flattened source. Used for the IR of a plan
/// that exists only as pieces (the inverse of a mapping). Returns null for a
/// plan with fill pieces (an inverse has none), run-time scales (the dialect
/// has no op for them) or a target no piece writes.
/// Pre: every target element is written exactly once.
/// Post: lowering the function gives a plan that writes the same values.
mlir::OwningOpRef<mlir::ModuleOp> planToIR(const layout::Plan &plan,
                                           mlir::MLIRContext *context,
                                           llvm::StringRef name);

} // namespace wl::mapping

#endif // WL_MAPPING_PLANTOIR_H
