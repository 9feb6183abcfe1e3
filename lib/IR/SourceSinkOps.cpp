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
  if (getOffsets().has_value() != getTargetShape().has_value())
    return emitOpError("needs both 'offsets' and 'target_shape', or neither");
  if (!getOffsets())
    return success();
  auto type = cast<RankedTensorType>(getInput().getType());
  ArrayRef<int64_t> offsets = *getOffsets(), shape = *getTargetShape();
  if ((int64_t)offsets.size() != type.getRank() ||
      (int64_t)shape.size() != type.getRank())
    return emitOpError("has ")
           << offsets.size() << " offsets and a target shape of rank "
           << shape.size() << " for an input of rank " << type.getRank();
  for (int64_t d = 0; d < type.getRank(); ++d) {
    if (offsets[d] < 0 || shape[d] < 0)
      return emitOpError("offset and target size of dimension ")
             << d << " must be non-negative";
    if (offsets[d] + type.getDimSize(d) > shape[d])
      return emitOpError("writes [")
             << offsets[d] << ", " << offsets[d] + type.getDimSize(d)
             << ") of dimension " << d << ", beyond the target size "
             << shape[d];
  }
  return success();
}

llvm::SmallVector<int64_t> SinkOp::getTargetShapeOrInput() {
  if (auto s = getTargetShape())
    return llvm::SmallVector<int64_t>(s->begin(), s->end());
  auto shape = cast<RankedTensorType>(getInput().getType()).getShape();
  return llvm::SmallVector<int64_t>(shape.begin(), shape.end());
}

llvm::SmallVector<int64_t> SinkOp::getOffsetsOrZero() {
  if (auto o = getOffsets())
    return llvm::SmallVector<int64_t>(o->begin(), o->end());
  return llvm::SmallVector<int64_t>(
      cast<RankedTensorType>(getInput().getType()).getRank(), 0);
}

} // namespace wl
