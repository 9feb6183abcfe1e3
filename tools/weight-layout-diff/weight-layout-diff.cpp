//===- weight-layout-diff.cpp - are two checkpoints the same tensors? ----===//
//
//   weight-layout-diff A B [--quiet]
// A and B are checkpoints (a folder or a .safetensors file), or folders of
// rank-<r>/ checkpoints as weight-layout-convert writes them. They are the
// same when they hold the same tensor names with equal dtypes, shapes and
// bytes (file layout, tensor order and metadata aside). Exit 0 when the
// same, 1 when not (the differences are listed), 2 on bad input.
//
//===----------------------------------------------------------------------===//
#include "wl/Layout/RankNames.h"
#include "wl/Safetensors/Safetensors.h"
#include "wl/Support/Quote.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace wl::runtime;

namespace {

/// The checkpoints of `path`: itself, or its rank-<r>/ folders ("rank-r/").
bool open(const std::string &path,
          std::map<std::string, std::unique_ptr<Checkpoint>> &out,
          std::string &error) {
  std::error_code ec;
  if (fs::is_directory(fs::path(path) / wl::layout::rankFolder(0), ec)) {
    for (int r = 0;; ++r) {
      fs::path dir = fs::path(path) / wl::layout::rankFolder(r);
      if (!fs::is_directory(dir, ec))
        return true;
      auto c = Checkpoint::open(dir.string(), error);
      if (!c)
        return false;
      out[wl::layout::rankPrefix(r)] = std::move(c);
    }
  }
  auto c = Checkpoint::open(path, error);
  if (!c)
    return false;
  out[""] = std::move(c);
  return true;
}

} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> paths;
  bool quiet = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quiet") == 0)
      quiet = true;
    else
      paths.push_back(argv[i]);
  }
  if (paths.size() != 2) {
    std::fprintf(stderr, "usage: weight-layout-diff A B [--quiet]\n");
    return 2;
  }
  std::map<std::string, std::unique_ptr<Checkpoint>> a, b;
  std::string error;
  if (!open(paths[0], a, error) || !open(paths[1], b, error)) {
    std::fprintf(stderr, "weight-layout-diff: error: %s\n", error.c_str());
    return 2;
  }
  std::map<std::string, Checkpoint::Located> ta, tb;
  for (auto &[prefix, c] : a)
    for (const Checkpoint::Located &l : c->tensors())
      ta[prefix + l.entry->name] = l;
  for (auto &[prefix, c] : b)
    for (const Checkpoint::Located &l : c->tensors())
      tb[prefix + l.entry->name] = l;
  std::vector<std::string> problems;
  uint64_t bytes = 0;
  for (auto &[name, l] : ta) {
    auto it = tb.find(name);
    if (it == tb.end()) {
      problems.push_back(wl::quoteName(name) + ": only in " + paths[0]);
      continue;
    }
    const TensorEntry &x = *l.entry, &y = *it->second.entry;
    if (x.dtype != y.dtype || x.shape != y.shape) {
      problems.push_back(wl::quoteName(name) + ": another dtype or shape");
      continue;
    }
    uint64_t n = x.end - x.begin;
    const uint8_t *p = l.file->data(x), *q = it->second.file->data(y);
    if (std::memcmp(p, q, n) != 0) {
      uint64_t k = 0;
      while (p[k] == q[k])
        ++k;
      problems.push_back(wl::quoteName(name) + ": bytes differ from byte " +
                         std::to_string(k) + " of " + std::to_string(n));
      continue;
    }
    bytes += n;
  }
  for (auto &[name, l] : tb)
    if (!ta.count(name))
      problems.push_back(wl::quoteName(name) + ": only in " + paths[1]);
  if (!problems.empty()) {
    for (size_t i = 0; i < problems.size() && i < 20; ++i)
      std::printf("%s\n", problems[i].c_str());
    if (problems.size() > 20)
      std::printf("... and %zu more\n", problems.size() - 20);
    std::printf("weight-layout-diff: %zu difference(s)\n", problems.size());
    return 1;
  }
  if (!quiet)
    std::printf("weight-layout-diff: the same %zu tensors (%llu bytes)\n",
                ta.size(), static_cast<unsigned long long>(bytes));
  return 0;
}
