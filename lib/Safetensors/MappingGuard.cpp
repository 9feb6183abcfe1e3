//===- MappingGuard.cpp - a file truncated under its mapping is an error --===//
#include "MappingGuard.h"

#include <atomic>
#include <csignal>
#include <cstdint>
#include <mutex>
#include <sys/mman.h>
#include <unistd.h>

namespace wl::runtime::guard {

namespace {

/// One watched mapping. The handler reads slots without locks: a slot is
/// published by storing `end` last and retired by clearing `end` first.
struct Slot {
  std::atomic<uintptr_t> begin{0};
  std::atomic<uintptr_t> end{0};
  std::atomic<bool> faulted{false};
  std::atomic<bool> used{false};
};

constexpr int kSlots = 1 << 16;
Slot slots[kSlots];
std::atomic<int> highWater{0}; ///< slots [0, highWater) may be in use
struct sigaction previous;
std::once_flag installed;

void forward(int sig, siginfo_t *info, void *context) {
  if ((previous.sa_flags & SA_SIGINFO) && previous.sa_sigaction) {
    previous.sa_sigaction(sig, info, context);
    return;
  }
  if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
    previous.sa_handler(sig);
    return;
  }
  // Default action: returning re-runs the faulting access, which now dies.
  signal(sig, SIG_DFL);
}

void onSigbus(int sig, siginfo_t *info, void *context) {
  uintptr_t address = (uintptr_t)info->si_addr;
  int n = highWater.load(std::memory_order_acquire);
  for (int k = 0; k < n; ++k) {
    uintptr_t e = slots[k].end.load(std::memory_order_acquire);
    uintptr_t b = slots[k].begin.load(std::memory_order_acquire);
    if (address < b || address >= e)
      continue;
    slots[k].faulted.store(true, std::memory_order_release);
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    void *at = (void *)(address & ~(page - 1));
    // A page of zeros in place of the vanished one: the access completes.
    if (mmap(at, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
             0) != MAP_FAILED)
      return;
    break;
  }
  forward(sig, info, context);
}

void install() {
  struct sigaction sa = {};
  sa.sa_sigaction = onSigbus;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, &previous);
}

} // namespace

int watch(const void *begin, size_t size) {
  std::call_once(installed, install);
  for (int k = 0; k < kSlots; ++k) {
    bool expected = false;
    if (!slots[k].used.compare_exchange_strong(expected, true))
      continue;
    slots[k].faulted.store(false);
    slots[k].begin.store((uintptr_t)begin, std::memory_order_release);
    slots[k].end.store((uintptr_t)begin + size, std::memory_order_release);
    int hw = highWater.load();
    while (hw < k + 1 && !highWater.compare_exchange_weak(hw, k + 1))
      ;
    return k;
  }
  return -1;
}

void unwatch(int slot) {
  if (slot < 0)
    return;
  slots[slot].end.store(0, std::memory_order_release);
  slots[slot].begin.store(0, std::memory_order_release);
  slots[slot].used.store(false, std::memory_order_release);
}

bool faulted(int slot) {
  return slot >= 0 && slots[slot].faulted.load(std::memory_order_acquire);
}

} // namespace wl::runtime::guard
