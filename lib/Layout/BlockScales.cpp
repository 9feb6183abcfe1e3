//===- BlockScales.cpp - block-quantized tensors through a plan -----------===//
//
// Every piece that reads a quantized source is walked as rectangles of its
// target (rows of the target's last dimension, merged where consecutive
// rows line up), each rectangle cut at the target's block edges; each part
// must be whole rows and columns of one source block (or columns and rows).
// The parts of a target block must agree on that source block and add up
// to its elements.
//
//===----------------------------------------------------------------------===//
#include "wl/Layout/BlockScales.h"

#include "PieceDims.h"

#include <algorithm>
#include <cstring>
#include <array>
#include <map>
#include <functional>

namespace wl::layout {

using detail::Dim;

Shape scaleGridShape(const Shape &data, BlockShape block) {
  Shape g = data;
  size_t n = g.size();
  g[n - 2] = (g[n - 2] + block.rows - 1) / block.rows;
  g[n - 1] = (g[n - 1] + block.cols - 1) / block.cols;
  return g;
}

namespace {

/// A quantized tensor of shape [lead..., R, C] seen as `lead` matrices.
struct Matrix {
  int64_t lead = 1, R = 1, C = 1;
  int64_t nR = 1, nC = 1; ///< the grid of each matrix
  explicit Matrix(const Shape &s, BlockShape b) {
    size_t n = s.size();
    for (size_t d = 0; d + 2 < n; ++d)
      lead *= s[d];
    R = s[n - 2];
    C = s[n - 1];
    nR = (R + b.rows - 1) / b.rows;
    nC = (C + b.cols - 1) / b.cols;
  }
  /// Rows and columns of block `blk` that lie inside the matrix.
  std::pair<int64_t, int64_t> validOf(int64_t blk, BlockShape b) const {
    int64_t in = blk % (nR * nC), bi = in / nC, bj = in % nC;
    return {std::min(b.rows, R - bi * b.rows), std::min(b.cols, C - bj * b.cols)};
  }
};

/// Rows [row, row + h) of a target's rows (leading indices flattened, R
/// rows each), columns [col, col + w); element (row + i, col + j) reads
/// source position src + i * sr + j * sc.
struct Rect {
  int64_t row, h, col, w, src, sr, sc;
};

/// `b` appended below `a` when it continues it.
bool extend(Rect &a, const Rect &b) {
  if (a.col != b.col || a.w != b.w || b.row != a.row + a.h)
    return false;
  if (a.w > 1 && a.sc != b.sc)
    return false;
  if (a.h > 1 && b.h > 1 && a.sr != b.sr)
    return false;
  int64_t sr = a.h > 1 ? a.sr : b.h > 1 ? b.sr : b.src - a.src;
  if (b.src != a.src + a.h * sr)
    return false;
  a.sr = sr;
  a.h += b.h;
  return true;
}

/// Calls fn for the rectangles of target rows of length C that `p` writes.
void forEachRect(const Piece &p, int64_t C, const std::function<void(const Rect &)> &fn) {
  std::vector<Dim> dims = detail::mergeDims(detail::dimsOf(p), true, true, true);
  if (dims.empty() || dims.back().dst != 1)
    dims.push_back({1, 1, 0});
  const int64_t len = dims.back().extent, ss = dims.back().src;
  bool have = false;
  Rect pending{};
  auto emit = [&](const Rect &r) {
    if (have && extend(pending, r))
      return;
    if (have)
      fn(pending);
    pending = r;
    have = true;
  };
  detail::forEachRow(dims, p.dstOffset, p.srcOffset, [&](int64_t d0, int64_t s0) {
    int64_t row = d0 / C, col = d0 % C, pos = 0;
    if (col != 0) {
      int64_t w = std::min(len, C - col);
      emit({row, 1, col, w, s0, 0, ss});
      pos += w;
      ++row;
    }
    if (len - pos >= C) {
      int64_t k = (len - pos) / C;
      emit({row, k, 0, C, s0 + pos * ss, C * ss, ss});
      pos += k * C;
      row += k;
    }
    if (pos < len)
      emit({row, 1, 0, len - pos, s0 + pos * ss, 0, ss});
  });
  if (have)
    fn(pending);
}

/// One rectangle's part inside one target block.
struct Part {
  int64_t tBlock;       ///< flat index in the target's grid
  int64_t layer, r0, c0; ///< target matrix and first row, column in it
  int64_t hh, ww;
  int64_t src, sr, sc;  ///< source position of (r0, c0) and its steps
  int64_t sBlock;       ///< flat index in the source's grid
  int orient;           ///< 0: either (one element), 1: rows, 2: transposed
  int64_t sr0, sc0, sh, sw; ///< the source rectangle read (rows, columns)
};

std::string boxText(int64_t layer, const Shape &shape, int64_t r0, int64_t r1,
                    int64_t c0, int64_t c1) {
  std::string s = "[";
  Shape lead(shape.begin(), shape.end() - 2);
  if (!lead.empty()) {
    Shape at = unflatIndex(lead, layer);
    for (int64_t v : at)
      s += std::to_string(v) + ", ";
  }
  return s + std::to_string(r0) + ":" + std::to_string(r1) + ", " +
         std::to_string(c0) + ":" + std::to_string(c1) + "]";
}

std::string blockText(const Matrix &m, const Shape &shape, BlockShape b,
                      int64_t blk) {
  int64_t layer = blk / (m.nR * m.nC), in = blk % (m.nR * m.nC);
  int64_t bi = in / m.nC, bj = in % m.nC;
  return boxText(layer, shape, bi * b.rows,
                 std::min(m.R, (bi + 1) * b.rows), bj * b.cols,
                 std::min(m.C, (bj + 1) * b.cols));
}

/// Walks the parts of the pieces reading quantized sources, checking each
/// against its source block.
class Walker {
public:
  Walker(const Plan &plan, BlockShape b) : plan(plan), b(b) {}

  /// Calls fn for each part of piece `p` until it returns false; false
  /// with `error` set when a part is not rows and columns of one source
  /// block, or fn said stop.
  bool walk(const Piece &p, const std::function<bool(const Part &)> &fn,
            std::string &error, bool blockedSource = true) {
    const Shape &ts = plan.targets[p.target].shape;
    const Shape &ss = plan.sources[p.source].shape;
    Matrix tm(ts, b), sm(ss.size() >= 2 ? ss : Shape{1, ss.empty() ? 1 : ss[0]}, b);
    bool ok = true;
    forEachRect(p, tm.C, [&](const Rect &whole) {
      for (int64_t row = whole.row; ok && row < whole.row + whole.h;) {
        int64_t layer = row / tm.R;
        int64_t end = std::min(whole.row + whole.h, (layer + 1) * tm.R);
        int64_t r0 = row - layer * tm.R, h = end - row;
        int64_t src = whole.src + (row - whole.row) * whole.sr;
        for (int64_t bi = r0 / b.rows; ok && bi <= (r0 + h - 1) / b.rows; ++bi) {
          int64_t rr0 = std::max(r0, bi * b.rows);
          int64_t rr1 = std::min(r0 + h, (bi + 1) * b.rows);
          for (int64_t bj = whole.col / b.cols;
               ok && bj <= (whole.col + whole.w - 1) / b.cols; ++bj) {
            int64_t cc0 = std::max(whole.col, bj * b.cols);
            int64_t cc1 = std::min(whole.col + whole.w, (bj + 1) * b.cols);
            Part part{layer * tm.nR * tm.nC + bi * tm.nC + bj, layer, rr0, cc0,
                      rr1 - rr0, cc1 - cc0,
                      src + (rr0 - r0) * whole.sr + (cc0 - whole.col) * whole.sc,
                      whole.sr, whole.sc, -1, 0, 0, 0, 0, 0};
            ok = (!blockedSource || locate(p, tm, sm, part, error)) && fn(part);
          }
        }
        row = end;
      }
    });
    return ok;
  }

private:
  /// Sets part.sBlock and part.orient, or fails.
  bool locate(const Piece &p, const Matrix &tm, const Matrix &sm, Part &part,
              std::string &error) {
    auto coords = [&](int64_t pos, int64_t &lead, int64_t &r, int64_t &c) {
      lead = pos / (sm.R * sm.C);
      r = (pos / sm.C) % sm.R;
      c = pos % sm.C;
    };
    int64_t last = part.src + (part.hh - 1) * part.sr + (part.ww - 1) * part.sc;
    int64_t l0, r0, c0, l1, r1, c1;
    coords(part.src, l0, r0, c0);
    coords(last, l1, r1, c1);
    bool rows = (part.hh == 1 || part.sr == sm.C) &&
                (part.ww == 1 || part.sc == 1) && l0 == l1 &&
                r1 - r0 == part.hh - 1 && c1 - c0 == part.ww - 1;
    bool cols = (part.hh == 1 || part.sr == 1) &&
                (part.ww == 1 || part.sc == sm.C) && l0 == l1 &&
                c1 - c0 == part.hh - 1 && r1 - r0 == part.ww - 1;
    part.orient = rows && cols ? 0 : rows ? 1 : cols ? 2 : -1;
    std::string why;
    if (part.orient == 2 && b.rows != b.cols)
      why = "transposes blocks of " + std::to_string(b.rows) + "x" +
            std::to_string(b.cols) + ", which are not square";
    int64_t blk0 = l0 * sm.nR * sm.nC + (r0 / b.rows) * sm.nC + c0 / b.cols;
    int64_t blk1 = l1 * sm.nR * sm.nC + (r1 / b.rows) * sm.nC + c1 / b.cols;
    if (part.orient >= 0 && blk0 == blk1 && why.empty()) {
      part.sBlock = blk0;
      part.sr0 = r0;
      part.sc0 = c0;
      part.sh = part.orient == 2 ? part.ww : part.hh;
      part.sw = part.orient == 2 ? part.hh : part.ww;
      return true;
    }
    const TensorInfo &t = plan.targets[p.target], &s = plan.sources[p.source];
    // The target dimension whose elements run across a source block edge.
    bool rowCut = part.orient == 2 ? c0 / b.cols != c1 / b.cols
                                   : r0 / b.rows != r1 / b.rows;
    size_t dim = t.shape.size() - (rowCut || part.ww == 1 ? 2 : 1);
    if (why.empty())
      why = "its elements " +
              boxText(part.layer, t.shape, part.r0, part.r0 + part.hh,
                      part.c0, part.c0 + part.ww) +
              " come from elements of '" + s.name +
              "' that are not in one of its blocks";
    error = "'" + t.name + "' cuts the " + std::to_string(b.rows) + "x" +
            std::to_string(b.cols) + " blocks of '" + s.name +
            "' along its dimension " + std::to_string(dim) + ": " + why;
    return false;
  }

  const Plan &plan;
  BlockShape b;
};

/// The part of piece `p` in one target block, as a piece of its own (no
/// steps yet).
Piece partPiece(const Piece &p, const Matrix &tm, const Part &part) {
  Piece q;
  q.target = p.target;
  q.source = p.source;
  q.shape = {part.hh, part.ww};
  q.dstOffset = (part.layer * tm.R + part.r0) * tm.C + part.c0;
  q.dstStrides = {tm.C, 1};
  q.srcOffset = part.src;
  q.srcStrides = {part.sr, part.sc};
  return q;
}

/// What the parts of one target block have read so far.
struct BlockState {
  int64_t source = -1, block = -1, count = 0;
  int orient = 0;
  int64_t sr0 = 0, sc0 = 0, sh = 0, sw = 0; ///< the first part's source rectangle
};

/// Source rectangles [r0, r0 + h) x [c0, c0 + w).
bool overlap(int64_t ar, int64_t ac, int64_t ah, int64_t aw, int64_t br,
             int64_t bc, int64_t bh, int64_t bw) {
  return ar < br + bh && br < ar + ah && ac < bc + bw && bc < ac + aw;
}

} // namespace

std::optional<BlockMap> mapBlocks(const Plan &plan,
                                  const std::vector<bool> &quantized,
                                  BlockShape block, std::string &error) {
  BlockMap map;
  map.block = block;
  map.sources = quantized;
  map.targets.resize(plan.targets.size());
  // Which targets read a quantized source, and whether they read only those.
  std::vector<int> kind(plan.targets.size(), 0); // bit 1: quantized, 2: other
  std::vector<int64_t> quantizedOne(plan.targets.size(), -1),
      otherOne(plan.targets.size(), -1); // a source of each kind (-1: a fill)
  for (const Piece &p : plan.pieces)
    if (p.numElements() > 0) {
      bool q = !p.isFill() && quantized[p.source];
      kind[p.target] |= q ? 1 : 2;
      (q ? quantizedOne : otherOne)[p.target] = p.isFill() ? -1 : p.source;
    }
  std::vector<std::vector<BlockState>> state(plan.targets.size());
  for (size_t t = 0; t < plan.targets.size(); ++t) {
    if (!(kind[t] & 1))
      continue;
    const TensorInfo &ti = plan.targets[t];
    if (ti.shape.size() < 2) {
      error = "'" + ti.name + "' is written from block-quantized tensors and "
              "has fewer than 2 dimensions: it has no blocks";
      return std::nullopt;
    }
    if (kind[t] & 2) {
      int64_t o = otherOne[t];
      error = "'" + ti.name + "' is written from the block-quantized '" +
              plan.sources[quantizedOne[t]].name + "' and from " +
              (o < 0 ? std::string("fill values")
                     : "'" + plan.sources[o].name + "', which is not") +
              ": both must be quantized, or neither";
      return std::nullopt;
    }
    state[t].resize(*numElements(scaleGridShape(ti.shape, block)));
  }
  Walker walker(plan, block);
  std::map<std::pair<int64_t, int64_t>, std::vector<std::array<int64_t, 4>>> parts;
  for (const Piece &p : plan.pieces) {
    if (p.numElements() == 0 || p.isFill() || !quantized[p.source])
      continue;
    const TensorInfo &t = plan.targets[p.target];
    const Matrix tm(t.shape, block);
    std::string why;
    bool ok = walker.walk(
        p,
        [&](const Part &part) {
          BlockState &st = state[p.target][part.tBlock];
          if (st.count == 0) {
            st.source = p.source;
            st.block = part.sBlock;
            st.sr0 = part.sr0, st.sc0 = part.sc0, st.sh = part.sh, st.sw = part.sw;
          } else if (st.source != p.source || st.block != part.sBlock) {
            const TensorInfo &s = plan.sources[p.source];
            size_t dim = t.shape.size() -
                         (part.r0 % block.rows != 0 || part.hh == 1 ? 2 : 1);
            why = "'" + t.name + "' cuts the " + std::to_string(block.rows) +
                  "x" + std::to_string(block.cols) +
                  " blocks along its dimension " + std::to_string(dim) +
                  ": its block " +
                  blockText(tm, t.shape, block, part.tBlock) +
                  " takes elements from block " +
                  blockText(Matrix(plan.sources[st.source].shape, block),
                            plan.sources[st.source].shape, block, st.block) +
                  " of '" + plan.sources[st.source].name + "' and from block " +
                  blockText(Matrix(s.shape, block), s.shape, block,
                            part.sBlock) +
                  " of '" + s.name + "'";
            return false;
          } else {
            // A block read in several parts: the parts must not read the
            // same source elements twice.
            auto &seen = parts[{p.target, part.tBlock}];
            if (seen.empty())
              seen.push_back({st.sr0, st.sc0, st.sh, st.sw});
            for (const auto &r : seen)
              if (overlap(r[0], r[1], r[2], r[3], part.sr0, part.sc0, part.sh,
                          part.sw)) {
                why = "'" + t.name + "': its block " +
                      blockText(tm, t.shape, block, part.tBlock) +
                      " reads some elements of '" +
                      plan.sources[p.source].name + "' twice";
                return false;
              }
            seen.push_back({part.sr0, part.sc0, part.sh, part.sw});
          }
          if (!st.orient)
            st.orient = part.orient;
          st.count += part.hh * part.ww;
          return true;
        },
        why);
    if (!ok || !why.empty()) {
      error = why;
      return std::nullopt;
    }
  }
  // Each target block: all of its elements, and all of its source block's.
  for (size_t t = 0; t < plan.targets.size(); ++t) {
    if (state[t].empty())
      continue;
    const TensorInfo &ti = plan.targets[t];
    const Matrix tm(ti.shape, block);
    map.targets[t].resize(state[t].size());
    for (size_t k = 0; k < state[t].size(); ++k) {
      const BlockState &st = state[t][k];
      auto [th, tw] = tm.validOf((int64_t)k, block);
      bool ok = st.count == th * tw;
      int64_t sh = 0, sw = 0;
      if (ok) {
        const Matrix sm(plan.sources[st.source].shape, block);
        std::tie(sh, sw) = sm.validOf(st.block, block);
        if (st.orient == 2)
          std::swap(sh, sw);
        ok = sh * sw == st.count;
      }
      if (!ok) {
        std::string where = "its block " + blockText(tm, ti.shape, block, (int64_t)k);
        if (st.count != th * tw) {
          error = "'" + ti.name + "': " + where + " has " +
                  std::to_string(th * tw) + " elements and " +
                  std::to_string(st.count) +
                  " are written from block-quantized tensors";
        } else {
          const TensorInfo &s = plan.sources[st.source];
          size_t dim = ti.shape.size() - (sh != th ? 2 : 1);
          error = "'" + ti.name + "' cuts the " + std::to_string(block.rows) +
                  "x" + std::to_string(block.cols) +
                  " blocks of '" + s.name + "' along its dimension " +
                  std::to_string(dim) + ": " + where + " (" +
                  std::to_string(th) + "x" + std::to_string(tw) +
                  ") takes part of block " +
                  blockText(Matrix(s.shape, block), s.shape, block, st.block) +
                  " (" + std::to_string(sh) + "x" + std::to_string(sw) + ")";
        }
        return std::nullopt;
      }
      map.targets[t][k] = {st.source, st.block};
    }
  }
  return map;
}

std::optional<Plan> scalePlan(const Plan &plan, const BlockMap &map,
                              const std::vector<TensorInfo> &sourceScales,
                              const std::string &suffix, std::string &error) {
  Plan out;
  std::vector<int64_t> sourceIndex(plan.sources.size(), -1);
  for (size_t t = 0; t < plan.targets.size(); ++t) {
    if (!map.isQuantized((int64_t)t))
      continue;
    const TensorInfo &ti = plan.targets[t];
    int64_t target = (int64_t)out.targets.size();
    out.targets.push_back({ti.name + suffix, DType::F32,
                           scaleGridShape(ti.shape, map.block)});
    bool typed = false;
    Piece run;
    auto flush = [&] {
      if (run.shape.empty())
        return;
      out.pieces.push_back(run);
      run.shape.clear();
    };
    const std::vector<BlockSource> &blocks = map.targets[t];
    for (size_t k = 0; k < blocks.size(); ++k) {
      const BlockSource &bs = blocks[k];
      if (sourceIndex[bs.source] < 0) {
        const TensorInfo &g = sourceScales[bs.source];
        Shape want = scaleGridShape(plan.sources[bs.source].shape, map.block);
        if (g.shape != want) {
          error = "'" + g.name + "' is not the scale grid of '" +
                  plan.sources[bs.source].name + "' in blocks of " +
                  std::to_string(map.block.rows) + "x" +
                  std::to_string(map.block.cols);
          return std::nullopt;
        }
        sourceIndex[bs.source] = (int64_t)out.sources.size();
        out.sources.push_back(g);
      }
      const TensorInfo &g = out.sources[sourceIndex[bs.source]];
      if (!typed) {
        out.targets[target].dtype = g.dtype;
        typed = true;
      } else if (g.dtype != out.targets[target].dtype) {
        error = "'" + ti.name + "' is written from scale grids of " +
                std::string(safetensorsName(out.targets[target].dtype)) +
                " and of " + std::string(safetensorsName(g.dtype)) + " ('" +
                g.name + "')";
        return std::nullopt;
      }
      int64_t src = sourceIndex[bs.source];
      if (!run.shape.empty() && run.source == src &&
          run.srcOffset + run.shape[0] == bs.block &&
          run.dstOffset + run.shape[0] == (int64_t)k) {
        ++run.shape[0];
        continue;
      }
      flush();
      run.target = target;
      run.source = src;
      run.shape = {1};
      run.dstOffset = (int64_t)k;
      run.dstStrides = {1};
      run.srcOffset = bs.block;
      run.srcStrides = {1};
    }
    flush();
  }
  normalize(out);
  return out;
}

Plan dequantizePlan(const Plan &plan, const BlockMap &map, DType dataType,
                    const std::vector<std::vector<double>> &scales) {
  Plan out;
  out.sources = plan.sources;
  out.targets = plan.targets;
  for (size_t s = 0; s < plan.sources.size(); ++s)
    if (!scales[s].empty())
      out.sources[s].dtype = dataType;
  Walker walker(plan, map.block);
  for (const Piece &p : plan.pieces) {
    if (p.isFill() || scales[p.source].empty() ||
        !map.isQuantized(p.target)) {
      out.pieces.push_back(p);
      continue;
    }
    const TensorInfo &t = plan.targets[p.target];
    const Matrix tm(t.shape, map.block);
    const std::vector<double> &grid = scales[p.source];
    std::string unused;
    walker.walk(
        p,
        [&](const Part &part) {
          Piece q = partPiece(p, tm, part);
          // An affine on BF16, F16 or F32 widens to f32, multiplies and
          // rounds once to its type, and the FP8 value is exact in each:
          // cast, then affine on the target type, is f32(x) * scale
          // rounded to it. F64 computes in f64, so it goes through F32.
          DType via = t.dtype == DType::F64 ? DType::F32 : t.dtype;
          q.steps.push_back({Step::Cast, dataType, via});
          q.steps.push_back({Step::Affine, via, via, grid[part.sBlock], 0.0});
          if (via != t.dtype)
            q.steps.push_back({Step::Cast, via, t.dtype});
          out.pieces.push_back(coalesce(q));
          return true;
        },
        unused);
  }
  normalize(out);
  return out;
}

std::optional<Plan> keepQuantized(const Plan &plan, const BlockMap &map,
                                  DType dataType, std::string &error) {
  Plan out = plan;
  for (const Piece &p : plan.pieces) {
    if (p.isFill() || !map.isQuantized(p.target))
      continue;
    if (!p.steps.empty()) {
      error = "'" + plan.targets[p.target].name +
              "' is block-quantized and the mapping converts its elements "
              "(a cast or an affine): dequantize it first";
      return std::nullopt;
    }
  }
  for (size_t s = 0; s < plan.sources.size(); ++s)
    if (map.sources[s])
      out.sources[s].dtype = dataType;
  for (size_t t = 0; t < plan.targets.size(); ++t)
    if (map.isQuantized((int64_t)t))
      out.targets[t].dtype = dataType;
  return out;
}

namespace {

/// |x| of the source element at `pos`, as f32 bits without the sign.
uint32_t magnitudeBits(const uint8_t *data, DType t, int64_t pos) {
  switch (t) {
  case DType::BF16: {
    uint16_t v;
    std::memcpy(&v, data + 2 * pos, 2);
    return (uint32_t)(v & 0x7fff) << 16;
  }
  case DType::F32: {
    uint32_t v;
    std::memcpy(&v, data + 4 * pos, 4);
    return v & 0x7fffffffu;
  }
  default: {
    uint64_t v = 0;
    std::memcpy(&v, data + (int64_t)dtypeSize(t) * pos, dtypeSize(t));
    return (uint32_t)castBits(v, t, DType::F32) & 0x7fffffffu;
  }
  }
}

float fromBits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

} // namespace

std::optional<Plan> quantizePlan(const Plan &plan,
                                 const std::vector<bool> &quantize,
                                 BlockShape block, DType dataType,
                                 const std::vector<const uint8_t *> &sourceData,
                                 const std::string &suffix, std::string &error,
                                 const std::function<void(int64_t)> &read) {
  // Pieces left to read per source, for `read`.
  std::vector<int64_t> left(plan.sources.size(), 0);
  for (const Piece &p : plan.pieces)
    if (quantize[p.target] && !p.isFill())
      ++left[p.source];
  // Per quantized target block: the largest magnitude, as f32 bits (NaN,
  // above every finite and infinite value, stays the largest).
  std::vector<std::vector<uint32_t>> amax(plan.targets.size());
  for (size_t t = 0; t < plan.targets.size(); ++t)
    if (quantize[t]) {
      const TensorInfo &ti = plan.targets[t];
      if (ti.shape.size() < 2) {
        error = "'" + ti.name + "' has fewer than 2 dimensions: it has no blocks";
        return std::nullopt;
      }
      amax[t].assign(*numElements(scaleGridShape(ti.shape, block)), 0);
    }
  Walker walker(plan, block);
  std::string unused;
  for (const Piece &p : plan.pieces) {
    if (!quantize[p.target])
      continue;
    const TensorInfo &t = plan.targets[p.target];
    if (p.isFill() || !p.steps.empty() || !isFloat(plan.sources[p.source].dtype)) {
      error = "'" + t.name + "' cannot be quantized: " +
              (p.isFill() ? std::string("a fill writes part of it")
               : !p.steps.empty()
                   ? "the mapping converts its elements (a cast or an affine)"
                   : "it is read from integers ('" +
                         plan.sources[p.source].name + "')");
      return std::nullopt;
    }
    const uint8_t *data = sourceData[p.source];
    const DType st = plan.sources[p.source].dtype;
    walker.walk(
        p,
        [&](const Part &part) {
          uint32_t m = amax[p.target][part.tBlock];
          for (int64_t i = 0; i < part.hh; ++i) {
            int64_t row = part.src + i * part.sr;
            if (st == DType::BF16 && part.sc == 1) {
              // Magnitudes of bf16 order as their bits do (NaN above all).
              const uint8_t *q = data + 2 * row;
              uint16_t r = 0;
              for (int64_t j = 0; j < part.ww; ++j) {
                uint16_t v;
                std::memcpy(&v, q + 2 * j, 2);
                r = std::max<uint16_t>(r, v & 0x7fff);
              }
              m = std::max(m, (uint32_t)r << 16);
            } else {
              for (int64_t j = 0; j < part.ww; ++j)
                m = std::max(m, magnitudeBits(data, st, row + j * part.sc));
            }
          }
          amax[p.target][part.tBlock] = m;
          return true;
        },
        unused, /*blockedSource=*/false);
    if (--left[p.source] == 0 && read)
      read(p.source);
  }
  Plan out;
  out.sources = plan.sources;
  out.targets = plan.targets;
  std::vector<int64_t> grid(plan.targets.size(), -1);
  // Per block: sf = max(amax, 1e-4) / 448 in f32; the data is multiplied
  // by 1 / sf in f32 and cast (DeepGEMM's per_block_cast_to_fp8).
  std::vector<std::vector<float>> inv(plan.targets.size());
  for (size_t t = 0; t < plan.targets.size(); ++t) {
    if (!quantize[t])
      continue;
    out.targets[t].dtype = dataType;
    Shape g = scaleGridShape(plan.targets[t].shape, block);
    grid[t] = (int64_t)out.targets.size();
    out.targets.push_back({plan.targets[t].name + suffix, DType::F32, g});
    inv[t].resize(amax[t].size());
    for (size_t k = 0; k < amax[t].size(); ++k) {
      volatile float a = std::max(fromBits(amax[t][k]), 1e-4f);
      volatile float sf = a / 448.0f;
      volatile float r = 1.0f / sf;
      inv[t][k] = r;
      float sfv = sf;
      uint32_t bits;
      std::memcpy(&bits, &sfv, 4);
      Piece fill;
      fill.target = grid[t];
      fill.source = -1;
      fill.fillBits = bits;
      fill.shape = {1};
      fill.dstOffset = (int64_t)k;
      fill.dstStrides = {1};
      fill.srcStrides = {0};
      out.pieces.push_back(fill);
    }
  }
  for (const Piece &p : plan.pieces) {
    if (!quantize[p.target]) {
      out.pieces.push_back(p);
      continue;
    }
    const Matrix tm(plan.targets[p.target].shape, block);
    const DType st = plan.sources[p.source].dtype;
    walker.walk(
        p,
        [&](const Part &part) {
          Piece q = partPiece(p, tm, part);
          if (st != DType::F32)
            q.steps.push_back({Step::Cast, st, DType::F32});
          q.steps.push_back({Step::Affine, DType::F32, DType::F32,
                             (double)inv[p.target][part.tBlock], 0.0});
          q.steps.push_back({Step::Cast, DType::F32, dataType});
          out.pieces.push_back(coalesce(q));
          return true;
        },
        unused, /*blockedSource=*/false);
  }
  normalize(out);
  return out;
}

void appendPlan(Plan &into, const Plan &more) {
  int64_t ns = (int64_t)into.sources.size(), nt = (int64_t)into.targets.size();
  into.sources.insert(into.sources.end(), more.sources.begin(), more.sources.end());
  into.targets.insert(into.targets.end(), more.targets.begin(), more.targets.end());
  for (Piece p : more.pieces) {
    p.target += nt;
    if (!p.isFill())
      p.source += ns;
    into.pieces.push_back(std::move(p));
  }
}

} // namespace wl::layout
