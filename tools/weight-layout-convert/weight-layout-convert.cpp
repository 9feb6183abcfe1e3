//===- weight-layout-convert.cpp - convert a checkpoint with a mapping ----===//
//
// The command users run (docs/convert.md):
//   weight-layout-convert --mapping FILE --from DIR --to DIR [--tp N] [--ep N]
//     [--reverse] [--set KEY=VALUE ...] [--from-mapping FILE --from-tp N ...]
//     [--threads N] [--dry-run] [--verify]
//     [--force] [--quiet]
// In this order, so that bad input costs little and nothing is written
// before all of it is checked: resolve --to (TargetPath.h); open the
// checkpoint(s) and compare their tensor names with what the spec reads or
// writes for the config (CheckNames.h); compile the spec (all ranks,
// coverage proven); check dtypes, shapes and, on the way back, each rank
// file's provenance (Provenance.h); then write each rank's checkpoint
// through the streaming writer into a staging folder (Staging.h) and
// rename it to --to, unless a source changed meanwhile (Outputs.h). A
// --from that another mapping's forward conversion wrote (or
// --from-mapping) is resharded instead (Reshard.h).
//
//===----------------------------------------------------------------------===//
#include "CheckNames.h"
#include "ConvertOptions.h"
#include "Mxfp4Inputs.h"
#include "Outputs.h"
#include "Provenance.h"
#include "Quantized.h"
#include "Reshard.h"
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

/// Adds the name problems of one checkpoint (folder `where`).
void addNames(Problems &problems, const NameProblems &p,
              const std::string &where) {
  for (const std::string &n : p.missing)
    problems.missing.push_back(where + quoteName(n));
  for (const std::string &n : p.unused)
    problems.unused.push_back(where + quoteName(n));
  problems.missingStopped |= p.stopped;
}

/// The checkpoint(s) a conversion reads, and the degrees it runs at.
struct Inputs {
  /// The spec's rank axes (fastest first) with their degrees.
  std::vector<std::pair<std::string, int64_t>> degrees;
  int64_t ranks = 1;
  std::vector<std::unique_ptr<runtime::Checkpoint>> ckpts;
  std::vector<std::string> rankDirs; ///< --reverse: one folder per rank
  /// Block FP8: scale grids travel with their data, not through the spec.
  bool blockFp8 = false;
  /// MXFP4 (config): the tensors the checkpoint holds as pairs.
  bool mxfp4 = false;
  std::set<std::string> mxfp4Tensors;
  /// What the metadata records (optionsText).
  std::string options(const ConvertOptions &opt, int64_t rank) const {
    return optionsText(degrees, rank, opt.options);
  }
};

/// Says which weight files of the checkpoint's folder it does not read (a
/// folder with model.safetensors reads that file alone; with an index,
/// the files it names), so that tensors beside them are not skipped
/// silently.
void noteUnreadFiles(const runtime::Checkpoint &ckpt, const std::string &shown) {
  std::set<std::string> read;
  for (const auto &f : ckpt.files())
    read.insert(fs::path(f->path()).filename().string());
  std::vector<std::string> unread;
  for (const std::string &n : ckpt.weightFileNames())
    if (n.size() > 12 && n.compare(n.size() - 12, 12, ".safetensors") == 0 &&
        !read.count(n))
      unread.push_back(n);
  if (unread.empty())
    return;
  std::string list;
  for (size_t i = 0; i < unread.size() && i < 3; ++i)
    list += (i ? ", " : "") + quoteName(unread[i]);
  if (unread.size() > 3)
    list += ", ...";
  note(shown + ": " +
       (read.count("model.safetensors")
            ? std::string("model.safetensors is the checkpoint")
            : std::string("its index names the checkpoint's files")) +
       "; " + std::to_string(unread.size()) +
       " other .safetensors file(s) beside it not read: " + list);
}

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
    noteUnreadFiles(*ckpt, opt.from);
    NameProblems names;
    if (!checkSourceNames(env, in.ranks, *ckpt, names, error))
      return false;
    if (in.blockFp8)
      dropScaleNames(names, *ckpt);
    if (in.mxfp4)
      resolveMxfp4Names(names, *ckpt, in.mxfp4Tensors);
    addNames(problems, names, "");
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
      if (in.blockFp8)
        dropScaleNames(names, *ckpt);
      addNames(problems, names, in.rankDirs[r] + ": ");
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
      o.planHash = hex64(plan::planHash(*o.plan));
      for (const layout::TensorInfo &t : o.plan->sources)
        o.sources.push_back(bindSource(t, t.name, ckpt, "", problems));
      outputs.push_back(std::move(o));
    }
    return true;
  }
  Output o;
  o.plan = &compiled.inverse;
  o.options = in.options(opt, -1) + ",reverse=1";
  o.planHash = hex64(plan::planHash(*o.plan));
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

/// Rewrites the compiled plans for a block-FP8 checkpoint (Quantized.h):
/// forward, each rank's plan from the checkpoint's FP8 tensors; reverse,
/// the inverse from the rank files' ones, and the forward plans (whose
/// hashes the rank files record) from the tensors that inverse restores.
bool applyBlockFp8(const ConvertOptions &opt, const BlockFp8 &fp8,
                   const std::string &configPath, bool dequantize,
                   CompiledMapping &compiled, const Inputs &in,
                   std::string &error) {
  auto at = [&](int64_t r) {
    return opt.mapping + ": at " + in.options(opt, in.ranks == 1 ? -1 : r) +
           ": ";
  };
  if (!opt.reverse) {
    SourceLookup lookup = sameNames(*in.ckpts.front());
    for (int64_t r = 0; r < in.ranks; ++r) {
      QuantizedSources q;
      if (!findQuantized(compiled.rankPlans[r], lookup, fp8, configPath, q,
                         error))
        return false;
      // On the CPU, dequantizing pieces read their blocks' scales from the
      // grids at run time (a few pieces per piece, whatever the blocks);
      // the CUDA executor's fast kernels take a piece per block.
      if (dequantize && opt.device == "cpu") {
        if (q.any())
          compiled.rankPlans[r] = layout::dequantizeAtRunTime(
              compiled.rankPlans[r], q.flags, fp8.block,
              layout::DType::F8E4M3FN, kScaleSuffix);
        continue;
      }
      if (!rewriteForBlockFp8(compiled.rankPlans[r], q, fp8.block, dequantize,
                              nullptr, error)) {
        error = at(r) + error;
        return false;
      }
    }
    return true;
  }
  SourceLookup lookup = [&](const std::string &plan,
                            std::string &name) -> const runtime::Checkpoint * {
    if (in.ranks == 1)
      return sameNames(*in.ckpts.front())(plan, name);
    for (int64_t r = 0; r < in.ranks; ++r) {
      std::string prefix = layout::rankPrefix(r);
      if (plan.compare(0, prefix.size(), prefix) == 0) {
        name = plan.substr(prefix.size());
        return in.ckpts[r].get();
      }
    }
    return nullptr;
  };
  QuantizedSources q;
  if (!findQuantized(compiled.inverse, lookup, fp8, configPath, q, error))
    return false;
  std::set<std::string> restored;
  if (!rewriteForBlockFp8(compiled.inverse, q, fp8.block, false, &restored,
                          error)) {
    error = at(-1) + error;
    return false;
  }
  for (int64_t r = 0; r < in.ranks; ++r) {
    QuantizedSources f = quantizedByName(compiled.rankPlans[r], restored,
                                         fp8.block);
    if (!rewriteForBlockFp8(compiled.rankPlans[r], f, fp8.block, false,
                            nullptr, error)) {
      error = at(r) + error;
      return false;
    }
  }
  return true;
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
    std::fprintf(stderr, "%s: %s\n%s", "weight-layout-convert", error.c_str(), convertUsage());
    return 2;
  }
  switch (opt.action) {
  case ConvertOptions::Action::Help:
    std::fputs(convertUsage(), stdout);
    return 0;
  case ConvertOptions::Action::Version:
    std::printf("weight-layout-convert %s\n", WL_VERSION);
    return 0;
  case ConvertOptions::Action::ListMappings:
    printLibrary();
    return 0;
  case ConvertOptions::Action::Convert:
    break;
  }
  auto start = std::chrono::steady_clock::now();
  AllocatedPeak allocated;
  if (!isFolder(opt.from))
    return fail(opt.from + " is not a folder");
  TargetPath target;
  if (!resolveTarget(opt.to, target, error))
    return fail(error);
  if (target.exists && !opt.force && !opt.dryRun)
    return fail(target.full + " exists (use --force to replace it)");
  bool rankFolders = isFolder(opt.from + "/" + layout::rankFolder(0));
  const bool reshard = isReshard(opt);
  std::string configPath = opt.from + "/config.json";
  if (!exists(configPath) && (opt.reverse || reshard) && rankFolders)
    configPath = opt.from + "/" + layout::rankPrefix(0) + "config.json";
  if (!reshard && !opt.reverse && rankFolders && !exists(configPath))
    return fail(opt.from + " holds rank folders and no " +
                convert::kManifestName +
                ": to reshard them give --from-mapping (with --from-tp and "
                "the like), to convert them back --reverse");
  if (!findSpec(opt, configPath, error))
    return fail(error);
  std::string mappingName = mappingNameOf(opt.mapping);
  if (opt.exact && !opt.reverse && !reshard) {
    std::fprintf(stderr, "weight-layout-convert: --exact applies to "
                         "--reverse and to a reshard\n%s",
                 convertUsage());
    return 2;
  }
  BlockFp8 fp8;
  if (exists(configPath) && !readBlockFp8(configPath, fp8, error))
    return fail(error);
  if (fp8.mxfp4 && (reshard || opt.quantizeBlock))
    return fail(configPath + ": an MXFP4 checkpoint (quantization_config) is "
                             "dequantized by a forward conversion with "
                             "--dtype, or its pairs moved by a mapping that "
                             "reads them; it is not resharded or quantized");
  if (reshard) {
    if (!exists(configPath))
      return fail(configPath + " is missing (the model's config.json)");
    if (fp8.present && (!opt.dtype.empty() || opt.quantizeBlock))
      return fail("a reshard of a block-FP8 folder keeps it FP8: --dtype "
                  "and --quantize go with a forward conversion");
    Conversion c;
    c.opt = &opt;
    c.target = &target;
    c.mappingName = mappingName;
    c.configPath = configPath;
    c.start = start;
    c.allocated = &allocated;
    c.blockFp8 = fp8;
    return reshardMain(c);
  }

  // A reverse conversion reads what the forward one wrote: rank folders and
  // its manifest (which also says the degrees when none are given).
  if (opt.reverse && !readForwardManifest(opt, mappingName, error))
    return fail(error);
  if (!exists(configPath))
    return fail(configPath + " is missing (the model's config.json)");

  // The spec compiled; before any IR, the checkpoint(s) opened and their
  // names compared with the spec's (CheckNames.h).
  const bool dequantize = (fp8.present || fp8.mxfp4) && !opt.dtype.empty();
  if (opt.quantizeBlock && fp8.present)
    return fail(configPath + ": the checkpoint is block FP8 already "
                             "(quantization_config): --quantize goes with a "
                             "bf16, f16 or f32 one");
  if (dequantize && opt.reverse)
    return fail("--dtype on a block-FP8 checkpoint dequantizes it on a "
                "forward conversion; --reverse keeps FP8 (give no --dtype)");
  Inputs in;
  in.blockFp8 = fp8.present;
  in.mxfp4 = fp8.mxfp4;
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

  std::vector<std::string> layoutHashes;
  if (dequantize)
    for (const layout::Plan &p : compiled->rankPlans)
      layoutHashes.push_back(hex64(plan::planHash(p)));
  if (fp8.present && !applyBlockFp8(opt, fp8, configPath, dequantize,
                                    *compiled, in, error))
    return fail(error);
  if (!in.mxfp4Tensors.empty()) {
    if (!dequantize)
      return fail(opt.from + ": " + std::to_string(in.mxfp4Tensors.size()) +
                  " tensor(s) are MXFP4 pairs (" +
                  quoteName(*in.mxfp4Tensors.begin() + kBlocksSuffix) +
                  ", ...) that the mapping reads as dequantized tensors: "
                  "give --dtype bf16 to dequantize them, or keep them with "
                  "a mapping that reads the pairs (gpt_oss/hf-to-vllm: "
                  "--set mxfp4=1)");
    for (int64_t r = 0; r < nranks; ++r)
      if (!decodeMxfp4Sources(compiled->rankPlans[r], in.mxfp4Tensors,
                              *in.ckpts.front(), error))
        return fail(opt.mapping + ": at " +
                    in.options(opt, nranks == 1 ? -1 : r) + ": " + error);
  }

  // Bind every plan source; on the way back, check each rank file's
  // provenance before any tensor is read.
  std::vector<Output> outputs;
  if (!bindOutputs(opt, mappingName, *compiled, in, outputs, problems, error))
    return fail(error);
  if (!problems.text().empty())
    return fail(opt.from + ": " + problems.text());

  // --quantize: the sources are bound and checked; their bytes give each
  // block's scale.
  std::set<std::string> notConverted;
  if (opt.quantizeBlock) {
    layout::BlockShape block{opt.quantizeBlock->first,
                             opt.quantizeBlock->second};
    SourceLookup lookup = sameNames(*in.ckpts.front());
    for (int64_t r = 0; r < nranks; ++r) {
      // The files record the plan that writes them from the block-FP8
      // checkpoint (what --reverse recompiles), not this data's own.
      layout::Plan layoutPlan = compiled->rankPlans[r];
      std::set<std::string> quantized;
      if (!quantizePlanForFp8(compiled->rankPlans[r], block, lookup,
                              opt.quantizeSkip, notConverted, quantized,
                              error) ||
          !rewriteForBlockFp8(layoutPlan,
                              quantizedByName(layoutPlan, quantized, block),
                              block, false, nullptr, error))
        return fail(opt.mapping + ": at " +
                    in.options(opt, nranks == 1 ? -1 : r) + ": " + error +
                    " (--quantize-skip keeps a tensor as it is)");
      outputs[r].planHash = hex64(plan::planHash(layoutPlan));
    }
  }
  if (dequantize) {
    // The files record the plan that writes them from the dequantized
    // checkpoint (what --reverse recompiles).
    for (int64_t r = 0; r < nranks; ++r)
      outputs[r].planHash = layoutHashes[r];
  }

  Conversion c;
  c.opt = &opt;
  c.target = &target;
  c.mappingName = mappingName;
  c.configPath = configPath;
  c.inputs = &inputs;
  c.manifest = outputManifest(opt, mappingName, *compiled, in);
  if (dequantize &&
      !configWithoutQuantization(configPath, c.configText, error))
    return fail(error);
  if (opt.quantizeBlock &&
      !configWithBlockFp8(configPath,
                          {opt.quantizeBlock->first, opt.quantizeBlock->second},
                          notConverted, c.configText, error))
    return fail(error);
  c.ranks = nranks;
  c.start = start;
  c.allocated = &allocated;
  return writeConversion(c, outputs);
}
