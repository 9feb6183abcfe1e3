//===- MakeSeeds.cpp - seed corpora of the input fuzz targets -------------===//
//
// Usage:
//   make-seeds expr OUTDIR SPEC.json...   every expression of the specs (and
//                                         of the {...} in their name patterns)
//   make-seeds index OUTDIR [FILE.safetensors...]
//                                         indexJson of a few made-up
//                                         checkpoints, and of each file's
//                                         names split into three shards
//   make-seeds manifest OUTDIR            manifestJson of a few manifests
// Seeds of the spec and config targets are files of the checkout, copied by
// scripts/fuzz-inputs.sh. Each seed is written once (equal seeds merged).
//
//===----------------------------------------------------------------------===//
#include "wl/Convert/Manifest.h"
#include "wl/MappingSpec/Spec.h"
#include "wl/Safetensors/Safetensors.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <vector>

using namespace wl;

namespace {
std::set<std::string> seeds;

void seed(const std::string &bytes) { seeds.insert(bytes); }

int writeAll(const std::string &dir, const char *prefix) {
  int k = 0;
  for (const std::string &s : seeds) {
    std::string path = dir + "/" + prefix + "-" + std::to_string(k++);
    std::ofstream out(path, std::ios::binary);
    out.write(s.data(), (std::streamsize)s.size());
  }
  std::printf("%d seeds in %s\n", k, dir.c_str());
  return 0;
}

void patternSeeds(const std::string &pattern) {
  size_t i = 0;
  while ((i = pattern.find('{', i)) != std::string::npos) {
    size_t close = pattern.find('}', i);
    if (close == std::string::npos)
      return;
    seed(pattern.substr(i + 1, close - i - 1));
    i = close + 1;
  }
}

int exprSeeds(int argc, char **argv) {
  for (const char *e :
       {"nh * hd / tp", "(V + 63) / 64 * 64", "min(tp, nkv)", "max(a, b, 3)",
        "if(has(num_experts), num_experts, 0)", "layer_types[L] == 'full_attention'",
        "text_config.head_dim", "contains(lst, 2) && len(lst) == 3",
        "concat(shard(q, 0, tp, rank), k, dim=0)", "split(x, 0, [a, b])[1]",
        "-9223372036854775807 - 1", "big + 1", "small / -1", "small % -1",
        "!(a < b) || a >= b", "[1, 2, 3]", "\"s\" != 's'", "mixed[1]", "has(flt)",
        "has(obj) + has(nope)", "9223372036854775807"})
    seed(e);
  for (int i = 3; i < argc; ++i) {
    std::string error;
    auto spec = mapping::loadSpec(argv[i], error);
    if (!spec) {
      std::fprintf(stderr, "%s\n", error.c_str());
      continue;
    }
    for (const auto &[n, l] : spec->lets)
      seed(l.text);
    for (const auto &[c, m] : spec->requirements)
      seed(c.text);
    for (const mapping::Rule &r : spec->rules) {
      for (const auto &[c, l] : r.loops)
        seed(l.text);
      if (r.when)
        seed(r.when->text);
      for (const mapping::InputDecl &in : r.inputs) {
        patternSeeds(in.pattern);
        for (const auto &[c, l] : in.loops)
          seed(l.text);
        for (const mapping::Located &d : in.shape)
          seed(d.text);
      }
      for (const mapping::OutputDecl &o : r.outputs) {
        patternSeeds(o.pattern);
        seed(o.body.text);
      }
    }
  }
  return writeAll(argv[2], "expr");
}

using runtime::OutTensor;

void indexOf(const std::vector<OutTensor> &ts, uint64_t maxFileBytes) {
  seed(runtime::indexJson(ts, runtime::splitFiles(ts, maxFileBytes)));
}

int indexSeeds(int argc, char **argv) {
  using layout::DType;
  indexOf({}, 1 << 20);
  indexOf({{"a", DType::F32, {2}}}, 1 << 20);
  indexOf({{"model.embed_tokens.weight", DType::BF16, {16, 4}},
           {"model.layers.0.self_attn.q_proj.weight", DType::BF16, {4, 4}},
           {"lm_head.weight", DType::BF16, {16, 4}},
           {"q\"uo\\te\n\x01 \xc3\xa9\xf0\x9f\x98\x80", DType::U8, {3}}},
          64);
  seed("{\"weight_map\": {\"a\": \"model-00001-of-00002.safetensors\", \"b\": "
       "\"model-00002-of-00002.safetensors\"}, \"metadata\": null}");
  seed("{\"metadata\": {\"total_size\": 1.5e3, \"format\": [1, {\"x\": "
       "true}]}, \"weight_map\": {}, \"extra\": \"\\ud83d\\ude00\"}");
  for (int i = 3; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    std::string prefix(8, '\0');
    if (!in.read(&prefix[0], 8))
      continue;
    uint64_t n = 0;
    for (int k = 7; k >= 0; --k)
      n = (n << 8) | (uint8_t)prefix[k];
    if (n > runtime::kMaxHeaderBytes)
      continue;
    prefix.resize(8 + n);
    if (!in.read(&prefix[8], (std::streamsize)n))
      continue;
    in.seekg(0, std::ios::end);
    std::string error;
    auto h = runtime::parseHeader((const uint8_t *)prefix.data(), prefix.size(),
                                  (uint64_t)in.tellg(), error);
    if (!h) {
      std::fprintf(stderr, "%s: %s\n", argv[i], error.c_str());
      continue;
    }
    std::vector<OutTensor> ts;
    uint64_t total = 0;
    for (const runtime::TensorEntry &t : h->tensors) {
      ts.push_back({t.name, t.dtype, t.shape});
      total += t.end - t.begin;
    }
    indexOf(ts, total / 3 + 1);
  }
  return writeAll(argv[2], "index");
}

int manifestSeeds(char **argv) {
  convert::Manifest m;
  m.mapping = "qwen3/hf-to-vllm.json";
  m.modelType = "qwen3";
  m.from = "hf";
  m.to = "vllm";
  m.options = {{"tp", 2}, {"ep", 1}, {"pp", 1}};
  m.ranks = 2;
  seed(convert::manifestJson(m));
  m.reverse = true;
  m.mapping = "/abs/path/qwen3_moe/hf-to-megatron.json";
  m.options = {{"tp", 4}, {"ep", 8}, {"pp", 2}, {"pad_vocab", 128}, {"x", -7}};
  m.ranks = 64;
  seed(convert::manifestJson(m));
  m = convert::Manifest();
  m.mapping = "sp\u00e9c \"q\"\\\t.json";
  m.options = {{"tp", 65536}, {"ep", 1}, {"pp", 1}};
  m.ranks = 65536;
  seed(convert::manifestJson(m));
  seed("{\"format\": \"weight-layout-ranks/1\", \"mapping\": \"m.json\", "
       "\"options\": {}}");
  return writeAll(argv[2], "manifest");
}
} // namespace

int main(int argc, char **argv) {
  if (argc >= 3 && !std::strcmp(argv[1], "expr"))
    return exprSeeds(argc, argv);
  if (argc >= 3 && !std::strcmp(argv[1], "index"))
    return indexSeeds(argc, argv);
  if (argc == 3 && !std::strcmp(argv[1], "manifest"))
    return manifestSeeds(argv);
  std::fprintf(stderr,
               "usage: %s expr OUTDIR SPEC...\n"
               "       %s index OUTDIR [FILE.safetensors...]\n"
               "       %s manifest OUTDIR\n",
               argv[0], argv[0], argv[0]);
  return 2;
}
