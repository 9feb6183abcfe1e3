//===- TargetPath.cpp - where --to is, as the system resolves it ----------===//
#include "TargetPath.h"

#include "wl/Convert/Manifest.h"
#include "wl/Support/Quote.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <sys/stat.h>
#include <utility>

namespace wl::tool {

namespace {

using Id = std::pair<unsigned long long, unsigned long long>; // dev, ino

std::string realPath(const std::string &p) {
  char buf[PATH_MAX];
  return ::realpath(p.c_str(), buf) ? std::string(buf) : std::string();
}

/// The identities of `path` (resolved) and of every folder above it, up to
/// the root.
std::vector<Id> chain(const std::string &path) {
  std::vector<Id> out;
  std::string p = realPath(path);
  while (!p.empty()) {
    struct stat st;
    if (::stat(p.c_str(), &st) == 0)
      out.push_back({st.st_dev, st.st_ino});
    if (p == "/")
      break;
    size_t slash = p.rfind('/');
    p = slash == 0 ? "/" : p.substr(0, slash);
  }
  return out;
}

bool contains(const std::vector<Id> &ids, Id id) {
  for (const Id &x : ids)
    if (x == id)
      return true;
  return false;
}

/// Whether `dir` holds no entry at all.
bool isEmptyFolder(const std::string &dir) {
  DIR *d = ::opendir(dir.c_str());
  if (!d)
    return false;
  bool empty = true;
  while (struct dirent *e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") {
      empty = false;
      break;
    }
  }
  ::closedir(d);
  return empty;
}

} // namespace

bool resolveTarget(const std::string &to, TargetPath &out,
                   std::string &error) {
  std::string p = to;
  while (p.size() > 1 && p.back() == '/')
    p.pop_back();
  if (p.empty() || p.find('\0') != std::string::npos) {
    error = "--to is empty";
    return false;
  }
  size_t slash = p.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : p.substr(0, slash);
  std::string last = slash == std::string::npos ? p : p.substr(slash + 1);
  if (p == "/" || last == "." || last == "..") {
    // The folder the path resolves to: it exists, so it is replaced or not.
    std::string real = realPath(p);
    if (real.empty() || real == "/") {
      error = to + (real.empty() ? ": cannot resolve: " + std::string(std::strerror(errno))
                                 : " is the root folder");
      return false;
    }
    size_t s = real.rfind('/');
    dir = s == 0 ? "/" : real.substr(0, s);
    last = real.substr(s + 1);
  }
  std::string parent = realPath(dir);
  struct stat st;
  if (parent.empty() || ::stat(parent.c_str(), &st) != 0) {
    error = escapeText(dir) + ", the folder --to goes in, does not exist "
                              "(create it first)";
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    error = escapeText(dir) + ", where --to would go, is not a folder";
    return false;
  }
  out.parent = parent;
  out.name = last;
  out.full = (parent == "/" ? "" : parent) + "/" + last;
  struct stat lst;
  out.exists = ::lstat(out.full.c_str(), &lst) == 0;
  if (out.exists) {
    out.dev = lst.st_dev;
    out.ino = lst.st_ino;
  }
  return true;
}

bool holdsInput(const TargetPath &target,
                const std::vector<std::string> &inputs, std::string &which) {
  struct stat st;
  if (::lstat(target.full.c_str(), &st) != 0)
    return false;
  Id id{st.st_dev, st.st_ino};
  std::vector<Id> above = chain(target.full);
  for (const std::string &in : inputs) {
    std::vector<Id> inChain = chain(in);
    if (inChain.empty())
      continue;
    // The input is the target or inside it; or the target is inside the
    // input (a folder).
    if (contains(inChain, id) || contains(above, inChain.front())) {
      std::string real = realPath(in);
      which = escapeText(real.empty() ? in : real);
      return true;
    }
  }
  return false;
}

bool checkReplaceable(const TargetPath &target,
                      const std::vector<std::string> &inputs,
                      std::string &error) {
  struct stat st;
  if (::lstat(target.full.c_str(), &st) != 0) {
    error = target.full + ": cannot stat: " + std::strerror(errno);
    return false;
  }
  if (S_ISLNK(st.st_mode)) {
    error = target.full + " is a symbolic link: --force replaces only a "
                          "folder itself (give the path it points to)";
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    error = target.full + " exists and is not a folder: --force replaces "
                          "only a folder this tool wrote";
    return false;
  }
  std::string which;
  if (holdsInput(target, inputs, which)) {
    error = target.full + " holds or lies inside what this conversion "
                          "reads (" + which +
            "): --force never replaces its own input";
    return false;
  }
  if (isEmptyFolder(target.full))
    return true;
  std::string manifest = target.full + "/" + convert::kManifestName;
  struct stat mst;
  std::string why;
  if (::lstat(manifest.c_str(), &mst) != 0 || !S_ISREG(mst.st_mode) ||
      !convert::readManifest(manifest, why)) {
    error = target.full + " is not a folder this tool wrote (it holds no "
                          "valid " + std::string(convert::kManifestName) +
            ") and is not empty: --force replaces only those; remove it "
            "yourself if it must go";
    return false;
  }
  return true;
}

} // namespace wl::tool
