//===- MappingMain.cpp - weight-layout-opt --mapping ----------------------===//
//
// The interface outside tools depend on:
//   weight-layout-opt --mapping FILE --config FILE [--tp N] [--ep N] [--pp N]
//     [--rank R] [--set KEY=VALUE ...] [--dtype T] [--checkpoint PATH]
//     [--reverse] [--all-ranks] --emit=ir|plan [-o FILE]
// --emit=ir prints the wl IR of rank R (of every rank with --all-ranks);
// --emit=plan prints rank R's plan, after proving on all ranks together that
// every target element is written once and every source element is read;
// --emit=plan --reverse prints the plan from the targets of every rank
// (named rank-<r>/<name> when there are several) back to the sources, derived by
// the layout algebra from the same spec; where the forward direction rounds
// (an affine such as Megatron's w - 1, a narrowing cast), the way back undoes
// it as the framework does, with a note, or refuses with --exact.
//
//===----------------------------------------------------------------------===//
#include "MappingMain.h"

#include "CheckpointNames.h"
#include "EmitPlan.h"

#include "wl/IR/WLOps.h"
#include "wl/Mapping/Frontend.h"
#include "wl/Mapping/PlanToIR.h"
#include "wl/Plan/Plan.h"
#include "wl/Transforms/LowerToPlan.h"
#include "wl/Transforms/Passes.h"
#include "wl/Support/Quote.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <cerrno>
#include <cstdlib>
#include <map>
#include <set>

using namespace mlir;

namespace wl::tool {

static int usage(const std::string &problem) {
  llvm::errs() << "weight-layout-opt --mapping: " << problem << "\n"
               << "usage: weight-layout-opt --mapping FILE --config FILE "
                  "[--tp N] [--ep N] [--pp N] [--rank R] [--set KEY=VALUE ...] "
                  "[--dtype T] [--checkpoint PATH] [--reverse [--exact]] [--all-ranks] "
                  "--emit=ir|plan [-o FILE]\n";
  return 2;
}

static bool parseInt(const std::string &s, int64_t &out) {
  if (s.empty())
    return false;
  char *end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (*end != 0 || errno != 0)
    return false;
  out = v;
  return true;
}

int mappingMain(const std::vector<char *> &args, DialectRegistry &registry) {
  std::string mapping, config, emit, output = "-", dtype, checkpoint;
  std::map<std::string, int64_t> options;
  bool reverse = false, allRanks = false, exact = false;
  int64_t rank = 0;
  for (size_t i = 1; i < args.size(); ++i) {
    std::string a = args[i];
    auto value = [&](const char *flag) -> std::optional<std::string> {
      std::string f = flag;
      if (a == f && i + 1 < args.size())
        return std::string(args[++i]);
      if (a.rfind(f + "=", 0) == 0)
        return a.substr(f.size() + 1);
      return std::nullopt;
    };
    auto intOption = [&](const char *name, const std::string &v) {
      int64_t n;
      if (!parseInt(v, n))
        return false;
      options[name] = n;
      return true;
    };
    if (auto v = value("--mapping"))
      mapping = *v;
    else if (auto v = value("--config"))
      config = *v;
    else if (auto v = value("--emit"))
      emit = *v;
    else if (auto v = value("-o"))
      output = *v;
    else if (auto v = value("--dtype"))
      dtype = *v;
    else if (auto v = value("--checkpoint"))
      checkpoint = *v;
    else if (auto v = value("--tp")) {
      if (!intOption("tp", *v))
        return usage("--tp needs an integer, not " + quoteName(*v));
    } else if (auto v = value("--ep")) {
      if (!intOption("ep", *v))
        return usage("--ep needs an integer, not " + quoteName(*v));
    } else if (auto v = value("--pp")) {
      if (!intOption("pp", *v))
        return usage("--pp needs an integer, not " + quoteName(*v));
    } else if (auto v = value("--rank")) {
      if (!parseInt(*v, rank))
        return usage("--rank needs an integer, not " + quoteName(*v));
    } else if (auto v = value("--set")) {
      size_t eq = v->find('=');
      int64_t n;
      if (eq == std::string::npos || !parseInt(v->substr(eq + 1), n))
        return usage("--set needs KEY=INTEGER, not " + quoteName(*v));
      std::string key = v->substr(0, eq);
      if (key == "rank" || key == "tp_rank" || key == "ep_rank" ||
          key == "pp_rank")
        return usage(quoteName(key) + " is chosen with --rank");
      options[key] = n;
    } else if (a == "--reverse")
      reverse = true;
    else if (a == "--exact")
      exact = true;
    else if (a == "--all-ranks")
      allRanks = true;
    else
      return usage("unknown argument " + quoteName(a));
  }
  if (mapping.empty() || config.empty())
    return usage("--mapping and --config are required");
  if (emit != "ir" && emit != "plan")
    return usage("--emit=ir or --emit=plan is required");

  std::string error;
  auto spec = mapping::loadSpec(mapping, error);
  if (!spec) {
    llvm::errs() << error << "\n";
    return 1;
  }
  auto env = mapping::Env::create(spec, config, options, dtype, error);
  if (!env) {
    llvm::errs() << error << "\n";
    return 1;
  }
  int64_t tp = env->option("tp"), ep = env->option("ep"), pp = env->option("pp");
  if (tp < 1 || ep < 1 || pp < 1)
    return usage("--tp, --ep and --pp must be at least 1");
  int64_t nranks = tp * ep * pp;
  if (rank < 0 || rank >= nranks)
    return usage("--rank " + std::to_string(rank) +
                 " is not one of the tp x ep x pp = " + std::to_string(nranks) +
                 " ranks");
  std::vector<int64_t> ranks;
  if (emit == "ir" && !allRanks && !reverse)
    ranks = {rank};
  else
    for (int64_t r = 0; r < nranks; ++r)
      ranks.push_back(r);

  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  context.printOpOnDiagnostic(false);
  // Ops carry their rule as a name location; print it as the place.
  ScopedDiagnosticHandler handler(&context, [](Diagnostic &d) {
    std::string where;
    if (auto n = dyn_cast<NameLoc>(d.getLocation()))
      where = n.getName().str() + ": ";
    llvm::errs() << where
                 << (d.getSeverity() == DiagnosticSeverity::Error ? "error: "
                                                                  : "note: ")
                 << d.str() << "\n";
    return success();
  });
  std::vector<std::string> dropped;
  OwningOpRef<ModuleOp> module =
      mapping::buildMapping(*env, &context, ranks, error, &dropped);
  if (!module) {
    llvm::errs() << error << "\n";
    return 1;
  }

  if (!checkpoint.empty()) {
    // Every checkpoint tensor is read or dropped by a rule, and every tensor
    // a rule reads is in the checkpoint with that dtype and shape.
    std::vector<int64_t> all;
    for (int64_t r = 0; r < nranks; ++r)
      all.push_back(r);
    OwningOpRef<ModuleOp> others;
    ModuleOp everything = *module;
    if (ranks.size() != all.size()) {
      others = mapping::buildMapping(*env, &context, all, error);
      if (!others) {
        llvm::errs() << error << "\n";
        return 1;
      }
      everything = *others;
    }
    std::map<std::string, TensorHeader> present;
    if (!readCheckpointNames(checkpoint, present, error)) {
      llvm::errs() << error << "\n";
      return 1;
    }
    std::map<std::string, RankedTensorType> read;
    everything.walk([&](SourceOp op) {
      read.emplace(op.getName().str(), cast<RankedTensorType>(op.getType()));
    });
    std::vector<std::string> missing, unused, wrong;
    for (auto &[name, type] : read) {
      auto it = present.find(name);
      if (it == present.end()) {
        missing.push_back(quoteName(name));
        continue;
      }
      std::string want(layout::safetensorsName(*toDType(type.getElementType())));
      std::vector<int64_t> shape(type.getShape().begin(), type.getShape().end());
      if (it->second.dtype != want || it->second.shape != shape) {
        std::string s;
        llvm::raw_string_ostream os(s);
        os << quoteName(name) << " is " << it->second.dtype << " [";
        llvm::interleaveComma(it->second.shape, os);
        os << "], the spec reads " << want << " [";
        llvm::interleaveComma(shape, os);
        os << "]";
        wrong.push_back(os.str());
      }
    }
    std::set<std::string> droppedSet(dropped.begin(), dropped.end());
    for (auto &[name, h] : present)
      if (!read.count(name) && !droppedSet.count(name))
        unused.push_back(quoteName(name));
    auto report = [&](const std::vector<std::string> &names,
                      const std::string &what) {
      if (names.empty())
        return false;
      llvm::errs() << mapping << ": " << names.size() << " " << what << ":";
      for (size_t i = 0; i < names.size() && i < 20; ++i)
        llvm::errs() << "\n  " << names[i];
      if (names.size() > 20)
        llvm::errs() << "\n  ... and " << names.size() - 20 << " more";
      llvm::errs() << "\n";
      return true;
    };
    bool bad = report(unused, "checkpoint tensor(s) that no rule reads and "
                              "no rule drops (" + checkpoint + ")");
    bad |= report(missing, "tensor(s) the spec reads that are not in " +
                               checkpoint);
    bad |= report(wrong, "tensor(s) of another dtype or shape in " +
                             checkpoint);
    if (bad)
      return 1;
  }

  std::string text;
  if (emit == "ir" && !reverse) {
    llvm::raw_string_ostream os(text);
    module->print(os);
  } else {
    // All ranks together: every target element once, every source element
    // read by some rank (nothing lost silently).
    PassManager pm(&context);
    pm.addPass(createWLCheckCoverage());
    if (failed(pm.run(*module)))
      return 1;
    layout::Plan plan;
    if (!reverse) {
      auto fn = module->lookupSymbol<func::FuncOp>("rank" + std::to_string(rank));
      FailureOr<LoweredFunction> lowered = lowerFunction(fn);
      if (failed(lowered))
        return 1;
      plan = std::move(lowered->plan);
    } else {
      // One plan over every rank's targets, then its inverse.
      FailureOr<layout::Plan> all = lowerAllRanks(*module);
      if (failed(all))
        return 1;
      plan = std::move(*all);
      layout::normalize(plan);
      layout::InvertOptions inv;
      std::vector<std::string> rounded;
      inv.dropReplicas = true;
      inv.allowInexact = !exact;
      inv.rounded = &rounded;
      auto inverse = layout::invert(plan, error, inv);
      if (!inverse) {
        llvm::errs() << mapping << ": " << error << "\n";
        return 1;
      }
      noteRounded(mapping, rounded);
      plan = std::move(*inverse);
    }
    layout::normalize(plan);
    if (emit == "plan") {
      text = plan::toJson(plan);
    } else {
      // The way back as IR: the inverse plan written with wl ops.
      OwningOpRef<ModuleOp> back = mapping::planToIR(plan, &context, "reverse");
      if (!back) {
        llvm::errs() << mapping << ": the inverse cannot be written as IR\n";
        return 1;
      }
      llvm::raw_string_ostream os(text);
      back->print(os);
    }
  }
  auto out = openOutputFile(output, &error);
  if (!out) {
    llvm::errs() << "weight-layout-opt: " << error << "\n";
    return 1;
  }
  out->os() << text;
  out->keep();
  return 0;
}

} // namespace wl::tool
