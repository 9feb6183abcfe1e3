//===- PlanToIR.cpp - a plan written back as wl IR ------------------------===//
//
// Each piece becomes one chain source -> slice -> reshape -> permute ->
// reshape -> (cast/affine) -> sink at [offsets] of [target shape], when its
// dimensions can be laid onto dimensions of the source and of the target
// (the usual case: shards, row blocks, transposes). Dimensions that coalescing
// merged across tensor dimensions are split back first. A piece that cannot
// be laid out that way (a run that wraps around a row part-way) is written
// row by row from the flattened source, and at worst element by element.
//
//===----------------------------------------------------------------------===//
#include "wl/Transforms/PlanToIR.h"

#include "wl/IR/ElementTypes.h"
#include "wl/IR/WLOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

#include <algorithm>
#include <numeric>

using namespace mlir;
using namespace wl::layout;

namespace wl::mapping {

namespace {

/// One dimension of a piece: its extent and its strides on both sides.
struct Dim {
  int64_t size, dst, src;
};

/// Lays the piece dimensions onto dimensions of a tensor of `shape` at flat
/// `offset` (the dst or the src side): dimension k goes to the tensor
/// dimension whose row-major stride equals its stride, and must fit there
/// from the offset's coordinate on. A dimension that spans several whole
/// tensor dimensions is split (both strides) into an outer and an inner one.
/// With `refine` (the source side, which may be viewed through a reshape),
/// a tensor dimension that a stride falls inside is split in two instead.
/// Returns false when some dimension fits nowhere; sets `split` when it
/// split a piece dimension (the other side must then be laid out again). On
/// success `place[k]` is the tensor dimension of piece dimension k, all
/// distinct.
bool layOnto(std::vector<Dim> &dims, Shape &shape, int64_t offset, bool dstSide,
             bool refine, std::vector<size_t> &place, bool &split) {
  Shape strides = rowMajorStrides(shape);
  Shape at = unflatIndex(shape, offset);
  place.assign(dims.size(), 0);
  std::vector<bool> used(shape.size(), false);
  for (size_t k = 0; k < dims.size(); ++k) {
    int64_t stride = dstSide ? dims[k].dst : dims[k].src;
    // Among equal strides (unit dimensions) the one with room.
    int64_t i = -1;
    for (size_t j = 0; j < shape.size(); ++j)
      if (strides[j] == stride && shape[j] > 1 && !used[j])
        i = static_cast<int64_t>(j);
    if (i < 0 && refine) {
      for (size_t j = 0; j < shape.size(); ++j) {
        if (stride <= strides[j] || stride % strides[j] != 0)
          continue;
        int64_t f = stride / strides[j];
        if (f >= shape[j] || shape[j] % f != 0)
          continue;
        int64_t outer = shape[j] / f;
        shape[j] = f;
        shape.insert(shape.begin() + j, outer);
        return layOnto(dims, shape, offset, dstSide, refine, place, split);
      }
    }
    if (i < 0)
      return false;
    if (at[i] + dims[k].size <= shape[i]) {
      place[k] = i;
      used[i] = true;
      continue;
    }
    if (at[i] != 0 || dims[k].size % shape[i] != 0 || i == 0)
      return false;
    int64_t inner = shape[i];
    Dim outer{dims[k].size / inner, dims[k].dst * inner, dims[k].src * inner};
    dims[k].size = inner;
    dims.insert(dims.begin() + k, outer);
    split = true;
    return layOnto(dims, shape, offset, dstSide, refine, place, split);
  }
  return true;
}

class Writer {
public:
  Writer(const Plan &plan, MLIRContext *ctx, OpBuilder &b)
      : plan(plan), ctx(ctx), b(b), loc(b.getUnknownLoc()),
        whole(plan.sources.size()), flat(plan.sources.size()) {}

  void write(const Piece &raw) {
    Piece p = coalesce(raw);
    std::vector<Dim> dims;
    for (size_t j = 0; j < p.shape.size(); ++j)
      if (p.shape[j] != 1)
        dims.push_back({p.shape[j], p.dstStrides[j], p.srcStrides[j]});
    if (dims.empty())
      dims.push_back({1, 1, 1});
    write(p, dims, p.dstOffset, p.srcOffset);
  }

private:
  /// The box of `dims` at (dst, src) as one chain; when it does not lie on
  /// tensor dimensions, one chain per index of its outermost dimension, and
  /// for a single row, from the flattened source (element by element at
  /// worst).
  void write(const Piece &p, const std::vector<Dim> &dims, int64_t dst,
             int64_t src) {
    if (writeLaidOut(p, dims, dst, src))
      return;
    if (dims.size() > 1) {
      std::vector<Dim> inner(dims.begin() + 1, dims.end());
      for (int64_t c = 0; c < dims[0].size; ++c)
        write(p, inner, dst + c * dims[0].dst, src + c * dims[0].src);
      return;
    }
    if (writeRow(p, dims[0], dst, src))
      return;
    for (int64_t e = 0; e < dims[0].size; ++e)
      writeRow(p, {1, 1, 1}, dst + e * dims[0].dst, src + e * dims[0].src);
  }

  /// The box as one chain, when its dimensions lie on dimensions of a view
  /// of the source and of a view of the target in which it is a box of the
  /// target itself.
  bool writeLaidOut(const Piece &p, std::vector<Dim> dims, int64_t dstOffset,
                    int64_t srcOffset) {
    const TensorInfo &t = plan.targets[p.target];
    const TensorInfo &s = plan.sources[p.source];
    if (t.shape.empty() || s.shape.empty())
      return false;
    std::vector<size_t> dstAt, srcAt;
    Shape dstView = t.shape, view = s.shape;
    for (int round = 0;; ++round) {
      bool split = false;
      if (!layOnto(dims, dstView, dstOffset, true, true, dstAt, split))
        return false;
      if (!layOnto(dims, view, srcOffset, false, true, srcAt, split))
        return false;
      if (!split)
        break;
      if (round > 8)
        return false;
    }
    Box dstBox{unflatIndex(dstView, dstOffset), Shape(dstView.size(), 1)};
    for (size_t k = 0; k < dims.size(); ++k)
      dstBox.sizes[dstAt[k]] = dims[k].size;
    std::optional<Box> box = reshapeBox(dstBox, dstView, t.shape);
    if (!box)
      return false;
    // Slice the box of the source (seen as `view`), in source dimension
    // order.
    Shape srcStart = unflatIndex(view, srcOffset);
    Shape sizes(view.size(), 1);
    for (size_t k = 0; k < dims.size(); ++k)
      sizes[srcAt[k]] = dims[k].size;
    Type st = elementTypeOf(ctx, s.dtype);
    Value v = reshape(sourceOf(p.source), view, st);
    if (sizes != view)
      v = b.create<SliceOp>(loc, RankedTensorType::get(sizes, st), v, srcStart,
                            sizes, Shape(sizes.size(), 1));
    // Piece dimensions in source order, then in target order.
    std::vector<size_t> bySrc(dims.size()), byDst(dims.size());
    std::iota(bySrc.begin(), bySrc.end(), 0);
    std::iota(byDst.begin(), byDst.end(), 0);
    std::sort(bySrc.begin(), bySrc.end(),
              [&](size_t a, size_t c) { return srcAt[a] < srcAt[c]; });
    std::sort(byDst.begin(), byDst.end(),
              [&](size_t a, size_t c) { return dstAt[a] < dstAt[c]; });
    Shape compact;
    for (size_t k : bySrc)
      compact.push_back(dims[k].size);
    if (dims.size() > 1)
      v = reshape(v, compact, st);
    if (bySrc != byDst) {
      std::vector<int64_t> perm; // result dim j is input dim perm[j]
      Shape permuted;
      for (size_t k : byDst) {
        perm.push_back(std::find(bySrc.begin(), bySrc.end(), k) -
                       bySrc.begin());
        permuted.push_back(dims[k].size);
      }
      v = b.create<PermuteOp>(loc, RankedTensorType::get(permuted, st), v,
                              perm);
    }
    v = reshape(v, box->sizes, st);
    sink(p, v, box->sizes, box->offsets);
    return true;
  }

  /// One strided run of the flattened source into a box of the target.
  bool writeRow(const Piece &p, Dim row, int64_t dst, int64_t src) {
    const TensorInfo &t = plan.targets[p.target];
    const TensorInfo &s = plan.sources[p.source];
    std::vector<Dim> dims = {row};
    std::vector<size_t> dstAt;
    bool split = false;
    Shape dstView = t.shape;
    if (!t.shape.empty() && row.size > 1 &&
        !layOnto(dims, dstView, dst, true, true, dstAt, split))
      return false;
    Box dstBox{unflatIndex(dstView, dst), Shape(dstView.size(), 1)};
    for (size_t k = 0; k < dstAt.size(); ++k)
      dstBox.sizes[dstAt[k]] = dims[k].size;
    std::optional<Box> box = t.shape.empty()
                                 ? std::optional<Box>(Box{})
                                 : reshapeBox(dstBox, dstView, t.shape);
    if (!box)
      return false;
    Type st = elementTypeOf(ctx, s.dtype);
    Value v = flatSource(p.source);
    int64_t n = *numElements(s.shape);
    if (row.size != n)
      v = b.create<SliceOp>(loc, RankedTensorType::get({row.size}, st), v,
                            Shape{src}, Shape{row.size},
                            Shape{row.size > 1 ? row.src : 1});
    v = reshape(v, box->sizes, st);
    sink(p, v, box->sizes, box->offsets);
    return true;
  }

  void sink(const Piece &p, Value v, const Shape &box, const Shape &at) {
    const TensorInfo &t = plan.targets[p.target];
    for (const Step &step : p.steps) {
      if (step.kind == Step::Cast)
        v = b.create<CastOp>(
            loc, RankedTensorType::get(box, elementTypeOf(ctx, step.to)), v);
      else
        v = b.create<AffineOp>(loc, v.getType(), v,
                               b.getF64FloatAttr(step.scale),
                               b.getF64FloatAttr(step.offset));
    }
    if (box == t.shape)
      b.create<SinkOp>(loc, v, t.name, nullptr, nullptr);
    else
      b.create<SinkOp>(loc, v, t.name, b.getDenseI64ArrayAttr(at),
                       b.getDenseI64ArrayAttr(t.shape));
  }

  Value reshape(Value v, const Shape &shape, Type et) {
    auto type = cast<RankedTensorType>(v.getType());
    if (type.getShape() == ArrayRef<int64_t>(shape))
      return v;
    return b.create<ReshapeOp>(loc, RankedTensorType::get(shape, et), v);
  }

  Value sourceOf(int64_t s) {
    if (!whole[s]) {
      const TensorInfo &t = plan.sources[s];
      whole[s] = b.create<SourceOp>(
          loc, RankedTensorType::get(t.shape, elementTypeOf(ctx, t.dtype)),
          b.getStringAttr(t.name));
    }
    return whole[s];
  }

  Value flatSource(int64_t s) {
    if (!flat[s]) {
      const TensorInfo &t = plan.sources[s];
      flat[s] =
          reshape(sourceOf(s), {*numElements(t.shape)}, elementTypeOf(ctx, t.dtype));
    }
    return flat[s];
  }

  /// Calls f(dst, src) for every index of `dims` (row-major).
  template <typename F>
  static void forEach(const std::vector<Dim> &dims, int64_t dst, int64_t src,
                      F f) {
    int64_t count = 1;
    for (const Dim &d : dims)
      count *= d.size;
    for (int64_t k = 0; k < count; ++k) {
      int64_t rest = k, o = dst, i = src;
      for (size_t j = dims.size(); j-- > 0;) {
        int64_t c = rest % dims[j].size;
        rest /= dims[j].size;
        o += c * dims[j].dst;
        i += c * dims[j].src;
      }
      f(o, i);
    }
  }

  const Plan &plan;
  MLIRContext *ctx;
  OpBuilder &b;
  Location loc;
  std::vector<Value> whole, flat;
};

} // namespace

OwningOpRef<ModuleOp> planToIR(const Plan &plan, MLIRContext *ctx,
                               llvm::StringRef name) {
  ctx->loadDialect<WLDialect, func::FuncDialect>();
  for (const Piece &p : plan.pieces)
    if (p.isFill() || p.hasRuntimeScale())
      return nullptr; // see the header: inverses have no fill pieces, and
                      // the dialect no run-time scales
  std::vector<bool> written(plan.targets.size(), false);
  for (const Piece &p : plan.pieces)
    if (p.numElements() > 0)
      written[p.target] = true;
  if (std::find(written.begin(), written.end(), false) != written.end())
    return nullptr;

  OpBuilder b(ctx);
  Location loc = b.getUnknownLoc();
  OwningOpRef<ModuleOp> m = ModuleOp::create(loc);
  b.setInsertionPointToEnd(m->getBody());
  auto fn = b.create<func::FuncOp>(loc, name, b.getFunctionType({}, {}));
  b.setInsertionPointToStart(fn.addEntryBlock());
  Writer writer(plan, ctx, b);
  for (const Piece &p : plan.pieces)
    if (p.numElements() > 0)
      writer.write(p);
  b.create<func::ReturnOp>(loc);
  return m;
}

} // namespace wl::mapping
