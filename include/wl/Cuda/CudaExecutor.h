//===- CudaExecutor.h - plans executed by CUDA kernels ----------*- C++ -*-===//
//
// Plain C++ (no CUDA header): the CUDA executor. A plan becomes a task table
// (wl/Cuda/CudaTasks.h) and runs as up to five kernel launches over
// its units, one after the other on the stream: aligned row copies and
// fills as blocks of 8 KiB, aligned transposes as blocks of one
// shared-memory tile, converting rows (exact casts and affines,
// wl/Cuda/DeviceConvert.h) as blocks of 2048 items, all handed out in
// order (not persistent), and everything else in a persistent kernel
// (docs/cuda.md). Without a CUDA toolkit at build
// time, or without a device at run time, `create` fails with the reason.
//
//===----------------------------------------------------------------------===//
#ifndef WL_RUNTIME_CUDAEXECUTOR_H
#define WL_RUNTIME_CUDAEXECUTOR_H

#include "wl/Cuda/CudaTasks.h"

#include <memory>
#include <string>
#include <vector>

namespace wl::runtime::cuda {

/// True when this build has the CUDA executor.
bool built();

/// True when a CUDA device can be used; otherwise `why` says why not
/// ("this build has no CUDA executor", "no CUDA device: ...").
bool deviceAvailable(std::string &why);

/// Compares, on the device, the kernels' fast f16 <-> f32 and f32 -> bf16
/// casts (hardware conversions) with the exact ones of
/// wl/Cuda/DeviceConvert.h on every input; false with the differences, or
/// the reason it could not run, in `report` (which otherwise says what was
/// checked).
bool checkCastFastPaths(std::string &report);

class Executor {
public:
  /// An executor on the current device. Null with `error` when there is none.
  static std::unique_ptr<Executor> create(std::string &error);
  ~Executor();
  Executor(const Executor &) = delete;
  Executor &operator=(const Executor &) = delete;

  /// "NVIDIA H200, 132 SMs, 141 GB".
  std::string describe() const;

  /// Runs `table` (from buildTaskTable) over tensors at the given device
  /// addresses, on `stream` (a cudaStream_t; null for the default stream):
  /// one upload of the table (waited for), the launches (not waited for:
  /// synchronize before reading the targets). The word sizes of row copies
  /// are chosen here from the addresses, and the tasks' device addresses
  /// set (Task::srcAddress, dstAddress).
  bool run(TaskTable &table, const std::vector<const void *> &sources,
           const std::vector<void *> &targets, void *stream,
           std::string &error);

  /// What `run` does before the launches: the word sizes chosen, the
  /// addresses set, the table uploaded (waited for), nothing launched.
  bool prepare(TaskTable &table, const std::vector<const void *> &sources,
               const std::vector<void *> &targets, void *stream,
               std::string &error);

  /// Launches the table of the last `run` or `prepare` again (same
  /// addresses): to time the kernel alone, or a bound run's each run.
  bool launch(void *stream, std::string &error);

  /// Plans whose targets are smaller than this (16 MiB by default) run
  /// their copies and transposes in one launch of the general kernel
  /// rather than through copyFlat and transposeTiles (tests set 0 to send
  /// every plan their way).
  void setSmallPlanBytes(int64_t bytes);

  /// Waits for `stream`; reports an error of the work on it.
  bool synchronize(void *stream, std::string &error);

  /// Device memory helpers (for tests, tools and the loaders).
  void *allocate(size_t bytes, std::string &error);
  void release(void *p);
  bool copyToDevice(void *dst, const void *src, size_t bytes,
                    std::string &error);
  bool copyToHost(void *dst, const void *src, size_t bytes,
                  std::string &error);

  struct Impl;

private:
  Executor() = default;
  std::unique_ptr<Impl> impl_;
};

} // namespace wl::runtime::cuda

#endif // WL_RUNTIME_CUDAEXECUTOR_H
