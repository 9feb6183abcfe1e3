//===- PlanTest.cpp - the plan algebra over every element -----------------===//
//
// Coverage, invert, compose, aliases and normalize (wl/Layout/Plan.h)
// against their written postconditions, on random plans checked against
// brute-force element counts and on the cases each refusal names.
//
//===----------------------------------------------------------------------===//
#include "PieceCases.h"
#include "wl/Layout/Plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

using namespace wl::layout;

namespace {

using namespace wl::layout::test;

/// Checks checkCoverage's problems of `plan` (one target of `shape`, one
/// source of srcSize elements) against per-element counts.
void expectCoverageMatchesBruteForce(const Plan &plan, const Shape &shape,
                                     int64_t srcSize) {
  const int64_t n = *numElements(shape);
  std::vector<int> written(n, 0), read(srcSize, 0);
  for (const Piece &p : plan.pieces)
    for (auto [d, s] : pairs(p)) {
      ++written[d];
      if (!p.isFill())
        ++read[s];
    }
  CoverageOptions opts;
  opts.maxBoxes = 1000;
  std::set<int64_t> gaps, overlaps, unread;
  for (const CoverageProblem &pr : checkCoverage(plan, opts)) {
    std::set<int64_t> &into = pr.kind == CoverageProblem::Gap ? gaps
                              : pr.kind == CoverageProblem::Overlap ? overlaps
                                                                    : unread;
    const Shape &sh = pr.kind == CoverageProblem::Unread ? Shape{srcSize} : shape;
    int64_t count = 0;
    for (const Box &b : pr.boxes)
      for (int64_t pos : boxPositions(sh, b)) {
        into.insert(pos);
        ++count;
      }
    ASSERT_EQ(count, pr.elements) << pr.message;
    ASSERT_NE(pr.message.find(pr.kind == CoverageProblem::Unread ? "'s'" : "'t'"),
              std::string::npos);
  }
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(gaps.count(i), written[i] == 0 ? 1u : 0u) << i;
    ASSERT_EQ(overlaps.count(i), written[i] > 1 ? 1u : 0u) << i;
  }
  for (int64_t i = 0; i < srcSize; ++i)
    ASSERT_EQ(unread.count(i), read[i] == 0 ? 1u : 0u) << i;
}

TEST(Coverage, GapsOverlapsAndUnreadMatchBruteForce) {
  std::mt19937 rng(7);
  for (int iter = 0; iter < 4000; ++iter) {
    const std::vector<Shape> shapes = smallShapes();
    Shape shape = shapes[rng() % shapes.size()];
    Plan plan;
    plan.targets.push_back({"t", DType::BF16, shape});
    int pieces = 1 + rng() % 3;
    int64_t maxRead = 0;
    for (int k = 0; k < pieces; ++k) {
      Piece p = randomBoxPiece(rng, shape, 0);
      if (rng() % 5 == 0) { // a fill
        p.source = -1;
        p.srcStrides.assign(p.shape.size(), 0);
      }
      plan.pieces.push_back(p);
      if (!p.isFill())
        for (auto [d, s] : pairs(p))
          maxRead = std::max(maxRead, s + 1);
    }
    int64_t srcSize = maxRead + 2; // two never-read elements at the end
    plan.sources.push_back({"s", DType::BF16, {srcSize}});
    expectCoverageMatchesBruteForce(plan, shape, srcSize);
    if (HasFatalFailure())
      return;
  }
}

// Targets cut into bands of columns over all rows (w13's gate, padding, up,
// padding; a fused qkv's parts), the pieces whose rows checkCoverage
// collapses into longer ones, some bands dropped, doubled, widened or moved:
// the same gaps, overlaps and unread elements as counted one by one.
TEST(Coverage, BandsOfColumnsMatchBruteForce) {
  std::mt19937 rng(11);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  for (int iter = 0; iter < 3000; ++iter) {
    Shape shape = {pick(1, 4), pick(1, 5), pick(2, 12)};
    const Shape st = rowMajorStrides(shape);
    // Cuts of the last dim (and sometimes of the middle one too).
    std::vector<int64_t> cuts = {0, shape[2]};
    for (int k = pick(0, 3); k-- > 0;)
      cuts.push_back(pick(1, shape[2] - 1));
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    const bool splitRows = shape[1] > 1 && pick(0, 2) == 0;
    const int64_t rowCut = splitRows ? pick(1, shape[1] - 1) : shape[1];
    Plan plan;
    plan.targets.push_back({"t", DType::BF16, shape});
    int64_t n = *numElements(shape);
    for (size_t b = 0; b + 1 < cuts.size(); ++b)
      for (int half = 0; half < (splitRows ? 2 : 1); ++half) {
        Piece p;
        p.target = 0;
        p.source = pick(0, 4) == 0 ? -1 : 0;
        int64_t r0 = half ? rowCut : 0, r1 = half || !splitRows ? shape[1] : rowCut;
        int64_t c0 = cuts[b], c1 = cuts[b + 1];
        switch (pick(0, 12)) {
        case 0: continue;                                   // dropped
        case 1: c1 = std::min(shape[2], c1 + 1); break;     // widened
        case 2: if (c0 > 0) --c0, --c1; break;              // moved
        default: break;
        }
        p.shape = {shape[0], r1 - r0, c1 - c0};
        p.dstStrides = st;
        p.dstOffset = r0 * st[1] + c0;
        // Read where it is written (so the source's rows collapse too), or
        // from the next copy of the source.
        p.srcStrides = p.isFill() ? Shape{0, 0, 0} : st;
        p.srcOffset = p.isFill() ? 0 : p.dstOffset + (pick(0, 6) == 0 ? n : 0);
        plan.pieces.push_back(p);
        if (pick(0, 15) == 0)
          plan.pieces.push_back(p); // doubled
      }
    std::shuffle(plan.pieces.begin(), plan.pieces.end(), rng);
    plan.sources.push_back({"s", DType::BF16, {2 * n + 1}});
    expectCoverageMatchesBruteForce(plan, shape, 2 * n + 1);
    if (HasFatalFailure())
      return;
  }
}

TEST(Coverage, MessagesNameTheTensorAndTheRegion) {
  Plan plan;
  plan.sources.push_back({"q", DType::BF16, {4, 8}});
  plan.targets.push_back({"qkv", DType::BF16, {4, 8}});
  // Rows 0..1 only: rows 2..3 are a gap; source rows 2..3 are unread.
  plan.pieces.push_back({0, 0, 0, {16}, 0, {1}, 0, {1}, {}});
  auto problems = checkCoverage(plan);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].message,
            "target 'qkv': elements [2:4, 0:8] (16 elements) are written by "
            "no piece");
  EXPECT_EQ(problems[1].message,
            "source 'q': elements [2:4, 0:8] (16 elements) are read by no piece");
  // The same rows twice: an overlap.
  plan.pieces.push_back({0, 0, 0, {2, 8}, 16, {8, 1}, 16, {8, 1}, {}});
  plan.pieces.push_back({0, 0, 0, {1, 3}, 9, {8, 1}, 0, {8, 1}, {}});
  problems = checkCoverage(plan);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].message,
            "target 'qkv': elements [1:2, 1:4] (3 elements) are written more "
            "than once");
}

TEST(Invert, RestoresEverySourceOfABijection) {
  // A transpose and a row swap.
  Plan plan;
  plan.sources.push_back({"a", DType::BF16, {3, 5}});
  plan.targets.push_back({"b", DType::F32, {5, 3}});
  Step widen{Step::Cast, DType::BF16, DType::F32, 1, 0};
  plan.pieces.push_back({0, 0, 0, {5, 3}, 0, {3, 1}, 0, {1, 5}, {widen}});
  std::string err;
  auto inv = invert(plan, err);
  ASSERT_TRUE(inv) << err;
  ASSERT_EQ(inv->pieces.size(), 1u);
  const Piece &p = inv->pieces[0];
  EXPECT_EQ(p.target, 0);
  EXPECT_EQ(p.source, 0);
  ASSERT_EQ(p.steps.size(), 1u);
  EXPECT_EQ(p.steps[0].from, DType::F32);
  EXPECT_EQ(p.steps[0].to, DType::BF16);
  // Every (dst, src) pair is the forward pair swapped.
  auto fwd = pairs(plan.pieces[0]), back = pairs(p);
  std::vector<std::pair<int64_t, int64_t>> swapped;
  for (auto [d, s] : fwd)
    swapped.push_back({s, d});
  std::sort(swapped.begin(), swapped.end());
  EXPECT_EQ(back, swapped);
}

TEST(Invert, RefusesWithTheReason) {
  Plan shard;
  shard.sources.push_back({"w", DType::BF16, {4, 8}});
  shard.targets.push_back({"w_r0", DType::BF16, {2, 8}});
  shard.pieces.push_back({0, 0, 0, {16}, 0, {1}, 0, {1}, {}});
  std::string err;
  EXPECT_FALSE(invert(shard, err));
  EXPECT_EQ(err, "cannot invert: the mapping drops data: source 'w' elements "
                 "[2:4, 0:8] (16 elements) are read by no target");

  Plan twice = shard;
  twice.targets.push_back({"w_r1", DType::BF16, {4, 8}});
  twice.pieces.push_back({1, 0, 0, {32}, 0, {1}, 0, {1}, {}});
  EXPECT_FALSE(invert(twice, err));
  EXPECT_EQ(err, "cannot invert: the mapping is not injective: source 'w' "
                 "elements [0:2, 0:8] (16 elements) are read more than once");

  Plan affine;
  affine.sources.push_back({"n", DType::BF16, {8}});
  affine.targets.push_back({"m", DType::BF16, {8}});
  affine.pieces.push_back({0, 0, 0, {8}, 0, {1}, 0, {1},
                           {{Step::Affine, DType::BF16, DType::BF16, 1, -1}}});
  EXPECT_FALSE(invert(affine, err));
  EXPECT_NE(err.find("affine (scale 1, offset -1)"), std::string::npos) << err;

  Plan narrow = affine;
  narrow.targets[0].dtype = DType::F8E4M3FN;
  narrow.pieces[0].steps = {{Step::Cast, DType::BF16, DType::F8E4M3FN, 1, 0}};
  EXPECT_FALSE(invert(narrow, err));
  EXPECT_NE(err.find("does not keep every value"), std::string::npos) << err;

  // Padding is dropped: a padded copy inverts.
  Plan pad = affine;
  pad.targets[0].shape = {10};
  pad.pieces[0].steps.clear();
  pad.pieces.push_back({0, -1, 0, {2}, 8, {1}, 0, {0}, {}});
  auto inv = invert(pad, err);
  ASSERT_TRUE(inv) << err;
  EXPECT_EQ(inv->pieces.size(), 1u);
}

TEST(Compose, TransposeThenTransposeIsOneRun) {
  Plan t1;
  t1.sources.push_back({"a", DType::BF16, {6, 10}});
  t1.targets.push_back({"b", DType::BF16, {10, 6}});
  t1.pieces.push_back({0, 0, 0, {10, 6}, 0, {6, 1}, 0, {1, 10}, {}});
  Plan t2;
  t2.sources.push_back({"b", DType::BF16, {10, 6}});
  t2.targets.push_back({"c", DType::BF16, {6, 10}});
  t2.pieces.push_back({0, 0, 0, {6, 10}, 0, {10, 1}, 0, {1, 6}, {}});
  std::string err;
  auto both = compose(t1, t2, err);
  ASSERT_TRUE(both) << err;
  ASSERT_EQ(both->pieces.size(), 1u);
  EXPECT_EQ(both->pieces[0].shape, Shape({60}));
  EXPECT_EQ(both->pieces[0].srcStrides, Shape({1}));
  auto aliases = findAliases(*both);
  ASSERT_TRUE(aliases[0]);
  EXPECT_EQ(aliases[0]->offset, 0);
}

TEST(Compose, ReadingWhatTheFirstDoesNotWriteFails) {
  Plan a;
  a.sources.push_back({"x", DType::BF16, {8}});
  a.targets.push_back({"y", DType::BF16, {8}});
  a.pieces.push_back({0, 0, 0, {4}, 0, {1}, 0, {1}, {}});
  Plan b;
  b.sources.push_back({"y", DType::BF16, {8}});
  b.targets.push_back({"z", DType::BF16, {8}});
  b.pieces.push_back({0, 0, 0, {8}, 0, {1}, 0, {1}, {}});
  std::string err;
  EXPECT_FALSE(compose(a, b, err));
  EXPECT_EQ(err, "cannot compose: the second plan reads element [4:5] of 'y', "
                 "which the first plan does not write");
  b.sources[0].name = "w";
  EXPECT_FALSE(compose(a, b, err));
  EXPECT_EQ(err, "cannot compose: the second plan reads 'w', which the first "
                 "does not write");
}

TEST(Aliases, OnlyWholeUnconvertedContiguousRuns) {
  Plan p;
  p.sources.push_back({"s", DType::BF16, {4, 8}});
  p.targets.push_back({"rows", DType::BF16, {2, 8}});
  p.targets.push_back({"cols", DType::BF16, {4, 4}});
  p.targets.push_back({"cast", DType::F32, {2, 8}});
  p.targets.push_back({"split", DType::BF16, {2, 8}});
  p.pieces.push_back({0, 0, 0, {2, 8}, 0, {8, 1}, 16, {8, 1}, {}});
  p.pieces.push_back({1, 0, 0, {4, 4}, 0, {4, 1}, 4, {8, 1}, {}});
  p.pieces.push_back({2, 0, 0, {16}, 0, {1}, 0, {1},
                      {{Step::Cast, DType::BF16, DType::F32, 1, 0}}});
  p.pieces.push_back({3, 0, 0, {8}, 0, {1}, 0, {1}, {}});
  p.pieces.push_back({3, 0, 0, {8}, 8, {1}, 8, {1}, {}});
  auto a = findAliases(p);
  ASSERT_TRUE(a[0]);
  EXPECT_EQ(a[0]->offset, 16);
  EXPECT_FALSE(a[1]);
  EXPECT_FALSE(a[2]);
  EXPECT_FALSE(a[3]); // two pieces; normalize merges them first
  normalize(p);
  EXPECT_TRUE(findAliases(p)[3]);
}

} // namespace
