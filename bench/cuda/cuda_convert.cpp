//===- cuda_convert.cpp - checkpoint conversion on the GPU, against the CPU ===//
//
//   cuda_convert [--no-zero-copy] [--read-threads N] WORKDIR PLAN.json ...
// The runtime path of `weight-layout-convert --device cuda`, on a machine
// without the compiler (the GPU machine has no MLIR): writes one safetensors
// file of random bytes holding every source tensor of the given plans (the
// ranks of one conversion), then writes each plan's checkpoint twice, with
// the CPU executor and with the CUDA renderer, times both, and compares the
// two outputs tensor by tensor. Prints one line per plan and a total.
// --no-zero-copy turns copy_file_range off in both runs, so that every
// byte goes through the executor (on the GPU: uploaded and rendered).
//
//===----------------------------------------------------------------------===//
#include "wl/Plan/Plan.h"
#include "wl/Runtime/CpuExecutor.h"
#include "wl/Cuda/CudaRenderer.h"
#include "wl/Safetensors/Safetensors.h"
#include "wl/Runtime/StreamWriter.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace wl;

static double now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int main(int argc, char **argv) {
  bool zeroCopy = true;
  runtime::cuda::RendererOptions ropts;
  while (argc > 1 && argv[1][0] == '-') {
    if (std::strcmp(argv[1], "--no-zero-copy") == 0) {
      zeroCopy = false;
    } else if (std::strcmp(argv[1], "--read-threads") == 0 && argc > 2) {
      ropts.readThreads = std::atoi(argv[2]);
      ++argv;
      --argc;
    } else {
      break;
    }
    ++argv;
    --argc;
  }
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: cuda_convert [--no-zero-copy] [--read-threads N] "
                 "WORKDIR PLAN.json ...\n");
    return 2;
  }
  fs::path work = argv[1];
  fs::remove_all(work);
  fs::create_directories(work);
  std::vector<layout::Plan> plans;
  std::map<std::string, layout::TensorInfo> all;
  for (int i = 2; i < argc; ++i) {
    std::ifstream in(argv[i]);
    std::stringstream text;
    text << in.rdbuf();
    std::string error;
    auto p = plan::fromJson(text.str(), error);
    if (!p) {
      std::fprintf(stderr, "%s: %s\n", argv[i], error.c_str());
      return 2;
    }
    for (const layout::TensorInfo &t : p->sources)
      all[t.name] = t;
    plans.push_back(std::move(*p));
  }
  // The source checkpoint: random bytes, written in 64 MiB chunks.
  std::vector<runtime::OutTensor> tensors;
  for (auto &[name, t] : all)
    tensors.push_back({t.name, t.dtype, t.shape});
  runtime::FileLayout fl = runtime::layoutFile(tensors, {{"format", "pt"}});
  fs::create_directories(work / "src");
  std::string srcPath = (work / "src" / "model.safetensors").string();
  {
    int fd = ::open(srcPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<uint64_t> chunk(8 << 20);
    std::mt19937_64 rng(5);
    if (::write(fd, fl.prefix.data(), fl.prefix.size()) < 0)
      return 1;
    for (uint64_t at = fl.prefix.size(); at < fl.fileSize;) {
      for (uint64_t &x : chunk)
        x = rng();
      size_t n = std::min<uint64_t>(chunk.size() * 8, fl.fileSize - at);
      if (::write(fd, chunk.data(), n) != static_cast<ssize_t>(n))
        return 1;
      at += n;
    }
    ::close(fd);
  }
  std::string error;
  auto src = runtime::SafetensorsFile::open(srcPath, error);
  if (!src) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  std::printf("source checkpoint: %.2f GB\n", fl.fileSize / 1e9);
  auto gpu = runtime::cuda::Renderer::create(ropts, error);
  if (!gpu) {
    std::fprintf(stderr, "cuda_convert: %s\n", error.c_str());
    return 1;
  }
  std::printf("device: %s\n", gpu->describe().c_str());
  // The bound of the GPU side: a host-to-device copy of 1 GiB from pinned
  // memory (cudaMemcpy, median of 5), measured in the same run.
  {
    const size_t n = 1ull << 30;
    void *h = nullptr, *d = nullptr;
    if (cudaHostAlloc(&h, n, cudaHostAllocDefault) != cudaSuccess ||
        cudaMalloc(&d, n) != cudaSuccess) {
      std::fprintf(stderr, "cuda_convert: cannot allocate the baseline's 1 GiB\n");
      return 1;
    }
    std::memset(h, 0x5a, n);
    std::vector<double> t;
    for (int i = 0; i < 6; ++i) {
      double t0 = now();
      cudaMemcpy(d, h, n, cudaMemcpyHostToDevice);
      if (i > 0)
        t.push_back(now() - t0);
    }
    std::sort(t.begin(), t.end());
    std::printf("host-to-device copy from pinned memory (cudaMemcpy, 1 GiB): "
                "%.1f GB/s\n",
                n / t[t.size() / 2] / 1e9);
    cudaFreeHost(h);
    cudaFree(d);
  }
  runtime::ThreadPool pool(std::max(1u, std::thread::hardware_concurrency()));
  double cpuTotal = 0, gpuTotal = 0, bytes = 0;
  int bad = 0;
  for (size_t k = 0; k < plans.size(); ++k) {
    const layout::Plan &plan = plans[k];
    std::vector<runtime::SourceTensor> sources;
    for (const layout::TensorInfo &t : plan.sources)
      sources.push_back({src.get(), src->find(t.name)});
    double secs[2];
    for (int g = 0; g < 2; ++g) {
      fs::path out = work / ((g ? "gpu-" : "cpu-") + std::to_string(k));
      fs::create_directories(out);
      runtime::WriteOptions opts;
      opts.durable = false; // the page cache, not the disk, is measured
      opts.renderer = g ? gpu.get() : nullptr;
      if (!zeroCopy)
        opts.zeroCopyMinBytes = 0;
      runtime::WriteStats stats;
      double t0 = now();
      if (!runtime::writeCheckpoint(plan, sources, out.string(), opts, pool,
                                    stats, error)) {
        std::fprintf(stderr, "plan %zu (%s): %s\n", k, g ? "gpu" : "cpu",
                     error.c_str());
        return 1;
      }
      secs[g] = now() - t0;
      if (g == 0)
        bytes += static_cast<double>(stats.bytes);
    }
    // The two outputs, tensor by tensor.
    auto a = runtime::Checkpoint::open((work / ("cpu-" + std::to_string(k))).string(), error);
    auto b = runtime::Checkpoint::open((work / ("gpu-" + std::to_string(k))).string(), error);
    if (!a || !b) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return 1;
    }
    int differ = 0;
    for (const runtime::Checkpoint::Located &l : a->tensors()) {
      auto m = b->find(l.entry->name);
      if (!m.entry || std::memcmp(l.file->data(*l.entry), m.file->data(*m.entry),
                                  l.entry->end - l.entry->begin) != 0)
        ++differ;
    }
    bad += differ;
    cpuTotal += secs[0];
    gpuTotal += secs[1];
    std::printf("plan %zu: %zu tensors; CPU executor %.2f s, CUDA renderer %.2f "
                "s; %s\n",
                k, plan.targets.size(), secs[0], secs[1],
                differ ? "OUTPUTS DIFFER" : "outputs identical");
    fs::remove_all(work / ("cpu-" + std::to_string(k)));
    fs::remove_all(work / ("gpu-" + std::to_string(k)));
  }
  runtime::cuda::RendererStats s = gpu->stats();
  std::printf("total %.2f GB written: CPU %.2f s (%.2f GB/s), CUDA %.2f s (%.2f "
              "GB/s); GPU side: %.2f GB uploaded in %.3f s (%.1f GB/s, %d read "
              "threads), %.2f GB rendered, kernels %.3f s, copies back %.3f s\n",
              bytes / 1e9, cpuTotal, bytes / cpuTotal / 1e9, gpuTotal,
              bytes / gpuTotal / 1e9, s.uploadedBytes / 1e9, s.uploadSeconds,
              s.uploadSeconds > 0 ? s.uploadedBytes / s.uploadSeconds / 1e9 : 0,
              s.readThreads, s.renderedBytes / 1e9, s.kernelSeconds,
              s.downloadSeconds);
  fs::remove_all(work);
  return bad ? 1 : 0;
}
