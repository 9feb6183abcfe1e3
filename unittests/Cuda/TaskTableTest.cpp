//===- TaskTableTest.cpp - how plans are cut into the CUDA kernels' units
//--===//
//
// The shapes the kernels rely on, checked on the table alone (no GPU):
// several-row units stay within one run of the innermost outer dimension
// and within 2 GiB from their first byte to their last (the kernels address
// their rows by 32-bit offsets); every element of a piece lies in exactly
// one unit; word sizes follow the addresses; a padding fuses into the copy
// it follows only where it pads exactly that copy's rows. What the units
// compute is checked elsewhere (weight-layout-cuda-check, byte for byte).
//
//===----------------------------------------------------------------------===//
#include "wl/Cuda/CudaTasks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

using namespace wl;
using namespace wl::runtime::cuda;
using layout::DType;
using layout::Piece;
using layout::Plan;

namespace {

/// A plan of one piece: target [rows, n] at row stride `dstRow`, read from
/// a source [rows, srcRow] (its first n columns), element type `dt`.
Plan rowsPlan(int64_t rows, int64_t n, int64_t srcRow, int64_t dstRow,
              DType dt = DType::BF16) {
  Plan plan;
  plan.sources.push_back({"s", dt, {rows, srcRow}});
  plan.targets.push_back({"t", dt, {rows, dstRow}});
  Piece p;
  p.source = 0;
  p.target = 0;
  p.shape = {rows, n};
  p.srcStrides = {srcRow, 1};
  p.dstStrides = {dstRow, 1};
  plan.pieces.push_back(p);
  if (n < dstRow) { // the rest of each target row: a fill
    Piece f;
    f.source = -1;
    f.target = 0;
    f.shape = {rows, dstRow - n};
    f.dstOffset = n;
    f.dstStrides = {dstRow, 1};
    f.srcStrides = {0, 0};
    plan.pieces.push_back(f);
  }
  return plan;
}

/// A plan of one bf16 transpose: target [n, k] from the first n columns
/// of a source [k, srcRow].
Plan transposePlan(int64_t k, int64_t n, int64_t srcRow) {
  Plan plan;
  plan.sources.push_back({"s", DType::BF16, {k, srcRow}});
  plan.targets.push_back({"t", DType::BF16, {n, k}});
  Piece p;
  p.source = 0;
  p.target = 0;
  p.shape = {n, k};
  p.srcStrides = {1, srcRow};
  p.dstStrides = {k, 1};
  plan.pieces.push_back(p);
  return plan;
}

/// MaxText's o_proj at small size: target [2, 40, 6 x d] from a source
/// [2, 6, d + 1, 48] (layer, head, head_dim padded, hidden padded): k =
/// hidden (40), i = head_dim (d), outer = (layer, head) in runs of 6 heads.
Plan oprojPlan(int64_t d) {
  Plan plan;
  plan.sources.push_back({"s", DType::BF16, {2, 6, d + 1, 48}});
  plan.targets.push_back({"t", DType::BF16, {2, 40, 6 * d}});
  Piece p;
  p.source = 0;
  p.target = 0;
  p.shape = {2, 40, 6, d};
  p.srcStrides = {6 * (d + 1) * 48, 1, (d + 1) * 48, 48};
  p.dstStrides = {40 * 6 * d, 6 * d, d, 1};
  plan.pieces.push_back(p);
  return plan;
}

/// Each target element of the table's units, counted.
std::vector<int> coverage(const TaskTable &table, int64_t targetElements) {
  std::vector<int> seen(targetElements, 0);
  for (const Unit &u : table.units) {
    const Task &t = table.tasks[u.task];
    auto dstOf = [&](int64_t row) {
      int64_t d = t.dstOffset;
      for (int j = t.nouter - 1; j >= 0; --j) {
        d += row % t.outerSize[j] * t.outerDst[j];
        row /= t.outerSize[j];
      }
      return d;
    };
    if (t.kind == kCopyRows || t.kind == kFillRows || t.kind == kConvertRows) {
      for (int64_t r = u.a0; r < u.a1; ++r) {
        for (int64_t i = u.b0; i < u.b1; ++i)
          ++seen[dstOf(r) + i];
        for (int64_t i = 0; i < t.tail; ++i) // a fused padding
          ++seen[dstOf(r) + t.n + i];
      }
    } else if (t.kind == kTranspose) {
      // g of the unit's (outer, i) space: outer a0 + g / n where b1 > n.
      const int64_t k1 =
          std::min(t.kExtent, u.a1 + transposeShape(t.dstSize).kStrip);
      const bool several = u.b1 > t.n;
      for (int64_t k = u.a1; k < k1; ++k)
        for (int64_t g = u.b0; g < u.b1; ++g)
          ++seen[dstOf(u.a0 + (several ? g / t.n : 0)) + k * t.dk +
                 (several ? g % t.n : g)];
    } else {
      for (int64_t e = u.a0; e < u.a1; ++e)
        ++seen[dstOf(e / t.n) + e % t.n * t.dstStride];
    }
  }
  return seen;
}

TEST(TaskTable, EveryElementInExactlyOneUnit) {
  for (int64_t rows : {1, 7, 300})
    for (int64_t n : {1, 16, 40, 5000}) {
      Plan plan = rowsPlan(rows, n, n + 3, n + 24);
      TaskTable table;
      std::string error;
      TableOptions small;
      small.unitBytes = 1 << 10;
      ASSERT_TRUE(buildTaskTable(plan, table, error, small)) << error;
      for (int c : coverage(table, rows * (n + 24)))
        ASSERT_EQ(c, 1) << rows << " x " << n;
    }
}

TEST(TaskTable, SeveralRowUnitsStayInOneRun) {
  // [4, 5, 16] from the first 5 x 16 of a [4, 6, 24] source: rows of 16
  // elements, 24 apart within a run of 5 but 144 - 4 * 24 = 48 across, so
  // the piece keeps two outer dimensions and no unit may span two runs.
  Plan plan;
  plan.sources.push_back({"s", DType::F32, {4, 6, 24}});
  plan.targets.push_back({"t", DType::F32, {4, 5, 16}});
  Piece p;
  p.source = 0;
  p.target = 0;
  p.shape = {4, 5, 16};
  p.srcStrides = {6 * 24, 24, 1};
  p.dstStrides = {5 * 16, 16, 1};
  plan.pieces.push_back(p);
  TaskTable table;
  std::string error;
  ASSERT_TRUE(buildTaskTable(plan, table, error)) << error;
  ASSERT_EQ(table.tasks.size(), 1u);
  const Task &t = table.tasks[0];
  ASSERT_EQ(t.kind, kCopyRows);
  ASSERT_EQ(t.nouter, 2);
  for (const Unit &u : table.units)
    EXPECT_EQ(u.a0 / 5, (u.a1 - 1) / 5) << u.a0 << ".." << u.a1;
  EXPECT_EQ(table.units.size(), 4u); // one a run: 5 rows fit a unit
  for (int c : coverage(table, 4 * 5 * 16))
    ASSERT_EQ(c, 1);
}

TEST(TaskTable, ShortTransposesTakeSeveralOuterIndices) {
  // MaxText's o_proj at small size: target [2, 40, 6 x d] from a source
  // [2, 6, d + 1, 48] (layer, head, head_dim padded, hidden padded): k =
  // hidden (40), i = head_dim (d, shorter than a unit's span), outer =
  // (layer, head) in runs of 6 heads. With d = 16 (a multiple of the
  // 8-element block) units take the 6 heads of one run; with d = 12 one
  // head a unit; with d = 48 and units of 64 KiB (256 values of i by a
  // strip of 128 of k) five heads, then the sixth alone: never two runs.
  // Every element once.
  struct Case {
    int64_t d, unitKiB;
    int several, units;
  };
  for (Case c :
       {Case{16, 128, 2, 2}, Case{12, 128, 0, 12}, Case{48, 64, 2, 4}}) {
    const int64_t d = c.d;
    Plan plan = oprojPlan(d);
    TaskTable table;
    std::string error;
    TableOptions options;
    options.transposeUnitBytes = c.unitKiB << 10;
    ASSERT_TRUE(buildTaskTable(plan, table, error, options)) << error;
    ASSERT_EQ(table.tasks.size(), 1u);
    const Task &t = table.tasks[0];
    ASSERT_EQ(t.kind, kTranspose);
    ASSERT_EQ(t.nouter, 2);
    ASSERT_EQ(t.n, d);
    int several = 0;
    for (const Unit &u : table.units) {
      if (u.b1 <= t.n)
        continue;
      ++several;
      EXPECT_EQ(u.b0, 0);
      EXPECT_EQ(u.b1 % t.n, 0);
      EXPECT_LE(u.a0 % 6 + u.b1 / t.n, 6) << u.a0 << " + " << u.b1 / t.n;
    }
    EXPECT_EQ(several, c.several) << d;
    EXPECT_EQ(table.units.size(), size_t(c.units)) << d;
    for (int c : coverage(table, 2 * 40 * 6 * d))
      ASSERT_EQ(c, 1) << d;
  }
}

TEST(TaskTable, SeveralRowUnitsSpanUnder2GiB) {
  // Rows 2 GiB apart (a strided view of a huge source): 32-bit offsets
  // from a unit's first row could not reach a second row, so every unit is
  // one row; rows 1 KiB apart share units.
  Plan far = rowsPlan(8, 64, int64_t(1) << 30, 64);
  Plan near = rowsPlan(8, 64, 512, 64);
  for (const Plan *plan : {&far, &near}) {
    TaskTable table;
    std::string error;
    ASSERT_TRUE(buildTaskTable(*plan, table, error)) << error;
    for (const Unit &u : table.units) {
      const Task &t = table.tasks[u.task];
      const int64_t rs = t.nouter ? t.outerSrc[t.nouter - 1] * t.srcSize : 0;
      const int64_t span = (u.a1 - u.a0 - 1) * rs + (u.b1 - u.b0) * t.srcSize;
      EXPECT_LT(span, int64_t(1) << 31);
    }
    EXPECT_EQ(table.units.size(), plan == &far ? 8u : 1u);
  }
}

TEST(TaskTable, WordsFollowTheAddresses) {
  Plan plan = rowsPlan(4, 64, 64, 64); // one contiguous run: 16-byte words
  TaskTable table;
  std::string error;
  ASSERT_TRUE(buildTaskTable(plan, table, error)) << error;
  chooseWords(table, {256}, {256});
  EXPECT_EQ(table.tasks[0].vec, 16);
  chooseWords(table, {256 + 2}, {256}); // a source 2 bytes off
  EXPECT_EQ(table.tasks[0].vec, 2);

  // A bf16 transpose [64, 128] -> [128, 64]: word-aligned at aligned bases,
  // element by element when the source rows are 2 bytes off 16.
  Plan tp = transposePlan(64, 128, 129);
  ASSERT_TRUE(buildTaskTable(tp, table, error)) << error;
  ASSERT_EQ(table.tasks[0].kind, kTranspose);
  chooseWords(table, {256}, {256});
  EXPECT_EQ(table.tasks[0].vec, 1); // 129 * 2 bytes a source row
  tp.sources[0].shape = {64, 136};
  tp.pieces[0].srcStrides = {1, 136};
  ASSERT_TRUE(buildTaskTable(tp, table, error)) << error;
  chooseWords(table, {256}, {256});
  EXPECT_EQ(table.tasks[0].vec, 16);
  for (int c : coverage(table, 128 * 64))
    ASSERT_EQ(c, 1);
}

TEST(TaskTable, ConvertingRowsGroupFloatsOnly) {
  Plan plan = rowsPlan(2, 64, 64, 64, DType::F32);
  plan.sources[0].dtype = DType::BF16;
  plan.pieces[0].steps.push_back(
      {layout::Step::Cast, DType::BF16, DType::F32, 1.0, 0.0});
  TaskTable table;
  std::string error;
  ASSERT_TRUE(buildTaskTable(plan, table, error)) << error;
  ASSERT_EQ(table.tasks[0].kind, kConvertRows);
  chooseWords(table, {256}, {256});
  EXPECT_EQ(table.tasks[0].vec, 16);
  chooseWords(table, {256 + 2}, {256}); // groups of 4 bf16 need 8 bytes
  EXPECT_EQ(table.tasks[0].vec, 1);

  Plan ints = rowsPlan(2, 64, 64, 64, DType::I32);
  ints.sources[0].dtype = DType::I16;
  ints.pieces[0].steps.push_back(
      {layout::Step::Cast, DType::I16, DType::I32, 1.0, 0.0});
  ASSERT_TRUE(buildTaskTable(ints, table, error)) << error;
  ASSERT_EQ(table.tasks[0].kind, kConvertRows);
  chooseWords(table, {256}, {256});
  EXPECT_EQ(table.tasks[0].vec, 1);
}

/// A converting-rows plan [rows, n] from `from` to `to` through `steps`.
Plan convertPlan(int64_t rows, int64_t n, DType from, DType to,
                 std::vector<layout::Step> steps) {
  Plan plan = rowsPlan(rows, n, n, n, to);
  plan.sources[0].dtype = from;
  plan.pieces[0].steps = std::move(steps);
  return plan;
}

// ItemWalk's rows and groups equal the division's, item after item: every
// row length from 1 to 1100 and a few long ones, four blocks' first items,
// every thread of them, each thread's kConvertItems items and 32 past them
// (rows that end mid-step, steps longer and shorter than a row).
TEST(ItemWalk, EqualsDivision) {
  std::vector<uint32_t> lengths;
  for (uint32_t g = 1; g <= 1100; ++g)
    lengths.push_back(g);
  for (uint32_t g : {4095u, 65536u, 1000003u, 1u << 30})
    lengths.push_back(g);
  for (uint32_t g : lengths)
    for (uint32_t first : {0u, 2048u, 6144u, 12345678u})
      for (uint32_t x = 0; x < kBlockThreads; ++x) {
        ItemWalk walk(first + x, g, kBlockThreads);
        for (uint32_t k = 0; k < kConvertItems + 32; ++k, walk.next()) {
          const uint32_t q = first + x + k * kBlockThreads;
          ASSERT_EQ(walk.row, q / g) << "groups " << g << ", item " << q;
          ASSERT_EQ(walk.col, q % g) << "groups " << g << ", item " << q;
          ASSERT_EQ(walk.at(1000, 4), q / g * 1000 + q % g * 4);
        }
      }
}

TEST(TaskTable, FastConversionsAreTheirStepLists) {
  using S = layout::Step;
  const double k = 0.0078125 * 3; // an f32 value
  struct Case {
    DType from, to;
    std::vector<S> steps;
    FastCast want;
  } cases[] = {
      {DType::F32, DType::BF16, {{S::Cast, DType::F32, DType::BF16, 1, 0}}, kF32ToBF16},
      {DType::BF16, DType::F32, {{S::Cast, DType::BF16, DType::F32, 1, 0}}, kBF16ToF32},
      {DType::F32, DType::F16, {{S::Cast, DType::F32, DType::F16, 1, 0}}, kF32ToF16},
      {DType::F16, DType::F32, {{S::Cast, DType::F16, DType::F32, 1, 0}}, kF16ToF32},
      {DType::F8E4M3FN, DType::BF16,
       {{S::Cast, DType::F8E4M3FN, DType::BF16, 1, 0},
        {S::Affine, DType::BF16, DType::BF16, k, 0}},
       kE4M3ToBF16},
      {DType::F8E4M3FN, DType::F32,
       {{S::Cast, DType::F8E4M3FN, DType::F32, 1, 0},
        {S::Affine, DType::F32, DType::F32, k, 0}},
       kE4M3ToF32},
      {DType::BF16, DType::F8E4M3FN,
       {{S::Cast, DType::BF16, DType::F32, 1, 0},
        {S::Affine, DType::F32, DType::F32, k, 0},
        {S::Cast, DType::F32, DType::F8E4M3FN, 1, 0}},
       kBF16ToE4M3},
      {DType::F32, DType::F8E4M3FN,
       {{S::Affine, DType::F32, DType::F32, k, 0},
        {S::Cast, DType::F32, DType::F8E4M3FN, 1, 0}},
       kF32ToE4M3},
      // Not fast: an offset, a factor that is no f32, a cast to f16 then.
      {DType::F8E4M3FN, DType::BF16,
       {{S::Cast, DType::F8E4M3FN, DType::BF16, 1, 0},
        {S::Affine, DType::BF16, DType::BF16, k, 1}},
       kNotFast},
      {DType::F32, DType::F8E4M3FN,
       {{S::Affine, DType::F32, DType::F32, 0.1, 0},
        {S::Cast, DType::F32, DType::F8E4M3FN, 1, 0}},
       kNotFast},
  };
  for (const Case &c : cases) {
    // 300 rows of 128: 4800 or 9600 items, a block's 2048 not dividing.
    Plan plan = convertPlan(300, 128, c.from, c.to, c.steps);
    TaskTable table;
    std::string error;
    ASSERT_TRUE(buildTaskTable(plan, table, error)) << error;
    chooseWords(table, {256}, {256});
    ASSERT_EQ(table.tasks.size(), 1u);
    const Task &t = table.tasks[0];
    ASSERT_EQ(fastCast(t), c.want) << layout::safetensorsName(c.from) << " -> " << layout::safetensorsName(c.to);
    if (c.want == kNotFast)
      continue;
    // The descriptors name the task's own steps ...
    std::vector<FlatConvert> blocks;
    for (const Unit &u : table.units)
      appendFlatConverts(t, u, 0x1000, 0x100000, blocks);
    StepCode steps[kMaxSteps];
    const int n = fastCastSteps(c.want, blocks[0].scale, steps);
    ASSERT_EQ(n, t.nsteps);
    for (int j = 0; j < n; ++j) {
      EXPECT_EQ(steps[j].kind, t.steps[j].kind);
      EXPECT_EQ(steps[j].from, t.steps[j].from);
      EXPECT_EQ(steps[j].to, t.steps[j].to);
      EXPECT_EQ(steps[j].scale, t.steps[j].scale);
      EXPECT_EQ(steps[j].offset, t.steps[j].offset);
    }
    // ... and cover every target byte once, a block at most
    // kConvertBlockItems items of one unit.
    const int64_t g = convertItemElements(t);
    std::vector<int> seen(300 * 128, 0);
    for (const FlatConvert &f : blocks) {
      EXPECT_EQ(f.first % kConvertBlockItems, 0u);
      EXPECT_LT(f.first, f.total);
      const uint32_t end = static_cast<uint32_t>(
          std::min<int64_t>(f.total, f.first + kConvertBlockItems));
      for (uint32_t q = f.first; q < end; ++q) {
        const uint64_t byte = f.dst - 0x100000 +
                              uint64_t(q / f.groups) * f.dstStride +
                              uint64_t(q % f.groups) * g * t.dstSize;
        ASSERT_EQ(byte % (g * t.dstSize), 0u);
        for (int64_t e = 0; e < g; ++e)
          ++seen[byte / t.dstSize + e];
      }
    }
    EXPECT_TRUE(std::all_of(seen.begin(), seen.end(),
                            [](int x) { return x == 1; }));
  }
}

/// The bf16 target of `plan` as the host emulation of its table writes it,
/// from a source holding its own element indices.
std::vector<uint16_t> hostRun(const Plan &plan, const TaskTable &table) {
  std::vector<std::vector<uint16_t>> src;
  std::vector<const uint8_t *> in;
  for (const auto &s : plan.sources) {
    int64_t n = 1;
    for (int64_t d : s.shape)
      n *= d;
    src.emplace_back(n);
    for (int64_t i = 0; i < n; ++i)
      src.back()[i] = static_cast<uint16_t>(i % 60000);
    in.push_back(reinterpret_cast<const uint8_t *>(src.back().data()));
  }
  std::vector<uint16_t> dst(plan.targets[0].shape[0] * plan.targets[0].shape[1],
                            0xFFFF);
  runTableOnHost(table, in, {reinterpret_cast<uint8_t *>(dst.data())});
  return dst;
}

TEST(TaskTable, CopiesFuseThePaddingOfTheirRows) {
  // [300, 64] bf16: 40 values a row from a [300, 43] source, then 24 of
  // padding (0xBEEF), as MaxText's w13 pads each expert row.
  Plan plan = rowsPlan(300, 40, 43, 64);
  plan.pieces[1].fillBits = 0xBEEF;
  auto expected = [&](int64_t r, int64_t c) -> uint16_t {
    return c < 40 ? static_cast<uint16_t>(r * 43 + c) : 0xBEEF;
  };
  for (bool fuse : {true, false}) {
    TableOptions options;
    if (!fuse)
      options.fuseRowTailsBelowBytes = 0;
    TaskTable table;
    std::string error;
    ASSERT_TRUE(buildTaskTable(plan, table, error, options)) << error;
    ASSERT_EQ(table.tasks.size(), fuse ? 1u : 2u);
    EXPECT_EQ(table.tasks[0].tail, fuse ? 24 : 0);
    for (int c : coverage(table, 300 * 64))
      ASSERT_EQ(c, 1);
    std::vector<uint16_t> out = hostRun(plan, table);
    for (int64_t r = 0; r < 300; ++r)
      for (int64_t c = 0; c < 64; ++c)
        ASSERT_EQ(out[r * 64 + c], expected(r, c)) << r << ", " << c;
  }
  // Copy rows of 1 KiB and more stay apart (fuseRowTailsBelowBytes), and
  // so do paddings of 512 bytes and more (fast on their own).
  Plan wide = rowsPlan(4, 512, 512, 520);
  TaskTable table;
  std::string error;
  ASSERT_TRUE(buildTaskTable(wide, table, error)) << error;
  EXPECT_EQ(table.tasks.size(), 2u);
  Plan longPad = rowsPlan(4, 40, 40, 40 + 256);
  ASSERT_TRUE(buildTaskTable(longPad, table, error)) << error;
  EXPECT_EQ(table.tasks.size(), 2u);
  longPad = rowsPlan(4, 40, 40, 40 + 255);
  ASSERT_TRUE(buildTaskTable(longPad, table, error)) << error;
  EXPECT_EQ(table.tasks.size(), 1u);
}

TEST(TaskTable, PaddingOfOtherRowsDoesNotFuse) {
  // The copy writes 40 values of each of 8 rows; the padding after them
  // is two fills, of the even rows and of the odd ones. The even rows'
  // fill starts where the copy's first row ends, but pads only half its
  // rows: neither fill may fuse.
  Plan plan = rowsPlan(8, 40, 40, 64);
  plan.pieces.pop_back();
  for (int64_t odd : {0, 1}) {
    Piece f;
    f.source = -1;
    f.target = 0;
    f.shape = {4, 24};
    f.dstOffset = 40 + odd * 64;
    f.dstStrides = {128, 1};
    f.srcStrides = {0, 0};
    f.fillBits = 0x1234;
    plan.pieces.push_back(f);
  }
  TaskTable table;
  std::string error;
  ASSERT_TRUE(buildTaskTable(plan, table, error)) << error;
  ASSERT_EQ(table.tasks.size(), 3u);
  EXPECT_EQ(table.tasks[0].tail, 0);
  for (int c : coverage(table, 8 * 64))
    ASSERT_EQ(c, 1);
  std::vector<uint16_t> out = hostRun(plan, table);
  for (int64_t r = 0; r < 8; ++r)
    for (int64_t c = 0; c < 64; ++c)
      ASSERT_EQ(out[r * 64 + c], c < 40 ? r * 40 + c : 0x1234)
          << r << ", " << c;
}

} // namespace

// A scale grid as block FP8's quantizing plan fills it, an element a piece
// with its own value (an f32 [5, 7], and its transpose written through a
// column stride): every unit is an element fill, and its FlatFill names the
// element's own byte and value, which the host emulation writes as
// fillElements does.
TEST(TaskTable, OneElementFillsAreFlatFills) {
  for (bool columns : {false, true}) {
    Plan plan;
    plan.targets.push_back({"grid", DType::F32, {5, 7}});
    for (int64_t r = 0; r < 5; ++r)
      for (int64_t c = 0; c < 7; ++c) {
        Piece p;
        p.target = 0;
        p.fillBits = 0x3f800000u + static_cast<uint64_t>(r * 7 + c);
        p.shape = {1, 1};
        p.dstOffset = columns ? c * 5 + r : r * 7 + c;
        p.dstStrides = columns ? layout::Shape{1, 5} : layout::Shape{7, 1};
        p.srcStrides = {0, 0};
        plan.pieces.push_back(p);
      }
    TaskTable table;
    std::string error;
    ASSERT_TRUE(buildTaskTable(plan, table, error)) << error;
    ASSERT_EQ(table.units.size(), 35u);
    std::vector<uint32_t> want(35), got(35, 0);
    for (const Piece &p : plan.pieces)
      want[p.dstOffset] = static_cast<uint32_t>(p.fillBits);
    const uint64_t base = 0x10000;
    std::vector<int> seen(35, 0);
    for (const Unit &u : table.units) {
      const Task &t = table.tasks[u.task];
      ASSERT_TRUE(isElementFill(t, u));
      const FlatFill f = flatFill(t, u, base);
      ASSERT_EQ(f.size, 4u);
      ASSERT_EQ((f.dst - base) % 4, 0u);
      const uint64_t e = (f.dst - base) / 4;
      ASSERT_LT(e, 35u);
      ++seen[e];
      EXPECT_EQ(f.bits, want[e]) << "element " << e;
    }
    EXPECT_TRUE(std::all_of(seen.begin(), seen.end(),
                            [](int x) { return x == 1; }));
    runTableOnHost(table, {}, {reinterpret_cast<uint8_t *>(got.data())});
    EXPECT_EQ(got, want);
  }
  // A strided fill (every other element from the second: kFill) of one
  // element more than a unit of 64 KiB holds: its last unit is its element
  // 16384, target element 32769.
  {
    Plan plan;
    plan.targets.push_back({"t", DType::F32, {32770}});
    Piece p;
    p.target = 0;
    p.fillBits = 0x40490fdbu;
    p.shape = {16385};
    p.dstOffset = 1;
    p.dstStrides = {2};
    p.srcStrides = {0};
    plan.pieces.push_back(p);
    TaskTable table;
    std::string error;
    ASSERT_TRUE(buildTaskTable(plan, table, error)) << error;
    ASSERT_EQ(table.tasks.size(), 1u);
    ASSERT_EQ(table.tasks[0].kind, kFill);
    ASSERT_EQ(table.units.size(), 2u);
    EXPECT_FALSE(isElementFill(table.tasks[0], table.units[0]));
    ASSERT_TRUE(isElementFill(table.tasks[0], table.units[1]));
    const FlatFill f = flatFill(table.tasks[0], table.units[1], 0x10000);
    EXPECT_EQ(f.dst, 0x10000u + 32769 * 4);
    EXPECT_EQ(f.bits, 0x40490fdbu);
  }
  // A fill of two elements, or a row of them, is not an element fill.
  Task t;
  t.kind = kFillRows;
  EXPECT_FALSE(isElementFill(t, {0, 0, 0, 1, 0, 2}));
  EXPECT_FALSE(isElementFill(t, {0, 0, 0, 2, 0, 1}));
  t.kind = kFill;
  EXPECT_FALSE(isElementFill(t, {0, 0, 3, 5, 0, 0}));
  t.kind = kCopyRows;
  EXPECT_FALSE(isElementFill(t, {0, 0, 0, 1, 0, 1}));
}
