//===- ElementSteps.h - casts and affines over runs of elements -*- C++ -*-===//
//
// Plain C++17, no MLIR. The elementwise steps of a piece (wl.cast,
// wl.affine) applied to a strided run of elements, in blocks, with fast
// paths for the conversions checkpoints use (bf16 <-> f32, affine on bf16
// and f32) and wl/Layout/DType.h's exact definitions for everything else.
// Post: every element comes out bit for bit as layout::applySteps computes
// it (tested over every bf16 value and samples of f32).
//
//===----------------------------------------------------------------------===//
#ifndef WL_RUNTIME_ELEMENTSTEPS_H
#define WL_RUNTIME_ELEMENTSTEPS_H

#include "wl/Layout/Plan.h"

#include <cstdint>
#include <vector>

namespace wl::runtime {

class StepRunner {
public:
  /// Pre: steps chain from `from` to `to` (as a validated plan's do).
  StepRunner(const std::vector<layout::Step> &steps, layout::DType from,
             layout::DType to);
  /// dst[i * dstStride] = steps(src[i * srcStride]) for i in [0, n); strides
  /// in elements of each side.
  void operator()(const uint8_t *src, int64_t srcStride, uint8_t *dst,
                  int64_t dstStride, int64_t n) const;

private:
  /// Block FP8's step lists, run in one loop each: dequantizing an e4m3
  /// element into bf16 or f32 (cast, affine), quantizing a bf16 or f32 one
  /// (cast to f32, affine, cast to e4m3).
  enum class Fused { None, DequantBF16, DequantF32, QuantBF16, QuantF32 };
  std::vector<layout::Step> steps_;
  layout::DType from_, to_;
  Fused fused_ = Fused::None;
  float scale_ = 1.0f;
};

/// The steps of a piece with a run-time scale (wl/Layout/Piece.h), over a
/// strided run of elements and of their scales. MXFP4's list (E2M1Low or
/// E2M1High to f32, RuntimeScale of an e8m0 U8 on f32, cast to bf16 or
/// f32) and block FP8's (cast e4m3 to f32, RuntimeScale of an F32 on f32,
/// cast to bf16 or f32) run in one loop each, the scale read once a run
/// where the run's elements share it; any other list element by element
/// through layout::applySteps.
class ScaledStepRunner {
public:
  /// Pre: steps chain from `from` to `to` and hold one RuntimeScale step.
  ScaledStepRunner(const std::vector<layout::Step> &steps, layout::DType from,
                   layout::DType to);
  /// dst[i * dstStride] = steps(src[i * srcStride], scales[g + i *
  /// scaleStride]) for i in [0, n); strides and g in elements of each side.
  void operator()(const uint8_t *src, int64_t srcStride, const uint8_t *scales,
                  int64_t g, int64_t scaleStride, uint8_t *dst,
                  int64_t dstStride, int64_t n) const;

private:
  std::vector<layout::Step> steps_;
  layout::DType from_, to_, scaleType_ = layout::DType::U8;
  int shift_ = -1;     ///< MXFP4's loop: the nibble's shift (0, 4), else -1
  bool fp8_ = false;   ///< block FP8's loop
};

/// f32 bits to bf16 bits, rounding to nearest even; NaN stays NaN (quiet,
/// sign and leading payload kept), as layout::castBits does.
inline uint16_t f32ToBF16(uint32_t bits) {
  if ((bits & 0x7fffffffu) > 0x7f800000u)
    return static_cast<uint16_t>((bits >> 16) | 0x0040u);
  return static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

/// bf16 bits to f32 bits (exact); a NaN is made quiet, as layout::castBits
/// does.
inline uint32_t bf16ToF32(uint16_t bits) {
  uint32_t w = static_cast<uint32_t>(bits) << 16;
  if ((w & 0x7fffffffu) > 0x7f800000u)
    w |= 0x00400000u;
  return w;
}

} // namespace wl::runtime

#endif // WL_RUNTIME_ELEMENTSTEPS_H
