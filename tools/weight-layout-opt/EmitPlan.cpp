//===- EmitPlan.cpp - weight-layout-opt --emit=plan -----------------------===//
#include "EmitPlan.h"

#include "wl/IR/WLDialect.h"
#include "wl/Plan/Plan.h"
#include "wl/Transforms/LowerToPlan.h"
#include "wl/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

using namespace mlir;

namespace wl::tool {

static int usage(const std::string &problem) {
  llvm::errs() << "weight-layout-opt --emit=plan: " << problem << "\n"
               << "usage: weight-layout-opt --emit=plan [--func NAME] "
                  "[--canonicalize] [--check-unread] [--reverse [--exact]] [-o FILE] "
                  "[INPUT]\n";
  return 2;
}

void noteRounded(const std::string &file,
                 const std::vector<std::string> &rounded) {
  if (rounded.empty())
    return;
  llvm::errs() << file << ": note: " << rounded.size()
               << (rounded.size() == 1 ? " tensor comes" : " tensors come")
               << " back through the inverse of an affine or narrowing cast, "
                  "which can round (not bit for bit; --exact refuses):";
  for (size_t i = 0; i < rounded.size() && i < 8; ++i)
    llvm::errs() << (i ? ", '" : " '") << rounded[i] << "'";
  if (rounded.size() > 8)
    llvm::errs() << " and " << rounded.size() - 8 << " more";
  llvm::errs() << "\n";
}

int emitPlanMain(const std::vector<char *> &args, DialectRegistry &registry) {
  std::string input = "-", output = "-", funcName;
  bool canonicalize = false, checkUnread = false, reverse = false,
       exact = false;
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
    if (auto v = value("--func"))
      funcName = *v;
    else if (auto v = value("-o"))
      output = *v;
    else if (a == "--canonicalize")
      canonicalize = true;
    else if (a == "--check-unread")
      checkUnread = true;
    else if (a == "--reverse")
      reverse = true;
    else if (a == "--exact")
      exact = true;
    else if (a.size() > 1 && a[0] == '-')
      return usage("unknown option '" + a + "'");
    else if (input != "-")
      return usage("more than one input file");
    else
      input = a;
  }

  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  context.printOpOnDiagnostic(false);
  std::string error;
  auto file = openInputFile(input, &error);
  if (!file) {
    llvm::errs() << "weight-layout-opt: " << error << "\n";
    return 1;
  }
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &context);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1;

  PassManager pm(&context);
  if (canonicalize)
    pm.addPass(createCanonicalizerPass());
  // Gaps and overlaps are always errors. One rank reads only part of each
  // source, so unread source elements are checked (across every function of
  // the module: all the ranks) only when asked.
  WLCheckCoverageOptions coverage;
  coverage.allowUnread = !checkUnread;
  pm.addPass(createWLCheckCoverage(coverage));
  if (failed(pm.run(*module)))
    return 1;

  func::FuncOp fn;
  std::string names;
  int count = 0;
  for (auto f : module->getOps<func::FuncOp>()) {
    names += (count++ ? ", @" : "@") + f.getSymName().str();
    if (funcName.empty() || f.getSymName() == funcName)
      fn = fn ? fn : f;
  }
  if (!funcName.empty() && !fn) {
    llvm::errs() << input << ": no function @" << funcName << " (there are "
                 << (count ? names : "none") << ")\n";
    return 1;
  }
  if (funcName.empty() && count != 1) {
    llvm::errs() << input << ": " << count
                 << " functions; choose one with --func NAME"
                 << (count ? " (" + names + ")" : "") << "\n";
    return 1;
  }
  FailureOr<LoweredFunction> lowered = lowerFunction(fn);
  if (failed(lowered))
    return 1;
  layout::normalize(lowered->plan);
  if (reverse) {
    // The way back comes from the algebra: every piece swapped, proven to
    // restore every source element exactly once (bit for bit with --exact;
    // otherwise affine steps and narrowing casts are undone the way the
    // frameworks undo them, with a note naming the tensors).
    layout::InvertOptions inv;
    std::vector<std::string> rounded;
    inv.allowInexact = !exact;
    inv.rounded = &rounded;
    std::optional<layout::Plan> inverse =
        layout::invert(lowered->plan, error, inv);
    if (!inverse) {
      llvm::errs() << input << ": @" << fn.getSymName() << ": " << error
                   << "\n";
      return 1;
    }
    noteRounded(input, rounded);
    lowered->plan = std::move(*inverse);
    layout::normalize(lowered->plan);
  }
  std::string json = plan::toJson(lowered->plan);

  // ToolOutputFile deletes the file unless keep() is reached.
  auto out = openOutputFile(output, &error);
  if (!out) {
    llvm::errs() << "weight-layout-opt: " << error << "\n";
    return 1;
  }
  out->os() << json;
  out->keep();
  return 0;
}

} // namespace wl::tool
