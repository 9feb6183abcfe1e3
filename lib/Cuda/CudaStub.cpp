//===- CudaStub.cpp - the CUDA executor of a build without CUDA -----------===//
#include "wl/Cuda/CudaExecutor.h"
#include "wl/Cuda/CudaRenderer.h"

namespace wl::runtime::cuda {

struct Executor::Impl {};

bool built() { return false; }

bool deviceAvailable(std::string &why) {
  why = "this build has no CUDA executor (no CUDA toolkit at build time)";
  return false;
}

std::unique_ptr<Executor> Executor::create(std::string &error) {
  deviceAvailable(error);
  return nullptr;
}

Executor::~Executor() = default;
std::string Executor::describe() const { return ""; }
bool Executor::run(TaskTable &, const std::vector<const void *> &,
                   const std::vector<void *> &, void *, std::string &error) {
  return deviceAvailable(error);
}
bool Executor::prepare(TaskTable &, const std::vector<const void *> &,
                       const std::vector<void *> &, void *,
                       std::string &error) {
  return deviceAvailable(error);
}
bool Executor::launch(void *, std::string &error) {
  return deviceAvailable(error);
}
void Executor::setSmallPlanBytes(int64_t) {}
bool Executor::synchronize(void *, std::string &error) {
  return deviceAvailable(error);
}
void *Executor::allocate(size_t, std::string &error) {
  deviceAvailable(error);
  return nullptr;
}
void Executor::release(void *) {}
bool Executor::copyToDevice(void *, const void *, size_t, std::string &error) {
  return deviceAvailable(error);
}
bool Executor::copyToHost(void *, const void *, size_t, std::string &error) {
  return deviceAvailable(error);
}

bool checkCastFastPaths(std::string &report) {
  return deviceAvailable(report);
}

std::unique_ptr<Renderer> Renderer::create(const RendererOptions &,
                                           std::string &error) {
  deviceAvailable(error);
  return nullptr;
}

} // namespace wl::runtime::cuda
