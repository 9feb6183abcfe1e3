//===- Frontend.cpp - mapping specs to wl IR ------------------------------===//
//
// Evaluates each rule of a spec for every value of its captures and builds
// the ops its output expressions name. Result types come from the ops' own
// inference and every op is verified as it is built, so a shape error is
// reported with the spec path, the column in the expression, the captures
// and the verifier's message.
//
//===----------------------------------------------------------------------===//
#include "wl/Mapping/Frontend.h"

#include "OpBuilders.h"

#include "wl/IR/ElementTypes.h"
#include "wl/Layout/RankNames.h"
#include "wl/IR/WLOps.h"
#include "wl/MappingSpec/Instances.h"
#include "wl/Support/Limits.h"
#include "wl/Support/Quote.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringMap.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

using namespace mlir;

namespace wl::mapping {

namespace {

/// What a body sub-expression evaluates to.
struct BodyValue {
  std::optional<mlir::Value> tensor;
  std::vector<mlir::Value> results; ///< an op with several results
  std::optional<Value> plain;       ///< int, string or list
};

class Builder {
public:
  Builder(Env &env, MLIRContext *ctx, std::string &error)
      : env(env), ctx(ctx), b(ctx), error(error) {}

  OwningOpRef<ModuleOp> run(const std::vector<int64_t> &ranks);

private:
  bool buildRank(int64_t rank);
  bool buildInstance(const Rule &rule);
  std::optional<BodyValue> eval(const Expr &e);
  std::optional<mlir::Value> tensorOf(const Expr &e);
  std::optional<mlir::Value> call(const Expr &e);
  /// Where the op being built comes from: the spec, rule path, captures.
  Location here() {
    std::string caps = env.describeCaptures();
    return NameLoc::get(StringAttr::get(
        ctx, env.spec().file + ": " + path + (caps.empty() ? "" : " (" + caps + ")")));
  }
  bool fail(const std::string &what) {
    if (error.empty()) {
      error = env.spec().file + ": " + path + ": ";
      if (!bodyText.empty())
        error += quoteText(bodyText) + ": ";
      error += what;
      std::string caps = env.describeCaptures();
      if (!caps.empty())
        error += " (" + caps + ")";
    }
    return false;
  }
  bool failAt(const Expr &e, const std::string &what) {
    return fail("column " + std::to_string(e.column) + ": " + what);
  }
  /// Verifies a freshly built op, with result types from its inference.
  std::optional<mlir::Value> finish(Operation *op, const Expr &e);

  Env &env;
  MLIRContext *ctx;
  OpBuilder b;
  std::string &error;
  std::string path, bodyText;
  ModuleOp module;
  llvm::StringMap<mlir::Value> sources;
  std::map<std::string, std::string> targets; ///< name -> rule path
  llvm::StringMap<mlir::Value> locals;
  llvm::StringMap<std::vector<mlir::Value>> listLocals;
  const Rule *currentRule = nullptr;
  InstanceBudget budget; ///< rule instances and list inputs of this rank
  /// Checks a count of an op's parts (results, groups, operands).
  bool partsFit(const Expr &e, const std::string &what, int64_t n) {
    if (n <= limits::kMaxOpParts)
      return true;
    return failAt(e, what + " is " + std::to_string(n) + ", more than the limit of " +
                         std::to_string(limits::kMaxOpParts));
  }
  bool declareInput(const InputDecl &in, const std::string &name,
                    mlir::Value &out);
  bool declareList(const InputDecl &in, std::vector<mlir::Value> &out);

public:
  std::set<std::string> dropped;
};

std::optional<mlir::Value> Builder::finish(Operation *op, const Expr &e) {
  std::string diag;
  ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &d) {
    if (diag.empty())
      diag = d.str();
    return success();
  });
  if (auto infer = dyn_cast<InferTypeOpInterface>(op)) {
    SmallVector<Type> types;
    if (failed(infer.inferReturnTypes(ctx, op->getLoc(), op->getOperands(),
                                      op->getRawDictionaryAttrs(),
                                      op->getPropertiesStorage(),
                                      op->getRegions(), types)) ||
        types.size() != op->getNumResults()) {
      op->erase();
      failAt(e, diag.empty() ? "invalid operands" : diag);
      return std::nullopt;
    }
    for (auto [r, t] : llvm::zip(op->getResults(), types))
      r.setType(t);
  }
  for (Type t : op->getResultTypes())
    if (!elementsFit(cast<RankedTensorType>(t).getShape())) {
      op->erase();
      failAt(e, "the result has more than " +
                    std::to_string(limits::kMaxTensorElements) + " elements");
      return std::nullopt;
    }
  if (failed(mlir::verify(op))) {
    op->erase();
    failAt(e, diag);
    return std::nullopt;
  }
  return op->getNumResults() == 1 ? std::optional<mlir::Value>(op->getResult(0))
                                  : std::optional<mlir::Value>(mlir::Value());
}

std::optional<BodyValue> Builder::eval(const Expr &e) {
  if (e.kind == Expr::Name) {
    auto it = locals.find(e.text);
    if (it != locals.end())
      return BodyValue{it->second, {}, {}};
    auto lt = listLocals.find(e.text);
    if (lt != listLocals.end())
      return BodyValue{std::nullopt, lt->second, {}};
  }
  if (e.kind == Expr::Call) {
    if (const OpBuilderEntry *entry = findOpBuilder(e.text)) {
      if (entry->multiResult) {
        Operation *before = b.getInsertionBlock()->empty()
                                ? nullptr
                                : &b.getInsertionBlock()->back();
        if (!call(e))
          return std::nullopt;
        Operation *op = &b.getInsertionBlock()->back();
        (void)before;
        BodyValue v;
        for (mlir::Value r : op->getResults())
          v.results.push_back(r);
        return v;
      }
      auto t = call(e);
      if (!t)
        return std::nullopt;
      return BodyValue{*t, {}, {}};
    }
  }
  if (e.kind == Expr::Subscript) {
    auto base = eval(*e.args[0]);
    if (!base)
      return std::nullopt;
    auto idx = eval(*e.args[1]);
    if (!idx)
      return std::nullopt;
    if (base->results.empty() || !idx->plain ||
        !std::holds_alternative<int64_t>(*idx->plain)) {
      failAt(e, "only the results of split, deinterleave and unstack can be "
                "indexed, by an integer");
      return std::nullopt;
    }
    int64_t k = std::get<int64_t>(*idx->plain);
    if (k < 0 || k >= (int64_t)base->results.size()) {
      failAt(e, "result " + std::to_string(k) + " of " +
                    std::to_string(base->results.size()));
      return std::nullopt;
    }
    return BodyValue{base->results[k], {}, {}};
  }
  std::string err;
  Located l{std::shared_ptr<const Expr>(&e, [](const Expr *) {}), "", path};
  auto v = env.eval(l, err);
  if (!v) {
    fail(err);
    return std::nullopt;
  }
  return BodyValue{std::nullopt, {}, *v};
}

std::optional<mlir::Value> Builder::tensorOf(const Expr &e) {
  auto v = eval(e);
  if (!v)
    return std::nullopt;
  if (!v->tensor) {
    if (!v->results.empty())
      failAt(e, "this op has several results: pick one with [index]");
    else if (e.kind == Expr::Name)
      failAt(e, quoteText(e.text) + " is not an input of this rule");
    else
      failAt(e, "expected a tensor");
    return std::nullopt;
  }
  return v->tensor;
}

std::optional<mlir::Value> Builder::call(const Expr &e) {
  const std::string &op = e.text;
  Location loc = here();
  // Parameters: positional tensors first (a variadic list for concat,
  // interleave, stack), then named or positional integer parameters.
  const OpBuilderEntry &entry = *findOpBuilder(op);
  bool variadic = entry.variadic;
  const std::vector<std::string> &names = entry.params;
  std::vector<mlir::Value> tensors;
  std::map<std::string, std::pair<Value, const Expr *>> named;
  size_t nextParam = 0;
  for (const ExprPtr &a : e.args) {
    bool wantTensor = variadic || tensors.empty();
    if (wantTensor) {
      auto v = eval(*a);
      if (!v)
        return std::nullopt;
      if (v->tensor) {
        tensors.push_back(*v->tensor);
        continue;
      }
      if (variadic && !v->results.empty()) { // a list input, spread
        tensors.insert(tensors.end(), v->results.begin(), v->results.end());
        continue;
      }
      if (!variadic || tensors.empty()) {
        failAt(*a, op + ": expected a tensor");
        return std::nullopt;
      }
      if (!v->plain) {
        failAt(*a, op + ": pick one result with [index]");
        return std::nullopt;
      }
      if (nextParam >= names.size()) {
        failAt(*a, op + ": too many arguments");
        return std::nullopt;
      }
      named[names[nextParam++]] = {*v->plain, a.get()};
      continue;
    }
    if (nextParam >= names.size()) {
      failAt(*a, op + ": too many arguments");
      return std::nullopt;
    }
    auto v = eval(*a);
    if (!v)
      return std::nullopt;
    if (!v->plain) {
      failAt(*a, op + ": '" + names[nextParam] + "' must be a value, not a tensor");
      return std::nullopt;
    }
    named[names[nextParam++]] = {*v->plain, a.get()};
  }
  for (auto &[k, a] : e.kwargs) {
    if (std::find(names.begin(), names.end(), k) == names.end()) {
      failAt(*a, op + ": no parameter '" + k + "'");
      return std::nullopt;
    }
    if (named.count(k)) {
      failAt(*a, op + ": '" + k + "' given twice");
      return std::nullopt;
    }
    auto v = eval(*a);
    if (!v)
      return std::nullopt;
    if (!v->plain) {
      failAt(*a, op + ": '" + k + "' must be a value, not a tensor");
      return std::nullopt;
    }
    named[k] = {*v->plain, a.get()};
  }
  if (tensors.empty()) {
    failAt(e, op + ": needs a tensor operand");
    return std::nullopt;
  }
  if (!variadic && tensors.size() != 1) {
    failAt(e, op + ": takes one tensor");
    return std::nullopt;
  }
  if (!partsFit(e, op + ": the number of operands", (int64_t)tensors.size()))
    return std::nullopt;
  OpCall c{e, op, std::move(tensors), std::move(named), b, loc, {}, {}, {}};
  c.failAt = [this](const Expr &at, const std::string &what) {
    return failAt(at, what);
  };
  c.partsFit = [this](const Expr &at, const std::string &what, int64_t n) {
    return partsFit(at, what, n);
  };
  c.finish = [this, &e](Operation *built) { return finish(built, e); };
  return entry.build(c);
}

/// Names the body refers to (to find unused inputs).
void collectNames(const Expr &e, std::set<std::string> &out) {
  if (e.kind == Expr::Name)
    out.insert(e.text);
  for (const ExprPtr &a : e.args)
    collectNames(*a, out);
  for (auto &[k, a] : e.kwargs)
    collectNames(*a, out);
}

bool Builder::declareInput(const InputDecl &in, const std::string &name,
                           mlir::Value &out) {
  path = in.path;
  if (currentRule->outputs.empty()) { // a drop: for checkpoint matching only
    dropped.insert(name);
    return true;
  }
  std::vector<int64_t> shape;
  std::string err;
  for (const Located &d : in.shape) {
    path = d.path;
    auto v = env.evalInt(d, err);
    if (!v)
      return fail(quoteText(d.text) + ": " + err);
    if (*v < 0)
      return fail(quoteText(d.text) + " is " + std::to_string(*v) +
                  ", a negative size");
    shape.push_back(*v);
  }
  path = in.path;
  if (!elementsFit(shape))
    return fail("the shape of " + quoteName(name) + " has more than " +
                std::to_string(limits::kMaxTensorElements) + " elements");
  path = in.path;
  std::string dt = in.dtype.empty() ? env.dtype() : in.dtype;
  Type et = elementTypeNamed(ctx, dt);
  if (!et)
    return fail("unknown dtype " + quoteText(dt));
  auto type = RankedTensorType::get(shape, et);
  auto it = sources.find(name);
  if (it != sources.end()) {
    if (it->second.getType() != type)
      return fail(quoteName(name) + " is read with two different shapes or dtypes");
    out = it->second;
    return true;
  }
  auto src = b.create<SourceOp>(here(), type, b.getStringAttr(name));
  sources[name] = src;
  out = src;
  return true;
}

bool Builder::declareList(const InputDecl &in,
                          std::vector<mlir::Value> &out) {
  return forEachInputName(env, in, budget, [&](const std::string &name) {
    mlir::Value v;
    if (!declareInput(in, name, v))
      return false;
    if (v)
      out.push_back(v);
    return true;
  }, error);
}

bool Builder::buildInstance(const Rule &rule) {
  currentRule = &rule;
  path = rule.path;
  bodyText.clear();
  locals.clear();
  listLocals.clear();
  for (const InputDecl &in : rule.inputs) {
    path = in.path;
    if (!in.loops.empty()) {
      if (rule.outputs.empty()) {
        std::vector<mlir::Value> unused;
        if (!declareList(in, unused))
          return false;
        continue;
      }
      std::vector<mlir::Value> list;
      if (!declareList(in, list))
        return false;
      listLocals[in.local] = list;
      continue;
    }
    std::string err;
    auto name = env.expand(in.pattern, in.path, err);
    if (!name)
      return fail(err);
    mlir::Value v;
    if (!declareInput(in, *name, v))
      return false;
    if (v)
      locals[in.local] = v;
  }
  std::set<std::string> used;
  for (const OutputDecl &out : rule.outputs)
    collectNames(*out.body.expr, used);
  for (const InputDecl &in : rule.inputs)
    if (!rule.outputs.empty() && !used.count(in.local)) {
      path = in.path;
      return fail("input " + quoteName(in.local) +
                  " is not used by any output (drop tensors with a 'drop' "
                  "rule, so that nothing is lost silently)");
    }
  for (const OutputDecl &out : rule.outputs) {
    path = out.body.path;
    bodyText.clear();
    std::string err;
    auto name = env.expand(out.pattern, out.body.path, err);
    if (!name)
      return fail(err);
    // Every target becomes a tensor of a safetensors header.
    if (name->empty() || *name == "__metadata__")
      return fail("a target cannot be named " + quoteName(*name) +
                  (name->empty() ? "" : " (the key of the safetensors "
                                        "header's metadata)"));
    bodyText = out.body.text;
    auto v = tensorOf(*out.body.expr);
    if (!v)
      return false;
    auto [it, inserted] = targets.try_emplace(*name, out.body.path);
    if (!inserted) {
      bodyText.clear();
      return fail("target " + quoteName(*name) + " is also written by " + it->second);
    }
    b.create<SinkOp>(here(), *v, *name, nullptr, nullptr);
  }
  bodyText.clear();
  return true;
}

bool Builder::buildRank(int64_t rank) {
  env.setRank(rank);
  if (!env.refresh(error))
    return false;
  b.setInsertionPointToEnd(module.getBody());
  auto fn = b.create<func::FuncOp>(b.getUnknownLoc(),
                                   layout::rankFunction(rank),
                                   b.getFunctionType({}, {}));
  b.setInsertionPointToStart(fn.addEntryBlock());
  sources.clear();
  targets.clear();
  budget = InstanceBudget();
  for (const Rule &rule : env.spec().rules)
    if (!forEachInstance(env, rule, budget,
                         [&] { return buildInstance(rule); }, error))
      return false;
  env.clearCaptures();
  b.create<func::ReturnOp>(b.getUnknownLoc());
  return true;
}

OwningOpRef<ModuleOp> Builder::run(const std::vector<int64_t> &ranks) {
  OwningOpRef<ModuleOp> m = ModuleOp::create(b.getUnknownLoc());
  module = *m;
  for (int64_t r : ranks) {
    if (r < 0 || r >= env.ranks()) {
      error = env.spec().file + ": rank " + std::to_string(r) +
              " is not one of the " + meshText(env.spec().mesh) + " = " +
              std::to_string(env.ranks()) + " ranks";
      return nullptr;
    }
    if (!buildRank(r))
      return nullptr;
  }
  return m;
}

} // namespace

OwningOpRef<ModuleOp> buildMapping(Env &env, MLIRContext *context,
                                   const std::vector<int64_t> &ranks,
                                   std::string &error,
                                   std::vector<std::string> *dropped) {
  context->loadDialect<WLDialect, func::FuncDialect>();
  Builder builder(env, context, error);
  OwningOpRef<ModuleOp> m = builder.run(ranks);
  if (dropped)
    dropped->assign(builder.dropped.begin(), builder.dropped.end());
  return m;
}

} // namespace wl::mapping
