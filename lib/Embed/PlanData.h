//===- PlanData.h - what the embedding API keeps per plan (internal) ------===//
//
// No libtorch and no MLIR header: the plan, what is derived from it once
// (aliases, the pieces that remain when aliased targets are views, the
// pieces of each source for streaming loads), and where it came from.
//
//===----------------------------------------------------------------------===//
#ifndef WL_LIB_EMBED_PLANDATA_H
#define WL_LIB_EMBED_PLANDATA_H

#include "wl/Layout/Plan.h"
#include "wl/Embed/Compile.h"
#include "wl/Compile/CompileReshard.h"

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace wl {
struct CompiledMapping;
}

namespace wl::embed {

/// One compiled mapping in the process-wide cache.
struct MappingEntry {
  std::shared_ptr<const CompiledMapping> compiled;
  /// Every checkpoint tensor the mapping knows: read by some rank or
  /// dropped on purpose (a loader's fed name outside it is a real mismatch).
  std::set<std::string> knownSources;
  /// What it was compiled from, to compile the other direction.
  std::string specPath;     ///< resolved file ("" when from text)
  std::string specText;     ///< the text, includes made absolute
  std::string configText;
  std::map<std::string, int64_t> options;
  std::string dtype;
  bool reverse = false, exact = false;
  uint64_t keyHash = 0;
};

/// Some pieces of a plan over only the tensors they touch: `plan` lists
/// those tensors (`sources[i]`, `targets[j]`: their indices in the whole
/// plan) and its pieces index them. Kept small, so that per-source
/// sub-plans of a plan with many tensors stay linear in its size (a copy
/// of every tensor list per source was quadratic: gigabytes for the
/// 18,000 expert tensors of a Qwen3-30B-A3B).
struct SubPlan {
  layout::Plan plan;
  std::vector<int64_t> sources, targets;
  /// Stands for the whole plan itself (PlanData::all): `plan` and the
  /// index lists stay empty, nothing is copied.
  bool whole = false;
  bool empty() const { return !whole && plan.pieces.empty(); }
};

/// The sub-plan of `whole`'s pieces at `indices` (in that order).
SubPlan subPlanOf(const layout::Plan &whole,
                  const std::vector<int64_t> &indices);

using SourceRanges =
    std::map<std::string, std::vector<std::pair<int64_t, int64_t>>>;

struct PlanData {
  layout::Plan plan;
  std::vector<std::optional<layout::Alias>> aliases;
  /// The whole plan as a sub-plan (`whole`: no copy).
  SubPlan all;
  /// The pieces of the targets that are not aliases (what run() executes
  /// when aliased targets are returned as views).
  SubPlan residual;
  /// Per source, the indices of the pieces that read it, and those pieces
  /// as a sub-plan.
  std::vector<std::vector<int64_t>> piecesOfSource;
  std::vector<SubPlan> bySource;
  /// The fill pieces of each target (empty where none).
  std::vector<SubPlan> fillsOf;
  /// Per target: some element is written by no piece (only JSON plans):
  /// zero it first.
  std::vector<char> hasGaps;
  /// Per source the distinct targets it writes; per target the number of
  /// distinct sources that write it.
  std::vector<std::vector<int64_t>> targetsOfSource;
  std::vector<int64_t> sourceCountOf;
  std::map<std::string, int64_t> sourceIndex, targetIndex;
  uint64_t hash = 0;

  /// Provenance: the mapping (null for a JSON plan), the rank (kAllRanks,
  /// or kReverse for the mapping's inverse).
  std::shared_ptr<const MappingEntry> mapping;
  int64_t rank = 0;
  static constexpr int64_t kReverse = -2;

  /// Lazily built device work tables, by sub-plan (-1 the whole plan, -2
  /// the residual, s >= 0 the pieces of source s); opaque here.
  mutable std::mutex mutex;
  mutable std::map<int64_t, std::shared_ptr<const void>> deviceTables;
  /// The C API's description (wl_plan_describe), built on first use.
  mutable std::string describeJson;
  /// sourceRangesOf's answer, built on first use.
  mutable std::shared_ptr<const SourceRanges> sourceRanges;
};

/// Derives everything from `plan`. With `checkCoverage` (plans from
/// elsewhere), a target element written twice is an Error; elements written
/// by no piece are marked (hasGaps). Throws Error on an invalid plan.
std::shared_ptr<PlanData> makePlanData(layout::Plan plan, bool checkCoverage);

/// The mapping's way back for a plan compiled from it (see Plan::inverse).
std::shared_ptr<const PlanData> mappingInverse(const PlanData &d, bool exact);

/// Every rank's plan in one, targets "rank-<r>/<name>" when there are
/// several ranks.
layout::Plan mergeRanks(const CompiledMapping &m);

/// The compile behind wl::embed::compile, torch-free.
std::shared_ptr<const PlanData>
compilePlan(const std::string &mapping, const std::string &config,
            const std::map<std::string, int64_t> &options,
            const CompileOptions &how, const std::string &specBaseDir);

Description describePlan(const PlanData &d);

/// The process-wide compile cache (CompileCache.cpp).
CacheStats cacheStats();
void clearCache();
/// Per source name, the element ranges [a, b) the plan reads, merged and
/// sorted; built on first use and kept with the plan (a load asks at every
/// weight sync).
const SourceRanges &sourceRangesOf(const PlanData &d);
std::shared_ptr<const PlanData> planFromJson(const std::string &text);

/// A reshard (wl/Compile/CompileReshard.h) between two mappings named as
/// compilePlan takes them (library names, paths or spec text), for one
/// config; not cached. Throws Error (Invalid) on bad input.
std::shared_ptr<const ReshardPlan>
compileReshardPlan(const std::string &fromMapping,
                   const std::map<std::string, int64_t> &fromOptions,
                   const std::string &mapping,
                   const std::map<std::string, int64_t> &options,
                   const std::string &config, const std::string &dtype,
                   const std::string &specBaseDir);
std::shared_ptr<const PlanData> invertPlan(const PlanData &d, bool exact);

/// "a, b, c (and 4 more)".
std::string listNames(const std::vector<std::string> &names, size_t most = 5);
/// "[8, 4]".
std::string formatShape(const std::vector<int64_t> &shape);

} // namespace wl::embed

#endif // WL_LIB_EMBED_PLANDATA_H
