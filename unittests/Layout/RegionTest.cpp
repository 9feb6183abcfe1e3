//===- RegionTest.cpp - region transfer functions over every element ------===//
//
// Each function of wl/Layout/Region.h against its op's definition, checked
// on every element: a value's regions are expanded into the origin of each
// element (the source position it reads, or its fill), by the formula in
// Region.h written out again here, and compared with the same op applied to
// the expanded value directly. Random chains of slices, permutes, reshapes,
// stacks and pads start from a whole source; every step must also keep each
// element in exactly one region.
//
//===----------------------------------------------------------------------===//
#include "wl/Layout/Region.h"

#include <gtest/gtest.h>

#include <numeric>
#include <random>

using namespace wl::layout;

namespace {

/// An element's origin: source * 2^32 + source position, or ~fill for a fill.
using Origin = int64_t;
constexpr Origin kUnset = INT64_MIN;

/// A value expanded: the origin of each element, row-major.
struct Dense {
  Shape shape;
  std::vector<Origin> at;
};

int64_t count(const Shape &s) {
  return std::accumulate(s.begin(), s.end(), int64_t(1), std::multiplies<>());
}

Shape unflat(const Shape &shape, int64_t i) {
  Shape c(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    c[d] = i % shape[d];
    i /= shape[d];
  }
  return c;
}

int64_t flat(const Shape &shape, const Shape &c) {
  int64_t i = 0;
  for (size_t d = 0; d < shape.size(); ++d)
    i = i * shape[d] + c[d];
  return i;
}

/// The regions of a value of `shape`, expanded. Fails the test when an
/// element is in no region, in several, or a region leaves the value.
Dense expand(const Regions &rs, const Shape &shape) {
  Dense v{shape, std::vector<Origin>(count(shape), kUnset)};
  for (const Region &r : rs) {
    EXPECT_EQ(r.lo.size(), shape.size());
    for (int64_t u = 0; u < count(r.size); ++u) {
      Shape local = unflat(r.size, u), pos(shape.size());
      int64_t src = r.srcOffset;
      for (size_t d = 0; d < shape.size(); ++d) {
        pos[d] = r.lo[d] + local[d];
        EXPECT_LT(pos[d], shape[d]);
        // The row-major digits of local[d] in the radix of the modes.
        int64_t x = local[d];
        for (size_t j = r.modes[d].size(); j-- > 0;) {
          src += (x % r.modes[d][j].extent) * r.modes[d][j].stride;
          x /= r.modes[d][j].extent;
        }
      }
      Origin o = r.source < 0 ? ~static_cast<Origin>(r.fillBits)
                              : (r.source << 32) + src;
      Origin &slot = v.at[flat(shape, pos)];
      EXPECT_EQ(slot, kUnset) << "an element in two regions";
      slot = o;
    }
  }
  for (Origin o : v.at)
    EXPECT_NE(o, kUnset) << "an element in no region";
  return v;
}

// The ops on expanded values, written from their definitions.

Dense slice(const Dense &v, const Shape &off, const Shape &size,
            const Shape &stride) {
  Dense r{size, {}};
  for (int64_t i = 0; i < count(size); ++i) {
    Shape c = unflat(size, i);
    for (size_t d = 0; d < c.size(); ++d)
      c[d] = off[d] + c[d] * stride[d];
    r.at.push_back(v.at[flat(v.shape, c)]);
  }
  return r;
}

Dense permute(const Dense &v, const std::vector<int64_t> &perm) {
  Shape shape;
  for (int64_t p : perm)
    shape.push_back(v.shape[p]);
  Dense r{shape, {}};
  for (int64_t i = 0; i < count(shape); ++i) {
    Shape c = unflat(shape, i), in(shape.size());
    for (size_t k = 0; k < perm.size(); ++k)
      in[perm[k]] = c[k];
    r.at.push_back(v.at[flat(v.shape, in)]);
  }
  return r;
}

/// wl.stack of `n` copies of v's regions, copy k at coordinate k of dim d
/// (insertDim), each copy reading from source k.
Dense stack(const Dense &v, size_t d, int64_t n) {
  Shape shape = v.shape;
  shape.insert(shape.begin() + d, n);
  Dense r{shape, {}};
  for (int64_t i = 0; i < count(shape); ++i) {
    Shape c = unflat(shape, i);
    int64_t k = c[d];
    c.erase(c.begin() + d);
    Origin o = v.at[flat(v.shape, c)];
    r.at.push_back(o < 0 ? o : o + (k << 32));
  }
  return r;
}

Shape randomShape(std::mt19937 &rng, int64_t elements) {
  // A random factorization of `elements` into 1 to 3 dimensions.
  Shape s;
  int rank = std::uniform_int_distribution<int>(1, 3)(rng);
  for (int d = 0; d + 1 < rank; ++d) {
    std::vector<int64_t> divisors;
    for (int64_t f = 1; f <= elements; ++f)
      if (elements % f == 0)
        divisors.push_back(f);
    int64_t f = divisors[rng() % divisors.size()];
    s.push_back(f);
    elements /= f;
  }
  s.push_back(elements);
  return s;
}

TEST(Regions, RandomChainsMatchTheOpsOnEveryElement) {
  std::mt19937 rng(11);
  int steps = 0;
  for (int trial = 0; trial < 400; ++trial) {
    Shape shape = randomShape(rng, std::uniform_int_distribution<int>(1, 48)(rng));
    Regions rs = {sourceRegion(0, shape)};
    Dense want = expand(rs, shape);
    for (int step = 0; step < 6 && !HasFailure(); ++step, ++steps) {
      size_t rank = shape.size();
      switch (rng() % 5) {
      case 0: { // wl.slice with random offsets, sizes and strides
        Shape off(rank), size(rank), stride(rank);
        for (size_t d = 0; d < rank; ++d) {
          stride[d] = 1 + rng() % 2;
          off[d] = rng() % shape[d];
          int64_t most = (shape[d] - 1 - off[d]) / stride[d] + 1;
          size[d] = 1 + rng() % most;
        }
        rs = sliceRegions(rs, off, size, stride);
        want = slice(want, off, size, stride);
        shape = size;
        break;
      }
      case 1: { // wl.permute
        std::vector<int64_t> perm(rank);
        std::iota(perm.begin(), perm.end(), 0);
        std::shuffle(perm.begin(), perm.end(), rng);
        rs = permuteRegions(rs, perm);
        want = permute(want, perm);
        shape = want.shape;
        break;
      }
      case 2: { // wl.reshape: the same row-major elements
        Shape to = randomShape(rng, count(shape));
        rs = reshapeRegions(rs, shape, to);
        want.shape = to;
        shape = to;
        break;
      }
      case 3: { // wl.stack of copies of this value read from sources 0..n-1
        if (rank == 3)
          break;
        size_t d = rng() % (rank + 1);
        int64_t n = 1 + rng() % 3;
        Regions all;
        for (int64_t k = 0; k < n; ++k)
          for (Region r : insertDim(rs, d, k)) {
            if (r.source >= 0)
              r.source += k;
            all.push_back(r);
          }
        rs = all;
        want = stack(want, d, n);
        shape = want.shape;
        break;
      }
      case 4: { // wl.shard's cut [b, e) of one dimension, then wl.pad
        size_t d = rng() % rank;
        int64_t b = rng() % shape[d];
        int64_t e = b + 1 + rng() % (shape[d] - b);
        int64_t low = rng() % 3, high = rng() % 3, core = e - b;
        Shape padded = shape;
        padded[d] = low + core + high;
        Regions out = restrictDim(rs, d, b, e);
        shiftDim(out, d, low - b);
        Shape lo(rank, 0), size = padded;
        size[d] = low;
        if (low)
          out.push_back(fillRegion(lo, size, 7));
        lo[d] = low + core;
        size[d] = high;
        if (high)
          out.push_back(fillRegion(lo, size, 7));
        Dense p{padded, {}};
        for (int64_t i = 0; i < count(padded); ++i) {
          Shape c = unflat(padded, i);
          if (c[d] < low || c[d] >= low + core) {
            p.at.push_back(~Origin(7));
            continue;
          }
          c[d] += b - low;
          p.at.push_back(want.at[flat(shape, c)]);
        }
        rs = out;
        want = p;
        shape = padded;
        break;
      }
      }
      Dense got = expand(rs, shape);
      ASSERT_EQ(got.at, want.at) << "trial " << trial << " step " << step;
    }
  }
  EXPECT_GT(steps, 2000);
}

TEST(Regions, RemoveDimUndoesInsertDim) {
  Shape shape = {3, 4};
  Regions rs = permuteRegions({sourceRegion(2, shape)}, {1, 0});
  for (size_t d = 0; d <= 2; ++d) {
    Regions back = removeDim(insertDim(rs, d, 0), d);
    EXPECT_EQ(expand(back, {4, 3}).at, expand(rs, {4, 3}).at);
  }
}

TEST(Regions, PiecesWriteWhatTheRegionsHold) {
  // A transposed slice beside a fill, into a 5x4 target at row 1.
  Shape shape = {6, 4};
  Regions rs = sliceRegions({sourceRegion(0, shape)}, {0, 0}, {3, 4}, {2, 1});
  rs = permuteRegions(rs, {1, 0}); // 4x3
  shiftDim(rs, 0, 1);
  rs.push_back(fillRegion({0, 0}, {1, 3}, 9));
  Dense want = expand(rs, {5, 3});
  std::vector<Piece> pieces = regionsToPieces(rs, {5, 3}, 0);
  std::vector<Origin> got(15, kUnset);
  for (const Piece &p : pieces) {
    for (int64_t e = 0; e < p.numElements(); ++e) {
      Shape c = unflat(p.shape, e);
      int64_t dst = p.dstOffset, src = p.srcOffset;
      for (size_t j = 0; j < c.size(); ++j) {
        dst += c[j] * p.dstStrides[j];
        if (!p.isFill())
          src += c[j] * p.srcStrides[j];
      }
      ASSERT_EQ(got[dst], kUnset);
      got[dst] = p.isFill() ? ~Origin(p.fillBits) : (p.source << 32) + src;
    }
  }
  EXPECT_EQ(got, want.at);
}

} // namespace
