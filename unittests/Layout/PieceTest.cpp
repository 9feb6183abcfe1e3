//===- PieceTest.cpp - the piece algebra over every coordinate ------------===//
//
// Each operation of wl/Layout/Piece.h against its written postcondition,
// checked by enumerating the elements of small cases (all intervals of all
// small shapes; random pieces against the pairs they write).
//
//===----------------------------------------------------------------------===//
#include "PieceCases.h"
#include "wl/Layout/Piece.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

using namespace wl::layout;

namespace {

using namespace wl::layout::test;

TEST(IntervalToBoxes, EveryIntervalOfEverySmallShape) {
  for (const Shape &shape : smallShapes()) {
    int64_t n = *numElements(shape);
    for (int64_t a = 0; a < n; ++a)
      for (int64_t b = a + 1; b <= n; ++b) {
        std::vector<Box> boxes = intervalToBoxes(shape, a, b);
        ASSERT_LE(boxes.size(), 2 * shape.size() - 1);
        std::set<int64_t> seen;
        int64_t last = -1;
        for (const Box &box : boxes) {
          for (size_t d = 0; d < shape.size(); ++d)
            ASSERT_LE(box.offsets[d] + box.sizes[d], shape[d]);
          for (int64_t p : boxPositions(shape, box)) {
            ASSERT_TRUE(seen.insert(p).second) << "boxes overlap";
            ASSERT_GT(p, last) << "boxes out of order";
          }
          last = *boxPositions(shape, box).rbegin();
        }
        ASSERT_EQ((int64_t)seen.size(), b - a);
        ASSERT_EQ(*seen.begin(), a);
        ASSERT_EQ(*seen.rbegin(), b - 1);
      }
  }
}

TEST(Coalesce, KeepsEveryPairAndLeavesNothingToMerge) {
  std::mt19937 rng(1);
  for (int i = 0; i < 20000; ++i) {
    Piece p = randomPiece(rng);
    if (i % 2) { // half of them contiguous-ish, so that merges happen
      int64_t w = 1, v = 1;
      for (size_t j = p.shape.size(); j-- > 0;) {
        p.dstStrides[j] = w;
        w *= p.shape[j];
        if (i % 4 == 1) {
          p.srcStrides[j] = v;
          v *= p.shape[j];
        }
      }
    }
    Piece c = coalesce(p);
    ASSERT_EQ(pairs(c), pairs(p));
    for (size_t j = 0; j + 1 < c.shape.size(); ++j) {
      ASSERT_NE(c.shape[j + 1], 1);
      bool mergeable = c.dstStrides[j] == c.dstStrides[j + 1] * c.shape[j + 1] &&
                       c.srcStrides[j] == c.srcStrides[j + 1] * c.shape[j + 1];
      ASSERT_FALSE(mergeable);
    }
  }
}

TEST(ElementPositions, EveryElementOfRandomPieces) {
  std::mt19937 rng(11);
  for (int i = 0; i < 3000; ++i) {
    Piece p = randomPiece(rng);
    const bool scaled = i % 2 == 0, fill = i % 5 == 0;
    if (scaled) {
      p.scale.source = 1;
      p.scale.offset = 5;
      for (size_t j = 0; j < p.shape.size(); ++j)
        p.scale.strides.push_back(static_cast<int64_t>(j) * 7 + 1);
    }
    if (fill)
      p.source = -1;
    const std::vector<std::pair<int64_t, int64_t>> want = orderedPairs(p);
    for (int64_t k = 0; k < p.numElements(); ++k) {
      const ElementPositions at = elementPositions(p, k);
      ASSERT_EQ(at.dst, want[k].first);
      ASSERT_EQ(at.src, fill ? p.srcOffset : want[k].second);
      const Shape c = unflatIndex(p.shape, k);
      int64_t g = p.scale.offset;
      for (size_t j = 0; scaled && j < c.size(); ++j)
        g += c[j] * p.scale.strides[j];
      ASSERT_EQ(at.scale, g);
    }
  }
}

TEST(SplitPiece, EveryPairOnceInOrderAndNoPieceTooLarge) {
  std::mt19937 rng(7);
  for (int i = 0; i < 5000; ++i) {
    Piece p = randomPiece(rng);
    p.target = 3;
    p.steps = {Step{Step::Cast, DType::BF16, DType::F32}};
    const int64_t n = p.numElements();
    for (int64_t max = 1; max <= n + 1; ++max) {
      std::vector<Piece> parts = splitPiece(p, max);
      std::vector<std::pair<int64_t, int64_t>> seen;
      for (const Piece &q : parts) {
        ASSERT_LE(q.numElements(), max);
        ASSERT_GT(q.numElements(), 0);
        ASSERT_EQ(q.target, p.target);
        ASSERT_EQ(q.source, p.source);
        ASSERT_EQ(q.steps, p.steps);
        for (auto pr : orderedPairs(q))
          seen.push_back(pr);
      }
      ASSERT_EQ(seen, orderedPairs(p));
      if (n <= max)
        ASSERT_EQ(parts.size(), 1u);
      else // runs as long as fit: fewer than twice the least possible
        ASSERT_LT(static_cast<int64_t>(parts.size()), 2 * ((n + max - 1) / max) + n / max + 1);
    }
  }
}

TEST(Coalesce, RowBlocksAreOneRunAndTransposesTwoDims) {
  Piece rows{0, 0, 0, {3, 4, 5}, 20, {20, 5, 1}, 40, {20, 5, 1}, {}};
  Piece c = coalesce(rows);
  EXPECT_EQ(c.shape, Shape({60}));
  EXPECT_EQ(c.dstStrides, Shape({1}));
  Piece transpose{0, 0, 0, {4, 6}, 0, {6, 1}, 0, {1, 4}, {}};
  c = coalesce(transpose);
  EXPECT_EQ(c.shape, Shape({4, 6}));
  EXPECT_EQ(c.srcStrides, Shape({1, 4}));
}

} // namespace
