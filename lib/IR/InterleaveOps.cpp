//===- InterleaveOps.cpp - wl.interleave, wl.deinterleave -----------------===//
#include "Evaluate.h"
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

//===----------------------------------------------------------------------===//
// Semantics: regions (lowering) and elements (interpreter)
//===----------------------------------------------------------------------===//

// interleave(x_0, ..): for each group g, chunk g of every x_i in turn
SmallVector<layout::Regions>
InterleaveOp::mapRegions(ArrayRef<layout::Regions> operands) {
  int64_t d = getDim(), g = getGroups();
  int64_t total = shapeOf(getResult())[d], before = 0;
  layout::Regions rs;
  for (auto [v, regions] : llvm::zip(getInputs(), operands)) {
    int64_t c = shapeOf(v)[d] / g;
    for (int64_t k = 0; k < g; ++k) {
      layout::Regions part = layout::restrictDim(regions, d, k * c, (k + 1) * c);
      layout::shiftDim(part, d, k * (total / g) + before - k * c);
      rs.insert(rs.end(), part.begin(), part.end());
    }
    before += c;
  }
  return {rs};
}

SmallVector<ElementTensor>
InterleaveOp::evaluate(ArrayRef<ElementTensor> operands) {
  ElementTensor r = makeTensor(getResult());
  int64_t d = getDim(), g = getGroups();
  int64_t per = r.shape[d] / g;
  fillTensor(r, [&](Coords c) {
    int64_t group = c[d] / per, w = c[d] % per;
    for (const ElementTensor &x : operands) {
      int64_t chunk = x.shape[d] / g;
      if (w < chunk) {
        c[d] = group * chunk + w;
        return at(x, c);
      }
      w -= chunk;
    }
    return uint64_t(0);
  });
  return {r};
}

// deinterleave(x)_i = reshape(slice(reshape(x, d -> (G, P)), d + 1,
// [b_i, b_i + c_i)), (G, c_i) -> d), P = |x|_d / G, b_i = c_0 + .. + c_(i-1):
// chunk g of result i is read from group g of x. Through reshapes, a region
// of x whole along d stays one region (its dimension d two modes), not G.
SmallVector<layout::Regions>
DeinterleaveOp::mapRegions(ArrayRef<layout::Regions> operands) {
  const int64_t d = getDim(), g = getGroups();
  const layout::Shape in = shapeOf(getInput());
  layout::Shape split = in;
  split[d] = g;
  split.insert(split.begin() + d + 1, in[d] / g);
  const layout::Regions groups = layout::reshapeRegions(operands[0], in, split);
  SmallVector<layout::Regions> out;
  int64_t before = 0;
  for (Value r : getResults()) {
    const layout::Shape shape = shapeOf(r);
    const int64_t c = shape[d] / g;
    layout::Regions part =
        layout::restrictDim(groups, d + 1, before, before + c);
    layout::shiftDim(part, d + 1, -before);
    layout::Shape chunks = split;
    chunks[d + 1] = c;
    out.push_back(layout::reshapeRegions(part, chunks, shape));
    before += c;
  }
  return out;
}

SmallVector<ElementTensor>
DeinterleaveOp::evaluate(ArrayRef<ElementTensor> operands) {
  const ElementTensor &x = operands[0];
  int64_t d = getDim(), g = getGroups();
  int64_t per = x.shape[d] / g, before = 0;
  SmallVector<ElementTensor> out;
  for (Value res : getResults()) {
    ElementTensor r = makeTensor(res);
    int64_t chunk = r.shape[d] / g;
    fillTensor(r, [&](Coords c) {
      int64_t group = c[d] / chunk, w = c[d] % chunk;
      c[d] = group * per + before + w;
      return at(x, c);
    });
    before += chunk;
    out.push_back(std::move(r));
  }
  return out;
}
