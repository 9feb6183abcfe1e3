//===- ConvertOptions.h - weight-layout-convert's command line --*- C++ -*-===//
#ifndef WL_TOOLS_CONVERTOPTIONS_H
#define WL_TOOLS_CONVERTOPTIONS_H

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace wl::tool {

struct ConvertOptions {
  /// What the command line asks for: a conversion, or one of the
  /// informational options that stop there.
  enum class Action { Convert, Help, Version, ListMappings };
  Action action = Action::Convert;
  std::string mapping;  ///< a spec file or a library name
  std::string toFormat; ///< without --mapping: the library picks the spec
  std::string from, to;
  std::map<std::string, int64_t> options; ///< the degree flags and --set values
  bool parallelGiven = false; ///< a degree flag (--tp, ...) on the command line
  /// A reshard of a folder the frameworks wrote: the mapping that wrote it
  /// and its degrees and options (--from-tp N, --from-set KEY=VALUE).
  std::string fromMapping;
  std::map<std::string, int64_t> fromOptions;
  std::string dtype;
  /// --quantize fp8[:RxC]: the block (rows, columns).
  std::optional<std::pair<int64_t, int64_t>> quantizeBlock;
  std::vector<std::string> quantizeSkip; ///< --quantize-skip TEXT
  std::string emitPlans; ///< --emit-plans DIR
  std::string device = "cpu";
  bool reverse = false, dryRun = false, verify = false, force = false,
       quiet = false, exact = false, fsync = true, direct = true;
  int threads = 0; ///< 0: one per core
  uint64_t maxShardBytes = 5'000'000'000ull;
  /// $WL_CONVERT_TEST_STALL_MS: a pause between windows, so that tests can
  /// interrupt a conversion midway (runtime::WriteOptions::stallMillis).
  int testStallMillis = 0;
};

/// The usage text.
const char *convertUsage();

/// Parses argv. Returns false with `error` set for a usage error (the caller
/// prints it with the usage and exits 2). --help, --version and
/// --list-mappings set `out.action` and need nothing else.
bool parseConvertOptions(int argc, char **argv, ConvertOptions &out,
                         std::string &error);


} // namespace wl::tool

#endif // WL_TOOLS_CONVERTOPTIONS_H
