//===- SlicingOps.cpp - wl.slice, wl.shard --------------------------------===//
//
// Inference, verification, folding and canonicalization of the slice-like
// ops. The canonical form pushes every slice-like op towards the sources, so
// that a rank's mapping reads only the elements it needs, and uses wl.shard
// for any selection that is one equal chunk of one dimension.
//
//===----------------------------------------------------------------------===//
#include "Evaluate.h"
#include "OpUtils.h"

#include "wl/Layout/Shape.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace wl;
using namespace wl::detail;

//===----------------------------------------------------------------------===//
// wl.slice
//===----------------------------------------------------------------------===//

LogicalResult SliceOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  auto type = llvm::cast<RankedTensorType>(adaptor.getInput().getType());
  ArrayRef<int64_t> shape = type.getShape();
  int64_t rank = type.getRank();
  auto checkCount = [&](StringRef what, ArrayRef<int64_t> values) {
    if (static_cast<int64_t>(values.size()) != rank)
      return opError<SliceOp>(loc, "expected ", rank, " ", what,
                              " (one per input dimension), got ",
                              values.size());
    return success();
  };
  ArrayRef<int64_t> offsets = adaptor.getOffsets(), sizes = adaptor.getSizes(),
                    strides = adaptor.getStrides();
  if (failed(checkCount("offsets", offsets)) ||
      failed(checkCount("sizes", sizes)) ||
      failed(checkCount("strides", strides)))
    return failure();
  for (int64_t d = 0; d < rank; ++d) {
    if (offsets[d] < 0)
      return opError<SliceOp>(loc, "offset ", offsets[d], " in dimension ", d,
                              " is negative");
    if (sizes[d] < 0)
      return opError<SliceOp>(loc, "size ", sizes[d], " in dimension ", d,
                              " is negative");
    if (strides[d] < 1)
      return opError<SliceOp>(loc, "stride ", strides[d], " in dimension ", d,
                              " must be at least 1");
    if (sizes[d] == 0) {
      if (offsets[d] > shape[d])
        return opError<SliceOp>(loc, "offset ", offsets[d], " in dimension ",
                                d, " is past the input size ", shape[d]);
      continue;
    }
    int64_t last;
    if (__builtin_mul_overflow(sizes[d] - 1, strides[d], &last) ||
        __builtin_add_overflow(last, offsets[d], &last) || last >= shape[d])
      return opError<SliceOp>(
          loc, "dimension ", d, " reads up to index offset ", offsets[d],
          " + (size ", sizes[d], " - 1) * stride ", strides[d],
          ", past the input size ", shape[d]);
  }
  inferred.push_back(RankedTensorType::get(sizes, type.getElementType()));
  return success();
}

LogicalResult SliceOp::verify() { return verifyByInference(*this); }

OpFoldResult SliceOp::fold(FoldAdaptor) {
  // slice(x, whole tensor) = x
  if (getSliceParams(*this)->isFull(shapeOf(getInput())))
    return getInput();
  return {};
}

//===----------------------------------------------------------------------===//
// wl.shard
//===----------------------------------------------------------------------===//

LogicalResult ShardOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  auto type = llvm::cast<RankedTensorType>(adaptor.getInput().getType());
  int64_t dim = adaptor.getDim(), count = adaptor.getCount(),
          index = adaptor.getIndex();
  if (failed(checkDim<ShardOp>(loc, dim, type.getRank())))
    return failure();
  if (count < 1)
    return opError<ShardOp>(loc, "count ", count, " must be at least 1");
  if (index < 0 || index >= count)
    return opError<ShardOp>(loc, "index ", index,
                            " is out of range for count ", count,
                            " (expected 0 <= index < ", count, ")");
  int64_t size = type.getDimSize(dim);
  if (size % count != 0)
    return opError<ShardOp>(loc, "size ", size, " of dimension ", dim,
                            " is not divisible by count ", count);
  SmallVector<int64_t> shape(type.getShape());
  shape[dim] = size / count;
  inferred.push_back(RankedTensorType::get(shape, type.getElementType()));
  return success();
}

LogicalResult ShardOp::verify() { return verifyByInference(*this); }

OpFoldResult ShardOp::fold(FoldAdaptor) {
  // shard(x, count 1) = x
  if (getCount() == 1)
    return getInput();
  return {};
}

//===----------------------------------------------------------------------===//
// Patterns shared by wl.slice and wl.shard ("slice-like" ops)
//===----------------------------------------------------------------------===//

namespace {

/// Base of the patterns that rewrite a slice-like op `S` by looking at the op
/// that defines its input.
template <typename OpTy>
struct SliceLikePattern : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const final {
    SliceParams params = *getSliceParams(op);
    Value result = rewriteSlice(op, params, rewriter);
    if (!result)
      return failure();
    rewriter.replaceOp(op, result);
    return success();
  }

  /// Returns the value replacing the slice, or null when the pattern does not
  /// apply. Builds only when it returns a value.
  virtual Value rewriteSlice(OpTy op, const SliceParams &params,
                             PatternRewriter &rewriter) const = 0;
};

/// slice(slice(x, o1, s1, t1), o2, s2, t2) = slice(x, o1 + o2*t1, s2, t1*t2)
template <typename OpTy>
struct ComposeSliceLike : SliceLikePattern<OpTy> {
  using SliceLikePattern<OpTy>::SliceLikePattern;
  Value rewriteSlice(OpTy op, const SliceParams &outer,
                     PatternRewriter &rewriter) const override {
    Operation *def = op.getInput().getDefiningOp();
    std::optional<SliceParams> inner = def ? getSliceParams(def) : std::nullopt;
    if (!inner)
      return {};
    SliceParams p = outer;
    for (size_t d = 0; d < p.offsets.size(); ++d) {
      p.offsets[d] = inner->offsets[d] + outer.offsets[d] * inner->strides[d];
      p.strides[d] = inner->strides[d] * outer.strides[d];
    }
    return createSliceLike(rewriter, op.getLoc(), def->getOperand(0), p);
  }
};

/// slice(permute(x, p), o, s, t) = permute(slice(x, o', s', t'), p)
/// where o'[p[k]] = o[k] (same for s and t)
template <typename OpTy>
struct SliceLikeThroughPermute : SliceLikePattern<OpTy> {
  using SliceLikePattern<OpTy>::SliceLikePattern;
  Value rewriteSlice(OpTy op, const SliceParams &params,
                     PatternRewriter &rewriter) const override {
    auto permute = op.getInput().template getDefiningOp<PermuteOp>();
    if (!permute)
      return {};
    ArrayRef<int64_t> perm = permute.getPerm();
    SliceParams inner = params;
    for (size_t k = 0; k < perm.size(); ++k) {
      inner.offsets[perm[k]] = params.offsets[k];
      inner.sizes[perm[k]] = params.sizes[k];
      inner.strides[perm[k]] = params.strides[k];
    }
    Value sliced =
        createSliceLike(rewriter, op.getLoc(), permute.getInput(), inner);
    return rewriter.create<PermuteOp>(op.getLoc(), sliced, perm);
  }
};

/// slice(reshape(x), B) = reshape(slice(x, B')) where B' holds the same flat
/// positions as B (unit strides; B' = reshapeBox(B) must exist)
template <typename OpTy>
struct SliceLikeThroughReshape : SliceLikePattern<OpTy> {
  using SliceLikePattern<OpTy>::SliceLikePattern;
  Value rewriteSlice(OpTy op, const SliceParams &params,
                     PatternRewriter &rewriter) const override {
    auto reshape = op.getInput().template getDefiningOp<ReshapeOp>();
    if (!reshape || !params.hasUnitStrides())
      return {};
    layout::Box box{layout::Shape(params.offsets.begin(), params.offsets.end()),
                    layout::Shape(params.sizes.begin(), params.sizes.end())};
    ArrayRef<int64_t> to = shapeOf(reshape.getResult()),
                      from = shapeOf(reshape.getInput());
    std::optional<layout::Box> inner =
        layout::reshapeBox(box, layout::Shape(to.begin(), to.end()),
                           layout::Shape(from.begin(), from.end()));
    if (!inner)
      return {};
    SliceParams p;
    p.offsets.assign(inner->offsets.begin(), inner->offsets.end());
    p.sizes.assign(inner->sizes.begin(), inner->sizes.end());
    p.strides.assign(p.sizes.size(), 1);
    Value sliced = createSliceLike(rewriter, op.getLoc(), reshape.getInput(), p);
    return rewriter.create<ReshapeOp>(op.getLoc(), op.getType(), sliced);
  }
};

/// Slices each part of a segmented dimension `dim` that the selection
/// [lo, hi) covers, keeping the selection of `params` in other dimensions.
SmallVector<Value> sliceSegments(PatternRewriter &rewriter, Location loc,
                                 ArrayRef<Segment> segments,
                                 const SliceParams &params, int64_t dim,
                                 int64_t lo, int64_t hi) {
  SmallVector<Value> parts;
  for (const Segment &s : coverRange(segments, lo, hi)) {
    SliceParams q = params;
    q.offsets[dim] = s.begin;
    q.sizes[dim] = s.size;
    q.strides[dim] = 1;
    parts.push_back(createSliceLike(rewriter, loc, s.value, q));
  }
  return parts;
}

/// slice_d(concat_d(a, b, ...)) = concat_d(slice(a), slice(b), ...) over the
/// operands that the (unit-stride) range on d covers
template <typename OpTy>
struct SliceLikeOfConcat : SliceLikePattern<OpTy> {
  using SliceLikePattern<OpTy>::SliceLikePattern;
  Value rewriteSlice(OpTy op, const SliceParams &params,
                     PatternRewriter &rewriter) const override {
    auto concat = op.getInput().template getDefiningOp<ConcatOp>();
    if (!concat)
      return {};
    int64_t d = concat.getDim();
    int64_t lo = params.offsets[d], hi = lo + params.sizes[d];
    if (lo == hi || (params.sizes[d] > 1 && params.strides[d] != 1))
      return {};
    SmallVector<Segment> segments;
    for (Value v : concat.getInputs())
      segments.push_back({v, 0, shapeOf(v)[d]});
    SmallVector<Value> parts =
        sliceSegments(rewriter, op.getLoc(), segments, params, d, lo, hi);
    return createConcat(rewriter, op.getLoc(), parts, d);
  }
};

/// slice_d(interleave_d{G}(x_i)) = interleave_d{g1-g0}(slice_d(x_i, chunks
/// g0..g1)) when the range is whole groups g0..g1; within one group g it is
/// concat_d of the chunks of group g that the range covers
template <typename OpTy>
struct SliceLikeOfInterleave : SliceLikePattern<OpTy> {
  using SliceLikePattern<OpTy>::SliceLikePattern;
  Value rewriteSlice(OpTy op, const SliceParams &params,
                     PatternRewriter &rewriter) const override {
    auto interleave = op.getInput().template getDefiningOp<InterleaveOp>();
    if (!interleave)
      return {};
    int64_t d = interleave.getDim(), groups = interleave.getGroups();
    int64_t lo = params.offsets[d], hi = lo + params.sizes[d];
    if (lo == hi || (params.sizes[d] > 1 && params.strides[d] != 1))
      return {};
    int64_t groupSize = shapeOf(interleave.getResult())[d] / groups;
    if (groupSize == 0)
      return {};
    Location loc = op.getLoc();
    if (lo % groupSize == 0 && hi % groupSize == 0) {
      int64_t g0 = lo / groupSize, g1 = hi / groupSize;
      SmallVector<Value> parts;
      for (Value v : interleave.getInputs()) {
        int64_t chunk = shapeOf(v)[d] / groups;
        SliceParams q = params;
        q.offsets[d] = g0 * chunk;
        q.sizes[d] = (g1 - g0) * chunk;
        q.strides[d] = 1;
        parts.push_back(createSliceLike(rewriter, loc, v, q));
      }
      return createInterleave(rewriter, loc, parts, d, g1 - g0);
    }
    int64_t g = lo / groupSize;
    if ((hi - 1) / groupSize != g)
      return {};
    SmallVector<Segment> chunks;
    for (Value v : interleave.getInputs()) {
      int64_t chunk = shapeOf(v)[d] / groups;
      chunks.push_back({v, g * chunk, chunk});
    }
    SmallVector<Value> parts =
        sliceSegments(rewriter, loc, chunks, params, d, lo - g * groupSize,
                      hi - g * groupSize);
    return createConcat(rewriter, loc, parts, d);
  }
};

/// slice(split_d(x)#k) = slice(x) with the offset on d moved by o_k, the
/// start of result k
template <typename OpTy>
struct SliceLikeOfSplit : SliceLikePattern<OpTy> {
  using SliceLikePattern<OpTy>::SliceLikePattern;
  Value rewriteSlice(OpTy op, const SliceParams &params,
                     PatternRewriter &rewriter) const override {
    auto result = llvm::dyn_cast<OpResult>(op.getInput());
    auto split = result ? llvm::dyn_cast<SplitOp>(result.getOwner()) : nullptr;
    if (!split)
      return {};
    int64_t d = split.getDim(), start = 0;
    for (unsigned k = 0; k < result.getResultNumber(); ++k)
      start += split.getSizes()[k];
    SliceParams p = params;
    p.offsets[d] += start;
    return createSliceLike(rewriter, op.getLoc(), split.getInput(), p);
  }
};

/// slice(stack_d(x_0, ..., x_{N-1})) = stack_d(slice(x_n) for the selected n),
/// a reshape of slice(x_n) when one n is selected
template <typename OpTy>
struct SliceLikeOfStack : SliceLikePattern<OpTy> {
  using SliceLikePattern<OpTy>::SliceLikePattern;
  Value rewriteSlice(OpTy op, const SliceParams &params,
                     PatternRewriter &rewriter) const override {
    auto stack = op.getInput().template getDefiningOp<StackOp>();
    if (!stack)
      return {};
    int64_t d = stack.getDim();
    if (params.sizes[d] == 0)
      return {};
    SliceParams inner = params;
    inner.offsets.erase(inner.offsets.begin() + d);
    inner.sizes.erase(inner.sizes.begin() + d);
    inner.strides.erase(inner.strides.begin() + d);
    SmallVector<Value> parts;
    for (int64_t k = 0; k < params.sizes[d]; ++k) {
      Value x = stack.getInputs()[params.offsets[d] + k * params.strides[d]];
      parts.push_back(createSliceLike(rewriter, op.getLoc(), x, inner));
    }
    if (parts.size() == 1)
      return rewriter.create<ReshapeOp>(op.getLoc(), op.getType(), parts[0]);
    return rewriter.create<StackOp>(op.getLoc(), parts, d);
  }
};

/// slice(unstack_d(x)#n) = reshape(slice(x) with index n of dimension d)
template <typename OpTy>
struct SliceLikeOfUnstack : SliceLikePattern<OpTy> {
  using SliceLikePattern<OpTy>::SliceLikePattern;
  Value rewriteSlice(OpTy op, const SliceParams &params,
                     PatternRewriter &rewriter) const override {
    auto result = llvm::dyn_cast<OpResult>(op.getInput());
    auto unstack =
        result ? llvm::dyn_cast<UnstackOp>(result.getOwner()) : nullptr;
    if (!unstack)
      return {};
    int64_t d = unstack.getDim();
    SliceParams p = params;
    p.offsets.insert(p.offsets.begin() + d, result.getResultNumber());
    p.sizes.insert(p.sizes.begin() + d, 1);
    p.strides.insert(p.strides.begin() + d, 1);
    Value sliced = createSliceLike(rewriter, op.getLoc(), unstack.getInput(), p);
    return rewriter.create<ReshapeOp>(op.getLoc(), op.getType(), sliced);
  }
};

/// slice_d(pad_d(x, low, high)) = pad_d(slice_d(x), low', high') with the
/// padding that the range still covers (unit stride, or inside x)
template <typename OpTy>
struct SliceLikeOfPad : SliceLikePattern<OpTy> {
  using SliceLikePattern<OpTy>::SliceLikePattern;
  Value rewriteSlice(OpTy op, const SliceParams &params,
                     PatternRewriter &rewriter) const override {
    auto pad = op.getInput().template getDefiningOp<PadOp>();
    if (!pad)
      return {};
    int64_t d = pad.getDim(), low = pad.getLow();
    int64_t size = shapeOf(pad.getInput())[d];
    int64_t first = params.offsets[d];
    int64_t last = first + (params.sizes[d] - 1) * params.strides[d];
    if (params.sizes[d] == 0)
      return {};
    SliceParams q = params;
    if (first >= low && last < low + size) {
      // Entirely inside x: any stride.
      q.offsets[d] -= low;
      return createSliceLike(rewriter, op.getLoc(), pad.getInput(), q);
    }
    if (params.sizes[d] > 1 && params.strides[d] != 1)
      return {};
    int64_t inLo = std::max(first, low), inHi = std::min(last + 1, low + size);
    if (inLo >= inHi)
      return {}; // only padding selected: nothing left to slice
    q.offsets[d] = inLo - low;
    q.sizes[d] = inHi - inLo;
    Value sliced = createSliceLike(rewriter, op.getLoc(), pad.getInput(), q);
    return rewriter.create<PadOp>(op.getLoc(), sliced, d, inLo - first,
                                  last + 1 - inHi, pad.getValueAttr());
  }
};

/// slice(cast(x)) = cast(slice(x)); slice(affine(x)) = affine(slice(x))
template <typename OpTy>
struct SliceLikeOfElementwise : SliceLikePattern<OpTy> {
  using SliceLikePattern<OpTy>::SliceLikePattern;
  Value rewriteSlice(OpTy op, const SliceParams &params,
                     PatternRewriter &rewriter) const override {
    Operation *def = op.getInput().getDefiningOp();
    if (!def || !llvm::isa<CastOp, AffineOp>(def))
      return {};
    Value sliced =
        createSliceLike(rewriter, op.getLoc(), def->getOperand(0), params);
    IRMapping mapping;
    mapping.map(def->getOperand(0), sliced);
    Operation *clone = rewriter.clone(*def, mapping);
    clone->getResult(0).setType(op.getType());
    return clone->getResult(0);
  }
};

/// slice(x) selecting one equal chunk of one dimension = shard(x)
struct SliceToShard : OpRewritePattern<SliceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SliceOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<ShardForm> shard =
        getShardForm(shapeOf(op.getInput()), *getSliceParams(op));
    if (!shard)
      return failure();
    rewriter.replaceOpWithNewOp<ShardOp>(op, op.getInput(), shard->dim,
                                         shard->count, shard->index);
    return success();
  }
};

template <typename OpTy>
void addSliceLikePatterns(RewritePatternSet &results, MLIRContext *context) {
  results.add<ComposeSliceLike<OpTy>, SliceLikeThroughPermute<OpTy>,
              SliceLikeThroughReshape<OpTy>, SliceLikeOfConcat<OpTy>,
              SliceLikeOfInterleave<OpTy>, SliceLikeOfSplit<OpTy>,
              SliceLikeOfStack<OpTy>, SliceLikeOfUnstack<OpTy>,
              SliceLikeOfPad<OpTy>, SliceLikeOfElementwise<OpTy>>(context);
}

} // namespace

void SliceOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                          MLIRContext *context) {
  addSliceLikePatterns<SliceOp>(results, context);
  results.add<SliceToShard>(context);
}

void ShardOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                          MLIRContext *context) {
  addSliceLikePatterns<ShardOp>(results, context);
}

//===----------------------------------------------------------------------===//
// Semantics: regions (lowering) and elements (interpreter)
//===----------------------------------------------------------------------===//

// slice(x)[i] = x[offsets + i * strides]
SmallVector<layout::Regions>
SliceOp::mapRegions(ArrayRef<layout::Regions> operands) {
  layout::Shape off(getOffsets().begin(), getOffsets().end());
  layout::Shape sz(getSizes().begin(), getSizes().end());
  layout::Shape st(getStrides().begin(), getStrides().end());
  return {layout::sliceRegions(operands[0], off, sz, st)};
}

SmallVector<ElementTensor> SliceOp::evaluate(ArrayRef<ElementTensor> operands) {
  const ElementTensor &x = operands[0];
  ElementTensor r = makeTensor(getResult());
  fillTensor(r, [&](Coords c) {
    for (size_t d = 0; d < c.size(); ++d)
      c[d] = getOffsets()[d] + c[d] * getStrides()[d];
    return at(x, c);
  });
  return {r};
}

// shard(x)[.., i, ..] = x[.., index * chunk + i, ..] on `dim`
SmallVector<layout::Regions>
ShardOp::mapRegions(ArrayRef<layout::Regions> operands) {
  layout::Shape in = layoutShape(getInput());
  int64_t d = getDim(), chunk = in[d] / getCount();
  layout::Regions rs = layout::restrictDim(operands[0], d, getIndex() * chunk,
                                           (getIndex() + 1) * chunk);
  layout::shiftDim(rs, d, -getIndex() * chunk);
  return {rs};
}

SmallVector<ElementTensor> ShardOp::evaluate(ArrayRef<ElementTensor> operands) {
  const ElementTensor &x = operands[0];
  ElementTensor r = makeTensor(getResult());
  int64_t d = getDim(), chunk = r.shape[d];
  fillTensor(r, [&](Coords c) {
    c[d] += getIndex() * chunk;
    return at(x, c);
  });
  return {r};
}
