//===- ReshardExchange.h - one process's part of a reshard -----*- C++ -*-===//
//
// A reshard plan (CompileReshard.h) cut into what one process runs when it
// is source rank a of mapping A and destination rank b of mapping B (-1:
// not that role; colocated processes have a == b, disjoint ones one role
// each): pack what it sends to each destination into flat buffers, then
// write its destination tensors from what it holds and what it received.
//
// Contracts:
// - The buffers of a (sender p, destination d) pair are the same on both
//   sides: the pieces of d's plan whose sender is p, in the plan's order,
//   each a contiguous run of its elements in the source dtype; one buffer
//   per source dtype, in order of first use, numbered from 0 (send plans'
//   targets "to-<d>/<i>", the receive plan's sources "from-<p>/<i>").
// - send[d] (d != b) reads a's A tensors (their own names) and writes the
//   buffers for d. receive reads a's A tensors for what stays (the pieces
//   of b's plan whose sender is a) and the buffers of every sender in
//   `from`, and writes every element of b's B tensors exactly once, as
//   b's reshard plan does (its conversions applied here).
// - The bytes of the buffers a sends to d equal traffic[a][d] when a
//   piece's source and destination dtypes have the same size (the traffic
//   counts destination bytes).
//
//===----------------------------------------------------------------------===//
#ifndef WL_COMPILE_RESHARDEXCHANGE_H
#define WL_COMPILE_RESHARDEXCHANGE_H

#include "wl/Compile/CompileReshard.h"

#include <map>

namespace wl {

struct ExchangePlans {
  std::map<int64_t, layout::Plan> send; ///< by destination rank
  std::vector<int64_t> from;            ///< senders whose buffers come
  layout::Plan receive;                 ///< b's tensors (when b >= 0)
};

/// The part of the process that is source rank `a` and destination rank
/// `b` (each -1 when it is not). Pre: a < plan.sourceRanks, b <
/// plan.destRanks.
ExchangePlans exchangeFor(const ReshardPlan &plan, int64_t a, int64_t b);

} // namespace wl

#endif // WL_COMPILE_RESHARDEXCHANGE_H
