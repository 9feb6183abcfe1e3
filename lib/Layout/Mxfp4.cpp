//===- Mxfp4.cpp - MXFP4 tensors decoded through a plan -------------------===//
#include "wl/Layout/Mxfp4.h"
#include "BlockCuts.h"

#include <algorithm>
#include <functional>

namespace wl::layout {

Shape mxfp4LogicalShape(const Shape &blocks) {
  const size_t k = blocks.size();
  Shape l(blocks.begin(), blocks.end() - 3);
  l.push_back(blocks[k - 2] * kMxfp4Group);
  l.push_back(blocks[k - 3]);
  return l;
}

namespace {

using detail::AxisDim;

/// The pieces of one MXFP4 read, made as axisDims' dimensions allow.
class Decoder {
public:
  Decoder(const Piece &p, DType type, const Shape &blocks, int64_t scales,
          const std::vector<AxisDim> &dims, const Shape &start)
      : p_(p), type_(type), scales_(scales),
        inAxis_(static_cast<int>(start.size()) - 2) {
    const Shape sb = rowMajorStrides(blocks);
    Shape gridShape(blocks.begin(), blocks.end() - 1);
    const Shape sg = rowMajorStrides(gridShape);
    // Logical axis a (prefix, then In, then R) to the blocks' and the
    // grid's strides: the prefix keeps its axes, R is the blocks' axis P.
    const int P = inAxis_;
    auto byteStride = [&](int a) { return a < P ? sb[a] : sb[P]; };
    auto gridStride = [&](int a) { return a < P ? sg[a] : sg[P]; };
    for (int a = 0; a < static_cast<int>(start.size()); ++a) {
      if (a == P)
        continue;
      byteBase_ += start[a] * byteStride(a);
      gridBase_ += start[a] * gridStride(a);
    }
    for (const AxisDim &d : dims) {
      if (d.axis == P) {
        in_.push_back(d);
        continue;
      }
      const bool moves = d.axis >= 0;
      rest_.push_back({d.extent, d.dst, moves ? d.c * byteStride(d.axis) : 0,
                       moves ? d.c * gridStride(d.axis) : 0});
    }
    i0_ = start[P];
  }

  /// Appends the pieces; false when the In axis is stepped in a way they
  /// cannot follow.
  bool emit(std::vector<Piece> &out) {
    if (in_.size() > 1)
      return false;
    if (in_.empty())
      return run(out, i0_, 1, 2, 0, 0);
    const AxisDim &d = in_.front();
    return run(out, i0_, d.extent, d.c, d.dst, 0);
  }

private:
  struct Out {
    int64_t extent, dst, byte, grid;
  };

  /// Elements t < n at In coordinate i + c t, target offset delta + D t.
  bool run(std::vector<Piece> &out, int64_t i, int64_t n, int64_t c,
           int64_t D, int64_t delta) {
    if (n <= 0)
      return true;
    if (n > 1 && c % 2 != 0) // the nibble alternates: even and odd t apart
      return run(out, i, (n + 1) / 2, 2 * c, 2 * D, delta) &&
             run(out, i + c, n / 2, 2 * c, 2 * D, delta + D);
    // Each part's elements share their nibble (c even); a group's share
    // its scale. Byte = coordinate / 2, group = coordinate / 32.
    std::vector<detail::CutPart> parts;
    if (!detail::cutAtBlocks(i, n, c, D, kMxfp4Group, parts))
      return false;
    for (const detail::CutPart &part : parts) {
      std::vector<Out> inner;
      for (const detail::CutDim &d : part.dims)
        inner.push_back({d.extent, d.dst, d.coord / 2, d.block});
      make(out, part.first, inner, delta + part.dstDelta);
    }
    return true;
  }

  /// One piece: the other dimensions, then `inner` (along In), its first
  /// element at In coordinate i.
  void make(std::vector<Piece> &out, int64_t i, const std::vector<Out> &inner,
            int64_t delta) {
    Piece q;
    q.target = p_.target;
    q.source = p_.source; // the logical entry, now the blocks
    q.dstOffset = p_.dstOffset + delta;
    q.srcOffset = byteBase_ + i / 2;
    q.scale.source = scales_;
    q.scale.offset = gridBase_ + i / kMxfp4Group;
    std::vector<Out> all = rest_;
    all.insert(all.end(), inner.begin(), inner.end());
    for (const Out &o : all) {
      q.shape.push_back(o.extent);
      q.dstStrides.push_back(o.dst);
      q.srcStrides.push_back(o.byte);
      q.scale.strides.push_back(o.grid);
    }
    q.steps = {
        {i % 2 == 0 ? Step::E2M1Low : Step::E2M1High, DType::U8, DType::F32},
        {Step::RuntimeScale, DType::U8, DType::F32},
        {Step::Cast, DType::F32, type_}};
    q.steps.insert(q.steps.end(), p_.steps.begin(), p_.steps.end());
    out.push_back(std::move(q));
  }

  const Piece &p_;
  DType type_; ///< the logical tensor's
  int64_t scales_;
  int inAxis_;
  std::vector<Out> rest_;
  std::vector<AxisDim> in_;
  int64_t i0_ = 0, byteBase_ = 0, gridBase_ = 0;
};

} // namespace

void decodeMxfp4(Plan &plan, const std::vector<Mxfp4Source> &which) {
  std::vector<int64_t> scalesOf(plan.sources.size(), -1);
  std::vector<Shape> logical(plan.sources.size()), blocks(plan.sources.size());
  for (const Mxfp4Source &m : which) {
    TensorInfo &src = plan.sources[m.source];
    logical[m.source] = src.shape;
    // [..., G * 32, R] back to [..., R, G, 16].
    const size_t k = src.shape.size();
    Shape b(src.shape.begin(), src.shape.end() - 2);
    b.push_back(src.shape[k - 1]);
    b.push_back(src.shape[k - 2] / kMxfp4Group);
    b.push_back(kMxfp4GroupBytes);
    blocks[m.source] = b;
    scalesOf[m.source] = static_cast<int64_t>(plan.sources.size());
    plan.sources.push_back(
        {m.scales, DType::U8, Shape(b.begin(), b.end() - 1)});
  }
  std::vector<Piece> out;
  out.reserve(plan.pieces.size());
  // A piece the decoder cannot follow as it is (two dimensions along the
  // blocked axis, a step there that neither divides 32 nor is a multiple
  // of it, a run that wraps part-way through a row) is unrolled along its
  // widest dimension until it can; single elements always decode.
  std::function<void(const Piece &)> decode = [&](const Piece &raw) {
    const Piece p = coalesce(raw);
    if (p.numElements() == 0)
      return;
    const Shape &l = logical[p.source];
    const Shape start = unflatIndex(l, p.srcOffset);
    std::vector<AxisDim> dims;
    std::vector<Piece> made;
    if (detail::axisDims(p, l, start, dims)) {
      Decoder d(p, plan.sources[p.source].dtype, blocks[p.source],
                scalesOf[p.source], dims, start);
      if (d.emit(made)) {
        out.insert(out.end(), made.begin(), made.end());
        return;
      }
    }
    for (const Piece &q : detail::unrollWidest(p))
      decode(q);
  };
  for (const Piece &raw : plan.pieces) {
    if (raw.isFill() || scalesOf[raw.source] < 0)
      out.push_back(raw);
    else
      decode(raw);
  }
  for (const Mxfp4Source &m : which)
    plan.sources[m.source] = {m.blocks, DType::U8, blocks[m.source]};
  plan.pieces = std::move(out);
}

} // namespace wl::layout
