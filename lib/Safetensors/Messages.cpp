//===- Messages.cpp - the pieces of lib/Safetensors' error messages -------===//
//
// Every error is one line; what comes from the file (names, bytes) is quoted
// or escaped so that it cannot break the line.
//
//===----------------------------------------------------------------------===//
#include "Internal.h"

#include "wl/Support/Quote.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace wl::runtime::detail {

using layout::Shape;

/// Names from the file, safe in a one-line message (wl/Support/Quote.h).
std::string quoted(std::string_view s) { return quoteName(s); }

std::string tensorPrefix(std::string_view name) {
  return "tensor " + quoted(name) + ": ";
}

std::string shapeString(const Shape &shape) {
  constexpr size_t kMaxShown = 16;
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i == kMaxShown) {
      out += ", ... (" + std::to_string(shape.size()) + " dimensions)";
      break;
    }
    if (i)
      out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

std::string offsetsString(uint64_t b, uint64_t e) {
  return "[" + std::to_string(b) + ", " + std::to_string(e) + "]";
}

/// A byte of the input, for "found 'x'" messages.
std::string byteString(uint8_t c) {
  if (c >= 0x20 && c < 0x7F) {
    return std::string("'") + (char)c + "'";
  }
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", c);
  return buf;
}

std::string errnoString(const char *what) {
  return std::string(what) + ": " + std::strerror(errno);
}

} // namespace wl::runtime::detail
