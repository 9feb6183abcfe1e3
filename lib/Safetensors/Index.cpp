//===- Index.cpp - the index of a split checkpoint, parsed ----------------===//
//
// model.safetensors.index.json: "weight_map" (each tensor name once, to a
// file name) and an optional "metadata" whose "total_size" is only checked
// to be a number (it is not trusted). Read with the pull parser of
// JsonReader.h; the file names are checked by Checkpoint::open.
//
//===----------------------------------------------------------------------===//
#include "wl/Safetensors/Safetensors.h"

#include "Internal.h"
#include "JsonReader.h"

#include <algorithm>
#include <cstdint>
#include <map>

namespace wl::runtime {

using namespace detail;

namespace {

/// The value of "weight_map": tensor names to file names, each file name
/// kept once in `index.files` (`fileIds`: its position there).
bool parseWeightMap(Reader &r, Index &index,
                    std::map<std::string, uint32_t, std::less<>> &fileIds) {
  if (r.peek() != '{')
    return r.wrongType("\"weight_map\" must map tensor names to file names, ");
  std::string file;
  return r.members(2, [&](const std::string &name) {
    if (r.peek() != '"')
      return r.wrongType("\"weight_map\": the file of " + quoted(name) +
                         " must be a string, ");
    if (!r.parseString(file))
      return false;
    auto [it, added] = fileIds.emplace(file, (uint32_t)index.files.size());
    if (added)
      index.files.push_back(file);
    index.weightMap.emplace_back(name, it->second);
    return true;
  });
}

/// The value of "metadata": null, or an object whose "total_size", when
/// present, is a number (its other members are skipped).
bool parseIndexMetadata(Reader &r) {
  if (r.peek() == 'n')
    return r.literal("null");
  if (r.peek() != '{')
    return r.wrongType("\"metadata\" must be an object, ");
  bool haveTotal = false;
  return r.members(2, [&](const std::string &mkey) {
    if (mkey != "total_size")
      return r.skipValue(3);
    if (haveTotal)
      return r.fail("\"metadata\": \"total_size\" is given twice");
    haveTotal = true;
    if (!r.atNumber())
      return r.wrongType("\"metadata\": \"total_size\" must be a "
                         "number, ");
    Number num;
    return r.parseNumber(num);
  });
}

/// The index's object, with nothing but whitespace after it.
bool parseIndexObject(Reader &r, Index &index) {
  bool haveMap = false, haveMetadata = false;
  std::map<std::string, uint32_t, std::less<>> fileIds;
  r.skipWs();
  if (r.peek() != '{') {
    if (r.atEnd())
      return r.fail("the index holds no JSON value");
    return r.wrongType("the index must be a JSON object, ");
  }
  bool ok = r.members(1, [&](const std::string &key) {
    if (key == "weight_map") {
      if (haveMap)
        return r.fail("\"weight_map\" is given twice");
      haveMap = true;
      return parseWeightMap(r, index, fileIds);
    }
    if (key == "metadata") {
      if (haveMetadata)
        return r.fail("\"metadata\" is given twice");
      haveMetadata = true;
      return parseIndexMetadata(r);
    }
    return r.skipValue(2);
  });
  if (!ok)
    return false;
  r.skipWs();
  if (!r.atEnd())
    return r.syntax("unexpected " + byteString((uint8_t)r.peek()) +
                    " after the index's object");
  if (!haveMap)
    return r.fail("no \"weight_map\"");
  return true;
}

/// A name listed twice: the first, in the index's order, of those that are
/// (SIZE_MAX: none is).
size_t firstNameTwice(const Index &index) {
  std::vector<uint32_t> order(index.weightMap.size());
  for (size_t k = 0; k < order.size(); ++k)
    order[k] = (uint32_t)k;
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return index.weightMap[a].first < index.weightMap[b].first;
  });
  size_t firstTwice = SIZE_MAX;
  for (size_t k = 1; k < order.size(); ++k)
    if (index.weightMap[order[k]].first == index.weightMap[order[k - 1]].first)
      firstTwice = std::min<size_t>(firstTwice, order[k]);
  return firstTwice;
}

} // namespace

bool detail::parseIndex(const std::string &text, Index &index,
                        std::string &error) {
  size_t bad = firstInvalidUtf8((const uint8_t *)text.data(), text.size());
  if (bad != std::string::npos) {
    error = "not valid UTF-8 (byte " + std::to_string(bad) + ")";
    return false;
  }
  Reader r(text.data(), text.size(), "the index");
  if (!parseIndexObject(r, index)) {
    error = r.error();
    return false;
  }
  // A name listed twice: the first, in the index's order, of those that are.
  size_t firstTwice = firstNameTwice(index);
  if (firstTwice != SIZE_MAX) {
    error = "\"weight_map\" lists " +
            quoted(index.weightMap[firstTwice].first) + " twice";
    return false;
  }
  return true;
}

bool parseIndexText(const std::string &text,
                    std::vector<std::pair<std::string, std::string>> &weightMap,
                    std::string &error) {
  Index index;
  weightMap.clear();
  if (!parseIndex(text, index, error))
    return false;
  weightMap.reserve(index.weightMap.size());
  for (size_t k = 0; k < index.weightMap.size(); ++k)
    weightMap.emplace_back(index.weightMap[k].first, index.fileOf(k));
  return true;
}

} // namespace wl::runtime
