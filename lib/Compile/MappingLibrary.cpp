//===- MappingLibrary.cpp - mapping specs found by name -------------------===//
#include "wl/Compile/MappingLibrary.h"

#include "wl/Support/InputFile.h"
#include "wl/Support/Json.h"
#include "wl/Support/Limits.h"
#include "wl/Support/Quote.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <sys/stat.h>

namespace fs = std::filesystem;

namespace wl {

namespace {

bool isRegularFile(const std::string &p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

/// The top-level keys of the spec at `path` that the library shows; false
/// (with `why`) when it is not a JSON object, false and no `why` when it is
/// a part of other specs (no model_type).
bool readEntry(const std::string &path, LibraryMapping &m, std::string &why) {
  std::string text;
  if (!readRegularFile(path, limits::kMaxSpecBytes, text, why))
    return false;
  std::optional<nlohmann::ordered_json> j = parseJson(text, why);
  if (!j)
    return false;
  if (!j->is_object()) {
    why = "is not a JSON object";
    return false;
  }
  auto str = [&](const char *key) {
    auto it = j->find(key);
    return it != j->end() && it->is_string() ? it->get<std::string>()
                                             : std::string();
  };
  m.modelType = str("model_type");
  if (m.modelType.empty())
    return false;
  m.from = str("from");
  m.to = str("to");
  auto d = j->find("description");
  if (d != j->end() && d->is_string())
    m.summary = d->get<std::string>();
  else if (d != j->end() && d->is_array() && !d->empty() &&
           d->front().is_string())
    m.summary = d->front().get<std::string>();
  return true;
}

} // namespace

namespace {
std::mutex foldersMutex;
std::vector<std::string> &addedFolders() {
  static std::vector<std::string> folders;
  return folders;
}
} // namespace

void addMappingFolder(const std::string &folder) {
  std::lock_guard<std::mutex> lock(foldersMutex);
  auto &v = addedFolders();
  if (std::find(v.begin(), v.end(), folder) == v.end())
    v.push_back(folder);
}

std::vector<std::string> mappingSearchPath() {
  std::vector<std::string> out;
  if (const char *env = std::getenv("WL_MAPPINGS_PATH")) {
    std::string s = env;
    size_t a = 0;
    while (a <= s.size()) {
      size_t b = s.find(':', a);
      if (b == std::string::npos)
        b = s.size();
      if (b > a)
        out.push_back(s.substr(a, b - a));
      a = b + 1;
    }
  }
  {
    std::lock_guard<std::mutex> lock(foldersMutex);
    for (const std::string &f : addedFolders())
      out.push_back(f);
  }
#ifdef WL_MAPPINGS_DIR
  out.push_back(WL_MAPPINGS_DIR);
#endif
  return out;
}

std::string findMapping(const std::string &mapping,
                        std::vector<std::string> &tried) {
  auto consider = [&](const std::string &p) {
    tried.push_back(p);
    return isRegularFile(p);
  };
  if (consider(mapping))
    return mapping;
  if (mapping.empty() || mapping[0] == '/')
    return "";
  for (const std::string &dir : mappingSearchPath()) {
    std::string base = dir + "/" + mapping;
    if (consider(base))
      return base;
    if (consider(base + ".json"))
      return base + ".json";
  }
  return "";
}

std::string resolveMappingArgument(const std::string &mapping,
                                   std::string &error) {
  std::vector<std::string> tried;
  std::string found = findMapping(mapping, tried);
  if (!found.empty())
    return found;
  if (!mapping.empty() &&
      (mapping[0] == '/' || fs::path(mapping).extension() == ".json"))
    return mapping;
  error = "--mapping " + quoteName(mapping) +
          " is neither a spec file nor a library name (looked for";
  for (size_t i = 0; i < tried.size(); ++i)
    error += (i ? ", " : " ") + quoteName(tried[i]);
  error += "; --list-mappings shows the library)";
  return "";
}

std::vector<LibraryMapping> listMappings(std::vector<std::string> &skipped) {
  std::map<std::string, LibraryMapping> byName;
  for (const std::string &dir : mappingSearchPath()) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end;
         it.increment(ec))
      if (it->path().extension() == ".json" && it->is_regular_file(ec))
        files.push_back(it->path());
    for (const fs::path &f : files) {
      std::string name =
          f.lexically_relative(dir).replace_extension().generic_string();
      if (byName.count(name))
        continue;
      LibraryMapping m;
      std::string why;
      if (readEntry(f.string(), m, why)) {
        m.name = name;
        m.path = f.string();
        byName.emplace(name, std::move(m));
      } else if (!why.empty()) {
        skipped.push_back(quoteName(f.string()) + ": " + why);
      }
    }
  }
  std::vector<LibraryMapping> out;
  for (auto &[name, m] : byName)
    out.push_back(std::move(m));
  return out;
}

bool modelTypeMatches(const std::string &specModelType,
                      const std::string &configModelType) {
  return configModelType == specModelType ||
         configModelType == specModelType + "_text";
}

std::string pickMapping(const std::string &configModelType,
                        const std::string &format, bool reverse,
                        std::string &error) {
  std::vector<std::string> skipped;
  std::vector<LibraryMapping> fits;
  std::vector<std::string> forModel;
  for (LibraryMapping &m : listMappings(skipped)) {
    if (!modelTypeMatches(m.modelType, configModelType))
      continue;
    forModel.push_back(m.name);
    if ((reverse ? m.from : m.to) == format)
      fits.push_back(std::move(m));
  }
  if (fits.size() == 1)
    return fits.front().path;
  std::string what = "model_type " + quoteName(configModelType) + " to " +
                     quoteName(format);
  if (fits.empty()) {
    error = "no mapping in the library converts " + what;
    error += forModel.empty()
                 ? " (none is written for this model type; --list-mappings "
                   "shows the library)"
                 : "; for this model type there are: ";
    for (size_t i = 0; i < forModel.size(); ++i)
      error += (i ? ", " : "") + forModel[i];
    return "";
  }
  error = "several mappings convert " + what + ": ";
  for (size_t i = 0; i < fits.size(); ++i)
    error += (i ? ", " : "") + fits[i].name;
  error += " (pick one with --mapping)";
  return "";
}

} // namespace wl
