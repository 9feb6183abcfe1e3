//===- OtherFiles.cpp - the files that travel with the weights ------------===//
#include "OtherFiles.h"

#include "Staging.h"

#include "wl/Convert/Manifest.h"

#include <algorithm>
#include <filesystem>
#include <set>

namespace fs = std::filesystem;

namespace wl::tool {

namespace {

bool otherWeightFormat(const std::string &name) {
  for (const char *ext : {".bin", ".pt", ".pth", ".ckpt", ".gguf", ".h5",
                          ".msgpack", ".npz", ".pdparams"}) {
    size_t n = std::char_traits<char>::length(ext);
    if (name.size() > n && name.compare(name.size() - n, n, ext) == 0)
      return true;
  }
  return false;
}

} // namespace

bool listOtherFiles(const runtime::Checkpoint &ckpt,
                    std::vector<std::string> &copy,
                    std::vector<std::string> &skipped, std::string &error) {
  std::set<std::string> weights(ckpt.weightFileNames().begin(),
                                ckpt.weightFileNames().end());
  std::error_code ec;
  for (auto it = fs::directory_iterator(ckpt.folder(), ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    std::error_code tec;
    if (!it->is_regular_file(tec) || weights.count(name) ||
        name == convert::kManifestName || name[0] == '.')
      continue;
    (otherWeightFormat(name) ? skipped : copy).push_back(it->path().string());
  }
  if (ec) {
    error = ckpt.folder() + ": cannot list: " + ec.message();
    return false;
  }
  std::sort(copy.begin(), copy.end());
  std::sort(skipped.begin(), skipped.end());
  return true;
}

bool copyOtherFiles(const std::vector<std::string> &files,
                    const std::string &to, bool durable, std::string &error) {
  for (const std::string &f : files)
    if (!copyFile(f, to + "/" + fs::path(f).filename().string(), durable,
                  error))
      return false;
  return true;
}

} // namespace wl::tool
