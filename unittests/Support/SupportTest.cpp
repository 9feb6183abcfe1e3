//===- SupportTest.cpp - caps, files, strict JSON, quoted names -----------===//
#include "wl/Support/InputFile.h"
#include "wl/Support/Json.h"
#include "wl/Support/Limits.h"
#include "wl/Support/Quote.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

using namespace wl;

namespace {

/// A temporary folder removed at the end of the test.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/wl-support-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string operator/(const std::string &name) const {
    return path + "/" + name;
  }
};

void write(const std::string &path, const std::string &text) {
  std::ofstream(path, std::ios::binary) << text;
}

//===----------------------------------------------------------------------===//
// quoteName, quoteText
//===----------------------------------------------------------------------===//

TEST(Quote, PlainNamesAreQuoted) {
  EXPECT_EQ(quoteName("model.norm.weight"), "'model.norm.weight'");
  EXPECT_EQ(quoteName(""), "''");
  EXPECT_EQ(quoteName("\xC3\xA9t\xC3\xA9"), "'\xC3\xA9t\xC3\xA9'"); // été
}

TEST(Quote, ControlsAndQuotesAreEscaped) {
  EXPECT_EQ(quoteName("a\nb\tc\rd"), "'a\\nb\\tc\\rd'");
  EXPECT_EQ(quoteName(std::string("a\0b", 3)), "'a\\x00b'");
  EXPECT_EQ(quoteName("\x1B[2J\x7F"), "'\\x1B[2J\\x7F'");
  EXPECT_EQ(quoteName("it's \\n"), "'it\\'s \\\\n'");
  // C1 controls, line separators and bidirectional overrides, as UTF-8.
  EXPECT_EQ(quoteName("\xC2\x9B"), "'\\xC2\\x9B'");
  EXPECT_EQ(quoteName("\xE2\x80\xA8"), "'\\xE2\\x80\\xA8'");
  EXPECT_EQ(quoteName("a\xE2\x80\xAE" "b"), "'a\\xE2\\x80\\xAEb'");
  // Bytes that are not UTF-8: a lone continuation, an overlong form, a
  // surrogate, a sequence cut short.
  EXPECT_EQ(quoteName("\x80"), "'\\x80'");
  EXPECT_EQ(quoteName("\xC0\xAF"), "'\\xC0\\xAF'");
  EXPECT_EQ(quoteName("\xED\xA0\x80"), "'\\xED\\xA0\\x80'");
  EXPECT_EQ(quoteName("x\xE2\x80"), "'x\\xE2\\x80'");
}

TEST(Quote, LongNamesAreCutAtACharacter) {
  std::string s(5'000'000, 'x');
  std::string q = quoteName(s);
  EXPECT_EQ(q, "'" + std::string(limits::kMaxShownNameBytes, 'x') + "...'");
  // A two-byte character straddling the cut is left out whole.
  std::string t(limits::kMaxShownNameBytes - 1, 'y');
  t += "\xC3\xA9z";
  EXPECT_EQ(quoteName(t),
            "'" + std::string(limits::kMaxShownNameBytes - 1, 'y') + "...'");
}

TEST(Quote, EveryByteStaysOnOneLine) {
  // Every string of up to two bytes: the result has no byte below 0x20 and
  // no DEL, and starts and ends with a quote.
  for (int a = 0; a < 256; ++a)
    for (int b = -1; b < 256; ++b) {
      std::string s(1, (char)a);
      if (b >= 0)
        s += (char)b;
      std::string q = quoteName(s);
      ASSERT_EQ(q.front(), '\'');
      ASSERT_EQ(q.back(), '\'');
      for (char c : q)
        ASSERT_FALSE((unsigned char)c < 0x20 || c == 0x7F) << a << " " << b;
    }
}

TEST(Quote, TextKeepsItsQuotes) {
  EXPECT_EQ(quoteText("layer_types[L] == 'full'"),
            "'layer_types[L] == 'full''");
  EXPECT_EQ(escapeText("a\nb"), "a\\nb");
}

//===----------------------------------------------------------------------===//
// readRegularFile
//===----------------------------------------------------------------------===//

TEST(InputFile, ReadsRegularFiles) {
  TempDir d;
  write(d / "a.json", "{\"x\": 1}");
  std::string out, error;
  ASSERT_TRUE(readRegularFile(d / "a.json", 100, out, error)) << error;
  EXPECT_EQ(out, "{\"x\": 1}");
  ASSERT_TRUE(::symlink((d / "a.json").c_str(), (d / "link").c_str()) == 0);
  ASSERT_TRUE(readRegularFile(d / "link", 100, out, error)) << error;
  EXPECT_EQ(out, "{\"x\": 1}");
  write(d / "empty", "");
  ASSERT_TRUE(readRegularFile(d / "empty", 0, out, error)) << error;
  EXPECT_EQ(out, "");
}

TEST(InputFile, RefusesWhatIsNotARegularFileWithoutBlocking) {
  TempDir d;
  std::string out, error;
  ASSERT_EQ(::mkfifo((d / "fifo").c_str(), 0600), 0);
  EXPECT_FALSE(readRegularFile(d / "fifo", 100, out, error));
  EXPECT_EQ(error, "is a FIFO, not a regular file");
  EXPECT_FALSE(readRegularFile(d.path, 100, out, error));
  EXPECT_EQ(error, "is a folder, not a regular file");
  EXPECT_FALSE(readRegularFile("/dev/zero", 100, out, error));
  EXPECT_EQ(error, "is a character device, not a regular file");
  int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::string sock = d / "sock";
  ASSERT_LT(sock.size(), sizeof addr.sun_path);
  std::copy(sock.begin(), sock.end(), addr.sun_path);
  ASSERT_EQ(::bind(s, (sockaddr *)&addr, sizeof addr), 0);
  EXPECT_FALSE(readRegularFile(sock, 100, out, error));
  EXPECT_EQ(error, "cannot open: No such device or address");
  ::close(s);
  EXPECT_FALSE(readRegularFile(d / "missing", 100, out, error));
  EXPECT_EQ(error, "cannot open: No such file or directory");
  EXPECT_FALSE(readRegularFile(std::string("a\0b", 3), 100, out, error));
  EXPECT_EQ(error, "cannot open: the path contains a NUL byte");
}

TEST(InputFile, RefusesFilesPastTheirCap) {
  TempDir d;
  write(d / "big", std::string(101, 'x'));
  std::string out = "kept?", error;
  EXPECT_FALSE(readRegularFile(d / "big", 100, out, error));
  EXPECT_EQ(error, "holds 101 bytes, more than the limit of 100");
  ASSERT_TRUE(readRegularFile(d / "big", 101, out, error)) << error;
  EXPECT_EQ(out.size(), 101u);
}

//===----------------------------------------------------------------------===//
// parseJson, jsonInteger
//===----------------------------------------------------------------------===//

std::string jsonError(const std::string &text) {
  std::string error;
  EXPECT_FALSE(parseJson(text, error)) << text;
  return error;
}

TEST(Json, ParsesInOrder) {
  std::string error;
  auto j = parseJson("{\"b\": 1, \"a\": [true, null, \"x\"], \"c\": {}}", error);
  ASSERT_TRUE(j) << error;
  EXPECT_EQ(j->dump(), "{\"b\":1,\"a\":[true,null,\"x\"],\"c\":{}}");
  // The same key in different objects is fine.
  EXPECT_TRUE(parseJson("{\"a\": {\"x\": 1}, \"b\": {\"x\": 2}}", error));
  EXPECT_TRUE(parseJson("[{\"x\": 1}, {\"x\": 2}]", error));
}

TEST(Json, DuplicateKeysAreErrors) {
  EXPECT_EQ(jsonError("{\"a\": 1, \"a\": 2}"), "'a' is given twice");
  EXPECT_EQ(jsonError("{\"t\": {\"x\": 1, \"y\": [1, {\"k\": 1, \"k\": 2}]}}"),
            "'t.y[1].k' is given twice");
  EXPECT_EQ(jsonError("{\"a b\": {\"c\": 1, \"c\": 2}}"),
            "'[\"a b\"].c' is given twice");
  EXPECT_EQ(jsonError("[1, 2, {\"require\": [], \"require\": []}]"),
            "'[2].require' is given twice");
}

TEST(Json, NestingIsCapped) {
  std::string error;
  std::string ok = std::string(limits::kMaxJsonDepth, '[') +
                   std::string(limits::kMaxJsonDepth, ']');
  EXPECT_TRUE(parseJson(ok, error)) << error;
  std::string deep = std::string(1'000'000, '[') + std::string(1'000'000, ']');
  std::string e = jsonError(deep);
  EXPECT_NE(e.find("nests deeper than 64 levels"), std::string::npos) << e;
  EXPECT_LT(e.size(), 400u);
}

TEST(Json, SyntaxErrorsSayWhere) {
  EXPECT_EQ(jsonError("{\n  \"a\": 1,\n}"),
            "line 3, column 1: syntax error while parsing object key - "
            "unexpected '}'; expected string literal");
  EXPECT_EQ(jsonError("{\"eps\": NaN}"),
            "line 1, column 9: NaN is not JSON (JSON has no NaN or Infinity)");
  EXPECT_EQ(jsonError("{\"eps\": -Infinity}"),
            "line 1, column 10: -Infinity is not JSON (JSON has no NaN or "
            "Infinity)");
  EXPECT_EQ(jsonError(""), "line 1, column 1: syntax error while parsing "
                           "value - unexpected end of input; expected '[', "
                           "'{', or a literal");
  // One line, at most 300 bytes, whatever the input holds.
  std::string e = jsonError("{\"a\": \"" + std::string(100000, 'x') + "\n\"}");
  EXPECT_EQ(e.find('\n'), std::string::npos);
  EXPECT_LE(e.size(), 300u);
}

TEST(Json, Integers) {
  std::string error, why;
  auto j = parseJson("[128, -5, 128.0, 1e3, 18446744073709551488, "
                     "9223372036854775807, \"7\", null, true]",
                     error);
  ASSERT_TRUE(j) << error;
  EXPECT_EQ(jsonInteger((*j)[0], why), 128);
  EXPECT_EQ(jsonInteger((*j)[1], why), -5);
  EXPECT_FALSE(jsonInteger((*j)[2], why));
  EXPECT_EQ(why, "is 128.0, a number with a fraction or an exponent, not an "
                 "integer");
  EXPECT_FALSE(jsonInteger((*j)[3], why));
  EXPECT_FALSE(jsonInteger((*j)[4], why));
  EXPECT_EQ(why, "is 18446744073709551488, more than the largest integer "
                 "2^63 - 1");
  EXPECT_EQ(jsonInteger((*j)[5], why), INT64_MAX);
  EXPECT_FALSE(jsonInteger((*j)[6], why));
  EXPECT_EQ(why, "is a string, not an integer");
  EXPECT_FALSE(jsonInteger((*j)[7], why));
  EXPECT_EQ(why, "is null, not an integer");
  EXPECT_FALSE(jsonInteger((*j)[8], why));
  EXPECT_EQ(why, "is a boolean, not an integer");
}

TEST(Json, PathKeys) {
  EXPECT_EQ(jsonPathKey("", "a"), "a");
  EXPECT_EQ(jsonPathKey("a", "b_2"), "a.b_2");
  EXPECT_EQ(jsonPathKey("a", "2b"), "a[\"2b\"]");
  EXPECT_EQ(jsonPathKey("a", "x.y"), "a[\"x.y\"]");
  EXPECT_EQ(jsonPathKey("a", "q\"\n"), "a[\"q\\\"\\n\"]");
}

} // namespace
