//===- CpuExecutorTest.cpp - run-time scaled pieces on the CPU executor ---===//
//
// Pieces with run-time scales (MXFP4 decoded by layout::decodeMxfp4) run by
// executePlan, clipped into small grains on two threads, must write what
// the reference executor (plan::execute) computes element by element:
// random slices of an MXFP4 tensor's logical [E, in, out], in its own
// orientation and transposed back to the blocks' [E, out, in], with odd
// starts and steps along the blocked axis.
//
//===----------------------------------------------------------------------===//
#include "wl/Layout/Mxfp4.h"
#include "wl/Plan/Plan.h"
#include "wl/Runtime/CpuExecutor.h"

#include <gtest/gtest.h>

#include <random>

using namespace wl;
using layout::DType;
using layout::Piece;
using layout::Plan;
using layout::Shape;

TEST(CpuExecutor, RuntimeScaledPiecesEqualTheReference) {
  std::mt19937 rng(11);
  const int64_t E = 3, R = 10, G = 4, I = G * 32;
  plan::Buffer blocks, scales;
  blocks.bytes.resize(E * R * G * 16);
  scales.bytes.resize(E * R * G);
  for (uint8_t &b : blocks.bytes)
    b = static_cast<uint8_t>(rng());
  for (uint8_t &s : scales.bytes)
    s = static_cast<uint8_t>(100 + rng() % 40);
  runtime::ThreadPool pool(2);
  for (int trial = 0; trial < 200; ++trial) {
    // Experts [e0, e0 + ne), inputs i0 + step * [0, ni), outputs [r0, r0 + nr).
    const int64_t e0 = rng() % E, ne = 1 + rng() % (E - e0);
    const int64_t step = 1 + rng() % 2 * (rng() % 2 ? 1 : 31);
    const int64_t i0 = rng() % 40,
                  ni = 1 + rng() % ((I - 1 - i0) / step + 1);
    const int64_t r0 = rng() % R, nr = 1 + rng() % (R - r0);
    const bool transposed = rng() % 2;
    Plan p;
    p.sources = {{"w", DType::BF16, {E, I, R}}};
    Piece q;
    q.target = 0;
    q.source = 0;
    q.srcOffset = (e0 * I + i0) * R + r0;
    if (transposed) { // [ne, nr, ni]
      p.targets = {{"t", DType::F32, {ne, nr, ni}}};
      q.shape = {ne, nr, ni};
      q.srcStrides = {I * R, 1, step * R};
    } else { // [ne, ni, nr]
      p.targets = {{"t", DType::F32, {ne, ni, nr}}};
      q.shape = {ne, ni, nr};
      q.srcStrides = {I * R, step * R, 1};
    }
    q.dstStrides = layout::rowMajorStrides(q.shape);
    q.steps = {{layout::Step::Cast, DType::BF16, DType::F32}};
    p.pieces = {q};
    std::string error;
    layout::decodeMxfp4(p, {{0, "w_blocks", "w_scales"}});
    ASSERT_TRUE(plan::validate(p, error)) << error;
    std::vector<plan::Buffer> want = plan::execute(p, {blocks, scales});
    std::vector<uint8_t> got(want[0].bytes.size(), 0xee);
    runtime::executePlan(p, {blocks.bytes.data(), scales.bytes.data()},
                         {got.data()}, pool, /*grainBytes=*/96);
    ASSERT_EQ(got, want[0].bytes)
        << "trial " << trial << ": experts " << e0 << "+" << ne << ", inputs "
        << i0 << " step " << step << " x" << ni << ", outputs " << r0 << "+"
        << nr << (transposed ? ", transposed" : "");
  }
}

// Transposes of every element size over boxes of random extents (the
// 2-byte ones through 8 x 8 register blocks and their scalar edges), with
// source rows longer than the box, odd offsets and steps along the rows
// (1; 2 and 3, tiled as strided sources; 9, beyond the tiles' stride, by
// element): what the reference executor writes.
TEST(CpuExecutor, TransposesEqualTheReference) {
  std::mt19937 rng(5);
  runtime::ThreadPool pool(2);
  const DType types[] = {DType::U8, DType::BF16, DType::F32, DType::F64};
  for (int trial = 0; trial < 600; ++trial) {
    const DType t = types[trial % 4];
    const int64_t K = 1 + rng() % 90, I = 1 + rng() % 90;
    const int64_t pad = rng() % 9, off = rng() % 7;
    const int64_t steps[] = {1, 1, 2, 3, 9};
    const int64_t step = steps[rng() % 5];
    Plan p;
    // source [I, rowLen], read [I, K] at off every step elements
    const int64_t rowLen = (K - 1) * step + 1 + pad;
    p.sources = {{"s", t, {I * rowLen + off}}};
    p.targets = {{"t", t, {K, I}}};
    Piece q;
    q.target = 0;
    q.source = 0;
    q.srcOffset = off;
    q.shape = {K, I};
    q.dstStrides = {I, 1};
    q.srcStrides = {step, rowLen};
    p.pieces = {q};
    std::string error;
    ASSERT_TRUE(plan::validate(p, error)) << error;
    plan::Buffer src;
    src.bytes.resize((I * rowLen + off) * layout::dtypeSize(t));
    for (uint8_t &b : src.bytes)
      b = static_cast<uint8_t>(rng());
    std::vector<plan::Buffer> want = plan::execute(p, {src});
    std::vector<uint8_t> got(want[0].bytes.size(), 0xee);
    runtime::executePlan(p, {src.bytes.data()}, {got.data()}, pool,
                         /*grainBytes=*/rng() % 2 ? 96 : 1 << 20);
    ASSERT_EQ(got, want[0].bytes)
        << "trial " << trial << ": " << K << " x " << I << " pad " << pad
        << " step " << step;
  }
}
