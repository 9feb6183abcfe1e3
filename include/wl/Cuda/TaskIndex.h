//===- TaskIndex.h - where a task's rows start ------------------*- C++ -*-===//
//
// The index arithmetic of a Task (CudaTasks.h) that the kernels and the
// host emulation of the task table (runTableOnHost) both run, so that the
// host test checks the code the GPU executes.
//
//===----------------------------------------------------------------------===//
#ifndef WL_CUDA_TASKINDEX_H
#define WL_CUDA_TASKINDEX_H

#include "wl/Cuda/CudaTasks.h"
#include "wl/Cuda/HostDevice.h"

#include <cstdint>

namespace wl::runtime::cuda {

/// The source and target element offsets of outer index `o` of task `t`:
/// `o` is split into the coordinates of t.outerSize (the last fastest), and
/// each adds its stride on either side to t.srcOffset and t.dstOffset.
/// Below 2^32 the split uses 32-bit division (a 64-bit one costs about ten
/// times as much on the GPU); it assumes the outer sizes fit in 32 bits.
WL_HD void outerOffsets(const Task &t, int64_t o, int64_t &src,
                        int64_t &dst) {
  src = t.srcOffset;
  dst = t.dstOffset;
  if (o < (1ll << 32)) {
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

} // namespace wl::runtime::cuda

#endif // WL_CUDA_TASKINDEX_H
