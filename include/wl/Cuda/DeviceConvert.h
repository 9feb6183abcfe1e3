//===- DeviceConvert.h - element conversions for host and device -*- C++ -*-===//
//
// The casts and affines of wl.cast / wl.affine (wl/Layout/DType.h defines
// them) written once for both the CUDA kernels and the host, with no
// library call and no intrinsic, so that the host unit test that compares
// them with layout::castBits on every 16-bit value checks the code the GPU
// runs (the kernels' hardware f16 <-> f32, f32 -> bf16 and f32 -> e4m3 casts are the
// exception: checkCastFastPaths compares them with this code on the device
// on every input). Floats: bf16, f16, f32, f64 (round to nearest even, overflow to
// infinity, NaN kept quiet with its sign and leading payload) and e4m3fn
// (block FP8; overflow to NaN, no f64 -> e4m3); integers:
// truncation and sign/zero extension. Pre: deviceCanApply(steps).
//
//===----------------------------------------------------------------------===//
#ifndef WL_RUNTIME_DEVICECONVERT_H
#define WL_RUNTIME_DEVICECONVERT_H

#include "wl/Cuda/CudaTasks.h"
#include "wl/Cuda/HostDevice.h"
#include "wl/Layout/BlockCodes.h"
#include "wl/Layout/DType.h"

#include <cstdint>


namespace wl::runtime::cuda {

// The layout::DType values that tasks carry (as int32_t), under short names.
// isDeviceFloat and isDeviceInt rely on the enum's order: the floats BF16 to
// F64 first, the integers I8 to U64 last (checked below).
constexpr int32_t code(layout::DType t) { return static_cast<int32_t>(t); }
enum : int32_t {
  kBF16 = code(layout::DType::BF16), kF16 = code(layout::DType::F16),
  kF32 = code(layout::DType::F32), kF64 = code(layout::DType::F64),
  kF8E4M3 = code(layout::DType::F8E4M3FN),
  kI8 = code(layout::DType::I8), kI16 = code(layout::DType::I16),
  kI32 = code(layout::DType::I32), kI64 = code(layout::DType::I64),
  kU8 = code(layout::DType::U8), kU16 = code(layout::DType::U16),
  kU32 = code(layout::DType::U32), kU64 = code(layout::DType::U64)
};
static_assert(kF16 == kBF16 + 1 && kF32 == kF16 + 1 && kF64 == kF32 + 1 &&
                  kI16 == kI8 + 1 && kI32 == kI16 + 1 && kI64 == kI32 + 1 &&
                  kU8 == kI64 + 1 && kU16 == kU8 + 1 && kU32 == kU16 + 1 &&
                  kU64 == kU32 + 1,
              "isDeviceFloat and isDeviceInt need these DTypes in this order");

WL_HD bool isDeviceFloat(int32_t t) {
  return (t >= kBF16 && t <= kF64) || t == kF8E4M3;
}
WL_HD bool isDeviceInt(int32_t t) { return t >= kI8 && t <= kU64; }
WL_HD int deviceTypeBits(int32_t t) {
  switch (t) {
  case kBF16: case kF16: case kI16: case kU16: return 16;
  case kF32: case kI32: case kU32: return 32;
  case kF64: case kI64: case kU64: return 64;
  default: return 8;
  }
}
WL_HD int mantissaBits(int32_t t) {
  return t == kBF16 ? 7 : t == kF16 ? 10 : t == kF32 ? 23 : 52;
}
WL_HD int exponentBits(int32_t t) {
  return t == kBF16 ? 8 : t == kF16 ? 5 : t == kF32 ? 8 : 11;
}

/// The index of the highest set bit of s (s != 0).
WL_HD int highestBit(uint64_t s) {
#ifdef __CUDA_ARCH__
  return 63 - __clzll(static_cast<long long>(s));
#else
  return 63 - __builtin_clzll(s);
#endif
}

/// e4m3fn bits to f32 bits (exact; the NaN codes give the quiet NaN of
/// their sign, as layout::castBits does).
WL_HD uint32_t e4m3ToF32Bits(uint32_t b) {
  const uint32_t sign = (b & 0x80u) << 24, a = b & 0x7fu;
  if (a == 0x7fu)
    return sign | 0x7fc00000u;
  const uint32_t e = a >> 3, m = a & 7u;
  if (e != 0)
    return sign | (e + 120u) << 23 | m << 20;
  if (m == 0)
    return sign;
  const int p = highestBit(m); // m * 2^-9 = 1.f * 2^(p - 9)
  return sign | static_cast<uint32_t>(p + 118) << 23 |
         ((m << (23 - p)) & 0x7fffffu);
}

/// f32 bits to e4m3fn bits as layout::castBits rounds them: to nearest
/// even; a magnitude above 464 (the tie between 448 and the step past it)
/// and NaN become NaN (0x7f with the sign): the format has no infinity.
/// Quantizing to block FP8 goes through here on the host and the device.
WL_HD uint32_t f32ToE4M3Bits(uint32_t bits) {
  const uint32_t sign = (bits >> 24) & 0x80u, a = bits & 0x7fffffffu;
  if (a > 0x43e80000u) // above 464, infinite or NaN
    return sign | 0x7fu;
  if (a >= 0x3c800000u) { // 2^-6 and up: round the mantissa to 3 bits
    const uint32_t r = a + 0x7ffffu + ((a >> 20) & 1u);
    return sign | (((r >> 20) - (120u << 3)) & 0x7fu);
  }
  // A subnormal of e4m3: x * 2^9 rounded to an integer (8 is the least
  // normal), from the f32 significand s: x * 2^9 = s * 2^(e - 141).
  const uint32_t e = a >> 23;
  if (e < 117) // below 2^-10, half the least subnormal (or a tie at 0)
    return sign;
  const uint32_t s = (a & 0x7fffffu) | 0x800000u, shift = 141 - e;
  const uint32_t q = s >> shift, rest = s & ((1u << shift) - 1),
                 half = 1u << (shift - 1);
  return sign | (q + (rest > half || (rest == half && (q & 1u))));
}

/// bf16 bits (the low 16 of b) to f32 bits: exact, the same sign and
/// exponent with the mantissa moved up 16 bits; a NaN is quieted (its
/// payload kept). A function of its own so that the kernels' fast paths
/// inline it (castFloatBits, which calls itself, is not inlined).
WL_HD uint32_t bf16ToF32Bits(uint32_t b) {
  const uint32_t w = (b & 0xffffu) << 16;
  return (w & 0x7fffffffu) > 0x7f800000u ? w | (1u << 22) : w;
}

/// Float bits of `from` to float bits of `to`.
WL_HD uint64_t castFloatBits(uint64_t bits, int32_t from, int32_t to) {
  if (from == to) // the identity, NaNs untouched (as castBits)
    return bits;
  // e4m3fn through f32: exact into f32 (and on into bf16, f16, f64, which
  // hold every e4m3 value); out of f32 one rounding (bf16 and f16 widen to
  // f32 exactly first; f64 is not a device cast to e4m3: deviceCanApply).
  if (from == kF8E4M3) {
    const uint32_t w = e4m3ToF32Bits(static_cast<uint32_t>(bits & 0xff));
    return to == kF32 ? w : castFloatBits(w, kF32, to);
  }
  if (to == kF8E4M3)
    return f32ToE4M3Bits(static_cast<uint32_t>(
        from == kF32 ? bits : castFloatBits(bits, from, kF32)));
  if (from == kBF16 && to == kF32)
    return bf16ToF32Bits(static_cast<uint32_t>(bits));
  if (from == kF32 && to == kBF16) {
    // The top 16 bits rounded to nearest even (a carry moves into the
    // exponent: the largest values round to infinity, subnormals stay
    // subnormal); a NaN keeps its top payload bits and is quieted.
    const uint32_t w = static_cast<uint32_t>(bits);
    if ((w & 0x7fffffff) > 0x7f800000)
      return (w >> 16) | 0x40;
    return (w + 0x7fff + ((w >> 16) & 1)) >> 16;
  }
  // f16 <-> f32: every case computed and one chosen by selects, not
  // branches, so that the lanes of a warp do not diverge on zeros,
  // subnormals, infinities or NaNs among their elements.
  if (from == kF16 && to == kF32) {
    // Exact: the exponent rebiased (subnormals normalized), the mantissa
    // moved up 13 bits; a NaN keeps its payload and is quieted.
    const uint32_t h = static_cast<uint32_t>(bits & 0xffff);
    const uint32_t sign = (h & 0x8000) << 16, e = (h >> 10) & 0x1f,
                   m = h & 0x3ff;
    const uint32_t special = 0x7f800000 | m << 13 | (m ? 0x400000 : 0);
    const uint32_t normal = (e + 112) << 23 | m << 13;
    const int p = highestBit(m | 1); // a subnormal m * 2^-24: leading bit p
    const uint32_t sub =
        m ? static_cast<uint32_t>(p + 103) << 23 | ((m << (23 - p)) & 0x7fffff)
          : 0;
    return sign | (e == 0x1f ? special : e != 0 ? normal : sub);
  }
  if (from == kF32 && to == kF16) {
    // Rounded to nearest even: from 65520 up to infinity; normal results
    // by rebiasing and rounding off 13 bits (a carry moves into the
    // exponent); subnormal ones by shifting the significand (in units of
    // 2^-24), zero below half of the smallest.
    const uint32_t w = static_cast<uint32_t>(bits);
    const uint32_t sign = (w >> 16) & 0x8000, a = w & 0x7fffffff;
    const uint32_t e = a >> 23, r = a - (112u << 23);
    const uint32_t normal = (r + 0xfff + ((r >> 13) & 1)) >> 13;
    const uint32_t shift = e >= 113 ? 14 : e <= 101 ? 25 : 126 - e;
    const uint32_t s = (a & 0x7fffff) | 0x800000;
    const uint32_t q = s >> shift, rest = s & ((1u << shift) - 1),
                   half = 1u << (shift - 1);
    const uint32_t sub =
        shift >= 25 ? 0 : q + (rest > half || (rest == half && (q & 1)));
    const uint32_t out = a > 0x7f800000   ? 0x7e00 | ((a & 0x7fffff) >> 13)
                         : a >= 0x477ff000 ? 0x7c00
                         : e >= 113        ? normal
                                           : sub;
    return sign | out;
  }
  const int mf = mantissaBits(from), ef = exponentBits(from);
  const int mt = mantissaBits(to), et = exponentBits(to);
  const uint64_t emaskF = (1ull << ef) - 1, emaskT = (1ull << et) - 1;
  const uint64_t sign = (bits >> (mf + ef)) & 1;
  const uint64_t e = (bits >> mf) & emaskF;
  const uint64_t m = bits & ((1ull << mf) - 1);
  const uint64_t signT = sign << (mt + et);
  if (e == emaskF) {
    if (m == 0) // infinity
      return signT | (emaskT << mt);
    uint64_t payload = mt >= mf ? m << (mt - mf) : m >> (mf - mt);
    payload |= 1ull << (mt - 1); // quiet
    return signT | (emaskT << mt) | payload;
  }
  // value = s * 2^x (s an integer)
  const int biasF = (1 << (ef - 1)) - 1, biasT = (1 << (et - 1)) - 1;
  uint64_t s = e == 0 ? m : (m | (1ull << mf));
  if (s == 0)
    return signT;
  int x = (e == 0 ? 1 : static_cast<int>(e)) - biasF - mf;
  const int p = highestBit(s);
  // Unbiased exponent of the leading bit; below 1 - biasT is subnormal.
  const int lead = p + x;
  int shift; // how far s moves right to give the target's significand
  if (lead >= 1 - biasT)
    shift = p - mt;
  else
    shift = (1 - biasT - mt) - x;
  uint64_t q;
  if (shift <= 0) {
    q = s << (-shift);
  } else if (shift >= 64) {
    q = 0; // below half of the smallest subnormal
  } else {
    q = s >> shift;
    const uint64_t r = s & ((1ull << shift) - 1), half = 1ull << (shift - 1);
    if (r > half || (r == half && (q & 1)))
      ++q;
  }
  uint64_t out;
  if (lead >= 1 - biasT) {
    // q has its leading bit at mt (or mt + 1 after a carry, which the sum
    // moves into the exponent).
    out = (static_cast<uint64_t>(lead + biasT) << mt) + (q - (1ull << mt));
  } else {
    out = q; // a subnormal; a carry makes it the smallest normal
  }
  if ((out >> mt) >= emaskT)
    out = emaskT << mt; // overflow: infinity
  return signT | out;
}

/// Integer bits of `from` (sign-extended from I*) truncated to `to`.
WL_HD uint64_t castIntBits(uint64_t bits, int32_t from, int32_t to) {
  const int bf = deviceTypeBits(from), bt = deviceTypeBits(to);
  uint64_t v = bf == 64 ? bits : bits & ((1ull << bf) - 1);
  if (from >= kI8 && from <= kI64 && bf < 64 && ((v >> (bf - 1)) & 1))
    v |= ~0ull << bf;
  return bt == 64 ? v : v & ((1ull << bt) - 1);
}

WL_HD float bitsToF32(uint64_t b) {
  union {
    uint32_t u;
    float f;
  } c;
  c.u = static_cast<uint32_t>(b);
  return c.f;
}
WL_HD uint64_t f32ToBits(float f) {
  union {
    uint32_t u;
    float f;
  } c;
  c.f = f;
  return c.u;
}
WL_HD double bitsToF64(uint64_t b) {
  union {
    uint64_t u;
    double f;
  } c;
  c.u = b;
  return c.f;
}
WL_HD uint64_t f64ToBits(double f) {
  union {
    uint64_t u;
    double f;
  } c;
  c.f = f;
  return c.u;
}

// Products and sums rounded one at a time, never fused, with the NaNs of
// the host (x86 SSE, where layout::affineBits runs): a NaN operand comes out
// as itself made quiet, and a NaN made from numbers (inf * 0, inf - inf) is
// the "default NaN" with the sign bit set. The GPU's own arithmetic would
// give its canonical NaN instead.
WL_HD float hostNaN(float r, float a) {
  uint64_t ab = f32ToBits(a);
  if ((ab & 0x7fffffffu) > 0x7f800000u)
    return bitsToF32(ab | 0x00400000u);
  if (r != r)
    return bitsToF32(0xffc00000u);
  return r;
}
WL_HD double hostNaN(double r, double a) {
  uint64_t ab = f64ToBits(a);
  if ((ab & 0x7fffffffffffffffull) > 0x7ff0000000000000ull)
    return bitsToF64(ab | 0x0008000000000000ull);
  if (r != r)
    return bitsToF64(0xfff8000000000000ull);
  return r;
}
/// a * b and a + b rounded once to nearest even (never fused into an FMA;
/// the intrinsics on the device, a volatile store on the host), NaNs as on
/// the host.
#ifdef __CUDA_ARCH__
__device__ __forceinline__ float roundedMul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ double roundedMul(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ float roundedAdd(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ double roundedAdd(double a, double b) { return __dadd_rn(a, b); }
#endif
template <typename T> WL_HD T mulRn(T a, T b) {
#ifdef __CUDA_ARCH__
  return hostNaN(roundedMul(a, b), a);
#else
  volatile T r = a * b;
  return hostNaN(r, a);
#endif
}
template <typename T> WL_HD T addRn(T a, T b) {
#ifdef __CUDA_ARCH__
  return hostNaN(roundedAdd(a, b), a);
#else
  volatile T r = a + b;
  return hostNaN(r, a);
#endif
}

/// x times a run-time scale k (f32 bits) as layout::applySteps computes it
/// on the host: the f32 product rounded once, a NaN x kept (quieted), else
/// a NaN k itself (x86 returns the NaN operand), else hostNaN's.
WL_HD uint32_t scaledF32Bits(uint32_t x, uint32_t k) {
  if ((x & 0x7fffffffu) <= 0x7f800000u && (k & 0x7fffffffu) > 0x7f800000u)
    return k | 0x00400000u;
  return static_cast<uint32_t>(
      f32ToBits(mulRn(bitsToF32(x), bitsToF32(k))));
}

/// One step, as layout::applySteps applies it; `scaleBits` is the
/// element's run-time scale (a RuntimeScale step's).
WL_HD uint64_t applyStep(const StepCode &s, uint64_t bits,
                         uint64_t scaleBits = 0) {
  if (s.kind == 0) {
    if (isDeviceFloat(s.from))
      return castFloatBits(bits, s.from, s.to);
    return castIntBits(bits, s.from, s.to);
  }
  if (s.kind == 2 || s.kind == 3) { // e2m1 of a nibble, exact in `to`
    const uint32_t code = static_cast<uint32_t>(bits >> (s.kind == 3 ? 4 : 0));
    return castFloatBits(layout::e2m1ToF32Bits(code & 15u), kF32, s.to);
  }
  if (s.kind == 4) {
    const uint32_t k = layout::runtimeScaleF32Bits(
        static_cast<layout::DType>(s.from), scaleBits);
    if (s.to == kF64) { // in double, NaNs as scaledF32Bits'
      const bool xNaN = (bits & ~(1ull << 63)) > 0x7ff0000000000000ull;
      if (!xNaN && (k & 0x7fffffffu) > 0x7f800000u)
        return castFloatBits(k, kF32, kF64);
      return f64ToBits(mulRn(bitsToF64(bits), static_cast<double>(bitsToF32(k))));
    }
    const uint32_t x = static_cast<uint32_t>(castFloatBits(bits, s.to, kF32));
    return castFloatBits(scaledF32Bits(x, k), kF32, s.to);
  }
  const bool mul = s.scale != 1.0, add = s.offset != 0.0;
  if (s.to == kF64) {
    double x = bitsToF64(bits);
    if (mul)
      x = mulRn(x, s.scale);
    if (add)
      x = addRn(x, s.offset);
    return f64ToBits(x);
  }
  float x = bitsToF32(castFloatBits(bits, s.to, kF32));
  if (mul)
    x = mulRn(x, static_cast<float>(s.scale));
  if (add)
    x = addRn(x, static_cast<float>(s.offset));
  return castFloatBits(f32ToBits(x), kF32, s.to);
}

} // namespace wl::runtime::cuda

#endif // WL_RUNTIME_DEVICECONVERT_H
