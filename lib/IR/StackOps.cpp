//===- StackOps.cpp - wl.stack, wl.unstack --------------------------------===//
#include "Evaluate.h"
#include "OpUtils.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace wl;
using namespace wl::detail;

//===----------------------------------------------------------------------===//
// wl.stack
//===----------------------------------------------------------------------===//

LogicalResult StackOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  TypeRange types = adaptor.getInputs().getTypes();
  if (types.empty())
    return opError<StackOp>(loc, "needs at least one operand");
  if (failed(checkOperandsAgree<StackOp>(loc, types, /*dim=*/-1)))
    return failure();
  auto first = llvm::cast<RankedTensorType>(types[0]);
  int64_t dim = adaptor.getDim(), rank = first.getRank();
  if (dim < 0 || dim > rank)
    return opError<StackOp>(loc, "dim ", dim,
                            " is out of range for stacking tensors of rank ",
                            rank, " (expected 0 <= dim <= ", rank, ")");
  SmallVector<int64_t> shape(first.getShape());
  shape.insert(shape.begin() + dim, static_cast<int64_t>(types.size()));
  inferred.push_back(RankedTensorType::get(shape, first.getElementType()));
  return success();
}

LogicalResult StackOp::verify() { return verifyByInference(*this); }

namespace {

/// stack_d(unstack_d(x)#0, ..., #N-1) = x (all results in order)
struct StackOfUnstack : OpRewritePattern<StackOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(StackOp op,
                                PatternRewriter &rewriter) const override {
    Operation *owner;
    unsigned first;
    if (!areConsecutiveResults(op.getInputs(), owner, first) || first != 0)
      return failure();
    auto unstack = llvm::dyn_cast<UnstackOp>(owner);
    if (!unstack || unstack.getNumResults() != op.getInputs().size() ||
        unstack.getDim() != op.getDim())
      return failure();
    rewriter.replaceOp(op, unstack.getInput());
    return success();
  }
};

/// stack_d(x) = reshape(x) inserting a dimension of size 1 at d
struct StackOfOne : OpRewritePattern<StackOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(StackOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getInputs().size() != 1)
      return failure();
    rewriter.replaceOpWithNewOp<ReshapeOp>(op, op.getType(),
                                           op.getInputs().front());
    return success();
  }
};

} // namespace

void StackOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                          MLIRContext *context) {
  results.add<StackOfUnstack, StackOfOne>(context);
}

//===----------------------------------------------------------------------===//
// wl.unstack
//===----------------------------------------------------------------------===//

LogicalResult UnstackOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  auto type = llvm::cast<RankedTensorType>(adaptor.getInput().getType());
  int64_t dim = adaptor.getDim();
  if (failed(checkDim<UnstackOp>(loc, dim, type.getRank())))
    return failure();
  SmallVector<int64_t> shape(type.getShape());
  shape.erase(shape.begin() + dim);
  auto resultType = RankedTensorType::get(shape, type.getElementType());
  inferred.append(type.getDimSize(dim), resultType);
  return success();
}

LogicalResult UnstackOp::verify() { return verifyByInference(*this); }

namespace {

/// unstack_d(stack_d(x_0, ..., x_{N-1})) = x_0, ..., x_{N-1}
struct UnstackOfStack : OpRewritePattern<UnstackOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(UnstackOp op,
                                PatternRewriter &rewriter) const override {
    auto stack = op.getInput().getDefiningOp<StackOp>();
    if (!stack || stack.getDim() != op.getDim())
      return failure();
    rewriter.replaceOp(op, stack.getInputs());
    return success();
  }
};

/// unstack_d(x) with x.shape[d] = 1 = reshape(x) dropping dimension d
struct UnstackOfOne : OpRewritePattern<UnstackOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(UnstackOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getNumResults() != 1)
      return failure();
    rewriter.replaceOpWithNewOp<ReshapeOp>(op, op.getResult(0).getType(),
                                           op.getInput());
    return success();
  }
};

} // namespace

void UnstackOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                            MLIRContext *context) {
  results.add<UnstackOfStack, UnstackOfOne>(context);
}

//===----------------------------------------------------------------------===//
// Semantics: regions (lowering) and elements (interpreter)
//===----------------------------------------------------------------------===//

// stack(x_0, ..)[.., k, ..] = x_k (a new dimension `dim`)
SmallVector<layout::Regions>
StackOp::mapRegions(ArrayRef<layout::Regions> operands) {
  int64_t d = getDim(), k = 0;
  layout::Regions rs;
  for (const layout::Regions &regions : operands) {
    layout::Regions part = layout::insertDim(regions, d, k++);
    rs.insert(rs.end(), part.begin(), part.end());
  }
  return {rs};
}

SmallVector<ElementTensor> StackOp::evaluate(ArrayRef<ElementTensor> operands) {
  ElementTensor r = makeTensor(getResult());
  int64_t d = getDim();
  fillTensor(r, [&](Coords c) {
    int64_t k = c[d];
    c.erase(c.begin() + d);
    return at(operands[k], c);
  });
  return {r};
}

// unstack(x)_k = x[.., k, ..] (dimension `dim` dropped)
SmallVector<layout::Regions>
UnstackOp::mapRegions(ArrayRef<layout::Regions> operands) {
  int64_t d = getDim(), k = 0;
  SmallVector<layout::Regions> out;
  for (size_t i = 0; i < getNumResults(); ++i) {
    layout::Regions part = layout::restrictDim(operands[0], d, k, k + 1);
    layout::shiftDim(part, d, -k);
    out.push_back(layout::removeDim(part, d));
    ++k;
  }
  return out;
}

SmallVector<ElementTensor>
UnstackOp::evaluate(ArrayRef<ElementTensor> operands) {
  const ElementTensor &x = operands[0];
  int64_t d = getDim(), k = 0;
  SmallVector<ElementTensor> out;
  for (Value res : getResults()) {
    ElementTensor r = makeTensor(res);
    fillTensor(r, [&](Coords c) {
      c.insert(c.begin() + d, k);
      return at(x, c);
    });
    out.push_back(std::move(r));
    ++k;
  }
  return out;
}
