//===- read_upload_probe.cu - files read and uploaded with no plan -------===//
//
// The ceiling of load_checkpoint's way of reading (docs/benchmarks.md,
// "Where the time goes"): N threads, each with K page-locked buffers of B
// bytes and a stream of its own, take the files' B-byte pieces in order,
// pread each into their oldest buffer (once its last copy is done) and
// copy it to one device buffer holding every file. Prints the best of three
// per (N, B, K). Build here, run on the GPU machine (page cache warm):
//
//   nvcc -O2 -std=c++17 -arch=sm_90 -cudart static \
//     -o read_upload_probe bench/load/read_upload_probe.cu
//   ./read_upload_probe FILE...
//
//===----------------------------------------------------------------------===//
#include <cuda_runtime.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

namespace {

void check(cudaError_t e, const char *what) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "%s: %s\n", what, cudaGetErrorString(e));
    std::exit(1);
  }
}

struct Piece {
  int fd;
  off_t offset;
  size_t bytes;
  size_t at; // in the device buffer
};

/// Seconds to read and upload every piece with `threads` threads of
/// `perThread` buffers of `bytes` each.
double run(const std::vector<Piece> &pieces, uint8_t *device, int threads,
           size_t bytes, int perThread) {
  std::vector<std::vector<void *>> buffers(threads,
                                           std::vector<void *>(perThread));
  for (auto &own : buffers)
    for (void *&p : own)
      check(cudaMallocHost(&p, bytes), "cudaMallocHost");
  std::atomic<size_t> next{0};
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      cudaStream_t s;
      check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "stream");
      std::vector<cudaEvent_t> done(perThread);
      std::vector<bool> used(perThread, false);
      for (cudaEvent_t &e : done)
        check(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "event");
      for (int k = 0;; k = (k + 1) % perThread) {
        const size_t i = next.fetch_add(1);
        if (i >= pieces.size())
          break;
        if (used[k])
          check(cudaEventSynchronize(done[k]), "event wait");
        uint8_t *buf = static_cast<uint8_t *>(buffers[t][k]);
        const Piece &p = pieces[i];
        for (size_t got = 0; got < p.bytes;) {
          ssize_t n = pread(p.fd, buf + got, p.bytes - got, p.offset + got);
          if (n <= 0) {
            std::perror("pread");
            std::exit(1);
          }
          got += static_cast<size_t>(n);
        }
        check(cudaMemcpyAsync(device + p.at, buf, p.bytes,
                              cudaMemcpyHostToDevice, s),
              "copy");
        check(cudaEventRecord(done[k], s), "event record");
        used[k] = true;
      }
      check(cudaStreamSynchronize(s), "stream wait");
      for (cudaEvent_t e : done)
        cudaEventDestroy(e);
      cudaStreamDestroy(s);
    });
  for (std::thread &th : pool)
    th.join();
  double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                            t0)
                  .count();
  for (auto &own : buffers)
    for (void *p : own)
      cudaFreeHost(p);
  return dt;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE...\n", argv[0]);
    return 2;
  }
  std::vector<int> fds;
  std::vector<size_t> sizes;
  size_t total = 0;
  for (int i = 1; i < argc; ++i) {
    int fd = open(argv[i], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
      std::perror(argv[i]);
      return 1;
    }
    fds.push_back(fd);
    sizes.push_back(static_cast<size_t>(st.st_size));
    total += static_cast<size_t>(st.st_size);
  }
  uint8_t *device = nullptr;
  check(cudaMalloc(&device, total), "cudaMalloc");
  for (int threads : {8, 12, 14, 16})
    for (size_t mib : {1, 2, 4, 8})
      for (int perThread : {2, 3}) {
        const size_t bytes = mib << 20;
        std::vector<Piece> pieces;
        size_t at = 0;
        for (size_t f = 0; f < fds.size(); ++f)
          for (size_t o = 0; o < sizes[f]; o += bytes) {
            const size_t n = std::min(bytes, sizes[f] - o);
            pieces.push_back({fds[f], static_cast<off_t>(o), n, at});
            at += n;
          }
        double best = 1e30;
        for (int rep = 0; rep < 3; ++rep)
          best = std::min(best, run(pieces, device, threads, bytes, perThread));
        std::printf("%2d threads, %zu MiB x %d buffers: %.3f s, %.1f GB/s\n",
                    threads, mib, perThread, best, total / best / 1e9);
        std::fflush(stdout);
      }
  cudaFree(device);
  return 0;
}
