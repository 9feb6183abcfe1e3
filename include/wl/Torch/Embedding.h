//===- Embedding.h - mappings compiled and run in-process on tensors -*- C++ -*-===//
//
// The embedding API (docs/embedding.md): a loader (vLLM's load_weights, a
// Megatron bridge, an RL weight-sync step) compiles a mapping spec in its own
// process and runs the plan on libtorch tensors it already holds, instead of
// hand-written cat/chunk/narrow code. A thin layer over libweight-layout's C
// API (wl/CApi/weight_layout.h), the same library the Python package uses:
// this layer only turns at::Tensors into memory the library can use (views,
// contiguous copies, staged destinations) and its errors into Error.
//
//   auto plan = wl::embed::compile("qwen3/hf-to-vllm", configJson,
//                                  {{"tp", 2}}, {.rank = 1});
//   plan.runInto(checkpoint, params);        // into existing parameters
//   auto out = plan.run(checkpoint);         // targets allocated (or views)
//
// Compilation is cached process-wide by a hash of its inputs (the spec file
// and every file it includes, the config, options, dtype, direction), so a
// second compile of the same mapping, for any rank, does no compiler work.
// Every error is a wl::embed::Error with one message naming the tensor,
// option or file at fault.
//
// Namespace: wl::embed (not wl::torch, so that `using namespace wl;` never
// shadows libtorch's ::torch).
//
//===----------------------------------------------------------------------===//
#ifndef WL_TORCH_EMBEDDING_H
#define WL_TORCH_EMBEDDING_H

#include "wl/Embed/Compile.h"

#include <ATen/core/Tensor.h>

struct wl_plan;

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace wl::embed {

/// How a run executes.
struct RunOptions {
  /// run(): return a view of the source for every target the plan marks as
  /// an alias (shares storage; writes through it change the source). False:
  /// every target is a fresh tensor.
  bool views = true;
  /// CUDA: the stream to run on (a cudaStream_t). Null: libtorch's current
  /// stream of the tensors' device where this libtorch has CUDA, else the
  /// default stream. `streamIsCurrent` says the given stream is libtorch's
  /// current one (the Python module passes it), so no synchronization is
  /// needed before libtorch's own work on the targets.
  void *stream = nullptr;
  bool streamIsCurrent = false;
  /// CPU threads (the caller included); 0: the process-wide pool's default.
  int threads = 0;
  /// runInto: write only the elements the plan's pieces write and leave the
  /// rest of each destination as it is (a plan run in parts: a reshard's
  /// rounds); otherwise elements no piece writes are zeroed.
  bool partial = false;
};

/// What the last run on this thread did (for tests and logging).
struct RunStats {
  std::string executor; ///< "cpu", "cuda", "cuda-via-host", "none"
  int64_t piecesRun = 0;
  int64_t bytesWritten = 0;
  int64_t views = 0;            ///< targets returned as views
  int64_t contiguousCopies = 0; ///< non-contiguous sources copied first
  int64_t stagedTargets = 0;    ///< destinations written through a temporary
};
const RunStats &lastRunStats();

class Loader;

/// A compiled plan: cheap to copy (shared, immutable), safe to run from
/// several threads.
class Plan {
public:
  /// Parses a plan in the JSON format of docs/plan-format.md. Targets must
  /// not be written twice; elements no piece writes come out zero.
  static Plan fromJson(const std::string &text);

  std::vector<TensorSpec> sources() const;
  std::vector<TensorSpec> targets() const;
  Description describe() const;
  std::string toJson(int indent = 1) const;
  uint64_t hash() const;

  /// Per source tensor the flat element intervals [begin, end) the plan
  /// reads, sorted and merged: what a loader must fetch (for instance with
  /// pread from a safetensors file) for this rank, and nothing else.
  std::map<std::string, std::vector<std::pair<int64_t, int64_t>>>
  sourceRanges() const;

  /// Runs the plan on `sources` (by name; names the plan does not read are
  /// ignored) and returns every target by name. Targets are allocated on
  /// the sources' device, except aliased ones, which are views
  /// (source.view(-1).narrow(0, offset, n).view(shape)) when
  /// options.views. Checks names, dtypes, shapes and devices first;
  /// non-contiguous sources are copied to contiguous ones first.
  std::map<std::string, at::Tensor>
  run(const std::map<std::string, at::Tensor> &sources,
      const RunOptions &options = {}) const;

  /// Writes every target into the caller's tensor of that name (exactly the
  /// plan's targets; shape and dtype must match). A destination may be a
  /// slice of a larger parameter: a contiguous one (param.narrow(0, a, n))
  /// is written in place, any other (a column slice, another device) through
  /// a temporary and copy_ into it.
  void runInto(const std::map<std::string, at::Tensor> &sources,
               const std::map<std::string, at::Tensor> &destinations,
               const RunOptions &options = {}) const;

  /// A streaming load into `destinations` (every target), fed one source
  /// tensor at a time, as vLLM's load_weights receives them.
  Loader loader(const std::map<std::string, at::Tensor> &destinations,
                const RunOptions &options = {}) const;

  /// The way back. For a plan compiled from a mapping: with one rank (or
  /// kAllRanks) the mapping's inverse plan (compiled with reverse, cached),
  /// whose sources are this plan's targets; for a reverse plan, every
  /// rank's forward plan in one (kAllRanks). One rank of several has no
  /// inverse (it reads only its shard): an Error says so. For a JSON plan,
  /// layout::invert (exact).
  Plan inverse(bool exact = false) const;

  /// Takes ownership of a plan handle of the C API.
  explicit Plan(wl_plan *handle);
  wl_plan *handle() const { return h_.get(); }
  struct Info;

private:
  std::shared_ptr<wl_plan> h_;
  std::shared_ptr<const Info> info_; ///< what describe() says, parsed once
};

/// What a streaming load did.
struct LoadReport {
  std::set<std::string> loaded;  ///< targets written completely
  std::vector<std::string> ignored; ///< fed names the plan does not read
  /// Of those, the names the mapping does not know at all (read by no rank,
  /// not dropped by the spec): usually a naming mismatch. For a JSON plan,
  /// every ignored name.
  std::vector<std::string> unknown;
  int64_t bytesWritten = 0;
};

class Loader {
public:
  /// Runs the pieces that read `name` into their destinations. Returns false
  /// (and records the name) when the plan does not read it: another rank's
  /// tensor, or one the spec drops. Throws when it was fed before, or on a
  /// dtype, shape or device mismatch.
  bool feed(const std::string &name, const at::Tensor &tensor);
  /// Checks that every source was fed (else an Error naming the missing
  /// ones) and that every destination is complete.
  LoadReport finish();
  /// Sources not fed yet.
  std::vector<std::string> missing() const;

  Loader(Loader &&) noexcept;
  Loader &operator=(Loader &&) noexcept;
  ~Loader();
  struct State;

private:
  friend class Plan;
  explicit Loader(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

/// Compiles `mapping` for `config` with `options` (its degrees and the spec's
/// own integer options; unknown names are an error).
///   mapping: a spec file path, a library name ("qwen3/hf-to-vllm", looked
///            up in $WL_MAPPINGS_PATH, then this source tree's mappings/),
///            or the spec's JSON text (starting with '{'; its includes are
///            relative to `specBaseDir`, else the current directory);
///   config:  a config.json path, a folder holding config.json, or the
///            config's JSON text (starting with '{').
Plan compile(const std::string &mapping, const std::string &config,
             const std::map<std::string, int64_t> &options = {},
             const CompileOptions &how = {},
             const std::string &specBaseDir = "");

/// The libtorch dtype of a plan tensor; throws Error when this libtorch has
/// none (8-bit floats before libtorch 2.1, U16/U32/U64 before 2.3).
c10::ScalarType scalarTypeOf(const TensorSpec &t);

/// libtorch dtype <-> plan dtype.
std::optional<layout::DType> fromScalarType(c10::ScalarType t);
std::optional<c10::ScalarType> toScalarType(layout::DType t);

/// True when this build has the CUDA executor (the CUDA toolkit was found
/// at build time); `why` says why not.
bool cudaExecutorBuilt(std::string &why);

/// The process-wide compile cache (of the library).
CacheStats cacheStats();
void clearCache();

/// The library folders searched for mapping names.
std::vector<std::string> mappingSearchPath();

} // namespace wl::embed

#endif // WL_TORCH_EMBEDDING_H
