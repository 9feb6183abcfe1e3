//===- Outputs.cpp - the checkpoints a conversion writes ------------------===//
#include "Outputs.h"

#include "wl/Plan/Plan.h"

#include "OtherFiles.h"
#include "Progress.h"
#include "Staging.h"

#include "wl/Cuda/CudaRenderer.h"
#include "wl/Plan/Plan.h"
#include "wl/Runtime/CpuExecutor.h"
#include "wl/Support/InputFile.h"
#include "wl/Support/Quote.h"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>
#include <sys/stat.h>
#include <thread>

namespace fs = std::filesystem;

namespace wl::tool {

namespace {
constexpr const char *kTool = "weight-layout-convert";
} // namespace
int fail(const std::string &message) {
  std::fprintf(stderr, "%s: error: %s\n", kTool, message.c_str());
  return 1;
}

void note(const std::string &message) {
  std::fprintf(stderr, "%s: note: %s\n", kTool, message.c_str());
}

/// Lists entries (already quoted) under a heading, at most 20 of them.
namespace {

std::string listNames(const std::string &heading,
                      const std::vector<std::string> &names, bool atLeast) {
  std::string s = (atLeast ? "at least " : "") + std::to_string(names.size()) +
                  " " + heading + ":";
  for (size_t i = 0; i < names.size() && i < 20; ++i)
    s += "\n  " + names[i];
  if (names.size() > 20)
    s += "\n  ... and " + std::to_string(names.size() - 20) + " more";
  return s;
}

} // namespace

std::string Problems::text() const {
    std::string out;
    auto add = [&](std::vector<std::string> names, const std::string &h,
                   bool atLeast) {
      // Several ranks read the same tensor: name it once.
      std::sort(names.begin(), names.end());
      names.erase(std::unique(names.begin(), names.end()), names.end());
      if (!names.empty())
        out += (out.empty() ? "" : "\n") + listNames(h, names, atLeast);
    };
    add(unused,
        "checkpoint tensor(s) that the mapping neither reads nor drops (a "
        "spec for another model or version?)",
        false);
    add(missing, "tensor(s) the mapping reads that the checkpoint lacks",
        missingStopped);
    add(wrong,
        "tensor(s) whose dtype or shape contradicts the config and the "
        "mapping (--dtype T picks another dtype)",
        false);
    return out;
}

std::string describe(const layout::DType &t, const layout::Shape &shape) {
  std::string s(layout::safetensorsName(t));
  s += " [";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// Binds the plan source `t` (a tensor named `name` in `ckpt`), reporting a
/// missing one or a dtype/shape mismatch.
runtime::SourceTensor bindSource(const layout::TensorInfo &t, const std::string &name,
                           const runtime::Checkpoint &ckpt,
                           const std::string &where, Problems &problems) {
  runtime::Checkpoint::Located l = ckpt.find(name);
  if (!l.entry)
    problems.missing.push_back(where + quoteName(name));
  else if (l.entry->dtype != t.dtype || l.entry->shape != t.shape)
    problems.wrong.push_back(l.file->shownPath() + ": " + quoteName(name) + " is " +
                             describe(l.entry->dtype, l.entry->shape) +
                             ", the mapping reads " +
                             describe(t.dtype, t.shape));
  return {l.file, l.entry};
}

std::string hex64(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string mappingNameOf(const std::string &specPath) {
  return fs::path(specPath).parent_path().filename().string() + "/" +
         fs::path(specPath).filename().string();
}

bool isFolder(const std::string &p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool exists(const std::string &p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

namespace {

/// Every path a conversion reads: the folders and their files, for the
/// checks of --to against the inputs.
std::vector<std::string> inputPaths(
    const std::string &from,
    const std::vector<std::unique_ptr<runtime::Checkpoint>> &inputs,
    const std::string &config, const std::vector<std::string> &others) {
  std::vector<std::string> out = {from, config};
  for (const auto &ckpt : inputs) {
    out.push_back(ckpt->folder());
    for (const auto &f : ckpt->files())
      out.push_back(f->path());
  }
  out.insert(out.end(), others.begin(), others.end());
  return out;
}

/// --dry-run: what would be read and written, per output and file.
void printDryRun(const ConvertOptions &opt, const TargetPath &target,
                 int64_t nranks, const std::vector<Output> &outputs,
                 const std::vector<std::vector<runtime::PlannedFile>> &planned,
                 int64_t tensors, uint64_t total) {
  std::printf("%s: dry run: %s -> %s (%lld rank%s), nothing written\n", kTool,
              opt.from.c_str(), target.full.c_str(),
              static_cast<long long>(nranks), nranks == 1 ? "" : "s");
  if (target.exists)
    std::printf("  %s exists: %s\n", target.full.c_str(),
                opt.force ? "--force would replace it"
                          : "the conversion would refuse (no --force)");
  for (size_t k = 0; k < outputs.size(); ++k) {
    const Output &o = outputs[k];
    int64_t read = 0;
    for (const layout::Piece &p : o.plan->pieces)
      if (!p.isFill())
        read += p.numElements() *
                layout::dtypeSize(o.plan->sources[p.source].dtype);
    std::printf("  %s/%s: %zu tensors from %zu source tensors (%s read)\n",
                target.full.c_str(), o.folder.c_str(), o.plan->targets.size(),
                o.plan->sources.size(), formatBytes(read).c_str());
    for (const runtime::PlannedFile &f : planned[k])
      std::printf("    %s: %zu tensors, %s\n", f.name.c_str(),
                  f.targets.size(), formatBytes(f.bytes).c_str());
  }
  std::printf("  %lld tensors, %s in all\n", static_cast<long long>(tensors),
              formatBytes(total).c_str());
}

/// --threads, or one per core.
int threadCount(const ConvertOptions &opt) {
  return opt.threads > 0
             ? opt.threads
             : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

/// The largest source span (bytes from the first to the last element it
/// reads) of a piece of `o` that reads its source across rows, a page or
/// more apart from one target element to the next (a transpose): its
/// windows keep most of the span's pages mapped until the last of them
/// (docs/runtime.md), so it bounds the resident memory of a rank being
/// written.
uint64_t largestTransposedSpan(const Output &o) {
  uint64_t most = 0;
  for (const layout::Piece &p : o.plan->pieces) {
    if (p.isFill() || p.shape.empty())
      continue;
    const int64_t es = layout::dtypeSize(o.plan->sources[p.source].dtype);
    if (std::abs(p.srcStrides.back()) * es < 4096)
      continue;
    int64_t span = 1;
    for (size_t j = 0; j < p.shape.size(); ++j)
      span += (p.shape[j] - 1) * std::abs(p.srcStrides[j]);
    most = std::max<uint64_t>(most, static_cast<uint64_t>(span * es));
  }
  return most;
}

/// How many ranks are written at once: each on its own files (inodes), so
/// that their writer threads do not wait on each other's inode locks as two
/// writers of one file do (WriteOptions::writers), each rendering with its
/// share of the cores. At most kMaxLanes, since each holds its own window
/// buffers, and no more than kLaneSourceBudget of transposed sources'
/// spans between them (one lane for Qwen3.5 -> FastDeploy, whose transposed
/// embedding is 2 GB: two took its peak resident from 0.75 to 1.38 GB);
/// one with --device cuda (`gpu`), whose renderer is one GPU stream.
constexpr int kMaxLanes = 4;
constexpr uint64_t kLaneSourceBudget = 256ull << 20;
int rankLanes(const std::vector<Output> &outputs, int threads, bool gpu) {
  if (gpu)
    return 1;
  uint64_t transposed = 0;
  for (const Output &o : outputs)
    transposed = std::max(transposed, largestTransposedSpan(o));
  const uint64_t byMemory =
      transposed ? std::max<uint64_t>(1, kLaneSourceBudget / transposed)
                 : kMaxLanes;
  return static_cast<int>(std::max<uint64_t>(
      1, std::min<uint64_t>({outputs.size(), static_cast<uint64_t>(threads),
                             static_cast<uint64_t>(kMaxLanes), byMemory})));
}

/// Writes every output checkpoint into the staging folder (with the other
/// files, and re-read against its plan with --verify), `lanes` of them at
/// once (rankLanes), then checks that no source changed while it was read. The first
/// failure stops the other lanes and is the one reported.
bool writeOutputs(
    const ConvertOptions &opt, const TargetPath &target,
    const std::vector<Output> &outputs, const std::vector<std::string> &others,
    const std::string &configText,
    const std::vector<std::unique_ptr<runtime::Checkpoint>> &inputs,
    Staging &staging, runtime::WriteOptions &wopts, int lanes,
    const std::function<std::map<std::string, std::string>(const Output &)>
        &metadataOf,
    uint64_t total, runtime::WriteStats &stats, std::string &error) {
  const int threads = threadCount(opt);
  ProgressLine progress(static_cast<int64_t>(total), !opt.quiet);
  wopts.progress = &progress.counter();
  // Each rank's folder, other files and options, in rank order.
  std::vector<std::string> dirs;
  std::vector<runtime::WriteOptions> rankOptions;
  for (const Output &o : outputs) {
    std::string dir = staging.path();
    if (!o.folder.empty()) {
      if (!staging.makeDir(o.folder, error))
        return false;
      dir += "/" + o.folder;
    }
    if (!copyOtherFiles(others, dir, opt.fsync, error))
      return false;
    if (!configText.empty() &&
        !writeTextFile(configText, dir + "/config.json", opt.fsync, error))
      return false;
    dirs.push_back(dir);
    rankOptions.push_back(wopts);
    rankOptions.back().metadata = metadataOf(o);
  }
  std::atomic<bool> stop{false};
  std::atomic<size_t> next{0};
  std::vector<std::string> errors(outputs.size()); // each rank's failure
  std::mutex mutex;                                // guards stats
  auto lane = [&] {
    runtime::ThreadPool pool(std::max(1, threads / lanes));
    for (size_t k; !stop && (k = next++) < outputs.size();) {
      const Output &o = outputs[k];
      if (outputs.size() > 1)
        progress.setStage("rank " + std::to_string(k + 1) + "/" +
                          std::to_string(outputs.size()));
      runtime::WriteOptions &w = rankOptions[k];
      w.cancel = &stop;
      runtime::WriteStats one;
      bool ok = runtime::writeCheckpoint(*o.plan, o.sources, dirs[k], w, pool,
                                         one, errors[k]);
      if (ok && opt.verify) {
        progress.setStage("verifying " +
                          (o.folder.empty() ? target.full : o.folder));
        ok = runtime::verifyCheckpoint(*o.plan, o.sources, dirs[k], errors[k]);
      }
      if (!ok) {
        stop = true;
        return;
      }
      std::lock_guard<std::mutex> lock(mutex);
      stats.tensors += one.tensors;
      stats.files += one.files;
      stats.bytes += one.bytes;
      stats.zeroCopyBytes += one.zeroCopyBytes;
      stats.directBytes += one.directBytes;
      stats.sourceBytes += one.sourceBytes;
    }
  };
  std::vector<std::thread> helpers;
  for (int i = 1; i < lanes; ++i)
    helpers.emplace_back(lane);
  lane();
  for (std::thread &t : helpers)
    t.join();
  // The failure of the lowest rank that failed of itself (not stopped by
  // another's failure).
  for (const std::string &e : errors)
    if (!e.empty() && e != runtime::kCancelled) {
      error = e;
      return false;
    }
  if (stop) { // not reached: a failed rank always says why
    error = "writing the ranks failed";
    return false;
  }
  // A source that changed under the writer makes its output wrong.
  for (const auto &ckpt : inputs)
    if (!ckpt->unchanged(error))
      return false;
  return true;
}

/// Splits each output's targets into safetensors files; `total` is the bytes
/// of all of them and `tensors` their number.
bool planOutputFiles(
    const ConvertOptions &opt, const std::vector<Output> &outputs,
    runtime::WriteOptions &wopts,
    const std::function<std::map<std::string, std::string>(const Output &)>
        &metadataOf,
    std::vector<std::vector<runtime::PlannedFile>> &planned, uint64_t &total,
    int64_t &tensors, std::string &error) {
  planned.assign(outputs.size(), {});
  for (size_t k = 0; k < outputs.size(); ++k) {
    wopts.metadata = metadataOf(outputs[k]);
    if (!runtime::planFiles(*outputs[k].plan, outputs[k].sources, wopts,
                            planned[k], error)) {
      error = opt.mapping + ": " +
              (outputs[k].folder.empty() ? "" : outputs[k].folder + ": ") +
              "cannot be written as safetensors files: " + error;
      return false;
    }
    for (const runtime::PlannedFile &f : planned[k])
      if (__builtin_add_overflow(total, f.bytes, &total)) {
        error = opt.mapping + ": the output would hold more than 2^64 bytes";
        return false;
      }
    tensors += static_cast<int64_t>(outputs[k].plan->targets.size());
  }
  return true;
}

/// The disk must hold the weights (`total` bytes) and, in each of the
/// `outputs` checkpoints, a copy of the other files.
bool bytesNeeded(uint64_t total, const std::vector<std::string> &others,
                 size_t outputs, uint64_t &needed, std::string &error) {
  needed = total;
  for (const std::string &f : others) {
    struct stat st;
    if (::stat(f.c_str(), &st) == 0 &&
        __builtin_add_overflow(needed, (uint64_t)st.st_size * outputs,
                               &needed)) {
      error = f + ": too large to copy";
      return false;
    }
  }
  return true;
}

/// Writes every output into a staging folder beside --to (on the GPU with
/// --device cuda), then the manifest, and renames it into place unless a
/// source changed meanwhile; `lanes` ranks at once (rankLanes).
bool writeAndCommit(
    const ConvertOptions &opt, const TargetPath &target,
    const std::vector<Output> &outputs, const std::vector<std::string> &others,
    const std::string &configText,
    const std::vector<std::unique_ptr<runtime::Checkpoint>> &inputs,
    runtime::WriteOptions &wopts, int lanes,
    const std::function<std::map<std::string, std::string>(const Output &)>
        &metadataOf,
    uint64_t total, uint64_t needed, const convert::Manifest &manifest,
    const std::vector<std::string> &readPaths, runtime::WriteStats &stats,
    std::string &error) {
  // A file-size limit must fail the write (and clean up), not kill us.
  std::signal(SIGXFSZ, SIG_IGN);
  std::unique_ptr<runtime::cuda::Renderer> gpu;
  if (opt.device == "cuda") {
    gpu = runtime::cuda::Renderer::create({}, error);
    if (!gpu) {
      error = "--device cuda: " + error;
      return false;
    }
    wopts.renderer = gpu.get();
  }
  installSignalCleanup();
  std::vector<std::string> notes;
  auto staging = Staging::create(target, opt.force, opt.fsync, notes, error);
  for (const std::string &n : notes)
    note(n);
  if (!staging || !checkFreeSpace(target.parent, needed, error))
    return false;
  if (!writeOutputs(opt, target, outputs, others, configText, inputs, *staging,
                    wopts, lanes, metadataOf, total, stats, error))
    return false;
  return writeTextFile(convert::manifestJson(manifest),
                       staging->path() + "/" + convert::kManifestName,
                       opt.fsync, error) &&
         staging->commit(readPaths, error);
}

/// The one line said at the end (unless --quiet).
void printSummary(const ConvertOptions &opt, int64_t nranks, int lanes,
                  const runtime::WriteStats &stats, double seconds,
                  int64_t allocated) {
  const std::string atATime =
      lanes > 1 ? "; " + std::to_string(lanes) + " ranks at a time" : "";
  std::printf("%s: %s -> %s: %lld tensors in %lld files (%lld rank%s), %s "
              "in %.2f s (%s/s); %.0f%% copied by the kernel, %.0f%% written "
              "directly; peak memory "
              "%s (allocated %s)%s%s\n",
              kTool, opt.from.c_str(), opt.to.c_str(),
              static_cast<long long>(stats.tensors),
              static_cast<long long>(stats.files),
              static_cast<long long>(nranks), nranks == 1 ? "" : "s",
              formatBytes(stats.bytes).c_str(), seconds,
              formatBytes(stats.bytes / std::max(seconds, 1e-9)).c_str(),
              stats.bytes ? 100.0 * stats.zeroCopyBytes / stats.bytes : 0.0,
              stats.bytes ? 100.0 * stats.directBytes / stats.bytes : 0.0,
              formatBytes(peakResidentBytes()).c_str(),
              allocated > 0 ? formatBytes(allocated).c_str() : "unknown",
              atATime.c_str(), opt.verify ? "; verified" : "");
}

} // namespace

std::string optionsText(
    const std::vector<std::pair<std::string, int64_t>> &degrees, int64_t rank,
    const std::map<std::string, int64_t> &options) {
  std::string s;
  for (auto &[k, v] : degrees)
    s += (s.empty() ? "" : ",") + k + "=" + std::to_string(v);
  if (rank >= 0)
    s += ",rank=" + std::to_string(rank);
  for (auto &[k, v] : options) {
    bool axis = false;
    for (const auto &[a, degree] : degrees)
      axis |= a == k;
    if (!axis)
      s += "," + k + "=" + std::to_string(v);
  }
  return s;
}

int writeConversion(const Conversion &c, const std::vector<Output> &outputs) {
  const ConvertOptions &opt = *c.opt;
  const TargetPath &target = *c.target;
  const auto &inputs = *c.inputs;
  std::string error;
  runtime::WriteOptions wopts;
  wopts.maxFileBytes = opt.maxShardBytes;
  wopts.durable = opt.fsync;
  wopts.directWrites = opt.direct;
  wopts.stallMillis = opt.testStallMillis;
  auto metadataOf = [&](const Output &o) {
    return std::map<std::string, std::string>{
        {"format", "pt"},
        {"weight_layout.mapping", c.mappingName},
        {"weight_layout.options", o.options},
        {"weight_layout.plan_hash", o.planHash},
        {"weight_layout.version", WL_VERSION}};
  };
  uint64_t total = 0;
  int64_t tensors = 0;
  std::vector<std::vector<runtime::PlannedFile>> planned;
  if (!planOutputFiles(opt, outputs, wopts, metadataOf, planned, total,
                       tensors, error))
    return fail(error);
  std::vector<std::string> others, skipped;
  if (!listOtherFiles(*inputs.front(), others, skipped, error))
    return fail(error);
  std::vector<std::string> copied = others; // config.json rewritten: not copied
  if (!c.configText.empty())
    copied.erase(std::remove_if(copied.begin(), copied.end(),
                                [](const std::string &f) {
                                  return fs::path(f).filename() == "config.json";
                                }),
                 copied.end());
  uint64_t needed = 0;
  if (!bytesNeeded(total, others, outputs.size(), needed, error))
    return fail(error);
  std::vector<std::string> readPaths =
      inputPaths(opt.from, inputs, c.configPath, others);
  if (target.exists && opt.force &&
      !checkReplaceable(target, readPaths, error))
    return fail(error);
  if (!opt.emitPlans.empty()) {
    std::error_code ec;
    fs::create_directories(opt.emitPlans, ec);
    for (size_t k = 0; k < outputs.size(); ++k) {
      std::string path = opt.emitPlans + "/plan" +
                         (outputs.size() > 1 ? "-rank-" + std::to_string(k) : "") +
                         ".json";
      if (ec)
        return fail(opt.emitPlans + ": " + ec.message());
      // An earlier plan file is replaced; anything else of that name is
      // left alone.
      struct stat st;
      if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISREG(st.st_mode))
          return fail(path + " is " + fileTypeName(st.st_mode) +
                      ", not a plan file: not replaced");
        std::error_code rm;
        fs::remove(path, rm);
      }
      if (!writeTextFile(plan::toJson(*outputs[k].plan), path, false, error))
        return fail(error);
    }
  }
  if (opt.dryRun) {
    printDryRun(opt, target, c.ranks, outputs, planned, tensors, total);
    return 0;
  }
  if (!skipped.empty())
    note("not copying " + std::to_string(skipped.size()) +
         " file(s) of weights in other formats into the output, e.g. " +
         quoteName(fs::path(skipped.front()).filename().string()));
  runtime::WriteStats stats;
  const int lanes =
      rankLanes(outputs, threadCount(opt), /*gpu=*/opt.device == "cuda");
  if (!writeAndCommit(opt, target, outputs, copied, c.configText, inputs, wopts,
                      lanes, metadataOf, total, needed, c.manifest, readPaths,
                      stats, error))
    return fail(error);
  double seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - c.start)
                       .count();
  if (!opt.quiet)
    printSummary(opt, c.ranks, lanes, stats, seconds,
                 c.allocated ? c.allocated->stop() : 0);
  return 0;
}

} // namespace wl::tool
