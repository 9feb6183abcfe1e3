//===- SharedCheckpoints.h - where tests find the tiny real checkpoints ---===//
//
// The tiny checkpoints with real tensor names (saved by transformers, see
// ../shared/README.md) live in `../shared/checkpoints` beside the checkout;
// $WL_SHARED names another copy of that `shared` folder. Tests that read
// them skip, saying so, when the folder is absent: the README's test command
// must pass without it. The test target defines WL_SOURCE_DIR.
//
//===----------------------------------------------------------------------===//
#ifndef WL_UNITTESTS_SHAREDCHECKPOINTS_H
#define WL_UNITTESTS_SHAREDCHECKPOINTS_H

#include <cstdlib>
#include <filesystem>

namespace wl::test {

/// `<shared>/checkpoints`: $WL_SHARED if set, else `../shared` beside the
/// checkout. It may not exist.
inline std::filesystem::path sharedCheckpoints() {
  if (const char *env = std::getenv("WL_SHARED"))
    return std::filesystem::path(env) / "checkpoints";
  return std::filesystem::path(WL_SOURCE_DIR) / ".." / "shared" /
         "checkpoints";
}

} // namespace wl::test

#endif // WL_UNITTESTS_SHAREDCHECKPOINTS_H
