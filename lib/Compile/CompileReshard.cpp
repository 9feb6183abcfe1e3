//===- CompileReshard.cpp - one layout's ranks to another's ---------------===//
//
// Both mappings are compiled at every rank (each proven as compileMapping
// proves it). For destination rank b, A's rank plans are merged into one
// plan over all A ranks, in the order b mod RA, b mod RA + 1, ..., so that
// inverting it with replicas dropped restores every checkpoint element from
// the first rank in that order that holds it; composing that inverse with
// B's plan of rank b gives b's pieces from A's rank tensors. Destinations
// with the same b mod RA share one inverse (min(RA, RB) inversions in
// all). Inversions and destinations run up to 8 at a time, one per core.
//
//===----------------------------------------------------------------------===//
#include "wl/Compile/CompileReshard.h"

#include "wl/Compile/CompileMapping.h"
#include "wl/Compile/MappingLibrary.h"
#include "wl/Support/Quote.h"
#include "wl/Layout/RankNames.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <optional>
#include <thread>
#include <iomanip>
#include <set>
#include <sstream>

namespace wl {

namespace {

/// Destination rank d's plan, or why there is none.
struct Dest {
  std::optional<layout::Plan> plan;
  std::vector<std::string> rounded;
  std::string error;
};

/// A's ranks merged in the order k, k + 1, ... (mod RA) and inverted with
/// replicas dropped: every checkpoint element from the first of them that
/// holds it. Destinations d with d mod RA == k share it.
struct Inverse {
  std::optional<layout::Plan> plan;
  std::vector<std::string> rounded;
  std::string error;
};

Inverse inverseFrom(const ReshardRequest &request, const CompiledMapping &a,
                    int64_t k) {
  Inverse out;
  const int64_t ra = a.ranks();
  std::vector<int64_t> order;
  for (int64_t j = 0; j < ra; ++j)
    order.push_back((k + j) % ra);
  layout::Plan all = layout::mergeRankPlans(a.rankPlans, order);
  layout::InvertOptions inv;
  inv.dropReplicas = true;
  inv.allowInexact = request.allowInexact;
  inv.rounded = &out.rounded;
  std::string why;
  auto inverse = layout::invert(all, why, inv);
  if (!inverse)
    out.error = request.specA + ": the way back from its ranks: " + why;
  else
    out.plan = std::move(*inverse);
  return out;
}

Dest destination(const ReshardRequest &request, const Inverse &from,
                 const CompiledMapping &b, int64_t d) {
  Dest out;
  if (!from.plan) {
    out.error = from.error;
    return out;
  }
  out.rounded = from.rounded;
  const std::optional<layout::Plan> &inverse = from.plan;
  std::string why;
  auto plan = layout::compose(*inverse, b.rankPlans[d], why);
  if (!plan) {
    out.error = request.specB + ": rank " + std::to_string(d) +
                " reads what " + request.specA + "'s ranks do not hold: " + why;
    return out;
  }
  // Pieces from different ranks alternate (row r of every source rank,
  // then row r + 1): grouped by target and source rank, each rank's rows
  // line up and normalize rolls them into one piece. Pieces write disjoint
  // elements, so their order does not change what the plan writes.
  std::stable_sort(plan->pieces.begin(), plan->pieces.end(),
                   [](const layout::Piece &x, const layout::Piece &y) {
                     return x.target != y.target ? x.target < y.target
                                                 : x.source < y.source;
                   });
  layout::normalize(*plan);
  // Proven again after composing: every target element exactly once.
  layout::CoverageOptions cov;
  cov.reportUnread = false;
  for (const layout::CoverageProblem &p : layout::checkCoverage(*plan, cov)) {
    out.error = request.specB + ": rank " + std::to_string(d) +
                " of the reshard: " + p.message;
    return out;
  }
  out.plan = std::move(*plan);
  return out;
}

/// Whether the spec is for the config's model; else `error` says which
/// model each is for.
bool sameModel(const std::string &spec, const std::string &config,
               const char *role, std::string &error) {
  auto s = mapping::loadSpec(spec, error);
  std::string configType;
  if (!s || !mapping::configModelType(config, configType, error))
    return false;
  if (s->modelType.empty() || configType.empty() ||
      modelTypeMatches(s->modelType, configType))
    return true;
  error = std::string(role) + " " + spec + " is for model_type " +
          quoteName(s->modelType) + ", but " + config + " is " +
          quoteName(configType) + ": a reshard moves one model";
  return false;
}

/// One side compiled at every rank; `role` names it in a failure.
std::unique_ptr<CompiledMapping> compileSide(const ReshardRequest &r,
                                             const char *role,
                                             const std::string &spec,
                                             const std::map<std::string, int64_t> &options,
                                             std::string &error) {
  MappingRequest m;
  m.spec = spec;
  m.config = r.config;
  m.options = options;
  m.dtype = r.dtype;
  std::string why;
  auto out = compileMapping(m, why);
  if (!out)
    error = std::string(role) + " " + spec + ": " + why;
  return out;
}

/// Runs f(0) .. f(n - 1), up to 8 at a time (one per core).
void onThreads(int64_t n, const std::function<void(int64_t)> &f) {
  std::atomic<int64_t> next{0};
  auto work = [&] {
    for (int64_t i; (i = next.fetch_add(1)) < n;)
      f(i);
  };
  const int64_t threads = std::clamp<int64_t>(
      static_cast<int64_t>(std::thread::hardware_concurrency()), 1,
      std::min<int64_t>(std::max<int64_t>(n, 1), 8));
  std::vector<std::thread> pool;
  for (int64_t t = 1; t < threads; ++t)
    pool.emplace_back(work);
  work();
  for (std::thread &t : pool)
    t.join();
}

/// What the plan keeps of one side (its rank plans moved out of `c`).
ReshardSide sideOf(CompiledMapping &c, bool keepPlans) {
  ReshardSide s;
  s.mesh = c.mesh;
  s.degrees = c.degrees;
  s.from = c.from;
  s.to = c.to;
  s.modelType = c.modelType;
  if (keepPlans)
    s.rankPlans = std::move(c.rankPlans);
  return s;
}

} // namespace

std::unique_ptr<ReshardPlan> compileReshard(const ReshardRequest &request,
                                            std::string &error) {
  if (!sameModel(request.specA, request.config, "the source mapping", error) ||
      !sameModel(request.specB, request.config, "the destination mapping",
                 error))
    return nullptr;
  auto a = compileSide(request, "the source mapping", request.specA, request.optionsA, error);
  if (!a)
    return nullptr;
  auto b = compileSide(request, "the destination mapping", request.specB, request.optionsB, error);
  if (!b)
    return nullptr;
  if (a->modelType != b->modelType) {
    error = request.specA + " is for " + a->modelType + ", " + request.specB +
            " for " + b->modelType + ": a reshard moves one model";
    return nullptr;
  }
  auto out = std::make_unique<ReshardPlan>();
  const int64_t ra = a->ranks(), rb = b->ranks();
  out->sourceRanks = ra;
  out->destRanks = rb;
  out->traffic.assign(ra, std::vector<int64_t>(rb, 0));
  // The inverses (one per rotation that some destination uses), then the
  // destinations: independent, a few at a time, each on a thread.
  const int64_t orders = std::min(ra, rb);
  std::vector<Inverse> inverses(orders);
  onThreads(orders, [&](int64_t k) { inverses[k] = inverseFrom(request, *a, k); });
  std::vector<Dest> dests(rb);
  onThreads(rb, [&](int64_t d) {
    dests[d] = destination(request, inverses[d % ra], *b, d);
  });
  inverses.clear();
  std::set<std::string> rounded;
  for (int64_t d = 0; d < rb; ++d) {
    if (!dests[d].plan) {
      error = dests[d].error;
      return nullptr;
    }
    rounded.insert(dests[d].rounded.begin(), dests[d].rounded.end());
    layout::Plan *plan = &*dests[d].plan;
    for (const layout::Piece &p : plan->pieces) {
      if (p.isFill())
        continue;
      const int64_t bytes =
          p.numElements() * layout::dtypeSize(plan->targets[p.target].dtype);
      const int64_t from = *layout::rankOfName(plan->sources[p.source].name);
      out->traffic[from][d] += bytes;
      out->totalBytes += bytes;
      if (from != d)
        out->movedBytes += bytes;
    }
    out->byDest.push_back(std::move(*plan));
    dests[d].plan.reset();
  }
  out->rounded.assign(rounded.begin(), rounded.end());
  out->source = sideOf(*a, request.keepRankPlans);
  out->dest = sideOf(*b, request.keepRankPlans);
  return out;
}

std::string trafficText(const ReshardPlan &plan) {
  std::ostringstream os;
  const int w = 12;
  os << std::setw(8) << "from\\to";
  for (int64_t b = 0; b < plan.destRanks; ++b)
    os << std::setw(w) << ("rank " + std::to_string(b));
  os << std::setw(w) << "sent" << "\n";
  std::vector<int64_t> column(plan.destRanks, 0);
  for (int64_t a = 0; a < plan.sourceRanks; ++a) {
    os << std::setw(8) << ("rank " + std::to_string(a));
    int64_t sent = 0;
    for (int64_t b = 0; b < plan.destRanks; ++b) {
      os << std::setw(w) << plan.traffic[a][b];
      column[b] += plan.traffic[a][b];
      if (a != b)
        sent += plan.traffic[a][b];
    }
    os << std::setw(w) << sent << "\n";
  }
  os << std::setw(8) << "bytes";
  for (int64_t b = 0; b < plan.destRanks; ++b)
    os << std::setw(w) << column[b];
  os << "\n" << plan.movedBytes << " of " << plan.totalBytes
     << " destination bytes move between ranks (the diagonal stays)\n";
  return os.str();
}

} // namespace wl
