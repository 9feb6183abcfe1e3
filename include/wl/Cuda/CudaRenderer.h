//===- CudaRenderer.h - checkpoint windows rendered on a GPU ----*- C++ -*-===//
//
// Plain C++ (no CUDA header). The streaming writer's window renderer for
// `weight-layout-convert --device cuda`: the source tensors a window reads
// are uploaded once and kept on the device while they fit; the window is
// rendered by the CUDA executor's kernels and copied back into the writer's
// pinned buffer, which the writer threads store while the next window runs.
// Uploads go through a ring of pinned staging buffers: several threads read
// each chunk from the file (pread, from the page cache straight into pinned
// memory) while the chunks before it are copied to the device, so that the
// upload runs at the host-to-device copy's speed rather than at one
// thread's. Runs that are plain copies of a source never reach the GPU:
// the writer hands them to copy_file_range as on the CPU.
//
//===----------------------------------------------------------------------===//
#ifndef WL_RUNTIME_CUDARENDERER_H
#define WL_RUNTIME_CUDARENDERER_H

#include "wl/Runtime/StreamWriter.h"

#include <memory>
#include <string>

namespace wl::runtime::cuda {

struct RendererOptions {
  /// Device memory for resident source tensors; 0: half the free memory.
  size_t residentBytes = 0;
  /// Bytes of each pinned staging buffer.
  size_t stagingBytes = 16ull << 20;
  /// Staging buffers in the ring.
  int stagingBuffers = 4;
  /// Threads reading each chunk; 0: all cores but two, at most 16.
  int readThreads = 0;
};

struct RendererStats {
  double uploadedBytes = 0, uploadSeconds = 0;
  int readThreads = 0;
  double renderedBytes = 0, kernelSeconds = 0;
  double downloadSeconds = 0;
};

class Renderer : public WindowRenderer {
public:
  /// Null with the reason when there is no CUDA device (or no CUDA build).
  static std::unique_ptr<Renderer> create(const RendererOptions &options,
                                          std::string &error);
  virtual std::string describe() const = 0;
  virtual RendererStats stats() const = 0;
};

} // namespace wl::runtime::cuda

#endif // WL_RUNTIME_CUDARENDERER_H
