//===- BlockCuts.cpp - pieces along a tensor's axes, cut at blocks --------===//
#include "BlockCuts.h"

#include <algorithm>

namespace wl::layout::detail {

bool axisDims(const Piece &p, const Shape &l, const Shape &start,
              std::vector<AxisDim> &out) {
  const Shape st = rowMajorStrides(l);
  std::vector<AxisDim> work;
  for (size_t j = 0; j < p.shape.size(); ++j) {
    const int64_t s = p.srcStrides[j];
    if (s < 0)
      return false;
    if (s == 0) {
      out.push_back({p.shape[j], p.dstStrides[j], 0, -1});
      continue;
    }
    int a = 0;
    while (st[a] > s || s % st[a] != 0)
      ++a;
    work.push_back({p.shape[j], p.dstStrides[j], s / st[a], a});
  }
  while (!work.empty()) {
    AxisDim d = work.back();
    work.pop_back();
    // A run over whole rows of axis a, m = l[a] / c elements a row from
    // the row's first c: (rows along axis a - 1, m along axis a).
    const int64_t m = d.axis > 0 && l[d.axis] % d.c == 0 ? l[d.axis] / d.c : 0;
    if (m > 0 && d.extent > m && d.extent % m == 0 && start[d.axis] < d.c) {
      out.push_back({m, d.dst, d.c, d.axis});
      work.push_back({d.extent / m, d.dst * m, 1, d.axis - 1});
      continue;
    }
    out.push_back(d);
  }
  std::vector<int64_t> reach(start.begin(), start.end());
  for (const AxisDim &d : out)
    if (d.axis >= 0)
      reach[d.axis] += d.c * (d.extent - 1);
  for (size_t a = 0; a < l.size(); ++a)
    if (reach[a] >= l[a])
      return false;
  return true;
}

bool cutAtBlocks(int64_t i, int64_t n, int64_t c, int64_t D, int64_t b,
                 std::vector<CutPart> &out) {
  if (n <= 0)
    return true;
  if (n == 1) {
    out.push_back({i, 0, {}});
    return true;
  }
  if (c % b == 0) {
    out.push_back({i, 0, {{n, D, c, c / b}}});
    return true;
  }
  if (b % c != 0)
    return false;
  // No head when the first block holds all b / c: i within its first c.
  const int64_t per = b / c;
  const int64_t edge = (i / b + 1) * b;
  const int64_t head = i % b < c ? 0 : std::min(n, (edge - i + c - 1) / c);
  if (head > 0)
    out.push_back({i, 0, {{head, D, c, 0}}});
  const int64_t blocks = (n - head) / per, tail = n - head - blocks * per;
  const int64_t at = i + c * head;
  if (blocks > 0)
    out.push_back({at, D * head, {{blocks, D * per, c * per, 1}, {per, D, c, 0}}});
  if (tail > 0)
    out.push_back({at + c * blocks * per, D * (head + blocks * per),
                   {{tail, D, c, 0}}});
  return true;
}

std::vector<Piece> unrollWidest(const Piece &c) {
  size_t j = 0;
  for (size_t k = 1; k < c.shape.size(); ++k)
    if (c.srcStrides[k] > c.srcStrides[j])
      j = k;
  std::vector<Piece> out;
  for (int64_t t = 0; t < c.shape[j]; ++t) {
    Piece q = c;
    q.shape.erase(q.shape.begin() + j);
    q.dstStrides.erase(q.dstStrides.begin() + j);
    q.srcStrides.erase(q.srcStrides.begin() + j);
    q.dstOffset += t * c.dstStrides[j];
    q.srcOffset += t * c.srcStrides[j];
    out.push_back(std::move(q));
  }
  return out;
}

} // namespace wl::layout::detail
