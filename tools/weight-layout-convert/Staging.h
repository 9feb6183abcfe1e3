//===- Staging.h - output written under a temporary name, then renamed -*- C++
//-*-===//
//
// weight-layout-convert never leaves a partial checkpoint under the name the
// user asked for: everything is written into `<to>.wl-tmp-<pid>` beside it,
// fsync'ed (unless --no-fsync), and renamed to `<to>` at the end. An error, SIGINT, SIGTERM or
// SIGHUP removes the temporary folder; after a kill -9 it is left under its
// temporary name only, and the next run beside it removes it.
//
//===----------------------------------------------------------------------===//
#ifndef WL_TOOLS_STAGING_H
#define WL_TOOLS_STAGING_H

#include <memory>
#include <string>

namespace wl::tool {

class Staging {
public:
  /// Refuses an existing `finalPath` unless `force`. Removes stale staging
  /// folders of dead processes beside it. Creates the temporary folder and
  /// arranges for signals to remove it.
  static std::unique_ptr<Staging> create(const std::string &finalPath,
                                         bool force, bool durable,
                                         std::string &error);
  /// Removes the temporary folder unless committed.
  ~Staging();

  const std::string &path() const { return tmp_; }
  /// Makes `relative` (a sub-folder) inside the temporary folder.
  bool makeDir(const std::string &relative, std::string &error);
  /// fsyncs the folders and renames the temporary folder to the final name
  /// (replacing an existing one with --force).
  bool commit(std::string &error);

private:
  Staging() = default;
  std::string final_, tmp_;
  bool force_ = false;
  bool durable_ = true;
};

/// Blocks SIGINT, SIGTERM and SIGHUP in this thread (and the threads it
/// starts) and starts the thread that, on one of them, removes the current
/// staging folder and exits with 128 + signal. Call before starting threads.
void installSignalCleanup();

/// Checks that `bytes` fit in the filesystem holding `folder`.
bool checkFreeSpace(const std::string &folder, unsigned long long bytes,
                    std::string &error);

/// Copies the regular file `from` to `to` (created new), by the kernel where
/// it can; fsyncs it when `durable`.
bool copyFile(const std::string &from, const std::string &to, bool durable,
              std::string &error);

} // namespace wl::tool

#endif // WL_TOOLS_STAGING_H
