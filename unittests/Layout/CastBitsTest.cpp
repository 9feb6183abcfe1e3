//===- CastBitsTest.cpp - the plan's soft-float against APFloat -----------===//
//
// The plan executors convert with layout::castBits / affineBits (plain C++,
// no LLVM); the reference interpreter with APFloat. They must agree on every
// value: all bit patterns of the 1-, 8- and 16-bit types into every type, and
// dense samples of the 32- and 64-bit ones. NaNs agree when both are NaN with
// the same sign (payloads may differ only where APFloat keeps more).
//
//===----------------------------------------------------------------------===//
#include "wl/Layout/DType.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/APInt.h"

#include <gtest/gtest.h>

#include <random>

using namespace wl::layout;
using llvm::APFloat;
using llvm::APInt;

namespace {

const llvm::fltSemantics &sem(DType t) {
  switch (t) {
  case DType::BF16: return APFloat::BFloat();
  case DType::F16: return APFloat::IEEEhalf();
  case DType::F32: return APFloat::IEEEsingle();
  case DType::F64: return APFloat::IEEEdouble();
  case DType::F8E4M3FN: return APFloat::Float8E4M3FN();
  default: return APFloat::Float8E5M2();
  }
}

uint64_t reference(uint64_t bits, DType from, DType to) {
  unsigned fw = dtypeBits(from), tw = dtypeBits(to);
  APInt v(fw, bits);
  if (isFloat(from)) {
    APFloat f(sem(from), v);
    bool lost;
    f.convert(sem(to), APFloat::rmNearestTiesToEven, &lost);
    return f.bitcastToAPInt().getZExtValue();
  }
  if (isFloat(to)) {
    APFloat f(sem(to));
    f.convertFromAPInt(v, isSignedInt(from), APFloat::rmNearestTiesToEven);
    return f.bitcastToAPInt().getZExtValue();
  }
  return (isSignedInt(from) ? v.sextOrTrunc(tw) : v.zextOrTrunc(tw))
      .getZExtValue();
}

std::vector<uint64_t> patterns(DType t) {
  int w = dtypeBits(t);
  std::vector<uint64_t> out;
  if (w <= 16) {
    for (uint64_t v = 0; v < (1ull << w); ++v)
      out.push_back(v);
    return out;
  }
  std::mt19937_64 rng(w);
  for (uint64_t top = 0; top < (1u << 16); ++top) {
    uint64_t low = rng();
    uint64_t v = (top << (w - 16)) | (low & ((1ull << (w - 16)) - 1));
    out.push_back(v);
    out.push_back(top << (w - 16)); // low bits zero: exact and tie cases
    out.push_back((top << (w - 16)) | (1ull << (w - 17))); // a tie below
  }
  return out;
}

bool agree(uint64_t got, uint64_t want, DType t) {
  if (got == want)
    return true;
  // Both NaN with the same sign.
  return isNaNBits(got, t) && isNaNBits(want, t) &&
         ((got >> (dtypeBits(t) - 1)) == (want >> (dtypeBits(t) - 1)));
}

TEST(CastBits, AgreesWithAPFloatOnEveryValue) {
  int64_t checked = 0;
  for (int f = 0; f < kNumDTypes; ++f)
    for (int g = 0; g < kNumDTypes; ++g) {
      DType from = DType(f), to = DType(g);
      if (isFloat(from) && !isFloat(to))
        continue;
      for (uint64_t v : patterns(from)) {
        uint64_t got = castBits(v, from, to), want = reference(v, from, to);
        ASSERT_TRUE(agree(got, want, to))
            << mlirName(from) << " -> " << mlirName(to) << " of 0x"
            << std::hex << v << ": got 0x" << got << ", APFloat 0x" << want;
        ++checked;
      }
    }
  EXPECT_GT(checked, 1000000);
}

TEST(CastBits, ExactCastsRoundTripEveryValue) {
  for (int f = 0; f < kNumDTypes; ++f)
    for (int g = 0; g < kNumDTypes; ++g) {
      DType from = DType(f), to = DType(g);
      if (isFloat(from) != isFloat(to))
        continue;
      bool exact = true;
      for (uint64_t v : patterns(from)) {
        uint64_t back = castBits(castBits(v, from, to), to, from);
        if (!agree(back, v, from)) {
          exact = false;
          break;
        }
      }
      // isExactCast promises that values survive; between integers of
      // different signedness the bits may round-trip while the value does
      // not (i8 -1 is ui8 255), so there it is only an implication.
      bool sameKind = isFloat(from) || isSignedInt(from) == isSignedInt(to);
      if (sameKind) {
        EXPECT_EQ(isExactCast(from, to), exact)
            << mlirName(from) << " -> " << mlirName(to);
      } else if (isExactCast(from, to)) {
        EXPECT_TRUE(exact) << mlirName(from) << " -> " << mlirName(to);
      }
    }
}

uint64_t referenceAffine(uint64_t bits, DType t, double scale, double offset) {
  const llvm::fltSemantics &c =
      t == DType::F64 ? APFloat::IEEEdouble() : APFloat::IEEEsingle();
  bool lost;
  APFloat x(sem(t), APInt(dtypeBits(t), bits));
  x.convert(c, APFloat::rmNearestTiesToEven, &lost);
  if (scale != 1.0) {
    APFloat s(scale);
    s.convert(c, APFloat::rmNearestTiesToEven, &lost);
    x.multiply(s, APFloat::rmNearestTiesToEven);
  }
  if (offset != 0.0) {
    APFloat o(offset);
    o.convert(c, APFloat::rmNearestTiesToEven, &lost);
    x.add(o, APFloat::rmNearestTiesToEven);
  }
  x.convert(sem(t), APFloat::rmNearestTiesToEven, &lost);
  return x.bitcastToAPInt().getZExtValue();
}

TEST(AffineBits, AgreesWithAPFloat) {
  const double params[][2] = {{1.0, -1.0}, {2.0, 0.0}, {0.1, 0.3},
                              {-1.5, 1e-3}, {1.0, 0.0}, {3.0, -0.0}};
  for (int f = 0; f < kNumDTypes; ++f) {
    DType t = DType(f);
    if (!isFloat(t))
      continue;
    for (auto [scale, offset] : params)
      for (uint64_t v : patterns(t)) {
        uint64_t got = affineBits(v, t, scale, offset);
        uint64_t want = referenceAffine(v, t, scale, offset);
        ASSERT_TRUE(agree(got, want, t))
            << mlirName(t) << " x*" << scale << "+" << offset << " of 0x"
            << std::hex << v << ": got 0x" << got << ", APFloat 0x" << want;
      }
  }
}

TEST(DTypeNames, EverySpellingParses) {
  for (int f = 0; f < kNumDTypes; ++f) {
    DType t = DType(f);
    EXPECT_EQ(parseDType(safetensorsName(t)), t);
    EXPECT_EQ(parseDType(mlirName(t)), t);
  }
  EXPECT_FALSE(parseDType("F8_E4M3FNUZ"));
}

} // namespace
