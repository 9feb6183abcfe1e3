//===- Outputs.h - the checkpoints a conversion writes ---------*- C++ -*-===//
//
// What every kind of conversion shares once its plans are compiled: the
// outputs (a folder, a plan, where each plan source is), the problems found
// while binding sources (reported together), and the write itself: split
// into files, check the disk and --to, say it (--dry-run) or stream every
// output into a staging folder, add the manifest and rename it into place.
// A forward or --reverse conversion (weight-layout-convert.cpp) and a
// reshard (Reshard.h) differ only in how they make their outputs.
//
//===----------------------------------------------------------------------===//
#ifndef WL_TOOLS_OUTPUTS_H
#define WL_TOOLS_OUTPUTS_H

#include "ConvertOptions.h"
#include "Progress.h"
#include "Quantized.h"
#include "TargetPath.h"

#include "wl/Convert/Manifest.h"
#include "wl/Layout/Plan.h"
#include "wl/Runtime/StreamWriter.h"
#include "wl/Safetensors/Safetensors.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace wl::tool {

/// Prints "weight-layout-convert: error: <message>" and returns 1.
int fail(const std::string &message);
/// Prints "weight-layout-convert: note: <message>".
void note(const std::string &message);

std::string hex64(uint64_t v);
/// "qwen3/hf-to-vllm.json": a spec file's folder and name, as files and
/// manifests record the mapping.
std::string mappingNameOf(const std::string &specPath);
bool isFolder(const std::string &path);
bool exists(const std::string &path); ///< anything there (lstat)

/// One checkpoint to write: its folder under --to ("" for --to itself), its
/// plan and where the plan's sources are.
struct Output {
  std::string folder;
  const layout::Plan *plan = nullptr;
  std::vector<runtime::SourceTensor> sources;
  std::string options;  ///< "tp=2,ep=1,pp=1,rank=1" for provenance
  std::string planHash; ///< recorded in the metadata: the mapping's plan
};

/// "tp=2,ep=1,pp=1[,rank=1][,key=value...]": the mesh's degrees in its
/// order, the rank (when >= 0), then the options that are not axes, as a
/// file's weight_layout.options records them.
std::string optionsText(
    const std::vector<std::pair<std::string, int64_t>> &degrees, int64_t rank,
    const std::map<std::string, int64_t> &options);

/// The problems found in the inputs, reported together.
struct Problems {
  std::vector<std::string> unused, missing, wrong;
  bool missingStopped = false;
  /// The whole message, or "" when there is no problem.
  std::string text() const;
};

/// Binds the plan source `t` (a tensor named `name` in `ckpt`), reporting a
/// missing one or a dtype/shape mismatch (`where` prefixes a missing name).
runtime::SourceTensor bindSource(const layout::TensorInfo &t,
                                 const std::string &name,
                                 const runtime::Checkpoint &ckpt,
                                 const std::string &where, Problems &problems);

/// "BF16 [4, 8]".
std::string describe(const layout::DType &t, const layout::Shape &shape);

/// Everything the write needs besides the outputs.
struct Conversion {
  const ConvertOptions *opt = nullptr;
  const TargetPath *target = nullptr;
  std::string mappingName; ///< "qwen3/hf-to-vllm.json", as files record it
  std::string configPath;
  const std::vector<std::unique_ptr<runtime::Checkpoint>> *inputs = nullptr;
  convert::Manifest manifest;
  int64_t ranks = 1; ///< the rank count said in messages
  /// When set, each output's config.json (else copied from the input).
  std::string configText;
  /// The input's block FP8 (Quantized.h), for a reshard.
  BlockFp8 blockFp8;
  std::chrono::steady_clock::time_point start;
  /// Samples what the process allocates, for the summary.
  AllocatedPeak *allocated = nullptr;
};

/// Plans the files of `outputs`, checks the disk and --to, then prints the
/// dry run or writes and commits them; returns the exit code (errors
/// printed).
int writeConversion(const Conversion &c, const std::vector<Output> &outputs);

} // namespace wl::tool

#endif // WL_TOOLS_OUTPUTS_H
