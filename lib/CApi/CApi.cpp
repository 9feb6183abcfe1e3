//===- CApi.cpp - the C API: errors, compiling, plans, the process --------===//
#include "Handles.h"

#include "wl/Compile/MappingLibrary.h"
#include "wl/Cuda/CudaExecutor.h"
#include "wl/Plan/Plan.h"
#include "wl/Safetensors/Safetensors.h"

#include <cstdlib>
#include <mutex>

using namespace wl;
using namespace wl::embed;
using nlohmann::ordered_json;

namespace {
thread_local std::string lastError;

std::string versionText() { return WL_VERSION_STRING; }

ordered_json specList(const std::vector<layout::TensorInfo> &v) {
  ordered_json out = ordered_json::array();
  for (const layout::TensorInfo &t : v)
    out.push_back({t.name, std::string(layout::safetensorsName(t.dtype)),
                   std::vector<int64_t>(t.shape.begin(), t.shape.end())});
  return out;
}

ordered_json describeJson(const PlanData &pd) {
  Description d = describePlan(pd);
  ordered_json r;
  r["source_tensors"] = specList(pd.plan.sources);
  r["target_tensors"] = specList(pd.plan.targets);
  r["hash"] = d.hash;
  r["from"] = d.from;
  r["to"] = d.to;
  r["model_type"] = d.modelType;
  r["tp"] = d.tp;
  r["ep"] = d.ep;
  r["pp"] = d.pp;
  r["mesh"] = d.mesh;
  r["degrees"] = d.degrees;
  r["ranks"] = d.ranks;
  if (d.reverse)
    r["rank"] = nullptr;
  else if (d.rank == kAllRanks)
    r["rank"] = "all";
  else
    r["rank"] = d.rank;
  r["reverse"] = d.reverse;
  r["sources"] = d.sources;
  r["targets"] = d.targets;
  r["pieces"] = d.pieces;
  r["copy_pieces"] = d.copyPieces;
  r["fill_pieces"] = d.fillPieces;
  r["convert_pieces"] = d.convertPieces;
  r["bytes_read"] = d.bytesRead;
  r["bytes_written"] = d.bytesWritten;
  r["source_bytes"] = d.sourceBytes;
  ordered_json aliases = ordered_json::object();
  for (const auto &a : d.aliases)
    aliases[a.target] = {a.source, a.offset, a.numel};
  r["aliases"] = aliases;
  r["alias_bytes"] = d.aliasBytes;
  r["copied_bytes"] = d.bytesWritten - d.aliasBytes;
  r["dropped"] = d.dropped;
  r["rounded"] = d.rounded;
  r["text"] = d.text();
  return r;
}

/// The compile request (see wl_compile).
struct Request {
  std::map<std::string, int64_t> options;
  CompileOptions how;
  std::string specDir;
};

Request parseRequest(const char *text) {
  Request q;
  if (!text || !*text)
    return q;
  ordered_json j = ordered_json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw Error(Error::Invalid, "compile request: not a JSON object");
  for (auto &[key, v] : j.items()) {
    if (key == "options") {
      if (!v.is_object())
        throw Error(Error::Invalid, "compile request: 'options' must be an "
                                    "object of integers");
      for (auto &[name, value] : v.items()) {
        if (!value.is_number_integer())
          throw Error(Error::Invalid, "option '" + name +
                                          "' must be an integer, not " +
                                          value.dump());
        q.options[name] = value.get<int64_t>();
      }
    } else if (key == "rank") {
      if (v.is_string() && v.get<std::string>() == "all")
        q.how.rank = kAllRanks;
      else if (v.is_number_integer() && v.get<int64_t>() >= 0)
        q.how.rank = v.get<int64_t>();
      else
        throw Error(Error::Invalid,
                    "rank must be a non-negative integer or \"all\", not " +
                        v.dump());
    } else if (key == "dtype") {
      if (!v.is_string() && !v.is_null())
        throw Error(Error::Invalid, "dtype must be a string");
      q.how.dtype = v.is_string() ? v.get<std::string>() : "";
    } else if (key == "reverse" || key == "exact") {
      if (!v.is_boolean())
        throw Error(Error::Invalid, "'" + key + "' must be true or false");
      (key == "reverse" ? q.how.reverse : q.how.exact) = v.get<bool>();
    } else if (key == "spec_dir") {
      if (!v.is_string())
        throw Error(Error::Invalid, "spec_dir must be a string");
      q.specDir = v.get<std::string>();
    } else {
      throw Error(Error::Invalid, "compile request: unknown key '" + key + "'");
    }
  }
  return q;
}

wl_plan *newPlan(std::shared_ptr<const PlanData> d) {
  return new wl_plan{std::move(d)};
}
} // namespace

namespace wl::capi {
int fail(int code, const std::string &message) {
  lastError = message;
  return code;
}
char *give(const std::string &s) {
  char *p = static_cast<char *>(std::malloc(s.size() + 1));
  if (!p)
    throw std::bad_alloc();
  std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}
void required(const void *p, const char *what) {
  if (!p)
    throw Error(Error::Invalid, std::string(what) + " is null");
}
} // namespace wl::capi

using namespace wl::capi;

extern "C" {

const char *wl_version(void) {
  static const std::string v = versionText();
  return v.c_str();
}
int wl_api_version(void) { return WL_API_VERSION; }
const char *wl_last_error(void) { return lastError.c_str(); }
void wl_free(void *p) { std::free(p); }

int wl_compile(const char *mapping, const char *config, const char *request,
               wl_plan **out) {
  return guard([&] {
    required(mapping, "mapping");
    required(config, "config");
    required(out, "out");
    Request q = parseRequest(request);
    *out = newPlan(compilePlan(mapping, config, q.options, q.how, q.specDir));
  });
}

int wl_plan_from_json(const char *text, wl_plan **out) {
  return guard([&] {
    required(text, "text");
    required(out, "out");
    *out = newPlan(planFromJson(text));
  });
}

int wl_plan_inverse(const wl_plan *plan, int exact, wl_plan **out) {
  return guard([&] {
    required(plan, "plan");
    required(out, "out");
    *out = newPlan(plan->d->mapping ? mappingInverse(*plan->d, exact != 0)
                                    : invertPlan(*plan->d, exact != 0));
  });
}

void wl_plan_free(wl_plan *plan) { delete plan; }

int wl_plan_to_json(const wl_plan *plan, int indent, char **out) {
  return guard([&] {
    required(plan, "plan");
    required(out, "out");
    *out = give(wl::plan::toJson(plan->d->plan, indent));
  });
}

int wl_plan_describe(const wl_plan *plan, char **out) {
  return guard([&] {
    required(plan, "plan");
    required(out, "out");
    const PlanData &d = *plan->d;
    std::lock_guard<std::mutex> lock(d.mutex);
    if (d.describeJson.empty())
      d.describeJson = describeJson(d).dump();
    *out = give(d.describeJson);
  });
}

int wl_plan_source_ranges(const wl_plan *plan, char **out) {
  return guard([&] {
    required(plan, "plan");
    required(out, "out");
    ordered_json j = ordered_json::object();
    for (const auto &[name, ranges] : sourceRangesOf(*plan->d)) {
      ordered_json v = ordered_json::array();
      for (const auto &[a, b] : ranges)
        v.push_back({a, b});
      j[name] = v;
    }
    *out = give(j);
  });
}

// --- Checkpoints --------------------------------------------------------------

int wl_checkpoint_open(const char *path, wl_checkpoint **out) {
  return guard([&] {
    required(path, "path");
    required(out, "out");
    std::string error;
    auto c = runtime::Checkpoint::open(path, error);
    if (!c)
      throw Error(Error::Invalid, error);
    *out = new wl_checkpoint{std::move(c)};
  });
}

int wl_checkpoint_tensors(const wl_checkpoint *ckpt, char **out) {
  return guard([&] {
    required(ckpt, "checkpoint");
    required(out, "out");
    ordered_json j = ordered_json::array();
    for (const runtime::Checkpoint::Located &l : ckpt->c->tensors())
      j.push_back({l.file->path(), l.entry->name,
                   std::string(layout::safetensorsName(l.entry->dtype)),
                   l.entry->shape, l.file->fileOffset(*l.entry),
                   l.entry->end - l.entry->begin});
    *out = give(j);
  });
}

void wl_checkpoint_free(wl_checkpoint *ckpt) { delete ckpt; }

// --- The process --------------------------------------------------------------

int wl_cache_stats(char **out) {
  return guard([&] {
    required(out, "out");
    CacheStats s = cacheStats();
    *out = give(ordered_json{
        {"hits", s.hits}, {"misses", s.misses}, {"entries", s.entries}});
  });
}

void wl_cache_clear(void) { clearCache(); }

int wl_mapping_search_path(char **out) {
  return guard([&] {
    required(out, "out");
    *out = give(ordered_json(mappingSearchPath()));
  });
}

int wl_add_mapping_folder(const char *folder) {
  return guard([&] {
    required(folder, "folder");
    addMappingFolder(folder);
  });
}

int wl_cuda_executor_built(char **why) {
  if (runtime::cuda::built())
    return 1;
  if (why)
    *why = give(std::string("this build has no CUDA executor (no CUDA "
                            "toolkit at build time)"));
  return 0;
}

int wl_cuda_available(char **why) {
  std::string reason;
  if (cudaAvailable(reason))
    return 1;
  if (why)
    *why = give(reason);
  return 0;
}

} // extern "C"
