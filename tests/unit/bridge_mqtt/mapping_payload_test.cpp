// The MQTT mapping engine's payload functions (bridges/mqtt/mapping/include/mqtt/payload.h, json.h).
#include <gtest/gtest.h>

#include <string>

#include "gatehouse/bridge/mqtt/json.h"
#include "gatehouse/bridge/mqtt/payload.h"

namespace gatehouse::bridge::mqtt {
namespace {

using sdk::Value;
using sdk::ValueType;

std::string jsonError(std::string_view text) {
  auto r = parseJson(text);
  EXPECT_FALSE(r) << text;
  return r.message();
}

TEST(MappingJson, ParsesAndWritesCompactText) {
  auto r = parseJson(" {\"a\" : [1, 2.50, -3e2, true, false, null], \"b\":{\"c\":\"x\\ny\"}} ");
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(toJsonText(*r), "{\"a\":[1,2.50,-3e2,true,false,null],\"b\":{\"c\":\"x\\ny\"}}");
  EXPECT_EQ(r->member("a")->items.size(), 6u);
  EXPECT_DOUBLE_EQ(r->member("a")->items[2].number, -300.0);
}

TEST(MappingJson, DecodesEscapesAndSurrogatePairs) {
  auto r = parseJson(R"("\u00e9\ud83d\ude00\/\t")");
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r->text, "\xC3\xA9\xF0\x9F\x98\x80/\t");
}

TEST(MappingJson, RefusesBadInputWithOffsets) {
  EXPECT_EQ(jsonError(R"({"a":1,"a":2})"), "invalid JSON: duplicate member name \"a\" at offset 7");
  EXPECT_EQ(jsonError("[1,]"), "invalid JSON: unexpected character at offset 3");
  EXPECT_EQ(jsonError("01"), "invalid JSON: unexpected text after the JSON value at offset 1");
  EXPECT_EQ(jsonError("1e999"), "invalid JSON: number 1e999 is outside the range of a double at offset 0");
  EXPECT_EQ(jsonError("\"\\ud800\""), "invalid JSON: high surrogate without a low surrogate at offset 7");
  EXPECT_EQ(jsonError("\"\\udc00\""), "invalid JSON: lone low surrogate in a \\u escape at offset 7");
  EXPECT_EQ(jsonError("\"a\x01\""), "invalid JSON: control character in a string at offset 2");
  EXPECT_EQ(jsonError("\"\xC0\xAF\""), "invalid JSON: invalid UTF-8 in a string at offset 1");
  EXPECT_EQ(jsonError("\"\xED\xA0\x80\""), "invalid JSON: invalid UTF-8 in a string at offset 1");
  EXPECT_EQ(jsonError("\"\\x\""), "invalid JSON: unknown escape at offset 2");
  EXPECT_EQ(jsonError("\"abc"), "invalid JSON: unterminated string at offset 4");
  EXPECT_EQ(jsonError("tru"), "invalid JSON: unknown literal at offset 0");
  EXPECT_EQ(jsonError(""), "invalid JSON: unexpected end of input at offset 0");
  EXPECT_EQ(jsonError("{\"a\" 1}"), "invalid JSON: expected ':' after a member name at offset 5");
  EXPECT_EQ(jsonError("{1:2}"), "invalid JSON: expected a member name in quotes at offset 1");
  EXPECT_EQ(jsonError("[1 2]"), "invalid JSON: expected ',' or ']' in an array at offset 3");
  EXPECT_EQ(jsonError("-"), "invalid JSON: expected a digit at offset 1");
  EXPECT_EQ(jsonError("1."), "invalid JSON: expected a digit after '.' at offset 2");
  EXPECT_EQ(jsonError("1e"), "invalid JSON: expected a digit in the exponent at offset 2");
}

TEST(MappingJson, DepthAndSizeAreBounded) {
  std::string ok(32, '['), tooDeep(33, '[');
  ok += std::string(32, ']');
  tooDeep += std::string(33, ']');
  EXPECT_TRUE(parseJson(ok));
  EXPECT_EQ(jsonError(tooDeep), "invalid JSON: nesting deeper than 32 at offset 32");
  // D4: depth 10^4 refused quickly, without recursing that deep.
  EXPECT_FALSE(parseJson(std::string(10000, '[')));
  const std::string big = "\"" + std::string(256 * 1024, 'a') + "\"";
  EXPECT_EQ(jsonError(big), "JSON payload of 262146 bytes is larger than the limit of 262144 bytes");
}

TEST(MappingJson, DuplicateDetectionScalesToManyMembers) {
  std::string text = "{";
  for (int i = 0; i < 20000; ++i) text += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":0";
  EXPECT_TRUE(parseJson(text + "}"));
  EXPECT_FALSE(parseJson(text + ",\"k19999\":1}"));
}

TEST(MappingPointer, Rfc6901) {
  auto doc = parseJson(R"({"a/b":1,"m~n":2,"arr":[10,20],"":{"x":3}})");
  ASSERT_TRUE(doc);
  auto at = [&](std::string_view p) -> Result<const JsonValue*> {
    auto t = parsePointer(p);
    if (!t) return kit::badRequest(t.message());
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
  EXPECT_EQ(at("/a~1b/c").message(), "no value at /a~1b/c: /a~1b is a number");
  EXPECT_EQ(at("a").message(), "JSON pointer \"a\" must be empty or start with '/'");
  EXPECT_EQ(at("/a~2").message(), "JSON pointer \"/a~2\": '~' must be followed by 0 or 1 (RFC 6901)");
  EXPECT_EQ(at("/a~").message(), "JSON pointer \"/a~\": '~' must be followed by 0 or 1 (RFC 6901)");
}

TEST(MappingHex, DecodesStrictly) {
  EXPECT_EQ(*decodeHex("0xDEadBE"), "\xDE\xAD\xBE");
  EXPECT_EQ(*decodeHex("0X00ff"), std::string("\x00\xff", 2));
  EXPECT_EQ(*decodeHex(""), "");
  EXPECT_EQ(decodeHex("abc").message(), "hex text has an odd number of digits (3)");
  EXPECT_EQ(decodeHex("0a g0").message(), "hex text has an odd number of digits (5)");
  EXPECT_EQ(decodeHex("0ag0").message(), "hex text has a non-hex character at offset 2");
  EXPECT_EQ(decodeHex("0a0 ").message(), "hex text has a non-hex character at offset 3");
}

TEST(MappingBase64, DecodesStrictAndCanonical) {
  EXPECT_EQ(*decodeBase64("aGVsbG8="), "hello");
  EXPECT_EQ(*decodeBase64("aGk="), "hi");
  EXPECT_EQ(*decodeBase64("aGVs"), "hel");
  EXPECT_EQ(*decodeBase64(""), "");
  EXPECT_EQ(decodeBase64("aGk").message(), "base64 text length 3 is not a multiple of 4");
  EXPECT_EQ(decodeBase64("aGl=").message(), "base64 text is not canonical: unused bits in the last group are not zero");
  EXPECT_EQ(decodeBase64("aR==").message(), "base64 text is not canonical: unused bits in the last group are not zero");
  EXPECT_EQ(decodeBase64("a=k=").message(), "base64 padding '=' inside the text at offset 1");
  EXPECT_EQ(decodeBase64("aG-_").message(), "base64 text has a character outside the standard alphabet at offset 2 (base64url is not accepted)");
  EXPECT_EQ(decodeBase64("aG k").message(), "base64 text has a character outside the standard alphabet at offset 2");
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) EXPECT_EQ(*decodeBase64(encodeBase64(s)), s);
  EXPECT_EQ(encodeBase64("foobar"), "Zm9vYmFy");
}

TEST(MappingTimestamp, Iso8601) {
  EXPECT_EQ(*parseIso8601("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*parseIso8601("2024-02-29T12:00:00.5Z"), 1709208000500);
  EXPECT_EQ(*parseIso8601("2024-02-29T14:00:00.123456+02:00"), 1709208000123);
  EXPECT_EQ(*parseIso8601("2024-02-29T10:30:00-01:30"), 1709208000000);
  EXPECT_EQ(*parseIso8601("9999-12-31T23:59:59.999Z"), 253402300799999);
  EXPECT_EQ(parseIso8601("1969-12-31T23:59:59Z").message(), "timestamp \"1969-12-31T23:59:59Z\" is before 1970");
  EXPECT_EQ(parseIso8601("1970-01-01T00:30:00+01:00").message(), "timestamp \"1970-01-01T00:30:00+01:00\" is before 1970");
  EXPECT_EQ(parseIso8601("2023-02-29T00:00:00Z").message(), "timestamp \"2023-02-29T00:00:00Z\" has no day 29 in that month");
  EXPECT_EQ(parseIso8601("2023-13-01T00:00:00Z").message(), "timestamp \"2023-13-01T00:00:00Z\" has no month 13");
  EXPECT_EQ(parseIso8601("2023-01-01T24:00:00Z").message(), "timestamp \"2023-01-01T24:00:00Z\" has a time of day out of range");
  EXPECT_EQ(parseIso8601("2023-01-01T00:00:00").message(),
            "timestamp \"2023-01-01T00:00:00\" is not ISO-8601 YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM)");
  EXPECT_EQ(parseIso8601("2023-01-01T00:00:00+0100").message(),
            "timestamp \"2023-01-01T00:00:00+0100\" is not ISO-8601 YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM)");
  EXPECT_EQ(parseIso8601("2023-01-01 00:00:00Z").message(),
            "timestamp \"2023-01-01 00:00:00Z\" is not ISO-8601 YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM)");
  EXPECT_EQ(parseIso8601("2023-01-01T00:00:00.Z").message(),
            "timestamp \"2023-01-01T00:00:00.Z\" is not ISO-8601 YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM)");
  EXPECT_EQ(parseIso8601("2023-01-01T00:00:00.123X").message(),
            "timestamp \"2023-01-01T00:00:00.123X\" is not ISO-8601 YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM): a zone (Z or +HH:MM) is required");
}

TEST(MappingTimestamp, FromJsonNumbersAndStrings) {
  auto ts = [](std::string_view json, TimestampFormat f) { return timestampFromJson(*parseJson(json), f); };
  EXPECT_EQ(*ts("1700000000", TimestampFormat::Seconds), 1700000000000);
  EXPECT_EQ(*ts("1700000000.25", TimestampFormat::Seconds), 1700000000250);
  EXPECT_EQ(*ts("\"1700000000\"", TimestampFormat::Seconds), 1700000000000);
  EXPECT_EQ(*ts("1700000000123", TimestampFormat::Millis), 1700000000123);
  EXPECT_EQ(*ts("1.7e12", TimestampFormat::Millis), 1700000000000);
  EXPECT_EQ(*ts("\"2024-01-01T00:00:00Z\"", TimestampFormat::Iso8601), 1704067200000);
  EXPECT_EQ(ts("-1", TimestampFormat::Seconds).message(), "timestamp \"-1\" is before 1970");
  EXPECT_EQ(ts("-0.5", TimestampFormat::Seconds).message(), "timestamp \"-0.5\" is before 1970");
  EXPECT_EQ(ts("253402300800", TimestampFormat::Seconds).message(), "timestamp \"253402300800\" is after the year 9999");
  EXPECT_EQ(ts("253402300800000", TimestampFormat::Millis).message(), "timestamp \"253402300800000\" is after the year 9999");
  EXPECT_EQ(ts("1.5", TimestampFormat::Millis).message(), "timestamp in millis: number \"1.5\" is not an integer");
  EXPECT_EQ(ts("true", TimestampFormat::Seconds).message(), "a timestamp in seconds must be a number, found a boolean");
  EXPECT_EQ(ts("\"soon\"", TimestampFormat::Millis).message(), "timestamp: expected a number, found \"soon\"");
  EXPECT_EQ(ts("17", TimestampFormat::Iso8601).message(), "an ISO-8601 timestamp must be a string, found a number");
  EXPECT_EQ(ts("99999999999999999999", TimestampFormat::Seconds).message(),
            "timestamp in seconds: integer \"99999999999999999999\" does not fit in 64 bits");
}

TEST(MappingConvert, JsonToDeclaredTypesLosesNothing) {
  auto conv = [](std::string_view json, ValueType t) { return valueFromJson(*parseJson(json), t); };
  EXPECT_EQ(*conv("21.5", ValueType::Double), Value::ofDouble(21.5));
  EXPECT_EQ(*conv("7", ValueType::Int), Value::ofInt(7));
  EXPECT_EQ(*conv("7.0", ValueType::Int), Value::ofInt(7));
  EXPECT_EQ(*conv("9007199254740993", ValueType::Long), Value::ofLong(9007199254740993));
  EXPECT_EQ(*conv("-9223372036854775808", ValueType::Long), Value::ofLong(INT64_MIN));
  EXPECT_EQ(*conv("true", ValueType::Boolean), Value::ofBool(true));
  EXPECT_EQ(*conv("\"hi\"", ValueType::String), Value::ofString("hi"));
  EXPECT_EQ(*conv("12.50", ValueType::String), Value::ofString("12.50"));
  EXPECT_EQ(*conv("{\"a\": [1, 2]}", ValueType::Json), Value::ofJson("{\"a\":[1,2]}"));
  EXPECT_EQ(*conv("\"AQID\"", ValueType::Bytes), Value::ofBytes("\x01\x02\x03"));

  EXPECT_EQ(conv("2147483648", ValueType::Int).message(), "integer \"2147483648\" does not fit in type int (32 bits); declare type long");
  EXPECT_EQ(conv("9223372036854775808", ValueType::Long).message(), "integer \"9223372036854775808\" does not fit in 64 bits");
  EXPECT_EQ(conv("1.5", ValueType::Long).message(), "number \"1.5\" is not an integer");
  EXPECT_EQ(conv("1e300", ValueType::Long).message(),
            "number \"1e300\" is too large to be an exact integer (write it without '.' or exponent)");
  EXPECT_EQ(conv("\"21\"", ValueType::Double).message(), "expected a value for type double, found a JSON string");
  EXPECT_EQ(conv("1", ValueType::Boolean).message(), "expected a value for type boolean, found a JSON number");
  EXPECT_EQ(conv("[1]", ValueType::String).message(), "expected a value for type string, found a JSON array");
  EXPECT_EQ(conv("\"aGl=\"", ValueType::Bytes).message(), "base64 text is not canonical: unused bits in the last group are not zero");
  EXPECT_EQ(conv("3", ValueType::Bytes).message(), "expected a value for type bytes, found a JSON number");
}

TEST(MappingConvert, WholePayloadFormats) {
  EXPECT_EQ(*valueFromPayload(" 42\n", PayloadFormat::Number, ValueType::Long), Value::ofLong(42));
  EXPECT_EQ(*valueFromPayload("21.5", PayloadFormat::Text, ValueType::Double), Value::ofDouble(21.5));
  EXPECT_EQ(*valueFromPayload("héllo", PayloadFormat::Text, ValueType::String), Value::ofString("héllo"));
  EXPECT_EQ(*valueFromPayload("\xff", PayloadFormat::Text, ValueType::Bytes), Value::ofBytes("\xff"));
  EXPECT_EQ(*valueFromPayload("ON", PayloadFormat::Boolean, ValueType::Boolean), Value::ofBool(true));
  EXPECT_EQ(*valueFromPayload("0", PayloadFormat::Text, ValueType::Boolean), Value::ofBool(false));
  EXPECT_EQ(*valueFromPayload("0x0102", PayloadFormat::Hex, ValueType::Bytes), Value::ofBytes("\x01\x02"));
  EXPECT_EQ(*valueFromPayload("6869", PayloadFormat::Hex, ValueType::String), Value::ofString("hi"));
  EXPECT_EQ(*valueFromPayload("aGk=", PayloadFormat::Base64, ValueType::Bytes), Value::ofBytes("hi"));
  EXPECT_EQ(*valueFromPayload("{ \"a\" : 1 }", PayloadFormat::Text, ValueType::Json), Value::ofJson("{\"a\":1}"));
  EXPECT_EQ(*valueFromPayload("{\"v\":1}", PayloadFormat::Json, ValueType::Json), Value::ofJson("{\"v\":1}"));

  EXPECT_EQ(valueFromPayload("abc", PayloadFormat::Number, ValueType::Double).message(), "expected a number, found \"abc\"");
  EXPECT_EQ(valueFromPayload("NaN", PayloadFormat::Text, ValueType::Double).message(), "expected a number, found \"NaN\"");
  EXPECT_EQ(valueFromPayload("1", PayloadFormat::Number, ValueType::Boolean).message(),
            "format number cannot give type boolean (allowed: double, int, long, string)");
  EXPECT_EQ(valueFromPayload("yes", PayloadFormat::Boolean, ValueType::Boolean).message(),
            "expected a boolean (true/false, 1/0, on/off), found \"yes\"");
  EXPECT_EQ(valueFromPayload("true", PayloadFormat::Boolean, ValueType::Int).message(),
            "format boolean cannot give type int (allowed: boolean, string)");
  EXPECT_EQ(valueFromPayload("ff", PayloadFormat::Hex, ValueType::String).message(),
            "the decoded bytes are not UTF-8 text; declare type bytes");
  EXPECT_EQ(valueFromPayload("ff", PayloadFormat::Hex, ValueType::Int).message(), "format hex cannot give type int (allowed: bytes, string)");
  EXPECT_EQ(valueFromPayload("\xff", PayloadFormat::Text, ValueType::String).message(), "the payload is not UTF-8 text; declare type bytes");
  EXPECT_EQ(valueFromPayload(std::string(256 * 1024 + 1, '1'), PayloadFormat::Text, ValueType::String).message(),
            "payload of 262145 bytes is larger than the limit of 262144 bytes");
}

TEST(MappingConvert, NamesOfFormatsAndTypes) {
  EXPECT_EQ(*parsePayloadFormat("base64"), PayloadFormat::Base64);
  EXPECT_EQ(parsePayloadFormat("xml").message(), "must be one of json, text, number, boolean, hex, base64; found \"xml\"");
  EXPECT_EQ(*parseValueType("long"), ValueType::Long);
  EXPECT_EQ(parseValueType("float").message(), "must be one of double, int, long, boolean, string, json, bytes; found \"float\"");
  EXPECT_EQ(*parseTimestampFormat("iso8601"), TimestampFormat::Iso8601);
  EXPECT_EQ(parseTimestampFormat("ms").message(), "must be one of seconds, millis, iso8601; found \"ms\"");
}

TEST(MappingConvert, SdkValuesAsJson) {
  EXPECT_EQ(*toJsonText(Value::ofInt(-3)), "-3");
  EXPECT_EQ(*toJsonText(Value::ofDouble(0.1)), "0.1");
  EXPECT_EQ(*toJsonText(Value::ofString("a\"b")), "\"a\\\"b\"");
  EXPECT_EQ(*toJsonText(Value::ofBytes("hi")), "\"aGk=\"");
  EXPECT_EQ(*toJsonText(Value::null(ValueType::Int)), "null");
  EXPECT_EQ(toJsonText(Value::ofDouble(1.0 / 0.0)).message(), "a non-finite number cannot be written as JSON");
}

}  // namespace
}  // namespace gatehouse::bridge::mqtt
