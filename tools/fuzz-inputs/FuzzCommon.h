//===- FuzzCommon.h - what the fuzz targets of the inputs share -*- C++ -*-===//
//
// Plain C++17 (POSIX). The checks every target makes on a message (one
// line, not empty, bounded), the per-process temporary folder the targets
// write their inputs into (a spec or a config is read from a path), the
// source tree (the mappings the targets load), and the masks: a check of a
// known, reported bug may be switched off (a "MASK" comment says which)
// until the library's owner fixes it, so that fuzzing goes on past it, and
// the spec walks are bounded ("BOUND" in SpecTools.h). WL_FUZZ_UNMASK=1 in
// the environment turns every mask and bound off (the replay of test/Fuzz
// then shows whether a fix holds). No mask is set now.
//
//===----------------------------------------------------------------------===//
#ifndef WL_TOOLS_FUZZ_INPUTS_FUZZCOMMON_H
#define WL_TOOLS_FUZZ_INPUTS_FUZZCOMMON_H

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <ftw.h>
#include <optional>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#ifndef WL_SOURCE_DIR
#define WL_SOURCE_DIR ""
#endif

namespace wl::fuzz {

/// A violated property: libFuzzer reports the trap as a crash, with the
/// input that caused it.
inline void check(bool ok) {
  if (!ok)
    __builtin_trap();
}

/// The longest message any parser may give (its untrusted parts are cut by
/// quoteName / quoteText to 200 bytes each).
constexpr size_t kMaxMessageBytes = 4096;

/// Whether the masks of known bugs and the bounds are off (WL_FUZZ_UNMASK=1).
inline bool unmasked() {
  static const bool off = [] {
    const char *v = std::getenv("WL_FUZZ_UNMASK");
    return v && *v && std::strcmp(v, "0") != 0;
  }();
  return off;
}

/// A rejection's message: not empty, one line, at most kMaxMessageBytes.
inline void checkMessage(const std::string &error) {
  if (!error.empty() && error.find_first_of("\n\r") == std::string::npos &&
      error.size() <= kMaxMessageBytes)
    return;
  std::fprintf(stderr, "fuzz: bad message (%zu bytes): ", error.size());
  for (size_t k = 0; k < error.size() && k < 1000; ++k) {
    unsigned char c = (unsigned char)error[k];
    if (c < 0x20 || c == 0x7F || c == '\\')
      std::fprintf(stderr, "\\x%02X", c);
    else
      std::fputc(c, stderr);
  }
  std::fprintf(stderr, "%s\n", error.size() > 1000 ? "..." : "");
  __builtin_trap();
}

/// Whether `s` is valid UTF-8 (no overlong forms, no surrogates, nothing
/// past U+10FFFF).
inline bool validUtf8(const std::string &s) {
  size_t i = 0;
  while (i < s.size()) {
    uint8_t c = (uint8_t)s[i];
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 2, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n > s.size())
      return false;
    for (size_t k = 1; k < n; ++k) {
      uint8_t d = (uint8_t)s[i + k];
      if ((d & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n;
  }
  return true;
}

inline bool readFile(const std::string &path, std::string &out) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

/// Writes `bytes` to `path` (replacing it); aborts when it cannot, since
/// the target would then test nothing.
inline void writeFile(const std::string &path, const void *bytes, size_t n) {
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f || (n && std::fwrite(bytes, 1, n, f) != n) || std::fclose(f) != 0) {
    std::fprintf(stderr, "fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
}

inline void writeFile(const std::string &path, const std::string &s) {
  writeFile(path, s.data(), s.size());
}

/// The sorted names of the entries of `dir` (without . and ..).
inline std::vector<std::string> listDir(const std::string &dir) {
  std::vector<std::string> out;
  if (DIR *d = ::opendir(dir.c_str())) {
    while (dirent *e = ::readdir(d))
      if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, ".."))
        out.push_back(e->d_name);
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline bool isDir(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

/// The checkout: WL_SOURCE_DIR from the environment, else the one the
/// target was built from. Aborts when it has no mappings/ folder.
inline const std::string &sourceDir() {
  static const std::string dir = [] {
    const char *env = std::getenv("WL_SOURCE_DIR");
    std::string d = env && *env ? env : WL_SOURCE_DIR;
    if (d.empty() || !isDir(d + "/mappings")) {
      std::fprintf(stderr,
                   "fuzz: no mappings/ in '%s' (set WL_SOURCE_DIR to the "
                   "checkout)\n",
                   d.c_str());
      std::abort();
    }
    return d;
  }();
  return dir;
}

namespace detail {
inline std::string &tempRoot() {
  static std::string root;
  return root;
}
inline int removeEntry(const char *path, const struct stat *, int,
                       struct FTW *) {
  return ::remove(path);
}
inline void removeTempRoot() {
  if (!tempRoot().empty())
    ::nftw(tempRoot().c_str(), removeEntry, 16, FTW_DEPTH | FTW_PHYS);
}
} // namespace detail

/// This process's temporary folder ($TMPDIR or /tmp, "wl-fuzz-NAME-XXXXXX"),
/// made on the first call and removed at a normal exit (a crash leaves it).
inline const std::string &tempDir(const char *name) {
  std::string &root = detail::tempRoot();
  if (root.empty()) {
    const char *t = std::getenv("TMPDIR");
    std::string pattern = std::string(t && *t ? t : "/tmp") + "/wl-fuzz-" +
                          name + "-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data())) {
      std::perror("fuzz: mkdtemp");
      std::abort();
    }
    root = buf.data();
    std::atexit(detail::removeTempRoot);
  }
  return root;
}

inline void makeDir(const std::string &path) {
  if (::mkdir(path.c_str(), 0700) != 0 && !isDir(path)) {
    std::perror(("fuzz: mkdir " + path).c_str());
    std::abort();
  }
}

/// Copies the mapping library (mappings/*.json and mappings/*/*.json) to
/// `to` (a folder to make), so that a fuzzed spec beside it can include its
/// files ("../common/vllm-qwen3-attention.json").
inline void copyMappings(const std::string &to) {
  std::string from = sourceDir() + "/mappings";
  makeDir(to);
  for (const std::string &e : listDir(from)) {
    std::string text;
    if (isDir(from + "/" + e)) {
      makeDir(to + "/" + e);
      for (const std::string &f : listDir(from + "/" + e))
        if (f.size() > 5 && f.compare(f.size() - 5, 5, ".json") == 0 &&
            readFile(from + "/" + e + "/" + f, text))
          writeFile(to + "/" + e + "/" + f, text);
    } else if (e.size() > 5 && e.compare(e.size() - 5, 5, ".json") == 0 &&
               readFile(from + "/" + e, text)) {
      writeFile(to + "/" + e, text);
    }
  }
}

} // namespace wl::fuzz

#endif // WL_TOOLS_FUZZ_INPUTS_FUZZCOMMON_H
