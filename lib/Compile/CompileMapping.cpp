//===- CompileMapping.cpp - a mapping spec compiled to plans, in-process --===//
#include "wl/Compile/CompileMapping.h"

#include "wl/IR/WLDialect.h"
#include "wl/Mapping/Frontend.h"
#include "wl/Transforms/LowerToPlan.h"
#include "wl/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"

using namespace mlir;

namespace wl {

std::unique_ptr<CompiledMapping> compileMapping(const MappingRequest &request,
                                                std::string &error) {
  auto spec = mapping::loadSpec(request.spec, error);
  if (!spec)
    return nullptr;
  auto env = mapping::Env::create(spec, request.config, request.options,
                                  request.dtype, error);
  if (!env)
    return nullptr;
  auto out = std::make_unique<CompiledMapping>();
  out->tp = env->option("tp");
  out->ep = env->option("ep");
  out->pp = env->option("pp");
  out->from = spec->from;
  out->to = spec->to;
  out->modelType = spec->modelType;
  if (out->tp < 1 || out->ep < 1 || out->pp < 1) {
    error = "tp, ep and pp must be at least 1";
    return nullptr;
  }
  std::vector<int64_t> ranks;
  for (int64_t r = 0; r < out->ranks(); ++r)
    ranks.push_back(r);

  MLIRContext context;
  context.loadDialect<WLDialect, func::FuncDialect>();
  context.printOpOnDiagnostic(false);
  // Diagnostics become the error text, with the rule they come from.
  std::string diagnostics;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &d) {
    if (!diagnostics.empty())
      diagnostics += "\n";
    if (auto n = dyn_cast<NameLoc>(d.getLocation()))
      diagnostics += n.getName().str() + ": ";
    diagnostics += d.str();
    return success();
  });
  auto fail = [&](const std::string &what) -> std::unique_ptr<CompiledMapping> {
    error = what.empty()          ? diagnostics
            : diagnostics.empty() ? what
                                  : what + "\n" + diagnostics;
    return nullptr;
  };

  OwningOpRef<ModuleOp> module =
      mapping::buildMapping(*env, &context, ranks, error, &out->dropped);
  if (!module)
    return fail(error);
  // All ranks together: every target element once, every source element
  // read by some rank.
  PassManager pm(&context);
  pm.addPass(createWLCheckCoverage());
  if (failed(pm.run(*module)))
    return fail(request.spec + ": the mapping does not cover its tensors");
  for (int64_t r : ranks) {
    auto fn = module->lookupSymbol<func::FuncOp>("rank" + std::to_string(r));
    FailureOr<LoweredFunction> lowered = lowerFunction(fn);
    if (failed(lowered))
      return fail(request.spec + ": rank " + std::to_string(r) +
                  " cannot be lowered");
    layout::normalize(lowered->plan);
    out->rankPlans.push_back(std::move(lowered->plan));
  }
  if (request.reverse) {
    FailureOr<layout::Plan> all = lowerAllRanks(*module);
    if (failed(all))
      return fail(request.spec + ": the ranks cannot be lowered together");
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
  }
  return out;
}

} // namespace wl
