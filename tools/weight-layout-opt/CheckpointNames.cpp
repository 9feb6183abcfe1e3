//===- CheckpointNames.cpp - the tensors a checkpoint holds ---------------===//
#include "CheckpointNames.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/FileSystem.h"

namespace wl::tool {

static bool readFile(const std::string &file,
                     std::map<std::string, TensorHeader> &out,
                     std::string &error) {
  auto buf = llvm::MemoryBuffer::getFile(file, /*IsText=*/false,
                                         /*RequiresNullTerminator=*/false);
  if (!buf) {
    error = file + ": cannot read: " + buf.getError().message();
    return false;
  }
  llvm::StringRef data = (*buf)->getBuffer();
  if (data.size() < 8) {
    error = file + ": too short for a safetensors header";
    return false;
  }
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i)
    n = (n << 8) | (uint8_t)data[i];
  if (n > 100000000 || n > data.size() - 8) {
    error = file + ": header length " + std::to_string(n) +
            " is beyond the file or the 100 MB limit";
    return false;
  }
  auto json = llvm::json::parse(data.substr(8, n));
  if (!json) {
    error = file + ": header is not JSON: " + llvm::toString(json.takeError());
    return false;
  }
  auto *obj = json->getAsObject();
  if (!obj) {
    error = file + ": header is not a JSON object";
    return false;
  }
  for (auto &[key, value] : *obj) {
    if (key == "__metadata__")
      continue;
    auto *t = value.getAsObject();
    auto dtype = t ? t->getString("dtype") : std::nullopt;
    auto *shape = t ? t->getArray("shape") : nullptr;
    if (!dtype || !shape) {
      error = file + ": tensor '" + key.str() + "' lacks dtype or shape";
      return false;
    }
    TensorHeader h{dtype->str(), {}, file};
    for (auto &d : *shape)
      h.shape.push_back(d.getAsInteger().value_or(-1));
    if (!out.emplace(key.str(), h).second) {
      error = file + ": tensor '" + key.str() + "' appears twice";
      return false;
    }
  }
  return true;
}

bool readCheckpointNames(const std::string &path,
                         std::map<std::string, TensorHeader> &out,
                         std::string &error) {
  if (!llvm::sys::fs::is_directory(path))
    return readFile(path, out, error);
  llvm::SmallString<256> index(path), single(path);
  llvm::sys::path::append(index, "model.safetensors.index.json");
  llvm::sys::path::append(single, "model.safetensors");
  if (llvm::sys::fs::exists(single))
    return readFile(std::string(single), out, error);
  auto buf = llvm::MemoryBuffer::getFile(index);
  if (!buf) {
    error = path + ": no model.safetensors or model.safetensors.index.json";
    return false;
  }
  auto json = llvm::json::parse((*buf)->getBuffer());
  auto *obj = json ? json->getAsObject() : nullptr;
  auto *map = obj ? obj->getObject("weight_map") : nullptr;
  if (!map) {
    if (!json)
      llvm::consumeError(json.takeError());
    error = std::string(index) + ": no 'weight_map' object";
    return false;
  }
  std::map<std::string, bool> files;
  for (auto &[k, v] : *map)
    if (auto f = v.getAsString())
      files[f->str()] = true;
  for (auto &[f, unused] : files) {
    llvm::SmallString<256> p(path);
    llvm::sys::path::append(p, f);
    if (!readFile(std::string(p), out, error))
      return false;
  }
  return true;
}

} // namespace wl::tool
