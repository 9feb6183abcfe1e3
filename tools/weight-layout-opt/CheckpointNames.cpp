//===- CheckpointNames.cpp - the tensors a checkpoint holds ---------------===//
#include "CheckpointNames.h"

#include "wl/Safetensors/Safetensors.h"

namespace wl::tool {

bool readCheckpointNames(const std::string &path,
                         std::map<std::string, TensorHeader> &out,
                         std::string &error) {
  std::unique_ptr<runtime::Checkpoint> ckpt =
      runtime::Checkpoint::open(path, error);
  if (!ckpt)
    return false;
  for (const runtime::Checkpoint::Located &l : ckpt->tensors())
    out.emplace(l.entry->name,
                TensorHeader{std::string(layout::safetensorsName(l.entry->dtype)),
                             l.entry->shape, l.file->shownPath()});
  return true;
}

} // namespace wl::tool
