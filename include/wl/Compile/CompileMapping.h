//===- CompileMapping.h - a mapping spec compiled to plans, in-process -*- C++
//-*-===//
//
// The whole compiler behind one call, for the tools and the embedding API:
// spec + config + options -> the wl IR of every rank -> coverage proven over
// all ranks together -> one plan per rank, and (on request) the inverse plan
// from every rank's targets back to the checkpoint. No MLIR type appears in
// this header, so callers need not include MLIR.
//
//===----------------------------------------------------------------------===//
#ifndef WL_COMPILE_COMPILEMAPPING_H
#define WL_COMPILE_COMPILEMAPPING_H

#include "wl/Layout/Piece.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace wl {

struct MappingRequest {
  std::string spec; ///< path of the spec (mappings/<model>/<from>-to-<to>.json)
  std::string config; ///< path of the model's config.json
  /// tp, ep, pp and spec-declared options (rank is not one: every rank is
  /// compiled).
  std::map<std::string, int64_t> options;
  std::string dtype;    ///< empty: the config's
  bool reverse = false; ///< also derive the inverse plan
  bool exact = false;   ///< reverse: refuse rounding inverses
};

struct CompiledMapping {
  int64_t tp = 1, ep = 1, pp = 1;
  int64_t ranks() const { return tp * ep * pp; }
  /// Forward: per rank, the plan from checkpoint tensors to that rank's
  /// tensors (rank = (pp_rank * ep + ep_rank) * tp + tp_rank), normalized.
  std::vector<layout::Plan> rankPlans;
  /// Reverse: the plan from every rank's tensors ("rank-<r>/<name>" when
  /// there are several ranks, else "<name>") back to the checkpoint's.
  layout::Plan inverse;
  /// Reverse: the checkpoint tensors restored through a rounding step.
  std::vector<std::string> rounded;
  /// Checkpoint tensors the spec drops on purpose.
  std::vector<std::string> dropped;
  /// The spec's from/to/model_type, for provenance.
  std::string from, to, modelType;
};

/// Compiles `request`; on failure returns null and sets `error` to the
/// messages (spec file, JSON path, rule, captures), one per line.
std::unique_ptr<CompiledMapping> compileMapping(const MappingRequest &request,
                                                std::string &error);

} // namespace wl

#endif // WL_COMPILE_COMPILEMAPPING_H
