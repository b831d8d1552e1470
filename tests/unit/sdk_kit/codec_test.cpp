// The kit's codecs: known answers (RFC 4648 section 10), strictness (one encoding per byte
// string), timestamps at the calendar's edges, and the one identifier rule.
#include "gatehouse/kit/codec.h"

#include <gtest/gtest.h>

#include <string>

namespace gatehouse::kit {
namespace {

TEST(KitCodec, Base64KnownAnswers) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                                                        {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                                        {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64Encode(plain), encoded);
    auto decoded = base64Decode(encoded);
    ASSERT_TRUE(decoded) << decoded.message();
    EXPECT_EQ(*decoded, plain);
  }
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  EXPECT_EQ(*base64Decode(base64Encode(all)), all);
  EXPECT_EQ(*base64UrlDecode(base64UrlEncode(all)), all);
}

TEST(KitCodec, Base64IsStrict) {
  EXPECT_EQ(base64Decode("aGk").message(), "base64 text length 3 is not a multiple of 4");
  for (const char* bad : {"Zg=a", "Z===", "=Zg=", "Zh==", "Zm9=", "Zm 9v", "Zm9v\n", "Zm-v", "Zm_v"}) {
    auto r = base64Decode(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code, ErrorCode::BadRequest);
    }
  }
  EXPECT_NE(base64Decode("Zm-v").message().find("base64url is not accepted"), std::string::npos);
  EXPECT_NE(base64Decode("Zh==").message().find("not canonical"), std::string::npos);
}

TEST(KitCodec, Base64UrlIsCanonicalAndUnpadded) {
  EXPECT_EQ(base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(*base64UrlDecode("-_8"), "\xfb\xff");
  EXPECT_EQ(*base64UrlDecode(""), "");
  for (const char* bad : {"Zg==", "Zm9v+", "Zm9v/", "Z", "Zh", "Zm9", "Zm 9", "Zm9v\n"}) {
    EXPECT_FALSE(base64UrlDecode(bad)) << bad;
  }
  unsigned char out[4];
  EXPECT_EQ(base64UrlDecodeInto("Zm9v", out, sizeof out).value_or(99), 3u);
  EXPECT_FALSE(base64UrlDecodeInto("Zm9vYmFy", out, sizeof out));   // 6 bytes do not fit in 4
}

TEST(KitCodec, Hex) {
  EXPECT_EQ(hexEncode("\x01\xab\xff"), "01abff");
  EXPECT_EQ(*hexDecode("0x01AbfF"), "\x01\xab\xff");
  EXPECT_EQ(*hexDecode(""), "");
  EXPECT_EQ(hexDecode("abc").message(), "hex text has an odd number of digits (3)");
  EXPECT_EQ(hexDecode("0ag0").message(), "hex text has a non-hex character at offset 2");
  EXPECT_EQ(hexDecode("0a0 ").message(), "hex text has a non-hex character at offset 3");
}

TEST(KitCodec, Utf8) {
  EXPECT_TRUE(isValidUtf8("plain ascii"));
  EXPECT_TRUE(isValidUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
  EXPECT_FALSE(isValidUtf8("\xc0\xaf"));           // overlong '/'
  EXPECT_FALSE(isValidUtf8("\xed\xa0\x80"));       // a surrogate
  EXPECT_FALSE(isValidUtf8("\xf4\x90\x80\x80"));   // above U+10FFFF
  EXPECT_FALSE(isValidUtf8("\xe2\x82"));           // cut short
  EXPECT_EQ(validUtf8Sequence("\xe2\x82\xac!"), 3u);
  EXPECT_EQ(validUtf8Sequence(""), 0u);
}

TEST(KitCodec, Iso8601) {
  EXPECT_EQ(*parseIso8601("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*parseIso8601("2023-08-30T11:18:05.012Z"), 1693394285012);
  EXPECT_EQ(*parseIso8601("2023-08-30T13:18:05.0129+02:00"), 1693394285012);
  EXPECT_EQ(*parseIso8601("2024-02-29T00:00:00Z"), 1709164800000);
  EXPECT_EQ(*parseIso8601("9999-12-31T23:59:59.999Z"), kMaxEpochMs);
  EXPECT_FALSE(parseIso8601("2023-02-29T00:00:00Z"));   // not a leap year
  EXPECT_FALSE(parseIso8601("2023-08-30T11:18:05"));    // no zone
  EXPECT_NE(parseIso8601("2023-08-30T11:18:05.5").message().find("a zone"), std::string::npos);
  EXPECT_FALSE(parseIso8601("1969-12-31T23:59:59Z"));
  EXPECT_FALSE(parseIso8601("2023-08-30T24:00:00Z"));
  EXPECT_FALSE(parseIso8601("2023-08-30T11:18:05.Z"));
  EXPECT_FALSE(parseIso8601("2023-08-30 11:18:05Z"));
}

TEST(KitCodec, Iso8601RoundTrips) {
  for (std::int64_t ms : {std::int64_t{0}, std::int64_t{1693394285012}, std::int64_t{951782400000}, kMaxEpochMs}) {
    const std::string text = formatIso8601(ms);
    auto back = parseIso8601(text);
    ASSERT_TRUE(back) << text << ": " << back.message();
    EXPECT_EQ(*back, ms) << text;
  }
  EXPECT_EQ(formatIso8601(1693394285012), "2023-08-30T11:18:05.012Z");
}

TEST(KitCodec, EpochChecks) {
  EXPECT_EQ(*epochMillisFromSeconds(std::int64_t{1693394285}, "x"), 1693394285000);
  EXPECT_EQ(*epochMillisFromSeconds(1693394285.0129, "x"), 1693394285012);
  EXPECT_FALSE(epochMillisFromSeconds(std::int64_t{-1}, "x"));
  EXPECT_FALSE(epochMillisFromSeconds(std::int64_t{9223372036854775807}, "x"));   // would overflow * 1000
  EXPECT_FALSE(epochMillisFromSeconds(1e300, "x"));
  EXPECT_FALSE(epochMillisFromSeconds(-0.5, "x"));
  EXPECT_EQ(*parseMillisOrIso8601("1693394285012"), 1693394285012);
  EXPECT_EQ(*parseMillisOrIso8601("2023-08-30T11:18:05.012Z"), 1693394285012);
  EXPECT_FALSE(parseMillisOrIso8601("-5"));
  EXPECT_FALSE(parseMillisOrIso8601("99999999999999999999"));
  const auto now = nowMillis();
  EXPECT_GT(now, 1700000000000);
  EXPECT_LT(now, kMaxEpochMs);
}

TEST(KitCodec, OneIdentifierRule) {
  const std::string longest(128, 'x');
  for (const std::string& good : {std::string("a"), std::string("temp-1"), std::string("sensor_2.room:3"), std::string("A.b"), longest}) {
    EXPECT_TRUE(isValidIdentifier(good)) << good;
  }
  for (const std::string& bad : {std::string(), std::string("."), std::string(".."), std::string("a..b"),
                                std::string("a/b"), std::string("a b"), std::string("é"), std::string(129, 'x'),
                                std::string("a\0b", 3), std::string("+"), std::string("#")}) {
    EXPECT_FALSE(isValidIdentifier(bad)) << bad;
  }
  auto r = checkIdentifier("provider", "a/b");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::BadRequest);
  EXPECT_NE(r.message().find("provider name \"a/b\" is invalid"), std::string::npos) << r.message();
}

TEST(KitCodec, QuotedForMessages) {
  EXPECT_EQ(quoteForMessage("a\nb"), "\"a\\nb\"");
  EXPECT_EQ(quoteForMessage(std::string(100, 'x'), 4), "\"xxxx...\"");
}

// Moved from tests/unit/bridge_mqtt/mapping_payload_test.cpp with the MQTT mapping engine's own
// decoders, which the kit's replaced: the same inputs give the same answers and messages.
TEST(KitCodec, HexAsTheMqttBridgeDecodedIt) {
  EXPECT_EQ(*hexDecode("0xDEadBE"), "\xDE\xAD\xBE");
  EXPECT_EQ(*hexDecode("0X00ff"), std::string("\x00\xff", 2));
  EXPECT_EQ(*hexDecode(""), "");
  EXPECT_EQ(hexDecode("abc").message(), "hex text has an odd number of digits (3)");
  EXPECT_EQ(hexDecode("0a g0").message(), "hex text has an odd number of digits (5)");
  EXPECT_EQ(hexDecode("0ag0").message(), "hex text has a non-hex character at offset 2");
  EXPECT_EQ(hexDecode("0a0 ").message(), "hex text has a non-hex character at offset 3");
}

TEST(KitCodec, Base64AsTheMqttBridgeDecodedIt) {
  EXPECT_EQ(*base64Decode("aGVsbG8="), "hello");
  EXPECT_EQ(*base64Decode("aGk="), "hi");
  EXPECT_EQ(*base64Decode("aGVs"), "hel");
  EXPECT_EQ(*base64Decode(""), "");
  EXPECT_EQ(base64Decode("aGk").message(), "base64 text length 3 is not a multiple of 4");
  EXPECT_EQ(base64Decode("aGl=").message(), "base64 text is not canonical: unused bits in the last group are not zero");
  EXPECT_EQ(base64Decode("aR==").message(), "base64 text is not canonical: unused bits in the last group are not zero");
  EXPECT_EQ(base64Decode("a=k=").message(), "base64 padding '=' inside the text at offset 1");
  EXPECT_EQ(base64Decode("aG-_").message(), "base64 text has a character outside the standard alphabet at offset 2 (base64url is not accepted)");
  EXPECT_EQ(base64Decode("aG k").message(), "base64 text has a character outside the standard alphabet at offset 2");
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) EXPECT_EQ(*base64Decode(base64Encode(s)), s);
  EXPECT_EQ(base64Encode("foobar"), "Zm9vYmFy");
}

TEST(KitCodec, Iso8601AsTheMqttBridgeReadIt) {
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

}  // namespace
}  // namespace gatehouse::kit
