//===- KernelCommon.cuh - what the plan kernels share ----------*- CUDA -*-===//
//
// What the plan kernels share (included by CudaExecutor.cu only, one
// translation unit): the launch arguments, a task's tensors and a unit's
// rows, words of 2 to 16 bytes and their parts, elements loaded and
// stored by size, and the V x V register transpose of the transposes.
//
//===----------------------------------------------------------------------===//
#ifndef WL_CUDA_KERNELCOMMON_CUH
#define WL_CUDA_KERNELCOMMON_CUH

#include "wl/Cuda/CudaTasks.h"
#include "wl/Cuda/TaskIndex.h"

#include <cuda_runtime.h>

#include <cstdint>

namespace wl::runtime::cuda::kernels {

constexpr int kThreads = kBlockThreads;

/// One kernel's share of the table: units [first, first + count) of the
/// (reordered) unit array; block b takes units b, b + grid, ...
struct Args {
  const Task *tasks;
  const Unit *units;
  long long first, count;
};

/// A task's tensors (Task::srcAddress, dstAddress).
__device__ __forceinline__ const uint8_t *source(const Task &t) {
  return reinterpret_cast<const uint8_t *>(t.srcAddress);
}
__device__ __forceinline__ uint8_t *target(const Task &t) {
  return reinterpret_cast<uint8_t *>(t.dstAddress);
}

/// The fill pattern of `t` repeated over a W-byte word (W >= element size).
template <typename W> __device__ __forceinline__ W fillWord(const Task &t) {
  W pattern;
  uint8_t *pb = reinterpret_cast<uint8_t *>(&pattern);
  for (int b = 0; b < static_cast<int>(sizeof(W)); ++b)
    pb[b] = static_cast<uint8_t>(t.fill >> (8 * (b % t.dstSize)));
  return pattern;
}

/// A row unit (kCopyRows, kFillRows, kConvertRows) as pointers and byte
/// strides: `rows` rows from s0 -> d0, rs and rd bytes apart (the innermost
/// outer dimension's strides: the unit stays within one of its runs).
struct RowUnit {
  const uint8_t *s0; ///< null for fills
  uint8_t *d0;
  int64_t rs, rd, rows;
};
__device__ __forceinline__ RowUnit rowUnit(const Task &t, const Unit &u,
                                           const uint8_t *src, uint8_t *dst) {
  int64_t so, d;
  outerOffsets(t, u.a0, so, d);
  RowUnit r;
  r.s0 = src ? src + (so + u.b0) * t.srcSize : nullptr;
  r.d0 = dst + (d + u.b0) * t.dstSize;
  r.rs = t.nouter > 0 && src ? t.outerSrc[t.nouter - 1] * t.srcSize : 0;
  r.rd = t.nouter > 0 ? t.outerDst[t.nouter - 1] * t.dstSize : 0;
  r.rows = u.a1 - u.a0;
  return r;
}

/// Advances (row r, word c) of a flattened rows x words space by dr rows
/// and dc words (dc < words): by adding, not dividing.
__device__ __forceinline__ void step(uint32_t &r, uint32_t &c, uint32_t dr,
                                     uint32_t dc, uint32_t words) {
  c += dc;
  r += dr;
  if (c >= words) {
    c -= words;
    ++r;
  }
}

template <int ES> struct Word;
template <> struct Word<1> { using T = uint8_t; };
template <> struct Word<2> { using T = uint16_t; };
template <> struct Word<4> { using T = uint32_t; };
template <> struct Word<8> { using T = uint64_t; };
/// The word of a transpose's rows: 8 bytes for 1-byte elements, else 16.
template <int Bytes> struct RowWord { using T = uint4; };
template <> struct RowWord<8> { using T = uint2; };

__device__ __forceinline__ uint32_t part(const uint4 &w, int j) {
  return j == 0 ? w.x : j == 1 ? w.y : j == 2 ? w.z : w.w;
}
__device__ __forceinline__ uint32_t part(const uint2 &w, int j) {
  return j == 0 ? w.x : w.y;
}

/// Column c of the V x V block whose row v is in[v] (every index a
/// compile-time constant once unrolled, so the block stays in registers).
template <int ES, typename W>
__device__ __forceinline__ W column(const W *in, int c) {
  if constexpr (ES == 8) { // 2 x 2 of 8-byte elements
    return c == 0 ? make_uint4(in[0].x, in[0].y, in[1].x, in[1].y)
                  : make_uint4(in[0].z, in[0].w, in[1].z, in[1].w);
  } else if constexpr (ES == 4) { // 4 x 4 of 4-byte elements
    return make_uint4(part(in[0], c), part(in[1], c), part(in[2], c),
                      part(in[3], c));
  } else if constexpr (ES == 2) { // 8 x 8 of 2-byte elements
    // Element c of rows 2j and 2j + 1 side by side: word j of the column.
    const uint32_t sel = (c & 1) ? 0x7632 : 0x5410;
    uint32_t o[4];
#pragma unroll
    for (int j = 0; j < 4; ++j)
      o[j] =
          __byte_perm(part(in[2 * j], c / 2), part(in[2 * j + 1], c / 2), sel);
    return make_uint4(o[0], o[1], o[2], o[3]);
  } else { // 8 x 8 bytes in 8-byte words
    const uint32_t b = c % 4, pair = b | ((4 + b) << 4);
    uint32_t p[4];
#pragma unroll
    for (int j = 0; j < 4; ++j)
      p[j] =
          __byte_perm(part(in[2 * j], c / 4), part(in[2 * j + 1], c / 4), pair);
    return make_uint2(__byte_perm(p[0], p[1], 0x5410),
                      __byte_perm(p[2], p[3], 0x5410));
  }
}

__device__ __forceinline__ uint64_t loadElement(const uint8_t *p, int size) {
  switch (size) {
  case 1:
    return *p;
  case 2:
    return *reinterpret_cast<const uint16_t *>(p);
  case 4:
    return *reinterpret_cast<const uint32_t *>(p);
  default:
    return *reinterpret_cast<const uint64_t *>(p);
  }
}

__device__ __forceinline__ void storeElement(uint8_t *p, int size, uint64_t v) {
  switch (size) {
  case 1:
    *p = static_cast<uint8_t>(v);
    break;
  case 2:
    *reinterpret_cast<uint16_t *>(p) = static_cast<uint16_t>(v);
    break;
  case 4:
    *reinterpret_cast<uint32_t *>(p) = static_cast<uint32_t>(v);
    break;
  default:
    *reinterpret_cast<uint64_t *>(p) = v;
  }
}

/// The unsigned word of `Bytes` bytes (4, 8 or 16: a group of 2 to 16
/// elements of 1 to 8 bytes), and its 32-bit parts.
template <int Bytes> struct Bits;
template <> struct Bits<4> { using T = uint32_t; };
template <> struct Bits<8> { using T = uint2; };
template <> struct Bits<16> { using T = uint4; };
__device__ __forceinline__ uint32_t part(uint32_t w, int) { return w; }
__device__ __forceinline__ void setPart(uint4 &w, int j, uint32_t v) {
  (j == 0 ? w.x : j == 1 ? w.y : j == 2 ? w.z : w.w) |= v;
}
__device__ __forceinline__ void setPart(uint2 &w, int j, uint32_t v) {
  (j == 0 ? w.x : w.y) |= v;
}
__device__ __forceinline__ void setPart(uint32_t &w, int, uint32_t v) {
  w |= v;
}

/// Element e (of S bytes) of a word, and into a zeroed word (constant e).
template <int S, typename W>
__device__ __forceinline__ uint64_t getElement(const W &w, int e) {
  if constexpr (S == 8)
    return part(w, 2 * e) | static_cast<uint64_t>(part(w, 2 * e + 1)) << 32;
  else if constexpr (S == 4)
    return part(w, e);
  else
    return (part(w, e * S / 4) >> (8 * (e * S % 4))) & ((1u << (8 * S)) - 1);
}
template <int S, typename W>
__device__ __forceinline__ void putElement(W &w, int e, uint64_t v) {
  if constexpr (S == 8) {
    setPart(w, 2 * e, static_cast<uint32_t>(v));
    setPart(w, 2 * e + 1, static_cast<uint32_t>(v >> 32));
  } else if constexpr (S == 4) {
    setPart(w, e, static_cast<uint32_t>(v));
  } else {
    setPart(w, e * S / 4,
            (static_cast<uint32_t>(v) & ((1u << (8 * S)) - 1))
                << (8 * (e * S % 4)));
  }
}

} // namespace wl::runtime::cuda::kernels

#endif // WL_CUDA_KERNELCOMMON_CUH
