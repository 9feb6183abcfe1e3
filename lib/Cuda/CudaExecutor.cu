//===- CudaExecutor.cu - plans executed by CUDA kernels -------------------===//
//
// Up to four kernels share a task table's units by kind (docs/cuda.md).
// copyFlat (aligned row copies and fills, with their fused padding) is not
// persistent: as many blocks as 32 KiB pieces of its units, handed out in
// order by the hardware, so that the memory in flight is one short stretch
// (as the driver's own copy runs). transposeUnits (aligned transposes,
// loads staged in shared memory), convertUnits (converting rows) and
// runUnits (everything else) are persistent: block b takes units b, b +
// grid, ..., so the blocks sweep the table together, unit and task
// descriptors prefetched into L1 before their turn. There is no barrier
// anywhere. The unit kinds mirror runTableOnHost (TaskTable.cpp) index for
// index; the host emulation is what CI checks, the GPU tests compare the
// kernels with the CPU executor byte for byte.
//
//===----------------------------------------------------------------------===//
#include "wl/Runtime/CudaExecutor.h"
#include "wl/Runtime/DeviceConvert.h"

#include "SharedMemory.cuh"

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
  const uint8_t *const *sources;
  uint8_t *const *targets;
};

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
/// range. Thread (kc, ic) = (x % 8, x / 8) moves the blocks at
/// k = a1 + kc V and i = b0 + ic V + m iStep. (The general kernel's
/// transposes: those not aligned to the word, element by element.)
template <int ES>
__device__ __forceinline__ void transposeUnit(const Task &t, const Unit u,
                                              const uint8_t *src, uint8_t *dst) {
  constexpr TransposeShape sh = transposeShape(ES);
  int64_t so, d;
  outerOffsets(t, u.a0, so, d);
  const int kc = threadIdx.x % 8, ic = threadIdx.x / 8;
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

/// Converting rows, G = 16 / max(SS, DS) elements at a time: rows of
/// `groups` groups, rs and rd bytes apart, as one flattened space (as
/// moveRows); B groups in flight per thread; each element through f (the
/// task's steps, or one cast inlined: wl/Runtime/DeviceConvert.h, the
/// host's exact semantics).
template <int SS, int DS, int B, typename F>
__device__ __noinline__ void convertGroups(const uint8_t *s0, uint8_t *d0,
                                           uint32_t rows, uint32_t groups,
                                           uint32_t rs, uint32_t rd, F f) {
  constexpr int G = 16 / (SS > DS ? SS : DS);
  using SW = typename Bits<G * SS>::T;
  using DW = typename Bits<G * DS>::T;
  const uint32_t total = rows * groups;
  const uint32_t dr = kThreads / groups, dc = kThreads % groups;
  uint32_t r = threadIdx.x / groups, c = threadIdx.x % groups;
  for (uint32_t g = threadIdx.x; g < total; g += B * kThreads) {
    SW v[B];
    uint32_t rr = r, cc = c;
#pragma unroll
    for (int k = 0; k < B; ++k) {
      if (g + k * kThreads < total)
        v[k] = *reinterpret_cast<const SW *>(s0 + (rr * rs + cc * (G * SS)));
      step(rr, cc, dr, dc, groups);
    }
    rr = r;
    cc = c;
#pragma unroll
    for (int k = 0; k < B; ++k) {
      if (g + k * kThreads < total) {
        DW o{};
#pragma unroll
        for (int e = 0; e < G; ++e)
          putElement<DS>(o, e, f(getElement<SS>(v[k], e)));
        *reinterpret_cast<DW *>(d0 + (rr * rd + cc * (G * DS))) = o;
      }
      step(rr, cc, dr, dc, groups);
    }
    r = rr;
    c = cc;
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

template <int SS>
__device__ __forceinline__ void convertGroupsTo(int ds, const uint8_t *s0,
                                                uint8_t *d0, uint32_t rows,
                                                uint32_t groups, uint32_t rs,
                                                uint32_t rd, const Task &t) {
  const Steps f{t.steps, t.nsteps};
  switch (ds) {
  case 2: convertGroups<SS, 2, 4>(s0, d0, rows, groups, rs, rd, f); break;
  case 4: convertGroups<SS, 4, 4>(s0, d0, rows, groups, rs, rd, f); break;
  default: convertGroups<SS, 8, 4>(s0, d0, rows, groups, rs, rd, f);
  }
}

/// The casts between 16-bit floats and f32 with their own code: true if
/// `t` is one of them and was done.
__device__ __forceinline__ bool castGroups(const Task &t, const uint8_t *s0,
                                           uint8_t *d0, uint32_t rows,
                                           uint32_t groups, uint32_t rs,
                                           uint32_t rd) {
  if (t.nsteps != 1 || t.steps[0].kind != 0)
    return false;
  const int32_t from = t.steps[0].from, to = t.steps[0].to;
  if (from == kF32 && to == kBF16)
    convertGroups<4, 2, 8>(s0, d0, rows, groups, rs, rd, Cast<kF32, kBF16>{});
  else if (from == kBF16 && to == kF32)
    convertGroups<2, 4, 8>(s0, d0, rows, groups, rs, rd, Cast<kBF16, kF32>{});
  else if (from == kF32 && to == kF16)
    convertGroups<4, 2, 8>(s0, d0, rows, groups, rs, rd, Cast<kF32, kF16>{});
  else if (from == kF16 && to == kF32)
    convertGroups<2, 4, 8>(s0, d0, rows, groups, rs, rd, Cast<kF16, kF32>{});
  else
    return false;
  return true;
}

/// Converting rows: whole groups of elements as words where t.vec says the
/// addresses allow it (float to float), else element by element.
__device__ __noinline__ void convertRows(const Task &t, const Unit u,
                                         const uint8_t *src, uint8_t *dst) {
  const RowUnit ru = rowUnit(t, u, src, dst);
  const uint8_t *s0 = ru.s0;
  uint8_t *d0 = ru.d0;
  const uint32_t rows = static_cast<uint32_t>(ru.rows);
  const uint32_t rs = static_cast<uint32_t>(ru.rs),
                 rd = static_cast<uint32_t>(ru.rd);
  if (t.vec == 16) {
    const int g = 16 / (t.srcSize > t.dstSize ? t.srcSize : t.dstSize);
    const uint32_t groups = static_cast<uint32_t>((u.b1 - u.b0) / g);
    if (castGroups(t, s0, d0, rows, groups, rs, rd))
      return;
    switch (t.srcSize) {
    case 2: convertGroupsTo<2>(t.dstSize, s0, d0, rows, groups, rs, rd, t); break;
    case 4: convertGroupsTo<4>(t.dstSize, s0, d0, rows, groups, rs, rd, t); break;
    default: convertGroupsTo<8>(t.dstSize, s0, d0, rows, groups, rs, rd, t);
    }
    return;
  }
  const int64_t n = u.b1 - u.b0;
  for (uint32_t r = 0; r < rows; ++r)
    for (int64_t i = threadIdx.x; i < n; i += kThreads) {
      uint64_t v = loadElement(s0 + r * rs + i * t.srcSize, t.srcSize);
      for (int k = 0; k < t.nsteps; ++k)
        v = applyStep(t.steps[k], v);
      storeElement(d0 + r * rd + i * t.dstSize, t.dstSize, v);
    }
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

/// Block b's units b, b + grid, ... of its kernel's share, each with its
/// task: work(task, unit), the next descriptor fetched into L1 meanwhile.
template <typename Work>
__device__ __forceinline__ void forEachUnit(const Args &a, Work work) {
  const long long step = gridDim.x, end = a.first + a.count;
  for (long long u = a.first + blockIdx.x; u < end; u += step) {
    if (threadIdx.x == 0 && u + step < end)
      prefetchL1(a.units + u + step);
    const Unit cur = a.units[u];
    work(a.tasks[cur.task], cur);
  }
}

/// Converting rows, in a kernel of their own so that the conversions'
/// code does not change how the general kernel's row moves are compiled
/// (measured: a shared kernel slowed short-row copies by a fifth). Two
/// blocks an SM leave 128 registers a thread, so that the casts' eight
/// groups in flight are not spilled.
__global__ void __launch_bounds__(kThreads, 2) convertUnits(Args a) {
  forEachUnit(a, [&](const Task &t, const Unit &u) {
    convertRows(t, u, a.sources[t.source], a.targets[t.target]);
  });
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
    const uint8_t *src = t.source >= 0 ? a.sources[t.source] : nullptr;
    uint8_t *dst = a.targets[t.target];
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
  const RowUnit r = rowUnit(t, cur, fill ? nullptr : a.sources[t.source],
                            a.targets[t.target]);
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

//===----------------------------------------------------------------------===//
// Transposes staged through shared memory by cp.async
//===----------------------------------------------------------------------===//

using cuda_ptx::smemAddress;
//
// Aligned transposes run in their own kernel where each thread's next
// blocks are already on their way into shared memory (cp.async, no
// registers held) while it transposes and stores the current one: the
// loads of kStagesT - 1 blocks per thread stay in flight (3 stages with two
// blocks an SM measured best on an H200 against 2, 4 and 6). A thread reads
// back only what it loaded itself, so no barrier is needed; the slots are
// laid out [stage][row v][thread] so that the 16-byte reads of a warp are
// conflict-free.

constexpr int kStagesT = 3;

template <int ES>
__device__ __noinline__ void transposeStaged(const Task &t, const Unit u,
                                                 const uint8_t *src,
                                                 uint8_t *dst, uint8_t *slots) {
  constexpr TransposeShape sh = transposeShape(ES);
  constexpr int V = sh.v, NS = kStagesT;
  using W = typename RowWord<sh.wordBytes>::T;
  using E = typename Word<ES>::T;
  int64_t so, d;
  outerOffsets(t, u.a0, so, d);
  const int kc = threadIdx.x % 8, ic = threadIdx.x / 8;
  const int64_t k = u.a1 + kc * V;
  const int64_t si = t.srcStride * ES, dk = t.dk * ES;
  const uint8_t *s0 = src + (so + k) * ES;
  uint8_t *d0 = dst + d * ES + k * dk;
  const int64_t kn = t.kExtent - k, g0 = u.b0 + ic * V;
  const int64_t nblocks = g0 < u.b1 ? (u.b1 - g0 + sh.iStep - 1) / sh.iStep : 0;
  auto slot = [&](int64_t m, int v) {
    return slots + ((m % NS * V + v) * kThreads + threadIdx.x) * sizeof(W);
  };
  // Block m at g = g0 + m iStep of the unit's (outer, i) space: i = g where
  // the unit has one outer index, else outer g / n (CudaTasks.h), whose
  // blocks are whole in i (n a multiple of V).
  const bool several = transposeUnitOuters(t, u) > 1;
  const int64_t os = several ? t.outerSrc[t.nouter - 1] * ES : 0,
                od = several ? t.outerDst[t.nouter - 1] * ES : 0;
  const uint32_t n32 = static_cast<uint32_t>(t.n);
  struct Block {
    const uint8_t *s;
    uint8_t *o;
    int64_t vn; // i values of the block
  };
  auto block = [&](int64_t m) {
    const int64_t g = g0 + m * sh.iStep;
    if (!several)
      return Block{s0 + g * si, d0 + g * ES, u.b1 - g < V ? u.b1 - g : V};
    const uint32_t oo = static_cast<uint32_t>(g) / n32;
    const int64_t i = g - int64_t(oo) * n32;
    return Block{s0 + oo * os + i * si, d0 + oo * od + i * ES, V};
  };
  for (int64_t m = 0; m < nblocks + NS - 1; ++m) {
    if (m < nblocks) {
      const Block b = block(m);
      if (kn >= V && b.vn == V) {
        const uint8_t *s = b.s;
#pragma unroll
        for (int v = 0; v < V; ++v) {
          if constexpr (sizeof(W) == 16)
            asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(
                             smemAddress(slot(m, v))),
                         "l"(s + v * si)
                         : "memory");
          else
            asm volatile("cp.async.ca.shared.global [%0], [%1], 8;" ::"r"(
                             smemAddress(slot(m, v))),
                         "l"(s + v * si)
                         : "memory");
        }
      }
    }
    asm volatile("cp.async.commit_group;" ::: "memory");
    const int64_t mm = m - (NS - 1);
    if (mm < 0)
      continue;
    asm volatile("cp.async.wait_group %0;" ::"n"(NS - 1) : "memory");
    const Block b = block(mm);
    uint8_t *o = b.o;
    if (kn >= V && b.vn == V) {
      W in[V];
#pragma unroll
      for (int v = 0; v < V; ++v)
        in[v] = *reinterpret_cast<const W *>(slot(mm, v));
#pragma unroll
      for (int c = 0; c < V; ++c)
        *reinterpret_cast<W *>(o + c * dk) = column<ES>(in, c);
    } else {
      const uint8_t *sp = b.s;
      const int64_t cn = kn < V ? kn : V, vn = b.vn;
      for (int64_t c = 0; c < cn; ++c)
        for (int64_t v = 0; v < vn; ++v)
          *reinterpret_cast<E *>(o + c * dk + v * ES) =
              *reinterpret_cast<const E *>(sp + v * si + c * ES);
    }
  }
}

/// Bytes of shared memory of a staged transpose block: the largest slot
/// set (2-byte elements: 8 rows of 16 bytes per thread per stage).
constexpr int kStagedSmem = kStagesT * 8 * kThreads * 16;

__global__ void __launch_bounds__(kThreads, 2) transposeUnits(Args a) {
  extern __shared__ __align__(16) uint8_t slots[];
  forEachUnit(a, [&](const Task &t, const Unit &u) {
    const uint8_t *src = a.sources[t.source];
    uint8_t *dst = a.targets[t.target];
    switch (t.dstSize) {
    case 1: transposeStaged<1>(t, u, src, dst, slots); break;
    case 2: transposeStaged<2>(t, u, src, dst, slots); break;
    case 4: transposeStaged<4>(t, u, src, dst, slots); break;
    default: transposeStaged<8>(t, u, src, dst, slots);
    }
  });
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

/// Counts the inputs on which the fast casts (Cast<kF32, kF16> over all 2^32
/// f32 bit patterns, Cast<kF16, kF32> over all 2^16 f16 ones) differ from
/// castFloatBits; `first` keeps the smallest such input of each (slot 0:
/// f32 -> f16, slot 1: f16 -> f32).
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
  }
}

} // namespace

/// The plan kernels, in launch order, and how each is launched.
enum KernelGroup {
  kRowsGroup,
  kStagedGroup,
  kConvertGroup,
  kGeneralGroup,
  kGroups
};
struct KernelLaunch {
  const void *fn;
  int threads, smem;
  int perSM = 1;         ///< resident blocks an SM (occupancy)
  long long count = 0;   ///< units of the last run
  int parts = 0; ///< > 0: not persistent, parts blocks a unit (copyFlat)
};

struct Executor::Impl {
  int device = 0;
  cudaDeviceProp props{};
  bool ready = false;
  KernelLaunch kernels[kGroups] = {
      {reinterpret_cast<const void *>(copyFlat<kRowWords>), kThreads, 0},
      {reinterpret_cast<const void *>(transposeUnits), kThreads, kStagedSmem},
      {reinterpret_cast<const void *>(convertUnits), kThreads, 0},
      {reinterpret_cast<const void *>(runUnits), kThreads, 0}};
  DeviceBuffer tasks, units, pointers;
  /// The units in launch order, grouped by kernel.
  std::vector<Unit> ordered;
  size_t nsources = 0;
  int64_t smallPlanBytes = kSmallPlanBytes;
  BalanceOptions balance;

  /// Shared-memory limits and occupancies, once.
  bool setUp(std::string &error) {
    for (KernelLaunch &k : kernels) {
      cudaError_t e = cudaSuccess;
      if (k.smem > 0) // over 48 KiB with the static part: opt in
        e = cudaFuncSetAttribute(
            k.fn, cudaFuncAttributeMaxDynamicSharedMemorySize, k.smem);
      if (e == cudaSuccess)
        e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&k.perSM, k.fn,
                                                          k.threads, k.smem);
      if (e != cudaSuccess) {
        error = cudaMessage("setting up the plan kernels", e);
        return false;
      }
      k.perSM = std::max(1, k.perSM);
    }
    ready = true;
    return true;
  }
};

void Executor::setSmallPlanBytes(int64_t bytes) {
  impl_->smallPlanBytes = bytes;
}

void Executor::setBalance(const BalanceOptions &options) {
  impl_->balance = options;
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
  // copyFlat, transposes whose blocks are all aligned to the staged kernel,
  // converting rows to theirs, the rest to the general kernel: up to four
  // launches, in that order, on the stream. A small plan (a few norms,
  // biases) is one launch of the general kernel: there launches, not
  // bytes, are the cost.
  const bool small = table.bytes < impl_->smallPlanBytes;
  auto group = [&](const Task &t) {
    if ((t.kind == kCopyRows || t.kind == kFillRows) && t.vec == 16 && !small)
      return kRowsGroup;
    if (t.kind == kTranspose && t.vec > 1 && !small)
      return kStagedGroup;
    if (t.kind == kConvertRows)
      return kConvertGroup;
    return kGeneralGroup;
  };
  // The units grouped by kernel, in table order within a group. A
  // transpose unit of several outer indices (CudaTasks.h) going to the
  // general kernel becomes one unit per outer index: only the staged
  // kernel pipelines across them, and the general kernel keeps its
  // registers for its other paths. Then the last, partial round of the
  // staged transposes' units is shared by all the blocks of their launch
  // (balanceLastRound): that kernel keeps its loads in flight across
  // units, so a block's extra part costs it little. The persistent general
  // and converting kernels start each unit's loads afresh, a DRAM latency
  // a unit: there the parts cost more than the idle end they save
  // (measured on an H200, docs/cuda.md).
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
  std::vector<Unit> &ordered = impl_->ordered;
  ordered.clear();
  long long count[kGroups] = {0, 0, 0, 0};
  // copyFlat's blocks: as many a unit as the largest unit needs.
  int64_t most = 1; // bytes a unit of copyFlat writes
  for (const Unit &u : grouped[kRowsGroup]) {
    const Task &t = table.tasks[u.task];
    most = std::max(most, (u.a1 - u.a0) * (u.b1 - u.b0 + t.tail) * t.dstSize);
  }
  const int64_t flatBlock = int64_t(kThreads) * 16 * kRowWords;
  impl_->kernels[kRowsGroup].parts =
      static_cast<int>((most + flatBlock - 1) / flatBlock);
  for (int g = 0; g < kGroups; ++g) {
    if (g == kStagedGroup && impl_->balance.maxRounds > 0)
      grouped[g] = balanceLastRound(
          table, std::move(grouped[g]),
          static_cast<int64_t>(impl_->props.multiProcessorCount) *
              impl_->kernels[g].perSM,
          impl_->balance);
    count[g] = static_cast<long long>(grouped[g].size());
    ordered.insert(ordered.end(), grouped[g].begin(), grouped[g].end());
  }
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  size_t taskBytes = table.tasks.size() * sizeof(Task);
  size_t unitTableBytes = ordered.size() * sizeof(Unit);
  std::vector<uint64_t> ptrs(sb);
  ptrs.insert(ptrs.end(), tb.begin(), tb.end());
  size_t ptrBytes = ptrs.size() * sizeof(uint64_t);
  if (!impl_->tasks.reserve(taskBytes, error) ||
      !impl_->units.reserve(unitTableBytes, error) ||
      !impl_->pointers.reserve(ptrBytes, error))
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
    e = cudaMemcpyAsync(impl_->pointers.p, ptrs.data(), ptrBytes,
                        cudaMemcpyHostToDevice, s);
  if (e == cudaSuccess)
    e = cudaStreamSynchronize(s);
  if (e != cudaSuccess) {
    error = cudaMessage("uploading the task table", e);
    return false;
  }
  for (int g = 0; g < kGroups; ++g)
    impl_->kernels[g].count = count[g];
  impl_->nsources = sb.size();
  return launch(stream, error);
}

bool Executor::launch(void *stream, std::string &error) {
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  Args a;
  a.tasks = static_cast<const Task *>(impl_->tasks.p);
  a.units = static_cast<const Unit *>(impl_->units.p);
  a.sources = static_cast<const uint8_t *const *>(impl_->pointers.p);
  a.targets = reinterpret_cast<uint8_t *const *>(
      static_cast<uint64_t *>(impl_->pointers.p) + impl_->nsources);
  // Each kernel over its group: copyFlat as `parts` blocks a unit, the
  // persistent ones as a wave of resident blocks at most.
  a.first = 0;
  for (int g = 0; g < kGroups; ++g) {
    const KernelLaunch &k = impl_->kernels[g];
    a.count = k.count;
    if (a.count > 0 && k.parts > 0) { // not persistent: parts blocks a unit
      if (a.count * k.parts > 0x7fffffffll) {
        error = "a plan of more than 2^31 blocks of 32 KiB: cut it into "
                "smaller plans";
        return false;
      }
      int parts = k.parts;
      void *args[] = {&a, &parts};
      cudaError_t e =
          cudaLaunchKernel(k.fn, dim3(static_cast<unsigned>(a.count * parts)),
                           dim3(k.threads), args, k.smem, s);
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
                                       dim3(k.threads), args, k.smem, s);
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
  if (!buf.reserve(4 * sizeof(unsigned long long), report))
    return false;
  unsigned long long init[4] = {0, 0, ~0ull, ~0ull}, out[4];
  auto *p = static_cast<unsigned long long *>(buf.p);
  cudaError_t e = cudaMemcpy(p, init, sizeof init, cudaMemcpyHostToDevice);
  if (e == cudaSuccess) {
    compareFastCasts<<<1024, 256>>>(p, p + 2);
    e = cudaGetLastError();
  }
  if (e == cudaSuccess)
    e = cudaMemcpy(out, p, sizeof out, cudaMemcpyDeviceToHost);
  if (e != cudaSuccess) {
    report = cudaMessage("comparing the fast casts", e);
    return false;
  }
  char text[256];
  if (out[0] || out[1]) {
    std::snprintf(text, sizeof text,
                  "fast casts differ from the exact ones: f32 -> f16 on %llu "
                  "inputs (first 0x%08llx), f16 -> f32 on %llu (first "
                  "0x%04llx)",
                  out[0], out[0] ? out[2] : 0ull, out[1],
                  out[1] ? out[3] : 0ull);
    report = text;
    return false;
  }
  report = "the fast f32 -> f16 and f16 -> f32 casts equal the exact ones on "
           "all 2^32 and 2^16 inputs";
  return true;
}

} // namespace wl::runtime::cuda
