// The NB-IoT frame decoder with the shipped layouts (etc/nbiot/layouts.yaml) and a few test-only
// layouts: every decoded value and unit of both shipped frames (docs/nbiot-frames.md), and the bad-input cases of
// SECURITY-CHECKLIST.md part D (truncation at every offset, LENGTH larger/smaller, odd hex,
// unknown type, oversized datagrams).
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <stdexcept>

#include "frames.h"
#include "gatehouse/kit/codec.h"

namespace gatehouse::bridge::nbiot {
namespace {

using sdk::Value;
using testing::EnvFrame;
using testing::kCrowdFrame;

class Decode : public ::testing::Test {
 protected:
  LayoutSet set = testing::shippedLayouts();

  DecodedFrame ok(std::string_view datagram, InputEncoding enc = InputEncoding::Auto) {
    auto r = set.decode(datagram, enc);
    EXPECT_TRUE(r) << r.message();
    return r ? *r : DecodedFrame{};
  }
  std::string error(std::string_view datagram, InputEncoding enc = InputEncoding::Auto) {
    auto r = set.decode(datagram, enc);
    EXPECT_FALSE(r) << "decoded as " << (r ? r->layout : "");
    return r.message();
  }
};

void expectReading(const Reading& r, const char* service, const char* resource, const Value& value, const char* unit) {
  EXPECT_EQ(r.service, service);
  EXPECT_EQ(r.resource, resource);
  EXPECT_EQ(r.value.type(), value.type()) << r.field;
  if (value.type() == sdk::ValueType::Double) {
    EXPECT_DOUBLE_EQ(r.value.asDouble(), value.asDouble()) << r.field;
  } else {
    EXPECT_EQ(r.value, value) << r.field;
  }
  EXPECT_EQ(r.unit, unit) << r.field;
}

TEST_F(Decode, EnvironmentalMonitorEveryValueAndUnit) {
  const EnvFrame frame;
  const std::string bytes = frame.bytes();
  ASSERT_EQ(bytes.size(), 31u);
  ASSERT_EQ(static_cast<unsigned char>(bytes[2]), 28u);   // LENGTH = 28, as docs/nbiot-frames.md says
  const DecodedFrame d = ok(bytes, InputEncoding::Binary);
  EXPECT_EQ(d.layout, "environmental-monitor");
  EXPECT_EQ(d.layoutIndex, 0u);
  EXPECT_EQ(d.provider, "867724030000123");
  ASSERT_TRUE(d.counter.has_value());
  EXPECT_EQ(*d.counter, 0x01020304u);
  EXPECT_FALSE(d.timestampMs.has_value());
  EXPECT_TRUE(d.lines.empty());
  ASSERT_EQ(d.readings.size(), 4u);
  expectReading(d.readings[0], "device", "batteryVoltage", Value::ofInt(3600), "mV");
  expectReading(d.readings[1], "environment", "soundLevel", Value::ofInt(55), "dB");
  expectReading(d.readings[2], "environment", "temperature", Value::ofDouble(-5.2), "°C");
  expectReading(d.readings[3], "environment", "humidity", Value::ofDouble(65.4), "%");
}

TEST_F(Decode, EnvironmentalMonitorExtremeValues) {
  EnvFrame frame;
  frame.nSend = 0xffffffff;
  frame.imei = "1234567890123456";   // all 16 bytes, no NUL
  frame.batteryMv = 65535;
  frame.tenthsC = -32768;
  frame.tenthsPercent = 0;
  const DecodedFrame d = ok(frame.bytes(), InputEncoding::Binary);
  EXPECT_EQ(d.provider, "1234567890123456");
  EXPECT_EQ(*d.counter, 0xffffffffu);
  expectReading(d.readings[0], "device", "batteryVoltage", Value::ofInt(65535), "mV");
  expectReading(d.readings[2], "environment", "temperature", Value::ofDouble(-3276.8), "°C");
  expectReading(d.readings[3], "environment", "humidity", Value::ofDouble(0.0), "%");
}

TEST_F(Decode, HexTextGivesTheSameFrame) {
  const std::string bytes = EnvFrame{}.bytes();
  const std::string hex = kit::hexEncode(bytes);
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const std::string& text : {hex, upper, "0x" + hex, " " + hex + "\r\n"}) {
    const DecodedFrame d = ok(text);   // Auto detects it
    EXPECT_EQ(d.provider, "867724030000123") << text;
    ASSERT_EQ(d.readings.size(), 4u);
    expectReading(d.readings[2], "environment", "temperature", Value::ofDouble(-5.2), "°C");
    EXPECT_EQ(ok(text, InputEncoding::Hex).provider, "867724030000123");
  }
  // The crowd counter as hex text too.
  EXPECT_EQ(ok(kit::hexEncode(kCrowdFrame)).layout, "crowd-counter");
}

TEST_F(Decode, OddOrInvalidHex) {
  const std::string hex = kit::hexEncode(EnvFrame{}.bytes());
  EXPECT_EQ(error(hex.substr(0, 61)), "hex text: odd number of hex digits (61)");
  EXPECT_EQ(error(hex.substr(0, 61), InputEncoding::Hex), "hex text: odd number of hex digits (61)");
  EXPECT_EQ(error("01001cg0", InputEncoding::Hex), "hex text: invalid hex digit \"g\" at position 6");
  EXPECT_EQ(error("0x", InputEncoding::Hex), "hex text: empty hex text");
  // Auto: text that is not all hex digits is a binary datagram (which matches no layout here).
  EXPECT_NE(error("01001cg0").find("unknown frame type"), std::string::npos);
}

TEST_F(Decode, CrowdCounterEveryValueAndTheLinesKeptApart) {
  const DecodedFrame d = ok(kCrowdFrame);
  EXPECT_EQ(d.layout, "crowd-counter");
  EXPECT_EQ(d.layoutIndex, 1u);
  EXPECT_EQ(d.provider, "CC0042");
  EXPECT_FALSE(d.counter.has_value());
  // YYYYDDMM: 2024, day 15, month 03.
  ASSERT_TRUE(d.timestampMs.has_value());
  EXPECT_EQ(*d.timestampMs, *kit::parseIso8601("2024-03-15T13:45:07Z"));
  ASSERT_EQ(d.readings.size(), 3u);
  expectReading(d.readings[0], "environment", "temperature", Value::ofDouble(21.5), "°C");
  expectReading(d.readings[1], "crowd", "wifiPackets", Value::ofInt(1234), "");
  expectReading(d.readings[2], "crowd", "wifiDevices", Value::ofInt(3), "");
  ASSERT_EQ(d.lineFields.size(), 2u);
  EXPECT_EQ(d.lineFields[0].name, "MAC");
  EXPECT_TRUE(d.lineFields[0].personal);
  EXPECT_EQ(d.lineFields[1].name, "RSSI");
  EXPECT_FALSE(d.lineFields[1].personal);
  ASSERT_EQ(d.lines.size(), 3u);
  const char* macs[] = {"aa:bb:cc:dd:ee:01", "aa:bb:cc:dd:ee:02", "aa:bb:cc:dd:ee:03"};
  const int rssi[] = {-67, -80, -91};
  for (std::size_t i = 0; i < 3; ++i) {
    ASSERT_EQ(d.lines[i].size(), 2u);
    EXPECT_EQ(d.lines[i][0], Value::ofString(macs[i]));
    EXPECT_EQ(d.lines[i][1], Value::ofInt(rssi[i]));
  }
  // No MAC anywhere in the readings.
  for (const Reading& r : d.readings) {
    EXPECT_NE(r.field, "MAC");
    if (r.value.type() == sdk::ValueType::String) {
      EXPECT_EQ(r.value.asString().find("aa:bb"), std::string::npos);
    }
  }
}

TEST_F(Decode, CrowdCounterDateIsDayBeforeMonth) {
  // 2024-05-03 read as YYYYDDMM is 5 March, not 3 May.
  const DecodedFrame d = ok("CC1@WIFI@20240503-00:00:59@-3.25@0@0");
  EXPECT_EQ(*d.timestampMs, *kit::parseIso8601("2024-03-05T00:00:59Z"));
  EXPECT_TRUE(d.lines.empty());
  expectReading(d.readings[0], "environment", "temperature", Value::ofDouble(-3.25), "°C");
  // Day 31 of month 02 does not exist; month 13 neither.
  EXPECT_NE(error("CC1@WIFI@20243102-00:00:00@1@0@0").find("not a valid date"), std::string::npos);
  EXPECT_NE(error("CC1@WIFI@20240113-00:00:00@1@0@0").find("not a valid date"), std::string::npos);
  EXPECT_NE(error("CC1@WIFI@2024-01-01T00:00:00@1@0@0").find("does not match the pattern YYYYDDMM-hh:mm:ss"), std::string::npos);
}

TEST_F(Decode, EverySampleTruncatedAtEveryOffsetIsAClearError) {
  const std::string env = EnvFrame{}.bytes();
  EXPECT_EQ(error(env.substr(0, 0), InputEncoding::Binary), "empty datagram");
  for (std::size_t k = 1; k < env.size(); ++k) {
    const std::string e = error(env.substr(0, k), InputEncoding::Binary);
    if (k < 3) {
      EXPECT_NE(e.find("layout environmental-monitor: too short: " + std::to_string(k) + " bytes"), std::string::npos) << k << ": " << e;
    } else {
      EXPECT_EQ(e, "layout environmental-monitor: LENGTH mismatch: LENGTH says 28 bytes, the datagram has " + std::to_string(k - 3) +
                       " after it")
          << k;
    }
  }
  // The hex form cut at every character: odd lengths are refused as such, even ones as above.
  const std::string hex = kit::hexEncode(env);
  for (std::size_t k = 1; k < hex.size(); ++k) {
    const std::string e = error(hex.substr(0, k), InputEncoding::Hex);
    if (k % 2 == 1) {
      EXPECT_EQ(e, "hex text: odd number of hex digits (" + std::to_string(k) + ")");
    } else {
      EXPECT_NE(e.find("layout environmental-monitor: "), std::string::npos) << k << ": " << e;
    }
  }
  // The crowd counter: text carries no length, so a cut exactly after a complete field can still
  // be a well-formed frame (fewer lines, a shorter last RSSI). Every cut inside the header before
  // its last field is refused; every other cut is refused or decodes to a consistent frame.
  const std::size_t lastHeaderField = kCrowdFrame.find('\n') - 1;   // the "3" of NUM_WIFI_DEVICES
  std::size_t refused = 0;
  for (std::size_t k = 1; k < kCrowdFrame.size(); ++k) {
    auto r = set.decode(kCrowdFrame.substr(0, k));
    if (k <= lastHeaderField) {
      EXPECT_FALSE(r) << k;
    }
    if (r) {
      EXPECT_EQ(r->provider, "CC0042") << k;
      EXPECT_LE(r->lines.size(), 3u) << k;
    } else {
      ++refused;
      EXPECT_FALSE(r.message().empty()) << k;
      // Before "WIFI" is complete no layout matches ("CC0042" alone is even taken for hex text by
      // InputEncoding::Auto); after it the crowd counter's layout says why.
      const bool named = r.message().rfind("layout crowd-counter: ", 0) == 0 || r.message().rfind("unknown frame type: ", 0) == 0 ||
                         r.message().rfind("hex text: ", 0) == 0;
      EXPECT_TRUE(named) << k << ": " << r.message();
    }
  }
  EXPECT_GT(refused, kCrowdFrame.size() / 2);
}

TEST_F(Decode, LengthLargerOrSmallerThanTheData) {
  for (int length : {29, 27, 0, 1, 0xffff}) {
    EnvFrame frame;
    frame.length = length;
    EXPECT_EQ(error(frame.bytes()), "layout environmental-monitor: LENGTH mismatch: LENGTH says " + std::to_string(length) +
                                        " bytes, the datagram has 28 after it");
  }
  // LENGTH consistent with a longer frame, but the layout has no field there.
  EnvFrame longer;
  longer.extra = "X";
  EXPECT_EQ(error(longer.bytes()), "layout environmental-monitor: trailing bytes: 1 after the last field (the layout is 31 bytes)");
  // LENGTH counting more than the data (the classic over-read) on a truncated frame.
  EnvFrame shortFrame;
  std::string bytes = shortFrame.bytes().substr(0, 20);
  EXPECT_EQ(error(bytes), "layout environmental-monitor: LENGTH mismatch: LENGTH says 28 bytes, the datagram has 17 after it");
}

TEST_F(Decode, UnknownType) {
  EnvFrame frame;
  frame.type = 0x02;
  EXPECT_EQ(error(frame.bytes()),
            "unknown frame type: no layout matches the 31 bytes 02 00 1c 01 02 03 04 38 ... (environmental-monitor has TYPE = 0x01 at "
            "offset 0; crowd-counter has \"WIFI\" as header field 2)");
  EXPECT_NE(error("CC1@BLE@20240503-00:00:59@1@0@0").find("unknown frame type"), std::string::npos);
}

TEST_F(Decode, OversizedDatagrams) {
  ASSERT_EQ(set.maxDatagramBytes(), 2048u);
  const std::string big(2049, '\x01');
  auto r = set.decode(big, InputEncoding::Binary);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, kit::ErrorCode::TooLarge);
  EXPECT_EQ(r.message(), "datagram of 2049 bytes is larger than the limit of 2048 (max_datagram_bytes)");
  r = set.decode(big, InputEncoding::Auto);
  EXPECT_EQ(r.error().code, kit::ErrorCode::TooLarge);
  // Hex text decoding to 2049 bytes.
  r = set.decode(kit::hexEncode(big));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, kit::ErrorCode::TooLarge);
  EXPECT_EQ(r.message(), "datagram (from hex text) of 2049 bytes is larger than the limit of 2048 (max_datagram_bytes)");
  // Far too long to be hex: refused unread.
  r = set.decode(std::string(5000, 'a'), InputEncoding::Hex);
  EXPECT_EQ(r.error().code, kit::ErrorCode::TooLarge);
  // At the limit: decoded (and refused for its own reasons), not TooLarge.
  r = set.decode(std::string(2048, '\x01'), InputEncoding::Binary);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, kit::ErrorCode::BadRequest);
}

TEST_F(Decode, BadFieldContents) {
  EnvFrame frame;
  frame.imei = std::string("8677\x01", 5);
  EXPECT_EQ(error(frame.bytes()), "layout environmental-monitor: field IMEI: byte 0x01 at offset 11 is not printable ASCII");
  frame.imei = std::string("8677\0X", 6);
  EXPECT_EQ(error(frame.bytes()), "layout environmental-monitor: field IMEI: byte 0x58 at offset 12 after the NUL padding");
  // Device-supplied names are refused unless they are model names (checklist D5).
  for (const char* imei : {"86/77", "86..77", "86+7#", ""}) {
    frame.imei = imei;
    EXPECT_NE(error(frame.bytes()).find("layout environmental-monitor: provider id"), std::string::npos) << imei;
  }
  EXPECT_NE(error("a/b@WIFI@20240503-00:00:59@1@0@0").find("provider id \"a/b\" from field SN is not a valid name"), std::string::npos);
}

TEST_F(Decode, CrowdCounterStructure) {
  const std::string header = "CC1@WIFI@20240503-00:00:59@21.5@10@2";
  EXPECT_EQ(error("CC1@WIFI@20240503-00:00:59@21.5@10"),
            "layout crowd-counter: bad text structure: header line has 5 fields separated by \"@\", the layout needs 6 "
            "(SN@KIND@DATE@TEMPERATURE@NUM_WIFI_PKTS@NUM_WIFI_DEVICES)");
  EXPECT_NE(error(header + "@7").find("header line has more than 6 fields"), std::string::npos);
  EXPECT_EQ(error("CC1@WIFI@20240503-00:00:59@warm@10@2"),
            "layout crowd-counter: header line: field TEMPERATURE: \"warm\" is not a decimal number");
  EXPECT_EQ(error("CC1@WIFI@20240503-00:00:59@21.5@ten@2"),
            "layout crowd-counter: header line: field NUM_WIFI_PKTS: \"ten\" is not an integer");
  EXPECT_EQ(error("CC1@WIFI@20240503-00:00:59@21.5@@2"), "layout crowd-counter: header line: field NUM_WIFI_PKTS: is empty");
  EXPECT_EQ(error(header + "\naa:bb:cc:dd:ee:0g@-50"),
            "layout crowd-counter: line 2: field MAC: is not a MAC address (aa:bb:cc:dd:ee:ff); 17 characters, not shown (personal data)");
  EXPECT_EQ(error(header + "\naa:bb:cc:dd:ee:01@-50@3"),
            "layout crowd-counter: bad text structure: line 2 has more than 2 fields separated by \"@\", the layout needs 2 (MAC@RSSI)");
  EXPECT_EQ(error(header + "\naa:bb:cc:dd:ee:01"),
            "layout crowd-counter: bad text structure: line 2 has 1 fields separated by \"@\", the layout needs 2 (MAC@RSSI)");
  EXPECT_EQ(error(header + "\n\naa:bb:cc:dd:ee:01@-50"), "layout crowd-counter: bad text structure: line 2 is empty");
  EXPECT_EQ(error(header + "\naa:bb:cc:dd:ee:01@-5x"), "layout crowd-counter: line 2: field RSSI: \"-5x\" is not an integer");
  EXPECT_EQ(error(header + "\naa:bb:cc:dd:ee:01@-50\x01"),
            "layout crowd-counter: bad text structure: byte 0x01 at offset 58 is not printable text");
  EXPECT_EQ(error(header + "\naa:bb:cc:dd:ee:01@99999999999"),
            "layout crowd-counter: line 2: field RSSI: value 99999999999 does not fit in an int");
}

TEST(DecodeLimits, CrowdCounterMaxLines) {
  // The shipped layout allows 256 lines; more do not fit in 2048 bytes, so raise the size limit.
  std::ifstream in(testing::kLayoutsPath);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string limit = "max_datagram_bytes: 2048";
  ASSERT_NE(text.find(limit), std::string::npos);
  text.replace(text.find(limit), limit.size(), "max_datagram_bytes: 65000");
  auto set = LayoutSet::loadString(text, "big.yaml");
  ASSERT_TRUE(set) << set.message();
  std::string many = "CC1@WIFI@20240503-00:00:59@21.5@10@2";
  for (int i = 0; i < 256; ++i) many += "\naabbccddee01@-1";
  auto r = set->decode(many);
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r->lines.size(), 256u);
  many += "\naabbccddee01@-1";
  EXPECT_EQ(set->decode(many).message(), "layout crowd-counter: bad text structure: more than 256 lines after the header (lines.max_lines)");
}

// Every binary type, both byte orders, a BCD id, a signed discriminator, a text prefix.
const char* kAllTypes = R"(
max_datagram_bytes: 64
layouts:
  - name: all-types
    format: binary
    byte_order: little
    match: {field: KIND, equals: -2}
    provider: ID
    counter: SEQ
    fields:
      - {name: KIND, offset: 0, type: i8}
      - {name: ID,   offset: 1, type: bcd, length: 4}
      - {name: SEQ,  offset: 5, type: u64, byte_order: big}
      - {name: A, offset: 13, type: u16, resource: s/a}
      - {name: B, offset: 15, type: i32, resource: s/b}
      - {name: C, offset: 19, type: float32, unit: V, resource: s/c}
      - {name: D, offset: 23, type: float64, byte_order: big, resource: s/d}
      - {name: E, offset: 31, type: i16, scale: 0.5, value_offset: -10, resource: s/e}
      - {name: F, offset: 33, type: u32, value_type: string, resource: s/f}
      - {name: G, offset: 37, type: ascii, length: 3, resource: s/g}
      - {name: H, offset: 40, type: bcd, length: 2, value_type: long, resource: s/h}
      - {name: I, offset: 42, type: i64, resource: s/i}
  - name: tagged
    format: text
    separator: ";"
    match: {prefix: "T1;"}
    provider: ID
    fields:
      - {name: TAG, type: ascii}
      - {name: ID, type: integer}
      - {name: V, type: decimal, scale: 10, value_type: string, resource: s/v}
)";

TEST(DecodeTypes, EveryBinaryTypeAndByteOrder) {
  auto set = LayoutSet::loadString(kAllTypes, "t.yaml");
  ASSERT_TRUE(set) << set.message();
  std::string f;
  f += '\xfe';                                   // KIND i8 = -2
  f += std::string("\x86\x77\x24\xff", 4);       // ID bcd 867724 + F padding
  testing::putBig(f, 0x0102030405060708ull, 8);  // SEQ big-endian u64
  f += std::string("\x34\x12", 2);               // A = 0x1234 little
  f += std::string("\xfe\xff\xff\xff", 4);       // B = -2 little
  f += std::string("\x00\x00\xc0\x3f", 4);       // C = 1.5f little
  f += std::string("\x40\x09\x21\xfb\x54\x44\x2d\x18", 8);   // D = pi big
  f += std::string("\x14\x00", 2);               // E = 20 -> 20 * 0.5 - 10 = 0
  f += std::string("\xff\xff\xff\xff", 4);       // F = 4294967295 as string
  f += "abc";                                    // G
  f += std::string("\x12\x34", 2);               // H = 1234
  f += std::string("\xff\xff\xff\xff\xff\xff\xff\xff", 8);   // I = -1
  ASSERT_EQ(f.size(), 50u);
  auto r = set->decode(f, InputEncoding::Binary);
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r->provider, "867724");
  EXPECT_EQ(*r->counter, 0x0102030405060708ull);
  ASSERT_EQ(r->readings.size(), 9u);
  EXPECT_EQ(r->readings[0].value, Value::ofInt(0x1234));
  EXPECT_EQ(r->readings[1].value, Value::ofInt(-2));
  EXPECT_EQ(r->readings[2].value, Value::ofDouble(1.5));
  EXPECT_EQ(r->readings[2].unit, "V");
  EXPECT_DOUBLE_EQ(r->readings[3].value.asDouble(), 3.141592653589793);
  EXPECT_EQ(r->readings[4].value, Value::ofDouble(0.0));
  EXPECT_EQ(r->readings[5].value, Value::ofString("4294967295"));
  EXPECT_EQ(r->readings[6].value, Value::ofString("abc"));
  EXPECT_EQ(r->readings[7].value, Value::ofLong(1234));
  EXPECT_EQ(r->readings[8].value, Value::ofLong(-1));

  // A non-BCD nibble, a digit after F padding, a NaN.
  std::string bad = f;
  bad[2] = '\x7a';
  EXPECT_EQ(set->decode(bad).message(), "layout all-types: field ID: byte 0x7a at offset 2 is not BCD");
  bad = f;
  bad[4] = '\xf1';
  EXPECT_EQ(set->decode(bad).message(), "layout all-types: field ID: byte 0xf1 at offset 4 is not BCD");
  bad = f;
  bad.replace(19, 4, std::string("\x00\x00\xc0\x7f", 4));
  EXPECT_EQ(set->decode(bad).message(), "layout all-types: field C: not a finite number");
  // The discriminator is the signed byte -2: +2 matches nothing.
  bad = f;
  bad[0] = '\x02';
  EXPECT_NE(set->decode(bad).message().find("unknown frame type"), std::string::npos);
  // max_datagram_bytes: 64 from the file.
  EXPECT_EQ(set->decode(std::string(65, 'x')).error().code, kit::ErrorCode::TooLarge);

  auto t = set->decode("T1;42;1.25");
  ASSERT_TRUE(t) << t.message();
  EXPECT_EQ(t->layout, "tagged");
  EXPECT_EQ(t->provider, "42");
  EXPECT_EQ(t->readings[0].value, Value::ofString("12.5"));
  EXPECT_EQ(set->decode("T1;-4;1").message(), "layout tagged: provider id from field ID is negative (-4)");
}

TEST(DecodeTypes, EmptySetMatchesNothing) {
  const LayoutSet empty;
  EXPECT_EQ(empty.decode("\x01").message(), "unknown frame type: no layout matches the 1 bytes 01 (no layouts loaded)");
}

}  // namespace
}  // namespace gatehouse::bridge::nbiot
