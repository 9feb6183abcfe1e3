//===- Expr.cpp - the expression language of mapping specs ----------------===//
#include "wl/MappingSpec/Expr.h"

#include "wl/Support/Limits.h"
#include "wl/Support/Quote.h"

#include <algorithm>
#include <cctype>
#include <limits>

namespace wl::mapping {

namespace {

struct Parser {
  const std::string &s;
  size_t i = 0;
  std::string error;
  int nesting = 0; ///< open parentheses, brackets, calls and prefix operators

  explicit Parser(const std::string &s) : s(s) {}

  void skip() {
    while (i < s.size() && std::isspace((unsigned char)s[i]))
      ++i;
  }
  bool fail(const std::string &what) {
    if (error.empty())
      error = "column " + std::to_string(i + 1) + ": " + what;
    return false;
  }
  bool peek(const char *tok) {
    skip();
    return s.compare(i, std::char_traits<char>::length(tok), tok) == 0;
  }
  bool eat(const char *tok) {
    if (!peek(tok))
      return false;
    i += std::char_traits<char>::length(tok);
    return true;
  }
  std::shared_ptr<Expr> node(Expr::Kind k) {
    auto e = std::make_shared<Expr>();
    e->kind = k;
    e->column = (int)i + 1;
    return e;
  }

  /// Sets e's depth from its operands; null (with the error) past the cap,
  /// so that evaluating (and freeing) a tree never recurses without bound.
  ExprPtr deep(std::shared_ptr<Expr> e) {
    int d = 0;
    e->size = 1;
    for (const ExprPtr &a : e->args) {
      d = std::max(d, a->depth);
      e->size += a->size;
    }
    for (const auto &kv : e->kwargs) {
      d = std::max(d, kv.second->depth);
      e->size += kv.second->size;
    }
    e->depth = d + 1;
    if (e->depth > limits::kMaxExprDepth) {
      fail("the expression nests deeper than " +
           std::to_string(limits::kMaxExprDepth) +
           " levels (a sum or product of that many terms, or parentheses)");
      return nullptr;
    }
    return e;
  }
  /// Enters a nested construct; false (with the error) past the cap.
  bool enter() {
    if (++nesting <= limits::kMaxExprDepth)
      return true;
    return fail("the expression nests deeper than " +
                std::to_string(limits::kMaxExprDepth) + " levels");
  }
  /// A whole expression inside parentheses, brackets or arguments.
  ExprPtr nested() {
    if (!enter())
      return nullptr;
    ExprPtr e = parseOr();
    --nesting;
    return e;
  }

  ExprPtr binary(ExprPtr lhs, const std::string &op, ExprPtr rhs, int col) {
    auto e = std::make_shared<Expr>();
    e->kind = Expr::Binary;
    e->text = op;
    e->args = {lhs, rhs};
    e->column = col;
    return deep(e);
  }

  // or := and ('||' and)*
  ExprPtr parseOr() {
    ExprPtr l = parseAnd();
    while (l && peek("||")) {
      int col = (int)i + 1;
      i += 2;
      ExprPtr r = parseAnd();
      if (!r)
        return nullptr;
      l = binary(l, "||", r, col);
    }
    return l;
  }
  ExprPtr parseAnd() {
    ExprPtr l = parseCmp();
    while (l && peek("&&")) {
      int col = (int)i + 1;
      i += 2;
      ExprPtr r = parseCmp();
      if (!r)
        return nullptr;
      l = binary(l, "&&", r, col);
    }
    return l;
  }
  ExprPtr parseCmp() {
    ExprPtr l = parseAdd();
    if (!l)
      return nullptr;
    for (const char *op : {"==", "!=", "<=", ">=", "<", ">"}) {
      if (peek(op)) {
        int col = (int)i + 1;
        i += std::char_traits<char>::length(op);
        ExprPtr r = parseAdd();
        if (!r)
          return nullptr;
        return binary(l, op, r, col);
      }
    }
    return l;
  }
  ExprPtr parseAdd() {
    ExprPtr l = parseMul();
    while (l) {
      skip();
      if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
        int col = (int)i + 1;
        std::string op(1, s[i++]);
        ExprPtr r = parseMul();
        if (!r)
          return nullptr;
        l = binary(l, op, r, col);
      } else {
        break;
      }
    }
    return l;
  }
  ExprPtr parseMul() {
    ExprPtr l = parseUnary();
    while (l) {
      skip();
      if (i < s.size() && (s[i] == '*' || s[i] == '/' || s[i] == '%')) {
        int col = (int)i + 1;
        std::string op(1, s[i++]);
        ExprPtr r = parseUnary();
        if (!r)
          return nullptr;
        l = binary(l, op, r, col);
      } else {
        break;
      }
    }
    return l;
  }
  ExprPtr parseUnary() {
    skip();
    if (i < s.size() && (s[i] == '-' || s[i] == '!')) {
      auto e = node(Expr::Unary);
      e->text = std::string(1, s[i++]);
      if (!enter())
        return nullptr;
      ExprPtr a = parseUnary();
      --nesting;
      if (!a)
        return nullptr;
      e->args = {a};
      return deep(e);
    }
    return parsePostfix();
  }
  ExprPtr parsePostfix() {
    ExprPtr e = parsePrimary();
    while (e && peek("[")) {
      auto sub = node(e->kind == Expr::Name ? Expr::Index : Expr::Subscript);
      ++i;
      ExprPtr idx = nested();
      if (!idx)
        return nullptr;
      if (!eat("]")) {
        fail("expected ']'");
        return nullptr;
      }
      if (sub->kind == Expr::Index)
        sub->text = e->text;
      sub->args = {e, idx};
      e = deep(sub);
    }
    return e;
  }
  ExprPtr parsePrimary() {
    skip();
    if (i >= s.size()) {
      fail("expected a value, found the end");
      return nullptr;
    }
    char c = s[i];
    if (std::isdigit((unsigned char)c)) {
      auto e = node(Expr::Int);
      int64_t v = 0;
      while (i < s.size() && std::isdigit((unsigned char)s[i])) {
        int d = s[i++] - '0';
        if (v > (std::numeric_limits<int64_t>::max() - d) / 10) {
          fail("integer too large");
          return nullptr;
        }
        v = v * 10 + d;
      }
      e->value = v;
      return e;
    }
    if (c == '"' || c == '\'') {
      auto e = node(Expr::Str);
      ++i;
      while (i < s.size() && s[i] != c)
        e->text += s[i++];
      if (i >= s.size()) {
        fail("unterminated string");
        return nullptr;
      }
      ++i;
      return e;
    }
    if (c == '(') {
      ++i;
      ExprPtr e = nested();
      if (!e)
        return nullptr;
      if (!eat(")")) {
        fail("expected ')'");
        return nullptr;
      }
      return e;
    }
    if (c == '[') {
      auto e = node(Expr::List);
      ++i;
      if (!eat("]")) {
        do {
          ExprPtr a = nested();
          if (!a)
            return nullptr;
          e->args.push_back(a);
        } while (eat(","));
        if (!eat("]")) {
          fail("expected ',' or ']' in a list");
          return nullptr;
        }
      }
      return deep(e);
    }
    if (std::isalpha((unsigned char)c) || c == '_') {
      auto e = node(Expr::Name);
      while (i < s.size() && (std::isalnum((unsigned char)s[i]) || s[i] == '_' ||
                              s[i] == '.'))
        e->text += s[i++];
      if (!peek("("))
        return e;
      e->kind = Expr::Call;
      ++i;
      if (eat(")"))
        return deep(e);
      do {
        skip();
        // keyword argument: name '=' (not '==')
        size_t save = i;
        std::string key;
        while (i < s.size() && (std::isalnum((unsigned char)s[i]) || s[i] == '_'))
          key += s[i++];
        skip();
        if (!key.empty() && i < s.size() && s[i] == '=' &&
            (i + 1 >= s.size() || s[i + 1] != '=')) {
          ++i;
          ExprPtr v = nested();
          if (!v)
            return nullptr;
          e->kwargs.push_back({key, v});
          continue;
        }
        i = save;
        if (!e->kwargs.empty()) {
          fail("positional argument after a keyword argument");
          return nullptr;
        }
        ExprPtr a = nested();
        if (!a)
          return nullptr;
        e->args.push_back(a);
      } while (eat(","));
      if (!eat(")")) {
        fail("expected ',' or ')' in the arguments of '" + e->text + "'");
        return nullptr;
      }
      return deep(e);
    }
    fail("unexpected " + quoteText(std::string(1, c)));
    return nullptr;
  }
};

std::string at(const Expr &e, const std::string &what) {
  return "column " + std::to_string(e.column) + ": " + what;
}

} // namespace

ExprPtr parseExpr(const std::string &text, std::string &error) {
  if (text.size() > limits::kMaxExprChars) {
    error = "the expression holds " + std::to_string(text.size()) +
            " characters, more than the limit of " +
            std::to_string(limits::kMaxExprChars);
    return nullptr;
  }
  Parser p(text);
  ExprPtr e = p.parseOr();
  if (e) {
    p.skip();
    if (p.i != text.size()) {
      p.fail("unexpected " + quoteText(text.substr(p.i, 1)) +
             " after the expression");
      e = nullptr;
    }
  }
  if (!e)
    error = p.error;
  return e;
}

const char *typeName(const Value &v) {
  if (std::holds_alternative<int64_t>(v))
    return "an integer";
  if (std::holds_alternative<std::string>(v))
    return "a string";
  return "a list";
}

std::optional<Value> evaluate(const Expr &e, const Lookup &lookup,
                              const IndexLookup &index, std::string &error) {
  auto ev = [&](const ExprPtr &x) { return evaluate(*x, lookup, index, error); };
  auto asInt = [&](const Expr &x, const std::optional<Value> &v)
      -> std::optional<int64_t> {
    if (!v)
      return std::nullopt;
    if (!std::holds_alternative<int64_t>(*v)) {
      error = at(x, std::string("expected an integer, found ") +
                        typeName(*v));
      return std::nullopt;
    }
    return std::get<int64_t>(*v);
  };
  switch (e.kind) {
  case Expr::Int:
    return Value(e.value);
  case Expr::Str:
    return Value(e.text);
  case Expr::Name: {
    std::string why;
    auto v = lookup(e.text, why);
    if (!v)
      error = at(e, why.empty() ? "unknown name " + quoteText(e.text)
                                : quoteText(e.text) + " " + why);
    return v;
  }
  case Expr::Index: {
    auto k = asInt(*e.args[1], ev(e.args[1]));
    if (!k)
      return std::nullopt;
    std::string why;
    auto v = index(e.text, *k, why);
    std::string entry = e.text + "[" + std::to_string(*k) + "]";
    if (!v)
      error = at(e, why.empty() ? quoteText(entry) + " is not a config entry"
                                : quoteText(entry) + " " + why);
    return v;
  }
  case Expr::List: {
    std::vector<int64_t> out;
    for (const ExprPtr &a : e.args) {
      auto v = asInt(*a, ev(a));
      if (!v)
        return std::nullopt;
      out.push_back(*v);
    }
    return Value(out);
  }
  case Expr::Unary: {
    auto v = asInt(*e.args[0], ev(e.args[0]));
    if (!v)
      return std::nullopt;
    if (e.text == "-" && *v == std::numeric_limits<int64_t>::min())
      return error = at(e, "integer overflow"), std::nullopt;
    return Value(e.text == "-" ? -*v : (int64_t)(*v == 0));
  }
  case Expr::Binary: {
    auto l = ev(e.args[0]);
    if (!l)
      return std::nullopt;
    // && and || evaluate their right side only when it decides, so that
    // `!has(x) || len(x) == 0` works on configs without x.
    if (e.text == "&&" || e.text == "||") {
      auto a = asInt(*e.args[0], l);
      if (!a)
        return std::nullopt;
      if ((e.text == "&&") != (*a != 0))
        return Value((int64_t)(*a != 0));
      auto b = asInt(*e.args[1], ev(e.args[1]));
      if (!b)
        return std::nullopt;
      return Value((int64_t)(*b != 0));
    }
    auto r = ev(e.args[1]);
    if (!r)
      return std::nullopt;
    const std::string &op = e.text;
    if (op == "==" || op == "!=") {
      if (l->index() != r->index()) {
        error = at(e, std::string("cannot compare ") + typeName(*l) +
                          " with " + typeName(*r));
        return std::nullopt;
      }
      bool eq = *l == *r;
      return Value((int64_t)(op == "==" ? eq : !eq));
    }
    auto a = asInt(*e.args[0], l), b = asInt(*e.args[1], r);
    if (!a || !b)
      return std::nullopt;
    int64_t x = *a, y = *b, out = 0;
    if (op == "+") {
      if (__builtin_add_overflow(x, y, &out))
        return error = at(e, "integer overflow"), std::nullopt;
    } else if (op == "-") {
      if (__builtin_sub_overflow(x, y, &out))
        return error = at(e, "integer overflow"), std::nullopt;
    } else if (op == "*") {
      if (__builtin_mul_overflow(x, y, &out))
        return error = at(e, "integer overflow"), std::nullopt;
    } else if (op == "/" || op == "%") {
      if (y == 0) {
        error = at(e, std::string(op == "/" ? "division" : "remainder") +
                          " by zero");
        return std::nullopt;
      }
      // INT64_MIN / -1 does not fit (the division traps); every remainder
      // by -1 is 0.
      if (y == -1 && op == "/" && x == std::numeric_limits<int64_t>::min())
        return error = at(e, "integer overflow"), std::nullopt;
      out = y == -1 ? (op == "/" ? -x : 0) : op == "/" ? x / y : x % y;
    } else if (op == "<") {
      out = x < y;
    } else if (op == "<=") {
      out = x <= y;
    } else if (op == ">") {
      out = x > y;
    } else if (op == ">=") {
      out = x >= y;
    } else if (op == "&&") {
      out = x && y;
    } else if (op == "||") {
      out = x || y;
    }
    return Value(out);
  }
  case Expr::Call: {
    // if(cond, a, b): only the chosen branch is evaluated, so a branch may
    // name a config field that only some configs have.
    if (e.text == "if" && e.args.size() == 3 && e.kwargs.empty()) {
      auto c = asInt(*e.args[0], ev(e.args[0]));
      if (!c)
        return std::nullopt;
      return ev(e.args[*c ? 1 : 2]);
    }
    // contains(list, x): 1 when the list (a config list) holds x.
    if (e.text == "contains" && e.args.size() == 2 && e.kwargs.empty()) {
      auto l = ev(e.args[0]);
      if (!l)
        return std::nullopt;
      auto x = asInt(*e.args[1], ev(e.args[1]));
      if (!x)
        return std::nullopt;
      auto *list = std::get_if<std::vector<int64_t>>(&*l);
      if (!list) {
        error = at(*e.args[0], std::string("contains() needs a list, found ") +
                                   typeName(*l));
        return std::nullopt;
      }
      return Value((int64_t)(std::find(list->begin(), list->end(), *x) !=
                             list->end()));
    }
    // len(list): the length of a list.
    if (e.text == "len" && e.args.size() == 1 && e.kwargs.empty()) {
      auto l = ev(e.args[0]);
      if (!l)
        return std::nullopt;
      auto *list = std::get_if<std::vector<int64_t>>(&*l);
      if (!list) {
        error = at(*e.args[0], std::string("len() needs a list, found ") +
                                   typeName(*l));
        return std::nullopt;
      }
      return Value((int64_t)list->size());
    }
    // has(name): 1 when the name is bound (a config field present), else 0.
    if (e.text == "has" && e.args.size() == 1 && e.kwargs.empty()) {
      if (e.args[0]->kind != Expr::Name) {
        error = at(*e.args[0], "has() takes a name");
        return std::nullopt;
      }
      // A field bound to a value the language cannot hold (a float, an
      // object) is there all the same.
      std::string why;
      bool bound = lookup(e.args[0]->text, why).has_value() || !why.empty();
      return Value((int64_t)bound);
    }
    if ((e.text == "min" || e.text == "max") && e.kwargs.empty() &&
        !e.args.empty()) {
      std::optional<int64_t> best;
      for (const ExprPtr &a : e.args) {
        auto v = asInt(*a, ev(a));
        if (!v)
          return std::nullopt;
        if (!best || (e.text == "min" ? *v < *best : *v > *best))
          best = v;
      }
      return Value(*best);
    }
    error = at(e, "unknown op or function " + quoteText(e.text) +
                      " (wl ops: slice, shard, concat, split, interleave, "
                      "deinterleave, reshape, permute, transpose, stack, "
                      "unstack, pad, cast, affine; functions: min, max, if, "
                      "has, contains, len)");
    return std::nullopt;
  }
  case Expr::Subscript:
    error = at(e, "only op results and config entries can be indexed");
    return std::nullopt;
  }
  return std::nullopt;
}

} // namespace wl::mapping
