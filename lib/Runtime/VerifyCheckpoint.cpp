//===- VerifyCheckpoint.cpp - a written checkpoint checked against its plan
//===//
//
// Independent of the executor: no windows, no clipping, no fast conversion
// paths. Every piece is walked element by element (rows that are plain
// copies compared with memcmp), through layout::applySteps.
//
//===----------------------------------------------------------------------===//
#include "wl/Runtime/StreamWriter.h"

#include "wl/Runtime/CpuExecutor.h"

#include <cstring>
#include <set>
#include <sstream>

namespace wl::runtime {

using layout::DType;
using layout::Piece;

namespace {

uint64_t loadBits(const uint8_t *base, int es, int64_t i) {
  uint64_t v = 0;
  std::memcpy(&v, base + i * es, es);
  return v;
}

std::string hex(uint64_t v, int es) {
  std::ostringstream os;
  os << "0x" << std::hex;
  os.width(es * 2);
  os.fill('0');
  os << v;
  return os.str();
}

} // namespace

bool verifyCheckpoint(const layout::Plan &plan,
                      const std::vector<SourceTensor> &sources,
                      const std::string &dir, std::string &error) {
  std::string openError;
  std::unique_ptr<Checkpoint> ckpt = Checkpoint::open(dir, openError);
  if (!ckpt) {
    error = "verify: " + openError;
    return false;
  }
  std::set<std::string> expected;
  std::vector<Checkpoint::Located> out(plan.targets.size());
  for (size_t t = 0; t < plan.targets.size(); ++t) {
    const layout::TensorInfo &info = plan.targets[t];
    expected.insert(info.name);
    out[t] = ckpt->find(info.name);
    if (!out[t].entry) {
      error = "verify: " + dir + ": tensor '" + info.name + "' is missing";
      return false;
    }
    if (out[t].entry->dtype != info.dtype ||
        out[t].entry->shape != info.shape) {
      error = "verify: " + out[t].file->shownPath() + ": tensor '" + info.name +
              "' has another dtype or shape than the plan's";
      return false;
    }
  }
  for (const Checkpoint::Located &l : ckpt->tensors())
    if (!expected.count(l.entry->name)) {
      error = "verify: " + l.file->shownPath() + ": tensor '" + l.entry->name +
              "' is not a target of the plan";
      return false;
    }

  // Target by target, dropping the pages read from this process after each,
  // so that memory stays bounded on a checkpoint of any size.
  std::vector<std::vector<const Piece *>> byTarget(plan.targets.size());
  for (const Piece &raw : plan.pieces)
    byTarget[raw.target].push_back(&raw);
  auto release = [](const Checkpoint::Located &l) {
    uint64_t b = l.file->fileOffset(*l.entry);
    l.file->release(b, b + (l.entry->end - l.entry->begin));
  };
  for (size_t target = 0; target < plan.targets.size(); ++target) {
    std::set<int64_t> used;
    for (const Piece *raw : byTarget[target]) {
      Piece p = coalesceRows(*raw);
      int64_t n = p.numElements();
      if (n == 0)
        continue;
      if (!p.isFill())
        used.insert(p.source);
      if (p.hasRuntimeScale())
        used.insert(p.scale.source);
      const layout::TensorInfo &info = plan.targets[p.target];
      const int et = layout::dtypeSize(info.dtype);
      const uint8_t *dst = out[p.target].file->data(*out[p.target].entry);
      const uint8_t *src = nullptr;
      int es = et;
      if (!p.isFill()) {
        src = sources[p.source].file->data(*sources[p.source].entry);
        es = layout::dtypeSize(plan.sources[p.source].dtype);
      }
      size_t r = p.shape.size();
      int64_t row = p.shape[r - 1];
      // The run-time scale of element i of the row at scale position g.
      auto scaleBits = [&](int64_t g, int64_t i) -> uint64_t {
        if (!p.hasRuntimeScale())
          return 0;
        const int64_t s = p.scale.source;
        return loadBits(sources[s].file->data(*sources[s].entry),
                        layout::dtypeSize(plan.sources[s].dtype),
                        g + i * p.scale.strides[r - 1]);
      };
      bool plainRows = !p.isFill() && p.steps.empty() &&
                       p.dstStrides[r - 1] == 1 && p.srcStrides[r - 1] == 1;
      int64_t rows = n / row;
      for (int64_t k = 0; k < rows; ++k) {
        int64_t rest = k, d = p.dstOffset, s = p.srcOffset,
                g = p.scale.offset;
        for (size_t j = r - 1; j-- > 0;) {
          int64_t c = rest % p.shape[j];
          rest /= p.shape[j];
          d += c * p.dstStrides[j];
          if (!p.isFill())
            s += c * p.srcStrides[j];
          if (p.hasRuntimeScale())
            g += c * p.scale.strides[j];
        }
        if (plainRows && std::memcmp(dst + d * et, src + s * es, row * et) == 0)
          continue;
        for (int64_t i = 0; i < row; ++i) {
          int64_t di = d + i * p.dstStrides[r - 1];
          // The stored bytes: the low `et` bytes of the element's bits.
          uint64_t mask = et == 8 ? ~0ull : (1ull << (8 * et)) - 1;
          uint64_t want =
              (p.isFill()
                   ? p.fillBits
                   : layout::applySteps(
                         p.steps,
                         loadBits(src, es, s + i * p.srcStrides[r - 1]),
                         scaleBits(g, i))) &
              mask;
          uint64_t got = loadBits(dst, et, di);
          if (got != want) {
            std::ostringstream os;
            os << "verify: " << out[p.target].file->shownPath() << ": tensor '"
               << info.name << "' element " << di << " is " << hex(got, et)
               << ", the plan gives " << hex(want, et);
            if (!p.isFill())
              os << " (from '" << plan.sources[p.source].name << "' element "
                 << s + i * p.srcStrides[r - 1] << ")";
            error = os.str();
            return false;
          }
        }
      }
    }
    release(out[target]);
    for (int64_t s : used)
      release({sources[s].file, sources[s].entry});
  }
  return true;
}

} // namespace wl::runtime
