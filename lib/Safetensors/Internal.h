//===- Internal.h - helpers shared within lib/Safetensors -------*- C++ -*-===//
//
// Private to lib/Safetensors: the messages' pieces (names quoted, shapes,
// offsets, bytes), UTF-8 as Rust checks it, and the parsed index
// (model.safetensors.index.json), each used by several of its files. The
// public API is include/wl/Safetensors/Safetensors.h.
//
//===----------------------------------------------------------------------===//
#ifndef WL_LIB_SAFETENSORS_INTERNAL_H
#define WL_LIB_SAFETENSORS_INTERNAL_H

#include "wl/Layout/Shape.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wl::runtime::detail {

//===----------------------------------------------------------------------===//
// Messages (Messages.cpp)
//===----------------------------------------------------------------------===//

/// Names from the file, safe in a one-line message (wl/Support/Quote.h).
std::string quoted(std::string_view s);
/// "tensor 'name': ".
std::string tensorPrefix(std::string_view name);
/// "[4, 8]" (the first 16 dimensions, then their count).
std::string shapeString(const layout::Shape &shape);
/// "[b, e]".
std::string offsetsString(uint64_t b, uint64_t e);
/// A byte of the input, for "found 'x'" messages.
std::string byteString(uint8_t c);
/// "what: <strerror(errno)>".
std::string errnoString(const char *what);

//===----------------------------------------------------------------------===//
// UTF-8 (Utf8.cpp; as Rust's core::str::from_utf8: no overlongs, no
// surrogates, no code point above U+10FFFF)
//===----------------------------------------------------------------------===//

/// The offset of the first byte that starts an invalid sequence, or npos.
size_t firstInvalidUtf8(const uint8_t *p, size_t n);
bool isValidUtf8(std::string_view s);
/// Appends code point `cp` (at most U+10FFFF, not a surrogate) as UTF-8.
void appendUtf8(std::string &out, uint32_t cp);

//===----------------------------------------------------------------------===//
// The index (Index.cpp)
//===----------------------------------------------------------------------===//

/// The names of the index: weight_map in file order.
/// The file names are kept once each (an index names each of a few files
/// thousands of times), so that the index costs about its own size.
struct Index {
  std::vector<std::pair<std::string, uint32_t>> weightMap; ///< name, file
  std::vector<std::string> files;
  const std::string &fileOf(size_t k) const {
    return files[weightMap[k].second];
  }
};

/// Parses the text of an index (the rules of parseIndexText), or returns
/// false with one line in `error`.
bool parseIndex(const std::string &text, Index &index, std::string &error);

} // namespace wl::runtime::detail

#endif // WL_LIB_SAFETENSORS_INTERNAL_H
