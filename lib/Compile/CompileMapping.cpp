//===- CompileMapping.cpp - a mapping spec compiled to plans, in-process --===//
#include "wl/Compile/CompileMapping.h"

#include "wl/IR/WLDialect.h"
#include "wl/Layout/RankNames.h"
#include "wl/IR/WLOps.h"
#include "wl/Mapping/Frontend.h"
#include "wl/Transforms/PlanToIR.h"
#include "wl/Transforms/LowerToPlan.h"
#include "wl/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace wl {

namespace {

/// Every wl.source of the module, once per name, in name order.
std::vector<layout::TensorInfo> sourcesOf(ModuleOp module) {
  std::map<std::string, layout::TensorInfo> byName;
  module.walk([&](SourceOp op) {
    auto type = cast<RankedTensorType>(op.getType());
    layout::TensorInfo t;
    t.name = op.getName().str();
    t.dtype = *toDType(type.getElementType());
    t.shape.assign(type.getShape().begin(), type.getShape().end());
    byName.emplace(t.name, std::move(t));
  });
  std::vector<layout::TensorInfo> out;
  for (auto &[name, t] : byName)
    out.push_back(std::move(t));
  return out;
}

std::string print(Operation *op) {
  std::string text;
  llvm::raw_string_ostream os(text);
  op->print(os);
  return text;
}

} // namespace

std::unique_ptr<CompiledMapping> compileMapping(const MappingRequest &request,
                                                std::string &error,
                                                CompileFailure *failure) {
  if (failure)
    *failure = CompileFailure::Other;
  auto spec = mapping::loadSpec(request.spec, error);
  if (!spec)
    return nullptr;
  auto env = mapping::Env::create(spec, request.config, request.options,
                                  request.dtype, error);
  if (!env)
    return nullptr;
  auto out = std::make_unique<CompiledMapping>();
  out->mesh = spec->mesh;
  for (const std::string &axis : spec->mesh)
    out->degrees[axis] = env->option(axis);
  out->tp = std::max<int64_t>(env->option("tp"), 1);
  out->ep = std::max<int64_t>(env->option("ep"), 1);
  out->pp = std::max<int64_t>(env->option("pp"), 1);
  out->rankCount = env->ranks();
  out->from = spec->from;
  out->to = spec->to;
  out->modelType = spec->modelType;
  const int64_t nranks = out->ranks(); // Env::create checked the degrees
  if (request.beforeIR && !request.beforeIR(*env, error))
    return nullptr;
  std::vector<int64_t> asked = request.irRanks;
  if (request.onlyRank >= 0 || request.onlyRank < -1)
    asked.push_back(request.onlyRank);
  for (int64_t r : asked)
    if (r < 0 || r >= nranks) {
      error = "rank " + std::to_string(r) + " is not one of the " +
              mapping::meshText(spec->mesh) + " = " + std::to_string(nranks) +
              " ranks";
      if (failure)
        *failure = CompileFailure::Request;
      return nullptr;
    }
  std::vector<int64_t> ranks = request.irRanks;
  if (request.stage == MappingRequest::Stage::Plans || ranks.empty()) {
    ranks.clear();
    for (int64_t r = 0; r < nranks; ++r)
      ranks.push_back(r);
  }

  MLIRContext context;
  context.loadDialect<WLDialect, func::FuncDialect>();
  context.printOpOnDiagnostic(false);
  // Diagnostics go to the caller's handler, or become the error text, with
  // the rule they come from (ops carry it as a name location).
  std::string diagnostics;
  bool handedOut = false; ///< a diagnostic went to request.diagnostic
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &d) {
    std::string where;
    if (auto n = dyn_cast<NameLoc>(d.getLocation()))
      where = n.getName().str();
    if (request.diagnostic) {
      request.diagnostic(where, d.getSeverity() == DiagnosticSeverity::Error,
                         d.str());
      handedOut = true;
      return success();
    }
    if (!diagnostics.empty())
      diagnostics += "\n";
    diagnostics += (where.empty() ? "" : where + ": ") + d.str();
    return success();
  });
  auto fail = [&](const std::string &what) -> std::unique_ptr<CompiledMapping> {
    error = what.empty()          ? diagnostics
            : diagnostics.empty() ? what
                                  : what + "\n" + diagnostics;
    return nullptr;
  };
  // A stage that failed with diagnostics the caller has printed already:
  // they say what went wrong, with no summary line after them.
  auto failStage = [&](const std::string &what) {
    if (handedOut) {
      error.clear();
      return std::unique_ptr<CompiledMapping>();
    }
    return fail(what);
  };

  OwningOpRef<ModuleOp> module =
      mapping::buildMapping(*env, &context, ranks, error, &out->dropped);
  if (!module)
    return fail(error);
  out->sources = sourcesOf(*module);
  if (request.stage == MappingRequest::Stage::IR) {
    if (request.printIR)
      out->ir = print(*module);
    return out;
  }
  // All ranks together: every target element once, every source element
  // read by some rank.
  PassManager pm(&context);
  pm.addPass(createWLCheckCoverage());
  if (failed(pm.run(*module)))
    return failStage(request.spec + ": the mapping does not cover its tensors");
  for (int64_t r : ranks) {
    if (request.onlyRank >= 0 && r != request.onlyRank)
      continue;
    auto fn = module->lookupSymbol<func::FuncOp>(layout::rankFunction(r));
    FailureOr<LoweredFunction> lowered = lowerFunction(fn);
    if (failed(lowered))
      return failStage(request.spec + ": rank " + std::to_string(r) +
                  " cannot be lowered");
    layout::normalize(lowered->plan);
    out->rankPlans.push_back(std::move(lowered->plan));
  }
  if (request.reverse) {
    FailureOr<layout::Plan> all = lowerAllRanks(*module);
    if (failed(all))
      return failStage(request.spec + ": the ranks cannot be lowered together");
    layout::normalize(*all);
    layout::InvertOptions inv;
    inv.dropReplicas = true;
    inv.allowInexact = !request.exact;
    inv.rounded = &out->rounded;
    auto inverse = layout::invert(*all, error, inv);
    if (!inverse)
      return fail(request.spec + ": " + error);
    layout::normalize(*inverse);
    out->inverse = std::move(*inverse);
    if (request.printIR) {
      // The way back as IR: the inverse plan written with wl ops.
      OwningOpRef<ModuleOp> back =
          mapping::planToIR(out->inverse, &context, "reverse");
      if (!back)
        return fail(request.spec + ": the inverse cannot be written as IR");
      out->ir = print(*back);
    }
  }
  return out;
}

} // namespace wl
