//===- CudaDevice.h - the CUDA executor and memory per device (internal) --===//
//
// Everything the embedding core does with the CUDA runtime. Without CUDA in
// this build every function below throws Error (Runtime) saying so.
//
//===----------------------------------------------------------------------===//
#ifndef WL_LIB_EMBED_CUDADEVICE_H
#define WL_LIB_EMBED_CUDADEVICE_H

#include "wl/Cuda/CudaTasks.h"

#include <cstddef>
#include <memory>
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

/// A task table prepared once over fixed device addresses, in an executor
/// of its own (its device copy of the table is never overwritten), to be
/// launched again and again: a bound run's.
struct PreparedTable;
std::shared_ptr<PreparedTable>
cudaPrepareTable(int device, const runtime::cuda::TaskTable &table,
                 const std::vector<const void *> &sources,
                 const std::vector<void *> &targets, void *stream);
/// Launches a prepared table on `stream`; waited for if `synchronizeAfter`.
void cudaLaunchPrepared(PreparedTable &table, void *stream,
                        bool synchronizeAfter);

/// Stream-ordered device memory of `device` (cudaMallocAsync), freed with
/// deviceFree on the same stream.
void *deviceAlloc(int device, size_t bytes, void *stream);
void deviceFree(int device, void *p, void *stream);
/// cudaMemcpyAsync(cudaMemcpyDefault) on `stream` of `device`: any
/// direction between host and device memory (unified addressing).
void copyAsync(int device, void *dst, const void *src, size_t bytes,
               void *stream);
void zeroAsync(int device, void *p, size_t bytes, void *stream);
/// Waits for `stream`; throws on an error of the work on it.
void synchronize(int device, void *stream);

/// A stream of its own on `device` (non-blocking: no implicit ordering
/// with the legacy default stream).
void *streamCreate(int device);
void streamDestroy(int device, void *stream);
/// Makes `waiter` wait for the work queued so far on `waitee`.
void streamWait(int device, void *waiter, void *waitee);
/// Makes `stream` wait for `event` (as last recorded).
void streamWaitEvent(int device, void *stream, void *event);

/// An event recorded on `stream` now (cudaEventDisableTiming).
void *eventRecord(int device, void *stream);
/// Whether the work before the event is done (throws on its error).
bool eventDone(void *event);
void eventWait(void *event);
void eventDestroy(void *event);

/// Page-locked host memory (cudaHostAlloc), for reads that upload.
void *hostAllocPinned(size_t bytes);
void hostFreePinned(void *p);

} // namespace wl::embed::detail

#endif // WL_LIB_EMBED_CUDADEVICE_H
