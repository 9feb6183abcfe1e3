//===- ManifestTest.cpp - weight-layout.json written and read back --------===//
#include "wl/Convert/Manifest.h"

#include <gtest/gtest.h>

using namespace wl::convert;

namespace {

Manifest sample() {
  Manifest m;
  m.mapping = "qwen3/hf-to-vllm.json";
  m.modelType = "qwen3";
  m.from = "hf";
  m.to = "vllm";
  m.options = {{"tp", 4}, {"ep", 2}, {"pp", 1}, {"rollout_tp", 3}};
  m.ranks = 8;
  return m;
}

std::string error(const std::string &text) {
  std::string e;
  EXPECT_FALSE(parseManifest(text, e)) << text;
  return e;
}

TEST(Manifest, RoundTrips) {
  for (bool reverse : {false, true}) {
    Manifest m = sample();
    m.reverse = reverse;
    std::string e;
    auto back = parseManifest(manifestJson(m), e);
    ASSERT_TRUE(back) << e;
    EXPECT_EQ(back->mapping, m.mapping);
    EXPECT_EQ(back->modelType, m.modelType);
    EXPECT_EQ(back->from, m.from);
    EXPECT_EQ(back->to, m.to);
    EXPECT_EQ(back->reverse, reverse);
    EXPECT_EQ(back->options, m.options);
    EXPECT_EQ(back->ranks, 8);
  }
}

TEST(Manifest, ReadsWhatEarlierVersionsWrote) {
  // No "direction": forward.
  std::string e;
  auto m = parseManifest(R"({"format": "weight-layout-ranks/1",
      "mapping": "qwen3/hf-to-vllm.json", "model_type": "qwen3",
      "from": "hf", "to": "vllm", "options": {"tp": 2, "ep": 1, "pp": 1},
      "ranks": 2, "rank_order": "rank = (pp_rank * ep + ep_rank) * tp + tp_rank"})",
                         e);
  ASSERT_TRUE(m) << e;
  EXPECT_FALSE(m->reverse);
  EXPECT_EQ(m->ranks, 2);
}

TEST(Manifest, Errors) {
  const std::string head =
      R"({"format": "weight-layout-ranks/1", "mapping": "m.json", )";
  EXPECT_EQ(error("[]"), "is a list, not a JSON object");
  EXPECT_EQ(error("{"), "not valid JSON: line 1, column 2: syntax error while "
                        "parsing object key - unexpected end of input; "
                        "expected string literal");
  EXPECT_EQ(error(R"({"format": "x"})"),
            "format: expected \"weight-layout-ranks/1\"");
  EXPECT_EQ(error(R"({"format": "weight-layout-ranks/1"})"), "mapping: missing");
  EXPECT_EQ(error(head + R"("options": {"tp": 2}, "mapping": "n"})"),
            "not valid JSON: 'mapping' is given twice");
  EXPECT_EQ(error(head + R"("options": []})"),
            "options: is a list, not an object");
  EXPECT_EQ(error(head + R"("options": {"tp": 2.0}})"),
            "options.tp: is 2.0, a number with a fraction or an exponent, "
            "not an integer");
  EXPECT_EQ(error(head + R"("options": {"tp": 4294967296, "ep": 4294967296}})"),
            "options: tp is 4294967296: a parallel degree is from 1 to 65536");
  EXPECT_EQ(error(head + R"("options": {"tp": 512, "ep": 512}})"),
            "options: tp x ep x pp is more than the limit of 65536 ranks");
  EXPECT_EQ(error(head + R"("options": {"tp": 0}})"),
            "options: tp is 0: a parallel degree is from 1 to 65536");
  EXPECT_EQ(error(head + R"("options": {"tp": 2}, "ranks": 3})"),
            "ranks: is 3, but tp x ep x pp is 2");
  EXPECT_EQ(error(head + R"("options": {}, "direction": "sideways"})"),
            "direction: is neither \"forward\" nor \"reverse\"");
  EXPECT_EQ(error(head + R"("options": {}, "from": 1})"),
            "from: is a number, not a string");
  // The mesh: axis names as specs allow them, each once; the ranks its
  // product.
  const std::string bad = "mesh: expected a list of 1 to 8 distinct axis names";
  for (const char *mesh : {R"([])", R"("tp")", R"(["tp", "tp"])", R"(["rank"])",
                           R"(["tp_rank"])", "[\"a\\u0001\"]", R"([1])",
                           R"(["a","b","c","d","e","f","g","h","i"])"})
    EXPECT_EQ(error(head + R"("mesh": )" + mesh + R"(, "options": {}})"), bad)
        << mesh;
  EXPECT_EQ(error(head + R"("mesh": ["tp", "dp"], "options": {"tp": 2, "dp": 3}, "ranks": 5})"),
            "ranks: is 5, but tp x dp is 6");
}

} // namespace
