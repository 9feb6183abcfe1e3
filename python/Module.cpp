//===- Module.cpp - weight_layout._C: the embedding API for Python --------===//
//
// pybind11 bindings of wl/Torch/Embedding.h. Tensors cross as torch.Tensor
// (libtorch_python's casters), so views returned by run() are real torch
// views of the caller's tensors. The Python package weight_layout
// (python/weight_layout/__init__.py) wraps this module: it accepts dicts,
// transformers configs, DLPack objects, and documents the API.
//
// wl::embed::Error becomes ValueError (Invalid) or RuntimeError (Runtime)
// with its message. Runs release the GIL.
//
//===----------------------------------------------------------------------===//
#include "wl/Safetensors/Safetensors.h"
#include "wl/Torch/Embedding.h"

#include <csignal>
#include <cstdlib>
#include <execinfo.h>
#include <unistd.h>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <torch/csrc/utils/pybind.h>

namespace py = pybind11;
using namespace wl::embed;

namespace {

RunOptions runOptions(bool views, uintptr_t stream, bool streamIsCurrent,
                      int threads) {
  RunOptions o;
  o.views = views;
  o.stream = reinterpret_cast<void *>(stream);
  o.streamIsCurrent = streamIsCurrent;
  o.threads = threads;
  return o;
}

py::list specList(const std::vector<TensorSpec> &v) {
  py::list out;
  for (const TensorSpec &t : v)
    out.append(py::make_tuple(
        t.name, std::string(wl::layout::safetensorsName(t.dtype)),
        py::tuple(py::cast(t.shape))));
  return out;
}

py::dict describeDict(const Description &d) {
  py::dict r;
  r["from"] = d.from;
  r["to"] = d.to;
  r["model_type"] = d.modelType;
  r["tp"] = d.tp;
  r["ep"] = d.ep;
  r["pp"] = d.pp;
  if (d.reverse)
    r["rank"] = py::none();
  else if (d.rank == kAllRanks)
    r["rank"] = "all";
  else
    r["rank"] = d.rank;
  r["reverse"] = d.reverse;
  r["hash"] = d.hash;
  r["sources"] = d.sources;
  r["targets"] = d.targets;
  r["pieces"] = d.pieces;
  r["copy_pieces"] = d.copyPieces;
  r["fill_pieces"] = d.fillPieces;
  r["convert_pieces"] = d.convertPieces;
  r["bytes_read"] = d.bytesRead;
  r["bytes_written"] = d.bytesWritten;
  r["source_bytes"] = d.sourceBytes;
  py::dict aliases;
  for (const auto &a : d.aliases)
    aliases[py::str(a.target)] = py::make_tuple(a.source, a.offset);
  r["aliases"] = aliases;
  r["alias_bytes"] = d.aliasBytes;
  r["copied_bytes"] = d.bytesWritten - d.aliasBytes;
  r["dropped"] = d.dropped;
  r["rounded"] = d.rounded;
  r["text"] = d.text();
  return r;
}

py::dict statsDict(const RunStats &s) {
  py::dict r;
  r["executor"] = s.executor;
  r["pieces_run"] = s.piecesRun;
  r["bytes_written"] = s.bytesWritten;
  r["views"] = s.views;
  r["contiguous_copies"] = s.contiguousCopies;
  r["staged_targets"] = s.stagedTargets;
  return r;
}

/// WL_SEGV_BACKTRACE=1: a crash prints the native frames (for machines
/// without a debugger).
void segvBacktrace(int sig) {
  void *frames[64];
  int n = backtrace(frames, 64);
  backtrace_symbols_fd(frames, n, 2);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

} // namespace

PYBIND11_MODULE(_C, m) {
  m.doc() = "weight_layout's native part (use the weight_layout package)";
  if (std::getenv("WL_SEGV_BACKTRACE"))
    std::signal(SIGSEGV, segvBacktrace);

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p)
        std::rethrow_exception(p);
    } catch (const Error &e) {
      PyErr_SetString(e.kind() == Error::Invalid ? PyExc_ValueError
                                                 : PyExc_RuntimeError,
                      e.what());
    }
  });

  py::class_<Loader>(m, "Loader")
      .def("feed", &Loader::feed, py::arg("name"), py::arg("tensor"),
           py::call_guard<py::gil_scoped_release>())
      .def("missing", &Loader::missing)
      .def("finish", [](Loader &l) {
        LoadReport r;
        {
          py::gil_scoped_release release;
          r = l.finish();
        }
        py::dict d;
        d["loaded"] = r.loaded;
        d["ignored"] = r.ignored;
        d["unknown"] = r.unknown;
        d["bytes_written"] = r.bytesWritten;
        return d;
      });

  py::class_<Plan>(m, "Plan")
      .def_static("from_json", &Plan::fromJson, py::arg("text"))
      .def("sources", [](const Plan &p) { return specList(p.sources()); })
      .def("targets", [](const Plan &p) { return specList(p.targets()); })
      .def("describe", [](const Plan &p) { return describeDict(p.describe()); })
      .def("to_json", &Plan::toJson, py::arg("indent") = 1)
      .def("hash", &Plan::hash)
      .def("source_ranges", &Plan::sourceRanges)
      .def("inverse", &Plan::inverse, py::arg("exact") = false)
      .def(
          "run",
          [](const Plan &p, const std::map<std::string, at::Tensor> &sources,
             bool views, uintptr_t stream, bool current, int threads) {
            return p.run(sources, runOptions(views, stream, current, threads));
          },
          py::arg("sources"), py::arg("views") = true, py::arg("stream") = 0,
          py::arg("stream_is_current") = false, py::arg("threads") = 0,
          py::call_guard<py::gil_scoped_release>())
      .def(
          "run_into",
          [](const Plan &p, const std::map<std::string, at::Tensor> &sources,
             const std::map<std::string, at::Tensor> &destinations,
             uintptr_t stream, bool current, int threads) {
            p.runInto(sources, destinations,
                      runOptions(true, stream, current, threads));
          },
          py::arg("sources"), py::arg("destinations"), py::arg("stream") = 0,
          py::arg("stream_is_current") = false, py::arg("threads") = 0,
          py::call_guard<py::gil_scoped_release>())
      .def(
          "loader",
          [](const Plan &p,
             const std::map<std::string, at::Tensor> &destinations,
             uintptr_t stream, bool current, int threads) {
            return p.loader(destinations,
                            runOptions(true, stream, current, threads));
          },
          py::arg("destinations"), py::arg("stream") = 0,
          py::arg("stream_is_current") = false, py::arg("threads") = 0);

  m.def(
      "compile",
      [](const std::string &mapping, const std::string &config,
         const std::map<std::string, int64_t> &options, int64_t rank,
         const std::string &dtype, bool reverse, bool exact,
         const std::string &specBaseDir) {
        CompileOptions how;
        how.rank = rank;
        how.dtype = dtype;
        how.reverse = reverse;
        how.exact = exact;
        return compile(mapping, config, options, how, specBaseDir);
      },
      py::arg("mapping"), py::arg("config"), py::arg("options"),
      py::arg("rank") = 0, py::arg("dtype") = "", py::arg("reverse") = false,
      py::arg("exact") = false, py::arg("spec_base_dir") = "",
      py::call_guard<py::gil_scoped_release>());
  // The tensors of a checkpoint as the validated reader sees them
  // (docs/safetensors.md): (file, name, dtype, shape, file offset, bytes).
  m.def("checkpoint_tensors", [](const std::string &path) {
    std::string error;
    std::unique_ptr<wl::runtime::Checkpoint> ckpt;
    {
      py::gil_scoped_release release;
      ckpt = wl::runtime::Checkpoint::open(path, error);
    }
    if (!ckpt)
      throw py::value_error(error);
    py::list out;
    for (const wl::runtime::Checkpoint::Located &l : ckpt->tensors())
      out.append(py::make_tuple(
          l.file->path(), l.entry->name,
          std::string(wl::layout::safetensorsName(l.entry->dtype)),
          py::tuple(py::cast(l.entry->shape)), l.file->fileOffset(*l.entry),
          l.entry->end - l.entry->begin));
    return out;
  });
  m.def("last_run_stats", [] { return statsDict(lastRunStats()); });
  m.def("cache_stats", [] {
    CacheStats s = cacheStats();
    py::dict d;
    d["hits"] = s.hits;
    d["misses"] = s.misses;
    d["entries"] = s.entries;
    return d;
  });
  m.def("clear_cache", &clearCache);
  m.def("mapping_search_path", &mappingSearchPath);
  m.def("cuda_executor", [] {
    std::string why;
    bool ok = cudaExecutorBuilt(why);
    return py::make_tuple(ok, why);
  });
  m.attr("ALL_RANKS") = kAllRanks;
}
