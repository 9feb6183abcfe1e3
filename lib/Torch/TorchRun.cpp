//===- TorchRun.cpp - plans run over libtorch tensors ---------------------===//
//
// The one translation unit of the library that includes libtorch: binds
// tensors to a plan by name (checking dtype, shape, device), returns views
// for aliased targets, and runs the rest with the CPU executor or, for CUDA
// tensors, the CUDA executor (through the host when this build has none or
// the plan converts in a way the device cannot do exactly).
//
//===----------------------------------------------------------------------===//
#include "wl/Torch/Embedding.h"

#include "CudaDevice.h"
#include "PlanData.h"

#include "wl/Plan/Plan.h"
#include "wl/Runtime/CpuExecutor.h"
#include "wl/Cuda/CudaExecutor.h"
#include "wl/Cuda/CudaTasks.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/version.h>
#if WL_TORCH_CUDA
#include <c10/cuda/CUDAStream.h>
#endif

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <mutex>
#include <thread>

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

bool cudaExecutorBuilt(std::string &why) {
  if (runtime::cuda::built())
    return true;
  why = "this build has no CUDA executor (no CUDA toolkit at build time)";
  return false;
}

namespace {

thread_local RunStats tlsStats;

std::string torchName(c10::ScalarType t) {
  switch (t) {
  case at::kBFloat16:
    return "torch.bfloat16";
  case at::kHalf:
    return "torch.float16";
  case at::kFloat:
    return "torch.float32";
  case at::kDouble:
    return "torch.float64";
  case at::kBool:
    return "torch.bool";
  case at::kChar:
    return "torch.int8";
  case at::kShort:
    return "torch.int16";
  case at::kInt:
    return "torch.int32";
  case at::kLong:
    return "torch.int64";
  case at::kByte:
    return "torch.uint8";
  default:
    return c10::toString(t);
  }
}

std::string planDTypeName(DType t) {
  std::string n(layout::safetensorsName(t));
  if (auto s = toScalarType(t))
    n += " (" + torchName(*s) + ")";
  return n;
}

std::vector<int64_t> sizesOf(const at::Tensor &t) {
  return std::vector<int64_t>(t.sizes().begin(), t.sizes().end());
}

/// Checks one tensor against its plan entry; returns it contiguous.
at::Tensor checkTensor(const char *role, const layout::TensorInfo &info,
                       const at::Tensor &t) {
  const std::string who = std::string(role) + " '" + info.name + "'";
  if (!t.defined())
    throw Error(Error::Invalid, who + " is an undefined tensor");
  auto dt = fromScalarType(t.scalar_type());
  if (!dt || *dt != info.dtype)
    throw Error(Error::Invalid, who + " has dtype " +
                                    torchName(t.scalar_type()) +
                                    " but the plan has it as " +
                                    planDTypeName(info.dtype));
  if (sizesOf(t) != std::vector<int64_t>(info.shape.begin(), info.shape.end()))
    throw Error(Error::Invalid,
                who + " has shape " + formatShape(sizesOf(t)) +
                    " but the plan has it as " +
                    formatShape({info.shape.begin(), info.shape.end()}));
  if (!t.device().is_cpu() && !t.device().is_cuda())
    throw Error(Error::Invalid, who + " is on device " + t.device().str() +
                                    ": only cpu and cuda tensors can be used");
  return t;
}

/// Names given but not in `index`, as hints for a name mismatch.
std::string hintUnknown(const std::map<std::string, at::Tensor> &given,
                        const std::map<std::string, int64_t> &index) {
  std::vector<std::string> extra;
  for (auto &[n, t] : given)
    if (!index.count(n))
      extra.push_back(n);
  if (extra.empty())
    return "";
  return "; given but not in the plan: " + listNames(extra, 3);
}

struct Bound {
  std::vector<at::Tensor> src; ///< contiguous; undefined where not bound
  std::optional<c10::Device> device;
};

/// Binds every plan source from `given` (names the plan does not read are
/// ignored); all on one device; contiguous (copies counted).
Bound bindSources(const PlanData &d,
                  const std::map<std::string, at::Tensor> &given,
                  RunStats &st) {
  const auto &infos = d.plan.sources;
  Bound b;
  b.src.resize(infos.size());
  std::vector<std::string> missing;
  std::string firstOnDevice;
  for (size_t s = 0; s < infos.size(); ++s) {
    auto it = given.find(infos[s].name);
    if (it == given.end()) {
      missing.push_back(infos[s].name);
      continue;
    }
    at::Tensor t = checkTensor("source", infos[s], it->second);
    if (!b.device) {
      b.device = t.device();
      firstOnDevice = infos[s].name;
    } else if (*b.device != t.device()) {
      throw Error(Error::Invalid,
                  "sources are on several devices: '" + firstOnDevice +
                      "' on " + b.device->str() + ", '" + infos[s].name +
                      "' on " + t.device().str() +
                      "; pass them on one device");
    }
    if (!t.is_contiguous()) {
      t = t.contiguous();
      ++st.contiguousCopies;
    }
    b.src[s] = std::move(t);
  }
  if (!missing.empty())
    throw Error(Error::Invalid,
                std::to_string(missing.size()) +
                    " source tensor(s) of the plan are missing: " +
                    listNames(missing) + hintUnknown(given, d.sourceIndex));
  return b;
}

std::vector<const uint8_t *> constPtrs(const std::vector<uint8_t *> &v) {
  return std::vector<const uint8_t *>(v.begin(), v.end());
}

int defaultThreads() {
  if (const char *e = std::getenv("WL_NUM_THREADS")) {
    int n = std::atoi(e);
    if (n > 0)
      return n;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return static_cast<int>(std::clamp<unsigned>(hw ? hw : 1, 1, 8));
}

void cpuExecute(const layout::Plan &sub,
                const std::vector<const uint8_t *> &src,
                const std::vector<uint8_t *> &dst, int threads) {
  static std::mutex mutex;
  static std::unique_ptr<runtime::ThreadPool> pool;
  static int poolSize = 0;
  if (threads <= 0) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!pool) {
      poolSize = defaultThreads();
      pool = std::make_unique<runtime::ThreadPool>(poolSize);
    }
    runtime::executePlan(sub, src, dst, *pool);
    return;
  }
  runtime::ThreadPool local(threads);
  runtime::executePlan(sub, src, dst, local);
}

struct DeviceTable {
  runtime::cuda::TaskTable table;
  bool ok = false;
  std::string error;
};

std::shared_ptr<const DeviceTable> deviceTable(const PlanData &d,
                                               const layout::Plan &sub,
                                               int64_t key) {
  if (key != LLONG_MIN) {
    std::lock_guard<std::mutex> lock(d.mutex);
    auto it = d.deviceTables.find(key);
    if (it != d.deviceTables.end())
      return std::static_pointer_cast<const DeviceTable>(it->second);
  }
  auto t = std::make_shared<DeviceTable>();
  t->ok = runtime::cuda::buildTaskTable(sub, t->table, t->error);
  if (key != LLONG_MIN) {
    std::lock_guard<std::mutex> lock(d.mutex);
    d.deviceTables.emplace(key, t);
  }
  return t;
}

int64_t subPlanBytes(const layout::Plan &sub) {
  int64_t n = 0;
  for (const layout::Piece &p : sub.pieces)
    n += p.numElements() * layout::dtypeSize(sub.targets[p.target].dtype);
  return n;
}

void *chooseStream(const RunOptions &o, c10::Device dev, bool &ordered) {
  if (o.stream) {
    ordered = o.streamIsCurrent;
    return o.stream;
  }
#if WL_TORCH_CUDA
  ordered = true;
  return c10::cuda::getCurrentCUDAStream(dev.index()).stream();
#else
  (void)dev;
  ordered = true; // the legacy default stream: libtorch's default
  return nullptr;
#endif
}

/// Runs `sub` (pieces over d.plan's sources and targets) with the tensors
/// bound (contiguous, on `dev`; undefined where `sub` does not use them).
/// `key` caches the device table (LLONG_MIN: do not cache).
void execute(const PlanData &d, const layout::Plan &sub, int64_t key,
             const std::vector<at::Tensor> &src,
             const std::vector<at::Tensor> &dst, c10::Device dev,
             const RunOptions &o, RunStats &st) {
  if (sub.pieces.empty()) {
    if (st.executor.empty())
      st.executor = "none";
    return;
  }
  st.piecesRun += static_cast<int64_t>(sub.pieces.size());
  st.bytesWritten += subPlanBytes(sub);
  auto ptrs = [&](const std::vector<at::Tensor> &v) {
    std::vector<uint8_t *> p(v.size(), nullptr);
    for (size_t i = 0; i < v.size(); ++i)
      if (v[i].defined())
        p[i] = static_cast<uint8_t *>(v[i].data_ptr());
    return p;
  };
  if (dev.is_cpu()) {
    cpuExecute(sub, constPtrs(ptrs(src)), ptrs(dst), o.threads);
    st.executor = "cpu";
    return;
  }
  // CUDA.
  std::string why;
  std::shared_ptr<const DeviceTable> table;
  if (detail::cudaExecutorAvailable(why)) {
    table = deviceTable(d, sub, key);
    if (!table->ok)
      why = table->error;
  }
  if (table && table->ok) {
    bool ordered = true;
    void *stream = chooseStream(o, dev, ordered);
    std::vector<uint8_t *> s = ptrs(src), t = ptrs(dst);
    detail::cudaRunTable(dev.index(), table->table,
                         std::vector<const void *>(s.begin(), s.end()),
                         std::vector<void *>(t.begin(), t.end()), stream,
                         !ordered);
    st.executor = "cuda";
    return;
  }
  // Through the host: the used sources copied to the CPU, the targets
  // rendered there and copied back.
  std::vector<char> usedSrc(src.size(), 0), usedDst(dst.size(), 0);
  for (const layout::Piece &p : sub.pieces) {
    usedDst[p.target] = 1;
    if (!p.isFill())
      usedSrc[p.source] = 1;
  }
  std::vector<at::Tensor> hs(src.size()), hd(dst.size());
  for (size_t i = 0; i < src.size(); ++i)
    if (usedSrc[i])
      hs[i] = src[i].cpu();
  for (size_t i = 0; i < dst.size(); ++i)
    if (usedDst[i])
      hd[i] = dst[i].cpu(); // keeps elements sub does not write
  cpuExecute(sub, constPtrs(ptrs(hs)), ptrs(hd), o.threads);
  for (size_t i = 0; i < dst.size(); ++i)
    if (usedDst[i])
      dst[i].copy_(hd[i]);
  st.executor = "cuda-via-host";
  (void)why;
}

/// Byte ranges of tensors, to refuse a destination that overlaps a source.
struct Ranges {
  std::vector<std::tuple<uintptr_t, uintptr_t, std::string>> v;
  void add(const at::Tensor &t, const std::string &name) {
    if (!t.defined() || t.numel() == 0)
      return;
    auto a = reinterpret_cast<uintptr_t>(t.data_ptr());
    v.emplace_back(a, a + t.numel() * t.element_size(), name);
  }
  void sort() { std::sort(v.begin(), v.end()); }
  const std::string *overlap(const at::Tensor &t) const {
    if (!t.defined() || t.numel() == 0)
      return nullptr;
    auto a = reinterpret_cast<uintptr_t>(t.data_ptr());
    auto b = a + t.numel() * t.element_size();
    for (const auto &[lo, hi, name] : v)
      if (lo < b && a < hi)
        return &name;
    return nullptr;
  }
};

/// The destinations of every target, checked.
std::vector<at::Tensor>
bindDestinations(const PlanData &d,
                 const std::map<std::string, at::Tensor> &given) {
  const auto &infos = d.plan.targets;
  std::vector<at::Tensor> out(infos.size());
  std::vector<std::string> missing;
  for (size_t t = 0; t < infos.size(); ++t) {
    auto it = given.find(infos[t].name);
    if (it == given.end()) {
      missing.push_back(infos[t].name);
      continue;
    }
    out[t] = checkTensor("destination", infos[t], it->second);
  }
  if (!missing.empty())
    throw Error(Error::Invalid,
                std::to_string(missing.size()) +
                    " target(s) of the plan have no destination: " +
                    listNames(missing) + hintUnknown(given, d.targetIndex));
  return out;
}

} // namespace

const RunStats &lastRunStats() { return tlsStats; }

// --- Plan -------------------------------------------------------------------

Plan compile(const std::string &mapping, const std::string &config,
             const std::map<std::string, int64_t> &options,
             const CompileOptions &how, const std::string &specBaseDir) {
  return Plan(compilePlan(mapping, config, options, how, specBaseDir));
}

Plan Plan::fromJson(const std::string &text) { return Plan(planFromJson(text)); }

const layout::Plan &Plan::raw() const { return d_->plan; }

static std::vector<TensorSpec>
specsOf(const std::vector<layout::TensorInfo> &v) {
  std::vector<TensorSpec> out;
  for (const layout::TensorInfo &t : v)
    out.push_back({t.name, t.dtype, {t.shape.begin(), t.shape.end()}});
  return out;
}

std::vector<TensorSpec> Plan::sources() const {
  return specsOf(d_->plan.sources);
}
std::vector<TensorSpec> Plan::targets() const {
  return specsOf(d_->plan.targets);
}
Description Plan::describe() const { return describePlan(*d_); }
std::string Plan::toJson(int indent) const {
  return plan::toJson(d_->plan, indent);
}
uint64_t Plan::hash() const { return d_->hash; }
std::map<std::string, std::vector<std::pair<int64_t, int64_t>>>
Plan::sourceRanges() const {
  return sourceRangesOf(*d_);
}

Plan Plan::inverse(bool exact) const {
  if (d_->mapping)
    return Plan(mappingInverse(*d_, exact));
  return Plan(invertPlan(*d_, exact));
}

std::map<std::string, at::Tensor>
Plan::run(const std::map<std::string, at::Tensor> &sources,
          const RunOptions &o) const {
  const PlanData &d = *d_;
  RunStats st;
  Bound b = bindSources(d, sources, st);
  c10::Device dev = b.device.value_or(c10::Device(at::kCPU));
  const auto &infos = d.plan.targets;
  std::vector<at::Tensor> out(infos.size()), work(infos.size());
  for (size_t t = 0; t < infos.size(); ++t) {
    std::vector<int64_t> shape(infos[t].shape.begin(), infos[t].shape.end());
    const auto &a = d.aliases[t];
    if (o.views && a) {
      int64_t n = 1;
      for (int64_t s : shape)
        n *= s;
      out[t] = b.src[a->source].view({-1}).narrow(0, a->offset, n).view(shape);
      ++st.views;
      continue;
    }
    auto opts = at::TensorOptions()
                    .dtype(scalarTypeOf({infos[t].name, infos[t].dtype, {}}))
                    .device(dev);
    work[t] = d.hasGaps[t] ? at::zeros(shape, opts) : at::empty(shape, opts);
    out[t] = work[t];
  }
  {
    at::NoGradGuard noGrad;
    execute(d, o.views ? d.residual : d.plan, o.views ? -2 : -1, b.src, work,
            dev, o, st);
  }
  std::map<std::string, at::Tensor> result;
  for (size_t t = 0; t < infos.size(); ++t)
    result.emplace(infos[t].name, std::move(out[t]));
  tlsStats = st;
  return result;
}

void Plan::runInto(const std::map<std::string, at::Tensor> &sources,
                   const std::map<std::string, at::Tensor> &destinations,
                   const RunOptions &o) const {
  const PlanData &d = *d_;
  RunStats st;
  Bound b = bindSources(d, sources, st);
  std::vector<at::Tensor> dst = bindDestinations(d, destinations);
  c10::Device dev = b.device.value_or(
      dst.empty() ? c10::Device(at::kCPU) : dst.front().device());
  Ranges srcRanges;
  for (size_t s = 0; s < b.src.size(); ++s)
    srcRanges.add(b.src[s], d.plan.sources[s].name);
  srcRanges.sort();
  const auto &infos = d.plan.targets;
  std::vector<at::Tensor> work(infos.size());
  std::vector<char> staged(infos.size(), 0);
  at::NoGradGuard noGrad;
  for (size_t t = 0; t < infos.size(); ++t) {
    if (const std::string *s = srcRanges.overlap(dst[t]))
      throw Error(Error::Invalid, "destination '" + infos[t].name +
                                      "' overlaps source '" + *s +
                                      "' in memory; a plan cannot run in "
                                      "place (use run(), or a separate "
                                      "destination)");
    if (dst[t].is_contiguous() && dst[t].device() == dev) {
      work[t] = dst[t];
    } else {
      work[t] = at::empty(dst[t].sizes(),
                          at::TensorOptions().dtype(dst[t].scalar_type()).device(dev));
      staged[t] = 1;
      ++st.stagedTargets;
    }
    if (d.hasGaps[t])
      work[t].zero_();
  }
  execute(d, d.plan, -1, b.src, work, dev, o, st);
  for (size_t t = 0; t < infos.size(); ++t)
    if (staged[t])
      dst[t].copy_(work[t]);
  tlsStats = st;
}

// --- Loader -------------------------------------------------------------------

struct Loader::State {
  std::shared_ptr<const PlanData> d;
  RunOptions o;
  std::vector<at::Tensor> dst, work;
  std::vector<char> staged, fed, done;
  std::vector<int64_t> remaining;
  std::vector<std::string> ignored, unknown;
  RunStats st;
  bool finished = false;

  void ensureWork(size_t t, c10::Device dev) {
    if (work[t].defined())
      return;
    if (dst[t].is_contiguous() && dst[t].device() == dev) {
      work[t] = dst[t];
    } else {
      work[t] = at::empty(
          dst[t].sizes(),
          at::TensorOptions().dtype(dst[t].scalar_type()).device(dev));
      staged[t] = 1;
      ++st.stagedTargets;
    }
    if (d->hasGaps[t])
      work[t].zero_();
  }

  void complete(size_t t) {
    if (staged[t] && work[t].defined())
      dst[t].copy_(work[t]);
    work[t] = at::Tensor();
    done[t] = 1;
  }
};

Loader::Loader(std::unique_ptr<State> s) : s_(std::move(s)) {}
Loader::Loader(Loader &&) noexcept = default;
Loader &Loader::operator=(Loader &&) noexcept = default;
Loader::~Loader() = default;

Loader Plan::loader(const std::map<std::string, at::Tensor> &destinations,
                    const RunOptions &o) const {
  auto s = std::make_unique<Loader::State>();
  s->d = d_;
  s->o = o;
  s->dst = bindDestinations(*d_, destinations);
  size_t nt = d_->plan.targets.size(), ns = d_->plan.sources.size();
  s->work.resize(nt);
  s->staged.assign(nt, 0);
  s->done.assign(nt, 0);
  s->fed.assign(ns, 0);
  s->remaining = d_->sourceCountOf;
  return Loader(std::move(s));
}

bool Loader::feed(const std::string &name, const at::Tensor &tensor) {
  State &S = *s_;
  const PlanData &d = *S.d;
  if (S.finished)
    throw Error(Error::Invalid, "feed('" + name + "') after finish()");
  auto it = d.sourceIndex.find(name);
  if (it == d.sourceIndex.end()) {
    S.ignored.push_back(name);
    if (!d.mapping || !d.mapping->knownSources.count(name))
      S.unknown.push_back(name);
    return false;
  }
  const int64_t s = it->second;
  if (S.fed[s])
    throw Error(Error::Invalid, "source '" + name + "' was fed twice");
  at::Tensor src = checkTensor("source", d.plan.sources[s], tensor);
  if (!src.is_contiguous()) {
    src = src.contiguous();
    ++S.st.contiguousCopies;
  }
  at::NoGradGuard noGrad;
  const std::vector<int64_t> &touched = d.targetsOfSource[s];
  // Targets whose temporary already lives on another device get the source
  // copied there (unusual: one load fed from several devices).
  std::map<std::string, std::vector<int64_t>> groups;
  std::map<std::string, c10::Device> deviceOf;
  for (int64_t t : touched) {
    c10::Device dev =
        S.work[t].defined() ? S.work[t].device() : src.device();
    groups[dev.str()].push_back(t);
    deviceOf.emplace(dev.str(), dev);
  }
  for (auto &[key, targets] : groups) {
    c10::Device dev = deviceOf.at(key);
    for (int64_t t : targets)
      S.ensureWork(t, dev);
    std::vector<at::Tensor> srcs(d.plan.sources.size());
    srcs[s] = dev == src.device() ? src : src.to(dev);
    if (groups.size() == 1) {
      execute(d, d.bySource[s], s, srcs, S.work, dev, S.o, S.st);
    } else {
      layout::Plan sub;
      sub.sources = d.plan.sources;
      sub.targets = d.plan.targets;
      std::set<int64_t> in(targets.begin(), targets.end());
      for (const layout::Piece &p : d.bySource[s].pieces)
        if (in.count(p.target))
          sub.pieces.push_back(p);
      execute(d, sub, LLONG_MIN, srcs, S.work, dev, S.o, S.st);
    }
  }
  S.fed[s] = 1;
  for (int64_t t : touched)
    if (--S.remaining[t] == 0 && d.fillsOf[t].pieces.empty())
      S.complete(t);
  tlsStats = S.st;
  return true;
}

std::vector<std::string> Loader::missing() const {
  std::vector<std::string> out;
  for (size_t s = 0; s < s_->fed.size(); ++s)
    if (!s_->fed[s])
      out.push_back(s_->d->plan.sources[s].name);
  return out;
}

LoadReport Loader::finish() {
  State &S = *s_;
  const PlanData &d = *S.d;
  if (S.finished)
    throw Error(Error::Invalid, "finish() called twice");
  std::vector<std::string> miss = missing();
  if (!miss.empty())
    throw Error(Error::Invalid,
                "the load is incomplete: " + std::to_string(miss.size()) +
                    " source tensor(s) of the plan were never fed: " +
                    listNames(miss));
  at::NoGradGuard noGrad;
  for (size_t t = 0; t < d.plan.targets.size(); ++t) {
    if (S.done[t])
      continue;
    c10::Device dev =
        S.work[t].defined() ? S.work[t].device() : S.dst[t].device();
    S.ensureWork(t, dev);
    execute(d, d.fillsOf[t], LLONG_MIN, {}, S.work, dev, S.o, S.st);
    S.complete(t);
  }
  S.finished = true;
  LoadReport r;
  for (const layout::TensorInfo &t : d.plan.targets)
    r.loaded.insert(t.name);
  r.ignored = S.ignored;
  r.unknown = S.unknown;
  r.bytesWritten = S.st.bytesWritten;
  tlsStats = S.st;
  return r;
}

} // namespace wl::embed
