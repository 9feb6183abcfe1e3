//===- WLOps.cpp - generated definitions of the wl ops --------------------===//
//
// The hand-written parts of each op (inference, verifier, folder, patterns)
// live in one file per op group beside this one.
//
//===----------------------------------------------------------------------===//
#include "wl/IR/WLOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;

//===----------------------------------------------------------------------===//
// Custom directives of the assembly formats
//===----------------------------------------------------------------------===//

/// `(value <typed literal>)?`, the fill value of wl.pad, e.g. `value 1.0 : bf16`.
/// The literal carries its type so that it stays unambiguous before the
/// op's own `: types` and round-trips NaN and infinities (printed as hex).
static ParseResult parseFillValue(OpAsmParser &parser, TypedAttr &value) {
  if (failed(parser.parseOptionalKeyword("value")))
    return success();
  Attribute attr;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseAttribute(attr))
    return failure();
  value = llvm::dyn_cast<TypedAttr>(attr);
  if (!value || !llvm::isa<FloatAttr, IntegerAttr>(attr))
    return parser.emitError(loc, "expected a typed number such as `1.0 : bf16`");
  return success();
}

static void printFillValue(OpAsmPrinter &printer, Operation *, TypedAttr value) {
  if (value) {
    printer << " value ";
    printer.printAttribute(value);
  }
}

#include "wl/IR/WLInterfaces.cpp.inc"

#define GET_OP_CLASSES
#include "wl/IR/WLOps.cpp.inc"
