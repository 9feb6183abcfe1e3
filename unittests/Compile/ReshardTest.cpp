//===- ReshardTest.cpp - one layout's ranks to another's, checked ---------===//
//
// Each checkpoint element holds its own origin (tensor number and index, as
// an int32), so that a destination element says where it came from. For
// pairs of the library's mappings at several degrees: A's ranks are made
// from the checkpoint with A's plans, the reshard plan runs on them, and
// every destination rank equals what B's own plan makes from the
// checkpoint, element by element. The traffic is checked against a count
// made from the values: a destination element stays when its own rank
// (same number on A's side) holds that value.
//
//===----------------------------------------------------------------------===//
#include "wl/Compile/CompileMapping.h"
#include "wl/Compile/CompileReshard.h"
#include "wl/Compile/ReshardExchange.h"
#include "wl/Layout/RankNames.h"
#include "wl/Plan/Plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

using namespace wl;

namespace {

const std::string kSource = WL_SOURCE_DIR;

struct Side {
  std::string spec;
  std::map<std::string, int64_t> options;
};

struct Pair {
  std::string config; ///< under test/Mapping/Inputs
  Side a, b;
};

std::string describe(const Side &s) {
  std::string o = s.spec;
  for (auto &[k, v] : s.options)
    o += " " + k + "=" + std::to_string(v);
  return o;
}

std::unique_ptr<CompiledMapping> compile(const Pair &p, const Side &s) {
  MappingRequest m;
  m.spec = kSource + "/mappings/" + s.spec;
  m.config = kSource + "/test/Mapping/Inputs/" + p.config;
  m.options = s.options;
  m.dtype = "i32";
  std::string error;
  auto out = compileMapping(m, error);
  EXPECT_TRUE(out) << error;
  return out;
}

/// Every checkpoint tensor a plan reads, each element its origin:
/// (tensor number << 20) + index.
std::map<std::string, plan::Buffer> checkpoint(const CompiledMapping &m) {
  std::map<std::string, plan::Buffer> out;
  for (const layout::Plan &p : m.rankPlans)
    for (const layout::TensorInfo &t : p.sources) {
      if (out.count(t.name))
        continue;
      int64_t n = 1;
      for (int64_t d : t.shape)
        n *= d;
      plan::Buffer b;
      b.bytes.resize(n * 4);
      const int64_t id = static_cast<int64_t>(out.size()) + 1;
      for (int64_t i = 0; i < n; ++i)
        plan::storeElement(b, layout::DType::I32, i,
                           static_cast<uint32_t>((id << 20) + i));
      out[t.name] = std::move(b);
    }
  return out;
}

/// Rank r's tensors by name, made from `ckpt` with its plan.
std::map<std::string, plan::Buffer>
run(const layout::Plan &p, const std::map<std::string, plan::Buffer> &in) {
  std::vector<plan::Buffer> src;
  for (const layout::TensorInfo &t : p.sources)
    src.push_back(in.at(t.name));
  std::vector<plan::Buffer> got = plan::execute(p, src);
  std::map<std::string, plan::Buffer> out;
  for (size_t k = 0; k < p.targets.size(); ++k)
    out[p.targets[k].name] = std::move(got[k]);
  return out;
}

/// Runs every process's rounds (exchangeFor) with the buffers handed over
/// in memory, and checks: each destination rank's tensors equal B's own
/// plan's; the receive plans of all rounds together write every element
/// once; each pair's bytes over all rounds equal its traffic; and no
/// process holds more than the bucket in buffers in any round.
void checkExchange(const ReshardPlan &plan, const CompiledMapping &a,
                   const CompiledMapping &b,
                   const std::map<std::string, plan::Buffer> &ckpt,
                   bool colocated, int64_t bucket) {
  const int64_t ra = a.ranks(), rb = b.ranks();
  const int64_t n = colocated ? std::max(ra, rb) : ra + rb;
  auto aOf = [&](int64_t r) { return r < ra ? r : -1; };
  auto bOf = [&](int64_t r) {
    return colocated ? (r < rb ? r : -1) : (r >= ra ? r - ra : -1);
  };
  // inbox[d]["<round>/from-<p>/<i>"]: what came for destination d.
  std::map<int64_t, std::map<std::string, plan::Buffer>> inbox;
  std::vector<std::vector<ExchangeRound>> parts;
  std::map<std::pair<int64_t, size_t>, int64_t> staged; // (process, round)
  size_t maxRounds = 0;
  int64_t largest = 0; // bytes of the largest pair exchanged
  for (int64_t r = 0; r < n; ++r) {
    parts.push_back(exchangeFor(plan, aOf(r), bOf(r), bucket));
    maxRounds = std::max(maxRounds, parts.back().size());
    if (aOf(r) < 0)
      continue;
    auto mine = run(a.rankPlans[aOf(r)], ckpt);
    std::map<int64_t, int64_t> sent;
    for (size_t k = 0; k < parts.back().size(); ++k)
      for (auto &[d, send] : parts.back()[k].send)
        for (auto &[name, buf] : run(send, mine)) {
          sent[d] += static_cast<int64_t>(buf.bytes.size());
          staged[{r, k}] += static_cast<int64_t>(buf.bytes.size());
          inbox[d][std::to_string(k) + "/from-" + std::to_string(aOf(r)) +
                   name.substr(name.find('/'))] = buf;
        }
    for (int64_t d = 0; d < rb; ++d)
      if (d != bOf(r)) {
        EXPECT_EQ(sent[d], plan.traffic[aOf(r)][d]) << r << " -> " << d;
        largest = std::max(largest, sent[d]);
      }
  }
  if (bucket > 0 && largest > bucket)
    EXPECT_GT(maxRounds, 1u) << "the bucket should make rounds";
  for (int64_t r = 0; r < n; ++r) {
    const int64_t d = bOf(r);
    if (d < 0)
      continue;
    // The rounds' receive plans as one, their buffers renamed by round.
    layout::Plan all;
    all.targets = plan.byDest[d].targets;
    for (size_t k = 0; k < parts[r].size(); ++k) {
      const layout::Plan &rp = parts[r][k].receive;
      ASSERT_EQ(rp.targets.size(), all.targets.size());
      const int64_t first = static_cast<int64_t>(all.sources.size());
      for (layout::TensorInfo t : rp.sources) {
        if (t.name.rfind("from-", 0) == 0) {
          staged[{r, k}] += t.shape[0] * layout::dtypeSize(t.dtype);
          t.name = std::to_string(k) + "/" + t.name;
        }
        all.sources.push_back(t);
      }
      for (layout::Piece p : rp.pieces) {
        if (!p.isFill())
          p.source += first;
        all.pieces.push_back(p);
      }
    }
    std::map<std::string, plan::Buffer> in = inbox[d];
    if (aOf(r) >= 0)
      for (auto &[name, buf] : run(a.rankPlans[aOf(r)], ckpt))
        in[name] = buf;
    auto got = run(all, in);
    for (auto &[name, buf] : run(b.rankPlans[d], ckpt))
      EXPECT_TRUE(got.at(name).bytes == buf.bytes)
          << "rank " << d << " " << name;
    for (const layout::CoverageProblem &pr :
         layout::checkCoverage(all, {false}))
      ADD_FAILURE() << pr.message;
  }
  if (bucket > 0)
    for (auto &[where, bytes] : staged)
      EXPECT_LE(bytes, bucket) << "process " << where.first << " round "
                               << where.second;
}

std::vector<Pair> pairs() {
  const std::string vq = "qwen3/hf-to-vllm.json", mq = "qwen3/hf-to-megatron.json";
  const std::string vm = "qwen3_moe/hf-to-vllm.json",
                    mm = "qwen3_moe/hf-to-megatron.json";
  return {
      // The same framework at new degrees: TP shrinks and grows.
      {"qwen3-config.json", {vq, {{"tp", 4}}}, {vq, {{"tp", 2}}}},
      {"qwen3-config.json", {vq, {{"tp", 1}}}, {vq, {{"tp", 4}}}},
      {"qwen3-config.json", {mq, {{"tp", 2}}}, {mq, {{"tp", 1}, {"pp", 2}}}},
      // Across frameworks, both ways.
      {"qwen3-config.json", {mq, {{"tp", 2}, {"pp", 2}}}, {vq, {{"tp", 4}}}},
      {"qwen3-config.json", {vq, {{"tp", 2}, {"dp", 2}}}, {mq, {{"tp", 2}}}},
      // MoE: expert parallelism on either side, expert TP changed.
      {"qwen3_moe-config.json",
       {mm, {{"tp", 2}, {"ep", 2}, {"etp", 1}}},
       {vm, {{"tp", 2}, {"ep", 2}}}},
      {"qwen3_moe-config.json",
       {mm, {{"tp", 2}, {"dp", 2}, {"ep", 2}, {"pp", 2}}},
       {vm, {{"tp", 4}}}},
      {"qwen3_moe-config.json",
       {vm, {{"tp", 1}, {"dp", 3}, {"ep", 3}}},
       {mm, {{"tp", 2}, {"dp", 2}, {"ep", 4}, {"etp", 1}}}},
      // MaxText's scanned tree (one rank) to vLLM TP=4 with EP.
      {"qwen3_moe-config.json",
       {"qwen3_moe/hf-to-maxtext.json", {}},
       {vm, {{"tp", 4}, {"ep", 4}}}},
  };
}

} // namespace

TEST(Reshard, EveryDestinationElementFromItsOriginWithTheCountedTraffic) {
  for (const Pair &p : pairs()) {
    SCOPED_TRACE(describe(p.a) + " -> " + describe(p.b));
    auto a = compile(p, p.a), b = compile(p, p.b);
    ASSERT_TRUE(a && b);
    ReshardRequest req;
    req.specA = kSource + "/mappings/" + p.a.spec;
    req.specB = kSource + "/mappings/" + p.b.spec;
    req.config = kSource + "/test/Mapping/Inputs/" + p.config;
    req.optionsA = p.a.options;
    req.optionsB = p.b.options;
    req.dtype = "i32";
    std::string error;
    auto plan = compileReshard(req, error);
    ASSERT_TRUE(plan) << error;
    ASSERT_EQ(plan->sourceRanks, a->ranks());
    ASSERT_EQ(plan->destRanks, b->ranks());

    auto ckpt = checkpoint(*a);
    std::map<std::string, plan::Buffer> held; // "rank-<a>/<name>"
    std::vector<std::set<uint32_t>> values(a->ranks());
    for (int64_t r = 0; r < a->ranks(); ++r)
      for (auto &[name, buf] : run(a->rankPlans[r], ckpt)) {
        for (size_t i = 0; i < buf.bytes.size() / 4; ++i)
          values[r].insert(static_cast<uint32_t>(
              plan::loadElement(buf, layout::DType::I32, i)));
        held[layout::rankPrefix(r) + name] = buf;
      }
    int64_t total = 0, moved = 0;
    for (int64_t d = 0; d < b->ranks(); ++d) {
      auto want = run(b->rankPlans[d], ckpt);
      auto got = run(plan->byDest[d], held);
      ASSERT_EQ(got.size(), want.size());
      for (auto &[name, buf] : want) {
        ASSERT_TRUE(got.count(name)) << name;
        EXPECT_TRUE(got[name].bytes == buf.bytes) << "rank " << d << " " << name;
        for (size_t i = 0; i < buf.bytes.size() / 4; ++i) {
          uint32_t v =
              static_cast<uint32_t>(plan::loadElement(buf, layout::DType::I32, i));
          total += 4;
          if (d >= a->ranks() || !values[d].count(v))
            moved += 4;
        }
      }
    }
    EXPECT_EQ(plan->totalBytes, total);
    EXPECT_EQ(plan->movedBytes, moved);

    // The same through each process's part, colocated (process r is A
    // rank r and B rank r) and disjoint (A's ranks, then B's), in one
    // round and in rounds of a small bucket: pack per destination and
    // round, exchange, then each round's receive plan.
    for (bool colocated : {true, false})
      for (int64_t bucket : {int64_t(0), int64_t(3000)}) {
        SCOPED_TRACE(std::string(colocated ? "colocated" : "disjoint") +
                     " bucket " + std::to_string(bucket));
        checkExchange(*plan, *a, *b, ckpt, colocated, bucket);
      }
    int64_t sum = 0;
    for (auto &row : plan->traffic)
      for (int64_t x : row)
        sum += x;
    EXPECT_EQ(sum, total);
  }
}

TEST(Reshard, ReplicatedElementsAreSentByTheRanksInTurn) {
  // vLLM TP=4 -> TP=4: everything a rank needs it holds, so nothing moves;
  // TP=1 -> TP=4: rank 0 sends everything (one holder).
  ReshardRequest req;
  req.specA = req.specB = kSource + "/mappings/qwen3/hf-to-vllm.json";
  req.config = kSource + "/test/Mapping/Inputs/qwen3-config.json";
  req.optionsA = req.optionsB = {{"tp", 4}};
  std::string error;
  auto plan = compileReshard(req, error);
  ASSERT_TRUE(plan) << error;
  EXPECT_EQ(plan->movedBytes, 0);
  // Four data-parallel replicas to TP=1: destination 0 takes from rank 0;
  // with TP=1 -> DP=4 replicas, each replica's copy comes from rank 0.
  req.optionsA = {{"tp", 1}, {"dp", 4}};
  req.optionsB = {{"tp", 1}, {"dp", 4}};
  plan = compileReshard(req, error);
  ASSERT_TRUE(plan) << error;
  EXPECT_EQ(plan->movedBytes, 0) << trafficText(*plan);
  for (int64_t d = 0; d < 4; ++d)
    EXPECT_EQ(plan->traffic[d][d], plan->totalBytes / 4);
  // From 4 replicas to 2 TP ranks of 2 replicas: destination 2 (tp 0 of
  // replica 1) prefers source rank 2, which holds everything it needs.
  req.optionsB = {{"tp", 2}, {"dp", 2}};
  plan = compileReshard(req, error);
  ASSERT_TRUE(plan) << error;
  EXPECT_EQ(plan->movedBytes, 0) << trafficText(*plan);
}

TEST(Reshard, AnotherModelIsRefused) {
  ReshardRequest req;
  req.specA = kSource + "/mappings/qwen3/hf-to-vllm.json";
  req.specB = kSource + "/mappings/qwen3_moe/hf-to-vllm.json";
  req.config = kSource + "/test/Mapping/Inputs/qwen3-config.json";
  std::string error;
  EXPECT_FALSE(compileReshard(req, error));
  EXPECT_FALSE(error.empty());
}
