//===- Safetensors.h - validated safetensors files and checkpoints -*- C++ -*-===//
//
// Plain C++17, no MLIR. Reads untrusted .safetensors files the way the
// reference implementation (huggingface/safetensors) accepts them, and lays
// out the files the writer produces. Every error is one line that names the
// tensor (and the JSON field) at fault; callers prefix the file's path.
//
// File format: an 8-byte little-endian header length N, N bytes of UTF-8
// JSON {"name": {"dtype": "BF16", "shape": [..], "data_offsets": [b, e]},
// ..., "__metadata__": {"key": "value"}}, then the data section. Offsets are
// relative to the data section. docs/safetensors.md lists the rules.
//
//===----------------------------------------------------------------------===//
#ifndef WL_RUNTIME_SAFETENSORS_H
#define WL_RUNTIME_SAFETENSORS_H

#include "wl/Layout/DType.h"
#include "wl/Layout/Shape.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wl::runtime {

/// The largest header the reference implementation accepts.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

/// One tensor of a safetensors file.
struct TensorEntry {
  std::string name;
  layout::DType dtype = layout::DType::F32;
  layout::Shape shape;
  uint64_t begin = 0; ///< byte range [begin, end) within the data section
  uint64_t end = 0;
};

/// A validated header.
struct Header {
  uint64_t dataOffset = 0; ///< 8 + N: where the data section starts
  /// In increasing order of `begin` (the order of the data section).
  std::vector<TensorEntry> tensors;
  std::map<std::string, std::string> metadata; ///< "__metadata__"
  /// Index into `tensors` by name.
  std::map<std::string, size_t, std::less<>> byName;
};

/// Parses and validates the header of a file of `fileSize` bytes whose first
/// `size` bytes are `data` (size >= min(fileSize, 8 + N) suffices; the
/// fuzzer passes the whole file). Rules, as the reference implementation
/// (safetensors/src/tensor.rs, read_metadata and Metadata::validate):
///   - fileSize >= 8; N <= kMaxHeaderBytes (HeaderTooLarge), then
///     8 + N <= fileSize (InvalidHeaderLength);
///   - the N bytes are UTF-8 (InvalidHeader) and hold one JSON value, an
///     object, with only JSON whitespace around it (serde_json::from_str:
///     the reference never enforced its planned "starts with '{'" check, so
///     leading whitespace is accepted; trailing spaces are the writer's
///     padding); strict JSON: escapes and \u surrogate pairs checked, no
///     raw control characters in strings, nesting limited to 127 levels;
///   - no name appears twice, and no field within "__metadata__" or within
///     a tensor (stricter than the reference, whose maps keep the last);
///   - "__metadata__", if present, maps strings to strings (null counts as
///     absent, as serde reads an Option);
///   - every other member is an object with "dtype" (a safetensors dtype
///     name; the reference's F4, F6_*, F8_E8M0, F8_*FNUZ and C64 are
///     "unsupported"), "shape" (integers in [0, INT64_MAX]) and
///     "data_offsets" (exactly [b, e], integers in [0, UINT64_MAX], b <= e);
///     other fields are ignored, as the reference ignores them;
///   - the element count, multiplied left to right, and its byte size do
///     not overflow, and the size equals e - b (TensorInvalidInfo);
///   - sorted by offsets (stable: ties keep the header's order), the tensors
///     tile the data section: the first starts at 0, each starts where the
///     previous ends (no gap, no overlap: InvalidOffset), and the last ends
///     exactly at fileSize - 8 - N (MetadataIncompleteBuffer). Zero-sized
///     tensors are allowed, also several at the same offset; so is a header
///     without tensors (then the data section is empty).
/// On failure returns nullopt with one message, e.g.
///   "tensor 'model.norm.weight': data_offsets [0, 6] hold 6 bytes, but
///    shape [4] of BF16 needs 8".
std::optional<Header> parseHeader(const uint8_t *data, size_t size,
                                  uint64_t fileSize, std::string &error);

/// A safetensors file, validated and mapped read-only (mmap).
class SafetensorsFile {
public:
  /// Opens, maps and validates `path`. Errors start with the path.
  static std::unique_ptr<SafetensorsFile> open(const std::string &path,
                                               std::string &error);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile &) = delete;
  SafetensorsFile &operator=(const SafetensorsFile &) = delete;

  const std::string &path() const { return path_; }
  /// The path as messages show it: escaped (a file name in a folder or an
  /// index may hold control characters).
  const std::string &shownPath() const { return shownPath_; }
  const Header &header() const { return header_; }
  uint64_t fileSize() const { return fileSize_; }
  /// The file descriptor (for copy_file_range), open for reading.
  int fd() const { return fd_; }
  /// The entry of `name`, or null.
  const TensorEntry *find(std::string_view name) const;
  /// The tensor's bytes in the mapping.
  const uint8_t *data(const TensorEntry &t) const;
  /// Where the tensor's bytes start in the file.
  uint64_t fileOffset(const TensorEntry &t) const {
    return header_.dataOffset + t.begin;
  }
  /// Hints that the bytes [begin, end) of the file (file offsets) are needed
  /// soon (MADV_WILLNEED on the pages the range touches), or no longer (the
  /// whole pages inside the range are dropped from this process with
  /// MADV_DONTNEED; the page cache keeps them; a range reaching the end of
  /// the file takes its last, partial page), so that resident memory stays
  /// bounded while streaming. `outward` drops every page the range touches
  /// instead (a page shared with bytes still to be read is read back from
  /// the page cache when they are).
  void willNeed(uint64_t begin, uint64_t end) const;
  void release(uint64_t begin, uint64_t end, bool outward = false) const;
  /// Whether the file is still what was opened: no read of the mapping
  /// faulted (a page past a new, shorter end reads as zeros instead of
  /// killing the process with SIGBUS: lib/Safetensors/MappingGuard.h), and
  /// its size, modification and status-change times are those seen at
  /// open. Otherwise false with `error` ("<path>: changed while it was
  /// read (...)"): what was read from it must not be kept.
  bool unchanged(std::string &error) const;

private:
  SafetensorsFile() = default;
  std::string path_, shownPath_;
  int fd_ = -1;
  const uint8_t *map_ = nullptr;
  uint64_t fileSize_ = 0;
  int guardSlot_ = -1;
  int64_t mtimeNs_ = 0, ctimeNs_ = 0;
  Header header_;
};

/// A checkpoint, tried in this order: a folder with `model.safetensors`
/// (as transformers prefers it), or with `model.safetensors.index.json` (or
/// else exactly one `*.safetensors.index.json`) and the shards its
/// `weight_map` names, or with exactly one `*.safetensors` file; or a path
/// to a single `.safetensors` file, or to an index file.
class Checkpoint {
public:
  /// Opens and validates every file. With an index: the index is UTF-8 JSON,
  /// an object whose "weight_map" maps each tensor name (once) to a plain
  /// file name (no '/', '\\' or '..'); each file it names exists (else
  /// ".../model.safetensors.index.json: model-00002-of-00003.safetensors,
  /// named for 'x', is missing") and opens; a tensor in two listed files is
  /// an error naming both; each name the map gives is in the file it says;
  /// and every tensor of every listed file is in the map. The index's
  /// "metadata" is not trusted (total_size is checked only to be a number
  /// when present). Files of the folder that the index does not name are
  /// not opened. Errors start with the path of the file at fault (the
  /// index, a shard, or the folder).
  static std::unique_ptr<Checkpoint> open(const std::string &path,
                                          std::string &error);
  /// The checkpoint of the files `names` (plain file names) of `folder`, as
  /// one (a rank of vLLM's sharded state: model-rank-<r>-part-<p>); a
  /// tensor in two of them is an error naming both. `weightFiles`: every
  /// weight file of the folder (what a converter must not copy as "other
  /// files"; those of other ranks too).
  static std::unique_ptr<Checkpoint>
  openFiles(const std::string &folder, const std::vector<std::string> &names,
            const std::vector<std::string> &weightFiles, std::string &error);

  struct Located {
    const SafetensorsFile *file = nullptr;
    const TensorEntry *entry = nullptr;
  };
  /// The tensor `name`, or {null, null}.
  Located find(std::string_view name) const;
  /// Whether every file is still what was opened
  /// (SafetensorsFile::unchanged); else false with the first changed one.
  bool unchanged(std::string &error) const;
  /// Every tensor, in file order then data order.
  std::vector<Located> tensors() const;
  const std::vector<std::unique_ptr<SafetensorsFile>> &files() const {
    return files_;
  }
  /// The folder (or, for a single file, its parent), and the file names in
  /// it that hold weights, sorted: for a folder, every `*.safetensors` and
  /// `*.safetensors.index.json` in it (used or not); for a path to a file,
  /// that file (and the shards of an index). What a converter must not copy
  /// as "other files".
  const std::string &folder() const { return folder_; }
  const std::vector<std::string> &weightFileNames() const {
    return weightFileNames_;
  }

private:
  Checkpoint() = default;
  std::string folder_;
  std::vector<std::string> weightFileNames_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, Located, std::less<>> byName_;
};

/// Parses the text of a `model.safetensors.index.json` as Checkpoint::open
/// does before it opens any file: UTF-8, one JSON object with a
/// "weight_map" of tensor names (each once) to file names (strings), an
/// optional "metadata" object whose "total_size", when present, is a number;
/// other members are skipped. The file names are not checked here
/// (Checkpoint::open refuses a name with '/', '\\' or '..' afterwards). On
/// success fills `weightMap` with (tensor name, file name) in the index's
/// order; else returns false with one line in `error`, without the file's
/// path. What the fuzzer of the index (tools/fuzz-inputs) calls.
bool parseIndexText(const std::string &text,
                    std::vector<std::pair<std::string, std::string>> &weightMap,
                    std::string &error);

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

/// A tensor to be written.
struct OutTensor {
  std::string name;
  layout::DType dtype = layout::DType::F32;
  layout::Shape shape;
  /// numElements * dtypeSize, or UINT64_MAX when the shape has a negative
  /// size or the product overflows.
  uint64_t bytes() const;
};

/// Why `layoutFile(tensors, metadata)` cannot be written, or true: names and
/// metadata are valid UTF-8, names are unique and none is "__metadata__",
/// every shape is valid and the sizes do not overflow, and the header fits
/// in kMaxHeaderBytes.
bool checkOutTensors(const std::vector<OutTensor> &tensors,
                     const std::map<std::string, std::string> &metadata,
                     std::string &error);

/// The bytes of one output file before its data: the 8-byte length and the
/// JSON header, padded with spaces so that the data section starts at a
/// multiple of 8; and where each tensor's data goes.
struct FileLayout {
  std::string prefix;            ///< length + header JSON + padding
  std::vector<uint64_t> offsets; ///< file offset of each tensor, in order
  uint64_t fileSize = 0;
};

/// Lays out `tensors` one after another in the given order (each written
/// once, data_offsets contiguous from 0), with `metadata` as "__metadata__"
/// after them when it is not empty. The prefix is the 8-byte little-endian
/// length N and N bytes of compact JSON padded with spaces so that
/// (8 + N) % 8 == 0; `offsets` are absolute file offsets (8 + N + begin).
/// With `dataStart` (a multiple of 8 below kDataStartPeriod), the header
/// is padded with up to kDataStartPeriod - 8 more spaces, so that the data
/// starts at a file offset congruent to it modulo kDataStartPeriod, unless
/// that would take the header past kMaxHeaderBytes (a writer's choice: the
/// streaming writer puts its kernel-copied runs at the same offsets within
/// a page as in their sources, which the kernel copies faster).
/// Pre: checkOutTensors(tensors, metadata) (else prints why and aborts).
/// Post: parseHeader accepts the result and gives back the same names,
/// dtypes, shapes and offsets (zero-sized tensors in the given order).
constexpr uint64_t kDataStartPeriod = 4096;
FileLayout layoutFile(const std::vector<OutTensor> &tensors,
                      const std::map<std::string, std::string> &metadata,
                      std::optional<uint64_t> dataStart = std::nullopt);

/// How a checkpoint of `tensors` (in this order) is split into files of at
/// most `maxFileBytes` of data each (greedily: a file is closed when the next
/// tensor would overflow it; a larger tensor goes alone): one file
/// `model.safetensors`, or `model-00001-of-0000K.safetensors`, ... as
/// Hugging Face names them (5-digit numbers). Returns, per file, its name
/// and the indices of its tensors (no tensors: one empty model.safetensors).
struct FileGroup {
  std::string name;
  std::vector<size_t> tensors;
};
std::vector<FileGroup> splitFiles(const std::vector<OutTensor> &tensors,
                                  uint64_t maxFileBytes);

/// The `model.safetensors.index.json` of a split checkpoint:
/// {"metadata": {"total_size": ...}, "weight_map": {name: file, ...}}, with
/// total_size the sum of the tensors' data bytes and the names sorted,
/// indented by 2 as Hugging Face writes it (non-ASCII kept as UTF-8).
std::string indexJson(const std::vector<OutTensor> &tensors,
                      const std::vector<FileGroup> &files);

} // namespace wl::runtime

#endif // WL_RUNTIME_SAFETENSORS_H
