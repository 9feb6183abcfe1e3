//===- OutputLayout.cpp - the layout of the files a converter writes ------===//
//
// The header JSON of an output file (compact, padded so that the data
// section starts at a multiple of 8) and where each tensor's data goes; the
// split of a checkpoint into shards; and the index of a split checkpoint.
// Nothing is written here: lib/Runtime/StreamWriter.cpp writes the files.
//
//===----------------------------------------------------------------------===//
#include "wl/Safetensors/Safetensors.h"

#include "Internal.h"

#include <cstdio>
#include <cstdlib>
#include <unordered_set>

namespace wl::runtime {

using namespace detail;

namespace {

void appendJsonString(std::string &out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    uint8_t c = (uint8_t)ch;
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
    default:
      if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else {
        out += ch;
      }
    }
  }
  out += '"';
}

/// Appends the member of tensor `t` with data_offsets [begin, end].
void appendTensorJson(std::string &json, const OutTensor &t, uint64_t begin,
                      uint64_t end) {
  appendJsonString(json, t.name);
  json += ":{\"dtype\":\"";
  json += layout::safetensorsName(t.dtype);
  json += "\",\"shape\":[";
  for (size_t d = 0; d < t.shape.size(); ++d) {
    if (d)
      json += ',';
    json += std::to_string(t.shape[d]);
  }
  json += "],\"data_offsets\":[";
  json += std::to_string(begin);
  json += ',';
  json += std::to_string(end);
  json += "]}";
}

/// Appends the "__metadata__" object, or fails when a key or value is not
/// valid UTF-8.
bool appendMetadataJson(std::string &json,
                        const std::map<std::string, std::string> &metadata,
                        std::string &error) {
  json += "\"__metadata__\":{";
  bool firstKey = true;
  for (const auto &[key, value] : metadata) {
    if (!isValidUtf8(key) || !isValidUtf8(value)) {
      error = "metadata " + quoted(key) + " is not valid UTF-8";
      return false;
    }
    if (!firstKey)
      json += ',';
    firstKey = false;
    appendJsonString(json, key);
    json += ':';
    appendJsonString(json, value);
  }
  json += '}';
  return true;
}

/// Builds the padded header JSON and each tensor's offset within the data
/// section, or fails with the reason the tensors cannot be written.
bool buildHeader(const std::vector<OutTensor> &tensors,
                 const std::map<std::string, std::string> &metadata,
                 std::string &json, std::vector<uint64_t> &begins,
                 uint64_t &total, std::string &error) {
  json = "{";
  begins.clear();
  begins.reserve(tensors.size());
  total = 0;
  std::unordered_set<std::string_view> names;
  names.reserve(tensors.size());
  bool first = true;
  for (const OutTensor &t : tensors) {
    if (!isValidUtf8(t.name)) {
      error = "tensor name " + quoted(t.name) + " is not valid UTF-8";
      return false;
    }
    if (t.name == "__metadata__") {
      error = "a tensor cannot be named \"__metadata__\"";
      return false;
    }
    if (!names.insert(t.name).second) {
      error = "tensor " + quoted(t.name) + " is given twice";
      return false;
    }
    uint64_t bytes = t.bytes();
    if (bytes == UINT64_MAX) {
      error = tensorPrefix(t.name) + "shape " + shapeString(t.shape) +
              " is invalid or too large";
      return false;
    }
    uint64_t end;
    if (__builtin_add_overflow(total, bytes, &end)) {
      error = "the tensors hold more than 2^64 bytes";
      return false;
    }
    if (!first)
      json += ',';
    first = false;
    appendTensorJson(json, t, total, end);
    begins.push_back(total);
    total = end;
  }
  if (!metadata.empty()) {
    if (!first)
      json += ',';
    if (!appendMetadataJson(json, metadata, error))
      return false;
  }
  json += '}';
  // (8 + N) % 8 == 0.
  json.append((8 - json.size() % 8) % 8, ' ');
  if (json.size() > kMaxHeaderBytes) {
    error = "the header would take " + std::to_string(json.size()) +
            " bytes, more than the limit of " + std::to_string(kMaxHeaderBytes);
    return false;
  }
  uint64_t fileSize;
  if (__builtin_add_overflow(total, (uint64_t)(8 + json.size()), &fileSize)) {
    error = "the file would hold more than 2^64 bytes";
    return false;
  }
  return true;
}

} // namespace

uint64_t OutTensor::bytes() const {
  std::optional<int64_t> n = layout::numElements(shape);
  uint64_t b;
  if (!n ||
      __builtin_mul_overflow((uint64_t)*n, (uint64_t)layout::dtypeSize(dtype),
                             &b) ||
      b == UINT64_MAX)
    return UINT64_MAX;
  return b;
}

bool checkOutTensors(const std::vector<OutTensor> &tensors,
                     const std::map<std::string, std::string> &metadata,
                     std::string &error) {
  std::string json;
  std::vector<uint64_t> begins;
  uint64_t total;
  return buildHeader(tensors, metadata, json, begins, total, error);
}

FileLayout layoutFile(const std::vector<OutTensor> &tensors,
                      const std::map<std::string, std::string> &metadata,
                      std::optional<uint64_t> dataStart) {
  std::string json, error;
  std::vector<uint64_t> begins;
  uint64_t total = 0;
  if (!buildHeader(tensors, metadata, json, begins, total, error)) {
    std::fprintf(stderr, "wl::runtime::layoutFile: %s\n", error.c_str());
    std::abort();
  }
  if (dataStart && *dataStart % 8 == 0 && *dataStart < kDataStartPeriod) {
    // (8 + N + pad) % period == dataStart; N stays a multiple of 8.
    uint64_t pad = (*dataStart + kDataStartPeriod -
                    (8 + json.size()) % kDataStartPeriod) %
                   kDataStartPeriod;
    if (json.size() + pad <= kMaxHeaderBytes)
      json.append(pad, ' ');
  }
  FileLayout out;
  uint64_t n = json.size();
  out.prefix.reserve(8 + json.size());
  for (int k = 0; k < 8; ++k)
    out.prefix += (char)(uint8_t)(n >> (8 * k));
  out.prefix += json;
  out.offsets.reserve(begins.size());
  for (uint64_t b : begins)
    out.offsets.push_back(8 + n + b);
  out.fileSize = 8 + n + total;
  return out;
}

std::vector<FileGroup> splitFiles(const std::vector<OutTensor> &tensors,
                                  uint64_t maxFileBytes) {
  std::vector<FileGroup> files(1);
  uint64_t used = 0;
  for (size_t k = 0; k < tensors.size(); ++k) {
    uint64_t bytes = tensors[k].bytes();
    uint64_t sum;
    // A zero-sized tensor never overflows the file it joins.
    bool over =
        (__builtin_add_overflow(used, bytes, &sum) || sum > maxFileBytes) &&
        bytes > 0;
    if (over && !files.back().tensors.empty()) {
      files.emplace_back();
      used = 0;
      sum = bytes;
    }
    files.back().tensors.push_back(k);
    used = sum;
  }
  if (files.size() == 1) {
    files[0].name = "model.safetensors";
  } else {
    for (size_t k = 0; k < files.size(); ++k) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "model-%05zu-of-%05zu.safetensors", k + 1,
                    files.size());
      files[k].name = buf;
    }
  }
  return files;
}

std::string indexJson(const std::vector<OutTensor> &tensors,
                      const std::vector<FileGroup> &files) {
  std::map<std::string, const std::string *> weightMap;
  uint64_t total = 0;
  for (const FileGroup &g : files)
    for (size_t k : g.tensors) {
      weightMap.emplace(tensors[k].name, &g.name);
      uint64_t b = tensors[k].bytes();
      if (__builtin_add_overflow(total, b, &total))
        total = UINT64_MAX;
    }
  std::string out = "{\n  \"metadata\": {\n    \"total_size\": ";
  out += std::to_string(total);
  out += "\n  },\n  \"weight_map\": {";
  bool first = true;
  for (const auto &[name, file] : weightMap) {
    out += first ? "\n    " : ",\n    ";
    first = false;
    appendJsonString(out, name);
    out += ": ";
    appendJsonString(out, *file);
  }
  out += first ? "}\n}\n" : "\n  }\n}\n";
  return out;
}

} // namespace wl::runtime
