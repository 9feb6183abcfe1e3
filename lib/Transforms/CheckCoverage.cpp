//===- CheckCoverage.cpp - --wl-check-coverage ----------------------------===//
#include "wl/IR/WLOps.h"
#include "wl/Transforms/LowerToPlan.h"
#include "wl/Transforms/Passes.h"

#include "llvm/ADT/StringMap.h"

namespace wl {
#define GEN_PASS_DEF_WLCHECKCOVERAGE
#include "wl/Transforms/Passes.h.inc"
} // namespace wl

using namespace mlir;
using namespace wl::layout;

namespace {
struct CheckCoverage : wl::impl::WLCheckCoverageBase<CheckCoverage> {
  using Base::Base;
  void runOnOperation() override {
    bool failedAny = false;
    // All functions together: the ranks of one mapping read every source.
    Plan reads;
    llvm::StringMap<int64_t> sourceIndex;
    std::vector<Operation *> firstSourceOp;
    for (auto fn : getOperation().getOps<func::FuncOp>()) {
      FailureOr<wl::LoweredFunction> lowered = wl::lowerFunction(fn);
      if (failed(lowered))
        return signalPassFailure();
      const Plan &plan = lowered->plan;
      CoverageOptions opts;
      opts.reportUnread = false;
      for (const CoverageProblem &pr : checkCoverage(plan, opts)) {
        auto &sinks = lowered->targetSinks[pr.tensor];
        InFlightDiagnostic diag = sinks.front()->emitError(pr.message);
        for (size_t i = 1; i < sinks.size(); ++i)
          diag.attachNote(sinks[i]->getLoc()) << "'" << plan.targets[pr.tensor].name
                                              << "' is also written here";
        failedAny = true;
      }
      // Merge this function's reads into the module-wide plan.
      std::vector<int64_t> remap;
      for (size_t s = 0; s < plan.sources.size(); ++s) {
        auto [it, inserted] = sourceIndex.try_emplace(
            plan.sources[s].name, (int64_t)reads.sources.size());
        if (inserted) {
          reads.sources.push_back(plan.sources[s]);
          firstSourceOp.push_back(lowered->sourceOps[s].front());
        }
        const TensorInfo &seen = reads.sources[it->second];
        if (seen.dtype != plan.sources[s].dtype ||
            seen.shape != plan.sources[s].shape) {
          // The ranks of one mapping read one checkpoint.
          Operation *here = lowered->sourceOps[s].front();
          here->emitError("'")
                  .append(plan.sources[s].name,
                          "' is read with another type than in another "
                          "function of the module")
                  .attachNote(firstSourceOp[it->second]->getLoc())
              << "first read here";
          return signalPassFailure();
        }
        remap.push_back(it->second);
      }
      int64_t targetBase = reads.targets.size();
      reads.targets.insert(reads.targets.end(), plan.targets.begin(),
                           plan.targets.end());
      for (Piece p : plan.pieces) {
        p.target += targetBase;
        if (!p.isFill())
          p.source = remap[p.source];
        reads.pieces.push_back(std::move(p));
      }
    }
    if (!allowUnread) {
      for (const CoverageProblem &pr : checkCoverage(reads)) {
        if (pr.kind != CoverageProblem::Unread)
          continue;
        firstSourceOp[pr.tensor]->emitError(pr.message)
            << (getOperation().getOps<func::FuncOp>().empty() ? ""
                : " (in any function of the module)");
        failedAny = true;
      }
    }
    if (failedAny)
      signalPassFailure();
  }
};
} // namespace
