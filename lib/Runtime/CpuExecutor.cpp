//===- CpuExecutor.cpp - plans executed at memory speed on CPUs -----------===//
#include "wl/Runtime/CpuExecutor.h"

#include "wl/Runtime/ElementSteps.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstring>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace wl::runtime {

using layout::DType;
using layout::Piece;
using layout::Shape;

Piece coalesceRows(const Piece &p) {
  Piece c = layout::coalesce(p);
  if (c.shape.empty()) {
    c.shape = {1};
    c.dstStrides = {1};
    c.srcStrides = {1};
    if (c.hasRuntimeScale())
      c.scale.strides = {0};
  }
  return c;
}

bool isMonotoneDst(const Piece &c) {
  int64_t inner = 0; // span of the dimensions inside dimension j
  for (size_t j = c.shape.size(); j-- > 0;) {
    if (c.shape[j] > 1 && c.dstStrides[j] <= inner)
      return false;
    inner += (c.shape[j] - 1) * c.dstStrides[j];
  }
  return true;
}

std::pair<int64_t, int64_t> dstSpan(const Piece &p) {
  int64_t hi = p.dstOffset;
  for (size_t j = 0; j < p.shape.size(); ++j) {
    if (p.shape[j] == 0)
      return {p.dstOffset, p.dstOffset};
    hi += (p.shape[j] - 1) * p.dstStrides[j];
  }
  return {p.dstOffset, hi + 1};
}

namespace {

/// The number of elements of the monotone piece `c` at positions < x.
int64_t countBelow(const Piece &c, int64_t x) {
  int64_t r = x - 1 - c.dstOffset;
  if (r < 0)
    return 0;
  // The largest index whose position is <= x - 1, digit by digit: strides
  // are nested, so taking the most of each outer digit is optimal.
  int64_t index = 0;
  for (size_t j = 0; j < c.shape.size(); ++j) {
    int64_t digit = c.dstStrides[j] ? r / c.dstStrides[j] : c.shape[j] - 1;
    digit = std::min(digit, c.shape[j] - 1);
    r -= digit * c.dstStrides[j];
    index = index * c.shape[j] + digit;
  }
  return index + 1;
}

} // namespace

std::vector<Piece> clipToDst(const Piece &p, int64_t begin, int64_t end) {
  Piece c = coalesceRows(p);
  auto [lo, hi] = dstSpan(c);
  if (hi <= begin || lo >= end || begin >= end || c.numElements() == 0)
    return {};
  if (lo >= begin && hi <= end)
    return {c};
  if (!isMonotoneDst(c))
    return {c};
  int64_t i0 = countBelow(c, begin), i1 = countBelow(c, end);
  std::vector<Piece> out;
  for (const layout::Box &box : layout::intervalToBoxes(c.shape, i0, i1)) {
    Piece q = c;
    q.shape = box.sizes;
    for (size_t j = 0; j < c.shape.size(); ++j) {
      q.dstOffset += box.offsets[j] * c.dstStrides[j];
      if (!c.isFill())
        q.srcOffset += box.offsets[j] * c.srcStrides[j];
      if (c.hasRuntimeScale())
        q.scale.offset += box.offsets[j] * c.scale.strides[j];
    }
    out.push_back(std::move(q));
  }
  return out;
}

namespace {

/// Moves of one element size, so that the compiler inlines each copy.
template <int ES> inline void moveElement(uint8_t *d, const uint8_t *s) {
  std::memcpy(d, s, ES);
}

#ifdef __SSE2__
/// The 2-byte elements s[0], s[2], ..., s[14] in one register, read from
/// the 30 bytes they span: each pair's low element sign-extended to 32 bits
/// and packed back, which saturation leaves exact.
inline __m128i loadEverySecond(const uint8_t *s) {
  __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i *>(s));
  __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i *>(s + 14));
  lo = _mm_srai_epi32(_mm_slli_epi32(lo, 16), 16); // s[0], s[2], s[4], s[6]
  hi = _mm_srai_epi32(hi, 16);                     // s[8], ..., s[14]
  return _mm_packs_epi32(lo, hi);
}

/// dst[k * dk + i] = src[k * SK + i * si] for an 8 x 8 block of 2-byte
/// elements (strides in elements; SK 1 or 2): eight rows of the source in
/// registers, transposed by three rounds of interleaves (16-, 32-, 64-bit),
/// stored as eight 16-byte rows of the target.
template <int SK>
inline void transpose8x8x2(uint8_t *dst, int64_t dk, const uint8_t *src,
                           int64_t si) {
  __m128i a[8];
  for (int r = 0; r < 8; ++r)
    a[r] = SK == 1 ? _mm_loadu_si128(
                         reinterpret_cast<const __m128i *>(src + 2 * r * si))
                   : loadEverySecond(src + 2 * r * si);
  __m128i t[8], u[8];
  for (int r = 0; r < 4; ++r) {
    t[2 * r] = _mm_unpacklo_epi16(a[2 * r], a[2 * r + 1]);
    t[2 * r + 1] = _mm_unpackhi_epi16(a[2 * r], a[2 * r + 1]);
  }
  for (int h = 0; h < 2; ++h)
    for (int r = 0; r < 2; ++r) {
      u[4 * h + 2 * r] = _mm_unpacklo_epi32(t[4 * h + r], t[4 * h + r + 2]);
      u[4 * h + 2 * r + 1] = _mm_unpackhi_epi32(t[4 * h + r], t[4 * h + r + 2]);
    }
  // u[0..3]: columns (0,1), (2,3), (4,5), (6,7) of rows 0..3; u[4..7] of
  // rows 4..7.
  for (int c = 0; c < 4; ++c) {
    _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + 2 * (2 * c) * dk),
                     _mm_unpacklo_epi64(u[c], u[4 + c]));
    _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + 2 * (2 * c + 1) * dk),
                     _mm_unpackhi_epi64(u[c], u[4 + c]));
  }
}

/// One tile [k0, k1) x [i0, i1) of transposeBox for 2-byte elements with
/// sk 1 or 2: whole 8 x 8 blocks in SSE2 registers, the edges one by one.
void transposeTile2(uint8_t *dst, int64_t dk, const uint8_t *src, int64_t sk,
                    int64_t si, int64_t k0, int64_t k1, int64_t i0,
                    int64_t i1) {
  const int64_t k8 = k0 + (k1 - k0) / 8 * 8, i8 = i0 + (i1 - i0) / 8 * 8;
  for (int64_t k = k0; k < k8; k += 8)
    for (int64_t i = i0; i < i8; i += 8) {
      uint8_t *d = dst + (k * dk + i) * 2;
      const uint8_t *s = src + (k * sk + i * si) * 2;
      if (sk == 1)
        transpose8x8x2<1>(d, dk, s, si);
      else
        transpose8x8x2<2>(d, dk, s, si);
    }
  // What is left: the rows of k past k8 (all i), then the columns of i past
  // i8 (the k below k8).
  for (int64_t k = k8; k < k1; ++k)
    for (int64_t i = i0; i < i1; ++i)
      moveElement<2>(dst + (k * dk + i) * 2, src + (k * sk + i * si) * 2);
  for (int64_t k = k0; k < k8; ++k)
    for (int64_t i = i8; i < i1; ++i)
      moveElement<2>(dst + (k * dk + i) * 2, src + (k * sk + i * si) * 2);
}
#endif

/// dst[k * dk + i] = src[k * sk + i * si] over a K x I box, through tiles
/// that fit the L1 cache on both sides (2-byte elements with sk 1 or 2 in
/// 8 x 8 blocks of SSE2 registers where the tile holds them).
template <int ES>
void transposeBox(uint8_t *dst, int64_t dk, const uint8_t *src, int64_t sk,
                  int64_t si, int64_t K, int64_t I) {
  constexpr int64_t T = 64 / ES < 16 ? 16 : 64 / ES * 2;
  for (int64_t k0 = 0; k0 < K; k0 += T) {
    int64_t k1 = std::min(K, k0 + T);
    for (int64_t i0 = 0; i0 < I; i0 += T) {
      int64_t i1 = std::min(I, i0 + T);
#ifdef __SSE2__
      if constexpr (ES == 2) {
        if (sk == 1 || sk == 2) {
          transposeTile2(dst, dk, src, sk, si, k0, k1, i0, i1);
          continue;
        }
      }
#endif
      for (int64_t k = k0; k < k1; ++k) {
        uint8_t *d = dst + (k * dk + i0) * ES;
        const uint8_t *s = src + (k * sk + i0 * si) * ES;
        for (int64_t i = i0; i < i1; ++i, d += ES, s += si * ES)
          moveElement<ES>(d, s);
      }
    }
  }
}

void transposeBox(int es, uint8_t *dst, int64_t dk, const uint8_t *src,
                  int64_t sk, int64_t si, int64_t K, int64_t I) {
  switch (es) {
  case 1:
    return transposeBox<1>(dst, dk, src, sk, si, K, I);
  case 2:
    return transposeBox<2>(dst, dk, src, sk, si, K, I);
  case 4:
    return transposeBox<4>(dst, dk, src, sk, si, K, I);
  default:
    return transposeBox<8>(dst, dk, src, sk, si, K, I);
  }
}

template <int ES>
void stridedCopy(uint8_t *d, int64_t ds, const uint8_t *s, int64_t ss,
                 int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    moveElement<ES>(d + i * ds * ES, s + i * ss * ES);
}

void stridedCopy(int es, uint8_t *d, int64_t ds, const uint8_t *s, int64_t ss,
                 int64_t n) {
  switch (es) {
  case 1:
    return stridedCopy<1>(d, ds, s, ss, n);
  case 2:
    return stridedCopy<2>(d, ds, s, ss, n);
  case 4:
    return stridedCopy<4>(d, ds, s, ss, n);
  default:
    return stridedCopy<8>(d, ds, s, ss, n);
  }
}

void fillRun(uint8_t *d, int64_t ds, int es, uint64_t bits, int64_t n) {
  if (ds == 1 && bits == 0) {
    std::memset(d, 0, n * es);
    return;
  }
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(d + i * ds * es, &bits, es); // little-endian low bytes
}

/// The outer dimension (not the innermost) along which the coalesced piece
/// `c` reads its source nearest to contiguously, with a stride of 1 or one
/// of at most `maxStride` elements below the innermost's: the other side of
/// a transpose's tile, so that the tile's source rows share cache lines (a
/// stride of 2: gpt-oss's interleaved gate and up columns, transposed for
/// Megatron). The rank when there is none.
size_t tileSourceDim(const Piece &c, int64_t maxStride) {
  const size_t r = c.shape.size();
  size_t k = r;
  const int64_t inner = std::abs(c.srcStrides[r - 1]);
  for (size_t j = 0; j + 1 < r; ++j) {
    const int64_t s = c.srcStrides[j];
    if (s >= 1 && s <= maxStride && (s == 1 || s < inner) && c.shape[j] > 1 &&
        (k == r || s <= c.srcStrides[k]))
      k = j;
  }
  return k;
}

/// Source strides up to this many elements make a tile's side: a tile's
/// source rows of T elements then span at most 8 T elements.
constexpr int64_t kTileStrideMax = 8;

} // namespace

void renderPiece(const Piece &piece, const uint8_t *source, DType sourceType,
                 DType targetType, uint8_t *window, int64_t windowBegin,
                 const uint8_t *scales) {
  Piece c = coalesceRows(piece);
  if (c.numElements() == 0)
    return;
  const int et = layout::dtypeSize(targetType);
  const int esrc = c.isFill() ? et : layout::dtypeSize(sourceType);
  size_t r = c.shape.size();
  auto dstAt = [&](int64_t pos) { return window + (pos - windowBegin) * et; };
  std::vector<size_t> outer;
  for (size_t j = 0; j + 1 < r; ++j)
    outer.push_back(j);
  const int64_t n = c.shape[r - 1];
  const int64_t ds = c.dstStrides[r - 1];
  if (c.isFill()) {
    forEachOuter(c, outer, [&](int64_t d, int64_t, int64_t) {
      fillRun(dstAt(d), ds, et, c.fillBits, n);
    });
    return;
  }
  const int64_t ss = c.srcStrides[r - 1];
  if (c.hasRuntimeScale()) {
    const ScaledStepRunner run(c.steps, sourceType, targetType);
    const int64_t gs = c.scale.strides[r - 1];
    // A transpose (MXFP4's [E, out, in] blocks to transformers' [E, in,
    // out]): the runs go along the dimension the source holds contiguous,
    // one after the other along the target's rows, so that reads are
    // contiguous and the few target rows written stay in cache.
    const size_t k = ss != 1 ? tileSourceDim(c, 1) : r;
    if (k < r) {
      std::vector<size_t> rest;
      for (size_t j = 0; j + 1 < r; ++j)
        if (j != k)
          rest.push_back(j);
      forEachOuter(c, rest, [&](int64_t d, int64_t s, int64_t g) {
        for (int64_t i = 0; i < n; ++i)
          run(source + (s + i * ss) * esrc, 1, scales, g + i * gs,
              c.scale.strides[k], dstAt(d + i * ds), c.dstStrides[k],
              c.shape[k]);
      });
      return;
    }
    forEachOuter(c, outer, [&](int64_t d, int64_t s, int64_t g) {
      run(source + s * esrc, ss, scales, g, gs, dstAt(d), ds, n);
    });
    return;
  }
  if (!c.steps.empty()) {
    StepRunner run(c.steps, sourceType, targetType);
    forEachOuter(c, outer, [&](int64_t d, int64_t s, int64_t) {
      run(source + s * esrc, ss, dstAt(d), ds, n);
    });
    return;
  }
  if (ds == 1 && ss == 1) {
    forEachOuter(c, outer, [&](int64_t d, int64_t s, int64_t) {
      std::memcpy(dstAt(d), source + s * esrc, n * et);
    });
    return;
  }
  // A transpose: the dimension read contiguously becomes the tile's other
  // side.
  const size_t k = ds == 1 ? tileSourceDim(c, kTileStrideMax) : r;
  if (k < r) {
    std::vector<size_t> rest;
    for (size_t j = 0; j + 1 < r; ++j)
      if (j != k)
        rest.push_back(j);
    forEachOuter(c, rest, [&](int64_t d, int64_t s, int64_t) {
      transposeBox(et, dstAt(d), c.dstStrides[k], source + s * esrc,
                   c.srcStrides[k], ss, c.shape[k], n);
    });
    return;
  }
  forEachOuter(c, outer, [&](int64_t d, int64_t s, int64_t) {
    stridedCopy(et, dstAt(d), ds, source + s * esrc, ss, n);
  });
}

//===----------------------------------------------------------------------===//
// ThreadPool
//===----------------------------------------------------------------------===//

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < threads; ++i)
    workers_.emplace_back([this] { work(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread &t : workers_)
    t.join();
}

void ThreadPool::work() {
  uint64_t seen = 0;
  while (true) {
    const std::function<void(int64_t)> *job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_)
        return;
      seen = generation_;
      job = job_;
    }
    while (true) {
      int64_t i;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (generation_ != seen || next_ >= count_)
          break;
        i = next_++;
      }
      (*job)(i);
      std::lock_guard<std::mutex> lock(mutex_);
      if (++finished_ == count_)
        done_.notify_all();
    }
  }
}

void ThreadPool::parallelFor(int64_t n, const std::function<void(int64_t)> &f) {
  if (n <= 0)
    return;
  if (workers_.empty() || n == 1) {
    for (int64_t i = 0; i < n; ++i)
      f(i);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &f;
    next_ = 0;
    count_ = n;
    finished_ = 0;
    ++generation_;
  }
  wake_.notify_all();
  while (true) {
    int64_t i;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (next_ >= count_)
        break;
      i = next_++;
    }
    f(i);
    std::lock_guard<std::mutex> lock(mutex_);
    if (++finished_ == count_)
      done_.notify_all();
  }
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return finished_ == count_; });
  job_ = nullptr;
}

//===----------------------------------------------------------------------===//
// executePlan
//===----------------------------------------------------------------------===//

void executePlan(const layout::Plan &plan,
                 const std::vector<const uint8_t *> &sources,
                 const std::vector<uint8_t *> &targets, ThreadPool &pool,
                 int64_t grainBytes) {
  std::vector<Piece> tasks;
  for (const Piece &raw : plan.pieces) {
    Piece p = coalesceRows(raw);
    int64_t n = p.numElements();
    if (n == 0)
      continue;
    int et = layout::dtypeSize(plan.targets[p.target].dtype);
    int64_t grain = std::max<int64_t>(1, grainBytes / et);
    auto [lo, hi] = dstSpan(p);
    if (n <= grain || !isMonotoneDst(p)) {
      tasks.push_back(std::move(p));
      continue;
    }
    for (int64_t a = lo; a < hi; a += grain)
      for (Piece &q : clipToDst(p, a, std::min(hi, a + grain)))
        tasks.push_back(std::move(q));
  }
  pool.parallelFor(static_cast<int64_t>(tasks.size()), [&](int64_t i) {
    const Piece &p = tasks[i];
    DType st = p.isFill() ? plan.targets[p.target].dtype
                          : plan.sources[p.source].dtype;
    renderPiece(p, p.isFill() ? nullptr : sources[p.source], st,
                plan.targets[p.target].dtype, targets[p.target], 0,
                p.hasRuntimeScale() ? sources[p.scale.source] : nullptr);
  });
}

} // namespace wl::runtime
