//===- TransposeKernel.cuh - tiled transposes ------------------*- CUDA -*-===//
//
// transposeTiles: aligned transposes as non-persistent blocks of one
// shared-memory tile each (docs/cuda.md).
//
//===----------------------------------------------------------------------===//
#ifndef WL_CUDA_TRANSPOSEKERNEL_CUH
#define WL_CUDA_TRANSPOSEKERNEL_CUH

#include "KernelCommon.cuh"

namespace wl::runtime::cuda::kernels {

//===----------------------------------------------------------------------===//
// Transposes through a shared-memory tile, a block a tile (not persistent)
//===----------------------------------------------------------------------===//
//
// Aligned transposes cut as copyFlat cuts rows: block b takes step p =
// b % parts (one iStep of i) of transpose unit b / parts, so that the
// hardware hands the tiles out in order, down the i of one strip of k
// before the next strip. Thread (kc, ic) loads its V x V block (V words
// along k: a warp reads 256 contiguous bytes of each of 2 source rows),
// transposes it in registers and writes its V columns into a tile of the
// strip's kStrip target rows, 16 words a row, the word index XORed with
// kc % 8 so that a quarter warp's stores fall in different banks; after
// one barrier the block stores the tile a row at a time, 16 consecutive
// words of a target row from 16 consecutive threads (whole 128-byte
// lines). Not persistent, for copyFlat's reason: the tiles in flight are
// neighbours in memory, where the blocks of a persistent transpose
// (per-thread cp.async stages, warp tiles, TMA tiles) drift apart
// (docs/cuda.md).

/// Bytes of a tile: kStrip rows of kThreads / threadsK words, the most
/// for 2-byte elements (32 KiB; 8 to 16 KiB for the other sizes).
constexpr int kTileBytes = transposeShape(2).kStrip *
                           (kThreads / kTransposeThreadsK) *
                           transposeShape(2).wordBytes;

template <int ES>
__device__ __forceinline__ void transposeTile(const FlatTranspose &f,
                                              uint32_t p, uint8_t *tile) {
  constexpr TransposeShape sh = transposeShape(ES);
  constexpr int V = sh.v, words = kThreads / sh.threadsK;
  using W = typename RowWord<sh.wordBytes>::T;
  using E = typename Word<ES>::T;
  static_assert(sh.kStrip * words * sizeof(W) <= kTileBytes, "tile fits");
  W *tw = reinterpret_cast<W *>(tile);
  const uint8_t *src = reinterpret_cast<const uint8_t *>(f.src);
  uint8_t *dst = reinterpret_cast<uint8_t *>(f.dst);
  const int64_t si = f.si, dk = f.dk;
  const uint32_t gp = f.b0 + p * sh.iStep;
  if (gp >= f.b1)
    return; // a smaller unit's extra block (the same for the whole block)
  // The V x V block of word w (= thread ic) of the step: its first source
  // row and target column at the strip's first k, and how many i it has
  // (0: none).
  struct Block {
    int64_t s, o;
    uint32_t vn;
  };
  auto block = [&](int w) {
    const uint32_t g = gp + w * V;
    if (g >= f.b1)
      return Block{0, 0, 0};
    if (!f.several)
      return Block{g * si, int64_t(g) * ES, f.b1 - g < V ? f.b1 - g : V};
    const uint32_t oo = g / f.n, i = g - oo * f.n;
    return Block{oo * f.os + i * si, oo * f.od + int64_t(i) * ES, V};
  };
  // Whether the block of thread (kc, w) is whole: V values of i and of k
  // (it goes through the tile), else it is moved element by element.
  auto whole = [&](const Block &b, int kc) {
    return b.vn == V && int64_t(f.kLeft) - kc * V >= V;
  };
  const int kc = threadIdx.x % sh.threadsK, ic = threadIdx.x / sh.threadsK;
  const int64_t kn = int64_t(f.kLeft) - kc * V; // k left from this thread's
  const Block b = block(ic);
  const uint8_t *s = src + b.s + kc * V * ES;
  if (whole(b, kc)) {
    W in[V];
#pragma unroll
    for (int v = 0; v < V; ++v)
      in[v] = *reinterpret_cast<const W *>(s + v * si);
#pragma unroll
    for (int c = 0; c < V; ++c)
      tw[(kc * V + c) * words + (ic ^ (kc % 8))] = column<ES>(in, c);
  } else if (b.vn > 0 && kn > 0) { // cut by the end of k or i
    uint8_t *o = dst + b.o + kc * V * dk;
    const int64_t cn = kn < V ? kn : V;
    for (int64_t c = 0; c < cn; ++c)
      for (uint32_t v = 0; v < b.vn; ++v)
        *reinterpret_cast<E *>(o + c * dk + v * ES) =
            *reinterpret_cast<const E *>(s + v * si + c * ES);
  }
  __syncthreads();
  // Word w of tile row r: target row k = a1 + r, from thread (r / V, w).
#pragma unroll
  for (int j = 0; j < V; ++j) {
    const int q = j * kThreads + threadIdx.x, r = q / words, w = q % words;
    const int g8 = r / V;
    const Block b = block(w);
    if (whole(b, g8))
      *reinterpret_cast<W *>(dst + b.o + r * dk) =
          tw[r * words + (w ^ (g8 % 8))];
  }
}

/// Block b moves step p = b % parts of unit b / parts (its FlatTranspose,
/// read with five broadcast loads).
__global__ void __launch_bounds__(kThreads)
    transposeTiles(const FlatTranspose *units, int parts) {
  __shared__ __align__(16) uint8_t tile[kTileBytes];
  const uint4 *w = reinterpret_cast<const uint4 *>(units + blockIdx.x / parts);
  FlatTranspose f;
  uint4 *fw = reinterpret_cast<uint4 *>(&f);
#pragma unroll
  for (int j = 0; j < 5; ++j)
    fw[j] = __ldg(w + j);
  const uint32_t p = blockIdx.x % parts;
  switch (f.elementBytes) {
  case 1:
    transposeTile<1>(f, p, tile);
    break;
  case 2:
    transposeTile<2>(f, p, tile);
    break;
  case 4:
    transposeTile<4>(f, p, tile);
    break;
  default:
    transposeTile<8>(f, p, tile);
  }
}

} // namespace wl::runtime::cuda::kernels

#endif // WL_CUDA_TRANSPOSEKERNEL_CUH
