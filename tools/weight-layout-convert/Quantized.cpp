//===- Quantized.cpp - block-FP8 checkpoints through a conversion ---------===//
#include "Quantized.h"

#include "wl/MappingSpec/Spec.h"
#include "wl/Support/Limits.h"
#include "wl/Support/Json.h"
#include "wl/Support/Quote.h"

#include <cmath>
#include <cstring>

namespace wl::tool {

using layout::DType;

namespace {

std::string shapeText(const layout::Shape &s) {
  std::string t = "[";
  for (size_t i = 0; i < s.size(); ++i)
    t += (i ? ", " : "") + std::to_string(s[i]);
  return t + "]";
}

std::string blockText(layout::BlockShape b) {
  return "[" + std::to_string(b.rows) + ", " + std::to_string(b.cols) + "]";
}

/// Adds the blocks of `shape` to `total`; false with `error` set once the
/// total passes limits::kMaxBlocks.
bool countBlocks(const layout::Shape &shape, layout::BlockShape block,
                 int64_t &total, std::string &error) {
  total += *layout::numElements(layout::scaleGridShape(shape, block));
  if (total <= limits::kMaxBlocks)
    return true;
  error = "the block-FP8 tensors of one rank hold more than " +
          std::to_string(limits::kMaxBlocks) + " blocks of " +
          blockText(block) +
          " (each is a piece of the plan: a larger block size, or fewer "
          "tensors quantized)";
  return false;
}

} // namespace

bool readBlockFp8(const std::string &configPath, BlockFp8 &out,
                  std::string &error) {
  out = BlockFp8{};
  std::optional<nlohmann::ordered_json> config =
      mapping::readConfig(configPath, error);
  if (!config)
    return false;
  auto q = config->find("quantization_config");
  if (q == config->end() || q->is_null())
    return true;
  const std::string where = configPath + ": quantization_config";
  if (!q->is_object()) {
    error = where + " is " + jsonTypeName(*q) + ", not an object";
    return false;
  }
  auto method = q->find("quant_method");
  if (method != q->end() && method->is_string() &&
      method->get<std::string>() == "mxfp4") {
    out.mxfp4 = true;
    return true;
  }
  if (method == q->end() || !method->is_string() ||
      method->get<std::string>() != "fp8") {
    error = where + ".quant_method is " +
            (method == q->end()         ? std::string("missing")
             : method->is_string()      ? quoteName(method->get<std::string>())
                                        : std::string(jsonTypeName(*method))) +
            ": only \"fp8\" with weight_block_size (block FP8) and \"mxfp4\" "
            "are supported";
    return false;
  }
  auto fmt = q->find("fmt");
  if (fmt != q->end() && !(fmt->is_string() && fmt->get<std::string>() == "e4m3")) {
    error = where + ".fmt is not \"e4m3\": only F8_E4M3 weights are supported";
    return false;
  }
  auto size = q->find("weight_block_size");
  if (size == q->end() || size->is_null()) {
    error = where + " has no weight_block_size: FP8 with per-tensor scales "
                    "is not supported, only block FP8";
    return false;
  }
  if (!size->is_array() || size->size() != 2) {
    error = where + ".weight_block_size is not a list of 2 integers";
    return false;
  }
  int64_t v[2];
  for (int k = 0; k < 2; ++k) {
    std::string why;
    std::optional<int64_t> n = jsonInteger((*size)[k], why);
    if (!n || *n < 1 || *n > (int64_t(1) << 20)) {
      error = where + ".weight_block_size[" + std::to_string(k) + "] " +
              (n ? "is " + std::to_string(*n) + ", not in [1, 2^20]" : why);
      return false;
    }
    v[k] = *n;
  }
  out.present = true;
  out.block = {v[0], v[1]};
  return true;
}

bool configWithoutQuantization(const std::string &configPath,
                               std::string &text, std::string &error) {
  std::optional<nlohmann::ordered_json> config =
      mapping::readConfig(configPath, error);
  if (!config)
    return false;
  config->erase("quantization_config");
  text = config->dump(2) + "\n";
  return true;
}

void dropScaleNames(NameProblems &names, const runtime::Checkpoint &ckpt) {
  const std::string suffix = kScaleSuffix;
  std::vector<std::string> kept;
  for (const std::string &n : names.unused) {
    bool grid = n.size() > suffix.size() &&
                n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0 &&
                ckpt.find(n.substr(0, n.size() - suffix.size())).entry;
    if (!grid)
      kept.push_back(n);
  }
  names.unused = std::move(kept);
}

SourceLookup sameNames(const runtime::Checkpoint &ckpt) {
  return [&ckpt](const std::string &plan, std::string &name) {
    name = plan;
    return &ckpt;
  };
}

bool QuantizedSources::any() const {
  for (bool f : flags)
    if (f)
      return true;
  return false;
}

bool findQuantized(const layout::Plan &plan, const SourceLookup &lookup,
                   const BlockFp8 &fp8, const std::string &configPath,
                   QuantizedSources &out, std::string &error) {
  const size_t n = plan.sources.size();
  out.flags.assign(n, false);
  out.grids.assign(n, {});
  out.values.assign(n, {});
  int64_t total = 0;
  const std::string blocks = " in blocks of " + blockText(fp8.block) + " (" +
                             configPath +
                             ": quantization_config.weight_block_size)";
  for (size_t s = 0; s < n; ++s) {
    const layout::TensorInfo &t = plan.sources[s];
    std::string name;
    const runtime::Checkpoint *ckpt = lookup(t.name, name);
    if (!ckpt)
      continue;
    runtime::Checkpoint::Located data = ckpt->find(name);
    if (!data.entry || data.entry->dtype != DType::F8E4M3FN ||
        data.entry->shape != t.shape || t.shape.size() < 2)
      continue;
    const std::string gridName = name + kScaleSuffix;
    runtime::Checkpoint::Located grid = ckpt->find(gridName);
    const std::string file = data.file->shownPath() + ": ";
    if (!grid.entry) {
      error = file + quoteName(name) + " is F8_E4M3 and has no scale grid " +
              quoteName(gridName);
      return false;
    }
    const std::string gfile = grid.file->shownPath() + ": ";
    layout::Shape want = layout::scaleGridShape(t.shape, fp8.block);
    if (grid.entry->dtype != DType::F32 || grid.entry->shape != want) {
      error = gfile + quoteName(gridName) + " is " +
              std::string(layout::safetensorsName(grid.entry->dtype)) + " " +
              shapeText(grid.entry->shape) + "; the scale grid of " +
              quoteName(name) + " " + shapeText(t.shape) + blocks + " is F32 " +
              shapeText(want);
      return false;
    }
    if (!countBlocks(t.shape, fp8.block, total, error)) {
      error = configPath + ": " + error;
      return false;
    }
    const uint8_t *bytes = grid.file->data(*grid.entry);
    int64_t count = *layout::numElements(want);
    std::vector<double> &v = out.values[s];
    v.resize(count);
    for (int64_t k = 0; k < count; ++k) {
      float f;
      std::memcpy(&f, bytes + 4 * k, 4);
      if (!std::isfinite(f)) {
        layout::Shape at = layout::unflatIndex(want, k);
        error = gfile + quoteName(gridName) + ": the scale of block " +
                shapeText(at) + " is " + (std::isnan(f) ? "NaN" : "infinite");
        return false;
      }
      v[k] = f;
    }
    out.flags[s] = true;
    out.grids[s] = {t.name + kScaleSuffix, DType::F32, want};
  }
  return true;
}

QuantizedSources quantizedByName(const layout::Plan &plan,
                                 const std::set<std::string> &names,
                                 layout::BlockShape block) {
  QuantizedSources q;
  const size_t n = plan.sources.size();
  q.flags.assign(n, false);
  q.grids.assign(n, {});
  q.values.assign(n, {});
  for (size_t s = 0; s < n; ++s) {
    const layout::TensorInfo &t = plan.sources[s];
    if (!names.count(t.name) || t.shape.size() < 2)
      continue;
    q.flags[s] = true;
    q.grids[s] = {t.name + kScaleSuffix, DType::F32,
                  layout::scaleGridShape(t.shape, block)};
  }
  return q;
}

bool rewriteForBlockFp8(layout::Plan &plan, const QuantizedSources &q,
                        layout::BlockShape block, bool dequantize,
                        std::set<std::string> *quantizedTargets,
                        std::string &error) {
  if (!q.any())
    return true;
  std::optional<layout::BlockMap> map =
      layout::mapBlocks(plan, q.flags, block, error);
  if (!map)
    return false;
  if (quantizedTargets)
    for (size_t t = 0; t < plan.targets.size(); ++t)
      if (map->isQuantized((int64_t)t))
        quantizedTargets->insert(plan.targets[t].name);
  if (dequantize) {
    plan = layout::dequantizePlan(plan, *map, DType::F8E4M3FN, q.values);
    return true;
  }
  std::optional<layout::Plan> scales =
      layout::scalePlan(plan, *map, q.grids, kScaleSuffix, error);
  if (!scales)
    return false;
  std::optional<layout::Plan> kept =
      layout::keepQuantized(plan, *map, DType::F8E4M3FN, error);
  if (!kept)
    return false;
  for (const layout::TensorInfo &g : scales->targets)
    for (const layout::TensorInfo &t : kept->targets)
      if (t.name == g.name) {
        error = quoteName(g.name) +
                " is both a target of the mapping and the scale grid of " +
                quoteName(g.name.substr(0, g.name.size() -
                                        std::strlen(kScaleSuffix)));
        return false;
      }
  layout::appendPlan(*kept, *scales);
  plan = std::move(*kept);
  return true;
}

bool quantizedByDefault(const layout::TensorInfo &t) {
  const std::string &n = t.name;
  if (!layout::isFloat(t.dtype) || t.shape.size() < 2 || n.size() < 7 ||
      n.compare(n.size() - 7, 7, ".weight") != 0)
    return false;
  std::string module = n.substr(0, n.size() - 7);
  size_t dot = module.rfind('.');
  std::string last = dot == std::string::npos ? module : module.substr(dot + 1);
  return last.find("proj") != std::string::npos;
}

bool quantizePlanForFp8(layout::Plan &plan, layout::BlockShape block,
                        const SourceLookup &lookup,
                        const std::vector<std::string> &skip,
                        std::set<std::string> &notConverted,
                        std::set<std::string> &quantizedSources,
                        std::string &error) {
  std::vector<const uint8_t *> data(plan.sources.size(), nullptr);
  std::vector<runtime::Checkpoint::Located> where(plan.sources.size());
  std::vector<bool> linear(plan.sources.size(), false);
  for (size_t s = 0; s < plan.sources.size(); ++s) {
    const layout::TensorInfo &t = plan.sources[s];
    linear[s] = quantizedByDefault(t);
    for (const std::string &k : skip)
      linear[s] = linear[s] && t.name.find(k) == std::string::npos;
    if (!linear[s]) {
      if (t.name.size() > 7 &&
          t.name.compare(t.name.size() - 7, 7, ".weight") == 0)
        notConverted.insert(t.name.substr(0, t.name.size() - 7));
      continue;
    }
    std::string name;
    const runtime::Checkpoint *ckpt = lookup(t.name, name);
    runtime::Checkpoint::Located l = ckpt ? ckpt->find(name)
                                          : runtime::Checkpoint::Located{};
    if (l.entry)
      data[s] = l.file->data(*l.entry);
    where[s] = l;
  }
  // A target is quantized when every piece writing it reads a Linear weight.
  std::vector<int> kind(plan.targets.size(), 0); // 1: linear, 2: other
  std::vector<int64_t> example(plan.targets.size() * 2, -1);
  for (const layout::Piece &p : plan.pieces) {
    int k = !p.isFill() && linear[p.source] ? 1 : 2;
    kind[p.target] |= k;
    example[p.target * 2 + (k - 1)] = p.source;
  }
  std::vector<bool> quantize(plan.targets.size(), false);
  for (size_t t = 0; t < plan.targets.size(); ++t) {
    if (kind[t] == 3) {
      int64_t other = example[t * 2 + 1];
      error = quoteName(plan.targets[t].name) + " is written from the Linear "
              "weight " + quoteName(plan.sources[example[t * 2]].name) +
              " and from " +
              (other < 0 ? std::string("fill values")
                         : quoteName(plan.sources[other].name)) +
              ": it cannot be quantized in blocks";
      return false;
    }
    quantize[t] = kind[t] == 1;
  }
  int64_t total = 0;
  for (size_t t = 0; t < plan.targets.size(); ++t)
    if (quantize[t] && plan.targets[t].shape.size() >= 2 &&
        !countBlocks(plan.targets[t].shape, block, total, error))
      return false;
  for (const layout::Piece &p : plan.pieces)
    if (quantize[p.target])
      quantizedSources.insert(plan.sources[p.source].name);
  // Each source's pages are released once its blocks' amax is known, so
  // that this pass does not keep the checkpoint resident.
  auto release = [&](int64_t s) {
    const runtime::Checkpoint::Located &l = where[s];
    if (l.entry)
      l.file->release(l.file->fileOffset(*l.entry),
                      l.file->fileOffset(*l.entry) + (l.entry->end - l.entry->begin));
  };
  std::optional<layout::Plan> q = layout::quantizePlan(
      plan, quantize, block, DType::F8E4M3FN, data, kScaleSuffix, error,
      release);
  if (!q)
    return false;
  plan = std::move(*q);
  return true;
}

bool configWithBlockFp8(const std::string &configPath,
                        layout::BlockShape block,
                        const std::set<std::string> &notConverted,
                        std::string &text, std::string &error) {
  std::optional<nlohmann::ordered_json> config =
      mapping::readConfig(configPath, error);
  if (!config)
    return false;
  nlohmann::ordered_json q = nlohmann::ordered_json::object();
  q["activation_scheme"] = "dynamic";
  q["fmt"] = "e4m3";
  q["quant_method"] = "fp8";
  q["weight_block_size"] = {block.rows, block.cols};
  q["modules_to_not_convert"] = nlohmann::ordered_json::array();
  for (const std::string &m : notConverted)
    q["modules_to_not_convert"].push_back(m);
  (*config)["quantization_config"] = q;
  text = config->dump(2) + "\n";
  return true;
}

} // namespace wl::tool
