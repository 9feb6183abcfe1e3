//===- CudaExecutor.cu - plans executed by CUDA kernels -------------------===//
//
// One persistent kernel runs every unit of a task table: each block takes
// units in turn (blockIdx.x, then + gridDim.x) and does the unit's work with
// all its threads. Each kind of work is its own non-inlined function, so
// that the transposes' and conversions' registers do not limit how many
// blocks of row copies run at once (48 registers a thread in all). The unit kinds mirror runTableOnHost (TaskTable.cpp) index
// for index; the host emulation is what CI checks, the GPU tests compare the
// kernel with the CPU executor byte for byte.
//
//===----------------------------------------------------------------------===//
#include "wl/Runtime/CudaExecutor.h"
#include "wl/Runtime/DeviceConvert.h"

#include <cuda_runtime.h>

#include <cstdio>
#include <cstring>

namespace wl::runtime::cuda {

namespace {

constexpr int kThreads = 256;

struct Args {
  const Task *tasks;
  const Unit *units;
  long long nunits;
  const uint8_t *const *sources;
  uint8_t *const *targets;
};

__device__ __forceinline__ void outerOffsets(const Task &t, int64_t o,
                                             int64_t &src, int64_t &dst) {
  src = t.srcOffset;
  dst = t.dstOffset;
  if (o < (1ll << 32)) { // 32-bit division: a 64-bit one costs ~10 times
    uint32_t r = static_cast<uint32_t>(o);
    for (int j = t.nouter - 1; j >= 0; --j) {
      uint32_t size = static_cast<uint32_t>(t.outerSize[j]);
      uint32_t c = r % size;
      r /= size;
      src += c * t.outerSrc[j];
      dst += c * t.outerDst[j];
    }
    return;
  }
  for (int j = t.nouter - 1; j >= 0; --j) {
    int64_t c = o % t.outerSize[j];
    o /= t.outerSize[j];
    src += c * t.outerSrc[j];
    dst += c * t.outerDst[j];
  }
}

template <typename W>
__device__ __noinline__ void copyRows(const Task &t, const Unit &u, const uint8_t *src,
                         uint8_t *dst) {
  const int64_t words = (u.b1 - u.b0) * t.dstSize / sizeof(W);
  const int64_t rows = u.a1 - u.a0;
  if (rows == 1) {
    int64_t so, d;
    outerOffsets(t, u.a0, so, d);
    const W *s = reinterpret_cast<const W *>(src + (so + u.b0) * t.srcSize);
    W *o = reinterpret_cast<W *>(dst + (d + u.b0) * t.dstSize);
    // Four words in flight per thread before the first store.
    int64_t g = threadIdx.x;
    for (; g + 3 * kThreads < words; g += 4 * kThreads) {
      W a = s[g], b = s[g + kThreads], c = s[g + 2 * kThreads],
        e = s[g + 3 * kThreads];
      o[g] = a;
      o[g + kThreads] = b;
      o[g + 2 * kThreads] = c;
      o[g + 3 * kThreads] = e;
    }
    for (; g < words; g += kThreads)
      o[g] = s[g];
    return;
  }
  // Short rows: a warp per row, so that each row's offsets are computed
  // once (not per word) and the lanes move its words.
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  for (int64_t r = warp; r < rows; r += kThreads / 32) {
    int64_t so, d;
    outerOffsets(t, u.a0 + r, so, d);
    const W *s = reinterpret_cast<const W *>(src + (so + u.b0) * t.srcSize);
    W *o = reinterpret_cast<W *>(dst + (d + u.b0) * t.dstSize);
    for (int64_t w = lane; w < words; w += 32)
      o[w] = s[w];
  }
}

/// Rows of the constant t.fill in W-byte words (W >= the element size).
template <typename W>
__device__ __noinline__ void fillRows(const Task &t, const Unit &u,
                                      uint8_t *dst) {
  W pattern;
  uint8_t *pb = reinterpret_cast<uint8_t *>(&pattern);
  for (int b = 0; b < static_cast<int>(sizeof(W)); ++b)
    pb[b] = static_cast<uint8_t>(t.fill >> (8 * (b % t.dstSize)));
  const int64_t words = (u.b1 - u.b0) * t.dstSize / sizeof(W);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  for (int64_t r = warp; r < u.a1 - u.a0; r += kThreads / 32) {
    int64_t so, d;
    outerOffsets(t, u.a0 + r, so, d);
    W *o = reinterpret_cast<W *>(dst + (d + u.b0) * t.dstSize);
    for (int64_t w = lane; w < words; w += 32)
      o[w] = pattern;
  }
}

template <int ES> struct Word;
template <> struct Word<1> { using T = uint8_t; };
template <> struct Word<2> { using T = uint16_t; };
template <> struct Word<4> { using T = uint32_t; };
template <> struct Word<8> { using T = uint64_t; };

/// dst[k * dk + i] = src[k + i * si] for one kTile x kTile tile: loaded along
/// k (contiguous in the source), stored along i (contiguous in the target),
/// in 16-byte words where the tile is whole and aligned. The tile's rows (i)
/// are kTile * ES bytes of C 16-byte chunks; chunk c of row i lives at chunk
/// c ^ ((i / V) % C), so that the column reads of the store phase (lanes on
/// rows V apart) fall in different banks.
template <int ES>
__device__ __noinline__ void transposeTile(const Task &t, const Unit &u,
                                           const uint8_t *src, uint8_t *dst,
                                           uint8_t *tile) {
  using E = typename Word<ES>::T;
  constexpr int V = 16 / ES;         // elements per 16-byte chunk
  constexpr int C = kTile * ES / 16; // chunks per tile row
  constexpr int pitch = kTile * ES;
  auto at = [&](int i, int k) {
    return tile + i * pitch + (((k / V) ^ ((i / V) % C)) * 16) + (k % V) * ES;
  };
  int64_t so, d;
  outerOffsets(t, u.a0, so, d);
  const int64_t k0 = u.a1, i0 = u.b0;
  const int64_t si = t.srcStride, dk = t.dk;
  const uint8_t *s0 = src + (so + k0 + i0 * si) * ES;
  uint8_t *d0 = dst + (d + k0 * dk + i0) * ES;
  const bool whole = k0 + kTile <= t.kExtent && i0 + kTile <= t.n;
  const bool aligned =
      ((reinterpret_cast<uintptr_t>(s0) | reinterpret_cast<uintptr_t>(d0) |
        static_cast<uintptr_t>(si * ES) | static_cast<uintptr_t>(dk * ES)) &
       15) == 0;
  if (whole && aligned) {
    constexpr int per = kTile * kTile / V / kThreads; // words per thread
    uint4 w[per];
#pragma unroll
    for (int r = 0; r < per; ++r) { // every load in flight first
      int idx = threadIdx.x + r * kThreads;
      int i = idx / C, kv = idx % C;
      w[r] = *reinterpret_cast<const uint4 *>(s0 + (kv * V + i * si) * ES);
    }
#pragma unroll
    for (int r = 0; r < per; ++r) {
      int idx = threadIdx.x + r * kThreads;
      int i = idx / C, kv = idx % C;
      *reinterpret_cast<uint4 *>(at(i, kv * V)) = w[r];
    }
    __syncthreads();
#pragma unroll
    for (int r = 0; r < per; ++r) {
      int idx = threadIdx.x + r * kThreads;
      int k = idx / C, iv = idx % C;
      // Column k of rows iv * V .. iv * V + V - 1, packed into one word
      // (constant indices only, so everything stays in registers).
      uint32_t w4[4] = {0, 0, 0, 0};
#pragma unroll
      for (int v = 0; v < V; ++v) {
        const uint8_t *p = at(iv * V + v, k);
        if constexpr (ES == 8) {
          uint64_t x = *reinterpret_cast<const uint64_t *>(p);
          w4[2 * v] = static_cast<uint32_t>(x);
          w4[2 * v + 1] = static_cast<uint32_t>(x >> 32);
        } else {
          uint32_t x = *reinterpret_cast<const E *>(p);
          w4[(v * ES) / 4] |= x << ((v * ES) % 4 * 8);
        }
      }
      *reinterpret_cast<uint4 *>(d0 + (k * dk + iv * V) * ES) =
          make_uint4(w4[0], w4[1], w4[2], w4[3]);
    }
    __syncthreads();
    return;
  }
  const int kn = static_cast<int>(t.kExtent - k0 < kTile ? t.kExtent - k0 : kTile);
  const int in = static_cast<int>(t.n - i0 < kTile ? t.n - i0 : kTile);
  for (int idx = threadIdx.x; idx < kTile * kTile; idx += kThreads) {
    int i = idx / kTile, k = idx % kTile;
    if (i < in && k < kn)
      *reinterpret_cast<E *>(at(i, k)) =
          *reinterpret_cast<const E *>(s0 + (k + i * si) * ES);
  }
  __syncthreads();
  for (int idx = threadIdx.x; idx < kTile * kTile; idx += kThreads) {
    int k = idx / kTile, i = idx % kTile;
    if (i < in && k < kn)
      *reinterpret_cast<E *>(d0 + (k * dk + i) * ES) =
          *reinterpret_cast<const E *>(at(i, k));
  }
  __syncthreads();
}

__device__ __forceinline__ uint64_t loadElement(const uint8_t *p, int size) {
  switch (size) {
  case 1: return *p;
  case 2: return *reinterpret_cast<const uint16_t *>(p);
  case 4: return *reinterpret_cast<const uint32_t *>(p);
  default: return *reinterpret_cast<const uint64_t *>(p);
  }
}

__device__ __forceinline__ void storeElement(uint8_t *p, int size, uint64_t v) {
  switch (size) {
  case 1: *p = static_cast<uint8_t>(v); break;
  case 2: *reinterpret_cast<uint16_t *>(p) = static_cast<uint16_t>(v); break;
  case 4: *reinterpret_cast<uint32_t *>(p) = static_cast<uint32_t>(v); break;
  default: *reinterpret_cast<uint64_t *>(p) = v;
  }
}

__device__ __noinline__ void elements(const Task &t, const Unit &u, const uint8_t *src,
                         uint8_t *dst) {
  for (int64_t e = u.a0 + threadIdx.x; e < u.a1; e += kThreads) {
    int64_t o = e / t.n, i = e % t.n, so, d;
    outerOffsets(t, o, so, d);
    uint64_t v;
    if (t.kind == kFill) {
      v = t.fill;
    } else {
      v = loadElement(src + (so + i * t.srcStride) * t.srcSize, t.srcSize);
      if (t.kind == kConvert)
        for (int k = 0; k < t.nsteps; ++k)
          v = applyStep(t.steps[k], v);
    }
    storeElement(dst + (d + i * t.dstStride) * t.dstSize, t.dstSize, v);
  }
}

__global__ void __launch_bounds__(kThreads, 4) runUnits(Args a) {
  __shared__ __align__(16) uint8_t tile[kTile * kTile * 8];
  __shared__ __align__(16) Task task;
  int cached = -1; // the task in shared memory (uniform across the block)
  for (long long u = blockIdx.x; u < a.nunits; u += gridDim.x) {
    const Unit unit = a.units[u];
    // The unit's task into shared memory, when it is not there already
    // (consecutive units of a block mostly share their task).
    if (unit.task != cached) {
      __syncthreads();
      const uint32_t *from =
          reinterpret_cast<const uint32_t *>(&a.tasks[unit.task]);
      uint32_t *to = reinterpret_cast<uint32_t *>(&task);
      for (int w = threadIdx.x; w < static_cast<int>(sizeof(Task) / 4);
           w += kThreads)
        to[w] = from[w];
      __syncthreads();
      cached = unit.task;
    }
    const Task &t = task;
    const uint8_t *src = t.source >= 0 ? a.sources[t.source] : nullptr;
    uint8_t *dst = a.targets[t.target];
    switch (t.kind) {
    case kCopyRows:
      switch (t.vec) {
      case 16: copyRows<uint4>(t, unit, src, dst); break;
      case 8: copyRows<uint2>(t, unit, src, dst); break;
      case 4: copyRows<uint32_t>(t, unit, src, dst); break;
      case 2: copyRows<uint16_t>(t, unit, src, dst); break;
      default: copyRows<uint8_t>(t, unit, src, dst);
      }
      break;
    case kFillRows:
      if (t.vec < t.dstSize) { // a misaligned target: element by element
        for (int64_t row = unit.a0; row < unit.a1; ++row)
          for (int64_t i = unit.b0 + threadIdx.x; i < unit.b1; i += kThreads) {
            int64_t so, d;
            outerOffsets(t, row, so, d);
            storeElement(dst + (d + i) * t.dstSize, t.dstSize, t.fill);
          }
        break;
      }
      switch (t.vec) {
      case 16: fillRows<uint4>(t, unit, dst); break;
      case 8: fillRows<uint2>(t, unit, dst); break;
      case 4: fillRows<uint32_t>(t, unit, dst); break;
      case 2: fillRows<uint16_t>(t, unit, dst); break;
      default: fillRows<uint8_t>(t, unit, dst);
      }
      break;
    case kTranspose:
      switch (t.dstSize) {
      case 1: transposeTile<1>(t, unit, src, dst, tile); break;
      case 2: transposeTile<2>(t, unit, src, dst, tile); break;
      case 4: transposeTile<4>(t, unit, src, dst, tile); break;
      default: transposeTile<8>(t, unit, src, dst, tile);
      }
      break;
    default:
      elements(t, unit, src, dst);
    }
  }
}

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

struct Executor::Impl {
  int device = 0;
  cudaDeviceProp props{};
  DeviceBuffer tasks, units, pointers;
  long long nunits = 0;
  size_t nsources = 0;
};

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
  if (table.units.empty())
    return true;
  std::vector<uint64_t> sb, tb;
  for (const void *p : sources)
    sb.push_back(reinterpret_cast<uint64_t>(p));
  for (void *p : targets)
    tb.push_back(reinterpret_cast<uint64_t>(p));
  chooseWords(table, sb, tb);
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  size_t taskBytes = table.tasks.size() * sizeof(Task);
  size_t unitBytes = table.units.size() * sizeof(Unit);
  std::vector<uint64_t> ptrs(sb);
  ptrs.insert(ptrs.end(), tb.begin(), tb.end());
  size_t ptrBytes = ptrs.size() * sizeof(uint64_t);
  if (!impl_->tasks.reserve(taskBytes, error) ||
      !impl_->units.reserve(unitBytes, error) ||
      !impl_->pointers.reserve(ptrBytes, error))
    return false;
  // The table is small next to the data. Copied in stream order, and
  // waited for, so that the caller's table may change once run returns
  // (the kernel itself runs on asynchronously).
  cudaError_t e = cudaMemcpyAsync(impl_->tasks.p, table.tasks.data(), taskBytes,
                                  cudaMemcpyHostToDevice, s);
  if (e == cudaSuccess)
    e = cudaMemcpyAsync(impl_->units.p, table.units.data(), unitBytes,
                        cudaMemcpyHostToDevice, s);
  if (e == cudaSuccess)
    e = cudaMemcpyAsync(impl_->pointers.p, ptrs.data(), ptrBytes,
                        cudaMemcpyHostToDevice, s);
  if (e == cudaSuccess)
    e = cudaStreamSynchronize(s);
  if (e != cudaSuccess) {
    error = cudaMessage("uploading the task table", e);
    return false;
  }
  impl_->nunits = static_cast<long long>(table.units.size());
  impl_->nsources = sb.size();
  return launch(stream, error);
}

bool Executor::launch(void *stream, std::string &error) {
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  Args a;
  a.tasks = static_cast<const Task *>(impl_->tasks.p);
  a.units = static_cast<const Unit *>(impl_->units.p);
  a.nunits = impl_->nunits;
  if (a.nunits == 0)
    return true;
  a.sources = static_cast<const uint8_t *const *>(impl_->pointers.p);
  a.targets = reinterpret_cast<uint8_t *const *>(
      static_cast<uint64_t *>(impl_->pointers.p) + impl_->nsources);
  int perSM = 0;
  cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSM, runUnits, kThreads, 0);
  long long grid = static_cast<long long>(impl_->props.multiProcessorCount) *
                   (perSM > 0 ? perSM : 1);
  if (grid > a.nunits)
    grid = a.nunits;
  runUnits<<<static_cast<unsigned>(grid), kThreads, 0, s>>>(a);
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) {
    error = cudaMessage("launching the plan kernel", e);
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

bool Executor::copyToDevice(void *dst, const void *src, size_t bytes,
                            std::string &error) {
  cudaError_t e = cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice);
  if (e != cudaSuccess) {
    error = cudaMessage("cudaMemcpy to the device", e);
    return false;
  }
  return true;
}

bool Executor::copyToHost(void *dst, const void *src, size_t bytes,
                          std::string &error) {
  cudaError_t e = cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost);
  if (e != cudaSuccess) {
    error = cudaMessage("cudaMemcpy to the host", e);
    return false;
  }
  return true;
}

} // namespace wl::runtime::cuda
