//===- ShapeTest.cpp - exhaustive tests of the shape helpers --------------===//
//
// Every postcondition of wl/Layout/Shape.h is checked over every coordinate of
// all small cases, against brute force.
//
//===----------------------------------------------------------------------===//
#include "wl/Layout/Shape.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <set>
#include <sstream>

using namespace wl::layout;

namespace {

std::string str(const Shape &s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i)
    os << (i ? "," : "") << s[i];
  os << "]";
  return os.str();
}

/// All shapes of rank 0..maxRank with sizes drawn from `sizes`.
std::vector<Shape> allShapes(int maxRank, const std::vector<int64_t> &sizes) {
  std::vector<Shape> out{{}};
  std::vector<Shape> frontier{{}};
  for (int r = 1; r <= maxRank; ++r) {
    std::vector<Shape> next;
    for (const Shape &s : frontier)
      for (int64_t v : sizes) {
        Shape t = s;
        t.push_back(v);
        next.push_back(t);
      }
    out.insert(out.end(), next.begin(), next.end());
    frontier = next;
  }
  return out;
}

/// Calls `fn` for every non-empty unit-step box of `shape`.
void forEachBox(const Shape &shape, const std::function<void(const Box &)> &fn) {
  Box box{Shape(shape.size()), Shape(shape.size())};
  std::function<void(size_t)> rec = [&](size_t d) {
    if (d == shape.size())
      return fn(box);
    for (int64_t o = 0; o < shape[d]; ++o)
      for (int64_t s = 1; o + s <= shape[d]; ++s) {
        box.offsets[d] = o;
        box.sizes[d] = s;
        rec(d + 1);
      }
  };
  rec(0);
}

std::set<int64_t> flatSet(const Box &box, const Shape &shape) {
  std::set<int64_t> out;
  int64_t n = *numElements(box.sizes);
  for (int64_t k = 0; k < n; ++k) {
    Shape c = unflatIndex(box.sizes, k);
    for (size_t d = 0; d < c.size(); ++d)
      c[d] += box.offsets[d];
    out.insert(flatIndex(shape, c));
  }
  return out;
}

/// The bounding box of `positions` in `shape`, if the set is exactly a box.
std::optional<Box> asBox(const std::set<int64_t> &positions, const Shape &shape) {
  Shape lo(shape.size(), INT64_MAX), hi(shape.size(), -1);
  for (int64_t p : positions) {
    Shape c = unflatIndex(shape, p);
    for (size_t d = 0; d < c.size(); ++d) {
      lo[d] = std::min(lo[d], c[d]);
      hi[d] = std::max(hi[d], c[d]);
    }
  }
  Box b{lo, Shape(shape.size())};
  int64_t count = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    b.sizes[d] = hi[d] - lo[d] + 1;
    count *= b.sizes[d];
  }
  if (count != static_cast<int64_t>(positions.size()))
    return std::nullopt;
  return b;
}

TEST(Shape, NumElementsAndOverflow) {
  EXPECT_EQ(numElements({}), 1);
  EXPECT_EQ(numElements({2, 3, 4}), 24);
  EXPECT_EQ(numElements({5, 0, 7}), 0);
  EXPECT_EQ(numElements({-1, 2}), std::nullopt);
  EXPECT_EQ(numElements({INT64_MAX / 2 + 1, 2}), std::nullopt);
  EXPECT_EQ(numElements({1LL << 31, 1LL << 31}), 1LL << 62);
}

TEST(Shape, FlatIndexRoundTripsEveryCoordinate) {
  for (const Shape &shape : allShapes(3, {1, 2, 3, 5})) {
    Shape strides = rowMajorStrides(shape);
    int64_t n = *numElements(shape);
    for (int64_t p = 0; p < n; ++p) {
      Shape c = unflatIndex(shape, p);
      ASSERT_EQ(flatIndex(shape, c), p) << str(shape);
      int64_t viaStrides = 0;
      for (size_t d = 0; d < c.size(); ++d) {
        ASSERT_GE(c[d], 0);
        ASSERT_LT(c[d], shape[d]);
        viaStrides += c[d] * strides[d];
      }
      ASSERT_EQ(viaStrides, p) << str(shape);
    }
  }
}

TEST(Shape, PermutationsOfEveryLengthUpTo5) {
  for (int n = 0; n <= 5; ++n) {
    std::vector<int64_t> p(n);
    for (int i = 0; i < n; ++i)
      p[i] = i;
    do {
      ASSERT_TRUE(isPermutation(p));
      std::vector<int64_t> inv = invertPermutation(p);
      for (int k = 0; k < n; ++k)
        ASSERT_EQ(inv[p[k]], k);
      // Composition against applying both permutes to a coordinate.
      std::vector<int64_t> q(p.rbegin(), p.rend());
      std::vector<int64_t> pq = composePermutations(p, q);
      ASSERT_TRUE(isPermutation(pq));
      // dims after permute(p): dim k is original p[k]; after permute(q):
      // dim k is previous q[k], i.e. original p[q[k]].
      for (int k = 0; k < n; ++k)
        ASSERT_EQ(pq[k], p[q[k]]);
    } while (std::next_permutation(p.begin(), p.end()));
  }
  EXPECT_FALSE(isPermutation({0, 0}));
  EXPECT_FALSE(isPermutation({1, 2}));
  EXPECT_FALSE(isPermutation({-1, 0}));
}

// Every non-empty box of every pair of shapes (rank <= 3, same element count):
// reshapeBox returns a box exactly when brute force says the flat positions
// form a box of the target shape, and then the same box.
TEST(Shape, ReshapeBoxMatchesBruteForceOnEveryBox) {
  std::vector<Shape> shapes = allShapes(3, {1, 2, 3, 4, 6});
  int64_t checked = 0, boxes = 0;
  for (const Shape &from : shapes)
    for (const Shape &to : shapes) {
      if (*numElements(from) != *numElements(to))
        continue;
      forEachBox(from, [&](const Box &box) {
        std::optional<Box> expect = asBox(flatSet(box, from), to);
        std::optional<Box> got = reshapeBox(box, from, to);
        ++checked;
        if (expect)
          ++boxes;
        ASSERT_EQ(got.has_value(), expect.has_value())
            << "from " << str(from) << " to " << str(to) << " box offsets "
            << str(box.offsets) << " sizes " << str(box.sizes);
        if (got) {
          ASSERT_EQ(got->offsets, expect->offsets) << str(from) << str(to);
          ASSERT_EQ(got->sizes, expect->sizes) << str(from) << str(to);
        }
      });
    }
  EXPECT_GT(checked, 100000);
  EXPECT_GT(boxes, 10000);
}

TEST(Shape, ReshapeBoxRefusesEmpty) {
  EXPECT_EQ(reshapeBox({{0}, {0}}, {4}, {2, 2}), std::nullopt);
  EXPECT_EQ(reshapeBox({{0, 0}, {1, 0}}, {2, 0}, {0, 2}), std::nullopt);
}

} // namespace
