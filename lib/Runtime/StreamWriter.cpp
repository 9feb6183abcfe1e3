//===- StreamWriter.cpp - a plan's targets streamed to safetensors --------===//
#include "wl/Runtime/StreamWriter.h"

#include "wl/Runtime/CpuExecutor.h"
#include "wl/Runtime/ElementSteps.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <memory>
#include <mutex>
#include <numeric>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace wl::runtime {

using layout::DType;
using layout::Piece;
using layout::Plan;

namespace {

std::string sysError(const std::string &what, const std::string &path) {
  return path + ": " + what + ": " + std::strerror(errno);
}

/// pwrite until done; false (errno set) on error.
bool pwriteAll(int fd, const uint8_t *data, uint64_t len, uint64_t offset) {
  while (len > 0) {
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(len, 1ull << 30));
    ssize_t w = ::pwrite(fd, data, chunk, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    if (w == 0) {
      errno = EIO;
      return false;
    }
    data += w;
    len -= static_cast<uint64_t>(w);
    offset += static_cast<uint64_t>(w);
  }
  return true;
}

/// One kernel copy: `len` bytes from a source file to the output.
struct CopyRun {
  const SafetensorsFile *file;
  const uint8_t *bytes; ///< the run in the source's mapping
  uint64_t srcOffset;   ///< in the source file
  uint64_t dstOffset;   ///< from the window's start, in bytes
  uint64_t len;
};

/// A window of one target: bytes [fileOffset, fileOffset + bytes) of an
/// output file, i.e. target elements [begin, begin + bytes / es).
struct Job {
  int file = 0;
  size_t target = 0;
  uint64_t fileOffset = 0;
  int64_t begin = 0;
  int64_t bytes = 0;
  std::vector<Piece> render;
  std::vector<CopyRun> copies;
};

struct OutFile {
  std::string path;
  int fd = -1;
  FileLayout layout;
};

} // namespace

bool planFiles(const Plan &plan, const WriteOptions &options,
               std::vector<PlannedFile> &files, std::string &error) {
  std::vector<OutTensor> outs;
  for (const layout::TensorInfo &t : plan.targets)
    outs.push_back({t.name, t.dtype, t.shape});
  // Names, sizes and metadata of the whole list first: layoutFile takes
  // only what can be written.
  if (!checkOutTensors(outs, options.metadata, error))
    return false;
  files.clear();
  for (const FileGroup &g : splitFiles(outs, options.maxFileBytes)) {
    PlannedFile f{g.name, g.tensors, 0};
    std::vector<OutTensor> sub;
    for (size_t i : g.tensors)
      sub.push_back(outs[i]);
    if (!checkOutTensors(sub, options.metadata, error))
      return false;
    f.bytes = layoutFile(sub, options.metadata).fileSize;
    files.push_back(std::move(f));
  }
  return true;
}

bool writeCheckpoint(const Plan &plan, const std::vector<SourceTensor> &sources,
                     const std::string &dir, const WriteOptions &options,
                     ThreadPool &pool, WriteStats &stats, std::string &error) {
  // The sources must be what the plan reads.
  for (size_t s = 0; s < plan.sources.size(); ++s) {
    const layout::TensorInfo &want = plan.sources[s];
    const TensorEntry *e = sources[s].entry;
    if (!e || e->dtype != want.dtype || e->shape != want.shape) {
      error = "tensor '" + want.name + "' is not the " +
              std::string(layout::safetensorsName(want.dtype)) +
              " tensor the plan reads";
      return false;
    }
  }

  // Files: laid out, created, space reserved, headers written.
  std::vector<OutTensor> outs;
  for (const layout::TensorInfo &t : plan.targets)
    outs.push_back({t.name, t.dtype, t.shape});
  if (!checkOutTensors(outs, options.metadata, error))
    return false;
  std::vector<FileGroup> groups = splitFiles(outs, options.maxFileBytes);
  std::vector<OutFile> files(groups.size());
  std::vector<int> fileOf(plan.targets.size(), 0);
  std::vector<uint64_t> offsetOf(plan.targets.size(), 0);
  auto closeAll = [&] {
    for (OutFile &f : files)
      if (f.fd >= 0) {
        ::close(f.fd);
        f.fd = -1;
      }
  };
  for (size_t g = 0; g < groups.size(); ++g) {
    std::vector<OutTensor> sub;
    for (size_t i : groups[g].tensors)
      sub.push_back(outs[i]);
    OutFile &f = files[g];
    f.path = dir + "/" + groups[g].name;
    if (!checkOutTensors(sub, options.metadata, error)) {
      error = f.path + ": " + error;
      closeAll();
      return false;
    }
    f.layout = layoutFile(sub, options.metadata);
    for (size_t k = 0; k < groups[g].tensors.size(); ++k) {
      fileOf[groups[g].tensors[k]] = static_cast<int>(g);
      offsetOf[groups[g].tensors[k]] = f.layout.offsets[k];
    }
    f.fd =
        ::open(f.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (f.fd < 0) {
      error = sysError("cannot create", f.path);
      closeAll();
      return false;
    }
    int rc = ::posix_fallocate(f.fd, 0, static_cast<off_t>(f.layout.fileSize));
    if (rc != 0 && rc != EOPNOTSUPP && rc != EINVAL) {
      errno = rc;
      error = sysError("cannot reserve " + std::to_string(f.layout.fileSize) +
                           " bytes",
                       f.path);
      closeAll();
      return false;
    }
    if (!pwriteAll(f.fd,
                   reinterpret_cast<const uint8_t *>(f.layout.prefix.data()),
                   f.layout.prefix.size(), 0)) {
      error = sysError("cannot write", f.path);
      closeAll();
      return false;
    }
  }
  if (groups.size() > 1) {
    std::string path = dir + "/model.safetensors.index.json";
    std::string text = indexJson(outs, groups);
    int fd =
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 ||
        !pwriteAll(fd, reinterpret_cast<const uint8_t *>(text.data()),
                   text.size(), 0) ||
        (options.durable && ::fsync(fd) != 0)) {
      error = sysError("cannot write", path);
      if (fd >= 0)
        ::close(fd);
      closeAll();
      return false;
    }
    ::close(fd);
  }

  // Jobs: windows of each target, in file order.
  std::vector<std::vector<Piece>> byTarget(plan.targets.size());
  for (const Piece &p : plan.pieces) {
    Piece c = coalesceRows(p);
    if (c.numElements() > 0)
      byTarget[c.target].push_back(std::move(c));
  }
  std::vector<Job> jobs;
  std::vector<int64_t> lastUse(plan.sources.size(), -1);
  for (const FileGroup &g : groups) {
    for (size_t t : g.tensors) {
      const layout::TensorInfo &info = plan.targets[t];
      const int es = layout::dtypeSize(info.dtype);
      const int64_t n = *layout::numElements(info.shape);
      const int64_t w = std::max<int64_t>(1, options.windowBytes / es);
      // Pieces whose positions do not grow with their index cannot be cut:
      // windows end past them.
      std::vector<std::pair<int64_t, int64_t>> atoms;
      for (const Piece &c : byTarget[t])
        if (!isMonotoneDst(c))
          atoms.push_back(dstSpan(c));
      std::sort(atoms.begin(), atoms.end());
      for (int64_t a = 0; a < n;) {
        int64_t b = std::min(n, a + w);
        for (bool moved = true; moved;) {
          moved = false;
          for (auto [lo, hi] : atoms)
            if (lo < b && b < hi) {
              b = hi;
              moved = true;
            }
        }
        Job job;
        job.file = fileOf[t];
        job.target = t;
        job.begin = a;
        job.bytes = (b - a) * es;
        job.fileOffset = offsetOf[t] + static_cast<uint64_t>(a) * es;
        for (const Piece &c : byTarget[t]) {
          std::vector<Piece> clipped;
          if (isMonotoneDst(c)) {
            clipped = clipToDst(c, a, b);
          } else if (dstSpan(c).first >= a && dstSpan(c).first < b) {
            clipped = {c};
          }
          for (Piece &q : clipped) {
            q = coalesceRows(q);
            if (!q.isFill()) {
              stats.sourceBytes +=
                  q.numElements() *
                  layout::dtypeSize(plan.sources[q.source].dtype);
              lastUse[q.source] = static_cast<int64_t>(jobs.size());
            }
            size_t r = q.shape.size();
            int64_t rowBytes = q.shape[r - 1] * es;
            bool contiguous = !q.isFill() && q.steps.empty() &&
                              q.dstStrides[r - 1] == 1 &&
                              q.srcStrides[r - 1] == 1;
            if (options.zeroCopyMinBytes > 0 && contiguous &&
                rowBytes >= options.zeroCopyMinBytes) {
              const SourceTensor &src = sources[q.source];
              uint64_t base = src.file->fileOffset(*src.entry);
              std::vector<size_t> outer(r - 1);
              std::iota(outer.begin(), outer.end(), 0);
              forEachOuter(q, outer, [&](int64_t d, int64_t s) {
                job.copies.push_back({src.file,
                                      src.file->data(*src.entry) + s * es,
                                      base + static_cast<uint64_t>(s) * es,
                                      static_cast<uint64_t>(d - a) * es,
                                      static_cast<uint64_t>(rowBytes)});
              });
            } else {
              job.render.push_back(std::move(q));
            }
          }
        }
        std::sort(job.copies.begin(), job.copies.end(),
                  [](const CopyRun &x, const CopyRun &y) {
                    return x.dstOffset < y.dstOffset;
                  });
        jobs.push_back(std::move(job));
        a = b;
      }
      ++stats.tensors;
    }
  }
  stats.files = static_cast<int64_t>(files.size());

  // The writer thread stores finished windows while the next is rendered.
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<std::pair<size_t, int>> ready; // job, buffer (-1: none)
  std::vector<int> freeBuffers;
  // Window buffers: plain memory, or the renderer's (pinned for a GPU).
  struct HostBuffer {
    uint8_t *p = nullptr;
    int64_t size = 0;
  };
  std::vector<HostBuffer> buffers(std::max(1, options.buffers));
  auto freeBuffer = [&](HostBuffer &b) {
    if (!b.p)
      return;
    if (options.renderer)
      options.renderer->freeHost(b.p);
    else
      delete[] b.p;
    b = {};
  };
  for (int i = static_cast<int>(buffers.size()); i-- > 0;)
    freeBuffers.push_back(i);
  bool finished = false;
  std::atomic<bool> failed{false};
  std::string writerError; // the first writer's error, under `mutex`
  std::atomic<bool> useCopyRange{options.zeroCopyMinBytes > 0};
  std::atomic<int64_t> zeroCopied{0};
  std::vector<std::vector<size_t>> releaseAfter(jobs.size());
  for (size_t s = 0; s < lastUse.size(); ++s)
    if (lastUse[s] >= 0)
      releaseAfter[lastUse[s]].push_back(s);

  auto writeJob = [&](const Job &job, const uint8_t *buf,
                      std::string &writerError) -> bool {
    OutFile &f = files[job.file];
    uint64_t at = 0; // bytes of the window below are done
    auto flush = [&](uint64_t end) {
      if (end > at &&
          !pwriteAll(f.fd, buf + at, end - at, job.fileOffset + at)) {
        writerError = sysError("cannot write", f.path);
        return false;
      }
      return true;
    };
    for (const CopyRun &run : job.copies) {
      if (!flush(run.dstOffset))
        return false;
      uint64_t len = run.len, in = run.srcOffset,
               out = job.fileOffset + run.dstOffset;
      while (len > 0 && useCopyRange) {
        loff_t io = static_cast<loff_t>(in), oo = static_cast<loff_t>(out);
        ssize_t r = ::copy_file_range(run.file->fd(), &io, f.fd, &oo,
                                      static_cast<size_t>(len), 0);
        if (r > 0) {
          in += r;
          out += r;
          len -= r;
          zeroCopied += r;
          continue;
        }
        if (r < 0 && errno == EINTR)
          continue;
        if (r < 0 && (errno == ENOSPC || errno == EIO || errno == EDQUOT)) {
          writerError = sysError("cannot write", f.path);
          return false;
        }
        useCopyRange = false; // not supported here: plain writes from now on
      }
      if (len > 0) {
        const uint8_t *p = run.bytes + (run.len - len);
        if (!pwriteAll(f.fd, p, len, out)) {
          writerError = sysError("cannot write", f.path);
          return false;
        }
      }
      at = run.dstOffset + run.len;
    }
    if (!flush(static_cast<uint64_t>(job.bytes)))
      return false;
    // Start writing the window to disk now, so that the closing fsync has
    // little left to wait for.
    if (options.durable)
      ::sync_file_range(f.fd, static_cast<off_t>(job.fileOffset),
                        static_cast<off_t>(job.bytes), SYNC_FILE_RANGE_WRITE);
    return true;
  };

  auto writerLoop = [&] {
    std::string jobError;
    while (true) {
      std::pair<size_t, int> item;
      {
        std::unique_lock<std::mutex> lock(mutex);
        cv.wait(lock, [&] { return !ready.empty() || finished; });
        if (ready.empty())
          return;
        item = ready.front();
        ready.pop_front();
      }
      const Job &job = jobs[item.first];
      bool ok =
          failed ? false
                 : writeJob(job,
                            item.second >= 0 ? buffers[item.second].p : nullptr,
                            jobError);
      if (ok && options.releaseSources)
        for (size_t s : releaseAfter[item.first]) {
          const SourceTensor &src = sources[s];
          uint64_t b = src.file->fileOffset(*src.entry);
          src.file->release(b, b + (src.entry->end - src.entry->begin));
        }
      if (ok && options.progress)
        *options.progress += job.bytes;
      if (options.stallMillis > 0)
        std::this_thread::sleep_for(
            std::chrono::milliseconds(options.stallMillis));
      std::lock_guard<std::mutex> lock(mutex);
      if (!ok && !failed) {
        failed = true;
        writerError = jobError;
      }
      if (item.second >= 0)
        freeBuffers.push_back(item.second);
      cv.notify_all();
    }
  };
  // Writers store windows in parallel (the kernel's page-cache copies of
  // one thread are the limit of a plain copy); windows are disjoint.
  std::vector<std::thread> writers;
  for (int i = 0; i < std::max(1, options.writers); ++i)
    writers.emplace_back(writerLoop);

  const int slices = pool.size() * 2;
  for (size_t k = 0; k < jobs.size(); ++k) {
    const Job &job = jobs[k];
    int slot = -1;
    if (!job.render.empty()) {
      std::unique_lock<std::mutex> lock(mutex);
      cv.wait(lock, [&] { return !freeBuffers.empty() || failed; });
      if (failed)
        break;
      slot = freeBuffers.back();
      freeBuffers.pop_back();
      lock.unlock();
      if (buffers[slot].size < job.bytes) {
        freeBuffer(buffers[slot]);
        buffers[slot].p = options.renderer
                              ? options.renderer->allocateHost(job.bytes)
                              : new uint8_t[job.bytes];
        buffers[slot].size = job.bytes;
        if (!buffers[slot].p) {
          std::lock_guard<std::mutex> relock(mutex);
          failed = true;
          writerError = "cannot allocate a window buffer of " +
                        std::to_string(job.bytes) + " bytes";
          break;
        }
      }
      uint8_t *buf = buffers[slot].p;
      const DType tt = plan.targets[job.target].dtype;
      const int es = layout::dtypeSize(tt);
      const int64_t n = job.bytes / es;
      if (options.renderer) {
        std::string renderError;
        if (!options.renderer->render(plan, sources, job.target, job.render,
                                      job.begin, n, buf, renderError)) {
          std::lock_guard<std::mutex> relock(mutex);
          failed = true;
          writerError = renderError;
          break;
        }
      } else {
        // Slices of the window, one per task, so threads write apart.
        int64_t step = (n + slices - 1) / slices;
        pool.parallelFor(slices, [&](int64_t i) {
          int64_t a = job.begin + i * step,
                  b = std::min(job.begin + n, a + step);
          if (a >= b)
            return;
          for (const Piece &q : job.render) {
            if (!isMonotoneDst(q)) {
              int64_t lo = dstSpan(q).first;
              if (lo >= a && lo < b)
                renderPiece(q,
                            q.isFill() ? nullptr
                                       : sources[q.source].file->data(
                                             *sources[q.source].entry),
                            q.isFill() ? tt : plan.sources[q.source].dtype, tt,
                            buf, job.begin);
              continue;
            }
            for (const Piece &part : clipToDst(q, a, b))
              renderPiece(part,
                          part.isFill() ? nullptr
                                        : sources[part.source].file->data(
                                              *sources[part.source].entry),
                          part.isFill() ? tt : plan.sources[part.source].dtype,
                          tt, buf, job.begin);
          }
        });
      }
    }
    std::lock_guard<std::mutex> lock(mutex);
    if (failed)
      break;
    ready.emplace_back(k, slot);
    cv.notify_all();
  }
  {
    std::lock_guard<std::mutex> lock(mutex);
    finished = true;
    cv.notify_all();
  }
  for (std::thread &w : writers)
    w.join();
  for (HostBuffer &b : buffers)
    freeBuffer(b);
  if (failed) {
    error = writerError;
    closeAll();
    return false;
  }
  for (OutFile &f : files) {
    if (options.durable && ::fsync(f.fd) != 0) {
      error = sysError("cannot sync", f.path);
      closeAll();
      return false;
    }
  }
  closeAll();
  for (const Job &job : jobs)
    stats.bytes += job.bytes;
  stats.zeroCopyBytes = zeroCopied.load();
  return true;
}

} // namespace wl::runtime
