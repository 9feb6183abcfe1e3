//===- Quote.cpp - names from untrusted input, safe in one-line messages --===//
#include "wl/Support/Quote.h"

#include "wl/Support/Limits.h"

#include <cstdint>
#include <cstdio>

namespace wl {

namespace {

/// The length of the valid UTF-8 sequence at s[i], or 0.
size_t utf8Length(std::string_view s, size_t i) {
  uint8_t c = (uint8_t)s[i];
  size_t n;
  uint32_t cp;
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size())
    return 0;
  for (size_t k = 1; k < n; ++k) {
    uint8_t d = (uint8_t)s[i + k];
    if ((d & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (d & 0x3F);
  }
  // No overlong forms, no surrogates, nothing past U+10FFFF.
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

/// The code point of the valid sequence of `n` bytes at s[i].
uint32_t codePoint(std::string_view s, size_t i, size_t n) {
  static const uint8_t lead[] = {0, 0x7F, 0x1F, 0x0F, 0x07};
  uint32_t cp = (uint8_t)s[i] & lead[n];
  for (size_t k = 1; k < n; ++k)
    cp = (cp << 6) | ((uint8_t)s[i + k] & 0x3F);
  return cp;
}

bool shownEscaped(uint32_t cp) {
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) ||
         cp == 0x2028 || cp == 0x2029 || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

void appendHex(std::string &out, std::string_view bytes) {
  for (char ch : bytes) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02X", (unsigned)(uint8_t)ch);
    out += buf;
  }
}

std::string quote(std::string_view s, bool escapeQuotes) {
  std::string out = "'";
  size_t i = 0;
  while (i < s.size()) {
    size_t n = utf8Length(s, i);
    size_t take = n ? n : 1;
    if (i + take > limits::kMaxShownNameBytes) {
      out += "...";
      break;
    }
    std::string_view ch = s.substr(i, take);
    if (n == 0) {
      appendHex(out, ch);
    } else if (n == 1 && ch[0] == '\n') {
      out += "\\n";
    } else if (n == 1 && ch[0] == '\t') {
      out += "\\t";
    } else if (n == 1 && ch[0] == '\r') {
      out += "\\r";
    } else if (escapeQuotes && n == 1 && ch[0] == '\\') {
      out += "\\\\";
    } else if (escapeQuotes && n == 1 && ch[0] == '\'') {
      out += "\\'";
    } else if (shownEscaped(codePoint(s, i, n))) {
      appendHex(out, ch);
    } else {
      out += ch;
    }
    i += take;
  }
  out += "'";
  return out;
}

} // namespace

std::string quoteName(std::string_view s) { return quote(s, true); }

std::string quoteText(std::string_view s) { return quote(s, false); }

std::string escapeText(std::string_view s) {
  std::string q = quote(s, false);
  return q.substr(1, q.size() - 2);
}

} // namespace wl
