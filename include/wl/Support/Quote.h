//===- Quote.h - names from untrusted input, safe in one-line messages -*- C++ -*-===//
//
// Plain C++17. Tensor names, JSON keys and file names come from files the
// tool does not trust; a message prints them through quoteName, so that a
// name can neither break the message into several lines (or forge one) nor
// make it arbitrarily long.
//
//===----------------------------------------------------------------------===//
#ifndef WL_SUPPORT_QUOTE_H
#define WL_SUPPORT_QUOTE_H

#include <string>
#include <string_view>

namespace wl {

/// `s` between single quotes, as one line of printable text:
///   - \n, \t and \r as those escapes; other C0 controls, DEL, the C1
///     controls (U+0080..U+009F), the line and paragraph separators
///     (U+2028, U+2029) and the bidirectional overrides (U+202A..U+202E,
///     U+2066..U+2069) as \xHH per byte (\x00 for NUL);
///   - a byte that is not part of valid UTF-8 as \xHH;
///   - a backslash as \\ and a single quote as \', so that the escapes above
///     cannot be forged by the name itself;
///   - at most limits::kMaxShownNameBytes bytes of `s` are shown, cut at a
///     character boundary, then "..." inside the quotes.
std::string quoteName(std::string_view s);

/// As quoteName, for text that users write (spec expressions and name
/// patterns): quotes and backslashes are shown as they are, so that
/// `layer_types[L] == 'full_attention'` reads as written; everything else
/// (escapes, the cut) is the same.
std::string quoteText(std::string_view s);

/// quoteText without the quotes around it, for text a message shows
/// inside its own delimiters.
std::string escapeText(std::string_view s);

} // namespace wl

#endif // WL_SUPPORT_QUOTE_H
