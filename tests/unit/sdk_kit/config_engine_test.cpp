// The config engine's structured types (gatehouse/kit/config/schema.h): lists of mappings with
// an index in each key path, open maps of values or sections, custom checks with positions,
// required keys, values without a default, one-or-many string lists, files whose top level is a
// list, and the walk of the validated tree. Every problem is checked as the operator sees it:
// "FILE:LINE:COL: key.path: message".
#include <gtest/gtest.h>

#include <stdexcept>

#include "gatehouse/kit/config/schema.h"
#include "gatehouse/kit/config/yaml_document.h"

namespace gatehouse::kit::config {
namespace {

std::string requireName(std::string_view v) {
  return !v.empty() && v.find(' ') == std::string_view::npos ? std::string() : "must be a name without spaces";
}

// A device file: a list of devices, each with a list of points and open labels, the way a
// bridge's frame-layout or mapping file looks.
const Schema& deviceSchema() {
  static const Schema schema{{
      Field::string("site", "home").doc("Where the devices are."),
      Field::list("devices", {
          Field::string("name", "").require("the provider name").validatedBy(requireName, "names").doc("Device name."),
          Field::integer("address", 0).range(1, 247).require().doc("Bus address."),
          Field::oneOf("kind", "meter", {"meter", "switch"}).doc("What it is."),
          Field::integer("timeout_ms", 0).range(100, 10000).noDefault().doc("Default: the bus's timeout."),
          Field::list("points", {
              Field::string("name", "").require(),
              Field::integer("register", 0).range(0, 65535).require(),
              Field::number("scale", 1.0),
          }).itemCount(1, 4).itemsCalled("points").doc("What to read."),
          Field::mapOf("labels", Field::string("value", "").checkedBy(
                                     [](std::string_view v) {
                                       return v.size() <= 8 ? std::string() : "a label is at most 8 characters long";
                                     },
                                     "at most 8 characters"))
              .validatedBy(requireName, "names")
              .doc("Free labels."),
          Field::section("poll", {
              Field::integer("interval_ms", 1000).range(10, 60000),
              Field::boolean("enabled", true),
          }).doc("Polling."),
      }).itemCount(1, 3).itemsCalled("devices")
        .checkedWith([](const Values& device, Problems& problems) {
          // A switch has exactly one point; positions come from the values named.
          if (device.getString("kind") == "switch" && device.list("points").size() != 1) {
            problems.add("kind", "a switch has exactly one point");
          }
          const auto& points = device.list("points");
          for (std::size_t i = 1; i < points.size(); ++i) {
            if (points[i].getInt("register") == points[i - 1].getInt("register")) {
              problems.add("points[" + std::to_string(i) + "].register", points[i].line(), points[i].column(),
                           "register " + std::to_string(points[i].getInt("register")) + " is read twice");
            }
          }
        })
        .doc("The devices."),
      Field::mapOf("groups", Field::section("group", {
                                 Field::stringList("members").itemCount(1, 10).doc("Device names."),
                                 Field::boolean("shared", false),
                             }).doc("A group of devices."))
          .doc("Named groups."),
  }};
  return schema;
}

struct Outcome {
  Values values;
  Diagnostics diagnostics;
  std::string text() const { return diagnostics.format("d.yaml"); }
};

Outcome run(const std::string& yaml, const Schema& schema = deviceSchema()) {
  Outcome r;
  Diagnostics parse;
  const auto root = parseYamlDocument(yaml, YamlLimits{}, parse);
  EXPECT_TRUE(root.has_value()) << parse.format("d.yaml");
  if (root) r.values = validate(*root, schema, "", r.diagnostics);
  return r;
}

std::string problems(const std::string& yaml) {
  Outcome r = run(yaml);
  EXPECT_FALSE(r.diagnostics.empty()) << yaml;
  return r.text();
}

const char* kGood = R"(site: lab
devices:
  - name: meter-1
    address: 3
    points:
      - {name: power, register: 10, scale: 0.1}
      - {name: energy, register: 12}
    labels: {room: kitchen, floor: "1"}
  - name: relay
    address: 4
    kind: switch
    timeout_ms: 500
    points: [{name: state, register: 1}]
    poll: {interval_ms: 50}
groups:
  downstairs: {members: [meter-1, relay], shared: true}
  empty_ok: {members: [relay]}
)";

TEST(ConfigList, ItemsAreReadInOrderWithDefaultsAndPositions) {
  Outcome r = run(kGood);
  ASSERT_TRUE(r.diagnostics.empty()) << r.text();
  EXPECT_EQ(r.values.getString("site"), "lab");
  const auto& devices = r.values.list("devices");
  ASSERT_EQ(devices.size(), 2u);

  const Values& meter = devices[0];
  EXPECT_EQ(meter.line(), 3);
  EXPECT_EQ(meter.column(), 5);
  EXPECT_EQ(meter.getString("name"), "meter-1");
  EXPECT_EQ(meter.getString("kind"), "meter");   // default
  EXPECT_FALSE(meter.isSet("kind"));
  EXPECT_FALSE(meter.isSet("timeout_ms"));       // noDefault(): unset, no value
  EXPECT_THROW((void)meter.getInt("timeout_ms"), std::logic_error);
  EXPECT_FALSE(meter.section("poll").fromFile());
  EXPECT_EQ(meter.getInt("poll.interval_ms"), 1000);
  ASSERT_EQ(meter.list("points").size(), 2u);
  EXPECT_EQ(meter.list("points")[0].getString("name"), "power");
  EXPECT_DOUBLE_EQ(meter.list("points")[0].getDouble("scale"), 0.1);
  EXPECT_DOUBLE_EQ(meter.list("points")[1].getDouble("scale"), 1.0);
  EXPECT_EQ(meter.list("points")[1].line(), 7);
  const auto& labels = meter.map("labels");
  ASSERT_EQ(labels.size(), 2u);
  EXPECT_EQ(labels[0].key, "room");
  EXPECT_EQ(std::get<std::string>(labels[0].value.value), "kitchen");
  EXPECT_EQ(labels[1].key, "floor");
  EXPECT_EQ(std::get<std::string>(labels[1].value.value), "1");
  EXPECT_EQ(labels[1].value.line, 8);
  EXPECT_EQ(labels[1].value.column, 36);

  const Values& relay = devices[1];
  EXPECT_TRUE(relay.isSet("timeout_ms"));
  EXPECT_EQ(relay.getInt("timeout_ms"), 500);
  EXPECT_TRUE(relay.section("poll").fromFile());
  EXPECT_EQ(relay.section("poll").line(), 14);
  EXPECT_EQ(relay.getInt("poll.interval_ms"), 50);
  EXPECT_TRUE(relay.getBool("poll.enabled"));
  EXPECT_TRUE(relay.map("labels").empty());

  const auto& groups = r.values.map("groups");
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].key, "downstairs");
  EXPECT_EQ(groups[0].section.getStringList("members"), (std::vector<std::string>{"meter-1", "relay"}));
  EXPECT_TRUE(groups[0].section.getBool("shared"));
  EXPECT_FALSE(groups[1].section.getBool("shared"));
}

TEST(ConfigList, EachItemIsCheckedWithItsIndexInTheKeyPath) {
  EXPECT_EQ(problems("devices:\n"
                     "  - name: a\n"
                     "    address: 1\n"
                     "    points: [{name: p, register: 1}]\n"
                     "  - name: b c\n"
                     "    address: 300\n"
                     "    adress: 2\n"
                     "    points: [{name: p, register: -1, scal: 2}]\n"),
            "d.yaml:5:11: devices[1].name: must be a name without spaces, found \"b c\"\n"
            "d.yaml:6:14: devices[1].address: must be between 1 and 247, found 300\n"
            "d.yaml:7:5: devices[1].adress: unknown key; did you mean \"address\"? Valid keys in devices[1]: name, "
            "address, kind, timeout_ms, points, labels, poll\n"
            "d.yaml:8:34: devices[1].points[0].register: must be between 0 and 65535, found -1\n"
            "d.yaml:8:38: devices[1].points[0].scal: unknown key; did you mean \"scale\"? Valid keys in "
            "devices[1].points[0]: name, register, scale");
}

TEST(ConfigList, RequiredKeysAreNamedAtTheItemThatLacksThem) {
  EXPECT_EQ(problems("devices:\n  - kind: meter\n    points: [{register: 1}]\n"),
            "d.yaml:2:5: devices[0]: missing required key name (the provider name)\n"
            "d.yaml:2:5: devices[0]: missing required key address (Bus address.)\n"
            "d.yaml:3:14: devices[0].points[0]: missing required key name");
  EXPECT_EQ(run("site: x\n").text(), "");   // a list that is absent has no items: fine unless required
}

TEST(ConfigList, ShapeAndCountAreChecked) {
  EXPECT_EQ(problems("devices: 5\n"), "d.yaml:1:10: devices: expected a non-empty list of devices, found integer 5");
  EXPECT_EQ(problems("devices: {name: a}\n"),
            "d.yaml:1:10: devices: expected a non-empty list of devices, found a mapping");
  EXPECT_EQ(problems("devices: []\n"), "d.yaml:1:10: devices: expected a non-empty list of devices, found an empty list");
  EXPECT_EQ(problems("devices:\n"), "d.yaml:1:1: devices: expected a non-empty list of devices, found nothing (an empty value)");
  EXPECT_EQ(problems("devices: [{name: a, address: 1, points: [{name: p, register: 1}]}, 7, ~]\n"),
            "d.yaml:1:68: devices[1]: expected a mapping with the keys name, address, kind, timeout_ms, points, labels, "
            "poll, found integer 7\n"
            "d.yaml:1:71: devices[2]: expected a mapping with the keys name, address, kind, timeout_ms, points, labels, "
            "poll, found nothing (an empty value)");
  std::string many = "devices:\n";
  for (int i = 0; i < 4; ++i) many += "  - {name: d" + std::to_string(i) + ", address: 1, points: [{name: p, register: 1}]}\n";
  EXPECT_EQ(problems(many), "d.yaml:2:3: devices: expected at most 3 devices, found 4 items");
  EXPECT_EQ(problems("devices: [{name: a, address: 1, points: [{name: p, register: 1}, {name: q, register: 2}, "
                     "{name: r, register: 3}, {name: s, register: 4}, {name: t, register: 5}]}]\n"),
            "d.yaml:1:41: devices[0].points: expected at most 4 points, found 5 items");
}

TEST(ConfigList, AHugeListIsRefusedWithoutWalkingIt) {
  std::string yaml = "devices:\n";
  for (int i = 0; i < 5000; ++i) yaml += "  - {nme: x, bad: y}\n";
  Outcome r = run(yaml);
  EXPECT_EQ(r.diagnostics.total(), 1u);   // not 10000 unknown keys
  EXPECT_EQ(r.text(), "d.yaml:2:3: devices: expected at most 3 devices, found 5000 items");
}

TEST(ConfigList, ChecksOfAnItemRunOnlyWhenItsKeysPassed) {
  const std::string item = "  - name: r\n    address: 1\n    kind: switch\n";
  EXPECT_EQ(problems("devices:\n" + item + "    points: [{name: a, register: 1}, {name: b, register: 2}]\n"),
            "d.yaml:4:11: devices[0].kind: a switch has exactly one point");
  // The same item with a bad register: only that is reported, the cross-key rule waits.
  EXPECT_EQ(problems("devices:\n" + item + "    points: [{name: a, register: 1}, {name: b, register: x}]\n"),
            "d.yaml:5:58: devices[0].points[1].register: expected an integer, found string \"x\"");
  EXPECT_EQ(problems("devices:\n  - name: m\n    address: 1\n    points:\n      - {name: a, register: 7}\n"
                     "      - {name: b, register: 7}\n"),
            "d.yaml:6:9: devices[0].points[1].register: register 7 is read twice");
}

TEST(ConfigMap, KeysAndValuesAreCheckedWithTheirPositions) {
  const std::string base = "devices:\n  - name: m\n    address: 1\n    points: [{name: a, register: 1}]\n";
  EXPECT_EQ(problems(base + "    labels: {room: kitchen, room: hall}\n"),
            "d.yaml:5:29: devices[0].labels.room: duplicate key; it is already set at line 5, column 14 (YAML would "
            "silently keep only one of them)");
  EXPECT_EQ(problems(base + "    labels: {\"my room\": kitchen}\n"),
            "d.yaml:5:14: devices[0].labels.\"my room\": must be a name without spaces, found \"my room\"");
  EXPECT_EQ(problems(base + "    labels: {room: the-big-kitchen, floor: [1], note: }\n"),
            "d.yaml:5:20: devices[0].labels.room: a label is at most 8 characters long\n"
            "d.yaml:5:44: devices[0].labels.floor: expected a string, found a list\n"
            "d.yaml:5:49: devices[0].labels.note: expected a string, found nothing (an empty value)");
  EXPECT_EQ(problems(base + "    labels: [a, b]\n"),
            "d.yaml:5:13: devices[0].labels: expected a mapping of names to values, found a list");
}

TEST(ConfigMap, SectionValuesAreValidatedLikeSections) {
  EXPECT_EQ(problems("groups:\n  a: {members: []}\n  b: {shared: 1, extra: x}\n  c: 5\n"),
            "d.yaml:2:16: groups.a.members: expected a non-empty list of strings, found an empty list\n"
            "d.yaml:3:15: groups.b.shared: expected true or false, found integer 1\n"
            "d.yaml:3:18: groups.b.extra: unknown key. Valid keys in groups.b: members, shared\n"
            "d.yaml:4:6: groups.c: expected a section with the keys members, shared, found integer 5");
}

TEST(ConfigChecks, WholeMessageChecksAndThrowingChecksAreReported) {
  const Schema schema{{
      Field::string("topic", "t").checkedBy(
          [](std::string_view v) { return v.find('#') == std::string_view::npos ? std::string() : "topic \"" + std::string(v) + "\": '#' is not allowed here"; },
          "no `#`"),
      Field::list("items", {Field::string("x", "")}).checkedWith([](const Values& item, Problems&) {
        (void)item.getString("no_such_key");   // a bug in a check: reported, never thrown
      }),
  }};
  Outcome r = run("topic: a/#\nitems: [{x: 1}]\n", schema);
  EXPECT_EQ(r.text(),
            "d.yaml:1:8: topic: topic \"a/#\": '#' is not allowed here\n"
            "d.yaml:2:9: items[0]: cannot check this: config: the schema declares no key no_such_key");
}

TEST(ConfigChecks, TheTopLevelCheckSeesEveryValue) {
  const Schema schema{
      {Field::string("cert_file", ""), Field::string("key_file", "")},
      [](const Values& v, Problems& problems) {
        if (v.isSet("cert_file") != v.isSet("key_file")) {
          problems.add(v.isSet("cert_file") ? "cert_file" : "key_file", "cert_file and key_file go together");
        }
      }};
  EXPECT_EQ(run("cert_file: c.pem\n", schema).text(), "d.yaml:1:12: cert_file: cert_file and key_file go together");
  EXPECT_TRUE(run("cert_file: c.pem\nkey_file: k.pem\n", schema).diagnostics.empty());
  // Not run while a key has a problem of its own.
  EXPECT_EQ(run("cert_file: [c]\n", schema).text(), "d.yaml:1:12: cert_file: expected a string, found a list");
}

TEST(ConfigChecks, OneOrManyStringLists) {
  const Schema schema{{Field::stringList("verbs").acceptSingle().itemCount(1, 4).validatedBy(
      [](std::string_view v) { return v == "READ" || v == "ACT" ? std::string() : "must be READ or ACT"; }, "READ, ACT")}};
  Outcome one = run("verbs: READ\n", schema);
  ASSERT_TRUE(one.diagnostics.empty()) << one.text();
  EXPECT_EQ(one.values.getStringList("verbs"), std::vector<std::string>{"READ"});
  EXPECT_EQ(run("verbs: [READ, ACT]\n", schema).values.getStringList("verbs"), (std::vector<std::string>{"READ", "ACT"}));
  EXPECT_EQ(run("verbs: WRITE\n", schema).text(), "d.yaml:1:8: verbs: must be READ or ACT, found \"WRITE\"");
  EXPECT_EQ(run("verbs: [READ, WRITE]\n", schema).text(), "d.yaml:1:15: verbs[1]: must be READ or ACT, found \"WRITE\"");
  EXPECT_EQ(run("verbs: []\n", schema).text(), "d.yaml:1:8: verbs: expected a non-empty list of strings, found an empty list");
  EXPECT_EQ(run("verbs: {a: 1}\n", schema).text(),
            "d.yaml:1:8: verbs: expected a string or a non-empty list of strings, found a mapping");
}

// A file whose top level is a list (authorization rules): the field's key names the file in paths.
const Field& rulesField() {
  static const Field field =
      Field::list("rules_file", {
          Field::string("role", "").require(),
          Field::oneOf("effect", "allow", {"allow", "deny"}),
      }).itemCount(1, 100).itemsCalled("rules");
  return field;
}

Outcome runValue(const std::string& yaml) {
  Outcome r;
  Diagnostics parse;
  const auto root = parseYamlDocument(yaml, YamlLimits{}, parse);
  EXPECT_TRUE(root.has_value()) << parse.format("d.yaml");
  if (root) r.values = validateValue(*root, rulesField(), "", r.diagnostics);
  return r;
}

TEST(ConfigValue, ATopLevelListIsValidatedUnderTheFieldsKey) {
  Outcome ok = runValue("- role: reader\n- role: admin\n  effect: deny\n");
  ASSERT_TRUE(ok.diagnostics.empty()) << ok.text();
  ASSERT_EQ(ok.values.list("rules_file").size(), 2u);
  EXPECT_EQ(ok.values.list("rules_file")[1].getString("effect"), "deny");
  EXPECT_EQ(ok.values.list("rules_file")[1].line(), 2);

  EXPECT_EQ(runValue("- role: reader\n- role: operator\n  effect: maybe\n").text(),
            "d.yaml:3:11: rules_file[1].effect: must be one of allow, deny; found \"maybe\"");
  EXPECT_EQ(runValue("").text(), "d.yaml: rules_file: expected a non-empty list of rules, found an empty list");
  EXPECT_EQ(runValue("role: x\n").text(), "d.yaml:1:1: rules_file: expected a non-empty list of rules, found a mapping");
}

TEST(ConfigAliases, CyclicAliasesInsideListsDoNotLoop) {
  // The item's labels map is the list itself, and groups refer to themselves: the walk follows the
  // schema, which is finite, so it ends with a type error instead of looping.
  Outcome r = run("devices: &d [{name: a, address: 1, points: [{name: p, register: 1}], labels: *d}]\n"
                  "groups: &g {x: {members: *g}}\n");
  EXPECT_EQ(r.diagnostics.total(), 2u) << r.text();
  EXPECT_NE(r.text().find("devices[0].labels: expected a mapping of names to values, found a list"), std::string::npos);
  EXPECT_NE(r.text().find("groups.x.members: expected a non-empty list of strings, found a mapping"), std::string::npos);
}

TEST(ConfigDocs, KeyPathsAndMarkdownCoverListsAndMaps) {
  const auto paths = deviceSchema().keyPaths();
  const std::vector<std::string> expected{
      "site", "devices", "devices[].name", "devices[].address", "devices[].kind", "devices[].timeout_ms",
      "devices[].points", "devices[].points[].name", "devices[].points[].register", "devices[].points[].scale",
      "devices[].labels", "devices[].labels.<key>", "devices[].poll", "devices[].poll.interval_ms",
      "devices[].poll.enabled", "groups", "groups.<key>", "groups.<key>.members", "groups.<key>.shared"};
  EXPECT_EQ(paths, expected);

  const std::string md = renderMarkdown(deviceSchema(), "", 2);
  EXPECT_NE(md.find("| `devices` | list | `[]` | 1 to 3 items | The devices. |"), std::string::npos) << md;
  EXPECT_NE(md.find("## `devices[]`\n\nEach item of `devices` is a mapping with these keys.\n"), std::string::npos) << md;
  EXPECT_NE(md.find("| `devices[].name` | string | required | names | Device name. |"), std::string::npos) << md;
  EXPECT_NE(md.find("| `devices[].timeout_ms` | integer | none | between 100 and 10000 | Default: the bus's timeout. |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| `devices[].labels` | map | `{}` | names | Free labels. |"), std::string::npos) << md;
  EXPECT_NE(md.find("| `devices[].labels.<key>` | string | `\"\"` | at most 8 characters |  |"), std::string::npos) << md;
  EXPECT_NE(md.find("### `devices[].points[]`"), std::string::npos) << md;
  EXPECT_NE(md.find("### `devices[].poll`\n\nPolling.\n"), std::string::npos) << md;
  EXPECT_NE(md.find("## `groups.<key>`\n\nA group of devices.\n"), std::string::npos) << md;
  EXPECT_NE(md.find("| `groups.<key>.members` | list of strings | `[]` | 1 to 10 items | Device names. |"), std::string::npos)
      << md;
}

TEST(ConfigValues, BuiltByHandForTests) {
  Values v;
  v.set("a.b", Values::Entry{std::int64_t{3}, true, 1, 2});
  v.listForWriting("items").emplace_back();
  v.listForWriting("items").back().set("x", Values::Entry{std::string("y"), true, 0, 0});
  EXPECT_EQ(v.getInt("a.b"), 3);
  EXPECT_EQ(v.section("a").getInt("b"), 3);
  EXPECT_EQ(v.list("items").at(0).getString("x"), "y");
  EXPECT_THROW((void)v.list("nope"), std::logic_error);
  EXPECT_THROW((void)v.map("items"), std::logic_error);
  EXPECT_EQ(v.find("a"), nullptr);
}

}  // namespace
}  // namespace gatehouse::kit::config
