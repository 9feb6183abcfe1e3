//===- WLBase.td - wl dialect definition and shared constraints -*- tablegen -*-===//
//
// The `wl` dialect describes where every element of a model weight goes when a
// checkpoint moves from one framework's layout to another's.
//
//===----------------------------------------------------------------------===//

#ifndef WL_IR_WLBASE_TD
#define WL_IR_WLBASE_TD

include "mlir/IR/OpBase.td"

def WL_Dialect : Dialect {
  let name = "wl";
  let cppNamespace = "::wl";
  let summary = "Model-weight layouts as data movement on static tensors";
  let description = [{
    The `wl` dialect expresses how the weights of a model are laid out by one
    framework in terms of the tensors of another. A mapping is a function whose
    body reads named tensors (`wl.source`), rearranges them with pure data
    movement (slice, concat, split, interleave, shard, reshape, permute, stack,
    pad) and elementwise conversions (`wl.cast`, `wl.affine`), and delivers
    named tensors (`wl.sink`).

    Values are immutable, statically shaped, ranked tensors. Element types are
    the safetensors dtypes: `bf16`, `f16`, `f32`, `f64`, `f8E4M3FN`, `f8E5M2`,
    `i1` (BOOL), `i8`, `i16`, `i32`, `i64` (signed) and `ui8`, `ui16`, `ui32`,
    `ui64`. All shapes are row-major; dimension indices count from 0, outermost
    first.

    Because every op but `wl.sink` is pure and every shape is static, the
    compiler can lower a mapping to pieces of strided copies, prove that each
    target element is written exactly once, and invert the mapping.
  }];
}

/// The element types of safetensors checkpoints.
def WL_ElementType : AnyTypeOf<[BF16, F16, F32, F64, F8E4M3FN, F8E5M2, I1, I8,
                                 I16, I32, I64, UI8, UI16, UI32, UI64],
                                "safetensors element type">;

/// A statically shaped ranked tensor of a safetensors element type.
def WL_Tensor : StaticShapeTensorOf<[WL_ElementType]>;

/// A 64-bit integer attribute read as a signed int64_t (ODS's I64Attr reads
/// uint64_t, which would turn a negative dimension into a huge one).
def WL_I64Attr : TypedSignlessIntegerAttrBase<I64, "int64_t",
                                              "64-bit signless integer attribute"> {
  let convertFromStorage = "$_self.getValue().getSExtValue()";
}

class WL_Op<string mnemonic, list<Trait> traits = []>
    : Op<WL_Dialect, mnemonic, traits>;

#endif // WL_IR_WLBASE_TD
