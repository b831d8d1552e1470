// The CoAP payload decoders (bridges/coap/payload): SenML packs from RFC 8428's examples (JSON) and
// their CBOR form, base-value resolution and relative times, every refusal with its reason; single
// values by Content-Format; link-format from RFC 6690's examples.
#include <gtest/gtest.h>

#include "gatehouse/bridge/coap/payload.h"
#include "gatehouse/kit/codec.h"

namespace gatehouse::bridge::coap {
namespace {

constexpr std::int64_t kNow = 1796677478000;   // 2026-12-07

std::vector<SenmlRecord> senml(const std::string& json) {
  auto r = decodeSenmlJson(json, kNow);
  EXPECT_TRUE(r) << json << ": " << r.message();
  return r ? *r : std::vector<SenmlRecord>{};
}

std::string senmlError(const std::string& json) {
  auto r = decodeSenmlJson(json, kNow);
  EXPECT_FALSE(r) << json;
  return r ? std::string() : r.message();
}

TEST(Senml, Rfc8428SingleAndMultipleDatapoints) {
  // RFC 8428 5.1.1
  auto r = senml(R"([{"n":"urn:dev:ow:10e2073a01080063","u":"Cel","v":23.1}])");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].name, "urn:dev:ow:10e2073a01080063");
  EXPECT_EQ(r[0].unit, "Cel");
  EXPECT_EQ(r[0].value, sdk::Value::ofDouble(23.1));
  EXPECT_EQ(r[0].timeMs, kNow);   // no time: now
  // RFC 8428 5.1.2: base name, base time, units
  r = senml(R"([{"bn":"urn:dev:ow:10e2073a01080063:","n":"voltage","t":1.276020076001e+09,"u":"V","v":120.1},
               {"n":"current","t":1.276020091e+09,"u":"A","v":1.2}])");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].name, "urn:dev:ow:10e2073a01080063:voltage");
  EXPECT_EQ(r[0].timeMs, 1276020076001);
  EXPECT_EQ(r[1].name, "urn:dev:ow:10e2073a01080063:current");
  EXPECT_EQ(r[1].unit, "A");
  EXPECT_EQ(r[1].timeMs, 1276020091000);
}

TEST(Senml, BaseValuesRelativeTimesAndValueKinds) {
  auto r = senml(R"([{"bn":"dev1/","bt":1.320067464e+09,"bu":"%RH","bv":10,"v":20},
                     {"n":"h","t":60,"v":1},
                     {"n":"s","vs":"on","u":"x"},
                     {"n":"b","vb":true},
                     {"n":"d","vd":"AQID"},
                     {"n":"e","s":5,"bs":100}])");
  ASSERT_EQ(r.size(), 6u);
  EXPECT_EQ(r[0].name, "dev1/");
  EXPECT_EQ(r[0].value, sdk::Value::ofDouble(30));
  EXPECT_EQ(r[0].unit, "%RH");
  EXPECT_EQ(r[0].timeMs, 1320067464000);
  EXPECT_EQ(r[1].name, "dev1/h");
  EXPECT_EQ(r[1].value, sdk::Value::ofDouble(11));
  EXPECT_EQ(r[1].timeMs, 1320067524000);
  EXPECT_EQ(r[2].value, sdk::Value::ofString("on"));
  EXPECT_EQ(r[2].unit, "x");
  EXPECT_EQ(r[3].value, sdk::Value::ofBool(true));
  EXPECT_EQ(r[4].value, sdk::Value::ofBytes(std::string("\x01\x02\x03")));
  EXPECT_EQ(r[5].value, sdk::Value::ofDouble(105));
  EXPECT_TRUE(r[5].sum);
  // A relative time (below 2^28 s) counts from now; -5 is five seconds ago.
  r = senml(R"([{"n":"t","t":-5,"v":1}])");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].timeMs, kNow - 5000);
  // Base fields alone are a record without data; extensions are ignored.
  r = senml(R"([{"bn":"x/"},{"n":"a","v":1,"foo":3}])");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].name, "x/a");
}

TEST(Senml, RefusalsNameTheRecordAndField) {
  EXPECT_NE(senmlError(R"({"n":"a","v":1})").find("array of records, not object"), std::string::npos);
  EXPECT_NE(senmlError(R"([{"n":"a"}])").find("record 0: no value"), std::string::npos);
  EXPECT_NE(senmlError(R"([{"n":"a","v":1,"vs":"x"}])").find("record 0: two values (v and vs)"), std::string::npos);
  EXPECT_NE(senmlError(R"([{"n":"a","v":"1"}])").find("record 0: v must be a number, not string"), std::string::npos);
  EXPECT_NE(senmlError(R"([{"v":1}])").find("name \"\" is not a SenML name"), std::string::npos);
  EXPECT_NE(senmlError(R"([{"n":"../etc","v":1}])").find("is not a SenML name"), std::string::npos);
  EXPECT_NE(senmlError(R"([{"n":"a b","v":1}])").find("is not a SenML name"), std::string::npos);
  EXPECT_NE(senmlError(R"([{"n":"a","v":1,"ct_":1}])").find("must-understand field \"ct_\""), std::string::npos);
  EXPECT_NE(senmlError(R"([{"bver":11,"n":"a","v":1}])").find("bver 11"), std::string::npos);
  EXPECT_NE(senmlError(R"([{"n":"a","vd":"***"}])").find("vd is not base64url"), std::string::npos);
  EXPECT_NE(senmlError(R"([{"n":"a","v":1},{"n":"b","v":1e308,"bv":1e308}])").find("record 1: v + bv is not a finite"), std::string::npos);
  EXPECT_NE(senmlError(R"([{"n":"a","v":1,"t":1e300}])").find("record 0:"), std::string::npos);
  SenmlLimits few;
  few.maxRecords = 2;
  auto many = decodeSenmlJson(R"([{"n":"a","v":1},{"n":"b","v":1},{"n":"c","v":1}])", kNow, few);
  ASSERT_FALSE(many);
  EXPECT_NE(many.message().find("3 records; at most 2"), std::string::npos);
}

TEST(Senml, CborPackWithIntegerLabels) {
  // [{-2: "dev/", 0: "temp", 1: "Cel", 2: 22.5, 6: -10}, {0: "on", 4: true}]
  auto bytes = kit::hexDecode("82a521" "646465762f" "00" "6474656d70" "01" "6343656c" "02" "f94da0" "06" "29"
                              "a2" "00" "626f6e" "04" "f5");
  ASSERT_TRUE(bytes);
  auto r = decodeSenmlCbor(*bytes, kNow);
  ASSERT_TRUE(r) << r.message();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].name, "dev/temp");
  EXPECT_EQ((*r)[0].unit, "Cel");
  EXPECT_EQ((*r)[0].value, sdk::Value::ofDouble(22.5));
  EXPECT_EQ((*r)[0].timeMs, kNow - 10000);
  EXPECT_EQ((*r)[1].name, "dev/on");
  EXPECT_EQ((*r)[1].value, sdk::Value::ofBool(true));
  auto bad = decodeSenmlCbor(std::string("\x81\xa1\x00", 3), kNow);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.message().find("SenML CBOR: invalid CBOR"), std::string::npos) << bad.message();
}

TEST(Payload, SingleValuesByContentFormat) {
  EXPECT_EQ(*decodeValue(0, "21.5"), sdk::Value::ofDouble(21.5));
  EXPECT_EQ(*decodeValue(0, " 42\n"), sdk::Value::ofLong(42));
  EXPECT_EQ(*decodeValue(0, "true"), sdk::Value::ofBool(true));
  EXPECT_EQ(*decodeValue(0, "open"), sdk::Value::ofString("open"));
  EXPECT_FALSE(decodeValue(0, "\xff"));
  EXPECT_EQ(*decodeValue(50, "21.5"), sdk::Value::ofDouble(21.5));
  EXPECT_EQ(*decodeValue(50, "\"on\""), sdk::Value::ofString("on"));
  EXPECT_EQ(*decodeValue(50, R"({"a":[1,2]})"), sdk::Value::ofJson(R"({"a":[1,2]})"));
  EXPECT_NE(decodeValue(50, "null").message().find("null"), std::string::npos);
  EXPECT_NE(decodeValue(50, "{").message().find("application/json: invalid JSON"), std::string::npos);
  EXPECT_EQ(*decodeValue(60, std::string("\x18\x2a", 2)), sdk::Value::ofLong(42));
  EXPECT_EQ(*decodeValue(60, std::string("\xa1\x61\x61\x01", 4)), sdk::Value::ofJson(R"({"a":1})"));
  EXPECT_EQ(*decodeValue(42, std::string("\x00\x01", 2)), sdk::Value::ofBytes(std::string("\x00\x01", 2)));
  EXPECT_NE(decodeValue(110, "[]").message().find("application/senml+json is not a single-value format"), std::string::npos);
  EXPECT_NE(decodeValue(99, "x").message().find("content-format 99"), std::string::npos);
}

TEST(LinkFormat, Rfc6690Examples) {
  auto r = parseLinkFormat(R"(</sensors/temp>;rt="temperature-c";if="sensor";obs,
                              </sensors/light>;rt="light-lux";if="sensor";ct=0,
                              </t>;anchor="/sensors/temp";rel="alternate";title="a, b; c")");
  ASSERT_TRUE(r) << r.message();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].target, "/sensors/temp");
  EXPECT_EQ(*(*r)[0].attribute("rt"), "temperature-c");
  EXPECT_TRUE((*r)[0].observable());
  EXPECT_FALSE((*r)[1].observable());
  EXPECT_EQ((*r)[1].contentFormat(), std::optional<std::uint16_t>(0));
  EXPECT_EQ(*(*r)[2].attribute("title"), "a, b; c");
  EXPECT_EQ(*(*r)[2].attribute("anchor"), "/sensors/temp");
  EXPECT_TRUE(parseLinkFormat("")->empty());
  EXPECT_EQ(parseLinkFormat("</a>;ct=\"50 60\"")->at(0).contentFormat(), std::optional<std::uint16_t>(50));
}

TEST(LinkFormat, MalformedDocumentsGiveTheOffset) {
  EXPECT_NE(parseLinkFormat("/a").message().find("expected '<' starting a link at offset 0"), std::string::npos);
  EXPECT_NE(parseLinkFormat("</a").message().find("no '>'"), std::string::npos);
  EXPECT_NE(parseLinkFormat("</a>;rt=\"x").message().find("unterminated quoted string"), std::string::npos);
  EXPECT_NE(parseLinkFormat("</a> </b>").message().find("expected ',' or ';' after a link at offset 5"), std::string::npos);
  EXPECT_NE(parseLinkFormat("</a>;=1").message().find("expected a parameter name"), std::string::npos);
  EXPECT_NE(parseLinkFormat("</a b>").message().find("not allowed in a URI"), std::string::npos);
  LinkLimits few;
  few.maxLinks = 2;
  EXPECT_NE(parseLinkFormat("</a>,</b>,</c>", few).message().find("more than 2 links"), std::string::npos);
}

}  // namespace
}  // namespace gatehouse::bridge::coap
