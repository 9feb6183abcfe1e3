//===- Passes.h - wl passes -------------------------------------*- C++ -*-===//
#ifndef WL_TRANSFORMS_PASSES_H
#define WL_TRANSFORMS_PASSES_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace wl {

#define GEN_PASS_DECL
#include "wl/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "wl/Transforms/Passes.h.inc"

} // namespace wl

#endif // WL_TRANSFORMS_PASSES_H
