//===- ReshardTest.cpp - wl::embed::Reshard over gloo processes -----------===//
//
// One thread per rank, each with its own c10d::ProcessGroup: LocalGroup,
// whose send and recv hand tensors over through a shared mailbox (Debian
// ships libtorch's gloo group without gloo's headers; the Python test runs
// the same C API over gloo processes). Each rank makes its source rank's
// tensors from an origin-encoded checkpoint (element i of tensor k holds
// (k + 1) << 20 | i) with mapping A's plan, runs its part, and compares
// every destination tensor with what mapping B's own plan makes of the
// checkpoint.
//
//===----------------------------------------------------------------------===//
#include "wl/Torch/Reshard.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>

using namespace wl::embed;

namespace {

const std::string kSource = WL_SOURCE_DIR;

/// Messages in flight, by (sender, receiver, tag), in order.
struct Mailbox {
  std::mutex m;
  std::condition_variable cv;
  std::map<std::tuple<int, int, int>, std::deque<at::Tensor>> q;
};

/// A send is done when posted (the tensor is copied into the mailbox).
class Done : public c10d::Work {
public:
  bool wait(std::chrono::milliseconds) override { return true; }
};

/// A receive copies the first message of its key into its tensor on wait.
class Receive : public c10d::Work {
public:
  Receive(std::shared_ptr<Mailbox> mb, at::Tensor t, std::tuple<int, int, int> key)
      : mb_(std::move(mb)), t_(std::move(t)), key_(key) {}
  bool wait(std::chrono::milliseconds) override {
    std::unique_lock<std::mutex> lock(mb_->m);
    mb_->cv.wait(lock, [&] { return !mb_->q[key_].empty(); });
    at::Tensor got = mb_->q[key_].front();
    mb_->q[key_].pop_front();
    lock.unlock();
    if (got.sizes() != t_.sizes() || got.scalar_type() != t_.scalar_type())
      throw std::runtime_error("a message of another shape or dtype");
    t_.copy_(got);
    return true;
  }

private:
  std::shared_ptr<Mailbox> mb_;
  at::Tensor t_;
  std::tuple<int, int, int> key_;
};

/// A process group of threads: rank `rank` of `size`, one mailbox.
class LocalGroup : public c10d::ProcessGroup {
public:
  LocalGroup(int rank, int size, std::shared_ptr<Mailbox> mb)
      : c10d::ProcessGroup(rank, size), mb_(std::move(mb)) {}
  const std::string getBackendName() const override { return "local"; }
  c10::intrusive_ptr<c10d::Work> send(std::vector<at::Tensor> &t, int dst,
                                      int tag) override {
    {
      std::lock_guard<std::mutex> lock(mb_->m);
      mb_->q[{getRank(), dst, tag}].push_back(t.at(0).clone());
    }
    mb_->cv.notify_all();
    return c10::make_intrusive<Done>();
  }
  c10::intrusive_ptr<c10d::Work> recv(std::vector<at::Tensor> &t, int src,
                                      int tag) override {
    return c10::make_intrusive<Receive>(
        mb_, t.at(0), std::make_tuple(src, getRank(), tag));
  }

private:
  std::shared_ptr<Mailbox> mb_;
};

struct Case {
  std::string a;
  std::map<std::string, int64_t> aOptions;
  std::string b;
  std::map<std::string, int64_t> bOptions;
  std::string config;
  int processes;
};

const Case kCases[] = {
    // Megatron-Core TP=2 EP=2 ETP=1 -> vLLM TP=4, colocated.
    {"qwen3_moe/hf-to-megatron",
     {{"tp", 2}, {"ep", 2}, {"etp", 1}},
     "qwen3_moe/hf-to-vllm",
     {{"tp", 4}},
     "qwen3_moe-config.json",
     4},
    // vLLM TP=4 -> TP=2.
    {"qwen3/hf-to-vllm", {{"tp", 4}}, "qwen3/hf-to-vllm", {{"tp", 2}},
     "qwen3-config.json", 4},
};

/// Every tensor A reads, origin-encoded.
std::map<std::string, at::Tensor> checkpoint(const Case &c,
                                             const std::string &config) {
  CompileOptions how;
  how.rank = kAllRanks;
  how.dtype = "i32";
  std::map<std::string, at::Tensor> out;
  int64_t k = 0;
  for (const TensorSpec &s : compile(c.a, config, c.aOptions, how).sources()) {
    int64_t n = 1;
    for (int64_t d : s.shape)
      n *= d;
    out[s.name] = (at::arange(n, at::kInt) + static_cast<int>(++k << 20))
                      .reshape(s.shape);
  }
  return out;
}

/// One child: true when every destination tensor is right.
bool child(const Case &c, int rank, int64_t bucket, c10d::ProcessGroup &group) {
  const std::string config = kSource + "/test/Mapping/Inputs/" + c.config;
  Reshard r = Reshard::compile(c.a, c.aOptions, c.b, c.bOptions, config, "i32");
  auto hf = checkpoint(c, config);
  CompileOptions how;
  how.dtype = "i32";
  std::map<std::string, at::Tensor> src, want, dst;
  if (rank < r.sourceRanks()) {
    how.rank = rank;
    src = compile(c.a, config, c.aOptions, how).run(hf, {.views = false});
  }
  if (rank < r.destRanks()) {
    how.rank = rank;
    want = compile(c.b, config, c.bOptions, how).run(hf, {.views = false});
    for (auto &[name, t] : want)
      dst[name] = at::full_like(t, -1);
  }
  Reshard::ExecuteOptions eo;
  eo.bucketBytes = bucket;
  Reshard::Stats st = r.execute(rank < r.sourceRanks() ? &src : nullptr,
                                rank < r.destRanks() ? &dst : nullptr, group,
                                eo);
  bool ok = true;
  for (auto &[name, t] : want)
    if (!at::equal(dst.at(name), t)) {
      std::fprintf(stderr, "rank %d: '%s' differs\n", rank, name.c_str());
      ok = false;
    }
  int64_t expected = 0;
  if (rank < r.sourceRanks())
    for (int64_t d = 0; d < r.destRanks(); ++d)
      if (d != rank)
        expected += r.traffic()[rank][d];
  if (st.sentBytes != expected) {
    std::fprintf(stderr, "rank %d: sent %lld bytes, traffic says %lld\n", rank,
                 static_cast<long long>(st.sentBytes),
                 static_cast<long long>(expected));
    ok = false;
  }
  if (bucket > 0 && st.peakBufferBytes > bucket) {
    std::fprintf(stderr, "rank %d: held %lld bytes of buffers, bucket %lld\n",
                 rank, static_cast<long long>(st.peakBufferBytes),
                 static_cast<long long>(bucket));
    ok = false;
  }
  if (bucket > 0 && expected > bucket && st.rounds < 2) {
    std::fprintf(stderr, "rank %d: one round for a bucket of %lld\n", rank,
                 static_cast<long long>(bucket));
    ok = false;
  }
  return ok;
}

/// Runs every rank on its thread; how many failed.
int runRanks(const Case &c, int64_t bucket) {
  auto mb = std::make_shared<Mailbox>();
  std::vector<std::thread> threads;
  std::vector<int> ok(c.processes, 0);
  for (int rank = 0; rank < c.processes; ++rank)
    threads.emplace_back([&, rank] {
      auto group = c10::make_intrusive<LocalGroup>(rank, c.processes, mb);
      try {
        ok[rank] = child(c, rank, bucket, *group);
      } catch (const std::exception &e) {
        std::fprintf(stderr, "rank %d: %s\n", rank, e.what());
      }
    });
  for (std::thread &t : threads)
    t.join();
  int failed = 0;
  for (int v : ok)
    failed += !v;
  return failed;
}

} // namespace

TEST(TorchReshard, EveryRankOverAProcessGroup) {
  for (const Case &c : kCases)
    for (int64_t bucket : {int64_t(0), int64_t(65536)}) {
      SCOPED_TRACE(c.a + " -> " + c.b + ", bucket " + std::to_string(bucket));
      EXPECT_EQ(runRanks(c, bucket), 0);
    }
}

TEST(TorchReshard, RanksRoundsAndRefusals) {
  const Case &c = kCases[1];
  Reshard r = Reshard::compile(c.a, c.aOptions, c.b, c.bOptions,
                               kSource + "/test/Mapping/Inputs/" + c.config);
  EXPECT_EQ(r.sourceRanks(), 4);
  EXPECT_EQ(r.destRanks(), 2);
  EXPECT_GT(r.movedBytes(), 0);
  EXPECT_THROW(r.part(4, 0, 0), Error);
  // Two rounds at least for a small bucket; one without.
  EXPECT_EQ(r.part(0, 0, 0).size(), 1u);
  EXPECT_GT(r.part(0, 0, 65536).size(), 1u);
  // A role without its tensors (rank 1 sends to destination 0), before
  // anything is sent.
  auto group = c10::make_intrusive<LocalGroup>(1, 4, std::make_shared<Mailbox>());
  std::map<std::string, at::Tensor> none;
  EXPECT_THROW(r.execute(nullptr, &none, *group), Error);
}
