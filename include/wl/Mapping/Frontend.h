//===- Frontend.h - mapping specs to wl IR ----------------------*- C++ -*-===//
#ifndef WL_MAPPING_FRONTEND_H
#define WL_MAPPING_FRONTEND_H

#include "wl/MappingSpec/Spec.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <vector>

namespace wl::mapping {

/// Builds a module with one function @rank<r> for each of `ranks` (numbered
/// in the spec's mesh, Env::setRank). Each function reads the
/// rule inputs as wl.source and writes the rule outputs as wl.sink. On a bad
/// spec, config or option returns null and sets `error` to one message
/// naming the spec file, the JSON path and the captures ("L=3").
/// `dropped`, when given, receives the names that drop rules match.
mlir::OwningOpRef<mlir::ModuleOp>
buildMapping(Env &env, mlir::MLIRContext *context,
             const std::vector<int64_t> &ranks, std::string &error,
             std::vector<std::string> *dropped = nullptr);

} // namespace wl::mapping

#endif // WL_MAPPING_FRONTEND_H
