//===- EmbeddingTest.cpp - the embedding API over libtorch tensors --------===//
//
// Element origins are asserted, not shapes: every source element holds
// (source id + 1) * 2^20 + its flat index (int32), and every target is
// compared with what the framework's own rule gives, written independently
// in torch ops (vLLM: cat(q.chunk(tp)[r], k.chunk(tp)[r], v.chunk(tp)[r]),
// Megatron: query groups interleaved, then row shards). The CUDA tests run
// the same on CUDA tensors and skip where libtorch sees no GPU.
//
//===----------------------------------------------------------------------===//
#include "wl/Torch/Embedding.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>

using namespace wl::embed;
using TensorMap = std::map<std::string, at::Tensor>;

namespace {

const std::string kSrc = WL_SOURCE_DIR;
const std::string kConfig = kSrc + "/examples/qwen3-tiny-config.json";
const std::string kVllm = kSrc + "/mappings/qwen3/hf-to-vllm.json";
const std::string kMegatron = kSrc + "/mappings/qwen3/hf-to-megatron.json";

// The tiny Qwen3: hidden 128, 8 query heads and 2 KV heads of 32,
// intermediate 256, vocabulary 512, 2 layers.
constexpr int64_t H = 128, NH = 8, NKV = 2, HD = 32, I = 256, V = 512, L = 2;

std::string readText(const std::string &p) {
  std::ifstream in(p);
  std::stringstream b;
  b << in.rdbuf();
  return b.str();
}

CompileOptions opts(int64_t rank, const std::string &dtype = "i32") {
  CompileOptions o;
  o.rank = rank;
  o.dtype = dtype;
  return o;
}

/// The Hugging Face checkpoint, origin-encoded, in the order of `names`.
TensorMap hfCheckpoint(at::Device dev = at::kCPU) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> shapes = {
      {"model.embed_tokens.weight", {V, H}},
      {"lm_head.weight", {V, H}},
      {"model.norm.weight", {H}}};
  for (int64_t l = 0; l < L; ++l) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    shapes.push_back({p + "self_attn.q_proj.weight", {NH * HD, H}});
    shapes.push_back({p + "self_attn.k_proj.weight", {NKV * HD, H}});
    shapes.push_back({p + "self_attn.v_proj.weight", {NKV * HD, H}});
    shapes.push_back({p + "self_attn.o_proj.weight", {H, NH * HD}});
    shapes.push_back({p + "self_attn.q_norm.weight", {HD}});
    shapes.push_back({p + "self_attn.k_norm.weight", {HD}});
    shapes.push_back({p + "input_layernorm.weight", {H}});
    shapes.push_back({p + "post_attention_layernorm.weight", {H}});
    shapes.push_back({p + "mlp.gate_proj.weight", {I, H}});
    shapes.push_back({p + "mlp.up_proj.weight", {I, H}});
    shapes.push_back({p + "mlp.down_proj.weight", {H, I}});
  }
  TensorMap out;
  int64_t id = 0;
  for (auto &[name, shape] : shapes) {
    int64_t n = 1;
    for (int64_t s : shape)
      n *= s;
    at::Tensor t = at::arange(n, at::kInt) + static_cast<int>((++id) << 20);
    out[name] = t.view(shape).to(dev);
  }
  return out;
}

/// vLLM's layout of rank r at tensor-parallel tp, from vLLM's rules.
TensorMap vllmExpected(const TensorMap &hf, int64_t tp, int64_t r) {
  TensorMap e;
  auto pad = [&](const at::Tensor &w) {
    int64_t vp = (V + 63) / 64 * 64;
    return at::cat({w, at::zeros({vp - V, H}, w.options())}, 0);
  };
  e["model.embed_tokens.weight"] =
      pad(hf.at("model.embed_tokens.weight")).chunk(tp, 0)[r];
  e["lm_head.weight"] = pad(hf.at("lm_head.weight")).chunk(tp, 0)[r];
  e["model.norm.weight"] = hf.at("model.norm.weight");
  for (int64_t l = 0; l < L; ++l) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    auto w = [&](const std::string &n) { return hf.at(p + n); };
    e[p + "self_attn.qkv_proj.weight"] =
        at::cat({w("self_attn.q_proj.weight").chunk(tp, 0)[r],
                 w("self_attn.k_proj.weight").chunk(tp, 0)[r],
                 w("self_attn.v_proj.weight").chunk(tp, 0)[r]},
                0);
    e[p + "self_attn.o_proj.weight"] = w("self_attn.o_proj.weight").chunk(tp, 1)[r];
    for (const char *n : {"self_attn.q_norm.weight", "self_attn.k_norm.weight",
                          "input_layernorm.weight",
                          "post_attention_layernorm.weight"})
      e[p + n] = w(n);
    e[p + "mlp.gate_up_proj.weight"] =
        at::cat({w("mlp.gate_proj.weight").chunk(tp, 0)[r],
                 w("mlp.up_proj.weight").chunk(tp, 0)[r]},
                0);
    e[p + "mlp.down_proj.weight"] = w("mlp.down_proj.weight").chunk(tp, 1)[r];
  }
  return e;
}

/// Megatron-Core's layout (as Megatron-Bridge builds it) of TP rank r.
TensorMap megatronExpected(const TensorMap &hf, int64_t tp, int64_t r) {
  TensorMap e;
  e["embedding.word_embeddings.weight"] =
      hf.at("model.embed_tokens.weight").chunk(tp, 0)[r];
  e["output_layer.weight"] = hf.at("lm_head.weight").chunk(tp, 0)[r];
  e["decoder.final_layernorm.weight"] = hf.at("model.norm.weight");
  for (int64_t l = 0; l < L; ++l) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    std::string m = "decoder.layers." + std::to_string(l) + ".";
    auto w = [&](const std::string &n) { return hf.at(p + n); };
    at::Tensor q = w("self_attn.q_proj.weight").view({NKV, NH / NKV * HD, H});
    at::Tensor k = w("self_attn.k_proj.weight").view({NKV, HD, H});
    at::Tensor v = w("self_attn.v_proj.weight").view({NKV, HD, H});
    at::Tensor qkv = at::cat({q, k, v}, 1).reshape({-1, H});
    e[m + "self_attention.linear_qkv.weight"] = qkv.chunk(tp, 0)[r];
    e[m + "self_attention.linear_qkv.layer_norm_weight"] =
        w("input_layernorm.weight");
    e[m + "self_attention.q_layernorm.weight"] = w("self_attn.q_norm.weight");
    e[m + "self_attention.k_layernorm.weight"] = w("self_attn.k_norm.weight");
    e[m + "self_attention.linear_proj.weight"] =
        w("self_attn.o_proj.weight").chunk(tp, 1)[r];
    e[m + "mlp.linear_fc1.weight"] =
        at::cat({w("mlp.gate_proj.weight").chunk(tp, 0)[r],
                 w("mlp.up_proj.weight").chunk(tp, 0)[r]},
                0);
    e[m + "mlp.linear_fc1.layer_norm_weight"] =
        w("post_attention_layernorm.weight");
    e[m + "mlp.linear_fc2.weight"] = w("mlp.down_proj.weight").chunk(tp, 1)[r];
  }
  return e;
}

void expectSame(const TensorMap &got, const TensorMap &want) {
  ASSERT_EQ(got.size(), want.size());
  for (auto &[name, w] : want) {
    auto it = got.find(name);
    ASSERT_NE(it, got.end()) << "no target " << name;
    const at::Tensor &g = it->second;
    EXPECT_EQ(g.sizes(), w.sizes()) << name;
    EXPECT_EQ(g.scalar_type(), w.scalar_type()) << name;
    EXPECT_TRUE(at::equal(g.cpu(), w.cpu())) << "target " << name;
  }
}

bool sharesMemory(const at::Tensor &view, const at::Tensor &base) {
  auto v = reinterpret_cast<uintptr_t>(view.data_ptr());
  auto b = reinterpret_cast<uintptr_t>(base.data_ptr());
  return v >= b && v + view.nbytes() <= b + base.nbytes();
}

std::string errorOf(const std::function<void()> &f) {
  try {
    f();
  } catch (const Error &e) {
    return e.what();
  }
  return "(no error)";
}

} // namespace

TEST(Embedding, VllmRank1MatchesVllmRule) {
  TensorMap hf = hfCheckpoint();
  for (int64_t tp : {1, 2, 4})
    for (int64_t r = 0; r < tp; ++r) {
      Plan plan = compile(kVllm, kConfig, {{"tp", tp}}, opts(r));
      SCOPED_TRACE("tp " + std::to_string(tp) + " rank " + std::to_string(r));
      if (tp == 4) // 2 KV heads over 4 ranks: vLLM replicates them
        continue;
      expectSame(plan.run(hf), vllmExpected(hf, tp, r));
      expectSame(plan.run(hf, {.views = false}), vllmExpected(hf, tp, r));
    }
}

TEST(Embedding, VllmKvReplicationAtTp4) {
  // tp 4 > 2 KV heads: rank r holds KV head r / 2 (vLLM's replication).
  TensorMap hf = hfCheckpoint();
  for (int64_t r = 0; r < 4; ++r) {
    Plan plan = compile(kVllm, kConfig, {{"tp", 4}}, opts(r));
    TensorMap got = plan.run(hf);
    std::string p = "model.layers.1.self_attn.";
    at::Tensor want = at::cat(
        {hf.at(p + "q_proj.weight").chunk(4, 0)[r],
         hf.at(p + "k_proj.weight").chunk(2, 0)[r / 2],
         hf.at(p + "v_proj.weight").chunk(2, 0)[r / 2]},
        0);
    EXPECT_TRUE(at::equal(got.at(p + "qkv_proj.weight"), want)) << r;
  }
}

TEST(Embedding, AliasedTargetsAreViews) {
  TensorMap hf = hfCheckpoint();
  Plan plan = compile(kVllm, kConfig, {{"tp", 2}}, opts(1));
  Description d = plan.describe();
  // embed, lm_head and final norm, and per layer 4 norms.
  EXPECT_EQ(d.aliases.size(), 3u + 4u * L);
  TensorMap got = plan.run(hf);
  for (const auto &a : d.aliases) {
    const at::Tensor &t = got.at(a.target);
    EXPECT_TRUE(sharesMemory(t, hf.at(a.source))) << a.target;
    EXPECT_TRUE(t.is_alias_of(hf.at(a.source))) << a.target;
    EXPECT_EQ(static_cast<const char *>(t.data_ptr()) -
                  static_cast<const char *>(hf.at(a.source).data_ptr()),
              a.offset * 4);
  }
  // The embedding of rank 1 is rows 256..511 of the source, in place.
  EXPECT_EQ(got.at("model.embed_tokens.weight").data_ptr(),
            hf.at("model.embed_tokens.weight")[256].data_ptr());
  EXPECT_EQ(lastRunStats().views, static_cast<int64_t>(d.aliases.size()));
  // Copies when asked.
  TensorMap copies = plan.run(hf, {.views = false});
  for (const auto &a : d.aliases)
    EXPECT_FALSE(sharesMemory(copies.at(a.target), hf.at(a.source)));
  // Not an alias: the fused qkv is a new tensor.
  EXPECT_FALSE(got.at("model.layers.0.self_attn.qkv_proj.weight")
                   .is_alias_of(hf.at("model.layers.0.self_attn.q_proj.weight")));
}

TEST(Embedding, RunIntoSlicesOfOneFusedBuffer) {
  TensorMap hf = hfCheckpoint();
  Plan plan = compile(kVllm, kConfig, {{"tp", 2}}, opts(1));
  int64_t total = 0;
  for (const TensorSpec &t : plan.targets())
    total += t.numel();
  // Every destination a contiguous slice of one buffer (param.narrow(0..)).
  at::Tensor flat = at::full({total + 7}, -1, at::kInt);
  TensorMap dst;
  int64_t off = 3;
  for (const TensorSpec &t : plan.targets()) {
    dst[t.name] = flat.narrow(0, off, t.numel()).view(t.shape);
    off += t.numel();
  }
  plan.runInto(hf, dst);
  EXPECT_EQ(lastRunStats().stagedTargets, 0);
  expectSame(dst, vllmExpected(hf, 2, 1));
  // Nothing outside the slices was touched.
  EXPECT_TRUE(at::equal(flat.narrow(0, 0, 3), at::full({3}, -1, at::kInt)));
  EXPECT_TRUE(at::equal(flat.narrow(0, off, 4), at::full({4}, -1, at::kInt)));
}

TEST(Embedding, RunIntoNonContiguousDestination) {
  TensorMap hf = hfCheckpoint();
  Plan plan = compile(kVllm, kConfig, {{"tp", 2}}, opts(1));
  TensorMap dst;
  for (const TensorSpec &t : plan.targets())
    dst[t.name] = at::empty(t.shape, at::kInt);
  // o_proj of rank 1 is [128, 128]: write it into the right half of a
  // [128, 256] parameter (a column slice, not contiguous).
  std::string o = "model.layers.0.self_attn.o_proj.weight";
  at::Tensor param = at::full({H, 2 * H}, 7, at::kInt);
  dst[o] = param.narrow(1, H, H);
  plan.runInto(hf, dst);
  EXPECT_EQ(lastRunStats().stagedTargets, 1);
  EXPECT_TRUE(at::equal(param.narrow(1, H, H), vllmExpected(hf, 2, 1).at(o)));
  EXPECT_TRUE(at::equal(param.narrow(1, 0, H), at::full({H, H}, 7, at::kInt)));
}

TEST(Embedding, NonContiguousSourceIsCopied) {
  TensorMap hf = hfCheckpoint();
  std::string q = "model.layers.0.self_attn.q_proj.weight";
  at::Tensor orig = hf.at(q);
  hf[q] = orig.t().contiguous().t(); // same values, column-major
  ASSERT_FALSE(hf[q].is_contiguous());
  Plan plan = compile(kVllm, kConfig, {{"tp", 2}}, opts(0));
  TensorMap got = plan.run(hf);
  EXPECT_EQ(lastRunStats().contiguousCopies, 1);
  hf[q] = orig;
  expectSame(got, vllmExpected(hf, 2, 0));
}

TEST(Embedding, StreamingLoaderInAnyOrder) {
  TensorMap hf = hfCheckpoint();
  Plan plan = compile(kVllm, kConfig, {{"tp", 2}}, opts(1));
  TensorMap dst;
  for (const TensorSpec &t : plan.targets())
    dst[t.name] = at::zeros(t.shape, at::kInt);
  // A column slice among them (staged until its last source comes).
  std::string gu = "model.layers.1.mlp.gate_up_proj.weight";
  at::Tensor wide = at::full({2 * I / 2, 2 * H}, 5, at::kInt);
  dst[gu] = wide.narrow(1, 0, H);
  Loader ld = plan.loader(dst);
  std::vector<std::string> names;
  for (auto &[n, t] : hf)
    names.push_back(n);
  std::reverse(names.begin(), names.end());
  EXPECT_FALSE(ld.feed("model.rotary_emb.inv_freq", at::zeros({4})));
  for (const std::string &n : names)
    EXPECT_TRUE(ld.feed(n, hf.at(n))) << n;
  EXPECT_NE(errorOf([&] { ld.feed(names[0], hf.at(names[0])); })
                .find("fed twice"),
            std::string::npos);
  LoadReport r = ld.finish();
  EXPECT_EQ(r.loaded.size(), plan.targets().size());
  ASSERT_EQ(r.ignored.size(), 1u);
  EXPECT_EQ(r.unknown.size(), 1u);
  TensorMap want = vllmExpected(hf, 2, 1);
  EXPECT_TRUE(at::equal(wide.narrow(1, 0, H), want.at(gu)));
  EXPECT_TRUE(at::equal(wide.narrow(1, H, H), at::full({I, H}, 5, at::kInt)));
  dst[gu] = wide.narrow(1, 0, H);
  expectSame(dst, want);
}

TEST(Embedding, LoaderNamesWhatNeverCame) {
  TensorMap hf = hfCheckpoint();
  Plan plan = compile(kVllm, kConfig, {{"tp", 2}}, opts(1));
  TensorMap dst;
  for (const TensorSpec &t : plan.targets())
    dst[t.name] = at::zeros(t.shape, at::kInt);
  Loader ld = plan.loader(dst);
  for (auto &[n, t] : hf)
    if (n != "model.layers.1.self_attn.k_proj.weight")
      ld.feed(n, t);
  EXPECT_EQ(ld.missing(),
            std::vector<std::string>{"model.layers.1.self_attn.k_proj.weight"});
  std::string e = errorOf([&] { ld.finish(); });
  EXPECT_NE(e.find("never fed: 'model.layers.1.self_attn.k_proj.weight'"),
            std::string::npos)
      << e;
}

TEST(Embedding, TensorErrorsNameTheTensor) {
  TensorMap hf = hfCheckpoint();
  Plan plan = compile(kVllm, kConfig, {{"tp", 2}}, opts(1));
  std::string q = "model.layers.0.self_attn.q_proj.weight";
  {
    TensorMap bad = hf;
    bad[q] = bad[q].to(at::kFloat);
    std::string e = errorOf([&] { plan.run(bad); });
    EXPECT_EQ(e, "source '" + q + "' has dtype F32 but the plan has it as I32");
  }
  {
    TensorMap bad = hf;
    bad[q] = bad[q].narrow(0, 0, 8);
    std::string e = errorOf([&] { plan.run(bad); });
    EXPECT_EQ(e, "source '" + q +
                     "' has shape [8, 128] but the plan has it as [256, 128]");
  }
  {
    TensorMap bad = hf;
    bad.erase(q);
    bad["language_model." + q] = hf[q];
    std::string e = errorOf([&] { plan.run(bad); });
    EXPECT_EQ(e, "1 source tensor(s) of the plan are missing: '" + q +
                     "'; given but not in the plan: 'language_model." + q +
                     "'");
  }
  {
    TensorMap dst;
    for (const TensorSpec &t : plan.targets())
      dst[t.name] = at::zeros(t.shape, at::kInt);
    dst.erase("lm_head.weight");
    std::string e = errorOf([&] { plan.runInto(hf, dst); });
    EXPECT_EQ(e, "1 target(s) of the plan have no destination: "
                 "'lm_head.weight'");
    dst["lm_head.weight"] = hf.at("lm_head.weight").narrow(0, 256, 256);
    e = errorOf([&] { plan.runInto(hf, dst); });
    EXPECT_EQ(e, "destination 'lm_head.weight' overlaps source "
                 "'lm_head.weight' in memory; a plan cannot run in place "
                 "(use run(), or a separate destination)");
  }
}

TEST(Embedding, CompileErrors) {
  std::string e = errorOf([&] { compile(kVllm, kConfig, {{"tp", 3}}); });
  EXPECT_NE(e.find("tp"), std::string::npos) << e;
  e = errorOf([&] { compile(kVllm, kConfig, {{"tp", 2}}, opts(2)); });
  EXPECT_EQ(e, "rank 2 is out of range: the mapping has 2 rank(s) (tp 2 x "
               "dp 1)");
  e = errorOf([&] { compile(kVllm, kConfig, {{"tq", 2}}); });
  EXPECT_NE(e.find("tq"), std::string::npos) << e;
  e = errorOf([&] { compile("qwen3/hf-to-nothing", kConfig); });
  EXPECT_NE(e.find("mapping 'qwen3/hf-to-nothing': no such spec file"),
            std::string::npos)
      << e;
  e = errorOf([&] { compile(kVllm, "/nonexistent/config.json"); });
  EXPECT_NE(e.find("config '/nonexistent/config.json': cannot read"),
            std::string::npos)
      << e;
  e = errorOf([&] { compile(kVllm, "{\"hidden_size\": 8}"); });
  EXPECT_NE(e.find("unknown name 'num_attention_heads'"), std::string::npos)
      << e;
  Plan p = compile(kVllm, kConfig, {{"tp", 2}}, opts(1));
  e = errorOf([&] { p.inverse(); });
  EXPECT_NE(e.find("rank 1's plan has no inverse"), std::string::npos) << e;
}

TEST(Embedding, CacheMakesTheSecondCompileFree) {
  // The counts say the second and third compiles did no compiler work (a
  // wall-clock comparison here failed under a loaded ctest -j2).
  clearCache();
  Plan a = compile(kVllm, kConfig, {{"tp", 2}}, opts(0));
  Plan b = compile(kVllm, kConfig, {{"tp", 2}}, opts(1)); // other rank: hit
  Plan c = compile(kVllm, kConfig, {{"tp", 2}}, opts(0));
  CacheStats s = cacheStats();
  EXPECT_EQ(s.misses, 1);
  EXPECT_EQ(s.hits, 2);
  EXPECT_EQ(a.hash(), c.hash()); // the same plan
  EXPECT_NE(a.hash(), b.hash());
  // The same inputs given as texts (spec text with its includes resolved
  // from its folder, config text) hit the same entry.
  Plan d = compile(readText(kVllm), readText(kConfig), {{"tp", 2}}, opts(0),
                   kSrc + "/mappings/qwen3");
  EXPECT_EQ(cacheStats().misses, 1);
  EXPECT_EQ(d.hash(), a.hash());
  // A config folder, a library name.
  Plan f = compile("qwen3/hf-to-vllm", kConfig, {{"tp", 2}}, opts(0));
  EXPECT_EQ(cacheStats().misses, 1);
  // Another config is another entry.
  std::string other = readText(kConfig);
  other.replace(other.find("\"vocab_size\": 512"), 17, "\"vocab_size\": 500");
  Plan g = compile(kVllm, other, {{"tp", 2}}, opts(0));
  EXPECT_EQ(cacheStats().misses, 2);
  EXPECT_EQ(g.targets()[0].shape, (std::vector<int64_t>{256, H}));
}

TEST(Embedding, MegatronRoundTripAllRanks) {
  TensorMap hf = hfCheckpoint();
  Plan fwd = compile(kMegatron, kConfig, {{"tp", 2}}, opts(kAllRanks));
  TensorMap out = fwd.run(hf);
  for (int64_t r = 0; r < 2; ++r) {
    TensorMap mine;
    std::string prefix = "rank-" + std::to_string(r) + "/";
    for (auto &[n, t] : out)
      if (n.rfind(prefix, 0) == 0)
        mine[n.substr(prefix.size())] = t;
    SCOPED_TRACE("rank " + std::to_string(r));
    expectSame(mine, megatronExpected(hf, 2, r));
  }
  Plan back = fwd.inverse();
  EXPECT_TRUE(back.describe().reverse);
  TensorMap again = back.run(out, {.views = false});
  expectSame(again, hf);
  // The reverse plan's inverse is the forward plan of every rank again.
  EXPECT_EQ(back.inverse().hash(), fwd.hash());
}

TEST(Embedding, JsonPlansRunTheSame) {
  TensorMap hf = hfCheckpoint();
  Plan plan = compile(kVllm, kConfig, {{"tp", 2}}, opts(1));
  Plan loaded = Plan::fromJson(plan.toJson());
  EXPECT_EQ(loaded.hash(), plan.hash());
  EXPECT_TRUE(loaded.describe().from.empty());
  expectSame(loaded.run(hf), vllmExpected(hf, 2, 1));
  std::string e = errorOf([&] { Plan::fromJson("{\"version\": 2}"); });
  EXPECT_NE(e.find("plan JSON: version"), std::string::npos) << e;
}

TEST(Embedding, SourceRangesAreRank1sBytes) {
  Plan plan = compile(kVllm, kConfig, {{"tp", 2}}, opts(1));
  auto ranges = plan.sourceRanges();
  // o_proj: the right half of each of its 128 rows.
  const auto &o = ranges.at("model.layers.0.self_attn.o_proj.weight");
  ASSERT_EQ(o.size(), static_cast<size_t>(H));
  for (int64_t i = 0; i < H; ++i)
    EXPECT_EQ(o[i], std::make_pair(i * 256 + 128, i * 256 + 256));
  // q_proj: rows 128..255 in one run; norms whole.
  EXPECT_EQ(ranges.at("model.layers.0.self_attn.q_proj.weight"),
            (std::vector<std::pair<int64_t, int64_t>>{{128 * H, 256 * H}}));
  EXPECT_EQ(ranges.at("model.norm.weight"),
            (std::vector<std::pair<int64_t, int64_t>>{{0, H}}));
  Description d = plan.describe();
  // Half of every sharded tensor, the replicated norms whole.
  const int64_t replicated = (H + L * (2 * HD + 2 * H)) * 4;
  EXPECT_EQ(d.bytesRead * 2, d.sourceBytes + replicated) << d.text();
}

TEST(Embedding, Bf16PlanOnRealDtype) {
  // The config's dtype (bf16): values small integers, exact in bf16.
  Plan plan = compile(kVllm, kConfig, {{"tp", 2}}, {.rank = 0});
  TensorMap hf;
  for (const TensorSpec &t : plan.sources()) {
    ASSERT_EQ(scalarTypeOf(t), at::kBFloat16);
    hf[t.name] = (at::arange(t.numel(), at::kFloat).remainder(256))
                     .to(at::kBFloat16)
                     .view(t.shape);
  }
  TensorMap got = plan.run(hf);
  std::string p = "model.layers.0.";
  EXPECT_TRUE(at::equal(
      got.at(p + "self_attn.qkv_proj.weight"),
      at::cat({hf.at(p + "self_attn.q_proj.weight").chunk(2)[0],
               hf.at(p + "self_attn.k_proj.weight").chunk(2)[0],
               hf.at(p + "self_attn.v_proj.weight").chunk(2)[0]})));
}

TEST(EmbeddingCuda, VllmOnCudaTensors) {
  if (!at::hasCUDA())
    GTEST_SKIP() << "no CUDA device for libtorch";
  at::Device dev(at::kCUDA, 0);
  TensorMap hf = hfCheckpoint(dev);
  for (int64_t r = 0; r < 2; ++r) {
    Plan plan = compile(kVllm, kConfig, {{"tp", 2}}, opts(r));
    TensorMap got = plan.run(hf);
    for (auto &[n, t] : got)
      EXPECT_TRUE(t.is_cuda()) << n;
    expectSame(got, vllmExpected(hf, 2, r));
    TensorMap dst;
    for (const TensorSpec &t : plan.targets())
      dst[t.name] = at::zeros(t.shape, at::TensorOptions(at::kInt).device(dev));
    plan.runInto(hf, dst);
    expectSame(dst, vllmExpected(hf, 2, r));
    // CPU checkpoint into CUDA parameters, streamed.
    TensorMap cpu = hfCheckpoint();
    Loader ld = plan.loader(dst);
    for (auto &[n, t] : cpu)
      ld.feed(n, t);
    ld.finish();
    expectSame(dst, vllmExpected(hf, 2, r));
  }
}
