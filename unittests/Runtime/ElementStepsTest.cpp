//===- ElementStepsTest.cpp - fast conversions equal DType.h's ------------===//
//
// The runtime's fast paths (bf16 <-> f32, affine on bf16 and f32) and its
// generic path must give exactly layout::applySteps's bits: every bf16
// value, every f16 value, and 2^22 samples plus the special values of f32,
// over strided runs.
//
//===----------------------------------------------------------------------===//
#include "wl/Runtime/ElementSteps.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

using namespace wl;
using layout::DType;
using layout::Step;

namespace {

/// Runs `steps` over `in` (elements of `from`, stride 2 on the input side,
/// stride 3 on the output side) and compares with applySteps.
void expectSame(const std::vector<Step> &steps, DType from, DType to,
                const std::vector<uint64_t> &in, const char *what) {
  int es = layout::dtypeSize(from), et = layout::dtypeSize(to);
  std::vector<uint8_t> src(in.size() * 2 * es), dst(in.size() * 3 * et);
  for (size_t i = 0; i < in.size(); ++i)
    std::memcpy(&src[i * 2 * es], &in[i], es);
  runtime::StepRunner(steps, from, to)(src.data(), 2, dst.data(), 3,
                                       static_cast<int64_t>(in.size()));
  uint64_t mask = et == 8 ? ~0ull : (1ull << (8 * et)) - 1;
  int bad = 0;
  for (size_t i = 0; i < in.size() && bad < 5; ++i) {
    uint64_t got = 0;
    std::memcpy(&got, &dst[i * 3 * et], et);
    uint64_t want = layout::applySteps(steps, in[i]) & mask;
    if (got != want) {
      ++bad;
      ADD_FAILURE() << what << ": input 0x" << std::hex << in[i] << " gives 0x"
                    << got << ", DType.h gives 0x" << want;
    }
  }
}

std::vector<uint64_t> every16() {
  std::vector<uint64_t> v(65536);
  for (uint64_t i = 0; i < v.size(); ++i)
    v[i] = i;
  return v;
}

std::vector<uint64_t> samples32() {
  std::vector<uint64_t> v;
  std::mt19937_64 rng(42);
  for (int i = 0; i < (1 << 22); ++i)
    v.push_back(rng() & 0xffffffffu);
  for (uint32_t s : {0u, 0x80000000u})
    for (uint32_t x :
         {0x0u, 0x1u, 0x7fffffu, 0x800000u, 0x7f7fffffu, 0x7f800000u,
          0x7f800001u, 0x7fc00000u, 0x7fffffffu, 0x3f808000u, 0x3f818000u,
          0x3f80ffffu, 0x7f7f8000u, 0x00008000u, 0x00018000u})
      v.push_back(s | x);
  return v;
}

Step cast(DType from, DType to) { return {Step::Cast, from, to, 1.0, 0.0}; }
Step affine(DType t, double scale, double offset) {
  return {Step::Affine, t, t, scale, offset};
}

TEST(ElementSteps, CastsEqualDTypeOnEveryValue) {
  expectSame({cast(DType::BF16, DType::F32)}, DType::BF16, DType::F32,
             every16(), "bf16 -> f32");
  expectSame({cast(DType::F16, DType::F32)}, DType::F16, DType::F32, every16(),
             "f16 -> f32");
  expectSame({cast(DType::BF16, DType::F16)}, DType::BF16, DType::F16,
             every16(), "bf16 -> f16");
  expectSame({cast(DType::F32, DType::BF16)}, DType::F32, DType::BF16,
             samples32(), "f32 -> bf16");
  expectSame({cast(DType::F32, DType::F16)}, DType::F32, DType::F16,
             samples32(), "f32 -> f16");
  // Block FP8: e4m3 out of f32 (quantizing), every e4m3 into the floats.
  std::vector<uint64_t> f32s = samples32();
  for (uint32_t x = 0; x < 0x44000000u; x += 0x1000u) // every 3-bit rounding
    for (uint32_t d : {0u, 0x7ffffu, 0x80000u, 0x80001u, 0xfffffu})
      f32s.push_back(x + d), f32s.push_back(0x80000000u | (x + d));
  expectSame({cast(DType::F32, DType::F8E4M3FN)}, DType::F32, DType::F8E4M3FN,
             f32s, "f32 -> e4m3");
  std::vector<uint64_t> bytes(256);
  for (uint64_t i = 0; i < 256; ++i)
    bytes[i] = i;
  for (DType t : {DType::BF16, DType::F16, DType::F32, DType::F64}) {
    expectSame({cast(DType::F8E4M3FN, t)}, DType::F8E4M3FN, t, bytes,
               "e4m3 -> float");
    expectSame({cast(DType::F8E5M2, t)}, DType::F8E5M2, t, bytes,
               "e5m2 -> float");
  }
  expectSame({cast(DType::I16, DType::I64)}, DType::I16, DType::I64, every16(),
             "i16 -> i64");
  expectSame({cast(DType::BF16, DType::F32), cast(DType::F32, DType::BF16)},
             DType::BF16, DType::BF16, every16(), "bf16 -> f32 -> bf16");
}

TEST(ElementSteps, AffinesEqualDTypeOnEveryValue) {
  for (auto [s, o] : {std::pair{1.0, 1.0},
                      {1.0, -1.0},
                      {2.0, 0.0},
                      {0.5, 0.5},
                      {1.0 / 3, 0.1},
                      {-1.0, 0.0}}) {
    expectSame({affine(DType::BF16, s, o)}, DType::BF16, DType::BF16, every16(),
               "affine bf16");
    expectSame({affine(DType::F16, s, o)}, DType::F16, DType::F16, every16(),
               "affine f16");
    expectSame({affine(DType::F32, s, o)}, DType::F32, DType::F32, samples32(),
               "affine f32");
    // The way FastDeploy's 1 + w and Megatron's w - 1 are built: cast, affine.
    expectSame({cast(DType::BF16, DType::F32), affine(DType::F32, s, o)},
               DType::BF16, DType::F32, every16(), "bf16 -> f32, affine");
  }
}

// Block FP8's step lists, which the runner runs in one loop each.
TEST(ElementSteps, BlockFp8StepsEqualDType) {
  std::vector<uint64_t> bytes(256);
  for (uint64_t i = 0; i < 256; ++i)
    bytes[i] = i;
  std::vector<uint64_t> f32s = samples32();
  for (double s : {1.0, 0.0078125, 3.0517578125e-05, 1.2345678806304932,
                   448.0 / 3.0, 1e-30}) {
    double sf = static_cast<double>(static_cast<float>(s));
    for (DType t : {DType::BF16, DType::F32})
      expectSame({cast(DType::F8E4M3FN, t), affine(t, sf, 0.0)},
                 DType::F8E4M3FN, t, bytes, "dequantize");
    expectSame({cast(DType::BF16, DType::F32), affine(DType::F32, sf, 0.0),
                cast(DType::F32, DType::F8E4M3FN)},
               DType::BF16, DType::F8E4M3FN, every16(), "quantize bf16");
    expectSame({affine(DType::F32, sf, 0.0), cast(DType::F32, DType::F8E4M3FN)},
               DType::F32, DType::F8E4M3FN, f32s, "quantize f32");
  }
}

// MXFP4's step list with run-time e8m0 scales (the fused loop, scales
// shared by a run and one a element) and another list (element by
// element) against applySteps: every byte with every scale.
TEST(ElementSteps, RuntimeScaledStepsEqualApplySteps) {
  std::vector<uint8_t> src(256 * 2), scales(256);
  for (int i = 0; i < 256; ++i) {
    src[i * 2] = static_cast<uint8_t>(i);
    scales[i] = static_cast<uint8_t>(i);
  }
  auto runWith = [&](const std::vector<Step> &steps, DType to) {
    const int et = layout::dtypeSize(to);
    runtime::ScaledStepRunner run(steps, DType::U8, to);
    std::vector<uint8_t> dst(256 * 3 * et);
    for (int g = 0; g < 256; ++g) { // one scale for the run
      run(src.data(), 2, scales.data(), g, 0, dst.data(), 3, 256);
      for (int i = 0; i < 256; ++i) {
        uint64_t got = 0;
        std::memcpy(&got, &dst[i * 3 * et], et);
        ASSERT_EQ(got, layout::applySteps(steps, i, g))
            << "byte " << i << " scale " << g;
      }
    }
    run(src.data(), 2, scales.data(), 0, 1, dst.data(), 3, 256); // a scale each
    for (int i = 0; i < 256; ++i) {
      uint64_t got = 0;
      std::memcpy(&got, &dst[i * 3 * et], et);
      ASSERT_EQ(got, layout::applySteps(steps, i, i)) << "byte and scale " << i;
    }
  };
  const Step scale{Step::RuntimeScale, DType::U8, DType::F32};
  for (Step::Kind k : {Step::E2M1Low, Step::E2M1High}) {
    const Step decode{k, DType::U8, DType::F32};
    runWith({decode, scale, cast(DType::F32, DType::BF16)}, DType::BF16);
    runWith({decode, scale, cast(DType::F32, DType::F32)}, DType::F32);
    runWith({decode, scale, cast(DType::F32, DType::BF16),
             cast(DType::BF16, DType::F16)},
            DType::F16);
  }
}

// Block FP8 with run-time F32 scales (the fused loop) against applySteps:
// every e4m3 code with scales of every kind (a run sharing one, one each).
TEST(ElementSteps, RuntimeScaledFp8EqualsApplySteps) {
  const std::vector<float> ks = {1.0f, 0.0078125f, 3.0517578e-05f, 1.2345679f,
                                 149.33333f, 1e-30f, 6.1e-5f, 2.5e-41f};
  std::vector<uint8_t> src(256 * 3), scales(256 * 4);
  for (int i = 0; i < 256; ++i) {
    src[i * 3] = static_cast<uint8_t>(i);
    const float k = ks[i % ks.size()];
    std::memcpy(&scales[i * 4], &k, 4);
  }
  for (DType to : {DType::BF16, DType::F32}) {
    std::vector<Step> steps = {cast(DType::F8E4M3FN, DType::F32),
                               {Step::RuntimeScale, DType::F32, DType::F32}};
    if (to == DType::BF16)
      steps.push_back(cast(DType::F32, DType::BF16));
    const int et = layout::dtypeSize(to);
    runtime::ScaledStepRunner run(steps, DType::F8E4M3FN, to);
    std::vector<uint8_t> dst(256 * 2 * et);
    for (int64_t stride : {0, 1}) {
      for (int g = 0; g < (stride ? 1 : 8); ++g) {
        run(src.data(), 3, scales.data(), g, stride, dst.data(), 2, 256);
        for (int i = 0; i < 256; ++i) {
          uint64_t got = 0, k = 0;
          std::memcpy(&got, &dst[i * 2 * et], et);
          std::memcpy(&k, &scales[(g + i * stride) * 4], 4);
          ASSERT_EQ(got, layout::applySteps(steps, i, k))
              << "code " << i << " scale index " << g + i * stride;
        }
      }
    }
  }
}

TEST(ElementSteps, F32ToBF16RoundsToNearestEven) {
  EXPECT_EQ(runtime::f32ToBF16(0x3f808000u), 0x3f80u); // tie, even stays
  EXPECT_EQ(runtime::f32ToBF16(0x3f818000u), 0x3f82u); // tie, odd rounds up
  EXPECT_EQ(runtime::f32ToBF16(0x3f80ffffu), 0x3f81u);
  EXPECT_EQ(runtime::f32ToBF16(0x7f7fffffu), 0x7f80u); // overflows to inf
  EXPECT_EQ(runtime::f32ToBF16(0x7f800001u), 0x7fc0u); // sNaN made quiet
  EXPECT_EQ(runtime::bf16ToF32(0x7f81u), 0x7fc10000u);
}

} // namespace
