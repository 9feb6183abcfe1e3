//===- GeneralKernel.cuh - the persistent kernel ---------------*- CUDA -*-===//
//
// runUnits, the persistent kernel of everything the non-persistent ones
// do not take (rows not aligned to 16 bytes, copies with their tails,
// transposes not aligned to the word, element-by-element moves and fills,
// and the whole of a small plan), with its row, transpose and element
// paths (docs/cuda.md).
//
//===----------------------------------------------------------------------===//
#ifndef WL_CUDA_GENERALKERNEL_CUH
#define WL_CUDA_GENERALKERNEL_CUH

#include "KernelCommon.cuh"
#include "wl/Cuda/DeviceConvert.h"

namespace wl::runtime::cuda::kernels {

/// Words each thread has in flight in the general kernel's row copies and
/// fills.
constexpr int kBatch = 8;

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

/// The blocks of one thread of a transpose unit: V x V blocks at i = i0,
/// i0 + iStep, ... below i1, from s0 + i * si (row i of the source at this
/// thread's k) to d0 + i * ES (row k of the target), si and dk in bytes;
/// `kn` k values are left from this thread's k. V word loads along k (a
/// warp reads 256 contiguous bytes of each of 2 source rows), V word stores
/// along i (32 contiguous bytes of each of 16 target rows, continued by
/// the next warps: here, in small plans, launches cost more than the
/// stores' pattern). Blocks cut by the end of k or i, or not aligned to
/// the word (`vec` false), go element by element.
template <int ES>
__device__ __noinline__ void transposeBlocks(const uint8_t *s0, uint8_t *d0,
                                             int64_t si, int64_t dk, int64_t i0,
                                             int64_t i1, int64_t kn, bool vec) {
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
__device__ __forceinline__ void
transposeUnit(const Task &t, const Unit u, const uint8_t *src, uint8_t *dst) {
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

__device__ __noinline__ void elements(const Task &t, const Unit u,
                                      const uint8_t *src, uint8_t *dst) {
  for (int64_t e = u.a0 + threadIdx.x; e < u.a1; e += kThreads) {
    int64_t o = e / t.n, i = e % t.n, so, d;
    outerOffsets(t, o, so, d);
    uint64_t v;
    if (t.kind == kFill) {
      v = t.fill;
    } else {
      v = loadElement(src + (so + i * t.srcStride) * t.srcSize, t.srcSize);
      const uint64_t g = scaleBitsAt(
          t, reinterpret_cast<const uint8_t *>(t.scaleAddress), o, i);
      if (t.kind == kConvert)
        for (int k = 0; k < t.nsteps; ++k)
          v = applyStep(t.steps[k], v, g);
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
/// together (contiguous shares per block would drift apart, and be
/// unbalanced when units differ in size).
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
      case 16:
        rows<uint4>(t, cur, src, dst);
        break;
      case 8:
        rows<uint2>(t, cur, src, dst);
        break;
      case 4:
        rows<uint32_t>(t, cur, src, dst);
        break;
      case 2:
        rows<uint16_t>(t, cur, src, dst);
        break;
      default:
        rows<uint8_t>(t, cur, src, dst);
      }
      break;
    case kTranspose:
      switch (t.dstSize) {
      case 1:
        transposeUnit<1>(t, cur, src, dst);
        break;
      case 2:
        transposeUnit<2>(t, cur, src, dst);
        break;
      case 4:
        transposeUnit<4>(t, cur, src, dst);
        break;
      default:
        transposeUnit<8>(t, cur, src, dst);
      }
      break;
    default:
      elements(t, cur, src, dst);
    }
  }
}

} // namespace wl::runtime::cuda::kernels

#endif // WL_CUDA_GENERALKERNEL_CUH
