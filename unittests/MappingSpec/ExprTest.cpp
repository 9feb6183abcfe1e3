//===- ExprTest.cpp - the spec expression language ------------------------===//
#include "wl/MappingSpec/Expr.h"
#include "wl/Support/Limits.h"

#include <gtest/gtest.h>

#include <map>

using namespace wl::mapping;

namespace {

std::optional<Value> run(const std::string &text, std::string &error) {
  std::map<std::string, Value> names = {
      {"tp", Value(int64_t(4))},
      {"nh", Value(int64_t(32))},
      {"kind", Value(std::string("full_attention"))},
      {"only", Value(std::vector<int64_t>{1, 5})},
  };
  std::vector<std::string> types = {"linear_attention", "full_attention"};
  ExprPtr e = parseExpr(text, error);
  if (!e)
    return std::nullopt;
  return evaluate(
      *e,
      [&](const std::string &n, std::string &) -> std::optional<Value> {
        auto it = names.find(n);
        if (it == names.end())
          return std::nullopt;
        return it->second;
      },
      [&](const std::string &n, int64_t i,
          std::string &) -> std::optional<Value> {
        if (n != "layer_types" || i < 0 || i >= (int64_t)types.size())
          return std::nullopt;
        return Value(types[i]);
      },
      error);
}

int64_t integer(const std::string &text) {
  std::string error;
  auto v = run(text, error);
  EXPECT_TRUE(v) << text << ": " << error;
  if (!v || !std::holds_alternative<int64_t>(*v))
    return -999;
  return std::get<int64_t>(*v);
}

std::string failure(const std::string &text) {
  std::string error;
  auto v = run(text, error);
  EXPECT_FALSE(v) << text << " should fail";
  return error;
}

TEST(Expr, ArithmeticAndPrecedence) {
  EXPECT_EQ(integer("1 + 2 * 3"), 7);
  EXPECT_EQ(integer("(1 + 2) * 3"), 9);
  EXPECT_EQ(integer("nh / tp - 1"), 7);
  EXPECT_EQ(integer("-nh % 5"), -2); // C++ truncation, like Python's // is not
  EXPECT_EQ(integer("(500 + 63) / 64 * 64"), 512);
  EXPECT_EQ(integer("min(tp, 2, 3)"), 2);
  EXPECT_EQ(integer("max(tp, nh)"), 32);
}

TEST(Expr, ConditionsAndStrings) {
  EXPECT_EQ(integer("nh % tp == 0 && tp > 1"), 1);
  EXPECT_EQ(integer("tp < 2 || !(nh == 32)"), 0);
  EXPECT_EQ(integer("layer_types[1] == \"full_attention\""), 1);
  EXPECT_EQ(integer("layer_types[0] != 'full_attention'"), 1);
  EXPECT_EQ(integer("kind == \"full_attention\""), 1);
  // The right side is evaluated only when it decides.
  EXPECT_EQ(integer("!has(missing) || len(missing) == 0"), 1);
  EXPECT_EQ(integer("has(missing) && missing > 0"), 0);
  EXPECT_EQ(integer("3 && 4"), 1);
}

TEST(Expr, Functions) {
  EXPECT_EQ(integer("if(has(missing), missing, 7)"), 7); // lazy branch
  EXPECT_EQ(integer("if(has(tp), tp, missing)"), 4);
  EXPECT_EQ(integer("contains(only, 5) + contains(only, 2)"), 1);
  EXPECT_EQ(integer("len(only)"), 2);
  std::string error;
  auto v = run("[tp, nh * 2]", error);
  ASSERT_TRUE(v) << error;
  EXPECT_EQ(std::get<std::vector<int64_t>>(*v), (std::vector<int64_t>{4, 64}));
}

TEST(Expr, ErrorsNameTheColumn) {
  EXPECT_EQ(failure("nh / (tp - 4)"), "column 4: division by zero");
  EXPECT_EQ(failure("tp + missing"), "column 6: unknown name 'missing'");
  EXPECT_EQ(failure("layer_types[7]"),
            "column 12: 'layer_types[7]' is not a config entry");
  EXPECT_EQ(failure("kind + 1"), "column 1: expected an integer, found a string");
  EXPECT_EQ(failure("tp == kind"), "column 4: cannot compare an integer with a string");
  EXPECT_EQ(failure("(tp + 1"), "column 8: expected ')'");
  EXPECT_EQ(failure("tp 1"), "column 4: unexpected '1' after the expression");
  EXPECT_EQ(failure("9223372036854775807 + 1"), "column 21: integer overflow");
  EXPECT_EQ(failure("99999999999999999999"), "column 20: integer too large");
  EXPECT_NE(failure("frobnicate(tp)").find("unknown op or function 'frobnicate'"),
            std::string::npos);
  EXPECT_EQ(failure("len(tp)"), "column 5: len() needs a list, found an integer");
}

TEST(Expr, OpCallsParseWithKeywords) {
  std::string error;
  ExprPtr e = parseExpr("concat(shard(q, 0, tp, r), k, dim=0)[1]", error);
  ASSERT_TRUE(e) << error;
  EXPECT_EQ(e->kind, Expr::Subscript);
  const Expr &call = *e->args[0];
  EXPECT_EQ(call.kind, Expr::Call);
  EXPECT_EQ(call.text, "concat");
  ASSERT_EQ(call.args.size(), 2u);
  ASSERT_EQ(call.kwargs.size(), 1u);
  EXPECT_EQ(call.kwargs[0].first, "dim");
  EXPECT_FALSE(parseExpr("f(dim=0, x)", error));
  EXPECT_EQ(error, "column 10: positional argument after a keyword argument");
}

} // namespace

namespace {

TEST(Expr, ArithmeticIsChecked) {
  const std::string min = "(-9223372036854775807 - 1)";
  EXPECT_EQ(failure(min + " / -1"), "column 28: integer overflow");
  EXPECT_EQ(integer(min + " % -1"), 0);
  EXPECT_EQ(integer("-7 % -1"), 0);
  EXPECT_EQ(integer("7 / -1"), -7);
  EXPECT_EQ(failure("-" + min), "column 1: integer overflow");
  EXPECT_EQ(failure("9223372036854775807 + 1"), "column 21: integer overflow");
  EXPECT_EQ(failure(min + " - 1"), "column 28: integer overflow");
  EXPECT_EQ(failure("4294967296 * 4294967296"), "column 12: integer overflow");
  EXPECT_EQ(failure("1 % 0"), "column 3: remainder by zero");
  EXPECT_EQ(failure("9223372036854775808"), "column 20: integer too large");
}

TEST(Expr, DepthAndLengthAreCapped) {
  using wl::limits::kMaxExprChars;
  using wl::limits::kMaxExprDepth;
  // Right at the caps: fine.
  std::string sum = "1";
  for (int k = 1; k < kMaxExprDepth; ++k)
    sum += "+1";
  EXPECT_EQ(integer(sum), kMaxExprDepth);
  EXPECT_EQ(integer(std::string(kMaxExprDepth - 1, '(') + "5" +
                    std::string(kMaxExprDepth - 1, ')')),
            5);
  // Past them: an error, not a stack overflow.
  EXPECT_EQ(failure(sum + "+1").substr(0, 44),
            "column 258: the expression nests deeper than");
  for (const std::string &deep :
       {std::string(2000, '(') + "1" + std::string(2000, ')'),
        std::string(2000, '-') + "1", std::string(2000, '!') + "1",
        "f(" + std::string(2000, '[') + std::string(2000, ']') + ")",
        "x" + std::string(1000, '[') + "1" + std::string(1000, ']')})
    EXPECT_NE(failure(deep).find("nests deeper than 128 levels"),
              std::string::npos)
        << deep.substr(0, 20);
  std::string longSum = "1";
  while (longSum.size() <= kMaxExprChars)
    longSum += "+1";
  EXPECT_EQ(failure(longSum),
            "the expression holds " + std::to_string(longSum.size()) +
                " characters, more than the limit of 8192");
}

TEST(Expr, NamesBoundToNonValuesSayWhat) {
  std::string error;
  ExprPtr e = parseExpr("hidden + 1", error);
  ASSERT_TRUE(e);
  auto v = evaluate(
      *e,
      [](const std::string &, std::string &why) -> std::optional<Value> {
        why = "is 128.0, a number with a fraction or an exponent, not an "
              "integer";
        return std::nullopt;
      },
      [](const std::string &, int64_t, std::string &) -> std::optional<Value> {
        return std::nullopt;
      },
      error);
  EXPECT_FALSE(v);
  EXPECT_EQ(error, "column 1: 'hidden' is 128.0, a number with a fraction or "
                   "an exponent, not an integer");
  // has() says the name is there, all the same.
  e = parseExpr("has(hidden)", error);
  v = evaluate(
      *e,
      [](const std::string &, std::string &why) -> std::optional<Value> {
        why = "is an object";
        return std::nullopt;
      },
      [](const std::string &, int64_t, std::string &) -> std::optional<Value> {
        return std::nullopt;
      },
      error);
  ASSERT_TRUE(v);
  EXPECT_EQ(std::get<int64_t>(*v), 1);
}

} // namespace
