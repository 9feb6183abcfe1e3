//===- weight-layout-opt.cpp - the weight-layout compiler driver ----------===//
//
// mlir-opt for the wl dialect: parses wl IR, runs passes, prints the result.
// The usual MlirOptMain flags work (--split-input-file, --verify-diagnostics,
// --pass-pipeline, --mlir-print-ir-after-all, ...).
//
//===----------------------------------------------------------------------===//
#include "wl/IR/WLDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::registerSymbolDCEPass();

  mlir::DialectRegistry registry;
  registry.insert<wl::WLDialect, mlir::func::FuncDialect>();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "weight-layout compiler driver\n", registry));
}
