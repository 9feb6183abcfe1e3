//===- Quantized.h - block-FP8 checkpoints through a conversion -*- C++ -*-===//
//
// A checkpoint whose config.json says
//   "quantization_config": {"quant_method": "fp8",
//                           "weight_block_size": [128, 128], ...}
// (DeepSeek-V3, Kimi-K2, the Qwen3 FP8 releases) holds each quantized
// weight `X` as F8_E4M3 with its scale grid `X_scale_inv` (F32, one value
// per block: the dequantizing multiplier). The mapping's plans are compiled
// for the config's dtype; here each plan is rewritten for the tensors that
// really are FP8 (wl/Layout/BlockScales.h):
//  - kept: the FP8 bytes move as the plan says and each scale grid moves
//    with its blocks into `<target>_scale_inv` (vLLM's `weight_scale_inv`
//    of its fused qkv_proj, gate_up_proj and w13/w2 parameters; Megatron-
//    Bridge's `_scale_inv` suffix), or the conversion is refused where a
//    block would be cut;
//  - dequantized (--dtype T): each element becomes the f32 product of its
//    value and its block's scale, rounded to T (DeepSeek-V3's
//    weight_dequant), and the output config loses quantization_config.
//
//===----------------------------------------------------------------------===//
#ifndef WL_TOOLS_QUANTIZED_H
#define WL_TOOLS_QUANTIZED_H

#include "CheckNames.h"

#include "wl/Layout/BlockScales.h"
#include "wl/Safetensors/Safetensors.h"

#include <functional>
#include <set>
#include <string>
#include <vector>

namespace wl::tool {

/// The suffix of a scale grid's name.
constexpr const char *kScaleSuffix = "_scale_inv";

/// config.json's quantization_config, as far as a conversion needs it.
struct BlockFp8 {
  bool present = false;
  layout::BlockShape block;
  /// quant_method "mxfp4" instead (gpt-oss; Mxfp4Inputs.h).
  bool mxfp4 = false;
};

/// Reads `configPath`'s quantization_config: none, quant_method "fp8"
/// with weight_block_size [rows, cols] (positive integers), or "mxfp4".
/// Another method, FP8 without a block size (per-tensor scales) or a
/// malformed one is an error naming the file and the JSON path.
bool readBlockFp8(const std::string &configPath, BlockFp8 &out,
                  std::string &error);

/// The text of `configPath` without its quantization_config (what a
/// dequantized checkpoint's config.json says), formatted as transformers
/// writes configs (indent 2).
bool configWithoutQuantization(const std::string &configPath,
                               std::string &text, std::string &error);

/// Drops from `names.unused` the scale grids `X_scale_inv` of tensors `X`
/// that `ckpt` holds: they travel with their data, not through the spec.
void dropScaleNames(NameProblems &names, const runtime::Checkpoint &ckpt);

/// Where a plan source is read from: its checkpoint and the name in it
/// (null when the plan names no tensor of a checkpoint).
using SourceLookup = std::function<const runtime::Checkpoint *(
    const std::string &planName, std::string &name)>;

/// A lookup of plan sources by their own names in `ckpt` (a forward
/// conversion's).
SourceLookup sameNames(const runtime::Checkpoint &ckpt);

/// The quantized sources of a plan and their scale grids.
struct QuantizedSources {
  std::vector<bool> flags;                ///< per plan source
  std::vector<layout::TensorInfo> grids;  ///< per plan source (flagged ones)
  std::vector<std::vector<double>> values; ///< per plan source, when read
  bool any() const;
};

/// Finds the plan sources the checkpoint holds as F8_E4M3 of the plan's
/// shape and reads their grids: each must exist (`X_scale_inv`), be F32 of
/// the shape scaleGridShape gives for `fp8.block`, and hold finite values.
/// Errors name the file, the tensor and config.json's block size.
bool findQuantized(const layout::Plan &plan, const SourceLookup &lookup,
                   const BlockFp8 &fp8, const std::string &configPath,
                   QuantizedSources &out, std::string &error);

/// The flags and grids of the sources named in `names`, without reading a
/// checkpoint (the forward plans of a --reverse conversion, whose hashes
/// the rank files record).
QuantizedSources quantizedByName(const layout::Plan &plan,
                                 const std::set<std::string> &names,
                                 layout::BlockShape block);

/// Rewrites `plan`: its quantized sources and targets kept FP8 with the
/// scale grids' plan appended, or dequantized to the targets' dtypes
/// (`q.values` read). `quantizedTargets` gets the names of the targets
/// written from quantized data. Errors (a block cut, a converted FP8
/// tensor) are the layout's messages.
bool rewriteForBlockFp8(layout::Plan &plan, const QuantizedSources &q,
                        layout::BlockShape block, bool dequantize,
                        std::set<std::string> *quantizedTargets,
                        std::string &error);

/// Whether --quantize makes the source `t` block FP8: a float tensor of
/// rank >= 2 whose module's last name holds "proj" (q_proj, o_proj,
/// gate_proj, the experts', in_proj_qkvz, out_proj, ...). Embeddings,
/// lm_head, norms and the routers (mlp.gate) stay as they are, as in the
/// Qwen3 and DeepSeek-V3 FP8 releases.
bool quantizedByDefault(const layout::TensorInfo &t);

/// --quantize: the targets of `plan` written from quantizedByDefault
/// sources become block FP8 with their `_scale_inv` grids
/// (layout::quantizePlan), reading the sources' bytes through `lookup`
/// (bound and checked before); sources whose names hold one of `skip`
/// stay as they are. `notConverted` gets the modules of the
/// other `.weight` sources, `quantizedSources` the sources of the
/// quantized targets. A target written from both kinds of source is
/// refused, naming both.
bool quantizePlanForFp8(layout::Plan &plan, layout::BlockShape block,
                        const SourceLookup &lookup,
                        const std::vector<std::string> &skip,
                        std::set<std::string> &notConverted,
                        std::set<std::string> &quantizedSources,
                        std::string &error);

/// The text of `configPath` with quantization_config set for block FP8
/// ({"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
/// "weight_block_size": [rows, cols], "modules_to_not_convert": [...]}),
/// as DeepSeek-V3 and the Qwen3 FP8 releases write it.
bool configWithBlockFp8(const std::string &configPath,
                        layout::BlockShape block,
                        const std::set<std::string> &notConverted,
                        std::string &text, std::string &error);

} // namespace wl::tool

#endif // WL_TOOLS_QUANTIZED_H
