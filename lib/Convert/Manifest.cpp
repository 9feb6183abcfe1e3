//===- Manifest.cpp - weight-layout.json, what a converted folder holds ---===//
#include "wl/Convert/Manifest.h"

#include "wl/MappingSpec/Spec.h"
#include "wl/Support/InputFile.h"
#include "wl/Support/Json.h"
#include "wl/Support/Limits.h"

#include <algorithm>

namespace wl::convert {

using ojson = nlohmann::ordered_json;

std::string manifestJson(const Manifest &m) {
  ojson j;
  j["format"] = kManifestFormat;
  j["mapping"] = m.mapping;
  j["model_type"] = m.modelType;
  j["from"] = m.from;
  j["to"] = m.to;
  j["direction"] = m.reverse ? "reverse" : "forward";
  j["mesh"] = m.mesh;
  ojson options = ojson::object();
  for (const std::string &k : m.mesh) {
    auto it = m.options.find(k);
    options[k] = it == m.options.end() ? 1 : it->second;
  }
  for (const auto &[k, v] : m.options)
    if (!options.contains(k))
      options[k] = v;
  j["options"] = options;
  j["ranks"] = m.ranks;
  j["rank_order"] = mapping::rankOrderText(m.mesh);
  return j.dump(1) + "\n";
}

std::optional<Manifest> parseManifest(const std::string &text,
                                      std::string &error) {
  std::optional<ojson> parsed = parseJson(text, error);
  if (!parsed) {
    error = "not valid JSON: " + error;
    return std::nullopt;
  }
  const ojson &j = *parsed;
  if (!j.is_object()) {
    error = std::string("is ") + jsonTypeName(j) + ", not a JSON object";
    return std::nullopt;
  }
  auto string = [&](const char *key, std::string &out, bool required) {
    auto it = j.find(key);
    if (it == j.end()) {
      if (required)
        error = std::string(key) + ": missing";
      return !required;
    }
    if (!it->is_string()) {
      error = std::string(key) + ": is " + jsonTypeName(*it) +
              ", not a string";
      return false;
    }
    out = it->get<std::string>();
    return true;
  };
  Manifest m;
  std::string format, direction = "forward";
  if (!string("format", format, true))
    return std::nullopt;
  if (format != kManifestFormat) {
    error = std::string("format: expected \"") + kManifestFormat + "\"";
    return std::nullopt;
  }
  if (!string("mapping", m.mapping, true) ||
      !string("model_type", m.modelType, false) ||
      !string("from", m.from, false) || !string("to", m.to, false) ||
      !string("direction", direction, false))
    return std::nullopt;
  if (direction != "forward" && direction != "reverse") {
    error = "direction: is neither \"forward\" nor \"reverse\"";
    return std::nullopt;
  }
  m.reverse = direction == "reverse";
  if (auto mesh = j.find("mesh"); mesh != j.end()) {
    bool ok = mesh->is_array() && !mesh->empty() && mesh->size() <= 8;
    m.mesh.clear();
    for (size_t i = 0; ok && i < mesh->size(); ++i) {
      ok = (*mesh)[i].is_string() &&
           mapping::isAxisName((*mesh)[i].get<std::string>()) &&
           !std::count(m.mesh.begin(), m.mesh.end(),
                       (*mesh)[i].get<std::string>());
      if (ok)
        m.mesh.push_back((*mesh)[i].get<std::string>());
    }
    if (!ok) {
      error = "mesh: expected a list of 1 to 8 distinct axis names";
      return std::nullopt;
    }
  }
  auto options = j.find("options");
  if (options == j.end() || !options->is_object()) {
    error = options == j.end()
                ? "options: missing"
                : std::string("options: is ") + jsonTypeName(*options) +
                      ", not an object";
    return std::nullopt;
  }
  for (auto it = options->begin(); it != options->end(); ++it) {
    std::string why;
    auto v = jsonInteger(it.value(), why);
    if (!v) {
      error = jsonPathKey("options", it.key()) + ": " + why;
      return std::nullopt;
    }
    m.options[it.key()] = *v;
  }
  for (const std::string &k : m.mesh)
    m.options.emplace(k, 1);
  int64_t ranks = 1;
  if (!mapping::checkDegrees(m.mesh, m.options, ranks, error)) {
    error = "options: " + error;
    return std::nullopt;
  }
  auto r = j.find("ranks");
  if (r != j.end()) {
    std::string why;
    auto v = jsonInteger(*r, why);
    if (!v) {
      error = "ranks: " + why;
      return std::nullopt;
    }
    if (*v != ranks) {
      error = "ranks: is " + std::to_string(*v) + ", but " +
              mapping::meshText(m.mesh) + " is " + std::to_string(ranks);
      return std::nullopt;
    }
  }
  m.ranks = ranks;
  return m;
}

std::optional<Manifest> readManifest(const std::string &path,
                                     std::string &error) {
  std::string text, why;
  if (!readRegularFile(path, limits::kMaxManifestBytes, text, why)) {
    error = path + ": cannot read the manifest: " + why;
    return std::nullopt;
  }
  std::optional<Manifest> m = parseManifest(text, why);
  if (!m)
    error = path + ": " + why;
  return m;
}

} // namespace wl::convert
