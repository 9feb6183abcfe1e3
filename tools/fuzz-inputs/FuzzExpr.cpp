//===- FuzzExpr.cpp - libFuzzer target of the spec expression language ----===//
//
// Each input is one expression (wl/MappingSpec/Expr.h), as a spec string holds
// it. parseExpr must reject it with "column N: what" (N inside the text,
// one line, bounded) or give a well-formed tree (ExprTools.h: depths within
// the cap) that parses again, printed back, to the same tree. evaluate()
// against a fixed set of names (integers at the edges of int64, a string,
// lists, a float-valued field, an object-valued one) must be deterministic,
// agree with the second evaluator of ExprTools.h (same value, or both
// fail), give the same result for the reprinted tree, and fail only with a
// "column N: what" message. A violation traps.
//
// Build and run: scripts/fuzz-inputs.sh expr SECONDS (docs/safetensors.md,
// "Fuzzing"); replay: fuzz-expr-replay FILES... (test/Fuzz/replay.test).
//
//===----------------------------------------------------------------------===//
#include "ExprTools.h"

#include "wl/MappingSpec/Expr.h"

#include <cstdint>
#include <limits>
#include <string>

using namespace wl;
using namespace wl::fuzz;
using mapping::Value;

namespace {

std::optional<Value> lookup(const std::string &name, std::string &why) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  if (name == "a") return Value((int64_t)7);
  if (name == "b") return Value((int64_t)-3);
  if (name == "zero" || name == "L") return Value((int64_t)0);
  if (name == "one" || name == "tp") return Value((int64_t)1);
  if (name == "big") return Value(kMax);
  if (name == "small") return Value(kMin);
  if (name == "half") return Value((int64_t)1 << 32);
  if (name == "s" || name == "text_config.model_type")
    return Value(std::string("full_attention"));
  if (name == "empty") return Value(std::string());
  if (name == "lst" || name == "text_config.mlp_only_layers")
    return Value(std::vector<int64_t>{1, 2, 3});
  if (name == "nil") return Value(std::vector<int64_t>{});
  if (name == "edges") return Value(std::vector<int64_t>{kMin, -1, 0, kMax});
  if (name == "flt") {
    why = "(config field) is 1.5, a number with a fraction or an exponent, "
          "not an integer";
    return std::nullopt;
  }
  if (name == "obj") {
    why = "(config field) is an object, which an expression cannot use (use "
          "one of its fields)";
    return std::nullopt;
  }
  return std::nullopt; // unknown, or null in a config
}

std::optional<Value> indexLookup(const std::string &name, int64_t i,
                                 std::string &why) {
  if (name == "layer_types") {
    static const char *types[] = {"full_attention", "linear_attention",
                                  "sliding_attention"};
    if (i < 0 || i >= 3)
      return std::nullopt;
    return Value(std::string(types[i]));
  }
  if (name == "lst") {
    if (i < 0 || i >= 3)
      return std::nullopt;
    return Value((int64_t)(i + 1));
  }
  if (name == "mixed") {
    if (i == 0)
      return Value((int64_t)5);
    if (i == 1) {
      why = "(config entry) is 0.5, a number with a fraction or an exponent, "
            "not an integer";
      return std::nullopt;
    }
  }
  return std::nullopt;
}

/// evaluate() with both lookups: (ok, value or message).
struct Result {
  std::optional<Value> value;
  std::string error;
};

Result eval(const mapping::Expr &e) {
  Result r;
  r.value = mapping::evaluate(e, lookup, indexLookup, r.error);
  return r;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text((const char *)data, size);
  std::string error;
  mapping::ExprPtr e = mapping::parseExpr(text, error);
  if (!e) {
    checkExprMessage(error, text.size());
    return 0;
  }
  check(error.empty());
  check(text.size() <= limits::kMaxExprChars);
  checkTree(*e);
  // Parsing is deterministic, and the printed tree parses to the same tree.
  std::string again;
  mapping::ExprPtr e2 = mapping::parseExpr(text, again);
  check(e2 && sameExpr(*e, *e2));
  std::string printed = printExpr(*e);
  mapping::ExprPtr p = mapping::parseExpr(printed, again);
  if (printed.size() > limits::kMaxExprChars)
    check(!p);
  else
    check(p && sameExpr(*e, *p));

  // Evaluation: deterministic, as the second evaluator says, the same for
  // the printed tree.
  Result r1 = eval(*e), r2 = eval(*e);
  check(r1.value == r2.value && r1.error == r2.error);
  if (r1.value) {
    check(r1.error.empty());
  } else {
    checkExprMessage(r1.error, text.size());
  }
  std::optional<Value> o = oracle(*e, lookup, indexLookup);
  check(o.has_value() == r1.value.has_value());
  if (o)
    check(*o == *r1.value);
  if (p) {
    Result r3 = eval(*p);
    check(r3.value == r1.value);
    if (!r3.value)
      check(withoutColumn(r3.error) == withoutColumn(r1.error));
  }
  return 0;
}
