//===- Compile.h - the embedding API's compile side, without libtorch -*- C++ -*-===//
//
// The plain types of the embedding API (docs/embedding.md), shared by the
// core inside libweight-layout (lib/Embed) and the libtorch layer over its C
// API (wl/Torch/Embedding.h): errors, compile options, tensor specs and plan
// descriptions. Header-only.
//
//===----------------------------------------------------------------------===//
#ifndef WL_EMBED_COMPILE_H
#define WL_EMBED_COMPILE_H

#include "wl/Layout/DType.h"

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace wl::embed {

/// The one exception type of this API. `Invalid`: an argument is wrong (a
/// missing tensor, a wrong shape or dtype, an unknown option, a spec or
/// config error); Python raises ValueError. `Runtime`: the work itself
/// failed (a CUDA error, no CUDA device); Python raises RuntimeError.
class Error : public std::runtime_error {
public:
  enum Kind { Invalid, Runtime };
  Error(Kind kind, const std::string &message)
      : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

private:
  Kind kind_;
};

/// `rank` value asking for every rank's targets in one plan, named
/// "rank-<r>/<name>" when there is more than one rank (the names the
/// mapping's inverse reads).
constexpr int64_t kAllRanks = -1;

struct CompileOptions {
  /// Which rank's plan, numbered as the spec's framework numbers it, or
  /// kAllRanks. The compiler always builds and checks every rank (exact-once
  /// coverage of every target, every source read by some rank); this only
  /// picks the plan that comes back. Ignored with `reverse`.
  int64_t rank = 0;
  /// Element type of the tensors ("bf16", "F32", ...); empty: the config's.
  std::string dtype;
  /// The way back: the plan from every rank's tensors ("rank-<r>/<name>"
  /// when there are several ranks) to the checkpoint's.
  bool reverse = false;
  /// With `reverse`: refuse a mapping whose way back rounds (an affine such
  /// as Megatron's `w - 1`) instead of undoing it as the framework does.
  bool exact = false;
};

/// A tensor of a plan: its name, element type and shape.
struct TensorSpec {
  std::string name;
  layout::DType dtype = layout::DType::F32;
  std::vector<int64_t> shape;
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t s : shape)
      n *= s;
    return n;
  }
  int64_t bytes() const {
    return numel() * static_cast<int64_t>(layout::dtypeSize(dtype));
  }
};

struct Description {
  std::string from, to, modelType; ///< of the spec; empty for a JSON plan
  int64_t tp = 1, ep = 1, pp = 1; ///< 1 where the spec has no such option
  /// The spec's rank axes (fastest first), their degrees, their product.
  std::vector<std::string> mesh;
  std::map<std::string, int64_t> degrees;
  int64_t ranks = 1;
  int64_t rank = 0;      ///< kAllRanks, or the rank; -2 for a reverse plan
  bool reverse = false;
  uint64_t hash = 0;     ///< plan::planHash
  int64_t sources = 0, targets = 0, pieces = 0;
  int64_t copyPieces = 0, fillPieces = 0, convertPieces = 0;
  int64_t bytesRead = 0;    ///< source bytes the pieces read
  int64_t bytesWritten = 0; ///< target bytes (all targets)
  int64_t sourceBytes = 0;  ///< bytes of the whole source tensors
  struct AliasInfo {
    std::string target, source;
    int64_t offset = 0; ///< elements into the source
    int64_t numel = 0;  ///< elements of the target
  };
  /// Targets that run() returns as views of a source (no copy).
  std::vector<AliasInfo> aliases;
  int64_t aliasBytes = 0;
  /// Checkpoint tensors the spec drops on purpose; tensors the way back
  /// restores through a rounding step.
  std::vector<std::string> dropped, rounded;
  /// A readable summary (several lines), written by the core.
  std::string summary;
  std::string text() const { return summary; }
};

/// The process-wide compile cache.
struct CacheStats {
  int64_t hits = 0, misses = 0, entries = 0;
};

} // namespace wl::embed

#endif // WL_EMBED_COMPILE_H
