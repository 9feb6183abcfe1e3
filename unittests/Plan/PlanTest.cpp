//===- PlanTest.cpp - the plan file: JSON, validation, reference execution -===//
//
// wl/Plan/Plan.h on its own (the whole pipeline is checked elsewhere):
// random plans survive toJson/fromJson unchanged and keep their hash; every
// change of a field changes the hash; the reference executor writes what a
// plan says, element by element, against an expectation written by hand;
// and each validation rule refuses with the path of the offending field.
//
//===----------------------------------------------------------------------===//
#include "wl/Plan/Plan.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

using namespace wl;
using layout::DType;
using layout::Piece;
using layout::Plan;
using layout::Step;

namespace {

/// A valid random plan: sources and targets of a few dtypes, pieces that
/// copy random boxes (with a cast where the dtypes differ) or fill.
Plan randomPlan(std::mt19937 &rng) {
  const DType types[] = {DType::BF16, DType::F32, DType::I32, DType::U8};
  Plan p;
  int ns = 1 + rng() % 3, nt = 1 + rng() % 3;
  for (int i = 0; i < ns; ++i)
    p.sources.push_back({"s" + std::to_string(i), types[rng() % 4],
                         {int64_t(2 + rng() % 4), int64_t(1 + rng() % 5)}});
  for (int i = 0; i < nt; ++i)
    p.targets.push_back({"t" + std::to_string(i), types[rng() % 4],
                         {int64_t(2 + rng() % 4), int64_t(1 + rng() % 5)}});
  for (int k = 0; k < 4; ++k) {
    Piece q;
    q.target = rng() % nt;
    const layout::TensorInfo &t = p.targets[q.target];
    q.shape = {1, 1};
    q.dstOffset = rng() % (t.shape[0] * t.shape[1]);
    q.dstStrides = {t.shape[1], 1};
    if (rng() % 3 == 0) {
      q.fillBits = layout::isFloat(t.dtype) ? 0x3F80 : rng() % 100;
    } else {
      q.source = rng() % ns;
      const layout::TensorInfo &s = p.sources[q.source];
      q.srcOffset = rng() % (s.shape[0] * s.shape[1]);
      q.srcStrides = {s.shape[1], 1};
      bool floatToInt = layout::isFloat(s.dtype) && !layout::isFloat(t.dtype);
      if (floatToInt)
        continue;
      if (s.dtype != t.dtype)
        q.steps.push_back({Step::Cast, s.dtype, t.dtype});
      if (layout::isFloat(t.dtype) && rng() % 4 == 0)
        q.steps.push_back({Step::Affine, t.dtype, t.dtype, 0.5, -1.0});
    }
    p.pieces.push_back(q);
  }
  return p;
}

TEST(PlanJson, RandomPlansRoundTripWithTheirHash) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 500; ++trial) {
    Plan p = randomPlan(rng);
    std::string error;
    ASSERT_TRUE(plan::validate(p, error)) << error;
    for (int indent : {-1, 1}) {
      std::string text = plan::toJson(p, indent);
      std::optional<Plan> back = plan::fromJson(text, error);
      ASSERT_TRUE(back) << error << "\n" << text;
      EXPECT_EQ(plan::toJson(*back, indent), text);
      EXPECT_EQ(plan::planHash(*back), plan::planHash(p));
    }
  }
}

TEST(PlanJson, EveryFieldChangesTheHash) {
  std::mt19937 rng(9);
  Plan p = randomPlan(rng);
  while (p.pieces.empty() || p.pieces[0].isFill())
    p = randomPlan(rng);
  uint64_t h = plan::planHash(p);
  std::vector<std::function<void(Plan &)>> edits = {
      [](Plan &q) { q.sources[0].name += "x"; },
      [](Plan &q) { q.targets[0].shape[0] += 1; },
      [](Plan &q) { q.pieces[0].dstOffset ^= 1; },
      [](Plan &q) { q.pieces[0].srcOffset ^= 1; },
      [](Plan &q) { q.pieces[0].srcStrides[0] += 1; },
      [](Plan &q) { q.pieces[0].shape.push_back(1); },
      [](Plan &q) { q.pieces.pop_back(); },
  };
  for (size_t k = 0; k < edits.size(); ++k) {
    Plan q = p;
    edits[k](q);
    EXPECT_NE(plan::planHash(q), h) << "edit " << k;
  }
}

plan::Buffer bufferOf(DType t, const std::vector<uint64_t> &bits) {
  plan::Buffer b;
  b.bytes.resize(bits.size() * layout::dtypeSize(t));
  for (size_t i = 0; i < bits.size(); ++i)
    plan::storeElement(b, t, i, bits[i]);
  return b;
}

TEST(PlanExecute, TransposeFillAndCastElementByElement) {
  // Target t [3, 4] i32: rows 0..1 are the transpose of source a [4, 2]
  // (i16, sign-extended), row 2 is a fill of -5.
  Plan p;
  p.sources = {{"a", DType::I16, {4, 2}}};
  p.targets = {{"t", DType::I32, {3, 4}}};
  Piece tr;
  tr.target = 0;
  tr.source = 0;
  tr.shape = {2, 4};
  tr.dstStrides = {4, 1};
  tr.srcStrides = {1, 2};
  tr.steps = {{Step::Cast, DType::I16, DType::I32}};
  Piece fill;
  fill.target = 0;
  fill.shape = {4};
  fill.dstOffset = 8;
  fill.dstStrides = {1};
  fill.fillBits = 0xFFFFFFFBu; // -5
  p.pieces = {tr, fill};
  std::string error;
  ASSERT_TRUE(plan::validate(p, error)) << error;
  // a[r][c] = 10 * r + c, negated in column 1 (to see the sign extended)
  std::vector<uint64_t> a;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 2; ++c)
      a.push_back(uint16_t(c ? -(10 * r + c) : 10 * r + c));
  std::vector<plan::Buffer> out =
      plan::execute(p, {bufferOf(DType::I16, a)});
  ASSERT_EQ(out.size(), 1u);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) {
      int32_t want = i < 2 ? (i ? -(10 * j + i) : 10 * j + i) : -5;
      EXPECT_EQ(plan::loadElement(out[0], DType::I32, i * 4 + j),
                uint64_t(uint32_t(want)))
          << i << "," << j;
    }
}

TEST(PlanValidate, EachRuleNamesTheField) {
  Plan good;
  good.sources = {{"s", DType::F32, {2, 3}}};
  good.targets = {{"t", DType::F32, {3, 2}}};
  Piece q;
  q.target = 0;
  q.source = 0;
  q.shape = {3, 2};
  q.dstStrides = {2, 1};
  q.srcStrides = {1, 3};
  good.pieces = {q};
  std::string error;
  ASSERT_TRUE(plan::validate(good, error)) << error;

  struct Case {
    std::function<void(Plan &)> edit;
    std::string message;
  };
  std::vector<Case> cases = {
      {[](Plan &p) { p.pieces[0].target = 1; },
       "pieces[0].target: index 1 is not one of the 1 targets"},
      {[](Plan &p) {
         p.pieces[0].source = -1; // a fill
         p.pieces[0].target = 3;
       },
       "pieces[0].target: index 3 is not one of the 1 targets"},
      {[](Plan &p) { p.pieces[0].source = 2; },
       "pieces[0].source: index 2 is not one of the 1 sources"},
      {[](Plan &p) { p.pieces[0].dstStrides = {2}; },
       "pieces[0]: shape, dst_strides and src_strides differ in rank"},
      {[](Plan &p) { p.pieces[0].dstOffset = 1; },
       "pieces[0]: writes outside target 't' (6 elements)"},
      {[](Plan &p) { p.pieces[0].srcStrides = {2, 3}; },
       "pieces[0]: reads outside source 's' (6 elements)"},
      {[](Plan &p) {
         p.targets[0].dtype = DType::I32;
         p.pieces[0].steps = {{Step::Cast, DType::F32, DType::I32}};
       },
       "pieces[0].convert[0]: float to integer is not a cast"},
      {[](Plan &p) {
         p.pieces[0].steps = {{Step::Cast, DType::BF16, DType::F32}};
       },
       "pieces[0].convert[0]: casts from BF16 but the element is F32"},
      {[](Plan &p) { p.targets[0].dtype = DType::BF16; },
       "pieces[0]: converts to F32 but target 't' is BF16"},
  };
  for (const Case &c : cases) {
    Plan p = good;
    c.edit(p);
    std::string why;
    EXPECT_FALSE(plan::validate(p, why)) << c.message;
    EXPECT_NE(why.find(c.message), std::string::npos)
        << "got: " << why << "\nwant: " << c.message;
    // The parser applies the same rules to the plan's JSON.
    std::string parseError;
    EXPECT_FALSE(plan::fromJson(plan::toJson(p), parseError)) << c.message;
  }
}

TEST(PlanJson, SyntaxAndFieldErrorsNameThePath) {
  std::string error;
  EXPECT_FALSE(plan::fromJson("{", error));
  EXPECT_EQ(error.rfind("plan: not valid JSON: ", 0), 0u) << error;
  EXPECT_FALSE(plan::fromJson(R"({"version": 2, "sources": [], "targets": [],
                                  "pieces": []})", error));
  EXPECT_EQ(error.rfind("version: this is plan format 2", 0), 0u) << error;
  EXPECT_FALSE(plan::fromJson(R"({"version": 1, "sources": [
      {"name": "s", "dtype": "F33", "shape": [2]}], "targets": [],
      "pieces": []})", error));
  EXPECT_NE(error.find("unknown dtype 'F33'"), std::string::npos) << error;
  EXPECT_FALSE(plan::fromJson(R"({"version": 1, "sources": [
      {"name": "s", "dtype": "F32", "shape": [-2]}], "targets": [],
      "pieces": []})", error));
  EXPECT_NE(error.find(".shape[0]: negative size"), std::string::npos)
      << error;
}


/// A piece decoding MXFP4 codes with run-time e8m0 scales: target [2, 4]
/// bf16 from 4 bytes (low nibbles to even columns, high to odd) and a
/// scale per row.
Plan runtimeScalePlan() {
  Plan p;
  p.sources = {{"w_blocks", DType::U8, {2, 2}}, {"w_scales", DType::U8, {2}}};
  p.targets = {{"w", DType::BF16, {2, 4}}};
  for (Step::Kind k : {Step::E2M1Low, Step::E2M1High}) {
    Piece q;
    q.target = 0;
    q.source = 0;
    q.shape = {2, 2};
    q.dstOffset = k == Step::E2M1Low ? 0 : 1;
    q.dstStrides = {4, 2};
    q.srcStrides = {2, 1};
    q.scale = {1, 0, {1, 0}};
    q.steps = {{k, DType::U8, DType::F32},
               {Step::RuntimeScale, DType::U8, DType::F32},
               {Step::Cast, DType::F32, DType::BF16}};
    p.pieces.push_back(q);
  }
  return p;
}

TEST(PlanJson, RuntimeScalesRoundTripAndExecute) {
  Plan p = runtimeScalePlan();
  std::string error;
  ASSERT_TRUE(plan::validate(p, error)) << error;
  std::string text = plan::toJson(p);
  EXPECT_NE(text.find("\"e2m1_high\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"runtime_scale\""), std::string::npos) << text;
  std::optional<Plan> back = plan::fromJson(text, error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(plan::toJson(*back), text);
  Plan moved = p;
  moved.pieces[1].scale.offset = 1;
  moved.pieces[1].scale.strides = {0, 0};
  EXPECT_NE(plan::planHash(moved), plan::planHash(p));
  // Codes 0x21 (0.5, 1), 0xf7 (6, -6); 0x3a (-1, 1.5), 0x00; scales 2^0
  // and 2^-2: bf16 of 0.5, 1, 6, -6 and -0.25, 0.375, 0, 0.
  std::vector<plan::Buffer> out =
      plan::execute(p, {bufferOf(DType::U8, {0x21, 0xf7, 0x3a, 0x00}),
                        bufferOf(DType::U8, {127, 125})});
  const uint64_t want[8] = {0x3f00, 0x3f80, 0x40c0, 0xc0c0,
                            0xbe80, 0x3ec0, 0x0000, 0x0000};
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(plan::loadElement(out[0], DType::BF16, i), want[i]) << i;
}

TEST(PlanValidate, RuntimeScaleRules) {
  struct Case {
    std::function<void(Plan &)> edit;
    std::string message;
  };
  std::vector<Case> cases = {
      {[](Plan &p) { p.pieces[0].scale.source = -1; },
       "pieces[0].convert[1]: the piece has no 'scale' to read"},
      {[](Plan &p) { p.pieces[0].scale.strides = {2, 0}; },
       "pieces[0]: reads scales outside source 'w_scales' (2 elements)"},
      {[](Plan &p) { p.pieces[0].scale.strides = {1}; },
       "pieces[0].scale.strides: not of the piece's rank"},
      {[](Plan &p) { p.pieces[0].steps[1].from = DType::F32; },
       "pieces[0].convert[1]: scale_dtype must be the scale source's dtype"},
      {[](Plan &p) { p.pieces[0].steps.erase(p.pieces[0].steps.begin() + 1); },
       "pieces[0]: a piece with a 'scale' applies it in exactly one "
       "runtime_scale step"},
      {[](Plan &p) { p.pieces[0].steps[0].from = DType::I8; },
       "pieces[0].convert[0]: e2m1 decodes a U8 element into a float"},
  };
  for (const Case &c : cases) {
    Plan p = runtimeScalePlan();
    c.edit(p);
    std::string why;
    EXPECT_FALSE(plan::validate(p, why)) << c.message;
    EXPECT_NE(why.find(c.message), std::string::npos)
        << "got: " << why << "\nwant: " << c.message;
  }
}

} // namespace
