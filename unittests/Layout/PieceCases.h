//===- PieceCases.h - small cases for the layout tests, enumerated -*- C++ -*-===//
//
// Shared by PieceTest.cpp and PlanTest.cpp: every small shape, the positions
// of a box, the (dst, src) pairs a piece writes, and random pieces.
//
//===----------------------------------------------------------------------===//
#ifndef WL_UNITTESTS_LAYOUT_PIECECASES_H
#define WL_UNITTESTS_LAYOUT_PIECECASES_H

#include "wl/Layout/Plan.h"

#include <algorithm>
#include <numeric>
#include <random>
#include <set>
#include <utility>
#include <vector>

namespace wl::layout::test {

inline std::vector<Shape> smallShapes() {
  std::vector<Shape> out;
  const int64_t sizes[] = {1, 2, 3, 4};
  for (int64_t a : sizes) {
    out.push_back({a});
    for (int64_t b : sizes) {
      out.push_back({a, b});
      for (int64_t c : sizes)
        out.push_back({a, b, c});
    }
  }
  return out;
}

inline std::set<int64_t> boxPositions(const Shape &shape, const Box &b) {
  std::set<int64_t> out;
  Box full{Shape(shape.size(), 0), b.sizes};
  int64_t n = *numElements(b.sizes);
  for (int64_t i = 0; i < n; ++i) {
    Shape c = unflatIndex(b.sizes, i);
    for (size_t d = 0; d < c.size(); ++d)
      c[d] += b.offsets[d];
    out.insert(flatIndex(shape, c));
  }
  return out;
}

/// The (dst, src) pairs a piece writes, in the row-major order of its
/// elements.
inline std::vector<std::pair<int64_t, int64_t>> orderedPairs(const Piece &p) {
  std::vector<std::pair<int64_t, int64_t>> out;
  int64_t n = p.numElements();
  for (int64_t e = 0; e < n; ++e) {
    Shape c = unflatIndex(p.shape, e);
    int64_t d = p.dstOffset, s = p.srcOffset;
    for (size_t j = 0; j < c.size(); ++j) {
      d += c[j] * p.dstStrides[j];
      s += c[j] * p.srcStrides[j];
    }
    out.push_back({d, s});
  }
  return out;
}

/// The (dst, src) pairs a piece writes, as a sorted multiset.
inline std::vector<std::pair<int64_t, int64_t>> pairs(const Piece &p) {
  std::vector<std::pair<int64_t, int64_t>> out = orderedPairs(p);
  std::sort(out.begin(), out.end());
  return out;
}

inline Piece randomPiece(std::mt19937 &rng) {
  std::uniform_int_distribution<int> rank(0, 4), ext(1, 4), stride(0, 12);
  Piece p;
  p.source = 0;
  int r = rank(rng);
  for (int j = 0; j < r; ++j) {
    p.shape.push_back(ext(rng));
    p.dstStrides.push_back(stride(rng));
    p.srcStrides.push_back(stride(rng));
  }
  p.dstOffset = stride(rng);
  p.srcOffset = stride(rng);
  return p;
}

/// A random piece whose dst positions lie in [0, n) of a tensor of `shape`:
/// a random box with random order of dimensions.
inline Piece randomBoxPiece(std::mt19937 &rng, const Shape &shape, int64_t target) {
  Piece p;
  p.target = target;
  p.source = 0;
  Shape st = rowMajorStrides(shape);
  for (size_t d = 0; d < shape.size(); ++d) {
    int64_t lo = std::uniform_int_distribution<int64_t>(0, shape[d] - 1)(rng);
    int64_t hi = std::uniform_int_distribution<int64_t>(lo + 1, shape[d])(rng);
    p.dstOffset += lo * st[d];
    p.shape.push_back(hi - lo);
    p.dstStrides.push_back(st[d]);
  }
  // Reads: a permuted dense layout of the box in a source of the same size.
  std::vector<size_t> order(shape.size());
  for (size_t d = 0; d < order.size(); ++d)
    order[d] = d;
  std::shuffle(order.begin(), order.end(), rng);
  p.srcStrides.assign(shape.size(), 0);
  int64_t w = 1;
  for (size_t k = order.size(); k-- > 0;) {
    p.srcStrides[order[k]] = w;
    w *= p.shape[order[k]];
  }
  p.srcOffset = std::uniform_int_distribution<int64_t>(0, 3)(rng);
  return p;
}

} // namespace wl::layout::test

#endif // WL_UNITTESTS_LAYOUT_PIECECASES_H
