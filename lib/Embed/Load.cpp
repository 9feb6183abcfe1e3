//===- Load.cpp - a checkpoint read straight into a plan's destinations ---===//
//
// Three steps (wl/Embed/Load.h has the contracts): check everything against
// the plan and the checkpoint's headers; cut the byte ranges the plan reads
// into batches (a few hundred MiB to a GiB of sources on the device) and
// reads (one staging buffer each); then read, upload and run, overlapped:
// each reader preads into a page-locked buffer of its own and copies it to
// its batch's device memory on a stream of its own; the calling thread's
// stream waits for a batch's copies and runs the batch's pieces.
//
//===----------------------------------------------------------------------===//
#include "wl/Embed/Load.h"

#include "CudaDevice.h"
#include "Execute.h"

#include "wl/Safetensors/Safetensors.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <unistd.h>
#include <utility>

namespace wl::embed {

using detail::Bound;
using detail::Work;

namespace {

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

/// One checkpoint tensor the plan reads, placed in its batch's memory.
struct Slot {
  int64_t source = 0;           ///< plan source index
  const runtime::SafetensorsFile *file = nullptr;
  uint64_t fileOffset = 0;      ///< of the tensor's first byte
  int64_t lo = 0, hi = 0;       ///< bytes of the tensor held: [lo, hi)
  int64_t at = 0;               ///< where byte `lo` lands in the batch
  std::vector<std::pair<int64_t, int64_t>> spans; ///< bytes read, [a, b)
};

struct Batch {
  std::vector<Slot> slots;
  int64_t bytes = 0;
  SubPlan sub;      ///< the pieces that read its sources
  int64_t key = 0;  ///< of its cached CUDA task table
};

/// One staging buffer's worth: `bytes` for [at, at + bytes) of batch
/// `batch`'s memory (one copy to the device), read by one reader as the
/// preads of its parts.
struct Read {
  struct Part {
    const runtime::SafetensorsFile *file = nullptr;
    uint64_t fileOffset = 0;
    int64_t bytes = 0;
    int64_t offset = 0; ///< in the buffer
  };
  size_t batch = 0;
  int64_t at = 0;
  int64_t bytes = 0;
  std::vector<Part> parts;
};

constexpr int64_t kReadThrough = int64_t(1) << 20; // gaps read, not skipped

std::string shapeText(const layout::Shape &s) {
  return formatShape(std::vector<int64_t>(s.begin(), s.end()));
}

/// Every plan source in the checkpoint with the plan's dtype and shape.
std::vector<runtime::Checkpoint::Located>
locateSources(const PlanData &d, const runtime::Checkpoint &ckpt) {
  std::vector<runtime::Checkpoint::Located> out;
  std::vector<std::string> missing;
  for (const layout::TensorInfo &s : d.plan.sources) {
    runtime::Checkpoint::Located l = ckpt.find(s.name);
    if (!l.entry) {
      missing.push_back(s.name);
      out.push_back(l);
      continue;
    }
    const std::string where = "checkpoint tensor '" + s.name + "' in " +
                              l.file->shownPath();
    if (l.entry->dtype != s.dtype)
      throw Error(Error::Invalid,
                  where + " has dtype " +
                      std::string(layout::safetensorsName(l.entry->dtype)) +
                      " but the plan reads it as " +
                      std::string(layout::safetensorsName(s.dtype)));
    if (l.entry->shape != s.shape)
      throw Error(Error::Invalid, where + " has shape " +
                                      shapeText(l.entry->shape) +
                                      " but the plan reads it as " +
                                      shapeText(s.shape));
    out.push_back(l);
  }
  if (!missing.empty())
    throw Error(Error::Invalid,
                ckpt.folder() + ": " + std::to_string(missing.size()) +
                    " tensor(s) the plan reads are not in the checkpoint: " +
                    listNames(missing));
  return out;
}

/// The byte spans of each source the plan reads, cut into batches in file
/// order; `bytesNeeded`: the bytes of those ranges (before gaps are read
/// through).
std::vector<Batch>
schedule(const PlanData &d,
         const std::vector<runtime::Checkpoint::Located> &located,
         int64_t batchBytes, int64_t &bytesNeeded) {
  const SourceRanges &ranges = sourceRangesOf(d);
  std::vector<Slot> slots;
  for (size_t s = 0; s < d.plan.sources.size(); ++s) {
    auto it = ranges.find(d.plan.sources[s].name);
    if (it == ranges.end() || it->second.empty())
      continue;
    const int64_t es = layout::dtypeSize(d.plan.sources[s].dtype);
    Slot slot;
    slot.source = static_cast<int64_t>(s);
    slot.file = located[s].file;
    slot.fileOffset = located[s].file->fileOffset(*located[s].entry);
    for (auto [a, b] : it->second) {
      a *= es;
      b *= es;
      bytesNeeded += b - a;
      if (!slot.spans.empty() && a - slot.spans.back().second < kReadThrough)
        slot.spans.back().second = b;
      else
        slot.spans.emplace_back(a, b);
    }
    slot.lo = slot.spans.front().first;
    slot.hi = slot.spans.back().second;
    slots.push_back(std::move(slot));
  }
  // File order: the files as the checkpoint lists them, then offsets.
  std::stable_sort(slots.begin(), slots.end(),
                   [](const Slot &a, const Slot &b) {
                     return std::make_pair(a.file->path(), a.fileOffset) <
                            std::make_pair(b.file->path(), b.fileOffset);
                   });
  std::vector<Batch> batches;
  for (Slot &slot : slots) {
    if (batches.empty() || batches.back().bytes >= batchBytes)
      batches.emplace_back();
    Batch &b = batches.back();
    slot.at = b.bytes;
    b.bytes += (slot.hi - slot.lo + 255) / 256 * 256; // aligned starts
    b.slots.push_back(std::move(slot));
  }
  for (Batch &b : batches) {
    std::vector<int64_t> pieces;
    uint64_t h = 1469598103934665603ull;
    for (const Slot &slot : b.slots) {
      const auto &p = d.piecesOfSource[slot.source];
      pieces.insert(pieces.end(), p.begin(), p.end());
      h = (h ^ static_cast<uint64_t>(slot.source)) * 1099511628211ull;
    }
    b.sub = subPlanOf(d.plan, pieces);
    b.key = -3 - static_cast<int64_t>(h >> 2);
  }
  return batches;
}

/// The reads of every batch, in order. A read fills one staging buffer
/// (at most `bufferBytes`) with spans that follow each other in the batch's
/// memory (slots are laid out back to back), so that it is one copy to the
/// device however many preads it takes (a rank of TP=4 of a MoE model: the
/// row shards of many expert tensors); spans that also follow each other
/// in the file are one pread.
std::vector<Read> readsOf(const std::vector<Batch> &batches,
                          int64_t bufferBytes) {
  std::vector<Read> out;
  for (size_t b = 0; b < batches.size(); ++b)
    for (const Slot &slot : batches[b].slots)
      for (auto [a, e] : slot.spans) {
        int64_t at = slot.at + (a - slot.lo), n = e - a;
        uint64_t off = slot.fileOffset + a;
        while (n > 0) {
          Read *g = out.empty() ? nullptr : &out.back();
          if (!g || g->batch != b || g->at + g->bytes != at ||
              g->bytes >= bufferBytes) {
            out.push_back({b, at, 0, {}});
            g = &out.back();
          }
          const int64_t take = std::min(n, bufferBytes - g->bytes);
          Read::Part *last = g->parts.empty() ? nullptr : &g->parts.back();
          if (last && last->file == slot.file &&
              last->fileOffset + last->bytes == off)
            last->bytes += take;
          else
            g->parts.push_back({slot.file, off, take, g->bytes});
          g->bytes += take;
          at += take;
          off += static_cast<uint64_t>(take);
          n -= take;
        }
      }
  return out;
}

/// Every part of `r` into `to`, pread until each came; throws Error
/// (Runtime) naming the file.
void preadFully(const Read &r, uint8_t *to, std::atomic<int64_t> &calls) {
  for (const Read::Part &p : r.parts) {
    int64_t done = 0;
    while (done < p.bytes) {
      ssize_t n = ::pread(p.file->fd(), to + p.offset + done, p.bytes - done,
                          static_cast<off_t>(p.fileOffset + done));
      calls.fetch_add(1, std::memory_order_relaxed);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        throw Error(Error::Runtime,
                    p.file->shownPath() + ": reading " +
                        std::to_string(p.bytes) + " bytes at offset " +
                        std::to_string(p.fileOffset) +
                        (n < 0 ? std::string(" failed: ") + std::strerror(errno)
                               : std::string(" came back short: the file "
                                             "changed while it was read")));
      done += n;
    }
  }
}

int readerThreads(int asked) {
  if (asked > 0)
    return asked;
  // Two cores stay free: the calling thread (kernels) and the operating
  // system's own work.
  int hw = static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(hw - 2, 1, 16);
}

/// Sources of batch `b` at their addresses in its memory `base`.
Work workOf(const PlanData &d, const Batch &b, uint8_t *base,
            const Bound &dst) {
  Work w;
  w.src.assign(d.plan.sources.size(), nullptr);
  for (const Slot &slot : b.slots)
    w.src[slot.source] = base + slot.at - slot.lo; // byte lo lands at `at`
  w.dst.assign(dst.refs.size(), nullptr);
  for (size_t t = 0; t < dst.refs.size(); ++t)
    w.dst[t] = static_cast<uint8_t *>(dst.refs[t]->data);
  w.srcDevice = w.dstDevice = *dst.device;
  return w;
}

/// The fill pieces of every target (those that read no source).
void runFills(const PlanData &d, const Bound &dst, const ExecOptions &eo,
              ExecStats &es) {
  Batch empty;
  Work w = workOf(d, empty, nullptr, dst);
  for (size_t t = 0; t < dst.refs.size(); ++t)
    if (!d.fillsOf[t].empty())
      detail::execute(d, d.fillsOf[t], LLONG_MIN, w, eo, es);
}

/// Page-locked staging buffers, kept for the process (loads repeat: every
/// weight sync of an RL step).
struct PinnedPool {
  std::mutex mutex;
  std::vector<void *> free;
  int64_t bytes = 0;
  std::vector<void *> take(int n, int64_t size) {
    std::lock_guard<std::mutex> lock(mutex);
    if (size != bytes) {
      for (void *p : free)
        detail::hostFreePinned(p);
      free.clear();
      bytes = size;
    }
    std::vector<void *> out;
    while (static_cast<int>(out.size()) < n) {
      if (!free.empty()) {
        out.push_back(free.back());
        free.pop_back();
      } else {
        out.push_back(detail::hostAllocPinned(size));
      }
    }
    return out;
  }
  void give(const std::vector<void *> &v, int64_t size) {
    std::lock_guard<std::mutex> lock(mutex);
    for (void *p : v)
      if (size == bytes)
        free.push_back(p);
      else
        detail::hostFreePinned(p);
  }
};

PinnedPool &pinnedPool() {
  static PinnedPool *p = new PinnedPool(); // never destroyed (CUDA at exit)
  return *p;
}

/// Readers that upload what they read. Each owns a few page-locked buffers
/// and a stream of its own; it takes the next read (in read order), preads
/// it into its oldest buffer (once that buffer's last copy is done) and
/// copies it to the batch memory on its stream. All batches share one
/// device memory, so a read of batch b is copied only after the kernels of
/// batch b - 1 (on the consumer's stream) are queued, and its stream waits
/// for them on the device; batch 0 waits for the memory's allocation. The
/// consumer waits, on its own stream, for the copy of each read of a batch
/// before queueing the batch's kernels. Spreading the copies over the
/// readers keeps the buffers few and small (4 MiB: they stay in the CPU's
/// cache between the pread and the copy) and no thread issues every copy.
class Uploaders {
public:
  Uploaders(int device, const std::vector<Read> &reads, size_t batches,
            uint8_t *memory, const std::vector<void *> &buffers, int threads)
      : device_(device), reads_(reads), memory_(memory),
        copied_(reads.size(), nullptr), queued_(batches, nullptr) {
    const size_t per = buffers.size() / static_cast<size_t>(threads);
    for (int t = 0; t < threads; ++t) {
      std::vector<void *> own(buffers.begin() + t * per,
                              buffers.begin() + (t + 1) * per);
      threads_.emplace_back([this, own] { work(own); });
    }
  }
  ~Uploaders() { stop(); }

  /// The kernels before batch `b` are queued; `event` follows them (the
  /// uploaders own it).
  void queued(size_t b, void *event) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queued_[b] = event;
    }
    cv_.notify_all();
  }
  /// The event after the copy of read `i`, waiting for the copy to be
  /// queued (the uploaders own it); rethrows a reader's error.
  void *copied(size_t i) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return copied_[i] || error_; });
    if (error_)
      std::rethrow_exception(error_);
    return copied_[i];
  }
  /// Joins the readers (their copies done) and destroys the events.
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (std::thread &t : threads_)
      t.join();
    threads_.clear();
    for (void *&e : copied_)
      if (e)
        detail::eventDestroy(std::exchange(e, nullptr));
    for (void *&e : queued_)
      if (e)
        detail::eventDestroy(std::exchange(e, nullptr));
  }
  int64_t calls() const { return calls_.load(); }

private:
  void fail() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_)
      error_ = std::current_exception();
    failed_ = true;
    cv_.notify_all();
  }
  /// The event after the kernels before batch `b`, once queued; null when
  /// stopping.
  void *waitQueued(size_t b) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return queued_[b] || stopping_ || error_; });
    return queued_[b];
  }
  void work(const std::vector<void *> &buffers) {
    void *stream = nullptr;
    std::vector<void *> last(buffers.size(), nullptr); // copy out of each
    try {
      stream = detail::streamCreate(device_);
      size_t batch = SIZE_MAX; // whose predecessors the stream waits for
      for (size_t k = 0;; k = (k + 1) % buffers.size()) {
        const size_t i = next_.fetch_add(1);
        if (i >= reads_.size() || stopping_ || failed_)
          break;
        const Read &r = reads_[i];
        if (last[k]) {
          detail::eventWait(last[k]);
          detail::eventDestroy(std::exchange(last[k], nullptr));
        }
        preadFully(r, static_cast<uint8_t *>(buffers[k]), calls_);
        if (r.batch != batch) {
          void *before = waitQueued(r.batch);
          if (!before)
            break;
          detail::streamWaitEvent(device_, stream, before);
          batch = r.batch;
        }
        detail::copyAsync(device_, memory_ + r.at, buffers[k], r.bytes,
                          stream);
        last[k] = detail::eventRecord(device_, stream);
        void *done = detail::eventRecord(device_, stream);
        {
          std::lock_guard<std::mutex> lock(mutex_);
          copied_[i] = done;
        }
        cv_.notify_all();
      }
    } catch (...) {
      fail();
    }
    // The buffers go back to the pool: their copies must be done.
    try {
      if (stream)
        detail::synchronize(device_, stream);
    } catch (...) {
      fail();
    }
    for (void *e : last)
      if (e)
        detail::eventDestroy(e);
    if (stream)
      detail::streamDestroy(device_, stream);
  }

  const int device_;
  const std::vector<Read> &reads_;
  uint8_t *const memory_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<void *> copied_, queued_;
  std::atomic<size_t> next_{0};
  std::atomic<bool> stopping_{false}, failed_{false};
  std::exception_ptr error_;
  std::atomic<int64_t> calls_{0};
  std::vector<std::thread> threads_;
};

void loadOnCuda(const PlanData &d, const std::vector<Batch> &batches,
                const std::vector<Read> &reads, const Bound &dst,
                const LoadOptions &o, LoadStats &st, ExecStats &es) {
  const int dev = dst.device->index;
  int threads = readerThreads(o.threads);
  int perReader = 2;
  if (o.buffers > 0) {
    threads = std::min(threads, o.buffers);
    perReader = o.buffers / threads;
  }
  void *stream = detail::streamCreate(dev);
  std::vector<void *> buffers =
      pinnedPool().take(threads * perReader, o.bufferBytes);
  // One device memory for every batch (allocating per batch mapped fresh
  // memory each time).
  int64_t most = 0;
  for (const Batch &b : batches)
    most = std::max(most, b.bytes);
  uint8_t *memory = nullptr;
  std::unique_ptr<Uploaders> up;
  ExecOptions eo;
  eo.stream = stream;
  eo.streamIsCurrent = true;
  try {
    auto a0 = Clock::now();
    if (!batches.empty())
      memory = static_cast<uint8_t *>(detail::deviceAlloc(dev, most, stream));
    st.allocSeconds += secondsSince(a0);
    detail::streamWait(dev, stream, o.stream);
    for (size_t t = 0; t < dst.refs.size(); ++t)
      if (d.hasGaps[t])
        detail::zeroTarget(*dst.refs[t], eo);
    up = std::make_unique<Uploaders>(dev, reads, batches.size(), memory,
                                     buffers, threads);
    if (!batches.empty())
      up->queued(0, detail::eventRecord(dev, stream));
    int64_t done = 0;
    for (size_t i = 0; i < reads.size(); ++i) {
      const Read &r = reads[i];
      auto w0 = Clock::now();
      void *copied = up->copied(i);
      st.readWaitSeconds += secondsSince(w0);
      detail::streamWaitEvent(dev, stream, copied);
      done += r.bytes;
      if (i + 1 == reads.size() || reads[i + 1].batch != r.batch) {
        const Batch &b = batches[r.batch];
        auto e0 = Clock::now();
        detail::execute(d, b.sub, b.key, workOf(d, b, memory, dst), eo, es);
        st.executeSeconds += secondsSince(e0);
        ++st.batches;
        if (r.batch + 1 < batches.size())
          up->queued(r.batch + 1, detail::eventRecord(dev, stream));
      }
      if (o.progress)
        o.progress(done, st.bytesRead);
    }
    runFills(d, dst, eo, es);
    up->stop();
    st.reads = up->calls();
    if (memory)
      detail::deviceFree(dev, memory, stream);
    detail::synchronize(dev, stream);
  } catch (...) {
    if (up)
      up->stop();
    try {
      detail::synchronize(dev, stream);
      if (memory)
        detail::deviceFree(dev, memory, stream);
      detail::synchronize(dev, stream);
    } catch (...) {
    }
    pinnedPool().give(buffers, o.bufferBytes);
    detail::streamDestroy(dev, stream);
    throw;
  }
  pinnedPool().give(buffers, o.bufferBytes);
  detail::streamDestroy(dev, stream);
}

void loadOnCpu(const PlanData &d, const std::vector<Batch> &batches,
               const std::vector<Read> &reads, const Bound &dst,
               const LoadOptions &o, LoadStats &st, ExecStats &es) {
  const int threads = readerThreads(o.threads);
  std::atomic<int64_t> calls{0};
  ExecOptions eo;
  for (size_t t = 0; t < dst.refs.size(); ++t)
    if (d.hasGaps[t])
      detail::zeroTarget(*dst.refs[t], eo);
  size_t first = 0;
  int64_t done = 0;
  for (size_t b = 0; b < batches.size(); ++b) {
    size_t end = first;
    while (end < reads.size() && reads[end].batch == b)
      ++end;
    std::vector<uint8_t> memory(batches[b].bytes);
    std::atomic<size_t> next{first};
    std::exception_ptr error;
    std::mutex errorMutex;
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i)
      pool.emplace_back([&] {
        for (size_t k; (k = next.fetch_add(1)) < end;) {
          try {
            preadFully(reads[k], memory.data() + reads[k].at, calls);
          } catch (...) {
            std::lock_guard<std::mutex> lock(errorMutex);
            if (!error)
              error = std::current_exception();
            next = end;
          }
        }
      });
    for (std::thread &t : pool)
      t.join();
    if (error)
      std::rethrow_exception(error);
    detail::execute(d, batches[b].sub, LLONG_MIN,
                    workOf(d, batches[b], memory.data(), dst), eo, es);
    for (size_t k = first; k < end; ++k)
      done += reads[k].bytes;
    ++st.batches;
    if (o.progress)
      o.progress(done, st.bytesRead);
    first = end;
  }
  runFills(d, dst, eo, es);
  st.reads = calls.load();
}

} // namespace

LoadStats loadCheckpoint(const PlanData &d, const runtime::Checkpoint &ckpt,
                         const std::map<std::string, TensorRef> &destinations,
                         const LoadOptions &o) {
  auto t0 = std::chrono::steady_clock::now();
  if (o.bufferBytes < 4096 || o.bufferBytes > (int64_t(1) << 30) ||
      o.batchBytes < 1)
    throw Error(Error::Invalid,
                "load: a staging buffer is from 4 KiB to 1 GiB and a batch "
                "at least 1 byte (buffer " +
                    std::to_string(o.bufferBytes) + ", batch " +
                    std::to_string(o.batchBytes) + ")");
  if (o.threads < 0 || o.threads > 1024 || o.buffers < 0 || o.buffers > 1024)
    throw Error(Error::Invalid,
                "load: readers and buffers are from 1 to 1024 (0: the "
                "default); given " +
                    std::to_string(o.threads) + " readers, " +
                    std::to_string(o.buffers) + " buffers");
  Bound dst = detail::bindDestinations(d, destinations, false);
  if (!dst.device)
    dst.device = Device{};
  std::vector<runtime::Checkpoint::Located> located = locateSources(d, ckpt);
  LoadStats st;
  std::vector<Batch> batches =
      schedule(d, located, o.batchBytes, st.bytesNeeded);
  const bool cuda = dst.device->kind == Device::CUDA;
  std::vector<Read> reads = readsOf(batches, o.bufferBytes);
  for (const Batch &b : batches) {
    st.sources += static_cast<int64_t>(b.slots.size());
    for (const Slot &slot : b.slots)
      for (auto [a, e] : slot.spans)
        st.bytesRead += e - a;
  }
  ExecStats es;
  if (cuda)
    loadOnCuda(d, batches, reads, dst, o, st, es);
  else
    loadOnCpu(d, batches, reads, dst, o, st, es);
  std::string changed;
  if (!ckpt.unchanged(changed))
    throw Error(Error::Runtime, changed);
  st.bytesWritten = es.bytesWritten;
  st.executor = es.executor;
  st.seconds = std::chrono::duration<double>(
                   std::chrono::steady_clock::now() - t0)
                   .count();
  lastExecStats() = es;
  return st;
}

} // namespace wl::embed
