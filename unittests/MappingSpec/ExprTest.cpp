//===- ExprTest.cpp - the spec expression language ------------------------===//
#include "wl/Mapping/Expr.h"

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
