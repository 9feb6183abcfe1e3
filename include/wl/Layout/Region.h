//===- Region.h - what a value holds, as boxes of strided reads -*- C++ -*-===//
//
// Plain C++17, no MLIR. Lowering a wl function computes, for every value, a
// list of regions that together hold each of its elements exactly once (when
// the function is well formed). A region is a box of the value,
// [lo[d], lo[d] + size[d]) per dimension, whose elements are read from one
// source, or are a constant fill:
//
//   the element at lo + u comes from source position
//     srcOffset + sum_d sum_j digit_j(u[d]) * modes[d][j].stride
//
// where digit_j(u[d]) are the row-major digits of u[d] in the mixed radix of
// modes[d] extents (their product is size[d]). A dimension read with one
// stride has one mode; a dimension that a reshape merged from transposed
// dimensions keeps one mode per original dimension. Every wl op maps the
// regions of its operands to the regions of its result exactly.
//
//===----------------------------------------------------------------------===//
#ifndef WL_LAYOUT_REGION_H
#define WL_LAYOUT_REGION_H

#include "wl/Layout/Piece.h"

namespace wl::layout {

struct Mode {
  int64_t extent;
  int64_t stride;
};

struct Region {
  Shape lo, size;
  std::vector<std::vector<Mode>> modes;
  int64_t source = -1; ///< -1: a fill of `fillBits`
  uint64_t fillBits = 0;
  int64_t srcOffset = 0;
  std::vector<Step> steps;
  int64_t numElements() const;
};

using Regions = std::vector<Region>;

/// The whole of source `source` of `shape`: one region.
Region sourceRegion(int64_t source, const Shape &shape);
/// A fill of the box [lo, lo + size).
Region fillRegion(const Shape &lo, const Shape &size, uint64_t fillBits);

/// Each region restricted to lo[d] <= x < hi on dimension d. Regions outside
/// are dropped; regions cut inside a mode are split into boxes.
Regions restrictDim(const Regions &rs, size_t d, int64_t begin, int64_t end);

/// lo[d] += delta for each region.
void shiftDim(Regions &rs, size_t d, int64_t delta);

/// The regions of wl.slice(value) (result index i reads offsets + i*strides)
/// for a value of shape `shape`.
Regions sliceRegions(const Regions &rs, const Shape &offsets,
                     const Shape &sizes, const Shape &strides);

/// wl.permute: result dim k is input dim perm[k].
Regions permuteRegions(const Regions &rs, const std::vector<int64_t> &perm);

/// A new unit dimension at `d` with coordinate `at` (wl.stack operand `at`).
Regions insertDim(const Regions &rs, size_t d, int64_t at);
/// Drops unit dimension `d`. Pre: every region has size 1 there.
Regions removeDim(const Regions &rs, size_t d);

/// wl.reshape from `from` to `to` (row-major reinterpretation). Each group of
/// dimensions with equal products is mapped separately; inside a group a
/// region is split only where its elements are not one box of the result.
Regions reshapeRegions(const Regions &rs, const Shape &from, const Shape &to);

/// The pieces that write the regions into a target of shape `shape`.
/// Post: each region becomes one coalesced piece.
std::vector<Piece> regionsToPieces(const Regions &rs, const Shape &shape,
                                   int64_t target);

} // namespace wl::layout

#endif // WL_LAYOUT_REGION_H
