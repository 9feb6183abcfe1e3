//===- Replay.cpp - runs a fuzz target over saved inputs, without libFuzzer -===//
//
// Usage: fuzz-TARGET-replay PATH...  Each PATH is an input file or a folder
// (all files under it, recursively, in name order); arguments starting with
// '-' are ignored (libFuzzer's flags). Each input goes once through the
// target's LLVMFuzzerTestOneInput, as libFuzzer would run it; its name is
// printed to stderr first, so that a trap (a violated property) or a
// sanitizer report names the input. Exit status: 0 when every input ran, 2
// when a path cannot be read. Linked with each target into the
// fuzz-*-replay tools of a normal build (tools/fuzz-inputs/CMakeLists.txt),
// which test/Fuzz/replay.test runs over the regression inputs.
//
//===----------------------------------------------------------------------===//
#include "FuzzCommon.h"

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace {
bool collect(const std::string &path, std::vector<std::string> &out) {
  if (wl::fuzz::isDir(path)) {
    for (const std::string &e : wl::fuzz::listDir(path))
      if (!collect(path + "/" + e, out))
        return false;
    return true;
  }
  out.push_back(path);
  return true;
}
} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] == '-')
      continue;
    collect(argv[i], files);
  }
  if (files.empty()) {
    std::fprintf(stderr, "usage: %s FILE-OR-FOLDER...\n", argv[0]);
    return 2;
  }
  for (const std::string &f : files) {
    std::string bytes;
    if (!wl::fuzz::readFile(f, bytes)) {
      std::fprintf(stderr, "%s: cannot read\n", f.c_str());
      return 2;
    }
    std::fprintf(stderr, "running %s (%zu bytes)\n", f.c_str(), bytes.size());
    std::fflush(stderr);
    LLVMFuzzerTestOneInput((const uint8_t *)bytes.data(), bytes.size());
  }
  std::printf("replayed %zu input(s)\n", files.size());
  return 0;
}
