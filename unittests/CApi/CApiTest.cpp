//===- CApiTest.cpp - libweight-layout's C API, from outside the library --===//
//
// Linked against the shared library only, through its exported wl_*
// symbols. Element origins are asserted: every source element holds
// (source id + 1) * 2^20 + its flat index (int32), and targets are compared
// with vLLM's rule written here (cat of the q, k, v row shards of rank r;
// column shards of o_proj), not with the library's own plan.
//
//===----------------------------------------------------------------------===//
#include "wl/CApi/weight_layout.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using json = nlohmann::json;

namespace {

const std::string kSrc = WL_SOURCE_DIR;
const std::string kConfig = kSrc + "/examples/qwen3-tiny-config.json";
constexpr int64_t H = 128, NH = 8, NKV = 2, HD = 32;

std::string take(char *p) {
  std::string s = p ? p : "";
  wl_free(p);
  return s;
}

wl_plan *compile(const std::string &request) {
  wl_plan *p = nullptr;
  int rc = wl_compile("qwen3/hf-to-vllm", kConfig.c_str(), request.c_str(), &p);
  EXPECT_EQ(rc, WL_OK) << wl_last_error();
  return p;
}

json describe(const wl_plan *p) {
  char *out = nullptr;
  EXPECT_EQ(wl_plan_describe(p, &out), WL_OK);
  return json::parse(take(out));
}

/// Owned tensors of a plan side, origin-encoded or zero.
struct Tensors {
  std::vector<std::string> names;
  std::vector<std::vector<int64_t>> shapes;
  std::vector<std::vector<int32_t>> data;
  std::vector<wl_tensor> c;
  Tensors(const json &specs, bool origin) {
    for (const json &s : specs) {
      names.push_back(s[0]);
      shapes.push_back(s[2].get<std::vector<int64_t>>());
      int64_t n = 1;
      for (int64_t d : shapes.back())
        n *= d;
      std::vector<int32_t> v(n, 0);
      if (origin)
        for (int64_t i = 0; i < n; ++i)
          v[i] = static_cast<int32_t>((int64_t(names.size()) << 20) + i);
      data.push_back(std::move(v));
    }
    for (size_t i = 0; i < names.size(); ++i)
      c.push_back({names[i].c_str(), data[i].data(), "I32",
                   static_cast<int32_t>(shapes[i].size()), shapes[i].data(),
                   WL_DEVICE_CPU, 0});
  }
  const std::vector<int32_t> &operator[](const std::string &n) const {
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == n)
        return data[i];
    throw std::runtime_error("no tensor " + n);
  }
};

/// vLLM's qkv_proj of rank r at TP=2 (q, k, v row shards concatenated) and
/// its o_proj (column shard r).
void expectVllmRank(const Tensors &hf, const Tensors &out, int r) {
  for (int l = 0; l < 2; ++l) {
    std::string p = "model.layers." + std::to_string(l) + ".self_attn.";
    std::vector<int32_t> want;
    for (auto [x, rows] : {std::pair{"q", NH * HD}, {"k", NKV * HD},
                           {"v", NKV * HD}}) {
      const auto &w = hf[p + x + "_proj.weight"];
      int64_t half = rows / 2;
      want.insert(want.end(), w.begin() + r * half * H,
                  w.begin() + (r + 1) * half * H);
    }
    EXPECT_EQ(out[p + "qkv_proj.weight"], want) << p;
    const auto &o = hf[p + "o_proj.weight"];
    std::vector<int32_t> wantO;
    for (int64_t i = 0; i < H; ++i)
      wantO.insert(wantO.end(), o.begin() + i * NH * HD + r * NH * HD / 2,
                   o.begin() + i * NH * HD + (r + 1) * NH * HD / 2);
    EXPECT_EQ(out[p + "o_proj.weight"], wantO) << p;
  }
}

/// Writes `t` as one safetensors file (I32).
void writeSafetensors(const std::string &path, const Tensors &t) {
  json header = json::object();
  uint64_t off = 0;
  for (size_t i = 0; i < t.names.size(); ++i) {
    uint64_t n = t.data[i].size() * 4;
    header[t.names[i]] = {{"dtype", "I32"},
                          {"shape", t.shapes[i]},
                          {"data_offsets", {off, off + n}}};
    off += n;
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');
  std::ofstream f(path, std::ios::binary);
  uint64_t len = h.size();
  f.write(reinterpret_cast<const char *>(&len), 8);
  f << h;
  for (const auto &d : t.data)
    f.write(reinterpret_cast<const char *>(d.data()), d.size() * 4);
}

} // namespace

TEST(CApi, VersionAndErrors) {
  EXPECT_EQ(wl_api_version(), WL_API_VERSION);
  EXPECT_STREQ(wl_version(), "0.1.0");
  wl_plan *p = nullptr;
  EXPECT_EQ(wl_compile(nullptr, kConfig.c_str(), nullptr, &p), WL_ERR_INVALID);
  EXPECT_STREQ(wl_last_error(), "mapping is null");
  EXPECT_EQ(wl_compile("qwen3/hf-to-vllm", kConfig.c_str(), "{\"options\":"
                       "{\"tq\":2}}", &p),
            WL_ERR_INVALID);
  EXPECT_NE(std::string(wl_last_error()).find("unknown option 'tq'"),
            std::string::npos)
      << wl_last_error();
  EXPECT_EQ(wl_compile("qwen3/hf-to-vllm", kConfig.c_str(), "{\"rank\":\"x\"}",
                       &p),
            WL_ERR_INVALID);
  EXPECT_NE(std::string(wl_last_error()).find("rank must be"),
            std::string::npos);
  EXPECT_EQ(wl_compile("qwen3/hf-to-vllm", kConfig.c_str(), "[1", &p),
            WL_ERR_INVALID);
  EXPECT_EQ(p, nullptr); // outputs are written only on success
  // The last error is per thread.
  std::string other;
  std::thread([&] { other = wl_last_error(); }).join();
  EXPECT_EQ(other, "");
}

TEST(CApi, DescribeAndRanges) {
  wl_plan *p = compile("{\"options\":{\"tp\":2},\"rank\":1,\"dtype\":\"I32\"}");
  json d = describe(p);
  EXPECT_EQ(d["rank"], 1);
  EXPECT_EQ(d["tp"], 2);
  EXPECT_EQ(d["sources"], 25);
  EXPECT_EQ(d["source_tensors"].size(), 25u);
  EXPECT_EQ(d["target_tensors"].size(), 19u);
  // Rank 1 of the embedding is rows 256.. of the unpadded vocabulary.
  EXPECT_EQ(d["aliases"]["model.embed_tokens.weight"],
            json({"model.embed_tokens.weight", 256 * H, 256 * H}));
  char *r = nullptr;
  ASSERT_EQ(wl_plan_source_ranges(p, &r), WL_OK);
  json ranges = json::parse(take(r));
  EXPECT_EQ(ranges["model.layers.0.self_attn.o_proj.weight"][0],
            json({128, 256}));
  EXPECT_EQ(ranges["model.layers.0.self_attn.o_proj.weight"].size(),
            static_cast<size_t>(H));
  wl_plan_free(p);
}

TEST(CApi, RunIntoMatchesVllmAndChecksFirst) {
  wl_plan *p = compile("{\"options\":{\"tp\":2},\"rank\":1,\"dtype\":\"I32\"}");
  json d = describe(p);
  Tensors hf(d["source_tensors"], true), out(d["target_tensors"], false);
  wl_run_options o{};
  ASSERT_EQ(wl_run_into(p, hf.c.data(), hf.c.size(), out.c.data(),
                        out.c.size(), &o),
            WL_OK)
      << wl_last_error();
  expectVllmRank(hf, out, 1);
  char *s = nullptr;
  ASSERT_EQ(wl_last_run_stats(&s), WL_OK);
  EXPECT_EQ(json::parse(take(s))["executor"], "cpu");

  // A wrong dtype: refused by name, nothing written.
  Tensors fresh(d["target_tensors"], false);
  std::vector<wl_tensor> bad = hf.c;
  bad[3].dtype = "F32";
  EXPECT_EQ(wl_run_into(p, bad.data(), bad.size(), fresh.c.data(),
                        fresh.c.size(), &o),
            WL_ERR_INVALID);
  EXPECT_EQ(std::string(wl_last_error()),
            "source '" + hf.names[3] +
                "' has dtype F32 but the plan has it as I32");
  for (const auto &v : fresh.data)
    for (int32_t x : v)
      ASSERT_EQ(x, 0);
  // A destination over a source's memory.
  std::vector<wl_tensor> overlap = fresh.c;
  overlap[2].data = hf.c[2].data;
  EXPECT_EQ(wl_run_into(p, hf.c.data(), hf.c.size(), overlap.data(),
                        overlap.size(), &o),
            WL_ERR_INVALID);
  EXPECT_NE(std::string(wl_last_error()).find("overlaps source"),
            std::string::npos);
  // A name given twice; an unknown device.
  std::vector<wl_tensor> twice = hf.c;
  twice.push_back(hf.c[0]);
  EXPECT_EQ(wl_run_into(p, twice.data(), twice.size(), fresh.c.data(),
                        fresh.c.size(), &o),
            WL_ERR_INVALID);
  EXPECT_NE(std::string(wl_last_error()).find("is given twice"),
            std::string::npos);
  std::vector<wl_tensor> tpu = hf.c;
  tpu[0].device_type = 10;
  EXPECT_EQ(wl_run_into(p, tpu.data(), tpu.size(), fresh.c.data(),
                        fresh.c.size(), &o),
            WL_ERR_INVALID);
  wl_plan_free(p);
}

TEST(CApi, LoaderStreamsInAnyOrder) {
  wl_plan *p = compile("{\"options\":{\"tp\":2},\"rank\":0,\"dtype\":\"I32\"}");
  json d = describe(p);
  Tensors hf(d["source_tensors"], true), out(d["target_tensors"], false);
  wl_loader *l = nullptr;
  ASSERT_EQ(wl_loader_new(p, out.c.data(), out.c.size(), nullptr, &l), WL_OK);
  for (size_t i = hf.c.size(); i-- > 0;) {
    int used = -1;
    ASSERT_EQ(wl_loader_feed(l, &hf.c[i], &used), WL_OK) << wl_last_error();
    EXPECT_EQ(used, 1);
  }
  wl_tensor stranger = hf.c[0];
  stranger.name = "language_model.x";
  int used = -1;
  ASSERT_EQ(wl_loader_feed(l, &stranger, &used), WL_OK);
  EXPECT_EQ(used, 0);
  EXPECT_EQ(wl_loader_feed(l, &hf.c[0], &used), WL_ERR_INVALID);
  EXPECT_NE(std::string(wl_last_error()).find("was fed twice"),
            std::string::npos);
  char *r = nullptr;
  ASSERT_EQ(wl_loader_finish(l, &r), WL_OK);
  json report = json::parse(take(r));
  EXPECT_EQ(report["unknown"], json({"language_model.x"}));
  EXPECT_EQ(report["loaded"].size(), out.c.size());
  expectVllmRank(hf, out, 0);
  wl_loader_free(l);
  wl_plan_free(p);
}

TEST(CApi, LoadCheckpointOnTheCpu) {
  wl_plan *p = compile("{\"options\":{\"tp\":2},\"rank\":1,\"dtype\":\"I32\"}");
  json d = describe(p);
  Tensors hf(d["source_tensors"], true), out(d["target_tensors"], false);
  char dir[] = "/tmp/wl-capi-XXXXXX";
  ASSERT_TRUE(mkdtemp(dir));
  std::string file = std::string(dir) + "/model.safetensors";
  writeSafetensors(file, hf);
  wl_checkpoint *ck = nullptr;
  ASSERT_EQ(wl_checkpoint_open(dir, &ck), WL_OK) << wl_last_error();
  std::vector<std::pair<int64_t, int64_t>> progress;
  wl_load_options o{};
  o.threads = 2;
  o.buffer_bytes = 4096;
  o.batch_bytes = 50000;
  o.progress_context = &progress;
  o.progress = [](void *ctx, int64_t done, int64_t total) {
    static_cast<std::vector<std::pair<int64_t, int64_t>> *>(ctx)->emplace_back(
        done, total);
  };
  char *r = nullptr;
  ASSERT_EQ(wl_load_checkpoint(p, ck, out.c.data(), out.c.size(), &o, &r),
            WL_OK)
      << wl_last_error();
  json report = json::parse(take(r));
  EXPECT_EQ(report["bytes_needed"], d["bytes_read"]);
  EXPECT_GT(report["batches"].get<int>(), 1);
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back().first, progress.back().second);
  expectVllmRank(hf, out, 1);

  // A checkpoint whose tensor has another shape: refused before writing.
  Tensors fresh(d["target_tensors"], false);
  Tensors wrong(d["source_tensors"], true);
  wrong.shapes[4] = {static_cast<int64_t>(wrong.data[4].size()), 1};
  wrong.c[4].shape = wrong.shapes[4].data();
  writeSafetensors(file, wrong);
  wl_checkpoint *ck2 = nullptr;
  ASSERT_EQ(wl_checkpoint_open(dir, &ck2), WL_OK);
  EXPECT_EQ(wl_load_checkpoint(p, ck2, fresh.c.data(), fresh.c.size(), &o,
                               nullptr),
            WL_ERR_INVALID);
  EXPECT_NE(std::string(wl_last_error())
                .find("checkpoint tensor '" + hf.names[4] + "' in "),
            std::string::npos)
      << wl_last_error();
  for (const auto &v : fresh.data)
    for (int32_t x : v)
      ASSERT_EQ(x, 0);
  wl_checkpoint_free(ck2);

  // A file cut short after it was opened and checked: the read fails with
  // a runtime error naming the file, and nothing crashes or hangs.
  writeSafetensors(file, hf);
  wl_checkpoint *ck3 = nullptr;
  ASSERT_EQ(wl_checkpoint_open(dir, &ck3), WL_OK);
  ASSERT_EQ(truncate(file.c_str(), 4096), 0);
  EXPECT_EQ(wl_load_checkpoint(p, ck3, fresh.c.data(), fresh.c.size(), &o,
                               nullptr),
            WL_ERR_RUNTIME);
  EXPECT_NE(std::string(wl_last_error()).find(file), std::string::npos)
      << wl_last_error();
  EXPECT_NE(std::string(wl_last_error()).find("came back short"),
            std::string::npos)
      << wl_last_error();
  wl_checkpoint_free(ck3);
  wl_checkpoint_free(ck);
  std::remove(file.c_str());
  rmdir(dir);
  wl_plan_free(p);
}

TEST(CApi, CudaIsReportedNotAssumed) {
  char *why = nullptr;
  if (wl_cuda_available(&why)) {
    SUCCEED() << "a CUDA device is usable";
  } else {
    EXPECT_FALSE(take(why).empty());
  }
}
