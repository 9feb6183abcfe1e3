//===- CompileCache.cpp - mappings compiled in-process, cached by hash ----===//
//
// No libtorch header: resolves the spec and config (file, library name or
// text), keys the process-wide cache by their contents (the spec and every
// file it includes), the options, the dtype and the direction, and compiles
// with wl::compileMapping on a miss.
//
//===----------------------------------------------------------------------===//
#include "PlanData.h"

#include "wl/Compile/CompileMapping.h"
#include "wl/Compile/MappingLibrary.h"
#include "wl/Support/InputFile.h"
#include "wl/Support/Limits.h"

#include <nlohmann/json.hpp>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace wl::embed {

namespace {

using ojson = nlohmann::ordered_json;

bool isFile(const std::string &p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool isDir(const std::string &p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

/// A spec or config file, read as the compiler reads it (a regular file,
/// without blocking, at most `cap` bytes); nullopt with `why` otherwise.
std::optional<std::string> readFile(const std::string &p, uint64_t cap,
                                    std::string &why) {
  std::string out;
  if (!readRegularFile(p, cap, out, why))
    return std::nullopt;
  return out;
}

bool looksLikeJson(const std::string &s) {
  size_t i = s.find_first_not_of(" \t\r\n");
  return i != std::string::npos && s[i] == '{';
}

std::string dirOf(const std::string &path) {
  size_t k = path.find_last_of('/');
  return k == std::string::npos ? std::string() : path.substr(0, k + 1);
}

std::string absolute(const std::string &p) {
  if (!p.empty() && p[0] == '/')
    return p;
  char buf[4096];
  if (!::getcwd(buf, sizeof buf))
    return p;
  return std::string(buf) + "/" + p;
}

std::string canonicalPath(const std::string &p) {
  char buf[PATH_MAX];
  return ::realpath(p.c_str(), buf) ? std::string(buf) : p;
}

/// The spec as parsed (so that formatting does not matter), its includes
/// made canonical absolute paths, then recursively each include's, for the
/// cache key. Unreadable or malformed parts are keyed as they are (the
/// compile reports them).
void keySpec(const std::string &text, const std::string &dir,
             std::set<std::string> &seen, std::string &key) {
  ojson j = ojson::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    key += text;
    key += '\0';
    return;
  }
  std::vector<std::string> subs;
  if (j.contains("include") && j["include"].is_array())
    for (ojson &inc : j["include"]) {
      if (!inc.is_string())
        continue;
      std::string name = inc.get<std::string>();
      std::string sub =
          canonicalPath(!name.empty() && name[0] == '/' ? name : dir + name);
      inc = sub;
      subs.push_back(sub);
    }
  key += j.dump();
  key += '\0';
  // Each file once, and no more of them than the compiler reads: a spec
  // whose includes fan out or loop is keyed quickly and refused by compile.
  for (const std::string &sub : subs) {
    if ((int)seen.size() >= limits::kMaxSpecFiles || !seen.insert(sub).second)
      continue;
    std::string why;
    if (auto t = readFile(sub, limits::kMaxSpecBytes, why))
      keySpec(*t, dirOf(sub), seen, key);
  }
}

uint64_t fnv1a(const std::string &s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

/// A temporary file removed on scope exit.
struct TempFile {
  std::string path;
  explicit TempFile(const std::string &contents, const char *what) {
    const char *tmp = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(tmp && *tmp ? tmp : "/tmp") + "/wl-embed-XXXXXX.json";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    int fd = ::mkstemps(buf.data(), 5);
    if (fd < 0)
      throw Error(Error::Runtime,
                  std::string("cannot create a temporary file for the ") +
                      what + " in " + (tmp && *tmp ? tmp : "/tmp"));
    path = buf.data();
    size_t off = 0;
    while (off < contents.size()) {
      ssize_t n = ::write(fd, contents.data() + off, contents.size() - off);
      if (n <= 0) {
        ::close(fd);
        ::unlink(path.c_str());
        throw Error(Error::Runtime, std::string("cannot write the ") + what +
                                        " to " + path);
      }
      off += static_cast<size_t>(n);
    }
    ::close(fd);
  }
  ~TempFile() { ::unlink(path.c_str()); }
};

void replaceAll(std::string &s, const std::string &from,
                const std::string &to) {
  if (from.empty())
    return;
  for (size_t k = s.find(from); k != std::string::npos;
       k = s.find(from, k + to.size()))
    s.replace(k, from.size(), to);
}

struct Slot {
  std::shared_ptr<const MappingEntry> entry;
  std::map<int64_t, std::shared_ptr<const PlanData>> plans;
};

struct Cache {
  std::mutex mutex;
  std::map<std::string, Slot> slots; ///< by the whole key
  int64_t hits = 0, misses = 0;
};

Cache &cache() {
  static Cache *c = new Cache(); // never destroyed: safe at exit
  return *c;
}

struct Resolved {
  std::string specPath; ///< a file, or empty
  std::string specText; ///< the text (includes absolute) when from text
  std::string specDir;  ///< where includes resolve
  std::string configText;
};

Resolved resolve(const std::string &mapping, const std::string &config,
                 const std::string &specBaseDir) {
  Resolved r;
  if (looksLikeJson(mapping)) {
    ojson j = ojson::parse(mapping, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      throw Error(Error::Invalid, "mapping: the spec text is not a JSON object");
    std::string base = specBaseDir.empty() ? std::string(".") : specBaseDir;
    base = absolute(base);
    if (base.back() != '/')
      base += '/';
    if (j.contains("include") && j["include"].is_array())
      for (ojson &inc : j["include"])
        if (inc.is_string()) {
          std::string n = inc.get<std::string>();
          if (!n.empty() && n[0] != '/')
            inc = base + n;
        }
    r.specText = j.dump(1);
    r.specDir = base;
  } else {
    std::vector<std::string> tried;
    r.specPath = findMapping(mapping, tried);
    if (r.specPath.empty())
      throw Error(Error::Invalid,
                  "mapping '" + mapping +
                      "': no such spec file (looked for " +
                      listNames(tried, 8) +
                      "; set WL_MAPPINGS_PATH to a mappings folder)");
    r.specPath = absolute(r.specPath);
    r.specDir = dirOf(r.specPath);
  }
  if (looksLikeJson(config)) {
    r.configText = config;
  } else {
    std::string p = isDir(config) ? config + "/config.json" : config;
    std::string why;
    auto t = readFile(p, limits::kMaxConfigBytes, why);
    if (!t)
      throw Error(Error::Invalid, "config '" + config +
                                      "': cannot read " + p + ": " + why +
                                      " (give a config.json, its folder, or "
                                      "the config as JSON text)");
    r.configText = *t;
  }
  return r;
}

/// The spec's path for the compiler: its file, or `temp` holding its text.
/// A compiler message with the temporary files' paths (spec text written
/// out, the config) named as what they hold.
std::string withoutTempPaths(
    std::string error,
    std::initializer_list<const std::optional<TempFile> *> specs,
    const TempFile &config) {
  for (const std::optional<TempFile> *spec : specs)
    if (*spec)
      replaceAll(error, (*spec)->path, "<spec text>");
  replaceAll(error, config.path, "<config>");
  return error;
}

/// Either spelling of a dtype ("BF16", "bf16", "I32", "i32") as the wl one
/// the spec reads; "" stays "" (the config's).
std::string wlDTypeName(const std::string &dtype) {
  if (dtype.empty())
    return dtype;
  auto t = layout::parseDType(dtype);
  if (!t)
    throw Error(Error::Invalid,
                "dtype '" + dtype +
                    "': not a dtype (BF16, F16, F32, F64, F8_E4M3, "
                    "F8_E5M2, BOOL, I8..I64, U8..U64, or their wl "
                    "spellings bf16, i32, ...)");
  return std::string(layout::mlirName(*t));
}

std::string specFileOf(const Resolved &r, std::optional<TempFile> &temp) {
  if (!r.specPath.empty())
    return r.specPath;
  temp.emplace(r.specText, "spec");
  return temp->path;
}

} // namespace

CacheStats cacheStats() {
  Cache &c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  CacheStats s;
  s.hits = c.hits;
  s.misses = c.misses;
  s.entries = static_cast<int64_t>(c.slots.size());
  return s;
}

void clearCache() {
  Cache &c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.slots.clear();
  c.hits = c.misses = 0;
}

namespace {

std::shared_ptr<const MappingEntry>
compileEntry(const Resolved &r, const std::map<std::string, int64_t> &options,
             const std::string &dtype, bool reverse, bool exact,
             const std::string &key) {
  std::optional<TempFile> specFile, configFile;
  MappingRequest req;
  req.spec = specFileOf(r, specFile);
  configFile.emplace(r.configText, "config");
  req.config = configFile->path;
  req.options = options;
  req.dtype = dtype;
  req.reverse = reverse;
  req.exact = exact;
  std::string error;
  std::unique_ptr<CompiledMapping> m = compileMapping(req, error);
  if (!m)
    throw Error(Error::Invalid,
                withoutTempPaths(error, {&specFile}, *configFile));
  auto e = std::make_shared<MappingEntry>();
  for (const layout::Plan &p : m->rankPlans)
    for (const layout::TensorInfo &t : p.sources)
      e->knownSources.insert(t.name);
  for (const std::string &n : m->dropped)
    e->knownSources.insert(n);
  e->compiled = std::move(m);
  e->specPath = r.specPath;
  e->specText = r.specText;
  e->configText = r.configText;
  e->options = options;
  e->dtype = dtype;
  e->reverse = reverse;
  e->exact = exact;
  e->keyHash = fnv1a(key);
  return e;
}

std::string makeKey(const Resolved &r,
                    const std::map<std::string, int64_t> &options,
                    const std::string &dtype, bool reverse, bool exact) {
  std::string key = "spec\0"; // contents, not paths
  std::set<std::string> seen;
  std::string why;
  if (r.specPath.empty())
    keySpec(r.specText, r.specDir, seen, key);
  else if (auto t = readFile(r.specPath, limits::kMaxSpecBytes, why))
    keySpec(*t, r.specDir, seen, key);
  key += "config";
  key += '\0';
  // The config as parsed, so that whitespace does not matter.
  nlohmann::json cj = nlohmann::json::parse(r.configText, nullptr, false);
  key += cj.is_discarded() ? r.configText : cj.dump();
  key += '\0';
  for (auto &[k, v] : options)
    key += "opt " + k + "=" + std::to_string(v) + '\0';
  key += "dtype " + dtype + '\0';
  key += reverse ? "reverse\0" : "forward\0";
  key += exact ? "exact" : "inexact";
  return key;
}

/// The cache slot for these inputs, compiled on a miss.
std::pair<std::shared_ptr<const MappingEntry>, std::string>
lookup(const Resolved &r, const std::map<std::string, int64_t> &options,
       const std::string &dtype, bool reverse, bool exact) {
  std::string key = makeKey(r, options, dtype, reverse, exact);
  Cache &c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.slots.find(key);
    if (it != c.slots.end()) {
      ++c.hits;
      return {it->second.entry, key};
    }
    ++c.misses;
  }
  // Compiled outside the lock (another thread may compile the same; the
  // first to finish is kept).
  auto e = compileEntry(r, options, dtype, reverse, exact, key);
  std::lock_guard<std::mutex> lock(c.mutex);
  Slot &s = c.slots[key];
  if (!s.entry)
    s.entry = e;
  return {s.entry, key};
}

std::shared_ptr<const PlanData>
planOf(const std::shared_ptr<const MappingEntry> &e, const std::string &key,
       int64_t rank) {
  Cache &c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.slots.find(key);
    if (it != c.slots.end()) {
      auto p = it->second.plans.find(rank);
      if (p != it->second.plans.end())
        return p->second;
    }
  }
  const CompiledMapping &m = *e->compiled;
  layout::Plan plan = rank == PlanData::kReverse ? m.inverse
                      : rank == kAllRanks       ? mergeRanks(m)
                                                : m.rankPlans[rank];
  auto d = makePlanData(std::move(plan), /*checkCoverage=*/false);
  d->mapping = e;
  d->rank = rank;
  std::shared_ptr<const PlanData> out = d;
  std::lock_guard<std::mutex> lock(c.mutex);
  auto it = c.slots.find(key);
  if (it != c.slots.end()) {
    auto [p, fresh] = it->second.plans.emplace(rank, out);
    return p->second;
  }
  return out;
}

} // namespace

std::shared_ptr<const PlanData>
compilePlan(const std::string &mapping, const std::string &config,
            const std::map<std::string, int64_t> &optionsIn,
            const CompileOptions &how, const std::string &specBaseDir) {
  std::map<std::string, int64_t> options = optionsIn;
  int64_t rank = how.rank;
  if (auto it = options.find("rank"); it != options.end()) {
    rank = it->second;
    options.erase(it);
  }
  for (const std::string &k : mapping::degreeNames())
    if (auto it = options.find(k); it != options.end() && it->second < 1)
      throw Error(Error::Invalid, "option " + k + "=" +
                                      std::to_string(it->second) +
                                      ": must be at least 1");
  for (const auto &[k, v] : options)
    if (k.size() > 5 && k.compare(k.size() - 5, 5, "_rank") == 0)
      throw Error(Error::Invalid,
                  "option " + k +
                      " is derived from rank: pass the rank as the "
                      "framework numbers it (its mesh; by default rank = "
                      "(pp_rank * ep + ep_rank) * tp + tp_rank)");
  std::string dtype = wlDTypeName(how.dtype);
  Resolved r = resolve(mapping, config, specBaseDir);
  auto [entry, key] = lookup(r, options, dtype, how.reverse, how.exact);
  const CompiledMapping &m = *entry->compiled;
  if (how.reverse)
    return planOf(entry, key, PlanData::kReverse);
  if (rank != kAllRanks && (rank < 0 || rank >= m.ranks()))
    throw Error(Error::Invalid,
                "rank " + std::to_string(rank) + " is out of range: the " +
                    "mapping has " + std::to_string(m.ranks()) +
                    " rank(s) (" + mapping::meshText(m.mesh, &m.degrees) +
                    ")");
  return planOf(entry, key, rank);
}

std::shared_ptr<const PlanData> mappingInverse(const PlanData &d, bool exact) {
  const MappingEntry &e = *d.mapping;
  const CompiledMapping &m = *e.compiled;
  Resolved r;
  r.specPath = e.specPath;
  r.specText = e.specText;
  r.specDir = e.specPath.empty() ? std::string() : dirOf(e.specPath);
  // (specPath is absolute: resolve() made it so.)
  r.configText = e.configText;
  if (d.rank == PlanData::kReverse) {
    // The forward direction of the same compile: every rank in one.
    auto [entry, key] = lookup(r, e.options, e.dtype, e.reverse, e.exact);
    return planOf(entry, key, kAllRanks);
  }
  if (d.rank != kAllRanks && m.ranks() > 1)
    throw Error(Error::Invalid,
                "rank " + std::to_string(d.rank) + "'s plan has no inverse: " +
                    "it reads only its part of the checkpoint (" +
                    std::to_string(m.ranks()) +
                    " ranks); the way back needs every rank: compile with "
                    "rank=all (kAllRanks) and invert that, or compile with "
                    "reverse");
  if (!e.specPath.empty() && !isFile(e.specPath))
    throw Error(Error::Invalid, "the spec " + e.specPath + " is gone");
  auto [entry, key] = lookup(r, e.options, e.dtype, true, exact);
  return planOf(entry, key, PlanData::kReverse);
}

} // namespace wl::embed

namespace wl::embed {

std::shared_ptr<const ReshardPlan>
compileReshardPlan(const std::string &fromMapping,
                   const std::map<std::string, int64_t> &fromOptions,
                   const std::string &mapping,
                   const std::map<std::string, int64_t> &options,
                   const std::string &config, const std::string &dtype,
                   const std::string &specBaseDir) {
  Resolved a = resolve(fromMapping, config, specBaseDir);
  Resolved b = resolve(mapping, config, specBaseDir);
  std::optional<TempFile> specA, specB;
  ReshardRequest req;
  req.specA = specFileOf(a, specA);
  req.specB = specFileOf(b, specB);
  TempFile configFile(a.configText, "config");
  req.config = configFile.path;
  req.optionsA = fromOptions;
  req.optionsB = options;
  req.dtype = wlDTypeName(dtype);
  req.allowInexact = true;
  std::string error;
  std::unique_ptr<ReshardPlan> plan = compileReshard(req, error);
  if (!plan)
    throw Error(Error::Invalid,
                withoutTempPaths(error, {&specA, &specB}, configFile));
  return std::shared_ptr<const ReshardPlan>(std::move(plan));
}

} // namespace wl::embed
