// torch_eager_convert: the "PyTorch eager" baseline of the CPU conversion
// benchmark. It converts a Hugging Face Qwen3 safetensors checkpoint to
// vLLM's or Megatron-Core's (Megatron-Bridge) tensor-parallel layout the way
// a hand-written Python loader/converter does it: every source tensor is a
// torch tensor over the checkpoint (torch::from_blob over an mmap of each
// .safetensors file, which is what safetensors' zero-copy load does; or, with
// --load read, over one read() buffer per file), each rank's tensors are made
// with eager ATen ops (cat, chunk, view/reshape, contiguous, pad), and each
// rank's state dict is saved as a safetensors file with plain write() calls
// from each tensor's data_ptr.
//
//   torch_eager_convert --layout vllm|megatron --from HF_DIR --to OUT_DIR --tp N
//       [--load mmap|read] [--threads N]
//
// OUT_DIR must not exist. With tp > 1 it gets rank-<r>/model.safetensors for
// every rank r; with tp == 1 it gets model.safetensors (as weight-layout-convert
// writes a single rank). stdout gets exactly one line:
//   torch-eager: <layout> tp=<N>: <bytes written> bytes in <seconds> s
// timed from the start of reading (config.json) to the close of the last
// file written. stderr gets the intra-op thread count torch uses.
//
// The torch ops, per rank r (chunk(tp, d)[r] is torch::Tensor::chunk):
//   vLLM:
//     qkv_proj      = cat({q.chunk(tp,0)[r], k.chunk(tp,0)[r], v.chunk(tp,0)[r]}, 0)
//     o_proj        = o.chunk(tp,1)[r].contiguous()
//     gate_up_proj  = cat({gate.chunk(tp,0)[r], up.chunk(tp,0)[r]}, 0)
//     down_proj     = down.chunk(tp,1)[r].contiguous()
//     embed_tokens, lm_head = P.chunk(tp,0)[r] where
//                     P = F::pad(w, {0, 0, 0, Vp - V}) (once, before the rank
//                     loop; P = w when Vp == V)
//     norms         = the source tensor itself (written from the mapping)
//   Megatron-Core:
//     linear_qkv    = cat({q.view({ng, hpg*hd, H}), k.view({ng, hd, H}),
//                          v.view({ng, hd, H})}, 1).reshape({-1, H}).chunk(tp,0)[r]
//                     (the full interleaved tensor is built for each rank, as
//                     each Megatron-Bridge rank does, then chunked)
//     linear_proj   = o.chunk(tp,1)[r].contiguous()
//     linear_fc1    = cat({gate.chunk(tp,0)[r], up.chunk(tp,0)[r]}, 0)
//     linear_fc2    = down.chunk(tp,1)[r].contiguous()
//     word_embeddings, output_layer = w.chunk(tp,0)[r] (a view: no copy)
//     norms         = the source tensor itself
// Every tensor gets .contiguous() before it is written (a no-op for all but
// the dim-1 chunks above, which already got it).

#include <torch/torch.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

[[noreturn]] void fail(const std::string &msg) { throw std::runtime_error(msg); }

std::string errnoText() { return std::strerror(errno); }

// ---------------------------------------------------------------------------
// A small JSON reader: enough for config.json, the index and safetensors
// headers.
struct Json {
  enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
  bool b = false;
  std::string text; // String: the value; Number: the literal
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> members;

  const Json *find(const std::string &key) const {
    for (const auto &m : members)
      if (m.first == key)
        return &m.second;
    return nullptr;
  }
  bool isInteger() const {
    return kind == Number && text.find_first_of(".eE") == std::string::npos;
  }
  int64_t asInt(const std::string &what) const {
    if (!isInteger())
      fail(what + ": expected an integer");
    errno = 0;
    char *end = nullptr;
    long long v = std::strtoll(text.c_str(), &end, 10);
    if (errno || *end)
      fail(what + ": integer out of range");
    return v;
  }
  uint64_t asUInt(const std::string &what) const {
    if (!isInteger() || text[0] == '-')
      fail(what + ": expected a non-negative integer");
    errno = 0;
    char *end = nullptr;
    unsigned long long v = std::strtoull(text.c_str(), &end, 10);
    if (errno || *end)
      fail(what + ": integer out of range");
    return v;
  }
};

class JsonParser {
public:
  JsonParser(const char *p, size_t n, std::string where)
      : p_(p), end_(p + n), where_(std::move(where)) {}

  Json parseDocument() {
    Json v = parseValue(0);
    skipWs();
    if (p_ != end_)
      error("trailing characters");
    return v;
  }

private:
  const char *p_, *end_;
  std::string where_;

  [[noreturn]] void error(const std::string &msg) {
    fail(where_ + ": invalid JSON: " + msg);
  }
  void skipWs() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r'))
      ++p_;
  }
  bool literal(const char *word) {
    size_t n = std::strlen(word);
    if (size_t(end_ - p_) >= n && std::memcmp(p_, word, n) == 0) {
      p_ += n;
      return true;
    }
    return false;
  }
  static void appendUtf8(std::string &out, uint32_t cp) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xC0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += char(0xE0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xF0 | (cp >> 18));
      out += char(0x80 | ((cp >> 12) & 0x3F));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    }
  }
  uint32_t hex4() {
    if (end_ - p_ < 4)
      error("truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = *p_++;
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= uint32_t(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= uint32_t(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= uint32_t(c - 'A' + 10);
      else
        error("bad \\u escape");
    }
    return v;
  }
  std::string parseString() {
    // at the opening quote
    ++p_;
    std::string out;
    while (true) {
      if (p_ == end_)
        error("unterminated string");
      char c = *p_++;
      if (c == '"')
        return out;
      if (static_cast<unsigned char>(c) < 0x20)
        error("control character in string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (p_ == end_)
        error("unterminated escape");
      char e = *p_++;
      switch (e) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        uint32_t cp = hex4();
        if (cp >= 0xD800 && cp < 0xDC00) {
          if (!(end_ - p_ >= 2 && p_[0] == '\\' && p_[1] == 'u'))
            error("lone surrogate");
          p_ += 2;
          uint32_t lo = hex4();
          if (lo < 0xDC00 || lo >= 0xE000)
            error("bad surrogate pair");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp < 0xE000) {
          error("lone surrogate");
        }
        appendUtf8(out, cp);
        break;
      }
      default:
        error("bad escape");
      }
    }
  }
  Json parseValue(int depth) {
    if (depth > 128)
      error("nested too deeply");
    skipWs();
    if (p_ == end_)
      error("unexpected end");
    Json v;
    char c = *p_;
    if (c == '{') {
      v.kind = Json::Object;
      ++p_;
      skipWs();
      if (p_ != end_ && *p_ == '}') {
        ++p_;
        return v;
      }
      while (true) {
        skipWs();
        if (p_ == end_ || *p_ != '"')
          error("expected a member name");
        std::string key = parseString();
        skipWs();
        if (p_ == end_ || *p_ != ':')
          error("expected ':'");
        ++p_;
        v.members.emplace_back(std::move(key), parseValue(depth + 1));
        skipWs();
        if (p_ != end_ && *p_ == ',') {
          ++p_;
          continue;
        }
        if (p_ != end_ && *p_ == '}') {
          ++p_;
          return v;
        }
        error("expected ',' or '}'");
      }
    }
    if (c == '[') {
      v.kind = Json::Array;
      ++p_;
      skipWs();
      if (p_ != end_ && *p_ == ']') {
        ++p_;
        return v;
      }
      while (true) {
        v.items.push_back(parseValue(depth + 1));
        skipWs();
        if (p_ != end_ && *p_ == ',') {
          ++p_;
          continue;
        }
        if (p_ != end_ && *p_ == ']') {
          ++p_;
          return v;
        }
        error("expected ',' or ']'");
      }
    }
    if (c == '"') {
      v.kind = Json::String;
      v.text = parseString();
      return v;
    }
    if (literal("true")) {
      v.kind = Json::Bool;
      v.b = true;
      return v;
    }
    if (literal("false")) {
      v.kind = Json::Bool;
      return v;
    }
    if (literal("null"))
      return v;
    if (c == '-' || (c >= '0' && c <= '9')) {
      const char *start = p_;
      if (*p_ == '-')
        ++p_;
      while (p_ != end_ && ((*p_ >= '0' && *p_ <= '9') || *p_ == '.' || *p_ == 'e' ||
                            *p_ == 'E' || *p_ == '+' || *p_ == '-'))
        ++p_;
      v.kind = Json::Number;
      v.text.assign(start, p_);
      return v;
    }
    error("unexpected character");
  }
};

std::string readWholeFile(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    fail(path + ": " + errnoText());
  std::string data;
  char buf[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      int e = errno;
      ::close(fd);
      errno = e;
      fail(path + ": read: " + errnoText());
    }
    if (n == 0)
      break;
    data.append(buf, size_t(n));
  }
  ::close(fd);
  return data;
}

bool fileExists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// ---------------------------------------------------------------------------
// Reading the checkpoint.

enum class LoadMode { Mmap, Read };

// One .safetensors file, mapped (or read) whole; its tensors are
// torch::from_blob views of it, so it must outlive them.
struct SourceFile {
  std::string path;
  void *map = nullptr; // mmap base (Mmap)
  size_t size = 0;
  torch::Tensor buffer; // the read() buffer (Read)

  SourceFile() = default;
  SourceFile(const SourceFile &) = delete;
  SourceFile &operator=(const SourceFile &) = delete;
  ~SourceFile() {
    if (map && map != MAP_FAILED)
      ::munmap(map, size);
  }
};

torch::ScalarType dtypeOf(const std::string &name, const std::string &where) {
  if (name == "BF16")
    return torch::kBFloat16;
  if (name == "F16")
    return torch::kFloat16;
  if (name == "F32")
    return torch::kFloat32;
  fail(where + ": dtype " + name + " is not supported here (BF16, F16, F32)");
}

const char *dtypeName(torch::ScalarType t) {
  switch (t) {
  case torch::kBFloat16: return "BF16";
  case torch::kFloat16: return "F16";
  case torch::kFloat32: return "F32";
  default: fail("unsupported dtype on write");
  }
}

using TensorMap = std::map<std::string, torch::Tensor>;

void loadFile(const std::string &path, LoadMode mode,
              std::vector<std::unique_ptr<SourceFile>> &files, TensorMap &out) {
  auto file = std::make_unique<SourceFile>();
  file->path = path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    fail(path + ": " + errnoText());
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    errno = e;
    fail(path + ": fstat: " + errnoText());
  }
  file->size = size_t(st.st_size);
  if (file->size < 8) {
    ::close(fd);
    fail(path + ": too small for a safetensors file");
  }
  char *base = nullptr;
  if (mode == LoadMode::Mmap) {
    file->map = ::mmap(nullptr, file->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (file->map == MAP_FAILED) {
      int e = errno;
      ::close(fd);
      errno = e;
      fail(path + ": mmap: " + errnoText());
    }
    base = static_cast<char *>(file->map);
  } else {
    file->buffer = torch::empty({int64_t(file->size)}, torch::kUInt8);
    base = static_cast<char *>(file->buffer.data_ptr());
    size_t done = 0;
    while (done < file->size) {
      ssize_t n = ::read(fd, base + done, std::min<size_t>(file->size - done, size_t(1) << 30));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        int e = errno;
        ::close(fd);
        errno = e;
        fail(path + ": read: " + (n == 0 ? std::string("unexpected end of file") : errnoText()));
      }
      done += size_t(n);
    }
  }
  ::close(fd);

  uint64_t headerLen = 0;
  for (int i = 7; i >= 0; --i)
    headerLen = (headerLen << 8) | static_cast<unsigned char>(base[i]);
  if (headerLen > 100000000 || 8 + headerLen > file->size)
    fail(path + ": bad header length");
  Json header = JsonParser(base + 8, size_t(headerLen), path).parseDocument();
  if (header.kind != Json::Object)
    fail(path + ": the header is not a JSON object");
  char *data = base + 8 + headerLen;
  uint64_t dataSize = file->size - 8 - headerLen;
  for (const auto &m : header.members) {
    if (m.first == "__metadata__")
      continue;
    std::string where = path + ": tensor '" + m.first + "'";
    const Json *dt = m.second.find("dtype");
    const Json *shape = m.second.find("shape");
    const Json *offs = m.second.find("data_offsets");
    if (!dt || dt->kind != Json::String || !shape || shape->kind != Json::Array || !offs ||
        offs->kind != Json::Array || offs->items.size() != 2)
      fail(where + ": needs dtype, shape and data_offsets");
    torch::ScalarType type = dtypeOf(dt->text, where);
    std::vector<int64_t> sizes;
    uint64_t numel = 1;
    for (const auto &d : shape->items) {
      int64_t s = d.asInt(where + ": shape");
      if (s < 0)
        fail(where + ": negative dimension");
      sizes.push_back(s);
      numel *= uint64_t(s);
    }
    uint64_t begin = offs->items[0].asUInt(where + ": data_offsets");
    uint64_t end = offs->items[1].asUInt(where + ": data_offsets");
    if (begin > end || end > dataSize ||
        end - begin != numel * uint64_t(c10::elementSize(type)))
      fail(where + ": data_offsets do not match the shape or the file");
    if (out.count(m.first))
      fail(where + ": appears twice in the checkpoint");
    // Zero-copy: the tensor is the bytes of the file. The mapping is
    // read-only; no op below writes to a source.
    out[m.first] = torch::from_blob(data + begin, sizes, torch::TensorOptions().dtype(type));
  }
  files.push_back(std::move(file));
}

// The shard files of a checkpoint folder, in a stable order.
std::vector<std::string> checkpointFiles(const std::string &dir) {
  std::string index = dir + "/model.safetensors.index.json";
  if (fileExists(index)) {
    std::string text = readWholeFile(index);
    Json j = JsonParser(text.data(), text.size(), index).parseDocument();
    const Json *wm = j.find("weight_map");
    if (!wm || wm->kind != Json::Object)
      fail(index + ": no weight_map");
    std::set<std::string> names;
    for (const auto &m : wm->members) {
      if (m.second.kind != Json::String)
        fail(index + ": weight_map values must be file names");
      names.insert(m.second.text);
    }
    std::vector<std::string> files;
    for (const auto &n : names)
      files.push_back(dir + "/" + n);
    return files;
  }
  std::string single = dir + "/model.safetensors";
  if (fileExists(single))
    return {single};
  fail(dir + ": neither model.safetensors nor model.safetensors.index.json");
}

// ---------------------------------------------------------------------------
// Config.

struct Config {
  int64_t H, nh, nkv, hd, I, V, L;
  bool tied;
};

int64_t configInt(const Json &cfg, const char *key, const std::string &where) {
  const Json *v = cfg.find(key);
  if (!v || v->kind == Json::Null)
    fail(where + ": no " + key);
  return v->asInt(where + ": " + key);
}

Config readConfig(const std::string &dir) {
  std::string path = dir + "/config.json";
  std::string text = readWholeFile(path);
  Json cfg = JsonParser(text.data(), text.size(), path).parseDocument();
  const Json *mt = cfg.find("model_type");
  if (!mt || mt->kind != Json::String || mt->text != "qwen3")
    fail(path + ": model_type must be \"qwen3\"");
  Config c;
  c.H = configInt(cfg, "hidden_size", path);
  c.nh = configInt(cfg, "num_attention_heads", path);
  c.nkv = configInt(cfg, "num_key_value_heads", path);
  const Json *hd = cfg.find("head_dim");
  c.hd = (hd && hd->kind != Json::Null) ? hd->asInt(path + ": head_dim") : c.H / c.nh;
  c.I = configInt(cfg, "intermediate_size", path);
  c.V = configInt(cfg, "vocab_size", path);
  c.L = configInt(cfg, "num_hidden_layers", path);
  const Json *tie = cfg.find("tie_word_embeddings");
  c.tied = tie && tie->kind == Json::Bool && tie->b;
  if (c.H <= 0 || c.nh <= 0 || c.nkv <= 0 || c.hd <= 0 || c.I <= 0 || c.V <= 0 || c.L < 0)
    fail(path + ": sizes must be positive");
  return c;
}

// ---------------------------------------------------------------------------
// Writing a state dict as safetensors.

using StateDict = std::vector<std::pair<std::string, torch::Tensor>>;

void writeAll(int fd, const void *p, size_t n, const std::string &path) {
  const char *c = static_cast<const char *>(p);
  while (n > 0) {
    ssize_t w = ::write(fd, c, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      fail(path + ": write: " + errnoText());
    }
    c += w;
    n -= size_t(w);
  }
}

std::string jsonString(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// Saves sd (sorted by name, as safetensors' save_file orders tensors of one
// dtype) and returns the bytes written.
uint64_t saveSafetensors(const std::string &path, StateDict sd) {
  std::sort(sd.begin(), sd.end(),
            [](const auto &a, const auto &b) { return a.first < b.first; });
  for (auto &e : sd)
    e.second = e.second.contiguous();
  std::string header = "{";
  uint64_t offset = 0;
  for (size_t i = 0; i < sd.size(); ++i) {
    const torch::Tensor &t = sd[i].second;
    uint64_t nbytes = uint64_t(t.numel()) * uint64_t(t.element_size());
    if (i)
      header += ',';
    header += jsonString(sd[i].first);
    header += ":{\"dtype\":\"";
    header += dtypeName(t.scalar_type());
    header += "\",\"shape\":[";
    for (int64_t d = 0; d < t.dim(); ++d) {
      if (d)
        header += ',';
      header += std::to_string(t.size(d));
    }
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + nbytes) + "]}";
    offset += nbytes;
  }
  header += '}';
  while (header.size() % 8)
    header += ' ';
  std::string prefix(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i)
    prefix[size_t(i)] = char((n >> (8 * i)) & 0xFF);
  prefix += header;

  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    fail(path + ": " + errnoText());
  writeAll(fd, prefix.data(), prefix.size(), path);
  for (const auto &e : sd)
    writeAll(fd, e.second.data_ptr(), size_t(e.second.numel()) * e.second.element_size(), path);
  if (::close(fd) != 0)
    fail(path + ": close: " + errnoText());
  return prefix.size() + offset;
}

// ---------------------------------------------------------------------------
// The conversions.

class Sources {
public:
  explicit Sources(TensorMap &m) : m_(m) {}
  // The HF tensor `name`, checked against its expected shape.
  const torch::Tensor &get(const std::string &name, std::vector<int64_t> shape) {
    auto it = m_.find(name);
    if (it == m_.end())
      fail("the checkpoint has no tensor '" + name + "'");
    if (it->second.sizes() != c10::IntArrayRef(shape)) {
      std::string want;
      for (auto s : shape)
        want += (want.empty() ? "" : ",") + std::to_string(s);
      fail("tensor '" + name + "' has shape " + c10::str(it->second.sizes()) + ", expected [" +
           want + "]");
    }
    used_.insert(name);
    return it->second;
  }
  std::vector<std::string> unused() const {
    std::vector<std::string> out;
    for (const auto &kv : m_)
      if (!used_.count(kv.first))
        out.push_back(kv.first);
    return out;
  }

private:
  TensorMap &m_;
  std::set<std::string> used_;
};

std::string layerName(int64_t l, const char *suffix) {
  return "model.layers." + std::to_string(l) + "." + suffix;
}

StateDict vllmRank(Sources &src, const Config &c, int64_t tp, int64_t r,
                   const torch::Tensor &embedP, const torch::Tensor &headP) {
  StateDict sd;
  sd.emplace_back("model.embed_tokens.weight", embedP.chunk(tp, 0)[r]);
  sd.emplace_back("lm_head.weight", headP.chunk(tp, 0)[r]);
  sd.emplace_back("model.norm.weight", src.get("model.norm.weight", {c.H}));
  for (int64_t l = 0; l < c.L; ++l) {
    const auto &q = src.get(layerName(l, "self_attn.q_proj.weight"), {c.nh * c.hd, c.H});
    const auto &k = src.get(layerName(l, "self_attn.k_proj.weight"), {c.nkv * c.hd, c.H});
    const auto &v = src.get(layerName(l, "self_attn.v_proj.weight"), {c.nkv * c.hd, c.H});
    const auto &o = src.get(layerName(l, "self_attn.o_proj.weight"), {c.H, c.nh * c.hd});
    const auto &gate = src.get(layerName(l, "mlp.gate_proj.weight"), {c.I, c.H});
    const auto &up = src.get(layerName(l, "mlp.up_proj.weight"), {c.I, c.H});
    const auto &down = src.get(layerName(l, "mlp.down_proj.weight"), {c.H, c.I});
    sd.emplace_back(layerName(l, "self_attn.qkv_proj.weight"),
                    torch::cat({q.chunk(tp, 0)[r], k.chunk(tp, 0)[r], v.chunk(tp, 0)[r]}, 0));
    sd.emplace_back(layerName(l, "self_attn.o_proj.weight"), o.chunk(tp, 1)[r].contiguous());
    sd.emplace_back(layerName(l, "mlp.gate_up_proj.weight"),
                    torch::cat({gate.chunk(tp, 0)[r], up.chunk(tp, 0)[r]}, 0));
    sd.emplace_back(layerName(l, "mlp.down_proj.weight"), down.chunk(tp, 1)[r].contiguous());
    for (const char *norm : {"self_attn.q_norm.weight", "self_attn.k_norm.weight"})
      sd.emplace_back(layerName(l, norm), src.get(layerName(l, norm), {c.hd}));
    for (const char *norm : {"input_layernorm.weight", "post_attention_layernorm.weight"})
      sd.emplace_back(layerName(l, norm), src.get(layerName(l, norm), {c.H}));
  }
  return sd;
}

StateDict megatronRank(Sources &src, const Config &c, int64_t tp, int64_t r) {
  const int64_t ng = c.nkv, hpg = c.nh / c.nkv, H = c.H, hd = c.hd;
  StateDict sd;
  sd.emplace_back("embedding.word_embeddings.weight",
                  src.get("model.embed_tokens.weight", {c.V, H}).chunk(tp, 0)[r]);
  sd.emplace_back("output_layer.weight", src.get("lm_head.weight", {c.V, H}).chunk(tp, 0)[r]);
  sd.emplace_back("decoder.final_layernorm.weight", src.get("model.norm.weight", {H}));
  for (int64_t l = 0; l < c.L; ++l) {
    const std::string out = "decoder.layers." + std::to_string(l) + ".";
    const auto &q = src.get(layerName(l, "self_attn.q_proj.weight"), {c.nh * hd, H});
    const auto &k = src.get(layerName(l, "self_attn.k_proj.weight"), {c.nkv * hd, H});
    const auto &v = src.get(layerName(l, "self_attn.v_proj.weight"), {c.nkv * hd, H});
    const auto &o = src.get(layerName(l, "self_attn.o_proj.weight"), {H, c.nh * hd});
    const auto &gate = src.get(layerName(l, "mlp.gate_proj.weight"), {c.I, H});
    const auto &up = src.get(layerName(l, "mlp.up_proj.weight"), {c.I, H});
    const auto &down = src.get(layerName(l, "mlp.down_proj.weight"), {H, c.I});
    torch::Tensor qkv = torch::cat({q.view({ng, hpg * hd, H}), k.view({ng, hd, H}),
                                    v.view({ng, hd, H})},
                                   1)
                            .reshape({-1, H});
    sd.emplace_back(out + "self_attention.linear_qkv.weight", qkv.chunk(tp, 0)[r]);
    sd.emplace_back(out + "self_attention.linear_qkv.layer_norm_weight",
                    src.get(layerName(l, "input_layernorm.weight"), {H}));
    sd.emplace_back(out + "self_attention.q_layernorm.weight",
                    src.get(layerName(l, "self_attn.q_norm.weight"), {hd}));
    sd.emplace_back(out + "self_attention.k_layernorm.weight",
                    src.get(layerName(l, "self_attn.k_norm.weight"), {hd}));
    sd.emplace_back(out + "self_attention.linear_proj.weight", o.chunk(tp, 1)[r].contiguous());
    sd.emplace_back(out + "mlp.linear_fc1.weight",
                    torch::cat({gate.chunk(tp, 0)[r], up.chunk(tp, 0)[r]}, 0));
    sd.emplace_back(out + "mlp.linear_fc1.layer_norm_weight",
                    src.get(layerName(l, "post_attention_layernorm.weight"), {H}));
    sd.emplace_back(out + "mlp.linear_fc2.weight", down.chunk(tp, 1)[r].contiguous());
  }
  return sd;
}

void requireDiv(int64_t a, int64_t b, const std::string &what) {
  if (b <= 0 || a % b != 0)
    fail(what + " (" + std::to_string(a) + " % " + std::to_string(b) + " != 0)");
}

[[noreturn]] void usage(const char *msg = nullptr) {
  if (msg)
    std::fprintf(stderr, "torch_eager_convert: %s\n", msg);
  std::fprintf(stderr,
               "usage: torch_eager_convert --layout vllm|megatron --from HF_DIR --to OUT_DIR "
               "--tp N [--load mmap|read] [--threads N]\n");
  std::exit(2);
}

int64_t parsePositive(const std::string &s, const char *what) {
  char *end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno || s.empty() || *end || v <= 0)
    usage((std::string(what) + " needs a positive integer").c_str());
  return v;
}

} // namespace

int main(int argc, char **argv) {
  std::string layout, from, to;
  int64_t tp = 0, threads = 0;
  LoadMode load = LoadMode::Mmap;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        usage((a + " needs a value").c_str());
      return argv[++i];
    };
    if (a == "--layout")
      layout = value();
    else if (a == "--from")
      from = value();
    else if (a == "--to")
      to = value();
    else if (a == "--tp")
      tp = parsePositive(value(), "--tp");
    else if (a == "--threads")
      threads = parsePositive(value(), "--threads");
    else if (a == "--load") {
      std::string m = value();
      if (m == "mmap")
        load = LoadMode::Mmap;
      else if (m == "read")
        load = LoadMode::Read;
      else
        usage("--load is mmap or read");
    } else if (a == "-h" || a == "--help")
      usage();
    else
      usage(("unknown argument '" + a + "'").c_str());
  }
  if ((layout != "vllm" && layout != "megatron") || from.empty() || to.empty() || tp <= 0)
    usage();
  if (fileExists(to)) {
    std::fprintf(stderr, "torch_eager_convert: %s already exists\n", to.c_str());
    return 1;
  }

  try {
    if (threads > 0)
      torch::set_num_threads(int(threads));
    std::fprintf(stderr, "torch-eager: torch::get_num_threads() = %d, load = %s\n",
                 torch::get_num_threads(), load == LoadMode::Mmap ? "mmap" : "read");
    // No autograd anywhere (inference-mode tensors, as under torch.no_grad()).
    c10::InferenceMode guard;

    auto t0 = std::chrono::steady_clock::now();
    Config c = readConfig(from);
    if (c.tied)
      fail("tie_word_embeddings = true is not supported");
    if (layout == "vllm") {
      requireDiv(c.nh, tp, "vLLM: num_attention_heads must be divisible by tp");
      requireDiv(c.nkv, tp, "this baseline needs tp <= num_key_value_heads, dividing them");
      requireDiv(c.I, tp, "vLLM: intermediate_size must be divisible by tp");
      requireDiv(c.nh * c.hd, tp, "vLLM: o_proj's input dimension must be divisible by tp");
    } else {
      requireDiv(c.nkv, tp, "Megatron: num_key_value_heads must be divisible by tp");
      requireDiv(c.nh, c.nkv, "num_attention_heads must be a multiple of num_key_value_heads");
      requireDiv(c.I, tp, "Megatron: intermediate_size must be divisible by tp");
      requireDiv(c.V, tp, "Megatron (no vocabulary padding): vocab_size must be divisible by tp");
      requireDiv(c.H, tp, "Megatron: hidden_size must be divisible by tp");
    }

    std::vector<std::unique_ptr<SourceFile>> files;
    TensorMap tensors;
    for (const auto &f : checkpointFiles(from))
      loadFile(f, load, files, tensors);
    Sources src(tensors);

    // vLLM's vocabulary padding, once for all ranks.
    torch::Tensor embedP, headP;
    if (layout == "vllm") {
      const int64_t Vp = (c.V + 63) / 64 * 64;
      requireDiv(Vp, tp, "vLLM: the padded vocabulary must be divisible by tp");
      embedP = src.get("model.embed_tokens.weight", {c.V, c.H});
      headP = src.get("lm_head.weight", {c.V, c.H});
      if (Vp != c.V) {
        namespace F = torch::nn::functional;
        embedP = F::pad(embedP, F::PadFuncOptions({0, 0, 0, Vp - c.V}));
        headP = F::pad(headP, F::PadFuncOptions({0, 0, 0, Vp - c.V}));
      }
    }

    if (::mkdir(to.c_str(), 0755) != 0)
      fail(to + ": mkdir: " + errnoText());
    uint64_t bytes = 0;
    for (int64_t r = 0; r < tp; ++r) {
      std::string dir = to;
      if (tp > 1) {
        dir += "/rank-" + std::to_string(r);
        if (::mkdir(dir.c_str(), 0755) != 0)
          fail(dir + ": mkdir: " + errnoText());
      }
      StateDict sd = layout == "vllm" ? vllmRank(src, c, tp, r, embedP, headP)
                                      : megatronRank(src, c, tp, r);
      bytes += saveSafetensors(dir + "/model.safetensors", std::move(sd));
    }
    auto t1 = std::chrono::steady_clock::now();

    std::vector<std::string> unused = src.unused();
    if (!unused.empty()) {
      std::fprintf(stderr, "torch-eager: warning: %zu checkpoint tensors were not converted:",
                   unused.size());
      for (size_t i = 0; i < unused.size() && i < 5; ++i)
        std::fprintf(stderr, " %s", unused[i].c_str());
      std::fprintf(stderr, "%s\n", unused.size() > 5 ? " ..." : "");
    }
    std::printf("torch-eager: %s tp=%lld: %llu bytes in %.3f s\n", layout.c_str(),
                static_cast<long long>(tp), static_cast<unsigned long long>(bytes),
                std::chrono::duration<double>(t1 - t0).count());
    return 0;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "torch_eager_convert: error: %s\n", e.what());
    return 1;
  }
}
