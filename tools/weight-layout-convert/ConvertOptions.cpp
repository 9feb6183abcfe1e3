//===- ConvertOptions.cpp - weight-layout-convert's command line ----------===//
#include "ConvertOptions.h"

#include "wl/MappingSpec/Spec.h"
#include "wl/Support/Limits.h"
#include "wl/Support/OutputFile.h"
#include "wl/Support/Quote.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace wl::tool {

const char *convertUsage() {
  return "usage: weight-layout-convert --mapping FILE --from DIR --to DIR "
         "[options]\n"
         "       weight-layout-convert --to-format FORMAT --from DIR --to DIR "
         "[options]\n"
         "       weight-layout-convert --list-mappings | --version | --help\n"
         "Converts the checkpoint in --from with a mapping spec and writes it\n"
         "to --to; with more than one rank, --to holds rank-<r>/ for each\n"
         "rank r, numbered as the spec's framework numbers them (its mesh;\n"
         "by default rank = (pp_rank * ep + ep_rank) * tp + tp_rank). See\n"
         "docs/convert.md.\n"
         "\n"
         "  --mapping FILE       a spec file, or a library name such as\n"
         "                       qwen3/hf-to-vllm ($WL_MAPPINGS_PATH, then\n"
         "                       the mappings/ folder; --list-mappings)\n"
         "  --to-format FORMAT   instead of --mapping: the library's one spec\n"
         "                       for the checkpoint's model_type that writes\n"
         "                       FORMAT (vllm, megatron, ...; with --reverse\n"
         "                       the format written back, e.g. hf)\n"
         "  --from DIR           the checkpoint read (config.json and\n"
         "                       safetensors files; rank-<r>/ with --reverse);\n"
         "                       a folder this tool wrote with another\n"
         "                       mapping or degrees is resharded: each rank\n"
         "                       written from the source ranks' files\n"
         "  --from-mapping FILE  reshard a folder of rank-<r>/ checkpoints\n"
         "                       that this mapping's layout describes (one\n"
         "                       without weight-layout.json)\n"
         "  --from-tp N, --from-ep N, ... , --from-set KEY=VALUE\n"
         "                       the degrees and options of --from-mapping\n"
         "  --to DIR             the folder written; it must not exist\n"
         "  --tp N, --ep N, --pp N, --dp N, --cp N, --etp N\n"
         "                       tensor, expert, pipeline, data, context and\n"
         "                       expert-tensor parallel degrees, where the\n"
         "                       spec has them (default 1; --reverse reads\n"
         "                       them from the manifest)\n"
         "  --set KEY=VALUE      an integer option of the spec (repeatable)\n"
         "  --reverse            convert back: read the rank folders a forward\n"
         "                       conversion wrote, write one checkpoint\n"
         "  --exact              with --reverse or a reshard: refuse a way\n"
         "                       back that can round (an affine or\n"
         "                       narrowing cast)\n"
         "  --dtype T            the weights' dtype when the config's is not\n"
         "                       theirs (bf16, f16, f32, ...); on a block-\n"
         "                       FP8 or MXFP4 checkpoint, dequantize to T\n"
         "  --quantize fp8[:RxC] write the Linear weights (*proj*.weight) as\n"
         "                       block FP8 (F8_E4M3 and an F32 _scale_inv\n"
         "                       grid per R x C block, default 128x128)\n"
         "  --quantize-skip TEXT with --quantize: keep the tensors whose\n"
         "                       names hold TEXT as they are (repeatable)\n"
         "  --emit-plans DIR     also write each rank's plan, as executed, to\n"
         "                       DIR/plan[-rank-<r>].json, replacing an\n"
         "                       earlier one (the plan file\n"
         "                       format; weight-layout-cuda-check and the\n"
         "                       benchmarks read it)\n"
         "  --dry-run            check everything and say what would be\n"
         "                       written; write nothing\n"
         "  --verify             re-read every file written against its plan\n"
         "  --force              replace --to if it is empty or a folder this\n"
         "                       tool wrote (never an input)\n"
         "  --threads N          worker threads (default: one per core),\n"
         "                       shared by the ranks written at once\n"
         "  --max-shard-size S   largest safetensors file (default 5GB; 500MB,\n"
         "                       2GiB, ...)\n"
         "  --device cpu|cuda    where tensors are rearranged (default cpu)\n"
         "  --no-fsync           do not flush files to disk before the rename\n"
         "  --no-direct          write computed bytes through the page cache,\n"
         "                       not with O_DIRECT\n"
         "  --quiet, -q          no progress line and no summary\n"
         "  --list-mappings      list the library's mappings and stop\n"
         "  --version            print the version and stop\n"
         "  --help, -h           print this text and stop\n";
}

static bool parseInt(const std::string &s, int64_t &out) {
  if (s.empty())
    return false;
  errno = 0;
  char *end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (*end != 0 || errno != 0)
    return false;
  out = v;
  return true;
}

bool parseConvertOptions(int argc, char **argv, ConvertOptions &out,
                         std::string &error) {
  using Action = ConvertOptions::Action;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string value;
    bool hasValue = false;
    auto takes = [&](const char *flag) {
      std::string f = flag;
      if (a == f) {
        if (i + 1 >= argc) {
          error = f + " needs a value";
          return true;
        }
        value = argv[++i];
        hasValue = true;
        return true;
      }
      if (a.rfind(f + "=", 0) == 0) {
        value = a.substr(f.size() + 1);
        hasValue = true;
        return true;
      }
      return false;
    };
    auto integer = [&](const char *name, int64_t min, int64_t max) {
      int64_t n;
      if (!parseInt(value, n) || n < min || n > max) {
        error = std::string("--") + name + " needs an integer from " +
                std::to_string(min) + " to " + std::to_string(max) +
                ", not " + quoteName(value);
        return false;
      }
      out.options[name] = n;
      return true;
    };
    // A degree flag (--tp N, ...): the degree's name, its value taken.
    auto degreeTaken = [&]() -> const std::string * {
      for (const std::string &k : mapping::degreeNames())
        if (takes(("--" + k).c_str()))
          return &k;
      return nullptr;
    };
    if (a == "--help" || a == "-h" || a == "--version" ||
        a == "--list-mappings") {
      out.action = a == "--version"         ? Action::Version
                   : a == "--list-mappings" ? Action::ListMappings
                                            : Action::Help;
      return true;
    }
    // --from-tp N, ...: the degree of the source side of a reshard.
    auto fromDegreeTaken = [&]() -> const std::string * {
      for (const std::string &k : mapping::degreeNames())
        if (takes(("--from-" + k).c_str()))
          return &k;
      return nullptr;
    };
    if (takes("--mapping")) {
      out.mapping = value;
    } else if (takes("--to-format")) {
      out.toFormat = value;
    } else if (takes("--from-mapping")) {
      if (hasValue && value.empty()) {
        error = "--from-mapping needs a spec file or library name";
        return false;
      }
      out.fromMapping = value;
    } else if (const std::string *k = fromDegreeTaken()) {
      // Parsed as a degree, kept apart from the destination's.
      std::map<std::string, int64_t> destination = out.options;
      if (!hasValue || !integer(("from-" + *k).c_str(), 1, limits::kMaxRanks))
        return false;
      out.fromOptions[*k] = out.options["from-" + *k];
      out.options = std::move(destination);
    } else if (takes("--from-set")) {
      size_t eq = value.find('=');
      int64_t n;
      if (!hasValue || eq == std::string::npos || eq == 0 ||
          !parseInt(value.substr(eq + 1), n)) {
        if (error.empty())
          error = "--from-set needs KEY=INTEGER, not " + quoteName(value);
        return false;
      }
      out.fromOptions[value.substr(0, eq)] = n;
    } else if (takes("--from")) {
      out.from = value;
    } else if (takes("--to")) {
      out.to = value;
    } else if (const std::string *k = degreeTaken()) {
      if (!hasValue || !integer(k->c_str(), 1, limits::kMaxRanks))
        return false;
      out.parallelGiven = true;
    } else if (takes("--set")) {
      if (!hasValue)
        return false;
      size_t eq = value.find('=');
      int64_t n;
      if (eq == std::string::npos || eq == 0 ||
          !parseInt(value.substr(eq + 1), n)) {
        error = "--set needs KEY=INTEGER, not " + quoteName(value);
        return false;
      }
      std::string key = value.substr(0, eq);
      const auto &degrees = mapping::degreeNames();
      if (std::count(degrees.begin(), degrees.end(), key) || key == "rank" ||
          (key.size() > 5 && key.compare(key.size() - 5, 5, "_rank") == 0)) {
        error = quoteName(key) +
                " is not a --set option (degrees are --tp, --ep, --pp, "
                "--dp, --cp, --etp; every rank is written)";
        return false;
      }
      out.options[key] = n;
    } else if (takes("--threads")) {
      int64_t n;
      if (!hasValue || !parseInt(value, n) || n < 1 || n > 1024) {
        if (error.empty())
          error =
              "--threads needs an integer from 1 to 1024, not " + quoteName(value);
        return false;
      }
      out.threads = static_cast<int>(n);
    } else if (takes("--dtype")) {
      out.dtype = value;
    } else if (takes("--quantize")) {
      // fp8 (blocks of 128x128) or fp8:RxC.
      int64_t r = 128, c = 128;
      bool ok = hasValue && value.compare(0, 3, "fp8") == 0;
      if (ok && value.size() > 3) {
        size_t x = value.find('x');
        ok = value[3] == ':' && x != std::string::npos &&
             parseInt(value.substr(4, x - 4), r) &&
             parseInt(value.substr(x + 1), c) && r >= 1 && c >= 1 &&
             r <= (1 << 20) && c <= (1 << 20);
      }
      if (!ok) {
        if (error.empty())
          error = "--quantize needs fp8 or fp8:RxC (blocks of R rows and C "
                  "columns), not " +
                  quoteName(value);
        return false;
      }
      out.quantizeBlock = {r, c};
    } else if (takes("--emit-plans")) {
      if (!hasValue || value.empty()) {
        if (error.empty())
          error = "--emit-plans needs a folder";
        return false;
      }
      out.emitPlans = value;
    } else if (takes("--quantize-skip")) {
      if (!hasValue || value.empty()) {
        if (error.empty())
          error = "--quantize-skip needs a part of tensor names";
        return false;
      }
      out.quantizeSkip.push_back(value);
    } else if (takes("--device")) {
      out.device = value;
    } else if (takes("--max-shard-size")) {
      if (!hasValue || !parseSize(value, out.maxShardBytes)) {
        if (error.empty())
          error = "--max-shard-size needs a size such as 5GB, 500MB or "
                  "2GiB, not " +
                  quoteName(value);
        return false;
      }
    } else if (!error.empty()) {
      return false;
    } else if (a == "--reverse") {
      out.reverse = true;
    } else if (a == "--exact") {
      out.exact = true;
    } else if (a == "--dry-run") {
      out.dryRun = true;
    } else if (a == "--verify") {
      out.verify = true;
    } else if (a == "--force") {
      out.force = true;
    } else if (a == "--no-fsync") {
      out.fsync = false;
    } else if (a == "--no-direct") {
      out.direct = false;
    } else if (a == "--quiet" || a == "-q") {
      out.quiet = true;
    } else {
      error = "unknown argument " + quoteName(a);
      return false;
    }
    if (!error.empty())
      return false;
  }
  if (out.from.empty() || out.to.empty() ||
      out.mapping.empty() == out.toFormat.empty()) {
    error = !out.mapping.empty() && !out.toFormat.empty()
                ? "--mapping and --to-format are alternatives: give one"
                : "--mapping (or --to-format), --from and --to are required";
    return false;
  }
  if (!out.fromOptions.empty() && out.fromMapping.empty()) {
    error = "--from-tp, --from-set and the like go with --from-mapping";
    return false;
  }
  if (!out.fromMapping.empty() && out.reverse) {
    error = "--from-mapping is a reshard, which has no --reverse";
    return false;
  }
  if (const char *stall = std::getenv("WL_CONVERT_TEST_STALL_MS"))
    out.testStallMillis = std::atoi(stall);
  if (!out.quantizeSkip.empty() && !out.quantizeBlock) {
    error = "--quantize-skip goes with --quantize";
    return false;
  }
  if (out.quantizeBlock && (out.reverse || !out.fromMapping.empty())) {
    error = "--quantize goes with a forward conversion (not --reverse or a "
            "reshard)";
    return false;
  }
  if (out.device != "cpu" && out.device != "cuda") {
    error = "--device is cpu or cuda, not " + quoteName(out.device);
    return false;
  }
  return true;
}

} // namespace wl::tool
