//===- Reshard.h - one framework's ranks to another's, in process -*- C++ -*-===//
//
// The C++ side of weight_layout.reshard (docs/embedding.md, "Resharding
// between processes"): a reshard compiled from mapping A's ranks to mapping
// B's (wl/Compile/CompileReshard.h), and one process's part of it run over
// a c10d process group (gloo on CPU tensors) on libtorch tensors it holds:
//
//   auto r = wl::embed::Reshard::compile(
//       "qwen3_moe/hf-to-megatron", {{"tp", 2}, {"ep", 2}, {"etp", 1}},
//       "qwen3_moe/hf-to-vllm", {{"tp", 4}}, configPath);
//   r.execute(&myMegatronTensors, &myVllmParams, *processGroup);
//
// Contracts:
// - Process i of the group is source rank i and destination rank
//   i - destOffset (0: colocated; sourceRanks(): disjoint senders first),
//   unless ExecuteOptions says otherwise (-1: not that role).
// - In each round (wl/Compile/ReshardExchange.h) the process packs what it
//   sends each peer into flat buffers, posts every send and receive of the
//   round, waits for them, and writes the round's elements of its
//   destination tensors in place; it holds at most bucketBytes of buffers
//   at once. Every element of the destination tensors is written exactly
//   once over the rounds, bit for bit what B's own plan makes of the
//   checkpoint A's ranks came from.
// - Errors (a role without its tensors, a name, dtype or shape that does
//   not match) are wl::embed::Error before anything is sent.
//
//===----------------------------------------------------------------------===//
#ifndef WL_TORCH_RESHARD_H
#define WL_TORCH_RESHARD_H

#include "wl/Torch/Embedding.h"

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>

struct wl_reshard;

namespace wl::embed {

class Reshard {
public:
  /// Compiles the reshard (cached as compile() is); `config` as compile()'s.
  static Reshard compile(const std::string &fromMapping,
                         const std::map<std::string, int64_t> &fromOptions,
                         const std::string &mapping,
                         const std::map<std::string, int64_t> &options,
                         const std::string &config,
                         const std::string &dtype = "");

  int64_t sourceRanks() const { return sourceRanks_; }
  int64_t destRanks() const { return destRanks_; }
  /// traffic()[a][b]: bytes source rank a sends destination rank b.
  const std::vector<std::vector<int64_t>> &traffic() const { return traffic_; }
  int64_t movedBytes() const { return movedBytes_; }
  int64_t totalBytes() const { return totalBytes_; }

  /// One round of a process's part: the plans packing what it sends each
  /// destination ("to-<d>/<i>" buffers), the senders whose buffers come,
  /// and the plan writing its tensors (absent when it is no destination).
  struct Round {
    std::map<int64_t, Plan> send;
    std::vector<int64_t> from;
    std::optional<Plan> receive;
  };
  /// The rounds of the process that is source rank `a` and destination
  /// rank `b` (-1: not that role), buffers within `bucketBytes` (0: one
  /// round).
  std::vector<Round> part(int64_t a, int64_t b, int64_t bucketBytes) const;

  static constexpr int64_t kFromGroup = -2; ///< the role from the group rank
  struct ExecuteOptions {
    int64_t sourceRank = kFromGroup, destRank = kFromGroup;
    int64_t destOffset = 0;
    int64_t bucketBytes = 256ll << 20;
    RunOptions run;
  };
  struct Stats {
    int64_t rounds = 0, sentBytes = 0, receivedBytes = 0,
            peakBufferBytes = 0;
  };
  /// Runs this process's part over `group` (module comment). `sources`:
  /// the tensors it holds as a source rank (null when it is none);
  /// `destinations`: those it fills in place (null when it is none).
  Stats execute(const std::map<std::string, at::Tensor> *sources,
                const std::map<std::string, at::Tensor> *destinations,
                c10d::ProcessGroup &group,
                const ExecuteOptions &options) const;
  Stats execute(const std::map<std::string, at::Tensor> *sources,
                const std::map<std::string, at::Tensor> *destinations,
                c10d::ProcessGroup &group) const {
    return execute(sources, destinations, group, ExecuteOptions{});
  }

private:
  std::shared_ptr<wl_reshard> h_;
  int64_t sourceRanks_ = 0, destRanks_ = 0, movedBytes_ = 0, totalBytes_ = 0;
  std::vector<std::vector<int64_t>> traffic_;
};

} // namespace wl::embed

#endif // WL_TORCH_RESHARD_H
