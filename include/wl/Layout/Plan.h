//===- Plan.h - a plan: tensors, pieces, and its algebra --------*- C++ -*-===//
//
// Plain C++17, no MLIR. A plan names its source and target tensors and the
// pieces (Piece.h) that write every target element from a source element or
// a fill value. Over a whole plan: exact-once coverage of the targets (and
// which source elements are read), the inverse plan, the composition of two
// plans, the targets that are views of a source, and the normal form the
// compiler emits. Its file format (JSON), validation and reference
// execution are in wl/Plan/Plan.h.
//
//===----------------------------------------------------------------------===//
#ifndef WL_LAYOUT_PLAN_H
#define WL_LAYOUT_PLAN_H

#include "wl/Layout/Piece.h"

#include <optional>
#include <string>
#include <vector>

namespace wl::layout {

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

/// The plans of several ranks as one plan, the ranks taken in `order`
/// (indices into `ranks`): sources are the union of theirs by name (first
/// seen first), targets each rank's tensors named rankPrefix(r) + name, in
/// that order. Post: executing it writes what executing each rank's plan
/// writes into that rank's targets.
Plan mergeRankPlans(const std::vector<Plan> &ranks,
                    const std::vector<int64_t> &order);

/// For each target, the alias when it is exactly one unconverted,
/// contiguous run of a source of the same dtype. Defined for any plan: a
/// piece that is not well formed (an index out of range, strides of another
/// rank) is no alias, so that a plan validation refuses can still be written
/// out (plan::toJson) and read back to be refused with its path.
std::vector<std::optional<Alias>> findAliases(const Plan &plan);

/// Every piece coalesced, pieces of zero elements dropped, and runs of
/// neighbouring pieces that differ only by constant offset steps merged into
/// one piece with an extra dimension.
/// Post: the plan writes the same (dst, src, conversion) triples.
void normalize(Plan &plan);

} // namespace wl::layout

#endif // WL_LAYOUT_PLAN_H
