//===- PlanData.cpp - what the embedding API derives from a plan ----------===//
#include "PlanData.h"

#include "wl/Compile/CompileMapping.h"
#include "wl/Layout/RankNames.h"
#include "wl/Plan/Plan.h"

#include <algorithm>

namespace wl::embed {

using layout::DType;
using layout::Piece;

std::string listNames(const std::vector<std::string> &names, size_t most) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < most; ++i)
    out += (i ? ", " : "") + std::string("'") + names[i] + "'";
  if (names.size() > most)
    out += " (and " + std::to_string(names.size() - most) + " more)";
  return out;
}

std::string formatShape(const std::vector<int64_t> &shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

SubPlan subPlanOf(const layout::Plan &whole,
                  const std::vector<int64_t> &indices) {
  SubPlan s;
  std::map<int64_t, int64_t> src, dst;
  auto local = [](std::map<int64_t, int64_t> &m, std::vector<int64_t> &list,
                  int64_t i) {
    auto [it, fresh] = m.emplace(i, static_cast<int64_t>(list.size()));
    if (fresh)
      list.push_back(i);
    return it->second;
  };
  for (int64_t i : indices) {
    Piece p = whole.pieces[i];
    if (!p.isFill())
      p.source = local(src, s.sources, p.source);
    p.target = local(dst, s.targets, p.target);
    s.plan.pieces.push_back(p);
  }
  for (int64_t i : s.sources)
    s.plan.sources.push_back(whole.sources[i]);
  for (int64_t i : s.targets)
    s.plan.targets.push_back(whole.targets[i]);
  return s;
}

std::shared_ptr<PlanData> makePlanData(layout::Plan plan, bool checkCoverage) {
  std::string error;
  if (!plan::validate(plan, error))
    throw Error(Error::Invalid, "invalid plan: " + error);
  auto d = std::make_shared<PlanData>();
  const int64_t ns = static_cast<int64_t>(plan.sources.size());
  const int64_t nt = static_cast<int64_t>(plan.targets.size());
  for (int64_t s = 0; s < ns; ++s)
    if (!d->sourceIndex.emplace(plan.sources[s].name, s).second)
      throw Error(Error::Invalid, "invalid plan: source '" +
                                      plan.sources[s].name +
                                      "' is listed twice");
  for (int64_t t = 0; t < nt; ++t)
    if (!d->targetIndex.emplace(plan.targets[t].name, t).second)
      throw Error(Error::Invalid, "invalid plan: target '" +
                                      plan.targets[t].name +
                                      "' is listed twice");
  d->hasGaps.assign(nt, 0);
  if (checkCoverage) {
    layout::CoverageOptions co;
    co.reportUnread = false;
    for (const layout::CoverageProblem &p : layout::checkCoverage(plan, co)) {
      if (p.kind == layout::CoverageProblem::Overlap)
        throw Error(Error::Invalid,
                    "plan not runnable: " + p.message +
                        " (a runtime writes every target element once)");
      if (p.kind == layout::CoverageProblem::Gap)
        d->hasGaps[p.tensor] = 1;
    }
  }
  d->aliases = layout::findAliases(plan);
  d->targetsOfSource.assign(ns, {});
  d->sourceCountOf.assign(nt, 0);
  d->piecesOfSource.assign(ns, {});
  std::vector<std::set<int64_t>> sourcesOf(nt);
  std::vector<std::vector<int64_t>> fills(nt);
  std::vector<int64_t> residual;
  for (size_t i = 0; i < plan.pieces.size(); ++i) {
    const Piece &p = plan.pieces[i];
    const int64_t k = static_cast<int64_t>(i);
    if (!d->aliases[p.target])
      residual.push_back(k);
    if (p.isFill()) {
      fills[p.target].push_back(k);
      continue;
    }
    d->piecesOfSource[p.source].push_back(k);
    sourcesOf[p.target].insert(p.source);
  }
  d->all.whole = true;
  d->residual = subPlanOf(plan, residual);
  for (int64_t s = 0; s < ns; ++s)
    d->bySource.push_back(subPlanOf(plan, d->piecesOfSource[s]));
  for (int64_t t = 0; t < nt; ++t)
    d->fillsOf.push_back(subPlanOf(plan, fills[t]));
  for (int64_t t = 0; t < nt; ++t) {
    d->sourceCountOf[t] = static_cast<int64_t>(sourcesOf[t].size());
    for (int64_t s : sourcesOf[t])
      d->targetsOfSource[s].push_back(t);
  }
  d->hash = plan::planHash(plan);
  d->plan = std::move(plan);
  return d;
}

std::shared_ptr<const PlanData> planFromJson(const std::string &text) {
  std::string error;
  std::optional<layout::Plan> p = plan::fromJson(text, error);
  if (!p)
    throw Error(Error::Invalid, "plan JSON: " + error);
  return makePlanData(std::move(*p), /*checkCoverage=*/true);
}

std::shared_ptr<const PlanData> invertPlan(const PlanData &d, bool exact) {
  std::string error;
  layout::InvertOptions o;
  o.dropReplicas = true;
  o.allowInexact = !exact;
  std::vector<std::string> rounded;
  o.rounded = &rounded;
  std::optional<layout::Plan> inv = layout::invert(d.plan, error, o);
  if (!inv)
    throw Error(Error::Invalid, "the plan has no inverse: " + error);
  layout::normalize(*inv);
  return makePlanData(std::move(*inv), /*checkCoverage=*/true);
}

layout::Plan mergeRanks(const CompiledMapping &m) {
  if (m.rankPlans.size() == 1)
    return m.rankPlans[0];
  std::vector<int64_t> order(m.rankPlans.size());
  for (size_t r = 0; r < order.size(); ++r)
    order[r] = static_cast<int64_t>(r);
  return layout::mergeRankPlans(m.rankPlans, order);
}

const SourceRanges &sourceRangesOf(const PlanData &d) {
  std::lock_guard<std::mutex> lock(d.mutex);
  if (d.sourceRanges)
    return *d.sourceRanges;
  std::vector<std::vector<layout::Interval>> all(d.plan.sources.size());
  for (const Piece &p : d.plan.pieces) {
    if (p.isFill() || p.numElements() == 0)
      continue;
    std::vector<layout::Interval> iv = layout::touchedIntervals(p, false);
    all[p.source].insert(all[p.source].end(), iv.begin(), iv.end());
  }
  auto out = std::make_shared<SourceRanges>();
  for (size_t s = 0; s < all.size(); ++s) {
    auto &ranges = (*out)[d.plan.sources[s].name];
    for (const layout::Interval &i : layout::mergeIntervals(std::move(all[s])))
      ranges.emplace_back(i.begin, i.end);
  }
  d.sourceRanges = std::move(out);
  return *d.sourceRanges;
}

namespace {
/// "tp 2 dp 1 (2 ranks)": the mesh's degrees, then the spec's tp, ep and
/// pp that are not axes of it.
std::string degreesText(const Description &d) {
  std::string o;
  for (const std::string &a : d.mesh)
    o += (o.empty() ? "" : " ") + a + " " + std::to_string(d.degrees.at(a));
  for (auto [k, v] : {std::pair<const char *, int64_t>{"tp", d.tp},
                      {"ep", d.ep},
                      {"pp", d.pp}})
    if (!d.degrees.count(k) && v != 1)
      o += (o.empty() ? "" : " ") + std::string(k) + " " + std::to_string(v);
  return o + " (" + std::to_string(d.ranks) + " rank" +
         (d.ranks == 1 ? ")" : "s)");
}

/// The readable summary of a description (Description::summary).
std::string summarize(const Description &d) {
  auto n = [](int64_t v) { return std::to_string(v); };
  std::string o;
  if (!d.from.empty() || !d.to.empty())
    o += d.modelType + ": " + d.from + " -> " + d.to + ", " + degreesText(d) +
         ", " +
         (d.reverse             ? std::string("the way back (every rank)")
          : d.rank == kAllRanks ? std::string("every rank")
                                : "rank " + n(d.rank)) +
         "\n";
  else
    o += "plan from JSON\n";
  o += n(d.sources) + " sources (" + n(d.sourceBytes) + " bytes), " +
       n(d.targets) + " targets (" + n(d.bytesWritten) + " bytes), " +
       n(d.pieces) + " pieces (" + n(d.copyPieces) + " copies, " +
       n(d.fillPieces) + " fills, " + n(d.convertPieces) + " converting)\n";
  o += "reads " + n(d.bytesRead) + " source bytes; " +
       n(static_cast<int64_t>(d.aliases.size())) +
       " targets are views of a source (" + n(d.aliasBytes) + " bytes), " +
       n(d.bytesWritten - d.aliasBytes) + " bytes are copied\n";
  for (const Description::AliasInfo &a : d.aliases)
    o += "  view: " + a.target + " = " + a.source + ".view(-1)[" +
         n(a.offset) + ":" + n(a.offset + a.numel) + "]\n";
  if (!d.dropped.empty())
    o += "dropped on purpose: " + listNames(d.dropped) + "\n";
  if (!d.rounded.empty())
    o += "restored through a rounding step: " + listNames(d.rounded) + "\n";
  return o;
}
} // namespace

Description describePlan(const PlanData &d) {
  Description r;
  if (d.mapping) {
    const CompiledMapping &m = *d.mapping->compiled;
    r.from = m.from;
    r.to = m.to;
    r.modelType = m.modelType;
    r.tp = m.tp;
    r.ep = m.ep;
    r.pp = m.pp;
    r.mesh = m.mesh;
    r.degrees = m.degrees;
    r.ranks = m.ranks();
    r.dropped = m.dropped;
    if (d.rank == PlanData::kReverse)
      r.rounded = m.rounded;
  }
  r.rank = d.rank;
  r.reverse = d.rank == PlanData::kReverse;
  r.hash = d.hash;
  const layout::Plan &p = d.plan;
  r.sources = static_cast<int64_t>(p.sources.size());
  r.targets = static_cast<int64_t>(p.targets.size());
  r.pieces = static_cast<int64_t>(p.pieces.size());
  for (const Piece &q : p.pieces) {
    if (q.isFill()) {
      ++r.fillPieces;
      continue;
    }
    ++r.copyPieces;
    if (!q.steps.empty())
      ++r.convertPieces;
    r.bytesRead +=
        q.numElements() * layout::dtypeSize(p.sources[q.source].dtype);
  }
  auto bytesOf = [](const layout::TensorInfo &t) {
    int64_t n = layout::dtypeSize(t.dtype);
    for (int64_t s : t.shape)
      n *= s;
    return n;
  };
  for (const layout::TensorInfo &t : p.sources)
    r.sourceBytes += bytesOf(t);
  for (size_t t = 0; t < p.targets.size(); ++t) {
    r.bytesWritten += bytesOf(p.targets[t]);
    if (const auto &a = d.aliases[t]) {
      int64_t bytes = bytesOf(p.targets[t]);
      r.aliases.push_back({p.targets[t].name, p.sources[a->source].name,
                           a->offset,
                           bytes / layout::dtypeSize(p.targets[t].dtype)});
      r.aliasBytes += bytes;
    }
  }
  r.summary = summarize(r);
  return r;
}

} // namespace wl::embed
