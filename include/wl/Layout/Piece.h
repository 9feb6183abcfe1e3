//===- Piece.h - pieces: the strided maps a plan is made of -----*- C++ -*-===//
//
// Plain C++17, no MLIR. A piece writes an N-d box of elements of one target
// tensor: element t (0 <= t[j] < shape[j]) goes to target flat position
//   dstOffset + sum_j t[j] * dstStrides[j]
// and comes from source flat position
//   srcOffset + sum_j t[j] * srcStrides[j]
// converted through `steps` in order, or is the constant `fillBits` (a fill
// piece, source == -1). Positions are row-major flat element indices of the
// tensors, so piece dimensions need not be tensor dimensions: a row-block move
// is one 1-d piece and a transpose one 2-d piece.
//
//===----------------------------------------------------------------------===//
#ifndef WL_LAYOUT_PIECE_H
#define WL_LAYOUT_PIECE_H

#include "wl/Layout/DType.h"
#include "wl/Layout/Shape.h"

#include <optional>
#include <string>
#include <vector>

namespace wl::layout {

/// One elementwise conversion: wl.cast (from -> to) or wl.affine (on `to`).
struct Step {
  enum Kind { Cast, Affine } kind = Cast;
  DType from = DType::F32;
  DType to = DType::F32;
  double scale = 1.0;
  double offset = 0.0;
  bool operator==(const Step &o) const {
    return kind == o.kind && from == o.from && to == o.to &&
           scale == o.scale && offset == o.offset;
  }
};

/// Applies `steps` in order to one element.
uint64_t applySteps(const std::vector<Step> &steps, uint64_t bits);

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

  bool isFill() const { return source < 0; }
  int64_t numElements() const;
};

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
};

/// A target that is one contiguous run of one source, unconverted: it can be
/// a view of (or a copy_file_range from) that source.
struct Alias {
  int64_t source = 0;
  int64_t offset = 0; ///< flat element offset of the run in the source
};

/// Sources, targets and the pieces that write the targets.
struct Plan {
  std::vector<TensorInfo> sources;
  std::vector<TensorInfo> targets;
  std::vector<Piece> pieces;
};

/// Drops unit dimensions, orders dimensions by decreasing dst stride (then
/// src stride), and merges neighbours j, j+1 whenever
/// dstStrides[j] == dstStrides[j+1] * shape[j+1] and the same holds for the
/// src strides (for a fill, dst alone decides).
/// Post: the result writes the same (dst position, src position) pairs as
/// `p` (the same dst positions with the same value, for a fill), and no two
/// neighbouring dimensions of it can be merged. A contiguous row-block move
/// becomes rank 1; a 2-d transpose stays rank 2. Pieces of zero elements
/// come back with shape {0}.
Piece coalesce(const Piece &p);

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

/// Exact-once coverage of a plan's targets and the sources it reads.
struct CoverageProblem {
  enum Kind { Gap, Overlap, Unread } kind;
  int64_t tensor; ///< target index (Gap, Overlap) or source index (Unread)
  std::vector<Box> boxes; ///< the element region (clipped, see `elements`)
  int64_t elements = 0; ///< number of elements in the region, in all
  std::string message; ///< "target 'x': elements [0:4, 2:3] (8 elements) are written by no piece"
};
struct CoverageOptions {
  bool reportUnread = true;
  /// At most this many boxes per message (the count stays exact).
  int maxBoxes = 6;
};
/// Post: no problem of kind Gap/Overlap <=> every element of every target is
/// written by exactly one piece; no Unread <=> every element of every source
/// is read by some piece. Problems are ordered by tensor, then position.
std::vector<CoverageProblem> checkCoverage(const Plan &plan,
                                           const CoverageOptions &opts = {});

/// Swaps every piece (source <-> target, inverse steps). Fill pieces are
/// dropped: padding has no source element to restore. Fails, with a message
/// naming the tensor and region, when a step has no exact inverse (a
/// narrowing cast, an affine, an integer-to-float cast, whose inverse would
/// be a float-to-integer conversion), when a source element is read by no piece
/// (the mapping drops data, e.g. one rank's shard) or by several (the map is
/// not injective).
/// Post (on success, without allowInexact): for every source element x,
/// execute(inverse, execute(plan, sources)) reproduces x bit for bit; with
/// it, every element outside the tensors listed in `rounded` does.
struct InvertOptions {
  /// Replicated reads (the same source elements read into several targets,
  /// e.g. a norm on every TP rank, or vLLM's replicated KV heads) are
  /// restored from the first target that holds them; a piece whose elements
  /// are already restored is dropped. Replicas must then be whole pieces of
  /// the same elements.
  bool dropReplicas = false;
  /// The frameworks' own way back where none is exact: an affine step is
  /// undone by its arithmetic inverse ((x - offset) / scale, which rounds
  /// again) and a narrowing cast by the widening one. The names of the
  /// tensors restored that way (targets of the inverse) go to `rounded`.
  /// Integer-to-float casts still fail (their inverse is not a cast).
  bool allowInexact = false;
  std::vector<std::string> *rounded = nullptr;
};
std::optional<Plan> invert(const Plan &plan, std::string &error,
                           const InvertOptions &options = {});

/// The plan of running `first`, then `second` on first's targets: second's
/// sources are matched to first's targets by name (same dtype and shape).
/// Post: execute(result, S) == execute(second, execute(first, S)) for every
/// S; pieces are split where a second-plan piece reads several first-plan
/// pieces, then re-rolled into strided pieces. Fails when second reads a
/// tensor or element that first does not write.
std::optional<Plan> compose(const Plan &first, const Plan &second,
                            std::string &error);

/// For each target, the alias when it is exactly one unconverted,
/// contiguous run of a source of the same dtype.
std::vector<std::optional<Alias>> findAliases(const Plan &plan);

/// Every piece coalesced, pieces of zero elements dropped, and runs of
/// neighbouring pieces that differ only by constant offset steps merged into
/// one piece with an extra dimension.
/// Post: the plan writes the same (dst, src, conversion) triples.
void normalize(Plan &plan);

} // namespace wl::layout

#endif // WL_LAYOUT_PIECE_H
