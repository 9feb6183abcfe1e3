//===- StreamWriter.h - a plan's targets streamed to safetensors -*- C++
//-*-===//
//
// Plain C++17, no MLIR. The streaming scheduler: writes the targets of one
// plan (one rank) as a safetensors checkpoint, reading the sources from
// mapped safetensors files. Memory stays bounded whatever the checkpoint's
// size: each target is cut into windows of the output file, each window is
// rendered by the CPU executor into one of a few reused buffers while a
// writer thread stores the previous one, and the source pages a window
// read are dropped from the process once it is written (those later windows
// read too, a transpose's, once the last of them is). Runs of the output that are
// one unconverted contiguous run of a source are copied by the kernel
// (copy_file_range) without passing through memory, falling back to
// ordinary writes where the filesystem cannot; the rendered bytes' whole
// pages are written with O_DIRECT (WriteOptions::directWrites).
//
//===----------------------------------------------------------------------===//
#ifndef WL_RUNTIME_STREAMWRITER_H
#define WL_RUNTIME_STREAMWRITER_H

#include "wl/Layout/Plan.h"
#include "wl/Safetensors/Safetensors.h"

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace wl::runtime {

class ThreadPool;

/// Where one plan source is: a tensor of a mapped file.
struct SourceTensor {
  const SafetensorsFile *file = nullptr;
  const TensorEntry *entry = nullptr;
};

/// Renders the pieces of one window of a target into a host buffer. The
/// streaming writer uses the CPU executor unless given another renderer
/// (the CUDA backend's uploads the sources the pieces read and runs its
/// kernel).
class WindowRenderer {
public:
  virtual ~WindowRenderer() = default;
  /// Host memory for window buffers (pinned memory for a GPU).
  virtual uint8_t *allocateHost(size_t bytes) = 0;
  virtual void freeHost(uint8_t *p) = 0;
  /// Writes the elements of `pieces` (pieces of target `target`, clipped to
  /// the window) into `buffer`, which holds the target's elements
  /// [windowBegin, windowBegin + windowElements).
  virtual bool render(const layout::Plan &plan,
                      const std::vector<SourceTensor> &sources, size_t target,
                      const std::vector<layout::Piece> &pieces,
                      int64_t windowBegin, int64_t windowElements,
                      uint8_t *buffer, std::string &error) = 0;
};

/// writeCheckpoint's error when WriteOptions::cancel stopped it.
constexpr const char *kCancelled = "cancelled";

struct WriteOptions {
  /// Data bytes per output file before it is split (Hugging Face's 5 GB).
  uint64_t maxFileBytes = 5'000'000'000ull;
  /// Bytes of output rendered per window (per buffer), at most: rounded
  /// down to whole multiples of 8 target rows where it holds that many.
  int64_t windowBytes = 16ll << 20;
  /// Buffers in flight: one being rendered, the others being written.
  int buffers = 4;
  /// Threads storing windows (pwrite, copy_file_range). One: the windows
  /// in flight are of one file, whose buffered writes the filesystem
  /// serializes (ext4 and XFS hold the inode's lock for each), and a second
  /// writer spent a core spinning on that lock (docs/runtime.md).
  int writers = 1;
  /// Contiguous unconverted runs of at least this many bytes are copied by
  /// the kernel; 0 turns copy_file_range off.
  int64_t zeroCopyMinBytes = 1ll << 20;
  /// "__metadata__" of every file (provenance).
  std::map<std::string, std::string> metadata;
  /// Bytes written so far (rendered and copied), for a progress line.
  std::atomic<int64_t> *progress = nullptr;
  /// fsync every file (and start each window's writeback as soon as it is
  /// written, so that the fsync has little left to wait for). Off: the data
  /// is in the page cache when writeCheckpoint returns, safe from a killed
  /// process but not from a crash of the machine.
  bool durable = true;
  /// Rendered bytes that cover whole 4 KiB pages of the file are written
  /// with O_DIRECT (the partial pages at their edges through the page
  /// cache), skipping the page cache's copy (and, when durable, the
  /// fsync's writeback of them); where the filesystem refuses O_DIRECT,
  /// everything goes through the page cache.
  bool directWrites = true;
  /// Drop source pages from this process after their last use.
  bool releaseSources = true;
  /// Renders windows; null: the CPU executor on the thread pool.
  WindowRenderer *renderer = nullptr;
  /// Set by another thread to stop the conversion: no window is rendered
  /// after it is seen, and writeCheckpoint fails with kCancelled.
  const std::atomic<bool> *cancel = nullptr;
  /// Tests only: sleep this long after each window, so that a test can
  /// interrupt a conversion half-way.
  int stallMillis = 0;
};

struct WriteStats {
  int64_t tensors = 0;
  int64_t files = 0;
  int64_t bytes = 0;         ///< tensor data written
  int64_t zeroCopyBytes = 0; ///< of which copied by copy_file_range
  int64_t directBytes = 0;   ///< of which written with O_DIRECT
  int64_t sourceBytes = 0;   ///< source bytes the pieces read
};

/// The files `writeCheckpoint` would write, without writing: per file its
/// name, tensors (indices into plan.targets) and size (its header padded as
/// writeCheckpoint pads it, which depends on where `sources` lie in their
/// files). False, with `error`,
/// when the targets cannot be written as safetensors files (a name given
/// twice or "__metadata__", a size past 2^64 bytes, a header past the
/// limit: checkOutTensors).
struct PlannedFile {
  std::string name;
  std::vector<size_t> targets;
  uint64_t bytes = 0;
};
bool planFiles(const layout::Plan &plan,
               const std::vector<SourceTensor> &sources,
               const WriteOptions &options, std::vector<PlannedFile> &files,
               std::string &error);

/// Appends to `out` the element ranges of its source that piece `q` (not a
/// fill; `es` its source's element size) reads, for giving them back once
/// it is written: its whole source span when it reads at least half of it
/// (a run of a copy, a window of a layer's contiguous slab); else its
/// contiguous runs, each read whole, when they are at least minRunBytes
/// long and at most kMaxReleasedRuns of them (one layer's part of a tensor
/// stacked on an inner axis); else none (a transpose's window reads a few
/// columns of every row, pages the next windows read too). Element offsets
/// in the source tensor.
constexpr int64_t kMaxReleasedRuns = 65536;
void releasableRuns(const layout::Piece &q, int es, int64_t minRunBytes,
                    std::vector<std::pair<int64_t, int64_t>> &out);

/// Writes the targets of `plan` as a safetensors checkpoint into the
/// existing folder `dir`: `model.safetensors`, or shards and
/// `model.safetensors.index.json` when the data exceeds maxFileBytes. Files
/// are created new (an existing file is an error), space is reserved up
/// front (so a full disk fails early), and every file is fsync'ed (unless
/// not `durable`). Each file's header is padded with spaces so that most
/// of its kernel-copied bytes keep their source's offset within a page
/// (layoutFile's dataStart).
/// `sources[s]` is plan.sources[s]; each must match its dtype and shape.
/// Pre: the plan writes every target element exactly once.
/// On failure (I/O error, full disk) returns false with one message naming
/// the file; what was written stays for the caller to remove.
bool writeCheckpoint(const layout::Plan &plan,
                     const std::vector<SourceTensor> &sources,
                     const std::string &dir, const WriteOptions &options,
                     ThreadPool &pool, WriteStats &stats, std::string &error);

/// Reads the checkpoint in `dir` back and checks it against the plan,
/// independently of the executor: the same tensors (names, dtypes, shapes),
/// and every element of every piece equal to its source element through the
/// piece's steps (or its fill). Returns false with a message naming the
/// first tensor and element that differ.
bool verifyCheckpoint(const layout::Plan &plan,
                      const std::vector<SourceTensor> &sources,
                      const std::string &dir, std::string &error);

} // namespace wl::runtime

#endif // WL_RUNTIME_STREAMWRITER_H
