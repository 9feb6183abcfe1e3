//===- ReshardExchange.cpp - one process's part of a reshard --------------===//
#include "wl/Compile/ReshardExchange.h"

#include "wl/Layout/RankNames.h"

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

/// Where each piece of destination `d`'s plan that `sender` sends lands:
/// (piece index, buffer, element offset), and the buffers' dtypes and
/// sizes. The same computation on both sides of the pair.
struct PairLayout {
  struct Slot {
    size_t piece;
    int64_t buffer, offset;
  };
  std::vector<Slot> slots;
  std::map<size_t, size_t> slotOf; ///< piece index -> its slot
  std::vector<layout::DType> dtypes;
  std::vector<int64_t> sizes;
};

PairLayout pairLayout(const layout::Plan &dest, int64_t sender) {
  PairLayout out;
  for (size_t i = 0; i < dest.pieces.size(); ++i) {
    const layout::Piece &p = dest.pieces[i];
    if (p.isFill() || senderOf(dest.sources[p.source].name) != sender)
      continue;
    const layout::DType t = dest.sources[p.source].dtype;
    int64_t k = 0;
    while (k < static_cast<int64_t>(out.dtypes.size()) && out.dtypes[k] != t)
      ++k;
    if (k == static_cast<int64_t>(out.dtypes.size())) {
      out.dtypes.push_back(t);
      out.sizes.push_back(0);
    }
    out.slotOf[i] = out.slots.size();
    out.slots.push_back({i, k, out.sizes[k]});
    out.sizes[k] += p.numElements();
  }
  return out;
}

/// The buffers of a pair as tensors named "<prefix><i>".
std::vector<layout::TensorInfo> buffers(const PairLayout &l,
                                        const std::string &prefix) {
  std::vector<layout::TensorInfo> out;
  for (size_t k = 0; k < l.dtypes.size(); ++k)
    out.push_back({prefix + std::to_string(k), l.dtypes[k], {l.sizes[k]}});
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

/// Pack: `r`'s tensors -> the buffers for destination `d`.
layout::Plan packPlan(const layout::Plan &dest, int64_t r, int64_t d) {
  PairLayout l = pairLayout(dest, r);
  layout::Plan out;
  out.targets = buffers(l, "to-" + std::to_string(d) + "/");
  std::map<std::string, int64_t> index;
  for (const PairLayout::Slot &s : l.slots) {
    const layout::Piece &p = dest.pieces[s.piece];
    std::string name;
    senderOf(dest.sources[p.source].name, &name);
    layout::Piece q = p;
    q.source = sourceIndex(out, index, name, dest.sources[p.source]);
    q.target = s.buffer;
    q.dstOffset = s.offset;
    q.dstStrides = contiguousStrides(p.shape);
    q.steps.clear(); // moved as the source holds it; converted on arrival
    out.pieces.push_back(std::move(q));
  }
  return out;
}

/// Receive: `b`'s tensors from what `a` holds and the buffers of the
/// other senders.
layout::Plan receivePlan(const layout::Plan &dest, int64_t a,
                         std::vector<int64_t> &from) {
  layout::Plan out;
  out.targets = dest.targets;
  std::map<std::string, int64_t> index;
  std::map<int64_t, std::pair<PairLayout, int64_t>> peers; // first buffer
  for (const layout::Piece &p : dest.pieces) {
    layout::Piece q = p;
    if (!p.isFill()) {
      std::string name;
      const int64_t sender = senderOf(dest.sources[p.source].name, &name);
      if (sender == a) {
        q.source = sourceIndex(out, index, name, dest.sources[p.source]);
      } else {
        auto it = peers.find(sender);
        if (it == peers.end()) {
          PairLayout l = pairLayout(dest, sender);
          const int64_t first = static_cast<int64_t>(out.sources.size());
          for (layout::TensorInfo &t :
               buffers(l, "from-" + std::to_string(sender) + "/"))
            out.sources.push_back(std::move(t));
          it = peers.emplace(sender, std::make_pair(std::move(l), first)).first;
          from.push_back(sender);
        }
        // The slot of this piece: pieces of a sender come in plan order.
        const PairLayout &l = it->second.first;
        const size_t i = static_cast<size_t>(&p - dest.pieces.data());
        const PairLayout::Slot *slot = &l.slots[l.slotOf.at(i)];
        q.source = it->second.second + slot->buffer;
        q.srcOffset = slot->offset;
        q.srcStrides = contiguousStrides(q.shape);
      }
    }
    out.pieces.push_back(std::move(q));
  }
  return out;
}

} // namespace

ExchangePlans exchangeFor(const ReshardPlan &plan, int64_t a, int64_t b) {
  ExchangePlans out;
  if (a >= 0)
    for (int64_t d = 0; d < plan.destRanks; ++d)
      if (d != b && plan.traffic[a][d] > 0)
        out.send[d] = packPlan(plan.byDest[d], a, d);
  if (b >= 0)
    out.receive = receivePlan(plan.byDest[b], a, out.from);
  return out;
}

} // namespace wl
