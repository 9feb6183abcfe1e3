//===- Json.h - strict JSON for the files users give --------------*- C++ -*-===//
//
// config.json, mapping specs and weight-layout.json are parsed here (the
// safetensors header and the index have their own parser, in
// lib/Safetensors). nlohmann::json alone accepts a key given twice in one
// object and keeps the last silently; here that is an error, and so is
// nesting deeper than limits::kMaxJsonDepth. Errors say where: the line
// and column of a syntax error, the JSON path of a duplicate key.
//
//===----------------------------------------------------------------------===//
#ifndef WL_SUPPORT_JSON_H
#define WL_SUPPORT_JSON_H

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace wl {

/// Parses `text` as one JSON value (RFC 8259; no comments, no NaN or
/// Infinity literals). On failure returns nullopt and sets `error` to one
/// line without the file's name, e.g.
///   "line 3, column 18: syntax error while parsing object - unexpected '}'"
///   "line 2, column 13: NaN is not JSON (JSON has no NaN or Infinity)"
///   "'num_attention_heads' is given twice"
///   "'text_config.layer_types[3]' nests deeper than 64 levels"
std::optional<nlohmann::ordered_json> parseJson(const std::string &text,
                                                std::string &error);

/// A path inside a JSON document as messages print it: `parent` followed
/// by `.key`, or `["key"]` for a key that is not a plain identifier (then
/// escaped and cut as quoteText shows text, `"` as `\"`).
std::string jsonPathKey(const std::string &parent, const std::string &key);

/// `v` as an int64 when it is a JSON integer in [INT64_MIN, INT64_MAX].
/// Otherwise nullopt, with `why` saying what it is instead:
///   "is 128.0, a number with a fraction or an exponent, not an integer"
///   "is 18446744073709551488, more than the largest integer 2^63 - 1"
///   "is a string", "is an object", "is null", ...
std::optional<int64_t> jsonInteger(const nlohmann::ordered_json &v,
                                   std::string &why);

/// "a string", "an object", "a list", "a boolean", "null", "a number".
const char *jsonTypeName(const nlohmann::ordered_json &v);

} // namespace wl

#endif // WL_SUPPORT_JSON_H
