//===- copy_probe.cu - which plain copy kernel reaches cudaMemcpy? --------===//
//
//   copy_probe [MIB] [all|tiles|sizes]     (default 1024 all)
// A standalone experiment, not part of the executor (built with
// -DWL_BUILD_CUDA_EXPERIMENTS=ON; docs/history/cuda-tuning.md): the
// driver's copy at sizes from 16 MiB to MIB, one call and ten back to
// back; with `all`, a contiguous device copy of MIB MiB by kernels of
// several shapes beside cudaMemcpy of the same bytes (persistent
// grid-stride loops with cache hints, persistent blocks over chunks in
// turn, contiguous ranges a block, TMA bulk copies through shared-memory
// stages, and blocks of one 16-byte word a thread or more, as many as
// there are pieces), whether the driver's copy needs the SMs (issued beside
// a kernel that holds them all), cudaMemcpy2D at several row widths,
// cudaMemcpy in several calls, and 2-byte transposes of 5120 x 25600 by
// non-persistent blocks of register transposes; with both, the same
// transposes through a shared-memory tile a block, in several tile shapes
// and orders (the executor's transposeTiles without its task table).
// Each kernel's output is checked against its input. GB/s counts bytes
// read + written; median of 20 after 3 warm-ups, CUDA events around one
// launch.
//
//===----------------------------------------------------------------------===//
#include <cuda_runtime.h>

#include "ProbeTiming.cuh"
#include "SharedMemory.cuh" // lib/Cuda

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

// Hints: 0 plain, 1 streaming (ld.global.cs / st.global.cs), 2 loads that
// skip L1 (ld.global.nc.L1::no_allocate) with streaming stores, 3 loads
// asking L2 to fetch 256 bytes (ld.global.L2::256B), 4 both of 2's and 3's
// load hints, 5 L2::128B; plain stores with 3 to 5.
template <int H> __device__ __forceinline__ uint4 load(const uint4 *p) {
  if constexpr (H == 0)
    return *p;
  else if constexpr (H == 1)
    return __ldcs(p);
  else if constexpr (H == 2) {
    uint4 v;
    asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];"
                 : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
                 : "l"(p));
    return v;
  } else if constexpr (H == 3) {
    uint4 v;
    asm volatile("ld.global.L2::256B.v4.u32 {%0,%1,%2,%3}, [%4];"
                 : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
                 : "l"(p));
    return v;
  } else if constexpr (H == 4) {
    uint4 v;
    asm volatile(
        "ld.global.nc.L1::no_allocate.L2::256B.v4.u32 {%0,%1,%2,%3}, [%4];"
        : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
        : "l"(p));
    return v;
  } else {
    uint4 v;
    asm volatile("ld.global.L2::128B.v4.u32 {%0,%1,%2,%3}, [%4];"
                 : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
                 : "l"(p));
    return v;
  }
}
template <int H> __device__ __forceinline__ void store(uint4 *p, uint4 v) {
  if constexpr (H == 1 || H == 2)
    __stcs(p, v);
  else
    *p = v;
}

/// Grid-stride: thread t copies words t, t + T, ... U at a time (all U
/// loads, then all U stores), T the threads of the grid.
template <int U, int H>
__global__ void __launch_bounds__(256)
    gridStride(const uint4 *__restrict__ s, uint4 *__restrict__ d, int64_t n) {
  const int64_t T = int64_t(gridDim.x) * blockDim.x;
  int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  for (; i + (U - 1) * T < n; i += U * T) {
    uint4 v[U];
#pragma unroll
    for (int u = 0; u < U; ++u)
      v[u] = load<H>(s + i + u * T);
#pragma unroll
    for (int u = 0; u < U; ++u)
      store<H>(d + i + u * T, v[u]);
  }
  for (; i < n; i += T)
    store<H>(d + i, load<H>(s + i));
}

/// Chunks of C words: block b takes chunks b, b + grid, ... (the
/// executor's unit order); within a chunk 256 threads move U words each
/// per step.
template <int U, int H>
__global__ void __launch_bounds__(256)
    chunked(const uint4 *__restrict__ s, uint4 *__restrict__ d, int64_t n,
            int64_t C) {
  const int64_t chunks = (n + C - 1) / C;
  for (int64_t c = blockIdx.x; c < chunks; c += gridDim.x) {
    const int64_t b = c * C, e = min(n, b + C);
    int64_t i = b + threadIdx.x;
    for (; i + (U - 1) * 256 < e; i += U * 256) {
      uint4 v[U];
#pragma unroll
      for (int u = 0; u < U; ++u)
        v[u] = load<H>(s + i + u * 256);
#pragma unroll
      for (int u = 0; u < U; ++u)
        store<H>(d + i + u * 256, v[u]);
    }
    for (; i < e; i += 256)
      store<H>(d + i, load<H>(s + i));
  }
}

/// Contiguous ranges: block b copies words [b n / G, (b + 1) n / G), its
/// 256 threads U words each per step.
template <int U>
__global__ void __launch_bounds__(256)
    ranges(const uint4 *__restrict__ s, uint4 *__restrict__ d, int64_t n) {
  const int64_t b = n * blockIdx.x / gridDim.x,
                e = n * (blockIdx.x + 1) / gridDim.x;
  int64_t i = b + threadIdx.x;
  for (; i + (U - 1) * 256 < e; i += U * 256) {
    uint4 v[U];
#pragma unroll
    for (int u = 0; u < U; ++u)
      v[u] = s[i + u * 256];
#pragma unroll
    for (int u = 0; u < U; ++u)
      d[i + u * 256] = v[u];
  }
  for (; i < e; i += 256)
    d[i] = s[i];
}

/// The copy engine (TMA bulk copies), as the executor's former copyBulk but
/// over one contiguous range: chunks of STAGE bytes, chunk c to block c % grid,
/// one warp a block driving NS shared-memory stages (loads of the next
/// NS - 1 chunks in flight while a stage is stored).
template <int STAGE, int NS>
__global__ void __launch_bounds__(32)
    bulkCopy(const uint8_t *__restrict__ s, uint8_t *__restrict__ d,
             int64_t bytes) {
  extern __shared__ __align__(128) uint8_t buf[];
  __shared__ __align__(8) uint64_t full[NS];
  using wl::cuda_ptx::mbarrierWait;
  using wl::cuda_ptx::smemAddress;
  const int lane = threadIdx.x;
  if (lane == 0) {
    for (int k = 0; k < NS; ++k)
      asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" ::"r"(
          smemAddress(&full[k])));
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  }
  __syncwarp();
  const int64_t chunks = bytes / STAGE, step = gridDim.x;
  const int64_t mine =
      blockIdx.x < chunks ? (chunks - blockIdx.x + step - 1) / step : 0;
  auto chunk = [&](int64_t i) { return (blockIdx.x + i * step) * STAGE; };
  auto issue = [&](int64_t i) {
    const int k = static_cast<int>(i % NS);
    if (lane == 0) {
      const uint32_t bar = smemAddress(&full[k]);
      asm volatile(
          "{\n .reg .b64 st;\n"
          " mbarrier.arrive.expect_tx.shared::cta.b64 st, [%0], %1;\n}" ::"r"(
              bar),
          "r"(STAGE)
          : "memory");
      asm volatile(
          "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx"
          "::bytes [%0], [%1], %2, [%3];" ::"r"(smemAddress(buf + k * STAGE)),
          "l"(s + chunk(i)), "r"(STAGE), "r"(bar)
          : "memory");
    }
  };
  for (int64_t i = 0; i < NS && i < mine; ++i)
    issue(i);
  for (int64_t i = 0; i < mine; ++i) {
    const int k = static_cast<int>(i % NS);
    mbarrierWait(smemAddress(&full[k]), static_cast<uint32_t>((i / NS) & 1));
    if (lane == 0) {
      asm volatile(
          "cp.async.bulk.global.shared::cta.bulk_group [%0], [%1], %2;" ::"l"(
              d + chunk(i)),
          "r"(smemAddress(buf + k * STAGE)), "r"(STAGE)
          : "memory");
      asm volatile("cp.async.bulk.commit_group;" ::: "memory");
    }
    if (i >= 1 && i - 1 + NS < mine) {
      if (lane == 0)
        asm volatile("cp.async.bulk.wait_group.read 1;" ::: "memory");
      __syncwarp();
      issue(i - 1 + NS);
    }
  }
  if (lane == 0)
    asm volatile("cp.async.bulk.wait_group 0;" ::: "memory");
}

/// One chunk of T U words a block, T threads a block, as many blocks as
/// chunks (not persistent: the hardware hands out the blocks in order);
/// with DESC the block first reads the two pointers from memory (as the
/// executor's blocks read their unit's descriptor).
struct Ends2 {
  const uint4 *s;
  uint4 *d;
};
template <int T, int U, bool DESC>
__global__ void __launch_bounds__(T)
    flatT(const uint4 *__restrict__ s0, uint4 *__restrict__ d0, int64_t n,
          const Ends2 *ends) {
  const uint4 *s = s0;
  uint4 *d = d0;
  if constexpr (DESC) {
    s = ends->s;
    d = ends->d;
  }
  const int64_t b = int64_t(blockIdx.x) * T * U + threadIdx.x;
  uint4 v[U];
#pragma unroll
  for (int u = 0; u < U; ++u)
    if (b + u * T < n)
      v[u] = s[b + u * T];
#pragma unroll
  for (int u = 0; u < U; ++u)
    if (b + u * T < n)
      d[b + u * T] = v[u];
}

/// 8 x 8 2-byte elements transposed in registers: out[i] holds element i
/// of each of in[0..7].
__device__ __forceinline__ void transpose8x8(const uint4 (&in)[8],
                                             uint4 (&out)[8]) {
  auto word = [](const uint4 &v, int k) {
    return k == 0 ? v.x : k == 1 ? v.y : k == 2 ? v.z : v.w;
  };
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const unsigned sel = i % 2 ? 0x7632 : 0x5410;
    out[i].x = __byte_perm(word(in[0], i / 2), word(in[1], i / 2), sel);
    out[i].y = __byte_perm(word(in[2], i / 2), word(in[3], i / 2), sel);
    out[i].z = __byte_perm(word(in[4], i / 2), word(in[5], i / 2), sel);
    out[i].w = __byte_perm(word(in[6], i / 2), word(in[7], i / 2), sel);
  }
}

/// A 2-byte transpose, D[c][r] = S[r][c] (S: R x C), one tile of 8 TR rows
/// by 8 TC columns a block, as many blocks as tiles (not persistent).
/// Thread (tc, tr) loads the 8 x 8 block at rows r0 + 8 tr, columns
/// c0 + 8 tc (8 words of 16 bytes), transposes it in registers and stores
/// 8 words. ORDER 0: consecutive blocks along C; 1: along R.
template <int TC, int TR, int ORDER>
__global__ void __launch_bounds__(TC *TR)
    flatTranspose(const uint16_t *__restrict__ S, uint16_t *__restrict__ D,
                  int64_t R, int64_t C) {
  const int64_t tilesC = C / (8 * TC), tilesR = R / (8 * TR);
  const int64_t bc = ORDER == 0 ? blockIdx.x % tilesC : blockIdx.x / tilesR;
  const int64_t br = ORDER == 0 ? blockIdx.x / tilesC : blockIdx.x % tilesR;
  const int tc = threadIdx.x % TC, tr = threadIdx.x / TC;
  const int64_t r0 = br * 8 * TR + tr * 8, c0 = bc * 8 * TC + tc * 8;
  uint4 in[8], out[8];
#pragma unroll
  for (int j = 0; j < 8; ++j)
    in[j] = *reinterpret_cast<const uint4 *>(S + (r0 + j) * C + c0);
  transpose8x8(in, out);
#pragma unroll
  for (int j = 0; j < 8; ++j)
    *reinterpret_cast<uint4 *>(D + (c0 + j) * R + r0) = out[j];
}

/// A 2-byte transpose through a shared-memory tile, not persistent: block
/// b moves the tile of 8 TR source rows by 8 TC columns (TC x TR = 256
/// threads). Thread (tc, tr) loads the 8 x 8 block at rows r0 + 8 tr,
/// columns c0 + 8 tc, transposes it in registers and writes its 8 columns
/// into the tile (target row 8 tc + j, 16-byte chunk tr, the chunk index
/// XORed with (8 tc + j) / 8 % 8 so that a quarter warp's stores fall in
/// 8 different banks); after a barrier the block stores the tile's 8 TC
/// target rows of 16 TR bytes, each row by consecutive threads (whole
/// 128-byte lines on both sides, where the register kernel stored 16 TR
/// bytes a row from 8 threads apart). Block order: G tile-rows at a time
/// along C (G = 1: row-major; G = all tile-rows: column-major), the tiles
/// in flight a band of G tile-rows.
///   CHAIN: the block first reads its tile's corner from `corners` and the
/// matrices from `ends` (two dependent loads, as the executor reads a
/// unit, then its task and tensors, before its data).
///   ASYNC: the 8 rows go by cp.async into the tile's memory, are read
/// back by the thread that loaded them and transposed, then written into
/// the tile after a barrier (no registers held while the loads are in
/// flight); MB: blocks an SM the registers are bounded for.
struct Ends {
  const uint16_t *S;
  uint16_t *D;
};
template <int TC, int TR, bool CHAIN = false, bool ASYNC = false, int MB = 1>
__global__ void __launch_bounds__(256, MB)
    tileTranspose(const uint16_t *__restrict__ S, uint16_t *__restrict__ D,
                  int64_t R, int64_t C, int64_t G, const int2 *corners,
                  const Ends *ends) {
  static_assert(TC * TR == 256 && TR % 8 == 0, "a 256-thread tile");
  __shared__ uint4 tile[8 * TC * TR];
  int64_t r0, c0;
  if (CHAIN) {
    const int2 corner = corners[blockIdx.x];
    const Ends e = ends[corner.x & 1 ? 0 : 0];
    S = e.S;
    D = e.D;
    r0 = corner.x;
    c0 = corner.y;
  } else {
    const int64_t tilesC = C / (8 * TC), band = G * tilesC;
    const int64_t grp = blockIdx.x / band, within = blockIdx.x % band;
    const int64_t br = grp * G + within % G, bc = within / G;
    r0 = br * 8 * TR;
    c0 = bc * 8 * TC;
  }
  const int tc = threadIdx.x % TC, tr = threadIdx.x / TC;
  uint4 in[8], out[8];
  if (ASYNC) {
#pragma unroll
    for (int j = 0; j < 8; ++j)
      asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(
                       wl::cuda_ptx::smemAddress(&tile[j * 256 + threadIdx.x])),
                   "l"(S + (r0 + 8 * tr + j) * C + c0 + 8 * tc)
                   : "memory");
    asm volatile("cp.async.commit_group;" ::: "memory");
    asm volatile("cp.async.wait_group 0;" ::: "memory");
#pragma unroll
    for (int j = 0; j < 8; ++j)
      in[j] = tile[j * 256 + threadIdx.x];
    __syncthreads();
  } else {
#pragma unroll
    for (int j = 0; j < 8; ++j)
      in[j] = *reinterpret_cast<const uint4 *>(S + (r0 + 8 * tr + j) * C + c0 +
                                               8 * tc);
  }
  transpose8x8(in, out);
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    const int row = 8 * tc + j;
    tile[row * TR + (tr ^ (row / 8 % 8))] = out[j];
  }
  __syncthreads();
#pragma unroll
  for (int k = 0; k < 8; ++k) {
    const int q = k * 256 + threadIdx.x, row = q / TR, ch = q % TR;
    *reinterpret_cast<uint4 *>(D + (c0 + row) * R + r0 + 8 * ch) =
        tile[row * TR + (ch ^ (row / 8 % 8))];
  }
}

/// Keeps every SM full (all its threads) for about `ns` nanoseconds.
__global__ void __launch_bounds__(1024) spin(int64_t ns, int *sink) {
  const int64_t t0 = clock64();
  int64_t x = 0;
  while (clock64() - t0 < ns * 2) // ~2 GHz
    ++x;
  if (x == -1)
    *sink = 1;
}

__global__ void fillRandom(uint64_t *p, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    p[i] = (uint64_t(i) * 0x9E3779B97F4A7C15ull) ^ (uint64_t(i) >> 7);
}

} // namespace

int main(int argc, char **argv) {
  const int64_t mib = argc > 1 ? std::atoll(argv[1]) : 1024;
  // all: every experiment; tiles: the copy's size curve and the transposes.
  const std::string what = argc > 2 ? argv[2] : "all";
  if (what != "all" && what != "tiles" && what != "sizes") {
    std::fprintf(stderr, "usage: copy_probe [MIB] [all|tiles|sizes]\n");
    return 2;
  }
  const int64_t bytes = mib << 20, n = bytes / 16;
  cudaDeviceProp props;
  CHECK(cudaGetDeviceProperties(&props, 0));
  const int sms = props.multiProcessorCount;
  uint4 *s, *d;
  CHECK(cudaMalloc(&s, bytes));
  CHECK(cudaMalloc(&d, bytes));
  fillRandom<<<1024, 256>>>(reinterpret_cast<uint64_t *>(s), bytes / 8);
  CHECK(cudaDeviceSynchronize());
  std::vector<uint64_t> want(4096), got(4096);
  CHECK(cudaMemcpy(want.data(), reinterpret_cast<uint8_t *>(s) + bytes / 2,
                   32768, cudaMemcpyDeviceToHost));
  const double moved = 2.0 * bytes;
  const float copyMs = medianMs(
      [&] { CHECK(cudaMemcpyAsync(d, s, bytes, cudaMemcpyDeviceToDevice)); });
  const double copyGBs = moved / (copyMs * 1e-3) / 1e9;
  std::printf("%s, %d SMs; copies of %lld MiB\n", props.name, sms,
              (long long)mib);
  std::printf(
      "| variant | ms | GB/s | %% of cudaMemcpy |\n|---|---:|---:|---:|\n");
  std::printf("| cudaMemcpy D2D | %.3f | %.0f | 100 |\n", copyMs, copyGBs);
  auto row = [&](const char *name, int a, int b, int c, auto f) {
    CHECK(cudaMemset(d, 0, bytes));
    const float ms = medianMs(f);
    CHECK(cudaGetLastError());
    CHECK(cudaMemcpy(got.data(), reinterpret_cast<uint8_t *>(d) + bytes / 2,
                     32768, cudaMemcpyDeviceToHost));
    const double gbs = moved / (ms * 1e-3) / 1e9;
    std::printf("| %s %d %d %d | %.3f | %.0f | %.1f |%s\n", name, a, b, c, ms,
                gbs, 100.0 * gbs / copyGBs, got == want ? "" : " MISMATCH");
    std::fflush(stdout);
  };
  // gridStride U bps hint
  // bulkCopy: KiB a stage, stages, blocks an SM.
  auto bulk = [&](auto kernel, int stageKiB, int stages, int bps) {
    const int smem = stageKiB * stages * 1024;
    CHECK(cudaFuncSetAttribute(
        kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    int fit = 0;
    CHECK(
        cudaOccupancyMaxActiveBlocksPerMultiprocessor(&fit, kernel, 32, smem));
    if (fit < bps) {
      std::printf(
          "| bulkCopy %d KiB x %d stages, %d blocks/SM: only %d fit |\n",
          stageKiB, stages, bps, fit);
      return;
    }
    row("bulkCopy KiB,stages,blocks/SM", stageKiB, stages, bps, [&] {
      kernel<<<sms * bps, 32, smem>>>(reinterpret_cast<const uint8_t *>(s),
                                      reinterpret_cast<uint8_t *>(d), bytes);
    });
  };
  // The driver's copy at several sizes, one call and 10 back to back
  // between two events: what a single launch of a plan of that size can
  // reach against the 1 GiB rate.
  std::printf("| cudaMemcpy D2D of | one call ms | GB/s | %% of the full "
              "size's | 10 calls ms each | GB/s | %% |\n|---|---:|---:|---:|"
              "---:|---:|---:|\n");
  for (int64_t m = 16; m <= mib; m *= 2) {
    const int64_t b = m << 20;
    auto one = [&] {
      CHECK(cudaMemcpyAsync(d, s, b, cudaMemcpyDeviceToDevice));
    };
    const float ms1 = medianMs(one);
    const float ms10 = medianMs([&] {
                         for (int i = 0; i < 10; ++i)
                           one();
                       }) /
                       10;
    const double g1 = 2.0 * b / (ms1 * 1e-3) / 1e9,
                 g10 = 2.0 * b / (ms10 * 1e-3) / 1e9;
    std::printf("| %lld MiB | %.4f | %.0f | %.1f | %.4f | %.0f | %.1f |\n",
                (long long)m, ms1, g1, 100.0 * g1 / copyGBs, ms10, g10,
                100.0 * g10 / copyGBs);
  }
  std::fflush(stdout);
  if (what == "sizes") {
    // Non-persistent copy kernels against the driver's copy at the sizes
    // of the benchmark's one-layer plans: can one launch of ~100 MiB beat
    // cudaMemcpy of the same bytes?
    Ends2 *ends2;
    CHECK(cudaMalloc(&ends2, sizeof(Ends2)));
    const Ends2 he{s, d};
    CHECK(cudaMemcpy(ends2, &he, sizeof he, cudaMemcpyHostToDevice));
    std::printf(
        "| size MiB | kernel | one call GB/s | %% of 1 GiB copy | %% of "
        "same-size copy | 10 calls GB/s | %% of same-size 10 |\n"
        "|---:|---|---:|---:|---:|---:|---:|\n");
    for (int64_t m : {32, 64, 100, 128, 256, 1024}) {
      if (m > mib)
        continue;
      const int64_t b = m << 20, nw = b / 16;
      auto timeBoth = [&](auto f, float &one, float &ten) {
        one = medianMs(f);
        ten = medianMs([&] {
                for (int i = 0; i < 10; ++i)
                  f();
              }) /
              10;
      };
      float c1, c10;
      timeBoth(
          [&] { CHECK(cudaMemcpyAsync(d, s, b, cudaMemcpyDeviceToDevice)); },
          c1, c10);
      auto line = [&](const char *name, float ms1, float ms10) {
        const double g1 = 2.0 * b / (ms1 * 1e-3) / 1e9,
                     g10 = 2.0 * b / (ms10 * 1e-3) / 1e9;
        std::printf("| %lld | %s | %.0f | %.1f | %.1f | %.0f | %.1f |\n",
                    (long long)m, name, g1, 100.0 * g1 / copyGBs,
                    100.0 * c1 / ms1, g10, 100.0 * c10 / ms10);
        std::fflush(stdout);
      };
      line("cudaMemcpy", c1, c10);
      auto k = [&](const char *name, auto kernel, int t, int u) {
        const int64_t blocks = (nw + int64_t(t) * u - 1) / (int64_t(t) * u);
        CHECK(cudaMemset(d, 0, b));
        float k1, k10;
        timeBoth([&] { kernel<<<blocks, t>>>(s, d, nw, ends2); }, k1, k10);
        CHECK(cudaGetLastError());
        CHECK(cudaMemcpy(got.data(), reinterpret_cast<uint8_t *>(d) + bytes / 2,
                         32768, cudaMemcpyDeviceToHost));
        char full[96];
        std::snprintf(full, sizeof full, "%s%s", name,
                      m == mib && got != want ? " MISMATCH" : "");
        line(full, k1, k10);
      };
      k("T 256 U 1", flatT<256, 1, false>, 256, 1);
      k("T 256 U 2", flatT<256, 2, false>, 256, 2);
      k("T 256 U 4", flatT<256, 4, false>, 256, 4);
      k("T 256 U 8", flatT<256, 8, false>, 256, 8);
      k("T 512 U 1", flatT<512, 1, false>, 512, 1);
      k("T 1024 U 1", flatT<1024, 1, false>, 1024, 1);
      k("T 1024 U 2", flatT<1024, 2, false>, 1024, 2);
      k("T 256 U 1 desc", flatT<256, 1, true>, 256, 1);
      k("T 256 U 8 desc", flatT<256, 8, true>, 256, 8);
      k("T 1024 U 2 desc", flatT<1024, 2, true>, 1024, 2);
    }
    CHECK(cudaFree(ends2));
    return 0;
  }
  if (what == "all") {
    for (int u : {1, 2, 4, 8}) {
      const int64_t blocks = (n + 256 * u - 1) / (256 * u);
      row("flat U (blocks of 256 U words)", u, 0, 0, [&] {
        switch (u) {
        case 1:
          flatT<256, 1, false><<<blocks, 256>>>(s, d, n, nullptr);
          break;
        case 2:
          flatT<256, 2, false><<<blocks, 256>>>(s, d, n, nullptr);
          break;
        case 4:
          flatT<256, 4, false><<<blocks, 256>>>(s, d, n, nullptr);
          break;
        default:
          flatT<256, 8, false><<<blocks, 256>>>(s, d, n, nullptr);
        }
      });
    }
    bulk(bulkCopy<2 << 10, 4>, 2, 4, 16);
    bulk(bulkCopy<2 << 10, 8>, 2, 8, 12);
    bulk(bulkCopy<4 << 10, 2>, 4, 2, 16);
    bulk(bulkCopy<4 << 10, 4>, 4, 4, 12);
    bulk(bulkCopy<8 << 10, 4>, 8, 4, 6);
    bulk(bulkCopy<12 << 10, 4>, 12, 4, 4);
    bulk(bulkCopy<12 << 10, 4>, 12, 4, 2);
    bulk(bulkCopy<16 << 10, 4>, 16, 4, 3);
    bulk(bulkCopy<32 << 10, 3>, 32, 3, 2);
    bulk(bulkCopy<32 << 10, 6>, 32, 6, 1);
    bulk(bulkCopy<64 << 10, 3>, 64, 3, 1);
    bulk(bulkCopy<8 << 10, 8>, 8, 8, 3);
    bulk(bulkCopy<4 << 10, 8>, 4, 8, 6);
    bulk(bulkCopy<4 << 10, 4>, 4, 4, 8);
    for (int bps : {2, 4}) {
      const int grid = sms * bps;
      row("gridStride U,blocks/SM,hint", 8, bps, 3,
          [&] { gridStride<8, 3><<<grid, 256>>>(s, d, n); });
      row("gridStride U,blocks/SM,hint", 8, bps, 4,
          [&] { gridStride<8, 4><<<grid, 256>>>(s, d, n); });
      row("gridStride U,blocks/SM,hint", 8, bps, 5,
          [&] { gridStride<8, 5><<<grid, 256>>>(s, d, n); });
      row("chunked KiB,blocks/SM,hint", 64, bps, 3,
          [&] { chunked<8, 3><<<grid, 256>>>(s, d, n, 4096); });
    }
    for (int bps : {2, 4, 8}) {
      const int grid = sms * bps;
      row("gridStride U,blocks/SM,hint", 4, bps, 0,
          [&] { gridStride<4, 0><<<grid, 256>>>(s, d, n); });
      row("gridStride U,blocks/SM,hint", 8, bps, 0,
          [&] { gridStride<8, 0><<<grid, 256>>>(s, d, n); });
      row("gridStride U,blocks/SM,hint", 8, bps, 1,
          [&] { gridStride<8, 1><<<grid, 256>>>(s, d, n); });
      row("gridStride U,blocks/SM,hint", 8, bps, 2,
          [&] { gridStride<8, 2><<<grid, 256>>>(s, d, n); });
    }
    // chunked: KiB per chunk, blocks/SM, U=8
    for (int kib : {16, 64, 256})
      for (int bps : {4, 8}) {
        const int grid = sms * bps;
        const int64_t C = int64_t(kib) << 10 >> 4;
        row("chunked KiB,blocks/SM,hint", kib, bps, 0,
            [&] { chunked<8, 0><<<grid, 256>>>(s, d, n, C); });
        row("chunked KiB,blocks/SM,hint", kib, bps, 2,
            [&] { chunked<8, 2><<<grid, 256>>>(s, d, n, C); });
      }
    for (int bps : {1, 2, 4})
      for (int u : {4, 8}) {
        const int grid = sms * bps;
        row("ranges U,blocks/SM", u, bps, 0, [&] {
          if (u == 4)
            ranges<4><<<grid, 256>>>(s, d, n);
          else
            ranges<8><<<grid, 256>>>(s, d, n);
        });
      }
    // Does the driver's copy need the SMs? It is issued on a second stream
    // while every SM is held by a kernel that spins for 5 ms: a copy done by
    // a kernel waits for the SMs, one done by the copy engines does not.
    {
      cudaStream_t a, b;
      CHECK(cudaStreamCreateWithFlags(&a, cudaStreamNonBlocking));
      CHECK(cudaStreamCreateWithFlags(&b, cudaStreamNonBlocking));
      cudaEvent_t e0, e1, e2;
      CHECK(cudaEventCreate(&e0));
      CHECK(cudaEventCreate(&e1));
      CHECK(cudaEventCreate(&e2));
      int *sink;
      CHECK(cudaMalloc(&sink, 4));
      CHECK(cudaEventRecord(e0, a));
      spin<<<sms * 2, 1024, 0, a>>>(5000000, sink);
      CHECK(cudaEventRecord(e1, a));
      CHECK(cudaStreamWaitEvent(b, e0));
      CHECK(cudaMemcpyAsync(d, s, bytes, cudaMemcpyDeviceToDevice, b));
      CHECK(cudaEventRecord(e2, b));
      CHECK(cudaDeviceSynchronize());
      float spinMs, copyAfterMs;
      CHECK(cudaEventElapsedTime(&spinMs, e0, e1));
      CHECK(cudaEventElapsedTime(&copyAfterMs, e0, e2));
      std::printf(
          "spin kernel on every SM: %.3f ms; cudaMemcpy issued beside it "
          "ended %.3f ms after the spin began (%s)\n",
          spinMs, copyAfterMs,
          copyAfterMs < spinMs ? "during the spin: copy engines"
                               : "after the spin: it needs the SMs");
      CHECK(cudaFree(sink));
    }
    // The driver's strided copy: rows of W bytes, source and target pitches
    // P_s and P_d (one of them W), half the bytes of the contiguous copy
    // each side at pitch 2W (so both fit the buffers).
    std::printf(
        "| variant | ms | GB/s | %% of cudaMemcpy |\n|---|---:|---:|---:|\n");
    auto row2d = [&](int64_t w, int64_t sp, int64_t dp) {
      const int64_t h = bytes / std::max(sp, dp);
      const double m = 2.0 * w * h;
      const float ms = medianMs([&] {
        CHECK(cudaMemcpy2DAsync(d, dp, s, sp, w, h, cudaMemcpyDeviceToDevice));
      });
      const double gbs = m / (ms * 1e-3) / 1e9;
      std::printf(
          "| cudaMemcpy2D width %lld, pitches %lld -> %lld | %.3f | %.0f "
          "| %.1f |\n",
          (long long)w, (long long)sp, (long long)dp, ms, gbs,
          100.0 * gbs / copyGBs);
      std::fflush(stdout);
    };
    for (int64_t w : {384, 512, 1024, 4096, 10240}) {
      row2d(w, w, 2 * w);
      row2d(w, 2 * w, w);
    }
    row2d(10240, 10240, 81920); // a qkv rank's rows into a wider target
    // The driver's copy in several calls (the cost of a call).
    for (int parts : {8, 64}) {
      const int64_t each = bytes / parts;
      const float ms = medianMs([&] {
        for (int p = 0; p < parts; ++p)
          CHECK(cudaMemcpyAsync(reinterpret_cast<uint8_t *>(d) + p * each,
                                reinterpret_cast<uint8_t *>(s) + p * each, each,
                                cudaMemcpyDeviceToDevice));
      });
      const double gbs = moved / (ms * 1e-3) / 1e9;
      std::printf("| cudaMemcpy in %d calls | %.3f | %.0f | %.1f |\n", parts,
                  ms, gbs, 100.0 * gbs / copyGBs);
    }
  } // what == "all"
  // Transposes of a 5120 x 25600 bf16 matrix (the benchmark's), every
  // variant; then, with the tile kernel alone, matrices whose source rows
  // are a power of two bytes apart (64 KiB: MaxText's q kernel, read by
  // the attention plan) and of nearly the same shape with rows that are
  // not.
  const int64_t shapes[][2] = {
      {5120, 25600}, {2048, 32768}, {2048, 32640}, {4096, 4096}, {4096, 4224}};
  for (const auto &shape : shapes) {
    const int64_t R = shape[0], C = shape[1], elems = R * C;
    const bool every = R == 5120;
    const double tb = 4.0 * elems; // read + written
    const uint16_t *S = reinterpret_cast<const uint16_t *>(s);
    uint16_t *D = reinterpret_cast<uint16_t *>(d);
    std::vector<uint16_t> src(elems), dst(elems);
    CHECK(cudaMemcpy(src.data(), S, elems * 2, cudaMemcpyDeviceToHost));
    const float sameMs = medianMs([&] {
      CHECK(cudaMemcpyAsync(d, s, elems * 2, cudaMemcpyDeviceToDevice));
    });
    std::printf("transpose %lld x %lld bf16; cudaMemcpy of the same bytes: "
                "%.3f ms\n| variant | ms | GB/s | %% of 1 GiB cudaMemcpy | "
                "%% of same-size |\n|---|---:|---:|---:|---:|\n",
                (long long)R, (long long)C, sameMs);
    // One row of the table: run(blocks) launches the kernel over the tiles
    // of 8 tr rows by 8 tc columns.
    auto measure = [&](const char *name, int tc, int tr, auto run) {
      const int64_t blocks = (R / (8 * tr)) * (C / (8 * tc));
      CHECK(cudaMemset(d, 0, elems * 2));
      const float ms = medianMs([&] { run(blocks); });
      CHECK(cudaGetLastError());
      CHECK(cudaMemcpy(dst.data(), D, elems * 2, cudaMemcpyDeviceToHost));
      int64_t bad = 0;
      for (int64_t r = 0; r < R; r += 7)
        for (int64_t c = 0; c < C; c += 3)
          bad += dst[c * R + r] != src[r * C + c];
      const double gbs = tb / (ms * 1e-3) / 1e9;
      std::printf("| %s TC %d TR %d | %.3f | %.0f | %.1f | %.1f |%s\n", name,
                  tc, tr, ms, gbs, 100.0 * gbs / copyGBs, 100.0 * sameMs / ms,
                  bad ? " MISMATCH" : "");
      std::fflush(stdout);
    };
    auto trow = [&](const char *name, auto kernel, int tc, int tr) {
      measure(name, tc, tr,
              [&](int64_t blocks) { kernel<<<blocks, tc * tr>>>(S, D, R, C); });
    };
    if (what == "all" && every) {
      trow("flatTranspose along C", flatTranspose<8, 8, 0>, 8, 8);
      trow("flatTranspose along R", flatTranspose<8, 8, 1>, 8, 8);
      trow("flatTranspose along C", flatTranspose<4, 16, 0>, 4, 16);
      trow("flatTranspose along R", flatTranspose<4, 16, 1>, 4, 16);
      trow("flatTranspose along C", flatTranspose<8, 32, 0>, 8, 32);
      trow("flatTranspose along R", flatTranspose<8, 32, 1>, 8, 32);
      trow("flatTranspose along C", flatTranspose<16, 16, 0>, 16, 16);
      trow("flatTranspose along R", flatTranspose<16, 16, 1>, 16, 16);
      trow("flatTranspose along C", flatTranspose<8, 4, 0>, 8, 4);
      trow("flatTranspose along R", flatTranspose<8, 4, 1>, 8, 4);
      trow("flatTranspose along C", flatTranspose<4, 8, 0>, 4, 8);
      trow("flatTranspose along R", flatTranspose<4, 8, 1>, 4, 8);
    }
    // Through a shared-memory tile: TC, TR, bands of G tile-rows; the
    // chained ones read their corners (in the order of G) from memory.
    int2 *corners;
    Ends *ends;
    CHECK(cudaMalloc(&corners, sizeof(int2) * (R / 8) * (C / 8)));
    CHECK(cudaMalloc(&ends, sizeof(Ends)));
    const Ends hostEnds{S, D};
    CHECK(cudaMemcpy(ends, &hostEnds, sizeof hostEnds, cudaMemcpyHostToDevice));
    auto tile = [&](const char *what, auto kernel, int tc, int tr, int64_t g) {
      if (g == 0)
        g = R / (8 * tr); // every tile-row: column-major
      const int64_t tilesC = C / (8 * tc), band = g * tilesC,
                    blocks = (R / (8 * tr)) * tilesC;
      std::vector<int2> hc(blocks);
      for (int64_t b = 0; b < blocks; ++b) {
        const int64_t grp = b / band, within = b % band;
        hc[b] = make_int2(int((grp * g + within % g) * 8 * tr),
                          int(within / g * 8 * tc));
      }
      CHECK(cudaMemcpy(corners, hc.data(), sizeof(int2) * blocks,
                       cudaMemcpyHostToDevice));
      char name[96];
      std::snprintf(name, sizeof name, "tileTranspose %s G %lld", what,
                    (long long)g);
      measure(name, tc, tr, [&](int64_t blocks) {
        kernel<<<blocks, 256>>>(S, D, R, C, g, corners, ends);
      });
    };
    for (int64_t g : {1, 0}) {
      tile("", tileTranspose<16, 16>, 16, 16, g);
      if (!every)
        continue;
      tile("", tileTranspose<8, 32>, 8, 32, g);
      tile("chained", tileTranspose<8, 32, true>, 8, 32, g);
      tile("chained", tileTranspose<16, 16, true>, 16, 16, g);
      tile("async, 6 an SM", tileTranspose<8, 32, false, true, 6>, 8, 32, g);
      tile("async, 6 an SM", tileTranspose<16, 16, false, true, 6>, 16, 16, g);
      tile("chained async 6", tileTranspose<8, 32, true, true, 6>, 8, 32, g);
      tile("chained async 6", tileTranspose<16, 16, true, true, 6>, 16, 16, g);
    }
    if (every) {
      tile("", tileTranspose<32, 8>, 32, 8, 0);
      tile("", tileTranspose<16, 16>, 16, 16, 4);
      tile("", tileTranspose<16, 16>, 16, 16, 10);
    }
    CHECK(cudaFree(corners));
    CHECK(cudaFree(ends));
  }
  CHECK(cudaFree(s));
  CHECK(cudaFree(d));
  return 0;
}
