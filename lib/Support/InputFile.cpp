//===- InputFile.cpp - reading untrusted files without blocking -----------===//
#include "wl/Support/InputFile.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace wl {

const char *fileTypeName(mode_t mode) {
  switch (mode & S_IFMT) {
  case S_IFREG:
    return "a regular file";
  case S_IFDIR:
    return "a folder";
  case S_IFIFO:
    return "a FIFO";
  case S_IFSOCK:
    return "a socket";
  case S_IFCHR:
    return "a character device";
  case S_IFBLK:
    return "a block device";
  case S_IFLNK:
    return "a symbolic link";
  default:
    return "not a regular file";
  }
}

int openRegularFile(const std::string &path, struct stat &st,
                    std::string &error) {
  if (path.find('\0') != std::string::npos) {
    error = "cannot open: the path contains a NUL byte";
    return -1;
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    error = std::string("cannot open: ") + std::strerror(errno);
    return -1;
  }
  if (::fstat(fd, &st) != 0) {
    error = std::string("cannot stat: ") + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    error = std::string("is ") + fileTypeName(st.st_mode) +
            ", not a regular file";
    ::close(fd);
    return -1;
  }
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    error = std::string("cannot set blocking reads: ") + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

bool readRegularFile(const std::string &path, uint64_t maxBytes,
                     std::string &out, std::string &error) {
  struct stat st;
  int fd = openRegularFile(path, st, error);
  if (fd < 0)
    return false;
  uint64_t size = (uint64_t)st.st_size;
  if (size > maxBytes) {
    error = "holds " + std::to_string(size) + " bytes, more than the limit of " +
            std::to_string(maxBytes);
    ::close(fd);
    return false;
  }
  out.assign((size_t)size, '\0');
  size_t done = 0;
  bool ok = true;
  while (done < out.size()) {
    ssize_t got = ::read(fd, &out[done], out.size() - done);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0) {
      error = got < 0 ? std::string("cannot read: ") + std::strerror(errno)
                      : "shrank while it was read";
      ok = false;
      break;
    }
    done += (size_t)got;
  }
  if (ok) {
    // One byte more would mean the file grew: what was read is not the file.
    char extra;
    ssize_t got;
    do
      got = ::read(fd, &extra, 1);
    while (got < 0 && errno == EINTR);
    if (got > 0) {
      error = "grew while it was read";
      ok = false;
    }
  }
  ::close(fd);
  if (!ok)
    out.clear();
  return ok;
}

} // namespace wl
