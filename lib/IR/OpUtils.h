//===- OpUtils.h - helpers shared by the wl op groups -----------*- C++ -*-===//
//
// Internal to lib/IR.
//
//===----------------------------------------------------------------------===//
#ifndef WL_LIB_IR_OPUTILS_H
#define WL_LIB_IR_OPUTILS_H

#include "wl/IR/WLOps.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/PatternMatch.h"

#include <string>

namespace wl::detail {

/// Reports "'<op>' op <message>" at `loc` and returns failure. Inference runs
/// both from the verifier (with a location: the message is shown) and from
/// builders (without one: nothing is shown), so messages go through here.
template <typename OpTy, typename... Args>
mlir::LogicalResult opError(std::optional<mlir::Location> loc,
                            Args &&...args) {
  return mlir::emitOptionalError(loc, "'", OpTy::getOperationName(), "' op ",
                                 std::forward<Args>(args)...);
}

/// The verifier of an op with inferred result types: runs the inference with
/// the op's location, so an invalid op gets the inference's precise message,
/// then compares the result types. (InferTypeOpInterface's own check runs
/// after verify() and reports in two generic messages.)
template <typename OpTy>
mlir::LogicalResult verifyByInference(OpTy op) {
  llvm::SmallVector<mlir::Type> inferred;
  if (mlir::failed(OpTy::inferReturnTypes(op->getContext(), op.getLoc(),
                                          typename OpTy::Adaptor(op),
                                          inferred)))
    return mlir::failure();
  if (inferred.size() != op->getNumResults())
    return op.emitOpError("has ")
           << op->getNumResults() << " result(s), but its operands and "
           << "attributes give " << inferred.size();
  for (auto [i, type] : llvm::enumerate(op->getResultTypes()))
    if (type != inferred[i])
      return op.emitOpError("result #")
             << i << " has type " << type
             << ", but its operands and attributes give " << inferred[i];
  return mlir::success();
}

/// "[a, b, c]".
std::string formatList(llvm::ArrayRef<int64_t> values);

/// The static shape of a wl tensor value or type.
llvm::ArrayRef<int64_t> shapeOf(mlir::Value value);
llvm::ArrayRef<int64_t> shapeOf(mlir::Type type);

/// Checks 0 <= dim < rank; `what` names the attribute in the message.
template <typename OpTy>
mlir::LogicalResult checkDim(std::optional<mlir::Location> loc, int64_t dim,
                             int64_t rank, llvm::StringRef what = "dim") {
  if (dim < 0 || dim >= rank)
    return opError<OpTy>(loc, what, " ", dim,
                         " is out of range for a tensor of rank ", rank,
                         " (expected 0 <= ", what, " < ", rank, ")");
  return mlir::success();
}

/// Checks that the (non-empty) operands of a variadic op (concat, interleave,
/// stack) share rank and element type, and have equal sizes in every
/// dimension but `dim` (every dimension when `dim` is -1).
template <typename OpTy>
mlir::LogicalResult checkOperandsAgree(std::optional<mlir::Location> loc,
                                       mlir::TypeRange types, int64_t dim) {
  auto first = llvm::cast<mlir::RankedTensorType>(types[0]);
  for (auto [i, type] : llvm::enumerate(types)) {
    auto t = llvm::cast<mlir::RankedTensorType>(type);
    if (t.getElementType() != first.getElementType())
      return opError<OpTy>(loc, "operand #", i, " has element type ",
                           t.getElementType(), ", but operand #0 has ",
                           first.getElementType());
    if (t.getRank() != first.getRank())
      return opError<OpTy>(loc, "operand #", i, " has rank ", t.getRank(),
                           ", but operand #0 has rank ", first.getRank());
    for (int64_t d = 0; d < t.getRank(); ++d)
      if (d != dim && t.getDimSize(d) != first.getDimSize(d))
        return opError<OpTy>(loc, "operand #", i, " has size ",
                             t.getDimSize(d), " in dimension ", d,
                             ", but operand #0 has size ", first.getDimSize(d));
  }
  return mlir::success();
}

/// The selection of a slice-like op (wl.slice or wl.shard): per dimension an
/// offset, a size and a stride.
struct SliceParams {
  llvm::SmallVector<int64_t> offsets, sizes, strides;

  /// The whole of a tensor of `shape`.
  static SliceParams full(llvm::ArrayRef<int64_t> shape);
  bool isFull(llvm::ArrayRef<int64_t> shape) const;
  bool hasUnitStrides() const;
};

/// A selection that is chunk `index` of `count` equal chunks of `dim`.
struct ShardForm {
  int64_t dim, count, index;
};

/// The shard form of `params` over a tensor of `shape`, if it has one: unit
/// strides and exactly one dimension not taken whole.
std::optional<ShardForm> getShardForm(llvm::ArrayRef<int64_t> shape,
                                      const SliceParams &params);

/// The selection of a wl.slice or wl.shard, or nullopt for other ops.
std::optional<SliceParams> getSliceParams(mlir::Operation *op);

/// Builds the canonical op selecting `params` of `input`: nothing when it is
/// the whole tensor, a wl.shard when it is one equal chunk of one dimension,
/// and a wl.slice otherwise.
mlir::Value createSliceLike(mlir::OpBuilder &b, mlir::Location loc,
                            mlir::Value input, const SliceParams &params);

/// Builds concat of `inputs` along `dim`, or returns the single input.
mlir::Value createConcat(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::ValueRange inputs, int64_t dim);

/// Builds interleave of `inputs` with `groups`, as a concat when groups is 1.
mlir::Value createInterleave(mlir::OpBuilder &b, mlir::Location loc,
                             mlir::ValueRange inputs, int64_t dim,
                             int64_t groups);

/// A run of indices [begin, begin + size) of one tensor along a dimension.
struct Segment {
  mlir::Value value;
  int64_t begin;
  int64_t size;
};

/// Cuts the range [lo, hi) of a tensor made of `segments` laid one after
/// another along a dimension into the parts of the segments it covers.
llvm::SmallVector<Segment> coverRange(llvm::ArrayRef<Segment> segments,
                                      int64_t lo, int64_t hi);

/// True when `values` are results #first, #first+1, ... of one op, in order.
bool areConsecutiveResults(mlir::ValueRange values, mlir::Operation *&owner,
                           unsigned &first);

} // namespace wl::detail

#endif // WL_LIB_IR_OPUTILS_H
