//===- Staging.h - output written under a temporary name, then renamed -*- C++ -*-===//
//
// weight-layout-convert never leaves a partial checkpoint under the name the
// user asked for: everything is written into `<to>.wl-tmp-<pid>` beside the
// resolved --to (TargetPath.h), marked as this process's (StagingMarker.h),
// fsync'ed (unless --no-fsync), and renamed to --to at the end: atomically,
// without replacing anything that appeared meanwhile, and with --force by
// exchanging it with the folder it replaces, which is removed afterwards.
// An error, SIGINT, SIGTERM or SIGHUP removes the temporary folder; after a
// kill -9 it is left under its temporary name only, and a later run beside
// it removes it once its marker proves the process gone.
//
//===----------------------------------------------------------------------===//
#ifndef WL_TOOLS_STAGING_H
#define WL_TOOLS_STAGING_H

#include "TargetPath.h"

#include <memory>
#include <string>
#include <vector>

namespace wl::tool {

class Staging {
public:
  /// `target` as resolveTarget gives it; when it exists, `force` must be
  /// set and checkReplaceable must have accepted it. Removes the leftover
  /// staging folders of gone processes beside it (`notes` says which, and
  /// which look like staging folders but are left alone), creates the
  /// temporary folder with its marker, and arranges for signals to remove
  /// it.
  static std::unique_ptr<Staging> create(const TargetPath &target, bool force,
                                         bool durable,
                                         std::vector<std::string> &notes,
                                         std::string &error);
  /// Removes the temporary folder unless committed.
  ~Staging();

  const std::string &path() const { return tmp_; }
  /// Makes `relative` (a sub-folder) inside the temporary folder.
  bool makeDir(const std::string &relative, std::string &error);
  /// fsyncs the files and folders and moves the temporary folder to the
  /// target: a target that appeared meanwhile is an error (the result stays
  /// in the temporary folder, named in the message); with --force the old
  /// folder is replaced only if it is still the one checked at the start.
  bool commit(const std::vector<std::string> &inputs, std::string &error);

private:
  Staging() = default;
  TargetPath target_;
  std::string tmp_;
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

/// Writes `text` into the new file `path`; fsyncs it when `durable`.
bool writeTextFile(const std::string &text, const std::string &path,
                   bool durable, std::string &error);

/// Copies the regular file `from` (opened without blocking: a FIFO is an
/// error) to `to` (created new), by the kernel where it can; fsyncs it
/// when `durable`.
bool copyFile(const std::string &from, const std::string &to, bool durable,
              std::string &error);

} // namespace wl::tool

#endif // WL_TOOLS_STAGING_H
