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

/// Reads the tensor names, dtypes and shapes of a safetensors checkpoint:
/// a .safetensors file, or a folder with model.safetensors or
/// model.safetensors.index.json. Only the headers are read; the runtime's
/// reader (which validates the whole file) is separate. Returns false with a
/// message naming the file on error.
bool readCheckpointNames(const std::string &path,
                         std::map<std::string, TensorHeader> &out,
                         std::string &error);

} // namespace wl::tool

#endif // WL_TOOLS_CHECKPOINTNAMES_H
