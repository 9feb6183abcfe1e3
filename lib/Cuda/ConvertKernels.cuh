//===- ConvertKernels.cuh - converting rows --------------------*- CUDA -*-===//
//
// Converting rows as non-persistent blocks: convertFast, the fast
// conversions (FastCast: the four common casts, bf16 or f16 to and from
// f32, by the hardware's conversions where they equal the exact ones,
// compareFastCasts; block FP8's dequantizing and quantizing step lists)
// from per-block descriptors (FlatConvert); convertFlat, the other steps
// of wl/Cuda/DeviceConvert.h (docs/cuda.md).
//
//===----------------------------------------------------------------------===//
#ifndef WL_CUDA_CONVERTKERNELS_CUH
#define WL_CUDA_CONVERTKERNELS_CUH

#include "KernelCommon.cuh"
#include "wl/Cuda/DeviceConvert.h"

namespace wl::runtime::cuda::kernels {

/// A task's steps, one after the other.
struct Steps {
  const StepCode *steps;
  int n;
  __device__ __forceinline__ uint64_t operator()(uint64_t x) const {
    for (int k = 0; k < n; ++k)
      x = applyStep(steps[k], x);
    return x;
  }
};

/// One float cast, its types constant (the common casts between bf16 or
/// f16 and f32 compile to a few instructions instead of a step dispatch
/// per element).
template <int32_t From, int32_t To> struct Cast {
  __device__ __forceinline__ uint64_t operator()(uint64_t x) const {
    return castFloatBits(x, From, To);
  }
};

// f16 <-> f32 by the hardware's conversions (cvt, IEEE round to nearest
// even, subnormals kept: for every input but a NaN the same bits as
// castFloatBits, in two instructions instead of the integer emulation's
// thirty); a NaN lane takes castFloatBits' result (the payload kept and
// quieted) instead of the hardware's canonical NaN. checkCastFastPaths
// compares each with castFloatBits on every input, on the device.
template <> struct Cast<kF32, kF16> {
  __device__ __forceinline__ uint64_t operator()(uint64_t x) const {
    const uint32_t w = static_cast<uint32_t>(x), a = w & 0x7fffffff;
    unsigned short h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(__uint_as_float(w)));
    const uint32_t nan = ((w >> 16) & 0x8000) | 0x7e00 | (a & 0x7fffff) >> 13;
    return a > 0x7f800000 ? nan : h;
  }
};
template <> struct Cast<kF16, kF32> {
  __device__ __forceinline__ uint64_t operator()(uint64_t x) const {
    const unsigned short h = static_cast<unsigned short>(x);
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    const uint32_t nan = (h & 0x8000u) << 16 | 0x7fc00000 | (h & 0x3ffu) << 13;
    return (h & 0x7fff) > 0x7c00 ? nan : __float_as_uint(f);
  }
};

/// bf16 -> f32 exactly (bf16ToF32Bits, inlined).
template <> struct Cast<kBF16, kF32> {
  __device__ __forceinline__ uint64_t operator()(uint64_t x) const {
    return bf16ToF32Bits(static_cast<uint32_t>(x));
  }
};

/// f32 -> bf16 by the hardware's conversion (cvt.rn.bf16.f32: round to
/// nearest even, subnormals kept), a NaN lane taking castFloatBits' result
/// (its top payload bits, quieted); checkCastFastPaths compares it with
/// castFloatBits on every input, on the device.
struct CastF32ToBF16Hw {
  __device__ __forceinline__ uint64_t operator()(uint64_t x) const {
    const uint32_t w = static_cast<uint32_t>(x);
    unsigned short h;
    asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(h) : "f"(__uint_as_float(w)));
    return (w & 0x7fffffff) > 0x7f800000 ? (w >> 16) | 0x40 : h;
  }
};

/// Block FP8's dequantizing step list, as StepRunner fuses it on the CPU
/// (wl/Runtime/ElementSteps.h): cast(e4m3 -> T) then affine(scale) on T is
/// the f32 product of the e4m3 value and the block's scale rounded once to
/// T (T bf16 or f32, every e4m3 value exact in both). NaNs come out as
/// applyStep's (hostNaN). convertFast computes it once per e4m3 code into
/// a table (ByteTable).
template <int32_t To> struct DequantizeFp8 {
  static_assert(To == kBF16 || To == kF32, "e4m3 to bf16 or f32");
  float scale;
  __device__ __forceinline__ uint64_t operator()(uint64_t x) const {
    const float v = __uint_as_float(e4m3ToF32Bits(static_cast<uint32_t>(x)));
    const uint32_t p = __float_as_uint(mulRn(v, scale));
    if constexpr (To == kBF16)
      return CastF32ToBF16Hw{}(p);
    else
      return p;
  }
};

/// f32 -> e4m3fn by the hardware's conversion (cvt.rn.satfinite.e4m3x2.f32,
/// sm_89 and later: round to nearest even, subnormals kept, magnitudes past
/// 448 clamped to 448), a magnitude above 464, an infinity or a NaN taking
/// f32ToE4M3Bits' NaN of its sign instead of the clamp (up to 464 both
/// round to 448); checkCastFastPaths compares it with f32ToE4M3Bits on
/// every input, on the device.
struct CastF32ToE4M3Hw {
  __device__ __forceinline__ uint64_t operator()(uint64_t x) const {
    const uint32_t w = static_cast<uint32_t>(x);
#if __CUDA_ARCH__ >= 890
    unsigned short h;
    asm("cvt.rn.satfinite.e4m3x2.f32 %0, %1, %2;"
        : "=h"(h)
        : "f"(0.0f), "f"(__uint_as_float(w)));
    return (w & 0x7fffffffu) > 0x43e80000u ? ((w >> 24) & 0x80u) | 0x7fu
                                            : (h & 0xffu);
#else
    return f32ToE4M3Bits(w);
#endif
  }
};

/// Block FP8's quantizing step list, [cast(bf16 -> f32),] affine(factor)
/// on f32, cast(f32 -> e4m3): the f32 product by the block's factor (mulRn,
/// the host's NaNs) rounded once to e4m3 by CastF32ToE4M3Hw. A product by
/// 1 is the identity (a NaN here is already quiet), so the factor is always
/// applied.
template <int32_t From> struct QuantizeFp8Hw {
  static_assert(From == kBF16 || From == kF32, "bf16 or f32 to e4m3");
  float factor;
  __device__ __forceinline__ uint64_t operator()(uint64_t x) const {
    const uint32_t w = From == kBF16 ? bf16ToF32Bits(static_cast<uint32_t>(x))
                                     : static_cast<uint32_t>(x);
    return CastF32ToE4M3Hw{}(__float_as_uint(mulRn(__uint_as_float(w), factor)));
  }
};

/// A conversion of a byte by a 256-entry table in shared memory (dequantizing
/// block FP8: entry b is DequantizeFp8's result for e4m3 code b and the unit's
/// scale, built by the block while its loads are in flight).
struct ByteTable {
  const uint32_t *table;
  __device__ __forceinline__ uint64_t operator()(uint64_t x) const {
    return table[x & 0xffu];
  }
};

/// convertPart's step between its loads and its conversions: nothing.
struct NoPrepare {
  __device__ __forceinline__ void operator()() const {}
};

/// A block's rows of a conversion: rows of `groups` items from s0 to d0, rs
/// and rd bytes apart, `total` items in all (item q is group q % groups of
/// row q / groups); the block converts those from `first` on.
struct ConvertRows {
  const uint8_t *s0;
  uint8_t *d0;
  uint32_t rs, rd, groups, first, total;
};

/// Items [first + k 256 + x] (k < B, x the thread) of a block's rows, all
/// loads in flight before the first store; `prepare` runs between the loads
/// and the conversions, by every thread of the block (it may hold a
/// barrier).
template <int SS, int DS, int B, typename F, typename P = NoPrepare>
__device__ __forceinline__ void convertPart(const ConvertRows &r, F f,
                                            P prepare = {}) {
  constexpr int G = 16 / (SS > DS ? SS : DS);
  using SW = typename Bits<G * SS>::T;
  using DW = typename Bits<G * DS>::T;
  const uint32_t q0 = r.first + threadIdx.x;
  const ItemWalk start(q0, r.groups, kThreads);
  ItemWalk walk = start;
  SW v[B];
#pragma unroll
  for (int k = 0; k < B; ++k, walk.next())
    if (q0 + k * kThreads < r.total)
      v[k] = *reinterpret_cast<const SW *>(r.s0 + walk.at(r.rs, G * SS));
  prepare();
  walk = start;
#pragma unroll
  for (int k = 0; k < B; ++k, walk.next()) {
    if (q0 + k * kThreads < r.total) {
      DW o{};
#pragma unroll
      for (int e = 0; e < G; ++e)
        putElement<DS>(o, e, f(getElement<SS>(v[k], e)));
      *reinterpret_cast<DW *>(r.d0 + walk.at(r.rd, G * DS)) = o;
    }
  }
}

/// The fast conversions (FastCast), a block per FlatConvert (three
/// broadcast loads, then the data): groups of 4 elements of the common
/// casts, word groups of block FP8, kConvertItems a thread.
///
/// Held to 64 registers (4 blocks an SM): with every case of the fast
/// conversions it took 122 to 128, 2 blocks an SM, a quarter of the warps,
/// and that occupancy, not the memory, bounded it (docs/cuda.md).
__global__ void __launch_bounds__(kThreads, 4)
    convertFast(const FlatConvert *units) {
  constexpr int B = kConvertItems;
  const FlatConvert *f = units + blockIdx.x;
  const uint4 w0 = __ldg(reinterpret_cast<const uint4 *>(f)),
              w1 = __ldg(reinterpret_cast<const uint4 *>(f) + 1),
              w2 = __ldg(reinterpret_cast<const uint4 *>(f) + 2);
  ConvertRows r;
  r.s0 = reinterpret_cast<const uint8_t *>(static_cast<uint64_t>(w0.y) << 32 |
                                           w0.x);
  r.d0 = reinterpret_cast<uint8_t *>(static_cast<uint64_t>(w0.w) << 32 | w0.z);
  r.rs = w1.x;
  r.rd = w1.y;
  r.groups = w1.z;
  r.first = w1.w;
  r.total = w2.x;
  const int32_t cast = static_cast<int32_t>(w2.y);
  const float scale = __uint_as_float(w2.z);
  switch (cast) {
  case kF32ToBF16:
    convertPart<4, 2, B>(r, CastF32ToBF16Hw{});
    break;
  case kBF16ToF32:
    convertPart<2, 4, B>(r, Cast<kBF16, kF32>{});
    break;
  case kF32ToF16:
    convertPart<4, 2, B>(r, Cast<kF32, kF16>{});
    break;
  case kF16ToF32:
    convertPart<2, 4, B>(r, Cast<kF16, kF32>{});
    break;
  case kE4M3ToBF16:
  case kE4M3ToF32: {
    // Dequantizing: every code's result once a block (one thread an
    // entry), then a lookup an element.
    static_assert(kThreads == 256, "one thread an e4m3 code");
    __shared__ uint32_t table[256];
    const bool bf16 = cast == kE4M3ToBF16;
    auto build = [&] {
      table[threadIdx.x] =
          static_cast<uint32_t>(bf16 ? DequantizeFp8<kBF16>{scale}(threadIdx.x)
                                     : DequantizeFp8<kF32>{scale}(threadIdx.x));
      __syncthreads();
    };
    if (bf16)
      convertPart<1, 2, B>(r, ByteTable{table}, build);
    else
      convertPart<1, 4, B>(r, ByteTable{table}, build);
    break;
  }
  case kBF16ToE4M3:
    convertPart<2, 1, B>(r, QuantizeFp8Hw<kBF16>{scale});
    break;
  default: // kF32ToE4M3
    convertPart<4, 1, B>(r, QuantizeFp8Hw<kF32>{scale});
  }
}

/// The other converting rows (not FastCast) as blocks of kConvertItems items
/// a thread, not persistent: block b takes part b % parts of unit b /
/// parts, as copyFlat. An item is a word group of float to float steps
/// (vec 16) or one element.
__global__ void __launch_bounds__(kThreads, 1)
    convertFlat(Args a, int parts) {
  constexpr int B = kConvertItems;
  const long long u = a.first + blockIdx.x / parts;
  const uint32_t p = blockIdx.x % parts;
  const Unit cur = a.units[u];
  const Task &t = a.tasks[cur.task];
  const RowUnit ru = rowUnit(t, cur, source(t), target(t));
  const uint32_t groups =
      static_cast<uint32_t>((cur.b1 - cur.b0) / wordGroupElements(t));
  ConvertRows r{ru.s0,
                ru.d0,
                static_cast<uint32_t>(ru.rs),
                static_cast<uint32_t>(ru.rd),
                groups,
                0,
                static_cast<uint32_t>(ru.rows) * groups};
  if (t.vec == 16) {
    // Two halves of 4 groups a thread, so that the steps' registers are
    // not spilled.
    const Steps f{t.steps, t.nsteps};
    for (uint32_t q = p * (B / 4); q < (p + 1) * (B / 4); ++q) {
      r.first = q * kThreads * 4;
      const int ss = t.srcSize, ds = t.dstSize;
      if (ss == 1 && ds == 1)
        convertPart<1, 1, 4>(r, f);
      else if (ss == 1 && ds == 2)
        convertPart<1, 2, 4>(r, f);
      else if (ss == 1 && ds == 4)
        convertPart<1, 4, 4>(r, f);
      else if (ss == 2 && ds == 1)
        convertPart<2, 1, 4>(r, f);
      else if (ss == 4 && ds == 1)
        convertPart<4, 1, 4>(r, f);
      else if (ss == 2 && ds == 4)
        convertPart<2, 4, 4>(r, f);
      else if (ss == 2 && ds == 8)
        convertPart<2, 8, 4>(r, f);
      else if (ss == 4 && ds == 2)
        convertPart<4, 2, 4>(r, f);
      else if (ss == 4 && ds == 8)
        convertPart<4, 8, 4>(r, f);
      else if (ss == 8 && ds == 2)
        convertPart<8, 2, 4>(r, f);
      else if (ss == 8 && ds == 4)
        convertPart<8, 4, 4>(r, f);
      else if (ss == 2)
        convertPart<2, 2, 4>(r, f);
      else if (ss == 4)
        convertPart<4, 4, 4>(r, f);
      else // 8 and 8 (wordGroups refuses 1 with 8)
        convertPart<8, 8, 4>(r, f);
    }
  } else {
    const uint32_t n = groups, total = r.total;
    for (int k = 0; k < B; ++k) {
      const uint32_t q = p * kThreads * B + k * kThreads + threadIdx.x;
      if (q >= total)
        break;
      uint64_t v = loadElement(
          ru.s0 + (q / n * ru.rs + q % n * t.srcSize), t.srcSize);
      for (int j = 0; j < t.nsteps; ++j)
        v = applyStep(t.steps[j], v);
      storeElement(ru.d0 + (q / n * ru.rd + q % n * t.dstSize), t.dstSize, v);
    }
  }
}

/// Counts the inputs on which the fast casts (Cast<kF32, kF16>,
/// CastF32ToBF16Hw and CastF32ToE4M3Hw over all 2^32 f32 bit patterns,
/// Cast<kF16, kF32> over all 2^16 f16 ones) differ from castFloatBits;
/// `first` keeps the smallest such input of each (slot 0: f32 -> f16, 1:
/// f16 -> f32, 2: f32 -> bf16, 3: f32 -> e4m3).
__global__ void compareFastCasts(unsigned long long *count,
                                 unsigned long long *first) {
  const uint64_t stride = uint64_t(gridDim.x) * blockDim.x;
  for (uint64_t i = uint64_t(blockIdx.x) * blockDim.x + threadIdx.x;
       i < (1ull << 32); i += stride) {
    if (Cast<kF32, kF16>{}(i) != castFloatBits(i, kF32, kF16)) {
      atomicAdd(&count[0], 1ull);
      atomicMin(&first[0], static_cast<unsigned long long>(i));
    }
    if (i < (1u << 16) &&
        Cast<kF16, kF32>{}(i) != castFloatBits(i, kF16, kF32)) {
      atomicAdd(&count[1], 1ull);
      atomicMin(&first[1], static_cast<unsigned long long>(i));
    }
    if (CastF32ToBF16Hw{}(i) != castFloatBits(i, kF32, kBF16)) {
      atomicAdd(&count[2], 1ull);
      atomicMin(&first[2], static_cast<unsigned long long>(i));
    }
    if (CastF32ToE4M3Hw{}(i) != f32ToE4M3Bits(static_cast<uint32_t>(i))) {
      atomicAdd(&count[3], 1ull);
      atomicMin(&first[3], static_cast<unsigned long long>(i));
    }
  }
}

} // namespace wl::runtime::cuda::kernels

#endif // WL_CUDA_CONVERTKERNELS_CUH
