//===- ElementTypesTest.cpp - isExactConversion against APFloat -----------===//
//
// wl.cast chains fold when the first cast is exact. The predicate is checked
// here against LLVM's own conversions: over every value of the 1-, 8- and
// 16-bit types, and over dense samples of the 32- and 64-bit ones.
//
//===----------------------------------------------------------------------===//
#include "wl/IR/ElementTypes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/APSInt.h"

#include <gtest/gtest.h>

using namespace mlir;
using llvm::APFloat;
using llvm::APInt;

namespace {

bool isUnsignedInt(IntegerType t) { return t.isUnsigned() || t.getWidth() == 1; }

/// The bit patterns to try for a type of `width` bits: all of them up to 16
/// bits; for wider types every pattern of the top 16 bits combined with a few
/// low patterns (zero, one, all ones, alternating).
std::vector<APInt> patterns(unsigned width) {
  std::vector<APInt> out;
  if (width <= 16) {
    for (uint64_t v = 0; v < (uint64_t(1) << width); ++v)
      out.emplace_back(width, v);
    return out;
  }
  uint64_t lows[] = {0, 1, ~uint64_t(0), 0x5555555555555555ull};
  for (uint64_t top = 0; top < (1u << 16); ++top)
    for (uint64_t low : lows) {
      APInt v = APInt(width, low) & APInt::getLowBitsSet(width, width - 16);
      v |= APInt(width, top).shl(width - 16);
      out.push_back(v);
    }
  return out;
}

/// True when the value with bits `bits` of `from` survives conversion to
/// `to`, by LLVM's APFloat/APInt conversions (NaN staying NaN counts).
bool survives(Type from, Type to, const APInt &bits) {
  if (auto fi = llvm::dyn_cast<IntegerType>(from)) {
    llvm::APSInt value(bits, isUnsignedInt(fi));
    if (auto ti = llvm::dyn_cast<IntegerType>(to)) {
      llvm::APSInt converted = value.extOrTrunc(ti.getWidth());
      converted.setIsUnsigned(isUnsignedInt(ti));
      return llvm::APSInt::isSameValue(value, converted);
    }
    auto tf = llvm::cast<FloatType>(to);
    APFloat f(tf.getFloatSemantics());
    return f.convertFromAPInt(bits, !isUnsignedInt(fi),
                              APFloat::rmNearestTiesToEven) == APFloat::opOK;
  }
  auto ff = llvm::cast<FloatType>(from);
  auto tf = llvm::cast<FloatType>(to);
  APFloat value(ff.getFloatSemantics(), bits);
  APFloat converted = value;
  bool losesInfo = false;
  converted.convert(tf.getFloatSemantics(), APFloat::rmNearestTiesToEven,
                    &losesInfo);
  if (value.isNaN())
    return converted.isNaN();
  // Back to the source type: the same bits (so also the sign of zero).
  APFloat back = converted;
  bool backLoses = false;
  back.convert(ff.getFloatSemantics(), APFloat::rmNearestTiesToEven,
               &backLoses);
  return !losesInfo && !backLoses &&
         back.bitcastToAPInt() == value.bitcastToAPInt();
}

TEST(ElementTypes, ExactConversionAgreesWithLLVMOnEveryValue) {
  MLIRContext context;
  Builder b(&context);
  std::vector<Type> types = {
      b.getBF16Type(),     b.getF16Type(),         b.getF32Type(),
      b.getF64Type(),      b.getFloat8E4M3FNType(), b.getFloat8E5M2Type(),
      b.getI1Type(),       b.getI8Type(),          b.getI16Type(),
      b.getI32Type(),      b.getI64Type(),         b.getIntegerType(8, false),
      b.getIntegerType(16, false), b.getIntegerType(32, false),
      b.getIntegerType(64, false)};
  int exactPairs = 0;
  for (Type from : types)
    for (Type to : types) {
      if (llvm::isa<FloatType>(from) && llvm::isa<IntegerType>(to)) {
        EXPECT_FALSE(wl::isExactConversion(from, to));
        continue;
      }
      bool allSurvive = true;
      for (const APInt &bits : patterns(from.getIntOrFloatBitWidth()))
        if (!survives(from, to, bits)) {
          allSurvive = false;
          break;
        }
      std::string msg;
      llvm::raw_string_ostream os(msg);
      os << from << " -> " << to;
      EXPECT_EQ(wl::isExactConversion(from, to), allSurvive) << os.str();
      exactPairs += allSurvive;
    }
  // Same-type pairs, integer widenings, the float widenings: a fair number.
  EXPECT_GT(exactPairs, 40);
}

TEST(ElementTypes, EveryDTypeHasOneElementTypeAndBack) {
  MLIRContext context;
  Builder b(&context);
  for (int i = 0; i < wl::layout::kNumDTypes; ++i) {
    auto t = static_cast<wl::layout::DType>(i);
    Type et = wl::elementTypeOf(&context, t);
    ASSERT_TRUE(et) << wl::layout::mlirName(t);
    EXPECT_EQ(wl::toDType(et), t) << wl::layout::mlirName(t);
    // The spelling a spec writes names the same type; printing it gives it.
    EXPECT_EQ(wl::elementTypeNamed(&context, wl::layout::mlirName(t)), et);
    std::string printed;
    llvm::raw_string_ostream os(printed);
    os << et;
    EXPECT_EQ(os.str(), wl::layout::mlirName(t));
    // The safetensors spelling is not a spec's.
    if (wl::layout::safetensorsName(t) != wl::layout::mlirName(t)) {
      EXPECT_FALSE(wl::elementTypeNamed(&context,
                                        wl::layout::safetensorsName(t)));
    }
  }
  // Types wl does not support have no DType.
  for (Type t : {Type(b.getIntegerType(32, true)), Type(b.getIntegerType(4)),
                 Type(b.getFloat8E4M3FNUZType()), Type(b.getIndexType())})
    EXPECT_FALSE(wl::toDType(t));
  EXPECT_FALSE(wl::elementTypeNamed(&context, "si32"));
  EXPECT_FALSE(wl::elementTypeNamed(&context, ""));
}

} // namespace
