//===- MeshTest.cpp - a spec's rank mesh: axes, ranks, errors -------------===//
#include "wl/MappingSpec/Spec.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <tuple>
#include <unistd.h>

using namespace wl::mapping;
namespace fs = std::filesystem;

namespace {

/// A folder of its own with a config and the files a test writes.
struct Dir {
  fs::path path;
  Dir() {
    path = fs::temp_directory_path() /
           ("wl-mesh-" + std::to_string(::getpid()) + "-" +
            std::to_string(counter()++));
    fs::create_directories(path);
    write("config.json", R"({"hidden_size": 8, "n": 6})");
  }
  ~Dir() { fs::remove_all(path); }
  static int &counter() {
    static int n = 0;
    return n;
  }
  std::string write(const std::string &name, const std::string &text) {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
  std::string config() const { return (path / "config.json").string(); }
};

/// A spec with `extra` top-level fields and one rule that uses the ranks.
std::string spec(const std::string &extra) {
  return R"({"format": "weight-layout-mapping/1", "model_type": "m",
             "from": "a", "to": "b", )" +
         extra + R"(
             "rules": [{"copy": "w", "shape": ["hidden_size"]}]})";
}

} // namespace

TEST(Mesh, RankOrderText) {
  EXPECT_EQ(rankOrderText(defaultMesh()),
            "rank = (pp_rank * ep + ep_rank) * tp + tp_rank");
  EXPECT_EQ(rankOrderText({"tp", "dp"}), "rank = dp_rank * tp + tp_rank");
  EXPECT_EQ(rankOrderText({"tp"}), "rank = tp_rank");
  EXPECT_EQ(rankOrderText({"tp", "cp", "dp", "pp"}),
            "rank = ((pp_rank * dp + dp_rank) * cp + cp_rank) * tp + tp_rank");
  std::map<std::string, int64_t> d = {{"tp", 2}};
  EXPECT_EQ(meshText({"tp", "dp"}, &d), "tp 2 x dp 1");
  EXPECT_EQ(meshText({"tp", "dp"}), "tp x dp");
}

TEST(Mesh, EveryRankDecomposesInTheAxesOrder) {
  // Every rank of a 3 x 2 x 4 mesh: the axes' ranks are its mixed-radix
  // digits, the first axis fastest, and they cover each combination once.
  Dir dir;
  std::string error;
  auto s = loadSpec(dir.write("s.json", spec(R"("mesh": ["tp", "cp", "dp"],)")),
                    error);
  ASSERT_TRUE(s) << error;
  ASSERT_EQ(s->mesh, (std::vector<std::string>{"tp", "cp", "dp"}));
  auto env = Env::create(s, dir.config(), {{"tp", 3}, {"cp", 2}, {"dp", 4}},
                         "", error);
  ASSERT_TRUE(env) << error;
  EXPECT_EQ(env->ranks(), 24);
  std::set<std::tuple<int64_t, int64_t, int64_t>> seen;
  for (int64_t r = 0; r < env->ranks(); ++r) {
    env->setRank(r);
    ASSERT_TRUE(env->refresh(error)) << error;
    int64_t t = env->option("tp_rank"), c = env->option("cp_rank"),
            d = env->option("dp_rank");
    EXPECT_EQ(t + 3 * (c + 2 * d), r);
    EXPECT_TRUE(t >= 0 && t < 3 && c >= 0 && c < 2 && d >= 0 && d < 4);
    seen.insert({t, c, d});
  }
  EXPECT_EQ(seen.size(), 24u);
  // The options: the axes, then rank, then the spec's.
  ASSERT_GE(s->options.size(), 4u);
  EXPECT_EQ(s->options[0].name, "tp");
  EXPECT_EQ(s->options[3].name, "rank");
}

TEST(Mesh, DefaultIsTpEpPp) {
  Dir dir;
  std::string error;
  auto s = loadSpec(dir.write("s.json", spec("")), error);
  ASSERT_TRUE(s) << error;
  EXPECT_EQ(s->mesh, defaultMesh());
  auto env = Env::create(s, dir.config(), {{"tp", 2}, {"ep", 3}, {"pp", 2}},
                         "", error);
  ASSERT_TRUE(env) << error;
  env->setRank(11); // (1 * 3 + 2) * 2 + 1
  EXPECT_EQ(env->option("tp_rank"), 1);
  EXPECT_EQ(env->option("ep_rank"), 2);
  EXPECT_EQ(env->option("pp_rank"), 1);
}

TEST(Mesh, DegreesOutsideTheMesh) {
  Dir dir;
  std::string error;
  auto s = loadSpec(dir.write("s.json", spec(R"("mesh": ["tp", "dp"],)")),
                    error);
  ASSERT_TRUE(s) << error;
  // A degree the spec does not have, at 1, changes nothing.
  auto env = Env::create(s, dir.config(), {{"pp", 1}, {"ep", 1}}, "", error);
  ASSERT_TRUE(env) << error;
  EXPECT_EQ(env->ranks(), 1);
  // At 2 it is refused, naming what the spec has.
  EXPECT_FALSE(Env::create(s, dir.config(), {{"pp", 2}}, "", error));
  EXPECT_NE(error.find("unknown option 'pp' (this spec has tp, dp, rank)"),
            std::string::npos)
      << error;
  // Too many ranks, and a degree out of range.
  EXPECT_FALSE(
      Env::create(s, dir.config(), {{"tp", 256}, {"dp", 512}}, "", error));
  EXPECT_EQ(error, "tp x dp is more than the limit of 65536 ranks");
  EXPECT_FALSE(Env::create(s, dir.config(), {{"dp", 0}}, "", error));
  EXPECT_EQ(error, "dp is 0: a parallel degree is from 1 to 65536");
  int64_t ranks = 0;
  EXPECT_FALSE(checkDegrees({"tp", "dp"}, {{"tp", 2}, {"rank", 2}}, ranks,
                            error));
  EXPECT_EQ(error, "rank 2 is not one of the 2 ranks");
}

TEST(Mesh, BadMeshes) {
  Dir dir;
  auto refused = [&](const std::string &extra) {
    std::string error;
    EXPECT_FALSE(loadSpec(dir.write("bad.json", spec(extra)), error)) << extra;
    return error;
  };
  EXPECT_NE(refused(R"("mesh": [],)").find("mesh: expected a list of 1 to 8"),
            std::string::npos);
  EXPECT_NE(refused(R"("mesh": "tp",)").find("mesh: expected a list"),
            std::string::npos);
  EXPECT_NE(refused(R"("mesh": ["tp", "tp"],)").find("mesh[1]: 'tp' is given twice"),
            std::string::npos);
  EXPECT_NE(refused(R"("mesh": ["tp_rank"],)").find("is not an axis name"),
            std::string::npos);
  EXPECT_NE(refused(R"("mesh": ["rank"],)").find("is not an axis name"),
            std::string::npos);
  EXPECT_NE(refused(R"("mesh": ["1tp"],)").find("is not an axis name"),
            std::string::npos);
  EXPECT_NE(refused(R"("mesh": ["a","b","c","d","e","f","g","h","i"],)")
                .find("1 to 8 axis names"),
            std::string::npos);
  // An option that is an axis's derived rank.
  EXPECT_NE(refused(R"("mesh": ["tp", "dp"], "options": {"dp_rank": {"default": 0}},)")
                .find("is derived from rank"),
            std::string::npos);
  // A mesh in an included part: the including spec owns the ranks.
  dir.write("part.json", R"({"format": "weight-layout-mapping/1",
                             "mesh": ["tp"], "let": {"x": "1"}})");
  EXPECT_NE(refused(R"("include": ["part.json"],)")
                .find("mesh: belongs to the spec that includes this file"),
            std::string::npos);
}
