//===- CudaRenderer.h - checkpoint windows rendered on a GPU ----*- C++ -*-===//
//
// Plain C++ (no CUDA header). The streaming writer's window renderer for
// `weight-layout-convert --device cuda`: the source tensors a window reads
// are uploaded once (through two pinned staging buffers, so that reading the
// next chunk from the page cache overlaps the copy of this one to the
// device) and kept on the device while they fit, the window is rendered by
// the CUDA executor's kernel and copied back into the writer's pinned
// buffer, which the writer threads store while the next window runs. Runs
// that are plain copies of a source never reach the GPU: the writer hands
// them to copy_file_range as on the CPU.
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
  /// Bytes of each of the two pinned staging buffers.
  size_t stagingBytes = 64ull << 20;
};

struct RendererStats {
  double uploadedBytes = 0, uploadSeconds = 0;
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
