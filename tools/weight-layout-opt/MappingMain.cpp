//===- MappingMain.cpp - weight-layout-opt --mapping ----------------------===//
//
// The interface outside tools depend on:
//   weight-layout-opt --mapping FILE --config FILE [--tp N] [--ep N] [--pp N]
//     [--rank R] [--set KEY=VALUE ...] [--dtype T] [--checkpoint PATH]
//     [--reverse] [--all-ranks] --emit=ir|plan [-o FILE]
// --emit=ir prints the wl IR of rank R (of every rank with --all-ranks);
// --emit=plan prints rank R's plan, after proving on all ranks together that
// every target element is written once and every source element is read;
// --emit=plan --reverse prints the plan from the targets of every rank
// (named rank-<r>/<name> when there are several) back to the sources, derived by
// the layout algebra from the same spec; where the forward direction rounds
// (an affine such as Megatron's w - 1, a narrowing cast), the way back undoes
// it as the framework does, with a note, or refuses with --exact. The stages
// run in wl::compileMapping, as for every other caller.
//
//===----------------------------------------------------------------------===//
#include "MappingMain.h"

#include "CheckpointNames.h"
#include "EmitPlan.h"

#include "wl/Compile/CompileMapping.h"
#include "wl/Compile/CompileReshard.h"
#include "wl/Compile/MappingLibrary.h"
#include "wl/Plan/Plan.h"
#include "wl/Support/Quote.h"

#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <cerrno>
#include <cstdlib>
#include <map>
#include <set>


namespace wl::tool {

static int usage(const std::string &problem) {
  llvm::errs() << "weight-layout-opt --mapping: " << problem << "\n"
               << "usage: weight-layout-opt --mapping FILE|NAME --config FILE "
                  "[--tp N] [--ep N] [--pp N] [--dp N] [--cp N] [--etp N] "
                  "[--rank R] [--set KEY=VALUE ...] "
                  "[--from-mapping FILE|NAME [--from-tp N ...] "
                  "[--from-set KEY=VALUE ...]] "
                  "[--dtype T] [--checkpoint PATH] [--reverse [--exact]] [--all-ranks] "
                  "--emit=ir|plan|traffic [-o FILE]\n";
  return 2;
}

/// The degree a flag sets ("--tp" or "--tp=2": "tp"), or null.
static const char *degreeFlag(const std::string &a) {
  for (const std::string &k : mapping::degreeNames()) {
    std::string f = "--" + k;
    if (a == f || a.rfind(f + "=", 0) == 0)
      return k.c_str();
  }
  return nullptr;
}

static bool parseInt(const std::string &s, int64_t &out) {
  if (s.empty())
    return false;
  char *end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (*end != 0 || errno != 0)
    return false;
  out = v;
  return true;
}

/// What --mapping's command line asks for.
struct MappingArgs {
  std::string mapping, config, emit, output = "-", dtype, checkpoint;
  std::map<std::string, int64_t> options;
  /// A reshard: the mapping the ranks come from, and its options.
  std::string fromMapping;
  std::map<std::string, int64_t> fromOptions;
  bool reverse = false, allRanks = false, exact = false;
  int64_t rank = 0;
};

/// Parses the command line; on a usage error returns its exit code (after
/// printing it), else 0.
static int parseMappingArgs(const std::vector<char *> &args, MappingArgs &m) {
  for (size_t i = 1; i < args.size(); ++i) {
    std::string a = args[i];
    auto value = [&](const char *flag) -> std::optional<std::string> {
      std::string f = flag;
      if (a == f && i + 1 < args.size())
        return std::string(args[++i]);
      if (a.rfind(f + "=", 0) == 0)
        return a.substr(f.size() + 1);
      return std::nullopt;
    };
    auto intOption = [&](const char *name, const std::string &v) {
      int64_t n;
      if (!parseInt(v, n))
        return false;
      m.options[name] = n;
      return true;
    };
    if (auto v = value("--mapping"))
      m.mapping = *v;
    else if (auto v = value("--config"))
      m.config = *v;
    else if (auto v = value("--emit"))
      m.emit = *v;
    else if (auto v = value("-o"))
      m.output = *v;
    else if (auto v = value("--dtype"))
      m.dtype = *v;
    else if (auto v = value("--checkpoint"))
      m.checkpoint = *v;
    else if (auto v = value("--from-mapping"))
      m.fromMapping = *v;
    else if (a.rfind("--from-", 0) == 0 && a != "--from-set" &&
             a.rfind("--from-set=", 0) != 0 &&
             degreeFlag("--" + a.substr(7))) {
      std::string k = degreeFlag("--" + a.substr(7));
      auto v = value(("--from-" + k).c_str());
      int64_t n;
      if (!v || !parseInt(*v, n))
        return usage("--from-" + k + " needs an integer");
      m.fromOptions[k] = n;
    } else if (auto v = value("--from-set")) {
      size_t eq = v->find('=');
      int64_t n;
      if (eq == std::string::npos || !parseInt(v->substr(eq + 1), n))
        return usage("--from-set needs KEY=INTEGER, not " + quoteName(*v));
      m.fromOptions[v->substr(0, eq)] = n;
    } else if (const char *k = degreeFlag(a)) {
      auto v = value((std::string("--") + k).c_str());
      if (!v || !intOption(k, *v))
        return usage(std::string("--") + k + " needs an integer" +
                     (v ? ", not " + quoteName(*v) : std::string()));
    } else if (auto v = value("--rank")) {
      if (!parseInt(*v, m.rank))
        return usage("--rank needs an integer, not " + quoteName(*v));
    } else if (auto v = value("--set")) {
      size_t eq = v->find('=');
      int64_t n;
      if (eq == std::string::npos || !parseInt(v->substr(eq + 1), n))
        return usage("--set needs KEY=INTEGER, not " + quoteName(*v));
      std::string key = v->substr(0, eq);
      if (key == "rank" ||
          (key.size() > 5 && key.compare(key.size() - 5, 5, "_rank") == 0))
        return usage(quoteName(key) + " is chosen with --rank");
      m.options[key] = n;
    } else if (a == "--reverse")
      m.reverse = true;
    else if (a == "--exact")
      m.exact = true;
    else if (a == "--all-ranks")
      m.allRanks = true;
    else
      return usage("unknown argument " + quoteName(a));
  }
  if (m.mapping.empty() || m.config.empty())
    return usage("--mapping and --config are required");
  if (!m.fromMapping.empty()) {
    if (m.emit != "plan" && m.emit != "traffic")
      return usage("a reshard (--from-mapping) emits plan or traffic");
    if (m.reverse || m.allRanks || !m.checkpoint.empty())
      return usage("--from-mapping takes no --reverse, --all-ranks or "
                   "--checkpoint");
    return 0;
  }
  if (m.emit != "ir" && m.emit != "plan")
    return usage("--emit=ir or --emit=plan is required");
  return 0;
}

/// Writes `text` to `output` ("-": stdout); the exit code.
static int writeOutput(const std::string &output, const std::string &text) {
  std::string error;
  auto out = mlir::openOutputFile(output, &error);
  if (!out) {
    llvm::errs() << "weight-layout-opt: " << error << "\n";
    return 1;
  }
  out->os() << text;
  out->keep();
  return 0;
}

/// --from-mapping: the reshard plan of destination rank --rank, or the
/// traffic matrix.
static int reshardMain(const MappingArgs &m) {
  ReshardRequest r;
  std::string error;
  r.specA = resolveMappingArgument(m.fromMapping, error);
  if (!r.specA.empty())
    r.specB = resolveMappingArgument(m.mapping, error);
  if (r.specA.empty() || r.specB.empty()) {
    llvm::errs() << "weight-layout-opt: error: " << error << "\n";
    return 1;
  }
  r.config = m.config;
  r.optionsA = m.fromOptions;
  r.optionsB = m.options;
  r.dtype = m.dtype;
  r.allowInexact = !m.exact;
  std::unique_ptr<ReshardPlan> plan = compileReshard(r, error);
  if (!plan) {
    llvm::errs() << error << "\n";
    return 1;
  }
  if (m.emit == "plan" && (m.rank < 0 || m.rank >= plan->destRanks))
    return usage("--rank " + std::to_string(m.rank) + " is not one of the " +
                 std::to_string(plan->destRanks) + " destination ranks");
  noteRounded(m.fromMapping, plan->rounded);
  return writeOutput(m.output, m.emit == "traffic"
                                    ? trafficText(*plan)
                                    : plan::toJson(plan->byDest[m.rank]));
}

/// Compares the checkpoint's tensors with what `all` (every rank) reads
/// and drops; false after reporting every difference.
static bool checkCheckpointNames(const CompiledMapping &all,
                                 const std::string &mapping,
                                 const std::string &checkpoint) {
  std::string error;
  std::map<std::string, TensorHeader> present;
  if (!readCheckpointNames(checkpoint, present, error)) {
    llvm::errs() << error << "\n";
    return false;
  }
  std::vector<std::string> missing, unused, wrong;
  std::set<std::string> read;
  for (const layout::TensorInfo &t : all.sources) {
    read.insert(t.name);
    auto it = present.find(t.name);
    if (it == present.end()) {
      missing.push_back(quoteName(t.name));
      continue;
    }
    std::string want(layout::safetensorsName(t.dtype));
    if (it->second.dtype != want || it->second.shape != t.shape) {
      std::string s;
      llvm::raw_string_ostream os(s);
      os << quoteName(t.name) << " is " << it->second.dtype << " [";
      llvm::interleaveComma(it->second.shape, os);
      os << "], the spec reads " << want << " [";
      llvm::interleaveComma(t.shape, os);
      os << "]";
      wrong.push_back(os.str());
    }
  }
  std::set<std::string> dropped(all.dropped.begin(), all.dropped.end());
  for (auto &[name, h] : present)
    if (!read.count(name) && !dropped.count(name))
      unused.push_back(quoteName(name));
  auto report = [&](const std::vector<std::string> &names,
                    const std::string &what) {
    if (names.empty())
      return false;
    llvm::errs() << mapping << ": " << names.size() << " " << what << ":";
    for (size_t i = 0; i < names.size() && i < 20; ++i)
      llvm::errs() << "\n  " << names[i];
    if (names.size() > 20)
      llvm::errs() << "\n  ... and " << names.size() - 20 << " more";
    llvm::errs() << "\n";
    return true;
  };
  bool bad = report(unused, "checkpoint tensor(s) that no rule reads and "
                            "no rule drops (" + checkpoint + ")");
  bad |= report(missing, "tensor(s) the spec reads that are not in " +
                             checkpoint);
  bad |= report(wrong, "tensor(s) of another dtype or shape in " +
                           checkpoint);
  return !bad;
}

int mappingMain(const std::vector<char *> &args) {
  MappingArgs m;
  if (int code = parseMappingArgs(args, m))
    return code;
  if (!m.fromMapping.empty())
    return reshardMain(m);
  const std::string &mapping = m.mapping, &config = m.config, &emit = m.emit,
                    &output = m.output, &dtype = m.dtype,
                    &checkpoint = m.checkpoint;
  const std::map<std::string, int64_t> &options = m.options;
  bool reverse = m.reverse, allRanks = m.allRanks, exact = m.exact;
  int64_t rank = m.rank;
  // A spec file or a library name ("qwen3/hf-to-vllm").
  std::string resolveError;
  std::string specPath = resolveMappingArgument(mapping, resolveError);
  if (specPath.empty()) {
    llvm::errs() << "weight-layout-opt: error: " << resolveError << "\n";
    return 1;
  }

  // The stages run in compileMapping; this driver picks what to print.
  MappingRequest request;
  request.spec = specPath;
  request.config = config;
  request.options = options;
  request.dtype = dtype;
  request.reverse = reverse;
  request.exact = exact;
  request.diagnostic = [](const std::string &where, bool isError,
                          const std::string &message) {
    llvm::errs() << (where.empty() ? "" : where + ": ")
                 << (isError ? "error: " : "note: ") << message << "\n";
  };
  bool irOnly = emit == "ir" && !reverse;
  if (irOnly) {
    request.stage = MappingRequest::Stage::IR;
    if (!allRanks)
      request.irRanks = {rank};
  } else {
    request.onlyRank = reverse ? -1 : rank;
  }
  request.printIR = emit == "ir";
  int failed = 1; // the exit code of a failed compile
  auto compile = [&](const MappingRequest &r) {
    std::string error;
    CompileFailure why;
    std::unique_ptr<CompiledMapping> c = compileMapping(r, error, &why);
    if (!c) {
      if (why == CompileFailure::Request)
        failed = usage("--" + error);
      else if (!error.empty())
        llvm::errs() << error << "\n";
    }
    return c;
  };
  if (rank < 0) // refused by compileMapping, with the ranks there are
    request.irRanks = {rank};
  std::unique_ptr<CompiledMapping> compiled = compile(request);
  if (!compiled)
    return failed;

  if (!checkpoint.empty()) {
    // Every checkpoint tensor is read or dropped by a rule of some rank, and
    // every tensor a rule reads is in the checkpoint with that dtype and
    // shape.
    std::unique_ptr<CompiledMapping> everyRank;
    const CompiledMapping *all = compiled.get();
    if (irOnly && !allRanks) {
      MappingRequest r = request;
      r.irRanks.clear();
      r.printIR = false;
      everyRank = compile(r);
      if (!everyRank)
        return failed;
      all = everyRank.get();
    }
    if (!checkCheckpointNames(*all, mapping, checkpoint))
      return 1;
  }

  if (reverse)
    noteRounded(mapping, compiled->rounded);
  std::string text = emit == "ir"  ? compiled->ir
                     : reverse     ? plan::toJson(compiled->inverse)
                                   : plan::toJson(compiled->rankPlans.at(0));
  return writeOutput(output, text);
}

} // namespace wl::tool
