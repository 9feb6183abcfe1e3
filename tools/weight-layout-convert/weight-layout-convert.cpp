//===- weight-layout-convert.cpp - convert a checkpoint with a mapping ----===//
//
// The command users run (docs/convert.md):
//   weight-layout-convert --mapping FILE --from DIR --to DIR [--tp N] [--ep N]
//     [--reverse] [--set KEY=VALUE ...] [--threads N] [--dry-run] [--verify]
//     [--force] [--quiet]
// It compiles the spec for the checkpoint's config.json (all ranks, coverage
// proven), checks the checkpoint's tensors against what the spec reads,
// writes each rank's checkpoint through the streaming writer into a staging
// folder, and renames it to --to at the end.
//
//===----------------------------------------------------------------------===//
#include "ConvertOptions.h"
#include "Progress.h"
#include "Staging.h"

#include "wl/Compile/CompileMapping.h"
#include "wl/Plan/Plan.h"
#include "wl/Runtime/CpuExecutor.h"
#include "wl/Runtime/CudaRenderer.h"
#include "wl/Runtime/Safetensors.h"
#include "wl/Runtime/StreamWriter.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;
using namespace wl;
using namespace wl::tool;

namespace {

constexpr const char *kTool = "weight-layout-convert";
constexpr const char *kManifest = "weight-layout.json";

int fail(const std::string &message) {
  std::fprintf(stderr, "%s: error: %s\n", kTool, message.c_str());
  return 1;
}

/// One checkpoint to write: its folder under --to ("" for --to itself), its
/// plan and where the plan's sources are.
struct Output {
  std::string folder;
  const layout::Plan *plan = nullptr;
  std::vector<runtime::SourceTensor> sources;
  std::string options; ///< "tp=2,ep=1,pp=1,rank=1" for provenance
};

/// Lists names under a heading, at most 20 of them.
std::string listNames(const std::string &heading,
                      const std::vector<std::string> &names) {
  std::string s = std::to_string(names.size()) + " " + heading + ":";
  for (size_t i = 0; i < names.size() && i < 20; ++i)
    s += "\n  " + names[i];
  if (names.size() > 20)
    s += "\n  ... and " + std::to_string(names.size() - 20) + " more";
  return s;
}

std::string describe(const layout::DType &t, const layout::Shape &shape) {
  std::string s(layout::safetensorsName(t));
  s += " [";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// Binds each plan source (a checkpoint tensor named `prefix + name`) to the
/// checkpoint's tensor, reporting missing ones and dtype/shape mismatches.
bool bindSources(const layout::Plan &plan, const runtime::Checkpoint &ckpt,
                 const std::string &prefix,
                 std::vector<runtime::SourceTensor> &out,
                 std::vector<std::string> &missing,
                 std::vector<std::string> &wrong) {
  out.clear();
  bool ok = true;
  for (const layout::TensorInfo &t : plan.sources) {
    std::string name = t.name.substr(prefix.size());
    runtime::Checkpoint::Located l = ckpt.find(name);
    if (!l.entry) {
      missing.push_back(name);
      ok = false;
    } else if (l.entry->dtype != t.dtype || l.entry->shape != t.shape) {
      wrong.push_back(l.file->path() + ": " + name + " is " +
                      describe(l.entry->dtype, l.entry->shape) +
                      ", the mapping reads " + describe(t.dtype, t.shape));
      ok = false;
    }
    out.push_back({l.file, l.entry});
  }
  return ok;
}

/// Copies the files of `from` that are not weights (config.json, tokenizer,
/// generation config, ...) into `to`.
bool copyOtherFiles(const runtime::Checkpoint &ckpt, const std::string &to,
                    bool durable, std::string &error) {
  std::set<std::string> weights(ckpt.weightFileNames().begin(),
                                ckpt.weightFileNames().end());
  std::error_code ec;
  std::vector<fs::path> files;
  for (auto it = fs::directory_iterator(ckpt.folder(), ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!it->is_regular_file(ec) || weights.count(name) || name == kManifest ||
        name[0] == '.')
      continue;
    files.push_back(it->path());
  }
  if (ec) {
    error = ckpt.folder() + ": cannot list: " + ec.message();
    return false;
  }
  std::sort(files.begin(), files.end());
  for (const fs::path &f : files) {
    if (!copyFile(f.string(), to + "/" + f.filename().string(), durable, error))
      return false;
  }
  return true;
}

std::string hex64(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

} // namespace

int main(int argc, char **argv) {
  ConvertOptions opt;
  bool help = false;
  std::string error;
  if (!parseConvertOptions(argc, argv, opt, help, error)) {
    std::fprintf(stderr, "%s: %s\n%s", kTool, error.c_str(), convertUsage());
    return 2;
  }
  if (help) {
    std::fputs(convertUsage(), stdout);
    return 0;
  }
  auto start = std::chrono::steady_clock::now();
  std::error_code ec;
  if (!fs::is_directory(opt.from, ec))
    return fail(opt.from + " is not a folder");

  // A reverse conversion reads what the forward one wrote: rank folders and
  // its manifest (which also says the degrees when none are given).
  fs::path manifestPath = fs::path(opt.from) / kManifest;
  if (opt.reverse && !opt.parallelGiven && fs::exists(manifestPath, ec)) {
    std::ifstream in(manifestPath);
    std::stringstream text;
    text << in.rdbuf();
    auto m = nlohmann::json::parse(text.str(), nullptr, false);
    if (m.is_discarded() || !m.is_object() || !m.contains("options") ||
        !m["options"].is_object())
      return fail(manifestPath.string() + ": not a weight-layout manifest");
    for (const char *k : {"tp", "ep", "pp"})
      if (m["options"].contains(k) && m["options"][k].is_number_integer())
        opt.options[k] = m["options"][k].get<int64_t>();
  }
  bool rankFolders = fs::is_directory(fs::path(opt.from) / "rank-0", ec);
  fs::path configPath = fs::path(opt.from) / "config.json";
  if (!fs::exists(configPath, ec) && opt.reverse && rankFolders)
    configPath = fs::path(opt.from) / "rank-0" / "config.json";
  if (!fs::exists(configPath, ec))
    return fail(configPath.string() + " is missing (the model's config.json)");

  MappingRequest request;
  request.spec = opt.mapping;
  request.config = configPath.string();
  request.options = opt.options;
  request.dtype = opt.dtype;
  request.reverse = opt.reverse;
  request.exact = opt.exact;
  std::unique_ptr<CompiledMapping> compiled = compileMapping(request, error);
  if (!compiled)
    return fail(error);
  const int64_t nranks = compiled->ranks();
  if (!compiled->rounded.empty())
    std::fprintf(stderr,
                 "%s: note: %zu tensor(s) come back through the inverse of an "
                 "affine or narrowing cast, which can round (not bit for bit; "
                 "--exact refuses), e.g. '%s'\n",
                 kTool, compiled->rounded.size(),
                 compiled->rounded.front().c_str());

  // Open the checkpoint(s) and check their tensors against the mapping.
  std::vector<std::unique_ptr<runtime::Checkpoint>> inputs;
  std::vector<Output> outputs;
  std::vector<std::string> missing, wrong, unused;
  auto options = [&](int64_t rank) {
    std::string s = "tp=" + std::to_string(compiled->tp) +
                    ",ep=" + std::to_string(compiled->ep) +
                    ",pp=" + std::to_string(compiled->pp);
    if (rank >= 0)
      s += ",rank=" + std::to_string(rank);
    for (auto &[k, v] : opt.options)
      if (k != "tp" && k != "ep" && k != "pp")
        s += "," + k + "=" + std::to_string(v);
    return s;
  };
  if (!opt.reverse) {
    auto ckpt = runtime::Checkpoint::open(opt.from, error);
    if (!ckpt)
      return fail(error);
    std::set<std::string> read;
    for (int64_t r = 0; r < nranks; ++r) {
      Output o;
      o.folder = nranks == 1 ? "" : "rank-" + std::to_string(r);
      o.plan = &compiled->rankPlans[r];
      o.options = options(nranks == 1 ? -1 : r);
      bindSources(*o.plan, *ckpt, "", o.sources, missing, wrong);
      for (const layout::TensorInfo &t : o.plan->sources)
        read.insert(t.name);
      outputs.push_back(std::move(o));
    }
    std::set<std::string> dropped(compiled->dropped.begin(),
                                  compiled->dropped.end());
    for (const runtime::Checkpoint::Located &l : ckpt->tensors())
      if (!read.count(l.entry->name) && !dropped.count(l.entry->name))
        unused.push_back(l.entry->name);
    inputs.push_back(std::move(ckpt));
  } else {
    if (nranks > 1 && !rankFolders)
      return fail(opt.from + " has no rank-0/ folder: a conversion at " +
                  options(-1) + " writes rank-0 .. rank-" +
                  std::to_string(nranks - 1));
    Output o;
    o.plan = &compiled->inverse;
    o.options = options(-1) + ",reverse=1";
    o.sources.resize(o.plan->sources.size());
    for (int64_t r = 0; r < nranks; ++r) {
      std::string dir =
          nranks == 1 ? opt.from : opt.from + "/rank-" + std::to_string(r);
      if (nranks > 1 && !fs::is_directory(dir, ec))
        return fail(dir + " is missing: the conversion at " + options(-1) +
                    " has " + std::to_string(nranks) + " ranks");
      auto ckpt = runtime::Checkpoint::open(dir, error);
      if (!ckpt)
        return fail(error);
      // The rank's folder holds exactly the rank's tensors.
      std::string prefix = nranks == 1 ? "" : "rank-" + std::to_string(r) + "/";
      std::set<std::string> expected;
      for (const layout::TensorInfo &t : compiled->rankPlans[r].targets)
        expected.insert(t.name);
      for (const runtime::Checkpoint::Located &l : ckpt->tensors())
        if (!expected.count(l.entry->name))
          unused.push_back(l.file->path() + ": " + l.entry->name);
      for (size_t s = 0; s < o.plan->sources.size(); ++s) {
        const layout::TensorInfo &t = o.plan->sources[s];
        if (t.name.rfind(prefix, 0) != 0)
          continue;
        std::string name = t.name.substr(prefix.size());
        runtime::Checkpoint::Located l = ckpt->find(name);
        if (!l.entry)
          missing.push_back(dir + ": " + name);
        else if (l.entry->dtype != t.dtype || l.entry->shape != t.shape)
          wrong.push_back(l.file->path() + ": " + name + " is " +
                          describe(l.entry->dtype, l.entry->shape) +
                          ", the mapping reads " + describe(t.dtype, t.shape));
        o.sources[s] = {l.file, l.entry};
      }
      // Tensors the inverse does not read (replicas) must still be there.
      for (const std::string &name : expected)
        if (!ckpt->find(name).entry &&
            std::find(missing.begin(), missing.end(), dir + ": " + name) ==
                missing.end())
          missing.push_back(dir + ": " + name);
      inputs.push_back(std::move(ckpt));
    }
    outputs.push_back(std::move(o));
  }
  std::string problems;
  auto add = [&](std::vector<std::string> names, const std::string &h) {
    // Several ranks read the same tensor: name it once.
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    if (!names.empty())
      problems += (problems.empty() ? "" : "\n") + listNames(h, names);
  };
  add(unused, "checkpoint tensor(s) that the mapping neither reads nor drops "
              "(a spec for another model or version?)");
  add(missing, "tensor(s) the mapping reads that the checkpoint lacks");
  add(wrong, "tensor(s) whose dtype or shape contradicts the config and the "
             "mapping (--dtype T picks another dtype)");
  if (!problems.empty())
    return fail(opt.from + ": " + problems);

  // What will be written.
  runtime::WriteOptions wopts;
  wopts.maxFileBytes = opt.maxShardBytes;
  wopts.durable = opt.fsync;
  if (const char *stall = std::getenv("WL_CONVERT_TEST_STALL_MS"))
    wopts.stallMillis = std::atoi(stall); // tests interrupt a conversion
  uint64_t total = 0;
  int64_t tensors = 0;
  for (const Output &o : outputs) {
    for (const runtime::PlannedFile &f : runtime::planFiles(*o.plan, wopts))
      total += f.bytes;
    tensors += static_cast<int64_t>(o.plan->targets.size());
  }
  const runtime::Checkpoint &meta = *inputs.front();
  if (opt.dryRun) {
    std::printf("%s: dry run: %s -> %s (%lld rank%s), nothing written\n", kTool,
                opt.from.c_str(), opt.to.c_str(),
                static_cast<long long>(nranks), nranks == 1 ? "" : "s");
    for (const Output &o : outputs) {
      int64_t read = 0;
      for (const layout::Piece &p : o.plan->pieces)
        if (!p.isFill())
          read += p.numElements() *
                  layout::dtypeSize(o.plan->sources[p.source].dtype);
      std::printf("  %s/%s: %zu tensors from %zu source tensors (%s read)\n",
                  opt.to.c_str(), o.folder.c_str(), o.plan->targets.size(),
                  o.plan->sources.size(), formatBytes(read).c_str());
      for (const runtime::PlannedFile &f : runtime::planFiles(*o.plan, wopts))
        std::printf("    %s: %zu tensors, %s\n", f.name.c_str(),
                    f.targets.size(), formatBytes(f.bytes).c_str());
    }
    std::printf("  %lld tensors, %s in all\n", static_cast<long long>(tensors),
                formatBytes(total).c_str());
    return 0;
  }

  // A file-size limit must fail the write (and clean up), not kill us.
  std::signal(SIGXFSZ, SIG_IGN);
  std::unique_ptr<runtime::cuda::Renderer> gpu;
  if (opt.device == "cuda") {
    gpu = runtime::cuda::Renderer::create({}, error);
    if (!gpu)
      return fail("--device cuda: " + error);
    wopts.renderer = gpu.get();
  }
  installSignalCleanup();
  auto staging = Staging::create(opt.to, opt.force, opt.fsync, error);
  if (!staging)
    return fail(error);
  {
    fs::path parent = fs::path(staging->path()).parent_path();
    if (!checkFreeSpace(parent.empty() ? "." : parent.string(), total, error))
      return fail(error);
  }
  int threads = opt.threads > 0
                    ? opt.threads
                    : std::max(1u, std::thread::hardware_concurrency());
  runtime::ThreadPool pool(threads);
  runtime::WriteStats stats;
  std::string mappingName =
      fs::path(opt.mapping).parent_path().filename().string() + "/" +
      fs::path(opt.mapping).filename().string();
  {
    ProgressLine progress(static_cast<int64_t>(total), !opt.quiet);
    wopts.progress = &progress.counter();
    for (size_t k = 0; k < outputs.size(); ++k) {
      const Output &o = outputs[k];
      std::string dir = staging->path();
      if (!o.folder.empty()) {
        if (!staging->makeDir(o.folder, error))
          return fail(error);
        dir += "/" + o.folder;
      }
      if (outputs.size() > 1)
        progress.setStage("rank " + std::to_string(k + 1) + "/" +
                          std::to_string(outputs.size()));
      if (!copyOtherFiles(meta, dir, opt.fsync, error))
        return fail(error);
      wopts.metadata = {
          {"format", "pt"},
          {"weight_layout.mapping", mappingName},
          {"weight_layout.options", o.options},
          {"weight_layout.plan_hash", hex64(plan::planHash(*o.plan))},
          {"weight_layout.version", WL_VERSION}};
      runtime::WriteStats one;
      if (!runtime::writeCheckpoint(*o.plan, o.sources, dir, wopts, pool, one,
                                    error))
        return fail(error);
      stats.tensors += one.tensors;
      stats.files += one.files;
      stats.bytes += one.bytes;
      stats.zeroCopyBytes += one.zeroCopyBytes;
      stats.sourceBytes += one.sourceBytes;
      if (opt.verify) {
        progress.setStage("verifying " +
                          (o.folder.empty() ? opt.to : o.folder));
        if (!runtime::verifyCheckpoint(*o.plan, o.sources, dir, error))
          return fail(error);
      }
    }
  }
  if (nranks > 1 && !opt.reverse) {
    nlohmann::ordered_json m;
    m["format"] = "weight-layout-ranks/1";
    m["mapping"] = mappingName;
    m["model_type"] = compiled->modelType;
    m["from"] = compiled->from;
    m["to"] = compiled->to;
    m["options"] = {
        {"tp", compiled->tp}, {"ep", compiled->ep}, {"pp", compiled->pp}};
    for (auto &[k, v] : opt.options)
      if (k != "tp" && k != "ep" && k != "pp")
        m["options"][k] = v;
    m["ranks"] = nranks;
    m["rank_order"] = "rank = (pp_rank * ep + ep_rank) * tp + tp_rank";
    std::ofstream out(staging->path() + "/" + kManifest);
    out << m.dump(1) << "\n";
    if (!out)
      return fail(staging->path() + "/" + kManifest + ": cannot write");
  }
  if (!staging->commit(error))
    return fail(error);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (!opt.quiet)
    std::printf("%s: %s -> %s: %lld tensors in %lld files (%lld rank%s), %s "
                "in %.2f s (%s/s); %.0f%% copied by the kernel; peak memory "
                "%s%s\n",
                kTool, opt.from.c_str(), opt.to.c_str(),
                static_cast<long long>(stats.tensors),
                static_cast<long long>(stats.files),
                static_cast<long long>(nranks), nranks == 1 ? "" : "s",
                formatBytes(stats.bytes).c_str(), seconds,
                formatBytes(stats.bytes / std::max(seconds, 1e-9)).c_str(),
                stats.bytes ? 100.0 * stats.zeroCopyBytes / stats.bytes : 0.0,
                formatBytes(peakResidentBytes()).c_str(),
                opt.verify ? "; verified" : "");
  return 0;
}
