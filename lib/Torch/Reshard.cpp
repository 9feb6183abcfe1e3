//===- Reshard.cpp - one framework's ranks to another's, in process -------===//
#include "wl/Torch/Reshard.h"

#include "Calls.h"

#include <ATen/ATen.h>

namespace wl::embed {

using detail::callJson;
using detail::check;
using json = nlohmann::json;

namespace {

std::string optionsJson(const std::map<std::string, int64_t> &o) {
  json j = json::object();
  for (auto &[k, v] : o)
    j[k] = v;
  return j.dump();
}

int64_t bytesOf(const at::Tensor &t) {
  return static_cast<int64_t>(t.numel()) *
         static_cast<int64_t>(t.element_size());
}

/// Waits for every posted send and receive.
void waitAll(std::vector<c10::intrusive_ptr<c10d::Work>> &w) {
  for (auto &work : w)
    work->wait();
  w.clear();
}

} // namespace

Reshard Reshard::compile(const std::string &fromMapping,
                         const std::map<std::string, int64_t> &fromOptions,
                         const std::string &mapping,
                         const std::map<std::string, int64_t> &options,
                         const std::string &config, const std::string &dtype) {
  json request = {{"from_options", json::parse(optionsJson(fromOptions))},
                  {"options", json::parse(optionsJson(options))}};
  if (!dtype.empty())
    request["dtype"] = dtype;
  wl_reshard *h = nullptr;
  check(wl_reshard_compile(fromMapping.c_str(), mapping.c_str(),
                           config.c_str(), request.dump().c_str(), &h));
  Reshard r;
  r.h_ = std::shared_ptr<wl_reshard>(h, wl_reshard_free);
  json d = callJson(wl_reshard_describe, static_cast<const wl_reshard *>(h));
  r.sourceRanks_ = d.at("source_ranks").get<int64_t>();
  r.destRanks_ = d.at("dest_ranks").get<int64_t>();
  r.movedBytes_ = d.at("moved_bytes").get<int64_t>();
  r.totalBytes_ = d.at("total_bytes").get<int64_t>();
  r.traffic_ = d.at("traffic").get<std::vector<std::vector<int64_t>>>();
  return r;
}

std::vector<Reshard::Round> Reshard::part(int64_t a, int64_t b,
                                          int64_t bucketBytes) const {
  json j = callJson(wl_reshard_part, static_cast<const wl_reshard *>(h_.get()),
                    a, b, bucketBytes);
  std::vector<Round> out;
  for (const json &r : j.at("rounds")) {
    Round round;
    for (auto &[d, plan] : r.at("send").items())
      round.send.emplace(std::stoll(d), Plan::fromJson(plan.dump()));
    round.from = r.at("from").get<std::vector<int64_t>>();
    if (!r.at("receive").is_null())
      round.receive = Plan::fromJson(r.at("receive").dump());
    out.push_back(std::move(round));
  }
  return out;
}

Reshard::Stats
Reshard::execute(const std::map<std::string, at::Tensor> *sources,
                 const std::map<std::string, at::Tensor> *destinations,
                 c10d::ProcessGroup &group,
                 const ExecuteOptions &o) const {
  const int64_t me = group.getRank();
  int64_t a = o.sourceRank, b = o.destRank;
  if (a == kFromGroup)
    a = me < sourceRanks_ ? me : -1;
  if (b == kFromGroup)
    b = me - o.destOffset >= 0 && me - o.destOffset < destRanks_
            ? me - o.destOffset
            : -1;
  std::vector<Round> rounds = part(a, b, o.bucketBytes);
  bool sends = false;
  for (const Round &r : rounds)
    sends |= !r.send.empty();
  if (sends && !sources)
    throw Error(Error::Invalid, "reshard: source rank " + std::to_string(a) +
                                    " sends, but has no source tensors");
  if (b >= 0 && !destinations)
    throw Error(Error::Invalid, "reshard: destination rank " +
                                    std::to_string(b) +
                                    " receives, but has no destinations");
  at::Device dev = at::kCPU;
  if (destinations && !destinations->empty())
    dev = destinations->begin()->second.device();
  Stats st;
  st.rounds = static_cast<int64_t>(rounds.size());
  RunOptions run = o.run;
  run.partial = rounds.size() > 1;
  std::vector<c10::intrusive_ptr<c10d::Work>> pending;
  for (size_t k = 0; k < rounds.size(); ++k) {
    const Round &r = rounds[k];
    const int tagBase = static_cast<int>(k) * 64;
    int64_t held = 0;
    std::vector<std::vector<at::Tensor>> wire; // kept alive until waited
    for (auto &[d, plan] : r.send) {
      RunOptions copies = o.run;
      copies.views = false;
      std::map<std::string, at::Tensor> bufs = plan.run(*sources, copies);
      for (size_t i = 0; i < bufs.size(); ++i) {
        at::Tensor t = bufs.at("to-" + std::to_string(d) + "/" + std::to_string(i));
        held += bytesOf(t);
        st.sentBytes += bytesOf(t);
        wire.push_back({t});
        pending.push_back(group.send(wire.back(),
                                     static_cast<int>(d + o.destOffset),
                                     tagBase + static_cast<int>(i)));
      }
    }
    std::map<std::string, at::Tensor> given;
    if (r.receive) {
      for (const TensorSpec &s : r.receive->sources()) {
        if (s.name.rfind("from-", 0) != 0)
          continue;
        size_t slash = s.name.find('/');
        int64_t p = std::stoll(s.name.substr(5, slash - 5));
        int i = std::stoi(s.name.substr(slash + 1));
        at::Tensor t = at::empty(
            s.shape, at::TensorOptions().dtype(scalarTypeOf(s)).device(dev));
        held += bytesOf(t);
        st.receivedBytes += bytesOf(t);
        given[s.name] = t;
        wire.push_back({t});
        pending.push_back(group.recv(wire.back(), static_cast<int>(p),
                                     tagBase + i));
      }
    }
    st.peakBufferBytes = std::max(st.peakBufferBytes, held);
    waitAll(pending);
    if (r.receive) {
      if (k == 0 && sources)
        for (auto &[name, t] : *sources)
          given.emplace(name, t);
      r.receive->runInto(given, *destinations, run);
    }
  }
  return st;
}

} // namespace wl::embed
