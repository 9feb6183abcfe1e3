//===- weight-layout-opt.cpp - the weight-layout compiler driver ----------===//
//
// mlir-opt for the wl dialect: parses wl IR, runs passes, prints the result.
// The usual MlirOptMain flags work (--split-input-file, --verify-diagnostics,
// --pass-pipeline, --mlir-print-ir-after-all, ...).
//
// With --emit=plan it instead lowers one function to a plan and prints the
// plan's JSON (docs/plan-format.md); see EmitPlan.cpp. With --mapping it
// compiles a mapping spec (docs/mapping-spec.md); see MappingMain.cpp.
//
//===----------------------------------------------------------------------===//
#include "EmitPlan.h"
#include "MappingMain.h"

#include "wl/IR/WLDialect.h"
#include "wl/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>
#include <vector>

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<wl::WLDialect, mlir::func::FuncDialect>();

  std::vector<char *> args;
  bool emitPlan = false;
  for (int i = 0; i < argc; ++i)
    if (std::strncmp(argv[i], "--mapping", 9) == 0)
      return wl::tool::mappingMain(std::vector<char *>(argv, argv + argc));
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--emit=plan") == 0)
      emitPlan = true;
    else if (std::strcmp(argv[i], "--emit=ir") != 0)
      args.push_back(argv[i]);
  }
  if (emitPlan)
    return wl::tool::emitPlanMain(args, registry);

  llvm::cl::AddExtraVersionPrinter([](llvm::raw_ostream &os) {
    os << "weight-layout " << WL_VERSION << "\n";
  });
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::registerSymbolDCEPass();
  wl::registerWLPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      (int)args.size(), args.data(), "weight-layout compiler driver\n",
      registry));
}
