//===- BlockCodes.h - element codes of block formats ------------*- C++ -*-===//
//
// The codes that block formats store, decoded to f32 bits, in one
// definition that the host (layout::applySteps, the CPU executor) and the
// CUDA kernels both run (WL_HD, wl/Cuda/HostDevice.h):
//  - FP4 e2m1 (MXFP4's elements): bit 3 the sign, bits 2-1 the exponent
//    (bias 1), bit 0 the mantissa: 0, 0.5, 1, 1.5, 2, 3, 4, 6;
//  - e8m0 (MXFP4's scales, stored as U8): 2^(s - 127) exactly (0 is the
//    f32 subnormal 2^-127), 255 NaN.
//
//===----------------------------------------------------------------------===//
#ifndef WL_LAYOUT_BLOCKCODES_H
#define WL_LAYOUT_BLOCKCODES_H

#include "wl/Cuda/HostDevice.h"
#include "wl/Layout/DType.h"

#include <cstdint>

namespace wl::layout {

/// The f32 bits of the e2m1 code in bits 0-3 of `code`.
WL_HD uint32_t e2m1ToF32Bits(uint32_t code) {
  const uint32_t sign = (code & 8u) << 28, e = (code >> 1) & 3u, m = code & 1u;
  // e 0: m * 0.5; else 2^(e - 1) * (1 + m / 2).
  const uint32_t magnitude = e == 0 ? m * 0x3f000000u : (126u + e) << 23 | m << 22;
  return sign | magnitude;
}

/// The f32 bits of an e8m0 scale.
WL_HD uint32_t e8m0ToF32Bits(uint32_t s) {
  s &= 0xffu;
  return s == 255u ? 0x7fc00000u : s == 0u ? 0x00400000u : s << 23;
}

/// The f32 bits of a run-time scale element read as `how` (a RuntimeScale
/// step's `from`: U8 an e8m0 exponent, F32 its value).
WL_HD uint32_t runtimeScaleF32Bits(DType how, uint64_t scaleBits) {
  return how == DType::F32 ? static_cast<uint32_t>(scaleBits)
                           : e8m0ToF32Bits(static_cast<uint32_t>(scaleBits));
}

} // namespace wl::layout

#endif // WL_LAYOUT_BLOCKCODES_H
