//===- Reshard.h - a converted folder to another layout, rank to rank -*- C++ -*-===//
//
// weight-layout-convert --from DIR --mapping B --to OUT, where DIR holds the
// ranks of mapping A (its weight-layout.json says which, or --from-mapping A
// --from-tp N ... for rank folders the frameworks wrote): each rank of B is
// written by its reshard plan (wl/Compile/CompileReshard.h) straight from
// the A rank files that hold its elements, through the streaming writer,
// which maps them and reads only the ranges the plan's windows touch. No
// Hugging Face checkpoint is made and no whole tensor is held.
//
// Before any byte is written: DIR's manifest and --from-* agree; A has as
// many ranks as DIR has rank folders; each rank folder holds exactly the
// tensors (names, dtypes, shapes) A's plan of that rank writes; and each
// file's provenance (mapping, options, plan hash) is that rank's. The
// output is what a forward conversion with B writes (the same files, the
// metadata of B's plans, the manifest), so it can be reversed or resharded
// again.
//
//===----------------------------------------------------------------------===//
#ifndef WL_TOOLS_RESHARD_H
#define WL_TOOLS_RESHARD_H

#include "Outputs.h"

namespace wl::tool {

/// Whether the conversion asked for is a reshard: --from-mapping given, or
/// (without --reverse) --from holds the manifest of a forward conversion.
bool isReshard(const ConvertOptions &opt);

/// Runs the reshard; `c` carries the options, target, destination mapping
/// (B) and config. Returns the exit code, errors printed.
int reshardMain(Conversion c);

} // namespace wl::tool

#endif // WL_TOOLS_RESHARD_H
