//===- CheckNames.h - a checkpoint's names against the spec, first -*- C++ -*-===//
//
// Before anything is compiled, the tensor names of the checkpoint are
// compared with the names the spec reads (forward) or writes (reverse, one
// rank folder at a time) for the config, by walking the spec's rules
// without building IR (wl/MappingSpec/Instances.h). A config that claims more
// layers than the checkpoint holds is reported after at most
// kMaxReported missing names, not after compiling every layer it claims.
//
//===----------------------------------------------------------------------===//
#ifndef WL_TOOLS_CHECKNAMES_H
#define WL_TOOLS_CHECKNAMES_H

#include "wl/MappingSpec/Spec.h"
#include "wl/Safetensors/Safetensors.h"

#include <string>
#include <vector>

namespace wl::tool {

/// The walk stops after this many distinct missing names.
constexpr size_t kMaxReported = 1000;

struct NameProblems {
  std::vector<std::string> missing; ///< names the spec needs, not there
  std::vector<std::string> unused;  ///< names there the spec does not need
  bool stopped = false;             ///< missing reached kMaxReported
};

/// Forward: every name some rank of `ranks` reads must be in `ckpt`, and
/// every tensor of `ckpt` must be read or dropped by some rank (unused is
/// left empty when the walk stopped early).
bool checkSourceNames(mapping::Env &env, int64_t ranks,
                      const runtime::Checkpoint &ckpt, NameProblems &out,
                      std::string &error);

/// Reverse: the folder of `rank` must hold exactly the names the spec
/// writes for that rank.
bool checkRankNames(mapping::Env &env, int64_t rank,
                    const runtime::Checkpoint &ckpt, NameProblems &out,
                    std::string &error);

} // namespace wl::tool

#endif // WL_TOOLS_CHECKNAMES_H
