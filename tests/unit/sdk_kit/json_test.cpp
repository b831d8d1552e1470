// The kit's JSON reader and writer (kit/json.h): RFC 8259 grammar and every refusal the three
// readers it replaces had (security/oauth2's parseJsonStrict for tokens and JWKS, the MQTT mapping
// engine's parseJson for device payloads, Poco JSON in REST): duplicates after unescaping, bad
// UTF-8, lone surrogates, control characters, leading zeros, NaN, out-of-range numbers, trailing
// data, depth, size and number length; errors that say where and never echo the input; RFC 6901
// pointers; compact writing with numbers as written.

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "gatehouse/kit/json.h"

namespace gatehouse::kit {
namespace {

using sdk::Value;
using sdk::ValueType;

// The limits security/oauth2 gives a JWT segment (the old parseJsonStrict's defaults).
constexpr JsonLimits kTokenLimits{16384, 16};

Json parseOk(std::string_view text, JsonLimits limits = {}) {
  auto r = parseJson(text, limits);
  EXPECT_TRUE(r) << text << ": " << r.message();
  return r ? *r : Json{};
}

void expectRejected(std::string_view text, JsonLimits limits = {}) {
  auto r = parseJson(text, limits);
  EXPECT_FALSE(r) << text;
  if (!r) {
    EXPECT_EQ(r.error().code, ErrorCode::BadRequest) << text;
    EXPECT_FALSE(r.message().empty()) << text;
  }
}

std::string jsonError(std::string_view text, JsonLimits limits = {}) {
  auto r = parseJson(text, limits);
  EXPECT_FALSE(r) << text;
  return r.message();
}

// --- values -----------------------------------------------------------------------------------------

TEST(KitJson, ParsesEveryValueKind) {
  Json v = parseOk(R"( {"n":null,"t":true,"f":false,"i":-12,"d":1.5e2,"s":"x","a":[1,"two",[]],"o":{}} )");
  ASSERT_EQ(v.kind, Json::Kind::Object);
  ASSERT_EQ(v.members.size(), 8u);
  EXPECT_EQ(v.members[0].name, "n");  // document order kept
  EXPECT_EQ(v.members[7].name, "o");
  EXPECT_TRUE(v.find("n")->isNull());
  EXPECT_TRUE(v.find("t")->boolean);
  EXPECT_EQ(v.find("f")->kind, Json::Kind::Boolean);
  EXPECT_FALSE(v.find("f")->boolean);
  EXPECT_EQ(v.find("i")->number, -12.0);
  EXPECT_EQ(v.find("d")->number, 150.0);
  EXPECT_EQ(v.find("d")->text, "1.5e2");
  EXPECT_EQ(v.find("s")->text, "x");
  ASSERT_EQ(v.find("a")->items.size(), 3u);
  EXPECT_EQ(v.find("a")->items[1].text, "two");
  EXPECT_TRUE(v.find("a")->items[2].isArray());
  EXPECT_TRUE(v.find("o")->isObject());
  EXPECT_EQ(v.find("missing"), nullptr);
  EXPECT_EQ(v.find("a")->find("x"), nullptr);  // find on a non-object
}

TEST(KitJson, ScalarsAtTopLevel) {
  EXPECT_EQ(parseOk("0").number, 0.0);
  EXPECT_EQ(parseOk("\"\"").kind, Json::Kind::String);
  EXPECT_EQ(parseOk(" null ").kind, Json::Kind::Null);
  EXPECT_EQ(parseOk("-0.0e-0").number, 0.0);
  EXPECT_EQ(parseOk("-0").text, "-0");
  EXPECT_TRUE(parseOk(" true\n").boolean);
  EXPECT_EQ(parseOk("\"x\" ").text, "x");
}

TEST(KitJson, IntegersAndAsInt) {
  EXPECT_TRUE(parseOk("1700000000").isInteger());
  EXPECT_EQ(parseOk("1700000000").asInt(), 1700000000);
  EXPECT_EQ(parseOk("-9223372036854775808").asInt(), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(parseOk("9223372036854775807").asInt(), std::numeric_limits<std::int64_t>::max());
  EXPECT_FALSE(parseOk("9223372036854775808").isInteger());
  EXPECT_EQ(parseOk("9223372036854775808").asInt(), 0);
  EXPECT_EQ(parseOk("9007199254740993").asInt(), 9007199254740993);   // above 2^53: exact from the text
  EXPECT_FALSE(parseOk("1.0").isInteger());
  EXPECT_FALSE(parseOk("1e3").isInteger());
  EXPECT_FALSE(parseOk("\"5\"").isInteger());
  EXPECT_FALSE(parseOk("true").isInteger());
}

TEST(KitJson, StringEscapesAndUtf8) {
  Json v = parseOk(R"("\"\\\/\b\f\n\r\t\u0041\u00e9\u20ac\ud83d\ude00")");
  EXPECT_EQ(v.text, "\"\\/\b\f\n\r\tA\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  EXPECT_EQ(parseOk("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"").text,
            "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf");
  EXPECT_EQ(parseOk(R"("\u0000")").text, std::string(1, '\0'));
  EXPECT_EQ(parseOk(R"("\u00e9\ud83d\ude00\/\t")").text, "\xC3\xA9\xF0\x9F\x98\x80/\t");
  EXPECT_EQ(parseOk(R"({"\u00e9":1})").members[0].name, "\xC3\xA9");   // names are unescaped too
}

// --- refusals ---------------------------------------------------------------------------------------

TEST(KitJson, RejectsDuplicateMembersAfterUnescaping) {
  expectRejected(R"({"a":1,"a":2})");
  expectRejected(R"({"a":1,"\u0061":2})");
  expectRejected(R"({"alg":"RS256","b":0,"al\u0067":"none"})");
  expectRejected(R"({"x":{"k":1,"k":1}})");
  expectRejected(R"([{"k":1,"k":1}])");
  parseOk(R"({"a":1,"A":2,"a ":3})");
  parseOk(R"({"a":{"a":{"a":1}}})");  // same name at different levels is fine
  EXPECT_EQ(jsonError(R"({"a":1,"a":2})"), "invalid JSON: duplicate member name in the object at offset 0");
  EXPECT_EQ(jsonError(R"({"x":{"a":1,"a":2}})"), "invalid JSON: duplicate member name in the object at offset 5");
}

TEST(KitJson, DuplicateDetectionScalesToManyMembers) {
  std::string text = "{";
  for (int i = 0; i < 20000; ++i) text += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":0";
  EXPECT_TRUE(parseJson(text + "}"));
  EXPECT_FALSE(parseJson(text + ",\"k19999\":1}"));
  EXPECT_FALSE(parseJson(text + ",\"k0\":1}"));
}

TEST(KitJson, RejectsInvalidUtf8) {
  for (const char* bad : {"\"\x80\"", "\"\xc0\xaf\"", "\"\xc1\xbf\"", "\"\xe0\x80\xaf\"", "\"\xed\xa0\x80\"",
                          "\"\xed\xbf\xbf\"", "\"\xf0\x80\x80\xaf\"", "\"\xf4\x90\x80\x80\"", "\"\xf5\x80\x80\x80\"",
                          "\"\xff\"", "\"\xc3\"", "\"\xe2\x82\"", "\"\xc3\x28\"", "\xef\xbb\xbf{}", "{\"\xff\":1}"}) {
    expectRejected(bad);
  }
  EXPECT_EQ(jsonError("\"\xC0\xAF\""), "invalid JSON: invalid UTF-8 at offset 1");
  EXPECT_EQ(jsonError("\"\xED\xA0\x80\""), "invalid JSON: invalid UTF-8 at offset 1");
  EXPECT_EQ(jsonError("\xef\xbb\xbf{}"), "invalid JSON: byte order mark at offset 0");
}

TEST(KitJson, RejectsLoneSurrogates) {
  for (const char* bad : {R"("\ud800")", R"("\udc00")", R"("\ud800x")", R"("\ud800\u0041")", R"("\ud800\ud800")",
                          R"("\ude00\ud83d")", R"("\ud83d\")", R"({"\ud800":1})"}) {
    expectRejected(bad);
  }
  EXPECT_EQ(jsonError("\"\\ud800\""), "invalid JSON: invalid escape or lone surrogate in a string at offset 0");
  EXPECT_EQ(jsonError("[1,\"\\udc00\"]"), "invalid JSON: invalid escape or lone surrogate in a string at offset 3");
}

TEST(KitJson, RejectsControlCharactersAndBadEscapes) {
  for (char c = 0; c < 0x20; ++c) expectRejected(std::string("\"a") + c + "b\"");
  for (const char* bad : {R"("\x41")", R"("\u12")", R"("\u12g4")", R"("\U0041")", R"("\')", R"("\)", "\"abc"}) {
    expectRejected(bad);
  }
  EXPECT_EQ(jsonError("\"a\x01\""), "invalid JSON: control character in a string at offset 2");
  EXPECT_EQ(jsonError("{\"k\":\"\t\"}"), "invalid JSON: control character in a string at offset 6");
  EXPECT_EQ(jsonError("\"\\x\""), "invalid JSON: invalid escape or lone surrogate in a string at offset 0");
  EXPECT_EQ(jsonError("\"abc"), "invalid JSON: unterminated string at offset 4");
}

TEST(KitJson, RejectsNonJsonNumbers) {
  for (const char* bad : {"01", "-01", "00", "+1", ".5", "1.", "1.e3", "1e", "1e+", "-", "--1", "0x10", "NaN", "-NaN",
                          "Infinity", "-Infinity", "1e400", "-1e400", "1e-400", "1_000", "١", "[01]", "[1.]", "{\"a\":-}"}) {
    expectRejected(bad);
  }
  parseOk("-0");
  parseOk("1E+2");
  parseOk("1e-2");
  parseOk("1.7976931348623157e308");
  EXPECT_EQ(jsonError("01"), "invalid JSON: leading zero in a number at offset 1");
  EXPECT_EQ(jsonError("1e999"), "invalid JSON: number outside the range of a double at offset 0");
  EXPECT_EQ(jsonError("[1e-999]"), "invalid JSON: number outside the range of a double at offset 1");
  EXPECT_EQ(jsonError("-"), "invalid JSON: expected a digit at offset 1");
  EXPECT_EQ(jsonError("1."), "invalid JSON: expected a digit after '.' at offset 2");
  EXPECT_EQ(jsonError("1e"), "invalid JSON: expected a digit in the exponent at offset 2");
  EXPECT_EQ(jsonError("[1x]"), "invalid JSON: unexpected character in a number at offset 2");
}

TEST(KitJson, NumberLiteralLengthIsBounded) {
  const std::string digits400 = "0." + std::string(398, '1');
  EXPECT_EQ(parseOk(digits400).text, digits400);
  EXPECT_EQ(jsonError("[" + digits400 + "1]"), "invalid JSON: number literal longer than 400 characters at offset 1");
  EXPECT_EQ(jsonError("123456", JsonLimits{100, 4, 5}), "invalid JSON: number literal longer than 5 characters at offset 0");
  parseOk("12345", JsonLimits{100, 4, 5});
}

TEST(KitJson, RejectsBadStructure) {
  for (const char* bad : {"", " ", "\n\t", "{", "}", "[", "[1,]", "[,1]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}",
                          "{'a':1}", "{\"a\":}", "[1 2]", "tru", "nul", "True", "NULL", "undefined", "{} {}", "{}x",
                          "[] ]", "\"a\" \"b\"", "/*c*/{}", "{}//", "\x0c{}", "\xa0{}", "[[[", "{\"a\":[1,2}",
                          "[{]}", "[1:2]", "{\"a\",1}", ":", ",", "{,}", "[1]x", "1 2", "nullx", "[nulll]",
                          "{\"a\":tru}", "truex", "[true false]", "{\"a\":1}}", "{1:2}"}) {
    expectRejected(bad);
  }
  expectRejected(std::string_view("{}\0", 3));
  expectRejected(std::string_view("1\0", 2));
  parseOk(" \t\r\n{} \t\r\n");
  EXPECT_EQ(jsonError(""), "invalid JSON: unexpected end of input at offset 0");
  EXPECT_EQ(jsonError(std::string_view()), "invalid JSON: unexpected end of input at offset 0");   // no data pointer
  EXPECT_EQ(jsonError("tru"), "invalid JSON: unknown literal at offset 0");
  EXPECT_EQ(jsonError("[1,nul]"), "invalid JSON: unknown literal at offset 3");
  EXPECT_EQ(jsonError("{} {}"), "invalid JSON: unexpected text after the value at offset 3");
  EXPECT_EQ(jsonError("1 2"), "invalid JSON: unexpected text after the value at offset 2");
  EXPECT_EQ(jsonError("\"a\" \"b\""), "invalid JSON: unexpected text after the value at offset 4");
  EXPECT_EQ(jsonError("{"), "invalid JSON: unexpected end of input (an array or object is not closed) at offset 1");
  EXPECT_EQ(jsonError("[[1]"), "invalid JSON: unexpected end of input at offset 4");
  EXPECT_EQ(jsonError("[1]]"), "invalid JSON: unexpected text after the value at offset 3");
  EXPECT_EQ(jsonError("{\"a\":[1}"), "invalid JSON: unexpected character (a value, ',', ':' or a bracket was expected) at offset 7");
  EXPECT_EQ(jsonError("[{]}"), "invalid JSON: closing bracket does not match at offset 2");
  EXPECT_EQ(jsonError("[\"]\"}"), "invalid JSON: closing bracket does not match at offset 4");
  EXPECT_EQ(jsonError("[1] x"), "invalid JSON: unexpected text after the value at offset 4");
}

TEST(KitJson, StructureErrorsSayWhere) {
  // simdjson says where its iterator stopped; the offsets point at or just after the fault.
  for (const auto& [text, offset] : std::initializer_list<std::pair<const char*, const char*>>{
           {"[1 2]", "at offset 3"}, {"{\"a\" 1}", "at offset 5"}, {"[1,]", "at offset 3"}, {"{1:2}", "at offset 1"}}) {
    const std::string e = jsonError(text);
    EXPECT_EQ(e.rfind("invalid JSON: ", 0), 0u) << e;
    EXPECT_NE(e.find(offset), std::string::npos) << text << ": " << e;
  }
}

TEST(KitJson, DepthLimit) {
  auto nested = [](int depth) {
    return std::string(static_cast<std::size_t>(depth), '[') + std::string(static_cast<std::size_t>(depth), ']');
  };
  parseOk(nested(16), kTokenLimits);
  expectRejected(nested(17), kTokenLimits);
  parseOk(nested(32));
  EXPECT_EQ(jsonError(nested(33)), "invalid JSON: nesting deeper than 32 at offset 32");
  parseOk(nested(3), JsonLimits{100, 3});
  expectRejected(nested(4), JsonLimits{100, 3});
  expectRejected("{\"a\":{\"b\":{\"c\":{}}}}", JsonLimits{100, 3});
  parseOk("{\"a\":{\"b\":{\"c\":1}}}", JsonLimits{100, 3});
  // Hostile depth (D4): refused quickly, without recursing 10^5 levels.
  expectRejected(std::string(100000, '['), JsonLimits{200000, 16});
  expectRejected(std::string(50000, '[') + std::string(50000, ']'), JsonLimits{200000, 16});
  expectRejected(std::string(10000, '['));
}

TEST(KitJson, SizeLimit) {
  std::string text = "\"" + std::string(16382, 'a') + "\"";
  ASSERT_EQ(text.size(), 16384u);
  parseOk(text, kTokenLimits);
  expectRejected(text + " ", kTokenLimits);
  expectRejected("[1,2,3]", JsonLimits{6, 16});
  parseOk("[1,2,3]", JsonLimits{7, 16});
  const std::string big = "\"" + std::string(256 * 1024, 'a') + "\"";
  EXPECT_EQ(jsonError(big), "JSON text of 262146 bytes is larger than the limit of 262144 bytes");
  // Documents larger than what a thread keeps buffers for parse the same way.
  const std::string large = "[\"" + std::string(200 * 1024, 'b') + "\",1]";
  EXPECT_EQ(parseOk(large).items[0].text.size(), 200u * 1024);
  EXPECT_EQ(parseOk("[2]").items[0].text, "2");
}

TEST(KitJson, ErrorsDoNotEchoInput) {
  for (const char* text : {R"({"secret-value-xyz":1,"secret-value-xyz":2})", R"({"secret-value-xyz":secret})",
                           R"(["secret-value-xyz" "secret"])", "\"secret-value-xyz\x01\"", R"({"secret-value-xyz":1e999})"}) {
    const std::string e = jsonError(text);
    EXPECT_EQ(e.find("secret"), std::string::npos) << e;
  }
  EXPECT_NE(jsonError(R"({"a":1,"a":2})").find("duplicate"), std::string::npos);
}

TEST(KitJson, ThreadsParseIndependently) {
  // Each thread has its own parser state: concurrent parses neither interfere nor share results.
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &failures] {
      for (int i = 0; i < 500; ++i) {
        const std::string text = "{\"t\":" + std::to_string(t) + ",\"i\":[" + std::to_string(i) + "]}";
        auto r = parseJson(text);
        if (!r || r->find("t")->asInt() != t || r->find("i")->items[0].asInt() != i) ++failures;
        if (parseJson("{\"a\":1,\"a\":1}")) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

// --- writing ----------------------------------------------------------------------------------------

TEST(KitJson, WritesCompactTextWithNumbersAsWritten) {
  auto r = parseJson(" {\"a\" : [1, 2.50, -3e2, true, false, null], \"b\":{\"c\":\"x\\ny\"}} ");
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(toJsonText(*r), "{\"a\":[1,2.50,-3e2,true,false,null],\"b\":{\"c\":\"x\\ny\"}}");
  EXPECT_EQ(r->find("a")->items.size(), 6u);
  EXPECT_DOUBLE_EQ(r->find("a")->items[2].number, -300.0);
  // Written text reads back to the same text.
  const std::string text = toJsonText(*parseJson(R"({"s":"\u0001\u007f\"\\é😀","n":-0.0e-0,"e":[],"o":{}})"));
  EXPECT_EQ(toJsonText(*parseJson(text)), text);
  std::string out = "x=";
  appendJsonText(out, *parseJson("[null]"));
  EXPECT_EQ(out, "x=[null]");
  const auto doc = parseJson(R"({"b":1,"a":{"d":[{"z":0,"y":1}],"c":2}})");
  EXPECT_EQ(toJsonText(*doc), R"({"b":1,"a":{"d":[{"z":0,"y":1}],"c":2}})");
  EXPECT_EQ(toJsonText(*doc, MemberOrder::ByName), R"({"a":{"c":2,"d":[{"y":1,"z":0}]},"b":1})");
}

TEST(KitJson, SdkValuesAsJson) {
  EXPECT_EQ(*toJsonText(Value::ofInt(-3)), "-3");
  EXPECT_EQ(*toJsonText(Value::ofLong(INT64_MIN)), "-9223372036854775808");
  EXPECT_EQ(*toJsonText(Value::ofDouble(0.1)), "0.1");
  EXPECT_EQ(*toJsonText(Value::ofDouble(21)), "21.0");
  EXPECT_EQ(*toJsonText(Value::ofBool(false)), "false");
  EXPECT_EQ(*toJsonText(Value::ofString("a\"b")), "\"a\\\"b\"");
  EXPECT_EQ(*toJsonText(Value::ofJson("{\"k\":[1]}")), "{\"k\":[1]}");
  EXPECT_EQ(*toJsonText(Value::ofBytes("hi")), "\"aGk=\"");
  EXPECT_EQ(*toJsonText(Value::null(ValueType::Int)), "null");
  EXPECT_EQ(toJsonText(Value::ofDouble(1.0 / 0.0)).message(), "a non-finite number cannot be written as JSON");
  EXPECT_EQ(toJsonText(Value::ofDouble(0.0 / 0.0)).error().code, ErrorCode::BadRequest);
}

// --- pointers ---------------------------------------------------------------------------------------

TEST(KitJsonPointer, Rfc6901) {
  auto doc = parseJson(R"({"a/b":1,"m~n":2,"arr":[10,20],"":{"x":3}})");
  ASSERT_TRUE(doc);
  auto at = [&](std::string_view p) -> Result<const Json*> {
    auto t = parsePointer(p);
    if (!t) return t.error();
    return resolvePointer(*doc, *t);
  };
  EXPECT_EQ((*at("/a~1b"))->text, "1");
  EXPECT_EQ((*at("/m~0n"))->text, "2");
  EXPECT_EQ((*at("/arr/1"))->text, "20");
  EXPECT_EQ((*at("//x"))->text, "3");
  EXPECT_EQ(*at(""), &*doc);
  EXPECT_EQ(at("/nope").message(), "no member at /nope");
  EXPECT_EQ(at("/arr/2").message(), "no array element at /arr/2 (the array has 2 elements)");
  EXPECT_EQ(at("/arr/01").message(), "no array element at /arr/01 (an index is a number without leading zeros)");
  EXPECT_EQ(at("/arr/-").message(), "no array element at /arr/- (an index is a number without leading zeros)");
  EXPECT_EQ(at("/arr/9999999999").message(),
            "no array element at /arr/9999999999 (an index is a number without leading zeros)");
  EXPECT_EQ(at("/a~1b/c").message(), "no value at /a~1b/c: /a~1b is a number");
  EXPECT_EQ(at("a").message(), "JSON pointer \"a\" must be empty or start with '/'");
  EXPECT_EQ(at("/a~2").message(), "JSON pointer \"/a~2\": '~' must be followed by 0 or 1 (RFC 6901)");
  EXPECT_EQ(at("/a~").message(), "JSON pointer \"/a~\": '~' must be followed by 0 or 1 (RFC 6901)");
  EXPECT_EQ(at("/a~2").error().code, ErrorCode::BadRequest);
  EXPECT_EQ(*parsePointer("/a~01/"), (std::vector<std::string>{"a~1", ""}));
}

TEST(KitJson, KindNames) {
  EXPECT_EQ(kindName(Json::Kind::Null), "null");
  EXPECT_EQ(kindName(Json::Kind::Boolean), "boolean");
  EXPECT_EQ(kindName(Json::Kind::Object), "object");
}

}  // namespace
}  // namespace gatehouse::kit
