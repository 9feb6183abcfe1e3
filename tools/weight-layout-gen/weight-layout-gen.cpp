//===- weight-layout-gen.cpp - realistic checkpoints of any size ----------===//
//
//   weight-layout-gen --config FILE --to DIR [--mapping SPEC] [--layers N]
//     [--set KEY=VALUE ...] [--seed S] [--max-shard-size SIZE] [--quiet]
// Writes a Hugging Face-named safetensors checkpoint (and its config.json)
// for a model config: the tensors, dtypes and shapes are exactly those the
// mapping spec reads from a Hugging Face checkpoint (by default
// mappings/<model_type>/hf-to-vllm.json), so a generated checkpoint is what
// the converter will see from the real model. --layers overrides the number
// of layers (a Qwen3-8B-shaped checkpoint of 8 layers is ~5.6 GB). Values are
// deterministic pseudo-random numbers of small magnitude (norms near 1),
// different for every element and seed.
//
//===----------------------------------------------------------------------===//
#include "wl/Compile/CompileMapping.h"
#include "wl/Compile/MappingLibrary.h"
#include "wl/Runtime/ElementSteps.h"
#include "wl/Safetensors/Safetensors.h"
#include "wl/Support/InputFile.h"
#include "wl/Support/Json.h"
#include "wl/Support/Limits.h"
#include "wl/Support/OutputFile.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace wl;

namespace {

constexpr const char *kTool = "weight-layout-gen";

int fail(const std::string &m) {
  std::fprintf(stderr, "%s: error: %s\n", kTool, m.c_str());
  return 1;
}

uint64_t mix(uint64_t x) { // splitmix64
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/// Element `i` of a tensor: uniform in (-scale, scale) around `center`.
void fill(uint8_t *out, layout::DType t, uint64_t key, int64_t first, int64_t n,
          float center, float scale) {
  int es = layout::dtypeSize(t);
  for (int64_t i = 0; i < n; ++i) {
    uint64_t h = mix(key ^ static_cast<uint64_t>(first + i));
    if (!layout::isFloat(t)) {
      std::memcpy(out + i * es, &h, es);
      continue;
    }
    float u = static_cast<float>(h >> 40) / static_cast<float>(1 << 24);
    float v = center + scale * (2 * u - 1);
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    if (t == layout::DType::BF16) {
      uint16_t b = runtime::f32ToBF16(bits);
      std::memcpy(out + i * es, &b, 2);
      continue;
    }
    uint64_t b = layout::castBits(bits, layout::DType::F32, t);
    std::memcpy(out + i * es, &b, es);
  }
}

/// What the command line asks for.
struct GenArgs {
  std::string config, to, mapping;
  std::map<std::string, int64_t> options;
  int64_t layers = -1;
  uint64_t seed = 1, maxShard = 5'000'000'000ull;
  bool quiet = false;
};

/// Parses the command line; on a usage error returns its exit code (after
/// printing it), else 0.
int parseArgs(int argc, char **argv, GenArgs &g) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&](std::string &v) {
      if (i + 1 >= argc)
        return false;
      v = argv[++i];
      return true;
    };
    std::string v;
    if (a == "--config" && next(v))
      g.config = v;
    else if (a == "--to" && next(v))
      g.to = v;
    else if (a == "--mapping" && next(v))
      g.mapping = v;
    else if (a == "--layers" && next(v))
      g.layers = std::strtoll(v.c_str(), nullptr, 10);
    else if (a == "--seed" && next(v))
      g.seed = std::strtoull(v.c_str(), nullptr, 10);
    else if (a == "--max-shard-size" && next(v)) {
      if (!parseSize(v, g.maxShard))
        return fail("--max-shard-size: bad size '" + v + "'");
    } else if (a == "--set" && next(v) && v.find('=') != std::string::npos)
      g.options[v.substr(0, v.find('='))] =
          std::strtoll(v.substr(v.find('=') + 1).c_str(), nullptr, 10);
    else if (a == "--quiet")
      g.quiet = true;
    else {
      std::fprintf(stderr,
                   "usage: %s --config FILE --to DIR [--mapping SPEC] "
                   "[--layers N] [--set KEY=VALUE ...] [--seed S] "
                   "[--max-shard-size SIZE] [--quiet]\n",
                   kTool);
      return 2;
    }
  }
  if (g.config.empty() || g.to.empty())
    return fail("--config and --to are required");
  return 0;
}

/// The config as written: --layers cuts num_hidden_layers (and repeats
/// layer_types to that length) in the text config if there is one.
bool loadConfig(const GenArgs &g, nlohmann::ordered_json &cfg,
                std::string &error) {
  std::string text, why;
  if (!readRegularFile(g.config, limits::kMaxConfigBytes, text, why)) {
    error = g.config + ": cannot read the config: " + why;
    return false;
  }
  std::optional<nlohmann::ordered_json> parsed = parseJson(text, why);
  if (!parsed || !parsed->is_object()) {
    error = g.config +
            (parsed ? ": not a JSON object" : ": not valid JSON: " + why);
    return false;
  }
  cfg = std::move(*parsed);
  nlohmann::ordered_json *body =
      cfg.contains("text_config") && cfg["text_config"].is_object()
          ? &cfg["text_config"]
          : &cfg;
  int64_t layers = g.layers;
  if (layers > 0) {
    (*body)["num_hidden_layers"] = layers;
    if (body->contains("layer_types") && (*body)["layer_types"].is_array() &&
        !(*body)["layer_types"].empty()) {
      auto &lt = (*body)["layer_types"];
      nlohmann::ordered_json cut = nlohmann::ordered_json::array();
      for (int64_t l = 0; l < layers; ++l)
        cut.push_back(lt[l % lt.size()]);
      lt = cut;
    }
  }
  return true;
}

/// Writes the file of `group` (tensors of `tensors`, values from `seed`)
/// into `dir`; adds its size to `total`.
bool writeGroup(const std::string &dir, const std::string &mapping,
                const std::vector<runtime::OutTensor> &tensors,
                const runtime::FileGroup &group, uint64_t seed,
                uint64_t &total, std::string &error) {
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<runtime::OutTensor> sub;
  for (size_t k : group.tensors)
    sub.push_back(tensors[k]);
  std::string why;
  if (!runtime::checkOutTensors(sub, {{"format", "pt"}}, why)) {
    error = mapping + ": cannot be written as safetensors: " + why;
    return false;
  }
  runtime::FileLayout fl = runtime::layoutFile(sub, {{"format", "pt"}});
  std::string path = dir + "/" + group.name;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0 ||
      !pwriteAll(fd, reinterpret_cast<const uint8_t *>(fl.prefix.data()),
                 fl.prefix.size(), 0)) {
    if (fd >= 0)
      ::close(fd);
    error = path + ": cannot write";
    return false;
  }
  const int64_t chunk = 16 << 20; // elements per thread and round
  std::vector<std::vector<uint8_t>> bufs(threads);
  for (size_t k = 0; k < group.tensors.size(); ++k) {
    const runtime::OutTensor &t = sub[k];
    int es = layout::dtypeSize(t.dtype);
    int64_t n = *layout::numElements(t.shape);
    bool norm = t.name.find("norm") != std::string::npos;
    uint64_t key = mix(seed * 1000003 + group.tensors[k]);
    for (int64_t first = 0; first < n; first += chunk * threads) {
      std::vector<std::thread> ws;
      bool ok = true;
      for (unsigned w = 0; w < threads; ++w) {
        int64_t a = first + w * chunk, m = std::min(chunk, n - a);
        if (m <= 0)
          break;
        ws.emplace_back([&, w, a, m] {
          bufs[w].resize(m * es);
          fill(bufs[w].data(), t.dtype, key, a, m, norm ? 1.0f : 0.0f,
               norm ? 0.25f : 0.05f);
        });
      }
      for (std::thread &th : ws)
        th.join();
      for (unsigned w = 0; w < ws.size(); ++w) {
        int64_t a = first + w * chunk, m = std::min(chunk, n - a);
        ok &= pwriteAll(fd, bufs[w].data(), m * es, fl.offsets[k] + a * es);
      }
      if (!ok) {
        error = path + ": cannot write: " + std::strerror(errno);
        ::close(fd);
        return false;
      }
    }
  }
  ::fsync(fd);
  ::close(fd);
  total += fl.fileSize;
  return true;
}

} // namespace

int main(int argc, char **argv) {
  GenArgs g;
  if (int code = parseArgs(argc, argv, g))
    return code;
  nlohmann::ordered_json cfg;
  std::string error;
  if (!loadConfig(g, cfg, error))
    return fail(error);
  std::string modelType =
      cfg.contains("model_type") && cfg["model_type"].is_string()
          ? cfg["model_type"].get<std::string>()
          : "";
  std::string mapping = g.mapping;
  if (mapping.empty()) {
    // The library's Hugging Face -> vLLM spec names the tensors.
    if (modelType.empty())
      return fail(g.config + ": no model_type; give --mapping");
    std::string why;
    mapping = pickMapping(modelType, "vllm", false, why);
    if (mapping.empty())
      return fail(g.config + ": " + why + "; give --mapping");
  }
  std::error_code ec;
  if (fs::exists(g.to, ec))
    return fail(g.to + " exists");
  std::string tmp = g.to + ".wl-gen-" + std::to_string(::getpid());
  fs::create_directories(tmp, ec);
  if (ec)
    return fail(tmp + ": " + ec.message());
  {
    std::ofstream out(tmp + "/config.json");
    out << cfg.dump(2) << "\n";
  }
  MappingRequest req{mapping, tmp + "/config.json", g.options, "", false,
                     false};
  auto compiled = compileMapping(req, error);
  if (!compiled) {
    fs::remove_all(tmp, ec);
    return fail(error);
  }
  const layout::Plan &plan = compiled->rankPlans.at(0);
  std::vector<runtime::OutTensor> tensors;
  for (const layout::TensorInfo &t : plan.sources)
    tensors.push_back({t.name, t.dtype, t.shape});
  std::vector<runtime::FileGroup> groups =
      runtime::splitFiles(tensors, g.maxShard);
  uint64_t total = 0;
  for (const runtime::FileGroup &group : groups)
    if (!writeGroup(tmp, mapping, tensors, group, g.seed, total, error)) {
      fs::remove_all(tmp, ec);
      return fail(error);
    }
  if (groups.size() > 1) {
    std::ofstream out(tmp + "/model.safetensors.index.json");
    out << runtime::indexJson(tensors, groups);
  }
  fs::rename(tmp, g.to, ec);
  if (ec) {
    fs::remove_all(tmp, ec);
    return fail(g.to + ": " + ec.message());
  }
  if (!g.quiet)
    std::printf("%s: %s: %zu tensors in %zu file(s), %.2f GB (%s)\n", kTool,
                g.to.c_str(), tensors.size(), groups.size(), total / 1e9,
                modelType.c_str());
  return 0;
}
