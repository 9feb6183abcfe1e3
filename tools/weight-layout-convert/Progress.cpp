//===- Progress.cpp - the progress line and the closing summary -----------===//
#include "Progress.h"

#include <cstdio>
#include <cstring>
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
