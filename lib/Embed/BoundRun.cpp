//===- BoundRun.cpp - runInto bound once, run again and again -------------===//
//
// The binding, the checks and, on a GPU, the task table's upload happen in
// the constructor; run() zeroes the targets with gaps and launches the
// prepared table (or, where the CUDA executor does not run the plan
// directly, runs it as runInto would). See wl/Embed/Run.h.
//
//===----------------------------------------------------------------------===//
#include "wl/Embed/Run.h"

#include "Execute.h"

namespace wl::embed {

using namespace detail;

struct BoundRun::State {
  std::shared_ptr<const PlanData> d;
  std::map<std::string, TensorRef> srcRefs, dstRefs; // what the Bounds point to
  Bound src, dst;
  Work work;
  bool partial = false;
  std::shared_ptr<PreparedTable> prepared; // null: execute() each run
};

BoundRun::BoundRun(std::shared_ptr<const PlanData> plan,
                   const std::map<std::string, TensorRef> &sources,
                   const std::map<std::string, TensorRef> &destinations,
                   const ExecOptions &options)
    : s_(std::make_unique<State>()) {
  State &S = *s_;
  S.d = std::move(plan);
  S.srcRefs = sources;
  S.dstRefs = destinations;
  S.src = bindSources(*S.d, S.srcRefs);
  S.dst = bindDestinations(*S.d, S.dstRefs, /*skipAliases=*/false);
  checkNoOverlap(*S.d, S.src, S.dst);
  S.work = workOf(S.src, S.dst, Device{});
  S.partial = options.partial;
  S.prepared = prepareOnDevice(*S.d, S.d->all, -1, S.work, options);
}

BoundRun::~BoundRun() = default;

void BoundRun::run(const ExecOptions &options) {
  State &S = *s_;
  const PlanData &d = *S.d;
  ExecOptions o = options;
  o.skipAliases = false;
  if (!S.partial)
    zeroGaps(d, S.dst, o);
  ExecStats st;
  if (S.prepared) {
    cudaLaunchPrepared(*S.prepared, o.stream, !o.streamIsCurrent);
    countRun(d, d.all, st);
    st.executor = "cuda";
  } else {
    execute(d, d.all, -1, S.work, o, st);
  }
  setLastExecStats(st);
}

} // namespace wl::embed
