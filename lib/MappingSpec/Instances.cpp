//===- Instances.cpp - the instances of a spec's rules, without MLIR ------===//
#include "wl/MappingSpec/Instances.h"

#include "wl/Support/Limits.h"
#include "wl/Support/Quote.h"

namespace wl::mapping {

namespace {

/// "FILE: PATH: what (L=3)".
std::string message(const Env &env, const std::string &path,
                    const std::string &what) {
  std::string caps = env.describeCaptures();
  return env.spec().file + ": " + path + ": " + what +
         (caps.empty() ? "" : " (" + caps + ")");
}

bool spend(Env &env, const std::string &path, InstanceBudget &budget,
           std::string &error) {
  if (++budget.used <= limits::kMaxRuleInstances)
    return true;
  error = message(env, path,
                  "the rules expand to more than " +
                      std::to_string(limits::kMaxRuleInstances) +
                      " instances for one rank");
  return false;
}

/// The value of a `for` count, checked against its cap.
bool loopCount(Env &env, const Located &count, int64_t &n,
               std::string &error) {
  std::string err;
  auto v = env.evalInt(count, err);
  if (!v) {
    error = message(env, count.path, quoteText(count.text) + ": " + err);
    return false;
  }
  if (*v < 0 || *v > limits::kMaxLoopCount) {
    error = message(env, count.path,
                    quoteText(count.text) + " is " + std::to_string(*v) +
                        ": a loop count is from 0 to " +
                        std::to_string(limits::kMaxLoopCount));
    return false;
  }
  n = *v;
  return true;
}

/// Loops captures [k, end) of `loops`, then runs `body`.
bool nest(Env &env, const std::vector<std::pair<std::string, Located>> &loops,
          size_t k, InstanceBudget &budget, const std::function<bool()> &body,
          std::string &error) {
  if (k == loops.size())
    return body();
  const auto &[capture, count] = loops[k];
  int64_t n;
  if (!loopCount(env, count, n, error))
    return false;
  for (int64_t i = 0; i < n; ++i) {
    env.setCapture(capture, i);
    if (!spend(env, count.path, budget, error) ||
        !nest(env, loops, k + 1, budget, body, error))
      return false;
  }
  env.removeCapture(capture);
  return true;
}

} // namespace

bool forEachInstance(Env &env, const Rule &rule, InstanceBudget &budget,
                     const std::function<bool()> &body, std::string &error) {
  env.clearCaptures();
  bool ok = nest(env, rule.loops, 0, budget, [&] {
    if (rule.when) {
      std::string err;
      auto v = env.evalInt(*rule.when, err);
      if (!v) {
        error = message(env, rule.when->path,
                        quoteText(rule.when->text) + ": " + err);
        return false;
      }
      if (*v == 0)
        return true;
    }
    return body();
  }, error);
  env.clearCaptures();
  return ok;
}

bool forEachInputName(Env &env, const InputDecl &in, InstanceBudget &budget,
                      const std::function<bool(const std::string &)> &body,
                      std::string &error) {
  return nest(env, in.loops, 0, budget, [&] {
    std::string err;
    auto name = env.expand(in.pattern, in.path, err);
    if (!name) {
      error = message(env, in.path, err);
      return false;
    }
    return body(*name);
  }, error);
}

bool forEachName(Env &env,
                 const std::function<bool(NameKind, const std::string &)> &visit,
                 bool &stopped, std::string &error) {
  stopped = false;
  InstanceBudget budget;
  for (const Rule &rule : env.spec().rules) {
    NameKind kind = rule.outputs.empty() ? NameKind::Dropped : NameKind::Read;
    bool ok = forEachInstance(env, rule, budget, [&] {
      for (const InputDecl &in : rule.inputs)
        if (!forEachInputName(env, in, budget, [&](const std::string &name) {
              return (stopped = !visit(kind, name)) ? false : true;
            }, error))
          return false;
      for (const OutputDecl &out : rule.outputs) {
        std::string err;
        auto name = env.expand(out.pattern, out.body.path, err);
        if (!name) {
          error = message(env, out.body.path, err);
          return false;
        }
        if (!visit(NameKind::Written, *name)) {
          stopped = true;
          return false;
        }
      }
      return true;
    }, error);
    if (stopped)
      return true;
    if (!ok)
      return false;
  }
  return true;
}

} // namespace wl::mapping
