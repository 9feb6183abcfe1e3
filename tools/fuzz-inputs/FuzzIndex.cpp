//===- FuzzIndex.cpp - libFuzzer target of model.safetensors.index.json ---===//
//
// Each input is the text of an index, given to parseIndexText
// (wl/Safetensors/Safetensors.h), as Checkpoint::open gives it before opening
// any file. A rejection must be one line (bounded). An accepted index must
// list each tensor name once, every name and file name valid UTF-8 (the
// JSON escapes decoded), no more entries than the text can hold; and the
// writer's index of the same map (indexJson, names sorted) must parse back
// to the same pairs. A violation traps.
//
// Build and run: scripts/fuzz-inputs.sh index SECONDS; replay:
// fuzz-index-replay FILES... (test/Fuzz/replay.test).
//
//===----------------------------------------------------------------------===//
#include "FuzzCommon.h"

#include "wl/Safetensors/Safetensors.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace wl;
using namespace wl::fuzz;
using namespace wl::runtime;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text((const char *)data, size), error;
  std::vector<std::pair<std::string, std::string>> map;
  if (!parseIndexText(text, map, error)) {
    checkMessage(error);
    std::vector<std::pair<std::string, std::string>> again;
    std::string error2;
    check(!parseIndexText(text, again, error2) && error2 == error);
    return 0;
  }
  check(error.empty());
  // Each entry is at least `"":""` and a separator in the text.
  check(map.size() <= size / 6 + 1);
  std::set<std::string> names;
  for (const auto &[name, file] : map) {
    check(names.insert(name).second);
    check(validUtf8(name) && validUtf8(file));
  }
  // The writer's index of the same map reads back the same.
  std::vector<OutTensor> tensors;
  std::map<std::string, size_t> groupOf;
  std::vector<FileGroup> groups;
  for (const auto &[name, file] : map) {
    auto [it, added] = groupOf.emplace(file, groups.size());
    if (added)
      groups.push_back(FileGroup{file, {}});
    groups[it->second].tensors.push_back(tensors.size());
    tensors.push_back(OutTensor{name, layout::DType::F32, {}});
  }
  std::string written = indexJson(tensors, groups);
  std::vector<std::pair<std::string, std::string>> back;
  check(parseIndexText(written, back, error));
  std::vector<std::pair<std::string, std::string>> sorted = map;
  std::sort(sorted.begin(), sorted.end());
  check(back == sorted);
  return 0;
}
