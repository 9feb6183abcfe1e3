//===- OpBuilders.h - the spec's op calls, one builder each ----*- C++ -*-===//
//
// Internal to lib/Mapping. A spec body calls ops by name
// (`slice(x, offsets=[0, 0], sizes=[4, 8])`, docs/mapping-spec.md); the
// frontend parses the call's operands and parameters into an OpCall and
// hands it to the op's entry of the table in OpBuilders.cpp, which builds
// the wl op. Adding an op to the spec language is one entry there.
//
//===----------------------------------------------------------------------===//
#ifndef WL_LIB_MAPPING_OPBUILDERS_H
#define WL_LIB_MAPPING_OPBUILDERS_H

#include "wl/MappingSpec/Expr.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace wl::mapping {

/// Whether a tensor of `shape` stays within limits::kMaxTensorElements,
/// counting a zero dimension as 1: so that no stride of it overflows either
/// (a [0, 2^40, 2^40] tensor is empty, but its first stride is 2^80).
bool elementsFit(llvm::ArrayRef<int64_t> shape);

/// One op call of a spec body, its arguments evaluated, and what the
/// frontend provides to build it.
struct OpCall {
  const Expr &expr;      ///< the call
  const std::string &op; ///< its name
  std::vector<mlir::Value> tensors;
  /// Parameters by name, with the expression each came from.
  std::map<std::string, std::pair<Value, const Expr *>> named;
  mlir::OpBuilder &b;
  mlir::Location loc;

  /// Reports `what` at `e` (its column) and returns false.
  std::function<bool(const Expr &e, const std::string &what)> failAt;
  /// Checks a count of an op's parts (results, groups, operands) against
  /// limits::kMaxOpParts.
  std::function<bool(const Expr &e, const std::string &what, int64_t n)>
      partsFit;
  /// Verifies `op` (its result types from its inference) and returns its
  /// one result, a null Value for several, or nullopt when it is refused
  /// (reported, and the op erased).
  std::function<std::optional<mlir::Value>(mlir::Operation *op)> finish;

  bool has(const std::string &k) const { return named.count(k) != 0; }
  /// A parameter that must be an integer, a list of integers, or a number
  /// (`dflt` when absent); nullopt after reporting why not.
  std::optional<int64_t> needInt(const std::string &k);
  std::optional<std::vector<int64_t>> needList(const std::string &k);
  std::optional<double> number(const std::string &k, double dflt);
};

/// How a spec op is called and built.
struct OpBuilderEntry {
  const char *name;
  /// The parameters after the tensor operand(s), in positional order.
  std::vector<std::string> params;
  /// Takes a list of tensors (concat, interleave, stack), not one.
  bool variadic = false;
  /// Has several results, picked with [index] (split, deinterleave,
  /// unstack).
  bool multiResult = false;
  std::function<std::optional<mlir::Value>(OpCall &call)> build;
};

/// The entry of the spec op `name`, or nullptr.
const OpBuilderEntry *findOpBuilder(const std::string &name);

} // namespace wl::mapping

#endif // WL_LIB_MAPPING_OPBUILDERS_H
