//===- Mxfp4.cpp - MXFP4 tensors decoded through a plan -------------------===//
#include "wl/Layout/Mxfp4.h"

#include <algorithm>

namespace wl::layout {

Shape mxfp4LogicalShape(const Shape &blocks) {
  const size_t k = blocks.size();
  Shape l(blocks.begin(), blocks.end() - 3);
  l.push_back(blocks[k - 2] * kMxfp4Group);
  l.push_back(blocks[k - 3]);
  return l;
}

namespace {

/// A piece dimension that steps one axis of the logical tensor: `c`
/// coordinates an index (axis -1: it does not move, a broadcast).
struct AxisDim {
  int64_t extent, dst, c;
  int axis;
};

/// The dimensions of the coalesced piece `p` as steps along single axes of
/// the logical tensor of shape `l`, a dimension that runs across several
/// axes (rows merged by coalescing) split back into them. Fails when a
/// dimension wraps part-way through an axis.
bool axisDims(const Piece &p, const Shape &l, const Shape &start,
              std::vector<AxisDim> &out) {
  const Shape st = rowMajorStrides(l);
  std::vector<AxisDim> work;
  for (size_t j = 0; j < p.shape.size(); ++j) {
    const int64_t s = p.srcStrides[j];
    if (s < 0)
      return false;
    if (s == 0) {
      out.push_back({p.shape[j], p.dstStrides[j], 0, -1});
      continue;
    }
    int a = 0;
    while (st[a] > s || s % st[a] != 0)
      ++a;
    work.push_back({p.shape[j], p.dstStrides[j], s / st[a], a});
  }
  while (!work.empty()) {
    AxisDim d = work.back();
    work.pop_back();
    // A run over whole rows of axis a, m = l[a] / c elements a row from
    // the row's first c: (rows along axis a - 1, m along axis a).
    const int64_t m = d.axis > 0 && l[d.axis] % d.c == 0 ? l[d.axis] / d.c : 0;
    if (m > 0 && d.extent > m && d.extent % m == 0 && start[d.axis] < d.c) {
      out.push_back({m, d.dst, d.c, d.axis});
      work.push_back({d.extent / m, d.dst * m, 1, d.axis - 1});
      continue;
    }
    out.push_back(d);
  }
  std::vector<int64_t> reach(start.begin(), start.end());
  for (const AxisDim &d : out)
    if (d.axis >= 0)
      reach[d.axis] += d.c * (d.extent - 1);
  for (size_t a = 0; a < l.size(); ++a)
    if (reach[a] >= l[a])
      return false;
  return true;
}

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
  bool run(std::vector<Piece> &out, int64_t i, int64_t n, int64_t c, int64_t D,
           int64_t delta) {
    if (n <= 0)
      return true;
    if (n == 1)
      c = 2;        // one element: any even step
    if (c % 2 != 0) // the nibble alternates: even and odd t apart
      return run(out, i, (n + 1) / 2, 2 * c, 2 * D, delta) &&
             run(out, i + c, n / 2, 2 * c, 2 * D, delta + D);
    if (n == 1)
      return make(out, i, {}, delta);
    if (c % kMxfp4Group == 0)
      return make(out, i, {{n, D, c / 2, c / kMxfp4Group}}, delta);
    if (kMxfp4Group % c != 0)
      return false;
    // Cut at group edges: the head up to the first edge, whole groups,
    // the tail; a group's elements share its scale.
    const int64_t per = kMxfp4Group / c;
    const int64_t edge = (i / kMxfp4Group + 1) * kMxfp4Group;
    // (No head when the first group holds all 32 / c: i within its first c.)
    const int64_t head =
        i % kMxfp4Group < c ? 0 : std::min(n, (edge - i + c - 1) / c);
    if (head > 0 && !make(out, i, {{head, D, c / 2, 0}}, delta))
      return false;
    const int64_t groups = (n - head) / per, tail = n - head - groups * per;
    const int64_t at = i + c * head;
    if (groups > 0 &&
        !make(out, at,
              {{groups, D * per, kMxfp4GroupBytes, 1}, {per, D, c / 2, 0}},
              delta + D * head))
      return false;
    if (tail > 0)
      return make(out, at + c * groups * per, {{tail, D, c / 2, 0}},
                  delta + D * (head + groups * per));
    return true;
  }

  /// One piece: the other dimensions, then `inner` (along In), its first
  /// element at In coordinate i.
  bool make(std::vector<Piece> &out, int64_t i, const std::vector<Out> &inner,
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
    return true;
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

bool decodeMxfp4(Plan &plan, const std::vector<Mxfp4Source> &which,
                 std::string &error) {
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
  for (const Piece &raw : plan.pieces) {
    if (raw.isFill() || scalesOf[raw.source] < 0) {
      out.push_back(raw);
      continue;
    }
    const Piece p = coalesce(raw);
    if (p.numElements() == 0)
      continue;
    const Shape &l = logical[p.source];
    Shape start(l.size());
    int64_t rest = p.srcOffset;
    for (size_t a = l.size(); a-- > 0;) {
      start[a] = rest % l[a];
      rest /= l[a];
    }
    std::vector<AxisDim> dims;
    bool ok = axisDims(p, l, start, dims);
    if (ok) {
      Decoder d(p, plan.sources[p.source].dtype, blocks[p.source],
                scalesOf[p.source], dims, start);
      ok = d.emit(out);
    }
    if (!ok) {
      error = "target '" + plan.targets[p.target].name +
              "': a piece reads MXFP4 tensor '" + plan.sources[p.source].name +
              "' in a way its blocks cannot be decoded in place (two "
              "dimensions along its blocked axis, a step there that neither "
              "divides 32 nor is a multiple of it, or a run that wraps "
              "part-way through a row)";
      return false;
    }
  }
  for (const Mxfp4Source &m : which)
    plan.sources[m.source] = {m.blocks, DType::U8, blocks[m.source]};
  plan.pieces = std::move(out);
  return true;
}

} // namespace wl::layout
