//===- Progress.h - the progress line and the closing summary ---*- C++ -*-===//
#ifndef WL_TOOLS_PROGRESS_H
#define WL_TOOLS_PROGRESS_H

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace wl::tool {

/// A line on stderr, redrawn a few times a second while a conversion runs:
/// "  3.21 / 8.05 GB  2.87 GB/s  ETA 2s  rank 1/2". Only when stderr is a
/// terminal and not --quiet.
class ProgressLine {
public:
  ProgressLine(int64_t totalBytes, bool enabled);
  ~ProgressLine(); ///< stops and clears the line
  std::atomic<int64_t> &counter() { return done_; }
  void setStage(const std::string &stage);

private:
  void run();
  int64_t total_;
  bool enabled_;
  std::atomic<int64_t> done_{0};
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::string stage_;
  std::chrono::steady_clock::time_point start_;
  std::thread thread_;
};

/// "1.23 GB", "456.7 MB", "12.3 kB", "17 B".
std::string formatBytes(double bytes);

/// The process's peak resident memory (VmHWM), in bytes; 0 if unknown:
/// what it allocated and the pages of the mapped sources it has touched
/// and not yet given back.
int64_t peakResidentBytes();

/// The peak of the process's anonymous resident memory (what it allocated:
/// resident pages less file-backed and shared ones, /proc/self/statm),
/// sampled every 10 ms on a thread of its own from construction until
/// stop(); 0 if unknown.
class AllocatedPeak {
public:
  AllocatedPeak();
  ~AllocatedPeak() { stop(); }
  /// Stops sampling (once more first) and returns the peak.
  int64_t stop();

private:
  void sample();
  std::atomic<int64_t> peak_{0};
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

} // namespace wl::tool

#endif // WL_TOOLS_PROGRESS_H
