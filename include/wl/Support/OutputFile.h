//===- OutputFile.h - writing files whole -----------------------*- C++ -*-===//
//
// Plain C++17. What the writers of output files (the streaming writer,
// weight-layout-gen) share.
//
//===----------------------------------------------------------------------===//
#ifndef WL_SUPPORT_OUTPUTFILE_H
#define WL_SUPPORT_OUTPUTFILE_H

#include <cstdint>
#include <string>

namespace wl {

/// Writes `len` bytes at `offset` of `fd`, with as many pwrite calls as it
/// takes (at most 1 GiB each, EINTR retried). False with errno set on an
/// error (EIO when pwrite writes nothing).
bool pwriteAll(int fd, const uint8_t *data, uint64_t len, uint64_t offset);

/// "5GB", "500MB", "2GiB", "1048576" -> bytes: a positive integer and an
/// optional unit, B, KB, MB, GB (decimal, as Hugging Face's max_shard_size)
/// or KiB, MiB, GiB (binary), in any case. False for anything else or a
/// size of 2^64 bytes or more.
bool parseSize(const std::string &text, uint64_t &bytes);

/// Bytes that can still be written through the page cache before the
/// kernel starts writing dirty pages back (and, further on, slows the
/// writer down to the disk's pace): its background threshold
/// (/proc/sys/vm/dirty_background_bytes, else dirty_background_ratio of
/// free and file-cache memory, as the kernel's global_dirtyable_memory
/// counts it, from /proc/meminfo) less the pages dirty or under writeback
/// now. 0 where /proc cannot be read.
uint64_t pageCacheDirtyHeadroom();

} // namespace wl

#endif // WL_SUPPORT_OUTPUTFILE_H
