//===- Interpreter.h - the reference interpreter of wl ----------*- C++ -*-===//
//
// Runs a wl function element by element: wl.source and wl.sink here, every
// other op through its DataMovementOp::evaluate (beside the op in lib/IR,
// written straight from its semantics in WLOps.td, with LLVM's APFloat and
// APInt for cast and affine). Deliberately naive: it is the oracle that the
// lowering (the ops' mapRegions), the canonicalizer and the plan executors
// are checked against, so it shares no code with them.
//
//===----------------------------------------------------------------------===//
#ifndef WL_INTERPRETER_INTERPRETER_H
#define WL_INTERPRETER_INTERPRETER_H

#include "wl/IR/WLInterfaces.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Support/LogicalResult.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace wl::interp {

/// A tensor as one bit pattern per element (low bits of each uint64_t).
using Tensor = ElementTensor;

/// Runs `fn` on the named sources and returns the named targets. Elements of
/// a target that no sink writes are zero. Fails (with an error on the op)
/// when a source is missing or has the wrong type.
mlir::FailureOr<std::map<std::string, Tensor>>
interpret(mlir::func::FuncOp fn, const std::map<std::string, Tensor> &sources);

} // namespace wl::interp

#endif // WL_INTERPRETER_INTERPRETER_H
