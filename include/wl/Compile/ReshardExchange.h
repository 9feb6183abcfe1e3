//===- ReshardExchange.h - one process's part of a reshard -----*- C++ -*-===//
//
// A reshard plan (CompileReshard.h) cut into what one process runs when it
// is source rank a of mapping A and destination rank b of mapping B (-1:
// not that role; colocated processes have a == b, disjoint ones one role
// each): pack what it sends to each destination into flat buffers, then
// write its destination tensors from what it holds and what it received.
//
// The exchange runs in rounds so that staging memory stays bounded: the
// pieces a sender p sends a destination d are cut (layout::splitPiece) and
// grouped, in plan order, into chunks of at most chunkBytes(p, d) bytes,
// and round k moves chunk k of every pair. chunkBytes(p, d) is the bucket
// divided by max(peers(p), peers(d)), where peers(i) counts the
// destinations source rank i sends to and the senders destination rank i
// receives from (i included): a process that is source rank i,
// destination rank i or both holds at most the bucket in buffers in any
// round. A bucket of 0 means one round.
//
// Contracts:
// - The buffers of a (sender p, destination d) pair in round k are the
//   same on both sides: the pieces of chunk k, each a contiguous run of its
//   elements in the source dtype; one buffer per source dtype, in order of
//   first use, numbered from 0 (send plans' targets "to-<d>/<i>", the
//   receive plan's sources "from-<p>/<i>").
// - send[d] (d != b) of round k reads a's A tensors (their own names) and
//   writes the buffers of chunk k for d. receive of round k reads a's A
//   tensors (round 0 only: the pieces of b's plan whose sender is a, and
//   the fills) and the buffers of the senders in `from`, and writes its
//   elements of b's B tensors, converted as b's reshard plan converts
//   them; over all rounds every element of b's tensors is written exactly
//   once. With more than one round each receive plan writes part of its
//   targets (run it without zeroing the rest).
// - The bytes a sends d over all rounds equal traffic[a][d] when a piece's
//   source and destination dtypes have the same size (the traffic counts
//   destination bytes).
//
//===----------------------------------------------------------------------===//
#ifndef WL_COMPILE_RESHARDEXCHANGE_H
#define WL_COMPILE_RESHARDEXCHANGE_H

#include "wl/Compile/CompileReshard.h"

#include <map>

namespace wl {

struct ExchangeRound {
  std::map<int64_t, layout::Plan> send; ///< by destination rank
  std::vector<int64_t> from;            ///< senders whose buffers come
  layout::Plan receive;                 ///< b's tensors (when b >= 0)
};

/// The largest buffer chunk of pair (p, d) for `bucketBytes` (0: no bound).
int64_t chunkBytes(const ReshardPlan &plan, int64_t p, int64_t d,
                   int64_t bucketBytes);

/// The rounds of the process that is source rank `a` and destination rank
/// `b` (each -1 when it is not); at least one. Pre: a < plan.sourceRanks,
/// b < plan.destRanks, bucketBytes >= 0.
std::vector<ExchangeRound> exchangeFor(const ReshardPlan &plan, int64_t a,
                                       int64_t b, int64_t bucketBytes = 0);

} // namespace wl

#endif // WL_COMPILE_RESHARDEXCHANGE_H
