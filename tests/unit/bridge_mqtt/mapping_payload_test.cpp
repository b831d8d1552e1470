// The MQTT mapping engine's payload functions (bridges/mqtt/mapping/include/gatehouse/bridge/mqtt/payload.h).
// The JSON reader, pointers and codecs they use are the kit's and are tested with it
// (tests/unit/sdk_kit: json_test.cpp, codec_test.cpp).
#include <gtest/gtest.h>

#include <string>

#include "gatehouse/bridge/mqtt/payload.h"

namespace gatehouse::bridge::mqtt {
namespace {

using sdk::Value;
using sdk::ValueType;

TEST(MappingTimestamp, FromJsonNumbersAndStrings) {
  auto ts = [](std::string_view json, TimestampFormat f) { return timestampFromJson(*kit::parseJson(json), f); };
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
  auto conv = [](std::string_view json, ValueType t) { return valueFromJson(*kit::parseJson(json), t); };
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

}  // namespace
}  // namespace gatehouse::bridge::mqtt
