//===- Mxfp4.h - MXFP4 tensors decoded through a plan -----------*- C++ -*-===//
//
// Plain C++17, no MLIR. An MXFP4 tensor as gpt-oss's checkpoints store its
// experts is two U8 tensors:
//   <name>_blocks [..., R, G, 16]: 32 FP4 e2m1 codes per group, two a byte,
//       the group's element 2b in the low nibble of byte b, 2b + 1 in the
//       high one;
//   <name>_scales [..., R, G]: the group's e8m0 exponent s, scale 2^(s-127).
// Dequantized, element (..., r, 32g + k) is e2m1 * 2^(s-127) as an f32
// product rounded to bf16 (openai/gpt-oss `Checkpoint._get_mxfp4_tensor`,
// transformers `convert_moe_packed_tensors`: a table of the 16 values in
// bf16, then torch.ldexp). transformers then swaps the last two axes
// (`.transpose(1, 2)`): the tensor its modules hold, and mappings name,
// is the logical [..., G * 32, R] (gpt-oss's gate_up_proj [E, H, 2I] and
// down_proj [E, I, H] from blocks of [E, 2I, H/32, 16] and [E, H, I/32, 16]).
//
// decodeMxfp4 rewrites a plan that reads such logical tensors (bf16) into
// one that reads their blocks and scales: each piece becomes a few whose
// elements each read one byte and one scale (Piece::scale) through the
// steps E2M1Low or E2M1High, RuntimeScale (e8m0) and a cast from f32 to
// the logical tensor's dtype (bf16 as gpt-oss and transformers hold it;
// f32 keeps the product, which bf16 holds exactly but where it overflows),
// then the piece's own steps. The pieces stay few (a whole tensor moved as one
// piece becomes two, one per nibble), since scales are read at run time.
//
//===----------------------------------------------------------------------===//
#ifndef WL_LAYOUT_MXFP4_H
#define WL_LAYOUT_MXFP4_H

#include "wl/Layout/Plan.h"

#include <cstdint>
#include <string>
#include <vector>

namespace wl::layout {

/// Elements of a group (one scale) and bytes of its codes.
constexpr int64_t kMxfp4Group = 32;
constexpr int64_t kMxfp4GroupBytes = 16;

/// The logical shape [..., G * 32, R] of blocks of shape [..., R, G, 16].
/// Pre: blocks has rank >= 3 and last dimension 16.
Shape mxfp4LogicalShape(const Shape &blocks);

/// A plan source that is the logical tensor of an MXFP4 pair.
struct Mxfp4Source {
  int64_t source = -1; ///< the logical tensor (a float, mxfp4LogicalShape)
  std::string blocks;  ///< the names of the pair, added as plan sources
  std::string scales;
};

/// Rewrites `plan` so that its pieces read each Mxfp4Source's blocks and
/// scales instead of the logical tensor: the logical source's entry becomes
/// the blocks (U8, named `blocks`), the scales are appended (U8, in `which`
/// order); other sources keep their indices.
/// Pre: each logical source is a float of mxfp4LogicalShape(blocks shape),
/// read by no fill.
/// Post: the plan writes every target element the same number of times,
/// each element read from the logical tensor now computed from its byte,
/// nibble and group scale as above, then through the piece's steps. A
/// piece that steps the blocked axis in a way the cuts do not follow (two
/// dimensions along it, a step that neither divides 32 nor is a multiple
/// of it) is unrolled along its widest dimension until it decodes.
void decodeMxfp4(Plan &plan, const std::vector<Mxfp4Source> &which);

} // namespace wl::layout

#endif // WL_LAYOUT_MXFP4_H
