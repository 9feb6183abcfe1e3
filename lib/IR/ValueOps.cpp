//===- ValueOps.cpp - wl.pad, wl.cast, wl.affine --------------------------===//
#include "Evaluate.h"
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

//===----------------------------------------------------------------------===//
// Semantics: regions (lowering) and elements (interpreter)
//===----------------------------------------------------------------------===//

// pad(x): fills of `value` before and after x on `dim`
SmallVector<layout::Regions>
PadOp::mapRegions(ArrayRef<layout::Regions> operands) {
  int64_t d = getDim();
  layout::Shape in = layoutShape(getInput()), res = layoutShape(getResult());
  layout::Regions rs = operands[0];
  layout::shiftDim(rs, d, getLow());
  uint64_t fill = 0;
  if (auto value = getValue()) {
    if (auto f = dyn_cast<FloatAttr>(*value))
      fill = f.getValue().bitcastToAPInt().getZExtValue();
    else if (auto i = dyn_cast<IntegerAttr>(*value))
      fill = layout::maskBits(i.getValue().getZExtValue(),
                              dtypeOf(getInput()));
  }
  layout::Shape lo(res.size(), 0), size = res;
  if (getLow() > 0) {
    size[d] = getLow();
    rs.push_back(layout::fillRegion(lo, size, fill));
  }
  if (getHigh() > 0) {
    lo[d] = getLow() + in[d];
    size[d] = getHigh();
    rs.push_back(layout::fillRegion(lo, size, fill));
  }
  return {rs};
}

SmallVector<ElementTensor> PadOp::evaluate(ArrayRef<ElementTensor> operands) {
  const ElementTensor &x = operands[0];
  ElementTensor r = makeTensor(getResult());
  int64_t d = getDim(), low = getLow();
  uint64_t value = 0;
  if (auto v = getValue()) {
    if (auto f = dyn_cast<FloatAttr>(*v))
      value = f.getValue().bitcastToAPInt().getZExtValue();
    else
      value = cast<IntegerAttr>(*v).getValue().getZExtValue();
  }
  fillTensor(r, [&](Coords c) {
    if (c[d] < low || c[d] >= low + x.shape[d])
      return value;
    c[d] -= low;
    return at(x, c);
  });
  return {r};
}

// cast(x)[i] = convert(x[i]): a step on every read, folded into fills
SmallVector<layout::Regions>
CastOp::mapRegions(ArrayRef<layout::Regions> operands) {
  layout::DType from = dtypeOf(getInput()), to = dtypeOf(getResult());
  layout::Regions rs = operands[0];
  for (layout::Region &r : rs) {
    if (from == to)
      continue;
    if (r.source < 0)
      r.fillBits = layout::castBits(r.fillBits, from, to);
    else
      r.steps.push_back({layout::Step::Cast, from, to, 1.0, 0.0});
  }
  return {rs};
}

SmallVector<ElementTensor> CastOp::evaluate(ArrayRef<ElementTensor> operands) {
  const ElementTensor &x = operands[0];
  ElementTensor r = makeTensor(getResult());
  for (size_t i = 0; i < r.bits.size(); ++i)
    r.bits[i] = convertElement(x.bits[i], x.elementType, r.elementType);
  return {r};
}

// affine(x)[i] = x[i] * scale + offset: a step on every read, folded into fills
SmallVector<layout::Regions>
AffineOp::mapRegions(ArrayRef<layout::Regions> operands) {
  layout::DType t = dtypeOf(getInput());
  double scale = getScaleAttr().getValueAsDouble();
  double offset = getOffsetAttr().getValueAsDouble();
  layout::Regions rs = operands[0];
  for (layout::Region &r : rs) {
    if (scale == 1.0 && offset == 0.0)
      continue;
    if (r.source < 0)
      r.fillBits = layout::affineBits(r.fillBits, t, scale, offset);
    else
      r.steps.push_back({layout::Step::Affine, t, t, scale, offset});
  }
  return {rs};
}

SmallVector<ElementTensor>
AffineOp::evaluate(ArrayRef<ElementTensor> operands) {
  const ElementTensor &x = operands[0];
  ElementTensor r = makeTensor(getResult());
  double s = getScaleAttr().getValueAsDouble();
  double b = getOffsetAttr().getValueAsDouble();
  for (size_t i = 0; i < r.bits.size(); ++i)
    r.bits[i] = affineElement(x.bits[i], x.elementType, s, b);
  return {r};
}
