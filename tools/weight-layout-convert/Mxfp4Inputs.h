//===- Mxfp4Inputs.h - MXFP4 checkpoints through a conversion ---*- C++ -*-===//
//
// A checkpoint whose config.json says
//   "quantization_config": {"quant_method": "mxfp4", ...}
// (gpt-oss) holds some tensors `X` (its experts) as the pair `X_blocks`
// (U8 [..., R, G, 16]) and `X_scales` (U8 [..., R, G]) (wl/Layout/Mxfp4.h).
// The spec reads `X` as transformers holds it dequantized (the logical
// [..., G * 32, R]); a forward conversion with --dtype T decodes each pair
// in the same pass (the f32 product of the e2m1 value and 2^(s - 127),
// rounded to T) and the output config loses quantization_config. Keeping
// MXFP4 through a layout is not done yet: without --dtype such a checkpoint
// is refused.
//
//===----------------------------------------------------------------------===//
#ifndef WL_TOOLS_MXFP4INPUTS_H
#define WL_TOOLS_MXFP4INPUTS_H

#include "CheckNames.h"

#include "wl/Layout/Plan.h"
#include "wl/Safetensors/Safetensors.h"

#include <set>
#include <string>

namespace wl::tool {

/// The names of a pair.
constexpr const char *kBlocksSuffix = "_blocks";
constexpr const char *kScalesSuffix = "_scales";

/// Moves each name `X` the spec reads but `ckpt` lacks, where `ckpt`
/// holds `X_blocks` and `X_scales`, out of `names.missing` into `logical`,
/// and the pair out of `names.unused`.
void resolveMxfp4Names(NameProblems &names, const runtime::Checkpoint &ckpt,
                       std::set<std::string> &logical);

/// Rewrites `plan`'s sources named in `logical` to read their pairs in
/// `ckpt` (layout::decodeMxfp4), after checking each pair: U8 blocks of
/// rank >= 3 whose last dimension is 16, U8 scales of the blocks' shape
/// without it, and the logical shape the plan reads. Errors name the file
/// and the tensor.
bool decodeMxfp4Sources(layout::Plan &plan,
                        const std::set<std::string> &logical,
                        const runtime::Checkpoint &ckpt, std::string &error);

} // namespace wl::tool

#endif // WL_TOOLS_MXFP4INPUTS_H
