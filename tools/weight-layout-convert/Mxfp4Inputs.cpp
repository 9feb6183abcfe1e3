//===- Mxfp4Inputs.cpp - MXFP4 checkpoints through a conversion -----------===//
#include "Mxfp4Inputs.h"

#include "wl/Layout/Mxfp4.h"
#include "wl/Support/Quote.h"

#include <algorithm>

namespace wl::tool {

void resolveMxfp4Names(NameProblems &names, const runtime::Checkpoint &ckpt,
                       std::set<std::string> &logical) {
  std::set<std::string> pairs;
  std::vector<std::string> missing;
  for (const std::string &n : names.missing) {
    const std::string blocks = n + kBlocksSuffix, scales = n + kScalesSuffix;
    if (ckpt.find(blocks).entry && ckpt.find(scales).entry) {
      logical.insert(n);
      pairs.insert(blocks);
      pairs.insert(scales);
    } else {
      missing.push_back(n);
    }
  }
  names.missing = std::move(missing);
  names.unused.erase(
      std::remove_if(names.unused.begin(), names.unused.end(),
                     [&](const std::string &n) { return pairs.count(n) > 0; }),
      names.unused.end());
}

namespace {

std::string shapeText(const layout::Shape &s) {
  std::string t = "[";
  for (size_t j = 0; j < s.size(); ++j)
    t += (j ? ", " : "") + std::to_string(s[j]);
  return t + "]";
}

/// Checks the pair of `source` in `ckpt`.
bool checkPair(const layout::TensorInfo &source,
               const runtime::Checkpoint &ckpt, std::string &error) {
  const std::string bn = source.name + kBlocksSuffix,
                    sn = source.name + kScalesSuffix;
  runtime::Checkpoint::Located b = ckpt.find(bn), s = ckpt.find(sn);
  auto where = [](const runtime::Checkpoint::Located &l,
                  const std::string &name) {
    return l.file->shownPath() + ": tensor " + quoteName(name);
  };
  const layout::Shape &bs = b.entry->shape;
  if (b.entry->dtype != layout::DType::U8 || bs.size() < 3 ||
      bs.back() != layout::kMxfp4GroupBytes) {
    error = where(b, bn) + " is " +
            std::string(layout::safetensorsName(b.entry->dtype)) + " " +
            shapeText(bs) + ": MXFP4 blocks are U8 [..., rows, groups, 16]";
    return false;
  }
  const layout::Shape grid(bs.begin(), bs.end() - 1);
  if (s.entry->dtype != layout::DType::U8 || s.entry->shape != grid) {
    error = where(s, sn) + " is " +
            std::string(layout::safetensorsName(s.entry->dtype)) + " " +
            shapeText(s.entry->shape) + ": the scales of " + quoteName(bn) +
            " are U8 " + shapeText(grid) + " (one e8m0 per 32 elements)";
    return false;
  }
  const layout::Shape logical = layout::mxfp4LogicalShape(bs);
  if (logical != source.shape) {
    error = where(b, bn) + " " + shapeText(bs) + " holds " +
            quoteName(source.name) + " as " + shapeText(logical) +
            " (the last two axes swapped, as transformers dequantizes it), "
            "but the mapping reads it as " +
            shapeText(source.shape);
    return false;
  }
  return true;
}

} // namespace

bool decodeMxfp4Sources(layout::Plan &plan,
                        const std::set<std::string> &logical,
                        const runtime::Checkpoint &ckpt, std::string &error) {
  std::vector<layout::Mxfp4Source> which;
  for (size_t s = 0; s < plan.sources.size(); ++s) {
    const layout::TensorInfo &t = plan.sources[s];
    if (!logical.count(t.name))
      continue;
    if (!checkPair(t, ckpt, error))
      return false;
    which.push_back({static_cast<int64_t>(s), t.name + kBlocksSuffix,
                     t.name + kScalesSuffix});
  }
  layout::decodeMxfp4(plan, which);
  return true;
}

} // namespace wl::tool
