//===- WLInterfaces.td - what every data-movement op defines -*- tablegen -*-===//
//
// Each wl op between wl.source and wl.sink defines its meaning twice, in its
// own source file (lib/IR/<Group>Ops.cpp), independently: how it moves the
// regions of its operands (what the lowering to plans composes) and how it
// computes each result element (what the reference interpreter runs). The
// property test checks one against the other on random programs. A new op is
// its TableGen entry, its file with these two methods, and its tests.
//
//===----------------------------------------------------------------------===//

#ifndef WL_IR_WLINTERFACES_TD
#define WL_IR_WLINTERFACES_TD

include "mlir/IR/OpBase.td"

def WL_DataMovementOpInterface : OpInterface<"DataMovementOp"> {
  let cppNamespace = "::wl";
  let description = [{
    A pure wl op whose results are made of its operands' elements (moved,
    converted) and constants. `mapRegions` and `evaluate` are two
    independent statements of the op's semantics in WLOps.td.
  }];
  let methods = [
    InterfaceMethod<[{
        The regions (wl/Layout/Region.h) of each result, given the regions of
        each operand: every result element in exactly one region, read from
        where the op's definition takes it.
      }],
      "::llvm::SmallVector<::wl::layout::Regions>", "mapRegions",
      (ins "::llvm::ArrayRef<::wl::layout::Regions>":$operands)>,
    InterfaceMethod<[{
        Each result, element by element, from the operands' elements as the
        op's definition says (casts and affines through LLVM's APFloat and
        APInt). The reference interpreter's semantics.
      }],
      "::llvm::SmallVector<::wl::ElementTensor>", "evaluate",
      (ins "::llvm::ArrayRef<::wl::ElementTensor>":$operands)>,
  ];
}

#endif // WL_IR_WLINTERFACES_TD
