//===- ElementSteps.cpp - casts and affines over runs of elements ---------===//
#include "wl/Runtime/ElementSteps.h"

#include "wl/Cuda/DeviceConvert.h"

#include <algorithm>
#include <cstring>
#include <mutex>

namespace wl::runtime {

using layout::DType;
using layout::Step;

StepRunner::StepRunner(const std::vector<Step> &steps, DType from, DType to)
    : steps_(steps), from_(from), to_(to) {
  auto isCast = [&](size_t k, DType a, DType b) {
    return steps[k].kind == Step::Cast && steps[k].from == a && steps[k].to == b;
  };
  auto isScale = [&](size_t k, DType t) {
    return steps[k].kind == Step::Affine && steps[k].to == t &&
           steps[k].offset == 0.0 &&
           static_cast<double>(static_cast<float>(steps[k].scale)) ==
               steps[k].scale;
  };
  if (steps.size() == 2 && from == DType::F8E4M3FN &&
      isCast(0, from, to) && isScale(1, to) &&
      (to == DType::BF16 || to == DType::F32)) {
    fused_ = to == DType::BF16 ? Fused::DequantBF16 : Fused::DequantF32;
    scale_ = static_cast<float>(steps[1].scale);
  } else if (steps.size() == 3 && to == DType::F8E4M3FN &&
             isCast(0, from, DType::F32) && isScale(1, DType::F32) &&
             isCast(2, DType::F32, to) && from == DType::BF16) {
    fused_ = Fused::QuantBF16;
    scale_ = static_cast<float>(steps[1].scale);
  } else if (steps.size() == 2 && from == DType::F32 &&
             to == DType::F8E4M3FN && isScale(0, DType::F32) &&
             isCast(1, DType::F32, to)) {
    fused_ = Fused::QuantF32;
    scale_ = static_cast<float>(steps[0].scale);
  }
}

namespace {

constexpr int kBlock = 256;

void load(uint64_t *buf, const uint8_t *src, int64_t stride, int es, int m) {
  switch (es) {
  case 1:
    for (int i = 0; i < m; ++i)
      buf[i] = src[i * stride];
    return;
  case 2:
    for (int i = 0; i < m; ++i) {
      uint16_t v;
      std::memcpy(&v, src + i * stride * 2, 2);
      buf[i] = v;
    }
    return;
  case 4:
    for (int i = 0; i < m; ++i) {
      uint32_t v;
      std::memcpy(&v, src + i * stride * 4, 4);
      buf[i] = v;
    }
    return;
  default:
    for (int i = 0; i < m; ++i)
      std::memcpy(&buf[i], src + i * stride * 8, 8);
  }
}

void store(uint8_t *dst, int64_t stride, int es, const uint64_t *buf, int m) {
  switch (es) {
  case 1:
    for (int i = 0; i < m; ++i)
      dst[i * stride] = static_cast<uint8_t>(buf[i]);
    return;
  case 2:
    for (int i = 0; i < m; ++i) {
      uint16_t v = static_cast<uint16_t>(buf[i]);
      std::memcpy(dst + i * stride * 2, &v, 2);
    }
    return;
  case 4:
    for (int i = 0; i < m; ++i) {
      uint32_t v = static_cast<uint32_t>(buf[i]);
      std::memcpy(dst + i * stride * 4, &v, 4);
    }
    return;
  default:
    for (int i = 0; i < m; ++i)
      std::memcpy(dst + i * stride * 8, &buf[i], 8);
  }
}

inline float asFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
inline uint32_t asBits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

/// x * scale + offset in f32, rounding after each step (no fused multiply
/// add: the runtime is built with -ffp-contract=off), skipping a step that
/// is the identity, as layout::affineBits does.
inline float affine32(float x, float scale, float offset, bool mul, bool add) {
  if (mul)
    x = x * scale;
  if (add)
    x = x + offset;
  return x;
}

/// Every value of an 8-bit type cast to `to` (layout::castBits), built once
/// per pair: FP8 checkpoints are dequantized through it.
const uint64_t *byteTable(DType from, DType to) {
  static uint64_t tables[2][layout::kNumDTypes][256];
  static std::once_flag once[2][layout::kNumDTypes];
  int f = from == DType::F8E4M3FN ? 0 : 1;
  int t = static_cast<int>(to);
  std::call_once(once[f][t], [&] {
    for (int v = 0; v < 256; ++v)
      tables[f][t][v] = layout::castBits(v, from, to);
  });
  return tables[f][t];
}

void applyStep(const Step &s, uint64_t *buf, int m) {
  if (s.kind == Step::Cast) {
    if ((s.from == DType::F8E4M3FN || s.from == DType::F8E5M2) &&
        layout::isFloat(s.to)) {
      const uint64_t *table = byteTable(s.from, s.to);
      for (int i = 0; i < m; ++i)
        buf[i] = table[buf[i] & 0xff];
    } else if (s.from == DType::F32 && s.to == DType::F8E4M3FN) {
      for (int i = 0; i < m; ++i)
        buf[i] = cuda::f32ToE4M3Bits(static_cast<uint32_t>(buf[i]));
    } else if (s.from == DType::BF16 && s.to == DType::F32) {
      for (int i = 0; i < m; ++i)
        buf[i] = bf16ToF32(static_cast<uint16_t>(buf[i]));
    } else if (s.from == DType::F32 && s.to == DType::BF16) {
      for (int i = 0; i < m; ++i)
        buf[i] = f32ToBF16(static_cast<uint32_t>(buf[i]));
    } else {
      for (int i = 0; i < m; ++i)
        buf[i] = layout::castBits(buf[i], s.from, s.to);
    }
    return;
  }
  const bool mul = s.scale != 1.0, add = s.offset != 0.0;
  const float scale = static_cast<float>(s.scale);
  const float offset = static_cast<float>(s.offset);
  if (!mul && !add) {
    for (int i = 0; i < m; ++i)
      buf[i] = layout::affineBits(buf[i], s.to, s.scale, s.offset);
  } else if (s.to == DType::F32) {
    for (int i = 0; i < m; ++i)
      buf[i] = asBits(affine32(asFloat(static_cast<uint32_t>(buf[i])), scale,
                               offset, mul, add));
  } else if (s.to == DType::BF16) {
    for (int i = 0; i < m; ++i) {
      float x = asFloat(bf16ToF32(static_cast<uint16_t>(buf[i])));
      buf[i] = f32ToBF16(asBits(affine32(x, scale, offset, mul, add)));
    }
  } else {
    for (int i = 0; i < m; ++i)
      buf[i] = layout::affineBits(buf[i], s.to, s.scale, s.offset);
  }
}

} // namespace

/// e4m3 codes as f32 (exact; NaN codes as castBits makes them): byteTable's
/// values as floats, for the fused loops' float arithmetic.
const float *e4m3Floats() {
  static float table[256];
  static std::once_flag once;
  std::call_once(once, [] {
    const uint64_t *bits = byteTable(DType::F8E4M3FN, DType::F32);
    for (int v = 0; v < 256; ++v)
      table[v] = asFloat(static_cast<uint32_t>(bits[v]));
  });
  return table;
}

void StepRunner::operator()(const uint8_t *src, int64_t srcStride, uint8_t *dst,
                            int64_t dstStride, int64_t n) const {
  // Block FP8: the whole step list per element in one loop. A value of
  // e4m3 is one of bf16 and f32, so cast-then-affine is the f32 product
  // rounded once (as applySteps); a scale of 1 skips the product there too.
  const bool mul = scale_ != 1.0f;
  switch (fused_) {
  case Fused::DequantBF16: {
    const float *lut = e4m3Floats();
    if (srcStride == 1 && dstStride == 1) {
      // Rows of a block: a table load, a product and a rounding each.
      uint16_t out[kBlock];
      const float sc = mul ? scale_ : 1.0f;
      for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
        int m = static_cast<int>(std::min<int64_t>(kBlock, n - i0));
        for (int i = 0; i < m; ++i)
          out[i] = f32ToBF16(asBits(lut[src[i0 + i]] * sc));
        std::memcpy(dst + i0 * 2, out, 2 * m);
      }
      return;
    }
    for (int64_t i = 0; i < n; ++i) {
      float x = lut[src[i * srcStride]];
      uint16_t y = f32ToBF16(asBits(mul ? x * scale_ : x));
      std::memcpy(dst + i * dstStride * 2, &y, 2);
    }
    return;
  }
  case Fused::DequantF32: {
    const float *lut = e4m3Floats();
    for (int64_t i = 0; i < n; ++i) {
      float x = lut[src[i * srcStride]];
      float y = mul ? x * scale_ : x;
      std::memcpy(dst + i * dstStride * 4, &y, 4);
    }
    return;
  }
  case Fused::QuantBF16:
    for (int64_t i = 0; i < n; ++i) {
      uint16_t v;
      std::memcpy(&v, src + i * srcStride * 2, 2);
      float x = asFloat(bf16ToF32(v));
      dst[i * dstStride] = static_cast<uint8_t>(
          cuda::f32ToE4M3Bits(asBits(mul ? x * scale_ : x)));
    }
    return;
  case Fused::QuantF32:
    for (int64_t i = 0; i < n; ++i) {
      float x;
      std::memcpy(&x, src + i * srcStride * 4, 4);
      dst[i * dstStride] = static_cast<uint8_t>(
          cuda::f32ToE4M3Bits(asBits(mul ? x * scale_ : x)));
    }
    return;
  case Fused::None:
    break;
  }
  uint64_t buf[kBlock];
  const int es = layout::dtypeSize(from_), et = layout::dtypeSize(to_);
  for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
    int m = static_cast<int>(std::min<int64_t>(kBlock, n - i0));
    load(buf, src + i0 * srcStride * es, srcStride, es, m);
    for (const Step &s : steps_)
      applyStep(s, buf, m);
    store(dst + i0 * dstStride * et, dstStride, et, buf, m);
  }
}

ScaledStepRunner::ScaledStepRunner(const std::vector<Step> &steps, DType from,
                                   DType to)
    : steps_(steps), from_(from), to_(to) {
  for (const Step &s : steps)
    if (s.kind == Step::RuntimeScale)
      scaleType_ = s.from;
  const bool mxfp4 =
      steps.size() == 3 && from == DType::U8 &&
      (steps[0].kind == Step::E2M1Low || steps[0].kind == Step::E2M1High) &&
      steps[0].to == DType::F32 && steps[1].kind == Step::RuntimeScale &&
      steps[1].from == DType::U8 && steps[1].to == DType::F32 &&
      steps[2].kind == Step::Cast && steps[2].from == DType::F32 &&
      (to == DType::BF16 || to == DType::F32);
  if (mxfp4)
    shift_ = steps[0].kind == Step::E2M1High ? 4 : 0;
  // Block FP8: cast(e4m3 -> f32), scale (F32), [cast(f32 -> bf16)].
  const size_t n = steps.size();
  fp8_ = (n == 2 || n == 3) && from == DType::F8E4M3FN &&
         steps[0].kind == Step::Cast && steps[0].to == DType::F32 &&
         steps[1].kind == Step::RuntimeScale &&
         steps[1].from == DType::F32 && steps[1].to == DType::F32 &&
         (n == 2 ? to == DType::F32
                 : steps[2].kind == Step::Cast && steps[2].from == DType::F32 &&
                       (to == DType::BF16 || to == DType::F32));
}

void ScaledStepRunner::operator()(const uint8_t *src, int64_t srcStride,
                                  const uint8_t *scales, int64_t g,
                                  int64_t scaleStride, uint8_t *dst,
                                  int64_t dstStride, int64_t n) const {
  const int es = layout::dtypeSize(from_), et = layout::dtypeSize(to_);
  const int eg = layout::dtypeSize(scaleType_);
  auto load = [](const uint8_t *p, int size) {
    uint64_t v = 0;
    std::memcpy(&v, p, size); // little-endian low bytes
    return v;
  };
  if (fp8_) {
    // The f32 product of the e4m3 value (a table) and its block's scale,
    // rounded once to bf16 or kept; a run inside one block reads its scale
    // once.
    const float *lut = e4m3Floats();
    auto scaleAt = [&](int64_t i) {
      float k;
      std::memcpy(&k, scales + (g + i * scaleStride) * 4, 4);
      return k;
    };
    float k = scaleAt(0);
    for (int64_t i = 0; i < n; ++i) {
      if (scaleStride != 0)
        k = scaleAt(i);
      const float y = lut[src[i * srcStride]] * k;
      if (to_ == DType::BF16) {
        const uint16_t b = f32ToBF16(asBits(y));
        std::memcpy(dst + i * dstStride * 2, &b, 2);
      } else {
        std::memcpy(dst + i * dstStride * 4, &y, 4);
      }
    }
    return;
  }
  if (shift_ < 0) {
    for (int64_t i = 0; i < n; ++i) {
      const uint64_t y = layout::applySteps(
          steps_, load(src + i * srcStride * es, es),
          load(scales + (g + i * scaleStride) * eg, eg));
      std::memcpy(dst + i * dstStride * et, &y, et);
    }
    return;
  }
  // MXFP4: the e2m1 value times 2^(s - 127), an f32 product (exact unless
  // it overflows), rounded once to bf16 or kept as f32.
  static const float *values = [] {
    static float v[16];
    for (uint32_t c = 0; c < 16; ++c)
      v[c] = asFloat(layout::e2m1ToF32Bits(c));
    return v;
  }();
  float k = asFloat(layout::runtimeScaleF32Bits(DType::U8, scales[g]));
  for (int64_t i = 0; i < n; ++i) {
    if (scaleStride != 0)
      k = asFloat(layout::runtimeScaleF32Bits(
          DType::U8, scales[g + i * scaleStride]));
    const float y = values[(src[i * srcStride] >> shift_) & 15u] * k;
    if (to_ == DType::BF16) {
      const uint16_t b = f32ToBF16(asBits(y));
      std::memcpy(dst + i * dstStride * 2, &b, 2);
    } else {
      std::memcpy(dst + i * dstStride * 4, &y, 4);
    }
  }
}

} // namespace wl::runtime
