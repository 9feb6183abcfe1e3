//===- TorchRun.cpp - the embedding API over libtorch tensors -------------===//
//
// A thin layer over libweight-layout's C API: at::Tensors become contiguous
// memory the library can use (sources copied when strided, aliased targets
// returned as views, destinations that are strided or on another device
// written through a temporary), and every failure an Error. Checking names,
// dtypes, shapes and devices, compiling, and running are the library's.
//
//===----------------------------------------------------------------------===//
#include "Calls.h"
#include "wl/Torch/Embedding.h"

#include "wl/CApi/weight_layout.h"

#include <nlohmann/json.hpp>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/version.h>
#if WL_TORCH_CUDA
#include <c10/cuda/CUDAStream.h>
#endif

#include <cstdlib>
#include <optional>
#include <set>
#include <tuple>

namespace wl::embed {

using layout::DType;

#define WL_TORCH_AT_LEAST(maj, min)                                            \
  (TORCH_VERSION_MAJOR > (maj) ||                                              \
   (TORCH_VERSION_MAJOR == (maj) && TORCH_VERSION_MINOR >= (min)))

std::optional<c10::ScalarType> toScalarType(DType t) {
  switch (t) {
  case DType::BF16:
    return at::kBFloat16;
  case DType::F16:
    return at::kHalf;
  case DType::F32:
    return at::kFloat;
  case DType::F64:
    return at::kDouble;
  case DType::Bool:
    return at::kBool;
  case DType::I8:
    return at::kChar;
  case DType::I16:
    return at::kShort;
  case DType::I32:
    return at::kInt;
  case DType::I64:
    return at::kLong;
  case DType::U8:
    return at::kByte;
#if WL_TORCH_AT_LEAST(2, 1)
  case DType::F8E4M3FN:
    return at::ScalarType::Float8_e4m3fn;
  case DType::F8E5M2:
    return at::ScalarType::Float8_e5m2;
#endif
#if WL_TORCH_AT_LEAST(2, 3)
  case DType::U16:
    return at::ScalarType::UInt16;
  case DType::U32:
    return at::ScalarType::UInt32;
  case DType::U64:
    return at::ScalarType::UInt64;
#endif
  default:
    return std::nullopt;
  }
}

std::optional<DType> fromScalarType(c10::ScalarType t) {
  for (int i = 0; i < layout::kNumDTypes; ++i) {
    DType d = static_cast<DType>(i);
    if (toScalarType(d) == t)
      return d;
  }
  return std::nullopt;
}

c10::ScalarType scalarTypeOf(const TensorSpec &t) {
  if (auto s = toScalarType(t.dtype))
    return *s;
  throw Error(Error::Invalid,
              "tensor '" + t.name + "': dtype " +
                  std::string(layout::safetensorsName(t.dtype)) +
                  " has no libtorch dtype in libtorch " TORCH_VERSION);
}


namespace {

using json = nlohmann::json;

thread_local RunStats tlsStats;

using detail::callJson;
using detail::check;


/// A tensor as the C API sees it: the strings and sizes `c()` points to.
struct WlTensor {
  std::string name, dtype;
  std::vector<int64_t> shape;
  at::Tensor keep;
  wl_tensor t{};
  /// `t` pointing into this object (valid while it is not moved).
  const wl_tensor &c() {
    t.name = name.c_str();
    t.dtype = dtype.c_str();
    t.shape = shape.data();
    return t;
  }
};

/// `t` (contiguous) as a wl_tensor; nullopt for a dtype no plan has, or a
/// device other than cpu and cuda (the library then says what is wrong, by
/// name, when the plan needs the tensor).
bool describeTensor(const std::string &name, const at::Tensor &t,
                    WlTensor &out, const char *role) {
  if (!t.defined())
    throw Error(Error::Invalid,
                std::string(role) + " '" + name + "' is an undefined tensor");
  auto dt = fromScalarType(t.scalar_type());
  if (!dt)
    return false;
  if (!t.device().is_cpu() && !t.device().is_cuda())
    throw Error(Error::Invalid, std::string(role) + " '" + name +
                                    "' is on device " + t.device().str() +
                                    ": only cpu and cuda tensors can be used");
  out.name = name;
  out.dtype = std::string(layout::safetensorsName(*dt));
  out.shape.assign(t.sizes().begin(), t.sizes().end());
  out.keep = t;
  out.t.data = t.numel() ? t.data_ptr() : nullptr;
  out.t.ndim = static_cast<int32_t>(out.shape.size());
  out.t.device_type = t.device().is_cpu() ? WL_DEVICE_CPU : WL_DEVICE_CUDA;
  out.t.device_index = t.device().is_cpu() ? 0 : t.device().index();
  return true;
}

/// The C API's array over `v` (valid while `v` lives, unchanged).
std::vector<wl_tensor> arrayOf(std::vector<WlTensor> &v) {
  std::vector<wl_tensor> out;
  for (WlTensor &w : v)
    out.push_back(w.c());
  return out;
}

/// Sources as the library needs them: contiguous (copies counted), with
/// their device. Names the plan does not read go along as given (the
/// library ignores them, and names them when a source is missing).
struct Sources {
  std::vector<WlTensor> v;
  std::map<std::string, at::Tensor> byName; ///< the plan's, contiguous
  std::optional<at::Device> device;
};

Sources bindSources(const Plan::Info &info,
                    const std::map<std::string, at::Tensor> &given,
                    RunStats &st);

/// Destinations made writable by the library: each contiguous one on the
/// common device as it is, any other (a column slice, another device)
/// through a temporary copied into it afterwards.
struct Staged {
  std::vector<WlTensor> v;
  std::vector<std::pair<at::Tensor, at::Tensor>> back; ///< (dst, temporary)
  at::Device device = at::kCPU;
  void copyBack() {
    at::NoGradGuard noGrad;
    for (auto &[dst, tmp] : back)
      dst.copy_(tmp);
  }
};

Staged stage(const std::map<std::string, at::Tensor> &dst,
             std::optional<at::Device> fallback, RunStats &st,
             bool preserve = false) {
  Staged s;
  std::optional<at::Device> common;
  bool several = false;
  for (auto &[name, t] : dst) {
    if (!t.defined())
      throw Error(Error::Invalid,
                  "destination '" + name + "' is an undefined tensor");
    if (!common)
      common = t.device();
    else if (*common != t.device())
      several = true;
  }
  s.device = several || !common ? fallback.value_or(at::Device(at::kCPU))
                                : *common;
  for (auto &[name, t] : dst) {
    at::Tensor w = t;
    if (!t.is_contiguous() || t.device() != s.device) {
      w = at::empty(t.sizes(),
                    at::TensorOptions().dtype(t.scalar_type()).device(s.device));
      if (preserve) { // a partial run leaves the rest as it is
        at::NoGradGuard noGrad;
        w.copy_(t);
      }
      s.back.emplace_back(t, w);
      ++st.stagedTargets;
    }
    WlTensor d;
    if (!describeTensor(name, w, d, "destination"))
      throw Error(Error::Invalid, "destination '" + name + "' has dtype " +
                                      std::string(c10::toString(
                                          t.scalar_type())) +
                                      ", which no plan has");
    s.v.push_back(std::move(d));
  }
  return s;
}

wl_run_options runOptions(const RunOptions &o, at::Device dev,
                          bool skipAliases) {
  wl_run_options r{};
  r.threads = o.threads;
  r.partial = o.partial ? 1 : 0;
  r.skip_aliases = skipAliases ? 1 : 0;
  if (o.stream) {
    r.stream = o.stream;
    r.stream_is_current = o.streamIsCurrent ? 1 : 0;
  } else {
#if WL_TORCH_CUDA
    if (dev.is_cuda())
      r.stream = c10::cuda::getCurrentCUDAStream(dev.index()).stream();
#else
    (void)dev;
#endif
    r.stream_is_current = 1; // libtorch's current stream (or the default)
  }
  return r;
}

void mergeStats(RunStats &st) {
  json j = callJson(wl_last_run_stats);
  st.executor = j.value("executor", "");
  st.piecesRun = j.value("pieces_run", int64_t(0));
  st.bytesWritten = j.value("bytes_written", int64_t(0));
  tlsStats = st;
}

std::vector<TensorSpec> specsOf(const json &list) {
  std::vector<TensorSpec> out;
  for (const json &t : list) {
    TensorSpec s;
    s.name = t[0].get<std::string>();
    s.dtype = layout::parseDType(t[1].get<std::string>()).value();
    s.shape = t[2].get<std::vector<int64_t>>();
    out.push_back(std::move(s));
  }
  return out;
}

} // namespace

/// What the library says about a plan, parsed once.
struct Plan::Info {
  json describe;
  std::vector<TensorSpec> sources, targets;
  std::set<std::string> sourceNames;
  /// target -> (source, element offset, elements)
  std::map<std::string, std::tuple<std::string, int64_t, int64_t>> aliases;
};

namespace {
Sources bindSources(const Plan::Info &info,
                    const std::map<std::string, at::Tensor> &given,
                    RunStats &st) {
  Sources s;
  for (auto &[name, t] : given) {
    at::Tensor c = t;
    bool ours = info.sourceNames.count(name) > 0;
    if (ours && c.defined() && !c.is_contiguous()) {
      c = c.contiguous();
      ++st.contiguousCopies;
    }
    WlTensor w;
    if (!describeTensor(name, c, w, "source")) {
      if (ours)
        throw Error(Error::Invalid,
                    "source '" + name + "' has dtype " +
                        std::string(c10::toString(c.scalar_type())) +
                        ", which no plan has");
      continue;
    }
    if (ours) {
      s.byName[name] = c;
      if (!s.device)
        s.device = c.device();
    }
    s.v.push_back(std::move(w));
  }
  return s;
}
} // namespace

const RunStats &lastRunStats() { return tlsStats; }

// --- Plan -------------------------------------------------------------------

Plan::Plan(wl_plan *handle) : h_(handle, wl_plan_free) {
  auto info = std::make_shared<Info>();
  info->describe = callJson(wl_plan_describe, handle);
  info->sources = specsOf(info->describe["source_tensors"]);
  info->targets = specsOf(info->describe["target_tensors"]);
  for (const TensorSpec &s : info->sources)
    info->sourceNames.insert(s.name);
  for (auto &[target, a] : info->describe["aliases"].items())
    info->aliases[target] = {a[0].get<std::string>(), a[1].get<int64_t>(),
                             a[2].get<int64_t>()};
  info_ = std::move(info);
}

Plan compile(const std::string &mapping, const std::string &config,
             const std::map<std::string, int64_t> &options,
             const CompileOptions &how, const std::string &specBaseDir) {
  json request = {{"options", options},
                  {"dtype", how.dtype},
                  {"reverse", how.reverse},
                  {"exact", how.exact}};
  if (how.rank == kAllRanks)
    request["rank"] = "all";
  else
    request["rank"] = how.rank;
  if (!specBaseDir.empty())
    request["spec_dir"] = specBaseDir;
  wl_plan *h = nullptr;
  check(wl_compile(mapping.c_str(), config.c_str(), request.dump().c_str(),
                   &h));
  return Plan(h);
}

Plan Plan::fromJson(const std::string &text) {
  wl_plan *h = nullptr;
  check(wl_plan_from_json(text.c_str(), &h));
  return Plan(h);
}

std::vector<TensorSpec> Plan::sources() const { return info_->sources; }
std::vector<TensorSpec> Plan::targets() const { return info_->targets; }
uint64_t Plan::hash() const {
  return info_->describe["hash"].get<uint64_t>();
}

Description Plan::describe() const {
  const json &j = info_->describe;
  Description d;
  d.from = j["from"];
  d.to = j["to"];
  d.modelType = j["model_type"];
  d.tp = j["tp"];
  d.ep = j["ep"];
  d.pp = j["pp"];
  d.reverse = j["reverse"];
  d.rank = d.reverse ? -2
           : j["rank"].is_string() ? kAllRanks
                                   : j["rank"].get<int64_t>();
  d.hash = j["hash"];
  d.sources = j["sources"];
  d.targets = j["targets"];
  d.pieces = j["pieces"];
  d.copyPieces = j["copy_pieces"];
  d.fillPieces = j["fill_pieces"];
  d.convertPieces = j["convert_pieces"];
  d.bytesRead = j["bytes_read"];
  d.bytesWritten = j["bytes_written"];
  d.sourceBytes = j["source_bytes"];
  for (auto &[target, a] : info_->aliases)
    d.aliases.push_back(
        {target, std::get<0>(a), std::get<1>(a), std::get<2>(a)});
  d.aliasBytes = j["alias_bytes"];
  d.dropped = j["dropped"].get<std::vector<std::string>>();
  d.rounded = j["rounded"].get<std::vector<std::string>>();
  d.summary = j["text"];
  return d;
}

std::string Plan::toJson(int indent) const {
  char *out = nullptr;
  check(wl_plan_to_json(h_.get(), indent, &out));
  std::string s = out;
  wl_free(out);
  return s;
}

std::map<std::string, std::vector<std::pair<int64_t, int64_t>>>
Plan::sourceRanges() const {
  json j = callJson(wl_plan_source_ranges, h_.get());
  std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> out;
  for (auto &[name, v] : j.items())
    for (const json &r : v)
      out[name].emplace_back(r[0].get<int64_t>(), r[1].get<int64_t>());
  return out;
}

Plan Plan::inverse(bool exact) const {
  wl_plan *h = nullptr;
  check(wl_plan_inverse(h_.get(), exact ? 1 : 0, &h));
  return Plan(h);
}

std::map<std::string, at::Tensor>
Plan::run(const std::map<std::string, at::Tensor> &sources,
          const RunOptions &o) const {
  RunStats st;
  Sources src = bindSources(*info_, sources, st);
  at::Device dev = src.device.value_or(at::Device(at::kCPU));
  std::map<std::string, at::Tensor> out;
  std::vector<WlTensor> work;
  for (const TensorSpec &t : info_->targets) {
    auto a = info_->aliases.find(t.name);
    if (o.views && a != info_->aliases.end()) {
      auto s = src.byName.find(std::get<0>(a->second));
      if (s != src.byName.end()) {
        out[t.name] = s->second.view({-1})
                          .narrow(0, std::get<1>(a->second),
                                  std::get<2>(a->second))
                          .view(t.shape);
        ++st.views;
        continue;
      }
    }
    at::Tensor w = at::empty(
        t.shape, at::TensorOptions().dtype(scalarTypeOf(t)).device(dev));
    out[t.name] = w;
    WlTensor d;
    describeTensor(t.name, w, d, "target");
    work.push_back(std::move(d));
  }
  std::vector<wl_tensor> s = arrayOf(src.v), d = arrayOf(work);
  wl_run_options ro = runOptions(o, dev, o.views);
  {
    at::NoGradGuard noGrad;
    check(wl_run_into(h_.get(), s.data(), s.size(), d.data(), d.size(), &ro));
  }
  mergeStats(st);
  return out;
}

void Plan::runInto(const std::map<std::string, at::Tensor> &sources,
                   const std::map<std::string, at::Tensor> &destinations,
                   const RunOptions &o) const {
  RunStats st;
  Sources src = bindSources(*info_, sources, st);
  Staged staged = stage(destinations, src.device, st, o.partial);
  std::vector<wl_tensor> s = arrayOf(src.v), d = arrayOf(staged.v);
  wl_run_options ro = runOptions(o, staged.device, false);
  {
    at::NoGradGuard noGrad;
    check(wl_run_into(h_.get(), s.data(), s.size(), d.data(), d.size(), &ro));
  }
  staged.copyBack();
  mergeStats(st);
}

// --- Loader -------------------------------------------------------------------

struct Loader::State {
  Plan plan;
  Staged staged;
  std::unique_ptr<wl_loader, void (*)(wl_loader *)> h{nullptr, wl_loader_free};
  RunStats st;
  explicit State(const Plan &p) : plan(p) {}
};

Loader::Loader(std::unique_ptr<State> s) : s_(std::move(s)) {}
Loader::Loader(Loader &&) noexcept = default;
Loader &Loader::operator=(Loader &&) noexcept = default;
Loader::~Loader() = default;

Loader Plan::loader(const std::map<std::string, at::Tensor> &destinations,
                    const RunOptions &o) const {
  auto s = std::make_unique<Loader::State>(*this);
  s->staged = stage(destinations, std::nullopt, s->st);
  std::vector<wl_tensor> d = arrayOf(s->staged.v);
  wl_run_options ro = runOptions(o, s->staged.device, false);
  wl_loader *h = nullptr;
  check(wl_loader_new(h_.get(), d.data(), d.size(), &ro, &h));
  s->h.reset(h);
  return Loader(std::move(s));
}

bool Loader::feed(const std::string &name, const at::Tensor &tensor) {
  State &S = *s_;
  at::Tensor c = tensor;
  if (c.defined() && !c.is_contiguous()) {
    c = c.contiguous();
    ++S.st.contiguousCopies;
  }
  WlTensor w;
  if (!describeTensor(name, c, w, "source"))
    throw Error(Error::Invalid, "source '" + name + "' has dtype " +
                                    std::string(c10::toString(c.scalar_type())) +
                                    ", which no plan has");
  int used = 0;
  {
    at::NoGradGuard noGrad;
    check(wl_loader_feed(S.h.get(), &w.c(), &used));
  }
  mergeStats(S.st);
  return used != 0;
}

std::vector<std::string> Loader::missing() const {
  return callJson(wl_loader_missing, s_->h.get())
      .get<std::vector<std::string>>();
}

LoadReport Loader::finish() {
  State &S = *s_;
  json j = callJson(wl_loader_finish, S.h.get());
  S.staged.copyBack();
  mergeStats(S.st);
  LoadReport r;
  for (const json &n : j["loaded"])
    r.loaded.insert(n.get<std::string>());
  r.ignored = j["ignored"].get<std::vector<std::string>>();
  r.unknown = j["unknown"].get<std::vector<std::string>>();
  r.bytesWritten = j["bytes_written"];
  return r;
}

// --- The process ----------------------------------------------------------------

bool cudaExecutorBuilt(std::string &why) {
  char *w = nullptr;
  if (wl_cuda_executor_built(&w))
    return true;
  why = w ? w : "";
  wl_free(w);
  return false;
}

CacheStats cacheStats() {
  json j = callJson(wl_cache_stats);
  return {j["hits"], j["misses"], j["entries"]};
}

void clearCache() { wl_cache_clear(); }

std::vector<std::string> mappingSearchPath() {
  return callJson(wl_mapping_search_path).get<std::vector<std::string>>();
}

} // namespace wl::embed
