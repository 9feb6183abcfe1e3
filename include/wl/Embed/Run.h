//===- Run.h - plans run over caller-owned memory, CPU or CUDA -*- C++ -*-===//
//
// The executing half of the embedding API, without any framework's tensor
// type: a tensor is a pointer to contiguous memory, a dtype, a shape and the
// device the memory is on. The C API (wl/CApi/weight_layout.h), and through
// it the Python package and the libtorch layer, run plans with this.
//
// Contracts:
// - Every tensor is contiguous (row-major, no gaps); the caller copies
//   strided tensors first and writes strided destinations through a
//   temporary (the framework layers do).
// - Sources and destinations are each on one device; the two may differ.
//   Sources on the CPU with CUDA destinations are uploaded (to a temporary
//   on the destinations' device) and the plan runs there; CUDA sources with
//   CPU destinations are downloaded first.
// - On CUDA the plan runs with the CUDA executor on `stream`; where it
//   cannot (no CUDA executor in this build, a conversion the device cannot
//   do exactly) the used sources and destinations go through the host
//   ("cuda-via-host").
// - A destination that overlaps a source in memory is refused.
// - Targets with elements no piece writes (JSON plans) are zeroed first,
//   unless the run is partial (ExecOptions::partial).
// - Every error is an Error naming the tensor; nothing is written before
//   every name, dtype, shape and device is checked.
//
//===----------------------------------------------------------------------===//
#ifndef WL_EMBED_RUN_H
#define WL_EMBED_RUN_H

#include "wl/Embed/Compile.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace wl::embed {

struct PlanData;

struct Device {
  enum Kind : int { CPU = 1, CUDA = 2 };
  Kind kind = CPU;
  int index = 0;
  bool operator==(const Device &o) const {
    return kind == o.kind && (kind == CPU || index == o.index);
  }
  bool operator!=(const Device &o) const { return !(*this == o); }
  /// "cpu", "cuda:0".
  std::string str() const;
};

/// Contiguous memory holding one tensor.
struct TensorRef {
  void *data = nullptr;
  layout::DType dtype = layout::DType::F32;
  std::vector<int64_t> shape;
  Device device;
  int64_t numel() const;
  int64_t bytes() const;
};

struct ExecOptions {
  /// CUDA: the stream to run on (a cudaStream_t; null: the legacy default
  /// stream). `streamIsCurrent`: the caller's framework orders its own work
  /// on this stream, so the run is not waited for; otherwise it is.
  void *stream = nullptr;
  bool streamIsCurrent = false;
  /// CPU threads (the caller included); 0: the process-wide pool.
  int threads = 0;
  /// Leave the targets the plan marks as aliases alone (the caller returns
  /// them as views of their source); their destinations may be absent.
  bool skipAliases = false;
  /// Write only the elements the pieces write; leave the rest of each
  /// destination as it is (a plan run in parts: a reshard's rounds).
  bool partial = false;
};

/// What the last run on this thread did (for tests and logging).
struct ExecStats {
  std::string executor; ///< "cpu", "cuda", "cuda-via-host", "none"
  int64_t piecesRun = 0;
  int64_t bytesWritten = 0;
  int64_t uploadedBytes = 0;    ///< host-to-device bytes of sources
};
ExecStats &lastExecStats();

/// Writes every target of `plan` into destinations[name] from
/// sources[name] (names the plan does not read are ignored). Throws Error.
void runInto(const PlanData &plan,
             const std::map<std::string, TensorRef> &sources,
             const std::map<std::string, TensorRef> &destinations,
             const ExecOptions &options);

/// What a streaming load did.
struct StreamReport {
  std::vector<std::string> loaded;  ///< every target, written completely
  std::vector<std::string> ignored; ///< fed names the plan does not read
  /// Of those, the names the mapping does not know at all (read by no rank,
  /// not dropped by the spec): usually a naming mismatch. For a JSON plan,
  /// every ignored name.
  std::vector<std::string> unknown;
  int64_t bytesWritten = 0;
};

/// A streaming load into fixed destinations, fed one source at a time as
/// vLLM's load_weights receives them: each source's pieces run as soon as
/// it arrives.
class StreamLoader {
public:
  StreamLoader(std::shared_ptr<const PlanData> plan,
               const std::map<std::string, TensorRef> &destinations,
               const ExecOptions &options);
  ~StreamLoader();
  /// Runs the pieces that read `name`. False (the name recorded) when the
  /// plan does not read it. Throws on a second feed of a name, or on a
  /// dtype, shape or device mismatch.
  bool feed(const std::string &name, const TensorRef &tensor);
  /// Checks that every source came and writes the fill-only targets.
  StreamReport finish();
  std::vector<std::string> missing() const;

private:
  struct State;
  std::unique_ptr<State> s_;
};

/// runInto bound once to its tensors, for loops over memory that stays
/// where it is (a trainer's parameters from one step to the next, a
/// reshard's buffers): the tensors are checked and bound, and on a GPU the
/// task table prepared over their addresses in an executor of its own,
/// once; each run() then zeroes the targets with gaps (unless `partial`)
/// and launches, handing nothing over again. Every target needs its
/// destination (no aliases skipped). The memory must outlive the BoundRun
/// and keep its addresses. Not for concurrent run()s of one BoundRun.
class BoundRun {
public:
  BoundRun(std::shared_ptr<const PlanData> plan,
           const std::map<std::string, TensorRef> &sources,
           const std::map<std::string, TensorRef> &destinations,
           const ExecOptions &options);
  ~BoundRun();
  /// Runs on `options.stream` (waited for unless `streamIsCurrent`).
  void run(const ExecOptions &options);

private:
  struct State;
  std::unique_ptr<State> s_;
};

/// True when this build has the CUDA executor and a device is usable.
bool cudaAvailable(std::string &why);

} // namespace wl::embed

#endif // WL_EMBED_RUN_H
