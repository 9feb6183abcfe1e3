//===- Reshard.cpp - the C API's reshards ---------------------------------===//
#include "Handles.h"

#include "wl/Compile/ReshardExchange.h"
#include "wl/Plan/Plan.h"

using namespace wl;
using namespace wl::embed;
using namespace wl::capi;
using nlohmann::ordered_json;

struct wl_reshard {
  std::shared_ptr<const ReshardPlan> plan;
};

namespace {

std::map<std::string, int64_t> integers(const ordered_json &v,
                                        const std::string &what) {
  if (!v.is_object())
    throw Error(Error::Invalid, "reshard request: '" + what +
                                    "' must be an object of integers");
  std::map<std::string, int64_t> out;
  for (auto &[name, value] : v.items()) {
    if (!value.is_number_integer())
      throw Error(Error::Invalid, what + ": option '" + name +
                                      "' must be an integer, not " +
                                      value.dump());
    out[name] = value.get<int64_t>();
  }
  return out;
}

ordered_json planJson(const layout::Plan &p) {
  return ordered_json::parse(plan::toJson(p));
}

} // namespace

extern "C" {

int wl_reshard_compile(const char *from_mapping, const char *mapping,
                       const char *config, const char *request,
                       wl_reshard **out) {
  return guard([&] {
    required(from_mapping, "from_mapping");
    required(mapping, "mapping");
    required(config, "config");
    required(out, "out");
    std::map<std::string, int64_t> fromOptions, options;
    std::string dtype, specDir;
    if (request && *request) {
      ordered_json j = ordered_json::parse(request, nullptr, false);
      if (j.is_discarded() || !j.is_object())
        throw Error(Error::Invalid, "reshard request: not a JSON object");
      for (auto &[key, v] : j.items()) {
        if (key == "from_options" || key == "options")
          (key == "options" ? options : fromOptions) = integers(v, key);
        else if ((key == "dtype" || key == "spec_dir") &&
                 (v.is_string() || v.is_null()))
          (key == "dtype" ? dtype : specDir) =
              v.is_string() ? v.get<std::string>() : "";
        else
          throw Error(Error::Invalid,
                      "reshard request: unknown or malformed key '" + key + "'");
      }
    }
    *out = new wl_reshard{compileReshardPlan(from_mapping, fromOptions,
                                             mapping, options, config, dtype,
                                             specDir)};
  });
}

int wl_reshard_describe(const wl_reshard *r, char **out) {
  return guard([&] {
    required(r, "reshard");
    required(out, "out");
    const ReshardPlan &p = *r->plan;
    *out = give(ordered_json{{"source_ranks", p.sourceRanks},
                             {"dest_ranks", p.destRanks},
                             {"traffic", p.traffic},
                             {"moved_bytes", p.movedBytes},
                             {"total_bytes", p.totalBytes},
                             {"rounded", p.rounded}});
  });
}

int wl_reshard_part(const wl_reshard *r, int64_t a, int64_t b,
                    int64_t bucket_bytes, char **out) {
  return guard([&] {
    required(r, "reshard");
    required(out, "out");
    const ReshardPlan &p = *r->plan;
    if (a < -1 || a >= p.sourceRanks || b < -1 || b >= p.destRanks)
      throw Error(Error::Invalid,
                  "reshard part: source rank " + std::to_string(a) +
                      " of " + std::to_string(p.sourceRanks) +
                      ", destination rank " + std::to_string(b) + " of " +
                      std::to_string(p.destRanks) + " (-1: none)");
    if (bucket_bytes < 0)
      throw Error(Error::Invalid, "reshard part: bucket_bytes is " +
                                      std::to_string(bucket_bytes) +
                                      " (0: no bound)");
    ordered_json rounds = ordered_json::array();
    for (const ExchangeRound &round : exchangeFor(p, a, b, bucket_bytes)) {
      ordered_json send = ordered_json::object();
      for (auto &[d, plan] : round.send)
        send[std::to_string(d)] = planJson(plan);
      rounds.push_back(ordered_json{
          {"send", send},
          {"from", round.from},
          {"receive", b >= 0 ? planJson(round.receive) : ordered_json()}});
    }
    *out = give(ordered_json{{"rounds", rounds}});
  });
}

void wl_reshard_free(wl_reshard *r) { delete r; }

} // extern "C"
