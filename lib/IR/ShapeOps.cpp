//===- ShapeOps.cpp - wl.reshape, wl.permute ------------------------------===//
#include "Evaluate.h"
#include "OpUtils.h"

#include "wl/Layout/Shape.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace wl;
using namespace wl::detail;

//===----------------------------------------------------------------------===//
// wl.reshape
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::verify() {
  auto in = llvm::cast<RankedTensorType>(getInput().getType());
  auto out = llvm::cast<RankedTensorType>(getType());
  if (in.getElementType() != out.getElementType())
    return emitOpError("changes the element type from ")
           << in.getElementType() << " to " << out.getElementType()
           << "; use wl.cast to convert values";
  std::optional<int64_t> inCount =
      layout::numElements({in.getShape().begin(), in.getShape().end()});
  std::optional<int64_t> outCount =
      layout::numElements({out.getShape().begin(), out.getShape().end()});
  if (!inCount || !outCount)
    return emitOpError("element count overflows int64");
  if (*inCount != *outCount)
    return emitOpError("input has ")
           << *inCount << " elements (shape " << formatList(in.getShape())
           << "), but the result has " << *outCount << " (shape "
           << formatList(out.getShape()) << ")";
  return success();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor) {
  // reshape(x : T -> T) = x
  if (getInput().getType() == getType())
    return getInput();
  // reshape(reshape(x)) = reshape(x): row-major order is kept by both
  if (auto inner = getInput().getDefiningOp<ReshapeOp>()) {
    getInputMutable().assign(inner.getInput());
    return getResult();
  }
  return {};
}

//===----------------------------------------------------------------------===//
// wl.permute
//===----------------------------------------------------------------------===//

LogicalResult PermuteOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  auto type = llvm::cast<RankedTensorType>(adaptor.getInput().getType());
  ArrayRef<int64_t> perm = adaptor.getPerm();
  int64_t rank = type.getRank();
  if (static_cast<int64_t>(perm.size()) != rank)
    return opError<PermuteOp>(loc, "perm has ", perm.size(),
                              " entries, but the input has rank ", rank);
  SmallVector<bool> seen(rank, false);
  for (int64_t p : perm) {
    if (p < 0 || p >= rank)
      return opError<PermuteOp>(loc, "perm entry ", p,
                                " is out of range for rank ", rank);
    if (seen[p])
      return opError<PermuteOp>(loc, "perm ", formatList(perm),
                                " names dimension ", p, " twice");
    seen[p] = true;
  }
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(type.getDimSize(p));
  inferred.push_back(RankedTensorType::get(shape, type.getElementType()));
  return success();
}

LogicalResult PermuteOp::verify() { return verifyByInference(*this); }

OpFoldResult PermuteOp::fold(FoldAdaptor) {
  // permute(x, identity) = x
  for (auto [k, p] : llvm::enumerate(getPerm()))
    if (p != static_cast<int64_t>(k))
      return {};
  return getInput();
}

namespace {

/// permute(permute(x, p), q) = permute(x, r) with r[k] = p[q[k]]
struct ComposePermutes : OpRewritePattern<PermuteOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PermuteOp op,
                                PatternRewriter &rewriter) const override {
    auto inner = op.getInput().getDefiningOp<PermuteOp>();
    if (!inner)
      return failure();
    std::vector<int64_t> p(inner.getPerm().begin(), inner.getPerm().end());
    std::vector<int64_t> q(op.getPerm().begin(), op.getPerm().end());
    rewriter.replaceOpWithNewOp<PermuteOp>(op, inner.getInput(),
                                           layout::composePermutations(p, q));
    return success();
  }
};

} // namespace

void PermuteOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                            MLIRContext *context) {
  results.add<ComposePermutes>(context);
}

//===----------------------------------------------------------------------===//
// Semantics: regions (lowering) and elements (interpreter)
//===----------------------------------------------------------------------===//

// reshape(x): the same row-major elements
SmallVector<layout::Regions>
ReshapeOp::mapRegions(ArrayRef<layout::Regions> operands) {
  return {layout::reshapeRegions(operands[0], layoutShape(getInput()),
                                 layoutShape(getResult()))};
}

SmallVector<ElementTensor>
ReshapeOp::evaluate(ArrayRef<ElementTensor> operands) {
  ElementTensor r = makeTensor(getResult());
  r.bits = operands[0].bits;
  return {r};
}

// permute(x)[i_0, .., i_(r-1)] = x[j] with j[perm[k]] = i_k
SmallVector<layout::Regions>
PermuteOp::mapRegions(ArrayRef<layout::Regions> operands) {
  std::vector<int64_t> perm(getPerm().begin(), getPerm().end());
  return {layout::permuteRegions(operands[0], perm)};
}

SmallVector<ElementTensor>
PermuteOp::evaluate(ArrayRef<ElementTensor> operands) {
  const ElementTensor &x = operands[0];
  ElementTensor r = makeTensor(getResult());
  fillTensor(r, [&](const Coords &c) {
    Coords xc(c.size());
    for (size_t k = 0; k < c.size(); ++k)
      xc[getPerm()[k]] = c[k];
    return at(x, xc);
  });
  return {r};
}
