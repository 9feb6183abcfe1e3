//===- Manifest.h - weight-layout.json, what a converted folder holds -*- C++ -*-===//
//
// Plain C++17. weight-layout-convert writes `weight-layout.json` into every
// folder it makes: the mapping, its degrees and options, the direction and
// the rank count. A --reverse run reads the degrees back from it, and
// --force replaces only a folder that holds one (or an empty folder): it is
// the tool's mark on what it wrote. docs/convert.md shows the format.
//
//===----------------------------------------------------------------------===//
#ifndef WL_CONVERT_MANIFEST_H
#define WL_CONVERT_MANIFEST_H

#include "wl/MappingSpec/Spec.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace wl::convert {

/// The file name inside a converted folder.
constexpr const char *kManifestName = "weight-layout.json";
/// Its "format".
constexpr const char *kManifestFormat = "weight-layout-ranks/1";

struct Manifest {
  std::string mapping;   ///< "qwen3/hf-to-vllm.json"
  std::string modelType; ///< the spec's model_type, from and to
  std::string from, to;
  bool reverse = false;  ///< written by --reverse (then from/to are swapped)
  /// The spec's rank axes, fastest first (absent in the file: tp, ep, pp).
  std::vector<std::string> mesh = mapping::defaultMesh();
  /// The axes' degrees and the spec options given.
  std::map<std::string, int64_t> options;
  int64_t ranks = 1; ///< the axes' product: rank-0 .. rank-<ranks-1> when > 1
};

/// The JSON text (indented, one trailing newline).
std::string manifestJson(const Manifest &m);

/// Parses and validates a manifest's text: strict JSON (a key given twice
/// is an error), "format" as above, "mapping" a string, "mesh" (optional)
/// a list of axis names, "options" an object of integers with each axis's
/// degree from 1 to limits::kMaxRanks (1 when absent) and their product at
/// most kMaxRanks, "ranks" equal to that product,
/// "direction" "forward" or "reverse" (absent: forward). Other fields are
/// ignored. On failure returns nullopt and sets `error` to one line that
/// names the JSON path ("options.tp: is 4294967296: a parallel degree is
/// from 1 to 65536"), without the file's name.
std::optional<Manifest> parseManifest(const std::string &text,
                                      std::string &error);

/// Reads `path` (a regular file of at most limits::kMaxManifestBytes) and
/// parses it. Errors start with the path.
std::optional<Manifest> readManifest(const std::string &path,
                                     std::string &error);

} // namespace wl::convert

#endif // WL_CONVERT_MANIFEST_H
