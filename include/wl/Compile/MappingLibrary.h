//===- MappingLibrary.h - mapping specs found by name ---------*- C++ -*-===//
//
// The mapping specs that come with weight-layout (mappings/<model>/<from>-to-
// <to>.json) and any other library folder are found by name, the same way
// by every driver: weight-layout-convert, weight-layout-opt --mapping, the
// embedding API and the Python module. A name is the path under a library
// folder, with or without ".json": "qwen3/hf-to-vllm". A spec with a
// `model_type` is a whole mapping; the files without one (mappings/common)
// are parts that the whole ones include, and are not listed.
//
//===----------------------------------------------------------------------===//
#ifndef WL_COMPILE_MAPPINGLIBRARY_H
#define WL_COMPILE_MAPPINGLIBRARY_H

#include <string>
#include <vector>

namespace wl {

/// The library folders searched for mapping names, in order:
/// $WL_MAPPINGS_PATH (colon-separated), the folders added with
/// addMappingFolder, then this source tree's mappings/.
std::vector<std::string> mappingSearchPath();

/// Adds a library folder for this process (a packaged copy of mappings/
/// that travels with the library to machines without this source tree).
/// Thread-safe; a folder already added is not added twice.
void addMappingFolder(const std::string &folder);

/// The spec file that `mapping` names: `mapping` itself when it is a regular
/// file; otherwise (unless it is an absolute path) the first of
/// `<folder>/<mapping>` and `<folder>/<mapping>.json` that is a regular file,
/// for each folder of mappingSearchPath(). Empty when none is; `tried` then
/// lists every path looked at, in order.
std::string findMapping(const std::string &mapping,
                        std::vector<std::string> &tried);

/// What a driver does with a --mapping argument: the spec file findMapping
/// finds; or, when there is none, `mapping` itself if it reads as a path
/// (absolute, or ending in ".json"), so that the spec reader says why it
/// cannot be read; otherwise empty, with `error` ("--mapping 'qwen3/x' is
/// neither a spec file nor a library name (looked for ...)").
std::string resolveMappingArgument(const std::string &mapping,
                                   std::string &error);

/// A whole mapping of the library, as its spec's top-level keys say.
struct LibraryMapping {
  std::string name;      ///< "qwen3/hf-to-vllm"
  std::string path;      ///< the spec file
  std::string modelType; ///< "qwen3"
  std::string from, to;  ///< "hf", "vllm"
  std::string summary;   ///< the first line of its description
};

/// Every whole mapping in the library folders, sorted by name; where two
/// folders hold the same name the earlier folder's is kept. A file that is
/// not a readable JSON object is skipped, with a line in `skipped` saying
/// why (a broken spec is reported in full when it is compiled).
std::vector<LibraryMapping> listMappings(std::vector<std::string> &skipped);

/// Whether a spec written for `specModelType` applies to a checkpoint whose
/// config says `configModelType`: equal, or the config is the text model of
/// a multimodal one, as transformers names it ("qwen3_5_text" for the
/// "qwen3_5" spec).
bool modelTypeMatches(const std::string &specModelType,
                      const std::string &configModelType);

/// The one whole mapping for a checkpoint of `configModelType` converted to
/// `format` (forward: the spec's `to`; reverse: its `from`, the layout that
/// --reverse writes). Empty, with `error` naming the candidates or the lack
/// of them, unless exactly one fits.
std::string pickMapping(const std::string &configModelType,
                        const std::string &format, bool reverse,
                        std::string &error);

} // namespace wl

#endif // WL_COMPILE_MAPPINGLIBRARY_H
