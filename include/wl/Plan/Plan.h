//===- Plan.h - the versioned plan: JSON, validation, execution -*- C++ -*-===//
//
// Plain C++17, no MLIR: what the compiler hands to the runtimes. The format
// is documented in docs/plan-format.md.
//
//===----------------------------------------------------------------------===//
#ifndef WL_PLAN_PLAN_H
#define WL_PLAN_PLAN_H

#include "wl/Layout/Plan.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wl::plan {

using layout::Plan;

/// The `version` this library writes and the only one it reads.
constexpr int kPlanVersion = 1;

/// The plan as JSON (docs/plan-format.md), with each target's alias when it
/// has one. `indent` < 0 writes one line. Defined for any plan: one that
/// validate() refuses is written as it is, and fromJson refuses it again.
std::string toJson(const Plan &plan, int indent = 1);

/// Parses and validates a plan. On failure returns nullopt and sets `error`
/// to one message naming the JSON path ("pieces[3].shape: ...").
std::optional<Plan> fromJson(std::string_view text, std::string &error);

/// Checks what fromJson checks on a plan built in memory: indices in range,
/// shapes and strides non-negative and of one rank, every element a piece
/// touches inside its tensor, steps that chain from the source dtype to the
/// target dtype (no float-to-integer cast, affine on floats only).
bool validate(const Plan &plan, std::string &error);

/// A tensor's bytes, row-major, little-endian elements.
struct Buffer {
  std::vector<uint8_t> bytes;
};

/// The reference executor: every piece element by element, with the
/// conversions of wl/Layout/DType.h. Deliberately simple; the fast
/// executors are checked against it. Targets are allocated (zeroed) here;
/// elements no piece writes stay zero. Pre: validate(plan) and each source
/// buffer holds numElements * dtypeSize bytes.
std::vector<Buffer> execute(const Plan &plan,
                            const std::vector<Buffer> &sources);

/// Element `i` of a buffer of `t`, as bits; and the store.
uint64_t loadElement(const Buffer &b, layout::DType t, int64_t i);
void storeElement(Buffer &b, layout::DType t, int64_t i, uint64_t bits);

/// A stable 64-bit FNV-1a hash of the plan's JSON (provenance).
uint64_t planHash(const Plan &plan);

} // namespace wl::plan

#endif // WL_PLAN_PLAN_H
