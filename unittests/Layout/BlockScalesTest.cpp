//===- BlockScalesTest.cpp - blocks and scales through plans --------------===//
//
// mapBlocks, scalePlan and dequantizePlan (wl/Layout/BlockScales.h) on random
// tilings of targets by rectangles of two sources (aligned to blocks or not,
// transposed or not, normalized as the compiler emits plans), each checked
// against a brute-force walk of every element: which source element each
// target element reads, and whether every target block is one source block
// moved by rows and columns (or transposed).
//
//===----------------------------------------------------------------------===//
#include "PieceCases.h"
#include "wl/Layout/BlockScales.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <set>

using namespace wl::layout;
using namespace wl::layout::test;

namespace {

struct Case {
  Plan plan;
  BlockShape block;
};

/// A target [L, R, C] tiled by rectangles, each read from a random source
/// (of two, [L, Rs, Cs] each) at a random place: block-aligned most of the
/// time, transposed sometimes when blocks are square.
Case randomCase(std::mt19937 &rng) {
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  Case c;
  bool square = rng() % 2;
  c.block = square ? BlockShape{2, 2} : BlockShape{2, 3};
  const int64_t L = pick(1, 2), R = pick(1, 7), C = pick(1, 8);
  c.plan.targets.push_back({"t", DType::BF16, {L, R, C}});
  for (int s = 0; s < 2; ++s)
    c.plan.sources.push_back(
        {"s" + std::to_string(s), DType::BF16, {L, pick(R, R + 5), pick(C, C + 6)}});
  // Row and column cuts, at block edges most of the time.
  auto cuts = [&](int64_t n, int64_t b) {
    std::vector<int64_t> v{0};
    for (int64_t x = 1; x < n; ++x)
      if ((x % b == 0 && rng() % 2) || rng() % 9 == 0)
        v.push_back(x);
    v.push_back(n);
    return v;
  };
  std::vector<int64_t> rc = cuts(R, c.block.rows), cc = cuts(C, c.block.cols);
  for (int64_t l = 0; l < L; ++l)
    for (size_t i = 0; i + 1 < rc.size(); ++i)
      for (size_t j = 0; j + 1 < cc.size(); ++j) {
        int64_t h = rc[i + 1] - rc[i], w = cc[j + 1] - cc[j];
        int64_t s = rng() % 2;
        const Shape &ss = c.plan.sources[s].shape;
        bool transposed = square && rng() % 3 == 0 && w <= ss[1] && h <= ss[2];
        int64_t sh = transposed ? w : h, sw = transposed ? h : w;
        if (sh > ss[1] || sw > ss[2]) {
          transposed = false;
          s = -1;
        }
        if (s < 0) { // fits in neither orientation: read s0 plainly
          s = 0;
          sh = h, sw = w;
        }
        const Shape &src = c.plan.sources[s].shape;
        auto place = [&](int64_t room, int64_t b) {
          int64_t x = pick(0, room);
          return rng() % 5 == 0 ? x : x / b * b;
        };
        int64_t r0 = place(src[1] - sh, c.block.rows);
        int64_t c0 = place(src[2] - sw, c.block.cols);
        Piece p;
        p.target = 0;
        p.source = s;
        p.shape = {h, w};
        p.dstOffset = (l * R + rc[i]) * C + cc[j];
        p.dstStrides = {C, 1};
        p.srcOffset = (l * src[1] + r0) * src[2] + c0;
        p.srcStrides = transposed ? Shape{1, src[2]} : Shape{src[2], 1};
        c.plan.pieces.push_back(p);
      }
  normalize(c.plan);
  return c;
}

/// Per target element: (source, source position).
std::vector<std::pair<int64_t, int64_t>> origins(const Plan &plan) {
  std::vector<std::pair<int64_t, int64_t>> o(*numElements(plan.targets[0].shape), {-1, -1});
  for (const Piece &p : plan.pieces)
    for (auto [d, s] : orderedPairs(p))
      o[d] = {p.source, s};
  return o;
}

/// The brute-force verdict: for each target block, the source block it is,
/// or nullopt when some block is not one source block moved whole.
std::optional<std::vector<BlockSource>> bruteForce(const Case &c) {
  const Plan &plan = c.plan;
  const Shape &ts = plan.targets[0].shape;
  const BlockShape b = c.block;
  Shape grid = scaleGridShape(ts, b);
  auto o = origins(plan);
  std::vector<BlockSource> out(*numElements(grid));
  for (int64_t k = 0; k < (int64_t)out.size(); ++k) {
    Shape g = unflatIndex(grid, k);
    std::set<std::pair<int64_t, int64_t>> reads;
    std::set<int64_t> sources;
    int64_t count = 0;
    int64_t src = -1, lead = -1;
    for (int64_t i = g[1] * b.rows; i < std::min(ts[1], (g[1] + 1) * b.rows); ++i)
      for (int64_t j = g[2] * b.cols; j < std::min(ts[2], (g[2] + 1) * b.cols); ++j) {
        auto [s, pos] = o[flatIndex(ts, {g[0], i, j})];
        Shape sc = unflatIndex(plan.sources[s].shape, pos);
        sources.insert(s);
        src = s;
        lead = sc[0];
        reads.insert({sc[1], sc[2]});
        ++count;
      }
    if (sources.size() != 1)
      return std::nullopt;
    const Shape &ss = plan.sources[src].shape;
    // One source block, all of it.
    auto [r0, c0] = *reads.begin();
    int64_t bi = r0 / b.rows, bj = c0 / b.cols;
    std::set<std::pair<int64_t, int64_t>> block;
    for (int64_t i = bi * b.rows; i < std::min(ss[1], (bi + 1) * b.rows); ++i)
      for (int64_t j = bj * b.cols; j < std::min(ss[2], (bj + 1) * b.cols); ++j)
        block.insert({i, j});
    if (reads != block || count != (int64_t)block.size())
      return std::nullopt;
    Shape sgrid = scaleGridShape(ss, b);
    out[k] = {src, flatIndex(sgrid, {lead, bi, bj})};
  }
  return out;
}

double scaleOf(int64_t source, int64_t block) {
  return std::ldexp(1.0 + 0.125 * (double)(block % 7), (int)source - 3);
}

TEST(BlockScales, MapBlocksAgreesWithEveryElement) {
  std::mt19937 rng(25);
  int accepted = 0, refused = 0;
  for (int iter = 0; iter < 6000; ++iter) {
    Case c = randomCase(rng);
    std::string error;
    std::optional<BlockMap> map = mapBlocks(c.plan, {true, true}, c.block, error);
    std::optional<std::vector<BlockSource>> want = bruteForce(c);
    ASSERT_EQ(map.has_value(), want.has_value())
        << "iteration " << iter << ": " << error;
    if (!map) {
      EXPECT_NE(error.find("'t'"), std::string::npos) << error;
      ++refused;
      continue;
    }
    ++accepted;
    ASSERT_EQ(map->targets[0].size(), want->size());
    for (size_t k = 0; k < want->size(); ++k) {
      EXPECT_EQ(map->targets[0][k].source, (*want)[k].source);
      EXPECT_EQ(map->targets[0][k].block, (*want)[k].block);
    }

    // The scale plan moves each grid element as its block moved.
    std::vector<TensorInfo> grids;
    for (const TensorInfo &s : c.plan.sources)
      grids.push_back({s.name + "_scale_inv", DType::F32, scaleGridShape(s.shape, c.block)});
    std::optional<Plan> scales = scalePlan(c.plan, *map, grids, "_scale_inv", error);
    ASSERT_TRUE(scales) << error;
    ASSERT_EQ(scales->targets.size(), 1u);
    EXPECT_EQ(scales->targets[0].name, "t_scale_inv");
    EXPECT_EQ(scales->targets[0].shape, scaleGridShape(c.plan.targets[0].shape, c.block));
    std::vector<std::pair<int64_t, int64_t>> got(want->size(), {-1, -1});
    int written = 0;
    for (const Piece &p : scales->pieces)
      for (auto [d, s] : orderedPairs(p)) {
        got[d] = {p.source, s};
        ++written;
      }
    EXPECT_EQ(written, (int)want->size());
    for (size_t k = 0; k < want->size(); ++k) {
      const std::string &name = scales->sources[got[k].first].name;
      EXPECT_EQ(name, c.plan.sources[(*want)[k].source].name + "_scale_inv");
      EXPECT_EQ(got[k].second, (*want)[k].block);
    }

    // Dequantizing: f32(x) * scale, rounded to the target's bf16.
    std::vector<std::vector<double>> values(2);
    for (int64_t s = 0; s < 2; ++s)
      for (int64_t k = 0; k < *numElements(grids[s].shape); ++k)
        values[s].push_back(scaleOf(s, k));
    Plan dq = dequantizePlan(c.plan, *map, DType::F8E4M3FN, values);
    EXPECT_EQ(dq.sources[0].dtype, DType::F8E4M3FN);
    const Shape &ts = c.plan.targets[0].shape;
    std::vector<int> seen(*numElements(ts), 0);
    for (const Piece &p : dq.pieces)
      for (auto [d, s] : orderedPairs(p)) {
        ++seen[d];
        uint64_t x = (uint64_t)((s * 37 + p.source * 11) & 0x7e); // no NaN
        Shape tc = unflatIndex(ts, d);
        int64_t k = flatIndex(scaleGridShape(ts, c.block),
                              {tc[0], tc[1] / c.block.rows, tc[2] / c.block.cols});
        float f = (float)doubleFromBits(x, DType::F8E4M3FN) *
                  (float)scaleOf((*want)[k].source, (*want)[k].block);
        uint32_t fb;
        std::memcpy(&fb, &f, 4);
        ASSERT_EQ(applySteps(p.steps, x), castBits(fb, DType::F32, DType::BF16))
            << "element " << d;
      }
    for (int n : seen)
      ASSERT_EQ(n, 1);
  }
  // Both verdicts are exercised.
  EXPECT_GT(accepted, 400);
  EXPECT_GT(refused, 400);
}

// Dequantizing with run-time scales: every layout (blocks cut or not),
// each element the f32 product of its value and the scale of its own
// source block (read from the grid source at the piece's scale position),
// rounded to bf16, every target element once (random plans re-rolled by
// normalize: dimensions that step rows and columns at once are unrolled).
TEST(BlockScales, RunTimeDequantizeReadsEachElementsBlock) {
  std::mt19937 rng(26);
  for (int iter = 0; iter < 3000; ++iter) {
    Case c = randomCase(rng);
    const std::optional<Plan> dq = dequantizeAtRunTime(
        c.plan, {true, true}, c.block, DType::F8E4M3FN, "_scale_inv");
    ASSERT_EQ(dq->sources.size(), 4u);
    EXPECT_EQ(dq->sources[0].dtype, DType::F8E4M3FN);
    EXPECT_EQ(dq->sources[2].name, "s0_scale_inv");
    EXPECT_EQ(dq->sources[3].shape,
              scaleGridShape(c.plan.sources[1].shape, c.block));
    const Shape &ts = c.plan.targets[0].shape;
    std::vector<int> seen(*numElements(ts), 0);
    for (const Piece &p : dq->pieces) {
      ASSERT_TRUE(p.hasRuntimeScale());
      ASSERT_EQ(p.scale.source, p.source + 2);
      const Shape &ss = c.plan.sources[p.source].shape;
      const Shape grid = scaleGridShape(ss, c.block);
      for (int64_t k = 0; k < p.numElements(); ++k) {
        const auto [d, s, g] = elementPositions(p, k);
        ++seen[d];
        const Shape sc = unflatIndex(ss, s);
        const int64_t block = flatIndex(
            grid, {sc[0], sc[1] / c.block.rows, sc[2] / c.block.cols});
        ASSERT_EQ(g, block) << "iteration " << iter << " element " << d;
        const uint64_t x = (uint64_t)((s * 37 + p.source * 11) & 0x7e);
        const float scale = (float)scaleOf(p.source, block);
        const float f = (float)doubleFromBits(x, DType::F8E4M3FN) * scale;
        uint32_t fb, sb;
        std::memcpy(&fb, &f, 4);
        std::memcpy(&sb, &scale, 4);
        ASSERT_EQ(applySteps(p.steps, x, sb),
                  castBits(fb, DType::F32, DType::BF16))
            << "element " << d;
      }
    }
    for (int n : seen)
      ASSERT_EQ(n, 1);
  }
}

float f32Of(uint64_t bits) {
  uint32_t b = (uint32_t)bits;
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

TEST(BlockScales, QuantizeIsPerBlockAmaxOfEveryTarget) {
  std::mt19937 rng(26);
  for (int iter = 0; iter < 1500; ++iter) {
    Case c = randomCase(rng);
    // bf16 source data: values that encode their origin, some negative.
    std::vector<std::vector<uint8_t>> bytes(2);
    for (int s = 0; s < 2; ++s) {
      int64_t n = *numElements(c.plan.sources[s].shape);
      bytes[s].resize(2 * n);
      for (int64_t i = 0; i < n; ++i) {
        double v = ((i * 7 + s * 3) % 23 - 11) * std::ldexp(1.0, (int)(i % 5) - 2);
        uint16_t b = (uint16_t)bitsFromDouble(v, DType::BF16);
        std::memcpy(&bytes[s][2 * i], &b, 2);
      }
    }
    std::string error;
    std::optional<Plan> q = quantizePlan(c.plan, {true}, c.block, DType::F8E4M3FN,
                                         {bytes[0].data(), bytes[1].data()},
                                         "_scale_inv", error);
    ASSERT_TRUE(q) << error;
    const Shape &ts = c.plan.targets[0].shape;
    Shape grid = scaleGridShape(ts, c.block);
    ASSERT_EQ(q->targets.size(), 2u);
    EXPECT_EQ(q->targets[0].dtype, DType::F8E4M3FN);
    EXPECT_EQ(q->targets[1].name, "t_scale_inv");
    EXPECT_EQ(q->targets[1].shape, grid);
    // The expectation, element by element from the origins.
    auto o = origins(c.plan);
    auto value = [&](int64_t s, int64_t pos) {
      uint16_t b;
      std::memcpy(&b, &bytes[s][2 * pos], 2);
      return (float)doubleFromBits(b, DType::BF16);
    };
    auto blockOf = [&](int64_t d) {
      Shape tc = unflatIndex(ts, d);
      return flatIndex(grid, {tc[0], tc[1] / c.block.rows, tc[2] / c.block.cols});
    };
    std::vector<float> amax(*numElements(grid), 0.0f);
    for (int64_t d = 0; d < (int64_t)o.size(); ++d)
      amax[blockOf(d)] = std::max(amax[blockOf(d)], std::fabs(value(o[d].first, o[d].second)));
    std::vector<int> seen(o.size(), 0), seenGrid(amax.size(), 0);
    for (const Piece &p : q->pieces) {
      for (auto [d, s] : orderedPairs(p)) {
        if (p.target == 1) {
          ++seenGrid[d];
          float sf = std::max(amax[d], 1e-4f) / 448.0f;
          ASSERT_EQ(f32Of(p.fillBits), sf);
          continue;
        }
        ++seen[d];
        float sf = std::max(amax[blockOf(d)], 1e-4f) / 448.0f;
        float y = value(p.source, s) * (1.0f / sf);
        uint32_t yb;
        std::memcpy(&yb, &y, 4);
        uint16_t xb;
        std::memcpy(&xb, &bytes[p.source][2 * s], 2);
        ASSERT_EQ(applySteps(p.steps, xb), castBits(yb, DType::F32, DType::F8E4M3FN))
            << "element " << d;
      }
    }
    for (int n : seen)
      ASSERT_EQ(n, 1);
    for (int n : seenGrid)
      ASSERT_EQ(n, 1);
  }
}

TEST(BlockScales, RefusalsNameTheTensorAndDimension) {
  // A [4, 6] weight in 2x3 blocks, split by rows at 1: rank 0 gets a block
  // of one row, whose source block has two.
  Plan plan;
  plan.sources.push_back({"w", DType::BF16, {4, 6}});
  plan.targets.push_back({"w@0", DType::BF16, {1, 6}});
  Piece p;
  p.source = 0;
  p.shape = {6};
  p.dstStrides = {1};
  p.srcStrides = {1};
  plan.pieces.push_back(p);
  std::string error;
  EXPECT_FALSE(mapBlocks(plan, {true}, {2, 3}, error));
  EXPECT_NE(error.find("'w@0' cuts the 2x3 blocks of 'w' along its dimension 0"),
            std::string::npos)
      << error;

  // Columns split at 4: the second block of the target reads two blocks.
  plan.targets[0] = {"w@1", DType::BF16, {4, 5}};
  plan.pieces[0].shape = {4, 5};
  plan.pieces[0].dstStrides = {5, 1};
  plan.pieces[0].srcStrides = {6, 1};
  plan.pieces[0].srcOffset = 1;
  EXPECT_FALSE(mapBlocks(plan, {true}, {2, 3}, error));
  EXPECT_NE(error.find("along its dimension 1"), std::string::npos) << error;

  // A fill beside quantized data has no scale.
  plan.pieces[0].srcOffset = 0;
  plan.pieces[0].shape = {4, 3};
  Piece fill;
  fill.source = -1;
  fill.shape = {4, 2};
  fill.dstOffset = 3;
  fill.dstStrides = {5, 1};
  fill.srcStrides = {0, 0};
  plan.pieces.push_back(fill);
  EXPECT_FALSE(mapBlocks(plan, {true}, {2, 3}, error));
  EXPECT_NE(error.find("fill values"), std::string::npos) << error;

  // Unquantized sources are left alone.
  plan.pieces.pop_back();
  plan.targets[0].shape = {4, 3};
  plan.pieces[0].dstStrides = {3, 1};
  std::optional<BlockMap> map = mapBlocks(plan, {false}, {2, 3}, error);
  ASSERT_TRUE(map);
  EXPECT_FALSE(map->isQuantized(0));
}

TEST(BlockScales, ScaleGridMustMatchItsData) {
  Plan plan;
  plan.sources.push_back({"w", DType::BF16, {256, 130}});
  plan.targets.push_back({"w", DType::BF16, {256, 130}});
  Piece p;
  p.source = 0;
  p.shape = {256 * 130};
  p.dstStrides = {1};
  p.srcStrides = {1};
  plan.pieces.push_back(p);
  std::string error;
  std::optional<BlockMap> map = mapBlocks(plan, {true}, {128, 128}, error);
  ASSERT_TRUE(map) << error;
  EXPECT_EQ(scaleGridShape({256, 130}, {128, 128}), (Shape{2, 2}));
  std::vector<TensorInfo> grids{{"w_scale_inv", DType::F32, {2, 1}}};
  EXPECT_FALSE(scalePlan(plan, *map, grids, "_scale_inv", error));
  EXPECT_NE(error.find("'w_scale_inv' is not the scale grid of 'w'"), std::string::npos);
  grids[0].shape = {2, 2};
  std::optional<Plan> sp = scalePlan(plan, *map, grids, "_scale_inv", error);
  ASSERT_TRUE(sp) << error;
  ASSERT_EQ(sp->pieces.size(), 1u);
  EXPECT_EQ(sp->pieces[0].numElements(), 4);
}

} // namespace
