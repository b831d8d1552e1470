// Topic templates and the D5 name check (bridges/mqtt/mapping/include/mqtt/topic.h).
#include <gtest/gtest.h>

#include "gatehouse/bridge/mqtt/topic.h"

namespace gatehouse::bridge::mqtt {
namespace {

using Names = std::map<std::string, std::string>;

TEST(MappingTopic, FilterAndMatch) {
  auto t = TopicTemplate::parse("sensors/{provider}/+/{resource}/#");
  ASSERT_TRUE(t) << t.message();
  EXPECT_EQ(t->filter(), "sensors/+/+/+/#");
  EXPECT_EQ(t->names(), (std::vector<std::string>{"provider", "resource"}));
  EXPECT_EQ(t->match("sensors/p1/s/temp/a/b"), (Names{{"provider", "p1"}, {"resource", "temp"}}));
  EXPECT_EQ(t->match("sensors/p1/s/temp"), (Names{{"provider", "p1"}, {"resource", "temp"}}));   // '#' matches zero levels
  EXPECT_FALSE(t->match("sensors/p1/s"));
  EXPECT_FALSE(t->match("other/p1/s/temp"));
  EXPECT_FALSE(t->match("sensors/p1/s/+"));   // wildcards are not topic names
}

TEST(MappingTopic, ExactLevelsAndDollarTopics) {
  auto t = TopicTemplate::parse("site/+/{provider}/telemetry");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->match("site/a/p/telemetry"), (Names{{"provider", "p"}}));
  EXPECT_FALSE(t->match("site/a/p/telemetry/x"));
  EXPECT_EQ(t->match("site//p/telemetry"), (Names{{"provider", "p"}}));   // '+' matches an empty level
  auto any = TopicTemplate::parse("+/{x}");
  EXPECT_FALSE(any->match("$SYS/uptime"));
  auto sys = TopicTemplate::parse("$SYS/{x}");
  EXPECT_EQ(sys->match("$SYS/uptime"), (Names{{"x", "uptime"}}));
}

TEST(MappingTopic, Expand) {
  auto t = TopicTemplate::parse("lights/{provider}/{service}/set");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->expand({{"provider", "lamp1"}, {"service", "light"}}), "lights/lamp1/light/set");
  EXPECT_EQ(t->expand({{"provider", "lamp1"}}), "lights/lamp1//set");
  EXPECT_FALSE(TopicTemplate::parse("a/b")->hasWildcards());
}

TEST(MappingTopic, RefusesBadTemplates) {
  auto err = [](std::string_view s) { return TopicTemplate::parse(s).message(); };
  EXPECT_EQ(err(""), "a topic template cannot be empty");
  EXPECT_EQ(err("a/#/b"), "topic template \"a/#/b\", level 2: '#' is allowed only as the last level");
  EXPECT_EQ(err("a/{x"), "topic template \"a/{x\", level 2: a named wildcard is a whole level written {name}");
  EXPECT_EQ(err("a/{}"), "topic template \"a/{}\", level 2: a named wildcard is a whole level written {name}");
  EXPECT_EQ(err("a/{1x}"),
            "topic template \"a/{1x}\", level 2: wildcard name must be letters, digits and '_' (not starting with a digit), at most 64");
  EXPECT_EQ(err("{x}/{x}"), "topic template \"{x}/{x}\", level 2: the name {x} appears twice");
  EXPECT_EQ(err("a/b+"), "topic template \"a/b+\", level 2: '+', '#', '{' and '}' must stand alone as a whole level (and NUL is not allowed)");
  EXPECT_EQ(err("a/x{y}"), "topic template \"a/x{y}\", level 2: '+', '#', '{' and '}' must stand alone as a whole level (and NUL is not allowed)");
  EXPECT_EQ(err(std::string(1025, 'a')), "topic template is longer than 1024 characters");
}

TEST(MappingTopic, SafeNamesD5) {
  EXPECT_TRUE(kit::isValidIdentifier("sensor-1_a.b:c"));
  EXPECT_TRUE(kit::isValidIdentifier(std::string(128, 'a')));
  for (const std::string& bad : std::vector<std::string>{"", "a/b", "+", "#", "..", ".", "a..b", "\n", "a b", "a\x01", "caf\xC3\xA9", std::string(129, 'a'),
                          std::string("a\0b", 3)}) {
    EXPECT_FALSE(kit::isValidIdentifier(bad)) << bad;
  }
}

}  // namespace
}  // namespace gatehouse::bridge::mqtt
