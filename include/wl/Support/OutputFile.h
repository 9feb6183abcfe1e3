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

} // namespace wl

#endif // WL_SUPPORT_OUTPUTFILE_H
