//===- Safetensors.cpp - validated safetensors files and checkpoints ------===//
//
// Plain C++17, no MLIR. The header is read by a small pull parser written for
// untrusted input: it validates the JSON grammar as it goes, never reads past
// the end of its buffer, limits nesting as serde_json does (127 levels), and
// builds only the values the format needs (unknown values are skipped, not
// stored). See docs/safetensors.md for the rules and where they differ from
// the reference implementation.
//
//===----------------------------------------------------------------------===//
#include "wl/Safetensors/Safetensors.h"

#include "MappingGuard.h"
#include "wl/Support/InputFile.h"
#include "wl/Support/Limits.h"
#include "wl/Support/Quote.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_set>

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace wl::runtime {

using layout::DType;
using layout::Shape;

namespace {

//===----------------------------------------------------------------------===//
// Messages
//===----------------------------------------------------------------------===//

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

//===----------------------------------------------------------------------===//
// UTF-8 (as Rust's core::str::from_utf8: no overlongs, no surrogates, no code
// point above U+10FFFF)
//===----------------------------------------------------------------------===//

/// The offset of the first byte that starts an invalid sequence, or npos.
size_t firstInvalidUtf8(const uint8_t *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint8_t lo = 0x80, hi = 0xBF; // range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0)
        lo = 0xA0;
      else if (c == 0xED)
        hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0)
        lo = 0x90;
      else if (c == 0xF4)
        hi = 0x8F;
    } else {
      return i;
    }
    if (n - i < len)
      return i;
    if (p[i + 1] < lo || p[i + 1] > hi)
      return i;
    for (size_t k = 2; k < len; ++k)
      if ((p[i + k] & 0xC0) != 0x80)
        return i;
    i += len;
  }
  return std::string::npos;
}

bool isValidUtf8(std::string_view s) {
  return firstInvalidUtf8((const uint8_t *)s.data(), s.size()) ==
         std::string::npos;
}

void appendUtf8(std::string &out, uint32_t cp) {
  if (cp < 0x80) {
    out += (char)cp;
  } else if (cp < 0x800) {
    out += (char)(0xC0 | (cp >> 6));
    out += (char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += (char)(0xE0 | (cp >> 12));
    out += (char)(0x80 | ((cp >> 6) & 0x3F));
    out += (char)(0x80 | (cp & 0x3F));
  } else {
    out += (char)(0xF0 | (cp >> 18));
    out += (char)(0x80 | ((cp >> 12) & 0x3F));
    out += (char)(0x80 | ((cp >> 6) & 0x3F));
    out += (char)(0x80 | (cp & 0x3F));
  }
}

//===----------------------------------------------------------------------===//
// JSON pull parser
//===----------------------------------------------------------------------===//

/// serde_json refuses a 128th level of nesting.
constexpr int kMaxDepth = 128;

struct Number {
  std::string_view text;
  bool negative = false;
  bool integral = true; ///< no fraction and no exponent
  bool fits = true;     ///< integral, non-negative and <= UINT64_MAX
  uint64_t value = 0;
};

class Reader {
public:
  /// `what` names the text in syntax errors ("the header").
  Reader(const char *p, size_t n, std::string what)
      : p_(p), n_(n), what_(std::move(what)) {}

  std::string &error() { return error_; }
  size_t pos() const { return i_; }
  bool atEnd() const { return i_ >= n_; }
  /// The next byte, or -1 at the end.
  int peek() const { return i_ < n_ ? (uint8_t)p_[i_] : -1; }

  void skipWs() {
    while (i_ < n_) {
      char c = p_[i_];
      if (c != ' ' && c != '\n' && c != '\t' && c != '\r')
        return;
      ++i_;
    }
  }

  /// Records `msg` (the first error wins) and returns false.
  bool fail(std::string msg) {
    if (error_.empty())
      error_ = std::move(msg);
    return false;
  }
  /// A grammar error at the current position.
  bool syntax(const std::string &what) {
    return fail("invalid JSON at byte " + std::to_string(i_) + " of " + what_ +
                ": " + what);
  }
  bool syntaxExpected(const std::string &expected) {
    if (atEnd())
      return syntax("expected " + expected + ", found the end");
    return syntax("expected " + expected + ", found " +
                  byteString((uint8_t)p_[i_]));
  }

  /// Consumes `c` (after whitespace) or fails.
  bool expect(char c, const char *expected) {
    skipWs();
    if (peek() != (uint8_t)c)
      return syntaxExpected(expected);
    ++i_;
    return true;
  }

  bool atNumber() const {
    int c = peek();
    return c == '-' || (c >= '0' && c <= '9');
  }

  /// What the value at the current position is ("an array"), or null when no
  /// value can start here (then a syntax error is due).
  const char *valueKind() const {
    switch (peek()) {
    case '{':
      return "an object";
    case '[':
      return "an array";
    case '"':
      return "a string";
    case 't':
    case 'f':
      return "a boolean";
    case 'n':
      return "null";
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
      return "a number";
    default:
      return nullptr;
    }
  }

  /// Fails with `prefix + "found <kind>"` for a wrong type, or with a syntax
  /// error when no value starts here.
  bool wrongType(const std::string &prefix) {
    const char *kind = valueKind();
    if (!kind)
      return syntaxExpected("a value");
    return fail(prefix + "found " + kind);
  }

  /// Parses a string at the current position (which must be '"').
  bool parseString(std::string &out) {
    out.clear();
    if (peek() != '"')
      return syntaxExpected("a string");
    ++i_;
    for (;;) {
      size_t run = i_;
      while (i_ < n_) {
        uint8_t c = (uint8_t)p_[i_];
        if (c == '"' || c == '\\' || c < 0x20)
          break;
        ++i_;
      }
      out.append(p_ + run, i_ - run);
      if (i_ >= n_)
        return syntax("unterminated string");
      uint8_t c = (uint8_t)p_[i_];
      if (c == '"') {
        ++i_;
        return true;
      }
      if (c < 0x20)
        return syntax("control character " + byteString(c) +
                      " in a string (write it as an escape)");
      // A backslash.
      if (n_ - i_ < 2) {
        ++i_;
        return syntax("unterminated string");
      }
      char e = p_[i_ + 1];
      switch (e) {
      case '"':
        out += '"';
        i_ += 2;
        break;
      case '\\':
        out += '\\';
        i_ += 2;
        break;
      case '/':
        out += '/';
        i_ += 2;
        break;
      case 'b':
        out += '\b';
        i_ += 2;
        break;
      case 'f':
        out += '\f';
        i_ += 2;
        break;
      case 'n':
        out += '\n';
        i_ += 2;
        break;
      case 'r':
        out += '\r';
        i_ += 2;
        break;
      case 't':
        out += '\t';
        i_ += 2;
        break;
      case 'u': {
        uint32_t cp;
        if (!parseHex4(cp))
          return false;
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
          i_ -= 6;
          return syntax("lone trailing surrogate in a \\u escape");
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (n_ - i_ < 2 || p_[i_] != '\\' || p_[i_ + 1] != 'u') {
            i_ -= 6;
            return syntax("lone leading surrogate in a \\u escape");
          }
          uint32_t lo;
          if (!parseHex4(lo))
            return false;
          if (lo < 0xDC00 || lo > 0xDFFF) {
            i_ -= 12;
            return syntax("lone leading surrogate in a \\u escape");
          }
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        appendUtf8(out, cp);
        break;
      }
      default:
        return syntax("invalid escape: a backslash followed by " +
                      byteString((uint8_t)e));
      }
    }
  }

  /// Parses a number (JSON grammar) at the current position.
  bool parseNumber(Number &num) {
    num = Number();
    size_t start = i_;
    if (peek() == '-') {
      num.negative = true;
      ++i_;
    }
    if (peek() == '0') {
      ++i_;
    } else if (peek() >= '1' && peek() <= '9') {
      while (peek() >= '0' && peek() <= '9')
        ++i_;
    } else {
      return syntaxExpected("a digit");
    }
    size_t intEnd = i_;
    if (peek() == '.') {
      ++i_;
      num.integral = false;
      if (!(peek() >= '0' && peek() <= '9'))
        return syntaxExpected("a digit after '.'");
      while (peek() >= '0' && peek() <= '9')
        ++i_;
    }
    if (peek() == 'e' || peek() == 'E') {
      ++i_;
      num.integral = false;
      if (peek() == '+' || peek() == '-')
        ++i_;
      if (!(peek() >= '0' && peek() <= '9'))
        return syntaxExpected("a digit in the exponent");
      while (peek() >= '0' && peek() <= '9')
        ++i_;
    }
    num.text = std::string_view(p_ + start, i_ - start);
    num.fits = num.integral && !num.negative;
    if (num.fits) {
      for (size_t k = start; k < intEnd; ++k) {
        uint64_t d = (uint64_t)(p_[k] - '0');
        if (__builtin_mul_overflow(num.value, (uint64_t)10, &num.value) ||
            __builtin_add_overflow(num.value, d, &num.value)) {
          num.fits = false;
          break;
        }
      }
      if (!num.fits)
        num.value = 0;
    }
    return true;
  }

  /// Opens a container at nesting level `depth` (1 for the top level).
  bool enter(int depth) {
    if (depth >= kMaxDepth)
      return syntax("nesting deeper than " + std::to_string(kMaxDepth - 1) +
                    " levels");
    ++i_;
    return true;
  }

  /// Skips one value (of any type) whose containers would be at nesting
  /// level `depth` and deeper.
  bool skipValue(int depth) {
    skipWs();
    switch (peek()) {
    case '{': {
      if (!enter(depth))
        return false;
      skipWs();
      if (peek() == '}') {
        ++i_;
        return true;
      }
      for (;;) {
        skipWs();
        if (!parseString(scratch_))
          return false;
        if (!expect(':', "':'") || !skipValue(depth + 1))
          return false;
        skipWs();
        if (peek() == ',') {
          ++i_;
          continue;
        }
        if (peek() == '}') {
          ++i_;
          return true;
        }
        return syntaxExpected("',' or '}'");
      }
    }
    case '[': {
      if (!enter(depth))
        return false;
      skipWs();
      if (peek() == ']') {
        ++i_;
        return true;
      }
      for (;;) {
        if (!skipValue(depth + 1))
          return false;
        skipWs();
        if (peek() == ',') {
          ++i_;
          continue;
        }
        if (peek() == ']') {
          ++i_;
          return true;
        }
        return syntaxExpected("',' or ']'");
      }
    }
    case '"':
      return parseString(scratch_);
    case 't':
      return literal("true");
    case 'f':
      return literal("false");
    case 'n':
      return literal("null");
    default: {
      if (!valueKind())
        return syntaxExpected("a value");
      Number num;
      return parseNumber(num);
    }
    }
  }

  bool literal(const char *word) {
    size_t len = std::strlen(word);
    if (n_ - i_ < len || std::memcmp(p_ + i_, word, len) != 0)
      return syntaxExpected("a value");
    i_ += len;
    return true;
  }

  /// Iterates the members of an object whose '{' is at the current position
  /// and which sits at nesting level `depth`: for each member, parses the key
  /// and the ':' and calls `member(key)`, which must consume the value.
  template <typename F> bool members(int depth, F &&member) {
    if (!enter(depth))
      return false;
    skipWs();
    if (peek() == '}') {
      ++i_;
      return true;
    }
    std::string key;
    for (;;) {
      skipWs();
      if (peek() != '"')
        return syntaxExpected("a string key");
      if (!parseString(key) || !expect(':', "':'"))
        return false;
      skipWs();
      if (!member(key))
        return false;
      skipWs();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      if (peek() == '}') {
        ++i_;
        return true;
      }
      return syntaxExpected("',' or '}'");
    }
  }

  /// The same for the elements of an array: `element(index)` must consume
  /// the value.
  template <typename F> bool elements(int depth, F &&element) {
    if (!enter(depth))
      return false;
    skipWs();
    if (peek() == ']') {
      ++i_;
      return true;
    }
    for (size_t k = 0;; ++k) {
      skipWs();
      if (!element(k))
        return false;
      skipWs();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      if (peek() == ']') {
        ++i_;
        return true;
      }
      return syntaxExpected("',' or ']'");
    }
  }

private:
  bool parseHex4(uint32_t &cp) {
    // At "\u".
    if (n_ - i_ < 6) {
      i_ = n_;
      return syntax("unterminated \\u escape");
    }
    cp = 0;
    for (size_t k = 2; k < 6; ++k) {
      char h = p_[i_ + k];
      uint32_t d;
      if (h >= '0' && h <= '9')
        d = (uint32_t)(h - '0');
      else if (h >= 'a' && h <= 'f')
        d = (uint32_t)(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F')
        d = (uint32_t)(h - 'A' + 10);
      else {
        i_ += k;
        return syntaxExpected("a hex digit in a \\u escape");
      }
      cp = cp * 16 + d;
    }
    i_ += 6;
    return true;
  }

  const char *p_;
  size_t n_;
  size_t i_ = 0;
  std::string what_;
  std::string error_;
  std::string scratch_;
};

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
    // "tensor 'a': shape[1] ", built only for a message.
    auto element = [&](const char *field, size_t k) {
      return pre + field + "[" + std::to_string(k) + "] ";
    };
    bool haveDType = false, haveShape = false, haveOffsets = false;
    std::string text;
    bool ok = r_.members(2, [&](const std::string &key) {
      if (key == "dtype") {
        if (haveDType)
          return r_.fail(pre + "dtype is given twice");
        haveDType = true;
        if (r_.peek() != '"')
          return r_.wrongType(pre + "dtype must be a string, ");
        if (!r_.parseString(text))
          return false;
        if (auto d = safetensorsDType(text)) {
          t.dtype = *d;
          return true;
        }
        if (isKnownUnsupportedDType(text))
          return r_.fail(pre + "unsupported dtype " + text +
                         " (weight-layout has no such element type)");
        return r_.fail(pre + "unknown dtype " + quoted(text));
      }
      if (key == "shape") {
        if (haveShape)
          return r_.fail(pre + "shape is given twice");
        haveShape = true;
        if (r_.peek() != '[')
          return r_.wrongType(
              pre + "shape must be an array of non-negative integers, ");
        return r_.elements(3, [&](size_t k) {
          if (!r_.atNumber())
            return r_.wrongType(element("shape", k) +
                                "must be a non-negative integer, ");
          Number num;
          if (!r_.parseNumber(num))
            return false;
          if (num.negative)
            return r_.fail(element("shape", k) + "is negative (" +
                           std::string(num.text) + ")");
          if (!num.integral)
            return r_.fail(element("shape", k) + "is not an integer (" +
                           std::string(num.text) + ")");
          if (!num.fits || num.value > (uint64_t)INT64_MAX)
            return r_.fail(element("shape", k) + "is too large (" +
                           std::string(num.text) + ")");
          t.shape.push_back((int64_t)num.value);
          return true;
        });
      }
      if (key == "data_offsets") {
        if (haveOffsets)
          return r_.fail(pre + "data_offsets is given twice");
        haveOffsets = true;
        if (r_.peek() != '[')
          return r_.wrongType(pre + "data_offsets must be [begin, end], ");
        size_t count = 0;
        bool elementsOk = r_.elements(3, [&](size_t k) {
          ++count;
          if (k >= 2) // counted, reported after the array
            return r_.skipValue(4);
          if (!r_.atNumber())
            return r_.wrongType(element("data_offsets", k) +
                                "must be a non-negative integer, ");
          Number num;
          if (!r_.parseNumber(num))
            return false;
          if (num.negative)
            return r_.fail(element("data_offsets", k) + "is negative (" +
                           std::string(num.text) + ")");
          if (!num.integral)
            return r_.fail(element("data_offsets", k) + "is not an integer (" +
                           std::string(num.text) + ")");
          if (!num.fits)
            return r_.fail(element("data_offsets", k) + "is too large (" +
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
    h_.tensors.push_back(std::move(t));
    return true;
  }

  Reader r_;
  Header &h_;
  std::unordered_set<std::string> names_;
  bool seenMetadata_ = false;
};

uint64_t readLE64(const uint8_t *p) {
  uint64_t v = 0;
  for (int k = 7; k >= 0; --k)
    v = (v << 8) | p[k];
  return v;
}

//===----------------------------------------------------------------------===//
// Files
//===----------------------------------------------------------------------===//

std::string errnoString(const char *what) {
  return std::string(what) + ": " + std::strerror(errno);
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string joinPath(const std::string &folder, const std::string &name) {
  if (folder.empty())
    return name;
  if (folder.back() == '/')
    return folder + name;
  return folder + "/" + name;
}

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

bool parseIndex(const std::string &text, Index &index, std::string &error) {
  size_t bad = firstInvalidUtf8((const uint8_t *)text.data(), text.size());
  if (bad != std::string::npos) {
    error = "not valid UTF-8 (byte " + std::to_string(bad) + ")";
    return false;
  }
  Reader r(text.data(), text.size(), "the index");
  bool haveMap = false, haveMetadata = false;
  std::map<std::string, uint32_t, std::less<>> fileIds;
  auto top = [&]() -> bool {
    r.skipWs();
    if (r.peek() != '{') {
      if (r.atEnd())
        return r.fail("the index holds no JSON value");
      return r.wrongType("the index must be a JSON object, ");
    }
    bool ok = r.members(1, [&](const std::string &key) {
      if (key == "weight_map") {
        if (haveMap)
          return r.fail("\"weight_map\" is given twice");
        haveMap = true;
        if (r.peek() != '{')
          return r.wrongType(
              "\"weight_map\" must map tensor names to file names, ");
        std::string file;
        return r.members(2, [&](const std::string &name) {
          if (r.peek() != '"')
            return r.wrongType("\"weight_map\": the file of " + quoted(name) +
                               " must be a string, ");
          if (!r.parseString(file))
            return false;
          auto [it, added] =
              fileIds.emplace(file, (uint32_t)index.files.size());
          if (added)
            index.files.push_back(file);
          index.weightMap.emplace_back(name, it->second);
          return true;
        });
      }
      if (key == "metadata") {
        if (haveMetadata)
          return r.fail("\"metadata\" is given twice");
        haveMetadata = true;
        if (r.peek() == 'n')
          return r.literal("null");
        if (r.peek() != '{')
          return r.wrongType("\"metadata\" must be an object, ");
        bool haveTotal = false;
        return r.members(2, [&](const std::string &mkey) {
          if (mkey != "total_size")
            return r.skipValue(3);
          if (haveTotal)
            return r.fail("\"metadata\": \"total_size\" is given twice");
          haveTotal = true;
          if (!r.atNumber())
            return r.wrongType("\"metadata\": \"total_size\" must be a "
                               "number, ");
          Number num;
          return r.parseNumber(num);
        });
      }
      return r.skipValue(2);
    });
    if (!ok)
      return false;
    r.skipWs();
    if (!r.atEnd())
      return r.syntax("unexpected " + byteString((uint8_t)r.peek()) +
                      " after the index's object");
    if (!haveMap)
      return r.fail("no \"weight_map\"");
    return true;
  };
  if (!top()) {
    error = r.error();
    return false;
  }
  // A name listed twice: the first, in the index's order, of those that are.
  std::vector<uint32_t> order(index.weightMap.size());
  for (size_t k = 0; k < order.size(); ++k)
    order[k] = (uint32_t)k;
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return index.weightMap[a].first < index.weightMap[b].first;
  });
  size_t firstTwice = SIZE_MAX;
  for (size_t k = 1; k < order.size(); ++k)
    if (index.weightMap[order[k]].first == index.weightMap[order[k - 1]].first)
      firstTwice = std::min<size_t>(firstTwice, order[k]);
  if (firstTwice != SIZE_MAX) {
    error = "\"weight_map\" lists " + quoted(index.weightMap[firstTwice].first) +
            " twice";
    return false;
  }
  return true;
}

/// Why `name` cannot be a file name in the checkpoint's folder, or "".
std::string badFileName(const std::string &name) {
  if (name.empty())
    return "is empty";
  if (name == "." || name == ".." || name.find("..") != std::string::npos)
    return "contains '..'";
  if (name.find('/') != std::string::npos ||
      name.find('\\') != std::string::npos)
    return "is not a plain file name (it contains a path separator)";
  if (name.find('\0') != std::string::npos)
    return "contains a NUL byte";
  return "";
}

bool isRegularFile(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

void appendJsonString(std::string &out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    uint8_t c = (uint8_t)ch;
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
    default:
      if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else {
        out += ch;
      }
    }
  }
  out += '"';
}

/// Builds the padded header JSON and each tensor's offset within the data
/// section, or fails with the reason the tensors cannot be written.
bool buildHeader(const std::vector<OutTensor> &tensors,
                 const std::map<std::string, std::string> &metadata,
                 std::string &json, std::vector<uint64_t> &begins,
                 uint64_t &total, std::string &error) {
  json = "{";
  begins.clear();
  begins.reserve(tensors.size());
  total = 0;
  std::unordered_set<std::string_view> names;
  names.reserve(tensors.size());
  bool first = true;
  for (const OutTensor &t : tensors) {
    if (!isValidUtf8(t.name)) {
      error = "tensor name " + quoted(t.name) + " is not valid UTF-8";
      return false;
    }
    if (t.name == "__metadata__") {
      error = "a tensor cannot be named \"__metadata__\"";
      return false;
    }
    if (!names.insert(t.name).second) {
      error = "tensor " + quoted(t.name) + " is given twice";
      return false;
    }
    uint64_t bytes = t.bytes();
    if (bytes == UINT64_MAX) {
      error = tensorPrefix(t.name) + "shape " + shapeString(t.shape) +
              " is invalid or too large";
      return false;
    }
    uint64_t end;
    if (__builtin_add_overflow(total, bytes, &end)) {
      error = "the tensors hold more than 2^64 bytes";
      return false;
    }
    if (!first)
      json += ',';
    first = false;
    appendJsonString(json, t.name);
    json += ":{\"dtype\":\"";
    json += layout::safetensorsName(t.dtype);
    json += "\",\"shape\":[";
    for (size_t d = 0; d < t.shape.size(); ++d) {
      if (d)
        json += ',';
      json += std::to_string(t.shape[d]);
    }
    json += "],\"data_offsets\":[";
    json += std::to_string(total);
    json += ',';
    json += std::to_string(end);
    json += "]}";
    begins.push_back(total);
    total = end;
  }
  if (!metadata.empty()) {
    if (!first)
      json += ',';
    json += "\"__metadata__\":{";
    bool firstKey = true;
    for (const auto &[key, value] : metadata) {
      if (!isValidUtf8(key) || !isValidUtf8(value)) {
        error = "metadata " + quoted(key) + " is not valid UTF-8";
        return false;
      }
      if (!firstKey)
        json += ',';
      firstKey = false;
      appendJsonString(json, key);
      json += ':';
      appendJsonString(json, value);
    }
    json += '}';
  }
  json += '}';
  // (8 + N) % 8 == 0.
  json.append((8 - json.size() % 8) % 8, ' ');
  if (json.size() > kMaxHeaderBytes) {
    error = "the header would take " + std::to_string(json.size()) +
            " bytes, more than the limit of " + std::to_string(kMaxHeaderBytes);
    return false;
  }
  uint64_t fileSize;
  if (__builtin_add_overflow(total, (uint64_t)(8 + json.size()), &fileSize)) {
    error = "the file would hold more than 2^64 bytes";
    return false;
  }
  return true;
}

} // namespace

bool parseIndexText(const std::string &text,
                    std::vector<std::pair<std::string, std::string>> &weightMap,
                    std::string &error) {
  Index index;
  weightMap.clear();
  if (!parseIndex(text, index, error))
    return false;
  weightMap.reserve(index.weightMap.size());
  for (size_t k = 0; k < index.weightMap.size(); ++k)
    weightMap.emplace_back(index.weightMap[k].first, index.fileOf(k));
  return true;
}

//===----------------------------------------------------------------------===//
// parseHeader
//===----------------------------------------------------------------------===//

std::optional<Header> parseHeader(const uint8_t *data, size_t size,
                                  uint64_t fileSize, std::string &error) {
  if (fileSize < 8) {
    error = fileSize == 0 ? std::string("the file is empty")
                          : "the file holds " + std::to_string(fileSize) +
                                " bytes, too few for the 8-byte header length";
    return std::nullopt;
  }
  if (size < 8) {
    error = "only " + std::to_string(size) +
            " bytes of the file were given, fewer than the 8 of the header "
            "length";
    return std::nullopt;
  }
  uint64_t n = readLE64(data);
  if (n > kMaxHeaderBytes) {
    error = "header length " + std::to_string(n) + " exceeds the limit of " +
            std::to_string(kMaxHeaderBytes) + " bytes";
    return std::nullopt;
  }
  if (n > fileSize - 8) {
    error = "header length " + std::to_string(n) + " exceeds the file (" +
            std::to_string(fileSize) + " bytes";
    if (n <= fileSize)
      error += ", " + std::to_string(fileSize - 8) + " after the length";
    error += ")";
    return std::nullopt;
  }
  if (size - 8 < n) {
    error = "only " + std::to_string(size) +
            " bytes of the file were given, "
            "fewer than the " +
            std::to_string(8 + n) + " of the header length and header";
    return std::nullopt;
  }
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
      return std::nullopt;
    }
    if (t.begin < start) {
      error = "tensor " + quoted(t.name) + " overlaps " +
              quoted(h.tensors[k - 1].name);
      return std::nullopt;
    }
    start = t.end;
  }
  if (start > dataSize) {
    const TensorEntry &t = h.tensors.back();
    error = tensorPrefix(t.name) + "data_offsets " +
            offsetsString(t.begin, t.end) +
            " run past the end of the data section (" +
            std::to_string(dataSize) + " bytes)";
    return std::nullopt;
  }
  if (start < dataSize) {
    error = "the tensors end at byte " + std::to_string(start) +
            " of the data section, but it holds " + std::to_string(dataSize) +
            " bytes";
    return std::nullopt;
  }
  for (size_t k = 0; k < h.tensors.size(); ++k)
    h.byName.emplace(h.tensors[k].name, k);
  return h;
}

//===----------------------------------------------------------------------===//
// SafetensorsFile
//===----------------------------------------------------------------------===//

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

void SafetensorsFile::release(uint64_t begin, uint64_t end) const {
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
  uint64_t b = (begin + page - 1) / page * page; // inward
  uint64_t e = end / page * page;
  if (b >= e)
    return;
  madvise(const_cast<uint8_t *>(map_ + b), (size_t)(e - b), MADV_DONTNEED);
}

//===----------------------------------------------------------------------===//
// Checkpoint
//===----------------------------------------------------------------------===//

std::unique_ptr<Checkpoint> Checkpoint::open(const std::string &path,
                                             std::string &error) {
  constexpr const char *kSingle = "model.safetensors";
  constexpr const char *kIndex = "model.safetensors.index.json";

  std::unique_ptr<Checkpoint> ck(new Checkpoint());
  const std::string shown = escapeText(path);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    error = shown + ": " + errnoString("cannot open");
    return nullptr;
  }
  std::string single; // a file name in folder_, or ""
  std::string index;  // the index's file name in folder_, or ""
  if (S_ISDIR(st.st_mode)) {
    ck->folder_ = path;
    while (ck->folder_.size() > 1 && ck->folder_.back() == '/')
      ck->folder_.pop_back();
    DIR *dir = opendir(path.c_str());
    if (!dir) {
      error = shown + ": " + errnoString("cannot list");
      return nullptr;
    }
    std::vector<std::string> weightFiles, indexFiles;
    while (struct dirent *d = readdir(dir)) {
      std::string name = d->d_name;
      bool isWeights = endsWith(name, ".safetensors");
      bool isIndex = endsWith(name, ".safetensors.index.json");
      // stat, not d_type: the Hugging Face cache links files to blobs.
      if ((isWeights || isIndex) && isRegularFile(joinPath(ck->folder_, name)))
        (isWeights ? weightFiles : indexFiles).push_back(name);
    }
    closedir(dir);
    std::sort(weightFiles.begin(), weightFiles.end());
    std::sort(indexFiles.begin(), indexFiles.end());
    auto has = [](const std::vector<std::string> &v, const char *n) {
      return std::find(v.begin(), v.end(), n) != v.end();
    };
    auto list = [](const std::vector<std::string> &v) {
      std::string s;
      for (size_t k = 0; k < v.size() && k < 4; ++k)
        s += (k ? ", " : "") + quoted(v[k]);
      if (v.size() > 4)
        s += ", ...";
      return s;
    };
    if (has(weightFiles, kSingle)) {
      single = kSingle;
    } else if (has(indexFiles, kIndex)) {
      index = kIndex;
    } else if (indexFiles.size() == 1) {
      index = indexFiles[0];
    } else if (indexFiles.size() > 1) {
      error = shown + ": " + std::to_string(indexFiles.size()) +
              " index files (" + list(indexFiles) + "), none of them " +
              kIndex + ", and no " + kSingle;
      return nullptr;
    } else if (weightFiles.size() == 1) {
      single = weightFiles[0];
    } else if (weightFiles.empty()) {
      error = shown + ": no .safetensors file";
      return nullptr;
    } else {
      error = shown + ": " + std::to_string(weightFiles.size()) +
              " .safetensors files (" + list(weightFiles) + ") but no " +
              kIndex + " to say which tensor is where";
      return nullptr;
    }
    ck->weightFileNames_ = weightFiles;
    ck->weightFileNames_.insert(ck->weightFileNames_.end(), indexFiles.begin(),
                                indexFiles.end());
    std::sort(ck->weightFileNames_.begin(), ck->weightFileNames_.end());
  } else if (S_ISREG(st.st_mode)) {
    size_t slash = path.rfind('/');
    ck->folder_ = slash == std::string::npos ? "."
                  : slash == 0               ? "/"
                                             : path.substr(0, slash);
    std::string name =
        slash == std::string::npos ? path : path.substr(slash + 1);
    if (endsWith(name, ".index.json"))
      index = name;
    else
      single = name;
    ck->weightFileNames_.push_back(name);
  } else {
    error = shown + ": not a file or a folder";
    return nullptr;
  }

  if (!single.empty()) {
    auto f = SafetensorsFile::open(joinPath(ck->folder_, single), error);
    if (!f)
      return nullptr;
    for (const TensorEntry &t : f->header().tensors)
      ck->byName_.emplace(t.name, Located{f.get(), &t});
    ck->files_.push_back(std::move(f));
    return ck;
  }

  // With an index.
  std::string indexPath = escapeText(joinPath(ck->folder_, index));
  std::string text, why;
  Index idx;
  if (!readRegularFile(joinPath(ck->folder_, index), limits::kMaxIndexBytes,
                       text, why) ||
      !parseIndex(text, idx, why)) {
    error = indexPath + ": " + why;
    return nullptr;
  }
  text.clear();
  text.shrink_to_fit();
  // The files, sorted, each with the first tensor the map gives it.
  std::vector<size_t> firstUse(idx.files.size(), SIZE_MAX);
  for (size_t k = 0; k < idx.weightMap.size(); ++k) {
    const std::string &file = idx.fileOf(k);
    std::string bad = badFileName(file);
    if (!bad.empty()) {
      error = indexPath + ": the file name " + quoted(file) + " of " +
              quoted(idx.weightMap[k].first) + " " + bad;
      return nullptr;
    }
    uint32_t id = idx.weightMap[k].second;
    firstUse[id] = std::min(firstUse[id], k);
  }
  std::vector<uint32_t> byFileName(idx.files.size());
  for (size_t k = 0; k < byFileName.size(); ++k)
    byFileName[k] = (uint32_t)k;
  std::sort(byFileName.begin(), byFileName.end(),
            [&](uint32_t a, uint32_t b) { return idx.files[a] < idx.files[b]; });
  std::vector<size_t> fileIndex(idx.files.size()); ///< id -> files_ index
  for (uint32_t id : byFileName) {
    const std::string &file = idx.files[id];
    std::string full = joinPath(ck->folder_, file);
    struct stat fst;
    if (::stat(full.c_str(), &fst) != 0 && errno == ENOENT) {
      error = indexPath + ": " + quoted(file) + ", named for " +
              quoted(idx.weightMap[firstUse[id]].first) + ", is missing";
      return nullptr;
    }
    auto f = SafetensorsFile::open(full, error);
    if (!f)
      return nullptr;
    fileIndex[id] = ck->files_.size();
    ck->files_.push_back(std::move(f));
    if (std::find(ck->weightFileNames_.begin(), ck->weightFileNames_.end(),
                  file) == ck->weightFileNames_.end())
      ck->weightFileNames_.push_back(file);
  }
  std::sort(ck->weightFileNames_.begin(), ck->weightFileNames_.end());
  auto fileName = [&](const SafetensorsFile *f) {
    std::string p = f->path();
    size_t slash = p.rfind('/');
    return quoted(slash == std::string::npos ? p : p.substr(slash + 1));
  };
  for (const auto &f : ck->files_) {
    for (const TensorEntry &t : f->header().tensors) {
      auto [it, inserted] = ck->byName_.emplace(t.name, Located{f.get(), &t});
      if (!inserted) {
        error = indexPath + ": tensor " + quoted(t.name) + " is in both " +
                fileName(it->second.file) + " and " + fileName(f.get());
        return nullptr;
      }
    }
  }
  // Every name the map gives is where it says; since names are unique on
  // both sides, equal counts then mean every tensor is in the map.
  for (size_t k = 0; k < idx.weightMap.size(); ++k) {
    const std::string &name = idx.weightMap[k].first;
    const std::string &file = idx.fileOf(k);
    auto it = ck->byName_.find(name);
    if (it == ck->byName_.end()) {
      error = indexPath + ": \"weight_map\" maps " + quoted(name) + " to " +
              quoted(file) + ", which does not hold it";
      return nullptr;
    }
    const SafetensorsFile *want =
        ck->files_[fileIndex[idx.weightMap[k].second]].get();
    if (it->second.file != want) {
      error = indexPath + ": \"weight_map\" maps " + quoted(name) + " to " +
              quoted(file) + ", but it is in " + fileName(it->second.file);
      return nullptr;
    }
  }
  if (ck->byName_.size() != idx.weightMap.size()) {
    std::vector<std::string_view> mapped;
    mapped.reserve(idx.weightMap.size());
    for (const auto &entry : idx.weightMap)
      mapped.push_back(entry.first);
    std::sort(mapped.begin(), mapped.end());
    for (const auto &f : ck->files_)
      for (const TensorEntry &t : f->header().tensors)
        if (!std::binary_search(mapped.begin(), mapped.end(),
                                std::string_view(t.name))) {
          error = indexPath + ": tensor " + quoted(t.name) + " of " +
                  fileName(f.get()) + " is not in \"weight_map\"";
          return nullptr;
        }
  }
  return ck;
}

bool Checkpoint::unchanged(std::string &error) const {
  for (const auto &f : files_)
    if (!f->unchanged(error))
      return false;
  return true;
}

Checkpoint::Located Checkpoint::find(std::string_view name) const {
  auto it = byName_.find(name);
  return it == byName_.end() ? Located{} : it->second;
}

std::vector<Checkpoint::Located> Checkpoint::tensors() const {
  std::vector<Located> out;
  out.reserve(byName_.size());
  for (const auto &f : files_)
    for (const TensorEntry &t : f->header().tensors)
      out.push_back(Located{f.get(), &t});
  return out;
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

uint64_t OutTensor::bytes() const {
  std::optional<int64_t> n = layout::numElements(shape);
  uint64_t b;
  if (!n ||
      __builtin_mul_overflow((uint64_t)*n, (uint64_t)layout::dtypeSize(dtype),
                             &b) ||
      b == UINT64_MAX)
    return UINT64_MAX;
  return b;
}

bool checkOutTensors(const std::vector<OutTensor> &tensors,
                     const std::map<std::string, std::string> &metadata,
                     std::string &error) {
  std::string json;
  std::vector<uint64_t> begins;
  uint64_t total;
  return buildHeader(tensors, metadata, json, begins, total, error);
}

FileLayout layoutFile(const std::vector<OutTensor> &tensors,
                      const std::map<std::string, std::string> &metadata) {
  std::string json, error;
  std::vector<uint64_t> begins;
  uint64_t total = 0;
  if (!buildHeader(tensors, metadata, json, begins, total, error)) {
    std::fprintf(stderr, "wl::runtime::layoutFile: %s\n", error.c_str());
    std::abort();
  }
  FileLayout out;
  uint64_t n = json.size();
  out.prefix.reserve(8 + json.size());
  for (int k = 0; k < 8; ++k)
    out.prefix += (char)(uint8_t)(n >> (8 * k));
  out.prefix += json;
  out.offsets.reserve(begins.size());
  for (uint64_t b : begins)
    out.offsets.push_back(8 + n + b);
  out.fileSize = 8 + n + total;
  return out;
}

std::vector<FileGroup> splitFiles(const std::vector<OutTensor> &tensors,
                                  uint64_t maxFileBytes) {
  std::vector<FileGroup> files(1);
  uint64_t used = 0;
  for (size_t k = 0; k < tensors.size(); ++k) {
    uint64_t bytes = tensors[k].bytes();
    uint64_t sum;
    // A zero-sized tensor never overflows the file it joins.
    bool over =
        (__builtin_add_overflow(used, bytes, &sum) || sum > maxFileBytes) &&
        bytes > 0;
    if (over && !files.back().tensors.empty()) {
      files.emplace_back();
      used = 0;
      sum = bytes;
    }
    files.back().tensors.push_back(k);
    used = sum;
  }
  if (files.size() == 1) {
    files[0].name = "model.safetensors";
  } else {
    for (size_t k = 0; k < files.size(); ++k) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "model-%05zu-of-%05zu.safetensors", k + 1,
                    files.size());
      files[k].name = buf;
    }
  }
  return files;
}

std::string indexJson(const std::vector<OutTensor> &tensors,
                      const std::vector<FileGroup> &files) {
  std::map<std::string, const std::string *> weightMap;
  uint64_t total = 0;
  for (const FileGroup &g : files)
    for (size_t k : g.tensors) {
      weightMap.emplace(tensors[k].name, &g.name);
      uint64_t b = tensors[k].bytes();
      if (__builtin_add_overflow(total, b, &total))
        total = UINT64_MAX;
    }
  std::string out = "{\n  \"metadata\": {\n    \"total_size\": ";
  out += std::to_string(total);
  out += "\n  },\n  \"weight_map\": {";
  bool first = true;
  for (const auto &[name, file] : weightMap) {
    out += first ? "\n    " : ",\n    ";
    first = false;
    appendJsonString(out, name);
    out += ": ";
    appendJsonString(out, *file);
  }
  out += first ? "}\n}\n" : "\n  }\n}\n";
  return out;
}

} // namespace wl::runtime
