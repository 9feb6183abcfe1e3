//===- Provenance.cpp - each rank file is the rank its folder says --------===//
#include "Provenance.h"

#include "wl/Support/Quote.h"

namespace wl::tool {

namespace {

constexpr const char *kMapping = "weight_layout.mapping";
constexpr const char *kOptions = "weight_layout.options";
constexpr const char *kPlanHash = "weight_layout.plan_hash";

/// Splits "tp=2,ep=1,pp=1,rank=1" into the rank ("1", or "" without one)
/// and the rest ("tp=2,ep=1,pp=1").
void splitRank(const std::string &options, std::string &rank,
               std::string &rest) {
  rank.clear();
  rest.clear();
  size_t pos = 0;
  while (pos <= options.size()) {
    size_t comma = options.find(',', pos);
    std::string item = options.substr(
        pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (item.compare(0, 5, "rank=") == 0)
      rank = item.substr(5);
    else
      rest += (rest.empty() ? "" : ",") + item;
    if (comma == std::string::npos)
      break;
    pos = comma + 1;
  }
}

} // namespace

bool checkProvenance(const runtime::Checkpoint &ckpt, const Provenance &want,
                     int &foreign, std::string &error) {
  for (const auto &file : ckpt.files()) {
    const auto &meta = file->header().metadata;
    auto mapping = meta.find(kMapping), options = meta.find(kOptions),
         hash = meta.find(kPlanHash);
    int present = (mapping != meta.end()) + (options != meta.end()) +
                  (hash != meta.end());
    if (present == 0) {
      ++foreign;
      continue;
    }
    const std::string &path = file->shownPath();
    if (present != 3) {
      error = path + ": its __metadata__ has only some of " + kMapping + ", " +
              kOptions + " and " + kPlanHash +
              ": not a file this tool wrote whole";
      return false;
    }
    if (mapping->second != want.mapping) {
      error = path + ": was written by the mapping " +
              quoteName(mapping->second) + ", not " + quoteName(want.mapping);
      return false;
    }
    std::string gotRank, gotRest, wantRank, wantRest;
    splitRank(options->second, gotRank, gotRest);
    splitRank(want.options, wantRank, wantRest);
    if (gotRest != wantRest) {
      error = path + ": was written at " + quoteName(gotRest) +
              ", but this conversion is at " + quoteName(wantRest);
      return false;
    }
    if (gotRank != wantRank) {
      error = path + ": holds " +
              (gotRank.empty() ? std::string("a single-rank checkpoint")
                               : "rank " + quoteName(gotRank)) +
              " (its __metadata__ says " + quoteName(options->second) +
              "), but it is in the folder of rank " + wantRank +
              ": are rank folders swapped or copied?";
      return false;
    }
    if (hash->second != want.planHash) {
      error = path + ": was written by a plan with hash " +
              quoteName(hash->second) + ", but rank " +
              (wantRank.empty() ? "0" : wantRank) + "'s plan here has hash " +
              quoteName(want.planHash) +
              " (another config, dtype or version of the mapping)";
      return false;
    }
  }
  return true;
}

} // namespace wl::tool
