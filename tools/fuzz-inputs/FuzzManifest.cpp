//===- FuzzManifest.cpp - libFuzzer target of weight-layout.json ----------===//
//
// Each input is the text of a manifest (wl/Convert/Manifest.h), given to
// parseManifest. A rejection must be one line (bounded), the same twice. An
// accepted manifest must hold what the header promises (tp, ep and pp
// present, each from 1 to limits::kMaxRanks, ranks their product), and
// manifestJson of it must parse back to the same fields, and print again to
// the same text. A violation traps.
//
// Build and run: scripts/fuzz-inputs.sh manifest SECONDS; replay:
// fuzz-manifest-replay FILES... (test/Fuzz/replay.test).
//
//===----------------------------------------------------------------------===//
#include "FuzzCommon.h"

#include "wl/Convert/Manifest.h"
#include "wl/Support/Limits.h"

#include <string>

using namespace wl;
using namespace wl::fuzz;
using convert::Manifest;

namespace {
bool same(const Manifest &a, const Manifest &b) {
  return a.mapping == b.mapping && a.modelType == b.modelType &&
         a.from == b.from && a.to == b.to && a.reverse == b.reverse &&
         a.options == b.options && a.ranks == b.ranks;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text((const char *)data, size), error;
  std::optional<Manifest> m = convert::parseManifest(text, error);
  if (!m) {
    checkMessage(error);
    std::string again;
    check(!convert::parseManifest(text, again) && again == error);
    return 0;
  }
  int64_t ranks = 1;
  for (const char *k : {"tp", "ep", "pp"}) {
    auto it = m->options.find(k);
    check(it != m->options.end() && it->second >= 1 &&
          it->second <= limits::kMaxRanks);
    ranks *= it->second;
  }
  check(ranks == m->ranks && ranks <= limits::kMaxRanks);
  check(validUtf8(m->mapping) && validUtf8(m->modelType) &&
        validUtf8(m->from) && validUtf8(m->to));

  std::string written = convert::manifestJson(*m);
  check(!written.empty() && written.back() == '\n');
  check(written.size() <= 2 * size + 4096); // what was read, re-indented
  std::optional<Manifest> back = convert::parseManifest(written, error);
  check(back.has_value() && same(*m, *back));
  check(convert::manifestJson(*back) == written);
  return 0;
}
