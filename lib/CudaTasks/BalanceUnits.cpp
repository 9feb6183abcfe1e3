//===- BalanceUnits.cpp - the last round of a launch spread over its blocks
//===//
//
// The executor's persistent blocks take a launch's units in turn: block b
// runs units b, b + blocks, b + 2 blocks, ... With `count` units of about
// equal size, a launch lasts ceil(count / blocks) units while the blocks
// average count / blocks: a one-layer plan of 1600 units on 528 blocks
// lasts 4 units for 3.03 of work (76% of the time busy). Cutting the last,
// partial round into parts that every block shares removes that idle end.
//
//===----------------------------------------------------------------------===//
#include "wl/Runtime/CudaTasks.h"

#include <algorithm>

namespace wl::runtime::cuda {

namespace {

bool isRowKind(int32_t kind) {
  return kind == kCopyRows || kind == kFillRows || kind == kConvertRows;
}

/// Rows of 16-element steps: a row unit's parts start at multiples of 16
/// elements, as addUnits cuts rows (the kernels' word alignment).
constexpr int64_t kRowStep = 16;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// The most parts `u` can be cut into where the kernels allow a cut: whole
/// rows of a several-row unit, whole rows only with a fused tail, 16-element
/// steps of a single row; whole outer indices of a several-outer transpose
/// unit, iStep steps along i of a single one; any element otherwise.
int64_t maxParts(const Task &t, const Unit &u) {
  if (isRowKind(t.kind)) {
    if (u.a1 - u.a0 > 1)
      return u.a1 - u.a0;
    return t.tail > 0 ? 1
                      : std::max<int64_t>(1, ceilDiv(u.b1 - u.b0, kRowStep));
  }
  if (t.kind == kTranspose) {
    if (transposeUnitOuters(t, u) > 1)
      return transposeUnitOuters(t, u);
    return std::max<int64_t>(
        1, ceilDiv(u.b1 - u.b0, transposeShape(t.dstSize).iStep));
  }
  return std::max<int64_t>(1, u.a1 - u.a0);
}

/// Part p of m (m <= maxParts) of `u`: the cut points spread evenly over
/// its steps.
Unit partOf(const Task &t, const Unit &u, int64_t p, int64_t m) {
  Unit v = u;
  auto cut = [&](int64_t steps, int64_t q) { return steps * q / m; };
  if (isRowKind(t.kind)) {
    if (u.a1 - u.a0 > 1) {
      v.a0 = u.a0 + cut(u.a1 - u.a0, p);
      v.a1 = u.a0 + cut(u.a1 - u.a0, p + 1);
    } else {
      const int64_t steps = ceilDiv(u.b1 - u.b0, kRowStep);
      v.b0 = u.b0 + kRowStep * cut(steps, p);
      v.b1 = std::min(u.b1, u.b0 + kRowStep * cut(steps, p + 1));
    }
  } else if (t.kind == kTranspose) {
    const int64_t outers = transposeUnitOuters(t, u);
    if (outers > 1) {
      // Outer indices [o0, o1) of the unit's: one of them is a single-outer
      // unit over the whole i extent (b1 = n).
      const int64_t o0 = cut(outers, p), o1 = cut(outers, p + 1);
      v.a0 = u.a0 + o0;
      v.b0 = 0;
      v.b1 = (o1 - o0) * t.n;
    } else {
      const int64_t step = transposeShape(t.dstSize).iStep;
      const int64_t steps = ceilDiv(u.b1 - u.b0, step);
      v.b0 = u.b0 + step * cut(steps, p);
      v.b1 = std::min(u.b1, u.b0 + step * cut(steps, p + 1));
    }
  } else {
    v.a0 = u.a0 + cut(u.a1 - u.a0, p);
    v.a1 = u.a0 + cut(u.a1 - u.a0, p + 1);
  }
  return v;
}

} // namespace

int64_t unitBytes(const TaskTable &table, const Unit &u) {
  const Task &t = table.tasks[u.task];
  const int64_t perElement = t.dstSize + (t.source >= 0 ? t.srcSize : 0);
  if (isRowKind(t.kind))
    return (u.a1 - u.a0) * ((u.b1 - u.b0) * perElement + t.tail * t.dstSize);
  if (t.kind == kTranspose) {
    const int64_t k =
        std::min<int64_t>(transposeShape(t.dstSize).kStrip, t.kExtent - u.a1);
    return k * (u.b1 - u.b0) * perElement;
  }
  return (u.a1 - u.a0) * perElement;
}

std::vector<Unit> balanceLastRound(const TaskTable &table,
                                   std::vector<Unit> units, int64_t blocks,
                                   const BalanceOptions &options) {
  const int64_t count = static_cast<int64_t>(units.size());
  if (blocks <= 1 || count == 0 || count % blocks == 0)
    return units;
  const int64_t full = count / blocks * blocks; // units of whole rounds
  const int64_t rest = count - full;
  const int64_t minPart = std::max<int64_t>(1, options.minPartBytes);
  // Each block's bytes in the whole rounds, and the rest's units.
  std::vector<int64_t> before(blocks, 0);
  for (int64_t i = 0; i < full; ++i)
    before[i % blocks] += unitBytes(table, units[i]);
  std::vector<int64_t> cost(rest), steps(rest);
  int64_t bytes = 0;
  for (int64_t i = 0; i < rest; ++i) {
    const Unit &u = units[full + i];
    cost[i] = unitBytes(table, u);
    steps[i] = maxParts(table.tasks[u.task], u);
    bytes += cost[i];
  }
  // The longest block's bytes when unit i of the rest is cut into m[i]
  // parts (of whole steps, as partOf cuts them) and the parts are taken
  // in turn after the whole rounds.
  auto longest = [&](const std::vector<int64_t> &m) {
    std::vector<int64_t> load = before;
    int64_t at = 0;
    for (int64_t i = 0; i < rest; ++i)
      for (int64_t p = 0; p < m[i]; ++p, ++at) {
        const int64_t s0 = steps[i] * p / m[i], s1 = steps[i] * (p + 1) / m[i];
        load[at % blocks] += cost[i] * (s1 - s0) / steps[i];
      }
    return *std::max_element(load.begin(), load.end());
  };
  // Candidates: parts of about the bytes that make 1 to maxRounds rounds
  // (never under minPartBytes), each unit cut into its bytes over that
  // size rounded up or down; the one whose longest block is shortest wins,
  // the units as they are where none is shorter.
  std::vector<int64_t> best(rest, 1), m(rest);
  int64_t bestLongest = longest(best);
  for (int64_t k = 1; k <= options.maxRounds; ++k)
    for (bool up : {false, true}) {
      const int64_t size = std::max(minPart, bytes / (k * blocks));
      for (int64_t i = 0; i < rest; ++i) {
        int64_t parts = up ? (cost[i] + size - 1) / size : cost[i] / size;
        parts = std::min(parts, cost[i] / minPart); // none under minPart
        m[i] = std::clamp<int64_t>(parts, 1, steps[i]);
      }
      const int64_t l = longest(m);
      if (l < bestLongest) {
        bestLongest = l;
        best = m;
      }
    }
  std::vector<Unit> out(units.begin(), units.begin() + full);
  for (int64_t i = 0; i < rest; ++i) {
    const Unit &u = units[full + i];
    for (int64_t p = 0; p < best[i]; ++p)
      out.push_back(partOf(table.tasks[u.task], u, p, best[i]));
  }
  return out;
}

} // namespace wl::runtime::cuda
