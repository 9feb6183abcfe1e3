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

/// The run-time scale's element offset of outer index `o` of task `t` (a
/// task with a scale), split as outerOffsets splits it.
WL_HD int64_t outerScaleOffset(const Task &t, int64_t o) {
  int64_t g = t.scaleOffset;
  for (int j = t.nouter - 1; j >= 0; --j) {
    g += (o % t.outerSize[j]) * t.outerScale[j];
    o /= t.outerSize[j];
  }
  return g;
}

/// The bits of element `i` of outer index `o`'s run-time scale, read from
/// `scales` (the task's scale source), or 0 for a task without one.
WL_HD uint64_t scaleBitsAt(const Task &t, const uint8_t *scales, int64_t o,
                           int64_t i) {
  if (t.scaleSource < 0)
    return 0;
  const uint8_t *p = scales + (outerScaleOffset(t, o) + i * t.scaleStride) *
                                  t.scaleSize;
  return t.scaleSize == 1 ? *p : *reinterpret_cast<const uint32_t *>(p);
}

} // namespace wl::runtime::cuda

#endif // WL_CUDA_TASKINDEX_H
