//===- BlockScales.h - block-quantized tensors through a plan ---*- C++ -*-===//
//
// Plain C++17, no MLIR. A block-quantized tensor (FP8 E4M3 with a
// `weight_scale_inv` grid, as DeepSeek-V3 and the Qwen3 FP8 releases ship)
// is its data, of shape [..., R, C], and a scale grid of shape
// [..., ceil(R/rows), ceil(C/cols)]: block (i, j) of each leading index
// holds the data rows [i*rows, min((i+1)*rows, R)) and columns
// [j*cols, min((j+1)*cols, C)), and its value is data * scale[..., i, j]
// (the grid holds the dequantizing multiplier, amax / 448).
//
// A plan that moves quantized data keeps every value's scale only when each
// block of a target takes all its elements from one block of one source,
// and all of that block's elements, each once: a shard, slice, concat or
// interleave of whole blocks, or a transpose of whole square blocks. mapBlocks proves that
// for a plan or says where it fails (the tensors, the block, the dimension
// cut). From its BlockMap follow:
//  - scalePlan: the plan of the scale grids, each grid moved as its data's
//    blocks are (a shard of the data is a shard of the grid, a transpose of
//    the data transposes it);
//  - dequantizePlan: the data plan cut at block edges, each part converted
//    as DeepSeek-V3's weight_dequant computes it: the f32 product of the
//    element and its block's scale, rounded to the target type;
//    dequantizeAtRunTime computes the same with the scales read at run
//    time from the grids (a few pieces per piece, whatever the blocks).
//
//===----------------------------------------------------------------------===//
#ifndef WL_LAYOUT_BLOCKSCALES_H
#define WL_LAYOUT_BLOCKSCALES_H

#include "wl/Layout/Plan.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace wl::layout {

/// The block of a quantized tensor, over its last two dimensions
/// (quantization_config.weight_block_size: [rows, cols] = [block_n, block_k]).
struct BlockShape {
  int64_t rows = 128;
  int64_t cols = 128;
};

/// The scale grid of data of shape `data`: [..., ceil(R/rows), ceil(C/cols)].
/// Pre: data has rank >= 2, block sizes >= 1.
Shape scaleGridShape(const Shape &data, BlockShape block);

/// The block of a source that one target block takes its elements from.
struct BlockSource {
  int64_t source = -1; ///< plan source index
  int64_t block = -1;  ///< flat index into that source's scale grid
};

struct BlockMap {
  BlockShape block;
  /// Per plan source: whether it is quantized (mapBlocks' `quantized`).
  std::vector<bool> sources;
  /// Per plan target: empty when it reads no quantized source, else one
  /// entry per element of its scale grid (row-major).
  std::vector<std::vector<BlockSource>> targets;
  bool isQuantized(int64_t target) const { return !targets[target].empty(); }
};

/// Proves that `plan` keeps the blocks of the sources flagged in `quantized`
/// (one flag per plan source; those sources have rank >= 2).
/// Post (on success): for every target t that some piece writes from a
/// quantized source, every piece writing t reads a quantized source (no
/// fills, no other sources) and, for every block b of t's grid, the
/// elements of b are exactly the elements of source block targets[t][b],
/// each read once: each piece's part of b is a rectangle of rows and
/// columns of that block (or of columns and rows: a transpose, only for
/// square blocks), and the parts do not overlap there. Fails naming the
/// target, the block and its elements, the source and the dimension of
/// the target along which a block is cut.
std::optional<BlockMap> mapBlocks(const Plan &plan,
                                  const std::vector<bool> &quantized,
                                  BlockShape block, std::string &error);

/// The plan of the scale grids. `sourceScales[s]` is the grid of plan source
/// s (its name, dtype and shape) for each quantized source, and is ignored
/// for the others. Targets: one per quantized target, named its name +
/// `suffix`, of shape scaleGridShape and the dtype of the grids it reads.
/// Post: executing it writes each target grid element b with the source
/// grid element map.targets[t][b]. Fails when the grids read into one
/// target differ in dtype, or a grid's shape is not its data's
/// scaleGridShape.
std::optional<Plan> scalePlan(const Plan &plan, const BlockMap &map,
                              const std::vector<TensorInfo> &sourceScales,
                              const std::string &suffix, std::string &error);

/// The data plan with its quantized sources typed `dataType` (e.g.
/// F8E4M3FN) and their targets dequantized to the plan's target dtypes:
/// every piece that reads a quantized source is cut at block edges and
/// its steps become cast(dataType -> T), affine(scale of the block) on T,
/// for a BF16, F16 or F32 target T (exact: the FP8 value is one of T and
/// T's affine is the f32 product rounded to T); for F64, the same through
/// F32, then cast to F64.
/// `scales[s]` holds the grid values of quantized source s, as doubles of
/// F32 values. Pieces of other sources are kept as they are.
/// Post: element x of block b of a quantized target equals
/// castBits(f32(x) * scale(b) in f32, F32, target dtype), bit for bit.
Plan dequantizePlan(const Plan &plan, const BlockMap &map, DType dataType,
                    const std::vector<std::vector<double>> &scales);

/// The data plan with its quantized sources (flags `quantized`, one per
/// plan source) typed `dataType` (F8E4M3FN) and dequantized with scales
/// read at run time: each source's grid becomes a plan source named its
/// name + `suffix` (F32, scaleGridShape), and every piece that reads a
/// quantized source is cut where blocks begin along its last two axes
/// (BlockCuts.h) so that each element finds its block's scale
/// (Piece::scale), its steps cast(dataType -> F32), runtime_scale (F32),
/// cast(F32 -> the source's dtype in `plan`), then the piece's own. The
/// pieces stay a few per piece of `plan` (not one per block: at most 9
/// for a piece that steps each blocked axis along one dimension by a
/// divisor or multiple of the block), and any layout is accepted (the
/// output has no blocks to keep). A piece stepping otherwise (rows and
/// columns at once, two dimensions along one blocked axis) is unrolled
/// along its widest dimension until it decodes.
/// Post: element x equals castBits(f32(x) * scale in f32, F32, T), as
/// dequantizePlan's.
Plan dequantizeAtRunTime(const Plan &plan, const std::vector<bool> &quantized,
                         BlockShape block, DType dataType,
                         const std::string &suffix);

/// The plan with the targets flagged in `quantize` (one flag per target)
/// quantized to `dataType` (F8E4M3FN) in blocks, each with its scale grid
/// as a new target named its name + `suffix` (F32). Per target block, as
/// DeepGEMM's per_block_cast_to_fp8 (and vLLM's copy of it) computes it:
/// amax = the largest |x| of its elements in f32, sf = max(amax, 1e-4) /
/// 448 in f32, each element cast(f32(x) * (1 / sf)) with 1 / sf rounded to
/// f32 and the product rounded once; sf is the grid's value. The amax is
/// read here from `sourceData[s]` (the bytes of each source read by a
/// flagged target), so the plan holds each block's factor as an affine and
/// each grid element as a fill. Fails, naming the target, when a flagged
/// target is written by a fill, through a conversion, from integers, or
/// has fewer than 2 dimensions. `read(s)`, when given, is called once
/// source s has been read for the last time (to release its pages).
std::optional<Plan> quantizePlan(const Plan &plan,
                                 const std::vector<bool> &quantize,
                                 BlockShape block, DType dataType,
                                 const std::vector<const uint8_t *> &sourceData,
                                 const std::string &suffix, std::string &error,
                                 const std::function<void(int64_t)> &read = {});

/// The data plan with its quantized sources (read or not) and targets
/// retyped `dataType`, moved as bytes. Fails when a piece that reads a quantized
/// source converts it (a cast or an affine), naming the target.
std::optional<Plan> keepQuantized(const Plan &plan, const BlockMap &map,
                                  DType dataType, std::string &error);

/// `more`'s sources, targets and pieces appended to `into`'s.
/// Pre: no name of `more` is one of `into` on the same side.
void appendPlan(Plan &into, const Plan &more);

} // namespace wl::layout

#endif // WL_LAYOUT_BLOCKSCALES_H
