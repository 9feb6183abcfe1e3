//===- InterpreterTest.cpp - the reference interpreter, op by op ----------===//
//
// The interpreter is the oracle of the property test (unittests/Transforms),
// so it is checked here on its own: small functions of each op family, run
// on sources whose elements encode their own index, against expectations
// computed from the op definitions in docs/dialect-ops.md with plain loops.
//
//===----------------------------------------------------------------------===//
#include "wl/Interpreter/Interpreter.h"
#include "wl/IR/WLDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace mlir;
using wl::interp::Tensor;

namespace {

struct Fixture {
  MLIRContext context;
  OwningOpRef<ModuleOp> module;
  explicit Fixture(const char *ir) {
    context.loadDialect<wl::WLDialect, func::FuncDialect>();
    module = parseSourceString<ModuleOp>(ir, &context);
  }
  func::FuncOp fn() {
    return module ? *module->getOps<func::FuncOp>().begin() : func::FuncOp();
  }
};

/// A source of i32 elements 0, 1, 2, ... (each encodes its flat index).
Tensor iota(MLIRContext &ctx, std::vector<int64_t> shape) {
  Tensor t;
  t.elementType = IntegerType::get(&ctx, 32);
  t.shape = shape;
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  for (int64_t i = 0; i < n; ++i)
    t.bits.push_back(static_cast<uint64_t>(i));
  return t;
}

uint64_t f32Bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

TEST(Interpreter, SlicingPermuteReshapeConcatAndPlacedSinks) {
  Fixture f(R"(
    func.func @f() {
      %a = wl.source "a" : tensor<4x6xi32>
      %s = wl.slice %a offsets [1, 0] sizes [2, 3] strides [2, 2] : tensor<4x6xi32> -> tensor<2x3xi32>
      wl.sink %s "slice" : tensor<2x3xi32>
      %t = wl.permute %a perm [1, 0] : tensor<4x6xi32> -> tensor<6x4xi32>
      wl.sink %t "permute" : tensor<6x4xi32>
      %r = wl.reshape %a : tensor<4x6xi32> -> tensor<3x8xi32>
      wl.sink %r "reshape" : tensor<3x8xi32>
      %c = wl.concat %a, %s dim 0 : (tensor<4x6xi32>, tensor<2x3xi32>) -> tensor<6x6xi32>
      return
    })");
  // A concat of operands that disagree outside `dim` does not verify.
  EXPECT_FALSE(f.module);

  Fixture g(R"(
    func.func @f() {
      %a = wl.source "a" : tensor<4x6xi32>
      %s = wl.slice %a offsets [1, 0] sizes [2, 3] strides [2, 2] : tensor<4x6xi32> -> tensor<2x3xi32>
      wl.sink %s "slice" : tensor<2x3xi32>
      %t = wl.permute %a perm [1, 0] : tensor<4x6xi32> -> tensor<6x4xi32>
      wl.sink %t "permute" : tensor<6x4xi32>
      %r = wl.reshape %a : tensor<4x6xi32> -> tensor<3x8xi32>
      wl.sink %r "reshape" : tensor<3x8xi32>
      %c = wl.concat %a, %a dim 1 : (tensor<4x6xi32>, tensor<4x6xi32>) -> tensor<4x12xi32>
      wl.sink %c "concat" : tensor<4x12xi32>
      wl.sink %a "placed" at [2, 0] of [6, 7] : tensor<4x6xi32>
      return
    })");
  ASSERT_TRUE(g.module);
  auto out = wl::interp::interpret(g.fn(), {{"a", iota(g.context, {4, 6})}});
  ASSERT_TRUE(succeeded(out));
  const auto &o = *out;
  // slice: result[i][j] = a[1 + 2i][2j]
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      EXPECT_EQ(o.at("slice").bits[i * 3 + j], uint64_t((1 + 2 * i) * 6 + 2 * j));
  // permute: result[i][j] = a[j][i]
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 4; ++j)
      EXPECT_EQ(o.at("permute").bits[i * 4 + j], uint64_t(j * 6 + i));
  // reshape: the same row-major elements
  EXPECT_EQ(o.at("reshape").shape, (std::vector<int64_t>{3, 8}));
  for (int k = 0; k < 24; ++k)
    EXPECT_EQ(o.at("reshape").bits[k], uint64_t(k));
  // concat on dim 1: [a | a]
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 12; ++j)
      EXPECT_EQ(o.at("concat").bits[i * 12 + j], uint64_t(i * 6 + j % 6));
  // placed: rows 2..5, columns 0..5 of a 6x7 target; the rest stays zero
  const Tensor &p = o.at("placed");
  EXPECT_EQ(p.shape, (std::vector<int64_t>{6, 7}));
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 7; ++j) {
      bool inside = i >= 2 && j < 6;
      EXPECT_EQ(p.bits[i * 7 + j], inside ? uint64_t((i - 2) * 6 + j) : 0u)
          << i << "," << j;
    }
}

TEST(Interpreter, InterleaveDeinterleaveShardAndPad) {
  Fixture f(R"(
    func.func @f() {
      %q = wl.source "q" : tensor<8x2xi32>
      %k = wl.source "k" : tensor<4x2xi32>
      %i = wl.interleave %q, %k dim 0 groups 2 : (tensor<8x2xi32>, tensor<4x2xi32>) -> tensor<12x2xi32>
      wl.sink %i "interleaved" : tensor<12x2xi32>
      %d:2 = wl.deinterleave %i dim 0 groups 2 sizes [8, 4] : tensor<12x2xi32> -> tensor<8x2xi32>, tensor<4x2xi32>
      wl.sink %d#0 "q_again" : tensor<8x2xi32>
      wl.sink %d#1 "k_again" : tensor<4x2xi32>
      %s = wl.shard %q dim 0 count 4 index 3 : tensor<8x2xi32> -> tensor<2x2xi32>
      wl.sink %s "shard" : tensor<2x2xi32>
      %p = wl.pad %k dim 1 low 1 high 2 value -7 : i32 : tensor<4x2xi32> -> tensor<4x5xi32>
      wl.sink %p "pad" : tensor<4x5xi32>
      return
    })");
  ASSERT_TRUE(f.module);
  Tensor q = iota(f.context, {8, 2}), k = iota(f.context, {4, 2});
  for (uint64_t &b : k.bits)
    b += 100; // k's elements apart from q's
  auto out = wl::interp::interpret(f.fn(), {{"q", q}, {"k", k}});
  ASSERT_TRUE(succeeded(out));
  const auto &o = *out;
  // groups of rows: q[0:4], k[0:2], q[4:8], k[2:4]
  std::vector<uint64_t> want;
  for (int g = 0; g < 2; ++g) {
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 2; ++c)
        want.push_back(q.bits[(g * 4 + r) * 2 + c]);
    for (int r = 0; r < 2; ++r)
      for (int c = 0; c < 2; ++c)
        want.push_back(k.bits[(g * 2 + r) * 2 + c]);
  }
  EXPECT_EQ(o.at("interleaved").bits, want);
  EXPECT_EQ(o.at("q_again").bits, q.bits);
  EXPECT_EQ(o.at("k_again").bits, k.bits);
  // shard 3 of 4 along rows: rows 6 and 7
  EXPECT_EQ(o.at("shard").bits,
            (std::vector<uint64_t>{12, 13, 14, 15}));
  // pad: one column of -7 before, two after, as i32 bits
  const uint64_t m7 = 0xFFFFFFF9u;
  for (int r = 0; r < 4; ++r)
    EXPECT_EQ(std::vector<uint64_t>(o.at("pad").bits.begin() + r * 5,
                                    o.at("pad").bits.begin() + r * 5 + 5),
              (std::vector<uint64_t>{m7, k.bits[r * 2], k.bits[r * 2 + 1], m7,
                                     m7}));
}

TEST(Interpreter, CastsAndAffines) {
  Fixture f(R"(
    func.func @f() {
      %i = wl.source "i" : tensor<4xi16>
      %w = wl.cast %i : tensor<4xi16> -> tensor<4xi32>
      wl.sink %w "widened" : tensor<4xi32>
      %u = wl.cast %i : tensor<4xi16> -> tensor<4xui32>
      wl.sink %u "unsigned" : tensor<4xui32>
      %b = wl.source "b" : tensor<3xbf16>
      %x = wl.cast %b : tensor<3xbf16> -> tensor<3xf32>
      wl.sink %x "f32" : tensor<3xf32>
      %y = wl.affine %x scale 0.5 offset 0.25 : tensor<3xf32>
      wl.sink %y "affine" : tensor<3xf32>
      return
    })");
  ASSERT_TRUE(f.module);
  Tensor i;
  i.elementType = IntegerType::get(&f.context, 16);
  i.shape = {4};
  i.bits = {0x0001, 0x7FFF, 0x8000, 0xFFFF}; // 1, 32767, -32768, -1
  Tensor b;
  b.elementType = FloatType::getBF16(&f.context);
  b.shape = {3};
  float vals[3] = {1.5f, -2.0f, 1048576.0f}; // each exact in bf16
  for (float v : vals)
    b.bits.push_back(f32Bits(v) >> 16);
  auto out = wl::interp::interpret(f.fn(), {{"i", i}, {"b", b}});
  ASSERT_TRUE(succeeded(out));
  const auto &o = *out;
  // i16 -> i32 extends the sign; i16 -> ui32 too (then read as unsigned)
  std::vector<uint64_t> sext = {1, 32767, 0xFFFF8000u, 0xFFFFFFFFu};
  EXPECT_EQ(o.at("widened").bits, sext);
  EXPECT_EQ(o.at("unsigned").bits, sext);
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(o.at("f32").bits[k], f32Bits(vals[k]));
    EXPECT_EQ(o.at("affine").bits[k], f32Bits(vals[k] * 0.5f + 0.25f));
  }
}

TEST(Interpreter, AMissingOrMistypedSourceFails) {
  Fixture f(R"(
    func.func @f() {
      %a = wl.source "a" : tensor<2xi32>
      wl.sink %a "b" : tensor<2xi32>
      return
    })");
  ASSERT_TRUE(f.module);
  // Errors go to the op's location; keep them out of the test's output.
  ScopedDiagnosticHandler quiet(&f.context, [](Diagnostic &) {
    return success();
  });
  EXPECT_TRUE(failed(wl::interp::interpret(f.fn(), {})));
  EXPECT_TRUE(failed(
      wl::interp::interpret(f.fn(), {{"a", iota(f.context, {3})}})));
  EXPECT_TRUE(succeeded(
      wl::interp::interpret(f.fn(), {{"a", iota(f.context, {2})}})));
}

} // namespace
