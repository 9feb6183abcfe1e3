//===- Piece.h - pieces: the strided maps a plan is made of -----*- C++ -*-===//
//
// Plain C++17, no MLIR. A piece writes an N-d box of elements of one target
// tensor: element t (0 <= t[j] < shape[j]) goes to target flat position
//   dstOffset + sum_j t[j] * dstStrides[j]
// and comes from source flat position
//   srcOffset + sum_j t[j] * srcStrides[j]
// converted through `steps` in order, or is the constant `fillBits` (a fill
// piece, source == -1). A piece of a block format whose scales are too many
// to be steps (MXFP4: one per 32 elements) also reads its element's scale
// at run time from a second source (RuntimeScale). Positions are row-major
// flat element indices of the
// tensors, so piece dimensions need not be tensor dimensions: a row-block move
// is one 1-d piece and a transpose one 2-d piece. The plan that holds pieces,
// and what is proven and derived over a whole plan, are in Plan.h.
//
//===----------------------------------------------------------------------===//
#ifndef WL_LAYOUT_PIECE_H
#define WL_LAYOUT_PIECE_H

#include "wl/Layout/BlockCodes.h"
#include "wl/Layout/DType.h"
#include "wl/Layout/Shape.h"

#include <optional>
#include <string>
#include <vector>

namespace wl::layout {

/// One elementwise conversion: wl.cast (from -> to) or wl.affine (on `to`);
/// and two of block formats, made by the quantization plans
/// (wl/Layout/BlockScales.h), not by the dialect:
///  - E2M1Low, E2M1High: the FP4 e2m1 value (BlockCodes.h) in bits 0-3 or
///    4-7 of a U8 element (`from`), exactly, as `to` (a float type);
///  - RuntimeScale: the f32 product of the value (of `to`, widened to f32)
///    and the piece's run-time scale, rounded once to `to`; `from` says how
///    the scale element is read: U8 as an e8m0 exponent, F32 as its value
///    (BlockCodes.h).
struct Step {
  enum Kind { Cast, Affine, E2M1Low, E2M1High, RuntimeScale } kind = Cast;
  DType from = DType::F32;
  DType to = DType::F32;
  double scale = 1.0;
  double offset = 0.0;
  bool operator==(const Step &o) const {
    return kind == o.kind && from == o.from && to == o.to &&
           scale == o.scale && offset == o.offset;
  }
};

/// Applies `steps` in order to one element; `scaleBits` is the element's
/// run-time scale (the bits of its scale source's dtype), used by a
/// RuntimeScale step.
uint64_t applySteps(const std::vector<Step> &steps, uint64_t bits,
                    uint64_t scaleBits = 0);

/// Where a piece's elements find their run-time scales: element t reads
/// the element at flat position offset + sum_j t[j] * strides[j] of source
/// `source` (-1: the piece has none). A block's index is affine in t once
/// the piece's dimensions are cut at block edges, a stride 0 inside a
/// block (MXFP4's 32 elements: a dimension of 16 bytes of stride 0).
struct RuntimeScale {
  int64_t source = -1;
  int64_t offset = 0;
  Shape strides; ///< same rank as the piece's shape
  bool operator==(const RuntimeScale &o) const {
    return source == o.source && offset == o.offset && strides == o.strides;
  }
};

struct Piece {
  int64_t target = 0;
  int64_t source = -1; ///< index into Plan::sources, or -1 for a fill
  uint64_t fillBits = 0; ///< the fill value, as bits of the target's dtype
  Shape shape;
  int64_t dstOffset = 0;
  Shape dstStrides;
  int64_t srcOffset = 0;
  Shape srcStrides; ///< same rank as shape; ignored (zeros) for a fill
  std::vector<Step> steps;
  RuntimeScale scale; ///< read by a RuntimeScale step, else none

  bool isFill() const { return source < 0; }
  bool hasRuntimeScale() const { return scale.source >= 0; }
  int64_t numElements() const;
};

/// Where element `k` of a piece (row-major over its shape) is: its target,
/// source and run-time scale positions (src for a fill, scale without a
/// run-time scale: their offsets).
struct ElementPositions {
  int64_t dst = 0, src = 0, scale = 0;
};
ElementPositions elementPositions(const Piece &p, int64_t k);

/// Drops unit dimensions, orders dimensions by decreasing dst stride (then
/// src stride), and merges neighbours j, j+1 whenever
/// dstStrides[j] == dstStrides[j+1] * shape[j+1] and the same holds for the
/// src strides and the run-time scale's strides (for a fill, dst alone
/// decides).
/// Post: the result writes the same (dst position, src position) pairs as
/// `p` (the same dst positions with the same value, for a fill), and no two
/// neighbouring dimensions of it can be merged. A contiguous row-block move
/// becomes rank 1; a 2-d transpose stays rank 2. Pieces of zero elements
/// come back with shape {0}.
Piece coalesce(const Piece &p);

/// `p` cut into pieces of at most `maxElements` elements (>= 1) each, in
/// the order `p` visits its elements (row-major over its shape): the
/// dimensions after the first one that must be cut stay whole, that one is
/// cut into runs as long as fit, and the dimensions before it are unrolled.
/// Post: the pieces write exactly the (dst position, src position, scale
/// position) triples of `p` (fills: the same dst positions and value), each
/// once, with `p`'s target, source and steps; a piece that fits comes back
/// alone.
std::vector<Piece> splitPiece(const Piece &p, int64_t maxElements);

/// A half-open interval [begin, end) of flat positions.
struct Interval {
  int64_t begin = 0;
  int64_t end = 0;
};

/// The union of `v` as sorted, disjoint intervals (touching ones merged).
/// Post: the same set of positions; begin[k] > end[k-1] for every k.
std::vector<Interval> mergeIntervals(std::vector<Interval> v);

/// The flat positions a piece touches on one side, as sorted, merged
/// intervals. Post: their union is exactly the set of positions
/// {offset + sum t[j]*strides[j]}; runs are found through coalescing, so a
/// piece with a unit innermost stride yields one interval per row.
std::vector<Interval> touchedIntervals(const Piece &p, bool dstSide);

/// The boxes (per dimension [offsets, offsets+sizes)) of a row-major tensor
/// of `shape` that hold exactly the flat positions [begin, end), in
/// increasing order. Post: at most 2*rank-1 boxes, disjoint, union exact.
std::vector<Box> intervalToBoxes(const Shape &shape, int64_t begin,
                                 int64_t end);

/// "[0:4, 2:3]" for a box.
std::string formatBox(const Box &b);

} // namespace wl::layout

#endif // WL_LAYOUT_PIECE_H
