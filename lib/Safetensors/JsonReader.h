//===- JsonReader.h - the JSON pull parser of untrusted headers -*- C++ -*-===//
//
// Plain C++17, no MLIR, no JSON library. The header of a safetensors file
// (and the index of a checkpoint) is read by a small pull parser written for
// untrusted input: it validates the JSON grammar as it goes, never reads past
// the end of its buffer, limits nesting as serde_json does (127 levels), and
// builds only the values the format needs (unknown values are skipped, not
// stored). See docs/safetensors.md for the rules and where they differ from
// the reference implementation. Private to lib/Safetensors (Header.cpp,
// Index.cpp); the methods that are not inline are in JsonReader.cpp.
//
//===----------------------------------------------------------------------===//
#ifndef WL_LIB_SAFETENSORS_JSONREADER_H
#define WL_LIB_SAFETENSORS_JSONREADER_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace wl::runtime::detail {

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
  bool syntax(const std::string &what);
  bool syntaxExpected(const std::string &expected);

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
  const char *valueKind() const;

  /// Fails with `prefix + "found <kind>"` for a wrong type, or with a syntax
  /// error when no value starts here.
  bool wrongType(const std::string &prefix);

  /// Parses a string at the current position (which must be '"').
  bool parseString(std::string &out);

  /// Parses a number (JSON grammar) at the current position.
  bool parseNumber(Number &num);

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
  bool skipValue(int depth);

  bool literal(const char *word);

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
  /// At a backslash in a string: appends what the escape stands for.
  bool parseEscape(std::string &out);
  bool parseHex4(uint32_t &cp);

  const char *p_;
  size_t n_;
  size_t i_ = 0;
  std::string what_;
  std::string error_;
  std::string scratch_;
};

} // namespace wl::runtime::detail

#endif // WL_LIB_SAFETENSORS_JSONREADER_H
