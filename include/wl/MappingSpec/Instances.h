//===- Instances.h - the instances of a spec's rules, without MLIR -*- C++ -*-===//
//
// Plain C++17. A rule runs once for every value of its `for` captures where
// its `when` holds; a list input names one tensor for every value of its
// own captures. These walks are the only place that loops over a spec: the
// frontend builds IR inside them, and a converter lists the tensor names a
// spec reads and writes with them before compiling anything, to compare a
// checkpoint with its config in time proportional to the checkpoint.
// Every walk counts against limits::kMaxLoopCount (one capture) and
// limits::kMaxRuleInstances (one rank), so no spec or config can make it
// loop without bound.
//
//===----------------------------------------------------------------------===//
#ifndef WL_MAPPING_INSTANCES_H
#define WL_MAPPING_INSTANCES_H

#include "wl/MappingSpec/Spec.h"

#include <functional>
#include <string>

namespace wl::mapping {

/// Counts the instances one rank has walked so far.
struct InstanceBudget {
  int64_t used = 0;
};

/// Runs `body` for each instance of `rule` with its captures set in `env`,
/// in order (the first capture outermost), skipping instances whose `when`
/// is 0. Returns false when body does (leaving `error` to it), or with
/// `error` set ("FILE: rules[2].for.L: 'n': ... (captures)") when a count
/// or condition cannot be evaluated or a cap is passed. Captures are
/// cleared on return.
bool forEachInstance(Env &env, const Rule &rule, InstanceBudget &budget,
                     const std::function<bool()> &body, std::string &error);

/// Runs `body` with the tensor name of input `in` for the current captures:
/// once for a plain input, once per value of its captures (set in `env`,
/// in order) for a list input. Errors as forEachInstance.
bool forEachInputName(Env &env, const InputDecl &in, InstanceBudget &budget,
                      const std::function<bool(const std::string &)> &body,
                      std::string &error);

/// The names one rank reads (inputs of rules with outputs), drops (inputs
/// of drop rules) and writes (outputs), for the rank set in `env`
/// (Env::setRank, then Env::refresh). `visit(kind, name)` is called for
/// each, duplicates included; it returns false to stop the walk early
/// (then this returns true with `stopped` set).
enum class NameKind { Read, Dropped, Written };
bool forEachName(Env &env,
                 const std::function<bool(NameKind, const std::string &)> &visit,
                 bool &stopped, std::string &error);

} // namespace wl::mapping

#endif // WL_MAPPING_INSTANCES_H
