//===- Evaluate.h - element-by-element helpers of `evaluate` ----*- C++ -*-===//
//
// Internal to lib/IR: what the ops' DataMovementOp::evaluate methods share
// (coordinates, element access, LLVM's conversions) and what their
// mapRegions methods share (shapes and dtypes of values). The two sets stay
// apart: evaluate is the oracle mapRegions is checked against.
//
//===----------------------------------------------------------------------===//
#ifndef WL_LIB_IR_EVALUATE_H
#define WL_LIB_IR_EVALUATE_H

#include "wl/IR/WLInterfaces.h"
#include "wl/Layout/Shape.h"

#include "mlir/IR/Value.h"

#include <cstdint>
#include <vector>

namespace wl::detail {

// --- evaluate ---------------------------------------------------------------

using eval::Coords;
using eval::count;
using eval::flat;
using eval::unflat;

/// A zeroed tensor of the type of `v`.
ElementTensor makeTensor(mlir::Value v);

/// Fills `r` with f(result coordinates) = the element's bits.
template <typename F> void fillTensor(ElementTensor &r, F f) {
  for (int64_t i = 0; i < (int64_t)r.bits.size(); ++i)
    r.bits[i] = f(unflat(r.shape, i));
}

/// The bits of element `c` of `t`.
inline uint64_t at(const ElementTensor &t, const Coords &c) {
  return t.bits[flat(t.shape, c)];
}

/// wl.cast of one element with LLVM's APFloat/APInt: floats round to nearest
/// even, integers extend by their signedness (iN signed, i1 and uiN not).
uint64_t convertElement(uint64_t bits, mlir::Type from, mlir::Type to);

/// wl.affine of one element: x * scale + offset in f64 for f64, else in f32,
/// rounding after each step, then back to `t`.
uint64_t affineElement(uint64_t bits, mlir::Type t, double scale,
                       double offset);

// --- mapRegions -------------------------------------------------------------

/// The shape of a value as layout functions take it, and its dtype.
layout::Shape layoutShape(mlir::Value v);
layout::DType dtypeOf(mlir::Value v);

} // namespace wl::detail

#endif // WL_LIB_IR_EVALUATE_H
