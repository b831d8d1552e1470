// parseJsonStrict: RFC 8259 grammar, and every rejection a token or JWKS parser needs (duplicates,
// bad UTF-8, surrogates, control characters, leading zeros, NaN, trailing data, depth, size).

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <string>

#include "gatehouse/oauth2/json.h"

namespace gatehouse::oauth2 {
namespace {

Json parseOk(std::string_view text, JsonLimits limits = {}) {
  JsonResult r = parseJsonStrict(text, limits);
  EXPECT_TRUE(r.value) << text << ": " << r.error;
  EXPECT_TRUE(r.value || !r.error.empty());
  return r.value ? *r.value : Json{};
}

void expectRejected(std::string_view text, JsonLimits limits = {}) {
  JsonResult r = parseJsonStrict(text, limits);
  EXPECT_FALSE(r.value) << text;
  EXPECT_FALSE(r.error.empty()) << text;
}

TEST(Json, ParsesEveryValueKind) {
  Json v = parseOk(R"( {"n":null,"t":true,"f":false,"i":-12,"d":1.5e2,"s":"x","a":[1,"two",[]],"o":{}} )");
  ASSERT_EQ(v.type, Json::Type::Object);
  ASSERT_EQ(v.members.size(), 8u);
  EXPECT_EQ(v.members[0].first, "n");  // document order kept
  EXPECT_EQ(v.members[7].first, "o");
  EXPECT_EQ(v.find("n")->type, Json::Type::Null);
  EXPECT_TRUE(v.find("t")->b);
  EXPECT_EQ(v.find("f")->type, Json::Type::Bool);
  EXPECT_FALSE(v.find("f")->b);
  EXPECT_EQ(v.find("i")->number, -12.0);
  EXPECT_EQ(v.find("d")->number, 150.0);
  EXPECT_EQ(v.find("d")->text, "1.5e2");
  EXPECT_EQ(v.find("s")->text, "x");
  ASSERT_EQ(v.find("a")->items.size(), 3u);
  EXPECT_EQ(v.find("a")->items[1].text, "two");
  EXPECT_EQ(v.find("a")->items[2].type, Json::Type::Array);
  EXPECT_EQ(v.find("o")->type, Json::Type::Object);
  EXPECT_EQ(v.find("missing"), nullptr);
  EXPECT_EQ(v.find("a")->find("x"), nullptr);  // find on a non-object
}

TEST(Json, ScalarsAtTopLevel) {
  EXPECT_EQ(parseOk("0").number, 0.0);
  EXPECT_EQ(parseOk("\"\"").type, Json::Type::String);
  EXPECT_EQ(parseOk(" null ").type, Json::Type::Null);
  EXPECT_EQ(parseOk("-0.0e-0").number, 0.0);
}

TEST(Json, IntegersAndAsInt) {
  EXPECT_TRUE(parseOk("1700000000").isInteger());
  EXPECT_EQ(parseOk("1700000000").asInt(), 1700000000);
  EXPECT_EQ(parseOk("-9223372036854775808").asInt(), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(parseOk("9223372036854775807").asInt(), std::numeric_limits<std::int64_t>::max());
  EXPECT_FALSE(parseOk("9223372036854775808").isInteger());
  EXPECT_EQ(parseOk("9223372036854775808").asInt(), 0);
  EXPECT_FALSE(parseOk("1.0").isInteger());
  EXPECT_FALSE(parseOk("1e3").isInteger());
  EXPECT_FALSE(parseOk("\"5\"").isInteger());
  EXPECT_FALSE(parseOk("true").isInteger());
}

TEST(Json, StringEscapesAndUtf8) {
  Json v = parseOk(R"("\"\\\/\b\f\n\r\t\u0041\u00e9\u20ac\ud83d\ude00")");
  EXPECT_EQ(v.text, "\"\\/\b\f\n\r\tA\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  EXPECT_EQ(parseOk("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"").text,
            "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf");
  EXPECT_EQ(parseOk(R"("\u0000")").text, std::string(1, '\0'));
}

TEST(Json, RejectsDuplicateMembersAfterUnescaping) {
  expectRejected(R"({"a":1,"a":2})");
  expectRejected(R"({"a":1,"\u0061":2})");
  expectRejected(R"({"alg":"RS256","b":0,"al\u0067":"none"})");
  expectRejected(R"({"x":{"k":1,"k":1}})");
  expectRejected(R"([{"k":1,"k":1}])");
  parseOk(R"({"a":1,"A":2,"a ":3})");
  parseOk(R"({"a":{"a":{"a":1}}})");  // same name at different levels is fine
}

TEST(Json, RejectsInvalidUtf8) {
  for (const char* bad : {"\"\x80\"", "\"\xc0\xaf\"", "\"\xc1\xbf\"", "\"\xe0\x80\xaf\"", "\"\xed\xa0\x80\"",
                          "\"\xed\xbf\xbf\"", "\"\xf0\x80\x80\xaf\"", "\"\xf4\x90\x80\x80\"", "\"\xf5\x80\x80\x80\"",
                          "\"\xff\"", "\"\xc3\"", "\"\xe2\x82\"", "\"\xc3\x28\"", "\xef\xbb\xbf{}"}) {
    expectRejected(bad);
  }
}

TEST(Json, RejectsLoneSurrogates) {
  for (const char* bad : {R"("\ud800")", R"("\udc00")", R"("\ud800x")", R"("\ud800\u0041")", R"("\ud800\ud800")",
                          R"("\ude00\ud83d")", R"("\ud83d\")"}) {
    expectRejected(bad);
  }
}

TEST(Json, RejectsControlCharactersAndBadEscapes) {
  for (char c = 0; c < 0x20; ++c) expectRejected(std::string("\"a") + c + "b\"");
  for (const char* bad : {R"("\x41")", R"("\u12")", R"("\u12g4")", R"("\U0041")", R"("\')", R"("\)", "\"abc"}) {
    expectRejected(bad);
  }
}

TEST(Json, RejectsNonJsonNumbers) {
  for (const char* bad : {"01", "-01", "00", "+1", ".5", "1.", "1.e3", "1e", "1e+", "-", "--1", "0x10", "NaN", "-NaN",
                          "Infinity", "-Infinity", "1e400", "-1e400", "1e-400", "1_000", "١"}) {
    expectRejected(bad);
  }
  parseOk("-0");
  parseOk("1E+2");
  parseOk("1e-2");
  parseOk("1.7976931348623157e308");
}

TEST(Json, RejectsBadStructure) {
  for (const char* bad : {"", " ", "\n\t", "{", "}", "[", "[1,]", "[,1]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}",
                          "{'a':1}", "{\"a\":}", "[1 2]", "tru", "nul", "True", "NULL", "undefined", "{} {}", "{}x",
                          "[] ]", "\"a\" \"b\"", "/*c*/{}", "{}//", "\x0c{}", "\xa0{}"}) {
    expectRejected(bad);
  }
  expectRejected(std::string_view("{}\0", 3));
  parseOk(" \t\r\n{} \t\r\n");
}

TEST(Json, DepthLimit) {
  auto nested = [](int depth) { return std::string(static_cast<std::size_t>(depth), '[') + std::string(static_cast<std::size_t>(depth), ']'); };
  parseOk(nested(16));
  expectRejected(nested(17));
  parseOk(nested(3), JsonLimits{100, 3});
  expectRejected(nested(4), JsonLimits{100, 3});
  expectRejected("{\"a\":{\"b\":{\"c\":{}}}}", JsonLimits{100, 3});
  parseOk("{\"a\":{\"b\":{\"c\":1}}}", JsonLimits{100, 3});
  // Hostile depth (D4): refused quickly, without recursing 10^5 levels.
  expectRejected(std::string(100000, '['), JsonLimits{200000, 16});
  expectRejected(std::string(50000, '[') + std::string(50000, ']'), JsonLimits{200000, 16});
}

TEST(Json, SizeLimit) {
  std::string text = "\"" + std::string(16382, 'a') + "\"";
  ASSERT_EQ(text.size(), 16384u);
  parseOk(text);
  expectRejected(text + " ");
  expectRejected("[1,2,3]", JsonLimits{6, 16});
  parseOk("[1,2,3]", JsonLimits{7, 16});
}

TEST(Json, ErrorsDoNotEchoInput) {
  JsonResult r = parseJsonStrict(R"({"secret-value-xyz":1,"secret-value-xyz":2})");
  ASSERT_FALSE(r.value);
  EXPECT_EQ(r.error.find("secret-value-xyz"), std::string::npos);
  EXPECT_NE(r.error.find("duplicate"), std::string::npos);
}

}  // namespace
}  // namespace gatehouse::oauth2
