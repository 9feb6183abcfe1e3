//===- OutputFile.cpp - writing files whole -------------------------------===//
#include "wl/Support/OutputFile.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <unistd.h>

namespace wl {

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

bool parseSize(const std::string &text, uint64_t &bytes) {
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])))
    ++i;
  if (i == 0 || i > 18)
    return false;
  uint64_t n = std::strtoull(text.substr(0, i).c_str(), nullptr, 10);
  std::string unit = text.substr(i);
  for (char &c : unit)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  static const std::map<std::string, uint64_t> units = {
      {"", 1},
      {"B", 1},
      {"KB", 1000ull},
      {"MB", 1000ull * 1000},
      {"GB", 1000ull * 1000 * 1000},
      {"KIB", 1ull << 10},
      {"MIB", 1ull << 20},
      {"GIB", 1ull << 30}};
  auto it = units.find(unit);
  if (it == units.end() || n == 0 ||
      __builtin_mul_overflow(n, it->second, &bytes))
    return false;
  return true;
}

} // namespace wl
