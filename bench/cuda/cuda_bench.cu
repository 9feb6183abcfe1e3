//===- cuda_bench.cu - the CUDA executor's bandwidth, beside cudaMemcpy ---===//
//
//   cuda_bench PLAN_DIR [--runs N] [--json OUT.json] [--queued]
// Times, on the current GPU, a 1 GiB device-to-device cudaMemcpy (the
// roofline) and every plan of PLAN_DIR (scripts/make_plans.py writes
// them) run by the CUDA executor: one launch per plan over all its pieces,
// sources filled with random bits on the device (those a plan quantizes to
// e4m3: values its factors keep within 448). Each figure is the median
// of N timed runs (CUDA events) after 3 warm-up runs. Bytes counted: every
// source element a piece reads plus every target byte written, as the
// issue's table counts them. Every plan's output is spot-checked: 4096
// random target elements against their source elements through the piece's
// steps (wl/Cuda/DeviceConvert.h on the host). --queued times every
// figure (the copies too) with the work already queued when the first event
// is reached, behind a 100 us spin kernel: the GPU's time alone, without
// the gap between the event and a launch the host is still issuing.
//
//===----------------------------------------------------------------------===//
#include "wl/Plan/Plan.h"
#include "wl/Cuda/CudaExecutor.h"
#include "wl/Cuda/CudaTasks.h"
#include "wl/Cuda/DeviceConvert.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace wl;

#define CHECK(x)                                                               \
  do {                                                                         \
    cudaError_t e_ = (x);                                                      \
    if (e_ != cudaSuccess) {                                                   \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x,           \
                   cudaGetErrorString(e_));                                    \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)

__global__ void fillRandom(uint64_t *p, size_t words, uint64_t seed) {
  for (size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < words;
       i += size_t(gridDim.x) * blockDim.x) {
    uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull ^ seed;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    p[i] = x ^ (x >> 31);
  }
}

void *deviceRandom(size_t bytes, uint64_t seed) {
  void *p = nullptr;
  size_t words = (bytes + 7) / 8;
  CHECK(cudaMalloc(&p, words * 8));
  fillRandom<<<1024, 256>>>(static_cast<uint64_t *>(p), words, seed);
  CHECK(cudaGetLastError());
  return p;
}

/// Rewrites `n` elements of random bits (bf16 when `bf16`, else f32) as
/// values of magnitude at most `bound` (the top fraction rounds up to it),
/// the sign and the fraction from the bits; bf16 keeps the top half of the
/// f32, a truncation, so never more.
__global__ void boundRandom(void *p, size_t n, bool bf16, float bound) {
  for (size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x) {
    uint32_t r = bf16 ? uint32_t(static_cast<uint16_t *>(p)[i]) << 16
                      : static_cast<uint32_t *>(p)[i];
    float v = bound * float(r & 0x7fffffffu) * 0x1p-31f;
    uint32_t b = __float_as_uint(v) | (r & 0x80000000u);
    if (bf16)
      static_cast<uint16_t *>(p)[i] = static_cast<uint16_t>(b >> 16);
    else
      static_cast<uint32_t *>(p)[i] = b;
  }
}

/// The largest factor by which a piece of `plan` quantizes source `s` to
/// e4m3 (an affine step followed by a cast to F8E4M3FN), 0 if none does.
double largestQuantizingFactor(const layout::Plan &plan, size_t s) {
  double most = 0;
  for (const layout::Piece &p : plan.pieces) {
    if (p.isFill() || p.source != static_cast<int64_t>(s) || p.steps.empty() ||
        p.steps.back().kind != layout::Step::Cast ||
        p.steps.back().to != layout::DType::F8E4M3FN)
      continue;
    for (const layout::Step &st : p.steps)
      if (st.kind == layout::Step::Affine)
        most = std::max(most, std::fabs(st.scale));
  }
  return most;
}

/// Spins one warp for `ns` nanoseconds of the GPU's clock.
__global__ void spin(unsigned long long ns) {
  unsigned long long t0, t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
  do
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  while (t - t0 < ns);
}

/// --queued: each timed run waits behind a spin kernel (see above).
bool queued = false;

/// The median over `runs` of the time of `each` calls of f between two
/// events, per call.
template <typename F> double medianMs(int runs, F f, int each = 1) {
  cudaEvent_t a, b;
  CHECK(cudaEventCreate(&a));
  CHECK(cudaEventCreate(&b));
  for (int i = 0; i < 3; ++i)
    f();
  CHECK(cudaDeviceSynchronize());
  std::vector<float> ms;
  for (int i = 0; i < runs; ++i) {
    if (queued)
      spin<<<1, 32>>>(100000);
    CHECK(cudaEventRecord(a));
    for (int k = 0; k < each; ++k)
      f();
    CHECK(cudaEventRecord(b));
    CHECK(cudaEventSynchronize(b));
    float t;
    CHECK(cudaEventElapsedTime(&t, a, b));
    ms.push_back(t / each);
  }
  CHECK(cudaEventDestroy(a));
  CHECK(cudaEventDestroy(b));
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

uint64_t fetch(const void *base, int64_t index, int size) {
  uint64_t v = 0;
  CHECK(cudaMemcpy(&v, static_cast<const uint8_t *>(base) + index * size, size,
                   cudaMemcpyDeviceToHost));
  return v;
}

/// 4096 random target elements against their sources. Returns the number
/// of mismatches.
int spotCheck(const layout::Plan &plan, const std::vector<const void *> &src,
              const std::vector<void *> &dst, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<const layout::Piece *> pieces;
  for (const layout::Piece &p : plan.pieces)
    if (p.numElements() > 0)
      pieces.push_back(&p);
  int bad = 0;
  for (int n = 0; n < 4096 && !pieces.empty(); ++n) {
    const layout::Piece &p = *pieces[rng() % pieces.size()];
    int64_t e = static_cast<int64_t>(rng() % p.numElements());
    const auto [d, s, sc] = layout::elementPositions(p, e);
    const bool scaled = p.hasRuntimeScale();
    int ts = layout::dtypeSize(plan.targets[p.target].dtype);
    uint64_t want;
    if (p.isFill()) {
      want = p.fillBits;
    } else {
      want = fetch(src[p.source], s,
                   layout::dtypeSize(plan.sources[p.source].dtype));
      uint64_t scaleBits =
          scaled ? fetch(src[p.scale.source], sc,
                         layout::dtypeSize(plan.sources[p.scale.source].dtype))
                 : 0;
      want = layout::applySteps(p.steps, want, scaleBits);
    }
    uint64_t mask = ts == 8 ? ~0ull : (1ull << (8 * ts)) - 1;
    if ((want & mask) != fetch(dst[p.target], d, ts))
      ++bad;
  }
  return bad;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(
        stderr, "usage: cuda_bench PLAN_DIR [--runs N] [--json FILE] "
                "[--units KIB,...] [--config KEY=VALUE,...] [--queued]\n"
                "  --config keys: units=KiB, tunits=KiB (transposes), "
                "tails=BYTES, tailfills=BYTES (fused padding; tails=0: off)\n");
    return 2;
  }
  std::string dir = argv[1], jsonOut;
  int runs = 20;
  // Rows of the table: the defaults, then each --config (comma-separated
  // units=KiB, tunits=KiB (transposes), tails=bytes and tailfills=bytes
  // (fuse a padding into the copy before it below these row sizes; tails=0:
  // never)) or --units size.
  struct Config {
    std::string label;
    runtime::cuda::TableOptions table;
  };
  std::vector<Config> configs = {{"", {}}};
  for (int i = 2; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--runs") && i + 1 < argc)
      runs = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--queued"))
      queued = true;
    else if (!std::strcmp(argv[i], "--json") && i + 1 < argc)
      jsonOut = argv[++i];
    else if (!std::strcmp(argv[i], "--units") && i + 1 < argc) {
      // Extra rows with other unit sizes (KiB), e.g. --units 16,64,256.
      std::stringstream list(argv[++i]);
      std::string item;
      while (std::getline(list, item, ',')) {
        Config c;
        c.table.unitBytes = std::atoll(item.c_str()) << 10;
        c.label = "units " + item + " KiB";
        configs.push_back(c);
      }
    } else if (!std::strcmp(argv[i], "--config") && i + 1 < argc) {
      Config c;
      c.label = argv[++i];
      std::stringstream list(c.label);
      std::string item;
      while (std::getline(list, item, ',')) {
        std::string key = item.substr(0, item.find('='));
        long long value = std::atoll(item.substr(item.find('=') + 1).c_str());
        if (key == "units")
          c.table.unitBytes = value << 10;
        else if (key == "tunits")
          c.table.transposeUnitBytes = value << 10;
        else if (key == "tails")
          c.table.fuseRowTailsBelowBytes = value;
        else if (key == "tailfills")
          c.table.fuseFillsBelowBytes = value;
        else {
          std::fprintf(stderr, "cuda_bench: bad --config item '%s'\n",
                       item.c_str());
          return 2;
        }
      }
      configs.push_back(c);
    }
  }
  std::string error;
  auto gpu = runtime::cuda::Executor::create(error);
  if (!gpu) {
    std::fprintf(stderr, "cuda_bench: %s\n", error.c_str());
    return 1;
  }
  std::printf("device: %s\n", gpu->describe().c_str());
  std::ostringstream json;
  json << "{\"device\": \"" << gpu->describe() << "\", \"cases\": [";

  // The roofline: a 1 GiB device-to-device copy (read + written bytes).
  const size_t gib = 1ull << 30;
  void *a = deviceRandom(gib, 1), *b = nullptr;
  CHECK(cudaMalloc(&b, gib));
  double copyMs = medianMs(runs, [&] {
    CHECK(cudaMemcpyAsync(b, a, gib, cudaMemcpyDeviceToDevice));
  });
  double copyGBs = 2.0 * gib / (copyMs * 1e-3) / 1e9;
  // How fast writes alone run beside the copy (paddings, the wider half of
  // a cast): a cudaMemset of 1 GiB, in written bytes per second.
  double setMs = medianMs(runs, [&] { CHECK(cudaMemsetAsync(b, 0x5A, gib)); });
  double setGBs = 1.0 * gib / (setMs * 1e-3) / 1e9;
  CHECK(cudaFree(a));
  CHECK(cudaFree(b));
  std::printf("\nEach: one launch between two events; back to back: 10 "
              "launches between two events%s. Same-size copy: cudaMemcpy D2D "
              "of the case's bytes moved, timed the same way.\n",
              queued ? " (queued behind a 100 us spin kernel before the first "
                       "event: the GPU's time alone)"
                     : "");
  std::printf("\n| case | MB moved | ms | GB/s | %% of 1 GiB copy | %% of "
              "same-size copy | back to back GB/s | %% of same-size copy back "
              "to back | units | spot check |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
  std::printf("| cudaMemcpy D2D, 1 GiB | %.1f | %.3f | %.0f | 100 | - | - | - | "
              "- | - |\n",
              2.0 * gib / 1e6, copyMs, copyGBs);
  std::printf("| cudaMemset, 1 GiB (written bytes only) | %.1f | %.3f | %.0f "
              "| %.0f | - | - | - | - | - |\n",
              1.0 * gib / 1e6, setMs, setGBs, 100.0 * setGBs / copyGBs);
  json << "{\"name\": \"d2d-copy-1GiB\", \"bytes\": " << 2.0 * gib
       << ", \"ms\": " << copyMs << "}";
  json << ", {\"name\": \"memset-1GiB\", \"bytes\": " << 1.0 * gib
       << ", \"ms\": " << setMs << "}";

  std::vector<std::string> files;
  for (auto &e : fs::directory_iterator(dir))
    if (e.path().extension() == ".json")
      files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  int failures = 0;
  for (const std::string &f : files) {
    std::ifstream in(f);
    std::stringstream text;
    text << in.rdbuf();
    auto plan = plan::fromJson(text.str(), error);
    if (!plan) {
      std::fprintf(stderr, "%s: %s\n", f.c_str(), error.c_str());
      return 2;
    }
    std::vector<const void *> src;
    std::vector<void *> dst, srcOwned;
    for (size_t s = 0; s < plan->sources.size(); ++s) {
      size_t bytes = *layout::numElements(plan->sources[s].shape) *
                     layout::dtypeSize(plan->sources[s].dtype);
      void *p = deviceRandom(bytes, 17 + s);
      // A source the plan quantizes holds values its factors keep within
      // 448, as a block quantized by its own amax does (random bits would
      // make most products NaN or above 448).
      const double factor = largestQuantizingFactor(*plan, s);
      const layout::DType dt = plan->sources[s].dtype;
      if (factor > 0 && (dt == layout::DType::BF16 || dt == layout::DType::F32)) {
        boundRandom<<<1024, 256>>>(p, bytes / layout::dtypeSize(dt),
                                   dt == layout::DType::BF16, float(448 / factor));
        CHECK(cudaGetLastError());
      }
      srcOwned.push_back(p);
      src.push_back(p);
    }
    for (const layout::TensorInfo &t : plan->targets) {
      void *p = nullptr;
      CHECK(cudaMalloc(&p, *layout::numElements(t.shape) *
                               layout::dtypeSize(t.dtype)));
      dst.push_back(p);
    }
    double moved = 0;
    for (const layout::Piece &p : plan->pieces) {
      moved += double(p.numElements()) *
               layout::dtypeSize(plan->targets[p.target].dtype);
      if (!p.isFill())
        moved += double(p.numElements()) *
                 layout::dtypeSize(plan->sources[p.source].dtype);
    }
    // The same bytes through cudaMemcpy (half read, half written).
    size_t half = static_cast<size_t>(moved / 2);
    void *ca = deviceRandom(half, 3), *cb = nullptr;
    CHECK(cudaMalloc(&cb, half));
    auto copy = [&] {
      CHECK(cudaMemcpyAsync(cb, ca, half, cudaMemcpyDeviceToDevice));
    };
    double sameMs = medianMs(runs, copy), sameB2bMs = medianMs(runs, copy, 10);
    CHECK(cudaFree(ca));
    CHECK(cudaFree(cb));
    for (const Config &config : configs) {
      runtime::cuda::TaskTable table;
      if (!runtime::cuda::buildTaskTable(*plan, table, error, config.table)) {
        std::fprintf(stderr, "%s: %s\n", f.c_str(), error.c_str());
        return 2;
      }
      for (size_t t = 0; t < dst.size(); ++t) // poisoned: unwritten bytes show
        CHECK(cudaMemset(dst[t], 0xA5,
                         *layout::numElements(plan->targets[t].shape) *
                             layout::dtypeSize(plan->targets[t].dtype)));
      if (!gpu->run(table, src, dst, nullptr, error) ||
          !gpu->synchronize(nullptr, error)) {
        std::fprintf(stderr, "%s: %s\n", f.c_str(), error.c_str());
        return 1;
      }
      int bad = spotCheck(*plan, src, dst, 99 + config.table.unitBytes);
      failures += bad != 0;
      auto launch = [&] {
        if (!gpu->launch(nullptr, error)) {
          std::fprintf(stderr, "%s\n", error.c_str());
          std::exit(1);
        }
      };
      double ms = medianMs(runs, launch), b2bMs = medianMs(runs, launch, 10);
      CHECK(cudaGetLastError());
      double gbs = moved / (ms * 1e-3) / 1e9;
      double b2b = moved / (b2bMs * 1e-3) / 1e9;
      std::string name = fs::path(f).stem().string();
      if (!config.label.empty())
        name += " (" + config.label + ")";
      std::printf("| %s | %.1f | %.3f | %.0f | %.0f | %.0f | %.0f | %.0f | %zu | "
                  "%s |\n",
                  name.c_str(), moved / 1e6, ms, gbs, 100.0 * gbs / copyGBs,
                  100.0 * sameMs / ms, b2b, 100.0 * sameB2bMs / b2bMs,
                  table.units.size(), bad ? "MISMATCH" : "ok");
      std::fflush(stdout);
      if (config.label.empty())
        json << ", {\"name\": \"" << name << "\", \"bytes\": " << moved
             << ", \"ms\": " << ms << ", \"back_to_back_ms\": " << b2bMs
             << ", \"same_size_copy_ms\": " << sameMs
             << ", \"same_size_copy_back_to_back_ms\": " << sameB2bMs << "}";
    }
    for (void *p : srcOwned)
      CHECK(cudaFree(p));
    for (void *p : dst)
      CHECK(cudaFree(p));
  }
  json << "]}\n";
  if (!jsonOut.empty())
    std::ofstream(jsonOut) << json.str();
  if (failures)
    std::printf("\n%d plan(s) failed the spot check\n", failures);
  return failures ? 1 : 0;
}
