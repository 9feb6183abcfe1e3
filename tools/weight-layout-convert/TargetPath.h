//===- TargetPath.h - where --to is, as the system resolves it -*- C++ -*-===//
//
// --to is resolved through symbolic links before anything is decided: the
// folder it names is the one the system would create or replace, not the
// one its text suggests (`ckpts/latest/..` is the parent of wherever
// `latest` points). --force replaces only a real folder (not a link) that
// this tool wrote (it holds weight-layout.json) or an empty one, and never
// one that holds, or lies inside, anything the conversion reads.
//
//===----------------------------------------------------------------------===//
#ifndef WL_TOOLS_TARGETPATH_H
#define WL_TOOLS_TARGETPATH_H

#include <string>
#include <vector>

namespace wl::tool {

struct TargetPath {
  std::string parent; ///< the resolved folder it goes in (absolute)
  std::string name;   ///< its last component
  std::string full;   ///< parent + "/" + name
  bool exists = false;
  /// When it exists: its device and inode, checked again before replacing.
  unsigned long long dev = 0, ino = 0;
};

/// Resolves `to` as the system resolves it: its folder through every
/// symbolic link (realpath), then its last component; a path ending in
/// "." or ".." names the (existing) folder it resolves to. Fails when the
/// folder it goes in does not exist or is not a folder.
bool resolveTarget(const std::string &to, TargetPath &out, std::string &error);

/// Whether `target` (existing, when --force) may be replaced, given every
/// path the conversion reads (folders and files; resolved here through
/// symbolic links, and compared by device and inode, so that a bind mount
/// or a second name of the same folder is seen too). Refuses, with a
/// message naming both: a symbolic link; anything but a folder; a folder
/// that holds, equals or lies inside an input; a folder that is neither
/// empty nor holds this tool's weight-layout.json.
bool checkReplaceable(const TargetPath &target,
                      const std::vector<std::string> &inputs,
                      std::string &error);

/// Whether `target`, new or not, lies inside or holds an input (for the
/// messages of a new folder: writing into the source folder is allowed).
bool holdsInput(const TargetPath &target,
                const std::vector<std::string> &inputs, std::string &which);

} // namespace wl::tool

#endif // WL_TOOLS_TARGETPATH_H
