//===- CopyKernel.cuh - rows by 8 KiB blocks -------------------*- CUDA -*-===//
//
// copyFlat: aligned row copies and fills, with their fused padding, as
// non-persistent blocks of 8 KiB (docs/cuda.md).
//
//===----------------------------------------------------------------------===//
#ifndef WL_CUDA_COPYKERNEL_CUH
#define WL_CUDA_COPYKERNEL_CUH

#include "KernelCommon.cuh"

namespace wl::runtime::cuda::kernels {

//===----------------------------------------------------------------------===//
// Row copies and fills, a block per 8 KiB (not persistent)
//===----------------------------------------------------------------------===//
//
// As the driver's own copy moves memory: as many blocks as there are
// pieces, handed out in order by the hardware, so that the bytes in flight
// at any moment are one short stretch of the table, where persistent
// blocks drift apart over the address space (docs/cuda.md). Block b moves
// piece p = b % parts of unit b / parts, parts being the most pieces any
// unit of the launch has (a smaller unit's extra blocks return at once).

/// 16-byte words a thread of copyFlat moves: 8 KiB a block. Two, because a
/// one-word block pays its descriptor's latency (from L2) before its only
/// load, and four or eight make fewer, larger blocks for no gain
/// (docs/cuda.md).
constexpr int kRowWords = 2;

/// Block b moves part p = b % parts of unit b / parts (its FlatRows, read
/// with three broadcast loads): words q = p 256 U + k 256 + x for k < U,
/// all loads in flight before the first store.
template <int U>
__global__ void __launch_bounds__(kThreads)
    copyFlat(const FlatRows *units, int parts) {
  const FlatRows *f = units + blockIdx.x / parts;
  const uint32_t p = blockIdx.x % parts;
  const uint4 w0 = __ldg(reinterpret_cast<const uint4 *>(f)),
              w1 = __ldg(reinterpret_cast<const uint4 *>(f) + 1),
              w2 = __ldg(reinterpret_cast<const uint4 *>(f) + 2);
  const uint8_t *s0 = reinterpret_cast<const uint8_t *>(
      static_cast<uint64_t>(w0.y) << 32 | w0.x);
  uint8_t *d0 =
      reinterpret_cast<uint8_t *>(static_cast<uint64_t>(w0.w) << 32 | w0.z);
  const uint4 pattern = make_uint4(w1.x, w1.y, w1.x, w1.y);
  const uint32_t rs = w1.z, rd = w1.w, words = w2.x, copied = w2.y,
                 total = w2.z;
  const uint32_t q0 = p * kThreads * U + threadIdx.x;
  uint4 v[U];
#pragma unroll
  for (int k = 0; k < U; ++k) {
    const uint32_t q = q0 + k * kThreads, row = q / words, c = q % words;
    v[k] = pattern;
    if (q < total && c < copied)
      v[k] = *reinterpret_cast<const uint4 *>(s0 + (row * rs + c * 16));
  }
#pragma unroll
  for (int k = 0; k < U; ++k) {
    const uint32_t q = q0 + k * kThreads, row = q / words, c = q % words;
    if (q < total)
      *reinterpret_cast<uint4 *>(d0 + (row * rd + c * 16)) = v[k];
  }
}

/// One-element fills (FlatFill), a thread each: thread x of block b writes
/// fill b 256 + x of the n.
__global__ void __launch_bounds__(kThreads)
    fillElements(const FlatFill *fills, long long n) {
  const long long i = static_cast<long long>(blockIdx.x) * kThreads + threadIdx.x;
  if (i >= n)
    return;
  const FlatFill f = fills[i];
  storeElement(reinterpret_cast<uint8_t *>(f.dst), static_cast<int>(f.size),
               f.bits);
}

} // namespace wl::runtime::cuda::kernels

#endif // WL_CUDA_COPYKERNEL_CUH
