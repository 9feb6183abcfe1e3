//===- StagingMarker.h - whose staging folder is this? ------------*- C++ -*-===//
//
// A conversion writes into `<to>.wl-tmp-<pid>` and puts a marker file in it
// first, naming the host, the boot, the PID namespace, the process and its
// start time. A later conversion beside it removes such a folder only when
// the marker proves it a leftover: the exact name, a real folder of this
// user, a marker of this host, boot and PID namespace, and a process that
// is gone (no process with that PID, or one that started at another time).
// Anything else (another machine on shared storage, another container, a
// folder without a marker, a name with trailing text) is left alone.
//
//===----------------------------------------------------------------------===//
#ifndef WL_TOOLS_STAGINGMARKER_H
#define WL_TOOLS_STAGINGMARKER_H

#include <string>

namespace wl::tool {

/// The marker's file name inside a staging folder.
constexpr const char *kStagingMarker = ".weight-layout-staging";
/// What follows `<to>` in a staging folder's name, before the PID.
constexpr const char *kStagingInfix = ".wl-tmp-";

/// Writes the marker of this process into `folder` (created new, fsync'ed
/// when `durable`).
bool writeStagingMarker(const std::string &folder, bool durable,
                        std::string &error);

/// Whether `folder`, named `name` in its parent, is a staging folder of
/// `stem` (`<to>.wl-tmp-`) left by a process that is provably gone. When it
/// is not, `why` says why it is left alone (empty for a name that is not a
/// staging folder's at all, and for a live conversion of this host).
bool isLeftoverStaging(const std::string &folder, const std::string &name,
                       const std::string &stem, std::string &why);

} // namespace wl::tool

#endif // WL_TOOLS_STAGINGMARKER_H
