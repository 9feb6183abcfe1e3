//===- EmitPlan.h - weight-layout-opt --emit=plan ---------------*- C++ -*-===//
#ifndef WL_TOOLS_EMITPLAN_H
#define WL_TOOLS_EMITPLAN_H

#include "mlir/IR/DialectRegistry.h"

#include <vector>

namespace wl::tool {

/// `weight-layout-opt --emit=plan [--func NAME] [--canonicalize]
/// [--check-unread] [--reverse] [-o FILE] [INPUT]`: parses wl IR, checks
/// coverage, lowers one function and writes its plan (or, with --reverse,
/// the inverse plan: targets back to sources) as JSON. Returns the exit code.
int emitPlanMain(const std::vector<char *> &args,
                 mlir::DialectRegistry &registry);

} // namespace wl::tool

#endif // WL_TOOLS_EMITPLAN_H
