//===- CheckpointNames.h - the tensors a checkpoint holds -------*- C++ -*-===//
#ifndef WL_TOOLS_CHECKPOINTNAMES_H
#define WL_TOOLS_CHECKPOINTNAMES_H

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace wl::tool {

struct TensorHeader {
  std::string dtype; ///< safetensors name
  std::vector<int64_t> shape;
  std::string file;
};

/// Reads the tensor names, dtypes and shapes of a safetensors checkpoint as
/// runtime::Checkpoint::open opens and validates it (a .safetensors file,
/// an index, or a folder holding either). Returns false with a message
/// naming the file on error.
bool readCheckpointNames(const std::string &path,
                         std::map<std::string, TensorHeader> &out,
                         std::string &error);

} // namespace wl::tool

#endif // WL_TOOLS_CHECKPOINTNAMES_H
