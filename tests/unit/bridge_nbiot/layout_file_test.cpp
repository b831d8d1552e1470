// The layouts file (bridges/nbiot/layout): the shipped file loads, and every kind of mistake is
// reported as "FILE:LINE:COL: key.path: message" at the exact position.
#include <gtest/gtest.h>

#include <fstream>
#include <unistd.h>

#include "frames.h"

namespace gatehouse::bridge::nbiot {
namespace {

std::string loadError(const std::string& text) {
  auto r = LayoutSet::loadString(text, "l.yaml");
  EXPECT_FALSE(r) << "loaded";
  return r.message();
}

// A valid binary layout: line 1 is "layouts:", the layout's keys are on lines 2-6 (column 5), then
// extraLayoutKeys (line 7 when one line), "fields:", field T over three lines (its keys at column 9),
// extraField0, fields L, ID, V on one line each, then moreFields (line 14 when the others are empty).
std::string binary(const std::string& extraLayoutKeys = "", const std::string& extraField0 = "", const std::string& moreFields = "") {
  return "layouts:\n"
         "  - name: m\n"
         "    format: binary\n"
         "    match: {field: T, equals: 0x07}\n"
         "    provider: ID\n"
         "    length: {field: L}\n" +
         extraLayoutKeys +
         "    fields:\n"
         "      - name: T\n"
         "        type: u8\n"
         "        offset: 0\n" +
         extraField0 +
         "      - {name: L, offset: 1, type: u8}\n"
         "      - {name: ID, offset: 2, type: ascii_nul, length: 8}\n"
         "      - {name: V, offset: 10, type: u16, resource: s/v}\n" +
         moreFields;
}

TEST(LayoutFile, ShippedLayoutsLoad) {
  auto set = LayoutSet::loadFile(testing::kLayoutsPath);
  ASSERT_TRUE(set) << set.message();
  ASSERT_EQ(set->size(), 2u);
  const auto infos = set->layouts();
  EXPECT_EQ(infos[0].name, "environmental-monitor");
  EXPECT_FALSE(infos[0].text);
  EXPECT_EQ(infos[0].matchField, "TYPE");
  EXPECT_EQ(infos[0].matchValue, "0x01");
  EXPECT_EQ(infos[1].name, "crowd-counter");
  EXPECT_TRUE(infos[1].text);
  EXPECT_EQ(infos[1].matchField, "KIND");
  EXPECT_EQ(infos[1].matchValue, "WIFI");
  EXPECT_EQ(set->maxDatagramBytes(), 2048u);
}

TEST(LayoutFile, TheTestLayoutIsValid) {
  auto set = LayoutSet::loadString(binary(), "l.yaml");
  ASSERT_TRUE(set) << set.message();
  std::string frame = std::string("\x07\x0a", 2) + std::string("dev-1\0\0\0", 8) + std::string("\x01\x02", 2);
  auto d = set->decode(frame, InputEncoding::Binary);
  ASSERT_TRUE(d) << d.message();
  EXPECT_EQ(d->provider, "dev-1");
  EXPECT_EQ(d->readings.at(0).value, sdk::Value::ofInt(0x0102));
}

TEST(LayoutFile, MissingFileAndEmptyFile) {
  EXPECT_EQ(LayoutSet::loadFile("/nonexistent/layouts.yaml").message(), "/nonexistent/layouts.yaml: cannot open the layouts file: No such file or directory");
  EXPECT_EQ(loadError("# nothing\n"), "l.yaml: the file is empty; it needs a top-level key layouts (a list)");
  const std::string path = ::testing::TempDir() + "/nbiot_layouts_" + std::to_string(::getpid()) + ".yaml";
  { std::ofstream(path) << "layouts: 3\n"; }
  const std::string e = LayoutSet::loadFile(path).message();
  std::remove(path.c_str());
  EXPECT_EQ(e.rfind(path + ":1:10: layouts: ", 0), 0u) << e;
}

TEST(LayoutFile, UnknownAndDuplicateKeys) {
  std::string e = loadError(binary("    colour: red\n"));
  EXPECT_EQ(e.rfind("l.yaml:7:5: layouts[0].colour: unknown key", 0), 0u) << e;
  e = loadError(binary("", "        ofset: 3\n"));
  EXPECT_EQ(e.rfind("l.yaml:11:9: layouts[0].fields[0].ofset: unknown key", 0), 0u) << e;
  EXPECT_NE(e.find("offset"), std::string::npos) << e;   // the suggestion
  e = loadError(binary("", "        offset: 3\n"));
  EXPECT_EQ(e.rfind("l.yaml:11:9: layouts[0].fields[0].offset: duplicate key", 0), 0u) << e;
}

TEST(LayoutFile, WrongTypesAndBadValues) {
  std::string e = loadError(binary("", "        scale: ten\n"));
  EXPECT_EQ(e.rfind("l.yaml:11:16: layouts[0].fields[0].scale: expected a number", 0), 0u) << e;
  e = loadError(binary("", "", "      - {name: W, offset: 12, type: u24}\n"));
  EXPECT_EQ(e.rfind("l.yaml:14:37: layouts[0].fields[4].type: ", 0), 0u) << e;
  EXPECT_NE(e.find("u24"), std::string::npos) << e;
  e = loadError(binary("", "", "      - {name: W, offset: 70000, type: u8}\n"));
  EXPECT_EQ(e.rfind("l.yaml:14:27: layouts[0].fields[4].offset: must be between 0 and 65535, found 70000", 0), 0u) << e;
  e = loadError(binary("", "", "      - {name: W, offset: 12, type: u8, resource: temperature}\n"));
  EXPECT_EQ(e, "l.yaml:14:51: layouts[0].fields[4].resource: resource must be written service/name (one '/'), found \"temperature\"");
  e = loadError(binary("", "", "      - {name: W/X, offset: 12, type: u8}\n"));
  EXPECT_EQ(e.rfind("l.yaml:14:16: layouts[0].fields[4].name: must be a name", 0), 0u) << e;
}

TEST(LayoutFile, BinaryFieldRules) {
  EXPECT_EQ(loadError(binary("", "", "      - {name: W, type: u8}\n")),
            "l.yaml:14:9: layouts[0].fields[4]: missing required key offset (where the field starts, in bytes from 0)");
  EXPECT_EQ(loadError(binary("", "", "      - {name: W, offset: 12, type: ascii}\n")),
            "l.yaml:14:9: layouts[0].fields[4]: missing required key length (ascii fields have no fixed size)");
  EXPECT_EQ(loadError(binary("", "", "      - {name: W, offset: 12, type: u16, length: 3}\n")),
            "l.yaml:14:50: layouts[0].fields[4].length: u16 is 2 bytes, found length 3 (leave length out)");
  EXPECT_EQ(loadError(binary("", "", "      - {name: W, offset: 11, type: u16}\n")),
            "l.yaml:14:27: layouts[0].fields[4].offset: bytes 11..12 overlap field V (bytes 10..11)");
  EXPECT_EQ(loadError(binary("", "", "      - {name: W, offset: 12, type: mac}\n")),
            "l.yaml:14:37: layouts[0].fields[4].type: mac is a text type; binary fields are u8-u64, i8-i64, float32, float64, ascii, "
            "ascii_nul or bcd");
  EXPECT_EQ(loadError(binary("", "", "      - {name: W, offset: 12, type: u8, byte_order: little}\n")),
            "l.yaml:14:53: layouts[0].fields[4].byte_order: byte_order is only for numbers of 2 bytes or more, not u8");
  EXPECT_EQ(loadError(binary("", "", "      - {name: W, offset: 12, type: ascii, length: 2, scale: 2}\n")),
            "l.yaml:14:62: layouts[0].fields[4].scale: only numeric fields can be scaled, not ascii");
  EXPECT_EQ(loadError(binary("", "", "      - {name: W, offset: 12, type: u8, scale: 0, resource: s/w}\n")),
            "l.yaml:14:48: layouts[0].fields[4].scale: scale 0 would make every value 0");
  EXPECT_EQ(loadError(binary("", "", "      - {name: W, offset: 12, type: u32, value_type: int, resource: s/w}\n")),
            "l.yaml:14:54: layouts[0].fields[4].value_type: a u32 field's value_type is long, double or string (u32 does not always "
            "fit in an int), found int");
  EXPECT_EQ(loadError(binary("", "", "      - {name: W, offset: 12, type: u8, scale: 0.5, value_type: int, resource: s/w}\n")),
            "l.yaml:14:65: layouts[0].fields[4].value_type: a u8 scaled field's value_type is double or string (the value has a "
            "fraction), found int");
  EXPECT_EQ(loadError(binary("", "", "      - {name: W, offset: 12, type: u8, value_type: int}\n")),
            "l.yaml:14:53: layouts[0].fields[4].value_type: value_type is the type of the resource; add resource or remove value_type");
  EXPECT_EQ(loadError(binary("", "", "      - {name: V, offset: 12, type: u8}\n")),
            "l.yaml:14:16: layouts[0].fields[4].name: field \"V\" is declared twice (first at fields[3])");
  EXPECT_EQ(loadError(binary("", "", "      - {name: W, offset: 12, type: u8, resource: s/v}\n")),
            "l.yaml:14:51: layouts[0].fields[4].resource: resource \"s/v\" is given by two fields");
  EXPECT_EQ(loadError(binary("", "", "      - {name: W, offset: 12, type: u8, personal: true, resource: s/w}\n")),
            "l.yaml:14:67: layouts[0].fields[4].resource: a personal field never becomes a resource (its values are personal data)");
}

TEST(LayoutFile, LayoutKeyRules) {
  EXPECT_EQ(loadError(binary("    counter: NOPE\n")), "l.yaml:7:14: layouts[0].counter: no field \"NOPE\" in fields");
  EXPECT_EQ(loadError(binary("    counter: ID\n")),
            "l.yaml:7:14: layouts[0].counter: the frame counter must be an unsigned integer field (u8-u64, or integer in text)");
  EXPECT_EQ(loadError(binary("    separator: ;\n")), "l.yaml:7:16: layouts[0].separator: only text layouts have a separator");
  std::string text = binary();
  text.replace(text.find("equals: 0x07"), 12, "equals: 0x107");
  EXPECT_EQ(loadError(text), "l.yaml:4:31: layouts[0].match.equals: 0x107 does not fit in 8 bits");
  text = binary();
  text.replace(text.find("field: T,"), 9, "field: ID,");
  EXPECT_EQ(loadError(text), "l.yaml:4:20: layouts[0].match.field: the discriminator must be an integer field (u8-u64, i8-i64)");
  // Found by the fuzzer: a text type as a binary discriminator (once an out-of-range shift).
  text = binary();
  text.replace(text.find("type: u8\n"), 9, "type: integer\n");
  const std::string e = loadError(text);
  EXPECT_NE(e.find("l.yaml:4:20: layouts[0].match.field: the discriminator must be an integer field (u8-u64, i8-i64)"), std::string::npos) << e;
  EXPECT_NE(e.find("l.yaml:9:15: layouts[0].fields[0].type: integer is a text type"), std::string::npos) << e;
}

TEST(LayoutFile, TextLayoutRules) {
  const std::string head =
      "layouts:\n"
      "  - name: t\n"
      "    format: text\n"
      "    match: {prefix: X}\n"
      "    provider: ID\n";
  EXPECT_EQ(loadError(head + "    fields:\n      - {name: ID, type: ascii, offset: 0}\n"),
            "l.yaml:7:41: layouts[0].fields[0].offset: only binary fields have offset (text fields are split by the separator)");
  EXPECT_EQ(loadError(head + "    fields:\n      - {name: ID, type: u16}\n"),
            "l.yaml:7:26: layouts[0].fields[0].type: u16 is a binary type; text fields are ascii, integer, decimal, timestamp or mac");
  EXPECT_EQ(loadError(head + "    fields:\n      - {name: ID, type: ascii}\n      - {name: D, type: timestamp}\n"),
            "l.yaml:8:9: layouts[0].fields[1]: missing required key pattern (how the timestamp is written, e.g. YYYYMMDD-hh:mm:ss)");
  EXPECT_EQ(loadError(head + "    fields:\n      - {name: ID, type: ascii}\n      - {name: D, type: timestamp, pattern: YYYY-MM}\n"),
            "l.yaml:8:45: layouts[0].fields[1].pattern: a timestamp pattern needs YYYY, MM and DD once each");
  EXPECT_EQ(loadError(head + "    fields:\n      - {name: ID, type: ascii, personal: true}\n"),
            "l.yaml:5:15: layouts[0].provider: a personal field cannot be the provider id");
  EXPECT_EQ(loadError(head + "    length: {field: ID}\n    fields:\n      - {name: ID, type: ascii}\n"),
            "l.yaml:6:13: layouts[0].length: only binary layouts have a LENGTH field check");
  EXPECT_EQ(loadError(head + "    fields:\n      - {name: ID, type: ascii}\n    lines:\n      fields:\n        - {name: M, type: mac, resource: s/m}\n"),
            "l.yaml:10:42: layouts[0].lines.fields[0].resource: line fields do not become resources (they are returned as line entries)");
  EXPECT_EQ(loadError("layouts:\n  - name: t\n    format: text\n    match: {field: ID}\n    provider: ID\n"
                      "    fields:\n      - {name: ID, type: ascii}\n"),
            "l.yaml:4:12: layouts[0].match: the discriminator needs prefix, or field and equals");
  EXPECT_EQ(loadError(binary("    lines:\n      fields:\n        - {name: M, type: mac}\n")),
            "l.yaml:8:7: layouts[0].lines: only text layouts have lines (repeated lines after the header)");
}

TEST(LayoutFile, DuplicateLayoutNamesAndDiscriminators) {
  const std::string one = binary();
  const std::string second = one.substr(std::string("layouts:\n").size());
  EXPECT_EQ(loadError(one + second),
            "l.yaml:14:5: layouts[1].match: the same discriminator as layouts[0] (m); this layout would never match\n"
            "l.yaml:14:11: layouts[1].name: layout \"m\" is declared twice (first at layouts[0])");
}

TEST(LayoutFile, EveryProblemAtOnce) {
  const std::string e = loadError(binary("    colour: red\n", "        scale: ten\n", "      - {name: W, type: u8}\n"));
  EXPECT_NE(e.find("l.yaml:7:5: layouts[0].colour"), std::string::npos) << e;
  EXPECT_NE(e.find("l.yaml:12:16: layouts[0].fields[0].scale"), std::string::npos) << e;
}

}  // namespace
}  // namespace gatehouse::bridge::nbiot
