//===- ConcatOps.cpp - wl.concat, wl.split --------------------------------===//
#include "Evaluate.h"
#include "OpUtils.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace wl;
using namespace wl::detail;

//===----------------------------------------------------------------------===//
// wl.concat
//===----------------------------------------------------------------------===//

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  TypeRange types = adaptor.getInputs().getTypes();
  if (types.empty())
    return opError<ConcatOp>(loc, "needs at least one operand");
  auto first = llvm::cast<RankedTensorType>(types[0]);
  int64_t dim = adaptor.getDim();
  if (failed(checkDim<ConcatOp>(loc, dim, first.getRank())) ||
      failed(checkOperandsAgree<ConcatOp>(loc, types, dim)))
    return failure();
  int64_t total = 0;
  for (Type t : types)
    if (__builtin_add_overflow(total, shapeOf(t)[dim], &total))
      return opError<ConcatOp>(loc, "total size in dimension ", dim,
                               " overflows int64");
  SmallVector<int64_t> shape(first.getShape());
  shape[dim] = total;
  inferred.push_back(RankedTensorType::get(shape, first.getElementType()));
  return success();
}

LogicalResult ConcatOp::verify() { return verifyByInference(*this); }

OpFoldResult ConcatOp::fold(FoldAdaptor) {
  // concat(x) = x
  if (getInputs().size() == 1)
    return getInputs().front();
  return {};
}

namespace {

/// concat_d(a, concat_d(b, c), e) = concat_d(a, b, c, e)
struct FlattenConcat : OpRewritePattern<ConcatOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConcatOp op,
                                PatternRewriter &rewriter) const override {
    SmallVector<Value> inputs;
    bool changed = false;
    for (Value v : op.getInputs()) {
      auto inner = v.getDefiningOp<ConcatOp>();
      if (inner && inner.getDim() == op.getDim()) {
        llvm::append_range(inputs, inner.getInputs());
        changed = true;
      } else {
        inputs.push_back(v);
      }
    }
    if (!changed)
      return failure();
    rewriter.replaceOpWithNewOp<ConcatOp>(op, inputs, op.getDim());
    return success();
  }
};

/// concat_d(.., split_d(x)#i, .., split_d(x)#j, ..) = concat_d(..,
/// slice_d(x, o_i, o_{j+1} - o_i), ..): a run of consecutive results of one
/// split is the slice they came from (x itself for the whole run)
struct MergeSplitRuns : OpRewritePattern<ConcatOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConcatOp op,
                                PatternRewriter &rewriter) const override {
    int64_t d = op.getDim();
    OperandRange inputs = op.getInputs();
    SmallVector<Value> merged;
    bool changed = false;
    for (size_t i = 0; i < inputs.size();) {
      auto first = llvm::dyn_cast<OpResult>(inputs[i]);
      auto split = first ? llvm::dyn_cast<SplitOp>(first.getOwner()) : nullptr;
      size_t j = i + 1;
      if (split && split.getDim() == d) {
        while (j < inputs.size()) {
          auto r = llvm::dyn_cast<OpResult>(inputs[j]);
          if (!r || r.getOwner() != split ||
              r.getResultNumber() != first.getResultNumber() + (j - i))
            break;
          ++j;
        }
      }
      if (j - i < 2) {
        merged.push_back(inputs[i++]);
        continue;
      }
      ArrayRef<int64_t> sizes = split.getSizes();
      unsigned k0 = first.getResultNumber(), k1 = k0 + (j - i);
      int64_t lo = 0, len = 0;
      for (unsigned k = 0; k < k1; ++k)
        (k < k0 ? lo : len) += sizes[k];
      SliceParams p = SliceParams::full(shapeOf(split.getInput()));
      p.offsets[d] = lo;
      p.sizes[d] = len;
      merged.push_back(
          createSliceLike(rewriter, op.getLoc(), split.getInput(), p));
      changed = true;
      i = j;
    }
    if (!changed)
      return failure();
    rewriter.replaceOp(op, createConcat(rewriter, op.getLoc(), merged, d));
    return success();
  }
};

} // namespace

void ConcatOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                           MLIRContext *context) {
  results.add<FlattenConcat, MergeSplitRuns>(context);
}

//===----------------------------------------------------------------------===//
// wl.split
//===----------------------------------------------------------------------===//

LogicalResult SplitOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  auto type = llvm::cast<RankedTensorType>(adaptor.getInput().getType());
  int64_t dim = adaptor.getDim();
  if (failed(checkDim<SplitOp>(loc, dim, type.getRank())))
    return failure();
  ArrayRef<int64_t> sizes = adaptor.getSizes();
  if (sizes.empty())
    return opError<SplitOp>(loc, "needs at least one size");
  int64_t total = 0;
  for (auto [k, size] : llvm::enumerate(sizes)) {
    if (size < 0)
      return opError<SplitOp>(loc, "size ", size, " of result #", k,
                              " is negative");
    if (__builtin_add_overflow(total, size, &total))
      return opError<SplitOp>(loc, "sizes overflow int64");
  }
  if (total != type.getDimSize(dim))
    return opError<SplitOp>(loc, "sizes ", formatList(sizes), " sum to ",
                            total, ", but dimension ", dim, " has size ",
                            type.getDimSize(dim));
  SmallVector<int64_t> shape(type.getShape());
  for (int64_t size : sizes) {
    shape[dim] = size;
    inferred.push_back(RankedTensorType::get(shape, type.getElementType()));
  }
  return success();
}

LogicalResult SplitOp::verify() { return verifyByInference(*this); }

LogicalResult SplitOp::fold(FoldAdaptor, SmallVectorImpl<OpFoldResult> &results) {
  // split(x) into one piece = x
  if (getNumResults() != 1)
    return failure();
  results.push_back(getInput());
  return success();
}

namespace {

/// split_d(concat_d(a, b, ...)) = per result, concat_d of the parts of the
/// operands that the result's range covers (the operands themselves where
/// the boundaries line up)
struct SplitOfConcat : OpRewritePattern<SplitOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SplitOp op,
                                PatternRewriter &rewriter) const override {
    auto concat = op.getInput().getDefiningOp<ConcatOp>();
    if (!concat || concat.getDim() != op.getDim())
      return failure();
    int64_t d = op.getDim();
    SmallVector<Segment> segments;
    for (Value v : concat.getInputs())
      segments.push_back({v, 0, shapeOf(v)[d]});
    SmallVector<Value> replacements;
    int64_t lo = 0;
    for (int64_t size : op.getSizes()) {
      SmallVector<Value> parts;
      for (const Segment &s : coverRange(segments, lo, lo + size)) {
        SliceParams p = SliceParams::full(shapeOf(s.value));
        p.offsets[d] = s.begin;
        p.sizes[d] = s.size;
        parts.push_back(createSliceLike(rewriter, op.getLoc(), s.value, p));
      }
      if (parts.empty()) {
        // An empty result keeps coming from the split; nothing to rewrite.
        SliceParams p = SliceParams::full(shapeOf(concat.getResult()));
        p.offsets[d] = lo;
        p.sizes[d] = 0;
        parts.push_back(createSliceLike(rewriter, op.getLoc(), concat, p));
      }
      replacements.push_back(createConcat(rewriter, op.getLoc(), parts, d));
      lo += size;
    }
    rewriter.replaceOp(op, replacements);
    return success();
  }
};

} // namespace

void SplitOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                          MLIRContext *context) {
  results.add<SplitOfConcat>(context);
}

//===----------------------------------------------------------------------===//
// Semantics: regions (lowering) and elements (interpreter)
//===----------------------------------------------------------------------===//

// concat(x_0, x_1, ..): x_k shifted on `dim` by the sizes of x_0 .. x_(k-1)
SmallVector<layout::Regions>
ConcatOp::mapRegions(ArrayRef<layout::Regions> operands) {
  int64_t d = getDim(), at = 0;
  layout::Regions rs;
  for (auto [v, regions] : llvm::zip(getInputs(), operands)) {
    layout::Regions part = regions;
    layout::shiftDim(part, d, at);
    rs.insert(rs.end(), part.begin(), part.end());
    at += shapeOf(v)[d];
  }
  return {rs};
}

SmallVector<ElementTensor>
ConcatOp::evaluate(ArrayRef<ElementTensor> operands) {
  ElementTensor r = makeTensor(getResult());
  int64_t d = getDim();
  fillTensor(r, [&](Coords c) {
    for (const ElementTensor &x : operands) {
      if (c[d] < x.shape[d])
        return at(x, c);
      c[d] -= x.shape[d];
    }
    return uint64_t(0);
  });
  return {r};
}

// split(x)_k = x[.., sizes_0 + .. + sizes_(k-1) + i, ..] on `dim`
SmallVector<layout::Regions>
SplitOp::mapRegions(ArrayRef<layout::Regions> operands) {
  int64_t d = getDim(), at = 0;
  SmallVector<layout::Regions> out;
  for (Value r : getResults()) {
    int64_t n = shapeOf(r)[d];
    layout::Regions rs = layout::restrictDim(operands[0], d, at, at + n);
    layout::shiftDim(rs, d, -at);
    out.push_back(std::move(rs));
    at += n;
  }
  return out;
}

SmallVector<ElementTensor> SplitOp::evaluate(ArrayRef<ElementTensor> operands) {
  const ElementTensor &x = operands[0];
  int64_t d = getDim(), before = 0;
  SmallVector<ElementTensor> out;
  for (Value res : getResults()) {
    ElementTensor r = makeTensor(res);
    fillTensor(r, [&](Coords c) {
      c[d] += before;
      return at(x, c);
    });
    before += r.shape[d];
    out.push_back(std::move(r));
  }
  return out;
}
