//===- StreamWriter.cpp - a plan's targets streamed to safetensors --------===//
//
// writeCheckpoint runs the steps of a CheckpointWriter in order: the files
// are laid out, created (space reserved, headers written) and indexed; the
// targets are cut into windows (jobs); the calling thread renders each
// window into a free buffer while writer threads store the previous ones
// (pwrite, with O_DIRECT for whole pages, or copy_file_range for runs
// copied unconverted); then every file is fsync'ed (when durable) and closed.
//
//===----------------------------------------------------------------------===//
#include "wl/Runtime/StreamWriter.h"
#include "wl/Support/OutputFile.h"

#include "wl/Runtime/CpuExecutor.h"
#include "wl/Runtime/ElementSteps.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
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

/// One kernel copy: `len` bytes from a source file to the output.
struct CopyRun {
  const SafetensorsFile *file;
  const uint8_t *bytes; ///< the run in the source's mapping
  uint64_t srcOffset;   ///< in the source file
  uint64_t dstOffset;   ///< from the window's start, in bytes
  uint64_t len;
};

/// Source bytes [begin, end) of a file (file offsets) that a window reads.
struct ReadRun {
  const SafetensorsFile *file;
  uint64_t begin, end;
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
  /// Source bytes given back once the window is written (releasableRuns).
  std::vector<ReadRun> releases;
};


struct OutFile {
  std::string path;
  int fd = -1;
  /// The same file opened with O_DIRECT (WriteOptions::directWrites), or -1.
  int directFd = -1;
  FileLayout layout;
};

/// O_DIRECT writes cover whole pages of this size, from buffers aligned to
/// it (a multiple of every logical block size Linux filesystems use).
constexpr uint64_t kDirectAlign = 4096;
/// Below this, a rendered range goes through the page cache whole.
constexpr uint64_t kDirectMinBytes = 64 << 10;

/// Whether the kernel copies (coalesced, clipped) piece `q` of a target of
/// `es`-byte elements: its rows are unconverted contiguous runs of at least
/// minBytes (WriteOptions::zeroCopyMinBytes; 0: never).
bool isKernelCopy(const Piece &q, int es, int64_t minBytes) {
  const size_t r = q.shape.size();
  if (minBytes <= 0 || r == 0 || q.isFill() || !q.steps.empty() ||
      q.dstStrides[r - 1] != 1 || q.srcStrides[r - 1] != 1)
    return false;
  return q.shape[r - 1] * es >= minBytes;
}

/// For each file of `groups` (the targets as `outs`), the data start modulo
/// kDataStartPeriod (layoutFile) at which the most kernel-copied bytes sit
/// at the same offset within a page as in their source file: the kernel
/// then moves whole pages rather than splitting each across two (Mistral-7B
/// -> vLLM: a fifth less system time). None for a file with no kernel
/// copies, or none whose offsets a multiple of 8 can match.
std::vector<std::optional<uint64_t>>
copyDataStarts(const Plan &plan, const std::vector<SourceTensor> &sources,
               const std::vector<OutTensor> &outs,
               const std::vector<FileGroup> &groups, int64_t minBytes) {
  std::vector<size_t> fileOf(outs.size(), 0);
  std::vector<uint64_t> begin(outs.size(), 0); // in its file's data
  for (size_t g = 0; g < groups.size(); ++g) {
    uint64_t at = 0;
    for (size_t t : groups[g].tensors) {
      fileOf[t] = g;
      begin[t] = at;
      at += outs[t].bytes();
    }
  }
  std::vector<std::map<uint64_t, uint64_t>> bytesAt(groups.size());
  for (const Piece &p : plan.pieces) {
    Piece q = coalesceRows(p);
    const int es = layout::dtypeSize(plan.targets[q.target].dtype);
    if (q.numElements() == 0 || !isKernelCopy(q, es, minBytes))
      continue;
    const SourceTensor &src = sources[q.source];
    if (!src.file || !src.entry)
      continue;
    const uint64_t base = src.file->fileOffset(*src.entry);
    const uint64_t row = static_cast<uint64_t>(q.shape.back()) * es;
    std::vector<size_t> outer(q.shape.size() - 1);
    std::iota(outer.begin(), outer.end(), 0);
    auto &counts = bytesAt[fileOf[q.target]];
    forEachOuter(q, outer, [&](int64_t d, int64_t s, int64_t) {
      // Unsigned arithmetic: the difference modulo the period.
      counts[(base + static_cast<uint64_t>(s) * es - begin[q.target] -
              static_cast<uint64_t>(d) * es) %
             kDataStartPeriod] += row;
    });
  }
  std::vector<std::optional<uint64_t>> starts(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    uint64_t most = 0;
    for (auto [residue, bytes] : bytesAt[g])
      if (residue % 8 == 0 && bytes > most) {
        most = bytes;
        starts[g] = residue;
      }
  }
  return starts;
}

} // namespace

bool planFiles(const Plan &plan, const std::vector<SourceTensor> &sources,
               const WriteOptions &options, std::vector<PlannedFile> &files,
               std::string &error) {
  std::vector<OutTensor> outs;
  for (const layout::TensorInfo &t : plan.targets)
    outs.push_back({t.name, t.dtype, t.shape});
  // Names, sizes and metadata of the whole list first: layoutFile takes
  // only what can be written.
  if (!checkOutTensors(outs, options.metadata, error))
    return false;
  files.clear();
  const std::vector<FileGroup> groups = splitFiles(outs, options.maxFileBytes);
  const std::vector<std::optional<uint64_t>> starts = copyDataStarts(
      plan, sources, outs, groups, options.zeroCopyMinBytes);
  for (size_t k = 0; k < groups.size(); ++k) {
    const FileGroup &g = groups[k];
    PlannedFile f{g.name, g.tensors, 0};
    std::vector<OutTensor> sub;
    for (size_t i : g.tensors)
      sub.push_back(outs[i]);
    if (!checkOutTensors(sub, options.metadata, error))
      return false;
    f.bytes = layoutFile(sub, options.metadata, starts[k]).fileSize;
    files.push_back(std::move(f));
  }
  return true;
}

void releasableRuns(const Piece &q, int es, int64_t minRunBytes,
                    std::vector<std::pair<int64_t, int64_t>> &out) {
  const size_t r = q.shape.size();
  int64_t lo = q.srcOffset, hi = q.srcOffset;
  bool negative = false;
  for (size_t j = 0; j < r; ++j) {
    if (q.shape[j] == 0)
      return;
    const int64_t ext = (q.shape[j] - 1) * q.srcStrides[j];
    (ext < 0 ? lo : hi) += ext;
    negative |= q.srcStrides[j] < 0;
  }
  ++hi;
  const int64_t n = q.numElements();
  if (hi - lo <= 2 * n) {
    out.push_back({lo, hi});
    return;
  }
  if (negative)
    return;
  // The longest contiguous run: dims by source stride, merged from unit
  // stride up while each continues the last.
  std::vector<size_t> dims(r);
  std::iota(dims.begin(), dims.end(), 0);
  std::sort(dims.begin(), dims.end(), [&](size_t a, size_t b) {
    return q.srcStrides[a] < q.srcStrides[b];
  });
  size_t k = 0;
  while (k < r && q.shape[dims[k]] == 1)
    ++k;
  if (k == r || q.srcStrides[dims[k]] != 1)
    return;
  int64_t run = q.shape[dims[k++]];
  while (k < r && (q.shape[dims[k]] == 1 || q.srcStrides[dims[k]] == run)) {
    run *= q.shape[dims[k]];
    ++k;
  }
  if (run * es < minRunBytes || n / run > kMaxReleasedRuns)
    return;
  std::vector<size_t> outer(dims.begin() + k, dims.end());
  forEachOuter(q, outer,
               [&](int64_t, int64_t s, int64_t) { out.push_back({s, s + run}); });
}

namespace {

/// A window buffer: plain memory, or the renderer's (pinned for a GPU).
struct HostBuffer {
  uint8_t *p = nullptr;
  int64_t size = 0;
};

/// One writeCheckpoint: its files, its windows (jobs), and the pipeline in
/// which the calling thread renders windows while writer threads store the
/// previous ones. writeCheckpoint calls the steps in order; on a failure it
/// closes the files (closeAll) and returns the step's error.
class CheckpointWriter {
public:
  CheckpointWriter(const Plan &plan, const std::vector<SourceTensor> &sources,
                   const std::string &dir, const WriteOptions &options,
                   ThreadPool &pool, WriteStats &stats)
      : plan_(plan), sources_(sources), dir_(dir), options_(options),
        pool_(pool), stats_(stats) {}

  /// The sources must be what the plan reads.
  bool checkSources(std::string &error) const;
  /// The targets as output tensors, checked, and split into files.
  bool splitIntoFiles(std::string &error);
  /// Files: laid out, created, space reserved, headers written.
  bool createFiles(std::string &error);
  /// model.safetensors.index.json, when there are several files.
  bool writeIndex(std::string &error);
  /// Jobs: windows of each target, in file order.
  void planJobs();
  /// Renders and writes every window; false with the first error.
  bool stream(std::string &error);
  /// fsync every file (when durable).
  bool syncFiles(std::string &error);
  void closeAll();
  /// The bytes written (after success).
  void countWritten();

private:
  // Files.
  bool createFile(size_t g, std::string &error);

  // Jobs.
  void planTarget(size_t t, const std::vector<Piece> &pieces);
  Job makeJob(size_t t, const std::vector<Piece> &pieces, int es, int64_t a,
              int64_t b);
  void addReleases(Job &job, const Piece &q, int64_t minRunBytes) const;
  void addPiece(Job &job, Piece &q, int es, int64_t a);

  // The writer threads.
  void writerLoop();
  bool writeJob(const Job &job, const uint8_t *buf, std::string &jobError);
  bool writeRendered(const Job &job, const OutFile &f, const uint8_t *buf,
                     uint64_t begin, uint64_t end, std::string &jobError);
  bool writeDirect(const OutFile &f, const uint8_t *p, uint64_t len,
                   uint64_t offset, uint64_t &done, std::string &jobError);
  bool copyRun(const Job &job, const OutFile &f, const CopyRun &run,
               std::string &jobError);
  void releaseSourcesAfter(size_t k);

  // The rendering thread (the caller's).
  void setUpBuffers();
  void renderJobs();
  bool acquireBuffer(const Job &job, int &slot);
  bool renderWindow(const Job &job, uint8_t *buf, int slices);
  void renderSlice(const Job &job, uint8_t *buf, DType tt, int64_t a,
                   int64_t b) const;
  void renderOne(const Piece &q, DType tt, uint8_t *buf,
                 int64_t windowBegin) const;
  void freeBuffer(HostBuffer &b);
  uint8_t *windowIn(int slot, const Job &job) const;
  /// Fails the conversion with `message` (under `mutex_`), as the
  /// rendering thread does when a buffer or a render fails.
  void failWith(std::string message);

  const Plan &plan_;
  const std::vector<SourceTensor> &sources_;
  const std::string &dir_;
  const WriteOptions &options_;
  ThreadPool &pool_;
  WriteStats &stats_;

  std::vector<OutTensor> outs_;
  std::vector<FileGroup> groups_;
  std::vector<std::optional<uint64_t>> dataStarts_; // copyDataStarts
  std::vector<OutFile> files_;
  std::vector<int> fileOf_;
  std::vector<uint64_t> offsetOf_;

  std::vector<Job> jobs_;
  std::vector<int64_t> lastUse_;

  // The writer thread stores finished windows while the next is rendered.
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::pair<size_t, int>> ready_; // job, buffer (-1: none)
  std::vector<int> freeBuffers_;
  std::vector<HostBuffer> buffers_;
  bool finished_ = false;
  std::atomic<bool> failed_{false};
  std::string writerError_; // the first writer's error, under `mutex_`
  std::atomic<bool> useCopyRange_{false};
  std::atomic<int64_t> zeroCopied_{0};
  std::atomic<int64_t> directWritten_{0};
  std::atomic<bool> directRefused_{false}; // O_DIRECT said EINVAL once
  std::vector<std::vector<size_t>> releaseAfter_;
};

bool CheckpointWriter::checkSources(std::string &error) const {
  for (size_t s = 0; s < plan_.sources.size(); ++s) {
    const layout::TensorInfo &want = plan_.sources[s];
    const TensorEntry *e = sources_[s].entry;
    if (!e || e->dtype != want.dtype || e->shape != want.shape) {
      error = "tensor '" + want.name + "' is not the " +
              std::string(layout::safetensorsName(want.dtype)) +
              " tensor the plan reads";
      return false;
    }
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Files
//===----------------------------------------------------------------------===//

bool CheckpointWriter::splitIntoFiles(std::string &error) {
  for (const layout::TensorInfo &t : plan_.targets)
    outs_.push_back({t.name, t.dtype, t.shape});
  if (!checkOutTensors(outs_, options_.metadata, error))
    return false;
  groups_ = splitFiles(outs_, options_.maxFileBytes);
  dataStarts_ = copyDataStarts(plan_, sources_, outs_, groups_,
                               options_.zeroCopyMinBytes);
  files_.resize(groups_.size());
  fileOf_.assign(plan_.targets.size(), 0);
  offsetOf_.assign(plan_.targets.size(), 0);
  return true;
}

void CheckpointWriter::closeAll() {
  for (OutFile &f : files_)
    for (int *fd : {&f.fd, &f.directFd})
      if (*fd >= 0) {
        ::close(*fd);
        *fd = -1;
      }
}

bool CheckpointWriter::createFiles(std::string &error) {
  for (size_t g = 0; g < groups_.size(); ++g)
    if (!createFile(g, error))
      return false;
  return true;
}

bool CheckpointWriter::createFile(size_t g, std::string &error) {
  std::vector<OutTensor> sub;
  for (size_t i : groups_[g].tensors)
    sub.push_back(outs_[i]);
  OutFile &f = files_[g];
  f.path = dir_ + "/" + groups_[g].name;
  if (!checkOutTensors(sub, options_.metadata, error)) {
    error = f.path + ": " + error;
    return false;
  }
  f.layout = layoutFile(sub, options_.metadata, dataStarts_[g]);
  for (size_t k = 0; k < groups_[g].tensors.size(); ++k) {
    fileOf_[groups_[g].tensors[k]] = static_cast<int>(g);
    offsetOf_[groups_[g].tensors[k]] = f.layout.offsets[k];
  }
  f.fd = ::open(f.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (f.fd < 0) {
    error = sysError("cannot create", f.path);
    return false;
  }
  int rc = ::posix_fallocate(f.fd, 0, static_cast<off_t>(f.layout.fileSize));
  if (rc != 0 && rc != EOPNOTSUPP && rc != EINVAL) {
    errno = rc;
    error = sysError("cannot reserve " + std::to_string(f.layout.fileSize) +
                         " bytes",
                     f.path);
    return false;
  }
  if (!pwriteAll(f.fd,
                 reinterpret_cast<const uint8_t *>(f.layout.prefix.data()),
                 f.layout.prefix.size(), 0)) {
    error = sysError("cannot write", f.path);
    return false;
  }
  // The file just created, reopened through its descriptor (not its path,
  // which could have been replaced since); where that fails (a filesystem
  // without O_DIRECT, no /proc) every write goes through the page cache.
  if (options_.directWrites)
    f.directFd = ::open(("/proc/self/fd/" + std::to_string(f.fd)).c_str(),
                        O_WRONLY | O_DIRECT | O_CLOEXEC);
  return true;
}

bool CheckpointWriter::writeIndex(std::string &error) {
  if (groups_.size() <= 1)
    return true;
  std::string path = dir_ + "/model.safetensors.index.json";
  std::string text = indexJson(outs_, groups_);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0 ||
      !pwriteAll(fd, reinterpret_cast<const uint8_t *>(text.data()),
                 text.size(), 0) ||
      (options_.durable && ::fsync(fd) != 0)) {
    error = sysError("cannot write", path);
    if (fd >= 0)
      ::close(fd);
    return false;
  }
  ::close(fd);
  return true;
}

bool CheckpointWriter::syncFiles(std::string &error) {
  for (OutFile &f : files_) {
    if (options_.durable && ::fsync(f.fd) != 0) {
      error = sysError("cannot sync", f.path);
      return false;
    }
  }
  return true;
}

void CheckpointWriter::countWritten() {
  for (const Job &job : jobs_)
    stats_.bytes += job.bytes;
  stats_.zeroCopyBytes = zeroCopied_.load();
  stats_.directBytes = directWritten_.load();
}

//===----------------------------------------------------------------------===//
// Jobs
//===----------------------------------------------------------------------===//

void CheckpointWriter::planJobs() {
  std::vector<std::vector<Piece>> byTarget(plan_.targets.size());
  for (const Piece &p : plan_.pieces) {
    Piece c = coalesceRows(p);
    if (c.numElements() > 0)
      byTarget[c.target].push_back(std::move(c));
  }
  lastUse_.assign(plan_.sources.size(), -1);
  for (const FileGroup &g : groups_) {
    for (size_t t : g.tensors) {
      planTarget(t, byTarget[t]);
      ++stats_.tensors;
    }
  }
  stats_.files = static_cast<int64_t>(files_.size());
}

/// The elements of 8 rows of target `info` (8 times its innermost length)
/// where that is at most `limit`, else 0: the unit at which windows and
/// their render slices are cut, so that transposes meet whole 8 x 8 blocks
/// (transposeBox) instead of scalar edges.
int64_t eightRows(const layout::TensorInfo &info, int64_t limit) {
  const int64_t row =
      info.shape.empty() ? 1 : std::max<int64_t>(1, info.shape.back());
  return row <= limit / 8 ? 8 * row : 0;
}

/// The end of a window that would end at `b`, moved past every atom (a
/// span that cannot be cut) it would cut.
int64_t windowEnd(const std::vector<std::pair<int64_t, int64_t>> &atoms,
                  int64_t b) {
  for (bool moved = true; moved;) {
    moved = false;
    for (auto [lo, hi] : atoms)
      if (lo < b && b < hi) {
        b = hi;
        moved = true;
      }
  }
  return b;
}

/// The windows of target `t`, whose (coalesced) pieces are `pieces`.
void CheckpointWriter::planTarget(size_t t, const std::vector<Piece> &pieces) {
  const layout::TensorInfo &info = plan_.targets[t];
  const int es = layout::dtypeSize(info.dtype);
  const int64_t n = *layout::numElements(info.shape);
  int64_t w = std::max<int64_t>(1, options_.windowBytes / es);
  if (const int64_t unit = eightRows(info, w)) // whole multiples of 8 rows
    w -= w % unit;
  // Pieces whose positions do not grow with their index cannot be cut:
  // windows end past them.
  std::vector<std::pair<int64_t, int64_t>> atoms;
  for (const Piece &c : pieces)
    if (!isMonotoneDst(c))
      atoms.push_back(dstSpan(c));
  std::sort(atoms.begin(), atoms.end());
  const size_t first = jobs_.size();
  for (int64_t a = 0; a < n;) {
    int64_t b = windowEnd(atoms, std::min(n, a + w));
    Job job = makeJob(t, pieces, es, a, b);
    jobs_.push_back(std::move(job));
    a = b;
  }
  // Each piece's runs of any length once its last window is written (one
  // layer's rows of a tensor stacked on an inner axis, shorter than a page:
  // the pages they share with other layers are read back when those are).
  for (const Piece &c : pieces) {
    if (c.isFill())
      continue;
    // The last of the target's windows (in order) that starts below the
    // piece's end.
    const int64_t hi = dstSpan(c).second;
    auto after = std::partition_point(
        jobs_.begin() + first, jobs_.end(),
        [&](const Job &j) { return j.begin < hi; });
    addReleases(*(after - 1), c, 0);
  }
}

/// Adds to `job` the runs of its source that piece `q` reads and that can be
/// given back once the job is written (releasableRuns, runs of at least
/// minRunBytes).
void CheckpointWriter::addReleases(Job &job, const Piece &q,
                                   int64_t minRunBytes) const {
  if (q.isFill() || !options_.releaseSources)
    return;
  const SourceTensor &src = sources_[q.source];
  const uint64_t base = src.file->fileOffset(*src.entry);
  const int ses = layout::dtypeSize(plan_.sources[q.source].dtype);
  std::vector<std::pair<int64_t, int64_t>> runs;
  releasableRuns(q, ses, minRunBytes, runs);
  for (auto [b, e] : runs)
    job.releases.push_back({src.file, base + static_cast<uint64_t>(b) * ses,
                            base + static_cast<uint64_t>(e) * ses});
}

/// The window of target elements [a, b) of target `t`: the pieces clipped
/// to it, each to be rendered or copied by the kernel.
Job CheckpointWriter::makeJob(size_t t, const std::vector<Piece> &pieces,
                              int es, int64_t a, int64_t b) {
  Job job;
  job.file = fileOf_[t];
  job.target = t;
  job.begin = a;
  job.bytes = (b - a) * es;
  job.fileOffset = offsetOf_[t] + static_cast<uint64_t>(a) * es;
  for (const Piece &c : pieces) {
    std::vector<Piece> clipped;
    if (isMonotoneDst(c)) {
      clipped = clipToDst(c, a, b);
    } else if (dstSpan(c).first >= a && dstSpan(c).first < b) {
      clipped = {c};
    }
    for (Piece &q : clipped)
      addPiece(job, q, es, a);
  }
  std::sort(job.copies.begin(), job.copies.end(),
            [](const CopyRun &x, const CopyRun &y) {
              return x.dstOffset < y.dstOffset;
            });
  return job;
}

/// Adds piece `q` (clipped to the window that starts at element `a`) to the
/// job: as copies by the kernel when its rows are long unconverted runs of
/// its source, else to be rendered. Counts the source bytes it reads.
void CheckpointWriter::addPiece(Job &job, Piece &q, int es, int64_t a) {
  q = coalesceRows(q);
  if (!q.isFill()) {
    stats_.sourceBytes +=
        q.numElements() * layout::dtypeSize(plan_.sources[q.source].dtype);
    lastUse_[q.source] = static_cast<int64_t>(jobs_.size());
  }
  if (q.hasRuntimeScale())
    lastUse_[q.scale.source] = static_cast<int64_t>(jobs_.size());
  // What the window reads in runs of a page or more: the next windows of
  // the same piece read other pages.
  addReleases(job, q, 4 << 10);
  size_t r = q.shape.size();
  int64_t rowBytes = q.shape[r - 1] * es;
  if (isKernelCopy(q, es, options_.zeroCopyMinBytes)) {
    const SourceTensor &src = sources_[q.source];
    uint64_t base = src.file->fileOffset(*src.entry);
    std::vector<size_t> outer(r - 1);
    std::iota(outer.begin(), outer.end(), 0);
    forEachOuter(q, outer, [&](int64_t d, int64_t s, int64_t) {
      job.copies.push_back({src.file, src.file->data(*src.entry) + s * es,
                            base + static_cast<uint64_t>(s) * es,
                            static_cast<uint64_t>(d - a) * es,
                            static_cast<uint64_t>(rowBytes)});
    });
  } else {
    job.render.push_back(std::move(q));
  }
}

//===----------------------------------------------------------------------===//
// The pipeline
//===----------------------------------------------------------------------===//

bool CheckpointWriter::stream(std::string &error) {
  setUpBuffers();
  // Writers store windows while the next is rendered (WriteOptions::writers;
  // windows are disjoint).
  std::vector<std::thread> writers;
  for (int i = 0; i < std::max(1, options_.writers); ++i)
    writers.emplace_back([this] { writerLoop(); });
  renderJobs();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    finished_ = true;
    cv_.notify_all();
  }
  for (std::thread &w : writers)
    w.join();
  for (HostBuffer &b : buffers_)
    freeBuffer(b);
  if (failed_) {
    error = writerError_;
    return false;
  }
  return true;
}

void CheckpointWriter::setUpBuffers() {
  buffers_.resize(std::max(1, options_.buffers));
  for (int i = static_cast<int>(buffers_.size()); i-- > 0;)
    freeBuffers_.push_back(i);
  useCopyRange_ = options_.zeroCopyMinBytes > 0;
  releaseAfter_.resize(jobs_.size());
  for (size_t s = 0; s < lastUse_.size(); ++s)
    if (lastUse_[s] >= 0)
      releaseAfter_[lastUse_[s]].push_back(s);
}

void CheckpointWriter::freeBuffer(HostBuffer &b) {
  if (!b.p)
    return;
  if (options_.renderer)
    options_.renderer->freeHost(b.p);
  else
    delete[] b.p;
  b = {};
}

void CheckpointWriter::failWith(std::string message) {
  std::lock_guard<std::mutex> lock(mutex_);
  failed_ = true;
  writerError_ = std::move(message);
}

//===----------------------------------------------------------------------===//
// The writer threads
//===----------------------------------------------------------------------===//

void CheckpointWriter::writerLoop() {
  std::string jobError;
  while (true) {
    std::pair<size_t, int> item;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return !ready_.empty() || finished_; });
      if (ready_.empty())
        return;
      item = ready_.front();
      ready_.pop_front();
    }
    const Job &job = jobs_[item.first];
    bool ok =
        failed_ ? false
                : writeJob(job,
                           item.second >= 0 ? windowIn(item.second, job)
                                            : nullptr,
                           jobError);
    if (ok && options_.releaseSources) {
      for (const ReadRun &run : job.releases)
        run.file->release(run.begin, run.end, /*outward=*/true);
      releaseSourcesAfter(item.first);
    }
    if (ok && options_.progress)
      *options_.progress += job.bytes;
    if (options_.stallMillis > 0)
      std::this_thread::sleep_for(
          std::chrono::milliseconds(options_.stallMillis));
    std::lock_guard<std::mutex> lock(mutex_);
    if (!ok && !failed_) {
      failed_ = true;
      writerError_ = jobError;
    }
    if (item.second >= 0)
      freeBuffers_.push_back(item.second);
    cv_.notify_all();
  }
}

/// Drops from this process the pages of the sources that job `k` reads
/// last.
void CheckpointWriter::releaseSourcesAfter(size_t k) {
  for (size_t s : releaseAfter_[k]) {
    const SourceTensor &src = sources_[s];
    uint64_t b = src.file->fileOffset(*src.entry);
    src.file->release(b, b + (src.entry->end - src.entry->begin));
  }
}

/// Stores one window: the rendered bytes of `buf` between the kernel
/// copies.
bool CheckpointWriter::writeJob(const Job &job, const uint8_t *buf,
                                std::string &jobError) {
  OutFile &f = files_[job.file];
  uint64_t at = 0; // bytes of the window below are done
  for (const CopyRun &run : job.copies) {
    if (!writeRendered(job, f, buf, at, run.dstOffset, jobError))
      return false;
    if (!copyRun(job, f, run, jobError))
      return false;
    at = run.dstOffset + run.len;
  }
  if (!writeRendered(job, f, buf, at, static_cast<uint64_t>(job.bytes),
                     jobError))
    return false;
  // Start writing the window to disk now, so that the closing fsync has
  // little left to wait for.
  if (options_.durable)
    ::sync_file_range(f.fd, static_cast<off_t>(job.fileOffset),
                      static_cast<off_t>(job.bytes), SYNC_FILE_RANGE_WRITE);
  return true;
}

/// Writes the bytes [begin, end) of the window from `buf`: its whole pages
/// with O_DIRECT where the file has a direct descriptor, the rest (or all,
/// where O_DIRECT is refused) through the page cache.
bool CheckpointWriter::writeRendered(const Job &job, const OutFile &f,
                                     const uint8_t *buf, uint64_t begin,
                                     uint64_t end, std::string &jobError) {
  if (end <= begin)
    return true;
  const uint64_t lo = job.fileOffset + begin, hi = job.fileOffset + end;
  const uint64_t a = (lo + kDirectAlign - 1) & ~(kDirectAlign - 1);
  const uint64_t b = hi & ~(kDirectAlign - 1);
  uint64_t done = 0; // bytes from `a` on written with O_DIRECT
  if (f.directFd >= 0 && !directRefused_ && b > a && b - a >= kDirectMinBytes &&
      !writeDirect(f, buf + (a - job.fileOffset), b - a, a, done, jobError))
    return false;
  // What O_DIRECT left: the head, whatever it did not write, the tail.
  auto buffered = [&](uint64_t from, uint64_t to) {
    return to <= from || pwriteAll(f.fd, buf + (from - job.fileOffset),
                                   to - from, from);
  };
  bool ok = done ? buffered(lo, a) && buffered(a + done, hi)
                 : buffered(lo, hi);
  if (!ok)
    jobError = sysError("cannot write", f.path);
  return ok;
}

/// Writes `len` bytes (whole pages, from an aligned address) at `offset`
/// with O_DIRECT; `done` says how many were written. A refusal (EINVAL: a
/// filesystem or a block size that does not take these writes) or a short
/// write leaves the rest to the caller's buffered writes; a failure of the
/// disk fails the job.
bool CheckpointWriter::writeDirect(const OutFile &f, const uint8_t *p,
                                   uint64_t len, uint64_t offset,
                                   uint64_t &done, std::string &jobError) {
  done = 0;
  while (done < len) {
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(len - done, 1u << 30));
    ssize_t w = ::pwrite(f.directFd, p + done, chunk,
                         static_cast<off_t>(offset + done));
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && errno != EINVAL) {
      jobError = sysError("cannot write", f.path);
      return false;
    }
    if (w < 0)
      directRefused_ = true;
    if (w <= 0 || static_cast<uint64_t>(w) % kDirectAlign != 0) {
      if (w > 0)
        done += static_cast<uint64_t>(w);
      break;
    }
    done += static_cast<uint64_t>(w);
  }
  directWritten_ += static_cast<int64_t>(done);
  return true;
}

/// Copies one run from its source file: by copy_file_range while the
/// filesystem can, by plain writes from the mapping for what is left.
bool CheckpointWriter::copyRun(const Job &job, const OutFile &f,
                               const CopyRun &run, std::string &jobError) {
  uint64_t len = run.len, in = run.srcOffset,
           out = job.fileOffset + run.dstOffset;
  while (len > 0 && useCopyRange_) {
    loff_t io = static_cast<loff_t>(in), oo = static_cast<loff_t>(out);
    ssize_t r = ::copy_file_range(run.file->fd(), &io, f.fd, &oo,
                                  static_cast<size_t>(len), 0);
    if (r > 0) {
      in += r;
      out += r;
      len -= r;
      zeroCopied_ += r;
      continue;
    }
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0 && (errno == ENOSPC || errno == EIO || errno == EDQUOT)) {
      jobError = sysError("cannot write", f.path);
      return false;
    }
    useCopyRange_ = false; // not supported here: plain writes from now on
  }
  if (len > 0) {
    const uint8_t *p = run.bytes + (run.len - len);
    if (!pwriteAll(f.fd, p, len, out)) {
      jobError = sysError("cannot write", f.path);
      return false;
    }
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Rendering (the calling thread)
//===----------------------------------------------------------------------===//

void CheckpointWriter::renderJobs() {
  const int slices = pool_.size() * 2;
  for (size_t k = 0; k < jobs_.size(); ++k) {
    const Job &job = jobs_[k];
    if (options_.cancel && *options_.cancel) {
      failWith(kCancelled);
      break;
    }
    int slot = -1;
    if (!job.render.empty()) {
      if (!acquireBuffer(job, slot))
        break;
      if (!renderWindow(job, windowIn(slot, job), slices))
        break;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (failed_)
      break;
    ready_.emplace_back(k, slot);
    cv_.notify_all();
  }
}

/// Takes a free buffer for `job` (waiting for a writer to give one back),
/// grown to the window's size. False when the conversion has failed, or
/// (failing it) when the buffer cannot be allocated.
bool CheckpointWriter::acquireBuffer(const Job &job, int &slot) {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [&] { return !freeBuffers_.empty() || failed_; });
  if (failed_)
    return false;
  slot = freeBuffers_.back();
  freeBuffers_.pop_back();
  lock.unlock();
  // A page more than the window, so that windowIn can align it.
  const int64_t size = job.bytes + static_cast<int64_t>(kDirectAlign);
  if (buffers_[slot].size < size) {
    freeBuffer(buffers_[slot]);
    buffers_[slot].p = options_.renderer
                           ? options_.renderer->allocateHost(size)
                           : new uint8_t[size];
    buffers_[slot].size = size;
    if (!buffers_[slot].p) {
      failWith("cannot allocate a window buffer of " + std::to_string(size) +
               " bytes");
      return false;
    }
  }
  return true;
}

/// Where buffer `slot` holds the window of `job`: at the address that is
/// congruent to the window's file offset modulo kDirectAlign, so that the
/// window's whole pages lie at aligned addresses, as O_DIRECT needs.
uint8_t *CheckpointWriter::windowIn(int slot, const Job &job) const {
  uint8_t *p = buffers_[slot].p;
  return p + ((job.fileOffset - reinterpret_cast<uintptr_t>(p)) &
              (kDirectAlign - 1));
}

/// Renders the window of `job` into `buf`: by the renderer, or by the CPU
/// executor in `slices` slices on the thread pool. False (failing the
/// conversion) when the renderer fails.
bool CheckpointWriter::renderWindow(const Job &job, uint8_t *buf, int slices) {
  const DType tt = plan_.targets[job.target].dtype;
  const int es = layout::dtypeSize(tt);
  const int64_t n = job.bytes / es;
  if (options_.renderer) {
    std::string renderError;
    if (!options_.renderer->render(plan_, sources_, job.target, job.render,
                                   job.begin, n, buf, renderError)) {
      failWith(renderError);
      return false;
    }
    return true;
  }
  // Slices of the window, one per task, so that threads write apart;
  // bounded at multiples of 8 target rows where a slice holds that many.
  int64_t step = (n + slices - 1) / slices, base = job.begin;
  if (const int64_t unit = eightRows(plan_.targets[job.target], step)) {
    step -= step % unit;
    base -= base % unit;
  }
  const int64_t end = job.begin + n;
  pool_.parallelFor((end - base + step - 1) / step, [&](int64_t i) {
    int64_t a = std::max(job.begin, base + i * step);
    renderSlice(job, buf, tt, a, std::min(end, base + (i + 1) * step));
  });
  return true;
}

/// The target elements [a, b) of the window of `job`.
void CheckpointWriter::renderSlice(const Job &job, uint8_t *buf, DType tt,
                                   int64_t a, int64_t b) const {
  if (a >= b)
    return;
  for (const Piece &q : job.render) {
    if (!isMonotoneDst(q)) {
      int64_t lo = dstSpan(q).first;
      if (lo >= a && lo < b)
        renderOne(q, tt, buf, job.begin);
      continue;
    }
    for (const Piece &part : clipToDst(q, a, b))
      renderOne(part, tt, buf, job.begin);
  }
}

/// Renders piece `q` of a target of type `tt` into the window `buf` that
/// starts at target element `windowBegin`.
void CheckpointWriter::renderOne(const Piece &q, DType tt, uint8_t *buf,
                                 int64_t windowBegin) const {
  auto bytes = [&](int64_t s) {
    return sources_[s].file->data(*sources_[s].entry);
  };
  renderPiece(q, q.isFill() ? nullptr : bytes(q.source),
              q.isFill() ? tt : plan_.sources[q.source].dtype, tt, buf,
              windowBegin,
              q.hasRuntimeScale() ? bytes(q.scale.source) : nullptr);
}

} // namespace

bool writeCheckpoint(const Plan &plan, const std::vector<SourceTensor> &sources,
                     const std::string &dir, const WriteOptions &options,
                     ThreadPool &pool, WriteStats &stats, std::string &error) {
  CheckpointWriter w(plan, sources, dir, options, pool, stats);
  if (!w.checkSources(error) || !w.splitIntoFiles(error))
    return false;
  if (!w.createFiles(error) || !w.writeIndex(error)) {
    w.closeAll();
    return false;
  }
  w.planJobs();
  if (!w.stream(error) || !w.syncFiles(error)) {
    w.closeAll();
    return false;
  }
  w.closeAll();
  w.countWritten();
  return true;
}

} // namespace wl::runtime
