//===- InterleaveOps.cpp - wl.interleave, wl.deinterleave -----------------===//
#include "OpUtils.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace wl;
using namespace wl::detail;

//===----------------------------------------------------------------------===//
// wl.interleave
//===----------------------------------------------------------------------===//

LogicalResult InterleaveOp::inferReturnTypes(MLIRContext *,
                                             std::optional<Location> loc,
                                             Adaptor adaptor,
                                             SmallVectorImpl<Type> &inferred) {
  TypeRange types = adaptor.getInputs().getTypes();
  int64_t dim = adaptor.getDim(), groups = adaptor.getGroups();
  if (types.empty())
    return opError<InterleaveOp>(loc, "needs at least one operand");
  auto first = llvm::cast<RankedTensorType>(types[0]);
  if (failed(checkDim<InterleaveOp>(loc, dim, first.getRank())) ||
      failed(checkOperandsAgree<InterleaveOp>(loc, types, dim)))
    return failure();
  if (groups < 1)
    return opError<InterleaveOp>(loc, "groups ", groups,
                                 " must be at least 1");
  int64_t total = 0;
  for (auto [i, t] : llvm::enumerate(types)) {
    int64_t size = shapeOf(t)[dim];
    if (size % groups != 0)
      return opError<InterleaveOp>(loc, "operand #", i, " has size ", size,
                                   " in dimension ", dim,
                                   ", which is not divisible by groups ",
                                   groups);
    if (__builtin_add_overflow(total, size, &total))
      return opError<InterleaveOp>(loc, "total size in dimension ", dim,
                                   " overflows int64");
  }
  SmallVector<int64_t> shape(first.getShape());
  shape[dim] = total;
  inferred.push_back(RankedTensorType::get(shape, first.getElementType()));
  return success();
}

LogicalResult InterleaveOp::verify() { return verifyByInference(*this); }

OpFoldResult InterleaveOp::fold(FoldAdaptor) {
  // interleave(x) = x: the chunks of one operand stay in order
  if (getInputs().size() == 1)
    return getInputs().front();
  return {};
}

namespace {

/// interleave_d{1}(x_0, ..., x_n) = concat_d(x_0, ..., x_n)
struct InterleaveOfOneGroup : OpRewritePattern<InterleaveOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(InterleaveOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getGroups() != 1)
      return failure();
    rewriter.replaceOpWithNewOp<ConcatOp>(op, op.getInputs(), op.getDim());
    return success();
  }
};

/// interleave_d{G}(deinterleave_d{G}(x)#0, ..., #n) = x (all results in order)
struct InterleaveOfDeinterleave : OpRewritePattern<InterleaveOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(InterleaveOp op,
                                PatternRewriter &rewriter) const override {
    Operation *owner;
    unsigned first;
    if (!areConsecutiveResults(op.getInputs(), owner, first) || first != 0)
      return failure();
    auto de = llvm::dyn_cast<DeinterleaveOp>(owner);
    if (!de || de.getNumResults() != op.getInputs().size() ||
        de.getDim() != op.getDim() || de.getGroups() != op.getGroups())
      return failure();
    rewriter.replaceOp(op, de.getInput());
    return success();
  }
};

} // namespace

void InterleaveOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                               MLIRContext *context) {
  results.add<InterleaveOfOneGroup, InterleaveOfDeinterleave>(context);
}

//===----------------------------------------------------------------------===//
// wl.deinterleave
//===----------------------------------------------------------------------===//

LogicalResult
DeinterleaveOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                 Adaptor adaptor,
                                 SmallVectorImpl<Type> &inferred) {
  auto type = llvm::cast<RankedTensorType>(adaptor.getInput().getType());
  int64_t dim = adaptor.getDim(), groups = adaptor.getGroups();
  if (failed(checkDim<DeinterleaveOp>(loc, dim, type.getRank())))
    return failure();
  if (groups < 1)
    return opError<DeinterleaveOp>(loc, "groups ", groups,
                                   " must be at least 1");
  ArrayRef<int64_t> sizes = adaptor.getSizes();
  if (sizes.empty())
    return opError<DeinterleaveOp>(loc, "needs at least one size");
  int64_t total = 0;
  for (auto [k, size] : llvm::enumerate(sizes)) {
    if (size < 0)
      return opError<DeinterleaveOp>(loc, "size ", size, " of result #", k,
                                     " is negative");
    if (size % groups != 0)
      return opError<DeinterleaveOp>(loc, "size ", size, " of result #", k,
                                     " is not divisible by groups ", groups);
    if (__builtin_add_overflow(total, size, &total))
      return opError<DeinterleaveOp>(loc, "sizes overflow int64");
  }
  if (total != type.getDimSize(dim))
    return opError<DeinterleaveOp>(loc, "sizes ", formatList(sizes),
                                   " sum to ", total, ", but dimension ", dim,
                                   " has size ", type.getDimSize(dim));
  SmallVector<int64_t> shape(type.getShape());
  for (int64_t size : sizes) {
    shape[dim] = size;
    inferred.push_back(RankedTensorType::get(shape, type.getElementType()));
  }
  return success();
}

LogicalResult DeinterleaveOp::verify() { return verifyByInference(*this); }

LogicalResult DeinterleaveOp::fold(FoldAdaptor,
                                   SmallVectorImpl<OpFoldResult> &results) {
  // deinterleave(x) into one result = x
  if (getNumResults() != 1)
    return failure();
  results.push_back(getInput());
  return success();
}

namespace {

/// deinterleave_d{1}(x, sizes) = split_d(x, sizes)
struct DeinterleaveOfOneGroup : OpRewritePattern<DeinterleaveOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DeinterleaveOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getGroups() != 1)
      return failure();
    rewriter.replaceOpWithNewOp<SplitOp>(op, op.getInput(), op.getDim(),
                                         op.getSizes());
    return success();
  }
};

/// deinterleave_d{G}(interleave_d{G}(x_0, ..., x_n), sizes = |x_i|) = x_i
struct DeinterleaveOfInterleave : OpRewritePattern<DeinterleaveOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DeinterleaveOp op,
                                PatternRewriter &rewriter) const override {
    auto inter = op.getInput().getDefiningOp<InterleaveOp>();
    if (!inter || inter.getDim() != op.getDim() ||
        inter.getGroups() != op.getGroups() ||
        inter.getInputs().size() != op.getNumResults())
      return failure();
    for (auto [v, size] : llvm::zip(inter.getInputs(), op.getSizes()))
      if (shapeOf(v)[op.getDim()] != size)
        return failure();
    rewriter.replaceOp(op, inter.getInputs());
    return success();
  }
};

} // namespace

void DeinterleaveOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                                 MLIRContext *context) {
  results.add<DeinterleaveOfOneGroup, DeinterleaveOfInterleave>(context);
}
