//===- Plan.cpp - plan JSON, validation and the reference executor --------===//
#include "wl/Plan/Plan.h"

#include "wl/Support/Json.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>

namespace wl::plan {

using layout::DType;
using layout::Piece;
using layout::Step;
using layout::TensorInfo;
using nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {

ojson tensorJson(const TensorInfo &t) {
  return ojson{{"name", t.name},
              {"dtype", std::string(layout::safetensorsName(t.dtype))},
              {"shape", t.shape}};
}

ojson fillJson(uint64_t bits, DType t) {
  if (!layout::isFloat(t)) {
    if (layout::isSignedInt(t))
      return ojson(layout::int64FromBits(bits, t));
    return ojson(layout::maskBits(bits, t));
  }
  double v = layout::doubleFromBits(bits, t);
  if (std::isnan(v))
    return ojson("nan");
  if (std::isinf(v))
    return ojson(v > 0 ? "inf" : "-inf");
  return ojson(v);
}

ojson stepJson(const Step &s) {
  auto name = [](DType t) { return std::string(layout::safetensorsName(t)); };
  switch (s.kind) {
  case Step::Cast:
    return ojson{{"op", "cast"}, {"from", name(s.from)}, {"to", name(s.to)}};
  case Step::E2M1Low:
  case Step::E2M1High:
    return ojson{{"op", s.kind == Step::E2M1Low ? "e2m1_low" : "e2m1_high"},
                 {"from", name(s.from)},
                 {"to", name(s.to)}};
  case Step::RuntimeScale:
    return ojson{{"op", "runtime_scale"},
                 {"scale_dtype", name(s.from)},
                 {"dtype", name(s.to)}};
  case Step::Affine:
    break;
  }
  return ojson{{"op", "affine"},
              {"dtype", std::string(layout::safetensorsName(s.to))},
              {"scale", s.scale},
              {"offset", s.offset}};
}

/// Throws this to unwind the parser with a path-qualified message.
struct ParseError {
  std::string message;
};

[[noreturn]] void fail(const std::string &path, const std::string &what) {
  throw ParseError{path + ": " + what};
}

const json &field(const json &obj, const std::string &path, const char *key) {
  if (!obj.is_object())
    fail(path, "expected an object");
  auto it = obj.find(key);
  if (it == obj.end())
    fail(path, std::string("missing field '") + key + "'");
  return *it;
}

int64_t getInt(const json &v, const std::string &path) {
  if (!v.is_number_integer())
    fail(path, "expected an integer");
  if (v.is_number_unsigned() &&
      v.get<uint64_t>() > (uint64_t)std::numeric_limits<int64_t>::max())
    fail(path, "integer out of range");
  return v.get<int64_t>();
}

layout::Shape getInts(const json &v, const std::string &path) {
  if (!v.is_array())
    fail(path, "expected an array of integers");
  layout::Shape out;
  for (size_t i = 0; i < v.size(); ++i)
    out.push_back(getInt(v[i], path + "[" + std::to_string(i) + "]"));
  return out;
}

DType getDType(const json &v, const std::string &path) {
  if (!v.is_string())
    fail(path, "expected a dtype name");
  auto t = layout::parseDType(v.get<std::string>());
  if (!t)
    fail(path, "unknown dtype '" + v.get<std::string>() + "'");
  return *t;
}

double getDouble(const json &v, const std::string &path) {
  if (!v.is_number())
    fail(path, "expected a number");
  return v.get<double>();
}

TensorInfo getTensor(const json &v, const std::string &path) {
  TensorInfo t;
  const json &name = field(v, path, "name");
  if (!name.is_string())
    fail(path + ".name", "expected a string");
  t.name = name.get<std::string>();
  t.dtype = getDType(field(v, path, "dtype"), path + ".dtype");
  t.shape = getInts(field(v, path, "shape"), path + ".shape");
  for (size_t d = 0; d < t.shape.size(); ++d)
    if (t.shape[d] < 0)
      fail(path + ".shape[" + std::to_string(d) + "]", "negative size");
  if (!layout::numElements(t.shape))
    fail(path + ".shape", "element count overflows");
  return t;
}

uint64_t getFill(const json &v, DType t, const std::string &path) {
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    if (!layout::isFloat(t))
      fail(path, "'" + s + "' is not a value of an integer dtype");
    double d;
    if (s == "nan")
      d = std::numeric_limits<double>::quiet_NaN();
    else if (s == "inf")
      d = std::numeric_limits<double>::infinity();
    else if (s == "-inf")
      d = -std::numeric_limits<double>::infinity();
    else
      fail(path, "expected a number, \"nan\", \"inf\" or \"-inf\"");
    return layout::bitsFromDouble(d, t);
  }
  if (!v.is_number())
    fail(path, "expected a number");
  if (layout::isFloat(t))
    return layout::bitsFromDouble(v.get<double>(), t);
  if (!v.is_number_integer())
    fail(path, "expected an integer for an integer dtype");
  if (v.is_number_unsigned())
    return layout::maskBits(v.get<uint64_t>(), t);
  return layout::maskBits((uint64_t)v.get<int64_t>(), t);
}

/// Largest flat position a piece side touches, or -1 on overflow/negatives.
bool extent(const layout::Shape &shape, int64_t offset,
            const layout::Shape &strides, int64_t &last) {
  if (offset < 0)
    return false;
  __int128 m = offset;
  for (size_t j = 0; j < shape.size(); ++j) {
    if (strides[j] < 0)
      return false;
    m += (__int128)(shape[j] - 1) * strides[j];
  }
  if (m > std::numeric_limits<int64_t>::max())
    return false;
  last = (int64_t)m;
  return true;
}

std::string checkPlan(const Plan &plan) {
  for (size_t i = 0; i < plan.pieces.size(); ++i) {
    const Piece &p = plan.pieces[i];
    std::string path = "pieces[" + std::to_string(i) + "]";
    if (p.target < 0 || p.target >= (int64_t)plan.targets.size())
      return path + ".target: index " + std::to_string(p.target) +
             " is not one of the " + std::to_string(plan.targets.size()) +
             " targets";
    if (!p.isFill() && p.source >= (int64_t)plan.sources.size())
      return path + ".source: index " + std::to_string(p.source) +
             " is not one of the " + std::to_string(plan.sources.size()) +
             " sources";
    if (p.dstStrides.size() != p.shape.size() ||
        (!p.isFill() && p.srcStrides.size() != p.shape.size()))
      return path + ": shape, dst_strides and src_strides differ in rank";
    bool empty = false;
    for (size_t j = 0; j < p.shape.size(); ++j) {
      if (p.shape[j] < 0)
        return path + ".shape[" + std::to_string(j) + "]: negative size";
      empty |= p.shape[j] == 0;
    }
    if (empty)
      continue;
    const TensorInfo &t = plan.targets[p.target];
    int64_t last;
    if (!extent(p.shape, p.dstOffset, p.dstStrides, last) ||
        last >= *layout::numElements(t.shape))
      return path + ": writes outside target '" + t.name + "' (" +
             std::to_string(*layout::numElements(t.shape)) + " elements)";
    if (p.isFill())
      continue;
    const TensorInfo &s = plan.sources[p.source];
    if (!extent(p.shape, p.srcOffset, p.srcStrides, last) ||
        last >= *layout::numElements(s.shape))
      return path + ": reads outside source '" + s.name + "' (" +
             std::to_string(*layout::numElements(s.shape)) + " elements)";
    int runtimeScales = 0;
    if (p.hasRuntimeScale()) {
      if (p.scale.source >= (int64_t)plan.sources.size())
        return path + ".scale.source: index " +
               std::to_string(p.scale.source) + " is not one of the " +
               std::to_string(plan.sources.size()) + " sources";
      const TensorInfo &g = plan.sources[p.scale.source];
      if (p.scale.strides.size() != p.shape.size())
        return path + ".scale.strides: not of the piece's rank";
      if (!extent(p.shape, p.scale.offset, p.scale.strides, last) ||
          last >= *layout::numElements(g.shape))
        return path + ": reads scales outside source '" + g.name + "' (" +
               std::to_string(*layout::numElements(g.shape)) + " elements)";
    }
    DType cur = s.dtype;
    for (size_t k = 0; k < p.steps.size(); ++k) {
      const Step &st = p.steps[k];
      std::string sp = path + ".convert[" + std::to_string(k) + "]";
      if (st.kind == Step::E2M1Low || st.kind == Step::E2M1High) {
        if (st.from != DType::U8 || cur != DType::U8 ||
            !layout::isFloat(st.to))
          return sp + ": e2m1 decodes a U8 element into a float";
        cur = st.to;
        continue;
      }
      if (st.kind == Step::RuntimeScale) {
        if (!p.hasRuntimeScale())
          return sp + ": the piece has no 'scale' to read";
        const DType g = plan.sources[p.scale.source].dtype;
        if ((st.from != DType::U8 && st.from != DType::F32) || st.from != g)
          return sp + ": scale_dtype must be the scale source's dtype, U8 "
                      "(e8m0) or F32";
        if (st.to != cur || !layout::isFloat(cur))
          return sp + ": a run-time scale needs a float element of the "
                      "current dtype";
        ++runtimeScales;
        continue;
      }
      if (st.kind == Step::Cast) {
        if (st.from != cur)
          return sp + ": casts from " +
                 std::string(layout::safetensorsName(st.from)) +
                 " but the element is " +
                 std::string(layout::safetensorsName(cur));
        if (layout::isFloat(st.from) && !layout::isFloat(st.to))
          return sp + ": float to integer is not a cast";
        cur = st.to;
      } else {
        if (st.to != cur || !layout::isFloat(cur))
          return sp + ": affine needs a float element of the current dtype";
        if (!std::isfinite(st.scale) || !std::isfinite(st.offset))
          return sp + ": scale and offset must be finite";
      }
    }
    if (p.hasRuntimeScale() && runtimeScales != 1)
      return path + ": a piece with a 'scale' applies it in exactly one "
                    "runtime_scale step";
    if (cur != t.dtype)
      return path + ": converts to " +
             std::string(layout::safetensorsName(cur)) + " but target '" +
             t.name + "' is " + std::string(layout::safetensorsName(t.dtype));
  }
  return "";
}

} // namespace

std::string toJson(const Plan &plan, int indent) {
  std::vector<std::optional<layout::Alias>> aliases = layout::findAliases(plan);
  auto target = [&](size_t i) {
    ojson t = tensorJson(plan.targets[i]);
    if (aliases[i])
      t["alias"] = ojson{{"source", aliases[i]->source},
                         {"offset", aliases[i]->offset}};
    return t;
  };
  auto piece = [&](const Piece &p) {
    ojson q;
    q["target"] = p.target;
    bool knownTarget =
        p.target >= 0 && p.target < (int64_t)plan.targets.size();
    // A fill of a target out of range (a plan validation refuses) has no
    // dtype to write its value in: its bits are written as they are.
    if (p.isFill())
      q["fill"] = knownTarget
                      ? fillJson(p.fillBits, plan.targets[p.target].dtype)
                      : ojson(p.fillBits);
    else
      q["source"] = p.source;
    q["dst_offset"] = p.dstOffset;
    if (!p.isFill())
      q["src_offset"] = p.srcOffset;
    q["shape"] = p.shape;
    q["dst_strides"] = p.dstStrides;
    if (!p.isFill())
      q["src_strides"] = p.srcStrides;
    if (p.hasRuntimeScale())
      q["scale"] = ojson{{"source", p.scale.source},
                         {"offset", p.scale.offset},
                         {"strides", p.scale.strides}};
    if (!p.steps.empty()) {
      q["convert"] = ojson::array();
      for (const Step &s : p.steps)
        q["convert"].push_back(stepJson(s));
    }
    return q;
  };
  if (indent < 0) {
    ojson j;
    j["version"] = kPlanVersion;
    j["sources"] = ojson::array();
    for (const TensorInfo &t : plan.sources)
      j["sources"].push_back(tensorJson(t));
    j["targets"] = ojson::array();
    for (size_t i = 0; i < plan.targets.size(); ++i)
      j["targets"].push_back(target(i));
    j["pieces"] = ojson::array();
    for (const Piece &p : plan.pieces)
      j["pieces"].push_back(piece(p));
    return j.dump() + "\n";
  }
  // One tensor or piece per line: readable and diff-friendly.
  std::string pad(indent, ' ');
  std::string out = "{\n" + pad + "\"version\": " +
                    std::to_string(kPlanVersion) + ",\n";
  auto list = [&](const char *key, size_t n, auto item, bool last) {
    out += pad + "\"" + key + "\": [";
    for (size_t i = 0; i < n; ++i)
      out += (i ? ",\n" : "\n") + pad + pad + item(i).dump();
    out += n ? "\n" + pad + "]" : "]";
    out += last ? "\n" : ",\n";
  };
  list("sources", plan.sources.size(),
       [&](size_t i) { return tensorJson(plan.sources[i]); }, false);
  list("targets", plan.targets.size(), target, false);
  list("pieces", plan.pieces.size(),
       [&](size_t i) { return piece(plan.pieces[i]); }, true);
  return out + "}\n";
}

std::optional<Plan> fromJson(std::string_view text, std::string &error) {
  std::string why;
  std::optional<nlohmann::ordered_json> parsed =
      parseJson(std::string(text), why);
  if (!parsed) {
    error = "plan: not valid JSON: " + why;
    return std::nullopt;
  }
  const json j(*parsed);
  Plan plan;
  try {
    const json &v = field(j, "plan", "version");
    if (!v.is_number_integer() || v.get<int64_t>() != kPlanVersion)
      fail("version", "this is plan format " + v.dump() +
                          "; this build reads version " +
                          std::to_string(kPlanVersion));
    for (const char *side : {"sources", "targets"}) {
      const json &arr = field(j, "plan", side);
      if (!arr.is_array())
        fail(side, "expected an array");
      for (size_t i = 0; i < arr.size(); ++i) {
        TensorInfo t =
            getTensor(arr[i], std::string(side) + "[" + std::to_string(i) + "]");
        (side[0] == 's' ? plan.sources : plan.targets).push_back(t);
      }
    }
    const json &pieces = field(j, "plan", "pieces");
    if (!pieces.is_array())
      fail("pieces", "expected an array");
    for (size_t i = 0; i < pieces.size(); ++i) {
      const json &q = pieces[i];
      std::string path = "pieces[" + std::to_string(i) + "]";
      Piece p;
      p.target = getInt(field(q, path, "target"), path + ".target");
      if (p.target < 0 || p.target >= (int64_t)plan.targets.size())
        fail(path + ".target", "index " + std::to_string(p.target) +
                                   " is not one of the " +
                                   std::to_string(plan.targets.size()) +
                                   " targets");
      bool hasFill = q.contains("fill"), hasSource = q.contains("source");
      if (hasFill == hasSource)
        fail(path, "needs exactly one of 'source' and 'fill'");
      p.shape = getInts(field(q, path, "shape"), path + ".shape");
      p.dstOffset = getInt(field(q, path, "dst_offset"), path + ".dst_offset");
      p.dstStrides =
          getInts(field(q, path, "dst_strides"), path + ".dst_strides");
      if (hasFill) {
        p.source = -1;
        p.fillBits = getFill(q["fill"], plan.targets[p.target].dtype,
                             path + ".fill");
        p.srcStrides.assign(p.shape.size(), 0);
      } else {
        p.source = getInt(q["source"], path + ".source");
        if (p.source < 0 || p.source >= (int64_t)plan.sources.size())
          fail(path + ".source", "index " + std::to_string(p.source) +
                                     " is not one of the " +
                                     std::to_string(plan.sources.size()) +
                                     " sources");
        p.srcOffset =
            getInt(field(q, path, "src_offset"), path + ".src_offset");
        p.srcStrides =
            getInts(field(q, path, "src_strides"), path + ".src_strides");
      }
      if (q.contains("scale")) {
        const json &g = q["scale"];
        const std::string gp = path + ".scale";
        if (hasFill)
          fail(gp, "a fill piece reads no scale");
        p.scale.source = getInt(field(g, gp, "source"), gp + ".source");
        if (p.scale.source < 0 ||
            p.scale.source >= (int64_t)plan.sources.size())
          fail(gp + ".source", "index " + std::to_string(p.scale.source) +
                                   " is not one of the " +
                                   std::to_string(plan.sources.size()) +
                                   " sources");
        p.scale.offset = getInt(field(g, gp, "offset"), gp + ".offset");
        p.scale.strides = getInts(field(g, gp, "strides"), gp + ".strides");
      }
      if (q.contains("convert") && hasFill)
        fail(path + ".convert", "a fill piece has no conversion (its 'fill' "
                                "is already a value of the target dtype)");
      if (q.contains("convert")) {
        const json &c = q["convert"];
        if (!c.is_array())
          fail(path + ".convert", "expected an array");
        for (size_t k = 0; k < c.size(); ++k) {
          std::string sp = path + ".convert[" + std::to_string(k) + "]";
          const json &op = field(c[k], sp, "op");
          Step s;
          if (op == "cast") {
            s.kind = Step::Cast;
            s.from = getDType(field(c[k], sp, "from"), sp + ".from");
            s.to = getDType(field(c[k], sp, "to"), sp + ".to");
          } else if (op == "affine") {
            s.kind = Step::Affine;
            s.to = s.from = getDType(field(c[k], sp, "dtype"), sp + ".dtype");
            s.scale = getDouble(field(c[k], sp, "scale"), sp + ".scale");
            s.offset = getDouble(field(c[k], sp, "offset"), sp + ".offset");
          } else if (op == "e2m1_low" || op == "e2m1_high") {
            s.kind = op == "e2m1_low" ? Step::E2M1Low : Step::E2M1High;
            s.from = getDType(field(c[k], sp, "from"), sp + ".from");
            s.to = getDType(field(c[k], sp, "to"), sp + ".to");
          } else if (op == "runtime_scale") {
            s.kind = Step::RuntimeScale;
            s.from = getDType(field(c[k], sp, "scale_dtype"),
                              sp + ".scale_dtype");
            s.to = getDType(field(c[k], sp, "dtype"), sp + ".dtype");
          } else {
            fail(sp + ".op", "unknown conversion " + op.dump() +
                                 " (expected \"cast\", \"affine\", "
                                 "\"e2m1_low\", \"e2m1_high\" or "
                                 "\"runtime_scale\")");
          }
          p.steps.push_back(s);
        }
      }
      plan.pieces.push_back(std::move(p));
    }
  } catch (const ParseError &e) {
    error = e.message;
    return std::nullopt;
  } catch (const std::exception &e) {
    error = std::string("plan: ") + e.what();
    return std::nullopt;
  }
  std::string msg = checkPlan(plan);
  if (!msg.empty()) {
    error = msg;
    return std::nullopt;
  }
  return plan;
}

bool validate(const Plan &plan, std::string &error) {
  for (size_t i = 0; i < plan.sources.size() + plan.targets.size(); ++i) {
    bool src = i < plan.sources.size();
    const TensorInfo &t =
        src ? plan.sources[i] : plan.targets[i - plan.sources.size()];
    for (int64_t s : t.shape)
      if (s < 0) {
        error = std::string(src ? "sources" : "targets") + "['" + t.name +
                "'].shape: negative size";
        return false;
      }
    if (!layout::numElements(t.shape)) {
      error = "'" + t.name + "': element count overflows";
      return false;
    }
  }
  error = checkPlan(plan);
  return error.empty();
}

uint64_t loadElement(const Buffer &b, DType t, int64_t i) {
  int n = layout::dtypeSize(t);
  uint64_t v = 0;
  std::memcpy(&v, b.bytes.data() + i * n, n); // little-endian host
  return v;
}

void storeElement(Buffer &b, DType t, int64_t i, uint64_t bits) {
  int n = layout::dtypeSize(t);
  std::memcpy(b.bytes.data() + i * n, &bits, n);
}

std::vector<Buffer> execute(const Plan &plan,
                            const std::vector<Buffer> &sources) {
  std::vector<Buffer> out(plan.targets.size());
  for (size_t t = 0; t < plan.targets.size(); ++t)
    out[t].bytes.assign(*layout::numElements(plan.targets[t].shape) *
                            layout::dtypeSize(plan.targets[t].dtype),
                        0);
  for (const Piece &p : plan.pieces) {
    int64_t n = p.numElements();
    DType td = plan.targets[p.target].dtype;
    for (int64_t e = 0; e < n; ++e) {
      const auto [dst, src, scale] = layout::elementPositions(p, e);
      const uint64_t scaleBits =
          p.hasRuntimeScale()
              ? loadElement(sources[p.scale.source],
                            plan.sources[p.scale.source].dtype, scale)
              : 0;
      uint64_t bits =
          p.isFill()
              ? p.fillBits
              : layout::applySteps(
                    p.steps,
                    loadElement(sources[p.source],
                                plan.sources[p.source].dtype, src),
                    scaleBits);
      storeElement(out[p.target], td, dst, bits);
    }
  }
  return out;
}

uint64_t planHash(const Plan &plan) {
  std::string s = toJson(plan, -1);
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

} // namespace wl::plan
