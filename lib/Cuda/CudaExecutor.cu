//===- CudaExecutor.cu - plans executed by CUDA kernels -------------------===//
//
// Up to five kernels share a task table's units by kind (docs/cuda.md).
// copyFlat (aligned row copies and fills, with their fused padding),
// transposeTiles (aligned transposes, through a shared-memory tile) and
// convertFlat (converting rows: the four common casts, and the rest) are
// not persistent: each unit is cut into
// parts, a block each, handed out in order by the hardware, so that the
// memory in flight is one short stretch (as the driver's own copy runs).
// runUnits (everything else, and the whole of a small plan) is
// persistent: block b takes units b, b + grid, ..., so the blocks sweep
// the table together, unit and task descriptors prefetched into L1 before
// their turn. The unit kinds mirror runTableOnHost (TaskTable.cpp) index
// for index; the host emulation is what CI checks, the GPU tests compare
// the kernels with the CPU executor byte for byte.
//
//===----------------------------------------------------------------------===//
#include "wl/Runtime/CudaExecutor.h"
#include "wl/Runtime/DeviceConvert.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace wl::runtime::cuda {

namespace {

constexpr int kThreads = kBlockThreads;
/// Words each thread has in flight in row copies and fills.
constexpr int kBatch = 8;

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

__device__ __forceinline__ void outerOffsets(const Task &t, int64_t o,
                                             int64_t &src, int64_t &dst) {
  src = t.srcOffset;
  dst = t.dstOffset;
  if (o < (1ll << 32)) { // 32-bit division: a 64-bit one costs ~10 times
    uint32_t r = static_cast<uint32_t>(o);
    for (int j = t.nouter - 1; j >= 0; --j) {
      uint32_t size = static_cast<uint32_t>(t.outerSize[j]);
      uint32_t c = r % size;
      r /= size;
      src += c * t.outerSrc[j];
      dst += c * t.outerDst[j];
    }
    return;
  }
  for (int j = t.nouter - 1; j >= 0; --j) {
    int64_t c = o % t.outerSize[j];
    o /= t.outerSize[j];
    src += c * t.outerSrc[j];
    dst += c * t.outerDst[j];
  }
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

/// A single row of the unit (or a run of rows that are contiguous on both
/// sides): thread x moves words x, x + 256, ..., kBatch at a time with
/// every load in flight before the first store.
template <typename W, bool Fill>
__device__ __noinline__ void moveRow(const W *s, W *o, uint32_t words, W fill) {
  W v[kBatch];
#pragma unroll
  for (int k = 0; k < kBatch; ++k)
    v[k] = fill;
  for (uint32_t g = threadIdx.x; g < words; g += kBatch * kThreads) {
    if (!Fill) {
#pragma unroll
      for (int k = 0; k < kBatch; ++k)
        if (g + k * kThreads < words)
          v[k] = s[g + k * kThreads];
    }
#pragma unroll
    for (int k = 0; k < kBatch; ++k)
      if (g + k * kThreads < words)
        o[g + k * kThreads] = v[k];
  }
}

/// Several target rows, `rd` bytes apart, each `words` words from a source
/// row (`rs` bytes apart) then `tail` words of `fill`: row copies (tail 0),
/// row fills (words 0), or copies with their padding fused (CudaTasks.h),
/// so that a warp stores whole stretches of the target. Thread x moves
/// words x, x + 256, ... of the flattened (row, word) space, kBatch at a
/// time with every load in flight before the first store, (row, word)
/// advancing by adding, not dividing. Byte offsets from the first row fit
/// 32 bits (buildTaskTable keeps such units under 2 GiB from their first
/// byte to their last). W is at least an element wide where there is a
/// tail (every tensor is aligned to its element size), so `fill` is the
/// same for every word of it.
template <typename W>
__device__ __noinline__ void
moveRows(const uint8_t *s0, uint8_t *d0, uint32_t rows, uint32_t words,
         uint32_t tail, uint32_t rs, uint32_t rd, W fill) {
  constexpr uint32_t kW = sizeof(W);
  const uint32_t per = words + tail, total = rows * per;
  const uint32_t dr = kThreads / per, dc = kThreads % per;
  uint32_t r = threadIdx.x / per, c = threadIdx.x % per;
  W v[kBatch];
  for (uint32_t g = threadIdx.x; g < total; g += kBatch * kThreads) {
    uint32_t rr = r, cc = c;
#pragma unroll
    for (int k = 0; k < kBatch; ++k) {
      v[k] = fill;
      if (g + k * kThreads < total && cc < words)
        v[k] = *reinterpret_cast<const W *>(s0 + (rr * rs + cc * kW));
      step(rr, cc, dr, dc, per);
    }
    rr = r;
    cc = c;
#pragma unroll
    for (int k = 0; k < kBatch; ++k) {
      if (g + k * kThreads < total)
        *reinterpret_cast<W *>(d0 + (rr * rd + cc * kW)) = v[k];
      step(rr, cc, dr, dc, per);
    }
    r = rr;
    c = cc;
  }
}

/// Row copies (or fills): the unit's rows [a0, a1) of elements [b0, b1),
/// each followed by the task's tail if it has one. Rows after the first
/// are found by adding the innermost outer dimension's strides: the unit
/// stays within one of its runs.
template <typename W, bool Fill>
__device__ __forceinline__ void unitRows(const Task &t, const Unit u,
                                         const uint8_t *src, uint8_t *dst) {
  const RowUnit r = rowUnit(t, u, Fill ? nullptr : src, dst);
  const uint32_t words =
      static_cast<uint32_t>((u.b1 - u.b0) * t.dstSize / sizeof(W));
  const W fill = Fill || t.tail > 0 ? fillWord<W>(t) : W{};
  if (r.rows == 1 && t.tail == 0) {
    moveRow<W, Fill>(reinterpret_cast<const W *>(r.s0),
                     reinterpret_cast<W *>(r.d0), words, fill);
    return;
  }
  const uint32_t tail = static_cast<uint32_t>(t.tail * t.dstSize / sizeof(W));
  moveRows<W>(r.s0, r.d0, static_cast<uint32_t>(r.rows), Fill ? 0 : words,
              Fill ? words : tail, static_cast<uint32_t>(r.rs),
              static_cast<uint32_t>(r.rd), fill);
}

/// A copy with a fused tail where a tensor is not aligned to its element
/// size (no word of an element or more fits): byte by byte.
__device__ __noinline__ void moveRowsTailBytes(const Task &t, const Unit u,
                                               const uint8_t *src,
                                               uint8_t *dst) {
  const RowUnit r = rowUnit(t, u, src, dst);
  const int64_t copied = t.n * t.dstSize, row = (t.n + t.tail) * t.dstSize;
  for (int64_t j = 0; j < r.rows; ++j)
    for (int64_t b = threadIdx.x; b < row; b += kThreads)
      r.d0[j * r.rd + b] =
          b < copied ? r.s0[j * r.rs + b]
                     : static_cast<uint8_t>(t.fill >>
                                            (8 * ((b - copied) % t.dstSize)));
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
      o[j] = __byte_perm(part(in[2 * j], c / 2), part(in[2 * j + 1], c / 2),
                         sel);
    return make_uint4(o[0], o[1], o[2], o[3]);
  } else { // 8 x 8 bytes in 8-byte words
    const uint32_t b = c % 4, pair = b | ((4 + b) << 4);
    uint32_t p[4];
#pragma unroll
    for (int j = 0; j < 4; ++j)
      p[j] = __byte_perm(part(in[2 * j], c / 4), part(in[2 * j + 1], c / 4),
                         pair);
    return make_uint2(__byte_perm(p[0], p[1], 0x5410),
                      __byte_perm(p[2], p[3], 0x5410));
  }
}

/// The blocks of one thread of a transpose unit: V x V blocks at i = i0,
/// i0 + iStep, ... below i1, from s0 + i * si (row i of the source at this
/// thread's k) to d0 + i * ES (row k of the target), si and dk in bytes;
/// `kn` k values are left from this thread's k. V word loads along k (a
/// warp reads 128 contiguous bytes of each of 4 source rows), V word stores
/// along i (64 contiguous bytes of each of 8 target rows, continued by the
/// next warp). Blocks cut by the end of k or i, or not aligned to the word
/// (`vec` false), go element by element.
template <int ES>
__device__ __noinline__ void transposeBlocks(const uint8_t *s0, uint8_t *d0,
                                             int64_t si, int64_t dk,
                                             int64_t i0, int64_t i1,
                                             int64_t kn, bool vec) {
  constexpr TransposeShape sh = transposeShape(ES);
  constexpr int V = sh.v;
  using W = typename RowWord<sh.wordBytes>::T;
  using E = typename Word<ES>::T;
  vec = vec && kn >= V;
  for (int64_t i = i0; i < i1; i += sh.iStep) {
    const uint8_t *s = s0 + i * si;
    uint8_t *o = d0 + i * ES;
    if (vec && i + V <= i1) {
      W in[V];
#pragma unroll
      for (int v = 0; v < V; ++v)
        in[v] = *reinterpret_cast<const W *>(s + v * si);
#pragma unroll
      for (int c = 0; c < V; ++c)
        *reinterpret_cast<W *>(o + c * dk) = column<ES>(in, c);
    } else {
      const int64_t cn = kn < V ? kn : V, vn = i1 - i < V ? i1 - i : V;
      for (int64_t c = 0; c < cn; ++c)
        for (int64_t v = 0; v < vn; ++v)
          *reinterpret_cast<E *>(o + c * dk + v * ES) =
              *reinterpret_cast<const E *>(s + v * si + c * ES);
    }
  }
}

/// dst[k * dk + i] = src[k + i * si] over the unit's strip of k and its i
/// range. Thread (kc, ic) = (x % threadsK, x / threadsK) moves the blocks at
/// k = a1 + kc V and i = b0 + ic V + m iStep. (The general kernel's
/// transposes: those not aligned to the word, element by element.)
template <int ES>
__device__ __forceinline__ void transposeUnit(const Task &t, const Unit u,
                                              const uint8_t *src, uint8_t *dst) {
  constexpr TransposeShape sh = transposeShape(ES);
  int64_t so, d;
  outerOffsets(t, u.a0, so, d);
  const int kc = threadIdx.x % sh.threadsK, ic = threadIdx.x / sh.threadsK;
  const int64_t k = u.a1 + kc * sh.v;
  const int64_t dk = t.dk * ES;
  transposeBlocks<ES>(src + (so + k) * ES, dst + d * ES + k * dk,
                      t.srcStride * ES, dk, u.b0 + ic * sh.v, u.b1,
                      t.kExtent - k, t.vec == sh.wordBytes);
}

__device__ __forceinline__ uint64_t loadElement(const uint8_t *p, int size) {
  switch (size) {
  case 1: return *p;
  case 2: return *reinterpret_cast<const uint16_t *>(p);
  case 4: return *reinterpret_cast<const uint32_t *>(p);
  default: return *reinterpret_cast<const uint64_t *>(p);
  }
}

__device__ __forceinline__ void storeElement(uint8_t *p, int size, uint64_t v) {
  switch (size) {
  case 1: *p = static_cast<uint8_t>(v); break;
  case 2: *reinterpret_cast<uint16_t *>(p) = static_cast<uint16_t>(v); break;
  case 4: *reinterpret_cast<uint32_t *>(p) = static_cast<uint32_t>(v); break;
  default: *reinterpret_cast<uint64_t *>(p) = v;
  }
}

__device__ __noinline__ void elements(const Task &t, const Unit u, const uint8_t *src,
                         uint8_t *dst) {
  for (int64_t e = u.a0 + threadIdx.x; e < u.a1; e += kThreads) {
    int64_t o = e / t.n, i = e % t.n, so, d;
    outerOffsets(t, o, so, d);
    uint64_t v;
    if (t.kind == kFill) {
      v = t.fill;
    } else {
      v = loadElement(src + (so + i * t.srcStride) * t.srcSize, t.srcSize);
      if (t.kind == kConvert)
        for (int k = 0; k < t.nsteps; ++k)
          v = applyStep(t.steps[k], v);
    }
    storeElement(dst + (d + i * t.dstStride) * t.dstSize, t.dstSize, v);
  }
}

/// Rows of the fill constant element by element (a target not aligned to
/// its element size).
__device__ __noinline__ void fillRowElements(const Task &t, const Unit u,
                                             uint8_t *dst) {
  const RowUnit r = rowUnit(t, u, nullptr, dst);
  for (int64_t row = 0; row < r.rows; ++row)
    for (int64_t i = threadIdx.x; i < u.b1 - u.b0; i += kThreads)
      storeElement(r.d0 + row * r.rd + i * t.dstSize, t.dstSize, t.fill);
}

/// The unsigned word of `Bytes` bytes (4, 8 or 16: a group of 2 to 8
/// elements of 2 to 8 bytes), and its 32-bit parts.
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
__device__ __forceinline__ void setPart(uint32_t &w, int, uint32_t v) { w |= v; }

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
    const uint32_t nan =
        (h & 0x8000u) << 16 | 0x7fc00000 | (h & 0x3ffu) << 13;
    return (h & 0x7fff) > 0x7c00 ? nan : __float_as_uint(f);
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

/// Which of the four common casts a converting-rows task is where its
/// words allow groups (1 f32 -> bf16, 2 bf16 -> f32, 3 f32 -> f16, 4 f16 ->
/// f32; each a group of 4 elements), else 0.
__host__ __device__ inline int32_t fastCast(const Task &t) {
  if (t.vec != 16 || t.nsteps != 1 || t.steps[0].kind != 0)
    return 0;
  const int32_t from = t.steps[0].from, to = t.steps[0].to;
  return from == kF32 && to == kBF16   ? 1
         : from == kBF16 && to == kF32 ? 2
         : from == kF32 && to == kF16  ? 3
         : from == kF16 && to == kF32  ? 4
                                       : 0;
}

/// Elements of a converting-rows task that convertFlat moves as one item:
/// 4 for the common casts, 16 / max(element sizes) for other word groups
/// (t.vec 16: float to float, aligned), else 1 (element by element).
__host__ __device__ inline int64_t convertItemElements(const Task &t) {
  if (fastCast(t) != 0)
    return 4;
  if (t.vec == 16)
    return 16 / (t.srcSize > t.dstSize ? t.srcSize : t.dstSize);
  return 1;
}

template <typename W>
__device__ __forceinline__ void rows(const Task &t, const Unit u,
                                     const uint8_t *src, uint8_t *dst) {
  if (t.kind == kCopyRows)
    unitRows<W, false>(t, u, src, dst);
  else
    unitRows<W, true>(t, u, src, dst);
}

__device__ __forceinline__ void prefetchL1(const void *p) {
  asm volatile("prefetch.global.L1 [%0];" ::"l"(p));
}

/// Every block takes units b, b + grid, b + 2 grid, ...: the blocks sweep
/// the table together, so the memory they touch at any moment is close
/// together (measured faster than contiguous shares per block, and free of
/// their imbalance when units differ in size).
__global__ void __launch_bounds__(kThreads, 4) runUnits(Args a) {
  const long long step = gridDim.x, end = a.first + a.count;
  for (long long u = a.first + blockIdx.x; u < end; u += step) {
    // The unit after next is fetched into L1 now, and the next unit's task
    // when it changes, so neither is waited for when its turn comes; no
    // descriptor stays in registers across the work.
    if (threadIdx.x == 0 && u + 2 * step < end)
      prefetchL1(a.units + u + 2 * step);
    const Unit cur = a.units[u];
    if (u + step < end &&
        threadIdx.x < static_cast<int>((sizeof(Task) + 127) / 128)) {
      const int32_t nextTask = a.units[u + step].task;
      if (nextTask != cur.task)
        prefetchL1(reinterpret_cast<const char *>(a.tasks + nextTask) +
                   128 * threadIdx.x);
    }
    const Task &t = a.tasks[cur.task];
    const uint8_t *src = source(t);
    uint8_t *dst = target(t);
    switch (t.kind) {
    case kCopyRows:
    case kFillRows:
      if (t.kind == kFillRows && t.vec < t.dstSize) {
        fillRowElements(t, cur, dst); // a misaligned target
        break;
      }
      if (t.tail > 0 && t.vec < t.dstSize) {
        moveRowsTailBytes(t, cur, src, dst); // a misaligned tensor
        break;
      }
      switch (t.vec) {
      case 16: rows<uint4>(t, cur, src, dst); break;
      case 8: rows<uint2>(t, cur, src, dst); break;
      case 4: rows<uint32_t>(t, cur, src, dst); break;
      case 2: rows<uint16_t>(t, cur, src, dst); break;
      default: rows<uint8_t>(t, cur, src, dst);
      }
      break;
    case kTranspose:
      switch (t.dstSize) {
      case 1: transposeUnit<1>(t, cur, src, dst); break;
      case 2: transposeUnit<2>(t, cur, src, dst); break;
      case 4: transposeUnit<4>(t, cur, src, dst); break;
      default: transposeUnit<8>(t, cur, src, dst);
      }
      break;
    default:
      elements(t, cur, src, dst);
    }
  }
}

/// Plans writing less than this run their copies and transposes in the
/// general kernel: one launch instead of two or three (Executor::
/// setSmallPlanBytes changes it).
constexpr int64_t kSmallPlanBytes = 16 << 20;

/// Items (element groups, or elements) a thread of convertFlat converts:
/// 8 measured best for the casts (4 and 16 lost 3 to 25 points on an
/// H200, docs/cuda.md).
constexpr int kConvertItems = 8;

//===----------------------------------------------------------------------===//
// Row copies and fills, a block per 32 KiB (not persistent)
//===----------------------------------------------------------------------===//
//
// As the driver's own copy moves memory: as many blocks as there are
// pieces, handed out in order by the hardware, so that the bytes in flight
// at any moment are one short stretch of the table (every persistent copy
// tried stayed at 88 to 94% of cudaMemcpy; this runs at 96 to 99%,
// docs/cuda.md). Block b moves piece p = b % parts of unit b / parts,
// parts being the most pieces any unit of the launch has (a smaller
// unit's extra blocks return at once).

/// 16-byte words a thread of copyFlat moves: 32 KiB a block. Measured on an
/// H200 (docs/cuda.md): 1 and 2 words a thread lose to the descriptor
/// fetch every block begins with, 4 and 8 copy at 96 to 99% of cudaMemcpy,
/// and fills (stores only) need 8.
constexpr int kRowWords = 8;

/// Each thread finds its unit's rows itself (the unit and task descriptors
/// are the same for the whole block: broadcast loads, no barrier), then
/// moves U words of the unit's flattened (row, word) space, q = p 256 U +
/// k 256 + x for k < U, all loads in flight before the first store. A row
/// is `words` words of the source (none for a fill) then `tail` words of
/// the fill pattern.
template <int U>
__global__ void __launch_bounds__(kThreads) copyFlat(Args a, int parts) {
  const long long u = a.first + blockIdx.x / parts;
  const uint32_t p = blockIdx.x % parts;
  const Unit cur = a.units[u];
  const Task &t = a.tasks[cur.task];
  const bool fill = t.kind == kFillRows;
  const RowUnit r = rowUnit(t, cur, fill ? nullptr : source(t), target(t));
  const uint32_t words =
      static_cast<uint32_t>((cur.b1 - cur.b0) * t.dstSize / 16);
  const uint32_t per = words + static_cast<uint32_t>(t.tail * t.dstSize / 16);
  const uint32_t copied = fill ? 0 : words; // words of a row from the source
  const uint32_t total = static_cast<uint32_t>(r.rows) * per;
  const uint32_t rs = static_cast<uint32_t>(r.rs),
                 rd = static_cast<uint32_t>(r.rd);
  const uint4 pattern = fill || t.tail > 0 ? fillWord<uint4>(t) : uint4{};
  const uint32_t q0 = p * kThreads * U + threadIdx.x;
  uint4 v[U];
#pragma unroll
  for (int k = 0; k < U; ++k) {
    const uint32_t q = q0 + k * kThreads, row = q / per, c = q % per;
    v[k] = pattern;
    if (q < total && c < copied)
      v[k] = *reinterpret_cast<const uint4 *>(r.s0 + (row * rs + c * 16));
  }
#pragma unroll
  for (int k = 0; k < U; ++k) {
    const uint32_t q = q0 + k * kThreads, row = q / per, c = q % per;
    if (q < total)
      *reinterpret_cast<uint4 *>(r.d0 + (row * rd + c * 16)) = v[k];
  }
}

/// Groups [p 256 B, (p + 1) 256 B) of a unit's flattened (row, group)
/// space, B a thread, all loads in flight before the first store.
template <int SS, int DS, int B, typename F>
__device__ __forceinline__ void convertPart(const RowUnit &r, uint32_t groups,
                                            uint32_t p, F f) {
  constexpr int G = 16 / (SS > DS ? SS : DS);
  using SW = typename Bits<G * SS>::T;
  using DW = typename Bits<G * DS>::T;
  const uint32_t total = static_cast<uint32_t>(r.rows) * groups;
  const uint32_t rs = static_cast<uint32_t>(r.rs),
                 rd = static_cast<uint32_t>(r.rd);
  const uint32_t q0 = p * kThreads * B + threadIdx.x;
  SW v[B];
#pragma unroll
  for (int k = 0; k < B; ++k) {
    const uint32_t q = q0 + k * kThreads;
    if (q < total)
      v[k] = *reinterpret_cast<const SW *>(
          r.s0 + (q / groups * rs + q % groups * (G * SS)));
  }
#pragma unroll
  for (int k = 0; k < B; ++k) {
    const uint32_t q = q0 + k * kThreads;
    if (q < total) {
      DW o{};
#pragma unroll
      for (int e = 0; e < G; ++e)
        putElement<DS>(o, e, f(getElement<SS>(v[k], e)));
      *reinterpret_cast<DW *>(r.d0 +
                              (q / groups * rd + q % groups * (G * DS))) = o;
    }
  }
}

/// Converting rows as blocks of kConvertItems items a thread, not
/// persistent: block b takes part b % parts of unit b / parts, as copyFlat.
/// An item is a group of 4 elements of the common casts (Casts: the
/// kernel of the four casts alone, its registers theirs), or a word group
/// of the other float to float steps or one element (convertItemElements).
template <bool Casts>
__global__ void __launch_bounds__(kThreads) convertFlat(Args a, int parts) {
  constexpr int B = kConvertItems;
  const long long u = a.first + blockIdx.x / parts;
  const uint32_t p = blockIdx.x % parts;
  const Unit cur = a.units[u];
  const Task &t = a.tasks[cur.task];
  const RowUnit r = rowUnit(t, cur, source(t), target(t));
  const uint32_t groups =
      static_cast<uint32_t>((cur.b1 - cur.b0) / convertItemElements(t));
  if constexpr (Casts) {
    switch (fastCast(t)) {
    case 1:
      convertPart<4, 2, B>(r, groups, p, CastF32ToBF16Hw{});
      break;
    case 2:
      convertPart<2, 4, B>(r, groups, p, Cast<kBF16, kF32>{});
      break;
    case 3:
      convertPart<4, 2, B>(r, groups, p, Cast<kF32, kF16>{});
      break;
    default:
      convertPart<2, 4, B>(r, groups, p, Cast<kF16, kF32>{});
    }
  } else if (t.vec == 16) {
    // Two halves of 4 groups a thread, so that the steps' registers are
    // not spilled.
    const Steps f{t.steps, t.nsteps};
    for (uint32_t q = p * (B / 4); q < (p + 1) * (B / 4); ++q) {
      const int ss = t.srcSize, ds = t.dstSize;
      if (ss == 2 && ds == 4)
        convertPart<2, 4, 4>(r, groups, q, f);
      else if (ss == 2 && ds == 8)
        convertPart<2, 8, 4>(r, groups, q, f);
      else if (ss == 4 && ds == 2)
        convertPart<4, 2, 4>(r, groups, q, f);
      else if (ss == 4 && ds == 8)
        convertPart<4, 8, 4>(r, groups, q, f);
      else if (ss == 8 && ds == 2)
        convertPart<8, 2, 4>(r, groups, q, f);
      else if (ss == 8 && ds == 4)
        convertPart<8, 4, 4>(r, groups, q, f);
      else if (ss == 2)
        convertPart<2, 2, 4>(r, groups, q, f);
      else if (ss == 4)
        convertPart<4, 4, 4>(r, groups, q, f);
      else
        convertPart<8, 8, 4>(r, groups, q, f);
    }
  } else {
    const uint32_t n = groups, total = static_cast<uint32_t>(r.rows) * n;
    for (int k = 0; k < B; ++k) {
      const uint32_t q = p * kThreads * B + k * kThreads + threadIdx.x;
      if (q >= total)
        break;
      uint64_t v =
          loadElement(r.s0 + (q / n * r.rs + q % n * t.srcSize), t.srcSize);
      for (int j = 0; j < t.nsteps; ++j)
        v = applyStep(t.steps[j], v);
      storeElement(r.d0 + (q / n * r.rd + q % n * t.dstSize), t.dstSize, v);
    }
  }
}

//===----------------------------------------------------------------------===//
// Transposes through a shared-memory tile, a block a tile (not persistent)
//===----------------------------------------------------------------------===//
//
// Aligned transposes cut as copyFlat cuts rows: block b takes step p =
// b % parts (one iStep of i) of transpose unit b / parts, so that the
// hardware hands the tiles out in order, down the i of one strip of k
// before the next strip. Thread (kc, ic) loads its V x V block (V words
// along k: a warp reads 256 contiguous bytes of each of 2 source rows),
// transposes it in registers and writes its V columns into a tile of the
// strip's kStrip target rows, 16 words a row, the word index XORed with
// kc % 8 so that a quarter warp's stores fall in different banks; after
// one barrier the block stores the tile a row at a time, 16 consecutive
// words of a target row from 16 consecutive threads (whole 128-byte
// lines). Measured on an H200 (docs/cuda.md): 5120 x 25600 bf16 at 93% of
// the device copy, where every persistent transpose (per-thread cp.async
// stages, warp tiles, TMA tiles) stayed at about 80%.

/// Bytes of a tile: 16 V rows of 16 words (8 KiB to 32 KiB).
constexpr int kTileBytes = 32 << 10;

template <int ES>
__device__ __forceinline__ void transposeTile(const Task &t, const Unit u,
                                              uint32_t p, const uint8_t *src,
                                              uint8_t *dst, uint8_t *tile) {
  constexpr TransposeShape sh = transposeShape(ES);
  constexpr int V = sh.v, words = kThreads / sh.threadsK;
  using W = typename RowWord<sh.wordBytes>::T;
  using E = typename Word<ES>::T;
  W *tw = reinterpret_cast<W *>(tile);
  int64_t so, d;
  outerOffsets(t, u.a0, so, d);
  const int64_t si = t.srcStride * ES, dk = t.dk * ES;
  const int64_t gp = u.b0 + int64_t(p) * sh.iStep;
  const bool several = transposeUnitOuters(t, u) > 1;
  const int64_t os = several ? t.outerSrc[t.nouter - 1] * ES : 0,
                od = several ? t.outerDst[t.nouter - 1] * ES : 0;
  const uint32_t n32 = static_cast<uint32_t>(t.n);
  // The V x V block of word w (= thread ic) of the step: its first source
  // row and target column at k = a1, and how many i it has (0: none).
  struct Block {
    int64_t s, o, vn;
  };
  auto block = [&](int w) {
    const int64_t g = gp + int64_t(w) * V;
    if (g >= u.b1)
      return Block{0, 0, 0};
    if (!several)
      return Block{(so + u.a1) * ES + g * si, d * ES + u.a1 * dk + g * ES,
                   u.b1 - g < V ? u.b1 - g : V};
    const uint32_t oo = static_cast<uint32_t>(g) / n32;
    const int64_t i = g - int64_t(oo) * n32;
    return Block{(so + u.a1) * ES + oo * os + i * si,
                 d * ES + u.a1 * dk + oo * od + i * ES, V};
  };
  const int kc = threadIdx.x % sh.threadsK, ic = threadIdx.x / sh.threadsK;
  const int64_t kn = t.kExtent - u.a1 - kc * V; // k left from this thread's
  const Block b = block(ic);
  const uint8_t *s = src + b.s + kc * V * ES;
  const bool whole = b.vn == V && kn >= V;
  W in[V];
  if (whole) {
#pragma unroll
    for (int v = 0; v < V; ++v)
      in[v] = *reinterpret_cast<const W *>(s + v * si);
  } else if (b.vn > 0 && kn > 0) { // cut by the end of k or i
    uint8_t *o = dst + b.o + kc * V * dk;
    const int64_t cn = kn < V ? kn : V;
    for (int64_t c = 0; c < cn; ++c)
      for (int64_t v = 0; v < b.vn; ++v)
        *reinterpret_cast<E *>(o + c * dk + v * ES) =
            *reinterpret_cast<const E *>(s + v * si + c * ES);
  }
  if (whole) {
#pragma unroll
    for (int c = 0; c < V; ++c)
      tw[(kc * V + c) * words + (ic ^ (kc % 8))] = column<ES>(in, c);
  }
  __syncthreads();
  // Word w of tile row r: target row k = a1 + r, from thread (r / V, w).
#pragma unroll
  for (int j = 0; j < V; ++j) {
    const int q = j * kThreads + threadIdx.x, r = q / words, w = q % words;
    const int g8 = r / V;
    const Block b = block(w);
    if (b.vn == V && t.kExtent - u.a1 - g8 * V >= V)
      *reinterpret_cast<W *>(dst + b.o + r * dk) =
          tw[r * words + (w ^ (g8 % 8))];
  }
}

__global__ void __launch_bounds__(kThreads) transposeTiles(Args a, int parts) {
  __shared__ __align__(16) uint8_t tile[kTileBytes];
  const long long u = a.first + blockIdx.x / parts;
  const uint32_t p = blockIdx.x % parts;
  const Unit cur = a.units[u];
  const Task &t = a.tasks[cur.task];
  const int64_t istep = transposeShape(t.dstSize).iStep;
  if (cur.b0 + int64_t(p) * istep >= cur.b1)
    return; // a smaller unit's extra block (the same for the whole block)
  const uint8_t *src = source(t);
  uint8_t *dst = target(t);
  switch (t.dstSize) {
  case 1:
    transposeTile<1>(t, cur, p, src, dst, tile);
    break;
  case 2:
    transposeTile<2>(t, cur, p, src, dst, tile);
    break;
  case 4:
    transposeTile<4>(t, cur, p, src, dst, tile);
    break;
  default:
    transposeTile<8>(t, cur, p, src, dst, tile);
  }
}

std::string cudaMessage(const char *what, cudaError_t e) {
  return std::string(what) + ": " + cudaGetErrorString(e);
}

/// A device buffer that grows.
struct DeviceBuffer {
  void *p = nullptr;
  size_t size = 0;
  bool reserve(size_t bytes, std::string &error) {
    if (bytes <= size)
      return true;
    if (p)
      cudaFree(p);
    p = nullptr;
    size = 0;
    cudaError_t e = cudaMalloc(&p, bytes);
    if (e != cudaSuccess) {
      error = cudaMessage("cudaMalloc", e);
      return false;
    }
    size = bytes;
    return true;
  }
  ~DeviceBuffer() {
    if (p)
      cudaFree(p);
  }
};

/// Counts the inputs on which the fast casts (Cast<kF32, kF16> and
/// CastF32ToBF16Hw over all 2^32 f32 bit patterns, Cast<kF16, kF32> over
/// all 2^16 f16 ones) differ from castFloatBits; `first` keeps the
/// smallest such input of each (slot 0: f32 -> f16, 1: f16 -> f32, 2: f32
/// -> bf16).
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
  }
}

} // namespace

/// The plan kernels, in launch order, and how each is launched.
enum KernelGroup {
  kRowsGroup,
  kTransposeGroup,
  kCastGroup,
  kConvertGroup,
  kGeneralGroup,
  kGroups
};
struct KernelLaunch {
  const void *fn;
  /// Bytes of work a block does in the non-persistent kernels (copyFlat:
  /// target bytes; transposeTiles: steps of i; convertFlat: items); 0 for
  /// the persistent general kernel.
  int64_t perBlock;
  int perSM = 1;       ///< resident blocks an SM (occupancy, persistent)
  long long count = 0; ///< units of the last run
  int parts = 0;       ///< blocks a unit (not persistent)
};

struct Executor::Impl {
  int device = 0;
  cudaDeviceProp props{};
  bool ready = false;
  KernelLaunch kernels[kGroups] = {
      {reinterpret_cast<const void *>(copyFlat<kRowWords>),
       int64_t(kThreads) * 16 * kRowWords},
      {reinterpret_cast<const void *>(transposeTiles), 1},
      {reinterpret_cast<const void *>(convertFlat<true>),
       int64_t(kThreads) * kConvertItems},
      {reinterpret_cast<const void *>(convertFlat<false>),
       int64_t(kThreads) * kConvertItems},
      {reinterpret_cast<const void *>(runUnits), 0}};
  DeviceBuffer tasks, units;
  /// The units in launch order, grouped by kernel.
  std::vector<Unit> ordered;
  int64_t smallPlanBytes = kSmallPlanBytes;

  /// The general kernel's occupancy, once.
  bool setUp(std::string &error) {
    KernelLaunch &k = kernels[kGeneralGroup];
    cudaError_t e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(
        &k.perSM, k.fn, kThreads, 0);
    if (e != cudaSuccess) {
      error = cudaMessage("setting up the plan kernels", e);
      return false;
    }
    k.perSM = std::max(1, k.perSM);
    ready = true;
    return true;
  }
};

void Executor::setSmallPlanBytes(int64_t bytes) {
  impl_->smallPlanBytes = bytes;
}

bool built() { return true; }

bool deviceAvailable(std::string &why) {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    why = "no CUDA device: " + std::string(cudaGetErrorString(e));
    return false;
  }
  if (n == 0) {
    why = "no CUDA device";
    return false;
  }
  return true;
}

std::unique_ptr<Executor> Executor::create(std::string &error) {
  if (!deviceAvailable(error))
    return nullptr;
  std::unique_ptr<Executor> x(new Executor());
  x->impl_ = std::make_unique<Impl>();
  cudaGetDevice(&x->impl_->device);
  cudaError_t e = cudaGetDeviceProperties(&x->impl_->props, x->impl_->device);
  if (e != cudaSuccess) {
    error = cudaMessage("cudaGetDeviceProperties", e);
    return nullptr;
  }
  return x;
}

Executor::~Executor() = default;

std::string Executor::describe() const {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s, %d SMs, %.0f GB", impl_->props.name,
                impl_->props.multiProcessorCount,
                impl_->props.totalGlobalMem / 1e9);
  return buf;
}

bool Executor::run(TaskTable &table, const std::vector<const void *> &sources,
                   const std::vector<void *> &targets, void *stream,
                   std::string &error) {
  for (KernelLaunch &k : impl_->kernels)
    k.count = 0;
  if (table.units.empty())
    return true;
  std::vector<uint64_t> sb, tb;
  for (const void *p : sources)
    sb.push_back(reinterpret_cast<uint64_t>(p));
  for (void *p : targets)
    tb.push_back(reinterpret_cast<uint64_t>(p));
  chooseWords(table, sb, tb);
  if (!impl_->ready && !impl_->setUp(error))
    return false;
  // Row copies and fills whose every address is 16-byte aligned go to
  // copyFlat, transposes whose blocks are all aligned to transposeTiles,
  // converting rows to convertFlat (the four common casts in a kernel of
  // their own), the rest to the general kernel: up to five launches, in
  // that order, on the stream. A small plan (a few norms,
  // biases) is one launch of the general kernel: there launches, not
  // bytes, are the cost.
  const bool small = table.bytes < impl_->smallPlanBytes;
  auto group = [&](const Task &t) {
    if ((t.kind == kCopyRows || t.kind == kFillRows) && t.vec == 16 && !small)
      return kRowsGroup;
    if (t.kind == kTranspose && t.vec > 1 && !small)
      return kTransposeGroup;
    if (t.kind == kConvertRows)
      return fastCast(t) != 0 ? kCastGroup : kConvertGroup;
    return kGeneralGroup;
  };
  // The units grouped by kernel, in table order within a group. A
  // transpose unit of several outer indices (CudaTasks.h) going to the
  // general kernel becomes one unit per outer index: the general kernel
  // takes a unit's i as one range.
  std::vector<int> taskGroup(table.tasks.size());
  for (size_t i = 0; i < table.tasks.size(); ++i)
    taskGroup[i] = group(table.tasks[i]);
  std::vector<Unit> grouped[kGroups];
  for (const Unit &u : table.units) {
    const Task &t = table.tasks[u.task];
    std::vector<Unit> &g = grouped[taskGroup[u.task]];
    if (taskGroup[u.task] != kGeneralGroup || t.kind != kTranspose ||
        transposeUnitOuters(t, u) == 1) {
      g.push_back(u);
      continue;
    }
    for (int64_t o = 0; o < transposeUnitOuters(t, u); ++o)
      g.push_back({u.task, 0, u.a0 + o, u.a1, 0, t.n});
  }
  // The non-persistent kernels' blocks a unit: as many as the largest
  // unit of the launch needs (a smaller unit's extra blocks return at
  // once).
  auto work = [&](int g, const Unit &u) -> int64_t {
    const Task &t = table.tasks[u.task];
    switch (g) {
    case kRowsGroup: // target bytes
      return (u.a1 - u.a0) * (u.b1 - u.b0 + t.tail) * t.dstSize;
    case kTransposeGroup: { // steps of i
      const int64_t istep = transposeShape(t.dstSize).iStep;
      return (u.b1 - u.b0 + istep - 1) / istep;
    }
    default: // items
      return (u.a1 - u.a0) * (u.b1 - u.b0) / convertItemElements(t);
    }
  };
  std::vector<Unit> &ordered = impl_->ordered;
  ordered.clear();
  long long count[kGroups] = {};
  for (int g = 0; g < kGroups; ++g) {
    KernelLaunch &k = impl_->kernels[g];
    if (k.perBlock > 0) {
      int64_t most = 1;
      for (const Unit &u : grouped[g])
        most = std::max(most, work(g, u));
      k.parts = static_cast<int>((most + k.perBlock - 1) / k.perBlock);
    }
    count[g] = static_cast<long long>(grouped[g].size());
    ordered.insert(ordered.end(), grouped[g].begin(), grouped[g].end());
  }
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  size_t taskBytes = table.tasks.size() * sizeof(Task);
  size_t unitTableBytes = ordered.size() * sizeof(Unit);
  for (Task &t : table.tasks) {
    t.srcAddress = t.source >= 0 ? sb[t.source] : 0;
    t.dstAddress = tb[t.target];
  }
  if (!impl_->tasks.reserve(taskBytes, error) ||
      !impl_->units.reserve(unitTableBytes, error))
    return false;
  // The table is small next to the data. Copied in stream order, and
  // waited for, so that the caller's table may change once run returns
  // (the kernel itself runs on asynchronously).
  cudaError_t e = cudaMemcpyAsync(impl_->tasks.p, table.tasks.data(), taskBytes,
                                  cudaMemcpyHostToDevice, s);
  if (e == cudaSuccess)
    e = cudaMemcpyAsync(impl_->units.p, ordered.data(), unitTableBytes,
                        cudaMemcpyHostToDevice, s);
  if (e == cudaSuccess)
    e = cudaStreamSynchronize(s);
  if (e != cudaSuccess) {
    error = cudaMessage("uploading the task table", e);
    return false;
  }
  for (int g = 0; g < kGroups; ++g)
    impl_->kernels[g].count = count[g];
  return launch(stream, error);
}

bool Executor::launch(void *stream, std::string &error) {
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  Args a;
  a.tasks = static_cast<const Task *>(impl_->tasks.p);
  a.units = static_cast<const Unit *>(impl_->units.p);
  // Each kernel over its group: the non-persistent ones as `parts` blocks
  // a unit, the general kernel as a wave of resident blocks at most.
  a.first = 0;
  for (int g = 0; g < kGroups; ++g) {
    const KernelLaunch &k = impl_->kernels[g];
    a.count = k.count;
    if (a.count > 0 && k.parts > 0) { // not persistent: parts blocks a unit
      if (a.count * k.parts > 0x7fffffffll) {
        error = "a plan of more than 2^31 thread blocks in one launch: cut "
                "it into smaller plans";
        return false;
      }
      int parts = k.parts;
      void *args[] = {&a, &parts};
      cudaError_t e =
          cudaLaunchKernel(k.fn, dim3(static_cast<unsigned>(a.count * parts)),
                           dim3(kThreads), args, 0, s);
      if (e != cudaSuccess) {
        error = cudaMessage("launching the plan kernels", e);
        return false;
      }
    } else if (a.count > 0) {
      const long long grid = std::min<long long>(
          static_cast<long long>(impl_->props.multiProcessorCount) * k.perSM,
          a.count);
      void *args[] = {&a};
      cudaError_t e = cudaLaunchKernel(k.fn, dim3(static_cast<unsigned>(grid)),
                                       dim3(kThreads), args, 0, s);
      if (e != cudaSuccess) {
        error = cudaMessage("launching the plan kernels", e);
        return false;
      }
    }
    a.first += a.count;
  }
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) {
    error = cudaMessage("launching the plan kernels", e);
    return false;
  }
  return true;
}

bool Executor::synchronize(void *stream, std::string &error) {
  cudaError_t e = cudaStreamSynchronize(static_cast<cudaStream_t>(stream));
  if (e != cudaSuccess) {
    error = cudaMessage("cudaStreamSynchronize", e);
    return false;
  }
  return true;
}

void *Executor::allocate(size_t bytes, std::string &error) {
  void *p = nullptr;
  cudaError_t e = cudaMalloc(&p, bytes ? bytes : 1);
  if (e != cudaSuccess) {
    error = cudaMessage("cudaMalloc", e);
    return nullptr;
  }
  return p;
}

void Executor::release(void *p) { cudaFree(p); }

namespace {
bool copy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind,
          const char *what, std::string &error) {
  cudaError_t e = cudaMemcpy(dst, src, bytes, kind);
  if (e != cudaSuccess) {
    error = cudaMessage(what, e);
    return false;
  }
  return true;
}
} // namespace

bool Executor::copyToDevice(void *dst, const void *src, size_t bytes,
                            std::string &error) {
  return copy(dst, src, bytes, cudaMemcpyHostToDevice,
              "cudaMemcpy to the device", error);
}

bool Executor::copyToHost(void *dst, const void *src, size_t bytes,
                          std::string &error) {
  return copy(dst, src, bytes, cudaMemcpyDeviceToHost, "cudaMemcpy to the host",
              error);
}

bool checkCastFastPaths(std::string &report) {
  std::string why;
  if (!deviceAvailable(why)) {
    report = why;
    return false;
  }
  DeviceBuffer buf;
  if (!buf.reserve(6 * sizeof(unsigned long long), report))
    return false;
  unsigned long long init[6] = {0, 0, 0, ~0ull, ~0ull, ~0ull}, out[6];
  auto *p = static_cast<unsigned long long *>(buf.p);
  cudaError_t e = cudaMemcpy(p, init, sizeof init, cudaMemcpyHostToDevice);
  if (e == cudaSuccess) {
    compareFastCasts<<<1024, 256>>>(p, p + 3);
    e = cudaGetLastError();
  }
  if (e == cudaSuccess)
    e = cudaMemcpy(out, p, sizeof out, cudaMemcpyDeviceToHost);
  if (e != cudaSuccess) {
    report = cudaMessage("comparing the fast casts", e);
    return false;
  }
  char text[320];
  if (out[0] || out[1] || out[2]) {
    std::snprintf(text, sizeof text,
                  "fast casts differ from the exact ones: f32 -> f16 on %llu "
                  "inputs (first 0x%08llx), f16 -> f32 on %llu (first "
                  "0x%04llx), f32 -> bf16 on %llu (first 0x%08llx)",
                  out[0], out[0] ? out[3] : 0ull, out[1],
                  out[1] ? out[4] : 0ull, out[2], out[2] ? out[5] : 0ull);
    report = text;
    return false;
  }
  report = "the fast f32 -> f16, f32 -> bf16 and f16 -> f32 casts equal the "
           "exact ones on all 2^32, 2^32 and 2^16 inputs";
  return true;
}

} // namespace wl::runtime::cuda
