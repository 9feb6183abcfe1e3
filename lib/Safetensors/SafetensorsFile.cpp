//===- SafetensorsFile.cpp - one safetensors file, validated and mapped ---===//
//
// Opened without blocking, mapped read-only whole, its header validated
// (parseHeader), its mapping watched for SIGBUS (MappingGuard.h); page hints
// for streaming; and the check that the file is still what was opened.
//
//===----------------------------------------------------------------------===//
#include "wl/Safetensors/Safetensors.h"

#include "Internal.h"
#include "MappingGuard.h"
#include "wl/Support/InputFile.h"
#include "wl/Support/Quote.h"

#include <algorithm>

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace wl::runtime {

using detail::errnoString;

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string &path,
                                                       std::string &error) {
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  f->shownPath_ = escapeText(path);
  const std::string &shown = f->shownPath_;
  struct stat st;
  std::string why;
  f->fd_ = openRegularFile(path, st, why);
  if (f->fd_ < 0) {
    error = shown + ": " + why;
    return nullptr;
  }
  f->fileSize_ = (uint64_t)st.st_size;
  if (f->fileSize_ < 8) {
    parseHeader(nullptr, 0, f->fileSize_, why);
    error = shown + ": " + why;
    return nullptr;
  }
  if (f->fileSize_ > (uint64_t)SIZE_MAX) {
    error = shown + ": the file is too large to map";
    return nullptr;
  }
  // The whole file, which holds at least the 8 bytes of the length, so the
  // mapping is never empty even when the data section is.
  void *m =
      mmap(nullptr, (size_t)f->fileSize_, PROT_READ, MAP_SHARED, f->fd_, 0);
  if (m == MAP_FAILED) {
    error = shown + ": " + errnoString("cannot map");
    return nullptr;
  }
  f->map_ = (const uint8_t *)m;
  f->guardSlot_ = guard::watch(m, (size_t)f->fileSize_);
  f->mtimeNs_ = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
  f->ctimeNs_ = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
  std::optional<Header> h =
      parseHeader(f->map_, (size_t)f->fileSize_, f->fileSize_, why);
  if (!h) {
    if (!f->unchanged(error))
      return nullptr;
    error = shown + ": " + why;
    return nullptr;
  }
  f->header_ = std::move(*h);
  if (!f->unchanged(error))
    return nullptr;
  return f;
}

bool SafetensorsFile::unchanged(std::string &error) const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) {
    error = shownPath_ + ": " + errnoString("cannot stat");
    return false;
  }
  uint64_t size = (uint64_t)st.st_size;
  int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
  int64_t ctime = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
  std::string what;
  if (size != fileSize_)
    what = "it held " + std::to_string(fileSize_) + " bytes, now " +
           std::to_string(size);
  else if (guard::faulted(guardSlot_))
    what = "a read of its mapping found the file shorter";
  else if (mtime != mtimeNs_ || ctime != ctimeNs_)
    what = "it was modified";
  if (what.empty())
    return true;
  error = shownPath_ + ": changed while it was read (" + what +
          "); nothing read from it is kept";
  return false;
}

SafetensorsFile::~SafetensorsFile() {
  guard::unwatch(guardSlot_);
  if (map_)
    munmap(const_cast<uint8_t *>(map_), (size_t)fileSize_);
  if (fd_ >= 0)
    ::close(fd_);
}

const TensorEntry *SafetensorsFile::find(std::string_view name) const {
  auto it = header_.byName.find(name);
  return it == header_.byName.end() ? nullptr : &header_.tensors[it->second];
}

const uint8_t *SafetensorsFile::data(const TensorEntry &t) const {
  return map_ + header_.dataOffset + t.begin;
}

namespace {
uint64_t pageSize() {
  static const uint64_t size = [] {
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (uint64_t)p : (uint64_t)4096;
  }();
  return size;
}
} // namespace

void SafetensorsFile::willNeed(uint64_t begin, uint64_t end) const {
  if (!map_)
    return;
  end = std::min(end, fileSize_);
  if (begin >= end)
    return;
  uint64_t page = pageSize();
  uint64_t b = begin / page * page;            // outward
  uint64_t e = (end + page - 1) / page * page; // end <= fileSize: no overflow
  madvise(const_cast<uint8_t *>(map_ + b), (size_t)(e - b), MADV_WILLNEED);
}

void SafetensorsFile::release(uint64_t begin, uint64_t end,
                              bool outward) const {
  if (!map_)
    return;
  uint64_t page = pageSize();
  // Past the end of the file the last page holds nothing else, so a range
  // that reaches the end takes the last page whole.
  uint64_t mapped = (fileSize_ + page - 1) / page * page;
  if (end >= fileSize_)
    end = mapped;
  if (begin >= end)
    return;
  uint64_t b = (begin + (outward ? 0 : page - 1)) / page * page;
  uint64_t e = std::min(mapped, (end + (outward ? page - 1 : 0)) / page * page);
  if (b >= e)
    return;
  madvise(const_cast<uint8_t *>(map_ + b), (size_t)(e - b), MADV_DONTNEED);
}

} // namespace wl::runtime
