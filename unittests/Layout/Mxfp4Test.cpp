//===- Mxfp4Test.cpp - MXFP4 decoded through plans ------------------------===//
//
// decodeMxfp4 against gpt-oss's dequantization written here as a plain loop
// (the e2m1 table of FP4_VALUES, times 2^(s - 127) in double, rounded once
// to bf16), for plans that move the logical tensor whole, transposed back
// to the blocks' orientation, sliced by experts, cut at odd offsets along
// the blocked axis, and strided; each decoded plan run element by element
// through applySteps. Also the steps themselves over every code and scale.
//
//===----------------------------------------------------------------------===//
#include "wl/Layout/Mxfp4.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

using namespace wl::layout;

namespace {

const double kFp4Values[16] = {+0.0, +0.5, +1.0, +1.5, +2.0, +3.0,
                               +4.0, +6.0, -0.0, -0.5, -1.0, -1.5,
                               -2.0, -3.0, -4.0, -6.0};

/// gpt-oss's value of logical element (e, i, r): row r, input i of expert e.
uint16_t expected(const std::vector<uint8_t> &blocks,
                  const std::vector<uint8_t> &scales, int64_t R, int64_t G,
                  int64_t e, int64_t i, int64_t r) {
  const int64_t row = e * R + r;
  const uint8_t byte = blocks[(row * G + i / 32) * 16 + (i % 32) / 2];
  const int code = i % 2 == 0 ? (byte & 15) : (byte >> 4);
  const int s = scales[row * G + i / 32];
  const double v = kFp4Values[code] * std::ldexp(1.0, s - 127);
  uint64_t bits;
  std::memcpy(&bits, &v, 8);
  return static_cast<uint16_t>(castBits(bits, DType::F64, DType::BF16));
}

/// Runs every piece element by element (the plan's meaning).
std::vector<std::vector<uint8_t>>
runPlan(const Plan &plan, const std::vector<std::vector<uint8_t>> &sources) {
  std::vector<std::vector<uint8_t>> out;
  for (const TensorInfo &t : plan.targets)
    out.emplace_back(*numElements(t.shape) * dtypeSize(t.dtype), 0);
  for (const Piece &p : plan.pieces) {
    const int es = dtypeSize(plan.sources[p.source].dtype);
    const int et = dtypeSize(plan.targets[p.target].dtype);
    for (int64_t k = 0; k < p.numElements(); ++k) {
      const auto [d, s, g] = elementPositions(p, k);
      uint64_t x = 0, sc = 0;
      std::memcpy(&x, &sources[p.source][s * es], es);
      if (p.hasRuntimeScale())
        sc = sources[p.scale.source][g];
      const uint64_t y = applySteps(p.steps, x, sc);
      std::memcpy(&out[p.target][d * et], &y, et);
    }
  }
  return out;
}

struct Experts {
  int64_t E = 3, R = 6, G = 3; // logical [E, 96, 6]
  std::vector<uint8_t> blocks, scales;
  Experts() {
    std::mt19937 rng(7);
    blocks.resize(E * R * G * 16);
    scales.resize(E * R * G);
    for (uint8_t &b : blocks)
      b = static_cast<uint8_t>(rng());
    for (uint8_t &s : scales) // around 2^0, and the extremes
      s = static_cast<uint8_t>(rng() % 5 == 0 ? rng() % 255 : 120 + rng() % 14);
    scales[0] = 0;
    scales[1] = 254;
  }
  int64_t I() const { return G * 32; }
};

/// A plan reading logical [E, I, R] through one piece per target, each
/// given as (target shape, offset and strides into the logical tensor).
struct Read {
  Shape shape;
  int64_t offset;
  Shape strides;
};

Plan planOf(const Experts &x, const std::vector<Read> &reads) {
  Plan plan;
  plan.sources.push_back({"w", DType::BF16, {x.E, x.I(), x.R}});
  for (size_t t = 0; t < reads.size(); ++t) {
    plan.targets.push_back({"t" + std::to_string(t), DType::BF16,
                            reads[t].shape});
    Piece p;
    p.target = static_cast<int64_t>(t);
    p.source = 0;
    p.shape = reads[t].shape;
    p.dstStrides = rowMajorStrides(reads[t].shape);
    p.srcOffset = reads[t].offset;
    p.srcStrides = reads[t].strides;
    plan.pieces.push_back(p);
  }
  return plan;
}

/// Decodes, runs and compares target t's element (a, b, c) with
/// expected(e(a,b,c), i(...), r(...)).
template <typename F>
void check(const Experts &x, std::vector<Read> reads, F coordinates,
           size_t maxPieces) {
  Plan plan = planOf(x, reads);
  decodeMxfp4(plan, {{0, "w_blocks", "w_scales"}});
  ASSERT_EQ(plan.sources.size(), 2u);
  EXPECT_EQ(plan.sources[0].name, "w_blocks");
  EXPECT_EQ(plan.sources[0].shape, (Shape{x.E, x.R, x.G, 16}));
  EXPECT_EQ(plan.sources[1].shape, (Shape{x.E, x.R, x.G}));
  EXPECT_LE(plan.pieces.size(), maxPieces);
  std::vector<std::vector<uint8_t>> out = runPlan(plan, {x.blocks, x.scales});
  for (size_t t = 0; t < reads.size(); ++t) {
    const Shape &s = reads[t].shape;
    for (int64_t a = 0; a < s[0]; ++a)
      for (int64_t b = 0; b < s[1]; ++b)
        for (int64_t c = 0; c < s[2]; ++c) {
          auto [e, i, r] = coordinates(t, a, b, c);
          uint16_t got;
          std::memcpy(&got, &out[t][((a * s[1] + b) * s[2] + c) * 2], 2);
          ASSERT_EQ(got, expected(x.blocks, x.scales, x.R, x.G, e, i, r))
              << "target " << t << " [" << a << ", " << b << ", " << c
              << "] = logical [" << e << ", " << i << ", " << r << "]";
        }
  }
}

using Coord = std::tuple<int64_t, int64_t, int64_t>;

} // namespace

TEST(Mxfp4, LogicalShapeSwapsTheLastTwoAxes) {
  EXPECT_EQ(mxfp4LogicalShape({32, 5760, 90, 16}), (Shape{32, 2880, 5760}));
  EXPECT_EQ(mxfp4LogicalShape({4, 3, 16}), (Shape{96, 4}));
}

TEST(Mxfp4, WholeTensorAsTransformersHoldsIt) {
  Experts x;
  const int64_t I = x.I(), R = x.R;
  // One coalesced piece of all E * I * R elements: two pieces, one a nibble.
  check(x, {{{x.E, I, R}, 0, {I * R, R, 1}}},
        [](size_t, int64_t a, int64_t b, int64_t c) { return Coord{a, b, c}; },
        2);
}

TEST(Mxfp4, TransposedBackToTheBlocksOrientation) {
  Experts x;
  const int64_t I = x.I(), R = x.R;
  // [E, R, I] as gpt-oss's own MLPBlock holds it: contiguous along I.
  check(x, {{{x.E, R, I}, 0, {I * R, 1, R}}},
        [](size_t, int64_t a, int64_t b, int64_t c) { return Coord{a, c, b}; },
        2);
}

TEST(Mxfp4, ExpertSlicesOddCutsAndStrides) {
  Experts x;
  const int64_t I = x.I(), R = x.R;
  std::vector<Read> reads = {
      // experts 1..2 (expert parallel)
      {{2, I, R}, 1 * I * R, {I * R, R, 1}},
      // inputs 3..80 of expert 0: a head, whole groups and a tail
      {{1, 77, R}, 3 * R, {I * R, R, 1}},
      // every third input from 5 (odd step: the nibble alternates, and 3
      // does not divide 32): refused below, so here every second from 5
      {{x.E, 40, R}, 5 * R, {I * R, 2 * R, 1}},
      // every 32nd input (one per group) and odd rows (gate of gpt-oss's
      // gate/up interleave lies along R)
      {{x.E, x.G, R / 2}, 7 * R + 1, {I * R, 32 * R, 2}},
  };
  check(x, reads,
        [&](size_t t, int64_t a, int64_t b, int64_t c) {
          switch (t) {
          case 0:
            return Coord{a + 1, b, c};
          case 1:
            return Coord{0, b + 3, c};
          case 2:
            return Coord{a, 5 + 2 * b, c};
          default:
            return Coord{a, 7 + 32 * b, 1 + 2 * c};
          }
        },
        40);
}

TEST(Mxfp4, UnrollsStepsItCannotSplit) {
  // Every third input (odd: the nibble alternates; 6 divides no group) and
  // rows and inputs stepped by one dimension at once: unrolled, each
  // element still its own byte, nibble and scale.
  Experts x;
  const int64_t I = x.I(), R = x.R;
  check(x,
        {{{x.E, 30, R}, 0, {I * R, 3 * R, 1}},
         {{1, 3, 2}, 0, {I * R, R + 1, 3}}},
        [&](size_t t, int64_t a, int64_t b, int64_t c) {
          return t == 0 ? Coord{a, 3 * b, c} : Coord{a, b, b + 3 * c};
        },
        1000);
}

TEST(Mxfp4, StepsOverEveryCodeAndScale) {
  // E2M1 then the run-time scale then bf16: gpt-oss's value for each of
  // the 256 bytes (both nibbles) and 256 scales (255: NaN).
  for (int s = 0; s < 256; ++s)
    for (int b = 0; b < 256; ++b)
      for (Step::Kind k : {Step::E2M1Low, Step::E2M1High}) {
        const std::vector<Step> steps = {{k, DType::U8, DType::F32},
                                         {Step::RuntimeScale, DType::U8,
                                          DType::F32},
                                         {Step::Cast, DType::F32, DType::BF16}};
        const uint64_t got = applySteps(steps, b, s);
        const int code = k == Step::E2M1Low ? (b & 15) : (b >> 4);
        const double v = kFp4Values[code] * std::ldexp(1.0, s - 127);
        if (s == 255) {
          EXPECT_EQ(got & 0x7fc0, 0x7fc0u) << "scale 255 is NaN";
          continue;
        }
        uint64_t bits;
        std::memcpy(&bits, &v, 8);
        ASSERT_EQ(got, castBits(bits, DType::F64, DType::BF16))
            << "byte " << b << " scale " << s;
      }
}
