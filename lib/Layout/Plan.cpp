//===- Plan.cpp - coverage, invert, compose, aliases, normalize -----------===//
#include "wl/Layout/Plan.h"
#include "PieceDims.h"
#include "wl/Layout/RankNames.h"

#include <algorithm>
#include <cassert>
#include <functional>
#include <map>
#include <numeric>
#include <sstream>

namespace wl::layout {

using namespace detail;

namespace {

/// Merges disjoint boxes that touch along one dimension and agree on all
/// others (a column gap over many rows becomes one box), for each dimension
/// from the innermost out. The union stays the same.
std::vector<Box> mergeBoxes(std::vector<Box> boxes, const Shape &shape) {
  for (size_t k = shape.size(); k-- > 0;) {
    auto key = [&](const Box &b) {
      Shape s;
      for (size_t d = 0; d < shape.size(); ++d)
        if (d != k) {
          s.push_back(b.offsets[d]);
          s.push_back(b.sizes[d]);
        }
      return s;
    };
    std::stable_sort(boxes.begin(), boxes.end(), [&](const Box &a, const Box &b) {
      Shape ka = key(a), kb = key(b);
      return ka != kb ? ka < kb : a.offsets[k] < b.offsets[k];
    });
    std::vector<Box> out;
    for (const Box &b : boxes) {
      if (!out.empty() && key(out.back()) == key(b) &&
          out.back().offsets[k] + out.back().sizes[k] == b.offsets[k]) {
        out.back().sizes[k] += b.sizes[k];
        continue;
      }
      out.push_back(b);
    }
    boxes = std::move(out);
  }
  std::sort(boxes.begin(), boxes.end(), [&](const Box &a, const Box &b) {
    return flatIndex(shape, a.offsets) < flatIndex(shape, b.offsets);
  });
  return boxes;
}

std::string describeRegion(const Shape &shape, const std::vector<Interval> &ivs,
                           int maxBoxes, std::vector<Box> &boxes,
                           int64_t &elements) {
  elements = 0;
  std::vector<Box> all;
  for (const Interval &iv : ivs) {
    elements += iv.end - iv.begin;
    for (const Box &b : intervalToBoxes(shape, iv.begin, iv.end))
      all.push_back(b);
  }
  all = mergeBoxes(std::move(all), shape);
  std::ostringstream os;
  int shown = 0;
  for (const Box &b : all) {
    if (shown == maxBoxes)
      break;
    os << (shown ? ", " : "") << formatBox(b);
    boxes.push_back(b);
    ++shown;
  }
  if ((int)all.size() > shown)
    os << " and " << (all.size() - shown) << " more boxes";
  return os.str();
}

} // namespace

std::vector<CoverageProblem> checkCoverage(const Plan &plan,
                                           const CoverageOptions &opts) {
  std::vector<CoverageProblem> problems;
  // Each tensor's rows, collapsed (collapseRowSets), then its intervals one
  // tensor at a time: memory follows the largest tensor's rows, not the
  // plan's.
  std::vector<std::vector<RowSet>> perTarget(plan.targets.size());
  std::vector<std::vector<RowSet>> perSource(plan.sources.size());
  for (const Piece &p : plan.pieces) {
    if (p.numElements() == 0)
      continue;
    perTarget[p.target].push_back(rowSetOf(p, true));
    if (!p.isFill() && opts.reportUnread)
      perSource[p.source].push_back(rowSetOf(p, false));
    if (p.hasRuntimeScale() && opts.reportUnread) {
      // The scale source's reads, as the src side of a piece.
      Piece g = p;
      g.source = p.scale.source;
      g.srcOffset = p.scale.offset;
      g.srcStrides = p.scale.strides;
      perSource[g.source].push_back(rowSetOf(g, false));
    }
  }
  auto intervalsOf = [](std::vector<RowSet> &sets, bool unionOnly) {
    collapseRowSets(sets, unionOnly);
    std::vector<Interval> v;
    for (const RowSet &r : sets)
      appendIntervals(r, v);
    sets = {};
    return v;
  };
  auto emit = [&](CoverageProblem::Kind kind, int64_t t, const TensorInfo &ti,
                  const std::vector<Interval> &ivs) {
    if (ivs.empty())
      return;
    CoverageProblem pr{kind, t, {}, 0, ""};
    std::string where =
        describeRegion(ti.shape, ivs, opts.maxBoxes, pr.boxes, pr.elements);
    std::ostringstream os;
    os << (kind == CoverageProblem::Unread ? "source '" : "target '")
       << ti.name << "': elements " << where << " (" << pr.elements
       << (pr.elements == 1 ? " element) " : " elements) ");
    if (kind == CoverageProblem::Gap)
      os << "are written by no piece";
    else if (kind == CoverageProblem::Overlap)
      os << "are written more than once";
    else
      os << "are read by no piece";
    pr.message = os.str();
    problems.push_back(std::move(pr));
  };
  for (size_t t = 0; t < plan.targets.size(); ++t) {
    std::vector<Interval> v = intervalsOf(perTarget[t], false);
    std::sort(v.begin(), v.end(), [](const Interval &a, const Interval &b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    int64_t n = *numElements(plan.targets[t].shape);
    std::vector<Interval> gaps, overlaps;
    int64_t covered = 0; // everything below is written at least once
    for (const Interval &iv : v) {
      if (iv.begin > covered)
        gaps.push_back({covered, iv.begin});
      if (iv.begin < covered)
        overlaps.push_back({iv.begin, std::min(covered, iv.end)});
      covered = std::max(covered, iv.end);
    }
    if (covered < n)
      gaps.push_back({covered, n});
    emit(CoverageProblem::Gap, t, plan.targets[t], mergeIntervals(gaps));
    emit(CoverageProblem::Overlap, t, plan.targets[t], mergeIntervals(overlaps));
  }
  if (opts.reportUnread) {
    for (size_t s = 0; s < plan.sources.size(); ++s) {
      std::vector<Interval> read = mergeIntervals(intervalsOf(perSource[s], true));
      int64_t n = *numElements(plan.sources[s].shape);
      std::vector<Interval> unread;
      int64_t at = 0;
      for (const Interval &iv : read) {
        if (iv.begin > at)
          unread.push_back({at, iv.begin});
        at = std::max(at, iv.end);
      }
      if (at < n)
        unread.push_back({at, n});
      emit(CoverageProblem::Unread, s, plan.sources[s], unread);
    }
  }
  return problems;
}

std::optional<Plan> invert(const Plan &plan, std::string &error,
                           const InvertOptions &options) {
  Plan inv;
  inv.sources = plan.targets;
  inv.targets = plan.sources;
  for (size_t i = 0; i < plan.pieces.size(); ++i) {
    const Piece &p = plan.pieces[i];
    if (p.isFill())
      continue;
    if (p.hasRuntimeScale()) {
      error = "cannot invert: target '" + plan.targets[p.target].name +
              "' is decoded from source '" + plan.sources[p.source].name +
              "' with run-time scales (a block format's dequantization has "
              "no inverse plan)";
      return std::nullopt;
    }
    Piece q;
    q.target = p.source;
    q.source = p.target;
    q.shape = p.shape;
    q.dstOffset = p.srcOffset;
    q.dstStrides = p.srcStrides;
    q.srcOffset = p.dstOffset;
    q.srcStrides = p.dstStrides;
    bool rounds = false;
    for (auto it = p.steps.rbegin(); it != p.steps.rend(); ++it) {
      const Step &s = *it;
      if (s.kind == Step::Affine) {
        if (s.scale == 1.0 && s.offset == 0.0)
          continue;
        if (options.allowInexact && s.scale != 0.0) {
          // y = x * scale + offset  =>  x = y * (1 / scale) - offset / scale
          q.steps.push_back({Step::Affine, s.to, s.to, 1.0 / s.scale,
                             -s.offset / s.scale});
          rounds = true;
          continue;
        }
        std::ostringstream os;
        os << "cannot invert: target '" << plan.targets[p.target].name
           << "' is computed with affine (scale " << s.scale << ", offset "
           << s.offset << ") of source '" << plan.sources[p.source].name
           << "', which has no exact inverse";
        error = os.str();
        return std::nullopt;
      }
      bool floatToInt = isFloat(s.to) && !isFloat(s.from);
      if (!isExactCast(s.from, s.to) && !floatToInt && options.allowInexact) {
        rounds = true; // the narrowed values come back widened
      } else if (!isExactCast(s.from, s.to) || floatToInt) {
        std::ostringstream os;
        os << "cannot invert: target '" << plan.targets[p.target].name
           << "' casts source '" << plan.sources[p.source].name << "' from "
           << mlirName(s.from) << " to " << mlirName(s.to)
           << (isFloat(s.to) && !isFloat(s.from)
                   ? ", and float to integer is not a cast"
                   : ", which does not keep every value");
        error = os.str();
        return std::nullopt;
      }
      q.steps.push_back({Step::Cast, s.to, s.from, 1.0, 0.0});
    }
    if (rounds && options.rounded) {
      const std::string &name = inv.targets[q.target].name;
      if (std::find(options.rounded->begin(), options.rounded->end(), name) ==
          options.rounded->end())
        options.rounded->push_back(name);
    }
    inv.pieces.push_back(coalesce(q));
  }
  if (options.dropReplicas) {
    // Keep the first reader of each element; later readers of exactly the
    // same elements are replicas.
    std::vector<std::map<int64_t, int64_t>> restored(inv.targets.size());
    std::vector<Piece> kept;
    for (Piece &q : inv.pieces) {
      std::map<int64_t, int64_t> &done = restored[q.target];
      std::vector<Interval> ivs = touchedIntervals(q, true);
      int64_t covered = 0, total = 0;
      for (const Interval &iv : ivs) {
        total += iv.end - iv.begin;
        auto it = done.upper_bound(iv.begin);
        if (it != done.begin())
          --it;
        for (; it != done.end() && it->first < iv.end; ++it)
          covered += std::max<int64_t>(
              0, std::min(it->second, iv.end) - std::max(it->first, iv.begin));
      }
      if (covered == total)
        continue;
      if (covered != 0) {
        error = "cannot invert: target '" + inv.targets[q.target].name +
                "' would be restored from replicas that overlap only in "
                "part";
        return std::nullopt;
      }
      for (const Interval &iv : ivs)
        done[iv.begin] = iv.end;
      kept.push_back(std::move(q));
    }
    inv.pieces = std::move(kept);
  }
  CoverageOptions opts;
  opts.reportUnread = false;
  for (const CoverageProblem &pr : checkCoverage(inv, opts)) {
    std::ostringstream os;
    const std::string &name = inv.targets[pr.tensor].name;
    std::vector<Box> boxes;
    int64_t n = 0;
    (void)boxes;
    (void)n;
    // Reword in the forward direction: targets of the inverse are sources.
    std::string region = pr.message.substr(pr.message.find("elements "));
    region = region.substr(0, region.find(" are "));
    if (pr.kind == CoverageProblem::Gap)
      os << "cannot invert: the mapping drops data: source '" << name << "' "
         << region << " are read by no target";
    else
      os << "cannot invert: the mapping is not injective: source '" << name
         << "' " << region << " are read more than once";
    error = os.str();
    return std::nullopt;
  }
  return inv;
}

namespace {

/// One row of first's writes into an intermediate tensor: dst positions
/// [begin, begin + len) come from src + (pos - begin) * srcStride.
struct WriteRun {
  int64_t begin, len;
  size_t piece;
  int64_t src, srcStride;
};

bool sameKind(const Piece &a, const Piece &b) {
  // Pieces with run-time scales are kept as made (their scale offsets
  // would need the same constant step).
  return !a.hasRuntimeScale() && !b.hasRuntimeScale() &&
         a.target == b.target && a.source == b.source &&
         a.fillBits == b.fillBits && a.shape == b.shape &&
         a.dstStrides == b.dstStrides &&
         (a.isFill() || a.srcStrides == b.srcStrides) && a.steps == b.steps;
}

/// Merges consecutive pieces of one kind whose offsets advance by a constant
/// step into one piece with an extra outer dimension.
std::vector<Piece> reroll(const std::vector<Piece> &in) {
  std::vector<Piece> out;
  size_t i = 0;
  while (i < in.size()) {
    size_t j = i + 1;
    int64_t dd = 0, ds = 0;
    if (j < in.size() && sameKind(in[i], in[j])) {
      dd = in[j].dstOffset - in[i].dstOffset;
      ds = in[j].srcOffset - in[i].srcOffset;
      while (j + 1 < in.size() && sameKind(in[i], in[j + 1]) &&
             in[j + 1].dstOffset - in[j].dstOffset == dd &&
             in[j + 1].srcOffset - in[j].srcOffset == ds)
        ++j;
      ++j;
    }
    Piece p = in[i];
    if (j - i > 1 && dd > 0 && (in[i].isFill() || ds >= 0)) {
      p.shape.insert(p.shape.begin(), (int64_t)(j - i));
      p.dstStrides.insert(p.dstStrides.begin(), dd);
      p.srcStrides.insert(p.srcStrides.begin(), p.isFill() ? 0 : ds);
      out.push_back(coalesce(p));
      i = j;
    } else {
      out.push_back(p);
      ++i;
    }
  }
  return out;
}

} // namespace

std::optional<Plan> compose(const Plan &first, const Plan &second,
                            std::string &error) {
  for (const Plan *p : {&first, &second})
    for (const Piece &q : p->pieces)
      if (q.hasRuntimeScale()) {
        error = "cannot compose: target '" + p->targets[q.target].name +
                "' is decoded with run-time scales";
        return std::nullopt;
      }
  Plan out;
  out.sources = first.sources;
  out.targets = second.targets;
  // second's source index -> first's target index
  std::map<std::string, size_t> firstTarget;
  for (size_t t = 0; t < first.targets.size(); ++t)
    firstTarget[first.targets[t].name] = t;
  std::vector<size_t> mid(second.sources.size());
  for (size_t s = 0; s < second.sources.size(); ++s) {
    auto it = firstTarget.find(second.sources[s].name);
    if (it == firstTarget.end()) {
      error = "cannot compose: the second plan reads '" +
              second.sources[s].name + "', which the first does not write";
      return std::nullopt;
    }
    const TensorInfo &a = first.targets[it->second], &b = second.sources[s];
    if (a.dtype != b.dtype || a.shape != b.shape) {
      error = "cannot compose: '" + b.name +
              "' has a different dtype or shape in the two plans";
      return std::nullopt;
    }
    mid[s] = it->second;
  }
  // first's writes, per intermediate tensor, as sorted runs.
  std::vector<std::vector<WriteRun>> runs(first.targets.size());
  for (size_t i = 0; i < first.pieces.size(); ++i) {
    const Piece &p = first.pieces[i];
    if (p.numElements() == 0)
      continue;
    std::vector<Dim> dims =
        mergeDims(dimsOf(p), true, true, !p.isFill());
    if (dims.empty() || dims.back().dst != 1)
      dims.push_back({1, 1, 0});
    int64_t len = dims.back().extent, sst = dims.back().src;
    forEachRow(dims, p.dstOffset, p.srcOffset, [&](int64_t d, int64_t s) {
      runs[p.target].push_back({d, len, i, s, sst});
    });
  }
  for (auto &v : runs)
    std::sort(v.begin(), v.end(), [](const WriteRun &a, const WriteRun &b) {
      return a.begin < b.begin;
    });

  for (const Piece &p2 : second.pieces) {
    if (p2.numElements() == 0)
      continue;
    if (p2.isFill()) {
      out.pieces.push_back(p2);
      continue;
    }
    std::vector<Dim> dims = mergeDims(dimsOf(p2), true, true, true);
    if (dims.empty())
      dims.push_back({1, 1, 1});
    const Dim inner = dims.back();
    const std::vector<WriteRun> &wr = runs[mid[p2.source]];
    std::vector<std::vector<Piece>> rows;
    bool failed = false;
    forEachRow(dims, p2.dstOffset, p2.srcOffset, [&](int64_t d0, int64_t s0) {
      if (failed)
        return;
      rows.emplace_back();
      std::vector<Piece> &produced = rows.back();
      int64_t k = 0;
      while (k < inner.extent) {
        int64_t pos = s0 + k * inner.src;
        auto it = std::upper_bound(
            wr.begin(), wr.end(), pos,
            [](int64_t v, const WriteRun &r) { return v < r.begin; });
        if (it == wr.begin() || pos >= (it - 1)->begin + (it - 1)->len) {
          Shape c = unflatIndex(second.sources[p2.source].shape, pos);
          Box b{c, Shape(c.size(), 1)};
          error = "cannot compose: the second plan reads element " +
                  formatBox(b) + " of '" + second.sources[p2.source].name +
                  "', which the first plan does not write";
          failed = true;
          return;
        }
        const WriteRun &r = *(it - 1);
        const Piece &p1 = first.pieces[r.piece];
        int64_t left = r.begin + r.len - pos; // positions left in the run
        int64_t take = inner.src > 0 ? (left + inner.src - 1) / inner.src : 1;
        if (inner.src == 0)
          take = inner.extent - k;
        take = std::min(take, inner.extent - k);
        Piece q;
        q.target = p2.target;
        q.shape = {take};
        q.dstOffset = d0 + k * inner.dst;
        q.dstStrides = {inner.dst};
        if (p1.isFill()) {
          q.source = -1;
          q.fillBits = applySteps(p2.steps, p1.fillBits);
          q.srcStrides = {0};
        } else {
          q.source = p1.source;
          q.srcOffset = r.src + (pos - r.begin) * r.srcStride;
          q.srcStrides = {inner.src * r.srcStride};
          q.steps = p1.steps;
          q.steps.insert(q.steps.end(), p2.steps.begin(), p2.steps.end());
        }
        produced.push_back(std::move(q));
        k += take;
      }
    });
    if (failed)
      return std::nullopt;
    // Rows usually split the same way; re-roll each sub-run slot separately
    // when they do, so that a transpose through a concat stays 2-d pieces.
    bool sameSplit = true;
    for (const auto &r : rows)
      sameSplit &= r.size() == rows.front().size();
    std::vector<std::vector<Piece>> slots;
    if (sameSplit) {
      slots.resize(rows.front().size());
      for (auto &r : rows)
        for (size_t k = 0; k < r.size(); ++k)
          slots[k].push_back(std::move(r[k]));
    } else {
      slots.emplace_back();
      for (auto &r : rows)
        for (Piece &q : r)
          slots.back().push_back(std::move(q));
    }
    for (const auto &slot : slots) {
      std::vector<Piece> r = reroll(slot);
      for (std::vector<Piece> again = reroll(r); again.size() < r.size();
           again = reroll(r))
        r = std::move(again);
      for (Piece &q : r)
        out.pieces.push_back(coalesce(q));
    }
  }
  normalize(out); // merges the slots' pieces into each other where they line up
  return out;
}

void normalize(Plan &plan) {
  std::vector<Piece> out;
  out.reserve(plan.pieces.size());
  for (const Piece &p : plan.pieces)
    if (p.numElements() != 0)
      out.push_back(coalesce(p));
  // Neighbouring pieces that differ only by constant offset steps (the
  // groups of an interleave, the rows of a composed transpose) become one.
  for (std::vector<Piece> again = reroll(out); again.size() < out.size();
       again = reroll(out))
    out = std::move(again);
  plan.pieces = std::move(out);
}

std::vector<std::optional<Alias>> findAliases(const Plan &plan) {
  std::vector<std::optional<Alias>> out(plan.targets.size());
  std::vector<int> count(plan.targets.size(), 0);
  // A piece with an index out of range or strides of another rank (a plan
  // that validation would refuse) makes no alias and is not looked into.
  auto wellFormed = [&](const Piece &p) {
    return p.target >= 0 && p.target < (int64_t)plan.targets.size() &&
           p.source < (int64_t)plan.sources.size() &&
           p.dstStrides.size() == p.shape.size() &&
           (p.isFill() || p.srcStrides.size() == p.shape.size());
  };
  for (const Piece &p : plan.pieces)
    if (wellFormed(p) && p.numElements() != 0)
      ++count[p.target];
  for (const Piece &p : plan.pieces) {
    if (!wellFormed(p) || p.isFill() || count[p.target] != 1 ||
        !p.steps.empty())
      continue;
    const TensorInfo &t = plan.targets[p.target];
    if (plan.sources[p.source].dtype != t.dtype || p.dstOffset != 0)
      continue;
    Piece c = coalesce(p);
    if (c.numElements() != *numElements(t.shape))
      continue;
    if (c.shape.empty() || (c.shape.size() == 1 && c.dstStrides[0] == 1 &&
                            c.srcStrides[0] == 1))
      out[p.target] = Alias{p.source, c.srcOffset};
  }
  return out;
}

Plan mergeRankPlans(const std::vector<Plan> &ranks,
                    const std::vector<int64_t> &order) {
  Plan all;
  std::map<std::string, int64_t> sourceIndex;
  for (int64_t r : order) {
    const Plan &p = ranks[r];
    std::vector<int64_t> src(p.sources.size());
    for (size_t s = 0; s < p.sources.size(); ++s) {
      auto [it, added] = sourceIndex.emplace(
          p.sources[s].name, static_cast<int64_t>(all.sources.size()));
      if (added)
        all.sources.push_back(p.sources[s]);
      src[s] = it->second;
    }
    const int64_t firstTarget = static_cast<int64_t>(all.targets.size());
    for (TensorInfo t : p.targets) {
      t.name = rankPrefix(r) + t.name;
      all.targets.push_back(std::move(t));
    }
    for (Piece piece : p.pieces) {
      piece.target += firstTarget;
      if (!piece.isFill())
        piece.source = src[piece.source];
      all.pieces.push_back(std::move(piece));
    }
  }
  return all;
}

} // namespace wl::layout
