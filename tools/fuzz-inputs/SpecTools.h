//===- SpecTools.h - what the spec and config targets check -----*- C++ -*-===//
//
// A loaded spec is checked for the structure loadSpec promises (options tp,
// rank, ep, pp first and each once, every expression parsed and well formed,
// every rule of one of its forms), and an Env for what the rule walk
// promises: forEachName is deterministic (a walk stopped after k names
// visited the first k names of the whole walk), every name it gives is
// expanded (no '{' left), an error starts with the spec's file name, and
// the same walk rebuilt from forEachInstance and forEachInputName gives the
// same names. The walks are bounded here (instanceCap) so that one input
// costs little: see BOUND on checkWalks.
//
//===----------------------------------------------------------------------===//
#ifndef WL_TOOLS_FUZZ_INPUTS_SPECTOOLS_H
#define WL_TOOLS_FUZZ_INPUTS_SPECTOOLS_H

#include "ExprTools.h"
#include "FuzzCommon.h"

#include "wl/MappingSpec/Instances.h"
#include "wl/MappingSpec/Spec.h"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace wl::fuzz {

/// Work one walk may do in the targets, in characters of the expressions
/// it evaluates per instance times its instances (see instanceCap).
constexpr int64_t kMaxWalkWork = 1 << 18;

inline void checkLocated(const mapping::Located &l) {
  check(l.expr != nullptr);
  check(l.text.size() <= limits::kMaxExprChars);
  checkTree(*l.expr);
  std::string error;
  mapping::ExprPtr again = mapping::parseExpr(l.text, error);
  check(again && sameExpr(*again, *l.expr));
}

/// The structure loadSpec promises; also a text that two loads of the same
/// file must give alike.
inline std::string checkSpec(const mapping::Spec &spec) {
  std::string out;
  auto add = [&](const std::string &s) {
    out += std::to_string(s.size()) + ":" + s + ";";
  };
  auto addLocated = [&](const mapping::Located &l) {
    checkLocated(l);
    add(l.text);
    add(l.path);
  };
  // The mesh's axes, then rank, come first.
  check(!spec.mesh.empty() && spec.options.size() > spec.mesh.size());
  std::set<std::string> names;
  for (size_t k = 0; k < spec.options.size(); ++k) {
    const mapping::OptionDecl &o = spec.options[k];
    if (k < spec.mesh.size())
      check(o.name == spec.mesh[k]);
    if (k == spec.mesh.size())
      check(o.name == "rank");
    check(names.insert(o.name).second);
    add(o.name);
    add(std::to_string(o.defaultValue));
    add(o.description);
  }
  for (const std::string &axis : spec.mesh)
    add(axis);
  add(spec.file);
  add(spec.modelType);
  add(spec.from);
  add(spec.to);
  add(spec.description);
  for (const auto &[name, l] : spec.lets) {
    add(name);
    addLocated(l);
  }
  for (const auto &[c, message] : spec.requirements) {
    addLocated(c);
    add(message);
  }
  for (const mapping::Rule &r : spec.rules) {
    add(r.path);
    check(!r.path.empty());
    for (const auto &[capture, count] : r.loops) {
      add(capture);
      addLocated(count);
    }
    if (r.when)
      addLocated(*r.when);
    // A drop has one input and no outputs; copy and rename one input and
    // one output; a rule with outputs any inputs.
    if (r.outputs.empty())
      check(r.inputs.size() == 1);
    for (const mapping::InputDecl &in : r.inputs) {
      add(in.local);
      add(in.pattern);
      add(in.dtype);
      add(in.path);
      for (const auto &[capture, count] : in.loops) {
        add(capture);
        addLocated(count);
      }
      for (const mapping::Located &d : in.shape)
        addLocated(d);
    }
    for (const mapping::OutputDecl &o : r.outputs) {
      add(o.pattern);
      addLocated(o.body);
    }
  }
  return out;
}

/// One walk of forEachName: what it visited (kind and name) until it ended
/// or was stopped after `stopAfter` names.
struct Walk {
  bool ok = false, stopped = false;
  std::string error;
  std::vector<std::pair<mapping::NameKind, std::string>> names;
};

inline Walk walkNames(mapping::Env &env, size_t stopAfter) {
  Walk w;
  w.ok = mapping::forEachName(
      env,
      [&](mapping::NameKind kind, const std::string &name) {
        w.names.emplace_back(kind, name);
        return w.names.size() < stopAfter;
      },
      w.stopped, w.error);
  return w;
}

/// The characters of the expressions one instance of a rule evaluates
/// (its `when`, its inputs' loop counts, the name patterns), at least 1;
/// the largest over the rules.
inline int64_t instanceCost(const mapping::Spec &spec) {
  int64_t most = 1;
  for (const mapping::Rule &r : spec.rules) {
    int64_t c = 1 + (r.when ? (int64_t)r.when->text.size() : 0);
    for (const auto &[capture, count] : r.loops)
      c += (int64_t)count.text.size();
    for (const mapping::InputDecl &in : r.inputs) {
      c += (int64_t)in.pattern.size();
      for (const auto &[capture, count] : in.loops)
        c += (int64_t)count.text.size();
    }
    for (const mapping::OutputDecl &o : r.outputs)
      c += (int64_t)o.pattern.size();
    most = std::max(most, c);
  }
  return most;
}

/// How many instances a walk of the targets may take: kMaxWalkWork over
/// the cost of one, from 16 to 4096.
inline int64_t instanceCap(const mapping::Spec &spec) {
  return std::clamp<int64_t>(kMaxWalkWork / instanceCost(spec), 16, 4096);
}

/// The walk of forEachName rebuilt from forEachInstance and
/// forEachInputName (Instances.h), with an instance budget of which all
/// but `cap` instances are spent already: `capped` when the library's cap
/// stopped it.
struct Probe {
  bool ok = false, capped = false;
  std::string error;
  std::vector<std::pair<mapping::NameKind, std::string>> names;
};

inline Probe probeNames(mapping::Env &env, int64_t cap) {
  Probe p;
  mapping::InstanceBudget budget;
  budget.used = limits::kMaxRuleInstances - cap;
  p.ok = true;
  for (const mapping::Rule &rule : env.spec().rules) {
    mapping::NameKind kind =
        rule.outputs.empty() ? mapping::NameKind::Dropped : mapping::NameKind::Read;
    p.ok = mapping::forEachInstance(
        env, rule, budget,
        [&] {
          for (const mapping::InputDecl &in : rule.inputs)
            if (!mapping::forEachInputName(
                    env, in, budget,
                    [&](const std::string &name) {
                      p.names.emplace_back(kind, name);
                      return true;
                    },
                    p.error))
              return false;
          for (const mapping::OutputDecl &out : rule.outputs) {
            std::string err;
            auto name = env.expand(out.pattern, out.body.path, err);
            if (!name) {
              p.error = env.spec().file + ": " + out.body.path + ": " + err;
              return false;
            }
            p.names.emplace_back(mapping::NameKind::Written, *name);
          }
          return true;
        },
        p.error);
    if (!p.ok)
      break;
  }
  p.capped = budget.used > limits::kMaxRuleInstances;
  if (p.capped)
    check(!p.ok);
  return p;
}

/// A message of the walk or of Env: one line, bounded, naming the spec.
inline void checkEnvMessage(const mapping::Env &env, const std::string &error) {
  checkMessage(error);
  check(error.rfind(env.spec().file + ": ", 0) == 0);
}

/// Walks the names of the rank set in `env` (after Env::refresh) and checks
/// them: first the probe (at most instanceCap instances), then, when the
/// probe ended before its cap, forEachName, which must give the same names,
/// and forEachName stopped halfway, which must give the first half of them.
/// Before each walk the rank is set again and the Env refreshed, so that
/// each starts with the rank's whole budget of evaluated terms.
///
/// BOUND: a walk may cost up to limits::kMaxEvalTerms evaluated terms and
/// limits::kMaxRuleInstances instances (about a second in a Release build,
/// past libFuzzer's -timeout=10 under ASan), so walks that pass the probe's
/// cap are not made. WL_FUZZ_UNMASK=1 makes them. (Before commit 5f21e13,
/// without the term budget, an 8 kB `when` over 10^7 instances made one
/// walk last about 40 minutes: test/Fuzz/spec/timeout-heavy-when.json.)
inline void checkWalks(mapping::Env &env) {
  const int64_t rank = env.option("rank");
  auto restart = [&] {
    env.setRank(rank);
    std::string err;
    check(env.refresh(err));
  };
  Probe p = probeNames(env, instanceCap(env.spec()));
  if (!p.ok)
    checkEnvMessage(env, p.error);
  for (const auto &[kind, name] : p.names)
    check(name.find('{') == std::string::npos);
  if (p.capped && !unmasked())
    return;
  restart();
  Walk w = walkNames(env, SIZE_MAX);
  check(!w.stopped);
  if (!w.ok)
    checkEnvMessage(env, w.error);
  if (!p.capped)
    check(w.ok == p.ok && w.names == p.names);
  restart();
  if (w.names.empty()) {
    Walk again = walkNames(env, SIZE_MAX);
    check(again.ok == w.ok && again.stopped == w.stopped &&
          again.error == w.error && again.names.empty());
    return;
  }
  size_t half = (w.names.size() + 1) / 2;
  Walk part = walkNames(env, half);
  check(part.ok && part.stopped && part.error.empty());
  check(part.names.size() == half);
  for (size_t k = 0; k < half; ++k)
    check(part.names[k] == w.names[k]);
}

} // namespace wl::fuzz

#endif // WL_TOOLS_FUZZ_INPUTS_SPECTOOLS_H
