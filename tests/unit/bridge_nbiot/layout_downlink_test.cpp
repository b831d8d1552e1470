// Downlinks and sources of the layouts file: the shipped downlinks encode to the bytes of their
// declared parts, bounds and field sizes are enforced, mistakes in `downlinks:`/`sources:` are
// reported at their position, and networks match the addresses they should (and no others).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include "frames.h"
#include "gatehouse/kit/codec.h"

namespace gatehouse::bridge::nbiot {
namespace {

using testing::shippedLayouts;
using Values = std::vector<std::pair<std::string, sdk::Value>>;

std::size_t downlinkIndex(const LayoutSet& set, std::size_t layout, const std::string& resource) {
  const auto& d = set.downlinks(layout);
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (d[i].service + "/" + d[i].resource == resource) return i;
  }
  ADD_FAILURE() << "no downlink " << resource;
  return 0;
}

TEST(NbiotDownlink, ShippedEnvironmentalMonitorDownlinksEncodeToTheirBytes) {
  const LayoutSet set = shippedLayouts();
  const auto& d = set.downlinks(0);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].service, "settings");
  EXPECT_EQ(d[0].resource, "reportInterval");
  EXPECT_FALSE(d[0].action);
  EXPECT_EQ(d[0].type, sdk::ValueType::Int);
  EXPECT_EQ(d[0].unit, "s");
  EXPECT_EQ(d[0].min, 60.0);
  EXPECT_EQ(d[0].max, 65535.0);
  EXPECT_TRUE(d[1].action);
  ASSERT_EQ(d[1].params.size(), 1u);
  EXPECT_EQ(d[1].params[0].name, "delay_s");

  auto set300 = set.encodeDownlink(0, 0, {{"value", sdk::Value::ofInt(300)}});
  ASSERT_TRUE(set300) << set300.message();
  EXPECT_EQ(kit::hexEncode(*set300), "8102012c");
  auto reboot = set.encodeDownlink(0, 1, {{"delay_s", sdk::Value::ofInt(5)}});
  ASSERT_TRUE(reboot) << reboot.message();
  EXPECT_EQ(kit::hexEncode(*reboot), "82020005");
  // A whole-number double is accepted for an int part.
  auto asDouble = set.encodeDownlink(0, 0, {{"value", sdk::Value::ofDouble(65535)}});
  ASSERT_TRUE(asDouble) << asDouble.message();
  EXPECT_EQ(kit::hexEncode(*asDouble), "8102ffff");
}

TEST(NbiotDownlink, ShippedCrowdCounterDownlinkIsText) {
  const LayoutSet set = shippedLayouts();
  const auto i = downlinkIndex(set, 1, "settings/scanInterval");
  auto text = set.encodeDownlink(1, i, {{"value", sdk::Value::ofInt(30)}});
  ASSERT_TRUE(text) << text.message();
  EXPECT_EQ(*text, "CFG@SCAN@30");
}

TEST(NbiotDownlink, BoundsAndMissingValuesAreRefusedWithTheReason) {
  const LayoutSet set = shippedLayouts();
  auto low = set.encodeDownlink(0, 0, {{"value", sdk::Value::ofInt(59)}});
  ASSERT_FALSE(low);
  EXPECT_NE(low.message().find("outside 60.0..65535.0"), std::string::npos) << low.message();
  auto high = set.encodeDownlink(0, 1, {{"delay_s", sdk::Value::ofInt(3601)}});
  ASSERT_FALSE(high);
  EXPECT_NE(high.message().find("parameter delay_s 3601 is outside"), std::string::npos) << high.message();
  auto missing = set.encodeDownlink(0, 1, {});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.message().find("needs parameter delay_s"), std::string::npos) << missing.message();
  auto text = set.encodeDownlink(0, 0, {{"value", sdk::Value::ofString("300")}});
  ASSERT_FALSE(text);
  EXPECT_NE(text.message().find("must be a number"), std::string::npos) << text.message();
  EXPECT_FALSE(set.encodeDownlink(0, 9, {}));
  EXPECT_FALSE(set.encodeDownlink(7, 0, {}));
}

const char* kOwnLayout = R"(layouts:
  - name: m
    format: binary
    byte_order: little
    match: {field: T, equals: 7}
    provider: ID
    fields:
      - {name: T, offset: 0, type: u8}
      - {name: ID, offset: 1, type: ascii_nul, length: 8}
    downlinks:
      - resource: s/level
        value_type: double
        encode:
          - {type: i16, from: value, scale: 0.1}
          - {type: u32, from: value, byte_order: big}
          - {type: float32, from: value}
      - resource: s/name
        value_type: string
        encode:
          - {type: ascii, const: "N="}
          - {type: ascii, from: value}
)";

TEST(NbiotDownlink, ScaleByteOrderFloatsAndFieldOverflow) {
  auto set = LayoutSet::loadString(kOwnLayout, "own.yaml");
  ASSERT_TRUE(set) << set.message();
  auto v = set->encodeDownlink(0, 0, {{"value", sdk::Value::ofDouble(-2.5)}});
  ASSERT_FALSE(v);   // -2.5 does not fit u32
  EXPECT_NE(v.message().find("does not fit the downlink's 32-bit unsigned field"), std::string::npos) << v.message();
  v = set->encodeDownlink(0, 0, {{"value", sdk::Value::ofDouble(2.5)}});
  ASSERT_TRUE(v) << v.message();
  // i16 little-endian 25 = 19 00; u32 big-endian round(2.5) = 2 (ties to even) = 00000002; float 2.5 LE = 00 00 20 40
  EXPECT_EQ(kit::hexEncode(*v), "1900" "00000002" "00002040");
  v = set->encodeDownlink(0, 0, {{"value", sdk::Value::ofDouble(4000)}});
  ASSERT_FALSE(v);   // 40000 does not fit i16
  EXPECT_NE(v.message().find("16-bit signed"), std::string::npos) << v.message();
  auto name = set->encodeDownlink(0, 1, {{"value", sdk::Value::ofString("lamp")}});
  ASSERT_TRUE(name) << name.message();
  EXPECT_EQ(*name, "N=lamp");
  auto control = set->encodeDownlink(0, 1, {{"value", sdk::Value::ofString("a\nb")}});
  ASSERT_FALSE(control);
  EXPECT_NE(control.message().find("control characters"), std::string::npos) << control.message();
}

std::string loadError(const std::string& text) {
  auto r = LayoutSet::loadString(text, "l.yaml");
  EXPECT_FALSE(r) << "loaded";
  return r.message();
}

std::string withDownlinks(const std::string& downlinks, const std::string& extra = "") {
  return "layouts:\n"
         "  - name: m\n"
         "    format: binary\n"
         "    match: {field: T, equals: 7}\n"
         "    provider: ID\n" +
         extra +
         "    fields:\n"
         "      - {name: T, offset: 0, type: u8}\n"
         "      - {name: ID, offset: 1, type: ascii_nul, length: 8}\n"
         "      - {name: V, offset: 9, type: u8, resource: s/v}\n"
         "    downlinks:\n" +
         downlinks;
}

TEST(NbiotDownlink, MistakesAreReportedAtTheirPosition) {
  // line 11 is the first downlink item
  EXPECT_NE(loadError(withDownlinks("      - {resource: s/x, encode: [{type: u8, from: value}]}\n"))
                .find("l.yaml:11:9: layouts[0].downlinks[0]: missing required key value_type"),
            std::string::npos);
  EXPECT_NE(loadError(withDownlinks("      - {resource: s/v, value_type: int, encode: [{type: u8, from: value}]}\n"))
                .find("l.yaml:11:20: layouts[0].downlinks[0].resource: resource \"s/v\" is also a field's resource"),
            std::string::npos);
  const std::string both = loadError(withDownlinks("      - {resource: s/x, value_type: int, encode: [{type: u8, const: 1, from: value}]}\n"));
  EXPECT_NE(both.find("downlinks[0].encode[0]: give either const (a constant) or from (value, or a parameter), not both"), std::string::npos) << both;
  const std::string param = loadError(withDownlinks("      - {resource: s/x, action: true, encode: [{type: u8, from: nope}]}\n"));
  EXPECT_NE(param.find("downlinks[0].encode[0].from: no parameter \"nope\" in params"), std::string::npos) << param;
  const std::string big = loadError(withDownlinks("      - {resource: s/x, value_type: int, encode: [{type: u8, const: 300}]}\n"));
  EXPECT_NE(big.find("downlinks[0].encode[0].const: 300 does not fit in 8 bits"), std::string::npos) << big;
  // A declared max the part cannot hold is a mistake in the file, not a failure at SET time.
  const std::string wide = loadError(withDownlinks("      - {resource: s/x, value_type: int, max: 70000, encode: [{type: u16, from: value}]}\n"));
  EXPECT_NE(wide.find("downlinks[0].encode[0].from: the value's max 70000.0 does not fit this u16 part (0..65535)"), std::string::npos) << wide;
  const std::string bounds = loadError(withDownlinks("      - {resource: s/x, value_type: int, min: 5, max: 1, encode: [{type: u8, from: value}]}\n"));
  EXPECT_NE(bounds.find("downlinks[0].min: min is larger than max"), std::string::npos) << bounds;
  const std::string dup = loadError(withDownlinks("      - {resource: s/x, value_type: int, encode: [{type: u8, from: value}]}\n"
                                                   "      - {resource: s/x, value_type: int, encode: [{type: u8, from: value}]}\n"));
  EXPECT_NE(dup.find("l.yaml:12:"), std::string::npos) << dup;
  EXPECT_NE(dup.find("has two downlinks"), std::string::npos) << dup;
}

TEST(NbiotDownlink, SourcesMustBeNetworks) {
  const std::string ok = withDownlinks("      - {resource: s/x, value_type: int, encode: [{type: u8, from: value}]}\n",
                                       "    sources: [10.0.0.0/8, \"2001:db8::/32\", 192.0.2.7]\n");
  auto set = LayoutSet::loadString(ok, "l.yaml");
  ASSERT_TRUE(set) << set.message();
  EXPECT_EQ(set->sourcesText(0), "10.0.0.0/8, 2001:db8::/32, 192.0.2.7/32");
  const std::string bad = loadError(withDownlinks("      - {resource: s/x, value_type: int, encode: [{type: u8, from: value}]}\n",
                                                  "    sources: [10.1.2.3/8, 10.0.0.0/40, nowhere]\n"));
  EXPECT_NE(bad.find("sources[0]: host bits are set in \"10.1.2.3/8\": did you mean 10.0.0.0/8?"), std::string::npos) << bad;
  EXPECT_NE(bad.find("sources[1]: prefix 40 is larger than 32"), std::string::npos) << bad;
  EXPECT_NE(bad.find("sources[2]: not an IPv4 or IPv6 network"), std::string::npos) << bad;
}

sockaddr_storage v4(const char* text) {
  sockaddr_storage s{};
  auto* in = reinterpret_cast<sockaddr_in*>(&s);
  in->sin_family = AF_INET;
  EXPECT_EQ(::inet_pton(AF_INET, text, &in->sin_addr), 1);
  return s;
}

sockaddr_storage v6(const char* text) {
  sockaddr_storage s{};
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&s);
  in6->sin6_family = AF_INET6;
  EXPECT_EQ(::inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
  return s;
}

bool contains(const char* network, const sockaddr_storage& a) {
  auto n = parseNetwork(network);
  EXPECT_TRUE(n) << n.message();
  return n && networkContains(*n, reinterpret_cast<const sockaddr*>(&a));
}

TEST(NbiotNetwork, MatchesExactlyThePrefix) {
  EXPECT_TRUE(contains("10.0.0.0/8", v4("10.255.1.2")));
  EXPECT_FALSE(contains("10.0.0.0/8", v4("11.0.0.1")));
  EXPECT_TRUE(contains("192.168.4.0/22", v4("192.168.7.255")));
  EXPECT_FALSE(contains("192.168.4.0/22", v4("192.168.8.0")));
  EXPECT_TRUE(contains("127.0.0.1", v4("127.0.0.1")));
  EXPECT_FALSE(contains("127.0.0.1", v4("127.0.0.2")));
  EXPECT_TRUE(contains("0.0.0.0/0", v4("203.0.113.9")));
  EXPECT_TRUE(contains("2001:db8::/32", v6("2001:db8:ffff::1")));
  EXPECT_FALSE(contains("2001:db8::/32", v6("2001:db9::1")));
  EXPECT_FALSE(contains("2001:db8::/32", v4("10.0.0.1")));
  // An IPv4 peer on a dual-stack socket (::ffff:a.b.c.d) matches IPv4 networks, not IPv6 ones.
  EXPECT_TRUE(contains("10.0.0.0/8", v6("::ffff:10.1.2.3")));
  EXPECT_FALSE(contains("10.0.0.0/8", v6("::ffff:11.1.2.3")));
  EXPECT_FALSE(contains("::/0", v4("10.0.0.1")));
}

}  // namespace
}  // namespace gatehouse::bridge::nbiot
