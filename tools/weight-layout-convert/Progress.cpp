//===- Progress.cpp - the progress line and the closing summary -----------===//
#include "Progress.h"

#include <csignal>
#include <cstdio>
#include <cstring>
#include <pthread.h>
#include <unistd.h>

namespace wl::tool {

std::string formatBytes(double b) {
  char buf[32];
  if (b >= 1e9)
    std::snprintf(buf, sizeof buf, "%.2f GB", b / 1e9);
  else if (b >= 1e6)
    std::snprintf(buf, sizeof buf, "%.1f MB", b / 1e6);
  else if (b >= 1e3)
    std::snprintf(buf, sizeof buf, "%.1f kB", b / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0f B", b);
  return buf;
}

int64_t peakResidentBytes() {
  FILE *f = std::fopen("/proc/self/status", "r");
  if (!f)
    return 0;
  char line[256];
  long long kb = 0;
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, "VmHWM:", 6) == 0)
      std::sscanf(line + 6, "%lld", &kb);
  std::fclose(f);
  return kb * 1024;
}

AllocatedPeak::AllocatedPeak() {
  sample();
  // Created with every signal blocked, so that SIGINT and SIGTERM reach
  // the thread that cleans up (installSignalCleanup), not this one.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!cv_.wait_for(lock, std::chrono::milliseconds(10),
                         [this] { return stop_; }))
      sample();
  });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void AllocatedPeak::sample() {
  FILE *f = std::fopen("/proc/self/statm", "r");
  if (!f)
    return;
  long long size = 0, resident = 0, shared = 0;
  if (std::fscanf(f, "%lld %lld %lld", &size, &resident, &shared) == 3) {
    const int64_t bytes =
        static_cast<int64_t>(resident - shared) * ::sysconf(_SC_PAGESIZE);
    if (bytes > peak_)
      peak_ = bytes;
  }
  std::fclose(f);
}

int64_t AllocatedPeak::stop() {
  if (thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    sample();
  }
  return peak_;
}

ProgressLine::ProgressLine(int64_t totalBytes, bool enabled)
    : total_(totalBytes), enabled_(enabled && ::isatty(2)),
      start_(std::chrono::steady_clock::now()) {
  if (enabled_)
    thread_ = std::thread([this] { run(); });
}

ProgressLine::~ProgressLine() {
  if (!enabled_)
    return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

void ProgressLine::setStage(const std::string &stage) {
  std::lock_guard<std::mutex> lock(mutex_);
  stage_ = stage;
}

void ProgressLine::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!cv_.wait_for(lock, std::chrono::milliseconds(250),
                       [&] { return stop_; })) {
    double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_)
            .count();
    double done = static_cast<double>(done_.load());
    double rate = s > 0 ? done / s : 0;
    char eta[32] = "";
    if (rate > 0 && done < total_)
      std::snprintf(eta, sizeof eta, "  ETA %.0fs", (total_ - done) / rate);
    std::fprintf(stderr, "\r\033[K  %s / %s  %s/s%s  %s",
                 formatBytes(done).c_str(), formatBytes(total_).c_str(),
                 formatBytes(rate).c_str(), eta, stage_.c_str());
    std::fflush(stderr);
  }
}

} // namespace wl::tool
