//===- FuzzHeader.cpp - libFuzzer target of the safetensors header parser -===//
//
// Feeds each input to parseHeader as a whole file. A rejected input must
// come with a one-line message; an accepted one must tile its data section,
// and the writer's layout of its entries must parse back to the same entries
// (with a header no longer than the input's, padding aside). Any violation
// traps, which libFuzzer reports as a crash.
//
// Build and run: scripts/fuzz-safetensors.sh SECONDS (docs/safetensors.md).
//
//===----------------------------------------------------------------------===//
#include "wl/Safetensors/Safetensors.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

using namespace wl::runtime;

namespace {
void check(bool ok) {
  if (!ok)
    __builtin_trap();
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string error;
  std::optional<Header> h = parseHeader(data, size, size, error);
  if (!h) {
    check(!error.empty() && error.find('\n') == std::string::npos);
    return 0;
  }
  // The header as read.
  check(size >= 8);
  uint64_t n = 0;
  for (int k = 7; k >= 0; --k)
    n = (n << 8) | data[k];
  check(h->dataOffset == 8 + n && h->dataOffset <= size);
  check(h->byName.size() == h->tensors.size());
  uint64_t at = 0;
  std::vector<OutTensor> out;
  out.reserve(h->tensors.size());
  for (size_t k = 0; k < h->tensors.size(); ++k) {
    const TensorEntry &t = h->tensors[k];
    check(t.begin == at && t.end >= t.begin);
    std::optional<int64_t> elements = wl::layout::numElements(t.shape);
    check(elements.has_value());
    check((uint64_t)*elements * (uint64_t)wl::layout::dtypeSize(t.dtype) ==
          t.end - t.begin);
    auto it = h->byName.find(t.name);
    check(it != h->byName.end() && it->second == k);
    at = t.end;
    out.push_back(OutTensor{t.name, t.dtype, t.shape});
  }
  check(at == size - h->dataOffset);

  // Written again, it reads back the same.
  std::string why;
  check(checkOutTensors(out, h->metadata, why));
  FileLayout l = layoutFile(out, h->metadata);
  check(l.prefix.size() % 8 == 0 && l.prefix.size() >= 8);
  check(l.prefix.size() <= h->dataOffset + 7);
  check(l.fileSize == l.prefix.size() + at);
  check(l.offsets.size() == out.size());
  std::optional<Header> again = parseHeader((const uint8_t *)l.prefix.data(),
                                            l.prefix.size(), l.fileSize, error);
  check(again.has_value());
  check(again->dataOffset == l.prefix.size());
  check(again->tensors.size() == h->tensors.size());
  for (size_t k = 0; k < h->tensors.size(); ++k) {
    const TensorEntry &a = h->tensors[k], &b = again->tensors[k];
    check(a.name == b.name && a.dtype == b.dtype && a.shape == b.shape &&
          a.begin == b.begin && a.end == b.end);
    check(l.offsets[k] == again->dataOffset + b.begin);
  }
  check(again->metadata == h->metadata);
  return 0;
}
