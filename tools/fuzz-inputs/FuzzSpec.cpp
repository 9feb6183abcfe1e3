//===- FuzzSpec.cpp - libFuzzer target of the mapping spec loader ---------===//
//
// Each input is a mapping spec (docs/mapping-spec.md), written to
// TMP/mappings/fuzz/spec.json beside a copy of the mapping library, so that
// its includes ("../common/vllm-qwen3-attention.json", or itself) resolve.
// loadSpec must reject it with one line (bounded) that starts with the
// spec's path, or load it with the structure it promises (SpecTools.h), the
// same twice. A loaded spec is then evaluated: Env::create against the test
// config of its model_type (test/Mapping/Inputs/*-config.json; Qwen3's for
// any other) with a few option sets, and for each Env the names of its first
// and last rank are walked (SpecTools.h: the walk rebuilt from
// forEachInstance agrees with forEachName, which is deterministic, names
// expanded, errors naming the spec; walks longer than instanceCap are not
// made, see checkWalks). A violation traps.
//
// Build and run: scripts/fuzz-inputs.sh spec SECONDS; replay:
// fuzz-spec-replay FILES... (test/Fuzz/replay.test).
//
//===----------------------------------------------------------------------===//
#include "FuzzCommon.h"
#include "SpecTools.h"

#include "wl/MappingSpec/Spec.h"
#include "wl/Support/Json.h"

#include <map>
#include <string>

using namespace wl;
using namespace wl::fuzz;

namespace {

struct Setup {
  std::string specPath;
  std::map<std::string, std::string> configs; ///< model_type -> path
  std::string defaultConfig;
};

const Setup &setup() {
  static const Setup s = [] {
    Setup s;
    std::string dir = tempDir("spec");
    copyMappings(dir + "/mappings");
    makeDir(dir + "/mappings/fuzz");
    s.specPath = dir + "/mappings/fuzz/spec.json";
    makeDir(dir + "/configs");
    std::string inputs = sourceDir() + "/test/Mapping/Inputs";
    for (const std::string &f : listDir(inputs)) {
      std::string text, why;
      if (f.size() < 12 || f.compare(f.size() - 12, 12, "-config.json") != 0 ||
          !readFile(inputs + "/" + f, text))
        continue;
      std::optional<nlohmann::ordered_json> j = parseJson(text, why);
      if (!j || !j->is_object() || !j->contains("model_type") ||
          !(*j)["model_type"].is_string())
        continue;
      std::string path = dir + "/configs/" + f;
      writeFile(path, text);
      s.configs.emplace((*j)["model_type"].get<std::string>(), path);
    }
    auto it = s.configs.find("qwen3");
    if (it == s.configs.end()) {
      std::fprintf(stderr, "fuzz: no qwen3 config in %s\n", inputs.c_str());
      std::abort();
    }
    s.defaultConfig = it->second;
    return s;
  }();
  return s;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const Setup &s = setup();
  writeFile(s.specPath, data, size);
  std::string error;
  std::shared_ptr<const mapping::Spec> spec = mapping::loadSpec(s.specPath, error);
  if (!spec) {
    checkMessage(error);
    check(error.rfind(s.specPath + ": ", 0) == 0);
    std::string again;
    check(!mapping::loadSpec(s.specPath, again) && again == error);
    return 0;
  }
  check(error.empty() && spec->file == s.specPath);
  std::string shape = checkSpec(*spec);
  {
    auto again = mapping::loadSpec(s.specPath, error);
    check(again && checkSpec(*again) == shape);
  }

  auto it = s.configs.find(spec->modelType);
  const std::string &config = it == s.configs.end() ? s.defaultConfig : it->second;
  const std::map<std::string, int64_t> optionSets[] = {
      {}, {{"tp", 2}, {"rank", 1}}, {{"tp", 4}}, {{"tp", 2}, {"ep", 2}}};
  for (const auto &options : optionSets) {
    std::string err;
    std::unique_ptr<mapping::Env> env =
        mapping::Env::create(spec, config, options, "", err);
    if (!env) {
      checkMessage(err);
      continue;
    }
    check(err.empty() && !env->dtype().empty());
    int64_t ranks = env->ranks();
    check(ranks >= 1 && ranks <= limits::kMaxRanks);
    for (int64_t rank : {int64_t(0), ranks - 1}) {
      env->setRank(rank);
      if (!env->refresh(err)) {
        checkEnvMessage(*env, err);
        continue;
      }
      checkWalks(*env);
      if (ranks == 1)
        break;
    }
  }
  return 0;
}
