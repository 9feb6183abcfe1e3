//===- ElementTypes.cpp - wl element types and layout::DType --------------===//
#include "wl/IR/ElementTypes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;
using wl::layout::DType;

namespace wl {

Type elementTypeOf(MLIRContext *ctx, DType t) {
  Builder b(ctx);
  auto unsignedInt = [&](unsigned width) {
    return IntegerType::get(ctx, width, IntegerType::Unsigned);
  };
  switch (t) {
  case DType::BF16: return b.getBF16Type();
  case DType::F16: return b.getF16Type();
  case DType::F32: return b.getF32Type();
  case DType::F64: return b.getF64Type();
  case DType::F8E4M3FN: return b.getType<Float8E4M3FNType>();
  case DType::F8E5M2: return b.getType<Float8E5M2Type>();
  case DType::Bool: return b.getI1Type();
  case DType::I8: return b.getIntegerType(8);
  case DType::I16: return b.getIntegerType(16);
  case DType::I32: return b.getIntegerType(32);
  case DType::I64: return b.getIntegerType(64);
  case DType::U8: return unsignedInt(8);
  case DType::U16: return unsignedInt(16);
  case DType::U32: return unsignedInt(32);
  case DType::U64: return unsignedInt(64);
  }
  return {};
}

std::optional<DType> toDType(Type type) {
  if (!type)
    return std::nullopt;
  // The inverse of elementTypeOf: types are uniqued, so equality is identity.
  for (int i = 0; i < layout::kNumDTypes; ++i) {
    DType t = static_cast<DType>(i);
    if (elementTypeOf(type.getContext(), t) == type)
      return t;
  }
  return std::nullopt;
}

Type elementTypeNamed(MLIRContext *ctx, std::string_view name) {
  std::optional<DType> t = layout::parseDType(name);
  // parseDType also reads the safetensors spelling; a spec writes MLIR's.
  if (!t || layout::mlirName(*t) != name)
    return {};
  return elementTypeOf(ctx, *t);
}

bool isExactConversion(Type from, Type to) {
  if (from == to)
    return true;
  std::optional<DType> a = toDType(from), b = toDType(to);
  return a && b && layout::isExactCast(*a, *b);
}

} // namespace wl
