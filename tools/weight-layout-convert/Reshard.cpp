//===- Reshard.cpp - a converted folder to another layout, rank to rank ---===//
#include "Reshard.h"

#include "Quantized.h"

#include "Provenance.h"

#include "wl/Compile/CompileReshard.h"
#include "wl/Compile/MappingLibrary.h"
#include "wl/Layout/RankNames.h"
#include "wl/Plan/Plan.h"
#include "wl/Support/Quote.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

namespace fs = std::filesystem;

namespace wl::tool {

namespace {

/// The source side: A's spec and options, and where they were read.
struct Source {
  std::string spec, name; ///< the spec file, and "<model>/<file>" as recorded
  std::map<std::string, int64_t> options;
  int64_t manifestRanks = -1; ///< the rank count DIR's manifest says
};

/// A from DIR's manifest and --from-mapping / --from-* (which must agree
/// with it when both are there).
bool findSource(const ConvertOptions &opt, Source &src, std::string &error) {
  std::string manifestPath = opt.from + "/" + convert::kManifestName;
  std::optional<convert::Manifest> m;
  if (exists(manifestPath)) {
    m = convert::readManifest(manifestPath, error);
    if (!m)
      return false;
  }
  if (!opt.fromMapping.empty()) {
    src.spec = resolveMappingArgument(opt.fromMapping, error);
    if (src.spec.empty())
      return false;
    src.name = mappingNameOf(src.spec);
    src.options = opt.fromOptions;
  }
  if (!m)
    return true;
  if (src.spec.empty()) {
    std::vector<std::string> tried;
    src.spec = findMapping(m->mapping, tried);
    if (src.spec.empty()) {
      error = manifestPath + ": " + opt.from + " was written with " +
              quoteName(m->mapping) +
              ", which is not in the mapping library ($WL_MAPPINGS_PATH, "
              "then the built-in one): give it with --from-mapping FILE";
      return false;
    }
    src.name = m->mapping;
  } else if (src.name != m->mapping) {
    error = manifestPath + ": " + opt.from + " was written with " +
            quoteName(m->mapping) + ", not --from-mapping " +
            quoteName(src.name);
    return false;
  }
  for (const auto &[k, v] : opt.fromOptions) {
    auto it = m->options.find(k);
    if (it != m->options.end() && it->second != v) {
      error = manifestPath + ": " + opt.from + " was written at " + k + "=" +
              std::to_string(it->second) + ", not " + k + "=" +
              std::to_string(v) + " (--from-" + k + " or --from-set)";
      return false;
    }
  }
  // The manifest's options, and any other given (the spec refuses one it
  // does not declare; one it declares changes the provenance expected).
  std::map<std::string, int64_t> given = opt.fromOptions;
  src.options = m->options;
  src.options.insert(given.begin(), given.end());
  src.manifestRanks = m->ranks;
  return true;
}

/// The rank folders of a side with `ranks` ranks ({DIR} for one); a missing
/// rank or one too many (other degrees) is an error.
bool rankFolders(const std::string &from, int64_t ranks,
                 const std::string &side, std::vector<std::string> &dirs,
                 std::string &error) {
  dirs.clear();
  if (ranks == 1) {
    if (isFolder(from + "/" + layout::rankFolder(0))) {
      error = from + " has rank folders, but " + side +
              " has one rank (its degrees: --from-tp N and the like)";
      return false;
    }
    dirs.push_back(from);
    return true;
  }
  for (int64_t r = 0; r < ranks; ++r) {
    dirs.push_back(from + "/" + layout::rankFolder(r));
    if (!isFolder(dirs.back())) {
      error = dirs.back() + " is missing: " + side + " has " +
              std::to_string(ranks) + " ranks";
      return false;
    }
  }
  std::string extra = from + "/" + layout::rankFolder(ranks);
  if (exists(extra)) {
    error = extra + " is there, but " + side + " has only " +
            std::to_string(ranks) + " ranks (written at other degrees?)";
    return false;
  }
  return true;
}

/// vLLM's sharded state (ShardedStateLoader.save_model): every rank's
/// files in one folder, model-rank-<r>-part-<p>.safetensors, parts from 0.
/// `parts[r]` lists rank r's file names by part; empty when the folder
/// holds no such file.
bool shardedStateFiles(const std::string &from, int64_t ranks,
                       const std::string &side,
                       std::vector<std::vector<std::string>> &parts,
                       std::vector<std::string> &all, std::string &error) {
  std::map<int64_t, std::map<int64_t, std::string>> found;
  std::string stray; // a weight file that is no rank's part
  std::error_code ec;
  for (const auto &e : fs::directory_iterator(from, ec)) {
    const std::string name = e.path().filename().string();
    const bool weights = name.find(".safetensors") != std::string::npos;
    long long r, p;
    int used = 0;
    if (std::sscanf(name.c_str(), "model-rank-%lld-part-%lld.safetensors%n",
                    &r, &p, &used) == 2 &&
        used == static_cast<int>(name.size()) && r >= 0 && p >= 0 &&
        name == "model-rank-" + std::to_string(r) + "-part-" +
                    std::to_string(p) + ".safetensors") {
      found[r][p] = name;
      all.push_back(name);
    } else if (weights && (stray.empty() || name < stray)) {
      stray = name;
    }
  }
  parts.clear();
  if (found.empty())
    return true;
  if (!stray.empty()) {
    error = from + "/" + stray +
            " is beside vLLM's sharded state but is no rank's part "
            "(model-rank-<r>-part-<p>.safetensors)";
    return false;
  }
  for (int64_t r = 0; r < ranks; ++r)
    if (!found.count(r)) {
      error = from + "/model-rank-" + std::to_string(r) +
              "-part-*.safetensors are missing: " + side + " has " +
              std::to_string(ranks) + " ranks";
      return false;
    }
  if (found.rbegin()->first >= ranks) {
    error = from + "/" + found.rbegin()->second.begin()->second +
            " is there, but " + side + " has only " + std::to_string(ranks) +
            " ranks (written at other degrees?)";
    return false;
  }
  for (auto &[r, byPart] : found) {
    std::vector<std::string> names;
    for (auto &[p, name] : byPart) {
      if (p != static_cast<int64_t>(names.size())) {
        error = from + "/model-rank-" + std::to_string(r) + "-part-" +
                std::to_string(names.size()) +
                ".safetensors is missing (rank " + std::to_string(r) +
                " has part " + std::to_string(p) + ")";
        return false;
      }
      names.push_back(name);
    }
    parts.push_back(std::move(names));
  }
  return true;
}

/// Opens A's ranks in `from`: rank folders (what this tool writes) or vLLM's
/// sharded state. `where[a]` names rank a in messages.
bool openSources(const std::string &from, int64_t ranks,
                 const std::string &side,
                 std::vector<std::unique_ptr<runtime::Checkpoint>> &inputs,
                 std::vector<std::string> &where, std::string &error) {
  std::vector<std::vector<std::string>> parts;
  std::vector<std::string> all;
  if (!isFolder(from + "/" + layout::rankFolder(0)) &&
      !shardedStateFiles(from, ranks, side, parts, all, error))
    return false;
  if (!parts.empty()) {
    for (int64_t a = 0; a < ranks; ++a) {
      auto ckpt = runtime::Checkpoint::openFiles(from, parts[a], all, error);
      if (!ckpt)
        return false;
      inputs.push_back(std::move(ckpt));
      where.push_back(from + "/model-rank-" + std::to_string(a) +
                      "-part-*.safetensors");
    }
    return true;
  }
  if (!rankFolders(from, ranks, side, where, error))
    return false;
  for (int64_t a = 0; a < ranks; ++a) {
    auto ckpt = runtime::Checkpoint::open(where[a], error);
    if (!ckpt)
      return false;
    inputs.push_back(std::move(ckpt));
  }
  return true;
}

/// A rank folder holds exactly the tensors A's plan of that rank writes.
void checkRankTensors(const layout::Plan &plan, const runtime::Checkpoint &ckpt,
                      const std::string &where, Problems &problems) {
  std::set<std::string> expected;
  for (const layout::TensorInfo &t : plan.targets) {
    expected.insert(t.name);
    bindSource(t, t.name, ckpt, where, problems);
  }
  for (const runtime::Checkpoint::Located &l : ckpt.tensors())
    if (!expected.count(l.entry->name))
      problems.unused.push_back(where + quoteName(l.entry->name));
}

/// The degrees of a side in its mesh's order.
std::vector<std::pair<std::string, int64_t>> degreesOf(const ReshardSide &s) {
  std::vector<std::pair<std::string, int64_t>> out;
  for (const std::string &axis : s.mesh)
    out.emplace_back(axis, s.degrees.at(axis));
  return out;
}

/// "the source layout qwen3/hf-to-megatron.json at tp=2,cp=1,dp=1,pp=1".
std::string sideText(const char *role, const std::string &name,
                     const ReshardSide &s) {
  return std::string(role) + " " + quoteName(name) + " at " +
         optionsText(degreesOf(s), -1, {});
}

} // namespace

bool isReshard(const ConvertOptions &opt) {
  if (opt.reverse)
    return false;
  if (!opt.fromMapping.empty())
    return true;
  std::string manifestPath = opt.from + "/" + convert::kManifestName;
  if (!exists(manifestPath))
    return false;
  // A manifest that cannot be read is reported by the reshard; one written
  // by --reverse marks a checkpoint in its mapping's source layout.
  std::string error;
  std::optional<convert::Manifest> m = convert::readManifest(manifestPath, error);
  return !m || !m->reverse;
}

namespace {

/// The Hugging Face names of A whose tensors are FP8 in the rank files
/// (every source of a piece writing an F8_E4M3 rank tensor with a grid),
/// then every plan rewritten for them (Quantized.h).
bool reshardBlockFp8(ReshardPlan &plan,
                     const std::vector<std::unique_ptr<runtime::Checkpoint>> &inputs,
                     const Conversion &c, std::string &error) {
  const layout::BlockShape block = c.blockFp8.block;
  std::set<std::string> hf;
  for (size_t a = 0; a < plan.source.rankPlans.size(); ++a) {
    const layout::Plan &p = plan.source.rankPlans[a];
    std::vector<bool> fp8(p.targets.size(), false);
    for (size_t t = 0; t < p.targets.size(); ++t) {
      runtime::Checkpoint::Located l = inputs[a]->find(p.targets[t].name);
      fp8[t] = l.entry && l.entry->dtype == layout::DType::F8E4M3FN &&
               inputs[a]->find(p.targets[t].name + kScaleSuffix).entry;
    }
    for (const layout::Piece &piece : p.pieces)
      if (!piece.isFill() && fp8[piece.target])
        hf.insert(p.sources[piece.source].name);
  }
  auto rewrite = [&](std::vector<layout::Plan> &plans, const ReshardSide &side,
                     const std::string &name,
                     const std::map<std::string, int64_t> &options) {
    for (size_t r = 0; r < plans.size(); ++r) {
      layout::Plan &p = plans[r];
      if (!rewriteForBlockFp8(p, quantizedByName(p, hf, block), block, false,
                              nullptr, error)) {
        error = name + ": at " +
                optionsText(degreesOf(side),
                            plans.size() == 1 ? -1 : (int64_t)r, options) +
                ": " + error;
        return false;
      }
    }
    return true;
  };
  if (!rewrite(plan.source.rankPlans, plan.source, "the source layout",
               c.opt->fromOptions) ||
      !rewrite(plan.dest.rankPlans, plan.dest, c.opt->mapping, c.opt->options))
    return false;
  SourceLookup lookup = [&](const std::string &name, std::string &local)
      -> const runtime::Checkpoint * {
    std::optional<int64_t> a = layout::rankOfName(name);
    if (!a || *a >= (int64_t)inputs.size())
      return nullptr;
    local = name.substr(layout::rankPrefix(*a).size());
    return inputs[*a].get();
  };
  for (size_t b = 0; b < plan.byDest.size(); ++b) {
    QuantizedSources q;
    if (!findQuantized(plan.byDest[b], lookup, c.blockFp8, c.configPath, q,
                       error))
      return false;
    if (!rewriteForBlockFp8(plan.byDest[b], q, block, false, nullptr, error)) {
      error = c.opt->mapping + ": destination rank " + std::to_string(b) +
              ": " + error;
      return false;
    }
  }
  return true;
}

} // namespace

int reshardMain(Conversion c) {
  const ConvertOptions &opt = *c.opt;
  std::string error;
  Source src;
  if (!findSource(opt, src, error))
    return fail(error);
  ReshardRequest request;
  request.specA = src.spec;
  request.specB = opt.mapping;
  request.config = c.configPath;
  request.optionsA = src.options;
  request.optionsB = opt.options;
  request.dtype = opt.dtype;
  request.allowInexact = !opt.exact;
  request.keepRankPlans = true;
  std::unique_ptr<ReshardPlan> plan = compileReshard(request, error);
  if (!plan)
    return fail(error);
  if (!plan->rounded.empty())
    note(std::to_string(plan->rounded.size()) +
         " tensor(s) come back from the source layout through the inverse of "
         "an affine or narrowing cast, which can round (not bit for bit; "
         "--exact refuses), e.g. " +
         quoteName(plan->rounded.front()));
  const int64_t ra = plan->sourceRanks, rb = plan->destRanks;
  std::string sourceSide = sideText("the source layout", src.name, plan->source);
  if (src.manifestRanks >= 0 && src.manifestRanks != ra)
    return fail(opt.from + "/" + convert::kManifestName + " says " +
                std::to_string(src.manifestRanks) + " ranks, but " +
                sourceSide + " has " + std::to_string(ra));

  // The source ranks, opened and checked against A's rank plans.
  std::vector<std::string> dirs;
  std::vector<std::unique_ptr<runtime::Checkpoint>> inputs;
  if (!openSources(opt.from, ra, sourceSide, inputs, dirs, error))
    return fail(error);
  // Block FP8: the rank files' FP8 tensors with their grids. A's and B's
  // rank plans become what a forward conversion of the FP8 checkpoint
  // runs (their hashes are the files'), each destination's plan moves the
  // grids with their blocks.
  if (c.blockFp8.present && !reshardBlockFp8(*plan, inputs, c, error))
    return fail(error);
  Problems problems;
  int foreign = 0;
  for (int64_t a = 0; a < ra; ++a) {
    const layout::Plan &rankPlan = plan->source.rankPlans[a];
    checkRankTensors(rankPlan, *inputs[a], ra == 1 ? "" : dirs[a] + ": ",
                     problems);
    int64_t rank = ra == 1 ? -1 : a;
    Provenance want{src.name, optionsText(degreesOf(plan->source), rank, src.options),
                    hex64(plan::planHash(rankPlan)), rank};
    if (!checkProvenance(*inputs[a], want, foreign, error))
      return fail(error);
  }
  if (!problems.text().empty())
    return fail(opt.from + ": not the ranks of " + sourceSide + ": " +
                problems.text());
  if (foreign > 0)
    note(std::to_string(foreign) +
         " input file(s) carry no weight_layout provenance (not written by "
         "this tool): their rank is taken from their folder or file name");

  // Each destination rank reads the A rank files its plan names.
  std::vector<Output> outputs;
  for (int64_t b = 0; b < rb; ++b) {
    Output o;
    o.folder = rb == 1 ? "" : layout::rankFolder(b);
    o.plan = &plan->byDest[b];
    o.options = optionsText(degreesOf(plan->dest), rb == 1 ? -1 : b, opt.options);
    o.planHash = hex64(plan::planHash(plan->dest.rankPlans[b]));
    for (const layout::TensorInfo &t : o.plan->sources) {
      int64_t a = *layout::rankOfName(t.name);
      o.sources.push_back(bindSource(t, t.name.substr(layout::rankPrefix(a).size()),
                                     *inputs[a], dirs[a] + ": ", problems));
    }
    outputs.push_back(std::move(o));
  }
  if (!problems.text().empty())
    return fail(opt.from + ": " + problems.text());
  plan->dest.rankPlans.clear();
  plan->source.rankPlans.clear();

  // The manifest a forward conversion with B would write.
  convert::Manifest &m = c.manifest;
  m.mapping = c.mappingName;
  m.modelType = plan->dest.modelType;
  m.from = plan->dest.from;
  m.to = plan->dest.to;
  m.reverse = false;
  m.mesh = plan->dest.mesh;
  m.options = opt.options;
  for (const auto &[axis, degree] : plan->dest.degrees)
    m.options[axis] = degree;
  m.ranks = rb;
  c.inputs = &inputs;
  c.ranks = rb;
  return writeConversion(c, outputs);
}

} // namespace wl::tool
