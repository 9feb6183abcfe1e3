//===- CudaExecutor.cu - plans executed by CUDA kernels -------------------===//
//
// The executor's host side: a task table's units grouped by kernel and
// launched, up to five launches a plan (docs/cuda.md). copyFlat (aligned
// row copies and fills, with their fused padding, CopyKernel.cuh),
// transposeTiles (aligned transposes through a shared-memory tile,
// TransposeKernel.cuh), convertFast (the fast conversions, a block per
// FlatConvert) and convertFlat (the other converting rows; both in
// ConvertKernels.cuh) are not persistent: each unit is cut into parts, a
// block each, handed out in order by the hardware,
// so that the memory in flight is one short stretch (as the driver's own
// copy runs). runUnits (everything else, and the whole of a small plan,
// GeneralKernel.cuh) is persistent: block b takes units b, b + grid, ...
// The unit kinds mirror runTableOnHost (TaskTable.cpp) index for index;
// the host emulation is what CI checks, the GPU tests compare the kernels
// with the CPU executor byte for byte.
//
//===----------------------------------------------------------------------===//
#include "wl/Cuda/CudaExecutor.h"

#include "ConvertKernels.cuh"
#include "CopyKernel.cuh"
#include "GeneralKernel.cuh"
#include "TransposeKernel.cuh"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace wl::runtime::cuda {

using namespace kernels;

namespace {

/// Plans writing less than this run their copies and transposes in the
/// general kernel: one launch instead of several (Executor::
/// setSmallPlanBytes changes it).
constexpr int64_t kSmallPlanBytes = 16 << 20;

std::string cudaMessage(const char *what, cudaError_t e) {
  return std::string(what) + ": " + cudaGetErrorString(e);
}

/// A device buffer that grows.
struct DeviceBuffer {
  void *p = nullptr;
  size_t size = 0;
  bool reserve(size_t bytes, std::string &error) {
    if (bytes <= size)
      return true;
    if (p)
      cudaFree(p);
    p = nullptr;
    size = 0;
    cudaError_t e = cudaMalloc(&p, bytes);
    if (e != cudaSuccess) {
      error = cudaMessage("cudaMalloc", e);
      return false;
    }
    size = bytes;
    return true;
  }
  ~DeviceBuffer() {
    if (p)
      cudaFree(p);
  }
};

} // namespace

/// The plan kernels, in launch order, and how each is launched.
enum KernelGroup {
  kRowsGroup,
  kTransposeGroup,
  kCastGroup,
  kConvertGroup,
  kGeneralGroup,
  kFillGroup,
  kGroups
};
struct KernelLaunch {
  const void *fn;
  /// The work a block does in the non-persistent kernels, in the units
  /// run() measures each unit's work in (copyFlat: target bytes;
  /// transposeTiles: steps of i; convertFlat: items; fillElements: a fill
  /// a thread); 0 for the persistent general kernel.
  int64_t perBlock;
  int perSM = 1;       ///< resident blocks an SM (occupancy, persistent)
  long long count = 0; ///< units of the last run
  int parts = 0;       ///< blocks a unit (not persistent)
};

struct Executor::Impl {
  int device = 0;
  cudaDeviceProp props{};
  bool ready = false;
  KernelLaunch kernels[kGroups] = {
      {reinterpret_cast<const void *>(copyFlat<kRowWords>),
       int64_t(kThreads) * 16 * kRowWords},
      {reinterpret_cast<const void *>(transposeTiles), 1},
      {reinterpret_cast<const void *>(convertFast), kConvertBlockItems},
      {reinterpret_cast<const void *>(convertFlat), kConvertBlockItems},
      {reinterpret_cast<const void *>(runUnits), 0},
      {reinterpret_cast<const void *>(fillElements), kThreads}};
  DeviceBuffer tasks, units, flat;
  /// The units in launch order, grouped by kernel, but for copyFlat's,
  /// transposeTiles', convertFast's and fillElements': those are in
  /// `flatUnits`, as FlatRows, then FlatTranspose (flatTransposeAt bytes
  /// in), then FlatConvert (flatConvertAt), then FlatFill (flatFillAt),
  /// their addresses resolved.
  std::vector<Unit> ordered;
  std::vector<uint8_t> flatUnits;
  std::vector<FlatConvert> flatConverts;
  size_t flatTransposeAt = 0, flatConvertAt = 0, flatFillAt = 0;
  int64_t smallPlanBytes = kSmallPlanBytes;

  /// The general kernel's occupancy, once.
  bool setUp(std::string &error) {
    KernelLaunch &k = kernels[kGeneralGroup];
    cudaError_t e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(
        &k.perSM, k.fn, kThreads, 0);
    if (e != cudaSuccess) {
      error = cudaMessage("setting up the plan kernels", e);
      return false;
    }
    k.perSM = std::max(1, k.perSM);
    ready = true;
    return true;
  }
};

void Executor::setSmallPlanBytes(int64_t bytes) {
  impl_->smallPlanBytes = bytes;
}

bool built() { return true; }

bool deviceAvailable(std::string &why) {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    why = "no CUDA device: " + std::string(cudaGetErrorString(e));
    return false;
  }
  if (n == 0) {
    why = "no CUDA device";
    return false;
  }
  return true;
}

std::unique_ptr<Executor> Executor::create(std::string &error) {
  if (!deviceAvailable(error))
    return nullptr;
  std::unique_ptr<Executor> x(new Executor());
  x->impl_ = std::make_unique<Impl>();
  cudaGetDevice(&x->impl_->device);
  cudaError_t e = cudaGetDeviceProperties(&x->impl_->props, x->impl_->device);
  if (e != cudaSuccess) {
    error = cudaMessage("cudaGetDeviceProperties", e);
    return nullptr;
  }
  return x;
}

Executor::~Executor() = default;

std::string Executor::describe() const {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s, %d SMs, %.0f GB", impl_->props.name,
                impl_->props.multiProcessorCount,
                impl_->props.totalGlobalMem / 1e9);
  return buf;
}

bool Executor::run(TaskTable &table, const std::vector<const void *> &sources,
                   const std::vector<void *> &targets, void *stream,
                   std::string &error) {
  return prepare(table, sources, targets, stream, error) &&
         launch(stream, error);
}

bool Executor::prepare(TaskTable &table,
                       const std::vector<const void *> &sources,
                       const std::vector<void *> &targets, void *stream,
                       std::string &error) {
  for (KernelLaunch &k : impl_->kernels)
    k.count = 0;
  if (table.units.empty())
    return true;
  std::vector<uint64_t> sb, tb;
  for (const void *p : sources)
    sb.push_back(reinterpret_cast<uint64_t>(p));
  for (void *p : targets)
    tb.push_back(reinterpret_cast<uint64_t>(p));
  chooseWords(table, sb, tb);
  if (!impl_->ready && !impl_->setUp(error))
    return false;
  // Row copies and fills whose every address is 16-byte aligned go to
  // copyFlat, transposes whose blocks are all aligned to transposeTiles,
  // the fast conversions (fastCast) to convertFast, the other converting
  // rows to convertFlat, one-element fills to fillElements, the rest to the
  // general kernel: up to six launches on the stream. A small plan (a few
  // norms, biases) is one launch of the general kernel: there launches,
  // not bytes, are the cost.
  const bool small = table.bytes < impl_->smallPlanBytes;
  auto group = [&](const Task &t) {
    if ((t.kind == kCopyRows || t.kind == kFillRows) && t.vec == 16 && !small)
      return kRowsGroup;
    if (t.kind == kTranspose && t.vec > 1 && !small && fitsFlatTranspose(t))
      return kTransposeGroup;
    if (t.kind == kConvertRows)
      return fastCast(t) != kNotFast ? kCastGroup : kConvertGroup;
    return kGeneralGroup;
  };
  // The units grouped by kernel, in table order within a group. A
  // transpose unit of several outer indices (CudaTasks.h) going to the
  // general kernel becomes one unit per outer index: the general kernel
  // takes a unit's i as one range.
  std::vector<int> taskGroup(table.tasks.size());
  for (size_t i = 0; i < table.tasks.size(); ++i)
    taskGroup[i] = group(table.tasks[i]);
  std::vector<Unit> grouped[kGroups];
  for (const Unit &u : table.units) {
    const Task &t = table.tasks[u.task];
    if (taskGroup[u.task] == kGeneralGroup && !small && isElementFill(t, u)) {
      grouped[kFillGroup].push_back(u);
      continue;
    }
    std::vector<Unit> &g = grouped[taskGroup[u.task]];
    if (taskGroup[u.task] != kGeneralGroup || t.kind != kTranspose ||
        transposeUnitOuters(t, u) == 1) {
      g.push_back(u);
      continue;
    }
    for (int64_t o = 0; o < transposeUnitOuters(t, u); ++o)
      g.push_back({u.task, 0, u.a0 + o, u.a1, 0, t.n});
  }
  // The non-persistent kernels' blocks a unit: as many as the largest
  // unit of the launch needs (a smaller unit's extra blocks return at
  // once).
  auto work = [&](int g, const Unit &u) -> int64_t {
    const Task &t = table.tasks[u.task];
    switch (g) {
    case kRowsGroup: // target bytes
      return (u.a1 - u.a0) * (u.b1 - u.b0 + t.tail) * t.dstSize;
    case kTransposeGroup: { // steps of i
      const int64_t istep = transposeShape(t.dstSize).iStep;
      return (u.b1 - u.b0 + istep - 1) / istep;
    }
    default: // items
      return (u.a1 - u.a0) * (u.b1 - u.b0) / convertItemElements(t);
    }
  };
  std::vector<Unit> &ordered = impl_->ordered;
  ordered.clear();
  long long count[kGroups] = {};
  // convertFast's units as a descriptor a block (FlatConvert).
  std::vector<FlatConvert> &converts = impl_->flatConverts;
  converts.clear();
  for (const Unit &u : grouped[kCastGroup]) {
    const Task &t = table.tasks[u.task];
    appendFlatConverts(t, u, sb[t.source], tb[t.target], converts);
  }
  for (int g = 0; g < kGroups; ++g) {
    KernelLaunch &k = impl_->kernels[g];
    if (g == kCastGroup || g == kFillGroup) {
      k.parts = 1;
      count[g] = static_cast<long long>(g == kCastGroup ? converts.size()
                                                        : grouped[g].size());
      continue;
    }
    if (k.perBlock > 0) {
      int64_t most = 1;
      for (const Unit &u : grouped[g])
        most = std::max(most, work(g, u));
      k.parts = static_cast<int>((most + k.perBlock - 1) / k.perBlock);
    }
    count[g] = static_cast<long long>(grouped[g].size());
    if (g != kRowsGroup && g != kTransposeGroup)
      ordered.insert(ordered.end(), grouped[g].begin(), grouped[g].end());
  }
  // copyFlat's and transposeTiles' units with their addresses resolved.
  std::vector<uint8_t> &flat = impl_->flatUnits;
  flat.resize(grouped[kRowsGroup].size() * sizeof(FlatRows) +
              grouped[kTransposeGroup].size() * sizeof(FlatTranspose) +
              converts.size() * sizeof(FlatConvert) +
              grouped[kFillGroup].size() * sizeof(FlatFill));
  uint8_t *at = flat.data();
  auto append = [&](const std::vector<Unit> &units, auto describe) {
    for (const Unit &u : units) {
      const Task &t = table.tasks[u.task];
      const auto f =
          describe(t, u, t.source >= 0 ? sb[t.source] : 0, tb[t.target]);
      std::memcpy(at, &f, sizeof f);
      at += sizeof f;
    }
  };
  append(grouped[kRowsGroup], runtime::cuda::flatRows);
  impl_->flatTransposeAt = static_cast<size_t>(at - flat.data());
  append(grouped[kTransposeGroup], runtime::cuda::flatTranspose);
  impl_->flatConvertAt = static_cast<size_t>(at - flat.data());
  if (!converts.empty())
    std::memcpy(at, converts.data(), converts.size() * sizeof(FlatConvert));
  at += converts.size() * sizeof(FlatConvert);
  impl_->flatFillAt = static_cast<size_t>(at - flat.data());
  for (const Unit &u : grouped[kFillGroup]) {
    const Task &t = table.tasks[u.task];
    const FlatFill f = flatFill(t, u, tb[t.target]);
    std::memcpy(at, &f, sizeof f);
    at += sizeof f;
  }
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  size_t taskBytes = table.tasks.size() * sizeof(Task);
  size_t unitTableBytes = ordered.size() * sizeof(Unit);
  size_t flatBytes = flat.size();
  for (Task &t : table.tasks) {
    t.srcAddress = t.source >= 0 ? sb[t.source] : 0;
    t.scaleAddress = t.scaleSource >= 0 ? sb[t.scaleSource] : 0;
    t.dstAddress = tb[t.target];
  }
  if (!impl_->tasks.reserve(taskBytes, error) ||
      !impl_->units.reserve(unitTableBytes, error) ||
      !impl_->flat.reserve(flatBytes, error))
    return false;
  // The table is small next to the data. Copied in stream order, and
  // waited for, so that the caller's table may change once run returns
  // (the kernel itself runs on asynchronously).
  cudaError_t e = cudaMemcpyAsync(impl_->tasks.p, table.tasks.data(), taskBytes,
                                  cudaMemcpyHostToDevice, s);
  if (e == cudaSuccess)
    e = cudaMemcpyAsync(impl_->units.p, ordered.data(), unitTableBytes,
                        cudaMemcpyHostToDevice, s);
  if (e == cudaSuccess && flatBytes > 0)
    e = cudaMemcpyAsync(impl_->flat.p, flat.data(), flatBytes,
                        cudaMemcpyHostToDevice, s);
  if (e == cudaSuccess)
    e = cudaStreamSynchronize(s);
  if (e != cudaSuccess) {
    error = cudaMessage("uploading the task table", e);
    return false;
  }
  for (int g = 0; g < kGroups; ++g)
    impl_->kernels[g].count = count[g];
  return true;
}

bool Executor::launch(void *stream, std::string &error) {
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  Args a;
  a.tasks = static_cast<const Task *>(impl_->tasks.p);
  a.units = static_cast<const Unit *>(impl_->units.p);
  // Each kernel over its group: the non-persistent ones as `parts` blocks
  // a unit, the general kernel as a wave of resident blocks at most.
  a.first = 0;
  for (int g = 0; g < kGroups; ++g) {
    const KernelLaunch &k = impl_->kernels[g];
    a.count = k.count;
    if (g == kFillGroup && a.count > 0) { // a thread a fill
      const void *fills =
          static_cast<const uint8_t *>(impl_->flat.p) + impl_->flatFillAt;
      long long n = a.count;
      void *args[] = {&fills, &n};
      cudaError_t e = cudaLaunchKernel(
          k.fn, dim3(static_cast<unsigned>((n + kThreads - 1) / kThreads)),
          dim3(kThreads), args, 0, s);
      if (e != cudaSuccess) {
        error = cudaMessage("launching the plan kernels", e);
        return false;
      }
    } else if (a.count > 0 && k.parts > 0) { // not persistent: parts blocks a unit
      if (a.count * k.parts > 0x7fffffffll) {
        error = "a plan of more than 2^31 thread blocks in one launch: cut "
                "it into smaller plans";
        return false;
      }
      int parts = k.parts;
      const void *flat = static_cast<const uint8_t *>(impl_->flat.p) +
                         (g == kTransposeGroup ? impl_->flatTransposeAt
                          : g == kCastGroup    ? impl_->flatConvertAt
                                               : 0);
      void *args[] = {&a, &parts};
      if (g == kRowsGroup || g == kTransposeGroup || g == kCastGroup)
        args[0] = &flat;
      cudaError_t e =
          cudaLaunchKernel(k.fn, dim3(static_cast<unsigned>(a.count * parts)),
                           dim3(kThreads), args, 0, s);
      if (e != cudaSuccess) {
        error = cudaMessage("launching the plan kernels", e);
        return false;
      }
    } else if (a.count > 0) {
      const long long grid = std::min<long long>(
          static_cast<long long>(impl_->props.multiProcessorCount) * k.perSM,
          a.count);
      void *args[] = {&a};
      cudaError_t e = cudaLaunchKernel(k.fn, dim3(static_cast<unsigned>(grid)),
                                       dim3(kThreads), args, 0, s);
      if (e != cudaSuccess) {
        error = cudaMessage("launching the plan kernels", e);
        return false;
      }
    }
    if (g != kRowsGroup && g != kTransposeGroup && g != kCastGroup &&
        g != kFillGroup)
      a.first += a.count; // theirs are apart (flatUnits)
  }
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) {
    error = cudaMessage("launching the plan kernels", e);
    return false;
  }
  return true;
}

bool Executor::synchronize(void *stream, std::string &error) {
  cudaError_t e = cudaStreamSynchronize(static_cast<cudaStream_t>(stream));
  if (e != cudaSuccess) {
    error = cudaMessage("cudaStreamSynchronize", e);
    return false;
  }
  return true;
}

void *Executor::allocate(size_t bytes, std::string &error) {
  void *p = nullptr;
  cudaError_t e = cudaMalloc(&p, bytes ? bytes : 1);
  if (e != cudaSuccess) {
    error = cudaMessage("cudaMalloc", e);
    return nullptr;
  }
  return p;
}

void Executor::release(void *p) { cudaFree(p); }

namespace {
bool copy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind,
          const char *what, std::string &error) {
  cudaError_t e = cudaMemcpy(dst, src, bytes, kind);
  if (e != cudaSuccess) {
    error = cudaMessage(what, e);
    return false;
  }
  return true;
}
} // namespace

bool Executor::copyToDevice(void *dst, const void *src, size_t bytes,
                            std::string &error) {
  return copy(dst, src, bytes, cudaMemcpyHostToDevice,
              "cudaMemcpy to the device", error);
}

bool Executor::copyToHost(void *dst, const void *src, size_t bytes,
                          std::string &error) {
  return copy(dst, src, bytes, cudaMemcpyDeviceToHost, "cudaMemcpy to the host",
              error);
}

bool checkCastFastPaths(std::string &report) {
  std::string why;
  if (!deviceAvailable(why)) {
    report = why;
    return false;
  }
  DeviceBuffer buf;
  if (!buf.reserve(8 * sizeof(unsigned long long), report))
    return false;
  unsigned long long init[8] = {0, 0, 0, 0, ~0ull, ~0ull, ~0ull, ~0ull},
                     out[8];
  auto *p = static_cast<unsigned long long *>(buf.p);
  cudaError_t e = cudaMemcpy(p, init, sizeof init, cudaMemcpyHostToDevice);
  if (e == cudaSuccess) {
    compareFastCasts<<<1024, 256>>>(p, p + 4);
    e = cudaGetLastError();
  }
  if (e == cudaSuccess)
    e = cudaMemcpy(out, p, sizeof out, cudaMemcpyDeviceToHost);
  if (e != cudaSuccess) {
    report = cudaMessage("comparing the fast casts", e);
    return false;
  }
  char text[400];
  if (out[0] || out[1] || out[2] || out[3]) {
    std::snprintf(text, sizeof text,
                  "fast casts differ from the exact ones: f32 -> f16 on %llu "
                  "inputs (first 0x%08llx), f16 -> f32 on %llu (first "
                  "0x%04llx), f32 -> bf16 on %llu (first 0x%08llx), f32 -> "
                  "e4m3 on %llu (first 0x%08llx)",
                  out[0], out[0] ? out[4] : 0ull, out[1],
                  out[1] ? out[5] : 0ull, out[2], out[2] ? out[6] : 0ull,
                  out[3], out[3] ? out[7] : 0ull);
    report = text;
    return false;
  }
  report = "the fast f32 -> f16, f32 -> bf16, f32 -> e4m3 and f16 -> f32 "
           "casts equal the exact ones on all 2^32, 2^32, 2^32 and 2^16 "
           "inputs";
  return true;
}

} // namespace wl::runtime::cuda
