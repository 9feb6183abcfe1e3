//===- tma_transpose_probe.cu - is a TMA transpose faster than ours? -------===//
//
//   tma_transpose_probe [ROWS COLS]     (bf16, default 5120 x 25600)
// A standalone experiment, not part of the executor: a 2-byte transpose
// whose tiles of 64 x 64 elements come in and go out through the tensor
// memory accelerator (cp.async.bulk.tensor with 128-byte swizzle, loads
// NS tiles ahead), transposed in shared memory by ldmatrix.trans /
// stmatrix (conflict-free on both sides under the swizzle). Prints, beside
// a cudaMemcpy of 1 GiB and of the same bytes, the GB/s (bytes read +
// written) of each variant (stages x tile order), after checking its
// output against a naive transpose byte for byte.
//
//===----------------------------------------------------------------------===//
#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_runtime.h>

#include "ProbeTiming.cuh"
#include "SharedMemory.cuh" // lib/Cuda

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

constexpr int kTile = 64;                     // elements a side
constexpr int kTileBytes = kTile * kTile * 2; // 8 KiB

using wl::cuda_ptx::mbarrierWait;
using wl::cuda_ptx::smemAddress;

// Tile order: ORDER 0, k fastest along whole rows of tiles; 1, i fastest;
// otherwise super-tiles of SI x SK tiles (k fastest inside), so that the
// tiles in flight at once read and write segments of SK and SI tiles.
template <int NS, int ORDER, int SI = 1, int SK = 1>
__global__ void __launch_bounds__(128)
    tmaTranspose(const __grid_constant__ CUtensorMap src,
                 const __grid_constant__ CUtensorMap dst, int tilesI,
                 int tilesK) {
  extern __shared__ uint8_t raw[];
  __shared__ __align__(8) uint64_t full[NS];
  uint8_t *base = reinterpret_cast<uint8_t *>(
      (reinterpret_cast<uintptr_t>(raw) + 1023) & ~uintptr_t(1023));
  uint8_t *in = base, *out = base + NS * kTileBytes;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int ntiles = tilesI * tilesK;
  const int count = blockIdx.x < ntiles
                        ? (ntiles - blockIdx.x + gridDim.x - 1) / gridDim.x
                        : 0;
  auto coords = [&](int j, int &ti, int &tk) {
    const int t = blockIdx.x + j * gridDim.x;
    if (ORDER == 0) {
      tk = t % tilesK;
      ti = t / tilesK;
    } else if (ORDER == 1) {
      ti = t % tilesI;
      tk = t / tilesI;
    } else {
      const int b = t / (SI * tilesK), h = min(SI, tilesI - b * SI);
      const int r = t - b * SI * tilesK, st = r / (h * SK);
      const int q = r - st * h * SK, w = min(SK, tilesK - st * SK);
      ti = b * SI + q / w;
      tk = st * SK + q % w;
    }
  };
  auto load = [&](int j) {
    int ti, tk;
    coords(j, ti, tk);
    const int s = j % NS;
    const uint32_t bar = smemAddress(&full[s]);
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(
                     bar),
                 "r"(kTileBytes)
                 : "memory");
    asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::"
                 "complete_tx::bytes [%0], [%1, {%2, %3}], [%4];" ::"r"(
                     smemAddress(in + s * kTileBytes)),
                 "l"(reinterpret_cast<uint64_t>(&src)), "r"(tk * kTile),
                 "r"(ti * kTile), "r"(bar)
                 : "memory");
  };
  if (tid == 0) {
    for (int s = 0; s < NS; ++s)
      asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" ::"r"(
                       smemAddress(&full[s]))
                   : "memory");
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
    for (int j = 0; j < NS && j < count; ++j)
      load(j);
  }
  __syncthreads();
  for (int j = 0; j < count; ++j) {
    const int s = j % NS, ob = j & 1;
    const uint32_t bar = smemAddress(&full[s]);
    const uint32_t parity = (j / NS) & 1;
    mbarrierWait(bar, parity);
    const uint8_t *ti = in + s * kTileBytes;
    uint8_t *to = out + ob * kTileBytes;
    // Warp w: source row blocks 2w and 2w + 1, all 8 column chunks: four
    // ldmatrix.x4 of four 8 x 8 matrices each.
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      const int m = lane / 8, v = lane % 8;
      const int bi = 2 * warp + q / 2, bk = (q % 2) * 4 + m;
      const int r = bi * 8 + v;
      const uint32_t a = smemAddress(ti + r * 128 + ((bk ^ (r & 7)) << 4));
      uint32_t x0, x1, x2, x3;
      asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 "
                   "{%0, %1, %2, %3}, [%4];"
                   : "=r"(x0), "=r"(x1), "=r"(x2), "=r"(x3)
                   : "r"(a));
      const int k = bk * 8 + v;
      const uint32_t b = smemAddress(to + k * 128 + ((bi ^ (k & 7)) << 4));
      asm volatile("stmatrix.sync.aligned.m8n8.x4.shared.b16 [%0], "
                   "{%1, %2, %3, %4};" ::"r"(b),
                   "r"(x0), "r"(x1), "r"(x2), "r"(x3)
                   : "memory");
    }
    asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
    if (tid == 0) // the store of tile j - 1 has read its buffer
      asm volatile("cp.async.bulk.wait_group.read 0;" ::: "memory");
    __syncthreads();
    if (tid == 0) {
      int tI, tK;
      coords(j, tI, tK);
      asm volatile("cp.async.bulk.tensor.2d.global.shared::cta.bulk_group "
                   "[%0, {%1, %2}], [%3];" ::"l"(
                       reinterpret_cast<uint64_t>(&dst)),
                   "r"(tI * kTile), "r"(tK * kTile), "r"(smemAddress(to))
                   : "memory");
      asm volatile("cp.async.bulk.commit_group;" ::: "memory");
      if (j + NS < count)
        load(j + NS);
    }
  }
  if (tid == 0)
    asm volatile("cp.async.bulk.wait_group 0;" ::: "memory");
}

__global__ void naiveTranspose(const uint16_t *s, uint16_t *d, int64_t rows,
                               int64_t cols) {
  for (int64_t x = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
       x < rows * cols; x += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = x / cols, c = x % cols;
    d[c * rows + r] = s[x];
  }
}

__global__ void fillBits(uint16_t *p, int64_t n, uint32_t seed) {
  for (int64_t x = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; x < n;
       x += int64_t(gridDim.x) * blockDim.x) {
    uint32_t h = static_cast<uint32_t>(x) * 2654435761u ^ seed;
    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    p[x] = static_cast<uint16_t>(h ^ (x >> 16));
  }
}

PFN_cuTensorMapEncodeTiled_v12000 encodeTiled() {
  void *fn = nullptr;
  cudaDriverEntryPointQueryResult q;
  CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000,
                                         cudaEnableDefault, &q));
  if (!fn || q != cudaDriverEntryPointSuccess) {
    std::fprintf(stderr, "no cuTensorMapEncodeTiled\n");
    std::exit(1);
  }
  return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(fn);
}

CUtensorMap map2d(void *p, uint64_t inner, uint64_t outer) {
  CUtensorMap m;
  cuuint64_t dims[2] = {inner, outer};
  cuuint64_t strides[1] = {inner * 2};
  cuuint32_t box[2] = {kTile, kTile}, es[2] = {1, 1};
  CUresult r = encodeTiled()(
      &m, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 2, p, dims, strides, box, es,
      CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
      CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) {
    std::fprintf(stderr, "cuTensorMapEncodeTiled failed: %d\n", int(r));
    std::exit(1);
  }
  return m;
}

int gSms, gTilesI, gTilesK;
CUtensorMap gSrc, gDst;

template <int NS, int ORDER, int SI = 1, int SK = 1>
void run(const char *name, double bytes, double copyGBs, const uint16_t *ref,
         uint16_t *d, size_t n) {
  auto k = tmaTranspose<NS, ORDER, SI, SK>;
  const int smem = (NS + 2) * kTileBytes + 1024;
  CHECK(cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             smem));
  int perSM = 0;
  CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSM, k, 128, smem));
  const int grid = perSM * gSms;
  CHECK(cudaMemset(d, 0xff, n * 2));
  k<<<grid, 128, smem>>>(gSrc, gDst, gTilesI, gTilesK);
  CHECK(cudaGetLastError());
  CHECK(cudaDeviceSynchronize());
  std::vector<uint16_t> a(1 << 20), b(1 << 20);
  size_t bad = 0;
  for (size_t off = 0; off < n; off += a.size()) {
    const size_t m = std::min(a.size(), n - off);
    CHECK(cudaMemcpy(a.data(), ref + off, m * 2, cudaMemcpyDeviceToHost));
    CHECK(cudaMemcpy(b.data(), d + off, m * 2, cudaMemcpyDeviceToHost));
    for (size_t x = 0; x < m; ++x)
      bad += a[x] != b[x];
  }
  const float ms =
      medianMs([&] { k<<<grid, 128, smem>>>(gSrc, gDst, gTilesI, gTilesK); });
  const double gbs = bytes / (ms * 1e-3) / 1e9;
  std::printf("| %s | %d x %d | %.3f | %.0f | %.0f | %s |\n", name, perSM,
              gSms, ms, gbs, 100 * gbs / copyGBs,
              bad ? "MISMATCH" : "equal");
}

} // namespace

int main(int argc, char **argv) {
  const int64_t rows = argc > 2 ? std::atoll(argv[1]) : 5120;
  const int64_t cols = argc > 2 ? std::atoll(argv[2]) : 25600;
  if (rows % kTile || cols % kTile) {
    std::fprintf(stderr, "ROWS and COLS must be multiples of %d\n", kTile);
    return 2;
  }
  const size_t n = size_t(rows) * cols;
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, 0));
  gSms = prop.multiProcessorCount;
  std::printf("device: %s; bf16 transpose %lld x %lld\n", prop.name,
              (long long)rows, (long long)cols);
  uint16_t *s, *d, *ref;
  void *c0, *c1;
  const size_t gib = size_t(1) << 30;
  CHECK(cudaMalloc(&s, n * 2));
  CHECK(cudaMalloc(&d, n * 2));
  CHECK(cudaMalloc(&ref, n * 2));
  CHECK(cudaMalloc(&c0, gib));
  CHECK(cudaMalloc(&c1, gib));
  CHECK(cudaMemset(c0, 1, gib));
  fillBits<<<1024, 256>>>(s, n, 12345);
  naiveTranspose<<<4096, 256>>>(s, ref, rows, cols);
  CHECK(cudaDeviceSynchronize());
  const float gibMs = medianMs(
      [&] { CHECK(cudaMemcpyAsync(c1, c0, gib, cudaMemcpyDeviceToDevice)); });
  const double copyGBs = 2.0 * gib / (gibMs * 1e-3) / 1e9;
  const float sameMs = medianMs([&] {
    CHECK(cudaMemcpyAsync(c1, c0, n * 2, cudaMemcpyDeviceToDevice));
  });
  const double bytes = 4.0 * n;
  std::printf("| case | blocks | ms | GB/s | %% of 1 GiB copy | output |\n"
              "|---|---|---:|---:|---:|---|\n");
  std::printf("| cudaMemcpy D2D 1 GiB | - | %.3f | %.0f | 100 | - |\n", gibMs,
              copyGBs);
  std::printf("| cudaMemcpy D2D same bytes | - | %.3f | %.0f | %.0f | - |\n",
              sameMs, bytes / (sameMs * 1e-3) / 1e9,
              100 * bytes / (sameMs * 1e-3) / 1e9 / copyGBs);
  gSrc = map2d(s, cols, rows);
  gDst = map2d(d, rows, cols);
  gTilesI = static_cast<int>(rows / kTile);
  gTilesK = static_cast<int>(cols / kTile);
  run<2, 0>("TMA, 2 stages, k fastest", bytes, copyGBs, ref, d, n);
  run<3, 0>("TMA, 3 stages, k fastest", bytes, copyGBs, ref, d, n);
  run<4, 0>("TMA, 4 stages, k fastest", bytes, copyGBs, ref, d, n);
  run<6, 0>("TMA, 6 stages, k fastest", bytes, copyGBs, ref, d, n);
  run<4, 1>("TMA, 4 stages, i fastest", bytes, copyGBs, ref, d, n);
  run<4, 2, 16, 16>("TMA, 4 stages, 16 x 16 super-tiles", bytes, copyGBs, ref,
                    d, n);
  run<4, 2, 8, 32>("TMA, 4 stages, 8 x 32 super-tiles", bytes, copyGBs, ref,
                   d, n);
  run<4, 2, 32, 8>("TMA, 4 stages, 32 x 8 super-tiles", bytes, copyGBs, ref, d,
                   n);
  run<4, 2, 24, 24>("TMA, 4 stages, 24 x 24 super-tiles", bytes, copyGBs, ref,
                    d, n);
  run<4, 2, 4, 64>("TMA, 4 stages, 4 x 64 super-tiles", bytes, copyGBs, ref,
                   d, n);
  run<6, 2, 16, 16>("TMA, 6 stages, 16 x 16 super-tiles", bytes, copyGBs, ref,
                    d, n);
  return 0;
}
