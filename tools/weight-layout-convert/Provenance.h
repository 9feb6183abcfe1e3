//===- Provenance.h - each rank file is the rank its folder says -*- C++ -*-===//
//
// Every file weight-layout-convert writes records, in its __metadata__, the
// mapping, the options (with the rank) and the hash of the plan that wrote
// it. A --reverse run checks each input file against the rank whose folder
// it is in, before reading any tensor: swapped or copied rank folders, a
// folder written by another mapping, at other degrees or from another
// config are refused with a message that says which file holds what.
//
//===----------------------------------------------------------------------===//
#ifndef WL_TOOLS_PROVENANCE_H
#define WL_TOOLS_PROVENANCE_H

#include "wl/Safetensors/Safetensors.h"

#include <string>

namespace wl::tool {

/// What the files of one rank folder must record.
struct Provenance {
  std::string mapping;  ///< weight_layout.mapping
  std::string options;  ///< weight_layout.options ("tp=2,ep=1,pp=1,rank=1")
  std::string planHash; ///< weight_layout.plan_hash
  int64_t rank = -1;    ///< -1: one rank, no rank in the options
};

/// Checks every file of `ckpt`. A file with none of the three keys (written
/// by another tool) passes and is counted in `foreign`; a file with some or
/// all of them must match `want` exactly.
bool checkProvenance(const runtime::Checkpoint &ckpt, const Provenance &want,
                     int &foreign, std::string &error);

} // namespace wl::tool

#endif // WL_TOOLS_PROVENANCE_H
