//===- Expr.h - the expression language of mapping specs --------*- C++ -*-===//
//
// Plain C++17, no MLIR. Spec strings are expressions:
//   integers     nh * hd / tp, (V + 63) / 64 * 64, min(tp, nkv), max(a, b)
//   choices      if(cond, a, b) (only the chosen branch is evaluated),
//                has(num_experts) (1 when the config has the field)
//   names        config fields (num_key_value_heads, text_config.head_dim),
//                spec `let`s and options (tp, rank, ep, ...), captures (L, E)
//   indexing     layer_types[L]
//   strings      "linear_attention", compared with == and !=
//   conditions   ==, !=, <, <=, >, >=, &&, ||, !
//   op calls     concat(shard(q, 0, tp, rank), k, dim=0), split(x, 0, [a, b])[1]
// Integer division and % require exact operands: `/` by zero is an error, and
// the spec states divisibility with `require` (a / b truncates toward zero).
// Arithmetic is checked: a result outside int64 is an error, never a wrap or
// a trap. An expression holds at most limits::kMaxExprChars characters and
// nests at most limits::kMaxExprDepth levels (wl/Support/Limits.h).
//
//===----------------------------------------------------------------------===//
#ifndef WL_MAPPING_EXPR_H
#define WL_MAPPING_EXPR_H

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace wl::mapping {

struct Expr;
using ExprPtr = std::shared_ptr<const Expr>;

struct Expr {
  enum Kind { Int, Str, Name, Index, Unary, Binary, Call, List, Subscript };
  Kind kind;
  int64_t value = 0;   ///< Int
  std::string text;    ///< Str literal, Name, operator, or callee
  std::vector<ExprPtr> args;                               ///< operands
  std::vector<std::pair<std::string, ExprPtr>> kwargs;     ///< Call only
  int column = 0;      ///< 1-based position in the source string
  int depth = 1;       ///< 1 + the depth of the deepest operand
  int64_t size = 1;    ///< nodes in this tree (what evaluating it costs)
};

/// Parses `text`; on failure returns null and sets `error` to
/// "column N: what".
ExprPtr parseExpr(const std::string &text, std::string &error);

/// A value of the non-tensor part of the language.
using Value = std::variant<int64_t, std::string, std::vector<int64_t>>;

/// Looks a name up (captures, lets, options, config). nullopt with `why`
/// empty when the name is unknown (or null in the config); nullopt with
/// `why` set when it is bound to something the language has no value for
/// ("is 128.0, a number with a fraction ...").
using Lookup = std::function<std::optional<Value>(const std::string &name,
                                                  std::string &why)>;
/// Looks up `name[index]` (e.g. layer_types[L]); `why` as for Lookup.
using IndexLookup = std::function<std::optional<Value>(
    const std::string &name, int64_t index, std::string &why)>;

/// Evaluates an expression without op calls (only min/max). On failure
/// returns nullopt and sets `error` to "column N: what".
std::optional<Value> evaluate(const Expr &e, const Lookup &lookup,
                              const IndexLookup &index, std::string &error);

/// "an integer", "a string" or "a list".
const char *typeName(const Value &v);

} // namespace wl::mapping

#endif // WL_MAPPING_EXPR_H
