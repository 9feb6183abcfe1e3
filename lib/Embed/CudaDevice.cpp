//===- CudaDevice.cpp - the CUDA executor per device, for the embedding ---===//
//
// No libtorch header. One wl::runtime::cuda::Executor per device, created on
// first use with that device current, its runs serialized (an executor owns
// one device copy of the task table). With WL_HAVE_CUDA the CUDA runtime is
// the static one WLCuda links, so cudaSetDevice here is the executor's.
//
//===----------------------------------------------------------------------===//
#include "CudaDevice.h"

#include "wl/Cuda/CudaExecutor.h"
#include "wl/Embed/Compile.h"

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
#ifdef WL_HAVE_CUDA
  /// Recorded after the last run's launches: the next run, on any stream,
  /// waits for it on the device before its table upload overwrites the
  /// executor's device copy of the table. An event, not the stream: the
  /// caller's stream may be gone by then (a side stream, a loader's own).
  cudaEvent_t lastRun = nullptr;
#endif
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
#ifdef WL_HAVE_CUDA
  // The executor's device copy of the table is reused by the next run.
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  if (!slot->lastRun) {
    cudaError_t e = cudaEventCreateWithFlags(&slot->lastRun,
                                             cudaEventDisableTiming);
    if (e != cudaSuccess)
      throw Error(Error::Runtime,
                  std::string("CUDA event: ") + cudaGetErrorString(e));
  } else if (cudaError_t e = cudaStreamWaitEvent(s, slot->lastRun, 0);
             e != cudaSuccess) {
    throw Error(Error::Runtime,
                std::string("CUDA stream wait: ") + cudaGetErrorString(e));
  }
#endif
  runtime::cuda::TaskTable copy = table; // run() sets word sizes in place
  if (!slot->exec->run(copy, sources, targets, stream, error))
    throw Error(Error::Runtime, "CUDA executor: " + error);
#ifdef WL_HAVE_CUDA
  if (cudaError_t e = cudaEventRecord(slot->lastRun, s); e != cudaSuccess)
    throw Error(Error::Runtime,
                std::string("CUDA event record: ") + cudaGetErrorString(e));
#endif
  if (synchronizeAfter && !slot->exec->synchronize(stream, error))
    throw Error(Error::Runtime, "CUDA: " + error);
}

struct PreparedTable {
  int device = 0;
  std::unique_ptr<runtime::cuda::Executor> exec;
  ~PreparedTable() {
    if (!exec)
      return;
    try { // the executor frees its table with its device current
      DeviceScope scope(device);
      exec.reset();
    } catch (const Error &) {
      exec.reset();
    }
  }
};

std::shared_ptr<PreparedTable>
cudaPrepareTable(int device, const runtime::cuda::TaskTable &table,
                 const std::vector<const void *> &sources,
                 const std::vector<void *> &targets, void *stream) {
  DeviceScope scope(device);
  auto t = std::make_shared<PreparedTable>();
  t->device = device;
  std::string error;
  t->exec = runtime::cuda::Executor::create(error);
  if (!t->exec)
    throw Error(Error::Runtime, "CUDA executor on device " +
                                    std::to_string(device) + ": " + error);
  runtime::cuda::TaskTable copy = table; // prepare() sets word sizes
  if (!t->exec->prepare(copy, sources, targets, stream, error))
    throw Error(Error::Runtime, "CUDA executor: " + error);
  return t;
}

void cudaLaunchPrepared(PreparedTable &t, void *stream,
                        bool synchronizeAfter) {
  DeviceScope scope(t.device);
  std::string error;
  if (!t.exec->launch(stream, error) ||
      (synchronizeAfter && !t.exec->synchronize(stream, error)))
    throw Error(Error::Runtime, "CUDA: " + error);
}

#ifdef WL_HAVE_CUDA
namespace {
void check(cudaError_t e, const char *what) {
  if (e != cudaSuccess)
    throw Error(Error::Runtime,
                std::string("CUDA ") + what + ": " + cudaGetErrorString(e));
}
} // namespace

void *deviceAlloc(int device, size_t bytes, void *stream) {
  DeviceScope scope(device);
  void *p = nullptr;
  check(cudaMallocAsync(&p, bytes ? bytes : 1,
                        static_cast<cudaStream_t>(stream)),
        ("allocation of " + std::to_string(bytes) + " bytes").c_str());
  return p;
}
void deviceFree(int device, void *p, void *stream) {
  DeviceScope scope(device);
  cudaFreeAsync(p, static_cast<cudaStream_t>(stream));
}
void copyAsync(int device, void *dst, const void *src, size_t bytes,
               void *stream) {
  DeviceScope scope(device);
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault,
                        static_cast<cudaStream_t>(stream)),
        "copy");
}
void zeroAsync(int device, void *p, size_t bytes, void *stream) {
  DeviceScope scope(device);
  check(cudaMemsetAsync(p, 0, bytes, static_cast<cudaStream_t>(stream)),
        "memset");
}
void synchronize(int device, void *stream) {
  DeviceScope scope(device);
  check(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)),
        "work on the stream");
}
void *streamCreate(int device) {
  DeviceScope scope(device);
  cudaStream_t s = nullptr;
  check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "stream");
  return s;
}
void streamDestroy(int device, void *stream) {
  DeviceScope scope(device);
  cudaStreamDestroy(static_cast<cudaStream_t>(stream));
}
void streamWait(int device, void *waiter, void *waitee) {
  void *e = eventRecord(device, waitee);
  try {
    streamWaitEvent(device, waiter, e);
  } catch (...) {
    eventDestroy(e);
    throw;
  }
  eventDestroy(e);
}
void streamWaitEvent(int device, void *stream, void *event) {
  DeviceScope scope(device);
  check(cudaStreamWaitEvent(static_cast<cudaStream_t>(stream),
                            static_cast<cudaEvent_t>(event), 0),
        "stream wait");
}
void *eventRecord(int device, void *stream) {
  DeviceScope scope(device);
  cudaEvent_t e = nullptr;
  check(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "event");
  cudaError_t r = cudaEventRecord(e, static_cast<cudaStream_t>(stream));
  if (r != cudaSuccess)
    cudaEventDestroy(e);
  check(r, "event record");
  return e;
}
bool eventDone(void *event) {
  cudaError_t r = cudaEventQuery(static_cast<cudaEvent_t>(event));
  if (r == cudaErrorNotReady)
    return false;
  check(r, "work before an event");
  return true;
}
void eventWait(void *event) {
  check(cudaEventSynchronize(static_cast<cudaEvent_t>(event)),
        "work before an event");
}
void eventDestroy(void *event) {
  cudaEventDestroy(static_cast<cudaEvent_t>(event));
}
void *hostAllocPinned(size_t bytes) {
  void *p = nullptr;
  check(cudaHostAlloc(&p, bytes ? bytes : 1, cudaHostAllocPortable),
        ("pinned allocation of " + std::to_string(bytes) + " bytes").c_str());
  return p;
}
void hostFreePinned(void *p) { cudaFreeHost(p); }
#else
namespace {
[[noreturn]] void noCuda() {
  throw Error(Error::Runtime,
              "CUDA tensors need CUDA: this build has no CUDA runtime (no "
              "CUDA toolkit at build time)");
}
} // namespace
void *deviceAlloc(int, size_t, void *) { noCuda(); }
void deviceFree(int, void *, void *) {}
void copyAsync(int, void *, const void *, size_t, void *) { noCuda(); }
void zeroAsync(int, void *, size_t, void *) { noCuda(); }
void synchronize(int, void *) { noCuda(); }
void *streamCreate(int) { noCuda(); }
void streamDestroy(int, void *) {}
void streamWait(int, void *, void *) { noCuda(); }
void streamWaitEvent(int, void *, void *) { noCuda(); }
void *eventRecord(int, void *) { noCuda(); }
bool eventDone(void *) { noCuda(); }
void eventWait(void *) { noCuda(); }
void eventDestroy(void *) {}
void *hostAllocPinned(size_t) { noCuda(); }
void hostFreePinned(void *) {}
#endif

} // namespace wl::embed::detail
