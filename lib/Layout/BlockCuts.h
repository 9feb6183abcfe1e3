//===- BlockCuts.h - pieces along a tensor's axes, cut at blocks (private) -===//
//
// What the decoders of block formats (Mxfp4.cpp, the run-time dequantizing
// of BlockScales.cpp) share: a piece's dimensions as steps along single
// axes of the tensor it reads, and a run along one axis cut where blocks
// begin, so that a block's index is affine in the run (a stride 0 inside a
// block) and each element can read its block's scale at run time.
//
//===----------------------------------------------------------------------===//
#ifndef WL_LIB_LAYOUT_BLOCKCUTS_H
#define WL_LIB_LAYOUT_BLOCKCUTS_H

#include "wl/Layout/Piece.h"

#include <vector>

namespace wl::layout::detail {

/// A piece dimension that steps one axis of a tensor: `c` coordinates an
/// index (axis -1: it does not move, a broadcast).
struct AxisDim {
  int64_t extent, dst, c;
  int axis;
};

/// The dimensions of the coalesced piece `p` as steps along single axes of
/// the tensor of shape `l` its source reads (from coordinates `start`), a
/// dimension that runs across several axes (rows merged by coalescing)
/// split back into them. Fails when a dimension wraps part-way through an
/// axis or a source stride is negative.
/// Post (on success): the source position of every element is that of
/// start plus, per dimension, its index times c along its axis, and no
/// axis coordinate leaves [0, l[a]).
bool axisDims(const Piece &p, const Shape &l, const Shape &start,
              std::vector<AxisDim> &out);

/// A dimension of a cut run: its extent, target stride, coordinate step
/// along the axis, and block-index step (0 inside a block).
struct CutDim {
  int64_t extent, dst, coord, block;
};

/// One part of a run cut at block edges: its first coordinate, its
/// target offset from the run's, and its dimensions (none: one element).
struct CutPart {
  int64_t first, dstDelta;
  std::vector<CutDim> dims;
};

/// The run of `n` elements at coordinates i + c t (c >= 1), target stride
/// D, cut into parts whose block indices (coordinate / b) are affine: all
/// of it when each element is its own block (c a multiple of b), else the
/// elements up to the first block edge, the whole blocks as (blocks,
/// b / c) dimensions, and the rest. False when c neither divides b nor is
/// a multiple of it (and n > 1).
bool cutAtBlocks(int64_t i, int64_t n, int64_t c, int64_t D, int64_t b,
                 std::vector<CutPart> &out);

/// The coalesced piece `c` unrolled along its dimension of the largest
/// source step: one piece per index of it, the other dimensions kept (for
/// a decoder that cannot follow a piece as it is; single elements always
/// decode).
std::vector<Piece> unrollWidest(const Piece &c);

} // namespace wl::layout::detail

#endif // WL_LIB_LAYOUT_BLOCKCUTS_H
