//===- ProbeTiming.cuh - error checks and timing for the CUDA probes ------===//
//
// What the standalone experiments (copy_probe, tma_transpose_probe) share:
// a CUDA call checked (the file, line and error, then exit 1), and the
// median time of a launch between two events.
//
//===----------------------------------------------------------------------===//
#ifndef WL_BENCH_CUDA_PROBETIMING_CUH
#define WL_BENCH_CUDA_PROBETIMING_CUH

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define CHECK(x)                                                               \
  do {                                                                         \
    cudaError_t e_ = (x);                                                      \
    if (e_ != cudaSuccess) {                                                   \
      std::fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__,                  \
                   cudaGetErrorString(e_));                                    \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)

/// The median over `runs` of the time of f() between two events, after 3
/// calls to warm up.
template <typename F> float medianMs(F f, int runs = 20) {
  cudaEvent_t a, b;
  CHECK(cudaEventCreate(&a));
  CHECK(cudaEventCreate(&b));
  for (int i = 0; i < 3; ++i)
    f();
  std::vector<float> ms;
  for (int i = 0; i < runs; ++i) {
    CHECK(cudaEventRecord(a));
    f();
    CHECK(cudaEventRecord(b));
    CHECK(cudaEventSynchronize(b));
    float t;
    CHECK(cudaEventElapsedTime(&t, a, b));
    ms.push_back(t);
  }
  CHECK(cudaEventDestroy(a));
  CHECK(cudaEventDestroy(b));
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

#endif // WL_BENCH_CUDA_PROBETIMING_CUH
