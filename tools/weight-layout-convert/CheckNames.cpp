//===- CheckNames.cpp - a checkpoint's names against the spec, first ------===//
#include "CheckNames.h"

#include "wl/MappingSpec/Instances.h"

#include <set>

namespace wl::tool {

using mapping::NameKind;

namespace {

/// Walks the names of `rank` (its lets and requirements evaluated first).
bool walkRank(mapping::Env &env, int64_t rank,
              const std::function<bool(NameKind, const std::string &)> &visit,
              bool &stopped, std::string &error) {
  env.setRank(rank);
  return env.refresh(error) &&
         mapping::forEachName(env, visit, stopped, error);
}

} // namespace

bool checkSourceNames(mapping::Env &env, int64_t ranks,
                      const runtime::Checkpoint &ckpt, NameProblems &out,
                      std::string &error) {
  std::set<std::string> needed, missing;
  for (int64_t r = 0; r < ranks && !out.stopped; ++r) {
    bool stopped = false;
    bool ok = walkRank(env, r, [&](NameKind kind, const std::string &name) {
      if (kind == NameKind::Written)
        return true;
      if (!ckpt.find(name).entry && kind == NameKind::Read) {
        missing.insert(name);
        return missing.size() < kMaxReported;
      }
      needed.insert(name);
      return true;
    }, stopped, error);
    if (!ok)
      return false;
    out.stopped = stopped;
  }
  out.missing.assign(missing.begin(), missing.end());
  if (!out.stopped)
    for (const runtime::Checkpoint::Located &l : ckpt.tensors())
      if (!needed.count(l.entry->name))
        out.unused.push_back(l.entry->name);
  return true;
}

bool checkRankNames(mapping::Env &env, int64_t rank,
                    const runtime::Checkpoint &ckpt, NameProblems &out,
                    std::string &error) {
  std::set<std::string> written, missing;
  bool stopped = false;
  bool ok = walkRank(env, rank, [&](NameKind kind, const std::string &name) {
    if (kind != NameKind::Written)
      return true;
    written.insert(name);
    if (!ckpt.find(name).entry) {
      missing.insert(name);
      return missing.size() < kMaxReported;
    }
    return true;
  }, stopped, error);
  if (!ok)
    return false;
  out.stopped = stopped;
  out.missing.assign(missing.begin(), missing.end());
  if (!stopped)
    for (const runtime::Checkpoint::Located &l : ckpt.tensors())
      if (!written.count(l.entry->name))
        out.unused.push_back(l.entry->name);
  return true;
}

} // namespace wl::tool
