//===- CompileReshard.h - one layout's ranks to another's ------*- C++ -*-===//
//
// A reshard plan moves a model's weights from the ranks of mapping A (at
// A's degrees) to the ranks of mapping B (at B's), for the same model and
// config, with no Hugging Face intermediate: per destination rank b, a plan
// whose sources are A's rank tensors ("rank-<a>/<name>", every rank
// prefixed) and whose targets are b's tensors. It is A's forward plan over
// all ranks, inverted, composed with B's plan of rank b.
//
// Contracts:
// - Every target element of every destination rank is written exactly
//   once, from the A rank tensor element that holds the same checkpoint
//   element (checked: the coverage of each destination plan is proven after
//   composing, as compileMapping proves a mapping's).
// - Senders of replicated elements (an element that several A ranks hold:
//   norms, routers, vLLM's replicated KV heads, data-parallel replicas): for
//   destination rank b the A ranks are tried in the order b mod RA, b mod
//   RA + 1, ... (RA the number of A ranks), and the first that holds the
//   element sends it. So a destination takes what its own rank already
//   holds (a rank of both meshes, colocated) or what the same-index source
//   rank holds, and destinations starting at different ranks spread the
//   senders of a replicated tensor over the A ranks.
// - traffic[a][b] is the bytes (of the destination dtype) that A rank a
//   sends to destination rank b; traffic[b][b] is what stays on a rank.
//   moved = the sum over a != b; with the rule above it equals, for every
//   b, b's bytes minus those rank b holds itself (when b < RA).
// - A tensor B reads that no A rank holds, or another model or config, is
//   an error naming it; nothing is returned.
//
//===----------------------------------------------------------------------===//
#ifndef WL_COMPILE_COMPILERESHARD_H
#define WL_COMPILE_COMPILERESHARD_H

#include "wl/Layout/Plan.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace wl {

struct ReshardRequest {
  std::string specA, specB;  ///< spec paths
  std::string config;        ///< the model's config.json (both sides)
  std::map<std::string, int64_t> optionsA, optionsB; ///< degrees, options
  std::string dtype;         ///< empty: the config's
  /// Allow a way back through A that rounds (Megatron's w - 1 undone by
  /// + 1); the tensors concerned are listed in `rounded`.
  bool allowInexact = false;
  /// Keep each side's rank plans in ReshardPlan::source and ::dest (a
  /// converter checks the source files against them and records the
  /// destination's plan hashes).
  bool keepRankPlans = false;
};

/// One side of a reshard as compiled: its mesh and degrees, what its spec
/// says it maps, and (with keepRankPlans) its plan of every rank.
struct ReshardSide {
  std::vector<std::string> mesh;          ///< axes, fastest first
  std::map<std::string, int64_t> degrees; ///< of the mesh's axes
  std::string from, to, modelType;        ///< the spec's
  std::vector<layout::Plan> rankPlans;
};

struct ReshardPlan {
  int64_t sourceRanks = 1, destRanks = 1;
  /// Per destination rank: sources "rank-<a>/<name>" of A, targets b's.
  std::vector<layout::Plan> byDest;
  /// traffic[a][b]: bytes A rank a sends to destination rank b.
  std::vector<std::vector<int64_t>> traffic;
  int64_t totalBytes = 0; ///< every destination byte
  int64_t movedBytes = 0; ///< those whose sender is another rank
  std::vector<std::string> rounded;
  ReshardSide source, dest;
};

/// Compiles the reshard plan; null with `error` set on failure.
std::unique_ptr<ReshardPlan> compileReshard(const ReshardRequest &request,
                                            std::string &error);

/// The traffic matrix as text: a row per sender, a column per destination,
/// in bytes, with totals.
std::string trafficText(const ReshardPlan &plan);

} // namespace wl

#endif // WL_COMPILE_COMPILERESHARD_H
