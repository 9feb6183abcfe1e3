//===- Execute.h - binding and executing sub-plans (internal) -------------===//
//
// What Run.cpp's runInto and StreamLoader are made of, shared with the
// checkpoint loader (Load.cpp): tensors checked against a plan and bound
// to its indices, and a sub-plan executed over addresses on a device.
//
//===----------------------------------------------------------------------===//
#ifndef WL_LIB_EMBED_EXECUTE_H
#define WL_LIB_EMBED_EXECUTE_H

#include "CudaDevice.h"
#include "PlanData.h"

#include "wl/Embed/Run.h"

#include <climits>
#include <optional>

namespace wl::embed::detail {

/// Checks one tensor against its plan entry (dtype, shape, memory, device).
void checkRef(const char *role, const layout::TensorInfo &info,
              const TensorRef &t);

/// Tensors bound to plan indices, all on one device.
struct Bound {
  std::vector<const TensorRef *> refs;
  std::optional<Device> device;
};

/// Every target's destination from `given` (all required, except the
/// aliased targets with `skipAliases`); all on one device.
Bound bindDestinations(const PlanData &d,
                       const std::map<std::string, TensorRef> &given,
                       bool skipAliases);

/// Memory of the work: source and target addresses by plan index.
struct Work {
  std::vector<const uint8_t *> src;
  std::vector<uint8_t *> dst;
  Device srcDevice, dstDevice;
};

/// Runs `sub` over `w`, the addresses of every tensor of d.plan. `key`
/// caches the CUDA task table in d (LLONG_MIN: not cached). Sources on
/// another device than the targets are copied there first.
void execute(const PlanData &d, const SubPlan &sub, int64_t key,
             const Work &w, const ExecOptions &o, ExecStats &st);

/// Zeroes a destination (on its device, in stream order).
void zeroTarget(const TensorRef &t, const ExecOptions &o);
/// Zeroes the bound destinations of the targets that have gaps (elements
/// no piece writes).
void zeroGaps(const PlanData &d, const Bound &dst, const ExecOptions &o);

/// Every source the plan reads from `given` (all required); one device.
Bound bindSources(const PlanData &d,
                  const std::map<std::string, TensorRef> &given);
/// Throws when a destination overlaps a source in memory.
void checkNoOverlap(const PlanData &d, const Bound &src, const Bound &dst);
/// The addresses of bound tensors, by plan index.
Work workOf(const Bound &src, const Bound &dst, Device fallback);

/// `sub` prepared for the CUDA executor over `w` (see execute), to be
/// launched again and again; null where execute would not run it on the
/// GPU directly (sources on another device, no executor, a plan the task
/// table does not take, nothing to run).
std::shared_ptr<PreparedTable> prepareOnDevice(const PlanData &d,
                                               const SubPlan &sub,
                                               int64_t key, const Work &w,
                                               const ExecOptions &o);
/// Pieces and bytes of `sub` as execute counts them.
void countRun(const PlanData &d, const SubPlan &sub, ExecStats &st);
/// What lastExecStats() reports on this thread from now on.
void setLastExecStats(const ExecStats &st);

/// Bytes of a plan tensor.
size_t bytesOf(const layout::TensorInfo &i);

} // namespace wl::embed::detail

#endif // WL_LIB_EMBED_EXECUTE_H
