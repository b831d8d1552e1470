// kit::parseCbor (core/sdk/kit/cbor.h): RFC 8949 appendix A examples read into the kit's JSON
// tree, SenML CBOR's integer labels, and every refusal (truncation, trailing bytes, depth, bad
// keys, duplicate keys, invalid UTF-8, non-finite floats, stray breaks) with its reason.
#include <gtest/gtest.h>

#include <string>

#include "gatehouse/kit/cbor.h"
#include "gatehouse/kit/codec.h"

namespace gatehouse::kit {
namespace {

std::string hex(const char* h) {
  auto r = hexDecode(h);
  EXPECT_TRUE(r) << h;
  return r ? *r : std::string();
}

Json ok(const char* h) {
  auto r = parseCbor(hex(h));
  EXPECT_TRUE(r) << h << ": " << r.message();
  return r ? *r : Json{};
}

std::string error(const std::string& bytes, const JsonLimits& limits = {}) {
  auto r = parseCbor(bytes, limits);
  EXPECT_FALSE(r) << "accepted";
  return r ? std::string() : r.message();
}

TEST(Cbor, IntegersAreExactUpTo64Bits) {
  EXPECT_EQ(ok("00").asInt(), 0);
  EXPECT_EQ(ok("17").asInt(), 23);
  EXPECT_EQ(ok("1818").asInt(), 24);
  EXPECT_EQ(ok("1903e8").asInt(), 1000);
  EXPECT_EQ(ok("1a000f4240").asInt(), 1000000);
  EXPECT_EQ(ok("1b000000e8d4a51000").asInt(), 1000000000000);
  EXPECT_EQ(ok("20").asInt(), -1);
  EXPECT_EQ(ok("3903e7").asInt(), -1000);
  EXPECT_EQ(ok("3b7fffffffffffffff").asInt(), INT64_MIN);
  const Json big = ok("1bffffffffffffffff");
  EXPECT_EQ(big.text, "18446744073709551615");
  EXPECT_FALSE(big.isInteger());   // beyond int64: the literal is kept, asInt() is not
  EXPECT_EQ(ok("3bffffffffffffffff").text, "-18446744073709551616");
}

TEST(Cbor, FloatsSimpleValuesAndStrings) {
  EXPECT_DOUBLE_EQ(ok("f93c00").number, 1.0);          // half
  EXPECT_DOUBLE_EQ(ok("f9c400").number, -4.0);
  EXPECT_DOUBLE_EQ(ok("fa47c35000").number, 100000.0);  // single
  EXPECT_DOUBLE_EQ(ok("fb3ff199999999999a").number, 1.1);
  EXPECT_FALSE(ok("fb3ff199999999999a").isInteger());
  EXPECT_TRUE(ok("f5").boolean);
  EXPECT_EQ(ok("f4").kind, Json::Kind::Boolean);
  EXPECT_TRUE(ok("f6").isNull());
  EXPECT_TRUE(ok("f7").isNull());                       // undefined
  EXPECT_EQ(ok("6449455446").text, "IETF");
  EXPECT_EQ(ok("62c3bc").text, "\xc3\xbc");
  EXPECT_EQ(ok("4401020304").text, "AQIDBA");            // bytes: base64url
  EXPECT_EQ(ok("7f657374726561646d696e67ff").text, "streaming");
  EXPECT_EQ(ok("5f42010243030405ff").text, "AQIDBAU");
  EXPECT_EQ(ok("c074323031332d30332d32315432303a30343a30305a").text, "2013-03-21T20:04:00Z");   // tag 0 skipped
}

TEST(Cbor, ArraysAndMapsKeepOrder) {
  const Json a = ok("8301820203820405");
  ASSERT_TRUE(a.isArray());
  ASSERT_EQ(a.items.size(), 3u);
  EXPECT_EQ(a.items[1].items[1].asInt(), 3);
  EXPECT_TRUE(ok("80").items.empty());
  EXPECT_TRUE(ok("a0").isObject());
  const Json m = ok("a26161016162820203");
  ASSERT_TRUE(m.isObject());
  EXPECT_EQ(m.find("a")->asInt(), 1);
  EXPECT_EQ(m.find("b")->items.size(), 2u);
  const Json indef = ok("bf61610161629f0203ffff");
  EXPECT_EQ(indef.find("b")->items[1].asInt(), 3);
  // SenML CBOR: integer labels become their decimal text (-2 = bn, 2 = v)
  const Json senml = ok("81a221656465762f3202fb4036000000000000");
  ASSERT_EQ(senml.items.size(), 1u);
  EXPECT_EQ(senml.items[0].find("-2")->text, "dev/2");
  EXPECT_DOUBLE_EQ(senml.items[0].find("2")->number, 22.0);
}

TEST(Cbor, RefusalsSayWhy) {
  EXPECT_NE(error("").find("empty"), std::string::npos);
  EXPECT_NE(error(hex("1903")).find("truncated"), std::string::npos);
  EXPECT_NE(error(hex("83010203")  + "x").find("1 bytes after the item"), std::string::npos);
  EXPECT_NE(error(hex("830102")).find("not closed"), std::string::npos);
  EXPECT_NE(error(hex("5a7fffffff00")).find("truncated"), std::string::npos);   // length beyond the data
  EXPECT_NE(error(hex("a2616101616102")).find("duplicate map key"), std::string::npos);
  EXPECT_NE(error(hex("a1f501")).find("map key must be a text string or an integer"), std::string::npos);
  EXPECT_NE(error(hex("62c328")).find("not valid UTF-8"), std::string::npos);
  EXPECT_NE(error(hex("f97e00")).find("not finite"), std::string::npos);
  EXPECT_NE(error(hex("fb7ff0000000000000")).find("not finite"), std::string::npos);
  EXPECT_NE(error(hex("ff")).find("break outside"), std::string::npos);
  EXPECT_NE(error(hex("5f4101610261ff")).find("not a string of its kind"), std::string::npos);
  EXPECT_NE(error(hex("1c")).find("malformed"), std::string::npos);   // reserved additional info
  EXPECT_NE(error(std::string(10000, '\x81') + '\x00').find("nested deeper than 32"), std::string::npos);
  JsonLimits small;
  small.maxBytes = 4;
  EXPECT_NE(error(hex("8401020304"), small).find("larger than the limit"), std::string::npos);
  // A huge declared array with nothing after: refused without reserving anything.
  EXPECT_NE(error(hex("9b00ffffffffffffff")).find("not closed"), std::string::npos);
}

}  // namespace
}  // namespace gatehouse::kit
