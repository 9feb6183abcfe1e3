//===- StreamWriterTest.cpp - checkpoints streamed to disk, byte exact ----===//
//
// Every mapping spec's plans (HF side made of random bytes) written by the
// streaming writer with windows from 96 bytes to 64 MiB and the kernel-copy
// threshold on and off, each output compared with the reference executor
// (plan::execute) byte for byte and checked by verifyCheckpoint; a corrupted
// output byte must make verifyCheckpoint fail, naming the tensor.
//
//===----------------------------------------------------------------------===//
#include "wl/Runtime/StreamWriter.h"
#include "wl/Compile/CompileMapping.h"
#include "wl/Plan/Plan.h"
#include "wl/Runtime/CpuExecutor.h"
#include "wl/Safetensors/Safetensors.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <unistd.h>

using namespace wl;
namespace fs = std::filesystem;

namespace {

const std::string kSource = WL_SOURCE_DIR;

/// A safetensors file of the plan's sources filled with random bytes.
std::unique_ptr<runtime::SafetensorsFile>
writeSources(const layout::Plan &plan, const std::string &path, uint64_t seed) {
  std::vector<runtime::OutTensor> ts;
  for (const layout::TensorInfo &t : plan.sources)
    ts.push_back({t.name, t.dtype, t.shape});
  runtime::FileLayout fl = runtime::layoutFile(ts, {});
  std::string bytes = fl.prefix;
  bytes.resize(fl.fileSize);
  std::mt19937_64 rng(seed);
  for (size_t i = fl.prefix.size(); i < bytes.size(); ++i)
    bytes[i] = static_cast<char>(rng());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(::write(fd, bytes.data(), bytes.size()),
            static_cast<ssize_t>(bytes.size()));
  ::close(fd);
  std::string error;
  auto f = runtime::SafetensorsFile::open(path, error);
  EXPECT_TRUE(f) << error;
  return f;
}

struct Case {
  std::string spec, config;
  std::map<std::string, int64_t> options;
};

/// Every target of `plan` in the checkpoint at `out` equals `want` byte for
/// byte, and verifyCheckpoint passes.
void expectWritten(const layout::Plan &plan,
                   const std::vector<runtime::SourceTensor> &sources,
                   const std::vector<plan::Buffer> &want,
                   const std::string &out) {
  std::string error;
  auto ckpt = runtime::Checkpoint::open(out, error);
  ASSERT_TRUE(ckpt) << error;
  for (size_t t = 0; t < plan.targets.size(); ++t) {
    auto l = ckpt->find(plan.targets[t].name);
    ASSERT_TRUE(l.entry) << plan.targets[t].name;
    const uint8_t *p = l.file->data(*l.entry);
    ASSERT_TRUE(std::equal(want[t].bytes.begin(), want[t].bytes.end(), p))
        << plan.targets[t].name << " differs from plan::execute";
  }
  ASSERT_TRUE(runtime::verifyCheckpoint(plan, sources, out, error)) << error;
}

/// The plan's sources in `src`, and their bytes for plan::execute.
void sourcesOf(const layout::Plan &plan, const runtime::SafetensorsFile &src,
               std::vector<runtime::SourceTensor> &sources,
               std::vector<plan::Buffer> &buffers) {
  for (const layout::TensorInfo &t : plan.sources) {
    const runtime::TensorEntry *e = src.find(t.name);
    ASSERT_TRUE(e) << t.name;
    sources.push_back({&src, e});
    const uint8_t *p = src.data(*e);
    buffers.push_back({std::vector<uint8_t>(p, p + (e->end - e->begin))});
  }
}

/// Writes `plan` with `opts` into the new folder `out`, checks it against
/// `want` (expectWritten) and removes it.
void writeAndCheck(const layout::Plan &plan,
                   const std::vector<runtime::SourceTensor> &sources,
                   const std::vector<plan::Buffer> &want,
                   const runtime::WriteOptions &opts, runtime::ThreadPool &pool,
                   const fs::path &out, runtime::WriteStats &stats) {
  std::string error;
  fs::create_directories(out);
  ASSERT_TRUE(runtime::writeCheckpoint(plan, sources, out.string(), opts,
                                       pool, stats, error))
      << error;
  expectWritten(plan, sources, want, out.string());
  fs::remove_all(out);
}

/// Whether files in `dir` take a 4 KiB O_DIRECT write.
bool takesDirectWrites(const fs::path &dir) {
  std::string path = (dir / "direct-probe").string();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_DIRECT, 0644);
  if (fd < 0)
    return false;
  void *page = nullptr;
  bool ok = ::posix_memalign(&page, 4096, 4096) == 0;
  if (ok) {
    std::memset(page, 0, 4096);
    ok = ::pwrite(fd, page, 4096, 0) == 4096;
  }
  std::free(page);
  ::close(fd);
  fs::remove(path);
  return ok;
}

TEST(StreamWriter, EveryMappingByteExactInAnyWindowSize) {
  std::vector<Case> cases = {
      {"qwen3/hf-to-vllm.json", "qwen3-config.json", {{"tp", 2}}},
      {"qwen3/hf-to-vllm.json", "qwen3-tied-config.json", {{"tp", 4}}},
      {"qwen3/hf-to-megatron.json",
       "qwen3-config.json",
       {{"tp", 2}, {"pp", 2}}},
      {"qwen3_moe/hf-to-vllm.json",
       "qwen3_moe-config.json",
       {{"tp", 2}, {"ep", 2}}},
      {"qwen3_moe/hf-to-transformers.json", "qwen3_moe-config.json", {}},
      {"qwen3_5/hf-to-fastdeploy.json", "qwen3_5-config.json", {{"tp", 2}}},
      {"qwen3_next/hf-to-megatron.json", "qwen3_next-config.json", {{"tp", 2}}},
      {"qwen3_5_moe/hf-to-vllm.json", "qwen3_5_moe-config.json", {{"tp", 2}}},
  };
  fs::path dir = fs::temp_directory_path() /
                 ("wl-stream-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  runtime::ThreadPool pool(2);
  int checked = 0;
  int64_t kernelCopied = 0;
  for (const Case &c : cases) {
    std::string error;
    MappingRequest req{kSource + "/mappings/" + c.spec,
                       kSource + "/test/Mapping/Inputs/" + c.config,
                       c.options,
                       "",
                       false,
                       false};
    auto compiled = compileMapping(req, error);
    ASSERT_TRUE(compiled) << error;
    // One source file for all ranks (they read the same tensors).
    const layout::Plan &first = compiled->rankPlans[0];
    layout::Plan all = first;
    for (const layout::Plan &p : compiled->rankPlans)
      for (const layout::TensorInfo &t : p.sources)
        if (std::none_of(
                all.sources.begin(), all.sources.end(),
                [&](const layout::TensorInfo &s) { return s.name == t.name; }))
          all.sources.push_back(t);
    std::string srcPath = (dir / "src.safetensors").string();
    auto src = writeSources(all, srcPath, checked + 1);
    ASSERT_TRUE(src);
    for (size_t r = 0; r < compiled->rankPlans.size(); ++r) {
      const layout::Plan &plan = compiled->rankPlans[r];
      std::vector<runtime::SourceTensor> sources;
      std::vector<plan::Buffer> buffers;
      sourcesOf(plan, *src, sources, buffers);
      ASSERT_FALSE(HasFatalFailure());
      std::vector<plan::Buffer> want = plan::execute(plan, buffers);
      for (int64_t window : {int64_t(96), int64_t(4096), int64_t(64) << 20})
        for (int64_t zeroCopy : {int64_t(0), int64_t(32)}) {
          SCOPED_TRACE(c.spec + " rank " + std::to_string(r) + " window " +
                       std::to_string(window) + " zero-copy " +
                       std::to_string(zeroCopy));
          runtime::WriteOptions opts;
          opts.windowBytes = window;
          opts.zeroCopyMinBytes = zeroCopy;
          opts.maxFileBytes = window == 96 ? 20000 : 5'000'000'000ull;
          runtime::WriteStats stats;
          writeAndCheck(plan, sources, want, opts, pool,
                        dir / ("out-" + std::to_string(checked)), stats);
          if (HasFatalFailure())
            return;
          if (zeroCopy == 0) {
            EXPECT_EQ(stats.zeroCopyBytes, 0);
          }
          kernelCopied += stats.zeroCopyBytes;
          ++checked;
        }
    }
  }
  EXPECT_GT(checked, 50);
  EXPECT_GT(kernelCopied, 0) << "copy_file_range was never used";
  fs::remove_all(dir);
}

// Rendered bytes are written with O_DIRECT where they cover whole pages,
// their edges through the page cache. Tensors of megabytes (a Qwen3.5
// vocabulary of 16384: transposed lm_head shards for FastDeploy; Qwen3-MoE
// to MaxText, transposed and stacked), windows that start at every page
// offset (96 KiB + 24 bytes) and whole MiB, kernel copies beside them or
// not: byte for byte what plan::execute computes, with O_DIRECT and
// without; and O_DIRECT used, where the temporary directory takes it.
TEST(StreamWriter, DirectWritesByteExact) {
  fs::path dir = fs::temp_directory_path() /
                 ("wl-direct-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  struct Big {
    std::string spec, config;
    std::map<std::string, int64_t> options;
    std::map<std::string, int64_t> sizes;
  };
  std::vector<Big> cases = {
      {"qwen3_5/hf-to-fastdeploy.json",
       "qwen3_5-config.json",
       {{"tp", 2}},
       {{"vocab_size", 16384}, {"intermediate_size", 4096}}},
      {"qwen3_moe/hf-to-maxtext.json",
       "qwen3_moe-config.json",
       {},
       {{"vocab_size", 8192}, {"moe_intermediate_size", 1024}}},
  };
  runtime::ThreadPool pool(2);
  int64_t direct = 0;
  int checked = 0;
  for (const Big &c : cases) {
    std::string error;
    // The test config with larger sizes.
    std::ifstream in(kSource + "/test/Mapping/Inputs/" + c.config);
    nlohmann::json cfg = nlohmann::json::parse(in);
    for (const auto &[k, v] : c.sizes)
      cfg[k] = v;
    std::string cfgPath = (dir / c.config).string();
    std::ofstream(cfgPath) << cfg.dump();
    MappingRequest req{kSource + "/mappings/" + c.spec, cfgPath, c.options,
                       "", false, false};
    auto compiled = compileMapping(req, error);
    ASSERT_TRUE(compiled) << error;
    const layout::Plan &plan = compiled->rankPlans.back();
    auto src = writeSources(plan, (dir / "src.safetensors").string(),
                            checked + 11);
    ASSERT_TRUE(src);
    std::vector<runtime::SourceTensor> sources;
    std::vector<plan::Buffer> buffers;
    sourcesOf(plan, *src, sources, buffers);
    ASSERT_FALSE(HasFatalFailure());
    std::vector<plan::Buffer> want = plan::execute(plan, buffers);
    for (bool useDirect : {true, false})
      for (int64_t window : {int64_t(96 << 10) + 24, int64_t(1) << 20})
        for (int64_t zeroCopy : {int64_t(0), int64_t(32)}) {
          SCOPED_TRACE(c.spec + (useDirect ? " direct" : " buffered") +
                       " window " + std::to_string(window) + " zero-copy " +
                       std::to_string(zeroCopy));
          runtime::WriteOptions opts;
          opts.windowBytes = window;
          opts.zeroCopyMinBytes = zeroCopy;
          opts.directWrites = useDirect;
          runtime::WriteStats stats;
          writeAndCheck(plan, sources, want, opts, pool,
                        dir / ("out-" + std::to_string(checked)), stats);
          if (HasFatalFailure())
            return;
          if (!useDirect) {
            EXPECT_EQ(stats.directBytes, 0);
          }
          EXPECT_LE(stats.directBytes + stats.zeroCopyBytes, stats.bytes);
          direct += stats.directBytes;
          ++checked;
        }
  }
  EXPECT_EQ(checked, 16);
  if (takesDirectWrites(dir)) {
    EXPECT_GT(direct, 0) << "O_DIRECT was never used";
  }
  fs::remove_all(dir);
}

/// Qwen3 (the test config) to vLLM at TP 2.
auto compileQwen3Tp2(std::string &error) {
  MappingRequest req{kSource + "/mappings/qwen3/hf-to-vllm.json",
                     kSource + "/test/Mapping/Inputs/qwen3-config.json",
                     {{"tp", 2}},
                     "",
                     false,
                     false};
  return compileMapping(req, error);
}

/// An empty folder `name`-<pid> under the temporary directory.
fs::path freshDir(const std::string &name) {
  fs::path dir =
      fs::temp_directory_path() / (name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(StreamWriter, VerifyNamesTheCorruptedTensor) {
  std::string error;
  auto compiled = compileQwen3Tp2(error);
  ASSERT_TRUE(compiled) << error;
  const layout::Plan &plan = compiled->rankPlans[1];
  fs::path dir = freshDir("wl-verify-test");
  fs::create_directories(dir / "out");
  auto src = writeSources(plan, (dir / "src.safetensors").string(), 7);
  std::vector<runtime::SourceTensor> sources;
  for (const layout::TensorInfo &t : plan.sources)
    sources.push_back({src.get(), src->find(t.name)});
  runtime::ThreadPool pool(1);
  runtime::WriteStats stats;
  ASSERT_TRUE(runtime::writeCheckpoint(plan, sources, (dir / "out").string(),
                                       {}, pool, stats, error))
      << error;
  // Flip one byte of the o_proj of layer 1.
  std::string file = (dir / "out" / "model.safetensors").string();
  uint64_t at;
  {
    auto ckpt = runtime::Checkpoint::open((dir / "out").string(), error);
    ASSERT_TRUE(ckpt) << error;
    auto l = ckpt->find("model.layers.1.self_attn.o_proj.weight");
    ASSERT_TRUE(l.entry);
    at = l.file->fileOffset(*l.entry) + 1001;
  }
  int fd = ::open(file.c_str(), O_RDWR);
  uint8_t b;
  ASSERT_EQ(::pread(fd, &b, 1, at), 1);
  b ^= 0x10;
  ASSERT_EQ(::pwrite(fd, &b, 1, at), 1);
  ::close(fd);
  EXPECT_FALSE(
      runtime::verifyCheckpoint(plan, sources, (dir / "out").string(), error));
  EXPECT_NE(
      error.find("tensor 'model.layers.1.self_attn.o_proj.weight' element 500"),
      std::string::npos)
      << error;
  fs::remove_all(dir);
}

// Each file's header is padded so that its kernel-copied rows sit at the
// offset within a page they have in their source, for as many of their
// bytes as any data start (a multiple of 8) could: counted here from the
// files as written, row by row, over the residues of (output offset -
// source offset) modulo 4096.
TEST(StreamWriter, KernelCopiesKeepTheirPageOffsets) {
  std::string error;
  auto compiled = compileQwen3Tp2(error);
  ASSERT_TRUE(compiled) << error;
  const layout::Plan &plan = compiled->rankPlans[1];
  fs::path dir = freshDir("wl-page-offsets-test");
  fs::create_directories(dir / "out");
  auto src = writeSources(plan, (dir / "src.safetensors").string(), 5);
  std::vector<runtime::SourceTensor> sources;
  std::vector<plan::Buffer> buffers;
  sourcesOf(plan, *src, sources, buffers);
  runtime::WriteOptions opts;
  opts.zeroCopyMinBytes = 16;
  runtime::ThreadPool pool(2);
  runtime::WriteStats stats;
  ASSERT_TRUE(runtime::writeCheckpoint(plan, sources, (dir / "out").string(),
                                       opts, pool, stats, error))
      << error;
  ASSERT_GT(stats.zeroCopyBytes, 0);
  auto out = runtime::Checkpoint::open((dir / "out").string(), error);
  ASSERT_TRUE(out) << error;
  std::map<uint64_t, uint64_t> bytesAt; // residue -> copied bytes
  for (const layout::Piece &p : plan.pieces) {
    layout::Piece q = runtime::coalesceRows(p);
    const size_t r = q.shape.size();
    const int es = layout::dtypeSize(plan.targets[q.target].dtype);
    if (r == 0 || q.isFill() || !q.steps.empty() || q.srcStrides[r - 1] != 1 ||
        q.dstStrides[r - 1] != 1 || q.shape[r - 1] * es < 16 ||
        q.numElements() == 0)
      continue;
    auto l = out->find(plan.targets[q.target].name);
    ASSERT_TRUE(l.entry);
    const uint64_t dstBase = l.file->fileOffset(*l.entry);
    const uint64_t srcBase = src->fileOffset(*sources[q.source].entry);
    std::vector<int64_t> idx(r - 1, 0);
    for (bool more = true; more;) {
      int64_t d = q.dstOffset, s = q.srcOffset;
      for (size_t j = 0; j + 1 < r; ++j) {
        d += idx[j] * q.dstStrides[j];
        s += idx[j] * q.srcStrides[j];
      }
      bytesAt[(dstBase + d * es - srcBase - s * es) % 4096] +=
          q.shape[r - 1] * es;
      more = false;
      for (size_t j = r - 1; j-- > 0 && !more;) {
        more = ++idx[j] < q.shape[j];
        if (!more)
          idx[j] = 0;
      }
    }
  }
  ASSERT_GT(bytesAt[0], 0u);
  for (auto [residue, bytes] : bytesAt) {
    if (residue % 8 == 0) {
      EXPECT_LE(bytes, bytesAt[0]) << "residue " << residue;
    }
  }
  fs::remove_all(dir);
}

// WriteOptions::cancel: set before the first window, no tensor is written
// (the files hold their headers only) and the error is kCancelled; clear,
// the same writer writes everything.
TEST(StreamWriter, CancelStopsBeforeTheNextWindow) {
  std::string error;
  auto compiled = compileQwen3Tp2(error);
  ASSERT_TRUE(compiled) << error;
  const layout::Plan &plan = compiled->rankPlans[0];
  fs::path dir = freshDir("wl-cancel-test");
  fs::create_directories(dir / "cancelled");
  auto src = writeSources(plan, (dir / "src.safetensors").string(), 11);
  std::vector<runtime::SourceTensor> sources;
  std::vector<plan::Buffer> buffers;
  sourcesOf(plan, *src, sources, buffers);
  std::vector<plan::Buffer> want = plan::execute(plan, buffers);
  runtime::ThreadPool pool(2);
  std::atomic<bool> cancel{true};
  runtime::WriteOptions opts;
  opts.cancel = &cancel;
  std::atomic<int64_t> written{0};
  opts.progress = &written;
  runtime::WriteStats stats;
  EXPECT_FALSE(runtime::writeCheckpoint(plan, sources,
                                        (dir / "cancelled").string(), opts,
                                        pool, stats, error));
  EXPECT_EQ(error, runtime::kCancelled);
  EXPECT_EQ(written.load(), 0);
  cancel = false;
  writeAndCheck(plan, sources, want, opts, pool, dir / "written", stats);
  EXPECT_GT(written.load(), 0);
  fs::remove_all(dir);
}

} // namespace

namespace {

/// The source elements piece `q` reads, one by one.
std::set<int64_t> readElements(const wl::layout::Piece &q) {
  std::set<int64_t> read;
  std::vector<int64_t> idx(q.shape.size(), 0);
  const int64_t n = q.numElements();
  for (int64_t k = 0; k < n; ++k) {
    int64_t s = q.srcOffset;
    for (size_t j = 0; j < q.shape.size(); ++j)
      s += idx[j] * q.srcStrides[j];
    read.insert(s);
    for (size_t j = q.shape.size(); j-- > 0;)
      if (++idx[j] < q.shape[j])
        break;
      else
        idx[j] = 0;
  }
  return read;
}

wl::layout::Piece boxPiece(std::vector<int64_t> shape,
                           std::vector<int64_t> srcStrides, int64_t srcOffset) {
  wl::layout::Piece q;
  q.source = 0;
  q.shape = shape;
  q.srcStrides = srcStrides;
  q.srcOffset = srcOffset;
  q.dstStrides.assign(shape.size(), 0);
  int64_t w = 1;
  for (size_t j = shape.size(); j-- > 0;) {
    q.dstStrides[j] = w;
    w *= shape[j];
  }
  return q;
}

} // namespace

// What a window gives back of its sources: a contiguous read whole; one
// layer of a tensor stacked on an inner axis (MaxText's [emb, layers,
// heads * dim]) as its rows; a transpose's few columns of every row
// nothing; each range read by the piece, a span at most twice what it reads.
TEST(StreamWriter, ReleasableRunsAreWhatTheWindowRead) {
  using wl::runtime::releasableRuns;
  std::vector<std::pair<int64_t, int64_t>> runs;
  // A contiguous run of 3 MiB of bf16 at element 1000.
  releasableRuns(boxPiece({1536, 1024}, {1024, 1}, 1000), 2, 4096, runs);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].first, 1000);
  EXPECT_EQ(runs[0].second, 1000 + 1536 * 1024);
  // Layer 2 of [emb 64, layers 6, 32768]: 64 rows of 64 KiB.
  runs.clear();
  wl::layout::Piece layer = boxPiece({64, 32768}, {6 * 32768, 1}, 2 * 32768);
  releasableRuns(layer, 2, 4096, runs);
  ASSERT_EQ(runs.size(), 64u);
  for (size_t r = 0; r < runs.size(); ++r) {
    EXPECT_EQ(runs[r].first, 2 * 32768 + int64_t(r) * 6 * 32768);
    EXPECT_EQ(runs[r].second - runs[r].first, 32768);
  }
  // Its transpose (the target [32768, 64]) reads the same elements: the
  // same rows.
  runs.clear();
  releasableRuns(boxPiece({32768, 64}, {1, 6 * 32768}, 2 * 32768), 2, 4096,
                 runs);
  EXPECT_EQ(runs.size(), 64u);
  // The same layer with rows of 1 KiB: short of a page (a window keeps
  // them), given back when any length will do (after the piece's last
  // window).
  runs.clear();
  releasableRuns(boxPiece({64, 512}, {6 * 512, 1}, 2 * 512), 2, 4096, runs);
  EXPECT_TRUE(runs.empty());
  releasableRuns(boxPiece({64, 512}, {6 * 512, 1}, 2 * 512), 2, 0, runs);
  ASSERT_EQ(runs.size(), 64u);
  EXPECT_EQ(runs[1].first, 6 * 512 + 2 * 512);
  EXPECT_EQ(runs[1].second, 6 * 512 + 3 * 512);
  // A window of a transpose: 55 columns of each of 2048 rows.
  runs.clear();
  releasableRuns(boxPiece({55, 2048}, {1, 4096}, 7), 2, 4096, runs);
  EXPECT_TRUE(runs.empty());
  // Too many runs: none (the source goes at its last use).
  releasableRuns(boxPiece({2, 100000}, {1, 8}, 0), 2, 0, runs);
  EXPECT_TRUE(runs.empty());
  // Random boxes: every run is read by the piece, whole (or a span covers
  // all it reads and is at most twice as long).
  std::mt19937 rng(5);
  for (int iter = 0; iter < 300; ++iter) {
    std::vector<int64_t> full = {int64_t(1 + rng() % 4), int64_t(1 + rng() % 5),
                                 int64_t(1 + rng() % 3) << 15};
    std::vector<int64_t> st = {full[1] * full[2], full[2], 1};
    std::vector<int64_t> shape, strides;
    int64_t off = 0;
    for (size_t j = 0; j < 3; ++j) {
      int64_t lo = rng() % full[j], len = 1 + rng() % (full[j] - lo);
      off += lo * st[j];
      shape.push_back(len);
      strides.push_back(st[j]);
    }
    if (rng() % 2)
      std::swap(shape[0], shape[1]), std::swap(strides[0], strides[1]);
    wl::layout::Piece q = boxPiece(shape, strides, off);
    runs.clear();
    releasableRuns(q, 2, rng() % 2 ? 0 : 4096, runs);
    const std::set<int64_t> r = readElements(q);
    if (runs.size() == 1 && runs[0].second - runs[0].first >= int64_t(r.size())) {
      EXPECT_LE(runs[0].first, *r.begin());
      EXPECT_GE(runs[0].second, *r.rbegin() + 1);
      EXPECT_LE(runs[0].second - runs[0].first, 2 * int64_t(r.size()));
      continue;
    }
    for (auto [b, e] : runs)
      for (int64_t x = b; x < e; x += 97)
        ASSERT_TRUE(r.count(x)) << iter << ": " << x;
  }
}
