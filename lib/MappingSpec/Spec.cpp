//===- Spec.cpp - mapping specs: loading and evaluation -------------------===//
#include "wl/MappingSpec/Spec.h"

#include "wl/Support/InputFile.h"
#include "wl/Support/Json.h"
#include "wl/Support/Limits.h"
#include "wl/Support/Quote.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdlib>
#include <set>
#include <sstream>

namespace wl::mapping {

using ojson = nlohmann::ordered_json;

namespace {

constexpr const char *kFormat = "weight-layout-mapping/1";

struct SpecError {
  std::string message;
};

[[noreturn]] void fail(const std::string &path, const std::string &what) {
  throw SpecError{path + ": " + what};
}

/// "a.b" + key as a JSON path (wl/Support/Json.h).
std::string quoteKey(const std::string &k) { return jsonPathKey("_", k).substr(1); }

Located located(const ojson &v, const std::string &path) {
  Located l;
  l.path = path;
  if (v.is_number_integer()) {
    l.text = v.dump();
  } else if (v.is_string()) {
    l.text = v.get<std::string>();
  } else {
    fail(path, "expected an expression (a string) or an integer");
  }
  std::string err;
  l.expr = parseExpr(l.text, err);
  if (!l.expr)
    fail(path, quoteText(l.text) + ": " + err);
  return l;
}

std::string text(const ojson &v, const std::string &path) {
  if (v.is_string())
    return v.get<std::string>();
  if (v.is_array()) { // a long description as a list of lines
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_string())
        fail(path + "[" + std::to_string(i) + "]", "expected a string");
      out += (i ? "\n" : "") + v[i].get<std::string>();
    }
    return out;
  }
  fail(path, "expected a string");
}

std::vector<Located> shapeOf(const ojson &v, const std::string &path) {
  if (!v.is_array())
    fail(path, "expected a list of dimension expressions");
  std::vector<Located> out;
  for (size_t i = 0; i < v.size(); ++i)
    out.push_back(located(v[i], path + "[" + std::to_string(i) + "]"));
  return out;
}

void checkKeys(const ojson &obj, const std::string &path,
               std::initializer_list<const char *> allowed) {
  if (!obj.is_object())
    fail(path, "expected an object");
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool ok = false;
    for (const char *a : allowed)
      ok |= it.key() == a;
    if (!ok) {
      std::string list;
      for (const char *a : allowed)
        list += std::string(list.empty() ? "" : ", ") + a;
      fail(path, "unknown field " + quoteName(it.key()) + " (expected " + list +
                     ")");
    }
  }
}

Rule parseRule(const ojson &r, const std::string &path) {
  checkKeys(r, path,
            {"for", "when", "inputs", "outputs", "copy", "rename", "drop",
             "shape", "dtype", "comment"});
  Rule rule;
  rule.path = path;
  if (r.contains("for")) {
    const ojson &f = r["for"];
    if (!f.is_object())
      fail(path + ".for", "expected an object of capture: count");
    for (auto it = f.begin(); it != f.end(); ++it)
      rule.loops.push_back(
          {it.key(), located(it.value(), path + ".for" + quoteKey(it.key()))});
  }
  if (r.contains("when"))
    rule.when = located(r["when"], path + ".when");
  int forms = r.contains("outputs") + r.contains("copy") + r.contains("rename") +
              r.contains("drop");
  if (forms != 1)
    fail(path, "needs exactly one of 'outputs' (with 'inputs'), 'copy', "
               "'rename' and 'drop'");
  std::string dtype;
  if (r.contains("dtype"))
    dtype = text(r["dtype"], path + ".dtype");
  auto shorthandInput = [&](const std::string &pattern) {
    if (!r.contains("shape"))
      fail(path, "needs 'shape', the shape of " + quoteText(pattern));
    InputDecl in{"x", pattern, {}, shapeOf(r["shape"], path + ".shape"), dtype,
                 path};
    rule.inputs.push_back(in);
  };
  if (r.contains("copy")) {
    std::string p = text(r["copy"], path + ".copy");
    shorthandInput(p);
    rule.outputs.push_back({p, located(ojson("x"), path + ".copy")});
  } else if (r.contains("rename")) {
    const ojson &m = r["rename"];
    checkKeys(m, path + ".rename", {"from", "to"});
    if (!m.contains("from") || !m.contains("to"))
      fail(path + ".rename", "needs 'from' and 'to'");
    shorthandInput(text(m["from"], path + ".rename.from"));
    rule.outputs.push_back({text(m["to"], path + ".rename.to"),
                            located(ojson("x"), path + ".rename")});
  } else if (r.contains("drop")) {
    std::string p = text(r["drop"], path + ".drop");
    InputDecl in{"x", p, {}, {}, dtype, path};
    if (r.contains("shape"))
      in.shape = shapeOf(r["shape"], path + ".shape");
    rule.inputs.push_back(in);
  } else {
    if (r.contains("shape"))
      fail(path + ".shape", "give shapes in 'inputs' for a rule with 'outputs'");
    if (!r.contains("inputs"))
      fail(path, "needs 'inputs'");
    const ojson &ins = r["inputs"];
    if (!ins.is_object())
      fail(path + ".inputs", "expected an object of name: {name, shape}");
    for (auto it = ins.begin(); it != ins.end(); ++it) {
      std::string ip = path + ".inputs" + quoteKey(it.key());
      checkKeys(it.value(), ip, {"name", "shape", "dtype", "for"});
      if (!it.value().contains("name") || !it.value().contains("shape"))
        fail(ip, "needs 'name' and 'shape'");
      InputDecl in;
      in.local = it.key();
      in.pattern = text(it.value()["name"], ip + ".name");
      in.shape = shapeOf(it.value()["shape"], ip + ".shape");
      in.dtype = it.value().contains("dtype")
                     ? text(it.value()["dtype"], ip + ".dtype")
                     : dtype;
      in.path = ip;
      if (it.value().contains("for")) {
        const ojson &f = it.value()["for"];
        if (!f.is_object())
          fail(ip + ".for", "expected an object of capture: count");
        for (auto jt = f.begin(); jt != f.end(); ++jt) {
          // Its loop would hide, then remove, the rule's capture.
          for (const auto &outer : rule.loops)
            if (outer.first == jt.key())
              fail(ip + ".for" + quoteKey(jt.key()),
                   "capture " + quoteName(jt.key()) +
                       " is already a capture of the rule (name it "
                       "differently)");
          in.loops.push_back(
              {jt.key(), located(jt.value(), ip + ".for" + quoteKey(jt.key()))});
        }
      }
      rule.inputs.push_back(in);
    }
    const ojson &outs = r["outputs"];
    if (!outs.is_object() || outs.empty())
      fail(path + ".outputs", "expected an object of target name: expression");
    for (auto it = outs.begin(); it != outs.end(); ++it)
      rule.outputs.push_back(
          {it.key(),
           located(it.value(), path + ".outputs" + quoteKey(it.key()))});
  }
  return rule;
}

} // namespace

namespace {
/// What one loadSpec call has read so far: a spec and its includes are at
/// most limits::kMaxSpecFiles files, and a file never includes itself.
struct LoadState {
  int files = 0;
  std::vector<std::string> chain; ///< canonical paths being loaded
};

std::shared_ptr<Spec> loadSpecFile(const std::string &path, bool fragment,
                                   LoadState &state, std::string &error);
} // namespace

std::shared_ptr<const Spec> loadSpec(const std::string &path,
                                     std::string &error) {
  LoadState state;
  return loadSpecFile(path, /*fragment=*/false, state, error);
}

namespace {
/// "mesh": a list of 1 to 8 distinct axis names (letters, digits and _,
/// starting with a letter; not "rank", not ending in "_rank").
std::vector<std::string> parseMesh(const ojson &m) {
  if (!m.is_array() || m.empty() || m.size() > 8)
    fail("mesh", "expected a list of 1 to 8 axis names, fastest first");
  std::vector<std::string> out;
  for (size_t i = 0; i < m.size(); ++i) {
    std::string p = "mesh[" + std::to_string(i) + "]";
    std::string a = text(m[i], p);
    if (!isAxisName(a))
      fail(p, quoteName(a) + " is not an axis name (letters, digits and _, "
                             "not rank or *_rank)");
    if (std::count(out.begin(), out.end(), a))
      fail(p, quoteName(a) + " is given twice");
    out.push_back(a);
  }
  return out;
}

std::string axisDescription(const std::string &axis) {
  if (axis == "tp") return "tensor-parallel degree";
  if (axis == "ep") return "expert-parallel degree";
  if (axis == "pp") return "pipeline-parallel degree";
  if (axis == "dp") return "data-parallel degree";
  if (axis == "cp") return "context-parallel degree";
  return axis + " degree (an axis of the rank mesh)";
}

std::string canonical(const std::string &path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) ? std::string(buf) : path;
}

std::shared_ptr<Spec> loadSpecFile(const std::string &path, bool fragment,
                                   LoadState &state, std::string &error) {
  // An included file's path comes from the spec: shown escaped.
  const std::string shown = escapeText(path);
  std::string content, why;
  if (!readRegularFile(path, limits::kMaxSpecBytes, content, why)) {
    error = shown + ": cannot read the mapping spec: " + why;
    return nullptr;
  }
  if (++state.files > limits::kMaxSpecFiles) {
    error = shown + ": the spec and its includes are more than " +
            std::to_string(limits::kMaxSpecFiles) + " files";
    return nullptr;
  }
  std::string self = canonical(path);
  struct Pop {
    std::vector<std::string> &chain;
    ~Pop() { chain.pop_back(); }
  };
  state.chain.push_back(self);
  Pop pop{state.chain};
  auto spec = std::make_shared<Spec>();
  spec->file = shown;
  try {
    std::optional<ojson> parsed = parseJson(content, why);
    if (!parsed)
      fail("(json)", "not valid JSON: " + why);
    ojson &j = *parsed;
    checkKeys(j, "(top)",
              {"format", "model_type", "from", "to", "description", "mesh",
               "options", "let", "require", "rules", "comment", "include"});
    if (!j.contains("format") || j["format"] != kFormat)
      fail("format", std::string("expected \"") + kFormat + "\"");
    if (!fragment) {
      for (const char *k : {"model_type", "from", "to"}) {
        if (!j.contains(k))
          fail(k, "missing");
      }
      spec->modelType = text(j["model_type"], "model_type");
      spec->from = text(j["from"], "from");
      spec->to = text(j["to"], "to");
    }
    if (j.contains("description"))
      spec->description = text(j["description"], "description");
    if (j.contains("mesh")) {
      if (fragment)
        fail("mesh", "belongs to the spec that includes this file");
      spec->mesh = parseMesh(j["mesh"]);
    } else if (!fragment) {
      spec->mesh = defaultMesh();
    }
    if (!fragment) {
      for (const std::string &axis : spec->mesh)
        spec->options.push_back({axis, 1, axisDescription(axis)});
      spec->options.push_back({"rank", 0, "the rank whose plan is built"});
    }
    if (j.contains("options")) {
      const ojson &o = j["options"];
      if (!o.is_object())
        fail("options", "expected an object");
      for (auto it = o.begin(); it != o.end(); ++it) {
        std::string p = "options" + quoteKey(it.key());
        checkKeys(it.value(), p, {"default", "description"});
        OptionDecl d{it.key(), 0, ""};
        const std::string &n = d.name;
        if (n.size() > 5 && n.compare(n.size() - 5, 5, "_rank") == 0 &&
            std::count(spec->mesh.begin(), spec->mesh.end(),
                       n.substr(0, n.size() - 5)))
          fail(p, "is derived from rank (an axis of the mesh)");
        if (it.value().contains("default")) {
          std::string why;
          auto v = jsonInteger(it.value()["default"], why);
          if (!v)
            fail(p + ".default", "expected an integer: it " + why);
          d.defaultValue = *v;
        }
        if (it.value().contains("description"))
          d.description = text(it.value()["description"], p + ".description");
        bool found = false;
        for (OptionDecl &x : spec->options)
          if (x.name == d.name) {
            x = d;
            found = true;
          }
        if (!found)
          spec->options.push_back(d);
      }
    }
    if (j.contains("include")) {
      // Shared parts: their lets, requirements and rules come first, in
      // order; their paths in messages carry the included file's name.
      const ojson &inc = j["include"];
      if (!inc.is_array())
        fail("include", "expected a list of file names (or {file, let})");
      if ((int)state.chain.size() > limits::kMaxIncludeDepth)
        fail("include", "includes nest deeper than " +
                            std::to_string(limits::kMaxIncludeDepth) +
                            " levels");
      std::string dir = path.substr(0, path.find_last_of('/') + 1);
      for (size_t i = 0; i < inc.size(); ++i) {
        std::string p = "include[" + std::to_string(i) + "]";
        // {"file": NAME, "let": {...}} sets lets the part defines: each
        // replaces the part's own expression where the part defines it.
        const ojson *args = nullptr;
        std::string name;
        if (inc[i].is_object()) {
          checkKeys(inc[i], p, {"file", "let"});
          if (!inc[i].contains("file"))
            fail(p, "needs 'file'");
          name = text(inc[i]["file"], p + ".file");
          if (inc[i].contains("let")) {
            args = &inc[i]["let"];
            if (!args->is_object())
              fail(p + ".let", "expected an object of name: expression");
          }
        } else {
          name = text(inc[i], p);
        }
        std::string sub = name.size() && name[0] == '/' ? name : dir + name;
        if (std::find(state.chain.begin(), state.chain.end(),
                      canonical(sub)) != state.chain.end())
          fail(p, quoteName(name) + " includes itself (through " +
                      std::to_string(state.chain.size()) + " file(s))");
        std::string err;
        auto part = loadSpecFile(sub, /*fragment=*/true, state, err);
        if (!part)
          throw SpecError{p + ": " + err};
        std::string tag = escapeText(name) + ": ";
        std::set<std::string> set;
        if (args)
          for (auto it = args->begin(); it != args->end(); ++it) {
            std::string ap = p + ".let" + quoteKey(it.key());
            auto at = std::find_if(part->lets.begin(), part->lets.end(),
                                   [&](auto &x) { return x.first == it.key(); });
            if (at == part->lets.end())
              fail(ap, quoteName(name) + " defines no let of that name");
            at->second = located(it.value(), ap);
            set.insert(it.key());
          }
        for (auto &[n, l] : part->lets) {
          Located x = l;
          if (!set.count(n))
            x.path = tag + x.path;
          spec->lets.push_back({n, x});
        }
        for (auto &[c, m] : part->requirements) {
          Located x = c;
          x.path = tag + x.path;
          spec->requirements.push_back({x, m});
        }
        for (Rule r : part->rules) {
          r.path = tag + r.path;
          for (auto &[n, l] : r.loops)
            l.path = tag + l.path;
          if (r.when)
            r.when->path = tag + r.when->path;
          for (InputDecl &in : r.inputs) {
            in.path = tag + in.path;
            for (Located &d : in.shape)
              d.path = tag + d.path;
          }
          for (OutputDecl &o : r.outputs)
            o.body.path = tag + o.body.path;
          spec->rules.push_back(r);
        }
        for (const OptionDecl &o : part->options) {
          bool found = false;
          for (const OptionDecl &x : spec->options)
            found |= x.name == o.name;
          if (!found)
            spec->options.push_back(o);
        }
      }
    }
    if (j.contains("let")) {
      const ojson &l = j["let"];
      if (!l.is_object())
        fail("let", "expected an object of name: expression");
      for (auto it = l.begin(); it != l.end(); ++it)
        spec->lets.push_back(
            {it.key(), located(it.value(), "let" + quoteKey(it.key()))});
    }
    if (j.contains("require")) {
      const ojson &r = j["require"];
      if (!r.is_array())
        fail("require", "expected a list of {check, message}");
      for (size_t i = 0; i < r.size(); ++i) {
        std::string p = "require[" + std::to_string(i) + "]";
        checkKeys(r[i], p, {"check", "message"});
        if (!r[i].contains("check") || !r[i].contains("message"))
          fail(p, "needs 'check' and 'message'");
        spec->requirements.push_back({located(r[i]["check"], p + ".check"),
                                  text(r[i]["message"], p + ".message")});
      }
    }
    if (j.contains("rules") && !j["rules"].is_array())
      fail("rules", "expected a list of rules");
    // An included part may hold only options, lets and requirements.
    if (!j.contains("rules") && !j.contains("include") && !fragment)
      fail("rules", "expected a list of rules");
    if (j.contains("rules"))
      for (size_t i = 0; i < j["rules"].size(); ++i)
        spec->rules.push_back(
            parseRule(j["rules"][i], "rules[" + std::to_string(i) + "]"));
  } catch (const SpecError &e) {
    error = shown + ": " + e.message;
    return nullptr;
  }
  return spec;
}
} // namespace

//===----------------------------------------------------------------------===//
// Env
//===----------------------------------------------------------------------===//

struct Env::Config {
  nlohmann::ordered_json json;
};

Env::~Env() = default;

namespace {

/// The value of a config field; nullopt with `why` empty for null (absent,
/// as transformers writes unset fields), with `why` set for a value the
/// expression language has no value for.
std::optional<Value> fromJson(const nlohmann::ordered_json &v,
                              std::string &why) {
  if (v.is_null())
    return std::nullopt;
  if (v.is_number()) {
    auto i = jsonInteger(v, why);
    if (!i)
      return std::nullopt;
    return Value(*i);
  }
  if (v.is_boolean())
    return Value((int64_t)v.get<bool>());
  if (v.is_string())
    return Value(v.get<std::string>());
  if (v.is_array()) {
    std::vector<int64_t> out;
    for (size_t k = 0; k < v.size(); ++k) {
      std::string elementWhy;
      auto x = v[k].is_boolean() ? std::optional<int64_t>(v[k].get<bool>())
                                 : jsonInteger(v[k], elementWhy);
      if (!x) {
        why = "is a list whose element " + std::to_string(k) + " " +
              elementWhy + " (lists of integers only)";
        return std::nullopt;
      }
      out.push_back(*x);
    }
    return Value(out);
  }
  why = std::string("is ") + jsonTypeName(v) +
        ", which an expression cannot use (use one of its fields)";
  return std::nullopt;
}

const nlohmann::ordered_json *walk(const nlohmann::ordered_json &root,
                                   const std::string &name) {
  const nlohmann::ordered_json *cur = &root;
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    std::string part = name.substr(start, dot - start);
    if (!cur->is_object() || !cur->contains(part))
      return nullptr;
    cur = &(*cur)[part];
    if (dot == std::string::npos)
      return cur;
    start = dot + 1;
  }
}

std::string wlDType(const std::string &torchName) {
  if (torchName == "bfloat16") return "bf16";
  if (torchName == "float16") return "f16";
  if (torchName == "float32") return "f32";
  if (torchName == "float64") return "f64";
  return torchName;
}

} // namespace

bool isAxisName(const std::string &a) {
  bool ok = !a.empty() && a.size() <= 32 && std::isalpha((unsigned char)a[0]);
  for (char c : a)
    ok &= std::isalnum((unsigned char)c) || c == '_';
  return ok && a != "rank" &&
         !(a.size() >= 5 && a.compare(a.size() - 5, 5, "_rank") == 0);
}

const std::vector<std::string> &degreeNames() {
  static const std::vector<std::string> names = {"tp", "ep", "pp",
                                                 "dp", "cp", "etp"};
  return names;
}

const std::vector<std::string> &defaultMesh() {
  static const std::vector<std::string> mesh = {"tp", "ep", "pp"};
  return mesh;
}

std::string meshText(const std::vector<std::string> &mesh,
                     const std::map<std::string, int64_t> *degrees) {
  std::string o;
  for (const std::string &a : mesh) {
    o += (o.empty() ? "" : " x ") + a;
    if (degrees) {
      auto it = degrees->find(a);
      o += " " + std::to_string(it == degrees->end() ? 1 : it->second);
    }
  }
  return o;
}

std::string rankOrderText(const std::vector<std::string> &mesh) {
  if (mesh.empty())
    return "rank = 0";
  std::string e = mesh.back() + "_rank";
  for (size_t i = mesh.size() - 1; i-- > 0;) {
    bool single = i + 2 == mesh.size();
    e = (single ? e : "(" + e + ")") + " * " + mesh[i] + " + " + mesh[i] +
        "_rank";
  }
  return "rank = " + e;
}

bool checkDegrees(const std::vector<std::string> &mesh,
                  const std::map<std::string, int64_t> &options,
                  int64_t &ranks, std::string &error) {
  ranks = 1;
  for (const std::string &k : mesh) {
    auto it = options.find(k);
    int64_t v = it == options.end() ? 1 : it->second;
    if (v < 1 || v > limits::kMaxRanks) {
      error = k + " is " + std::to_string(v) +
              ": a parallel degree is from 1 to " +
              std::to_string(limits::kMaxRanks);
      return false;
    }
    ranks *= v; // both at most kMaxRanks: no overflow
    if (ranks > limits::kMaxRanks) {
      error = meshText(mesh) + " is more than the limit of " +
              std::to_string(limits::kMaxRanks) + " ranks";
      return false;
    }
  }
  auto rank = options.find("rank");
  if (rank != options.end() && (rank->second < 0 || rank->second >= ranks)) {
    error = "rank " + std::to_string(rank->second) + " is not one of the " +
            std::to_string(ranks) + " ranks";
    return false;
  }
  return true;
}

std::optional<nlohmann::ordered_json>
readConfig(const std::string &configPath, std::string &error) {
  std::string text, why;
  if (!readRegularFile(configPath, limits::kMaxConfigBytes, text, why)) {
    error = configPath + ": cannot read the config: " + why;
    return std::nullopt;
  }
  std::optional<nlohmann::ordered_json> parsed = parseJson(text, why);
  if (!parsed) {
    error = configPath + ": not valid JSON: " + why;
    return std::nullopt;
  }
  if (!parsed->is_object()) {
    error = configPath + ": is " + jsonTypeName(*parsed) +
            ", not a JSON object";
    return std::nullopt;
  }
  return parsed;
}

bool configModelType(const std::string &configPath, std::string &modelType,
                     std::string &error) {
  std::optional<nlohmann::ordered_json> config = readConfig(configPath, error);
  if (!config)
    return false;
  auto it = config->find("model_type");
  modelType = it != config->end() && it->is_string() ? it->get<std::string>()
                                                     : std::string();
  return true;
}

std::unique_ptr<Env> Env::create(std::shared_ptr<const Spec> spec,
                                 const std::string &configPath,
                                 const std::map<std::string, int64_t> &options,
                                 const std::string &dtype, std::string &error) {
  std::unique_ptr<Env> env(new Env());
  env->spec_ = spec;
  env->config_ = std::make_unique<Config>();
  std::optional<nlohmann::ordered_json> parsed = readConfig(configPath, error);
  if (!parsed)
    return nullptr;
  env->config_->json = std::move(*parsed);
  env->configShown_ = escapeText(configPath);
  for (const OptionDecl &o : spec->options)
    env->options_[o.name] = o.defaultValue;
  for (auto &[k, v] : options) {
    // A degree this spec's framework does not have, at 1, is what the
    // spec does anyway (--pp 1 for a mapping without pipeline stages).
    const auto &degrees = degreeNames();
    if (!env->options_.count(k) && v == 1 &&
        std::count(degrees.begin(), degrees.end(), k))
      continue;
    if (!env->options_.count(k)) {
      std::string known;
      for (const OptionDecl &o : spec->options)
        known += (known.empty() ? "" : ", ") + o.name;
      error = spec->file + ": unknown option " + quoteName(k) +
              " (this spec has " + known + ")";
      return nullptr;
    }
    env->options_[k] = v;
  }
  if (!checkDegrees(spec->mesh, env->options_, env->ranks_, error))
    return nullptr;
  env->setRank(env->options_["rank"]);
  env->dtype_ = dtype;
  if (env->dtype_.empty()) {
    const nlohmann::ordered_json &c = env->config_->json;
    for (const char *f :
         {"dtype", "torch_dtype", "text_config.dtype", "text_config.torch_dtype"})
      if (const nlohmann::ordered_json *v = walk(c, f); v && v->is_string()) {
        env->dtype_ = wlDType(v->get<std::string>());
        break;
      }
    if (env->dtype_.empty())
      env->dtype_ = "bf16";
  }
  if (!env->refresh(error))
    return nullptr;
  return env;
}

int64_t Env::option(const std::string &name) const {
  auto it = options_.find(name);
  return it == options_.end() ? 0 : it->second;
}

void Env::setOption(const std::string &name, int64_t value) {
  options_[name] = value;
}

void Env::setRank(int64_t rank) {
  terms_ = 0;
  options_["rank"] = rank;
  for (const std::string &axis : spec_->mesh) {
    const int64_t degree = std::max<int64_t>(options_[axis], 1);
    options_[axis + "_rank"] = rank % degree;
    rank /= degree;
  }
}

bool Env::refresh(std::string &error) {
  lets_.clear();
  for (auto &[name, e] : spec_->lets) {
    std::string err;
    auto v = eval(e, err);
    if (!v) {
      error = spec_->file + ": " + e.path + ": " + quoteText(e.text) + ": " + err;
      return false;
    }
    lets_[name] = *v;
  }
  for (auto &[check, message] : spec_->requirements) {
    std::string err;
    auto v = evalInt(check, err);
    if (!v) {
      error = spec_->file + ": " + check.path + ": " + quoteText(check.text) +
              ": " + err;
      return false;
    }
    if (*v == 0) {
      std::ostringstream os;
      os << spec_->file << ": " << check.path << ": " << escapeText(message)
         << " (`" << escapeText(check.text) << "` is false with";
      for (const OptionDecl &o : spec_->options)
        if (o.name != "rank")
          os << " " << o.name << "=" << option(o.name);
      os << ")";
      error = os.str();
      return false;
    }
  }
  return true;
}

void Env::setCapture(const std::string &name, int64_t value) {
  if (!captures_.count(name))
    captureOrder_.push_back(name);
  captures_[name] = value;
}

void Env::removeCapture(const std::string &name) {
  captures_.erase(name);
  captureOrder_.erase(
      std::remove(captureOrder_.begin(), captureOrder_.end(), name),
      captureOrder_.end());
}

void Env::clearCaptures() {
  captures_.clear();
  captureOrder_.clear();
}

std::string Env::describeCaptures() const {
  std::string out;
  for (const std::string &n : captureOrder_)
    out += (out.empty() ? "" : ", ") + n + "=" +
           std::to_string(captures_.at(n));
  return out;
}

std::optional<Value> Env::lookup(const std::string &name,
                                 std::string &why) const {
  if (auto it = captures_.find(name); it != captures_.end())
    return Value(it->second);
  if (auto it = lets_.find(name); it != lets_.end())
    return it->second;
  if (auto it = options_.find(name); it != options_.end())
    return Value(it->second);
  if (const nlohmann::ordered_json *v = walk(config_->json, name)) {
    std::optional<Value> out = fromJson(*v, why);
    if (!why.empty())
      why = "(in " + configShown_ + ") " + why;
    return out;
  }
  return std::nullopt;
}

std::optional<Value> Env::lookup(const std::string &name) const {
  std::string why;
  return lookup(name, why);
}

std::optional<Value> Env::eval(const Located &e, std::string &error) const {
  terms_ += e.expr->size;
  if (terms_ > limits::kMaxEvalTerms) {
    error = "the spec evaluates more than " +
            std::to_string(limits::kMaxEvalTerms) +
            " expression terms for one rank";
    return std::nullopt;
  }
  auto idx = [&](const std::string &name, int64_t i,
                 std::string &why) -> std::optional<Value> {
    const nlohmann::ordered_json *v = walk(config_->json, name);
    if (!v || !v->is_array() || i < 0 || i >= (int64_t)v->size())
      return std::nullopt;
    std::optional<Value> out = fromJson((*v)[i], why);
    if (!why.empty())
      why = "(in " + configShown_ + ") " + why;
    return out;
  };
  return evaluate(
      *e.expr,
      [&](const std::string &n, std::string &why) { return lookup(n, why); },
      idx, error);
}

std::optional<int64_t> Env::evalInt(const Located &e,
                                    std::string &error) const {
  auto v = eval(e, error);
  if (!v)
    return std::nullopt;
  if (!std::holds_alternative<int64_t>(*v)) {
    error = std::string("expected an integer, found ") + typeName(*v);
    return std::nullopt;
  }
  return std::get<int64_t>(*v);
}

std::optional<std::string> Env::expand(const std::string &pattern,
                                       const std::string &path,
                                       std::string &error) const {
  std::string out;
  size_t i = 0;
  while (i < pattern.size()) {
    if (pattern[i] != '{') {
      out += pattern[i++];
      continue;
    }
    size_t close = pattern.find('}', i);
    if (close == std::string::npos) {
      error = quoteText(pattern) + ": unclosed '{'";
      return std::nullopt;
    }
    Located l;
    l.text = pattern.substr(i + 1, close - i - 1);
    l.path = path;
    std::string err;
    l.expr = parseExpr(l.text, err);
    if (!l.expr) {
      error = quoteText(pattern) + ": {" + escapeText(l.text) + "}: " + err;
      return std::nullopt;
    }
    auto v = eval(l, err);
    if (v && !std::holds_alternative<int64_t>(*v) &&
        !std::holds_alternative<std::string>(*v))
      err = std::string("expected an integer or a string, found ") +
            typeName(*v);
    if (!v || !err.empty()) {
      error = quoteText(pattern) + ": {" + escapeText(l.text) + "}: " + err;
      return std::nullopt;
    }
    if (auto *n = std::get_if<int64_t>(&*v))
      out += std::to_string(*n);
    else
      out += std::get<std::string>(*v);
    i = close + 1;
  }
  return out;
}

} // namespace wl::mapping
