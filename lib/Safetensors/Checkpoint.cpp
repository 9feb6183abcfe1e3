//===- Checkpoint.cpp - a checkpoint: one file, or an index and its shards ===//
//
// Which file a path names (a folder is searched in the order of
// Checkpoint's comment in wl/Safetensors/Safetensors.h), the files opened, and
// an index checked against the shards it names: each name where the map
// says, and every tensor of every shard in the map.
//
//===----------------------------------------------------------------------===//
#include "wl/Safetensors/Safetensors.h"

#include "Internal.h"
#include "wl/Support/InputFile.h"
#include "wl/Support/Limits.h"
#include "wl/Support/Quote.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>

#include <dirent.h>
#include <sys/stat.h>

namespace wl::runtime {

using namespace detail;

namespace {

constexpr const char *kSingle = "model.safetensors";
constexpr const char *kIndex = "model.safetensors.index.json";

using Files = std::vector<std::unique_ptr<SafetensorsFile>>;
using ByName = std::map<std::string, Checkpoint::Located, std::less<>>;

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string joinPath(const std::string &folder, const std::string &name) {
  if (folder.empty())
    return name;
  if (folder.back() == '/')
    return folder + name;
  return folder + "/" + name;
}

/// Why `name` cannot be a file name in the checkpoint's folder, or "".
std::string badFileName(const std::string &name) {
  if (name.empty())
    return "is empty";
  if (name == "." || name == ".." || name.find("..") != std::string::npos)
    return "contains '..'";
  if (name.find('/') != std::string::npos ||
      name.find('\\') != std::string::npos)
    return "is not a plain file name (it contains a path separator)";
  if (name.find('\0') != std::string::npos)
    return "contains a NUL byte";
  return "";
}

bool isRegularFile(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

//===----------------------------------------------------------------------===//
// Which file to open
//===----------------------------------------------------------------------===//

/// What a path names: its folder, the one file to open in it first, and the
/// names of its weight files (Checkpoint::weightFileNames, before the
/// shards of an index are added).
struct Choice {
  std::string folder;
  std::string single; ///< a file name in folder, or ""
  std::string index;  ///< the index's file name in folder, or ""
  std::vector<std::string> weightFileNames;
};

/// The regular files of the folder `path` (`folder`: without trailing
/// slashes) that hold weights or are indexes, each list sorted.
bool listWeightFiles(const std::string &path, const std::string &folder,
                     const std::string &shown,
                     std::vector<std::string> &weightFiles,
                     std::vector<std::string> &indexFiles, std::string &error) {
  DIR *dir = opendir(path.c_str());
  if (!dir) {
    error = shown + ": " + errnoString("cannot list");
    return false;
  }
  while (struct dirent *d = readdir(dir)) {
    std::string name = d->d_name;
    bool isWeights = endsWith(name, ".safetensors");
    bool isIndex = endsWith(name, ".safetensors.index.json");
    // stat, not d_type: the Hugging Face cache links files to blobs.
    if ((isWeights || isIndex) && isRegularFile(joinPath(folder, name)))
      (isWeights ? weightFiles : indexFiles).push_back(name);
  }
  closedir(dir);
  std::sort(weightFiles.begin(), weightFiles.end());
  std::sort(indexFiles.begin(), indexFiles.end());
  return true;
}

/// The first four names of `v`, quoted, for a message.
std::string listNames(const std::vector<std::string> &v) {
  std::string s;
  for (size_t k = 0; k < v.size() && k < 4; ++k)
    s += (k ? ", " : "") + quoted(v[k]);
  if (v.size() > 4)
    s += ", ...";
  return s;
}

/// The folder `path`: model.safetensors, else model.safetensors.index.json,
/// else the one index, else the one .safetensors file.
bool chooseInFolder(const std::string &path, const std::string &shown,
                    Choice &c, std::string &error) {
  c.folder = path;
  while (c.folder.size() > 1 && c.folder.back() == '/')
    c.folder.pop_back();
  std::vector<std::string> weightFiles, indexFiles;
  if (!listWeightFiles(path, c.folder, shown, weightFiles, indexFiles, error))
    return false;
  auto has = [](const std::vector<std::string> &v, const char *n) {
    return std::find(v.begin(), v.end(), n) != v.end();
  };
  if (has(weightFiles, kSingle)) {
    c.single = kSingle;
  } else if (has(indexFiles, kIndex)) {
    c.index = kIndex;
  } else if (indexFiles.size() == 1) {
    c.index = indexFiles[0];
  } else if (indexFiles.size() > 1) {
    error = shown + ": " + std::to_string(indexFiles.size()) +
            " index files (" + listNames(indexFiles) + "), none of them " +
            kIndex + ", and no " + kSingle;
    return false;
  } else if (weightFiles.size() == 1) {
    c.single = weightFiles[0];
  } else if (weightFiles.empty()) {
    error = shown + ": no .safetensors file";
    return false;
  } else {
    error = shown + ": " + std::to_string(weightFiles.size()) +
            " .safetensors files (" + listNames(weightFiles) + ") but no " +
            kIndex + " to say which tensor is where";
    return false;
  }
  c.weightFileNames = weightFiles;
  c.weightFileNames.insert(c.weightFileNames.end(), indexFiles.begin(),
                           indexFiles.end());
  std::sort(c.weightFileNames.begin(), c.weightFileNames.end());
  return true;
}

/// The file `path`: an index when its name ends in .index.json, else a
/// single safetensors file.
void chooseFile(const std::string &path, Choice &c) {
  size_t slash = path.rfind('/');
  c.folder = slash == std::string::npos ? "."
             : slash == 0               ? "/"
                                        : path.substr(0, slash);
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (endsWith(name, ".index.json"))
    c.index = name;
  else
    c.single = name;
  c.weightFileNames.push_back(name);
}

//===----------------------------------------------------------------------===//
// With an index
//===----------------------------------------------------------------------===//

/// Reads and parses the index `index` of `folder` (`indexPath`: its path as
/// messages show it).
bool readIndex(const std::string &folder, const std::string &index,
               const std::string &indexPath, Index &idx, std::string &error) {
  std::string text, why;
  if (!readRegularFile(joinPath(folder, index), limits::kMaxIndexBytes, text,
                       why) ||
      !parseIndex(text, idx, why)) {
    error = indexPath + ": " + why;
    return false;
  }
  return true;
}

/// Checks the file names of the map, and gives each file the first tensor
/// the map gives it (`firstUse`: by file id).
bool checkFileNames(const Index &idx, const std::string &indexPath,
                    std::vector<size_t> &firstUse, std::string &error) {
  firstUse.assign(idx.files.size(), SIZE_MAX);
  for (size_t k = 0; k < idx.weightMap.size(); ++k) {
    const std::string &file = idx.fileOf(k);
    std::string bad = badFileName(file);
    if (!bad.empty()) {
      error = indexPath + ": the file name " + quoted(file) + " of " +
              quoted(idx.weightMap[k].first) + " " + bad;
      return false;
    }
    uint32_t id = idx.weightMap[k].second;
    firstUse[id] = std::min(firstUse[id], k);
  }
  return true;
}

/// Opens the files of the map in the order of their names into `files`
/// (`fileIndex`: by file id, the position in `files`), adding their names
/// to `weightFileNames` (sorted afterwards).
bool openShards(const std::string &folder, const Index &idx,
                const std::vector<size_t> &firstUse,
                const std::string &indexPath, Files &files,
                std::vector<std::string> &weightFileNames,
                std::vector<size_t> &fileIndex, std::string &error) {
  std::vector<uint32_t> byFileName(idx.files.size());
  for (size_t k = 0; k < byFileName.size(); ++k)
    byFileName[k] = (uint32_t)k;
  std::sort(byFileName.begin(), byFileName.end(), [&](uint32_t a, uint32_t b) {
    return idx.files[a] < idx.files[b];
  });
  fileIndex.assign(idx.files.size(), 0);
  for (uint32_t id : byFileName) {
    const std::string &file = idx.files[id];
    std::string full = joinPath(folder, file);
    struct stat fst;
    if (::stat(full.c_str(), &fst) != 0 && errno == ENOENT) {
      error = indexPath + ": " + quoted(file) + ", named for " +
              quoted(idx.weightMap[firstUse[id]].first) + ", is missing";
      return false;
    }
    auto f = SafetensorsFile::open(full, error);
    if (!f)
      return false;
    fileIndex[id] = files.size();
    files.push_back(std::move(f));
    if (std::find(weightFileNames.begin(), weightFileNames.end(), file) ==
        weightFileNames.end())
      weightFileNames.push_back(file);
  }
  std::sort(weightFileNames.begin(), weightFileNames.end());
  return true;
}

/// The name of `f` in its folder, quoted, for a message.
std::string shownFileName(const SafetensorsFile *f) {
  std::string p = f->path();
  size_t slash = p.rfind('/');
  return quoted(slash == std::string::npos ? p : p.substr(slash + 1));
}

/// Every tensor of every file by name; a name in two files is an error.
bool collectTensors(const Files &files, const std::string &indexPath,
                    ByName &byName, std::string &error) {
  for (const auto &f : files) {
    for (const TensorEntry &t : f->header().tensors) {
      auto [it, inserted] =
          byName.emplace(t.name, Checkpoint::Located{f.get(), &t});
      if (!inserted) {
        error = indexPath + ": tensor " + quoted(t.name) + " is in both " +
                shownFileName(it->second.file) + " and " +
                shownFileName(f.get());
        return false;
      }
    }
  }
  return true;
}

/// The map against the files: every name the map gives is where it says,
/// and every tensor of the files is in the map.
bool checkWeightMap(const Index &idx, const Files &files,
                    const std::vector<size_t> &fileIndex, const ByName &byName,
                    const std::string &indexPath, std::string &error) {
  // Every name the map gives is where it says; since names are unique on
  // both sides, equal counts then mean every tensor is in the map.
  for (size_t k = 0; k < idx.weightMap.size(); ++k) {
    const std::string &name = idx.weightMap[k].first;
    const std::string &file = idx.fileOf(k);
    auto it = byName.find(name);
    if (it == byName.end()) {
      error = indexPath + ": \"weight_map\" maps " + quoted(name) + " to " +
              quoted(file) + ", which does not hold it";
      return false;
    }
    const SafetensorsFile *want =
        files[fileIndex[idx.weightMap[k].second]].get();
    if (it->second.file != want) {
      error = indexPath + ": \"weight_map\" maps " + quoted(name) + " to " +
              quoted(file) + ", but it is in " + shownFileName(it->second.file);
      return false;
    }
  }
  if (byName.size() != idx.weightMap.size()) {
    std::vector<std::string_view> mapped;
    mapped.reserve(idx.weightMap.size());
    for (const auto &entry : idx.weightMap)
      mapped.push_back(entry.first);
    std::sort(mapped.begin(), mapped.end());
    for (const auto &f : files)
      for (const TensorEntry &t : f->header().tensors)
        if (!std::binary_search(mapped.begin(), mapped.end(),
                                std::string_view(t.name))) {
          error = indexPath + ": tensor " + quoted(t.name) + " of " +
                  shownFileName(f.get()) + " is not in \"weight_map\"";
          return false;
        }
  }
  return true;
}

/// Opens the checkpoint of the index `index` in `folder`.
bool openIndexed(const std::string &folder, const std::string &index,
                 Files &files, ByName &byName,
                 std::vector<std::string> &weightFileNames,
                 std::string &error) {
  std::string indexPath = escapeText(joinPath(folder, index));
  Index idx;
  if (!readIndex(folder, index, indexPath, idx, error))
    return false;
  // The files, sorted, each with the first tensor the map gives it.
  std::vector<size_t> firstUse;
  std::vector<size_t> fileIndex; ///< id -> files index
  return checkFileNames(idx, indexPath, firstUse, error) &&
         openShards(folder, idx, firstUse, indexPath, files, weightFileNames,
                    fileIndex, error) &&
         collectTensors(files, indexPath, byName, error) &&
         checkWeightMap(idx, files, fileIndex, byName, indexPath, error);
}

} // namespace

//===----------------------------------------------------------------------===//
// Checkpoint
//===----------------------------------------------------------------------===//

std::unique_ptr<Checkpoint> Checkpoint::open(const std::string &path,
                                             std::string &error) {
  std::unique_ptr<Checkpoint> ck(new Checkpoint());
  const std::string shown = escapeText(path);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    error = shown + ": " + errnoString("cannot open");
    return nullptr;
  }
  Choice c;
  if (S_ISDIR(st.st_mode)) {
    if (!chooseInFolder(path, shown, c, error))
      return nullptr;
  } else if (S_ISREG(st.st_mode)) {
    chooseFile(path, c);
  } else {
    error = shown + ": not a file or a folder";
    return nullptr;
  }
  ck->folder_ = std::move(c.folder);
  ck->weightFileNames_ = std::move(c.weightFileNames);

  if (!c.single.empty()) {
    auto f = SafetensorsFile::open(joinPath(ck->folder_, c.single), error);
    if (!f)
      return nullptr;
    for (const TensorEntry &t : f->header().tensors)
      ck->byName_.emplace(t.name, Located{f.get(), &t});
    ck->files_.push_back(std::move(f));
    return ck;
  }

  // With an index.
  if (!openIndexed(ck->folder_, c.index, ck->files_, ck->byName_,
                   ck->weightFileNames_, error))
    return nullptr;
  return ck;
}

std::unique_ptr<Checkpoint>
Checkpoint::openFiles(const std::string &folder,
                      const std::vector<std::string> &names,
                      const std::vector<std::string> &weightFiles,
                      std::string &error) {
  std::unique_ptr<Checkpoint> ck(new Checkpoint());
  ck->folder_ = folder;
  ck->weightFileNames_ = weightFiles;
  std::sort(ck->weightFileNames_.begin(), ck->weightFileNames_.end());
  for (const std::string &name : names) {
    if (name.empty() || name.find('/') != std::string::npos) {
      error = escapeText(folder) + ": " + quoted(name) + " is not a file name";
      return nullptr;
    }
    auto f = SafetensorsFile::open(joinPath(folder, name), error);
    if (!f)
      return nullptr;
    ck->files_.push_back(std::move(f));
  }
  if (!collectTensors(ck->files_, escapeText(folder), ck->byName_, error))
    return nullptr;
  return ck;
}

bool Checkpoint::unchanged(std::string &error) const {
  for (const auto &f : files_)
    if (!f->unchanged(error))
      return false;
  return true;
}

Checkpoint::Located Checkpoint::find(std::string_view name) const {
  auto it = byName_.find(name);
  return it == byName_.end() ? Located{} : it->second;
}

std::vector<Checkpoint::Located> Checkpoint::tensors() const {
  std::vector<Located> out;
  out.reserve(byName_.size());
  for (const auto &f : files_)
    for (const TensorEntry &t : f->header().tensors)
      out.push_back(Located{f.get(), &t});
  return out;
}

} // namespace wl::runtime
