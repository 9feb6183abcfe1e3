//===- RankNames.h - how ranks are named --------------------------*- C++ -*-===//
//
// A conversion to more than one rank writes one checkpoint per rank, in
// the folder rank-<r>/ (r numbered in the spec's mesh, wl/MappingSpec). The
// compiler builds rank r as the function @rank<r>, and the inverse plan reads
// rank r's tensors under the prefix "rank-<r>/". Every tool and library
// names them through these functions.
//
//===----------------------------------------------------------------------===//
#ifndef WL_LAYOUT_RANKNAMES_H
#define WL_LAYOUT_RANKNAMES_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wl::layout {

/// "rank-<r>": the folder of rank r's checkpoint.
inline std::string rankFolder(int64_t r) { return "rank-" + std::to_string(r); }

/// "rank-<r>/": rank r's tensor names in a plan over every rank.
inline std::string rankPrefix(int64_t r) { return rankFolder(r) + "/"; }

/// r and the rest of a name "rank-<r>/<rest>" (as rankPrefix writes it);
/// nullopt for a name without that prefix.
inline std::optional<int64_t> rankOfName(std::string_view name,
                                         std::string *rest = nullptr) {
  size_t slash = name.find('/');
  if (slash == std::string_view::npos || slash < 6 || slash > 5 + 18 ||
      name.substr(0, 5) != "rank-" || (name[5] == '0' && slash > 6))
    return std::nullopt;
  int64_t r = 0;
  for (char c : name.substr(5, slash - 5)) {
    if (c < '0' || c > '9')
      return std::nullopt;
    r = r * 10 + (c - '0');
  }
  if (rest)
    *rest = std::string(name.substr(slash + 1));
  return r;
}

/// "rank<r>": the symbol of rank r's function in the IR.
inline std::string rankFunction(int64_t r) {
  return "rank" + std::to_string(r);
}

/// r for the symbol "rank<r>" (digits only, no sign or leading zero
/// unless r is 0); nullopt for any other symbol.
inline std::optional<int64_t> rankOfFunction(std::string_view symbol) {
  if (symbol.size() < 5 || symbol.size() > 4 + 18 ||
      symbol.substr(0, 4) != "rank" || (symbol[4] == '0' && symbol.size() > 5))
    return std::nullopt;
  int64_t r = 0;
  for (char c : symbol.substr(4)) {
    if (c < '0' || c > '9')
      return std::nullopt;
    r = r * 10 + (c - '0');
  }
  return r;
}

} // namespace wl::layout

#endif // WL_LAYOUT_RANKNAMES_H
