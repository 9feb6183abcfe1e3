//===- DetectAliases.cpp - --wl-detect-aliases ----------------------------===//
#include "wl/IR/WLOps.h"
#include "wl/Transforms/LowerToPlan.h"
#include "wl/Transforms/Passes.h"

#include "mlir/IR/Builders.h"

namespace wl {
#define GEN_PASS_DEF_WLDETECTALIASES
#include "wl/Transforms/Passes.h.inc"
} // namespace wl

using namespace mlir;

namespace {
struct DetectAliases : wl::impl::WLDetectAliasesBase<DetectAliases> {
  void runOnOperation() override {
    Builder b(&getContext());
    for (auto fn : getOperation().getOps<func::FuncOp>()) {
      FailureOr<wl::LoweredFunction> lowered = wl::lowerFunction(fn);
      if (failed(lowered))
        return signalPassFailure();
      // Merged first, so that a target assembled from neighbouring runs of
      // one source (split, then partial sinks) is seen as the one run it is.
      wl::layout::normalize(lowered->plan);
      auto aliases = wl::layout::findAliases(lowered->plan);
      for (auto [t, alias] : llvm::enumerate(aliases)) {
        if (!alias)
          continue;
        for (Operation *sink : lowered->targetSinks[t])
          sink->setAttr(
              "wl.alias",
              b.getDictionaryAttr(
                  {b.getNamedAttr("source",
                                  b.getStringAttr(lowered->plan.sources[alias->source].name)),
                   b.getNamedAttr("offset", b.getI64IntegerAttr(alias->offset))}));
      }
    }
  }
};
} // namespace
