//===- OtherFiles.h - the files that travel with the weights ------*- C++ -*-===//
#ifndef WL_TOOLS_OTHERFILES_H
#define WL_TOOLS_OTHERFILES_H

#include "wl/Safetensors/Safetensors.h"

#include <string>
#include <vector>

namespace wl::tool {

/// The files of the checkpoint's folder that are copied into each output
/// checkpoint: config.json, the tokenizer, the generation config, ... That
/// is every regular file (a link to one counts) except the safetensors
/// files and indexes, weight-layout.json, hidden files, and weights in
/// other formats (*.bin, *.pt, *.pth, *.ckpt, *.gguf, *.h5, *.msgpack,
/// *.npz, *.pdparams: the source layout's weights, which must not sit
/// beside the converted ones), which go to `skipped`. Sorted by name.
bool listOtherFiles(const runtime::Checkpoint &ckpt,
                    std::vector<std::string> &copy,
                    std::vector<std::string> &skipped, std::string &error);

/// Copies `files` (paths) into the folder `to`.
bool copyOtherFiles(const std::vector<std::string> &files,
                    const std::string &to, bool durable, std::string &error);

} // namespace wl::tool

#endif // WL_TOOLS_OTHERFILES_H
