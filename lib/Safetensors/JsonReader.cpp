//===- JsonReader.cpp - the JSON pull parser of untrusted headers ---------===//
//
// The methods of Reader (JsonReader.h) that are not inline: strings and
// their escapes, numbers, values skipped, and the messages of errors.
//
//===----------------------------------------------------------------------===//
#include "JsonReader.h"

#include "Internal.h"

#include <cstring>

namespace wl::runtime::detail {

bool Reader::syntax(const std::string &what) {
  return fail("invalid JSON at byte " + std::to_string(i_) + " of " + what_ +
              ": " + what);
}

bool Reader::syntaxExpected(const std::string &expected) {
  if (atEnd())
    return syntax("expected " + expected + ", found the end");
  return syntax("expected " + expected + ", found " +
                byteString((uint8_t)p_[i_]));
}

const char *Reader::valueKind() const {
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

bool Reader::wrongType(const std::string &prefix) {
  const char *kind = valueKind();
  if (!kind)
    return syntaxExpected("a value");
  return fail(prefix + "found " + kind);
}

bool Reader::parseString(std::string &out) {
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
    if (!parseEscape(out))
      return false;
  }
}

bool Reader::parseEscape(std::string &out) {
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
  return true;
}

bool Reader::parseNumber(Number &num) {
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

bool Reader::skipValue(int depth) {
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

bool Reader::literal(const char *word) {
  size_t len = std::strlen(word);
  if (n_ - i_ < len || std::memcmp(p_ + i_, word, len) != 0)
    return syntaxExpected("a value");
  i_ += len;
  return true;
}

bool Reader::parseHex4(uint32_t &cp) {
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

} // namespace wl::runtime::detail
