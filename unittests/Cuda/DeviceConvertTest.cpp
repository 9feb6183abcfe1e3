//===- DeviceConvertTest.cpp - the GPU's conversions equal DType.h's ------===//
//
// wl/Cuda/DeviceConvert.h is the code the CUDA kernels run (compiled
// here for the host): every bf16 and f16 value to every float type, 2^20
// samples plus special values of f32 and f64, f32 at every rounding
// boundary of bf16 and f16, integer casts, and affines on every bf16 and
// f16 value, against layout::castBits / affineBits.
//
//===----------------------------------------------------------------------===//
#include "wl/Cuda/DeviceConvert.h"

#include "wl/Layout/DType.h"

#include <gtest/gtest.h>

#include <random>

using namespace wl;
using namespace wl::runtime::cuda;
using layout::DType;

namespace {

const DType kFloats[] = {DType::BF16, DType::F16, DType::F32, DType::F64,
                         DType::F8E4M3FN};

std::vector<uint64_t> inputs(DType t) {
  std::vector<uint64_t> v;
  int bits = layout::dtypeBits(t);
  if (bits <= 16) {
    for (uint64_t i = 0; i < (1ull << bits); ++i)
      v.push_back(i);
    return v;
  }
  std::mt19937_64 rng(bits);
  uint64_t mask = bits == 64 ? ~0ull : (1ull << bits) - 1;
  for (int i = 0; i < (1 << 20); ++i) {
    uint64_t x = rng() & mask;
    v.push_back(x);
    v.push_back(x & (bits == 32 ? 0x807fffffull : 0x800fffffffffffffull)); // subnormals
  }
  // Specials: zeros, infinities, NaNs, extremes, rounding ties.
  for (uint64_t s : {0ull, 1ull << (bits - 1)})
    for (uint64_t x : {0x0ull, 0x1ull, 0x7f800000ull, 0x7f800001ull,
                       0x7fc00000ull, 0x7f7fffffull, 0x00800000ull,
                       0x3f808000ull, 0x3f818000ull, 0x477ff000ull,
                       0x47800000ull, 0x33800000ull, 0x33000001ull,
                       0x7ff0000000000000ull, 0x7ff0000000000001ull,
                       0x7fefffffffffffffull, 0x0000000000000001ull,
                       0x3ff0000010000000ull, 0x47efffffe0000000ull,
                       0x36a0000000000000ull})
      v.push_back((x & mask) | s);
  return v;
}

TEST(DeviceConvert, FloatCastsEqualDType) {
  for (DType from : kFloats)
    for (DType to : kFloats) {
      if (from == DType::F64 && to == DType::F8E4M3FN)
        continue; // not a device cast (deviceCanApply)
      int bad = 0;
      for (uint64_t x : inputs(from)) {
        uint64_t want = layout::castBits(x, from, to);
        uint64_t got = castFloatBits(x, static_cast<int32_t>(from),
                                     static_cast<int32_t>(to));
        if (got != want && ++bad <= 3)
          ADD_FAILURE() << layout::mlirName(from) << " -> "
                        << layout::mlirName(to) << ": 0x" << std::hex << x
                        << " gives 0x" << got << ", DType.h 0x" << want;
      }
      EXPECT_EQ(bad, 0);
    }
}

// f32 to bf16 and f16 at every rounding boundary: each 16-bit value's f32
// bits, the bits halfway to the next value (the exact tie within a
// binade), and their neighbours, with either sign.
TEST(DeviceConvert, F32To16BitTiesEqualDType) {
  for (DType to : {DType::BF16, DType::F16}) {
    int bad = 0, tested = 0;
    for (uint64_t h = 0; h < 0x7fff; ++h) {
      uint64_t x = layout::castBits(h, to, DType::F32);
      uint64_t next = layout::castBits(h + 1, to, DType::F32);
      if ((x & 0x7fffffff) > 0x7f800000 || (next & 0x7fffffff) > 0x7f800000)
        continue; // NaNs: covered by the samples
      uint64_t mid = (x + next) / 2;
      for (uint64_t base : {x, mid})
        for (uint64_t d : {0ull, 1ull, ~0ull})
          for (uint64_t sign : {0ull, 0x80000000ull}) {
            uint64_t v = ((base + d) & 0x7fffffff) | sign;
            ++tested;
            uint64_t want = layout::castBits(v, DType::F32, to);
            uint64_t got = castFloatBits(v, static_cast<int32_t>(DType::F32),
                                         static_cast<int32_t>(to));
            if (got != want && ++bad <= 3)
              ADD_FAILURE() << "f32 -> " << layout::mlirName(to) << ": 0x"
                            << std::hex << v << " gives 0x" << got
                            << ", DType.h 0x" << want;
          }
    }
    EXPECT_GT(tested, 300000);
    EXPECT_EQ(bad, 0);
  }
}

TEST(DeviceConvert, IntegerCastsEqualDType) {
  const DType ints[] = {DType::I8,  DType::I16, DType::I32, DType::I64,
                        DType::U8,  DType::U16, DType::U32, DType::U64};
  std::mt19937_64 rng(3);
  for (DType from : ints)
    for (DType to : ints)
      for (int i = 0; i < 4096; ++i) {
        uint64_t x = layout::maskBits(rng() >> (rng() % 64), from);
        ASSERT_EQ(castIntBits(x, static_cast<int32_t>(from),
                              static_cast<int32_t>(to)),
                  layout::castBits(x, from, to))
            << layout::mlirName(from) << " -> " << layout::mlirName(to);
      }
}

TEST(DeviceConvert, AffinesEqualDType) {
  for (DType t : kFloats)
    for (auto [scale, offset] :
         {std::pair{1.0, 1.0}, {1.0, -1.0}, {0.5, 0.25}, {3.0, 0.0}, {0.0, 1.0}}) {
      StepCode s{1, static_cast<int32_t>(t), static_cast<int32_t>(t), 0, scale,
                 offset};
      int bad = 0;
      for (uint64_t x : inputs(t)) {
        uint64_t want = layout::affineBits(x, t, scale, offset);
        uint64_t got = applyStep(s, x);
        if (got != want && ++bad <= 3)
          ADD_FAILURE() << "affine " << layout::mlirName(t) << " " << scale
                        << " " << offset << ": 0x" << std::hex << x
                        << " gives 0x" << got << ", DType.h 0x" << want;
      }
      EXPECT_EQ(bad, 0);
    }
}

} // namespace

// MXFP4's steps (e2m1 of either nibble, the run-time scale read as e8m0 or
// F32, on bf16, f16, f32, f64) as the device applies them, against
// layout::applySteps: every byte with every e8m0 scale, and F32 scales
// with NaN, infinity and subnormals among them.
TEST(DeviceConvert, RuntimeScaledStepsEqualApplySteps) {
  const DType floats[] = {DType::BF16, DType::F16, DType::F32, DType::F64};
  std::vector<uint64_t> f32Scales = {0x3f800000u, 0x00400000u, 0x7f800000u,
                                     0x7fc00000u, 0xff800001u, 0x80000001u,
                                     0x3e000000u, 0xc2f60000u};
  for (DType to : floats)
    for (int k : {2, 3}) {
      const layout::Step::Kind kind =
          k == 2 ? layout::Step::E2M1Low : layout::Step::E2M1High;
      for (DType how : {DType::U8, DType::F32}) {
        const std::vector<layout::Step> steps = {
            {kind, DType::U8, to}, {layout::Step::RuntimeScale, how, to}};
        const StepCode codes[2] = {
            {k, code(DType::U8), code(to), 0, 1.0, 0.0},
            {4, code(how), code(to), 0, 1.0, 0.0}};
        std::vector<uint64_t> scales;
        if (how == DType::U8)
          for (uint64_t s = 0; s < 256; ++s)
            scales.push_back(s);
        else
          scales = f32Scales;
        for (uint64_t g : scales)
          for (uint64_t b = 0; b < 256; ++b) {
            const uint64_t got =
                applyStep(codes[1], applyStep(codes[0], b, g), g);
            ASSERT_EQ(got, layout::applySteps(steps, b, g))
                << layout::mlirName(to) << " nibble " << k << " byte " << b
                << " scale 0x" << std::hex << g;
          }
      }
    }
}
