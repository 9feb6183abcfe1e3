//===- CudaDevice.h - the CUDA executor per device (internal) -------------===//
#ifndef WL_LIB_TORCH_CUDADEVICE_H
#define WL_LIB_TORCH_CUDADEVICE_H

#include "wl/Cuda/CudaTasks.h"

#include <string>
#include <vector>

namespace wl::embed::detail {

/// True when this build has the CUDA executor and a device is usable.
bool cudaExecutorAvailable(std::string &why);

/// Runs `table` on `device` over the given device addresses, on `stream`
/// (a cudaStream_t; null: the default stream). Not waited for unless
/// `synchronizeAfter`. Throws Error (Runtime) on failure.
void cudaRunTable(int device, const runtime::cuda::TaskTable &table,
                  const std::vector<const void *> &sources,
                  const std::vector<void *> &targets, void *stream,
                  bool synchronizeAfter);

} // namespace wl::embed::detail

#endif // WL_LIB_TORCH_CUDADEVICE_H
