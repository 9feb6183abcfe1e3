//===- Header.cpp - parseHeader: a safetensors file's header, validated ---===//
//
// The 8-byte length, the JSON header (read with the pull parser of
// JsonReader.h, which builds only the values the format needs) and the
// tiling of the data section. docs/safetensors.md lists the rules and where
// they differ from the reference implementation.
//
//===----------------------------------------------------------------------===//
#include "wl/Safetensors/Safetensors.h"

#include "Internal.h"
#include "JsonReader.h"

#include <algorithm>
#include <unordered_set>

namespace wl::runtime {

using layout::DType;
using namespace detail;

namespace {

//===----------------------------------------------------------------------===//
// dtypes
//===----------------------------------------------------------------------===//

std::optional<DType> safetensorsDType(std::string_view name) {
  for (int k = 0; k < layout::kNumDTypes; ++k)
    if (layout::safetensorsName((DType)k) == name)
      return (DType)k;
  return std::nullopt;
}

/// dtypes the reference implementation knows that DType cannot represent.
bool isKnownUnsupportedDType(std::string_view name) {
  static const char *const kNames[] = {
      "F4",          "F6_E2M3",     "F6_E3M2", "F8_E8M0",
      "F8_E4M3FNUZ", "F8_E5M2FNUZ", "C64",
  };
  for (const char *n : kNames)
    if (name == n)
      return true;
  return false;
}

//===----------------------------------------------------------------------===//
// The header
//===----------------------------------------------------------------------===//

class HeaderParser {
public:
  HeaderParser(const char *p, size_t n, Header &h)
      : r_(p, n, "the header"), h_(h) {}

  bool parse(std::string &error) {
    bool ok = parseTop();
    if (!ok)
      error = r_.error();
    return ok;
  }

private:
  bool parseTop() {
    r_.skipWs();
    if (r_.atEnd())
      return r_.fail("the header holds no JSON value");
    if (r_.peek() != '{') {
      if (!r_.valueKind())
        return r_.syntaxExpected("'{'");
      return r_.fail(std::string("the header is not a JSON object (found ") +
                     r_.valueKind() + ")");
    }
    bool ok = r_.members(1, [&](const std::string &key) {
      if (key == "__metadata__")
        return parseMetadata();
      if (!names_.insert(key).second)
        return r_.fail("tensor " + quoted(key) +
                       " is listed twice in the header");
      return parseTensor(key);
    });
    if (!ok)
      return false;
    r_.skipWs();
    if (!r_.atEnd())
      return r_.syntax("unexpected " + byteString((uint8_t)r_.peek()) +
                       " after the header's object (only whitespace may "
                       "follow it)");
    return true;
  }

  bool parseMetadata() {
    if (seenMetadata_)
      return r_.fail("\"__metadata__\" is listed twice in the header");
    seenMetadata_ = true;
    if (r_.peek() == 'n') // serde reads null as an absent Option
      return r_.literal("null");
    if (r_.peek() != '{')
      return r_.wrongType(
          "\"__metadata__\" must be an object of strings to strings, ");
    std::string value;
    return r_.members(2, [&](const std::string &key) {
      if (h_.metadata.count(key))
        return r_.fail("\"__metadata__\": key " + quoted(key) +
                       " is listed twice");
      if (r_.peek() != '"')
        return r_.wrongType("\"__metadata__\": the value of " + quoted(key) +
                            " must be a string, ");
      if (!r_.parseString(value))
        return false;
      h_.metadata.emplace(key, value);
      return true;
    });
  }

  bool parseTensor(const std::string &name) {
    std::string pre = tensorPrefix(name);
    if (r_.peek() != '{')
      return r_.wrongType(
          pre + "expected an object with dtype, shape and data_offsets, ");
    TensorEntry t;
    t.name = name;
    bool haveDType = false, haveShape = false, haveOffsets = false;
    bool ok = r_.members(2, [&](const std::string &key) {
      if (key == "dtype") {
        if (haveDType)
          return r_.fail(pre + "dtype is given twice");
        haveDType = true;
        return parseDType(pre, t);
      }
      if (key == "shape") {
        if (haveShape)
          return r_.fail(pre + "shape is given twice");
        haveShape = true;
        return parseShape(pre, t);
      }
      if (key == "data_offsets") {
        if (haveOffsets)
          return r_.fail(pre + "data_offsets is given twice");
        haveOffsets = true;
        return parseDataOffsets(pre, t);
      }
      // The reference ignores unknown fields.
      return r_.skipValue(3);
    });
    if (!ok)
      return false;
    if (!haveDType)
      return r_.fail(pre + "missing dtype");
    if (!haveShape)
      return r_.fail(pre + "missing shape");
    if (!haveOffsets)
      return r_.fail(pre + "missing data_offsets");
    if (!checkSize(pre, t))
      return false;
    h_.tensors.push_back(std::move(t));
    return true;
  }

  /// "tensor 'a': shape[1] ", built only for a message.
  static std::string element(const std::string &pre, const char *field,
                             size_t k) {
    return pre + field + "[" + std::to_string(k) + "] ";
  }

  /// The value of "dtype" (`pre`: the tensor's prefix of messages).
  bool parseDType(const std::string &pre, TensorEntry &t) {
    if (r_.peek() != '"')
      return r_.wrongType(pre + "dtype must be a string, ");
    if (!r_.parseString(text_))
      return false;
    if (auto d = safetensorsDType(text_)) {
      t.dtype = *d;
      return true;
    }
    if (isKnownUnsupportedDType(text_))
      return r_.fail(pre + "unsupported dtype " + text_ +
                     " (weight-layout has no such element type)");
    return r_.fail(pre + "unknown dtype " + quoted(text_));
  }

  /// The value of "shape".
  bool parseShape(const std::string &pre, TensorEntry &t) {
    if (r_.peek() != '[')
      return r_.wrongType(pre +
                          "shape must be an array of non-negative integers, ");
    return r_.elements(3, [&](size_t k) {
      if (!r_.atNumber())
        return r_.wrongType(element(pre, "shape", k) +
                            "must be a non-negative integer, ");
      Number num;
      if (!r_.parseNumber(num))
        return false;
      if (num.negative)
        return r_.fail(element(pre, "shape", k) + "is negative (" +
                       std::string(num.text) + ")");
      if (!num.integral)
        return r_.fail(element(pre, "shape", k) + "is not an integer (" +
                       std::string(num.text) + ")");
      if (!num.fits || num.value > (uint64_t)INT64_MAX)
        return r_.fail(element(pre, "shape", k) + "is too large (" +
                       std::string(num.text) + ")");
      t.shape.push_back((int64_t)num.value);
      return true;
    });
  }

  /// The value of "data_offsets".
  bool parseDataOffsets(const std::string &pre, TensorEntry &t) {
    if (r_.peek() != '[')
      return r_.wrongType(pre + "data_offsets must be [begin, end], ");
    size_t count = 0;
    bool elementsOk = r_.elements(3, [&](size_t k) {
      ++count;
      if (k >= 2) // counted, reported after the array
        return r_.skipValue(4);
      if (!r_.atNumber())
        return r_.wrongType(element(pre, "data_offsets", k) +
                            "must be a non-negative integer, ");
      Number num;
      if (!r_.parseNumber(num))
        return false;
      if (num.negative)
        return r_.fail(element(pre, "data_offsets", k) + "is negative (" +
                       std::string(num.text) + ")");
      if (!num.integral)
        return r_.fail(element(pre, "data_offsets", k) + "is not an integer (" +
                       std::string(num.text) + ")");
      if (!num.fits)
        return r_.fail(element(pre, "data_offsets", k) + "is too large (" +
                       std::string(num.text) + ")");
      (k == 0 ? t.begin : t.end) = num.value;
      return true;
    });
    if (!elementsOk)
      return false;
    if (count != 2)
      return r_.fail(pre + "data_offsets must be [begin, end], found " +
                     std::to_string(count) + " element" +
                     (count == 1 ? "" : "s"));
    return true;
  }

  /// The offsets in order, and the size the dtype and shape give equal to
  /// theirs.
  bool checkSize(const std::string &pre, const TensorEntry &t) {
    if (t.end < t.begin)
      return r_.fail(pre + "data_offsets " + offsetsString(t.begin, t.end) +
                     " end before they begin");
    // Elements left to right, overflow-checked at every step (as the
    // reference does, in int64 rather than usize).
    int64_t elements = 1;
    uint64_t bytes = 0;
    bool overflow = false;
    for (int64_t d : t.shape)
      if (__builtin_mul_overflow(elements, d, &elements)) {
        overflow = true;
        break;
      }
    if (!overflow &&
        __builtin_mul_overflow((uint64_t)elements,
                               (uint64_t)layout::dtypeSize(t.dtype), &bytes))
      overflow = true;
    std::string typed = "shape " + shapeString(t.shape) + " of " +
                        std::string(layout::safetensorsName(t.dtype));
    if (overflow)
      return r_.fail(pre + typed +
                     " is too large (its size overflows 64 bits)");
    if (bytes != t.end - t.begin)
      return r_.fail(pre + "data_offsets " + offsetsString(t.begin, t.end) +
                     " hold " + std::to_string(t.end - t.begin) +
                     " bytes, but " + typed + " needs " +
                     std::to_string(bytes));
    return true;
  }

  Reader r_;
  Header &h_;
  std::unordered_set<std::string> names_;
  bool seenMetadata_ = false;
  std::string text_; ///< a dtype's name
};

uint64_t readLE64(const uint8_t *p) {
  uint64_t v = 0;
  for (int k = 7; k >= 0; --k)
    v = (v << 8) | p[k];
  return v;
}

/// Reads the header length `n` from the first `size` bytes of a file of
/// `fileSize` bytes, and checks that the length and the header are there.
bool readHeaderLength(const uint8_t *data, size_t size, uint64_t fileSize,
                      uint64_t &n, std::string &error) {
  if (fileSize < 8) {
    error = fileSize == 0 ? std::string("the file is empty")
                          : "the file holds " + std::to_string(fileSize) +
                                " bytes, too few for the 8-byte header length";
    return false;
  }
  if (size < 8) {
    error = "only " + std::to_string(size) +
            " bytes of the file were given, fewer than the 8 of the header "
            "length";
    return false;
  }
  n = readLE64(data);
  if (n > kMaxHeaderBytes) {
    error = "header length " + std::to_string(n) + " exceeds the limit of " +
            std::to_string(kMaxHeaderBytes) + " bytes";
    return false;
  }
  if (n > fileSize - 8) {
    error = "header length " + std::to_string(n) + " exceeds the file (" +
            std::to_string(fileSize) + " bytes";
    if (n <= fileSize)
      error += ", " + std::to_string(fileSize - 8) + " after the length";
    error += ")";
    return false;
  }
  if (size - 8 < n) {
    error = "only " + std::to_string(size) +
            " bytes of the file were given, "
            "fewer than the " +
            std::to_string(8 + n) + " of the header length and header";
    return false;
  }
  return true;
}

/// Sorts the tensors of `h` into the order of the data section and checks
/// that they tile it: no gap, no overlap, and nothing left at the end.
bool tileDataSection(Header &h, uint64_t fileSize, std::string &error) {
  // The order of the data section; ties (zero-sized tensors) keep the order
  // of the header.
  std::stable_sort(h.tensors.begin(), h.tensors.end(),
                   [](const TensorEntry &a, const TensorEntry &b) {
                     return a.begin != b.begin ? a.begin < b.begin
                                               : a.end < b.end;
                   });
  uint64_t dataSize = fileSize - h.dataOffset;
  uint64_t start = 0;
  for (size_t k = 0; k < h.tensors.size(); ++k) {
    const TensorEntry &t = h.tensors[k];
    if (t.begin > start) {
      std::string pre = tensorPrefix(t.name) + "data_offsets " +
                        offsetsString(t.begin, t.end) + " leave a gap ";
      if (k == 0)
        error = pre + "at the start of the data section";
      else
        error = pre + "after " + quoted(h.tensors[k - 1].name) + " (ends at " +
                std::to_string(start) + ")";
      return false;
    }
    if (t.begin < start) {
      error = "tensor " + quoted(t.name) + " overlaps " +
              quoted(h.tensors[k - 1].name);
      return false;
    }
    start = t.end;
  }
  if (start > dataSize) {
    const TensorEntry &t = h.tensors.back();
    error = tensorPrefix(t.name) + "data_offsets " +
            offsetsString(t.begin, t.end) +
            " run past the end of the data section (" +
            std::to_string(dataSize) + " bytes)";
    return false;
  }
  if (start < dataSize) {
    error = "the tensors end at byte " + std::to_string(start) +
            " of the data section, but it holds " + std::to_string(dataSize) +
            " bytes";
    return false;
  }
  return true;
}

} // namespace

//===----------------------------------------------------------------------===//
// parseHeader
//===----------------------------------------------------------------------===//

std::optional<Header> parseHeader(const uint8_t *data, size_t size,
                                  uint64_t fileSize, std::string &error) {
  uint64_t n = 0;
  if (!readHeaderLength(data, size, fileSize, n, error))
    return std::nullopt;
  const uint8_t *text = data + 8;
  size_t bad = firstInvalidUtf8(text, (size_t)n);
  if (bad != std::string::npos) {
    error = "the header is not valid UTF-8 (byte " + std::to_string(bad) +
            " of the header)";
    return std::nullopt;
  }

  Header h;
  h.dataOffset = 8 + n;
  HeaderParser parser((const char *)text, (size_t)n, h);
  if (!parser.parse(error))
    return std::nullopt;
  if (!tileDataSection(h, fileSize, error))
    return std::nullopt;
  for (size_t k = 0; k < h.tensors.size(); ++k)
    h.byName.emplace(h.tensors[k].name, k);
  return h;
}

} // namespace wl::runtime
