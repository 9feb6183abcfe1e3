//===- ValueOps.cpp - wl.pad, wl.cast, wl.affine --------------------------===//
#include "OpUtils.h"

#include "wl/IR/ElementTypes.h"

#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/APFloat.h"

using namespace mlir;
using namespace wl;
using namespace wl::detail;

//===----------------------------------------------------------------------===//
// wl.pad
//===----------------------------------------------------------------------===//

LogicalResult PadOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                      Adaptor adaptor,
                                      SmallVectorImpl<Type> &inferred) {
  auto type = llvm::cast<RankedTensorType>(adaptor.getInput().getType());
  int64_t dim = adaptor.getDim(), low = adaptor.getLow(),
          high = adaptor.getHigh();
  if (failed(checkDim<PadOp>(loc, dim, type.getRank())))
    return failure();
  if (low < 0)
    return opError<PadOp>(loc, "low ", low, " is negative");
  if (high < 0)
    return opError<PadOp>(loc, "high ", high, " is negative");
  SmallVector<int64_t> shape(type.getShape());
  if (__builtin_add_overflow(shape[dim], low, &shape[dim]) ||
      __builtin_add_overflow(shape[dim], high, &shape[dim]))
    return opError<PadOp>(loc, "padded size of dimension ", dim,
                          " overflows int64");
  inferred.push_back(RankedTensorType::get(shape, type.getElementType()));
  return success();
}

LogicalResult PadOp::verify() {
  if (failed(verifyByInference(*this)))
    return failure();
  TypedAttr value = getValueAttr();
  Type elementType = getType().getElementType();
  if (value && value.getType() != elementType)
    return emitOpError("fill value has type ")
           << value.getType() << ", but the tensor holds " << elementType;
  return success();
}

OpFoldResult PadOp::fold(FoldAdaptor) {
  // pad(x, low 0, high 0) = x
  if (getLow() == 0 && getHigh() == 0)
    return getInput();
  return {};
}

namespace {

/// The fill value of a pad; a missing value is zero of the element type.
TypedAttr fillValueOf(PadOp op) {
  if (TypedAttr value = op.getValueAttr())
    return value;
  Type t = op.getType().getElementType();
  if (auto ft = llvm::dyn_cast<FloatType>(t))
    return FloatAttr::get(ft, 0.0);
  return IntegerAttr::get(t, 0);
}

/// pad_d(pad_d(x, l1, h1, v), l2, h2, v) = pad_d(x, l1 + l2, h1 + h2, v)
struct MergePads : OpRewritePattern<PadOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PadOp op,
                                PatternRewriter &rewriter) const override {
    auto inner = op.getInput().getDefiningOp<PadOp>();
    if (!inner || inner.getDim() != op.getDim() ||
        fillValueOf(inner) != fillValueOf(op))
      return failure();
    rewriter.replaceOpWithNewOp<PadOp>(
        op, inner.getInput(), op.getDim(), inner.getLow() + op.getLow(),
        inner.getHigh() + op.getHigh(), op.getValueAttr());
    return success();
  }
};

} // namespace

void PadOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                        MLIRContext *context) {
  results.add<MergePads>(context);
}

//===----------------------------------------------------------------------===//
// wl.cast
//===----------------------------------------------------------------------===//

LogicalResult CastOp::verify() {
  auto in = llvm::cast<RankedTensorType>(getInput().getType());
  auto out = llvm::cast<RankedTensorType>(getType());
  if (in.getShape() != out.getShape())
    return emitOpError("result shape ")
           << formatList(out.getShape()) << " differs from the input shape "
           << formatList(in.getShape()) << "; a cast converts values only";
  if (llvm::isa<FloatType>(in.getElementType()) &&
      llvm::isa<IntegerType>(out.getElementType()))
    return emitOpError("cannot convert float ")
           << in.getElementType() << " to integer " << out.getElementType()
           << ": fractions would be dropped silently";
  return success();
}

OpFoldResult CastOp::fold(FoldAdaptor) {
  // cast(x : T -> T) = x
  if (getInput().getType() == getType())
    return getInput();
  return {};
}

namespace {

/// cast(cast(x : A -> B) : B -> C) = cast(x : A -> C) when A -> B is exact
struct CastOfExactCast : OpRewritePattern<CastOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CastOp op,
                                PatternRewriter &rewriter) const override {
    auto inner = op.getInput().getDefiningOp<CastOp>();
    if (!inner)
      return failure();
    Type a = inner.getInput().getType().getElementType();
    Type b = inner.getType().getElementType();
    if (!isExactConversion(a, b))
      return failure();
    if (inner.getInput().getType() == op.getType())
      rewriter.replaceOp(op, inner.getInput());
    else
      rewriter.replaceOpWithNewOp<CastOp>(op, op.getType(), inner.getInput());
    return success();
  }
};

} // namespace

void CastOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                         MLIRContext *context) {
  results.add<CastOfExactCast>(context);
}

//===----------------------------------------------------------------------===//
// wl.affine
//===----------------------------------------------------------------------===//

LogicalResult AffineOp::verify() {
  Type elementType = getType().getElementType();
  if (!llvm::isa<FloatType>(elementType))
    return emitOpError("works on float tensors, but the tensor holds ")
           << elementType;
  if (!std::isfinite(getScale().convertToDouble()))
    return emitOpError("scale must be finite");
  if (!std::isfinite(getOffset().convertToDouble()))
    return emitOpError("offset must be finite");
  return success();
}

OpFoldResult AffineOp::fold(FoldAdaptor) {
  // affine(x, scale 1, offset 0) = x
  if (getScale().isExactlyValue(1.0) && getOffset().isZero())
    return getInput();
  return {};
}
