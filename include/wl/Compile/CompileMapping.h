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

#include "wl/Layout/Plan.h"
#include "wl/MappingSpec/Spec.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace wl {

struct MappingRequest {
  std::string spec; ///< path of the spec (mappings/<model>/<from>-to-<to>.json)
  std::string config; ///< path of the model's config.json
  /// The degrees and spec-declared options (rank is not one: every rank is
  /// compiled).
  std::map<std::string, int64_t> options;
  std::string dtype;    ///< empty: the config's
  bool reverse = false; ///< also derive the inverse plan
  bool exact = false;   ///< reverse: refuse rounding inverses

  /// How far the stages go. Plans (the default): the IR of every rank, the
  /// coverage proof over all of them, the plans (and with `reverse` the
  /// inverse). IR: the IR of `irRanks` (every rank when empty) and no more:
  /// no proof, no plans (`weight-layout-opt --mapping --emit=ir`).
  enum class Stage { IR, Plans };
  Stage stage = Stage::Plans;
  std::vector<int64_t> irRanks;
  /// Plans: lower only this rank's plan (rankPlans then holds it alone);
  /// -1: every rank's.
  int64_t onlyRank = -1;
  /// Hand back the IR as text: the module built (Stage::IR), or with
  /// `reverse` the inverse plan written with wl ops (CompiledMapping::ir).
  bool printIR = false;
  /// Where the compiler's diagnostics go as they are emitted: the place
  /// (spec file, rule path, captures), whether it is an error, the text.
  /// Unset, they are collected into the error text of a failure.
  std::function<void(const std::string &where, bool error,
                     const std::string &message)>
      diagnostic;
  /// Runs once the spec and config are read and evaluated, before any IR
  /// is built; false (with `error` set) stops the compile. A converter
  /// compares a checkpoint's tensor names with the spec's here, so that a
  /// mismatch costs time in proportion to the checkpoint, not to what the
  /// config claims.
  std::function<bool(mapping::Env &env, std::string &error)> beforeIR;
};

/// Why a compile failed: a request the spec's degrees do not allow (a rank
/// that is not one of them), or anything else.
enum class CompileFailure { Request, Other };

struct CompiledMapping {
  /// The spec's rank axes (fastest first) and their degrees; tp, ep and pp
  /// as given (1 where the spec has no such option).
  std::vector<std::string> mesh;
  std::map<std::string, int64_t> degrees;
  int64_t tp = 1, ep = 1, pp = 1;
  int64_t rankCount = 1;
  int64_t ranks() const { return rankCount; }
  /// Forward: per rank, the plan from checkpoint tensors to that rank's
  /// tensors (rank numbered in the spec's mesh), normalized.
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
  /// Every source tensor the built ranks read (name, dtype, shape), in name
  /// order: what a checkpoint must hold.
  std::vector<layout::TensorInfo> sources;
  /// The IR asked for with printIR.
  std::string ir;
};

/// Compiles `request`: the one place that runs the stages (spec and config,
/// IR, coverage, lowering, inverse), for weight-layout-opt --mapping,
/// weight-layout-convert, weight-layout-gen and the embedding API. On
/// failure returns null and sets `error` to the messages (spec file, JSON
/// path, rule, captures), one per line, and `failure` (when given) to why.
std::unique_ptr<CompiledMapping>
compileMapping(const MappingRequest &request, std::string &error,
               CompileFailure *failure = nullptr);

} // namespace wl

#endif // WL_COMPILE_COMPILEMAPPING_H
