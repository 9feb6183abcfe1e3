//===- CudaDevice.cpp - the CUDA executor per device, for the embedding ---===//
//
// No libtorch header. One wl::runtime::cuda::Executor per device, created on
// first use with that device current, its runs serialized (an executor owns
// one device copy of the task table). With WL_HAVE_CUDA the CUDA runtime is
// the static one WLCuda links, so cudaSetDevice here is the executor's.
//
// UNTESTED on this project's CI machines (no GPU): see docs/embedding.md.
//
//===----------------------------------------------------------------------===//
#include "CudaDevice.h"

#include "wl/Cuda/CudaExecutor.h"
#include "wl/Torch/Compile.h"

#include <map>
#include <memory>
#include <mutex>

#ifdef WL_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace wl::embed::detail {

namespace {

struct DeviceSlot {
  std::mutex mutex;
  std::unique_ptr<runtime::cuda::Executor> exec;
  void *lastStream = nullptr;
  bool used = false;
};

struct Devices {
  std::mutex mutex;
  std::map<int, std::unique_ptr<DeviceSlot>> slots;
};

Devices &devices() {
  static Devices *d = new Devices(); // never destroyed (CUDA at exit)
  return *d;
}

/// Makes `device` current for the scope (and restores the previous one).
struct DeviceScope {
#ifdef WL_HAVE_CUDA
  int previous = -1;
  explicit DeviceScope(int device) {
    if (cudaGetDevice(&previous) != cudaSuccess)
      previous = -1;
    cudaError_t e = cudaSetDevice(device);
    if (e != cudaSuccess)
      throw Error(Error::Runtime, "cudaSetDevice(" + std::to_string(device) +
                                      "): " + cudaGetErrorString(e));
  }
  ~DeviceScope() {
    if (previous >= 0)
      cudaSetDevice(previous);
  }
#else
  explicit DeviceScope(int) {}
#endif
};

} // namespace

bool cudaExecutorAvailable(std::string &why) {
  if (!runtime::cuda::built()) {
    why = "this build has no CUDA executor (no CUDA toolkit at build time)";
    return false;
  }
  return runtime::cuda::deviceAvailable(why);
}

void cudaRunTable(int device, const runtime::cuda::TaskTable &table,
                  const std::vector<const void *> &sources,
                  const std::vector<void *> &targets, void *stream,
                  bool synchronizeAfter) {
  Devices &ds = devices();
  DeviceSlot *slot;
  {
    std::lock_guard<std::mutex> lock(ds.mutex);
    auto &p = ds.slots[device];
    if (!p)
      p = std::make_unique<DeviceSlot>();
    slot = p.get();
  }
  std::lock_guard<std::mutex> lock(slot->mutex);
  DeviceScope scope(device);
  std::string error;
  if (!slot->exec) {
    slot->exec = runtime::cuda::Executor::create(error);
    if (!slot->exec)
      throw Error(Error::Runtime, "CUDA executor on device " +
                                      std::to_string(device) + ": " + error);
  }
  // The executor's device copy of the table is reused by the next run: a
  // run on another stream waits for the last one first.
  if (slot->used && slot->lastStream != stream &&
      !slot->exec->synchronize(slot->lastStream, error))
    throw Error(Error::Runtime, "CUDA: " + error);
  runtime::cuda::TaskTable copy = table; // run() sets word sizes in place
  if (!slot->exec->run(copy, sources, targets, stream, error))
    throw Error(Error::Runtime, "CUDA executor: " + error);
  slot->used = true;
  slot->lastStream = stream;
  if (synchronizeAfter && !slot->exec->synchronize(stream, error))
    throw Error(Error::Runtime, "CUDA: " + error);
}

} // namespace wl::embed::detail
