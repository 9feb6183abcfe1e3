//===- MappingMain.h - weight-layout-opt --mapping --------------*- C++ -*-===//
#ifndef WL_TOOLS_MAPPINGMAIN_H
#define WL_TOOLS_MAPPINGMAIN_H

#include <vector>

namespace wl::tool {

/// `weight-layout-opt --mapping FILE --config FILE [--tp N] [--rank R]
/// [--ep N] [--set KEY=VALUE ...] [--dtype T] [--reverse [--exact]] [--all-ranks]
/// --emit=ir|plan [-o FILE]`: compiles a mapping spec for a config to the
/// wl IR or the plan of one rank, through wl::compileMapping (the stages run
/// there; this driver reads the command line and prints what it asks for).
/// Returns the exit code.
int mappingMain(const std::vector<char *> &args);

} // namespace wl::tool

#endif // WL_TOOLS_MAPPINGMAIN_H
