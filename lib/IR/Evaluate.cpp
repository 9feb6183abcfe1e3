//===- Evaluate.cpp - element-by-element helpers of `evaluate` ------------===//
#include "Evaluate.h"

#include "wl/IR/ElementTypes.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/APFloat.h"

using namespace mlir;
using llvm::APFloat;
using llvm::APInt;

namespace wl::eval {

int64_t count(const Coords &shape) {
  int64_t n = 1;
  for (int64_t s : shape)
    n *= s;
  return n;
}

Coords unflat(const Coords &shape, int64_t i) {
  Coords c(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    c[d] = i % shape[d];
    i /= shape[d];
  }
  return c;
}

int64_t flat(const Coords &shape, const Coords &c) {
  int64_t i = 0;
  for (size_t d = 0; d < shape.size(); ++d)
    i = i * shape[d] + c[d];
  return i;
}

} // namespace wl::eval

namespace wl::detail {

ElementTensor makeTensor(Value v) {
  auto t = cast<RankedTensorType>(v.getType());
  ElementTensor r{t.getElementType(),
                  Coords(t.getShape().begin(), t.getShape().end()),
                  {}};
  r.bits.assign(count(r.shape), 0);
  return r;
}

namespace {

const llvm::fltSemantics &semantics(Type t) {
  return cast<FloatType>(t).getFloatSemantics();
}

unsigned width(Type t) { return t.getIntOrFloatBitWidth(); }

APFloat toFloat(uint64_t bits, Type t) {
  return APFloat(semantics(t), APInt(width(t), bits));
}

} // namespace

uint64_t convertElement(uint64_t bits, Type from, Type to) {
  if (from == to)
    return bits;
  if (isa<FloatType>(from)) {
    APFloat v = toFloat(bits, from);
    bool lost;
    v.convert(semantics(to), APFloat::rmNearestTiesToEven, &lost);
    return v.bitcastToAPInt().getZExtValue();
  }
  auto it = cast<IntegerType>(from);
  bool isSigned = !it.isUnsigned() && it.getWidth() > 1;
  APInt value(it.getWidth(), bits);
  if (isa<FloatType>(to)) {
    APFloat v(semantics(to));
    v.convertFromAPInt(value, isSigned, APFloat::rmNearestTiesToEven);
    return v.bitcastToAPInt().getZExtValue();
  }
  unsigned w = width(to);
  APInt r = isSigned ? value.sextOrTrunc(w) : value.zextOrTrunc(w);
  return r.getZExtValue();
}

uint64_t affineElement(uint64_t bits, Type t, double scale, double offset) {
  const llvm::fltSemantics &compute =
      t.isF64() ? APFloat::IEEEdouble() : APFloat::IEEEsingle();
  bool lost;
  APFloat x = toFloat(bits, t);
  x.convert(compute, APFloat::rmNearestTiesToEven, &lost);
  if (scale != 1.0) {
    APFloat s(scale);
    s.convert(compute, APFloat::rmNearestTiesToEven, &lost);
    x.multiply(s, APFloat::rmNearestTiesToEven);
  }
  if (offset != 0.0) {
    APFloat o(offset);
    o.convert(compute, APFloat::rmNearestTiesToEven, &lost);
    x.add(o, APFloat::rmNearestTiesToEven);
  }
  x.convert(semantics(t), APFloat::rmNearestTiesToEven, &lost);
  return x.bitcastToAPInt().getZExtValue();
}

layout::Shape layoutShape(Value v) {
  auto s = cast<RankedTensorType>(v.getType()).getShape();
  return layout::Shape(s.begin(), s.end());
}

layout::DType dtypeOf(Value v) {
  return *toDType(cast<RankedTensorType>(v.getType()).getElementType());
}

} // namespace wl::detail
