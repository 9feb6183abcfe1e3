//===- weight-layout-cuda-check.cpp - the CUDA executor against the CPU ---===//
//
//   weight-layout-cuda-check [--random N] [--fp8 N] [--mxfp4 N] [--seed S]
//                            [PLAN.json | DIR ...]
// For random plans (N of them: strided, transposed, converted, padded,
// split pieces of every element size, built exact-once by construction),
// random block-FP8 plans (--fp8 N: dequantizing and quantizing, as
// wl/Layout/BlockScales.h builds them for weight-layout-convert), random
// MXFP4 plans (--mxfp4 N: pieces with run-time scales, wl/Layout/Mxfp4.h)
// and
// for every plan given (files, or the *.json of folders: e.g. the plans of
// every mapping spec at every degree), with random source bytes:
//   1. the CUDA task table emulated on the host (runTableOnHost, the
//      kernel's partition and index arithmetic) equals the reference
//      executor (plan::execute) byte for byte;
//   2. on a machine with a CUDA device, the kernel's output copied back
//      equals the CPU executor's byte for byte (skipped, with the reason,
//      where there is no device), and first the kernels' fast f16 <-> f32,
//      f32 -> bf16 and f32 -> e4m3 casts equal the exact ones on every
//      input (checkCastFastPaths).
// Exit 0 when everything matched; 1 on a mismatch (naming the plan, the
// target and the byte); 2 on bad input.
//
//===----------------------------------------------------------------------===//
#include "wl/Layout/BlockScales.h"
#include "wl/Layout/Mxfp4.h"
#include "wl/Plan/Plan.h"
#include "wl/Runtime/CpuExecutor.h"
#include "wl/Cuda/CudaExecutor.h"
#include "wl/Cuda/CudaTasks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>

namespace fs = std::filesystem;
using namespace wl;
using layout::DType;
using layout::Piece;
using layout::Plan;

namespace {

/// A random plan, exact-once by construction: each target is cut along its
/// first dimension into slabs, each slab read from a random box of a random
/// source through a random permutation of the dimensions (transposes),
/// possibly with a cast or an affine, or filled with a constant.
Plan randomPlan(std::mt19937_64 &rng) {
  auto pick = [&](int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(rng() % (hi - lo + 1));
  };
  const DType types[] = {DType::BF16, DType::F16,  DType::F32, DType::F64,
                         DType::I8,   DType::U8,   DType::I16, DType::I32,
                         DType::I64,  DType::U32};
  // A third of the plans have every size and offset a multiple of 16
  // elements, so that the word paths (16-byte rows, register transposes)
  // run, with extents of several blocks.
  const bool aligned = rng() % 3 == 0;
  const int64_t grain = aligned ? 16 : 1;
  Plan plan;
  int ntargets = static_cast<int>(pick(1, 4));
  for (int t = 0; t < ntargets; ++t) {
    int rank = static_cast<int>(pick(1, aligned ? 3 : 4));
    layout::Shape shape;
    for (int d = 0; d < rank; ++d)
      shape.push_back(aligned ? 16 * pick(1, rank <= 2 ? 12 : 1)
                              : pick(1, rank <= 2 ? 150 : 12));
    DType dt = types[rng() % 10];
    plan.targets.push_back({"t" + std::to_string(t), dt, shape});
    layout::Shape strides = layout::rowMajorStrides(shape);
    for (int64_t a = 0; a < shape[0];) {
      int64_t b = std::min(shape[0], a + pick(1, shape[0]));
      layout::Shape slab = shape;
      slab[0] = b - a;
      Piece p;
      p.target = t;
      p.shape = slab;
      p.dstOffset = a * strides[0];
      p.dstStrides = strides;
      int mode = static_cast<int>(rng() % 8);
      if (mode == 0) { // padding
        p.source = -1;
        p.fillBits = rng();
        p.srcStrides.assign(rank, 0);
      } else {
        // The source: the slab's dimensions permuted, inside a larger box.
        std::vector<int> perm(rank);
        std::iota(perm.begin(), perm.end(), 0);
        if (rng() % 2)
          std::shuffle(perm.begin(), perm.end(), rng);
        layout::Shape sshape(rank), start(rank);
        for (int d = 0; d < rank; ++d) {
          sshape[d] = slab[perm[d]] + grain * pick(0, rank <= 2 ? 3 : 1);
          start[d] = grain * pick(0, (sshape[d] - slab[perm[d]]) / grain);
        }
        DType st = dt;
        bool floatT = layout::isFloat(dt);
        if (mode >= 5 && floatT) { // a cast from another float type
          const DType floats[] = {DType::BF16, DType::F16, DType::F32,
                                  DType::F64};
          st = floats[rng() % 4];
          if (st != dt)
            p.steps.push_back({layout::Step::Cast, st, dt, 1.0, 0.0});
          if (mode == 7)
            p.steps.push_back({layout::Step::Affine, dt, dt,
                               rng() % 2 ? 1.0 : 0.5, rng() % 2 ? -1.0 : 0.25});
        } else if (mode >= 5) { // an integer cast
          const DType ints[] = {DType::I8, DType::I16, DType::I32, DType::I64,
                                DType::U8, DType::U32};
          st = ints[rng() % 6];
          if (st != dt)
            p.steps.push_back({layout::Step::Cast, st, dt, 1.0, 0.0});
        }
        p.source = static_cast<int64_t>(plan.sources.size());
        plan.sources.push_back(
            {"s" + std::to_string(plan.sources.size()), st, sshape});
        layout::Shape sst = layout::rowMajorStrides(sshape);
        p.srcStrides.assign(rank, 0);
        p.srcOffset = 0;
        for (int d = 0; d < rank; ++d) {
          p.srcStrides[perm[d]] = sst[d];
          p.srcOffset += start[d] * sst[d];
        }
      }
      // A third of the moves end their rows early, the rest of each row
      // padded (as MaxText's w13): the executor fuses such a fill into the
      // copy before it (CudaTasks.h, tail).
      const int64_t last = slab[rank - 1];
      if (mode != 0 && rank >= 2 && last > grain && rng() % 3 == 0) {
        const int64_t m = grain * pick(1, last / grain - 1);
        Piece f;
        f.source = -1;
        f.target = t;
        f.shape = slab;
        f.shape[rank - 1] = last - m;
        f.dstOffset = p.dstOffset + m;
        f.dstStrides = strides;
        f.fillBits = rng();
        f.srcStrides.assign(rank, 0);
        p.shape[rank - 1] = m;
        plan.pieces.push_back(std::move(f));
      }
      plan.pieces.push_back(std::move(p));
      a = b;
    }
  }
  return plan;
}

/// A random MXFP4 plan (wl/Layout/Mxfp4.h, pieces with run-time scales):
/// a slice of the logical [E, in, out] tensor of one pair (experts, an
/// input range with a step of 1, 2 or 32 from an odd or even start,
/// outputs), in its own orientation or transposed back to [E, out, in],
/// to bf16 or f32; the blocks' random codes and e8m0 scales (NaN's 255
/// and 2^-127's 0 among them) go to `sources`.
Plan randomMxfp4Plan(std::mt19937_64 &rng, std::vector<plan::Buffer> &sources) {
  auto pick = [&](int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(rng() % (hi - lo + 1));
  };
  const int64_t E = pick(1, 3), R = pick(1, 40), G = pick(1, 5), I = G * 32;
  const DType type = rng() % 2 ? DType::BF16 : DType::F32;
  const int64_t e0 = pick(0, E - 1), ne = pick(1, E - e0);
  const int64_t steps[] = {1, 2, 32};
  const int64_t step = steps[rng() % 3];
  const int64_t i0 = pick(0, std::min<int64_t>(I - 1, 40));
  const int64_t ni = pick(1, (I - 1 - i0) / step + 1);
  const int64_t r0 = pick(0, R - 1), nr = pick(1, R - r0);
  const bool transposed = rng() % 2;
  Plan plan;
  plan.sources = {{"w", type, {E, I, R}}};
  Piece q;
  q.target = 0;
  q.source = 0;
  q.srcOffset = (e0 * I + i0) * R + r0;
  q.shape = transposed ? layout::Shape{ne, nr, ni} : layout::Shape{ne, ni, nr};
  q.srcStrides = transposed ? layout::Shape{I * R, 1, step * R}
                            : layout::Shape{I * R, step * R, 1};
  q.dstStrides = layout::rowMajorStrides(q.shape);
  plan.targets = {{"t", type, q.shape}};
  plan.pieces = {q};
  layout::decodeMxfp4(plan, {{0, "w_blocks", "w_scales"}});
  sources.assign(2, {});
  sources[0].bytes.resize(E * R * G * 16);
  for (uint8_t &b : sources[0].bytes)
    b = static_cast<uint8_t>(rng());
  sources[1].bytes.resize(E * R * G);
  for (uint8_t &g : sources[1].bytes) {
    const int64_t k = pick(0, 20);
    g = static_cast<uint8_t>(k == 0 ? 255 : k == 1 ? 0 : pick(100, 150));
  }
  return plan;
}

/// A random block-FP8 plan (wl/Layout/BlockScales.h): a target [L, R, C]
/// tiled by whole blocks of two sources, at random block places, some
/// transposed; then dequantized (F8E4M3FN sources with random scales, to
/// bf16, f16 or f32) or quantized (finite bf16 or f32 sources, whose bytes
/// go to `sources`, to F8E4M3FN with a grid of fills).
Plan randomBlockFp8Plan(std::mt19937_64 &rng, uint64_t seed,
                        std::vector<plan::Buffer> &sources) {
  auto pick = [&](int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(rng() % (hi - lo + 1));
  };
  const int64_t b = rng() % 2 ? 16 : 32;
  const layout::BlockShape block{b, b};
  const bool quantize = rng() % 2;
  const DType types[] = {DType::BF16, DType::F16, DType::F32};
  const DType hi = quantize ? (rng() % 2 ? DType::BF16 : DType::F32)
                            : types[rng() % 3];
  const DType lo = DType::F8E4M3FN;
  const int64_t L = pick(1, 2), nR = pick(1, 6), nC = pick(1, 6);
  Plan plan;
  // Partial edge blocks where the target is quantized (the sources have
  // no blocks then).
  const bool edges = quantize && rng() % 2;
  plan.targets.push_back({"t", quantize ? lo : hi,
                          {L, nR * b - (edges ? pick(0, b - 1) : 0),
                           nC * b - (edges ? pick(0, b - 1) : 0)}});
  const layout::Shape ts = plan.targets[0].shape;
  for (int s = 0; s < 2; ++s)
    plan.sources.push_back({"s" + std::to_string(s), quantize ? hi : lo,
                            {L, (nR + pick(0, 3)) * b, (nC + pick(0, 3)) * b}});
  // One piece per block row of each layer: whole blocks, from one source.
  for (int64_t l = 0; l < L; ++l)
    for (int64_t i = 0; i < nR; ++i)
      for (int64_t j = 0; j < nC;) {
        int64_t w = std::min(nC - j, pick(1, 3));
        int64_t s = rng() % 2;
        const layout::Shape &ss = plan.sources[s].shape;
        int64_t h = std::min(b, ts[1] - i * b);
        int64_t cols = std::min(w * b, ts[2] - j * b);
        bool t = w == 1 && h == b && cols == b && rng() % 3 == 0;
        int64_t r0 = pick(0, ss[1] / b - 1) * b, c0 = pick(0, ss[2] / b - w) * b;
        Piece p;
        p.target = 0;
        p.source = s;
        p.shape = {h, cols};
        p.dstOffset = (l * ts[1] + i * b) * ts[2] + j * b;
        p.dstStrides = {ts[2], 1};
        p.srcOffset = (l * ss[1] + r0) * ss[2] + c0;
        p.srcStrides = t ? layout::Shape{1, ss[2]} : layout::Shape{ss[2], 1};
        plan.pieces.push_back(p);
        j += w;
      }
  layout::normalize(plan);
  std::string error;
  if (quantize) {
    // Finite values of every magnitude the blocks meet.
    sources.clear();
    for (const layout::TensorInfo &t : plan.sources) {
      plan::Buffer buf;
      int64_t n = *layout::numElements(t.shape);
      buf.bytes.resize(n * layout::dtypeSize(t.dtype));
      for (int64_t k = 0; k < n; ++k) {
        double v = std::ldexp((double)(int64_t)(rng() % 2001) - 1000.0,
                              (int)(rng() % 24) - 20);
        uint64_t bits = layout::bitsFromDouble(v, t.dtype);
        std::memcpy(&buf.bytes[k * layout::dtypeSize(t.dtype)], &bits,
                    layout::dtypeSize(t.dtype));
      }
      sources.push_back(std::move(buf));
    }
    std::optional<Plan> q = layout::quantizePlan(
        plan, {true}, block, lo,
        {sources[0].bytes.data(), sources[1].bytes.data()}, "_scale_inv",
        error);
    if (!q) {
      std::fprintf(stderr, "block FP8 plan, seed %llu: %s\n",
                   (unsigned long long)seed, error.c_str());
      std::exit(1);
    }
    return *q;
  }
  std::optional<layout::BlockMap> map =
      layout::mapBlocks(plan, {true, true}, block, error);
  if (!map) {
    std::fprintf(stderr, "block FP8 plan, seed %llu: %s\n",
                 (unsigned long long)seed, error.c_str());
    std::exit(1);
  }
  std::vector<std::vector<double>> scales(2);
  for (int s = 0; s < 2; ++s)
    for (int64_t k = 0;
         k < *layout::numElements(layout::scaleGridShape(plan.sources[s].shape, block));
         ++k)
      scales[s].push_back(std::ldexp(1.0 + (double)(rng() % 1000) / 1000.0,
                                     (int)(rng() % 30) - 20));
  sources.clear(); // random bytes: every e4m3 code, NaN included
  return layout::dequantizePlan(plan, *map, lo, scales);
}

std::vector<plan::Buffer> randomSources(const Plan &plan, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<plan::Buffer> out;
  for (const layout::TensorInfo &t : plan.sources) {
    plan::Buffer b;
    b.bytes.resize(*layout::numElements(t.shape) * layout::dtypeSize(t.dtype));
    for (uint8_t &x : b.bytes)
      x = static_cast<uint8_t>(rng());
    out.push_back(std::move(b));
  }
  return out;
}

struct Checker {
  std::unique_ptr<runtime::cuda::Executor> gpu;
  runtime::ThreadPool pool{2};
  int plans = 0, gpuPlans = 0;
  int64_t bytes = 0;
  int64_t kinds[7] = {0, 0, 0, 0, 0, 0, 0};
  int64_t wordTransposes = 0, wideRows = 0, multiRowUnits = 0,
          groupConverts = 0, fastConverts = 0, multiOuterTransposeUnits = 0,
          tailRows = 0;
  /// Bytes by which the device tensors sit past their allocations' starts
  /// (an address not aligned to the words, or to the element size).
  int misalign = 0;

  bool check(const Plan &plan, const std::string &name, uint64_t seed,
             const runtime::cuda::TableOptions &options = {},
             const std::vector<plan::Buffer> *given = nullptr) {
    std::string error;
    if (!plan::validate(plan, error)) {
      std::fprintf(stderr, "%s: invalid plan: %s\n", name.c_str(), error.c_str());
      return false;
    }
    std::vector<plan::Buffer> src = given ? *given : randomSources(plan, seed);
    std::vector<plan::Buffer> want = plan::execute(plan, src);
    runtime::cuda::TaskTable table;
    if (!runtime::cuda::buildTaskTable(plan, table, error, options)) {
      std::printf("%s: not for the CUDA executor: %s\n", name.c_str(), error.c_str());
      return true;
    }
    // Poisoned targets, so that an element nobody writes shows.
    std::vector<plan::Buffer> host(plan.targets.size());
    std::vector<const uint8_t *> in;
    std::vector<uint8_t *> out;
    for (const plan::Buffer &b : src)
      in.push_back(b.bytes.data());
    for (size_t t = 0; t < host.size(); ++t) {
      host[t].bytes.assign(want[t].bytes.size(), 0xA5);
      out.push_back(host[t].bytes.data());
    }
    // What the table exercises, with tensors at 256-byte-aligned addresses
    // (as cudaMalloc gives them): word sizes as the kernel would choose.
    // The host emulation runs with these words, so that aligned row units
    // go through FlatRows as in copyFlat.
    runtime::cuda::TaskTable probe = table;
    runtime::cuda::chooseWords(probe,
                               std::vector<uint64_t>(plan.sources.size(), 256),
                               std::vector<uint64_t>(plan.targets.size(), 256));
    {
      for (const runtime::cuda::Task &t : probe.tasks) {
        ++kinds[std::min(t.kind, 6)];
        if (t.kind == runtime::cuda::kConvertRows && t.vec == 16)
          ++groupConverts;
        if (runtime::cuda::fastCast(t) != runtime::cuda::kNotFast)
          ++fastConverts;
        if (t.kind == runtime::cuda::kTranspose && t.vec > 1)
          ++wordTransposes;
        if (t.kind == runtime::cuda::kCopyRows && t.vec == 16)
          ++wideRows;
        if (t.kind == runtime::cuda::kCopyRows && t.tail > 0)
          ++tailRows;
      }
      for (const runtime::cuda::Unit &u : probe.units) {
        const runtime::cuda::Task &t = probe.tasks[u.task];
        if ((t.kind == runtime::cuda::kCopyRows ||
             t.kind == runtime::cuda::kFillRows ||
             t.kind == runtime::cuda::kConvertRows) &&
            u.a1 - u.a0 > 1)
          ++multiRowUnits;
        if (t.kind == runtime::cuda::kTranspose &&
            runtime::cuda::transposeUnitOuters(t, u) > 1)
          ++multiOuterTransposeUnits;
      }
    }
    runtime::cuda::runTableOnHost(probe, in, out);
    if (!same(name + " (task table on the host)", plan, want, host))
      return false;
    ++plans;
    for (const plan::Buffer &b : want)
      bytes += static_cast<int64_t>(b.bytes.size());
    if (!gpu)
      return true;
    // The kernel against the CPU executor.
    std::vector<plan::Buffer> cpu(plan.targets.size());
    std::vector<uint8_t *> cpuOut;
    for (size_t t = 0; t < cpu.size(); ++t) {
      cpu[t].bytes.assign(want[t].bytes.size(), 0);
      cpuOut.push_back(cpu[t].bytes.data());
    }
    runtime::executePlan(plan, in, cpuOut, pool);
    std::vector<void *> dsrc, ddst, allocations;
    bool ok = true;
    auto place = [&](const void *bytes, size_t n) -> void * {
      void *p = gpu->allocate(n + misalign, error);
      if (!p)
        return nullptr;
      allocations.push_back(p);
      void *at = static_cast<uint8_t *>(p) + misalign;
      return gpu->copyToDevice(at, bytes, n, error) ? at : nullptr;
    };
    for (const plan::Buffer &b : src) {
      void *p = ok ? place(b.bytes.data(), b.bytes.size()) : nullptr;
      ok = ok && p;
      dsrc.push_back(p);
    }
    std::vector<uint8_t> poison;
    for (const plan::Buffer &b : cpu) {
      poison.assign(b.bytes.size(), 0x5A);
      void *p = ok ? place(poison.data(), poison.size()) : nullptr;
      ok = ok && p;
      ddst.push_back(p);
    }
    std::vector<const void *> csrc(dsrc.begin(), dsrc.end());
    // Every other plan as a small one (its copies and transposes in a
    // single launch of the general kernel), the others through copyFlat
    // and transposeTiles.
    gpu->setSmallPlanBytes(seed % 2 ? 1ll << 62 : 0);
    ok = ok && gpu->run(table, csrc, ddst, nullptr, error) &&
         gpu->synchronize(nullptr, error);
    std::vector<plan::Buffer> dev(cpu.size());
    for (size_t t = 0; ok && t < dev.size(); ++t) {
      dev[t].bytes.resize(cpu[t].bytes.size());
      ok = gpu->copyToHost(dev[t].bytes.data(), ddst[t], dev[t].bytes.size(),
                           error);
    }
    for (void *p : allocations)
      gpu->release(p);
    if (!ok) {
      std::fprintf(stderr, "%s: CUDA: %s\n", name.c_str(), error.c_str());
      return false;
    }
    ++gpuPlans;
    return same(name + " (GPU against the CPU executor)", plan, cpu, dev);
  }

  static bool same(const std::string &what, const Plan &plan,
                   const std::vector<plan::Buffer> &want,
                   const std::vector<plan::Buffer> &got) {
    for (size_t t = 0; t < want.size(); ++t) {
      if (want[t].bytes == got[t].bytes)
        continue;
      size_t k = 0;
      while (want[t].bytes[k] == got[t].bytes[k])
        ++k;
      std::fprintf(stderr, "%s: target '%s' differs at byte %zu of %zu\n",
                   what.c_str(), plan.targets[t].name.c_str(), k,
                   want[t].bytes.size());
      return false;
    }
    return true;
  }
};

/// --dump SEED: the random plan of one seed and its task table, for
/// debugging.
void dumpRandomPlan(uint64_t seed) {
  std::mt19937_64 rng(seed);
  Plan plan = randomPlan(rng);
  std::printf("%s\n", plan::toJson(plan).c_str());
  runtime::cuda::TaskTable table;
  std::string error;
  if (!runtime::cuda::buildTaskTable(plan, table, error))
    std::printf("%s\n", error.c_str());
  for (size_t k = 0; k < table.tasks.size(); ++k) {
    const runtime::cuda::Task &t = table.tasks[k];
    std::printf("task %zu: kind %d target %d source %d sizes %d->%d n %lld "
                "strides src %lld dst %lld offsets src %lld dst %lld "
                "outer %d k %lld dk %lld steps %d\n",
                k, t.kind, t.target, t.source, t.srcSize, t.dstSize,
                (long long)t.n, (long long)t.srcStride,
                (long long)t.dstStride, (long long)t.srcOffset,
                (long long)t.dstOffset, t.nouter, (long long)t.kExtent,
                (long long)t.dk, t.nsteps);
  }
}

/// Opens the GPU when there is one and checks the kernels' hardware casts
/// on every input; false after saying why the check cannot go on.
bool openDevice(Checker &c) {
  std::string why;
  if (runtime::cuda::deviceAvailable(why)) {
    c.gpu = runtime::cuda::Executor::create(why);
    if (!c.gpu) {
      std::fprintf(stderr, "weight-layout-cuda-check: %s\n", why.c_str());
      return false;
    }
    std::printf("device: %s\n", c.gpu->describe().c_str());
    std::string report;
    bool castsEqual = runtime::cuda::checkCastFastPaths(report);
    std::printf("%s\n", report.c_str());
    if (!castsEqual)
      return false;
  } else {
    std::printf("GPU comparison skipped: %s\n", why.c_str());
  }
  return true;
}

/// Rows copied with their padding fused, at addresses off the 16-byte words
/// by an element (2-byte words) and off the element size itself (byte by
/// byte): the word paths' fallbacks (on a GPU only).
bool checkMisalignedPaddedRows(Checker &c, uint64_t seed) {
  if (!c.gpu)
    return true;
  Plan padded;
  padded.sources.push_back({"s", DType::BF16, {300, 70}});
  padded.targets.push_back({"t", DType::BF16, {300, 100}});
  Piece copy;
  copy.source = 0;
  copy.target = 0;
  copy.shape = {300, 60};
  copy.srcStrides = {70, 1};
  copy.dstStrides = {100, 1};
  Piece pad;
  pad.source = -1;
  pad.target = 0;
  pad.shape = {300, 40};
  pad.dstOffset = 60;
  pad.dstStrides = {100, 1};
  pad.srcStrides = {0, 0};
  pad.fillBits = 0xBEEF;
  padded.pieces = {copy, pad};
  for (int off : {2, 1}) {
    c.misalign = off;
    if (!c.check(padded, "padded rows " + std::to_string(off) + " bytes off",
                 seed, {}))
      return false;
  }
  c.misalign = 0;
  return true;
}

/// The plans of `paths` (files, or folders of .json files), in name order,
/// each checked twice on a GPU; the number checked goes to `count`.
int checkPlanFiles(Checker &c, const std::vector<std::string> &paths,
                   uint64_t seed, size_t &count) {
  std::vector<std::string> files;
  for (const std::string &p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      for (auto &e : fs::directory_iterator(p, ec))
        if (e.path().extension() == ".json")
          files.push_back(e.path().string());
    } else {
      files.push_back(p);
    }
  }
  std::sort(files.begin(), files.end());
  for (const std::string &f : files) {
    std::ifstream in(f);
    std::stringstream text;
    text << in.rdbuf();
    std::string error;
    auto plan = plan::fromJson(text.str(), error);
    if (!in || !plan) {
      std::fprintf(stderr, "%s: %s\n", f.c_str(), error.c_str());
      return 2;
    }
    // Twice on a GPU (seeds of both parities): as a small plan, and
    // through copyFlat and transposeTiles.
    if (!c.check(*plan, f, seed) || (c.gpu && !c.check(*plan, f, seed + 1)))
      return 1;
  }
  count = files.size();
  return 0;
}

/// The closing lines: the kinds of tasks seen, and what was compared.
void printSummary(const Checker &c, int random, size_t files) {
  std::printf(
      "tasks: %lld row copies (%lld in 16-byte words, %lld with their "
      "padding fused), %lld transposes (%lld word-aligned), %lld converting "
      "rows (%lld in word groups, %lld of them fast), %lld strided "
      "conversions, %lld "
      "fills, %lld strided moves, %lld row fills; %lld units of "
      "several rows, %lld transpose units of several outer "
      "indices\n",
      (long long)c.kinds[0], (long long)c.wideRows, (long long)c.tailRows,
      (long long)c.kinds[1], (long long)c.wordTransposes, (long long)c.kinds[6],
      (long long)c.groupConverts, (long long)c.fastConverts,
      (long long)c.kinds[2], (long long)c.kinds[3],
      (long long)c.kinds[4], (long long)c.kinds[5], (long long)c.multiRowUnits,
      (long long)c.multiOuterTransposeUnits);
  std::printf("%d plans (%d random, %zu files), %lld target bytes: the task "
              "table equals the reference executor; %d compared on the GPU "
              "with the CPU executor: equal\n",
              c.plans, random, files, static_cast<long long>(c.bytes),
              c.gpuPlans);
}

} // namespace

int main(int argc, char **argv) {
  int random = 0, fp8 = 0, mxfp4 = 0;
  uint64_t seed = 1;
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--random" && i + 1 < argc)
      random = std::atoi(argv[++i]);
    else if (a == "--fp8" && i + 1 < argc)
      fp8 = std::atoi(argv[++i]);
    else if (a == "--mxfp4" && i + 1 < argc)
      mxfp4 = std::atoi(argv[++i]);
    else if (a == "--seed" && i + 1 < argc)
      seed = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--dump" && i + 1 < argc) {
      dumpRandomPlan(std::strtoull(argv[++i], nullptr, 10));
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "usage: weight-layout-cuda-check [--random N] "
                           "[--fp8 N] [--mxfp4 N] [--seed S] [--dump SEED] "
                           "[PLAN.json | DIR ...]\n");
      return 2;
    } else
      paths.push_back(a);
  }
  Checker c;
  if (!openDevice(c))
    return 1;
  for (int i = 0; i < random; ++i) {
    std::mt19937_64 rng(seed + i);
    Plan plan = randomPlan(rng);
    // Small units as well as the default ones (more unit boundaries).
    runtime::cuda::TableOptions options;
    if (i % 2) {
      options.unitBytes = 4 << 10;
      options.transposeUnitBytes = 4 << 10;
    }
    if (!c.check(plan, "random plan, seed " + std::to_string(seed + i),
                 seed + i, options))
      return 1;
  }
  // Block FP8: dequantizing and quantizing plans.
  for (int i = 0; i < fp8; ++i) {
    std::mt19937_64 rng(seed + i);
    std::vector<plan::Buffer> sources;
    Plan plan = randomBlockFp8Plan(rng, seed + i, sources);
    if (!c.check(plan, "block FP8 plan, seed " + std::to_string(seed + i),
                 seed + i, {}, sources.empty() ? nullptr : &sources))
      return 1;
  }
  // MXFP4: pieces with run-time scales.
  for (int i = 0; i < mxfp4; ++i) {
    std::mt19937_64 rng(seed + i);
    std::vector<plan::Buffer> sources;
    Plan plan = randomMxfp4Plan(rng, sources);
    if (!c.check(plan, "MXFP4 plan, seed " + std::to_string(seed + i),
                 seed + i, {}, &sources))
      return 1;
  }
  if (!checkMisalignedPaddedRows(c, seed))
    return 1;
  size_t files = 0;
  if (int code = checkPlanFiles(c, paths, seed, files))
    return code;
  printSummary(c, random, files);
  return 0;
}
