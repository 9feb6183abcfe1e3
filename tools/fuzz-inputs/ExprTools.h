//===- ExprTools.h - spec expressions printed, compared, evaluated again -*- C++ -*-===//
//
// What the fuzz targets check a parsed expression (wl/MappingSpec/Expr.h)
// against: its tree is well formed (each depth is 1 + its deepest operand's,
// at most limits::kMaxExprDepth), printing it back (every binary operand in
// parentheses) parses to the same tree, and a second evaluator, written
// from the language's description alone with 128-bit arithmetic, gives the
// same value or fails where evaluate() fails.
//
//===----------------------------------------------------------------------===//
#ifndef WL_TOOLS_FUZZ_INPUTS_EXPRTOOLS_H
#define WL_TOOLS_FUZZ_INPUTS_EXPRTOOLS_H

#include "FuzzCommon.h"

#include "wl/MappingSpec/Expr.h"
#include "wl/Support/Limits.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

namespace wl::fuzz {

using mapping::Expr;
using mapping::Value;

/// Each node's depth is 1 + its deepest operand's and within the cap; the
/// operand counts are those of the node's kind.
inline void checkTree(const Expr &e) {
  int d = 0;
  for (const auto &a : e.args) {
    check(a != nullptr);
    checkTree(*a);
    d = std::max(d, a->depth);
  }
  for (const auto &kv : e.kwargs) {
    check(kv.second != nullptr && !kv.first.empty());
    checkTree(*kv.second);
    d = std::max(d, kv.second->depth);
  }
  check(e.depth == d + 1 && e.depth <= limits::kMaxExprDepth);
  check(e.column >= 1);
  switch (e.kind) {
  case Expr::Int:
    check(e.value >= 0 && e.args.empty());
    break;
  case Expr::Str:
    check(e.args.empty());
    break;
  case Expr::Name:
    check(e.args.empty() && !e.text.empty());
    break;
  case Expr::Index:
    check(e.args.size() == 2 && e.args[0]->kind == Expr::Name &&
          e.args[0]->text == e.text);
    break;
  case Expr::Subscript:
    check(e.args.size() == 2 && e.args[0]->kind != Expr::Name);
    break;
  case Expr::Unary:
    check(e.args.size() == 1 && (e.text == "-" || e.text == "!"));
    break;
  case Expr::Binary:
    check(e.args.size() == 2);
    break;
  case Expr::Call:
    check(!e.text.empty());
    break;
  case Expr::List:
    check(e.kwargs.empty());
    break;
  }
}

/// Two trees alike, columns aside.
inline bool sameExpr(const Expr &a, const Expr &b) {
  if (a.kind != b.kind || a.value != b.value || a.text != b.text ||
      a.depth != b.depth || a.args.size() != b.args.size() ||
      a.kwargs.size() != b.kwargs.size())
    return false;
  for (size_t k = 0; k < a.args.size(); ++k)
    if (!sameExpr(*a.args[k], *b.args[k]))
      return false;
  for (size_t k = 0; k < a.kwargs.size(); ++k)
    if (a.kwargs[k].first != b.kwargs[k].first ||
        !sameExpr(*a.kwargs[k].second, *b.kwargs[k].second))
      return false;
  return true;
}

inline std::string printExpr(const Expr &e);

/// `e` as an operand of an operator or of an index: in parentheses when it
/// binds less tightly.
inline std::string printOperand(const Expr &e, bool unaryToo) {
  if (e.kind == Expr::Binary || (unaryToo && e.kind == Expr::Unary))
    return "(" + printExpr(e) + ")";
  return printExpr(e);
}

/// The expression as text that parses back to the same tree.
inline std::string printExpr(const Expr &e) {
  switch (e.kind) {
  case Expr::Int:
    return std::to_string(e.value);
  case Expr::Str: {
    char q = e.text.find('"') == std::string::npos ? '"' : '\'';
    return q + e.text + q;
  }
  case Expr::Name:
    return e.text;
  case Expr::Index:
    return e.text + "[" + printExpr(*e.args[1]) + "]";
  case Expr::Subscript:
    return printOperand(*e.args[0], true) + "[" + printExpr(*e.args[1]) + "]";
  case Expr::Unary:
    return e.text + printOperand(*e.args[0], false);
  case Expr::Binary:
    return printOperand(*e.args[0], false) + " " + e.text + " " +
           printOperand(*e.args[1], false);
  case Expr::Call: {
    std::string out = e.text + "(";
    bool first = true;
    for (const auto &a : e.args) {
      out += (first ? "" : ", ") + printExpr(*a);
      first = false;
    }
    for (const auto &kv : e.kwargs) {
      out += (first ? "" : ", ") + kv.first + "=" + printExpr(*kv.second);
      first = false;
    }
    return out + ")";
  }
  case Expr::List: {
    std::string out = "[";
    for (size_t k = 0; k < e.args.size(); ++k)
      out += (k ? ", " : "") + printExpr(*e.args[k]);
    return out + "]";
  }
  }
  return "";
}

/// The second evaluator: the value, or nullopt where the language says the
/// expression is an error (unknown name, type mismatch, a result outside
/// int64, division by zero, an unknown function). Only the chosen branch
/// of if() and the deciding side of && and || are evaluated.
inline std::optional<Value> oracle(const Expr &e, const mapping::Lookup &lookup,
                                   const mapping::IndexLookup &index) {
  using I = __int128;
  auto fits = [](I v) {
    return v >= (I)std::numeric_limits<int64_t>::min() &&
           v <= (I)std::numeric_limits<int64_t>::max();
  };
  auto ev = [&](const mapping::ExprPtr &x) { return oracle(*x, lookup, index); };
  auto asInt = [](const std::optional<Value> &v) -> std::optional<int64_t> {
    if (!v || !std::holds_alternative<int64_t>(*v))
      return std::nullopt;
    return std::get<int64_t>(*v);
  };
  auto asList = [](const std::optional<Value> &v) -> const std::vector<int64_t> * {
    return v ? std::get_if<std::vector<int64_t>>(&*v) : nullptr;
  };
  switch (e.kind) {
  case Expr::Int:
    return Value(e.value);
  case Expr::Str:
    return Value(e.text);
  case Expr::Name: {
    std::string why;
    return lookup(e.text, why);
  }
  case Expr::Index: {
    auto k = asInt(ev(e.args[1]));
    if (!k)
      return std::nullopt;
    std::string why;
    return index(e.text, *k, why);
  }
  case Expr::Subscript:
    return std::nullopt;
  case Expr::List: {
    std::vector<int64_t> out;
    for (const auto &a : e.args) {
      auto v = asInt(ev(a));
      if (!v)
        return std::nullopt;
      out.push_back(*v);
    }
    return Value(out);
  }
  case Expr::Unary: {
    auto v = asInt(ev(e.args[0]));
    if (!v)
      return std::nullopt;
    if (e.text == "!")
      return Value((int64_t)(*v == 0));
    I r = -(I)*v;
    return fits(r) ? std::optional<Value>(Value((int64_t)r)) : std::nullopt;
  }
  case Expr::Binary: {
    const std::string &op = e.text;
    if (op == "&&" || op == "||") {
      auto a = asInt(ev(e.args[0]));
      if (!a)
        return std::nullopt;
      if (op == "&&" && *a == 0)
        return Value((int64_t)0);
      if (op == "||" && *a != 0)
        return Value((int64_t)1);
      auto b = asInt(ev(e.args[1]));
      if (!b)
        return std::nullopt;
      return Value((int64_t)(*b != 0));
    }
    auto l = ev(e.args[0]), r = ev(e.args[1]);
    if (!l || !r)
      return std::nullopt;
    if (op == "==" || op == "!=") {
      if (l->index() != r->index())
        return std::nullopt;
      return Value((int64_t)((*l == *r) == (op == "==")));
    }
    auto a = asInt(l), b = asInt(r);
    if (!a || !b)
      return std::nullopt;
    I x = *a, y = *b, out;
    if (op == "+")
      out = x + y;
    else if (op == "-")
      out = x - y;
    else if (op == "*")
      out = x * y;
    else if (op == "/" || op == "%") {
      if (y == 0)
        return std::nullopt;
      out = op == "/" ? x / y : x % y; // truncation toward zero, as C++
    } else if (op == "<")
      out = x < y;
    else if (op == "<=")
      out = x <= y;
    else if (op == ">")
      out = x > y;
    else if (op == ">=")
      out = x >= y;
    else
      return std::nullopt;
    return fits(out) ? std::optional<Value>(Value((int64_t)out)) : std::nullopt;
  }
  case Expr::Call: {
    const std::string &f = e.text;
    size_t n = e.args.size();
    if (!e.kwargs.empty())
      return std::nullopt;
    if (f == "if" && n == 3) {
      auto c = asInt(ev(e.args[0]));
      if (!c)
        return std::nullopt;
      return ev(e.args[*c ? 1 : 2]);
    }
    if (f == "contains" && n == 2) {
      auto l = ev(e.args[0]);
      if (!l)
        return std::nullopt;
      auto x = asInt(ev(e.args[1]));
      const std::vector<int64_t> *list = asList(l);
      if (!x || !list)
        return std::nullopt;
      return Value((int64_t)(std::count(list->begin(), list->end(), *x) > 0));
    }
    if (f == "len" && n == 1) {
      const auto l = ev(e.args[0]);
      const std::vector<int64_t> *list = asList(l);
      if (!list)
        return std::nullopt;
      return Value((int64_t)list->size());
    }
    if (f == "has" && n == 1) {
      if (e.args[0]->kind != Expr::Name)
        return std::nullopt;
      std::string why;
      bool bound = lookup(e.args[0]->text, why).has_value() || !why.empty();
      return Value((int64_t)bound);
    }
    if ((f == "min" || f == "max") && n >= 1) {
      std::vector<int64_t> vs;
      for (const auto &a : e.args) {
        auto v = asInt(ev(a));
        if (!v)
          return std::nullopt;
        vs.push_back(*v);
      }
      return Value(f == "min" ? *std::min_element(vs.begin(), vs.end())
                              : *std::max_element(vs.begin(), vs.end()));
    }
    return std::nullopt;
  }
  }
  return std::nullopt;
}

/// A message of parseExpr or evaluate: "column N: what", N from 1 to
/// `size` + 1 (or the length cap's message), one line, bounded.
inline void checkExprMessage(const std::string &error, size_t size) {
  checkMessage(error);
  if (error.rfind("the expression holds ", 0) == 0)
    return;
  check(error.rfind("column ", 0) == 0);
  size_t k = 7;
  uint64_t col = 0;
  while (k < error.size() && error[k] >= '0' && error[k] <= '9' && k < 20)
    col = col * 10 + (uint64_t)(error[k++] - '0');
  check(k > 7 && error.compare(k, 2, ": ") == 0);
  check(col >= 1 && col <= size + 1);
}

/// What follows "column N: " in a message.
inline std::string withoutColumn(const std::string &error) {
  size_t k = error.find(": ");
  return k == std::string::npos ? error : error.substr(k + 2);
}

} // namespace wl::fuzz

#endif // WL_TOOLS_FUZZ_INPUTS_EXPRTOOLS_H
