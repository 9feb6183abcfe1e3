//===- PropagateShards.cpp - --wl-propagate-shards ------------------------===//
#include "wl/IR/WLOps.h"
#include "wl/Transforms/Passes.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace wl {
#define GEN_PASS_DEF_WLPROPAGATESHARDS
#include "wl/Transforms/Passes.h.inc"
} // namespace wl

using namespace mlir;

namespace {
struct PropagateShards
    : wl::impl::WLPropagateShardsBase<PropagateShards> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    // The selection patterns live beside the ops they select with.
    wl::SliceOp::getCanonicalizationPatterns(patterns, &getContext());
    wl::ShardOp::getCanonicalizationPatterns(patterns, &getContext());
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
