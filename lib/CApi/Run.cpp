//===- Run.cpp - the C API: running plans and streaming loads -------------===//
#include "Handles.h"

using namespace wl;
using namespace wl::embed;
using namespace wl::capi;
using nlohmann::ordered_json;

namespace wl::capi {

TensorRef refOf(const wl_tensor &t, const char *role) {
  std::string who = std::string(role) + " '" + (t.name ? t.name : "") + "'";
  if (!t.name)
    throw Error(Error::Invalid, std::string(role) + " without a name");
  if (!t.dtype)
    throw Error(Error::Invalid, who + " has no dtype");
  auto dt = layout::parseDType(t.dtype);
  if (!dt)
    throw Error(Error::Invalid, who + " has an unknown dtype '" +
                                    std::string(t.dtype) + "'");
  if (t.ndim < 0 || t.ndim > 64 || (t.ndim > 0 && !t.shape))
    throw Error(Error::Invalid, who + " has no shape (ndim " +
                                    std::to_string(t.ndim) + ")");
  TensorRef r;
  r.data = t.data;
  r.dtype = *dt;
  r.shape.assign(t.shape, t.shape + t.ndim);
  for (int64_t s : r.shape)
    if (s < 0)
      throw Error(Error::Invalid, who + " has a negative size");
  if (t.device_type == WL_DEVICE_CPU)
    r.device = {Device::CPU, 0};
  else if (t.device_type == WL_DEVICE_CUDA && t.device_index >= 0)
    r.device = {Device::CUDA, t.device_index};
  else
    throw Error(Error::Invalid,
                who + " is on device type " + std::to_string(t.device_type) +
                    ": only cpu and cuda memory can be used");
  return r;
}

std::map<std::string, TensorRef> refsOf(const wl_tensor *v, size_t n,
                                        const char *role) {
  if (n && !v)
    throw Error(Error::Invalid, std::string(role) + "s are null");
  std::map<std::string, TensorRef> out;
  for (size_t i = 0; i < n; ++i) {
    TensorRef r = refOf(v[i], role);
    if (!out.emplace(v[i].name, std::move(r)).second)
      throw Error(Error::Invalid, std::string(role) + " '" + v[i].name +
                                      "' is given twice");
  }
  return out;
}

} // namespace wl::capi

namespace {

ExecOptions execOf(const wl_run_options *o) {
  ExecOptions e;
  if (o) {
    e.stream = o->stream;
    e.streamIsCurrent = o->stream_is_current != 0;
    e.threads = o->threads;
    e.skipAliases = o->skip_aliases != 0;
    e.partial = o->partial != 0;
  }
  return e;
}

} // namespace

struct wl_loader {
  std::unique_ptr<StreamLoader> l;
};

struct wl_bound {
  std::unique_ptr<BoundRun> b;
};

extern "C" {

int wl_run_into(const wl_plan *plan, const wl_tensor *sources, size_t nsources,
                const wl_tensor *destinations, size_t ndestinations,
                const wl_run_options *options) {
  return guard([&] {
    required(plan, "plan");
    runInto(*plan->d, refsOf(sources, nsources, "source"),
            refsOf(destinations, ndestinations, "destination"),
            execOf(options));
  });
}

int wl_bind(const wl_plan *plan, const wl_tensor *sources, size_t nsources,
            const wl_tensor *destinations, size_t ndestinations,
            const wl_run_options *options, wl_bound **out) {
  return guard([&] {
    required(plan, "plan");
    required(out, "out");
    *out = new wl_bound{std::make_unique<BoundRun>(
        plan->d, refsOf(sources, nsources, "source"),
        refsOf(destinations, ndestinations, "destination"),
        execOf(options))};
  });
}

int wl_bound_run(wl_bound *bound, const wl_run_options *options) {
  return guard([&] {
    required(bound, "bound");
    bound->b->run(execOf(options));
  });
}

void wl_bound_free(wl_bound *bound) { delete bound; }

int wl_loader_new(const wl_plan *plan, const wl_tensor *destinations,
                  size_t ndestinations, const wl_run_options *options,
                  wl_loader **out) {
  return guard([&] {
    required(plan, "plan");
    required(out, "out");
    *out = new wl_loader{std::make_unique<StreamLoader>(
        plan->d, refsOf(destinations, ndestinations, "destination"),
        execOf(options))};
  });
}

int wl_loader_feed(wl_loader *loader, const wl_tensor *source, int *used) {
  return guard([&] {
    required(loader, "loader");
    required(source, "source");
    TensorRef r = refOf(*source, "source");
    bool u = loader->l->feed(source->name, r);
    if (used)
      *used = u ? 1 : 0;
  });
}

int wl_loader_missing(const wl_loader *loader, char **out) {
  return guard([&] {
    required(loader, "loader");
    required(out, "out");
    *out = give(ordered_json(loader->l->missing()));
  });
}

int wl_loader_finish(wl_loader *loader, char **out) {
  return guard([&] {
    required(loader, "loader");
    StreamReport r = loader->l->finish();
    if (out)
      *out = give(ordered_json{{"loaded", r.loaded},
                               {"ignored", r.ignored},
                               {"unknown", r.unknown},
                               {"bytes_written", r.bytesWritten}});
  });
}

void wl_loader_free(wl_loader *loader) { delete loader; }

int wl_last_run_stats(char **out) {
  return guard([&] {
    required(out, "out");
    const ExecStats &s = lastExecStats();
    *out = give(ordered_json{{"executor", s.executor},
                             {"pieces_run", s.piecesRun},
                             {"bytes_written", s.bytesWritten},
                             {"uploaded_bytes", s.uploadedBytes}});
  });
}

} // extern "C"
