//===- PropertyTest.cpp - random wl chains: plan == interpreter -----------===//
//
// Thousands of seeded random op chains over all 15 ops, random shapes and
// dtypes. For each chain:
//   1. executing the lowered plan (lib/Plan, own soft-float) equals
//      interpreting the IR (APFloat), element by element;
//   2. the canonicalized IR interprets to the same targets;
//   3. the plan survives JSON and normalize unchanged in effect;
//   4. invert succeeds exactly when every source element is read once and no
//      step is lossy, and then inverse(plan(S)) == S;
//   5. composing with a second random chain over the first's targets equals
//      running the two plans in sequence.
// A failure prints the seed and the IR. WL_PROPERTY_ITERATIONS (default
// 1500) and WL_PROPERTY_SEED (first seed, default 1) select the chains.
//
//===----------------------------------------------------------------------===//
#include "wl/IR/WLDialect.h"
#include "wl/IR/WLOps.h"
#include "wl/Interpreter/Interpreter.h"
#include "wl/Plan/Plan.h"
#include "wl/Runtime/CpuExecutor.h"
#include "wl/Transforms/LowerToPlan.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <numeric>
#include <random>
#include <set>
#include <sstream>

using namespace mlir;
using namespace wl;
using layout::DType;

namespace {

struct Gen {
  std::mt19937_64 rng;
  OpBuilder &b;
  Location loc;
  std::vector<Value> live;
  int sources = 0;
  bool tracing = false; ///< ui64 only, no cast: element values are origins

  Gen(uint64_t seed, OpBuilder &b) : rng(seed), b(b), loc(b.getUnknownLoc()) {}

  int64_t pick(int64_t lo, int64_t hi) { // inclusive
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  }
  bool coin(int pct = 50) { return pick(0, 99) < pct; }

  Type randomElementType() {
    MLIRContext *c = b.getContext();
    switch (pick(0, 9)) {
    case 0: return b.getF16Type();
    case 1: return b.getF32Type();
    case 2: return b.getF64Type();
    case 3: return b.getType<Float8E4M3FNType>();
    case 4: return b.getType<Float8E5M2Type>();
    case 5: return IntegerType::get(c, 8);
    case 6: return IntegerType::get(c, 32, IntegerType::Unsigned);
    case 7: return IntegerType::get(c, 1);
    default: return b.getBF16Type();
    }
  }

  static RankedTensorType type(Value v) {
    return cast<RankedTensorType>(v.getType());
  }
  static std::vector<int64_t> shape(Value v) {
    auto s = type(v).getShape();
    return {s.begin(), s.end()};
  }
  RankedTensorType withShape(Value v, ArrayRef<int64_t> s) {
    return RankedTensorType::get(s, type(v).getElementType());
  }

  Value source(Type et) {
    int64_t rank = pick(1, 3);
    std::vector<int64_t> s;
    for (int64_t d = 0; d < rank; ++d)
      s.push_back(pick(1, rank == 1 ? 12 : 6));
    std::string name = "s" + std::to_string(sources++);
    return b.create<SourceOp>(loc, RankedTensorType::get(s, et),
                              b.getStringAttr(name));
  }

  Value any() { return live[pick(0, live.size() - 1)]; }

  std::vector<int64_t> divisors(int64_t n) {
    std::vector<int64_t> r;
    for (int64_t k = 1; k <= n; ++k)
      if (n % k == 0)
        r.push_back(k);
    return r;
  }

  /// Removes and returns a random live value (bijective chains consume).
  Value take() {
    size_t i = pick(0, live.size() - 1);
    Value v = live[i];
    live.erase(live.begin() + i);
    return v;
  }
  /// Another live value of x's type (rank, dtype and every size but dim d).
  int fitting(Value x, int64_t d) {
    for (size_t i = 0; i < live.size(); ++i) {
      auto sy = shape(live[i]), s = shape(x);
      bool ok = type(live[i]).getElementType() == type(x).getElementType() &&
                sy.size() == s.size();
      for (size_t k = 0; ok && k < s.size(); ++k)
        ok = (int64_t)k == d || sy[k] == s[k];
      if (ok)
        return i;
    }
    return -1;
  }

  /// One random op that moves every element of its inputs exactly once (or
  /// pads, or widens exactly), consuming its inputs: the chain stays
  /// invertible.
  bool stepBijective() {
    Value x = take();
    std::vector<int64_t> s = shape(x);
    int64_t rank = s.size(), d = pick(0, rank - 1);
    auto keep = [&](Value v) { live.push_back(v); return true; };
    switch (pick(0, 8)) {
    case 0: { // split
      if (s[d] < 2)
        break;
      int64_t a = pick(1, s[d] - 1);
      std::vector<int64_t> sa = s, sb = s;
      sa[d] = a;
      sb[d] = s[d] - a;
      auto sp = b.create<SplitOp>(
          loc, TypeRange{withShape(x, sa), withShape(x, sb)}, x, d,
          b.getDenseI64ArrayAttr({a, s[d] - a}));
      keep(sp.getResult(0));
      return keep(sp.getResult(1));
    }
    case 1: { // concat with a fitting value
      int i = fitting(x, d);
      if (i < 0)
        break;
      Value y = live[i];
      live.erase(live.begin() + i);
      std::vector<int64_t> r = s;
      r[d] += shape(y)[d];
      return keep(b.create<ConcatOp>(loc, withShape(x, r), ValueRange{y, x}, d));
    }
    case 2: { // interleave with a fitting value
      int i = fitting(x, d);
      if (i < 0)
        break;
      Value y = live[i];
      int64_t g = std::gcd(s[d], shape(y)[d]);
      auto ds = divisors(g);
      g = ds[pick(0, ds.size() - 1)];
      live.erase(live.begin() + i);
      std::vector<int64_t> r = s;
      r[d] += shape(y)[d];
      return keep(
          b.create<InterleaveOp>(loc, withShape(x, r), ValueRange{x, y}, d, g));
    }
    case 3: { // deinterleave
      auto ds = divisors(s[d]);
      int64_t g = ds[pick(0, ds.size() - 1)], per = s[d] / g;
      if (per < 2)
        break;
      int64_t a = pick(1, per - 1);
      std::vector<int64_t> sa = s, sb = s;
      sa[d] = a * g;
      sb[d] = (per - a) * g;
      auto de = b.create<DeinterleaveOp>(
          loc, TypeRange{withShape(x, sa), withShape(x, sb)}, x, d, g,
          b.getDenseI64ArrayAttr({a * g, (per - a) * g}));
      keep(de.getResult(0));
      return keep(de.getResult(1));
    }
    case 4: { // reshape
      int64_t n = 1;
      for (int64_t v : s)
        n *= v;
      std::vector<int64_t> r;
      int64_t left = n, parts = pick(1, 3);
      for (int64_t k = 0; k + 1 < parts; ++k) {
        auto ds = divisors(left);
        int64_t f = ds[pick(0, ds.size() - 1)];
        r.push_back(f);
        left /= f;
      }
      r.push_back(left);
      return keep(b.create<ReshapeOp>(loc, withShape(x, r), x));
    }
    case 5: { // permute
      std::vector<int64_t> perm(rank), r;
      for (int64_t k = 0; k < rank; ++k)
        perm[k] = k;
      std::shuffle(perm.begin(), perm.end(), rng);
      for (int64_t k : perm)
        r.push_back(s[k]);
      return keep(b.create<PermuteOp>(loc, withShape(x, r), x, perm));
    }
    case 6: { // stack with a same-typed value, or alone
      if (rank >= 4)
        break;
      std::vector<Value> ops{x};
      for (size_t i = 0; i < live.size(); ++i)
        if (live[i].getType() == x.getType() && coin()) {
          ops.push_back(live[i]);
          live.erase(live.begin() + i);
          break;
        }
      int64_t at = pick(0, rank);
      std::vector<int64_t> r = s;
      r.insert(r.begin() + at, ops.size());
      return keep(b.create<StackOp>(loc, withShape(x, r), ops, at));
    }
    case 7: { // unstack
      if (s[d] > 4 || rank < 2)
        break;
      std::vector<int64_t> r = s;
      r.erase(r.begin() + d);
      SmallVector<Type> types(s[d], withShape(x, r));
      for (Value v : b.create<UnstackOp>(loc, types, x, d).getResults())
        keep(v);
      return true;
    }
    case 8: { // pad, or an exact widening cast
      if (coin()) {
        std::vector<int64_t> r = s;
        int64_t low = pick(0, 2), high = pick(0, 2);
        r[d] += low + high;
        return keep(b.create<PadOp>(loc, withShape(x, r), x, d, low, high,
                                    TypedAttr()));
      }
      Type et = type(x).getElementType(), to = randomElementType();
      auto a = toDType(et), c = toDType(to);
      if (!layout::isExactCast(*a, *c) ||
          layout::isFloat(*c) != layout::isFloat(*a))
        break;
      return keep(b.create<CastOp>(loc, RankedTensorType::get(s, to), x));
    }
    }
    live.push_back(x); // not applied: put it back
    return false;
  }

  /// One random op on live values; returns false when it did not apply.
  bool step() {
    Value x = any();
    std::vector<int64_t> s = shape(x);
    int64_t rank = s.size();
    int64_t d = pick(0, rank - 1);
    switch (pick(0, 15)) {
    case 0: { // slice
      std::vector<int64_t> off, sz, st;
      for (int64_t k = 0; k < rank; ++k) {
        int64_t o = pick(0, s[k] - 1), stride = pick(1, 3);
        int64_t maxN = (s[k] - 1 - o) / stride + 1;
        off.push_back(o);
        st.push_back(stride);
        sz.push_back(pick(1, maxN));
      }
      live.push_back(b.create<SliceOp>(loc, withShape(x, sz), x, off, sz, st));
      return true;
    }
    case 1: { // shard
      auto ds = divisors(s[d]);
      int64_t count = ds[pick(0, ds.size() - 1)];
      std::vector<int64_t> r = s;
      r[d] /= count;
      live.push_back(b.create<ShardOp>(loc, withShape(x, r), x, d, count,
                                       pick(0, count - 1)));
      return true;
    }
    case 2: { // split + concat in another order (a permutation of blocks)
      if (s[d] < 2)
        return false;
      int64_t a = pick(1, s[d] - 1);
      std::vector<int64_t> sa = s, sb = s;
      sa[d] = a;
      sb[d] = s[d] - a;
      auto split = b.create<SplitOp>(
          loc, TypeRange{withShape(x, sa), withShape(x, sb)}, x, d,
          b.getDenseI64ArrayAttr({a, s[d] - a}));
      live.push_back(split.getResult(0));
      live.push_back(split.getResult(1));
      Value parts[] = {split.getResult(1), split.getResult(0)};
      live.push_back(b.create<ConcatOp>(loc, withShape(x, s), parts, d));
      return true;
    }
    case 3: { // concat with another live value that fits, or itself
      Value y = any();
      std::vector<int64_t> sy = shape(y);
      bool fits = type(y).getElementType() == type(x).getElementType() &&
                  sy.size() == s.size();
      for (int64_t k = 0; fits && k < rank; ++k)
        fits = k == d || sy[k] == s[k];
      if (!fits)
        y = x;
      std::vector<int64_t> r = s;
      r[d] += shape(y)[d];
      live.push_back(
          b.create<ConcatOp>(loc, withShape(x, r), ValueRange{x, y}, d));
      return true;
    }
    case 4: { // deinterleave, then interleave in another group count
      auto ds = divisors(s[d]);
      int64_t g = ds[pick(0, ds.size() - 1)];
      int64_t per = s[d] / g;
      if (per < 2)
        return false;
      int64_t a = pick(1, per - 1);
      std::vector<int64_t> sa = s, sb = s;
      sa[d] = a * g;
      sb[d] = (per - a) * g;
      auto de = b.create<DeinterleaveOp>(
          loc, TypeRange{withShape(x, sa), withShape(x, sb)}, x, d, g,
          b.getDenseI64ArrayAttr({a * g, (per - a) * g}));
      live.push_back(de.getResult(0));
      live.push_back(de.getResult(1));
      // Re-interleave with a group count dividing both.
      auto dg = divisors(g);
      int64_t g2 = dg[pick(0, dg.size() - 1)];
      Value parts[] = {de.getResult(1), de.getResult(0)};
      live.push_back(b.create<InterleaveOp>(loc, withShape(x, s), parts, d, g2));
      return true;
    }
    case 5: { // interleave x with itself
      auto ds = divisors(s[d]);
      int64_t g = ds[pick(0, ds.size() - 1)];
      std::vector<int64_t> r = s;
      r[d] *= 2;
      live.push_back(
          b.create<InterleaveOp>(loc, withShape(x, r), ValueRange{x, x}, d, g));
      return true;
    }
    case 6: { // reshape to a random factorization
      int64_t n = 1;
      for (int64_t v : s)
        n *= v;
      std::vector<int64_t> r;
      int64_t left = n;
      int64_t parts = pick(1, 3);
      for (int64_t k = 0; k + 1 < parts; ++k) {
        auto ds = divisors(left);
        int64_t f = ds[pick(0, ds.size() - 1)];
        r.push_back(f);
        left /= f;
      }
      r.push_back(left);
      live.push_back(b.create<ReshapeOp>(loc, withShape(x, r), x));
      return true;
    }
    case 7: { // permute
      std::vector<int64_t> perm(rank);
      for (int64_t k = 0; k < rank; ++k)
        perm[k] = k;
      std::shuffle(perm.begin(), perm.end(), rng);
      std::vector<int64_t> r;
      for (int64_t k : perm)
        r.push_back(s[k]);
      live.push_back(b.create<PermuteOp>(loc, withShape(x, r), x, perm));
      return true;
    }
    case 8: { // stack
      if (rank >= 4)
        return false;
      int64_t n = pick(1, 3), at = pick(0, rank);
      std::vector<Value> ops;
      for (int64_t k = 0; k < n; ++k) {
        Value y = any();
        ops.push_back(y.getType() == x.getType() ? y : x);
      }
      std::vector<int64_t> r = s;
      r.insert(r.begin() + at, n);
      live.push_back(b.create<StackOp>(loc, withShape(x, r), ops, at));
      return true;
    }
    case 9: { // unstack
      if (s[d] > 4 || rank < 2)
        return false;
      std::vector<int64_t> r = s;
      r.erase(r.begin() + d);
      SmallVector<Type> types(s[d], withShape(x, r));
      auto un = b.create<UnstackOp>(loc, types, x, d);
      for (Value v : un.getResults())
        live.push_back(v);
      return true;
    }
    case 10: { // pad
      int64_t low = pick(0, 2), high = pick(0, 2);
      std::vector<int64_t> r = s;
      r[d] += low + high;
      Type et = type(x).getElementType();
      TypedAttr value;
      if (coin(60)) {
        if (isa<FloatType>(et))
          value = b.getFloatAttr(et, coin() ? 1.5 : -0.0);
        else
          value = b.getIntegerAttr(et, et.getIntOrFloatBitWidth() == 1 ? 1 : 7);
      }
      auto pad = b.create<PadOp>(loc, withShape(x, r), x, d, low, high,
                                 value);
      live.push_back(pad);
      return true;
    }
    case 11: { // cast
      if (tracing)
        return false;
      Type from = type(x).getElementType(), to = randomElementType();
      if (isa<FloatType>(from) && !isa<FloatType>(to))
        return false;
      live.push_back(b.create<CastOp>(
          loc, RankedTensorType::get(s, to), x));
      return true;
    }
    case 12: { // affine
      if (!isa<FloatType>(type(x).getElementType()))
        return false;
      double scales[] = {1.0, 2.0, 0.5, -1.5, 3.0};
      double offsets[] = {0.0, -1.0, 0.25, 100.0};
      live.push_back(b.create<AffineOp>(
          loc, x.getType(), x, b.getF64FloatAttr(scales[pick(0, 4)]),
          b.getF64FloatAttr(offsets[pick(0, 3)])));
      return true;
    }
    default: { // a shard after an interleave or concat: the common case
      auto ds = divisors(s[d]);
      int64_t g = ds[pick(0, ds.size() - 1)];
      std::vector<int64_t> r = s;
      r[d] *= 2;
      Value y = x;
      auto il = b.create<InterleaveOp>(loc, withShape(x, r), ValueRange{x, y},
                                       d, g);
      std::vector<int64_t> rs = r;
      rs[d] /= g;
      live.push_back(b.create<ShardOp>(loc, withShape(x, rs), il, d, g,
                                       pick(0, g - 1)));
      return true;
    }
    }
  }
};

/// Builds one random mapping function @f with sinks "t0", "t1", ...
func::FuncOp buildChain(uint64_t seed, OpBuilder &b, ModuleOp m,
                        const std::vector<std::pair<std::string, Type>> *inputs,
                        const std::string &prefix, bool bijective = false,
                        bool tracing = false) {
  b.setInsertionPointToEnd(m.getBody());
  auto fn = b.create<func::FuncOp>(b.getUnknownLoc(), "f" + prefix,
                                   b.getFunctionType({}, {}));
  b.setInsertionPointToStart(fn.addEntryBlock());
  Gen g(seed, b);
  g.tracing = tracing;
  if (inputs) {
    for (auto &[name, t] : *inputs)
      g.live.push_back(b.create<SourceOp>(g.loc, t, b.getStringAttr(name)));
  } else {
    Type et = tracing ? IntegerType::get(b.getContext(), 64, IntegerType::Unsigned)
                      : g.randomElementType();
    int n = g.pick(1, 3);
    for (int i = 0; i < n; ++i)
      g.live.push_back(
          g.source(g.coin(80) || tracing ? et : g.randomElementType()));
  }
  int steps = g.pick(1, 6);
  for (int i = 0, tries = 0; i < steps && tries < 50; ++tries)
    if (bijective ? g.stepBijective() : g.step())
      ++i;
  if (bijective) {
    // Every remaining value is delivered, so every element is read once.
    for (size_t k = 0; k < g.live.size(); ++k)
      b.create<SinkOp>(g.loc, g.live[k], prefix + "t" + std::to_string(k),
                       nullptr, nullptr);
    b.create<func::ReturnOp>(g.loc);
    return fn;
  }
  // Sinks: the newest value, sometimes another; sometimes assembled from
  // two partial sinks.
  int nSinks = g.pick(1, 2);
  for (int k = 0; k < nSinks; ++k) {
    Value v = k == 0 ? g.live.back() : g.any();
    std::string name = prefix + "t" + std::to_string(k);
    auto s = Gen::shape(v);
    if (g.coin(25) && s[0] >= 2) {
      int64_t a = g.pick(1, s[0] - 1);
      std::vector<int64_t> sa = s, sb = s;
      sa[0] = a;
      sb[0] = s[0] - a;
      auto split = b.create<SplitOp>(
          g.loc, TypeRange{g.withShape(v, sa), g.withShape(v, sb)}, v, 0,
          b.getDenseI64ArrayAttr({a, s[0] - a}));
      std::vector<int64_t> zero(s.size(), 0), at = zero;
      at[0] = a;
      b.create<SinkOp>(g.loc, split.getResult(1), name,
                       b.getDenseI64ArrayAttr(at), b.getDenseI64ArrayAttr(s));
      b.create<SinkOp>(g.loc, split.getResult(0), name,
                       b.getDenseI64ArrayAttr(zero), b.getDenseI64ArrayAttr(s));
    } else {
      b.create<SinkOp>(g.loc, v, name, nullptr, nullptr);
    }
  }
  b.create<func::ReturnOp>(g.loc);
  return fn;
}

std::string print(Operation *op) {
  std::string s;
  llvm::raw_string_ostream os(s);
  op->print(os);
  return s;
}

interp::Tensor randomTensor(std::mt19937_64 &rng, Type et,
                            const std::vector<int64_t> &shape) {
  interp::Tensor t{et, shape, {}};
  int64_t n = 1;
  for (int64_t s : shape)
    n *= s;
  unsigned w = et.getIntOrFloatBitWidth();
  for (int64_t i = 0; i < n; ++i) {
    uint64_t v = rng();
    t.bits.push_back(w == 64 ? v : v & ((1ull << w) - 1));
  }
  return t;
}

plan::Buffer toBuffer(const interp::Tensor &t, DType dt) {
  plan::Buffer b;
  b.bytes.assign(t.bits.size() * layout::dtypeSize(dt), 0);
  for (size_t i = 0; i < t.bits.size(); ++i)
    plan::storeElement(b, dt, i, t.bits[i]);
  return b;
}

/// Equal bit for bit, except that any two NaNs of a float type are equal.
bool sameElements(const plan::Buffer &a, const plan::Buffer &b, DType dt,
                  std::string &where) {
  if (a.bytes.size() != b.bytes.size()) {
    where = "sizes differ";
    return false;
  }
  int64_t n = a.bytes.size() / layout::dtypeSize(dt);
  for (int64_t i = 0; i < n; ++i) {
    uint64_t x = plan::loadElement(a, dt, i), y = plan::loadElement(b, dt, i);
    if (x == y || (layout::isNaNBits(x, dt) && layout::isNaNBits(y, dt)))
      continue;
    std::ostringstream os;
    os << "element " << i << ": 0x" << std::hex << x << " vs 0x" << y;
    where = os.str();
    return false;
  }
  return true;
}

struct Fixture {
  MLIRContext ctx;
  Fixture() {
    ctx.loadDialect<WLDialect, func::FuncDialect>();
  }
};

int envInt(const char *name, int dflt) {
  const char *v = std::getenv(name);
  return v ? std::atoi(v) : dflt;
}

/// The plan run by the fast CPU executor twice: whole targets with a tiny
/// grain (so that pieces are clipped into many tasks over two threads), and
/// window by window over random windows (as the streaming writer does).
std::pair<std::vector<plan::Buffer>, std::vector<plan::Buffer>>
runFast(const layout::Plan &plan, const std::vector<plan::Buffer> &srcs,
        uint64_t seed) {
  static runtime::ThreadPool pool(2);
  std::vector<const uint8_t *> in;
  for (const plan::Buffer &b : srcs)
    in.push_back(b.bytes.data());
  std::vector<plan::Buffer> whole(plan.targets.size()),
      windowed(plan.targets.size());
  std::vector<uint8_t *> out;
  for (size_t t = 0; t < plan.targets.size(); ++t) {
    size_t bytes = *layout::numElements(plan.targets[t].shape) *
                   layout::dtypeSize(plan.targets[t].dtype);
    whole[t].bytes.assign(bytes, 0);
    windowed[t].bytes.assign(bytes, 0);
    out.push_back(whole[t].bytes.data());
  }
  std::mt19937_64 rng(seed * 31 + 7);
  runtime::executePlan(plan, in, out, pool, 1 + rng() % 24);
  for (size_t t = 0; t < plan.targets.size(); ++t) {
    int es = layout::dtypeSize(plan.targets[t].dtype);
    int64_t n = *layout::numElements(plan.targets[t].shape);
    for (int64_t a = 0; a < n;) {
      int64_t b = std::min(n, a + 1 + static_cast<int64_t>(rng() % 7));
      // Windows never cut a piece whose positions do not grow with its index.
      for (const layout::Piece &raw : plan.pieces) {
        layout::Piece c = layout::coalesce(raw);
        auto [lo, hi] = runtime::dstSpan(c);
        if (c.target == static_cast<int64_t>(t) &&
            !runtime::isMonotoneDst(c) && lo < b && b < hi)
          b = hi;
      }
      std::vector<uint8_t> window((b - a) * es, 0);
      for (const layout::Piece &raw : plan.pieces) {
        if (raw.target != static_cast<int64_t>(t))
          continue;
        layout::Piece c = layout::coalesce(raw);
        if (!runtime::isMonotoneDst(c)) {
          if (c.numElements() && runtime::dstSpan(c).first >= a &&
              runtime::dstSpan(c).first < b)
            runtime::renderPiece(
                c, c.isFill() ? nullptr : in[c.source],
                c.isFill() ? plan.targets[t].dtype
                           : plan.sources[c.source].dtype,
                plan.targets[t].dtype, window.data(), a);
          continue;
        }
        for (const layout::Piece &q : runtime::clipToDst(c, a, b))
          runtime::renderPiece(q, q.isFill() ? nullptr : in[q.source],
                               q.isFill() ? plan.targets[t].dtype
                                          : plan.sources[q.source].dtype,
                               plan.targets[t].dtype, window.data(), a);
      }
      std::copy(window.begin(), window.end(),
                windowed[t].bytes.begin() + a * es);
      a = b;
    }
  }
  return {whole, windowed};
}

TEST(Property, RandomChainsAgreeWithTheInterpreter) {
  Fixture fx;
  int iterations = envInt("WL_PROPERTY_ITERATIONS", 1500);
  uint64_t first = envInt("WL_PROPERTY_SEED", 1);
  int inverted = 0, refused = 0, composed = 0, partialReads = 0;
  for (uint64_t seed = first; seed < first + iterations; ++seed) {
    OpBuilder b(&fx.ctx);
    OwningOpRef<ModuleOp> m = ModuleOp::create(b.getUnknownLoc());
    // One chain in three is built from element-preserving ops only, so that
    // the inverse is exercised as often as its refusal.
    // Another third traces origins: ui64 elements, no cast or affine.
    bool tracing = seed % 3 == 1;
    func::FuncOp fn =
        buildChain(seed, b, *m, nullptr, "", seed % 3 == 0, tracing);
    std::string ir = print(*m);
    std::string ctxMsg = "seed " + std::to_string(seed) + "\n" + ir;
    ASSERT_TRUE(succeeded(verify(*m))) << ctxMsg;

    FailureOr<LoweredFunction> lowered = lowerFunction(fn);
    ASSERT_TRUE(succeeded(lowered)) << ctxMsg;
    layout::Plan p = lowered->plan;
    std::string err;
    ASSERT_TRUE(plan::validate(p, err)) << err << "\n" << ctxMsg;

    std::mt19937_64 rng(seed * 7919);
    std::map<std::string, interp::Tensor> srcs;
    std::vector<plan::Buffer> bufs;
    for (const layout::TensorInfo &t : p.sources) {
      Type et;
      fn.walk([&](SourceOp s) {
        if (s.getName() == t.name)
          et = cast<RankedTensorType>(s.getType()).getElementType();
      });
      srcs[t.name] = randomTensor(rng, et, t.shape);
      if (tracing) // the value names its origin: source, element
        for (size_t e = 0; e < srcs[t.name].bits.size(); ++e)
          srcs[t.name].bits[e] = (uint64_t(bufs.size() + 1) << 40) | e;
      bufs.push_back(toBuffer(srcs[t.name], t.dtype));
    }
    auto expected = interp::interpret(fn, srcs);
    ASSERT_TRUE(succeeded(expected)) << ctxMsg;

    // The source buffers in the order of a plan's sources.
    auto buffersFor = [&](const layout::Plan &plan) {
      std::vector<plan::Buffer> v;
      for (const layout::TensorInfo &t : plan.sources)
        v.push_back(toBuffer(srcs.at(t.name), t.dtype));
      return v;
    };
    auto check = [&](const layout::Plan &plan, const std::string &what) {
      std::vector<plan::Buffer> out = plan::execute(plan, buffersFor(plan));
      // The fast CPU executor writes the same bytes as the reference one.
      auto [fast, windowed] = runFast(plan, buffersFor(plan), seed);
      for (size_t t = 0; t < plan.targets.size(); ++t) {
        ASSERT_TRUE(fast[t].bytes == out[t].bytes)
            << what << ": CPU executor: target " << plan.targets[t].name
            << "\nplan:\n" << plan::toJson(plan) << ctxMsg;
        ASSERT_TRUE(windowed[t].bytes == out[t].bytes)
            << what << ": CPU executor by windows: target "
            << plan.targets[t].name << "\nplan:\n" << plan::toJson(plan)
            << ctxMsg;
      }
      for (size_t t = 0; t < plan.targets.size(); ++t) {
        const interp::Tensor &want = (*expected)[plan.targets[t].name];
        std::string where;
        ASSERT_TRUE(sameElements(out[t], toBuffer(want, plan.targets[t].dtype),
                                 plan.targets[t].dtype, where))
            << what << ": target " << plan.targets[t].name << " " << where
            << "\nplan:\n" << plan::toJson(plan) << ctxMsg;
      }
    };
    // 1. The lowered plan equals the interpreter.
    check(p, "lowered plan");
    // 3. Normalized, and through JSON.
    layout::Plan norm = p;
    layout::normalize(norm);
    check(norm, "normalized plan");
    auto parsed = plan::fromJson(plan::toJson(norm), err);
    ASSERT_TRUE(parsed) << err << ctxMsg;
    check(*parsed, "plan read back from JSON");
    // Coverage: a wl function writes every target element exactly once.
    layout::CoverageOptions co;
    auto problems = layout::checkCoverage(norm, co);
    bool exactOnce = true;
    for (auto &pr : problems) {
      ASSERT_EQ(pr.kind, layout::CoverageProblem::Unread)
          << pr.message << "\n" << ctxMsg;
      exactOnce = false;
    }
    // Shard propagation: the plan reads exactly the source elements whose
    // values reach a target, nothing more (origins traced by the
    // interpreter, independently of the lowering).
    if (tracing) {
      std::set<uint64_t> needed, planned;
      for (auto &[name, t] : *expected)
        for (uint64_t v : t.bits)
          if (v >> 40)
            needed.insert(v);
      for (const layout::Piece &q : norm.pieces)
        if (!q.isFill()) {
          size_t srcNo = 0;
          for (size_t k = 0; k < p.sources.size(); ++k)
            if (p.sources[k].name == norm.sources[q.source].name)
              srcNo = k;
          for (auto iv : layout::touchedIntervals(q, false))
            for (int64_t e = iv.begin; e < iv.end; ++e)
              planned.insert((uint64_t(srcNo + 1) << 40) | e);
        }
      int64_t all = 0;
      for (const layout::TensorInfo &t : p.sources)
        all += *layout::numElements(t.shape);
      partialReads += (int64_t)needed.size() < all;
      ASSERT_EQ(planned, needed) << "the plan reads other elements than "
                                    "the targets need\n" << plan::toJson(norm)
                                 << ctxMsg;
    }
    // 2. Canonicalized IR interprets to the same targets.
    {
      OwningOpRef<ModuleOp> c = cast<ModuleOp>((*m)->clone());
      PassManager pm(&fx.ctx);
      pm.addPass(createCanonicalizerPass());
      ASSERT_TRUE(succeeded(pm.run(*c))) << ctxMsg;
      func::FuncOp cf = *c->getOps<func::FuncOp>().begin();
      auto got = interp::interpret(cf, srcs);
      ASSERT_TRUE(succeeded(got)) << ctxMsg;
      for (auto &[name, want] : *expected) {
        DType dt = *toDType(want.elementType);
        std::string where;
        ASSERT_TRUE(sameElements(toBuffer((*got)[name], dt),
                                 toBuffer(want, dt), dt, where))
            << "canonicalized IR: target " << name << " " << where << "\n"
            << print(*c) << ctxMsg;
      }
      FailureOr<LoweredFunction> cl = lowerFunction(cf);
      ASSERT_TRUE(succeeded(cl)) << ctxMsg;
      check(cl->plan, "plan of the canonicalized IR");
    }
    // 4. Invert exactly when each source element is read once, losslessly.
    bool lossy = false, filled = false;
    for (const layout::Piece &q : norm.pieces) {
      filled |= q.isFill();
      for (const layout::Step &st : q.steps)
        lossy |= st.kind == layout::Step::Affine ||
                 !layout::isExactCast(st.from, st.to) ||
                 (layout::isFloat(st.to) && !layout::isFloat(st.from));
    }
    (void)filled;
    // Read exactly once: nothing unread and as many reads as elements.
    bool readTwice = false;
    {
      std::vector<int64_t> readCount(norm.sources.size(), 0);
      for (const layout::Piece &q : norm.pieces)
        if (!q.isFill())
          readCount[q.source] += q.numElements();
      for (size_t k = 0; k < norm.sources.size(); ++k)
        readTwice |= readCount[k] > *layout::numElements(norm.sources[k].shape);
    }
    auto inv = layout::invert(norm, err);
    bool shouldInvert = exactOnce && !readTwice && !lossy;
    ASSERT_EQ((bool)inv, shouldInvert)
        << (inv ? "inverted" : err) << "\n" << plan::toJson(norm) << ctxMsg;
    if (inv) {
      ++inverted;
      std::vector<plan::Buffer> fwd = plan::execute(norm, bufs);
      std::vector<plan::Buffer> back = plan::execute(*inv, fwd);
      for (size_t s = 0; s < norm.sources.size(); ++s) {
        std::string where;
        ASSERT_TRUE(sameElements(back[s], bufs[s], norm.sources[s].dtype,
                                 where))
            << "inverse: source " << norm.sources[s].name << " " << where
            << "\n" << plan::toJson(*inv) << ctxMsg;
      }
    } else {
      ++refused;
    }
    // 5. Composition with a second chain over the first's targets.
    {
      std::vector<std::pair<std::string, Type>> mids;
      for (auto &[name, t] : *expected)
        mids.push_back({name, RankedTensorType::get(t.shape, t.elementType)});
      OwningOpRef<ModuleOp> m2 = ModuleOp::create(b.getUnknownLoc());
      func::FuncOp fn2 = buildChain(seed * 31 + 7, b, *m2, &mids, "b");
      ASSERT_TRUE(succeeded(verify(*m2))) << print(*m2);
      auto l2 = lowerFunction(fn2);
      ASSERT_TRUE(succeeded(l2)) << print(*m2);
      layout::Plan second = l2->plan;
      layout::normalize(second);
      auto both = layout::compose(norm, second, err);
      ASSERT_TRUE(both) << err << "\n" << print(*m2) << ctxMsg;
      ASSERT_TRUE(plan::validate(*both, err)) << err;
      std::vector<plan::Buffer> mid = plan::execute(norm, bufs);
      std::vector<plan::Buffer> midForSecond;
      for (const layout::TensorInfo &t : second.sources)
        for (size_t k = 0; k < norm.targets.size(); ++k)
          if (norm.targets[k].name == t.name)
            midForSecond.push_back(mid[k]);
      std::vector<plan::Buffer> seq = plan::execute(second, midForSecond);
      std::vector<plan::Buffer> direct = plan::execute(*both, bufs);
      for (size_t t = 0; t < second.targets.size(); ++t) {
        std::string where;
        ASSERT_TRUE(sameElements(direct[t], seq[t], second.targets[t].dtype,
                                 where))
            << "composition: target " << second.targets[t].name << " "
            << where << "\nsecond:\n" << print(*m2) << "\ncomposed:\n"
            << plan::toJson(*both) << ctxMsg;
      }
      ++composed;
    }
  }
  std::printf("%d chains: %d inverted, %d refused to invert, %d composed, "
              "%d read only part of their sources (checked exact)\n",
              iterations, inverted, refused, composed, partialReads);
}

} // namespace
