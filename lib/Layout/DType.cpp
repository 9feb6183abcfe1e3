//===- DType.cpp - element types and their conversions --------------------===//
//
// A small software float: every supported value is sign * mag * 2^exp with
// mag < 2^64, and one routine rounds such a value into any float format. This
// is deliberately independent of LLVM's APFloat so that the reference
// interpreter (APFloat) and the plan executors (this file) check each other.
//
//===----------------------------------------------------------------------===//
#include "wl/Layout/DType.h"

#include <cassert>
#include <cmath>
#include <cstring>

namespace wl::layout {

namespace {

struct FloatFormat {
  int expBits;
  int manBits;
  bool nanOnly; // F8E4M3FN: no infinities, NaN is only all-ones.
  int bias() const { return (1 << (expBits - 1)) - 1; }
  int expFieldMax() const { return (1 << expBits) - 1; }
};

FloatFormat formatOf(DType t) {
  switch (t) {
  case DType::BF16: return {8, 7, false};
  case DType::F16: return {5, 10, false};
  case DType::F32: return {8, 23, false};
  case DType::F64: return {11, 52, false};
  case DType::F8E4M3FN: return {4, 3, true};
  case DType::F8E5M2: return {5, 2, false};
  default: break;
  }
  assert(false && "not a float type");
  return {0, 0, false};
}

uint64_t lowMask(int bits) { return bits >= 64 ? ~0ull : ((1ull << bits) - 1); }

/// An exactly decoded float: NaN, infinity, or (-1)^neg * mag * 2^exp.
struct Decoded {
  enum Kind { Finite, Inf, NaN } kind = Finite;
  bool neg = false;
  uint64_t mag = 0;
  int exp = 0;
  uint64_t payload = 0; // NaN mantissa bits
};

Decoded decodeFloat(uint64_t bits, FloatFormat f) {
  Decoded d;
  int total = 1 + f.expBits + f.manBits;
  d.neg = (bits >> (total - 1)) & 1;
  uint64_t e = (bits >> f.manBits) & lowMask(f.expBits);
  uint64_t m = bits & lowMask(f.manBits);
  if (f.nanOnly) {
    if ((int64_t)e == f.expFieldMax() && m == lowMask(f.manBits)) {
      d.kind = Decoded::NaN;
      d.payload = m;
      return d;
    }
  } else if ((int64_t)e == f.expFieldMax()) {
    d.kind = m ? Decoded::NaN : Decoded::Inf;
    d.payload = m;
    return d;
  }
  if (e == 0) {
    d.mag = m;
    d.exp = 1 - f.bias() - f.manBits;
  } else {
    d.mag = m | (1ull << f.manBits);
    d.exp = (int)e - f.bias() - f.manBits;
  }
  return d;
}

uint64_t signBit(FloatFormat f) { return 1ull << (f.expBits + f.manBits); }

uint64_t infBits(bool neg, FloatFormat f) {
  uint64_t s = neg ? signBit(f) : 0;
  if (f.nanOnly) // overflow in a format without infinity is NaN
    return s | lowMask(f.expBits + f.manBits);
  return s | ((uint64_t)f.expFieldMax() << f.manBits);
}

int bitLength(uint64_t v) { return v ? 64 - __builtin_clzll(v) : 0; }

/// Rounds (-1)^neg * mag * 2^exp to nearest even in format f.
uint64_t roundToFormat(bool neg, uint64_t mag, int exp, FloatFormat f) {
  uint64_t s = neg ? signBit(f) : 0;
  if (mag == 0)
    return s;
  int emin = 1 - f.bias();
  int top = bitLength(mag) - 1 + exp; // unbiased exponent of the leading bit
  int emaxField = f.nanOnly ? f.expFieldMax() : f.expFieldMax() - 1;
  int emax = emaxField - f.bias();
  if (top > emax + 1)
    return infBits(neg, f);
  // The quantum (value of one unit in the last place) at this magnitude.
  int qexp = (top < emin ? emin : top) - f.manBits;
  int shift = exp - qexp; // q = mag * 2^shift
  uint64_t q;
  if (shift >= 0) {
    q = mag << shift; // top <= emax + 1 keeps this below 2^(manBits + 2)
  } else {
    int rs = -shift;
    if (rs > 64) {
      q = 0;
    } else if (rs == 64) {
      uint64_t half = 1ull << 63;
      q = mag > half ? 1 : 0;
    } else {
      q = mag >> rs;
      uint64_t rem = mag & lowMask(rs);
      uint64_t half = 1ull << (rs - 1);
      if (rem > half || (rem == half && (q & 1)))
        ++q;
    }
  }
  int e = top < emin ? emin : top;
  if (q >> (f.manBits + 1)) { // rounding carried into a new binade
    q >>= 1;
    ++e;
  }
  uint64_t expField, man;
  if (q >> f.manBits) {
    expField = (uint64_t)(e + f.bias());
    man = q & lowMask(f.manBits);
  } else {
    expField = 0; // subnormal (or zero)
    man = q;
  }
  if ((int64_t)expField > emaxField ||
      (f.nanOnly && (int64_t)expField == emaxField && man == lowMask(f.manBits)))
    return infBits(neg, f);
  return s | (expField << f.manBits) | man;
}

uint64_t nanBits(bool neg, uint64_t payload, int fromManBits, FloatFormat f) {
  uint64_t s = neg ? signBit(f) : 0;
  if (f.nanOnly)
    return s | lowMask(f.expBits + f.manBits);
  uint64_t m;
  if (fromManBits < 0) {
    m = 0;
  } else if (f.manBits >= fromManBits) {
    m = payload << (f.manBits - fromManBits);
  } else {
    m = payload >> (fromManBits - f.manBits);
  }
  m |= 1ull << (f.manBits - 1); // quiet
  return s | ((uint64_t)f.expFieldMax() << f.manBits) | (m & lowMask(f.manBits));
}

uint64_t encodeDouble(double v, FloatFormat f) {
  uint64_t b;
  std::memcpy(&b, &v, 8);
  return b;
}

} // namespace

int dtypeSize(DType t) {
  switch (t) {
  case DType::F8E4M3FN: case DType::F8E5M2: case DType::Bool:
  case DType::I8: case DType::U8:
    return 1;
  case DType::BF16: case DType::F16: case DType::I16: case DType::U16:
    return 2;
  case DType::F32: case DType::I32: case DType::U32:
    return 4;
  case DType::F64: case DType::I64: case DType::U64:
    return 8;
  }
  return 0;
}

int dtypeBits(DType t) { return t == DType::Bool ? 1 : 8 * dtypeSize(t); }

bool isFloat(DType t) { return t <= DType::F8E5M2; }

bool isSignedInt(DType t) {
  return t == DType::I8 || t == DType::I16 || t == DType::I32 || t == DType::I64;
}

namespace {
struct Names {
  DType t;
  const char *st;
  const char *mlir;
};
constexpr Names kNames[kNumDTypes] = {
    {DType::BF16, "BF16", "bf16"},        {DType::F16, "F16", "f16"},
    {DType::F32, "F32", "f32"},           {DType::F64, "F64", "f64"},
    {DType::F8E4M3FN, "F8_E4M3", "f8E4M3FN"},
    {DType::F8E5M2, "F8_E5M2", "f8E5M2"}, {DType::Bool, "BOOL", "i1"},
    {DType::I8, "I8", "i8"},              {DType::I16, "I16", "i16"},
    {DType::I32, "I32", "i32"},           {DType::I64, "I64", "i64"},
    {DType::U8, "U8", "ui8"},             {DType::U16, "U16", "ui16"},
    {DType::U32, "U32", "ui32"},          {DType::U64, "U64", "ui64"},
};
} // namespace

std::string_view safetensorsName(DType t) { return kNames[(int)t].st; }
std::string_view mlirName(DType t) { return kNames[(int)t].mlir; }

std::optional<DType> parseDType(std::string_view name) {
  for (const Names &n : kNames)
    if (name == n.st || name == n.mlir)
      return n.t;
  return std::nullopt;
}

uint64_t maskBits(uint64_t bits, DType t) { return bits & lowMask(dtypeBits(t)); }

int64_t int64FromBits(uint64_t bits, DType t) {
  int n = dtypeBits(t);
  bits = maskBits(bits, t);
  if (isSignedInt(t) && n < 64 && ((bits >> (n - 1)) & 1))
    bits |= ~lowMask(n);
  return (int64_t)bits;
}

bool isNaNBits(uint64_t bits, DType t) {
  if (!isFloat(t))
    return false;
  return decodeFloat(maskBits(bits, t), formatOf(t)).kind == Decoded::NaN;
}

uint64_t castBits(uint64_t bits, DType from, DType to) {
  bits = maskBits(bits, from);
  if (from == to)
    return bits;
  if (!isFloat(to)) {
    assert(!isFloat(from) && "float to integer is not a cast");
    if (isSignedInt(from))
      return maskBits((uint64_t)int64FromBits(bits, from), to);
    return maskBits(bits, to);
  }
  FloatFormat f = formatOf(to);
  if (!isFloat(from)) {
    int64_t v = int64FromBits(bits, from);
    if (isSignedInt(from) && v < 0)
      return roundToFormat(true, 0 - (uint64_t)v, 0, f);
    return roundToFormat(false, bits, 0, f);
  }
  FloatFormat g = formatOf(from);
  Decoded d = decodeFloat(bits, g);
  if (d.kind == Decoded::NaN)
    return nanBits(d.neg, d.payload, g.nanOnly ? -1 : g.manBits, f);
  if (d.kind == Decoded::Inf)
    return f.nanOnly ? infBits(d.neg, f)
                     : (d.neg ? signBit(f) : 0) |
                           ((uint64_t)f.expFieldMax() << f.manBits);
  return roundToFormat(d.neg, d.mag, d.exp, f);
}

bool isExactCast(DType from, DType to) {
  if (from == to)
    return true;
  if (isFloat(from)) {
    if (!isFloat(to))
      return false;
    FloatFormat a = formatOf(from), b = formatOf(to);
    // Every finite value, infinities (where `from` has them) and NaN survive.
    int aMax = (a.nanOnly ? a.expFieldMax() : a.expFieldMax() - 1) - a.bias();
    int bMax = (b.nanOnly ? b.expFieldMax() : b.expFieldMax() - 1) - b.bias();
    int aMin = 1 - a.bias() - a.manBits; // smallest subnormal exponent
    int bMin = 1 - b.bias() - b.manBits;
    bool infOk = a.nanOnly || !b.nanOnly;
    return b.manBits >= a.manBits && bMax >= aMax && bMin <= aMin && infOk;
  }
  int fb = dtypeBits(from);
  bool fs = isSignedInt(from);
  if (isFloat(to)) {
    // Integers up to 2^(manBits+1) are exact; the range must fit too.
    int need = fs ? fb - 1 : fb;
    FloatFormat b = formatOf(to);
    return need <= b.manBits + 1;
  }
  int tb = dtypeBits(to);
  bool ts = isSignedInt(to);
  if (fs == ts)
    return tb >= fb;
  if (!fs && ts)
    return tb > fb;
  return false; // signed to unsigned loses negatives
}

uint64_t affineBits(uint64_t bits, DType t, double scale, double offset) {
  assert(isFloat(t));
  if (t == DType::F64) {
    double x;
    uint64_t b = maskBits(bits, t);
    std::memcpy(&x, &b, 8);
    if (scale != 1.0)
      x = x * scale;
    if (offset != 0.0)
      x = x + offset;
    std::memcpy(&b, &x, 8);
    return b;
  }
  uint64_t wide = castBits(bits, t, DType::F32);
  float x;
  uint32_t w = (uint32_t)wide;
  std::memcpy(&x, &w, 4);
  // Volatile keeps the compiler from fusing the two steps into an FMA.
  volatile float v = x;
  if (scale != 1.0)
    v = v * (float)scale;
  if (offset != 0.0)
    v = v + (float)offset;
  float r = v;
  std::memcpy(&w, &r, 4);
  return castBits(w, DType::F32, t);
}

uint64_t bitsFromDouble(double value, DType t) {
  if (!isFloat(t))
    return maskBits((uint64_t)(int64_t)value, t);
  return castBits(encodeDouble(value, formatOf(DType::F64)), DType::F64, t);
}

double doubleFromBits(uint64_t bits, DType t) {
  uint64_t b = castBits(bits, t, DType::F64);
  double d;
  std::memcpy(&d, &b, 8);
  return d;
}

} // namespace wl::layout
