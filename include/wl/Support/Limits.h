//===- Limits.h - the caps on every input, in one place ---------*- C++ -*-===//
//
// Plain C++17. weight-layout reads untrusted files and values; each kind of
// input has a cap here, so that no input can make the tool read, allocate or
// loop without bound before it says what is wrong. docs/convert.md lists
// them for users. A value past a cap is refused with a message that names
// the input, the value and the cap; none of them is reached by any real
// model (the largest are noted beside each).
//
//===----------------------------------------------------------------------===//
#ifndef WL_SUPPORT_LIMITS_H
#define WL_SUPPORT_LIMITS_H

#include <cstdint>

namespace wl::limits {

/// config.json (real ones are under 100 kB).
constexpr uint64_t kMaxConfigBytes = 16ull << 20;
/// One mapping spec file or one file it includes (the library's largest is
/// under 20 kB).
constexpr uint64_t kMaxSpecBytes = 16ull << 20;
/// A spec and everything it includes, counted once each.
constexpr int kMaxSpecFiles = 64;
/// How deep includes nest.
constexpr int kMaxIncludeDepth = 8;
/// weight-layout.json, the manifest of a converted folder.
constexpr uint64_t kMaxManifestBytes = 1ull << 20;
/// model.safetensors.index.json (DeepSeek-V3's, 91,000 tensors, is 8.9 MB).
constexpr uint64_t kMaxIndexBytes = 64ull << 20;
/// Nesting of any JSON document read whole (config, spec, manifest).
constexpr int kMaxJsonDepth = 64;
/// One expression of a spec, in characters (the library's longest: 500).
constexpr uint64_t kMaxExprChars = 8192;
/// Nesting of an expression's tree: parentheses, operators, calls (a sum of
/// n terms nests n - 1 deep).
constexpr int kMaxExprDepth = 128;
/// The count of one `for` capture of a spec (layers, experts).
constexpr int64_t kMaxLoopCount = 1'000'000;
/// Rule instances (every value of every rule's captures, with the inputs
/// of list inputs) evaluated for one rank (Kimi-K2's largest rule has
/// 61 x 384 x 3 = 70,272).
constexpr int64_t kMaxRuleInstances = 1'000'000;
/// Expression terms evaluated for one rank, every evaluation of an
/// expression costing its number of terms (a real spec evaluates under a
/// million for the largest models): what bounds the time of a walk whose
/// instances are few but whose expressions are long (about a second).
constexpr int64_t kMaxEvalTerms = 20'000'000;
/// Parts of one op: unstack and split results, interleave and deinterleave
/// groups, stack, concat and interleave operands, shard counts.
constexpr int64_t kMaxOpParts = 65'536;
/// Elements of any tensor a spec names or builds (2^48: a stacked MaxText
/// tensor of all of Qwen3-235B's experts holds 2^37).
constexpr int64_t kMaxTensorElements = int64_t(1) << 48;
/// Blocks (scale-grid elements) of the block-FP8 tensors one plan of a
/// conversion moves, dequantizes or quantizes: each is tracked while the
/// layout is proven, and is a piece of the plan when dequantizing or
/// quantizing (2^26: DeepSeek-V3 in blocks of 128x128 has about 2^25.3;
/// a block of a few elements on a large checkpoint would be billions).
constexpr int64_t kMaxBlocks = int64_t(1) << 26;
/// Each parallel degree, and the number of ranks (the product of a mesh's).
constexpr int64_t kMaxRanks = 65'536;
/// How many bytes of a name a message shows.
constexpr uint64_t kMaxShownNameBytes = 200;

} // namespace wl::limits

#endif // WL_SUPPORT_LIMITS_H
