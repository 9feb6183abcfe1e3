//===- Region.cpp - regions through every wl op ---------------------------===//
#include "wl/Layout/Region.h"

#include <cassert>

namespace wl::layout {

namespace {

int64_t product(const std::vector<Mode> &m) {
  int64_t n = 1;
  for (const Mode &x : m)
    n *= x.extent;
  return n;
}

/// Drops unit modes and merges (e1, s1), (e2, s2) when s1 == s2 * e2: the
/// same digits, fewer of them.
std::vector<Mode> simplify(const std::vector<Mode> &m) {
  std::vector<Mode> out;
  for (const Mode &x : m) {
    if (x.extent == 1)
      continue;
    if (!out.empty() && out.back().stride == x.stride * x.extent) {
      out.back().extent *= x.extent;
      out.back().stride = x.stride;
      continue;
    }
    out.push_back(x);
  }
  return out;
}

struct Block {
  int64_t start; // relative to the mode list's range
  std::vector<Mode> modes;
  int64_t srcDelta;
};

/// Splits positions [p, q) of the mixed radix `m` (row-major, relative) into
/// blocks: a fixed prefix of digits, one digit over a sub-range, all later
/// digits full. Each block is again a row-major mixed radix.
void decompose(const std::vector<Mode> &m, size_t i, int64_t p, int64_t q,
               int64_t base, int64_t delta, std::vector<Block> &out) {
  if (p >= q)
    return;
  if (i == m.size()) {
    out.push_back({base, {}, delta});
    return;
  }
  int64_t w = 1;
  for (size_t j = i + 1; j < m.size(); ++j)
    w *= m[j].extent;
  int64_t s = m[i].stride;
  auto full = [&](int64_t a, int64_t b) {
    std::vector<Mode> modes{{b - a, s}};
    modes.insert(modes.end(), m.begin() + i + 1, m.end());
    out.push_back({base + a * w, simplify(modes), delta + a * s});
  };
  if (p % w == 0 && q % w == 0) {
    full(p / w, q / w);
    return;
  }
  int64_t a0 = p / w, b0 = (q - 1) / w;
  if (a0 == b0) {
    decompose(m, i + 1, p - a0 * w, q - a0 * w, base + a0 * w,
              delta + a0 * s, out);
    return;
  }
  int64_t a1 = a0;
  if (p % w != 0) {
    decompose(m, i + 1, p - a0 * w, w, base + a0 * w, delta + a0 * s, out);
    a1 = a0 + 1;
  }
  int64_t b1 = q / w;
  if (b1 > a1)
    full(a1, b1);
  if (q % w != 0)
    decompose(m, i + 1, 0, q - b1 * w, base + b1 * w, delta + b1 * s, out);
}

/// The source offset of relative coordinate u of a dimension with modes m.
int64_t offsetOf(const std::vector<Mode> &m, int64_t u) {
  int64_t off = 0;
  for (size_t j = m.size(); j-- > 0;) {
    off += (u % m[j].extent) * m[j].stride;
    u /= m[j].extent;
  }
  return off;
}

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

} // namespace

int64_t Region::numElements() const {
  int64_t n = 1;
  for (int64_t s : size)
    n *= s;
  return n;
}

Region sourceRegion(int64_t source, const Shape &shape) {
  Region r;
  r.source = source;
  r.lo.assign(shape.size(), 0);
  r.size = shape;
  Shape st = rowMajorStrides(shape);
  for (size_t d = 0; d < shape.size(); ++d)
    r.modes.push_back(simplify({{shape[d], st[d]}}));
  return r;
}

Region fillRegion(const Shape &lo, const Shape &size, uint64_t fillBits) {
  Region r;
  r.lo = lo;
  r.size = size;
  r.fillBits = fillBits;
  for (int64_t s : size)
    r.modes.push_back(simplify({{s, 0}}));
  return r;
}

Regions restrictDim(const Regions &rs, size_t d, int64_t begin, int64_t end) {
  Regions out;
  for (const Region &r : rs) {
    int64_t p = std::max<int64_t>(begin - r.lo[d], 0);
    int64_t q = std::min<int64_t>(end - r.lo[d], r.size[d]);
    if (p >= q)
      continue;
    if (p == 0 && q == r.size[d]) {
      out.push_back(r);
      continue;
    }
    std::vector<Block> blocks;
    decompose(r.modes[d], 0, p, q, 0, 0, blocks);
    for (Block &b : blocks) {
      Region n = r;
      n.lo[d] = r.lo[d] + b.start;
      n.size[d] = product(b.modes);
      n.modes[d] = std::move(b.modes);
      n.srcOffset += b.srcDelta;
      out.push_back(std::move(n));
    }
  }
  return out;
}

void shiftDim(Regions &rs, size_t d, int64_t delta) {
  for (Region &r : rs)
    r.lo[d] += delta;
}

Regions sliceRegions(const Regions &rs, const Shape &offsets,
                     const Shape &sizes, const Shape &strides) {
  Regions cur = rs;
  for (size_t d = 0; d < offsets.size(); ++d) {
    int64_t off = offsets[d], n = sizes[d], st = strides[d];
    if (n == 0)
      return {};
    cur = restrictDim(cur, d, off, off + (n - 1) * st + 1);
    if (st == 1) {
      shiftDim(cur, d, -off);
      continue;
    }
    Regions next;
    for (const Region &r : cur) {
      // One mode per piece of the dimension: split by the innermost mode.
      Regions single;
      std::vector<Mode> m = simplify(r.modes[d]);
      if (m.size() <= 1) {
        single.push_back(r);
      } else {
        int64_t e = m.back().extent;
        for (int64_t k = 0; k < r.size[d]; k += e)
          for (Region &x : restrictDim({r}, d, r.lo[d] + k, r.lo[d] + k + e))
            single.push_back(std::move(x));
      }
      for (Region x : single) {
        std::vector<Mode> sm = simplify(x.modes[d]);
        int64_t sigma = sm.empty() ? 0 : sm[0].stride;
        int64_t i0 = ceilDiv(x.lo[d] - off, st);
        int64_t i1 = std::min(ceilDiv(x.lo[d] + x.size[d] - off, st), n);
        if (i0 >= i1)
          continue;
        x.srcOffset += (off + i0 * st - x.lo[d]) * sigma;
        x.lo[d] = i0;
        x.size[d] = i1 - i0;
        x.modes[d] = simplify({{i1 - i0, sigma * st}});
        next.push_back(std::move(x));
      }
    }
    cur = std::move(next);
  }
  return cur;
}

Regions permuteRegions(const Regions &rs, const std::vector<int64_t> &perm) {
  Regions out;
  for (const Region &r : rs) {
    Region n = r;
    for (size_t k = 0; k < perm.size(); ++k) {
      n.lo[k] = r.lo[perm[k]];
      n.size[k] = r.size[perm[k]];
      n.modes[k] = r.modes[perm[k]];
    }
    out.push_back(std::move(n));
  }
  return out;
}

Regions insertDim(const Regions &rs, size_t d, int64_t at) {
  Regions out = rs;
  for (Region &r : out) {
    r.lo.insert(r.lo.begin() + d, at);
    r.size.insert(r.size.begin() + d, 1);
    r.modes.insert(r.modes.begin() + d, std::vector<Mode>{});
  }
  return out;
}

Regions removeDim(const Regions &rs, size_t d) {
  Regions out = rs;
  for (Region &r : out) {
    assert(r.size[d] == 1);
    r.lo.erase(r.lo.begin() + d);
    r.size.erase(r.size.begin() + d);
    r.modes.erase(r.modes.begin() + d);
  }
  return out;
}

namespace {

struct Group {
  std::vector<size_t> in, out;
};

std::vector<Group> reshapeGroups(const Shape &from, const Shape &to) {
  std::vector<Group> gs;
  size_t i = 0, j = 0;
  while (i < from.size() || j < to.size()) {
    if (i < from.size() && from[i] == 1) {
      gs.push_back({{i++}, {}});
      continue;
    }
    if (j < to.size() && to[j] == 1) {
      gs.push_back({{}, {j++}});
      continue;
    }
    assert(i < from.size() && j < to.size());
    Group g{{i}, {j}};
    int64_t pa = from[i++], pb = to[j++];
    while (pa != pb) {
      if (pa < pb) {
        g.in.push_back(i);
        pa *= from[i++];
      } else {
        g.out.push_back(j);
        pb *= to[j++];
      }
    }
    gs.push_back(g);
  }
  return gs;
}

/// One box of a group's result dimensions.
struct Part {
  Shape lo, size;
  std::vector<std::vector<Mode>> modes;
  int64_t srcDelta;
};

/// Expresses the extents of `box` (the out dims, a fixed prefix, one partial
/// dim, full suffix) and the row-major modes `e` over the same positions as
/// one list of modes per out dim, when one refines the other.
bool refine(const Shape &boxSizes, const std::vector<Mode> &e,
            std::vector<std::vector<Mode>> &res) {
  res.assign(boxSizes.size(), {});
  int64_t ri = (int64_t)boxSizes.size() - 1, ei = (int64_t)e.size() - 1;
  int64_t r = ri >= 0 ? boxSizes[ri] : 1;
  int64_t ex = ei >= 0 ? e[ei].extent : 1;
  int64_t sg = ei >= 0 ? e[ei].stride : 0;
  while (true) {
    while (ri >= 0 && r == 1) {
      --ri;
      r = ri >= 0 ? boxSizes[ri] : 1;
    }
    while (ei >= 0 && ex == 1) {
      --ei;
      if (ei >= 0) {
        ex = e[ei].extent;
        sg = e[ei].stride;
      }
    }
    if (ri < 0 || ei < 0)
      return ri < 0 && ei < 0;
    int64_t take;
    if (r % ex == 0)
      take = ex;
    else if (ex % r == 0)
      take = r;
    else
      return false;
    res[ri].insert(res[ri].begin(), Mode{take, sg});
    r /= take;
    ex /= take;
    sg *= take;
  }
}

void mapRange(int64_t f, int64_t n, const std::vector<Mode> &m, int64_t delta,
              const Shape &outShape, std::vector<Part> &parts) {
  Shape outStrides = rowMajorStrides(outShape);
  for (const Box &box : intervalToBoxes(outShape, f, f + n)) {
    int64_t bstart = 0, blen = 1;
    for (size_t k = 0; k < outShape.size(); ++k) {
      bstart += box.offsets[k] * outStrides[k];
      blen *= box.sizes[k];
    }
    std::vector<Block> blocks;
    decompose(m, 0, bstart - f, bstart - f + blen, 0, 0, blocks);
    for (const Block &b : blocks) {
      int64_t len = product(b.modes);
      if (len != blen) {
        mapRange(f + b.start, len, b.modes, delta + b.srcDelta, outShape,
                 parts);
        continue;
      }
      std::vector<std::vector<Mode>> res;
      if (refine(box.sizes, b.modes, res)) {
        for (auto &x : res)
          x = simplify(x);
        parts.push_back({box.offsets, box.sizes, res, delta + b.srcDelta});
        continue;
      }
      // The two radixes do not line up: enumerate the outermost mode.
      const Mode &o = b.modes.front();
      std::vector<Mode> rest(b.modes.begin() + 1, b.modes.end());
      int64_t w = product(rest);
      for (int64_t v = 0; v < o.extent; ++v)
        mapRange(f + b.start + v * w, w, rest,
                 delta + b.srcDelta + v * o.stride, outShape, parts);
    }
  }
}

std::vector<Part> groupParts(const Region &r, const Group &g,
                             const Shape &from, const Shape &to) {
  std::vector<Part> parts;
  Shape outShape;
  for (size_t k : g.out)
    outShape.push_back(to[k]);
  if (g.in.empty() || g.out.empty()) {
    Part p{Shape(g.out.size(), 0), Shape(g.out.size(), 1),
           std::vector<std::vector<Mode>>(g.out.size()), 0};
    parts.push_back(p);
    return parts;
  }
  Shape inShape;
  for (size_t d : g.in)
    inShape.push_back(from[d]);
  Shape inStrides = rowMajorStrides(inShape);
  // t: the smallest position after which every in dim is read whole.
  size_t t = g.in.size() - 1;
  while (t > 0) {
    size_t d = g.in[t];
    if (r.lo[d] == 0 && r.size[d] == from[d])
      --t;
    else
      break;
  }
  std::vector<Mode> flatModes;
  int64_t n = 1;
  for (size_t k = t; k < g.in.size(); ++k) {
    size_t d = g.in[k];
    flatModes.insert(flatModes.end(), r.modes[d].begin(), r.modes[d].end());
    n *= r.size[d];
  }
  flatModes = simplify(flatModes);
  // Enumerate the coordinates of the in dims before t.
  std::vector<int64_t> u(t, 0);
  while (true) {
    int64_t f = r.lo[g.in[t]] * inStrides[t], delta = 0;
    for (size_t k = 0; k < t; ++k) {
      size_t d = g.in[k];
      f += (r.lo[d] + u[k]) * inStrides[k];
      delta += offsetOf(r.modes[d], u[k]);
    }
    mapRange(f, n, flatModes, delta, outShape, parts);
    size_t k = t;
    while (k > 0) {
      --k;
      if (++u[k] < r.size[g.in[k]])
        break;
      u[k] = 0;
      if (k == 0)
        return parts;
    }
    if (t == 0)
      return parts;
  }
}

} // namespace

Regions reshapeRegions(const Regions &rs, const Shape &from, const Shape &to) {
  Regions out;
  std::vector<Group> groups = reshapeGroups(from, to);
  for (const Region &r : rs) {
    std::vector<std::vector<Part>> perGroup;
    for (const Group &g : groups)
      perGroup.push_back(groupParts(r, g, from, to));
    // The region is the product of its groups' parts.
    std::vector<size_t> idx(groups.size(), 0);
    while (true) {
      Region n;
      n.source = r.source;
      n.fillBits = r.fillBits;
      n.steps = r.steps;
      n.srcOffset = r.srcOffset;
      n.lo.assign(to.size(), 0);
      n.size.assign(to.size(), 1);
      n.modes.assign(to.size(), {});
      for (size_t gi = 0; gi < groups.size(); ++gi) {
        const Part &p = perGroup[gi][idx[gi]];
        n.srcOffset += p.srcDelta;
        for (size_t k = 0; k < groups[gi].out.size(); ++k) {
          size_t d = groups[gi].out[k];
          n.lo[d] = p.lo[k];
          n.size[d] = p.size[k];
          n.modes[d] = p.modes[k];
        }
      }
      out.push_back(std::move(n));
      size_t gi = groups.size();
      bool done = true;
      while (gi > 0) {
        --gi;
        if (++idx[gi] < perGroup[gi].size()) {
          done = false;
          break;
        }
        idx[gi] = 0;
      }
      if (done)
        break;
    }
  }
  return out;
}

std::vector<Piece> regionsToPieces(const Regions &rs, const Shape &shape,
                                   int64_t target) {
  std::vector<Piece> out;
  Shape st = rowMajorStrides(shape);
  for (const Region &r : rs) {
    if (r.numElements() == 0)
      continue;
    Piece p;
    p.target = target;
    p.source = r.source;
    p.fillBits = r.fillBits;
    p.srcOffset = r.srcOffset;
    p.steps = r.steps;
    for (size_t d = 0; d < shape.size(); ++d) {
      p.dstOffset += r.lo[d] * st[d];
      std::vector<Mode> m = simplify(r.modes[d]);
      int64_t w = 1;
      std::vector<int64_t> ws(m.size());
      for (size_t j = m.size(); j-- > 0;) {
        ws[j] = w;
        w *= m[j].extent;
      }
      for (size_t j = 0; j < m.size(); ++j) {
        p.shape.push_back(m[j].extent);
        p.dstStrides.push_back(st[d] * ws[j]);
        p.srcStrides.push_back(r.source < 0 ? 0 : m[j].stride);
      }
    }
    out.push_back(coalesce(p));
  }
  return out;
}

} // namespace wl::layout
