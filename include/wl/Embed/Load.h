//===- Load.h - a checkpoint read straight into a plan's destinations -*- C++ -*-===//
//
// The loader of docs/embedding.md ("Loading a checkpoint"): one rank's plan
// run from a safetensors checkpoint on disk into destinations on a CUDA
// device (or the CPU), reading only the bytes the plan reads.
//
// Contracts:
// - Before the first byte is written, every destination is checked against
//   the plan (dtype, shape, one device) and every source the plan reads
//   against the checkpoint's validated headers (present, same dtype and
//   shape); any mismatch is one Error (Invalid) naming the tensor and the
//   file, and nothing is written.
// - Only the source ranges the plan reads are read (pread, gaps under 1 MiB
//   read through), by `threads` readers into page-locked buffers (each
//   holding spans that follow each other in device memory: one copy); each
//   reader uploads its own buffers on a stream of its own while it reads
//   the next, and the CUDA executor runs a batch of sources at a time (a batch:
//   about `batchBytes` of source bytes, in one device buffer allocated for
//   the load and freed at its end).
// - The load waits for the work queued on `stream` before it writes, and
//   is complete (synchronized) when loadCheckpoint returns.
// - A read that fails or comes back short, or a file that changed while it
//   was read (size or times), is an Error (Runtime) naming the file; the
//   destinations written so far are then not to be used.
//
//===----------------------------------------------------------------------===//
#ifndef WL_EMBED_LOAD_H
#define WL_EMBED_LOAD_H

#include "wl/Embed/Run.h"

#include <functional>

namespace wl::runtime {
class Checkpoint;
}

namespace wl::embed {

struct LoadOptions {
  /// The caller's CUDA stream (its framework's current one); null: the
  /// legacy default stream.
  void *stream = nullptr;
  /// Reader threads; 0: hardware threads - 2, within [1, 16].
  int threads = 0;
  /// One page-locked staging buffer, and how many, shared out among the
  /// readers (0: two each; fewer than `threads`: that many readers).
  int64_t bufferBytes = int64_t(4) << 20;
  int buffers = 0;
  /// Source bytes per batch of kernels on the device.
  int64_t batchBytes = int64_t(1) << 30;
  /// Called on the calling thread as bytes are read: (done, total).
  std::function<void(int64_t, int64_t)> progress;
};

struct LoadStats {
  int64_t sources = 0;       ///< checkpoint tensors read
  int64_t bytesNeeded = 0;   ///< bytes of the source ranges the plan reads
  int64_t bytesRead = 0;     ///< bytes pread returned (gaps included)
  int64_t reads = 0;         ///< pread calls
  int64_t batches = 0;
  int64_t bytesWritten = 0;  ///< target bytes the plan writes
  double seconds = 0;        ///< wall time of the load
  /// Where the calling thread's time went (CUDA): waiting for the readers,
  /// running the batches (their table upload waits for the stream), and
  /// allocating device memory.
  double readWaitSeconds = 0, executeSeconds = 0, allocSeconds = 0;
  std::string executor;      ///< "cuda", "cuda-via-host" or "cpu"
};

/// Loads `checkpoint` through `plan` into `destinations` (every target of
/// the plan). Throws Error.
LoadStats loadCheckpoint(const PlanData &plan,
                         const runtime::Checkpoint &checkpoint,
                         const std::map<std::string, TensorRef> &destinations,
                         const LoadOptions &options);

} // namespace wl::embed

#endif // WL_EMBED_LOAD_H
