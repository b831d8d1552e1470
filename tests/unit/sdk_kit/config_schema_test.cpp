// The generic schema engine, on a table that uses every field type, as a plugin would declare it.
#include "gatehouse/kit/config/schema.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace gatehouse::kit::config {
namespace {

std::string requireNoSpace(std::string_view v) {
  return v.find(' ') == std::string_view::npos ? std::string() : "must not contain spaces";
}

const Schema& pluginSchema() {
  static const Schema schema{{
      Field::string("broker", "tcp://localhost:1883").validatedBy(requireNoSpace, "no spaces").doc("Broker URI."),
      Field::integer("qos", 1).range(0, 2).doc("MQTT QoS | level."),
      Field::integer("offset", 0).doc("Any integer."),
      Field::boolean("retain", false).doc("Retain flag."),
      Field::number("ratio", 0.5).numberRange(0.0, 1.0).doc("A fraction."),
      Field::oneOf("format", "json", {"json", "cbor", "text"}).doc("Payload format."),
      Field::stringList("topics", {"a/b"}).validatedBy(requireNoSpace, "no spaces").doc("Topics."),
      Field::section("tls", {
          Field::boolean("enabled", false).doc("Use TLS."),
          Field::section("client", {Field::string("cert", "").doc("PEM file.")}).doc("Client certificate."),
      }).doc("Transport security."),
  }};
  return schema;
}

struct Outcome {
  Values values;
  Diagnostics diagnostics;
};

Outcome run(const std::string& yaml, std::string_view prefix = "plugins.demo") {
  Outcome r;
  r.values = validate(YAML::Load(yaml), pluginSchema(), prefix, r.diagnostics);
  return r;
}

// The only problem reported, formatted as an operator sees it.
std::string onlyProblem(const std::string& yaml) {
  Outcome r = run(yaml);
  EXPECT_EQ(r.diagnostics.total(), 1u) << r.diagnostics.format("p.yaml");
  return r.diagnostics.format("p.yaml");
}

TEST(Schema, EmptyNodeGivesAllDefaults) {
  for (const char* yaml : {"", "~", "# nothing\n"}) {
    Outcome r = run(yaml);
    EXPECT_TRUE(r.diagnostics.empty()) << yaml;
    EXPECT_EQ(r.values.getString("broker"), "tcp://localhost:1883");
    EXPECT_EQ(r.values.getInt("qos"), 1);
    EXPECT_FALSE(r.values.getBool("retain"));
    EXPECT_DOUBLE_EQ(r.values.getDouble("ratio"), 0.5);
    EXPECT_EQ(r.values.getString("format"), "json");
    EXPECT_EQ(r.values.getStringList("topics"), std::vector<std::string>{"a/b"});
    EXPECT_FALSE(r.values.getBool("tls.enabled"));
    EXPECT_EQ(r.values.getString("tls.client.cert"), "");
    EXPECT_FALSE(r.values.find("qos")->fromFile);
  }
}

TEST(Schema, AcceptsValidValuesOfEveryType) {
  Outcome r = run(
      "broker: 'ssl://b:8883'\n"
      "qos: 2\n"
      "offset: -9223372036854775808\n"
      "retain: true\n"
      "ratio: 1\n"
      "format: cbor\n"
      "topics: [x, 'y/z', 12]\n"
      "tls:\n"
      "  enabled: false\n"
      "  client: {cert: /etc/c.pem}\n");
  ASSERT_TRUE(r.diagnostics.empty()) << r.diagnostics.format("p.yaml");
  EXPECT_EQ(r.values.getString("broker"), "ssl://b:8883");
  EXPECT_EQ(r.values.getInt("qos"), 2);
  EXPECT_EQ(r.values.getInt("offset"), std::numeric_limits<std::int64_t>::min());
  EXPECT_TRUE(r.values.getBool("retain"));
  EXPECT_DOUBLE_EQ(r.values.getDouble("ratio"), 1.0);
  EXPECT_EQ(r.values.getString("format"), "cbor");
  EXPECT_EQ(r.values.getStringList("topics"), (std::vector<std::string>{"x", "y/z", "12"}));
  EXPECT_EQ(r.values.getString("tls.client.cert"), "/etc/c.pem");
  const Values::Entry* qos = r.values.find("qos");
  ASSERT_NE(qos, nullptr);
  EXPECT_TRUE(qos->fromFile);
  EXPECT_EQ(qos->line, 2);
  EXPECT_EQ(qos->column, 6);
}

TEST(Schema, RangeBoundsAreInclusive) {
  EXPECT_TRUE(run("qos: 0").diagnostics.empty());
  EXPECT_TRUE(run("qos: 2").diagnostics.empty());
  EXPECT_TRUE(run("qos: +2").diagnostics.empty());
  EXPECT_EQ(onlyProblem("qos: 3"), "p.yaml:1:6: plugins.demo.qos: must be between 0 and 2, found 3");
  EXPECT_EQ(onlyProblem("qos: -1"), "p.yaml:1:6: plugins.demo.qos: must be between 0 and 2, found -1");
  EXPECT_TRUE(run("ratio: 0.0").diagnostics.empty());
  EXPECT_EQ(onlyProblem("ratio: 1.5"), "p.yaml:1:8: plugins.demo.ratio: must be between 0.0 and 1.0, found 1.5");
}

TEST(Schema, IntegersRefuseFloatsTextOverflowAndQuotedNumbers) {
  EXPECT_EQ(onlyProblem("qos: abc"), "p.yaml:1:6: plugins.demo.qos: expected an integer, found string \"abc\"");
  EXPECT_EQ(onlyProblem("qos: 1.0"), "p.yaml:1:6: plugins.demo.qos: expected an integer, found number 1.0");
  EXPECT_EQ(onlyProblem("qos: 1e3"), "p.yaml:1:6: plugins.demo.qos: expected an integer, found number 1e3");
  EXPECT_EQ(onlyProblem("qos: 0x1"), "p.yaml:1:6: plugins.demo.qos: expected an integer, found string \"0x1\"");
  EXPECT_EQ(onlyProblem("qos: true"), "p.yaml:1:6: plugins.demo.qos: expected an integer, found boolean true");
  EXPECT_EQ(onlyProblem("qos: \"1\""),
            "p.yaml:1:6: plugins.demo.qos: expected an integer, found string \"1\" (write it without quotes)");
  EXPECT_EQ(onlyProblem("qos: 99999999999999999999"),
            "p.yaml:1:6: plugins.demo.qos: must be between 0 and 2, found 99999999999999999999");
  EXPECT_EQ(onlyProblem("offset: 9223372036854775808"),
            "p.yaml:1:9: plugins.demo.offset: integer 9223372036854775808 does not fit in 64 bits");
  EXPECT_TRUE(run("offset: 9223372036854775807").diagnostics.empty());
}

TEST(Schema, BooleansAreOnlyTrueOrFalse) {
  EXPECT_EQ(onlyProblem("retain: yes"), "p.yaml:1:9: plugins.demo.retain: expected true or false, found string \"yes\"");
  EXPECT_EQ(onlyProblem("retain: 1"), "p.yaml:1:9: plugins.demo.retain: expected true or false, found integer 1");
  EXPECT_EQ(onlyProblem("retain: True"), "p.yaml:1:9: plugins.demo.retain: expected true or false, found boolean True");
  EXPECT_EQ(onlyProblem("retain: 'true'"), "p.yaml:1:9: plugins.demo.retain: expected true or false, found string \"true\"");
}

TEST(Schema, NumbersMustBeFinite) {
  EXPECT_EQ(onlyProblem("ratio: .inf"), "p.yaml:1:8: plugins.demo.ratio: must be a finite number, found number .inf");
  EXPECT_EQ(onlyProblem("ratio: .nan"), "p.yaml:1:8: plugins.demo.ratio: must be a finite number, found number .nan");
  EXPECT_EQ(onlyProblem("ratio: half"), "p.yaml:1:8: plugins.demo.ratio: expected a number, found string \"half\"");
  EXPECT_TRUE(run("ratio: .5").diagnostics.empty());
  EXPECT_TRUE(run("ratio: 5e-1").diagnostics.empty());
}

TEST(Schema, ScalarVersusCollectionMismatches) {
  EXPECT_EQ(onlyProblem("broker: [a, b]"), "p.yaml:1:9: plugins.demo.broker: expected a string, found a list");
  EXPECT_EQ(onlyProblem("broker: {a: b}"), "p.yaml:1:9: plugins.demo.broker: expected a string, found a mapping");
  EXPECT_EQ(onlyProblem("qos:\n  a: 1\n"), "p.yaml:2:3: plugins.demo.qos: expected an integer, found a mapping");
  EXPECT_EQ(onlyProblem("topics: a/b"), "p.yaml:1:9: plugins.demo.topics: expected a list of strings, found string \"a/b\"");
  EXPECT_EQ(onlyProblem("topics: [a, [b], c]"), "p.yaml:1:13: plugins.demo.topics[1]: expected a string, found a list");
  EXPECT_EQ(onlyProblem("tls: 5"),
            "p.yaml:1:6: plugins.demo.tls: expected a section with the keys enabled, client, found integer 5");
  EXPECT_EQ(onlyProblem("tls: [enabled]"),
            "p.yaml:1:6: plugins.demo.tls: expected a section with the keys enabled, client, found a list");
}

TEST(Schema, EmptyValueSaysHowToGetTheDefault) {
  EXPECT_EQ(onlyProblem("broker:\nqos: 1\n"),
            "p.yaml:1:1: plugins.demo.broker: expected a string, found nothing (an empty value); remove the key to use "
            "the default");
  EXPECT_EQ(onlyProblem("qos: ~"), "p.yaml:1:1: plugins.demo.qos: expected an integer, found nothing (an empty "
                                   "value); remove the key to use the default");
  // An empty section is the same as an absent one.
  EXPECT_TRUE(run("tls:\n").diagnostics.empty());
}

TEST(Schema, EnumListsAllowedValuesAndSuggests) {
  EXPECT_EQ(onlyProblem("format: jsno"),
            "p.yaml:1:9: plugins.demo.format: must be one of json, cbor, text; found \"jsno\" (did you mean \"json\"?)");
  EXPECT_EQ(onlyProblem("format: xml"), "p.yaml:1:9: plugins.demo.format: must be one of json, cbor, text; found \"xml\"");
  EXPECT_EQ(onlyProblem("format: JSON"),
            "p.yaml:1:9: plugins.demo.format: must be one of json, cbor, text; found \"JSON\" (did you mean \"json\"?)");
}

TEST(Schema, PatternCheckSaysWhatIsRequired) {
  EXPECT_EQ(onlyProblem("broker: a b"), "p.yaml:1:9: plugins.demo.broker: must not contain spaces, found \"a b\"");
  EXPECT_EQ(onlyProblem("topics:\n  - ok\n  - not ok\n"),
            "p.yaml:3:5: plugins.demo.topics[1]: must not contain spaces, found \"not ok\"");
}

TEST(Schema, UnknownKeyListsValidKeysAndSuggestsClosest) {
  EXPECT_EQ(onlyProblem("brokr: x"),
            "p.yaml:1:1: plugins.demo.brokr: unknown key; did you mean \"broker\"? Valid keys in plugins.demo: broker, "
            "qos, offset, retain, ratio, format, topics, tls");
  EXPECT_EQ(onlyProblem("tls:\n  enabeld: true\n"),
            "p.yaml:2:3: plugins.demo.tls.enabeld: unknown key; did you mean \"enabled\"? Valid keys in "
            "plugins.demo.tls: enabled, client");
  // Hyphens and case are the usual slips.
  EXPECT_NE(onlyProblem("Broker: x").find("did you mean \"broker\"?"), std::string::npos);
  EXPECT_EQ(onlyProblem("password: x"),
            "p.yaml:1:1: plugins.demo.password: unknown key. Valid keys in plugins.demo: broker, qos, offset, retain, "
            "ratio, format, topics, tls");
}

TEST(Schema, UnknownKeyAtRootWithoutPrefix) {
  Outcome r = run("qoss: 1", "");
  EXPECT_EQ(r.diagnostics.format("p.yaml"),
            "p.yaml:1:1: qoss: unknown key; did you mean \"qos\"? Valid top-level keys: broker, qos, offset, retain, "
            "ratio, format, topics, tls");
}

TEST(Schema, KeysThatCouldForgeALineAreQuoted) {
  Outcome r = run("\"a\\nb.yaml:1:1: fake\": 1");
  ASSERT_EQ(r.diagnostics.total(), 1u);
  const std::string text = r.diagnostics.format("p.yaml");
  EXPECT_EQ(text.find('\n'), std::string::npos) << text;
  EXPECT_EQ(r.diagnostics.items()[0].keyPath, "plugins.demo.\"a\\nb.yaml:1:1: fake\"");
}

TEST(Schema, DuplicateKeysAreReportedAtTheSecondOccurrence) {
  EXPECT_EQ(onlyProblem("qos: 1\nretain: true\nqos: 2\n"),
            "p.yaml:3:1: plugins.demo.qos: duplicate key; it is already set at line 1, column 1 (YAML would silently "
            "keep only one of them)");
  EXPECT_EQ(onlyProblem("tls: {enabled: true, enabled: false}"),
            "p.yaml:1:22: plugins.demo.tls.enabled: duplicate key; it is already set at line 1, column 7 (YAML would "
            "silently keep only one of them)");
  // Unknown keys repeated are reported once as unknown and once as duplicate.
  Outcome r = run("x: 1\nx: 2\n");
  EXPECT_EQ(r.diagnostics.total(), 2u);
}

TEST(Schema, NonScalarKeysAndTagsAreRefused) {
  EXPECT_EQ(onlyProblem("? [a, b]\n: 1\n"),
            "p.yaml:1:3: plugins.demo: keys must be plain names, found a list as a key");
  EXPECT_EQ(onlyProblem("broker: !custom x"),
            "p.yaml:1:9: plugins.demo.broker: the YAML tag \"!custom\" is not supported here");
  EXPECT_TRUE(run("broker: !!str 12").diagnostics.empty());
  EXPECT_EQ(onlyProblem("qos: !!int 1"), "p.yaml:1:6: plugins.demo.qos: expected an integer, found string \"1\"");
}

TEST(Schema, NonMappingRoot) {
  Outcome r = run("- a\n- b\n", "");
  EXPECT_EQ(r.diagnostics.format("p.yaml"),
            "p.yaml:1:1: the top level must be a mapping with the keys broker, qos, offset, retain, ratio, format, "
            "topics, tls; found a list");
  Outcome scalar = run("hello", "");
  EXPECT_EQ(scalar.diagnostics.format("p.yaml"),
            "p.yaml:1:1: the top level must be a mapping with the keys broker, qos, offset, retain, ratio, format, "
            "topics, tls; found string \"hello\"");
}

TEST(Schema, CyclicAliasesDoNotLoop) {
  Outcome r = run("tls: &t {client: *t}\n");
  // client's value is the tls mapping itself: its key "client" is unknown inside client.
  EXPECT_EQ(r.diagnostics.total(), 1u) << r.diagnostics.format("p.yaml");
  EXPECT_NE(r.diagnostics.format("p.yaml").find("plugins.demo.tls.client.client: unknown key"), std::string::npos);
}

TEST(Schema, EveryProblemIsReportedInFileOrder) {
  Outcome r = run("format: xml\nqos: 7\nretain: maybe\nzzz: 1\ntls: {enabled: 3}\n");
  EXPECT_EQ(r.diagnostics.total(), 5u);
  const std::string text = r.diagnostics.format("p.yaml");
  const char* expectedOrder[] = {"p.yaml:1:9: plugins.demo.format", "p.yaml:2:6: plugins.demo.qos",
                                 "p.yaml:3:9: plugins.demo.retain", "p.yaml:4:1: plugins.demo.zzz",
                                 "p.yaml:5:16: plugins.demo.tls.enabled"};
  std::size_t at = 0;
  for (const char* expected : expectedOrder) {
    const std::size_t found = text.find(expected, at);
    ASSERT_NE(found, std::string::npos) << expected << "\n" << text;
    at = found;
  }
  // A value with a problem keeps its default.
  EXPECT_EQ(r.values.getInt("qos"), 1);
}

TEST(Schema, ManyProblemsAreCappedWithACount) {
  std::string yaml;
  for (int i = 0; i < 250; ++i) yaml += "unknown" + std::to_string(i) + ": 1\n";
  Outcome r = run(yaml);
  EXPECT_EQ(r.diagnostics.total(), 250u);
  EXPECT_EQ(r.diagnostics.items().size(), Diagnostics::kDefaultLimit);
  const std::string text = r.diagnostics.format("p.yaml");
  EXPECT_NE(text.find("\np.yaml: 150 more problems not shown"), std::string::npos);
}

TEST(Schema, EditDistanceCountsSwapsAsOneEdit) {
  EXPECT_EQ(editDistance("port", "port"), 0u);
  EXPECT_EQ(editDistance("prot", "port"), 1u);
  EXPECT_EQ(editDistance("por", "port"), 1u);
  EXPECT_EQ(editDistance("", "abc"), 3u);
  EXPECT_EQ(editDistance("kitten", "sitting"), 3u);
}

TEST(Schema, ValuesGettersRefuseUndeclaredPathsAndWrongTypes) {
  Outcome r = run("");
  EXPECT_THROW((void)r.values.getInt("nope"), std::logic_error);
  EXPECT_THROW((void)r.values.getString("qos"), std::logic_error);
  EXPECT_EQ(r.values.find("tls"), nullptr);   // sections hold no value of their own
}

TEST(Schema, KeyPathsListSectionsAndKeys) {
  const std::vector<std::string> expected{"broker", "qos",         "offset",      "retain",
                                          "ratio",  "format",      "topics",      "tls",
                                          "tls.enabled", "tls.client", "tls.client.cert"};
  EXPECT_EQ(pluginSchema().keyPaths(), expected);
}

TEST(Schema, MarkdownRendersEveryKeyWithTypeDefaultAndLimits) {
  const std::string md = renderMarkdown(pluginSchema(), "plugins.demo");
  EXPECT_NE(md.find("| `plugins.demo.qos` | integer | `1` | between 0 and 2 | MQTT QoS \\| level. |"), std::string::npos)
      << md;
  EXPECT_NE(md.find("| `plugins.demo.format` | enum | `json` | `json`, `cbor`, `text` | Payload format. |"),
            std::string::npos);
  EXPECT_NE(md.find("| `plugins.demo.topics` | list of strings | `[a/b]` | no spaces | Topics. |"), std::string::npos);
  EXPECT_NE(md.find("| `plugins.demo.ratio` | number | `0.5` | between 0.0 and 1.0 | A fraction. |"), std::string::npos);
  EXPECT_NE(md.find("| `plugins.demo.offset` | integer | `0` | any integer | Any integer. |"), std::string::npos);
  EXPECT_NE(md.find("### `plugins.demo.tls`\n\nTransport security.\n"), std::string::npos);
  EXPECT_NE(md.find("#### `plugins.demo.tls.client`\n"), std::string::npos);
  EXPECT_NE(md.find("| `plugins.demo.tls.client.cert` | string | `\"\"` | any | PEM file. |"), std::string::npos);
}

}  // namespace
}  // namespace gatehouse::kit::config
