//===- Shape.cpp - row-major shapes, boxes and permutations ---------------===//
#include "wl/Layout/Shape.h"

#include <cassert>

namespace wl::layout {

std::optional<int64_t> numElements(const Shape &shape) {
  int64_t n = 1;
  for (int64_t s : shape) {
    if (s < 0 || __builtin_mul_overflow(n, s, &n))
      return std::nullopt;
  }
  return n;
}

Shape rowMajorStrides(const Shape &shape) {
  Shape strides(shape.size());
  int64_t stride = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    strides[d] = stride;
    stride *= shape[d];
  }
  return strides;
}

int64_t flatIndex(const Shape &shape, const Shape &coords) {
  assert(shape.size() == coords.size() && "rank mismatch");
  int64_t flat = 0;
  for (size_t d = 0; d < shape.size(); ++d)
    flat = flat * shape[d] + coords[d];
  return flat;
}

Shape unflatIndex(const Shape &shape, int64_t flat) {
  Shape coords(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    coords[d] = flat % shape[d];
    flat /= shape[d];
  }
  return coords;
}

bool isPermutation(const std::vector<int64_t> &perm) {
  std::vector<bool> seen(perm.size(), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(perm.size()) || seen[p])
      return false;
    seen[p] = true;
  }
  return true;
}

std::vector<int64_t> invertPermutation(const std::vector<int64_t> &perm) {
  std::vector<int64_t> inv(perm.size());
  for (size_t k = 0; k < perm.size(); ++k)
    inv[perm[k]] = static_cast<int64_t>(k);
  return inv;
}

std::vector<int64_t> composePermutations(const std::vector<int64_t> &first,
                                         const std::vector<int64_t> &second) {
  std::vector<int64_t> result(second.size());
  for (size_t k = 0; k < second.size(); ++k)
    result[k] = first[second[k]];
  return result;
}

namespace {

/// A minimal run of dimensions [fromBegin, fromEnd) of `from` and
/// [toBegin, toEnd) of `to` with equal element counts: reshape never mixes
/// positions across such groups, so a box maps group by group.
struct Group {
  size_t fromBegin, fromEnd, toBegin, toEnd;
};

std::vector<Group> reassociate(const Shape &from, const Shape &to) {
  // Pre: equal element counts and no zero sizes, so whenever one side's
  // product is smaller, that side has dimensions left.
  std::vector<Group> groups;
  size_t i = 0, j = 0;
  while (i < from.size() || j < to.size()) {
    Group g{i, i, j, j};
    int64_t pf = 1, pt = 1;
    do {
      if (i < from.size() && (pf <= pt || j == to.size()))
        pf *= from[i++];
      else
        pt *= to[j++];
    } while (pf != pt);
    // Size-1 dims hold one index; keep them with the group before them.
    while (i < from.size() && from[i] == 1)
      ++i;
    while (j < to.size() && to[j] == 1)
      ++j;
    g.fromEnd = i;
    g.toEnd = j;
    groups.push_back(g);
  }
  return groups;
}

} // namespace

std::optional<Box> reshapeBox(const Box &box, const Shape &from,
                              const Shape &to) {
  assert(box.offsets.size() == from.size() && box.sizes.size() == from.size());
  for (int64_t s : from)
    if (s == 0)
      return std::nullopt;
  for (int64_t s : box.sizes)
    if (s == 0)
      return std::nullopt;

  Box result{Shape(to.size(), 0), Shape(to.size(), 1)};
  for (const Group &g : reassociate(from, to)) {
    // The box restricted to this group must be one contiguous flat range
    // [lo, hi] of the group's positions: dims after the first partial one
    // are full, dims before it hold a single index.
    Shape gShape(from.begin() + g.fromBegin, from.begin() + g.fromEnd);
    Shape lo, hi;
    int64_t count = 1;
    for (size_t d = g.fromBegin; d < g.fromEnd; ++d) {
      lo.push_back(box.offsets[d]);
      hi.push_back(box.offsets[d] + box.sizes[d] - 1);
      count *= box.sizes[d];
    }
    int64_t a = flatIndex(gShape, lo), b = flatIndex(gShape, hi);
    if (b - a + 1 != count)
      return std::nullopt;

    // The range [a, b] is a box of the group's `to` dims t_0..t_{m-1} iff
    // for some k, with P = prod(t_{k+1..}), a and b+1 are multiples of P and
    // a/P, b/P share their digits above t_k.
    Shape tShape(to.begin() + g.toBegin, to.begin() + g.toEnd);
    size_t m = tShape.size();
    bool found = false;
    int64_t p = 1;
    for (size_t k = m; k-- > 0;) {
      int64_t outer = p * tShape[k];
      if (a % p == 0 && (b + 1) % p == 0 && a / outer == b / outer) {
        Shape prefix = unflatIndex(tShape, a);
        for (size_t d = 0; d < m; ++d) {
          size_t td = g.toBegin + d;
          if (d < k) {
            result.offsets[td] = prefix[d];
            result.sizes[td] = 1;
          } else if (d == k) {
            result.offsets[td] = (a / p) % tShape[k];
            result.sizes[td] = (b - a + 1) / p;
          } else {
            result.offsets[td] = 0;
            result.sizes[td] = tShape[d];
          }
        }
        found = true;
        break;
      }
      p = outer;
    }
    if (!found && m > 0)
      return std::nullopt;
  }
  return result;
}

} // namespace wl::layout
