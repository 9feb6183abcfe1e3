//===- CopyKernel.cuh - rows by 32 KiB blocks ------------------*- CUDA -*-===//
//
// copyFlat: aligned row copies and fills, with their fused padding, as
// non-persistent blocks of 32 KiB (docs/cuda.md).
//
//===----------------------------------------------------------------------===//
#ifndef WL_CUDA_COPYKERNEL_CUH
#define WL_CUDA_COPYKERNEL_CUH

#include "KernelCommon.cuh"

namespace wl::runtime::cuda::kernels {

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

} // namespace wl::runtime::cuda::kernels

#endif // WL_CUDA_COPYKERNEL_CUH
