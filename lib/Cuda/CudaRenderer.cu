//===- CudaRenderer.cu - checkpoint windows rendered on a GPU -------------===//
#include "wl/Cuda/CudaExecutor.h"
#include "wl/Cuda/CudaRenderer.h"

#include <cuda_runtime.h>

#include "wl/Runtime/CpuExecutor.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <thread>
#include <unistd.h>

namespace wl::runtime::cuda {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

class CudaRendererImpl : public Renderer {
public:
  bool init(const RendererOptions &options, std::string &error) {
    exec_ = Executor::create(error);
    if (!exec_)
      return false;
    if (!ok(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking),
            "cudaStreamCreate", error))
      return false;
    staging_ = std::max<size_t>(options.stagingBytes, 1 << 20);
    const int nbuf = std::max(2, options.stagingBuffers);
    stage_.assign(nbuf, nullptr);
    staged_.assign(nbuf, nullptr);
    for (int i = 0; i < nbuf; ++i) {
      if (!ok(cudaHostAlloc(&stage_[i], staging_, cudaHostAllocDefault),
              "cudaHostAlloc", error) ||
          !ok(cudaEventCreateWithFlags(&staged_[i], cudaEventDisableTiming),
              "cudaEventCreate", error))
        return false;
    }
    int threads = options.readThreads;
    // All cores but two (the writer's and the rendering thread's), at most
    // 16: one thread reading from the page cache is far slower than the
    // host-to-device copy, and the upload rate grows with the readers
    // (docs/cuda.md).
    if (threads <= 0)
      threads = std::clamp(
          static_cast<int>(std::thread::hardware_concurrency()) - 2, 1, 16);
    readers_ = std::make_unique<ThreadPool>(threads);
    stats_.readThreads = threads;
    size_t freeBytes = 0, total = 0;
    cudaMemGetInfo(&freeBytes, &total);
    budget_ = options.residentBytes ? options.residentBytes : freeBytes / 2;
    return true;
  }

  ~CudaRendererImpl() override {
    for (auto &[key, r] : resident_)
      cudaFree(r.p);
    if (window_)
      cudaFree(window_);
    if (stream_)
      cudaStreamSynchronize(stream_);
    for (size_t i = 0; i < stage_.size(); ++i) {
      if (stage_[i])
        cudaFreeHost(stage_[i]);
      if (staged_[i])
        cudaEventDestroy(staged_[i]);
    }
    if (stream_)
      cudaStreamDestroy(stream_);
  }

  std::string describe() const override { return exec_->describe(); }
  RendererStats stats() const override { return stats_; }

  uint8_t *allocateHost(size_t bytes) override {
    void *p = nullptr;
    if (cudaHostAlloc(&p, bytes ? bytes : 1, cudaHostAllocDefault) != cudaSuccess)
      return nullptr;
    return static_cast<uint8_t *>(p);
  }
  void freeHost(uint8_t *p) override { cudaFreeHost(p); }

  bool render(const layout::Plan &plan, const std::vector<SourceTensor> &sources,
              size_t target, const std::vector<layout::Piece> &pieces,
              int64_t windowBegin, int64_t windowElements, uint8_t *buffer,
              std::string &error) override {
    ++tick_;
    // The window as a plan of its own: one target, the sources it reads.
    layout::Plan sub;
    const layout::TensorInfo &t = plan.targets[target];
    sub.targets.push_back({t.name, t.dtype, {windowElements}});
    std::map<int64_t, int64_t> index;
    std::vector<const void *> pointers;
    for (const layout::Piece &p : pieces) {
      if (p.isFill() || index.count(p.source))
        continue;
      const void *d = upload(sources[p.source], error);
      if (!d)
        return false;
      index[p.source] = static_cast<int64_t>(sub.sources.size());
      sub.sources.push_back(plan.sources[p.source]);
      pointers.push_back(d);
    }
    for (layout::Piece p : pieces) {
      p.target = 0;
      p.dstOffset -= windowBegin;
      if (!p.isFill())
        p.source = index[p.source];
      sub.pieces.push_back(std::move(p));
    }
    size_t bytes = windowElements * layout::dtypeSize(t.dtype);
    if (bytes > windowSize_) {
      if (window_)
        cudaFree(window_);
      window_ = nullptr;
      windowSize_ = 0;
      if (!ok(cudaMalloc(&window_, bytes), "cudaMalloc", error))
        return false;
      windowSize_ = bytes;
    }
    TaskTable table;
    if (!buildTaskTable(sub, table, error))
      return false;
    auto t0 = Clock::now();
    if (!exec_->run(table, pointers, {window_}, stream_, error) ||
        !exec_->synchronize(stream_, error))
      return false;
    stats_.kernelSeconds += since(t0);
    stats_.renderedBytes += bytes;
    t0 = Clock::now();
    if (!ok(cudaMemcpyAsync(buffer, window_, bytes, cudaMemcpyDeviceToHost,
                            stream_),
            "cudaMemcpyAsync to the host", error) ||
        !ok(cudaStreamSynchronize(stream_), "cudaStreamSynchronize", error))
      return false;
    stats_.downloadSeconds += since(t0);
    return true;
  }

private:
  struct Resident {
    void *p = nullptr;
    size_t bytes = 0;
    uint64_t lastUse = 0;
  };

  static bool ok(cudaError_t e, const char *what, std::string &error) {
    if (e == cudaSuccess)
      return true;
    error = std::string("CUDA: ") + what + ": " + cudaGetErrorString(e);
    return false;
  }

  /// The device copy of a source tensor, uploaded on first use.
  const void *upload(const SourceTensor &s, std::string &error) {
    auto it = resident_.find(s.entry);
    if (it != resident_.end()) {
      it->second.lastUse = tick_;
      return it->second.p;
    }
    size_t bytes = s.entry->end - s.entry->begin;
    // Make room: drop the tensors used longest ago (not by this window).
    while (used_ + bytes > budget_ && !resident_.empty()) {
      auto oldest = resident_.end();
      for (auto r = resident_.begin(); r != resident_.end(); ++r)
        if (r->second.lastUse < tick_ &&
            (oldest == resident_.end() ||
             r->second.lastUse < oldest->second.lastUse))
          oldest = r;
      if (oldest == resident_.end())
        break;
      cudaFree(oldest->second.p);
      used_ -= oldest->second.bytes;
      resident_.erase(oldest);
    }
    Resident r;
    r.bytes = bytes;
    r.lastUse = tick_;
    if (!ok(cudaMalloc(&r.p, bytes ? bytes : 1), "cudaMalloc", error))
      return nullptr;
    if (!fill(s, r.p, bytes, error)) {
      cudaStreamSynchronize(stream_);
      cudaFree(r.p);
      return nullptr;
    }
    used_ += bytes;
    resident_[s.entry] = r;
    return r.p;
  }

  /// Reads tensor `s` (bytes long) from its file into device memory at p.
  bool fill(const SourceTensor &s, void *p, size_t bytes, std::string &error) {
    auto t0 = Clock::now();
    uint8_t *dst = static_cast<uint8_t *>(p);
    const int fd = s.file->fd();
    const uint64_t at = s.file->fileOffset(*s.entry);
    const size_t nbuf = stage_.size();
    const int64_t slices = readers_->size();
    // Chunk k goes through buffer k % nbuf: the readers fill it once its
    // last copy to the device is done, while the copies of the chunks
    // before it run.
    for (size_t off = 0, k = 0; off < bytes; off += staging_, ++k) {
      const size_t i = k % nbuf;
      const size_t n = std::min(staging_, bytes - off);
      if (!ok(cudaEventSynchronize(staged_[i]), "cudaEventSynchronize", error))
        return false;
      uint8_t *buf = static_cast<uint8_t *>(stage_[i]);
      std::atomic<int> failure{0};
      readers_->parallelFor(slices, [&](int64_t j) {
        // Slices on 64 KiB boundaries, so that each reader's pread starts
        // on whole pages of the file where the tensor allows.
        const size_t grain = 64 << 10;
        size_t b = std::min(n, (n * j / slices + grain - 1) / grain * grain);
        size_t e = j + 1 == slices
                       ? n
                       : std::min(n, (n * (j + 1) / slices + grain - 1) /
                                         grain * grain);
        while (b < e) {
          ssize_t got = ::pread(fd, buf + b, e - b,
                                static_cast<off_t>(at + off + b));
          if (got < 0 && errno == EINTR)
            continue;
          if (got <= 0) {
            failure = got < 0 ? errno : EIO;
            return;
          }
          b += static_cast<size_t>(got);
        }
      });
      if (failure) {
        error = s.file->path() + ": reading tensor '" + s.entry->name +
                "': " + std::strerror(failure);
        return false;
      }
      if (!ok(cudaMemcpyAsync(dst + off, buf, n, cudaMemcpyHostToDevice,
                              stream_),
              "cudaMemcpyAsync to the device", error) ||
          !ok(cudaEventRecord(staged_[i], stream_), "cudaEventRecord", error))
        return false;
    }
    if (!ok(cudaStreamSynchronize(stream_), "cudaStreamSynchronize", error))
      return false;
    stats_.uploadSeconds += since(t0);
    stats_.uploadedBytes += bytes;
    return true;
  }

  std::unique_ptr<Executor> exec_;
  cudaStream_t stream_ = nullptr;
  size_t staging_ = 0;
  std::vector<void *> stage_;
  std::vector<cudaEvent_t> staged_;
  std::unique_ptr<ThreadPool> readers_;
  std::map<const TensorEntry *, Resident> resident_;
  size_t used_ = 0, budget_ = 0;
  void *window_ = nullptr;
  size_t windowSize_ = 0;
  uint64_t tick_ = 0;
  RendererStats stats_;
};

} // namespace

std::unique_ptr<Renderer> Renderer::create(const RendererOptions &options,
                                           std::string &error) {
  auto r = std::make_unique<CudaRendererImpl>();
  if (!r->init(options, error))
    return nullptr;
  return r;
}

} // namespace wl::runtime::cuda
