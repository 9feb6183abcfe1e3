//===- Spec.h - mapping specs: JSON data that says what goes where -*- C++ -*-===//
//
// Plain C++17, no MLIR. A spec (docs/mapping-spec.md) declares options,
// `let` bindings and requirements over a model's config.json, and rules that
// read named source tensors and write named targets through `wl` op
// expressions. loadSpec() checks its structure and parses every expression;
// Env evaluates them against one config and one set of option values.
//
//===----------------------------------------------------------------------===//
#ifndef WL_MAPPING_SPEC_H
#define WL_MAPPING_SPEC_H

#include "wl/MappingSpec/Expr.h"

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

namespace wl::mapping {

/// An expression with the JSON path it came from, for messages.
struct Located {
  ExprPtr expr;
  std::string text;
  std::string path; ///< "rules[3].inputs.q.shape[0]"
};

struct InputDecl {
  std::string local;        ///< the name the rule's bodies use
  std::string pattern;      ///< tensor name with {captures}
  /// A list input: one tensor per value of these captures (nested, in
  /// order), e.g. the experts of a layer; ops taking several tensors accept
  /// the list.
  std::vector<std::pair<std::string, Located>> loops;
  std::vector<Located> shape;
  std::string dtype;        ///< empty: the spec's dtype
  std::string path;
};

struct OutputDecl {
  std::string pattern;
  Located body;
};

struct Rule {
  std::string path;                                  ///< "rules[3]"
  std::vector<std::pair<std::string, Located>> loops; ///< capture -> count
  std::optional<Located> when;
  std::vector<InputDecl> inputs;
  std::vector<OutputDecl> outputs; ///< empty for a drop
};

struct OptionDecl {
  std::string name;
  int64_t defaultValue = 0;
  std::string description;
};

/// The rank axes of a spec that declares no "mesh": tp fastest, then ep,
/// then pp (rank = (pp_rank * ep + ep_rank) * tp + tp_rank).
const std::vector<std::string> &defaultMesh();

/// A name a mesh axis may have: letters, digits and _, starting with a
/// letter, at most 32 characters, not "rank" and not ending in "_rank".
bool isAxisName(const std::string &name);

/// The parallel degrees the tools take as flags (--tp N, ...): tp, ep, pp,
/// dp, cp and etp (a spec that has no such option refuses it).
const std::vector<std::string> &degreeNames();

/// "tp x ep x pp" for `mesh`; with `degrees`, "tp 2 x ep 1 x pp 1".
std::string meshText(const std::vector<std::string> &mesh,
                     const std::map<std::string, int64_t> *degrees = nullptr);

/// "rank = (pp_rank * ep + ep_rank) * tp + tp_rank" for `mesh`.
std::string rankOrderText(const std::vector<std::string> &mesh);

struct Spec {
  std::string file; ///< its path as messages show it (escaped)
  std::string modelType, from, to, description;
  /// The framework's rank axes, fastest first: the global rank is the
  /// mixed-radix number of the axes' ranks, each axis a degree option
  /// (default 1) with a derived `<axis>_rank`.
  std::vector<std::string> mesh;
  std::vector<OptionDecl> options; ///< rank and the axes first, then the spec's
  std::vector<std::pair<std::string, Located>> lets;
  std::vector<std::pair<Located, std::string>> requirements; ///< check, message
  std::vector<Rule> rules;
};

/// Reads and checks a spec; on failure returns nullptr and sets `error` to
/// "FILE: JSON.PATH: what".
std::shared_ptr<const Spec> loadSpec(const std::string &path,
                                     std::string &error);

/// A model's config.json: a regular file of at most kMaxConfigBytes holding
/// one strict JSON object; else nullopt with `error` naming the file.
std::optional<nlohmann::ordered_json>
readConfig(const std::string &configPath, std::string &error);

/// The `model_type` of the config.json at `configPath`, read as Env reads the
/// config (empty when it has none, or it is not a string). False with
/// `error` ("FILE: not valid JSON: ...") when the file cannot be read.
bool configModelType(const std::string &configPath, std::string &modelType,
                     std::string &error);

/// Checks the degrees of `mesh`'s axes among `options` (1 when absent):
/// each from 1 to limits::kMaxRanks, their product (the number of ranks,
/// set in `ranks`) at most kMaxRanks, and `rank`, when given, one of those
/// ranks. Sets `error` ("tp is 0: a parallel degree is from 1 to 65536")
/// on failure.
bool checkDegrees(const std::vector<std::string> &mesh,
                  const std::map<std::string, int64_t> &options,
                  int64_t &ranks, std::string &error);

/// One evaluation context: a config, option values, lets and captures.
class Env {
public:
  /// Loads the config (a regular file of at most limits::kMaxConfigBytes,
  /// strict JSON: a key given twice is an error) and evaluates the spec's
  /// lets and requirements with `options` (names from the spec's options;
  /// unknown names are an error, except a degree of degreeNames() at 1;
  /// degrees as checkDegrees checks them). The dtype of the tensors is the config's `dtype`
  /// (or `torch_dtype`, also under text_config), unless options give one.
  static std::unique_ptr<Env> create(std::shared_ptr<const Spec> spec,
                                     const std::string &configPath,
                                     const std::map<std::string, int64_t> &options,
                                     const std::string &dtype,
                                     std::string &error);
  ~Env();

  const Spec &spec() const { return *spec_; }
  int64_t option(const std::string &name) const;
  void setOption(const std::string &name, int64_t value);
  /// The number of ranks: the product of the mesh's degrees.
  int64_t ranks() const { return ranks_; }
  /// Sets rank and each axis's `<axis>_rank`, the digits of rank in the
  /// mesh's mixed radix (the first axis fastest). Starts the rank's budget
  /// of evaluated terms (limits::kMaxEvalTerms) afresh.
  void setRank(int64_t rank);
  /// Re-evaluates the lets and requirements (after setOption).
  bool refresh(std::string &error);
  void setCapture(const std::string &name, int64_t value);
  void removeCapture(const std::string &name);
  void clearCaptures();
  /// "L=3, E=0" for messages ("" without captures).
  std::string describeCaptures() const;
  /// The wl element type spelling of the tensors ("bf16").
  const std::string &dtype() const { return dtype_; }

  std::optional<Value> lookup(const std::string &name) const;
  /// As lookup; `why` says what a bound name holds that is not a value.
  std::optional<Value> lookup(const std::string &name, std::string &why) const;
  std::optional<Value> eval(const Located &e, std::string &error) const;
  std::optional<int64_t> evalInt(const Located &e, std::string &error) const;
  /// Replaces each {expr} of a name pattern by its integer value.
  std::optional<std::string> expand(const std::string &pattern,
                                    const std::string &path,
                                    std::string &error) const;

private:
  Env() = default;
  struct Config;
  std::shared_ptr<const Spec> spec_;
  std::unique_ptr<Config> config_;
  std::map<std::string, int64_t> options_;
  int64_t ranks_ = 1;
  std::map<std::string, Value> lets_;
  std::map<std::string, int64_t> captures_;
  /// Expression terms evaluated since the rank was set (kMaxEvalTerms).
  mutable int64_t terms_ = 0;
  std::vector<std::string> captureOrder_;
  std::string dtype_;
  std::string configShown_; ///< the config's path, escaped, for messages
};

} // namespace wl::mapping

#endif // WL_MAPPING_SPEC_H
