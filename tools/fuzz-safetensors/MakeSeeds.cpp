//===- MakeSeeds.cpp - the seed corpus of fuzz-safetensors-header ---------===//
//
// Usage: make-seeds OUTDIR [FILE.safetensors...]. Writes a few valid files
// made with layoutFile (every dtype, zero-sized and rank-0 tensors, escaped
// names, metadata), and for each given checkpoint file its header alone and
// a small valid file with its names and dtypes (each dimension cut to 2).
//
//===----------------------------------------------------------------------===//
#include "wl/Safetensors/Safetensors.h"

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

using namespace wl::runtime;
using wl::layout::DType;

namespace {
int count = 0;

void write(const std::string &dir, const std::string &bytes) {
  std::string path = dir + "/seed-" + std::to_string(count++);
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), (std::streamsize)bytes.size());
}

std::string fileOf(const std::vector<OutTensor> &ts,
                   const std::map<std::string, std::string> &metadata) {
  FileLayout l = layoutFile(ts, metadata);
  std::string f = l.prefix;
  f.resize(l.fileSize, '\0');
  return f;
}
} // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s OUTDIR [FILE.safetensors...]\n", argv[0]);
    return 2;
  }
  std::string dir = argv[1];
  write(dir, fileOf({}, {}));
  write(dir, fileOf({{"a", DType::F32, {2}}}, {}));
  std::vector<OutTensor> all;
  for (int k = 0; k < wl::layout::kNumDTypes; ++k)
    all.push_back({"t" + std::to_string(k), (DType)k, {k % 3, 1}});
  write(dir, fileOf(all, {{"format", "pt"}}));
  write(dir,
        fileOf({{"model.layers.0.self_attn.q_proj.weight", DType::BF16, {4, 2}},
                {"zero", DType::I64, {0, 5}},
                {"scalar", DType::F64, {}},
                {"q\"uo\\te\n\x01 é😀", DType::U8, {3}}},
               {{"k\u00e9", "v\"\\"}, {"format", "pt"}}));
  for (int i = 2; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    std::string prefix(8, '\0');
    if (!in.read(&prefix[0], 8))
      continue;
    uint64_t n = 0;
    for (int k = 7; k >= 0; --k)
      n = (n << 8) | (uint8_t)prefix[k];
    if (n > kMaxHeaderBytes)
      continue;
    prefix.resize(8 + n);
    if (!in.read(&prefix[8], (std::streamsize)n))
      continue;
    in.seekg(0, std::ios::end);
    uint64_t fileSize = (uint64_t)in.tellg();
    write(dir, prefix); // the header alone: rejected, but rich JSON
    std::string error;
    std::optional<Header> h = parseHeader((const uint8_t *)prefix.data(),
                                          prefix.size(), fileSize, error);
    if (!h) {
      std::fprintf(stderr, "%s: %s\n", argv[i], error.c_str());
      continue;
    }
    std::vector<OutTensor> ts;
    for (const TensorEntry &t : h->tensors) {
      OutTensor o{t.name, t.dtype, t.shape};
      for (int64_t &d : o.shape)
        d = d < 2 ? d : 2;
      ts.push_back(o);
    }
    write(dir, fileOf(ts, h->metadata));
  }
  std::printf("%d seeds in %s\n", count, dir.c_str());
  return 0;
}
