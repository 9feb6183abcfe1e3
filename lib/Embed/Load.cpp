//===- Load.cpp - a checkpoint read straight into a plan's destinations ---===//
//
// Three steps (wl/Embed/Load.h has the contracts): check everything against
// the plan and the checkpoint's headers; cut the byte ranges the plan reads
// into batches (a few hundred MiB to a GiB of sources on the device) and
// reads (one staging buffer each); then read, upload and run, overlapped:
// readers fill page-locked buffers in read order, the calling thread copies
// each to its batch's device memory on the loader's stream and runs the
// batch's pieces once its last read is queued. A buffer goes back to the
// readers when the event after its copy has passed.
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
#include <deque>
#include <mutex>
#include <thread>
#include <unistd.h>

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
  auto ranges = sourceRangesOf(d);
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
  unsigned hw = std::thread::hardware_concurrency();
  return static_cast<int>(std::clamp<unsigned>(hw ? hw : 1, 1, 16));
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

/// Readers filling staging buffers in read order; the consumer takes them
/// in the same order and gives them back.
class Readers {
public:
  Readers(const std::vector<Read> &reads, std::vector<void *> buffers,
          int threads)
      : reads_(reads), free_(buffers.begin(), buffers.end()),
        ready_(reads.size(), nullptr) {
    for (int i = 0; i < threads; ++i)
      threads_.emplace_back([this] { work(); });
  }
  ~Readers() { stop(); }

  /// The buffer holding read `i`, waiting for it; `drain` is called while
  /// waiting (to give buffers back).
  uint8_t *wait(size_t i, const std::function<bool()> &drain) {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!ready_[i] && !error_) {
      lock.unlock();
      bool gave = drain();
      lock.lock();
      if (!gave && !ready_[i] && !error_)
        cv_.wait_for(lock, std::chrono::milliseconds(2));
    }
    if (error_)
      std::rethrow_exception(error_);
    return static_cast<uint8_t *>(ready_[i]);
  }
  void giveBack(void *buffer) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      free_.push_back(buffer);
    }
    cv_.notify_all();
  }
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (std::thread &t : threads_)
      t.join();
    threads_.clear();
  }
  int64_t calls() const { return calls_.load(); }

private:
  void work() {
    for (;;) {
      size_t i;
      void *buf;
      {
        // A read and a buffer are taken together, in read order, so that
        // the buffers always hold the oldest reads the consumer waits for.
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [&] {
          return stopping_ || error_ || next_ >= reads_.size() ||
                 !free_.empty();
        });
        if (stopping_ || error_ || next_ >= reads_.size())
          return;
        i = next_++;
        buf = free_.front();
        free_.pop_front();
      }
      try {
        preadFully(reads_[i], static_cast<uint8_t *>(buf), calls_);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_)
          error_ = std::current_exception();
        cv_.notify_all();
        return;
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        ready_[i] = buf;
      }
      cv_.notify_all();
    }
  }

  const std::vector<Read> &reads_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<void *> free_;
  std::vector<void *> ready_;
  size_t next_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
  std::atomic<int64_t> calls_{0};
  std::vector<std::thread> threads_;
};

void loadOnCuda(const PlanData &d, const std::vector<Batch> &batches,
                const std::vector<Read> &reads, const Bound &dst,
                const LoadOptions &o, LoadStats &st, ExecStats &es) {
  const int dev = dst.device->index;
  const int threads = readerThreads(o.threads);
  const int nbuf = o.buffers > 0 ? o.buffers : threads + 4;
  void *stream = detail::streamCreate(dev);
  std::vector<void *> buffers = pinnedPool().take(nbuf, o.bufferBytes);
  // One device buffer for every batch, in stream order: batch k+1's copies
  // queue behind batch k's kernels. Allocated once per load (allocating
  // per batch mapped fresh memory each time).
  int64_t most = 0;
  for (const Batch &b : batches)
    most = std::max(most, b.bytes);
  auto a0 = Clock::now();
  void *memory = batches.empty() ? nullptr
                                 : detail::deviceAlloc(dev, most, stream);
  st.allocSeconds += secondsSince(a0);
  std::deque<std::pair<void *, void *>> inflight; // (event, buffer)
  Readers readers(reads, buffers, threads);
  // Gives back the buffers whose copies are done; with `wait`, waits for
  // the oldest copy first.
  auto drain = [&](bool wait) {
    if (wait && !inflight.empty())
      detail::eventWait(inflight.front().first);
    bool gave = false;
    while (!inflight.empty() && detail::eventDone(inflight.front().first)) {
      detail::eventDestroy(inflight.front().first);
      readers.giveBack(inflight.front().second);
      inflight.pop_front();
      gave = true;
    }
    return gave;
  };
  ExecOptions eo;
  eo.stream = stream;
  eo.streamIsCurrent = true;
  try {
    detail::streamWait(dev, stream, o.stream);
    for (size_t t = 0; t < dst.refs.size(); ++t)
      if (d.hasGaps[t])
        detail::zeroTarget(*dst.refs[t], eo);
    int64_t done = 0;
    for (size_t i = 0; i < reads.size(); ++i) {
      const Read &r = reads[i];
      // Waiting for a read that is not there yet: give back the buffers
      // whose copies are done, else wait for the oldest copy (the readers
      // may be out of buffers).
      auto w0 = Clock::now();
      uint8_t *buf = readers.wait(i, [&] { return drain(false) || drain(true); });
      st.readWaitSeconds += secondsSince(w0);
      detail::copyAsync(dev, static_cast<uint8_t *>(memory) + r.at,
                        buf, r.bytes, stream);
      inflight.emplace_back(detail::eventRecord(dev, stream), buf);
      done += r.bytes;
      const bool last = i + 1 == reads.size() || reads[i + 1].batch != r.batch;
      if (last) {
        const Batch &b = batches[r.batch];
        auto e0 = Clock::now();
        detail::execute(d, b.sub, b.key,
                        workOf(d, b, static_cast<uint8_t *>(memory), dst), eo,
                        es);
        st.executeSeconds += secondsSince(e0);
        ++st.batches;
      }
      drain(false);
      if (o.progress)
        o.progress(done, st.bytesRead);
    }
    runFills(d, dst, eo, es);
    detail::synchronize(dev, stream);
    while (drain(true)) {
    }
    if (memory)
      detail::deviceFree(dev, memory, stream);
    detail::synchronize(dev, stream);
  } catch (...) {
    readers.stop();
    try {
      detail::synchronize(dev, stream);
    } catch (...) {
    }
    if (memory)
      detail::deviceFree(dev, memory, stream);
    while (!inflight.empty()) {
      detail::eventDestroy(inflight.front().first);
      inflight.pop_front();
    }
    pinnedPool().give(buffers, o.bufferBytes);
    detail::streamDestroy(dev, stream);
    throw;
  }
  readers.stop();
  st.reads = readers.calls();
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
