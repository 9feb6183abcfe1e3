//===- weight-layout-convert.cpp - convert a checkpoint with a mapping ----===//
//
// The command users run (docs/convert.md):
//   weight-layout-convert --mapping FILE --from DIR --to DIR [--tp N] [--ep N]
//     [--reverse] [--set KEY=VALUE ...] [--threads N] [--dry-run] [--verify]
//     [--force] [--quiet]
// In this order, so that bad input costs little and nothing is written
// before all of it is checked: resolve --to (TargetPath.h); open the
// checkpoint(s) and compare their tensor names with what the spec reads or
// writes for the config (CheckNames.h); compile the spec (all ranks,
// coverage proven); check dtypes, shapes and, on the way back, each rank
// file's provenance (Provenance.h); then write each rank's checkpoint
// through the streaming writer into a staging folder (Staging.h) and
// rename it to --to, unless a source changed meanwhile.
//
//===----------------------------------------------------------------------===//
#include "CheckNames.h"
#include "ConvertOptions.h"
#include "OtherFiles.h"
#include "Progress.h"
#include "Provenance.h"
#include "Staging.h"
#include "TargetPath.h"

#include "wl/Compile/CompileMapping.h"
#include "wl/Compile/MappingLibrary.h"
#include "wl/MappingSpec/Spec.h"
#include "wl/Convert/Manifest.h"
#include "wl/Layout/RankNames.h"
#include "wl/Plan/Plan.h"
#include "wl/Runtime/CpuExecutor.h"
#include "wl/Cuda/CudaRenderer.h"
#include "wl/Safetensors/Safetensors.h"
#include "wl/Runtime/StreamWriter.h"
#include "wl/Support/Quote.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <functional>
#include <set>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace wl;
using namespace wl::tool;

namespace {

constexpr const char *kTool = "weight-layout-convert";

int fail(const std::string &message) {
  std::fprintf(stderr, "%s: error: %s\n", kTool, message.c_str());
  return 1;
}

void note(const std::string &message) {
  std::fprintf(stderr, "%s: note: %s\n", kTool, message.c_str());
}

/// One checkpoint to write: its folder under --to ("" for --to itself), its
/// plan and where the plan's sources are.
struct Output {
  std::string folder;
  const layout::Plan *plan = nullptr;
  std::vector<runtime::SourceTensor> sources;
  std::string options; ///< "tp=2,ep=1,pp=1,rank=1" for provenance
};

/// Lists entries (already quoted) under a heading, at most 20 of them.
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

/// Collects the problems found in the inputs, reported together.
struct Problems {
  std::vector<std::string> unused, missing, wrong;
  bool missingStopped = false;

  void addNames(const NameProblems &p, const std::string &where) {
    for (const std::string &n : p.missing)
      missing.push_back(where + quoteName(n));
    for (const std::string &n : p.unused)
      unused.push_back(where + quoteName(n));
    missingStopped |= p.stopped;
  }
  /// The whole message, or "" when there is no problem.
  std::string text() const {
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
};

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

bool isFolder(const std::string &p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool exists(const std::string &p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

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

/// The checkpoint(s) a conversion reads, and the degrees it runs at.
struct Inputs {
  /// The spec's rank axes (fastest first) with their degrees.
  std::vector<std::pair<std::string, int64_t>> degrees;
  int64_t ranks = 1;
  std::vector<std::unique_ptr<runtime::Checkpoint>> ckpts;
  std::vector<std::string> rankDirs; ///< --reverse: one folder per rank
  bool isAxis(const std::string &k) const {
    for (const auto &[axis, degree] : degrees)
      if (axis == k)
        return true;
    return false;
  }
  /// "tp=2,ep=1,pp=1[,rank=1][,key=value...]" (the axes in the mesh's
  /// order), as the metadata records it.
  std::string options(const ConvertOptions &opt, int64_t rank) const {
    std::string s;
    for (auto &[k, v] : degrees)
      s += (s.empty() ? "" : ",") + k + "=" + std::to_string(v);
    if (rank >= 0)
      s += ",rank=" + std::to_string(rank);
    for (auto &[k, v] : opt.options)
      if (!isAxis(k))
        s += "," + k + "=" + std::to_string(v);
    return s;
  }
};

/// Opens the checkpoint (or, with --reverse, every rank folder) and compares
/// its tensor names with what the spec reads (writes) for the config: the
/// work stays proportional to what is really there.
bool openInputs(const ConvertOptions &opt, bool rankFolders, mapping::Env &env,
                Inputs &in, std::string &error) {
  in.degrees.clear();
  for (const std::string &axis : env.spec().mesh)
    in.degrees.emplace_back(axis, env.option(axis));
  in.ranks = env.ranks(); // at most limits::kMaxRanks
  Problems problems;
  if (!opt.reverse) {
    auto ckpt = runtime::Checkpoint::open(opt.from, error);
    if (!ckpt)
      return false;
    NameProblems names;
    if (!checkSourceNames(env, in.ranks, *ckpt, names, error))
      return false;
    problems.addNames(names, "");
    in.ckpts.push_back(std::move(ckpt));
  } else {
    if (in.ranks > 1 && !rankFolders) {
      error = opt.from + " has no rank-0/ folder: a conversion at " +
              in.options(opt, -1) + " writes rank-0 .. rank-" +
              std::to_string(in.ranks - 1);
      return false;
    }
    for (int64_t r = 0; r < in.ranks; ++r) {
      std::string dir =
          in.ranks == 1 ? opt.from : opt.from + "/" + layout::rankFolder(r);
      if (in.ranks > 1 && !isFolder(dir)) {
        error = dir + " is missing: the conversion at " + in.options(opt, -1) +
                " has " + std::to_string(in.ranks) + " ranks";
        return false;
      }
      in.rankDirs.push_back(dir);
    }
    for (int64_t r = 0; r < in.ranks; ++r) {
      auto ckpt = runtime::Checkpoint::open(in.rankDirs[r], error);
      if (!ckpt)
        return false;
      NameProblems names;
      if (!checkRankNames(env, r, *ckpt, names, error))
        return false;
      problems.addNames(names, in.rankDirs[r] + ": ");
      in.ckpts.push_back(std::move(ckpt));
    }
  }
  if (!problems.text().empty()) {
    error = opt.from + ": " + problems.text();
    return false;
  }
  return true;
}

/// Compiles the spec for the config and options; its beforeIR hook opens
/// the checkpoint(s) into `in` and compares their names with the spec's.
std::unique_ptr<CompiledMapping>
compileWithInputs(const ConvertOptions &opt, const std::string &configPath,
                  bool rankFolders, Inputs &in, std::string &error) {
  MappingRequest request;
  request.spec = opt.mapping;
  request.config = configPath;
  request.options = opt.options;
  request.dtype = opt.dtype;
  request.reverse = opt.reverse;
  request.exact = opt.exact;
  request.beforeIR = [&](mapping::Env &env, std::string &why) {
    return openInputs(opt, rankFolders, env, in, why);
  };
  return compileMapping(request, error);
}

/// Binds every plan source of the outputs: forward, one output per rank
/// reading the checkpoint; reverse, one output reading every rank folder,
/// whose files' provenance is checked first (Provenance.h). Missing tensors
/// and dtype/shape mismatches go to `problems`; a provenance mismatch fails.
bool bindOutputs(const ConvertOptions &opt, const std::string &mappingName,
                 const CompiledMapping &compiled, const Inputs &in,
                 std::vector<Output> &outputs, Problems &problems,
                 std::string &error) {
  const int64_t nranks = in.ranks;
  if (!opt.reverse) {
    const runtime::Checkpoint &ckpt = *in.ckpts.front();
    for (int64_t r = 0; r < nranks; ++r) {
      Output o;
      o.folder = nranks == 1 ? "" : layout::rankFolder(r);
      o.plan = &compiled.rankPlans[r];
      o.options = in.options(opt, nranks == 1 ? -1 : r);
      for (const layout::TensorInfo &t : o.plan->sources)
        o.sources.push_back(bindSource(t, t.name, ckpt, "", problems));
      outputs.push_back(std::move(o));
    }
    return true;
  }
  Output o;
  o.plan = &compiled.inverse;
  o.options = in.options(opt, -1) + ",reverse=1";
  o.sources.resize(o.plan->sources.size());
  int foreign = 0;
  for (int64_t r = 0; r < nranks; ++r) {
    Provenance want{mappingName, in.options(opt, nranks == 1 ? -1 : r),
                    hex64(plan::planHash(compiled.rankPlans[r])),
                    nranks == 1 ? -1 : r};
    if (!checkProvenance(*in.ckpts[r], want, foreign, error))
      return false;
    std::string prefix = nranks == 1 ? "" : layout::rankPrefix(r);
    for (size_t s = 0; s < o.plan->sources.size(); ++s) {
      const layout::TensorInfo &t = o.plan->sources[s];
      if (t.name.compare(0, prefix.size(), prefix) == 0)
        o.sources[s] = bindSource(t, t.name.substr(prefix.size()),
                                  *in.ckpts[r], in.rankDirs[r] + ": ",
                                  problems);
    }
  }
  if (foreign > 0)
    note(std::to_string(foreign) +
         " input file(s) carry no weight_layout provenance (not written by "
         "this tool): their rank is taken from their folder");
  outputs.push_back(std::move(o));
  return true;
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

/// Writes every output checkpoint into the staging folder (with the other
/// files, and re-read against its plan with --verify), then checks that no
/// source changed while it was read.
bool writeOutputs(
    const ConvertOptions &opt, const TargetPath &target,
    const std::vector<Output> &outputs, const std::vector<std::string> &others,
    const std::vector<std::unique_ptr<runtime::Checkpoint>> &inputs,
    Staging &staging, runtime::WriteOptions &wopts,
    const std::function<std::map<std::string, std::string>(const Output &)>
        &metadataOf,
    uint64_t total, runtime::WriteStats &stats, std::string &error) {
  int threads = opt.threads > 0
                    ? opt.threads
                    : std::max(1u, std::thread::hardware_concurrency());
  runtime::ThreadPool pool(threads);
  ProgressLine progress(static_cast<int64_t>(total), !opt.quiet);
  wopts.progress = &progress.counter();
  for (size_t k = 0; k < outputs.size(); ++k) {
    const Output &o = outputs[k];
    std::string dir = staging.path();
    if (!o.folder.empty()) {
      if (!staging.makeDir(o.folder, error))
        return false;
      dir += "/" + o.folder;
    }
    if (outputs.size() > 1)
      progress.setStage("rank " + std::to_string(k + 1) + "/" +
                        std::to_string(outputs.size()));
    if (!copyOtherFiles(others, dir, opt.fsync, error))
      return false;
    wopts.metadata = metadataOf(o);
    runtime::WriteStats one;
    if (!runtime::writeCheckpoint(*o.plan, o.sources, dir, wopts, pool, one,
                                  error))
      return false;
    stats.tensors += one.tensors;
    stats.files += one.files;
    stats.bytes += one.bytes;
    stats.zeroCopyBytes += one.zeroCopyBytes;
    stats.sourceBytes += one.sourceBytes;
    if (opt.verify) {
      progress.setStage("verifying " +
                        (o.folder.empty() ? target.full : o.folder));
      if (!runtime::verifyCheckpoint(*o.plan, o.sources, dir, error))
        return false;
    }
    // A source that changed under the writer makes its output wrong.
    for (const auto &ckpt : inputs)
      if (!ckpt->unchanged(error))
        return false;
  }
  return true;
}

/// --reverse: checks the manifest of the folder read (if any) against the
/// mapping, and takes the options the forward run was given where none are.
bool readForwardManifest(ConvertOptions &opt, const std::string &mappingName,
                         std::string &error) {
  std::string manifestPath = opt.from + "/" + convert::kManifestName;
  if (!exists(manifestPath))
    return true;
  std::optional<convert::Manifest> m = convert::readManifest(manifestPath, error);
  if (!m)
    return false;
  if (m->reverse) {
    error = manifestPath + ": " + opt.from +
            " was written by a --reverse conversion: it is in the mapping's "
            "source layout already";
    return false;
  }
  if (m->mapping != mappingName) {
    error = manifestPath + ": " + opt.from + " was converted with " +
            quoteName(m->mapping) + ", not " + quoteName(mappingName);
    return false;
  }
  for (const auto &[k, v] : m->options) {
    bool degree = std::count(m->mesh.begin(), m->mesh.end(), k) > 0;
    if (degree ? !opt.parallelGiven : !opt.options.count(k))
      opt.options[k] = v; // what the forward run was given
  }
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
    if (!runtime::planFiles(*outputs[k].plan, wopts, planned[k], error)) {
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

/// The manifest of the folder written: forward, the options and degrees
/// given; reverse, one checkpoint in the spec's source layout.
convert::Manifest outputManifest(const ConvertOptions &opt,
                                 const std::string &mappingName,
                                 const CompiledMapping &compiled,
                                 const Inputs &in) {
  convert::Manifest manifest;
  manifest.mapping = mappingName;
  manifest.modelType = compiled.modelType;
  manifest.from = opt.reverse ? compiled.to : compiled.from;
  manifest.to = opt.reverse ? compiled.from : compiled.to;
  manifest.reverse = opt.reverse;
  if (opt.reverse) {
    manifest.options = {{"tp", 1}, {"ep", 1}, {"pp", 1}};
    manifest.ranks = 1;
  } else {
    manifest.mesh.clear();
    manifest.options = opt.options;
    for (const auto &[axis, degree] : in.degrees) {
      manifest.mesh.push_back(axis);
      manifest.options[axis] = degree;
    }
    manifest.ranks = in.ranks;
  }
  return manifest;
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
/// source changed meanwhile.
bool writeAndCommit(
    const ConvertOptions &opt, const TargetPath &target,
    const std::vector<Output> &outputs, const std::vector<std::string> &others,
    const std::vector<std::unique_ptr<runtime::Checkpoint>> &inputs,
    runtime::WriteOptions &wopts,
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
  if (!writeOutputs(opt, target, outputs, others, inputs, *staging, wopts,
                    metadataOf, total, stats, error))
    return false;
  return writeTextFile(convert::manifestJson(manifest),
                       staging->path() + "/" + convert::kManifestName,
                       opt.fsync, error) &&
         staging->commit(readPaths, error);
}

/// The one line said at the end (unless --quiet).
void printSummary(const ConvertOptions &opt, int64_t nranks,
                  const runtime::WriteStats &stats, double seconds) {
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
}

/// --list-mappings: the library's whole mappings, one per line.
void printLibrary() {
  std::vector<std::string> skipped;
  std::vector<LibraryMapping> all = listMappings(skipped);
  for (const std::string &why : skipped)
    note("not listed: " + why);
  size_t width = 0;
  for (const LibraryMapping &m : all)
    width = std::max(width, escapeText(m.name).size());
  for (const LibraryMapping &m : all) {
    std::string direction = escapeText(m.modelType) + ": " +
                            escapeText(m.from) + " -> " + escapeText(m.to);
    std::printf("%-*s  %-36s  %s\n", static_cast<int>(width),
                escapeText(m.name).c_str(), direction.c_str(),
                escapeText(m.summary).c_str());
  }
  std::vector<std::string> path = mappingSearchPath();
  std::printf("%zu mapping(s) in", all.size());
  for (size_t i = 0; i < path.size(); ++i)
    std::printf("%s %s", i ? "," : "", escapeText(path[i]).c_str());
  std::printf(" ($WL_MAPPINGS_PATH, then the built-in library)\n");
}

/// Sets opt.mapping to the spec file: the one --mapping names (a file, or a
/// library name), or with --to-format the library's one spec for the
/// config's model_type (said in a note).
bool findSpec(ConvertOptions &opt, const std::string &configPath,
              std::string &error) {
  if (!opt.mapping.empty()) {
    opt.mapping = resolveMappingArgument(opt.mapping, error);
    return !opt.mapping.empty();
  }
  if (!exists(configPath)) {
    error = configPath + " is missing (the model's config.json)";
    return false;
  }
  // On the way back, the manifest names the mapping the forward run used.
  std::string manifestPath = opt.from + "/" + convert::kManifestName;
  if (opt.reverse && exists(manifestPath)) {
    std::optional<convert::Manifest> m =
        convert::readManifest(manifestPath, error);
    if (!m)
      return false;
    std::vector<std::string> tried;
    std::string found = findMapping(m->mapping, tried);
    if (!m->reverse && m->from == opt.toFormat && !found.empty()) {
      note("--to-format " + quoteName(opt.toFormat) + ": using " +
           quoteName(found) + ", which " + manifestPath + " names");
      opt.mapping = found;
      return true;
    }
  }
  std::string modelType;
  if (!mapping::configModelType(configPath, modelType, error))
    return false;
  if (modelType.empty()) {
    error = configPath + ": has no model_type, so --to-format cannot pick a "
                         "mapping (give --mapping)";
    return false;
  }
  std::string why;
  opt.mapping = pickMapping(modelType, opt.toFormat, opt.reverse, why);
  if (opt.mapping.empty()) {
    error = configPath + ": --to-format " + quoteName(opt.toFormat) + ": " +
            why;
    return false;
  }
  note("--to-format " + quoteName(opt.toFormat) + ": using " +
       quoteName(opt.mapping) + " for model_type " + quoteName(modelType));
  return true;
}

} // namespace

int main(int argc, char **argv) {
  ConvertOptions opt;
  std::string error;
  if (!parseConvertOptions(argc, argv, opt, error)) {
    std::fprintf(stderr, "%s: %s\n%s", kTool, error.c_str(), convertUsage());
    return 2;
  }
  switch (opt.action) {
  case ConvertOptions::Action::Help:
    std::fputs(convertUsage(), stdout);
    return 0;
  case ConvertOptions::Action::Version:
    std::printf("%s %s\n", kTool, WL_VERSION);
    return 0;
  case ConvertOptions::Action::ListMappings:
    printLibrary();
    return 0;
  case ConvertOptions::Action::Convert:
    break;
  }
  auto start = std::chrono::steady_clock::now();
  if (!isFolder(opt.from))
    return fail(opt.from + " is not a folder");
  TargetPath target;
  if (!resolveTarget(opt.to, target, error))
    return fail(error);
  if (target.exists && !opt.force && !opt.dryRun)
    return fail(target.full + " exists (use --force to replace it)");
  bool rankFolders = isFolder(opt.from + "/" + layout::rankFolder(0));
  std::string configPath = opt.from + "/config.json";
  if (!exists(configPath) && opt.reverse && rankFolders)
    configPath = opt.from + "/" + layout::rankPrefix(0) + "config.json";
  if (!findSpec(opt, configPath, error))
    return fail(error);
  std::string mappingName =
      fs::path(opt.mapping).parent_path().filename().string() + "/" +
      fs::path(opt.mapping).filename().string();

  // A reverse conversion reads what the forward one wrote: rank folders and
  // its manifest (which also says the degrees when none are given).
  if (opt.reverse && !readForwardManifest(opt, mappingName, error))
    return fail(error);
  if (!exists(configPath))
    return fail(configPath + " is missing (the model's config.json)");

  // The spec compiled; before any IR, the checkpoint(s) opened and their
  // names compared with the spec's (CheckNames.h).
  Inputs in;
  std::unique_ptr<CompiledMapping> compiled =
      compileWithInputs(opt, configPath, rankFolders, in, error);
  if (!compiled)
    return fail(error);
  const int64_t nranks = in.ranks;
  std::vector<std::unique_ptr<runtime::Checkpoint>> &inputs = in.ckpts;
  Problems problems;
  if (!compiled->rounded.empty())
    note(std::to_string(compiled->rounded.size()) +
         " tensor(s) come back through the inverse of an affine or narrowing "
         "cast, which can round (not bit for bit; --exact refuses), e.g. " +
         quoteName(compiled->rounded.front()));

  // Bind every plan source; on the way back, check each rank file's
  // provenance before any tensor is read.
  std::vector<Output> outputs;
  if (!bindOutputs(opt, mappingName, *compiled, in, outputs, problems, error))
    return fail(error);
  if (!problems.text().empty())
    return fail(opt.from + ": " + problems.text());

  // What will be written.
  runtime::WriteOptions wopts;
  wopts.maxFileBytes = opt.maxShardBytes;
  wopts.durable = opt.fsync;
  wopts.stallMillis = opt.testStallMillis;
  auto metadataOf = [&](const Output &o) {
    return std::map<std::string, std::string>{
        {"format", "pt"},
        {"weight_layout.mapping", mappingName},
        {"weight_layout.options", o.options},
        {"weight_layout.plan_hash", hex64(plan::planHash(*o.plan))},
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
  uint64_t needed = 0;
  if (!bytesNeeded(total, others, outputs.size(), needed, error))
    return fail(error);
  std::vector<std::string> readPaths =
      inputPaths(opt.from, inputs, configPath, others);
  if (target.exists && opt.force &&
      !checkReplaceable(target, readPaths, error))
    return fail(error);
  if (opt.dryRun) {
    printDryRun(opt, target, nranks, outputs, planned, tensors, total);
    return 0;
  }
  if (!skipped.empty())
    note("not copying " + std::to_string(skipped.size()) +
         " file(s) of weights in other formats into the output, e.g. " +
         quoteName(fs::path(skipped.front()).filename().string()));

  convert::Manifest manifest = outputManifest(opt, mappingName, *compiled, in);
  runtime::WriteStats stats;
  if (!writeAndCommit(opt, target, outputs, others, inputs, wopts, metadataOf,
                      total, needed, manifest, readPaths, stats, error))
    return fail(error);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (!opt.quiet)
    printSummary(opt, nranks, stats, seconds);
  return 0;
}
