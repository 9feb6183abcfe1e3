//===- DType.h - element types and their conversions ------------*- C++ -*-===//
//
// Plain C++17, no MLIR. The element types of checkpoints (the safetensors
// dtypes) and the two elementwise conversions a plan can fuse into a copy:
// `cast` and `affine`, with exactly the semantics of wl.cast and wl.affine.
// Elements are handled as raw bit patterns in the low bits of a uint64_t, so
// that every type, including the 8-bit floats, has one representation.
//
//===----------------------------------------------------------------------===//
#ifndef WL_LAYOUT_DTYPE_H
#define WL_LAYOUT_DTYPE_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wl::layout {

enum class DType : uint8_t {
  BF16, F16, F32, F64, F8E4M3FN, F8E5M2,
  Bool, I8, I16, I32, I64, U8, U16, U32, U64,
};
constexpr int kNumDTypes = 15;

/// Bytes per element (Bool takes one byte, as in safetensors).
int dtypeSize(DType t);
/// Bits that carry the value: 1 for Bool, else 8 * dtypeSize.
int dtypeBits(DType t);
bool isFloat(DType t);
/// Signed integers are I8..I64; Bool and U* are unsigned.
bool isSignedInt(DType t);

/// The safetensors name: "BF16", "F8_E4M3", "BOOL", "U32", ...
std::string_view safetensorsName(DType t);
/// The MLIR element type spelling of wl: "bf16", "f8E4M3FN", "i1", "ui32".
std::string_view mlirName(DType t);
/// Parses either spelling. Post: parseDType(safetensorsName(t)) == t and
/// parseDType(mlirName(t)) == t for every t.
std::optional<DType> parseDType(std::string_view name);

/// wl.cast of one element given as bits of `from`, returning bits of `to`.
/// Float to float and integer to float round to nearest even; values beyond
/// the range of `to` become infinities (NaN for F8E4M3FN, which has no
/// infinity); NaN stays NaN (sign and leading payload kept, made quiet).
/// Integer to integer truncates or extends (sign extension from I*).
/// Pre: !(isFloat(from) && !isFloat(to)) (float to integer is not a cast).
/// Post: agrees with LLVM's APFloat/APInt on every value (unit tested on
/// every bit pattern of up to 16 bits and on samples of wider ones).
uint64_t castBits(uint64_t bits, DType from, DType to);

/// True when castBits(castBits(x, from, to), to, from) == x for every x of
/// `from` (NaN payloads aside): the cast can be undone exactly.
bool isExactCast(DType from, DType to);

/// wl.affine of one element: x * scale + offset, computed in f64 for F64 and
/// in f32 otherwise, rounding after each step; scale == 1 skips the product
/// and offset == 0 skips the sum. Pre: isFloat(t).
uint64_t affineBits(uint64_t bits, DType t, double scale, double offset);

/// The bits of `value` in float type `t` (rounded to nearest even), or of the
/// integer `value` in integer type `t` (truncated). Used for fill values.
uint64_t bitsFromDouble(double value, DType t);
/// The exact value of float bits as a double (every supported float type
/// fits). Pre: isFloat(t).
double doubleFromBits(uint64_t bits, DType t);
/// The integer value of integer bits (sign-extended for I*).
int64_t int64FromBits(uint64_t bits, DType t);

/// True when the bits are a NaN of float type `t`.
bool isNaNBits(uint64_t bits, DType t);

/// Masks `bits` to the value bits of `t`.
uint64_t maskBits(uint64_t bits, DType t);

} // namespace wl::layout

#endif // WL_LAYOUT_DTYPE_H
