//===- EmitPlan.h - weight-layout-opt --emit=plan ---------------*- C++ -*-===//
#ifndef WL_TOOLS_EMITPLAN_H
#define WL_TOOLS_EMITPLAN_H

#include "mlir/IR/DialectRegistry.h"

#include <string>
#include <vector>

namespace wl::tool {

/// `weight-layout-opt --emit=plan [--func NAME] [--canonicalize]
/// [--check-unread] [--reverse [--exact]] [-o FILE] [INPUT]`: parses wl IR,
/// checks coverage, lowers one function and writes its plan (or, with
/// --reverse, the inverse plan: targets back to sources) as JSON. Returns the
/// exit code.
int emitPlanMain(const std::vector<char *> &args,
                 mlir::DialectRegistry &registry);

/// Prints the note that the tensors in `rounded` come back through a
/// rounding inverse (nothing when it is empty).
void noteRounded(const std::string &file,
                 const std::vector<std::string> &rounded);

} // namespace wl::tool

#endif // WL_TOOLS_EMITPLAN_H
