//===- SafetensorsTest.cpp - safetensors reading, validation and layout ---===//
//
// The writer's layout against the reader on random tensor lists; every header
// rule against a table of malformed headers, each with its exact message;
// SafetensorsFile and Checkpoint on temporary files and folders; and the
// shared example checkpoints when they are present.
//
//===----------------------------------------------------------------------===//
#include "SharedCheckpoints.h"
#include "wl/Safetensors/Safetensors.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <unistd.h>

using namespace wl::runtime;
using wl::layout::DType;
using wl::layout::Shape;
namespace fs = std::filesystem;

namespace {

std::string le64(uint64_t n) {
  std::string s;
  for (int k = 0; k < 8; ++k)
    s += (char)(uint8_t)(n >> (8 * k));
  return s;
}

/// A file: the length of `json`, `json`, and `dataBytes` zero bytes.
std::string fileOf(const std::string &json, uint64_t dataBytes = 0) {
  return le64(json.size()) + json + std::string(dataBytes, '\0');
}

std::optional<Header> parse(const std::string &file, std::string &error) {
  return parseHeader((const uint8_t *)file.data(), file.size(), file.size(),
                     error);
}

/// The message parseHeader gives for `file`, or "<accepted>".
std::string errorOf(const std::string &file) {
  std::string error;
  if (parse(file, error))
    return "<accepted>";
  return error;
}

/// One tensor entry of a header.
std::string T(const std::string &name, const std::string &dtype,
              const std::string &shape, const std::string &offsets) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
         ",\"data_offsets\":" + offsets + "}";
}

//===----------------------------------------------------------------------===//
// Writer -> reader round trip
//===----------------------------------------------------------------------===//

const char *const kNamePieces[] = {
    "model", ".layers.", "weight", "é",    "😀",    "中文", "\"",   "\\",
    "/",     "\n",       "\t",     "\x01", "\x1f", " ",    "\x7f", "__metadata",
};

std::string randomString(std::mt19937_64 &rng, int pieces) {
  std::string s;
  for (int k = 0; k < pieces; ++k)
    s += kNamePieces[rng() % (sizeof kNamePieces / sizeof *kNamePieces)];
  return s;
}

TEST(SafetensorsLayout, RandomRoundTrips) {
  std::mt19937_64 rng(12345);
  for (int iter = 0; iter < 2000; ++iter) {
    SCOPED_TRACE("iteration " + std::to_string(iter));
    std::vector<OutTensor> tensors(rng() % 12);
    for (size_t k = 0; k < tensors.size(); ++k) {
      OutTensor &t = tensors[k];
      t.name = randomString(rng, (int)(rng() % 4)) + "#" + std::to_string(k);
      t.dtype = (DType)(rng() % wl::layout::kNumDTypes);
      int rank = (int)(rng() % 5);
      for (int d = 0; d < rank; ++d)
        t.shape.push_back(rng() % 7 == 0 ? 0 : (int64_t)(rng() % 6));
    }
    std::map<std::string, std::string> metadata;
    for (int k = (int)(rng() % 4); k > 0; --k)
      metadata[randomString(rng, (int)(rng() % 3))] =
          randomString(rng, (int)(rng() % 3));
    std::string why;
    ASSERT_TRUE(checkOutTensors(tensors, metadata, why)) << why;
    FileLayout layout = layoutFile(tensors, metadata);

    ASSERT_GE(layout.prefix.size(), 8u);
    EXPECT_EQ(layout.prefix.size() % 8, 0u);
    uint64_t n = 0;
    for (int k = 7; k >= 0; --k)
      n = (n << 8) | (uint8_t)layout.prefix[k];
    EXPECT_EQ(n + 8, layout.prefix.size());
    uint64_t expectOffset = layout.prefix.size();
    ASSERT_EQ(layout.offsets.size(), tensors.size());
    for (size_t k = 0; k < tensors.size(); ++k) {
      EXPECT_EQ(layout.offsets[k], expectOffset);
      expectOffset += tensors[k].bytes();
    }
    EXPECT_EQ(layout.fileSize, expectOffset);

    // Only the prefix is needed; the data section is declared by fileSize.
    std::string error;
    std::optional<Header> h =
        parseHeader((const uint8_t *)layout.prefix.data(), layout.prefix.size(),
                    layout.fileSize, error);
    ASSERT_TRUE(h) << error << "\n" << layout.prefix.substr(8);
    EXPECT_EQ(h->dataOffset, layout.prefix.size());
    ASSERT_EQ(h->tensors.size(), tensors.size());
    for (size_t k = 0; k < tensors.size(); ++k) {
      const TensorEntry &e = h->tensors[k];
      EXPECT_EQ(e.name, tensors[k].name);
      EXPECT_EQ(e.dtype, tensors[k].dtype);
      EXPECT_EQ(e.shape, tensors[k].shape);
      EXPECT_EQ(h->dataOffset + e.begin, layout.offsets[k]);
      EXPECT_EQ(e.end - e.begin, tensors[k].bytes());
      ASSERT_TRUE(h->byName.count(e.name));
      EXPECT_EQ(h->byName.at(e.name), k);
    }
    EXPECT_EQ(h->metadata, metadata);

    // The whole file parses the same.
    if (layout.fileSize < 4096) {
      std::string file = layout.prefix;
      file.resize(layout.fileSize, '\x5a');
      std::optional<Header> h2 = parse(file, error);
      ASSERT_TRUE(h2) << error;
      EXPECT_EQ(h2->tensors.size(), h->tensors.size());
    }
  }
}

// dataStart: the header padded with spaces so that the data starts at
// that offset modulo kDataStartPeriod, parsed back to the same tensors; a
// dataStart that is not a multiple of 8 (or past the period) changes
// nothing.
TEST(SafetensorsLayout, DataStartPadsTheHeader) {
  const std::vector<OutTensor> ts = {{"a", DType::F32, {3}},
                                     {"b", DType::BF16, {5, 7}}};
  const FileLayout plain = layoutFile(ts, {{"format", "pt"}});
  for (uint64_t start : {0ull, 8ull, 512ull, 2376ull, 4088ull}) {
    const FileLayout l = layoutFile(ts, {{"format", "pt"}}, start);
    EXPECT_EQ(l.prefix.size() % kDataStartPeriod, start);
    EXPECT_LT(l.prefix.size(), plain.prefix.size() + kDataStartPeriod);
    EXPECT_EQ(l.prefix.substr(8, plain.prefix.size() - 8),
              plain.prefix.substr(8));
    EXPECT_EQ(l.prefix.find_first_not_of(' ', plain.prefix.size()),
              std::string::npos);
    EXPECT_EQ(l.fileSize - l.prefix.size(), plain.fileSize - plain.prefix.size());
    std::string error;
    auto h = parseHeader(reinterpret_cast<const uint8_t *>(l.prefix.data()),
                         l.prefix.size(), l.fileSize, error);
    ASSERT_TRUE(h) << error;
    EXPECT_EQ(h->dataOffset, l.prefix.size());
    ASSERT_EQ(h->tensors.size(), 2u);
    EXPECT_EQ(h->tensors[1].begin + h->dataOffset, l.offsets[1]);
  }
  for (uint64_t start : {4ull, 4096ull, 9000ull})
    EXPECT_EQ(layoutFile(ts, {{"format", "pt"}}, start).prefix, plain.prefix);
}

TEST(SafetensorsLayout, ExactBytes) {
  FileLayout l = layoutFile({{"a", DType::F32, {2}}}, {});
  std::string json =
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  ASSERT_EQ(json.size(), 54u);
  EXPECT_EQ(l.prefix, le64(56) + json + "  ");
  EXPECT_EQ(l.offsets, std::vector<uint64_t>{64});
  EXPECT_EQ(l.fileSize, 72u);

  // Metadata after the tensors; a rank-0 tensor; the empty header.
  l = layoutFile({{"s", DType::I64, {}}}, {{"format", "pt"}});
  EXPECT_EQ(l.prefix.substr(8),
            R"({"s":{"dtype":"I64","shape":[],"data_offsets":[0,8]},)"
            R"("__metadata__":{"format":"pt"}})"
            "    ");
  l = layoutFile({}, {});
  EXPECT_EQ(l.prefix, le64(8) + "{}      ");
  EXPECT_EQ(l.fileSize, 16u);
  EXPECT_TRUE(l.offsets.empty());

  // Escapes.
  l = layoutFile({{"a\"b\\c\n\x01/é", DType::Bool, {0}}}, {});
  EXPECT_NE(l.prefix.find(R"("a\"b\\c\n\u0001/é":)"), std::string::npos)
      << l.prefix;

  // Every dtype's name.
  for (int k = 0; k < wl::layout::kNumDTypes; ++k) {
    DType d = (DType)k;
    l = layoutFile({{"x", d, {3}}}, {});
    EXPECT_NE(l.prefix.find("\"dtype\":\"" +
                            std::string(wl::layout::safetensorsName(d)) + "\""),
              std::string::npos);
    EXPECT_EQ(l.fileSize - l.prefix.size(),
              3u * (uint64_t)wl::layout::dtypeSize(d));
  }
}

TEST(SafetensorsLayout, CheckOutTensors) {
  std::string why;
  EXPECT_FALSE(checkOutTensors({{"a", DType::F32, {1}}, {"a", DType::F32, {1}}},
                               {}, why));
  EXPECT_EQ(why, "tensor 'a' is given twice");
  EXPECT_FALSE(checkOutTensors({{"__metadata__", DType::F32, {1}}}, {}, why));
  EXPECT_EQ(why, "a tensor cannot be named \"__metadata__\"");
  EXPECT_FALSE(checkOutTensors({{"a\xff", DType::F32, {1}}}, {}, why));
  EXPECT_EQ(why, "tensor name 'a\\xFF' is not valid UTF-8");
  EXPECT_FALSE(checkOutTensors({{"a", DType::F32, {-1}}}, {}, why));
  EXPECT_EQ(why, "tensor 'a': shape [-1] is invalid or too large");
  EXPECT_FALSE(checkOutTensors({{"a", DType::F64, {INT64_MAX}}}, {}, why));
  EXPECT_EQ(why, "tensor 'a': shape [9223372036854775807] is invalid or too "
                 "large");
  EXPECT_FALSE(checkOutTensors({}, {{"k", "\xc0\x80"}}, why));
  EXPECT_EQ(why, "metadata 'k' is not valid UTF-8");
  EXPECT_TRUE(checkOutTensors({{"", DType::U8, {}}}, {{"", ""}}, why));

  EXPECT_EQ((OutTensor{"a", DType::BF16, {3, 5}}).bytes(), 30u);
  EXPECT_EQ((OutTensor{"a", DType::BF16, {}}).bytes(), 2u);
  EXPECT_EQ((OutTensor{"a", DType::BF16, {3, 0}}).bytes(), 0u);
  EXPECT_EQ((OutTensor{"a", DType::BF16, {-3}}).bytes(), UINT64_MAX);
}

TEST(SafetensorsLayout, SplitFiles) {
  auto t = [](int64_t n) {
    return OutTensor{"t" + std::to_string(n), DType::U8, {n}};
  };
  std::vector<FileGroup> g = splitFiles({t(8), t(8), t(16)}, 16);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].name, "model-00001-of-00002.safetensors");
  EXPECT_EQ(g[0].tensors, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(g[1].name, "model-00002-of-00002.safetensors");
  EXPECT_EQ(g[1].tensors, (std::vector<size_t>{2}));

  g = splitFiles({t(8), t(8), t(16)}, 1000);
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].name, "model.safetensors");
  EXPECT_EQ(g[0].tensors, (std::vector<size_t>{0, 1, 2}));

  // A larger tensor goes alone; zero-sized tensors join the current file.
  g = splitFiles({t(4), t(100), t(0), t(4), t(6), t(1)}, 10);
  ASSERT_EQ(g.size(), 4u);
  EXPECT_EQ(g[0].tensors, (std::vector<size_t>{0}));
  EXPECT_EQ(g[1].tensors, (std::vector<size_t>{1, 2}));
  EXPECT_EQ(g[2].tensors, (std::vector<size_t>{3, 4}));
  EXPECT_EQ(g[3].tensors, (std::vector<size_t>{5}));
  EXPECT_EQ(g[3].name, "model-00004-of-00004.safetensors");

  g = splitFiles({}, 10);
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].name, "model.safetensors");
  EXPECT_TRUE(g[0].tensors.empty());
}

TEST(SafetensorsLayout, IndexJson) {
  std::vector<OutTensor> ts = {
      {"z", DType::F32, {2}}, {"a\"", DType::BF16, {3}}, {"m", DType::U8, {5}}};
  std::vector<FileGroup> g = {{"model-00001-of-00002.safetensors", {0, 1}},
                              {"model-00002-of-00002.safetensors", {2}}};
  EXPECT_EQ(indexJson(ts, g), R"({
  "metadata": {
    "total_size": 19
  },
  "weight_map": {
    "a\"": "model-00001-of-00002.safetensors",
    "m": "model-00002-of-00002.safetensors",
    "z": "model-00001-of-00002.safetensors"
  }
}
)");
}

//===----------------------------------------------------------------------===//
// Malformed headers
//===----------------------------------------------------------------------===//

struct Bad {
  const char *what;
  std::string file;
  std::string message;
};

std::string nested(int brackets) {
  return R"({"a":{"x":)" + std::string(brackets, '[') +
         std::string(brackets, ']') + "}}";
}

TEST(SafetensorsHeader, MalformedTable) {
  const std::string a4 = T("a", "F32", "[1]", "[0,4]");
  const std::vector<Bad> table = {
      // Lengths.
      {"empty file", "", "the file is empty"},
      {"short file", std::string("\x05\0\0\0\0", 5),
       "the file holds 5 bytes, too few for "
       "the 8-byte header length"},
      {"too large", le64(100000001) + "{}",
       "header length 100000001 exceeds the limit of 100000000 bytes"},
      {"huge", le64(123456789012ull) + std::string(1016, ' '),
       "header length 123456789012 exceeds the limit of 100000000 bytes"},
      {"all ones", le64(UINT64_MAX) + "{}",
       "header length 18446744073709551615 exceeds the limit of 100000000 "
       "bytes"},
      {"beyond file", le64(2000) + std::string(1016, ' '),
       "header length 2000 exceeds the file (1024 bytes)"},
      {"beyond file by a little", le64(1020) + std::string(1016, ' '),
       "header length 1020 exceeds the file (1024 bytes, 1016 after the "
       "length)"},
      {"empty header", fileOf(""), "the header holds no JSON value"},
      {"blank header", fileOf("   \n"), "the header holds no JSON value"},
      // UTF-8.
      {"invalid byte", fileOf("{\"a\xff\":1}"),
       "the header is not valid UTF-8 (byte 3 of the header)"},
      {"overlong", fileOf("{\"\xc0\x80\":1}"),
       "the header is not valid UTF-8 (byte 2 of the header)"},
      {"overlong 3", fileOf("{\"\xe0\x80\x80\":1}"),
       "the header is not valid UTF-8 (byte 2 of the header)"},
      {"surrogate", fileOf("{\"\xed\xa0\x80\":1}"),
       "the header is not valid UTF-8 (byte 2 of the header)"},
      {"above U+10FFFF", fileOf("{\"\xf4\x90\x80\x80\":1}"),
       "the header is not valid UTF-8 (byte 2 of the header)"},
      {"cut sequence", fileOf("{\"\xe2\x82"),
       "the header is not valid UTF-8 (byte 2 of the header)"},
      // Not an object.
      {"array", fileOf("[1]"),
       "the header is not a JSON object (found an "
       "array)"},
      {"string", fileOf("\"{}\""),
       "the header is not a JSON object (found a "
       "string)"},
      {"not JSON", fileOf("x{}"),
       "invalid JSON at byte 0 of the header: expected '{', found 'x'"},
      {"BOM", fileOf("\xef\xbb\xbf{}"),
       "invalid JSON at byte 0 of the header: expected '{', found 0xEF"},
      // Grammar.
      {"missing value", fileOf(R"({"a":})"),
       "invalid JSON at byte 5 of the header: expected a value, found '}'"},
      {"missing colon", fileOf(R"({"a" 1})"),
       "invalid JSON at byte 5 of the header: expected ':', found '1'"},
      {"unterminated object", fileOf("{"),
       "invalid JSON at byte 1 of the header: expected a string key, found "
       "the end"},
      {"unterminated string", fileOf(R"({"a)"),
       "invalid JSON at byte 3 of the header: unterminated string"},
      {"trailing comma", fileOf(R"({"__metadata__":{},})"),
       "invalid JSON at byte 19 of the header: expected a string key, found "
       "'}'"},
      {"single quotes", fileOf("{'a':1}"),
       "invalid JSON at byte 1 of the header: expected a string key, found "
       "'''"},
      {"trailing garbage", fileOf("{} x"),
       "invalid JSON at byte 3 of the header: unexpected 'x' after the "
       "header's object (only whitespace may follow it)"},
      {"trailing NUL", fileOf(std::string("{}\0", 3)),
       "invalid JSON at byte 2 of the header: unexpected 0x00 after the "
       "header's object (only whitespace may follow it)"},
      {"two objects", fileOf("{}{}"),
       "invalid JSON at byte 2 of the header: unexpected '{' after the "
       "header's object (only whitespace may follow it)"},
      {"bad escape", fileOf(R"({"a\q":1})"),
       "invalid JSON at byte 3 of the header: invalid escape: a backslash "
       "followed by 'q'"},
      {"short \\u", fileOf(R"({"\u12":1})"),
       "invalid JSON at byte 6 of the header: expected a hex digit in a \\u "
       "escape, found '\"'"},
      {"lone leading surrogate", fileOf(R"({"\ud800":1})"),
       "invalid JSON at byte 2 of the header: lone leading surrogate in a "
       "\\u escape"},
      {"leading surrogate, no trail", fileOf(R"({"\ud800\u0041":1})"),
       "invalid JSON at byte 2 of the header: lone leading surrogate in a "
       "\\u escape"},
      {"lone trailing surrogate", fileOf(R"({"\udc00":1})"),
       "invalid JSON at byte 2 of the header: lone trailing surrogate in a "
       "\\u escape"},
      {"control character", fileOf("{\"a\x01\":1}"),
       "invalid JSON at byte 3 of the header: control character 0x01 in a "
       "string (write it as an escape)"},
      {"raw newline", fileOf("{\"a\n\":1}"),
       "invalid JSON at byte 3 of the header: control character 0x0A in a "
       "string (write it as an escape)"},
      {"leading zero", fileOf(R"({"a":{"shape":[01]}})"),
       "invalid JSON at byte 16 of the header: expected ',' or ']', found "
       "'1'"},
      {"bare minus", fileOf(R"({"a":{"shape":[-]}})"),
       "invalid JSON at byte 16 of the header: expected a digit, found ']'"},
      {"bare point", fileOf(R"({"a":{"shape":[1.]}})"),
       "invalid JSON at byte 17 of the header: expected a digit after '.', "
       "found ']'"},
      {"bad literal in unknown field", fileOf(R"({"a":{"x":nul}})"),
       "invalid JSON at byte 10 of the header: expected a value, found 'n'"},
      {"too deep", fileOf(nested(126)),
       "invalid JSON at byte 135 of the header: nesting deeper than 127 "
       "levels"},
      {"deep enough", fileOf(nested(125)), "tensor 'a': missing dtype"},
      // Names.
      {"duplicate name", fileOf("{" + a4 + "," + a4 + "}", 4),
       "tensor 'a' is listed twice in the header"},
      {"name with a newline", fileOf(R"({"a\nb":[]})"),
       "tensor 'a\\nb': expected an object with dtype, shape and "
       "data_offsets, found an array"},
      // __metadata__.
      {"duplicate __metadata__",
       fileOf(R"({"__metadata__":{},"__metadata__":{}})"),
       "\"__metadata__\" is listed twice in the header"},
      {"duplicate metadata key",
       fileOf(R"({"__metadata__":{"k":"1","k":"2"}})"),
       "\"__metadata__\": key 'k' is listed twice"},
      {"non-string metadata value", fileOf(R"({"__metadata__":{"k":1}})"),
       "\"__metadata__\": the value of 'k' must be a string, found a number"},
      {"nested metadata value", fileOf(R"({"__metadata__":{"k":{}}})"),
       "\"__metadata__\": the value of 'k' must be a string, found an "
       "object"},
      {"metadata array", fileOf(R"({"__metadata__":["a"]})"),
       "\"__metadata__\" must be an object of strings to strings, found an "
       "array"},
      // Tensor entries.
      {"entry not an object", fileOf(R"({"a":[]})"),
       "tensor 'a': expected an object with dtype, shape and data_offsets, "
       "found an array"},
      {"entry null", fileOf(R"({"a":null})"),
       "tensor 'a': expected an object with dtype, shape and data_offsets, "
       "found null"},
      {"missing dtype",
       fileOf(R"({"a":{"shape":[1],"data_offsets":[0,4]}})", 4),
       "tensor 'a': missing dtype"},
      {"missing shape",
       fileOf(R"({"a":{"dtype":"F32","data_offsets":[0,4]}})", 4),
       "tensor 'a': missing shape"},
      {"missing data_offsets", fileOf(R"({"a":{"dtype":"F32","shape":[1]}})"),
       "tensor 'a': missing data_offsets"},
      {"dtype twice",
       fileOf(
           R"({"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
           4),
       "tensor 'a': dtype is given twice"},
      {"shape twice", fileOf(R"({"a":{"shape":[1],"shape":[1]}})"),
       "tensor 'a': shape is given twice"},
      {"data_offsets twice",
       fileOf(R"({"a":{"data_offsets":[0,4],"data_offsets":[0,4]}})"),
       "tensor 'a': data_offsets is given twice"},
      // dtype.
      {"unknown dtype", fileOf("{" + T("a", "F33", "[1]", "[0,4]") + "}", 4),
       "tensor 'a': unknown dtype 'F33'"},
      {"MLIR spelling", fileOf("{" + T("a", "bf16", "[1]", "[0,2]") + "}", 2),
       "tensor 'a': unknown dtype 'bf16'"},
      {"lower case", fileOf("{" + T("a", "f32", "[1]", "[0,4]") + "}", 4),
       "tensor 'a': unknown dtype 'f32'"},
      {"F8_E8M0", fileOf("{" + T("a", "F8_E8M0", "[1]", "[0,1]") + "}", 1),
       "tensor 'a': unsupported dtype F8_E8M0 (weight-layout has no such "
       "element type)"},
      {"F4", fileOf("{" + T("a", "F4", "[2]", "[0,1]") + "}", 1),
       "tensor 'a': unsupported dtype F4 (weight-layout has no such element "
       "type)"},
      {"C64", fileOf("{" + T("a", "C64", "[1]", "[0,8]") + "}", 8),
       "tensor 'a': unsupported dtype C64 (weight-layout has no such element "
       "type)"},
      {"dtype number",
       fileOf(R"({"a":{"dtype":5,"shape":[1],"data_offsets":[0,4]}})", 4),
       "tensor 'a': dtype must be a string, found a number"},
      // shape.
      {"negative dim", fileOf("{" + T("a", "F32", "[2,-3]", "[0,4]") + "}", 4),
       "tensor 'a': shape[1] is negative (-3)"},
      {"minus zero", fileOf("{" + T("a", "F32", "[-0]", "[0,0]") + "}"),
       "tensor 'a': shape[0] is negative (-0)"},
      {"float dim", fileOf("{" + T("a", "F32", "[2.0]", "[0,8]") + "}", 8),
       "tensor 'a': shape[0] is not an integer (2.0)"},
      {"exponent dim",
       fileOf("{" + T("a", "F32", "[1e2]", "[0,400]") + "}", 400),
       "tensor 'a': shape[0] is not an integer (1e2)"},
      {"dim above u64",
       fileOf("{" + T("a", "F32", "[18446744073709551616]", "[0,4]") + "}", 4),
       "tensor 'a': shape[0] is too large (18446744073709551616)"},
      {"dim above i64",
       fileOf("{" + T("a", "F32", "[9223372036854775808]", "[0,4]") + "}", 4),
       "tensor 'a': shape[0] is too large (9223372036854775808)"},
      {"string dim", fileOf("{" + T("a", "F32", "[\"2\"]", "[0,8]") + "}", 8),
       "tensor 'a': shape[0] must be a non-negative integer, found a string"},
      {"shape not array", fileOf("{" + T("a", "F32", "2", "[0,8]") + "}", 8),
       "tensor 'a': shape must be an array of non-negative integers, found a "
       "number"},
      {"element count overflow",
       fileOf("{" + T("a", "F32", "[4294967296,4294967296]", "[0,0]") + "}"),
       "tensor 'a': shape [4294967296, 4294967296] of F32 is too large (its "
       "size overflows 64 bits)"},
      {"overflow before a zero",
       fileOf("{" + T("a", "F32", "[4294967296,4294967296,0]", "[0,0]") + "}"),
       "tensor 'a': shape [4294967296, 4294967296, 0] of F32 is too large (its "
       "size overflows 64 bits)"},
      {"byte size overflow",
       fileOf("{" + T("a", "F32", "[4611686018427387904]", "[0,0]") + "}"),
       "tensor 'a': shape [4611686018427387904] of F32 is too large (its size "
       "overflows 64 bits)"},
      // data_offsets.
      {"one offset", fileOf("{" + T("a", "F32", "[1]", "[0]") + "}", 4),
       "tensor 'a': data_offsets must be [begin, end], found 1 element"},
      {"no offsets", fileOf("{" + T("a", "F32", "[1]", "[]") + "}", 4),
       "tensor 'a': data_offsets must be [begin, end], found 0 elements"},
      {"three offsets", fileOf("{" + T("a", "F32", "[1]", "[0,4,8]") + "}", 4),
       "tensor 'a': data_offsets must be [begin, end], found 3 elements"},
      {"offsets object", fileOf("{" + T("a", "F32", "[1]", "{}") + "}", 4),
       "tensor 'a': data_offsets must be [begin, end], found an object"},
      {"negative offset", fileOf("{" + T("a", "F32", "[1]", "[-1,4]") + "}", 4),
       "tensor 'a': data_offsets[0] is negative (-1)"},
      {"float offset", fileOf("{" + T("a", "F32", "[1]", "[0,4.5]") + "}", 4),
       "tensor 'a': data_offsets[1] is not an integer (4.5)"},
      {"huge offset",
       fileOf("{" + T("a", "F32", "[1]", "[0,18446744073709551616]") + "}", 4),
       "tensor 'a': data_offsets[1] is too large (18446744073709551616)"},
      {"string offset",
       fileOf("{" + T("a", "F32", "[1]", "[0,\"4\"]") + "}", 4),
       "tensor 'a': data_offsets[1] must be a non-negative integer, found a "
       "string"},
      {"reversed", fileOf("{" + T("a", "F32", "[1]", "[8,4]") + "}", 8),
       "tensor 'a': data_offsets [8, 4] end before they begin"},
      {"size mismatch",
       fileOf("{" + T("model.norm.weight", "BF16", "[4]", "[0,6]") + "}", 6),
       "tensor 'model.norm.weight': data_offsets [0, 6] hold 6 bytes, but "
       "shape [4] of BF16 needs 8"},
      {"size mismatch, rank 0",
       fileOf("{" + T("s", "I64", "[]", "[0,4]") + "}", 4),
       "tensor 's': data_offsets [0, 4] hold 4 bytes, but shape [] of I64 "
       "needs 8"},
      // Tiling.
      {"gap", fileOf("{" + a4 + "," + T("b", "F32", "[2]", "[8,16]") + "}", 16),
       "tensor 'b': data_offsets [8, 16] leave a gap after 'a' (ends at 4)"},
      {"gap at the start", fileOf("{" + T("a", "F32", "[1]", "[4,8]") + "}", 8),
       "tensor 'a': data_offsets [4, 8] leave a gap at the start of the data "
       "section"},
      {"far zero-sized tensor",
       fileOf(
           "{" +
           T("a", "F32", "[0]", "[18446744073709551615,18446744073709551615]") +
           "}"),
       "tensor 'a': data_offsets [18446744073709551615, 18446744073709551615] "
       "leave a gap at the start of the data section"},
      {"overlap",
       fileOf("{" + T("b", "F32", "[2]", "[0,8]") + "," +
                  T("c", "F32", "[2]", "[4,12]") + "}",
              12),
       "tensor 'c' overlaps 'b'"},
      {"same range",
       fileOf("{" + a4 + "," + T("b", "F32", "[1]", "[0,4]") + "}", 4),
       "tensor 'b' overlaps 'a'"},
      {"zero-sized inside another",
       fileOf("{" + T("a", "F32", "[2]", "[0,8]") + "," +
                  T("z", "F32", "[0]", "[4,4]") + "}",
              8),
       "tensor 'z' overlaps 'a'"},
      {"short of the end",
       fileOf("{" + T("a", "U8", "[96]", "[0,96]") + "}", 100),
       "the tensors end at byte 96 of the data section, but it holds 100 "
       "bytes"},
      {"no tensors, some data", fileOf("{}", 3),
       "the tensors end at byte 0 of the data section, but it holds 3 bytes"},
      {"past the end", fileOf("{" + T("a", "F32", "[2]", "[0,8]") + "}", 4),
       "tensor 'a': data_offsets [0, 8] run past the end of the data section "
       "(4 bytes)"},
  };
  for (const Bad &b : table)
    EXPECT_EQ(errorOf(b.file), b.message) << b.what;
}

TEST(SafetensorsHeader, Accepted) {
  std::string error;
  // No tensors, no data; whitespace around the object (the reference never
  // enforced a leading '{').
  for (const char *json : {"{}", "  {}", "\n\t\r {} \t\r\n", "{ }"}) {
    std::optional<Header> h = parse(fileOf(json), error);
    ASSERT_TRUE(h) << json << ": " << error;
    EXPECT_TRUE(h->tensors.empty());
    EXPECT_EQ(h->dataOffset, 8 + std::strlen(json));
  }
  // Unknown fields are ignored (the reference's serde structs do not deny
  // them), whatever they hold; null __metadata__ is no metadata.
  std::optional<Header> h = parse(
      fileOf(
          R"({"__metadata__":null,"a":{"x":{"y":[1,-2.5e3,{"":null}],"z":true},)"
          R"("dtype":"F32","shape":[1],"w":"\u00e9","data_offsets":[0,4]}})",
          4),
      error);
  ASSERT_TRUE(h) << error;
  EXPECT_TRUE(h->metadata.empty());
  ASSERT_EQ(h->tensors.size(), 1u);

  // Zero-sized tensors: several at one offset (header order kept), between
  // others and at the end; a rank-0 tensor; the header in any order.
  h = parse(fileOf("{" + T("s", "I64", "[]", "[4,12]") + "," +
                       T("z2", "F32", "[0]", "[4,4]") + "," +
                       T("a", "U8", "[4]", "[0,4]") + "," +
                       T("z1", "F32", "[2,0]", "[4,4]") + "," +
                       T("zend", "BOOL", "[0,9223372036854775807]", "[12,12]") +
                       "}",
                   12),
            error);
  ASSERT_TRUE(h) << error;
  std::vector<std::string> names;
  for (const TensorEntry &t : h->tensors)
    names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"a", "z2", "z1", "s", "zend"}));
  EXPECT_EQ(h->tensors[3].shape, Shape{});
  EXPECT_EQ(h->tensors[3].begin, 4u);
  EXPECT_EQ(h->tensors[3].end, 12u);
  EXPECT_EQ(h->tensors[4].shape, (Shape{0, INT64_MAX}));
  EXPECT_EQ(h->byName.at("zend"), 4u);

  // Escapes in names and metadata.
  h = parse(fileOf(R"({"\u00e9\ud83d\ude00\"\\\/\b\f\n\r\t\u0000":)"
                   R"({"dtype":"BOOL","shape":[1],"data_offsets":[0,1]},)"
                   R"("__metadata__":{"k\u00e9":"v\"","format":"pt"}})",
                   1),
            error);
  ASSERT_TRUE(h) << error;
  EXPECT_EQ(h->tensors[0].name, std::string("é😀\"\\/\b\f\n\r\t\0", 15));
  EXPECT_EQ(h->metadata, (std::map<std::string, std::string>{
                             {"k\xc3\xa9", "v\""}, {"format", "pt"}}));

  // Every supported dtype name, and the biggest offsets that can tile.
  for (int k = 0; k < wl::layout::kNumDTypes; ++k) {
    DType d = (DType)k;
    int size = wl::layout::dtypeSize(d);
    std::string json = "{" +
                       T("t", std::string(wl::layout::safetensorsName(d)),
                         "[3]", "[0," + std::to_string(3 * size) + "]") +
                       "}";
    h = parse(fileOf(json, 3 * size), error);
    ASSERT_TRUE(h) << json << ": " << error;
    EXPECT_EQ(h->tensors[0].dtype, d);
  }

  // Only min(fileSize, 8 + N) bytes are needed.
  std::string file = fileOf("{" + T("a", "F32", "[1000]", "[0,4000]") + "}");
  h = parseHeader((const uint8_t *)file.data(), file.size(), file.size() + 4000,
                  error);
  ASSERT_TRUE(h) << error;
  h = parseHeader((const uint8_t *)file.data(), file.size() - 1,
                  file.size() + 4000, error);
  EXPECT_FALSE(h);
}

/// Random byte edits of valid files never crash the parser, and what it
/// accepts tiles the data section.
TEST(SafetensorsHeader, MutatedFiles) {
  std::mt19937_64 rng(7);
  std::vector<std::string> seeds;
  seeds.push_back(layoutFile({{"a", DType::F32, {2}},
                              {"b", DType::BF16, {3, 1}},
                              {"c", DType::U8, {0}}},
                             {{"format", "pt"}})
                      .prefix);
  seeds.back().resize(seeds.back().size() + 14, '\0');
  seeds.push_back(
      fileOf(R"({"x":{"dtype":"I8","shape":[2],"data_offsets":[0,2]}})", 2));
  const char kAlphabet[] = "{}[],:\"\\0123456789-.eE tnul";
  for (int iter = 0; iter < 100000; ++iter) {
    std::string f = seeds[rng() % seeds.size()];
    for (int k = (int)(rng() % 4) + 1; k > 0; --k) {
      size_t at = rng() % f.size();
      switch (rng() % 4) {
      case 0:
        f[at] = (char)rng();
        break;
      case 1:
        f[at] = kAlphabet[rng() % (sizeof kAlphabet - 1)];
        break;
      case 2:
        f.erase(at, 1);
        break;
      default:
        f.insert(at, 1, kAlphabet[rng() % (sizeof kAlphabet - 1)]);
      }
      if (f.empty())
        f = "x";
    }
    std::string error;
    std::optional<Header> h = parse(f, error);
    if (!h) {
      EXPECT_FALSE(error.empty());
      EXPECT_EQ(error.find('\n'), std::string::npos) << error;
      continue;
    }
    uint64_t at = 0;
    for (const TensorEntry &t : h->tensors) {
      EXPECT_EQ(t.begin, at);
      at = t.end;
    }
    EXPECT_EQ(h->dataOffset + at, f.size());
  }
}

//===----------------------------------------------------------------------===//
// Files and checkpoints
//===----------------------------------------------------------------------===//

class TempDir {
public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "wl-st-XXXXXX").string();
    char *p = mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string &path() const { return path_; }
  std::string operator/(const std::string &name) const {
    return path_ + "/" + name;
  }

private:
  std::string path_;
};

void writeFile(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), (std::streamsize)bytes.size());
  ASSERT_TRUE(out.good()) << path;
}

/// The byte `i` of tensor `name`'s data.
uint8_t pattern(const std::string &name, uint64_t i) {
  return (uint8_t)(std::hash<std::string>()(name) + i * 131);
}

/// A safetensors file of `tensors` whose data follow pattern().
std::string makeFile(const std::vector<OutTensor> &tensors,
                     const std::map<std::string, std::string> &metadata = {}) {
  FileLayout l = layoutFile(tensors, metadata);
  std::string f = l.prefix;
  f.resize(l.fileSize);
  for (size_t k = 0; k < tensors.size(); ++k)
    for (uint64_t i = 0; i < tensors[k].bytes(); ++i)
      f[l.offsets[k] + i] = (char)pattern(tensors[k].name, i);
  return f;
}

void expectData(const SafetensorsFile &f, const TensorEntry &t) {
  const uint8_t *p = f.data(t);
  for (uint64_t i = 0; i < t.end - t.begin; ++i)
    ASSERT_EQ(p[i], pattern(t.name, i)) << t.name << " byte " << i;
}

TEST(SafetensorsFileTest, OpenAndRead) {
  TempDir dir;
  std::vector<OutTensor> ts = {{"big", DType::F32, {3000}},
                               {"b", DType::BF16, {2, 3}},
                               {"z", DType::I8, {0}},
                               {"s", DType::F64, {}}};
  std::string bytes = makeFile(ts, {{"format", "pt"}});
  writeFile(dir / "m.safetensors", bytes);
  std::string error;
  auto f = SafetensorsFile::open(dir / "m.safetensors", error);
  ASSERT_TRUE(f) << error;
  EXPECT_EQ(f->path(), dir / "m.safetensors");
  EXPECT_EQ(f->fileSize(), bytes.size());
  EXPECT_GE(f->fd(), 0);
  EXPECT_EQ(f->header().metadata.at("format"), "pt");
  FileLayout l = layoutFile(ts, {{"format", "pt"}});
  for (size_t k = 0; k < ts.size(); ++k) {
    const TensorEntry *t = f->find(ts[k].name);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(f->fileOffset(*t), l.offsets[k]);
    EXPECT_EQ(f->data(*t),
              f->data(f->header().tensors[0]) + (l.offsets[k] - l.offsets[0]));
    expectData(*f, *t);
  }
  EXPECT_EQ(f->find("nope"), nullptr);
  // The hints keep the bytes readable (they come back from the page cache).
  f->willNeed(0, f->fileSize());
  f->willNeed(5, 6);
  f->willNeed(f->fileSize(), f->fileSize() + 100);
  f->release(0, f->fileSize());
  f->release(100, 200);
  f->release(0, UINT64_MAX);
  f->release(UINT64_MAX - 1, UINT64_MAX);
  for (const TensorEntry &t : f->header().tensors)
    expectData(*f, t);
  // The fd reads the file.
  char first[8];
  ASSERT_EQ(pread(f->fd(), first, 8, 0), 8);
  EXPECT_EQ(std::string(first, 8), bytes.substr(0, 8));
}

TEST(SafetensorsFileTest, EmptyDataSection) {
  TempDir dir;
  writeFile(dir / "e.safetensors", layoutFile({}, {}).prefix);
  writeFile(dir / "z.safetensors", makeFile({{"z", DType::F32, {0, 4}}}));
  std::string error;
  auto e = SafetensorsFile::open(dir / "e.safetensors", error);
  ASSERT_TRUE(e) << error;
  EXPECT_TRUE(e->header().tensors.empty());
  e->release(0, e->fileSize());
  auto z = SafetensorsFile::open(dir / "z.safetensors", error);
  ASSERT_TRUE(z) << error;
  ASSERT_EQ(z->header().tensors.size(), 1u);
  EXPECT_EQ(z->fileOffset(z->header().tensors[0]), z->fileSize());
}

TEST(SafetensorsFileTest, Errors) {
  TempDir dir;
  std::string good = makeFile({{"a", DType::F32, {4}}});
  writeFile(dir / "truncated.safetensors", good.substr(0, good.size() - 1));
  writeFile(dir / "empty.safetensors", "");
  writeFile(dir / "short.safetensors", "\x01\x02\x03");
  writeFile(dir / "header-cut.safetensors", good.substr(0, 20));
  std::string error;
  EXPECT_FALSE(SafetensorsFile::open(dir / "truncated.safetensors", error));
  EXPECT_EQ(error, dir / "truncated.safetensors" +
                       ": tensor 'a': data_offsets [0, 16] run past the end "
                       "of the data section (15 bytes)");
  EXPECT_FALSE(SafetensorsFile::open(dir / "empty.safetensors", error));
  EXPECT_EQ(error, dir / "empty.safetensors" + ": the file is empty");
  EXPECT_FALSE(SafetensorsFile::open(dir / "short.safetensors", error));
  EXPECT_EQ(error, dir / "short.safetensors" +
                       ": the file holds 3 bytes, too few for the 8-byte "
                       "header length");
  EXPECT_FALSE(SafetensorsFile::open(dir / "header-cut.safetensors", error));
  EXPECT_EQ(error, dir / "header-cut.safetensors" + ": header length " +
                       std::to_string(good.size() - 16 - 8) +
                       " exceeds the file (20 bytes)");
  EXPECT_FALSE(SafetensorsFile::open(dir / "missing.safetensors", error));
  EXPECT_EQ(error, dir / "missing.safetensors" +
                       ": cannot open: No such file or directory");
  EXPECT_FALSE(SafetensorsFile::open(dir.path(), error));
  EXPECT_EQ(error, dir.path() + ": is a folder, not a regular file");
}

std::vector<std::string> fileNames(const Checkpoint &ck) {
  std::vector<std::string> out;
  for (const auto &f : ck.files())
    out.push_back(fs::path(f->path()).filename().string());
  return out;
}

TEST(CheckpointTest, SingleFile) {
  TempDir dir;
  writeFile(dir / "model.safetensors",
            makeFile({{"w", DType::BF16, {4, 4}}, {"b", DType::F32, {4}}}));
  writeFile(dir / "config.json", "{}");
  std::string error;
  auto ck = Checkpoint::open(dir.path(), error);
  ASSERT_TRUE(ck) << error;
  EXPECT_EQ(ck->folder(), dir.path());
  EXPECT_EQ(ck->weightFileNames(),
            std::vector<std::string>{"model.safetensors"});
  ASSERT_EQ(ck->files().size(), 1u);
  Checkpoint::Located w = ck->find("w");
  ASSERT_TRUE(w.file && w.entry);
  expectData(*w.file, *w.entry);
  EXPECT_EQ(ck->find("nope").file, nullptr);
  EXPECT_EQ(ck->tensors().size(), 2u);
  EXPECT_EQ(ck->tensors()[0].entry->name, "w");

  // A trailing slash; the path of the file itself.
  ck = Checkpoint::open(dir.path() + "/", error);
  ASSERT_TRUE(ck) << error;
  EXPECT_EQ(ck->folder(), dir.path());
  ck = Checkpoint::open(dir / "model.safetensors", error);
  ASSERT_TRUE(ck) << error;
  EXPECT_EQ(ck->folder(), dir.path());
  EXPECT_EQ(ck->weightFileNames(),
            std::vector<std::string>{"model.safetensors"});

  // Exactly one other *.safetensors.
  TempDir other;
  writeFile(other / "weights.safetensors", makeFile({{"x", DType::U8, {3}}}));
  ck = Checkpoint::open(other.path(), error);
  ASSERT_TRUE(ck) << error;
  EXPECT_EQ(ck->weightFileNames(),
            std::vector<std::string>{"weights.safetensors"});
  expectData(*ck->files()[0], *ck->find("x").entry);
}

TEST(CheckpointTest, NamedFilesOfARank) {
  // vLLM's sharded state: two ranks' parts in one folder.
  TempDir dir;
  writeFile(dir / "model-rank-0-part-0.safetensors",
            makeFile({{"w", DType::BF16, {4, 4}}}));
  writeFile(dir / "model-rank-0-part-1.safetensors",
            makeFile({{"b", DType::F32, {4}}}));
  writeFile(dir / "model-rank-1-part-0.safetensors",
            makeFile({{"w", DType::BF16, {4, 4}}, {"b", DType::F32, {4}}}));
  const std::vector<std::string> all = {"model-rank-1-part-0.safetensors",
                                        "model-rank-0-part-0.safetensors",
                                        "model-rank-0-part-1.safetensors"};
  std::string error;
  auto ck = Checkpoint::openFiles(
      dir.path(),
      {"model-rank-0-part-0.safetensors", "model-rank-0-part-1.safetensors"},
      all, error);
  ASSERT_TRUE(ck) << error;
  EXPECT_EQ(ck->files().size(), 2u);
  EXPECT_EQ(ck->tensors().size(), 2u);
  expectData(*ck->find("w").file, *ck->find("w").entry);
  expectData(*ck->find("b").file, *ck->find("b").entry);
  // Every weight file of the folder, sorted: none is an "other file".
  EXPECT_EQ(ck->weightFileNames(),
            (std::vector<std::string>{"model-rank-0-part-0.safetensors",
                                      "model-rank-0-part-1.safetensors",
                                      "model-rank-1-part-0.safetensors"}));
  // A tensor in two of the files; a name that is a path.
  EXPECT_FALSE(Checkpoint::openFiles(
      dir.path(),
      {"model-rank-0-part-0.safetensors", "model-rank-1-part-0.safetensors"},
      all, error));
  EXPECT_NE(error.find("tensor 'w' is in both"), std::string::npos) << error;
  EXPECT_FALSE(Checkpoint::openFiles(dir.path(), {"../x.safetensors"}, all,
                                     error));
  EXPECT_NE(error.find("is not a file name"), std::string::npos) << error;
}

TEST(CheckpointTest, FolderErrors) {
  std::string error;
  TempDir two;
  writeFile(two / "a.safetensors", makeFile({{"x", DType::U8, {3}}}));
  writeFile(two / "b.safetensors", makeFile({{"y", DType::U8, {3}}}));
  EXPECT_FALSE(Checkpoint::open(two.path(), error));
  EXPECT_EQ(error, two.path() +
                       ": 2 .safetensors files ('a.safetensors', 'b.safetensors') "
                       "but no model.safetensors.index.json to say which "
                       "tensor is where");
  // File names of the folder are shown escaped: no forged line.
  TempDir evil;
  writeFile(evil / "a\nerror: forged.safetensors", makeFile({{"x", DType::U8, {3}}}));
  writeFile(evil / "b.safetensors", makeFile({{"y", DType::U8, {3}}}));
  EXPECT_FALSE(Checkpoint::open(evil.path(), error));
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  EXPECT_NE(error.find("'a\\nerror: forged.safetensors'"), std::string::npos)
      << error;
  writeFile(evil / "short\nfile", "x");
  EXPECT_FALSE(SafetensorsFile::open(evil / "short\nfile", error));
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  TempDir none;
  writeFile(none / "config.json", "{}");
  EXPECT_FALSE(Checkpoint::open(none.path(), error));
  EXPECT_EQ(error, none.path() + ": no .safetensors file");
  EXPECT_FALSE(Checkpoint::open(none / "nothing", error));
  EXPECT_EQ(error,
            none / "nothing" + ": cannot open: No such file or directory");
  TempDir bad;
  writeFile(bad / "model.safetensors", fileOf("{}", 1));
  EXPECT_FALSE(Checkpoint::open(bad.path(), error));
  EXPECT_EQ(error, bad / "model.safetensors" +
                       ": the tensors end at byte 0 of the data section, but "
                       "it holds 1 bytes");
}

/// A folder with two shards: a, b in the first, c in the second.
struct Sharded {
  TempDir dir;
  std::vector<OutTensor> tensors = {
      {"a", DType::F32, {2}}, {"b", DType::BF16, {4}}, {"c", DType::U8, {16}}};
  std::vector<FileGroup> groups;
  std::string shard1 = "model-00001-of-00002.safetensors";
  std::string shard2 = "model-00002-of-00002.safetensors";
  std::string index() const { return dir / "model.safetensors.index.json"; }

  Sharded() {
    groups = splitFiles(tensors, 16);
    EXPECT_EQ(groups.size(), 2u);
    for (const FileGroup &g : groups) {
      std::vector<OutTensor> part;
      for (size_t k : g.tensors)
        part.push_back(tensors[k]);
      writeFile(dir / g.name, makeFile(part));
    }
    writeIndex(indexJson(tensors, groups));
    writeFile(dir / "config.json", "{}");
    writeFile(dir / "tokenizer.json", "{}");
  }
  void writeIndex(const std::string &text) const { writeFile(index(), text); }
  void writeMap(const std::string &entries) const {
    writeIndex(R"({"metadata":{"total_size":32},"weight_map":{)" + entries +
               "}}");
  }
};

TEST(CheckpointTest, IndexWithTwoShards) {
  Sharded s;
  std::string error;
  auto ck = Checkpoint::open(s.dir.path(), error);
  ASSERT_TRUE(ck) << error;
  EXPECT_EQ(fileNames(*ck), (std::vector<std::string>{s.shard1, s.shard2}));
  EXPECT_EQ(ck->weightFileNames(),
            (std::vector<std::string>{s.shard1, s.shard2,
                                      "model.safetensors.index.json"}));
  std::vector<std::string> names;
  for (const Checkpoint::Located &t : ck->tensors()) {
    names.push_back(t.entry->name);
    expectData(*t.file, *t.entry);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(ck->find("c").file, ck->files()[1].get());
  EXPECT_EQ(ck->find("a").file, ck->files()[0].get());

  // The index file's own path.
  ck = Checkpoint::open(s.index(), error);
  ASSERT_TRUE(ck) << error;
  EXPECT_EQ(ck->weightFileNames(),
            (std::vector<std::string>{s.shard1, s.shard2,
                                      "model.safetensors.index.json"}));

  // model.safetensors wins over the index (as in transformers); every
  // weight file is listed.
  writeFile(s.dir / "model.safetensors", makeFile({{"m", DType::U8, {1}}}));
  ck = Checkpoint::open(s.dir.path(), error);
  ASSERT_TRUE(ck) << error;
  EXPECT_EQ(fileNames(*ck), std::vector<std::string>{"model.safetensors"});
  EXPECT_EQ(ck->weightFileNames(),
            (std::vector<std::string>{s.shard1, s.shard2, "model.safetensors",
                                      "model.safetensors.index.json"}));
}

TEST(CheckpointTest, OtherIndexName) {
  Sharded s;
  std::string text;
  {
    std::ifstream in(s.index());
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  fs::remove(s.index());
  writeFile(s.dir / "pytorch_model.safetensors.index.json", text);
  std::string error;
  auto ck = Checkpoint::open(s.dir.path(), error);
  ASSERT_TRUE(ck) << error;
  EXPECT_EQ(ck->files().size(), 2u);
}

TEST(CheckpointTest, IndexErrors) {
  std::string error;
  auto expectError = [&](const Sharded &s, const std::string &message) {
    EXPECT_FALSE(Checkpoint::open(s.dir.path(), error)) << message;
    EXPECT_EQ(error, message);
  };
  const std::string good1 = "\"a\":\"model-00001-of-00002.safetensors\","
                            "\"b\":\"model-00001-of-00002.safetensors\"";
  const std::string good2 = "\"c\":\"model-00002-of-00002.safetensors\"";
  {
    Sharded s;
    fs::remove(s.dir / s.shard2);
    expectError(s, s.index() + ": '" + s.shard2 + "', named for 'c', is missing");
  }
  {
    Sharded s; // a name mapped to the wrong file
    s.writeMap("\"a\":\"model-00002-of-00002.safetensors\","
               "\"b\":\"model-00001-of-00002.safetensors\"," +
               good2);
    expectError(s, s.index() + ": \"weight_map\" maps 'a' to '" + s.shard2 +
                       "', but it is in '" + s.shard1 + "'");
  }
  {
    Sharded s; // a name no file holds
    s.writeMap(good1 + "," + good2 + ",\"x\":\"" + s.shard1 + "\"");
    expectError(s, s.index() + ": \"weight_map\" maps 'x' to '" + s.shard1 +
                       "', which does not hold it");
  }
  {
    Sharded s; // a tensor in two files
    writeFile(s.dir / s.shard2,
              makeFile({{"c", DType::U8, {16}}, {"a", DType::F32, {2}}}));
    expectError(s, s.index() + ": tensor 'a' is in both '" + s.shard1 +
                       "' and '" + s.shard2 + "'");
  }
  {
    Sharded s; // a tensor not in the map
    s.writeMap("\"a\":\"model-00001-of-00002.safetensors\"," + good2);
    expectError(s, s.index() + ": tensor 'b' of '" + s.shard1 +
                       "' is not in \"weight_map\"");
  }
  {
    Sharded s;
    s.writeMap(good1 + ",\"c\":\"../model-00002-of-00002.safetensors\"");
    expectError(s, s.index() +
                       ": the file name '../model-00002-of-00002.safetensors' "
                       "of 'c' contains '..'");
    s.writeMap(good1 + ",\"c\":\"..\"");
    expectError(s, s.index() + ": the file name '..' of 'c' contains '..'");
    s.writeMap(good1 + ",\"c\":\"/etc/passwd\"");
    expectError(s, s.index() + ": the file name '/etc/passwd' of 'c' is not "
                               "a plain file name (it contains a path "
                               "separator)");
    s.writeMap(good1 + ",\"c\":\"\"");
    expectError(s, s.index() + ": the file name '' of 'c' is empty");
  }
  {
    Sharded s; // a broken shard
    writeFile(s.dir / s.shard2, fileOf("{}", 5));
    expectError(s, s.dir / s.shard2 +
                       ": the tensors end at byte 0 of the data section, but "
                       "it holds 5 bytes");
  }
  {
    Sharded s; // the index itself
    s.writeIndex("{");
    expectError(s, s.index() + ": invalid JSON at byte 1 of the index: "
                               "expected a string key, found the end");
    s.writeIndex("[]");
    expectError(s, s.index() + ": the index must be a JSON object, found an "
                               "array");
    s.writeIndex(R"({"metadata":{}})");
    expectError(s, s.index() + ": no \"weight_map\"");
    s.writeIndex(R"({"weight_map":[]})");
    expectError(s, s.index() + ": \"weight_map\" must map tensor names to "
                               "file names, found an array");
    s.writeMap(good1 + "," + good2 + "," + good2);
    expectError(s, s.index() + ": \"weight_map\" lists 'c' twice");
    s.writeMap(good1 + ",\"c\":2");
    expectError(s, s.index() + ": \"weight_map\": the file of 'c' must be a "
                               "string, found a number");
    s.writeIndex(R"({"metadata":{"total_size":"32"},"weight_map":{}})");
    expectError(s, s.index() + ": \"metadata\": \"total_size\" must be a "
                               "number, found a string");
    s.writeIndex(R"({"weight_map":{},"weight_map":{}})");
    expectError(s, s.index() + ": \"weight_map\" is given twice");
    s.writeIndex("{\"weight_map\":{\"\xff\":\"x\"}}");
    expectError(s, s.index() + ": not valid UTF-8 (byte 16)");
    s.writeIndex(R"({"weight_map":{}} x)");
    expectError(s, s.index() + ": invalid JSON at byte 18 of the index: "
                               "unexpected 'x' after the index's object");
  }
  {
    Sharded s; // extra top-level keys and metadata are ignored
    s.writeIndex(R"({"metadata":{"total_size":32.5,"x":[{}]},"other":[1],)"
                 R"("weight_map":{)" +
                 good1 + "," + good2 + "}}");
    EXPECT_TRUE(Checkpoint::open(s.dir.path(), error)) << error;
  }
}

//===----------------------------------------------------------------------===//
// The shared example checkpoints
//===----------------------------------------------------------------------===//

TEST(SharedCheckpoints, OpenAndCheck) {
  const fs::path root = wl::test::sharedCheckpoints() / "hf";
  std::vector<fs::path> folders;
  std::error_code ec;
  if (fs::is_directory(root, ec))
    for (const auto &d : fs::directory_iterator(root, ec))
      if (fs::exists(d.path() / "model.safetensors", ec))
        folders.push_back(d.path());
  if (folders.empty())
    GTEST_SKIP() << "no " << root << "/*/model.safetensors";
  std::sort(folders.begin(), folders.end());
  for (const fs::path &folder : folders) {
    SCOPED_TRACE(folder.string());
    std::string error;
    auto ck = Checkpoint::open(folder.string(), error);
    ASSERT_TRUE(ck) << error;
    ASSERT_EQ(ck->files().size(), 1u);
    const SafetensorsFile &f = *ck->files()[0];
    const Header &h = f.header();
    EXPECT_FALSE(h.tensors.empty());
    EXPECT_EQ(h.dataOffset % 8, 0u);
    uint64_t at = 0;
    std::vector<OutTensor> out;
    for (const TensorEntry &t : h.tensors) {
      EXPECT_EQ(t.begin, at) << t.name;
      std::optional<int64_t> n = wl::layout::numElements(t.shape);
      ASSERT_TRUE(n) << t.name;
      EXPECT_GT(*n, 0) << t.name;
      EXPECT_EQ(t.end - t.begin, (uint64_t)*n * wl::layout::dtypeSize(t.dtype))
          << t.name;
      EXPECT_EQ(ck->find(t.name).entry, &t);
      at = t.end;
      out.push_back({t.name, t.dtype, t.shape});
    }
    EXPECT_EQ(h.dataOffset + at, f.fileSize());
    // Written again by our writer, the header parses to the same entries.
    FileLayout l = layoutFile(out, h.metadata);
    EXPECT_EQ(l.fileSize - l.prefix.size(), at);
    std::optional<Header> again = parseHeader(
        (const uint8_t *)l.prefix.data(), l.prefix.size(), l.fileSize, error);
    ASSERT_TRUE(again) << error;
    ASSERT_EQ(again->tensors.size(), h.tensors.size());
    for (size_t k = 0; k < h.tensors.size(); ++k) {
      EXPECT_EQ(again->tensors[k].name, h.tensors[k].name);
      EXPECT_EQ(again->tensors[k].shape, h.tensors[k].shape);
      EXPECT_EQ(again->tensors[k].begin, h.tensors[k].begin);
    }
    EXPECT_EQ(again->metadata, h.metadata);
    EXPECT_EQ(ck->weightFileNames(),
              std::vector<std::string>{"model.safetensors"});
  }
}

} // namespace
