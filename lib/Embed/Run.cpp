//===- Run.cpp - plans run over caller-owned memory, CPU or CUDA ----------===//
//
// Binds tensors to a plan by name (checking dtype, shape, device), moves
// sources to the destinations' device when they differ, and runs with the
// CPU executor or the CUDA executor (through the host where the CUDA
// executor cannot run the plan). See wl/Embed/Run.h for the contracts.
//
//===----------------------------------------------------------------------===//
#include "wl/Embed/Run.h"

#include "CudaDevice.h"
#include "Execute.h"

#include "wl/Cuda/CudaExecutor.h"
#include "wl/Cuda/CudaTasks.h"
#include "wl/Runtime/CpuExecutor.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>

namespace wl::embed {

using layout::DType;

std::string Device::str() const {
  return kind == CPU ? "cpu" : "cuda:" + std::to_string(index);
}

int64_t TensorRef::numel() const {
  int64_t n = 1;
  for (int64_t s : shape)
    n *= s;
  return n;
}
int64_t TensorRef::bytes() const {
  return numel() * static_cast<int64_t>(layout::dtypeSize(dtype));
}

bool cudaAvailable(std::string &why) {
  return detail::cudaExecutorAvailable(why);
}

namespace {
thread_local ExecStats tlsStats;
} // namespace

namespace detail {

void checkRef(const char *role, const layout::TensorInfo &info,
              const TensorRef &t) {
  const std::string who = std::string(role) + " '" + info.name + "'";
  if (t.dtype != info.dtype)
    throw Error(Error::Invalid,
                who + " has dtype " +
                    std::string(layout::safetensorsName(t.dtype)) +
                    " but the plan has it as " +
                    std::string(layout::safetensorsName(info.dtype)));
  if (t.shape != std::vector<int64_t>(info.shape.begin(), info.shape.end()))
    throw Error(Error::Invalid,
                who + " has shape " + formatShape(t.shape) +
                    " but the plan has it as " +
                    formatShape({info.shape.begin(), info.shape.end()}));
  if (!t.data && t.numel() > 0)
    throw Error(Error::Invalid, who + " has no memory (a null pointer)");
  if (t.device.kind != Device::CPU && t.device.kind != Device::CUDA)
    throw Error(Error::Invalid,
                who + ": only cpu and cuda memory can be used");
}

/// Names given but not in `index`, as hints for a name mismatch.
std::string hintUnknown(const std::map<std::string, TensorRef> &given,
                        const std::map<std::string, int64_t> &index) {
  std::vector<std::string> extra;
  for (auto &[n, t] : given)
    if (!index.count(n))
      extra.push_back(n);
  if (extra.empty())
    return "";
  return "; given but not in the plan: " + listNames(extra, 3);
}

void noteDevice(Bound &b, const char *what, const std::string &name,
                const TensorRef &t, std::string &first) {
  if (!b.device) {
    b.device = t.device;
    first = name;
  } else if (*b.device != t.device) {
    throw Error(Error::Invalid, std::string(what) + " are on several devices: '" +
                                    first + "' on " + b.device->str() +
                                    ", '" + name + "' on " + t.device.str() +
                                    "; pass them on one device");
  }
}

/// Binds `infos` (the plan's sources or targets) from `given`, checked,
/// all on one device; `optional(i)` says which may be absent. A missing
/// one is an Error: "<n> <what>: <names>; given but not in the plan: ...".
template <typename Optional>
Bound bind(const std::vector<layout::TensorInfo> &infos,
           const std::map<std::string, TensorRef> &given,
           const std::map<std::string, int64_t> &index, const char *role,
           const char *plural, const char *missingWhat, Optional optional) {
  Bound b;
  b.refs.assign(infos.size(), nullptr);
  std::vector<std::string> missing;
  std::string first;
  for (size_t i = 0; i < infos.size(); ++i) {
    auto it = given.find(infos[i].name);
    if (it == given.end()) {
      if (!optional(i))
        missing.push_back(infos[i].name);
      continue;
    }
    checkRef(role, infos[i], it->second);
    noteDevice(b, plural, infos[i].name, it->second, first);
    b.refs[i] = &it->second;
  }
  if (!missing.empty())
    throw Error(Error::Invalid, std::to_string(missing.size()) + missingWhat +
                                    listNames(missing) +
                                    hintUnknown(given, index));
  return b;
}

Bound bindSources(const PlanData &d,
                  const std::map<std::string, TensorRef> &given) {
  return bind(d.plan.sources, given, d.sourceIndex, "source", "sources",
              " source tensor(s) of the plan are missing: ",
              [](size_t) { return false; });
}

Bound bindDestinations(const PlanData &d,
                       const std::map<std::string, TensorRef> &given,
                       bool skipAliases) {
  return bind(d.plan.targets, given, d.targetIndex, "destination",
              "destinations", " target(s) of the plan have no destination: ",
              [&](size_t t) { return skipAliases && d.aliases[t]; });
}

/// Refuses a destination whose memory overlaps a source's.
void checkNoOverlap(const PlanData &d, const Bound &src, const Bound &dst) {
  std::vector<std::tuple<uintptr_t, uintptr_t, size_t>> v;
  for (size_t s = 0; s < src.refs.size(); ++s)
    if (src.refs[s] && src.refs[s]->bytes() > 0) {
      auto a = reinterpret_cast<uintptr_t>(src.refs[s]->data);
      v.emplace_back(a, a + src.refs[s]->bytes(), s);
    }
  for (size_t t = 0; t < dst.refs.size(); ++t) {
    const TensorRef *r = dst.refs[t];
    if (!r || r->bytes() == 0)
      continue;
    auto a = reinterpret_cast<uintptr_t>(r->data);
    auto b = a + r->bytes();
    for (const auto &[lo, hi, s] : v)
      if (lo < b && a < hi)
        throw Error(Error::Invalid,
                    "destination '" + d.plan.targets[t].name +
                        "' overlaps source '" + d.plan.sources[s].name +
                        "' in memory; a plan cannot run in place (use run(), "
                        "or a separate destination)");
  }
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
  if (threads <= 0) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!pool)
      pool = std::make_unique<runtime::ThreadPool>(defaultThreads());
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

/// The CUDA task table of `sub`, cached in `d` under `key` (LLONG_MIN: not
/// cached).
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

size_t bytesOf(const layout::TensorInfo &i) {
  int64_t n = static_cast<int64_t>(layout::dtypeSize(i.dtype));
  for (int64_t s : i.shape)
    n *= s;
  return static_cast<size_t>(n);
}

int64_t subPlanBytes(const layout::Plan &sub) {
  int64_t n = 0;
  for (const layout::Piece &p : sub.pieces)
    n += p.numElements() * layout::dtypeSize(sub.targets[p.target].dtype);
  return n;
}

/// Host copies of the device tensors `sub` uses (sources; with `targets`,
/// also the targets, whose elements `sub` does not write must survive).
struct HostCopies {
  std::vector<std::vector<uint8_t>> src, dst;
};

void executeViaHost(const layout::Plan &sub, const Work &w,
                    const ExecOptions &o) {
  const auto &S = sub.sources;
  const auto &T = sub.targets;
  std::vector<char> usedSrc(S.size(), 0), usedDst(T.size(), 0);
  for (const layout::Piece &p : sub.pieces) {
    usedDst[p.target] = 1;
    if (!p.isFill())
      usedSrc[p.source] = 1;
  }
  HostCopies h;
  h.src.resize(S.size());
  h.dst.resize(T.size());
  std::vector<const uint8_t *> src = w.src;
  std::vector<uint8_t *> dst = w.dst;
  int dev = w.dstDevice.kind == Device::CUDA ? w.dstDevice.index
                                             : w.srcDevice.index;
  if (w.srcDevice.kind == Device::CUDA)
    for (size_t s = 0; s < S.size(); ++s)
      if (usedSrc[s]) {
        h.src[s].resize(bytesOf(S[s]));
        detail::copyAsync(dev, h.src[s].data(), w.src[s], h.src[s].size(),
                          o.stream);
        src[s] = h.src[s].data();
      }
  if (w.dstDevice.kind == Device::CUDA)
    for (size_t t = 0; t < T.size(); ++t)
      if (usedDst[t]) {
        h.dst[t].resize(bytesOf(T[t]));
        detail::copyAsync(dev, h.dst[t].data(), w.dst[t], h.dst[t].size(),
                          o.stream);
        dst[t] = h.dst[t].data();
      }
  detail::synchronize(dev, o.stream);
  cpuExecute(sub, src, dst, o.threads);
  if (w.dstDevice.kind == Device::CUDA) {
    for (size_t t = 0; t < T.size(); ++t)
      if (usedDst[t])
        detail::copyAsync(dev, w.dst[t], h.dst[t].data(), h.dst[t].size(),
                          o.stream);
    detail::synchronize(dev, o.stream); // the host copies go out of scope
  }
}

/// Runs `sub` (pieces over d.plan's sources and targets). `key` caches the
/// device table (LLONG_MIN: do not cache).
/// The addresses of `sub`'s own tensors.
Work localWork(const SubPlan &sub, const Work &w) {
  Work l;
  l.srcDevice = w.srcDevice;
  l.dstDevice = w.dstDevice;
  for (int64_t s : sub.sources)
    l.src.push_back(w.src[s]);
  for (int64_t t : sub.targets)
    l.dst.push_back(w.dst[t]);
  return l;
}

void execute(const PlanData &d, const SubPlan &subPlan, int64_t key,
             const Work &whole, const ExecOptions &o, ExecStats &st) {
  const layout::Plan &sub = subPlan.whole ? d.plan : subPlan.plan;
  const Work w = subPlan.whole ? whole : localWork(subPlan, whole);
  if (sub.pieces.empty()) {
    if (st.executor.empty())
      st.executor = "none";
    return;
  }
  countRun(d, subPlan, st);
  if (w.dstDevice.kind == Device::CPU && w.srcDevice.kind == Device::CPU) {
    cpuExecute(sub, w.src, w.dst, o.threads);
    st.executor = "cpu";
    return;
  }
  if (w.dstDevice.kind == Device::CPU) { // CUDA sources, host targets
    executeViaHost(sub, w, o);
    st.executor = "cpu";
    return;
  }
  std::string why;
  std::shared_ptr<const DeviceTable> table;
  if (detail::cudaExecutorAvailable(why))
    table = deviceTable(d, sub, key);
  if (!table || !table->ok) {
    executeViaHost(sub, w, o);
    st.executor = "cuda-via-host";
    return;
  }
  const int dev = w.dstDevice.index;
  std::vector<const void *> src(w.src.begin(), w.src.end());
  std::vector<void *> temps;
  if (w.srcDevice != w.dstDevice) {
    // Sources elsewhere (host memory, another GPU): the used ones are
    // copied to the destinations' device first, in stream order.
    std::vector<char> used(src.size(), 0);
    for (const layout::Piece &p : sub.pieces)
      if (!p.isFill())
        used[p.source] = 1;
    for (size_t s = 0; s < src.size(); ++s)
      if (used[s]) {
        const layout::TensorInfo &i = sub.sources[s];
        size_t n = bytesOf(i);
        void *t = detail::deviceAlloc(dev, n, o.stream);
        temps.push_back(t);
        detail::copyAsync(dev, t, w.src[s], n, o.stream);
        st.uploadedBytes += static_cast<int64_t>(n);
        src[s] = t;
      }
  }
  detail::cudaRunTable(dev, table->table, src,
                       std::vector<void *>(w.dst.begin(), w.dst.end()),
                       o.stream, false);
  for (void *t : temps)
    detail::deviceFree(dev, t, o.stream);
  // Not waited for when the caller orders its work on the stream, unless
  // host memory was read by copies that may still be running (the caller
  // may reuse it as soon as this returns).
  if (!o.streamIsCurrent || w.srcDevice.kind == Device::CPU)
    detail::synchronize(dev, o.stream);
  st.executor = "cuda";
}

std::shared_ptr<PreparedTable> prepareOnDevice(const PlanData &d,
                                               const SubPlan &subPlan,
                                               int64_t key, const Work &whole,
                                               const ExecOptions &o) {
  const layout::Plan &sub = subPlan.whole ? d.plan : subPlan.plan;
  const Work w = subPlan.whole ? whole : localWork(subPlan, whole);
  std::string why;
  if (sub.pieces.empty() || w.dstDevice.kind != Device::CUDA ||
      w.srcDevice != w.dstDevice || !detail::cudaExecutorAvailable(why))
    return nullptr;
  std::shared_ptr<const DeviceTable> table = deviceTable(d, sub, key);
  if (!table->ok)
    return nullptr;
  return detail::cudaPrepareTable(
      w.dstDevice.index, table->table,
      std::vector<const void *>(w.src.begin(), w.src.end()),
      std::vector<void *>(w.dst.begin(), w.dst.end()), o.stream);
}

void countRun(const PlanData &d, const SubPlan &subPlan, ExecStats &st) {
  const layout::Plan &sub = subPlan.whole ? d.plan : subPlan.plan;
  st.piecesRun += static_cast<int64_t>(sub.pieces.size());
  st.bytesWritten += subPlanBytes(sub);
}

void setLastExecStats(const ExecStats &st) { tlsStats = st; }

void zeroGaps(const PlanData &d, const Bound &dst, const ExecOptions &o) {
  for (size_t t = 0; t < dst.refs.size(); ++t)
    if (dst.refs[t] && d.hasGaps[t])
      zeroTarget(*dst.refs[t], o);
}

void zeroTarget(const TensorRef &t, const ExecOptions &o) {
  if (t.bytes() == 0)
    return;
  if (t.device.kind == Device::CPU)
    std::memset(t.data, 0, t.bytes());
  else
    detail::zeroAsync(t.device.index, t.data, t.bytes(), o.stream);
}

Work workOf(const Bound &src, const Bound &dst, Device fallback) {
  Work w;
  w.src.assign(src.refs.size(), nullptr);
  w.dst.assign(dst.refs.size(), nullptr);
  for (size_t s = 0; s < src.refs.size(); ++s)
    if (src.refs[s])
      w.src[s] = static_cast<const uint8_t *>(src.refs[s]->data);
  for (size_t t = 0; t < dst.refs.size(); ++t)
    if (dst.refs[t])
      w.dst[t] = static_cast<uint8_t *>(dst.refs[t]->data);
  w.dstDevice = dst.device.value_or(src.device.value_or(fallback));
  w.srcDevice = src.device.value_or(w.dstDevice);
  return w;
}

} // namespace detail

using namespace detail;

ExecStats &lastExecStats() { return tlsStats; }

void runInto(const PlanData &d, const std::map<std::string, TensorRef> &sources,
             const std::map<std::string, TensorRef> &destinations,
             const ExecOptions &o) {
  ExecStats st;
  Bound src = bindSources(d, sources);
  Bound dst = bindDestinations(d, destinations, o.skipAliases);
  checkNoOverlap(d, src, dst);
  Work w = workOf(src, dst, Device{});
  if (!o.partial)
    zeroGaps(d, dst, o);
  if (o.skipAliases)
    execute(d, d.residual, -2, w, o, st);
  else
    execute(d, d.all, -1, w, o, st);
  tlsStats = st;
}

// --- StreamLoader -------------------------------------------------------------

struct StreamLoader::State {
  std::shared_ptr<const PlanData> d;
  ExecOptions o;
  std::map<std::string, TensorRef> dstRefs; // owned copies
  Bound dst;
  std::vector<char> fed, touched;
  std::vector<std::string> ignored, unknown;
  ExecStats st;
  bool finished = false;

  /// Zeroes the targets with gaps before their first write.
  void touch(const std::vector<int64_t> &targets) {
    for (int64_t t : targets)
      if (!touched[t]) {
        touched[t] = 1;
        if (d->hasGaps[t])
          zeroTarget(*dst.refs[t], o);
      }
  }
};

StreamLoader::StreamLoader(std::shared_ptr<const PlanData> plan,
                           const std::map<std::string, TensorRef> &destinations,
                           const ExecOptions &options)
    : s_(std::make_unique<State>()) {
  s_->d = std::move(plan);
  s_->o = options;
  s_->o.skipAliases = false;
  s_->dstRefs = destinations;
  s_->dst = bindDestinations(*s_->d, s_->dstRefs, false);
  s_->fed.assign(s_->d->plan.sources.size(), 0);
  s_->touched.assign(s_->d->plan.targets.size(), 0);
}

StreamLoader::~StreamLoader() = default;

bool StreamLoader::feed(const std::string &name, const TensorRef &tensor) {
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
  checkRef("source", d.plan.sources[s], tensor);
  Bound src;
  src.refs.assign(d.plan.sources.size(), nullptr);
  src.refs[s] = &tensor;
  src.device = tensor.device;
  checkNoOverlap(d, src, S.dst);
  S.touch(d.targetsOfSource[s]);
  execute(d, d.bySource[s], s, workOf(src, S.dst, tensor.device), S.o, S.st);
  S.fed[s] = 1;
  tlsStats = S.st;
  return true;
}

std::vector<std::string> StreamLoader::missing() const {
  std::vector<std::string> out;
  for (size_t s = 0; s < s_->fed.size(); ++s)
    if (!s_->fed[s])
      out.push_back(s_->d->plan.sources[s].name);
  return out;
}

StreamReport StreamLoader::finish() {
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
  Bound none;
  none.refs.assign(d.plan.sources.size(), nullptr);
  for (size_t t = 0; t < d.plan.targets.size(); ++t) {
    S.touch({static_cast<int64_t>(t)});
    execute(d, d.fillsOf[t], LLONG_MIN, workOf(none, S.dst, Device{}), S.o,
            S.st);
  }
  S.finished = true;
  StreamReport r;
  for (const layout::TensorInfo &t : d.plan.targets)
    r.loaded.push_back(t.name);
  r.ignored = S.ignored;
  r.unknown = S.unknown;
  r.bytesWritten = S.st.bytesWritten;
  tlsStats = S.st;
  return r;
}

} // namespace wl::embed
