// The mappings file, apply() and command routes (bridges/mqtt/mapping/include/mqtt/mapping.h).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "gatehouse/bridge/mqtt/mapping.h"

namespace gatehouse::bridge::mqtt {
namespace {

using sdk::Value;
using sdk::ValueType;

const char* kExample = R"(mappings:
  - topic: sensors/{provider}/{service}/{resource}
    qos: 0
    value: /value
    unit: "°C"
    timestamp: {pointer: /ts, format: seconds}
    metadata: {friendlyName: /name, location: "kitchen", nickname: /nick}
  - topic: site/+/{provider}/telemetry
    service: env
    resources:
      - {resource: temperature, value: /t, type: double, unit: "°C"}
      - {resource: humidity, value: /h, type: int, unit: "%"}
    timestamp: {pointer: /time, format: iso8601}
  - topic: lights/{provider}/state
    service: light
    resource: brightness
    type: int
    command:
      topic: lights/{provider}/set
      payload: '{"brightness": {value}}'
      response: ack
      ack_topic: lights/{provider}/ack
      timeout_ms: 2000
    actions:
      - resource: blink
        params: [{name: times, type: int}, {name: color, type: string, optional: true}]
        result: boolean
        command: {topic: "lights/{provider}/blink", qos: 2}   # quote {names} inside flow {...}
  - topic: raw/{provider}
    service: raw
    resource: frame
    format: hex
    type: bytes
)";

MappingSet load(const char* text) {
  auto r = MappingSet::loadString(text, "m.yaml");
  EXPECT_TRUE(r) << r.message();
  return r ? *r : MappingSet();
}

std::string loadError(const char* text) {
  auto r = MappingSet::loadString(text, "m.yaml");
  EXPECT_FALSE(r);
  return r.message();
}

TEST(MappingFile, LoadsTheDocumentedExample) {
  const MappingSet set = load(kExample);
  ASSERT_EQ(set.size(), 4u);
  EXPECT_EQ(set.description(1), "mappings[1] site/+/{provider}/telemetry");
  EXPECT_EQ(set.description(9), "");
  const auto subs = set.subscriptions();
  ASSERT_EQ(subs.size(), 4u);
  EXPECT_EQ(subs[0].filter, "sensors/+/+/+");
  EXPECT_EQ(subs[0].qos, 0);
  EXPECT_EQ(subs[1].filter, "site/+/+/telemetry");
  EXPECT_EQ(subs[1].qos, 1);
}

TEST(MappingFile, ReadsFromDiskAndReportsMissingFile) {
  const std::string path = ::testing::TempDir() + "/mqtt_mappings_" + std::to_string(::getpid()) + ".yaml";
  { std::ofstream(path) << kExample; }
  auto ok = MappingSet::loadFile(path);
  EXPECT_TRUE(ok) << ok.message();
  std::remove(path.c_str());
  EXPECT_EQ(MappingSet::loadFile(path).message(), path + ": cannot open the mappings file: No such file or directory");
}

TEST(MappingFile, ReportsEveryProblemWithPosition) {
  const std::string error = loadError(R"(mappings:
  - topic: a/{provider}/{service}/{resource}
    qos: 3
    format: xml
    colour: red
    qos: 1
  - topic: b/{provider}
    service: s
    resource: r
    type: float
    value: nope
    timestamp: {pointer: /t, format: ms}
    metadata: {"a b": x}
)");
  EXPECT_EQ(error,
            "m.yaml:3:10: mappings[0].qos: must be between 0 and 2, found 3\n"
            "m.yaml:4:13: mappings[0].format: must be one of json, text, number, boolean, hex, base64; found \"xml\"\n"
            "m.yaml:5:5: mappings[0].colour: unknown key. Valid keys in mappings[0]: topic, qos, format, provider, service, "
            "resource, value, type, unit, timestamp, metadata, resources, command, actions, e2e, key_request_timeout_ms\n"
            "m.yaml:6:5: mappings[0].qos: duplicate key; it is already set at line 3, column 5 (YAML would silently keep only one of them)\n"
            "m.yaml:10:11: mappings[1].type: must be one of double, int, long, boolean, string, json, bytes; found \"float\"\n"
            "m.yaml:11:12: mappings[1].value: JSON pointer \"nope\" must be empty or start with '/'\n"
            "m.yaml:12:38: mappings[1].timestamp.format: must be one of seconds, millis, iso8601; found \"ms\"\n"
            "m.yaml:13:16: mappings[1].metadata.\"a b\": metadata keys must be names (A-Z a-z 0-9 _ . : -), found \"a b\"");
}

TEST(MappingFile, NamesAndStructureRules) {
  EXPECT_EQ(loadError("mappings:\n  - topic: a/{service}/{resource}\n"),
            "m.yaml:2:12: mappings[0].topic: no provider: add {provider} to the topic or a `provider:` key");
  EXPECT_EQ(loadError("mappings:\n  - topic: a/{provider}/{service}/{resource}\n    provider: p\n"),
            "m.yaml:3:15: mappings[0].provider: the topic already names {provider}; remove one of them");
  EXPECT_EQ(loadError("mappings:\n  - topic: a/{provider}/{resource}\n    service: ../etc\n"),
            "m.yaml:3:14: mappings[0].service: must be a name of 1 to 128 characters A-Z a-z 0-9 _ . : - (no \"..\"), found \"../etc\"");
  EXPECT_EQ(loadError("mappings:\n  - topic: a/{provider}\n    service: s\n    resource: r\n    format: hex\n    value: /v\n"),
            "m.yaml:6:12: mappings[0].value: a JSON pointer needs format: json (other formats use the whole payload)");
  EXPECT_EQ(loadError("mappings:\n  - topic: a/{provider}\n    service: s\n    resource: r\n    format: text\n"
                      "    timestamp: {pointer: /t, format: seconds}\n"),
            "m.yaml:6:16: mappings[0].timestamp: a timestamp is read by JSON pointer, so it needs format: json");
  EXPECT_EQ(loadError("mappings:\n  - topic: a/{provider}\n    service: s\n    resource: r\n    resources: [{resource: x}]\n"),
            "m.yaml:4:15: mappings[0].resource: with resources: give this inside each item of resources");
  EXPECT_EQ(loadError("mappings:\n  - topic: a/{provider}\n    service: s\n    resources: [{resource: x}, {resource: x}]\n"),
            "m.yaml:4:32: mappings[0].resources[1].resource: resource \"x\" is listed twice");
  EXPECT_EQ(loadError("mappings:\n  - topic: a/#/b\n"),
            "m.yaml:2:12: mappings[0].topic: topic template \"a/#/b\", level 2: '#' is allowed only as the last level");
  EXPECT_EQ(loadError("mappings: []\n"), "m.yaml:1:11: mappings: expected a non-empty list of mappings, found an empty list");
  EXPECT_EQ(loadError("maps: 1\n"), "m.yaml:1:1: maps: unknown key. Valid top-level keys: mappings\n"
                                    "m.yaml:1:1: missing required key mappings (a list of topic mappings)");
  EXPECT_EQ(loadError(""), "m.yaml: the file is empty; it needs a top-level key mappings (a list)");
  EXPECT_EQ(loadError("mappings: [\n"), "m.yaml:2:1: YAML syntax error: end of sequence flow not found");
  EXPECT_EQ(loadError((std::string("mappings: ") + std::string(100, '[')).c_str()),
            "m.yaml:1:74: nesting is deeper than 64 levels; a configuration never needs that");
}

TEST(MappingFile, CommandRules) {
  const char* base = "mappings:\n  - topic: l/{provider}/state\n    service: s\n    resource: r\n    command:\n";
  auto withCommand = [&](const char* command) { return loadError((std::string(base) + command).c_str()); };
  EXPECT_EQ(withCommand("      topic: l/+/set\n"),
            "m.yaml:6:14: mappings[0].command.topic: a command topic cannot contain '+' or '#' (messages are published to it)");
  EXPECT_EQ(withCommand("      topic: l/{site}/set\n"),
            "m.yaml:6:14: mappings[0].command.topic: a command topic may only use {provider}, {service} and {resource} (known at "
            "SET/ACT time), found {site}");
  EXPECT_EQ(withCommand("      topic: l/{provider}/set\n      response: ack\n"),
            "m.yaml:6:7: mappings[0].command: missing required key ack_topic (response: ack reads the reply there)");
  EXPECT_EQ(withCommand("      topic: l/{provider}/set\n      ack_topic: l/x\n"),
            "m.yaml:7:18: mappings[0].command.ack_topic: only used with response: ack");
  EXPECT_EQ(withCommand("      topic: l/{provider}/set\n      response: http\n      timeout_ms: 5\n"),
            "m.yaml:7:17: mappings[0].command.response: must be one of mqtt5, ack; found \"http\"\n"
            "m.yaml:8:19: mappings[0].command.timeout_ms: must be between 100 and 600000, found 5");
  EXPECT_EQ(withCommand("      payload: x\n"), "m.yaml:6:7: mappings[0].command: missing required key topic (where the command is published)");
}

TEST(MappingFile, RulesBetweenKeysOfMetadataActionsAndParams) {
  const char* base = "mappings:\n  - topic: l/{provider}\n    service: s\n    resource: r\n";
  auto with = [&](const char* rest) { return loadError((std::string(base) + rest).c_str()); };
  EXPECT_EQ(with("    format: text\n    metadata: {location: /loc, room: kitchen}\n"),
            "m.yaml:6:26: mappings[0].metadata.location: a JSON pointer needs format: json; write a literal without a "
            "leading '/'");
  EXPECT_EQ(with("    metadata: {location: /a~2}\n"),
            "m.yaml:5:26: mappings[0].metadata.location: JSON pointer \"/a~2\": '~' must be followed by 0 or 1 (RFC 6901)");
  EXPECT_EQ(with("    actions:\n      - {resource: r, command: {topic: l/x}}\n      - {resource: b, command: {topic: l/y}}\n"
                 "      - {resource: b, command: {topic: l/z}}\n"),
            "m.yaml:6:9: mappings[0].actions[0].resource: action \"r\" has the name of a resource of this mapping\n"
            "m.yaml:8:9: mappings[0].actions[2].resource: action \"b\" is listed twice");
  EXPECT_EQ(with("    actions:\n      - resource: a\n        params: [{name: p, type: int}, {name: p, type: int}]\n"
                 "        command: {topic: l/a}\n"),
            "m.yaml:7:47: mappings[0].actions[0].params[1].name: parameter \"p\" is listed twice");
  // A rule between keys waits until the keys it reads are right: first the command's own problem.
  EXPECT_EQ(with("    actions:\n      - resource: a\n        params: [{name: p, type: int}, {name: p, type: int}]\n"
                 "        command: {topic: l/a, response: ack}\n"),
            "m.yaml:8:18: mappings[0].actions[0].command: missing required key ack_topic (response: ack reads the reply "
            "there)");
  EXPECT_EQ(with("    actions: [{resource: a}]\n"),
            "m.yaml:5:15: mappings[0].actions[0]: missing required key command (where the action is published)");
}

// e2e: true (bridges/mqtt/README.md "End-to-end encrypted topics"): what makes no sense with a
// payload the gateway cannot read is refused at load, each at its own line:column.
TEST(MappingFile, E2eRefusesWhatWouldReadOrSendThePayload) {
  const char* base = "mappings:\n  - topic: enc/{provider}\n    service: e2e\n    resource: data\n    e2e: true\n";
  auto with = [&](const char* rest) { return loadError((std::string(base) + rest).c_str()); };
  EXPECT_EQ(with("    value: /v\n"),
            "m.yaml:6:12: mappings[0].value: e2e: true stores the whole payload unparsed (it is ciphertext); remove value");
  EXPECT_EQ(with("    type: double\n"),
            "m.yaml:6:11: mappings[0].type: e2e: true stores the whole payload unparsed (it is ciphertext); its type is "
            "bytes, found \"double\"");
  EXPECT_EQ(with("    format: base64\n"),
            "m.yaml:6:13: mappings[0].format: e2e: true stores the whole payload unparsed (it is ciphertext); leave format "
            "out (or text), found \"base64\"");
  EXPECT_EQ(with("    format: json\n"),
            "m.yaml:6:13: mappings[0].format: e2e: true stores the whole payload unparsed (it is ciphertext); leave format "
            "out (or text), found \"json\"");
  EXPECT_EQ(with("    timestamp: {pointer: /ts, format: millis}\n"),
            "m.yaml:6:16: mappings[0].timestamp: e2e: true stores the whole payload unparsed (it is ciphertext); a "
            "timestamp cannot be read from it; remove timestamp");
  EXPECT_EQ(with("    command: {topic: 'enc/{provider}/set'}\n"),
            "m.yaml:6:14: mappings[0].command: an e2e mapping cannot have a command (a SET would have to send ciphertext "
            "only a publisher can make)");
  EXPECT_EQ(with("    metadata: {location: /loc}\n"),
            "m.yaml:6:26: mappings[0].metadata.location: e2e: true stores the whole payload unparsed (it is ciphertext); "
            "write a literal without a leading '/'");
  EXPECT_EQ(with("    metadata: {e2e: 'false'}\n"),
            "m.yaml:6:21: mappings[0].metadata.e2e: the metadata key e2e is reserved: it is set (to true) by `e2e: true`");
  EXPECT_EQ(loadError("mappings:\n  - topic: enc/{provider}\n    service: e2e\n    e2e: true\n"
                      "    resources: [{resource: a}]\n"),
            "m.yaml:5:17: mappings[0].resources: e2e: true stores the whole payload unparsed (it is ciphertext); it is one "
            "resource; use resource or {resource}");
  EXPECT_EQ(loadError("mappings:\n  - topic: enc/{provider}\n    service: e2e\n    resource: data\n    e2e: yes please\n"),
            "m.yaml:5:10: mappings[0].e2e: expected true or false, found string \"yes please\"");
  // Every problem at once.
  EXPECT_EQ(with("    type: int\n    value: /x\n"),
            "m.yaml:6:11: mappings[0].type: e2e: true stores the whole payload unparsed (it is ciphertext); its type is "
            "bytes, found \"int\"\n"
            "m.yaml:7:12: mappings[0].value: e2e: true stores the whole payload unparsed (it is ciphertext); remove value");
  EXPECT_EQ(with("    key_request_timeout_ms: 20000\n"),
            "m.yaml:6:29: mappings[0].key_request_timeout_ms: must be between 100 and 9000, found 20000");
  EXPECT_EQ(loadError("mappings:\n  - topic: enc/{provider}\n    service: e2e\n    resource: keyRequest\n    e2e: true\n"),
            "m.yaml:4:15: mappings[0].resource: e2e/keyRequest is the key request action of e2e mappings; choose another "
            "resource name");
  EXPECT_EQ(loadError("mappings:\n  - topic: enc/{provider}\n    service: s\n    resource: r\n    key_request_timeout_ms: 900\n"),
            "m.yaml:5:29: mappings[0].key_request_timeout_ms: only used with e2e: true");
  // What is fine: type bytes, format text, a unit, literal metadata, the names from the topic.
  const MappingSet ok = load("mappings:\n  - topic: enc/{provider}/{service}/{resource}\n    e2e: true\n    type: bytes\n"
                             "    format: text\n    metadata: {location: lab, owner: ops}\n");
  EXPECT_EQ(ok.size(), 1u);
}

// The value of an e2e mapping is the payload, byte for byte (never parsed: NULs, invalid UTF-8,
// text that looks like JSON), type bytes, flagged e2e; the engine never quotes it in an error.
TEST(MappingApply, E2eTakesThePayloadUnchangedAsBytes) {
  const MappingSet set = load("mappings:\n  - topic: enc/{provider}/{resource}\n    service: e2e\n    e2e: true\n"
                              "    metadata: {location: lab}\n"
                              "  - topic: plain/{provider}\n    service: s\n    resource: r\n");
  for (const std::string& payload : {std::string("GHE\x01\x01\x00\xff\xfe{\"value\":1}", 19), std::string("{\"value\": 21.5}"),
                                    std::string("not json {"), std::string(1, '\0')}) {
    const auto out = set.apply("enc/dev-1/data", payload);
    EXPECT_TRUE(out.errors.empty());
    ASSERT_EQ(out.updates.size(), 2u);   // the value, then the literal admin location
    EXPECT_EQ(out.updates[0].provider, "dev-1");
    EXPECT_EQ(out.updates[0].service, "e2e");
    EXPECT_EQ(out.updates[0].resource, "data");
    EXPECT_EQ(out.updates[0].value, Value::ofBytes(payload));
    EXPECT_EQ(out.updates[0].value.asString().size(), payload.size());
    EXPECT_TRUE(out.updates[0].e2e);
    EXPECT_EQ(out.updates[0].timestampMs, 0);
    EXPECT_FALSE(out.updates[1].e2e);
    EXPECT_EQ(out.updates[1].resource, "location");
    ASSERT_EQ(out.declarations.size(), 1u);   // the resource (e2e/keyRequest: keyRequestSpec, once per provider)
    EXPECT_EQ(out.declarations[0].type, ValueType::Bytes);
    EXPECT_EQ(out.declarations[0].mutability, sdk::Mutability::Updatable);
  }
  // The provider's key request relay action e2e/keyRequest(topic: string, request: bytes) -> bytes.
  const auto relay = keyRequestSpec("dev-1");
  EXPECT_EQ(relay.provider, "dev-1");
  EXPECT_EQ(relay.service, "e2e");
  EXPECT_EQ(relay.resource, "keyRequest");
  EXPECT_EQ(relay.kind, sdk::ResourceKind::Action);
  ASSERT_EQ(relay.params.size(), 2u);
  EXPECT_EQ(relay.params[0].name, "topic");
  EXPECT_EQ(relay.params[0].type, ValueType::String);
  EXPECT_EQ(relay.params[1].name, "request");
  EXPECT_EQ(relay.params[1].type, ValueType::Bytes);
  EXPECT_EQ(relay.resultType, ValueType::Bytes);
  EXPECT_TRUE(set.hasE2e());
  EXPECT_TRUE(set.hasCommands());
  // The protocol's companion topics are not data, and keyRequest cannot hold data.
  EXPECT_TRUE(set.apply("enc/dev-1/data/_e2e/req", "GHE").updates.empty());
  const auto reserved = set.apply("enc/dev-1/keyRequest", "GHE");
  EXPECT_TRUE(reserved.updates.empty());
  ASSERT_EQ(reserved.errors.size(), 1u);
  EXPECT_EQ(reserved.errors[0].second, "e2e/keyRequest is the key request action; it cannot hold data");

  const auto plain = set.apply("plain/dev-1", R"({"x": 1})");
  ASSERT_FALSE(plain.errors.empty());   // a plain mapping still parses (and refuses) its payload
  // Too large: refused by size, the message names the size only.
  const std::string big(kMaxPayloadBytes + 1, 'G');
  const auto over = set.apply("enc/dev-1/data", big);
  EXPECT_TRUE(over.updates.empty());
  ASSERT_EQ(over.errors.size(), 1u);
  EXPECT_EQ(over.errors[0].second, "payload of 262145 bytes is larger than the limit of 262144 bytes");
}

// Which e2e mapping a keyRequest ACT's topic belongs to: its template matches and names the provider.
TEST(MappingE2e, RelayOnlyForTopicsOfTheProvidersOwnE2eMappings) {
  const MappingSet set = load("mappings:\n  - topic: enc/{provider}/{resource}\n    service: e2e\n    e2e: true\n"
                              "  - topic: site/#\n    provider: hub\n    service: e2e\n    resource: all\n    e2e: true\n"
                              "    key_request_timeout_ms: 700\n"
                              "  - topic: plain/{provider}\n    service: s\n    resource: r\n");
  auto relay = set.e2eRelayFor("dev-1", "enc/dev-1/data");
  ASSERT_TRUE(relay) << relay.message();
  EXPECT_EQ(relay->mapping, 0u);
  EXPECT_EQ(relay->timeoutMs, 5000);
  relay = set.e2eRelayFor("hub", "site/a/b");
  ASSERT_TRUE(relay) << relay.message();
  EXPECT_EQ(relay->mapping, 1u);
  EXPECT_EQ(relay->timeoutMs, 700);
  EXPECT_FALSE(set.e2eRelayFor("dev-2", "enc/dev-1/data"));   // another provider's topic
  EXPECT_FALSE(set.e2eRelayFor("dev-1", "plain/dev-1"));      // not an e2e mapping
  EXPECT_FALSE(set.e2eRelayFor("hub", "site/a/_e2e/req"));    // companion topics are not data topics
  EXPECT_FALSE(set.e2eRelayFor("hub", "site/a/_e2e/wrap/sub-1"));
  EXPECT_EQ(set.e2eRelayFor("dev-1", "other/x").message(), "no e2e mapping maps the topic \"other/x\" to the provider \"dev-1\"");
  EXPECT_FALSE(load(kExample).hasE2e());
}

TEST(MappingApply, SingleResourceWithTimestampAndMetadata) {
  const MappingSet set = load(kExample);
  const auto out = set.apply("sensors/dev1/env/temp", R"({"value": 21.5, "ts": 1700000000, "name": "Kitchen sensor"})");
  EXPECT_TRUE(out.errors.empty());
  ASSERT_EQ(out.updates.size(), 3u);
  EXPECT_EQ(out.updates[0].provider, "dev1");
  EXPECT_EQ(out.updates[0].service, "env");
  EXPECT_EQ(out.updates[0].resource, "temp");
  EXPECT_EQ(out.updates[0].value, Value::ofDouble(21.5));
  EXPECT_EQ(out.updates[0].timestampMs, 1700000000000);
  EXPECT_FALSE(out.updates[0].admin);
  EXPECT_EQ(out.updates[1].service, "admin");
  EXPECT_EQ(out.updates[1].resource, "friendlyName");
  EXPECT_EQ(out.updates[1].value, Value::ofString("Kitchen sensor"));
  EXPECT_TRUE(out.updates[1].admin);
  EXPECT_EQ(out.updates[2].resource, "location");
  EXPECT_EQ(out.updates[2].value, Value::ofString("kitchen"));
  EXPECT_TRUE(out.metadata.empty());   // /nick absent in this message: skipped
  ASSERT_EQ(out.declarations.size(), 1u);
  EXPECT_EQ(out.declarations[0].resource, "temp");
  EXPECT_EQ(out.declarations[0].unit, "°C");
  EXPECT_EQ(out.declarations[0].type, ValueType::Double);
  EXPECT_EQ(out.declarations[0].mutability, sdk::Mutability::Updatable);

  const auto withNick = set.apply("sensors/dev1/env/temp", R"({"value": 1, "ts": 1, "nick": {"n": 1}})");
  ASSERT_EQ(withNick.metadata.size(), 1u);
  EXPECT_EQ(withNick.metadata[0].key, "nickname");
  EXPECT_EQ(withNick.metadata[0].resource, "temp");
  EXPECT_EQ(withNick.metadata[0].value, Value::ofJson("{\"n\":1}"));
}

TEST(MappingApply, SeveralResourcesFromOnePayload) {
  const MappingSet set = load(kExample);
  const auto out = set.apply("site/north/p7/telemetry", R"({"t": 19.25, "h": 40, "time": "2024-01-01T00:00:00Z"})");
  EXPECT_TRUE(out.errors.empty());
  ASSERT_EQ(out.updates.size(), 2u);
  EXPECT_EQ(out.updates[0].resource, "temperature");
  EXPECT_EQ(out.updates[1].resource, "humidity");
  EXPECT_EQ(out.updates[1].value, Value::ofInt(40));
  EXPECT_EQ(out.updates[1].timestampMs, 1704067200000);
  EXPECT_EQ(out.updates[1].mapping, 1u);
  EXPECT_EQ(out.declarations.size(), 2u);

  const auto partial = set.apply("site/north/p7/telemetry", R"({"t": 19.25, "h": 40.5, "time": "2024-01-01T00:00:00Z"})");
  ASSERT_EQ(partial.updates.size(), 1u);
  ASSERT_EQ(partial.errors.size(), 1u);
  EXPECT_EQ(partial.errors[0].first, 1u);
  EXPECT_EQ(partial.errors[0].second, "resource humidity: number \"40.5\" is not an integer");
}

TEST(MappingApply, BadPayloadsBecomeErrorsPerMapping) {
  const MappingSet set = load(kExample);
  auto only = [&](std::string_view topic, std::string_view payload) {
    const auto out = set.apply(topic, payload);
    EXPECT_TRUE(out.updates.empty());
    EXPECT_EQ(out.errors.size(), 1u);
    return out.errors.empty() ? std::string() : out.errors[0].second;
  };
  EXPECT_EQ(only("sensors/d/s/r", "{"), "invalid JSON: unexpected end of input (an array or object is not closed) at offset 1");
  EXPECT_EQ(only("sensors/d/s/r", R"({"value": 1})"), "timestamp: no member at /ts");
  EXPECT_EQ(only("sensors/d/s/r", R"({"value": 1, "ts": "x"})"), "timestamp: expected a number, found \"x\"");
  EXPECT_EQ(only("sensors/d/s/r", R"({"value": "warm", "ts": 1})"), "resource r: expected a value for type double, found a JSON string");
  EXPECT_EQ(only("raw/dev", "0xZZ"), "resource frame: hex text has a non-hex character at offset 0");
  EXPECT_TRUE(set.apply("unmapped/topic", "{").errors.empty());
}

TEST(MappingApply, DeviceSuppliedNamesAreCheckedD5) {
  const MappingSet set = load(kExample);
  for (const std::string bad : {"..", ".", "a b", "\n", "x\x7f"}) {
    const auto out = set.apply("sensors/" + bad + "/s/r", R"({"value": 1, "ts": 1})");
    EXPECT_TRUE(out.updates.empty()) << bad;
    EXPECT_TRUE(out.declarations.empty()) << bad;
    ASSERT_EQ(out.errors.size(), 1u) << bad;
    EXPECT_EQ(out.errors[0].second.rfind("the topic level for {provider} is not a safe name: ", 0), 0u) << out.errors[0].second;
  }
  const auto badResource = set.apply("sensors/d/s/..", R"({"value": 1, "ts": 1})");
  EXPECT_TRUE(badResource.updates.empty());
  ASSERT_EQ(badResource.errors.size(), 1u);
  EXPECT_EQ(badResource.errors[0].second,
            "the topic level for {resource} is not a safe name: \"..\" (allowed: 1-128 of A-Z a-z 0-9 _ . : -, no \"..\")");
  // '+' and '#' cannot be in a topic name at all; a topic containing them matches nothing.
  EXPECT_TRUE(set.apply("sensors/+/s/r", "{}").errors.empty());
  EXPECT_TRUE(set.apply("sensors/#/s/r", "{}").updates.empty());
}

TEST(MappingApply, CommandMakesResourceModifiableAndDeclaresActions) {
  const MappingSet set = load(kExample);
  const auto out = set.apply("lights/lamp1/state", "{\"v\":1}");
  ASSERT_EQ(out.errors.size(), 1u);   // the whole payload is not an int
  EXPECT_EQ(out.errors[0].second, "resource brightness: expected a value for type int, found a JSON object");
  const auto ok = set.apply("lights/lamp1/state", "42");
  ASSERT_EQ(ok.updates.size(), 1u);
  EXPECT_EQ(ok.updates[0].value, Value::ofInt(42));
  ASSERT_EQ(ok.declarations.size(), 2u);
  EXPECT_EQ(ok.declarations[0].mutability, sdk::Mutability::Modifiable);
  EXPECT_EQ(ok.declarations[1].resource, "blink");
  EXPECT_EQ(ok.declarations[1].kind, sdk::ResourceKind::Action);
  ASSERT_EQ(ok.declarations[1].params.size(), 2u);
  EXPECT_TRUE(ok.declarations[1].params[1].optional);
  EXPECT_EQ(ok.declarations[1].resultType, ValueType::Boolean);

  const auto decl = set.declarationsFor(2, "lamp1", "light");
  ASSERT_EQ(decl.size(), 2u);
  EXPECT_EQ(decl[0].resource, "brightness");
  EXPECT_TRUE(set.declarationsFor(0, "p", "s").empty());   // resource name is a wildcard
  EXPECT_TRUE(set.declarationsFor(99, "p", "s").empty());
}

TEST(MappingCommand, SetAndAct) {
  const MappingSet set = load(kExample);
  const auto set1 = set.commandForSet("lamp1", "light", "brightness", Value::ofInt(80));
  ASSERT_TRUE(set1);
  EXPECT_EQ(set1->topic, "lights/lamp1/set");
  EXPECT_EQ(set1->payload, "{\"brightness\": 80}");
  EXPECT_EQ(set1->response, CommandRoute::Response::Ack);
  EXPECT_EQ(set1->ackTopic, "lights/lamp1/ack");
  EXPECT_EQ(set1->timeoutMs, 2000);
  EXPECT_EQ(set1->qos, 1);
  EXPECT_EQ(set1->resultType, ValueType::Int);

  EXPECT_FALSE(set.commandForSet("lamp1", "light", "other", Value::ofInt(1)));
  EXPECT_FALSE(set.commandForSet("dev1", "env", "temp", Value::ofDouble(1)));   // no command on that mapping
  EXPECT_EQ(set.routeForSet("lamp1", "light", "brightness", Value::ofString("x")).message(),
            "the value for brightness must be of type int, not string");
  EXPECT_EQ(set.routeForSet("../x", "light", "brightness", Value::ofInt(1)).message(), "not a valid name: \"../x\"");
  EXPECT_EQ(set.routeForSet("lamp1", "light", "other", Value::ofInt(1)).message(),
            "no mapping gives lamp1/light/other a command; it cannot be SET");

  const auto act = set.commandForAct("lamp1", "light", "blink", {{"times", Value::ofInt(3)}, {"color", Value::ofString("red")}});
  ASSERT_TRUE(act);
  EXPECT_EQ(act->topic, "lights/lamp1/blink");
  EXPECT_EQ(act->payload, "{\"times\":3,\"color\":\"red\"}");
  EXPECT_EQ(act->qos, 2);
  EXPECT_EQ(act->response, CommandRoute::Response::Mqtt5);
  EXPECT_EQ(act->resultType, ValueType::Boolean);
  EXPECT_FALSE(set.commandForAct("lamp1", "light", "dance", {}));
  EXPECT_EQ(set.routeForAct("lamp1", "light", "blink", {{"x", Value::ofDouble(0.0 / 0.0)}}).message(),
            "parameter \"x\": a non-finite number cannot be written as JSON");
}

TEST(MappingAck, ParsesReplies) {
  EXPECT_EQ(*parseAck(R"({"ok":true,"value":80})", GH_TYPE_INT), Value::ofInt(80));
  EXPECT_EQ(*parseAck(R"({"ok":true})", GH_TYPE_INT), Value::null(ValueType::Int));
  EXPECT_EQ(parseAck(R"({"ok":false,"error":"overheated"})", GH_TYPE_INT).message(), "the device refused: overheated");
  EXPECT_EQ(parseAck(R"({"ok":false})", GH_TYPE_INT).message(), "the device refused the command (no reason given)");
  EXPECT_EQ(parseAck(R"({"ok":"yes"})", GH_TYPE_INT).message(), "the reply has no boolean \"ok\"");
  EXPECT_EQ(parseAck("[1]", GH_TYPE_INT).message(), "the reply must be a JSON object with \"ok\", found a array");
  EXPECT_EQ(parseAck("{", GH_TYPE_INT).message(), "the reply is not JSON: invalid JSON: unexpected end of input (an array or object is not closed) at offset 1");
  EXPECT_EQ(parseAck(R"({"ok":true,"value":"x"})", GH_TYPE_INT).message(),
            "the reply's value: expected a value for type int, found a JSON string");
  EXPECT_EQ(parseAck(R"({"ok":true})", 99).message(), "unknown value type 99");
}

}  // namespace
}  // namespace gatehouse::bridge::mqtt
