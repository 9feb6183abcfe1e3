//===- RankNamesTest.cpp - rank folders, prefixes and function symbols ----===//
#include "wl/Layout/RankNames.h"

#include <gtest/gtest.h>

using namespace wl::layout;

namespace {

TEST(RankNames, FolderPrefixAndFunctionAgree) {
  for (int64_t r : {int64_t(0), int64_t(1), int64_t(7), int64_t(10),
                    int64_t(65535), int64_t(1) << 40}) {
    std::string n = std::to_string(r);
    EXPECT_EQ(rankFolder(r), "rank-" + n);
    EXPECT_EQ(rankPrefix(r), "rank-" + n + "/");
    EXPECT_EQ(rankFunction(r), "rank" + n);
    EXPECT_EQ(rankOfFunction(rankFunction(r)), r);
    std::string rest;
    EXPECT_EQ(rankOfName(rankPrefix(r) + "model.norm.weight", &rest), r);
    EXPECT_EQ(rest, "model.norm.weight");
  }
}

TEST(RankNames, OtherSymbolsAreNoRank) {
  for (const char *s : {"rank", "rank-1", "rank01", "rankx", "rank1x", "main",
                        "Rank1", "rank+1", "rank 1", "rank1234567890123456789"})
    EXPECT_FALSE(rankOfFunction(s)) << s;
  for (const char *s : {"rank-/x", "rank-01/x", "rank-1", "rank1/x", "x/rank-1/y",
                        "rank-1x/y", "rank--1/x", "rank-1234567890123456789/x"})
    EXPECT_FALSE(rankOfName(s)) << s;
}

} // namespace
