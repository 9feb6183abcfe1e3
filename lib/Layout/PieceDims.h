//===- PieceDims.h - a piece's dimensions, walked (private) ---*- C++ -*-===//
//
// What Piece.cpp and Plan.cpp both need: a piece as a list of (extent,
// dst stride, src stride) dimensions, merged and walked row by row.
//
//===----------------------------------------------------------------------===//
#ifndef WL_LIB_LAYOUT_PIECEDIMS_H
#define WL_LIB_LAYOUT_PIECEDIMS_H

#include "wl/Layout/Piece.h"

#include <vector>
#include <cstdint>

namespace wl::layout::detail {

struct Dim {
  int64_t extent, dst, src;
  int64_t scale = 0; ///< the run-time scale's stride (Piece::scale)
};

/// Drops unit dims, sorts the rest by decreasing dst stride (byDst) or src
/// stride, and merges neighbours whose dst strides (needDst), src strides
/// (needSrc) and run-time scale strides (needScale) line up.
std::vector<Dim> mergeDims(std::vector<Dim> dims, bool byDst, bool needDst,
                           bool needSrc, bool needScale = false);

/// The dimensions of `p` in its order (src strides 0 for a fill; scale
/// strides 0 without a run-time scale).
std::vector<Dim> dimsOf(const Piece &p);

/// Calls fn(dstPos, srcPos) for each start of the innermost dim of `dims`
/// (all dims but the last enumerated), in row-major order.
template <typename Fn>
void forEachRow(const std::vector<Dim> &dims, int64_t dst0, int64_t src0,
                Fn fn) {
  size_t outer = dims.empty() ? 0 : dims.size() - 1;
  std::vector<int64_t> idx(outer, 0);
  int64_t dst = dst0, src = src0;
  while (true) {
    fn(dst, src);
    size_t k = outer;
    while (k > 0) {
      --k;
      if (++idx[k] < dims[k].extent) {
        dst += dims[k].dst;
        src += dims[k].src;
        break;
      }
      dst -= dims[k].dst * (dims[k].extent - 1);
      src -= dims[k].src * (dims[k].extent - 1);
      idx[k] = 0;
      if (k == 0)
        return;
    }
    if (outer == 0)
      return;
  }
}

/// One side of a piece as rows: each position offset + sum_k i_k
/// outer[k].stride (0 <= i_k < outer[k].extent) starts `len` consecutive
/// elements. Read as a multiset of elements (an element of two rows counts
/// twice), which is what a coverage check compares.
struct RowSet {
  struct Outer {
    int64_t extent, stride;
    bool operator<(const Outer &o) const {
      return extent != o.extent ? extent < o.extent : stride < o.stride;
    }
    bool operator==(const Outer &o) const {
      return extent == o.extent && stride == o.stride;
    }
  };
  std::vector<Outer> outer; ///< outermost first
  int64_t offset = 0, len = 1;
};

/// The rows of one side of `p` (dims merged by that side's strides).
RowSet rowSetOf(const Piece &p, bool dstSide);

/// Shrinks `sets` without changing the multiset of elements they hold: two
/// sets of the same outer lattice whose rows are adjacent (one's offset is
/// the other's offset + len) become one set of longer rows, and a set
/// whose rows abut along its innermost outer dim (len == that stride)
/// becomes one of rows as long as the dim. Padded, interleaved and
/// concatenated pieces of one target (w13's gate, pad, up, pad rows) come
/// out as a few long rows instead of one per row of each. With
/// `unionOnly` only the union of the elements is kept (what a source's
/// unread check needs): overlapping rows of one lattice merge too (columns
/// two pieces both read).
void collapseRowSets(std::vector<RowSet> &sets, bool unionOnly = false);

/// Appends the intervals of the rows of `s`.
void appendIntervals(const RowSet &s, std::vector<Interval> &out);

/// Appends the raw (unmerged) intervals of one side of a piece.
void appendIntervals(const Piece &p, bool dstSide, std::vector<Interval> &out);

} // namespace wl::layout::detail

#endif // WL_LIB_LAYOUT_PIECEDIMS_H
