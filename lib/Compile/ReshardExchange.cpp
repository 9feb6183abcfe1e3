//===- ReshardExchange.cpp - one process's part of a reshard --------------===//
#include "wl/Compile/ReshardExchange.h"

#include "wl/Layout/RankNames.h"

#include <algorithm>

namespace wl {

namespace {

/// The rank of a source "rank-<p>/<name>", and the name.
int64_t senderOf(const std::string &source, std::string *name = nullptr) {
  return *layout::rankOfName(source, name);
}

layout::Shape contiguousStrides(const layout::Shape &shape) {
  layout::Shape s(shape.size(), 1);
  for (size_t k = shape.size(); k-- > 1;)
    s[k - 1] = s[k] * shape[k];
  return s;
}

/// One chunk of a pair: (parts of) pieces of the destination's plan, each
/// at an element offset of the buffer of its source dtype.
struct Chunk {
  struct Slot {
    layout::Piece piece; ///< indices into the destination's plan
    int64_t buffer, offset;
  };
  std::vector<Slot> slots;
  std::vector<layout::DType> dtypes;
  std::vector<int64_t> sizes; ///< elements per buffer
  int64_t bytes = 0;

  void add(const layout::Piece &p, layout::DType t) {
    size_t k = std::find(dtypes.begin(), dtypes.end(), t) - dtypes.begin();
    if (k == dtypes.size()) {
      dtypes.push_back(t);
      sizes.push_back(0);
    }
    slots.push_back({p, static_cast<int64_t>(k), sizes[k]});
    sizes[k] += p.numElements();
    bytes += p.numElements() * layout::dtypeSize(t);
  }
};

/// The chunks of what `sender` sends for `dest`'s plan, in plan order, each
/// of at most `maxBytes` (0: one chunk). The same on both sides of a pair.
std::vector<Chunk> pairChunks(const layout::Plan &dest, int64_t sender,
                              int64_t maxBytes) {
  std::vector<Chunk> out;
  for (const layout::Piece &p : dest.pieces) {
    if (p.isFill() || senderOf(dest.sources[p.source].name) != sender)
      continue;
    const layout::DType t = dest.sources[p.source].dtype;
    const int64_t size = layout::dtypeSize(t);
    std::vector<layout::Piece> parts =
        maxBytes > 0 ? layout::splitPiece(p, maxBytes / size)
                     : std::vector<layout::Piece>{p};
    for (const layout::Piece &q : parts) {
      if (out.empty() ||
          (maxBytes > 0 && !out.back().slots.empty() &&
           out.back().bytes + q.numElements() * size > maxBytes))
        out.emplace_back();
      out.back().add(q, t);
    }
  }
  return out;
}

/// The buffers of a chunk as tensors named "<prefix><i>".
std::vector<layout::TensorInfo> buffers(const Chunk &c,
                                        const std::string &prefix) {
  std::vector<layout::TensorInfo> out;
  for (size_t k = 0; k < c.dtypes.size(); ++k)
    out.push_back({prefix + std::to_string(k), c.dtypes[k], {c.sizes[k]}});
  return out;
}

/// Source index of `name` in `plan`, added (with its info) when new.
int64_t sourceIndex(layout::Plan &plan, std::map<std::string, int64_t> &index,
                    const std::string &name, const layout::TensorInfo &info) {
  auto [it, added] =
      index.emplace(name, static_cast<int64_t>(plan.sources.size()));
  if (added) {
    layout::TensorInfo t = info;
    t.name = name;
    plan.sources.push_back(std::move(t));
  }
  return it->second;
}

/// Pack: the sender's tensors -> the buffers of one chunk for `d`.
layout::Plan packPlan(const layout::Plan &dest, const Chunk &c, int64_t d) {
  layout::Plan out;
  out.targets = buffers(c, "to-" + std::to_string(d) + "/");
  std::map<std::string, int64_t> index;
  for (const Chunk::Slot &s : c.slots) {
    const layout::TensorInfo &src = dest.sources[s.piece.source];
    std::string name;
    senderOf(src.name, &name);
    layout::Piece q = s.piece;
    q.source = sourceIndex(out, index, name, src);
    q.target = s.buffer;
    q.dstOffset = s.offset;
    q.dstStrides = contiguousStrides(q.shape);
    q.steps.clear(); // moved as the source holds it; converted on arrival
    out.pieces.push_back(std::move(q));
  }
  return out;
}

/// Receive, round 0 part: what `a` holds and the fills, from `dest`.
void addLocal(const layout::Plan &dest, int64_t a, layout::Plan &out,
              std::map<std::string, int64_t> &index) {
  for (const layout::Piece &p : dest.pieces) {
    layout::Piece q = p;
    if (!p.isFill()) {
      std::string name;
      if (senderOf(dest.sources[p.source].name, &name) != a)
        continue;
      q.source = sourceIndex(out, index, name, dest.sources[p.source]);
    }
    out.pieces.push_back(std::move(q));
  }
}

/// Receive: the pieces of one chunk from `sender`, out of its buffers.
void addChunk(const Chunk &c, int64_t sender, layout::Plan &out) {
  const int64_t first = static_cast<int64_t>(out.sources.size());
  for (layout::TensorInfo &t : buffers(c, "from-" + std::to_string(sender) + "/"))
    out.sources.push_back(std::move(t));
  for (const Chunk::Slot &s : c.slots) {
    layout::Piece q = s.piece;
    q.source = first + s.buffer;
    q.srcOffset = s.offset;
    q.srcStrides = contiguousStrides(q.shape);
    out.pieces.push_back(std::move(q));
  }
}

/// The senders of `dest`'s pieces other than `a`, in order of first piece.
std::vector<int64_t> sendersOf(const layout::Plan &dest, int64_t a) {
  std::vector<int64_t> out;
  for (const layout::Piece &p : dest.pieces)
    if (!p.isFill()) {
      int64_t s = senderOf(dest.sources[p.source].name);
      if (s != a && std::find(out.begin(), out.end(), s) == out.end())
        out.push_back(s);
    }
  return out;
}

/// The peers of index i: the destinations source rank i sends to and the
/// senders destination rank i receives from (i itself included: in a
/// disjoint exchange source i and destination i are different processes).
int64_t peers(const ReshardPlan &plan, int64_t i) {
  int64_t n = 0;
  if (i < plan.sourceRanks)
    for (int64_t d = 0; d < plan.destRanks; ++d)
      n += plan.traffic[i][d] > 0;
  if (i < plan.destRanks)
    for (int64_t p = 0; p < plan.sourceRanks; ++p)
      n += plan.traffic[p][i] > 0;
  return n;
}

} // namespace

int64_t chunkBytes(const ReshardPlan &plan, int64_t p, int64_t d,
                   int64_t bucketBytes) {
  if (bucketBytes <= 0)
    return 0;
  int64_t n = std::max<int64_t>({peers(plan, p), peers(plan, d), 1});
  return std::max<int64_t>(bucketBytes / n, 1);
}

std::vector<ExchangeRound> exchangeFor(const ReshardPlan &plan, int64_t a,
                                       int64_t b, int64_t bucketBytes) {
  std::map<int64_t, std::vector<Chunk>> out, in; // by destination, sender
  size_t rounds = 1;
  if (a >= 0)
    for (int64_t d = 0; d < plan.destRanks; ++d)
      if (d != b && plan.traffic[a][d] > 0) {
        out[d] = pairChunks(plan.byDest[d], a,
                            chunkBytes(plan, a, d, bucketBytes));
        rounds = std::max(rounds, out[d].size());
      }
  std::vector<int64_t> senders;
  if (b >= 0) {
    senders = sendersOf(plan.byDest[b], a);
    for (int64_t p : senders) {
      in[p] = pairChunks(plan.byDest[b], p,
                         chunkBytes(plan, p, b, bucketBytes));
      rounds = std::max(rounds, in[p].size());
    }
  }
  std::vector<ExchangeRound> result(rounds);
  for (size_t k = 0; k < rounds; ++k) {
    ExchangeRound &r = result[k];
    for (auto &[d, chunks] : out)
      if (k < chunks.size())
        r.send[d] = packPlan(plan.byDest[d], chunks[k], d);
    if (b < 0)
      continue;
    const layout::Plan &dest = plan.byDest[b];
    r.receive.targets = dest.targets;
    std::map<std::string, int64_t> index;
    if (k == 0)
      addLocal(dest, a, r.receive, index);
    for (int64_t p : senders)
      if (k < in[p].size()) {
        addChunk(in[p][k], p, r.receive);
        r.from.push_back(p);
      }
  }
  return result;
}

} // namespace wl
