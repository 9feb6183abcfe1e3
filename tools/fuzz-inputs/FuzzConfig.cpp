//===- FuzzConfig.cpp - libFuzzer target of config.json as specs read it --===//
//
// Each input is a model's config.json, written to a temporary file. The
// specs mappings/qwen3/hf-to-vllm.json and mappings/qwen3_moe/hf-to-vllm.json
// (loaded once), and every other spec of the library whose model_type is the
// input's "model_type", are evaluated against it: Env::create with a few
// option sets must fail with one line (bounded) or give an Env whose first
// and last ranks' names walk as SpecTools.h checks (the walk rebuilt from
// forEachInstance agrees with forEachName, which is deterministic, names
// expanded, errors naming the spec; walks longer than instanceCap are
// masked, see checkWalks). A violation traps.
//
// Build and run: scripts/fuzz-inputs.sh config SECONDS; replay:
// fuzz-config-replay FILES... (test/Fuzz/replay.test).
//
//===----------------------------------------------------------------------===//
#include "FuzzCommon.h"
#include "SpecTools.h"

#include "wl/MappingSpec/Spec.h"
#include "wl/Support/Json.h"

#include <map>
#include <string>
#include <vector>

using namespace wl;
using namespace wl::fuzz;

namespace {

struct Setup {
  std::string configPath;
  std::vector<std::shared_ptr<const mapping::Spec>> always;
  std::multimap<std::string, std::shared_ptr<const mapping::Spec>> byModelType;
};

const Setup &setup() {
  static const Setup s = [] {
    Setup s;
    std::string dir = tempDir("config");
    s.configPath = dir + "/config.json";
    std::string mappings = sourceDir() + "/mappings";
    for (const std::string &model : listDir(mappings)) {
      if (model == "common" || !isDir(mappings + "/" + model))
        continue;
      for (const std::string &f : listDir(mappings + "/" + model)) {
        if (f.size() < 5 || f.compare(f.size() - 5, 5, ".json") != 0)
          continue;
        std::string path = mappings + "/" + model + "/" + f, error;
        auto spec = mapping::loadSpec(path, error);
        if (!spec) {
          std::fprintf(stderr, "fuzz: %s\n", error.c_str());
          std::abort();
        }
        if (f == "hf-to-vllm.json" && (model == "qwen3" || model == "qwen3_moe"))
          s.always.push_back(spec);
        else
          s.byModelType.emplace(spec->modelType, spec);
      }
    }
    if (s.always.size() != 2) {
      std::fprintf(stderr, "fuzz: no qwen3/ or qwen3_moe/hf-to-vllm.json\n");
      std::abort();
    }
    return s;
  }();
  return s;
}

void evaluate(const std::shared_ptr<const mapping::Spec> &spec,
              const std::string &config) {
  const std::map<std::string, int64_t> optionSets[] = {
      {}, {{"tp", 2}, {"rank", 1}}, {{"tp", 4}, {"ep", 2}}};
  for (const auto &options : optionSets) {
    std::string err;
    std::unique_ptr<mapping::Env> env =
        mapping::Env::create(spec, config, options, "", err);
    if (!env) {
      checkMessage(err);
      check(err.rfind(config + ": ", 0) == 0 ||
            err.rfind(spec->file + ": ", 0) == 0);
      continue;
    }
    check(err.empty() && !env->dtype().empty());
    int64_t ranks = env->ranks();
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
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const Setup &s = setup();
  writeFile(s.configPath, data, size);
  for (const auto &spec : s.always)
    evaluate(spec, s.configPath);
  // The specs of the input's model type, when it names one.
  std::string text((const char *)data, size), why;
  if (text.find("model_type") == std::string::npos)
    return 0;
  std::optional<nlohmann::ordered_json> j = parseJson(text, why);
  if (!j || !j->is_object())
    return 0;
  auto it = j->find("model_type");
  if (it == j->end() || !it->is_string())
    return 0;
  auto range = s.byModelType.equal_range(it->get<std::string>());
  for (auto k = range.first; k != range.second; ++k)
    evaluate(k->second, s.configPath);
  return 0;
}
