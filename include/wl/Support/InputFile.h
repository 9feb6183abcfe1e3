//===- InputFile.h - reading untrusted files without blocking ----*- C++ -*-===//
//
// Plain C++17 (POSIX). Every file weight-layout reads whole (config.json,
// specs, the manifest, the index) or maps (safetensors files) is opened
// here: a FIFO, a socket or a device in its place is refused at once instead
// of blocking the tool forever, and a file larger than its cap is refused
// before anything is allocated for it.
//
//===----------------------------------------------------------------------===//
#ifndef WL_SUPPORT_INPUTFILE_H
#define WL_SUPPORT_INPUTFILE_H

#include <cstdint>
#include <string>
#include <sys/stat.h>

namespace wl {

/// Opens `path` for reading when it is (or a symbolic link leads to) a
/// regular file. The open itself cannot block: it is made with O_NONBLOCK
/// (which returns at once on a FIFO) and O_NOCTTY, the type is checked with
/// fstat on the open descriptor (no window between the check and the use),
/// and O_NONBLOCK is then cleared. Returns the descriptor (O_CLOEXEC) with
/// `st` filled in, or -1 with `error` set to what went wrong, without the
/// path: "cannot open: No such file or directory", "is a FIFO, not a
/// regular file", "is a folder, not a regular file".
int openRegularFile(const std::string &path, struct stat &st,
                    std::string &error);

/// Reads the whole regular file `path` (as openRegularFile opens it) into
/// `out`, refusing a file of more than `maxBytes` before reading it, and a
/// file that shrinks or grows while it is read. Errors are as above, or
/// "holds 20000000 bytes, more than the limit of 16777216".
bool readRegularFile(const std::string &path, uint64_t maxBytes,
                     std::string &out, std::string &error);

/// "a FIFO", "a folder", "a socket", "a character device", ... for the
/// file type bits of `mode`.
const char *fileTypeName(mode_t mode);

} // namespace wl

#endif // WL_SUPPORT_INPUTFILE_H
