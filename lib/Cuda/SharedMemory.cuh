//===- SharedMemory.cuh - shared-memory addresses, mbarrier waits ---------===//
//
// The two PTX idioms the standalone probes
// (bench/cuda/experiments/copy_probe.cu, tma_transpose_probe.cu) need: a
// generic pointer into shared memory as the 32-bit address PTX takes, and
// waiting for an mbarrier's phase of a given parity. CUDA only; no MLIR,
// no runtime types.
//
//===----------------------------------------------------------------------===//
#ifndef WL_CUDA_SHAREDMEMORY_CUH
#define WL_CUDA_SHAREDMEMORY_CUH

#include <cstdint>

namespace wl::cuda_ptx {

__device__ __forceinline__ uint32_t smemAddress(const void *p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

/// Spins until the mbarrier at shared address `bar` completes the phase of
/// parity `parity`.
__device__ __forceinline__ void mbarrierWait(uint32_t bar, uint32_t parity) {
  uint32_t done = 0;
  while (!done)
    asm volatile("{\n .reg .pred p;\n"
                 " mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
                 " selp.u32 %0, 1, 0, p;\n}"
                 : "=r"(done)
                 : "r"(bar), "r"(parity)
                 : "memory");
}

} // namespace wl::cuda_ptx

#endif // WL_CUDA_SHAREDMEMORY_CUH
