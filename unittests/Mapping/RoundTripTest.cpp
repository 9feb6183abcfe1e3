//===- RoundTripTest.cpp - every mapping forward, then back ---------------===//
//
// For every mapping of mappings/ and every tiny real checkpoint of its model
// type in ../shared/checkpoints (saved by transformers), at tp 1, 2 and 4:
//   - all ranks together write every target element once and read every
//     source element (coverage of the merged plan);
//   - the inverse derived by the layout algebra (replicas dropped) applied to
//     the forward result reproduces every byte of the checkpoint;
//   - the inverse written back as wl IR (weight-layout-opt --emit=ir
//     --reverse) lowers to a plan that restores the same bytes;
//   - where the framework forbids the degree, the spec refuses it with its
//     message.
// Skipped, with a message, when no checkpoints are found (../shared beside
// the checkout, or $WL_SHARED: SharedCheckpoints.h).
//
//===----------------------------------------------------------------------===//
#include "SharedCheckpoints.h"
#include "wl/IR/WLDialect.h"
#include "wl/Mapping/Frontend.h"
#include "wl/Transforms/PlanToIR.h"
#include "wl/Plan/Plan.h"
#include "wl/Transforms/LowerToPlan.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace wl;
namespace fs = std::filesystem;

namespace {

const std::string kSource = WL_SOURCE_DIR;

/// Tensor name -> bytes of a .safetensors file (trusted test input).
std::map<std::string, std::vector<uint8_t>> readTensors(const fs::path &file) {
  std::ifstream in(file, std::ios::binary);
  uint64_t n = 0;
  in.read(reinterpret_cast<char *>(&n), 8);
  std::string header(n, '\0');
  in.read(header.data(), n);
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)),
                            std::istreambuf_iterator<char>());
  std::map<std::string, std::vector<uint8_t>> out;
  nlohmann::json j = nlohmann::json::parse(header);
  for (auto &[name, t] : j.items()) {
    if (name == "__metadata__")
      continue;
    uint64_t b = t["data_offsets"][0], e = t["data_offsets"][1];
    out[name].assign(data.begin() + b, data.begin() + e);
  }
  return out;
}

struct Degrees {
  int64_t tp, pp;
  bool refused; ///< the framework forbids it: the spec must refuse
  int64_t ep = 1;
  /// Other options: spec-declared ones, degrees such as dp.
  std::map<std::string, int64_t> sets = {};
  /// The frameworks' own rounding way back (w - 1 undone by + 1): tensors
  /// it names must come back within rounding, all others bit for bit.
  bool inexact = false;
};

struct Case {
  std::string spec;       ///< under mappings/
  std::string checkpoint; ///< under ../shared/checkpoints/
  std::vector<Degrees> degrees;
  std::string file = "model.safetensors";
};

std::vector<Case> cases() {
  return {
      {"qwen3/hf-to-vllm.json",
       "hf/qwen3",
       {{1, 1, false}, {2, 1, false}, {4, 1, false}}},
      // The tiny Qwen3 has 2 query groups: Megatron cannot split them 4 ways.
      {"qwen3/hf-to-megatron.json",
       "hf/qwen3",
       {{1, 1, false}, {2, 1, false}, {4, 1, true}, {1, 2, false},
        {2, 2, false}}},
      {"qwen3_moe/hf-to-vllm.json",
       "hf/qwen3_moe",
       {{1, 1, false}, {2, 1, false}, {4, 1, false},
        {1, 1, false, 2, {{"dp", 2}}}, {2, 1, false, 2}, {4, 1, false, 4},
        {2, 1, false, 1, {{"dp", 2}}}, {2, 1, true, 3}}},
      {"qwen3_moe/hf-to-megatron.json",
       "hf/qwen3_moe",
       {{1, 1, false}, {2, 1, false}, {4, 1, true},
        {2, 2, false, 2, {{"dp", 2}}}, {1, 1, false, 4, {{"dp", 4}}},
        {2, 1, false, 2, {{"etp", 1}}}, {2, 1, true, 2}}},
      // The packing degree of the MaxText converter, pad-128 chunks included.
      {"qwen3_moe/maxtext-to-vllm-tpu.json",
       "maxtext",
       {{1, 1, false, 1, {{"rollout_tp", 1}}},
        {1, 1, false, 1, {{"rollout_tp", 2}}},
        {1, 1, false, 1, {{"rollout_tp", 4}}},
        {2, 1, true}},
       "qwen3_moe.safetensors"},
      {"qwen3_5/hf-to-vllm.json",
       "hf/qwen3_5",
       {{1, 1, false}, {2, 1, false}, {4, 1, false}}},
      {"qwen3_5_moe/hf-to-vllm.json",
       "hf/qwen3_5_moe",
       {{1, 1, false}, {2, 1, false}, {4, 1, false}, {2, 1, false, 2}}},
      {"qwen3_next/hf-to-vllm.json",
       "hf/qwen3_next",
       {{1, 1, false}, {2, 1, false}, {4, 1, false}, {2, 1, false, 2},
        {2, 1, false, 1, {{"qkvz_form", 1}}},
        {4, 1, false, 1, {{"qkvz_form", 1}}}}},
      // 1 + w norms round: the way back exists with norm_offset = 0.
      {"qwen3_5/hf-to-fastdeploy.json",
       "hf/qwen3_5",
       {{2, 1, false, 1, {}, true},
        {1, 1, false, 1, {{"norm_offset", 0}}},
        {2, 1, false, 1, {{"norm_offset", 0}}},
        {4, 1, false, 1, {{"norm_offset", 0}}}}},
      // w - 1 out_norm rounds: the way back exists with out_norm_offset = 0.
      {"qwen3_next/hf-to-megatron.json",
       "hf/qwen3_next",
       {{2, 1, false, 1, {}, true},
        {1, 1, false, 1, {{"out_norm_offset", 0}}},
        {2, 1, false, 2, {{"out_norm_offset", 0}, {"dp", 2}}},
        {2, 2, false, 1, {{"out_norm_offset", 0}}},
        {4, 1, true, 1, {{"out_norm_offset", 0}}}}},
      {"qwen3_5/hf-to-megatron.json",
       "hf/qwen3_5",
       {{1, 1, false, 1, {{"out_norm_offset", 0}}},
        {2, 2, false, 1, {{"out_norm_offset", 0}}}}},
      {"qwen3_5_moe/hf-to-megatron.json",
       "hf/qwen3_5_moe",
       {{2, 1, false, 2, {{"out_norm_offset", 0}, {"dp", 2}}}}},
      {"qwen3_moe/hf-to-transformers.json",
       "hf/qwen3_moe",
       {{1, 1, false}, {2, 1, true}}},
  };
}

TEST(Mappings, EveryMappingRoundTripsEveryCheckpointByte) {
  fs::path shared = test::sharedCheckpoints();
  if (!fs::exists(shared))
    GTEST_SKIP() << shared << " is absent: no real checkpoints to convert";
  mlir::MLIRContext ctx;
  ctx.loadDialect<WLDialect, mlir::func::FuncDialect>();
  int checked = 0;
  size_t irOps = 0, irPieces = 0;
  for (const Case &c : cases()) {
    fs::path dir = shared / c.checkpoint;
    std::string error;
    auto spec = mapping::loadSpec(kSource + "/mappings/" + c.spec, error);
    ASSERT_TRUE(spec) << error;
    auto tensors = readTensors(dir / c.file);
    for (const Degrees &d : c.degrees) {
      int64_t tp = d.tp;
      SCOPED_TRACE(c.spec + " on " + c.checkpoint + " at tp " +
                   std::to_string(tp) + " pp " + std::to_string(d.pp) +
                   " ep " + std::to_string(d.ep));
      error.clear();
      std::map<std::string, int64_t> options = d.sets;
      options["tp"] = tp;
      options["pp"] = d.pp;
      options["ep"] = d.ep;
      auto env = mapping::Env::create(spec, (dir / "config.json").string(),
                                      options, "", error);
      if (d.refused) {
        EXPECT_FALSE(env) << "the spec accepts a degree its framework forbids";
        EXPECT_NE(error.find("require["), std::string::npos) << error;
        continue;
      }
      ASSERT_TRUE(env) << error;
      std::vector<int64_t> ranks;
      for (int64_t r = 0; r < env->ranks(); ++r)
        ranks.push_back(r);
      auto module = mapping::buildMapping(*env, &ctx, ranks, error);
      ASSERT_TRUE(module) << error;
      auto forward = lowerAllRanks(*module);
      ASSERT_TRUE(mlir::succeeded(forward));
      // Every target element once, every checkpoint element read.
      for (auto &pr : layout::checkCoverage(*forward))
        ADD_FAILURE() << pr.message;
      ASSERT_EQ(forward->sources.size(), tensors.size())
          << "the spec reads other tensors than the checkpoint holds";
      layout::InvertOptions opts;
      std::vector<std::string> rounded;
      opts.dropReplicas = true;
      opts.allowInexact = d.inexact;
      opts.rounded = &rounded;
      auto inverse = layout::invert(*forward, error, opts);
      ASSERT_TRUE(inverse) << error;
      EXPECT_EQ(d.inexact, !rounded.empty());
      std::vector<plan::Buffer> src;
      for (const layout::TensorInfo &t : forward->sources) {
        ASSERT_TRUE(tensors.count(t.name)) << t.name;
        src.push_back({tensors[t.name]});
      }
      std::vector<plan::Buffer> out = plan::execute(*forward, src);
      // The inverse reads the forward targets by name.
      std::vector<plan::Buffer> back;
      for (const layout::TensorInfo &t : inverse->sources)
        for (size_t k = 0; k < forward->targets.size(); ++k)
          if (forward->targets[k].name == t.name)
            back.push_back(out[k]);
      ASSERT_EQ(back.size(), inverse->sources.size());
      std::vector<plan::Buffer> restored = plan::execute(*inverse, back);
      for (size_t k = 0; k < inverse->targets.size(); ++k) {
        const layout::TensorInfo &t = inverse->targets[k];
        if (std::count(rounded.begin(), rounded.end(), t.name)) {
          // Within the two roundings (forward and back) of that dtype.
          plan::Buffer orig{tensors[t.name]};
          int64_t n = *layout::numElements(t.shape);
          int bits = t.dtype == layout::DType::BF16  ? 8
                     : t.dtype == layout::DType::F16 ? 11
                                                     : 24;
          for (int64_t e = 0; e < n; ++e) {
            double a = layout::doubleFromBits(
                plan::loadElement(orig, t.dtype, e), t.dtype);
            double r = layout::doubleFromBits(
                plan::loadElement(restored[k], t.dtype, e), t.dtype);
            ASSERT_LE(std::abs(a - r),
                      std::ldexp(std::max(std::abs(a), 2.0), 1 - bits))
                << t.name << "[" << e << "]: " << a << " came back as " << r;
          }
          continue;
        }
        ASSERT_TRUE(restored[k].bytes == tensors[t.name])
            << t.name << " does not round-trip";
      }
      if (d.inexact) {
        ++checked;
        continue;
      }
      // The same way back as wl IR, lowered again.
      auto ir = mapping::planToIR(*inverse, &ctx, "reverse");
      ASSERT_TRUE(ir);
      ASSERT_TRUE(mlir::succeeded(mlir::verify(*ir)));
      auto fn = *ir->getOps<mlir::func::FuncOp>().begin();
      auto lowered = lowerFunction(fn);
      ASSERT_TRUE(mlir::succeeded(lowered));
      layout::CoverageOptions targetsOnly;
      targetsOnly.reportUnread = false; // replicas are read from one rank
      for (auto &pr : layout::checkCoverage(lowered->plan, targetsOnly))
        ADD_FAILURE() << "IR of the inverse: " << pr.message;
      std::vector<plan::Buffer> irIn;
      for (const layout::TensorInfo &t : lowered->plan.sources)
        for (size_t k = 0; k < inverse->sources.size(); ++k)
          if (inverse->sources[k].name == t.name)
            irIn.push_back(back[k]);
      ASSERT_EQ(irIn.size(), lowered->plan.sources.size());
      std::vector<plan::Buffer> irOut = plan::execute(lowered->plan, irIn);
      ASSERT_EQ(irOut.size(), inverse->targets.size());
      for (size_t k = 0; k < irOut.size(); ++k)
        ASSERT_TRUE(irOut[k].bytes ==
                    tensors[lowered->plan.targets[k].name])
            << lowered->plan.targets[k].name
            << " does not round-trip through the IR of the inverse";
      size_t ops = std::distance(fn.getOps().begin(), fn.getOps().end());
      if (getenv("WL_SHOW_IR_SIZE"))
        std::cerr << ops << " ops for " << inverse->pieces.size() << "\n";
      irOps += ops;
      irPieces += inverse->pieces.size();
      ++checked;
    }
  }
  EXPECT_GT(checked, 0);
  // The IR stays close to one chain per piece (no row-by-row blow-up).
  EXPECT_LT(irOps, 8 * irPieces) << irOps << " ops for " << irPieces
                                 << " pieces";
}

} // namespace
