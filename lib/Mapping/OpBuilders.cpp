//===- OpBuilders.cpp - the spec's op calls, one builder each -------------===//
#include "OpBuilders.h"

#include "wl/IR/ElementTypes.h"
#include "wl/IR/WLOps.h"
#include "wl/Support/Limits.h"
#include "wl/Support/Quote.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

using namespace mlir;

namespace wl::mapping {

bool elementsFit(llvm::ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    int64_t f = d == 0 ? 1 : d;
    if (f < 0 || n > limits::kMaxTensorElements / f)
      return false;
    n *= f;
  }
  return true;
}

std::optional<int64_t> OpCall::needInt(const std::string &k) {
  auto it = named.find(k);
  if (it == named.end()) {
    failAt(expr, op + ": missing '" + k + "'");
    return std::nullopt;
  }
  if (!std::holds_alternative<int64_t>(it->second.first)) {
    failAt(*it->second.second, op + ": '" + k + "' must be an integer");
    return std::nullopt;
  }
  return std::get<int64_t>(it->second.first);
}

std::optional<std::vector<int64_t>> OpCall::needList(const std::string &k) {
  auto it = named.find(k);
  if (it == named.end()) {
    failAt(expr, op + ": missing '" + k + "'");
    return std::nullopt;
  }
  if (!std::holds_alternative<std::vector<int64_t>>(it->second.first)) {
    failAt(*it->second.second, op + ": '" + k + "' must be a list");
    return std::nullopt;
  }
  return std::get<std::vector<int64_t>>(it->second.first);
}

std::optional<double> OpCall::number(const std::string &k, double dflt) {
  auto it = named.find(k);
  if (it == named.end())
    return dflt;
  if (auto *i = std::get_if<int64_t>(&it->second.first))
    return (double)*i;
  if (auto *s = std::get_if<std::string>(&it->second.first)) {
    char *end = nullptr;
    double d = std::strtod(s->c_str(), &end);
    if (end && *end == 0 && !s->empty())
      return d;
  }
  failAt(*it->second.second, op + ": '" + k + "' must be a number");
  return std::nullopt;
}

namespace {

RankedTensorType typeOf(mlir::Value v) {
  return cast<RankedTensorType>(v.getType());
}

/// A multi-result op built: no single value to hand back.
std::optional<mlir::Value> several(std::optional<mlir::Value> built) {
  if (!built)
    return std::nullopt;
  return mlir::Value();
}

std::optional<mlir::Value> buildSlice(OpCall &c) {
  auto o = c.needList("offsets"), s = c.needList("sizes");
  if (!o || !s)
    return std::nullopt;
  std::vector<int64_t> st(o->size(), 1);
  if (c.has("strides")) {
    auto v = c.needList("strides");
    if (!v)
      return std::nullopt;
    st = *v;
  }
  mlir::Value x = c.tensors[0];
  return c.finish(c.b.create<SliceOp>(c.loc, typeOf(x), x, *o, *s, st));
}

std::optional<mlir::Value> buildShard(OpCall &c) {
  auto d = c.needInt("dim"), n = c.needInt("count"), i = c.needInt("index");
  if (!d || !n || !i || !c.partsFit(c.expr, "shard: the count", *n))
    return std::nullopt;
  mlir::Value x = c.tensors[0];
  return c.finish(c.b.create<ShardOp>(c.loc, typeOf(x), x, *d, *n, *i));
}

std::optional<mlir::Value> buildConcat(OpCall &c) {
  auto d = c.needInt("dim");
  if (!d)
    return std::nullopt;
  return c.finish(c.b.create<ConcatOp>(c.loc, typeOf(c.tensors[0]), c.tensors,
                                       *d));
}

std::optional<mlir::Value> buildStack(OpCall &c) {
  auto d = c.needInt("dim");
  if (!d)
    return std::nullopt;
  return c.finish(c.b.create<StackOp>(c.loc, typeOf(c.tensors[0]), c.tensors,
                                      *d));
}

std::optional<mlir::Value> buildInterleave(OpCall &c) {
  auto d = c.needInt("dim");
  if (!d)
    return std::nullopt;
  auto g = c.needInt("groups");
  if (!g || !c.partsFit(c.expr, "interleave: the number of groups", *g))
    return std::nullopt;
  return c.finish(c.b.create<InterleaveOp>(c.loc, typeOf(c.tensors[0]),
                                           c.tensors, *d, *g));
}

/// split and deinterleave: `sizes` results along `dim`.
std::optional<mlir::Value> buildSplitLike(OpCall &c) {
  auto d = c.needInt("dim");
  auto s = c.needList("sizes");
  if (!d || !s ||
      !c.partsFit(c.expr, c.op + ": the number of results",
                  (int64_t)s->size()))
    return std::nullopt;
  mlir::Value x = c.tensors[0];
  SmallVector<Type> types(s->size(), typeOf(x));
  if (c.op == "split")
    return several(c.finish(c.b.create<SplitOp>(
        c.loc, types, x, *d, c.b.getDenseI64ArrayAttr(*s))));
  auto g = c.needInt("groups");
  if (!g || !c.partsFit(c.expr, "deinterleave: the number of groups", *g))
    return std::nullopt;
  return several(c.finish(c.b.create<DeinterleaveOp>(
      c.loc, types, x, *d, *g, c.b.getDenseI64ArrayAttr(*s))));
}

std::optional<mlir::Value> buildUnstack(OpCall &c) {
  auto d = c.needInt("dim");
  if (!d)
    return std::nullopt;
  mlir::Value x = c.tensors[0];
  RankedTensorType xt = typeOf(x);
  int64_t rank = xt.getRank();
  if (*d < 0 || *d >= rank) {
    c.failAt(c.expr, "unstack: dimension " + std::to_string(*d) +
                         " is not one of the " + std::to_string(rank));
    return std::nullopt;
  }
  if (!c.partsFit(c.expr, "unstack: the number of results",
                  xt.getDimSize(*d)))
    return std::nullopt;
  SmallVector<Type> types(xt.getDimSize(*d), xt);
  return several(c.finish(c.b.create<UnstackOp>(c.loc, types, x, *d)));
}

std::optional<mlir::Value> buildReshape(OpCall &c) {
  auto s = c.needList("shape");
  if (!s)
    return std::nullopt;
  for (int64_t v : *s)
    if (v < 0) {
      c.failAt(c.expr, "reshape: negative size in the shape");
      return std::nullopt;
    }
  if (!elementsFit(*s)) {
    c.failAt(c.expr, "reshape: the shape has more than " +
                         std::to_string(limits::kMaxTensorElements) +
                         " elements");
    return std::nullopt;
  }
  mlir::Value x = c.tensors[0];
  return c.finish(c.b.create<ReshapeOp>(
      c.loc, RankedTensorType::get(*s, typeOf(x).getElementType()), x));
}

std::optional<mlir::Value> buildPermute(OpCall &c) {
  auto p = c.needList("perm");
  if (!p)
    return std::nullopt;
  mlir::Value x = c.tensors[0];
  return c.finish(c.b.create<PermuteOp>(c.loc, typeOf(x), x, *p));
}

std::optional<mlir::Value> buildTranspose(OpCall &c) {
  mlir::Value x = c.tensors[0];
  int64_t rank = typeOf(x).getRank();
  if (rank != 2) {
    c.failAt(c.expr, "transpose: takes a 2-d tensor, this one has rank " +
                         std::to_string(rank) + " (use permute)");
    return std::nullopt;
  }
  std::vector<int64_t> perm = {1, 0};
  return c.finish(c.b.create<PermuteOp>(c.loc, typeOf(x), x, perm));
}

/// pad's `value` as an attribute of the element type: a float rounds; an
/// integer element holds the value exactly, or it is refused (never
/// truncated, wrapped or cast from NaN).
std::optional<TypedAttr> padValue(OpCall &c, Type et) {
  auto v = c.number("value", 0);
  if (!v)
    return std::nullopt;
  if (isa<FloatType>(et))
    return TypedAttr(c.b.getFloatAttr(et, *v));
  auto it = cast<IntegerType>(et);
  unsigned w = it.getWidth();
  bool isUnsigned = it.isUnsigned() || w == 1;
  double lo = isUnsigned ? 0.0 : -std::ldexp(1.0, (int)w - 1);
  double hi = isUnsigned ? std::ldexp(1.0, (int)w) - 1
                         : std::ldexp(1.0, (int)w - 1) - 1;
  if (!(*v >= lo && *v <= hi) || *v != std::floor(*v)) {
    char shown[32];
    std::snprintf(shown, sizeof shown, "%.17g", *v);
    c.failAt(*c.named.at("value").second,
             std::string("pad: value ") + shown + " is not a value of the " +
                 std::to_string(w) + "-bit integer elements");
    return std::nullopt;
  }
  return TypedAttr(isUnsigned ? c.b.getIntegerAttr(et, (uint64_t)*v)
                              : c.b.getIntegerAttr(et, (int64_t)*v));
}

std::optional<mlir::Value> buildPad(OpCall &c) {
  auto d = c.needInt("dim"), lo = c.needInt("low"), hi = c.needInt("high");
  if (!d || !lo || !hi)
    return std::nullopt;
  mlir::Value x = c.tensors[0];
  TypedAttr value;
  if (c.has("value")) {
    std::optional<TypedAttr> v = padValue(c, typeOf(x).getElementType());
    if (!v)
      return std::nullopt;
    value = *v;
  }
  return c.finish(
      c.b.create<PadOp>(c.loc, typeOf(x), x, *d, *lo, *hi, value));
}

std::optional<mlir::Value> buildCast(OpCall &c) {
  auto it = c.named.find("dtype");
  if (it == c.named.end() ||
      !std::holds_alternative<std::string>(it->second.first)) {
    c.failAt(c.expr, "cast: needs dtype=\"...\" (bf16, f32, ...)");
    return std::nullopt;
  }
  const std::string &name = std::get<std::string>(it->second.first);
  Type et = elementTypeNamed(c.b.getContext(), name);
  if (!et) {
    c.failAt(*it->second.second, "cast: unknown dtype " + quoteText(name));
    return std::nullopt;
  }
  mlir::Value x = c.tensors[0];
  return c.finish(c.b.create<CastOp>(
      c.loc, RankedTensorType::get(typeOf(x).getShape(), et), x));
}

std::optional<mlir::Value> buildAffine(OpCall &c) {
  auto s = c.number("scale", 1.0), o = c.number("offset", 0.0);
  if (!s || !o)
    return std::nullopt;
  mlir::Value x = c.tensors[0];
  return c.finish(c.b.create<AffineOp>(c.loc, typeOf(x), x,
                                       c.b.getF64FloatAttr(*s),
                                       c.b.getF64FloatAttr(*o)));
}

/// Every op a spec body can call (docs/mapping-spec.md).
const std::vector<OpBuilderEntry> &table() {
  static const std::vector<OpBuilderEntry> entries = {
      {"slice", {"offsets", "sizes", "strides"}, false, false, buildSlice},
      {"shard", {"dim", "count", "index"}, false, false, buildShard},
      {"concat", {"dim"}, true, false, buildConcat},
      {"split", {"dim", "sizes"}, false, true, buildSplitLike},
      {"interleave", {"dim", "groups"}, true, false, buildInterleave},
      {"deinterleave", {"dim", "groups", "sizes"}, false, true,
       buildSplitLike},
      {"reshape", {"shape"}, false, false, buildReshape},
      {"permute", {"perm"}, false, false, buildPermute},
      {"transpose", {}, false, false, buildTranspose},
      {"stack", {"dim"}, true, false, buildStack},
      {"unstack", {"dim"}, false, true, buildUnstack},
      {"pad", {"dim", "low", "high", "value"}, false, false, buildPad},
      {"cast", {"dtype"}, false, false, buildCast},
      {"affine", {"scale", "offset"}, false, false, buildAffine},
  };
  return entries;
}

} // namespace

const OpBuilderEntry *findOpBuilder(const std::string &name) {
  for (const OpBuilderEntry &e : table())
    if (name == e.name)
      return &e;
  return nullptr;
}

} // namespace wl::mapping
