//===- Json.cpp - strict JSON for the files users give --------------------===//
#include "wl/Support/Json.h"

#include "wl/Support/Limits.h"
#include "wl/Support/Quote.h"

#include <cctype>
#include <set>
#include <vector>

namespace wl {

using ojson = nlohmann::ordered_json;

namespace {

/// Thrown from the parser's callback to stop at a duplicate key or at the
/// depth limit.
struct Refused {
  std::string message;
};

/// Where the parser is: one frame per open object or list.
struct Frame {
  bool object = false;
  std::set<std::string> keys; ///< object: keys seen so far
  std::string key;            ///< object: the member being read
  size_t index = 0;           ///< list: the element being read
};

std::string pathOf(const std::vector<Frame> &stack) {
  std::string p;
  for (size_t k = 0; k + 1 <= stack.size(); ++k) {
    const Frame &f = stack[k];
    if (f.object)
      p = jsonPathKey(p, f.key);
    else
      p += "[" + std::to_string(f.index) + "]";
  }
  return p;
}

/// The name of a non-JSON literal starting at text[pos], or "".
std::string nonJsonLiteral(const std::string &text, size_t pos) {
  for (const char *w : {"NaN", "Infinity", "-Infinity", "+Infinity", "nan",
                        "inf", "-inf"}) {
    size_t n = std::char_traits<char>::length(w);
    if (text.compare(pos, n, w) == 0)
      return w;
  }
  return "";
}

/// nlohmann's "[json.exception.parse_error.101] parse error at line 3,
/// column 18: syntax error ..." as "line 3, column 18: syntax error ...",
/// at most 300 bytes, one line.
std::string syntaxMessage(const ojson::parse_error &e, const std::string &text) {
  std::string m = e.what();
  size_t at = m.find(" at line ");
  m = at == std::string::npos ? m : m.substr(at + 4);
  size_t colon = m.find(": ");
  std::string where = colon == std::string::npos ? "" : m.substr(0, colon);
  std::string why = colon == std::string::npos ? m : m.substr(colon + 2);
  // The token that failed starts at or just before the byte nlohmann gives.
  for (size_t back = 2; back-- > 0;) {
    if (e.byte < 1 + back)
      continue;
    std::string lit = nonJsonLiteral(text, e.byte - 1 - back);
    if (!lit.empty()) {
      why = lit + " is not JSON (JSON has no NaN or Infinity)";
      break;
    }
  }
  std::string out = where.empty() ? why : where + ": " + why;
  for (char &c : out)
    if ((unsigned char)c < 0x20 || c == 0x7F)
      c = ' ';
  if (out.size() > 300)
    out = out.substr(0, 297) + "...";
  return out;
}

} // namespace

std::string jsonPathKey(const std::string &parent, const std::string &key) {
  bool plain = !key.empty() && !std::isdigit((unsigned char)key[0]);
  for (char c : key)
    plain &= std::isalnum((unsigned char)c) || c == '_';
  if (plain)
    return parent.empty() ? key : parent + "." + key;
  // ["key"], the key escaped and cut as quoteText shows text.
  std::string inner;
  for (char c : escapeText(key))
    inner += c == '"' ? std::string("\\\"") : std::string(1, c);
  return parent + "[\"" + inner + "\"]";
}

std::optional<ojson> parseJson(const std::string &text, std::string &error) {
  std::vector<Frame> stack;
  auto childDone = [&] {
    if (!stack.empty() && !stack.back().object)
      ++stack.back().index;
  };
  ojson::parser_callback_t callback = [&](int, ojson::parse_event_t event,
                                          ojson &parsed) {
    switch (event) {
    case ojson::parse_event_t::object_start:
    case ojson::parse_event_t::array_start:
      if ((int)stack.size() >= limits::kMaxJsonDepth)
        throw Refused{quoteName(pathOf(stack)) + " nests deeper than " +
                      std::to_string(limits::kMaxJsonDepth) + " levels"};
      stack.push_back(Frame{event == ojson::parse_event_t::object_start});
      break;
    case ojson::parse_event_t::key: {
      Frame &f = stack.back();
      std::string key = parsed.get<std::string>();
      if (!f.keys.insert(key).second) {
        f.key = key;
        throw Refused{quoteName(pathOf(stack)) + " is given twice"};
      }
      f.key = key;
      break;
    }
    case ojson::parse_event_t::object_end:
    case ojson::parse_event_t::array_end:
      stack.pop_back();
      childDone();
      break;
    case ojson::parse_event_t::value:
      childDone();
      break;
    }
    return true;
  };
  try {
    return ojson::parse(text, callback, /*allow_exceptions=*/true,
                        /*ignore_comments=*/false);
  } catch (const Refused &r) {
    error = r.message;
  } catch (const ojson::parse_error &e) {
    error = syntaxMessage(e, text);
  } catch (const ojson::exception &e) {
    error = e.what();
  }
  return std::nullopt;
}

const char *jsonTypeName(const ojson &v) {
  switch (v.type()) {
  case ojson::value_t::object:
    return "an object";
  case ojson::value_t::array:
    return "a list";
  case ojson::value_t::string:
    return "a string";
  case ojson::value_t::boolean:
    return "a boolean";
  case ojson::value_t::null:
    return "null";
  default:
    return "a number";
  }
}

std::optional<int64_t> jsonInteger(const ojson &v, std::string &why) {
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > (uint64_t)INT64_MAX) {
      why = "is " + std::to_string(u) +
            ", more than the largest integer 2^63 - 1";
      return std::nullopt;
    }
    return (int64_t)u;
  }
  if (v.is_number_integer())
    return v.get<int64_t>();
  if (v.is_number_float()) {
    why = "is " + v.dump() +
          ", a number with a fraction or an exponent, not an integer";
    return std::nullopt;
  }
  why = std::string("is ") + jsonTypeName(v) + ", not an integer";
  return std::nullopt;
}

} // namespace wl
