//===- SourceSinkOps.cpp - wl.source, wl.sink -----------------------------===//
#include "wl/IR/WLOps.h"

using namespace mlir;

namespace wl {

LogicalResult SourceOp::verify() {
  if (getName().empty())
    return emitOpError("needs a non-empty tensor name");
  return success();
}

LogicalResult SinkOp::verify() {
  if (getName().empty())
    return emitOpError("needs a non-empty tensor name");
  return success();
}

} // namespace wl
