//===- CpuExecutor.h - plans executed at memory speed on CPUs ---*- C++ -*-===//
//
// Plain C++17, no MLIR. The fast executor of plans: pieces are clipped to
// windows of the target (so a huge tensor streams through a bounded buffer),
// rows move with memcpy, transposes go through cache-sized tiles, and casts,
// affines and fills are applied in the same pass, so each target byte is
// written once. The reference executor (wl/Plan/Plan.h) is the oracle its
// tests compare against.
//
//===----------------------------------------------------------------------===//
#ifndef WL_RUNTIME_CPUEXECUTOR_H
#define WL_RUNTIME_CPUEXECUTOR_H

#include "wl/Layout/Plan.h"

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace wl::runtime {

/// layout::coalesce, but a single element stays rank 1 (shape [1]), so that
/// every piece has an innermost dimension to run along.
layout::Piece coalesceRows(const layout::Piece &p);

/// True when the piece's target positions increase with its row-major index
/// (after coalescing: each dst stride exceeds the span of the dimensions
/// inside it). Such a piece can be clipped to any interval of its target.
bool isMonotoneDst(const layout::Piece &coalesced);

/// The span [lo, hi) of target positions a piece writes (hi = lo for an
/// empty piece). Pre: non-negative dst strides.
std::pair<int64_t, int64_t> dstSpan(const layout::Piece &p);

/// The sub-pieces of `p` that write exactly its elements whose target
/// position lies in [begin, end), with the same sources and steps.
/// Pre: isMonotoneDst(coalesce(p)) (else the whole piece comes back when it
/// intersects the interval, so the caller must never cut such a piece).
/// Post: at most 2 * rank - 1 pieces, disjoint, their union exactly the
/// elements of p in the interval.
std::vector<layout::Piece> clipToDst(const layout::Piece &p, int64_t begin,
                                     int64_t end);

/// Calls f(dstOffset, srcOffset, scaleOffset) for every index of the
/// dimensions `dims` of `c` (row-major), starting from the piece's offsets
/// (scaleOffset: of its run-time scale, 0 without one).
template <typename F>
inline void forEachOuter(const layout::Piece &c,
                         const std::vector<size_t> &dims, F f) {
  size_t n = dims.size();
  std::vector<int64_t> idx(n, 0);
  int64_t d = c.dstOffset, s = c.srcOffset, g = c.scale.offset;
  const bool scaled = c.hasRuntimeScale();
  for (size_t j : dims)
    if (c.shape[j] == 0)
      return;
  while (true) {
    f(d, s, g);
    size_t k = n;
    while (k-- > 0) {
      size_t j = dims[k];
      const int64_t sj = c.isFill() ? 0 : c.srcStrides[j];
      const int64_t gj = scaled ? c.scale.strides[j] : 0;
      if (++idx[k] < c.shape[j]) {
        d += c.dstStrides[j];
        s += sj;
        g += gj;
        break;
      }
      d -= (c.shape[j] - 1) * c.dstStrides[j];
      s -= (c.shape[j] - 1) * sj;
      g -= (c.shape[j] - 1) * gj;
      idx[k] = 0;
    }
    if (k == static_cast<size_t>(-1))
      return;
  }
}

/// Writes the elements of `p` into `window`, which holds the target's
/// elements [windowBegin, ...) (every element p writes must lie inside it).
/// `source` points at element 0 of the piece's source tensor (unused for a
/// fill), `scales` at element 0 of its run-time scale's source (a piece
/// with one). Element types are the source's and the target's; the
/// piece's steps convert between them exactly as wl/Layout/DType.h and
/// applySteps (wl/Layout/Piece.h) define.
void renderPiece(const layout::Piece &p, const uint8_t *source,
                 layout::DType sourceType, layout::DType targetType,
                 uint8_t *window, int64_t windowBegin,
                 const uint8_t *scales = nullptr);

/// A fixed set of worker threads; `parallelFor` runs f(0..n-1) on them and
/// on the calling thread, and returns when all are done.
class ThreadPool {
public:
  /// `threads` in all, the caller included (1: no worker threads).
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;
  int size() const { return static_cast<int>(workers_.size()) + 1; }
  void parallelFor(int64_t n, const std::function<void(int64_t)> &f);

private:
  void work();
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int64_t)> *job_ = nullptr;
  int64_t next_ = 0, count_ = 0, finished_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

/// Runs a whole plan in memory: `sources[s]` and `targets[t]` point at the
/// tensors' bytes (row-major, little-endian). Work is split into pieces of
/// about `grainBytes` of target and spread over the pool. Pre: the plan
/// validates and writes every target element once.
/// Post: the targets hold what plan::execute computes.
void executePlan(const layout::Plan &plan,
                 const std::vector<const uint8_t *> &sources,
                 const std::vector<uint8_t *> &targets, ThreadPool &pool,
                 int64_t grainBytes = 4 << 20);

} // namespace wl::runtime

#endif // WL_RUNTIME_CPUEXECUTOR_H
