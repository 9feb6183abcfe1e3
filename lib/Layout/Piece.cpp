//===- Piece.cpp - pieces: steps, coalescing, intervals and boxes --------===//
#include "wl/Layout/Piece.h"
#include "PieceDims.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <functional>
#include <map>
#include <numeric>
#include <sstream>

namespace wl::layout {

uint64_t applySteps(const std::vector<Step> &steps, uint64_t bits,
                    uint64_t scaleBits) {
  for (const Step &s : steps) {
    switch (s.kind) {
    case Step::Cast:
      bits = castBits(bits, s.from, s.to);
      break;
    case Step::Affine:
      bits = affineBits(bits, s.to, s.scale, s.offset);
      break;
    case Step::E2M1Low:
    case Step::E2M1High: {
      const uint32_t code =
          static_cast<uint32_t>(bits >> (s.kind == Step::E2M1High ? 4 : 0));
      bits = castBits(e2m1ToF32Bits(code & 15u), DType::F32, s.to);
      break;
    }
    case Step::RuntimeScale: {
      // The f32 product rounded once to `to` (every dtype here widens to
      // f32 exactly but f64, whose product is taken in f64).
      float v, k;
      const uint32_t kb = runtimeScaleF32Bits(s.from, scaleBits);
      std::memcpy(&k, &kb, 4);
      if (s.to == DType::F64) {
        double x;
        std::memcpy(&x, &bits, 8);
        x *= static_cast<double>(k);
        std::memcpy(&bits, &x, 8);
        break;
      }
      const uint32_t vb =
          static_cast<uint32_t>(castBits(bits, s.to, DType::F32));
      std::memcpy(&v, &vb, 4);
      volatile float r = v * k;
      float rf = r;
      uint32_t rb;
      std::memcpy(&rb, &rf, 4);
      bits = castBits(rb, DType::F32, s.to);
      break;
    }
    }
  }
  return bits;
}

int64_t Piece::numElements() const {
  int64_t n = 1;
  for (int64_t e : shape)
    n *= e;
  return n;
}

ElementPositions elementPositions(const Piece &p, int64_t k) {
  ElementPositions at{p.dstOffset, p.srcOffset, p.scale.offset};
  for (size_t j = p.shape.size(); j-- > 0;) {
    const int64_t c = k % p.shape[j];
    k /= p.shape[j];
    at.dst += c * p.dstStrides[j];
    if (!p.isFill())
      at.src += c * p.srcStrides[j];
    if (p.hasRuntimeScale())
      at.scale += c * p.scale.strides[j];
  }
  return at;
}

namespace detail {

std::vector<Dim> mergeDims(std::vector<Dim> dims, bool byDst, bool needDst,
                           bool needSrc, bool needScale) {
  std::vector<Dim> kept;
  for (const Dim &d : dims)
    if (d.extent != 1)
      kept.push_back(d);
  std::stable_sort(kept.begin(), kept.end(), [&](const Dim &a, const Dim &b) {
    if (byDst)
      return a.dst != b.dst ? a.dst > b.dst : a.src > b.src;
    return a.src != b.src ? a.src > b.src : a.dst > b.dst;
  });
  std::vector<Dim> out;
  for (const Dim &d : kept) {
    if (!out.empty()) {
      Dim &o = out.back();
      bool dstOk = !needDst || o.dst == d.dst * d.extent;
      bool srcOk = !needSrc || o.src == d.src * d.extent;
      bool scaleOk = !needScale || o.scale == d.scale * d.extent;
      if (dstOk && srcOk && scaleOk) {
        o.extent *= d.extent;
        o.dst = d.dst;
        o.src = d.src;
        o.scale = d.scale;
        continue;
      }
    }
    out.push_back(d);
  }
  return out;
}

std::vector<Dim> dimsOf(const Piece &p) {
  std::vector<Dim> dims;
  for (size_t j = 0; j < p.shape.size(); ++j)
    dims.push_back({p.shape[j], p.dstStrides[j],
                    p.isFill() || j >= p.srcStrides.size() ? 0
                                                           : p.srcStrides[j],
                    p.hasRuntimeScale() ? p.scale.strides[j] : 0});
  return dims;
}

RowSet rowSetOf(const Piece &p, bool dstSide) {
  RowSet r;
  r.offset = dstSide ? p.dstOffset : p.srcOffset;
  std::vector<Dim> dims = dimsOf(p);
  if (!dstSide)
    for (Dim &d : dims)
      std::swap(d.dst, d.src);
  dims = mergeDims(dims, /*byDst=*/true, /*needDst=*/true, /*needSrc=*/false);
  if (!dims.empty() && dims.back().dst == 1) {
    r.len = dims.back().extent;
    dims.pop_back();
  }
  for (const Dim &d : dims)
    r.outer.push_back({d.extent, d.dst});
  return r;
}

namespace {

/// Rows that abut along the innermost outer dim become one row.
void absorbInner(RowSet &s) {
  while (!s.outer.empty() && s.outer.back().stride == s.len) {
    s.len *= s.outer.back().extent;
    s.outer.pop_back();
  }
}

} // namespace

void collapseRowSets(std::vector<RowSet> &sets, bool unionOnly) {
  for (RowSet &s : sets)
    absorbInner(s);
  // A round merges every chain of a lattice at once; absorbing rows
  // into longer ones can make new neighbours, so it repeats, but only
  // while a round still removes a hundredth of the sets (a plan with
  // hundreds of thousands of pieces must not take a round per merge).
  for (size_t before = SIZE_MAX;
       sets.size() > 1 && sets.size() < before - before / 100;) {
    before = sets.size();
    // Same lattice next to each other, by offset.
    std::sort(sets.begin(), sets.end(), [](const RowSet &a, const RowSet &b) {
      return a.outer != b.outer ? a.outer < b.outer : a.offset < b.offset;
    });
    std::vector<RowSet> out;
    for (RowSet &s : sets) {
      // [o, o + a) and [o + a, o + a + b) at every lattice point hold the
      // elements of [o, o + a + b) there, each as often.
      // For the union, [o, o + a) and [o + c, o + c + b) with c <= a hold
      // [o, o + max(a, c + b)).
      RowSet *last = out.empty() ? nullptr : &out.back();
      if (last && last->outer == s.outer &&
          (last->offset + last->len == s.offset ||
           (unionOnly && s.offset <= last->offset + last->len))) {
        last->len = std::max(last->len, s.offset + s.len - last->offset);
        continue;
      }
      out.push_back(std::move(s));
    }
    // Absorbed after the pass, so that a chain is not cut by its own
    // first merge changing its lattice.
    for (RowSet &s : out)
      absorbInner(s);
    sets = std::move(out);
  }
}

void appendIntervals(const RowSet &s, std::vector<Interval> &out) {
  std::vector<Dim> dims;
  for (const RowSet::Outer &o : s.outer)
    dims.push_back({o.extent, o.stride, 0});
  dims.push_back({s.len, 1, 0});
  forEachRow(dims, s.offset, 0,
             [&](int64_t pos, int64_t) { out.push_back({pos, pos + s.len}); });
}

void appendIntervals(const Piece &p, bool dstSide, std::vector<Interval> &out) {
  if (p.numElements() == 0)
    return;
  appendIntervals(rowSetOf(p, dstSide), out);
}

} // namespace detail

using namespace detail;

namespace {

Piece withDims(const Piece &p, const std::vector<Dim> &dims) {
  Piece r = p;
  r.shape.clear();
  r.dstStrides.clear();
  r.srcStrides.clear();
  r.scale.strides.clear();
  for (const Dim &d : dims) {
    r.shape.push_back(d.extent);
    r.dstStrides.push_back(d.dst);
    r.srcStrides.push_back(d.src);
    if (p.hasRuntimeScale())
      r.scale.strides.push_back(d.scale);
  }
  return r;
}

} // namespace

std::vector<Interval> mergeIntervals(std::vector<Interval> v) {
  std::sort(v.begin(), v.end(), [](const Interval &a, const Interval &b) {
    return a.begin < b.begin;
  });
  std::vector<Interval> out;
  for (const Interval &i : v) {
    if (!out.empty() && i.begin <= out.back().end)
      out.back().end = std::max(out.back().end, i.end);
    else
      out.push_back(i);
  }
  return out;
}

Piece coalesce(const Piece &p) {
  if (p.numElements() == 0) {
    Piece r = withDims(p, {{0, 1, 1}});
    return r;
  }
  return withDims(p, mergeDims(dimsOf(p), true, true, !p.isFill(),
                               p.hasRuntimeScale()));
}

std::vector<Interval> touchedIntervals(const Piece &p, bool dstSide) {
  std::vector<Interval> v;
  appendIntervals(p, dstSide, v);
  return mergeIntervals(std::move(v));
}

std::vector<Box> intervalToBoxes(const Shape &shape, int64_t begin,
                                 int64_t end) {
  std::vector<Box> out;
  size_t rank = shape.size();
  if (begin >= end)
    return out;
  if (rank == 0) {
    out.push_back({{}, {}});
    return out;
  }
  Shape strides = rowMajorStrides(shape);
  // Recursive descent: `prefix` fixes dims [0, d); [a, b) is relative to the
  // sub-tensor of dims [d, rank).
  std::function<void(size_t, Shape &, int64_t, int64_t)> rec =
      [&](size_t d, Shape &prefix, int64_t a, int64_t b) {
        int64_t w = strides[d];
        auto box = [&](int64_t lo, int64_t hi) {
          Box bx;
          bx.offsets = prefix;
          bx.sizes.assign(prefix.size(), 1);
          bx.offsets.push_back(lo);
          bx.sizes.push_back(hi - lo);
          for (size_t k = d + 1; k < rank; ++k) {
            bx.offsets.push_back(0);
            bx.sizes.push_back(shape[k]);
          }
          out.push_back(bx);
        };
        if (a % w == 0 && b % w == 0) {
          box(a / w, b / w);
          return;
        }
        int64_t a0 = a / w, b0 = (b - 1) / w;
        auto into = [&](int64_t slot, int64_t lo, int64_t hi) {
          prefix.push_back(slot);
          rec(d + 1, prefix, lo, hi);
          prefix.pop_back();
        };
        if (a0 == b0) {
          into(a0, a - a0 * w, b - a0 * w);
          return;
        }
        int64_t a1 = a0;
        if (a % w != 0) {
          into(a0, a - a0 * w, w);
          a1 = a0 + 1;
        }
        int64_t b1 = b / w;
        if (b1 > a1)
          box(a1, b1);
        if (b % w != 0)
          into(b1, 0, b - b1 * w);
      };
  Shape prefix;
  rec(0, prefix, begin, end);
  return out;
}

std::string formatBox(const Box &b) {
  std::ostringstream os;
  os << "[";
  for (size_t d = 0; d < b.offsets.size(); ++d)
    os << (d ? ", " : "") << b.offsets[d] << ":" << b.offsets[d] + b.sizes[d];
  os << "]";
  return os.str();
}

std::vector<Piece> splitPiece(const Piece &p, int64_t maxElements) {
  maxElements = std::max<int64_t>(maxElements, 1);
  if (p.numElements() <= maxElements || p.shape.empty())
    return {p};
  // k: the first dimension whose trailing block (dims after it) fits.
  const size_t rank = p.shape.size();
  size_t k = rank - 1;
  int64_t tail = 1; // elements of dims k+1 .. rank-1
  while (k > 0 && tail * p.shape[k] <= maxElements) {
    tail *= p.shape[k];
    --k;
  }
  const int64_t run = std::max<int64_t>(maxElements / tail, 1);
  std::vector<Piece> out;
  std::vector<int64_t> outer(k, 0); // an index of dims 0 .. k-1
  while (true) {
    int64_t dst = p.dstOffset, src = p.srcOffset, scale = p.scale.offset;
    for (size_t j = 0; j < k; ++j) {
      dst += outer[j] * p.dstStrides[j];
      src += outer[j] * (p.isFill() ? 0 : p.srcStrides[j]);
      if (p.hasRuntimeScale())
        scale += outer[j] * p.scale.strides[j];
    }
    for (int64_t i = 0; i < p.shape[k]; i += run) {
      Piece q = p;
      q.shape.assign(p.shape.begin() + k, p.shape.end());
      q.shape[0] = std::min(run, p.shape[k] - i);
      q.dstStrides.assign(p.dstStrides.begin() + k, p.dstStrides.end());
      q.dstOffset = dst + i * p.dstStrides[k];
      if (!p.srcStrides.empty()) {
        q.srcStrides.assign(p.srcStrides.begin() + k, p.srcStrides.end());
        q.srcOffset = src + i * p.srcStrides[k];
      }
      if (p.hasRuntimeScale()) {
        q.scale.strides.assign(p.scale.strides.begin() + k,
                               p.scale.strides.end());
        q.scale.offset = scale + i * p.scale.strides[k];
      }
      out.push_back(std::move(q));
    }
    size_t j = k;
    while (j > 0 && ++outer[j - 1] == p.shape[j - 1])
      outer[--j] = 0;
    if (j == 0)
      return out;
  }
}

} // namespace wl::layout
