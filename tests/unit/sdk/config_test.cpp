#include <gatehouse/sdk/config.h>

#include <cstring>
#include <limits>
#include <stdexcept>

#include <gtest/gtest.h>

namespace gatehouse::sdk {
namespace {

std::string text(const char* s) { return s == nullptr ? "<null>" : s; }

TEST(SdkConfigSchema, BuildsTheTableTheHostReads) {
  static const ConfigSchema schema{
      integer("interval_ms", 1000).range(10, 3600000).doc("Time between readings."),
      string("provider_prefix", "sim").doc("Start of names."),
      boolean("verbose", true),
      number("gain", 1.5).range(0.5, 2),
      oneOf("mode", "a", {"a", "b", "c"}).doc("How."),
      stringList("topics"),
      string("password").required().secret().doc("Secret."),
  };
  ASSERT_TRUE(schema.check().isOk()) << schema.check().message();
  ASSERT_EQ(schema.size(), 7u);
  const gh_config_field* t = schema.data();
  ASSERT_NE(t, nullptr);

  EXPECT_EQ(text(t[0].key), "interval_ms");
  EXPECT_EQ(t[0].type, GH_CONFIG_INT);
  EXPECT_EQ(t[0].flags, 0u);
  EXPECT_EQ(text(t[0].default_value), "1000");
  EXPECT_EQ(t[0].min_int, 10);
  EXPECT_EQ(t[0].max_int, 3600000);
  EXPECT_EQ(text(t[0].description), "Time between readings.");
  EXPECT_EQ(t[0].allowed, nullptr);

  EXPECT_EQ(t[1].type, GH_CONFIG_STRING);
  EXPECT_EQ(text(t[1].default_value), "sim");

  EXPECT_EQ(t[2].type, GH_CONFIG_BOOL);
  EXPECT_EQ(text(t[2].default_value), "true");

  EXPECT_EQ(t[3].type, GH_CONFIG_DOUBLE);
  EXPECT_EQ(text(t[3].default_value), "1.5");
  EXPECT_DOUBLE_EQ(t[3].min_double, 0.5);
  EXPECT_DOUBLE_EQ(t[3].max_double, 2.0);

  EXPECT_EQ(t[4].type, GH_CONFIG_ENUM);
  EXPECT_EQ(text(t[4].allowed), "a|b|c");
  EXPECT_EQ(text(t[4].default_value), "a");

  EXPECT_EQ(t[5].type, GH_CONFIG_STRING_LIST);
  EXPECT_EQ(text(t[5].default_value), "");   // lists default to empty

  EXPECT_EQ(t[6].flags, GH_CONFIG_REQUIRED | GH_CONFIG_SECRET);
  EXPECT_EQ(t[6].default_value, nullptr);   // required: no default

  // Unbounded integers get the full range, so a host may always apply min/max.
  static const ConfigSchema plain{integer("n", 3)};
  EXPECT_EQ(plain.data()[0].min_int, std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(plain.data()[0].max_int, std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(text(ConfigSchema{number("x", 2)}.data()[0].default_value), "2.0");
}

TEST(SdkConfigSchema, EmptySchemaHasNoTable) {
  static const ConfigSchema none{};
  EXPECT_EQ(none.size(), 0u);
  EXPECT_EQ(none.data(), nullptr);
  EXPECT_TRUE(none.check().isOk());
}

TEST(SdkConfigSchema, ReportsEveryMistakeInTheTable) {
  const ConfigSchema bad{
      integer("port", 70000).range(1, 65535),
      integer("port", 1),
      string("BadKey"),
      oneOf("mode", "z", {"a", "b"}),
      string("name").range(1, 2),
      integer("ratio").range(0.5, 1.5),
      oneOf("sep", "a", {"a", "b|c"}),
  };
  const Status& s = bad.check();
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.code(), GH_ERR_INVALID_ARGUMENT);
  const std::string& m = s.message();
  EXPECT_NE(m.find("\"port\": the default 70000 is outside the range"), std::string::npos) << m;
  EXPECT_NE(m.find("\"port\": declared twice"), std::string::npos) << m;
  EXPECT_NE(m.find("\"BadKey\": keys are snake_case"), std::string::npos) << m;
  EXPECT_NE(m.find("\"mode\": the default \"z\" is not one of the allowed values"), std::string::npos) << m;
  EXPECT_NE(m.find("\"name\": range() applies to integer and number fields"), std::string::npos) << m;
  EXPECT_NE(m.find("\"ratio\": an integer field needs integer bounds"), std::string::npos) << m;
  EXPECT_NE(m.find("\"sep\": allowed values must be non-empty and contain no '|'"), std::string::npos) << m;
}

// A host-made entry list, as gh_config_entry values pointing into this object.
struct Entries {
  std::vector<gh_config_entry> list;
  void add(const char* key, std::uint32_t type, gh_value v, bool fromFile = true) {
    gh_config_entry e{};
    e.key = key;
    e.type = type;
    e.from_file = fromFile ? 1 : 0;
    e.value = v;
    list.push_back(e);
  }
};

gh_value ghLong(std::int64_t i) { gh_value v{}; v.type = GH_TYPE_LONG; v.i = i; return v; }
gh_value ghString(const char* s) { gh_value v{}; v.type = GH_TYPE_STRING; v.data = s; v.size = std::strlen(s); return v; }

TEST(SdkConfig, ReadsTheHostsEntries) {
  Entries e;
  e.add("interval_ms", GH_CONFIG_INT, ghLong(250));
  e.add("prefix", GH_CONFIG_STRING, ghString("lab"), false);
  e.add("mode", GH_CONFIG_ENUM, ghString("b"));
  gh_value b{};
  b.type = GH_TYPE_BOOLEAN;
  b.i = 1;
  e.add("verbose", GH_CONFIG_BOOL, b);
  gh_value d{};
  d.type = GH_TYPE_DOUBLE;
  d.d = 0.25;
  e.add("gain", GH_CONFIG_DOUBLE, d);
  gh_config_entry list{};
  list.key = "topics";
  list.type = GH_CONFIG_STRING_LIST;
  static const char* const kItems[] = {"a", "b"};
  list.items = kItems;
  list.item_count = 2;
  e.list.push_back(list);

  std::string why;
  auto c = Config::fromC(e.list.data(), e.list.size(), &why);
  ASSERT_TRUE(c) << why;
  EXPECT_EQ(c->getInt("interval_ms"), 250);
  EXPECT_EQ(c->getString("prefix"), "lab");
  EXPECT_FALSE(c->fromFile("prefix"));
  EXPECT_TRUE(c->fromFile("interval_ms"));
  EXPECT_EQ(c->getString("mode"), "b");
  EXPECT_TRUE(c->getBool("verbose"));
  EXPECT_DOUBLE_EQ(c->getDouble("gain"), 0.25);
  EXPECT_DOUBLE_EQ(c->getDouble("interval_ms"), 250.0);
  EXPECT_EQ(c->getStringList("topics"), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(c->has("topics"));
  EXPECT_FALSE(c->has("other"));
}

TEST(SdkConfig, RefusesMalformedEntries) {
  std::string why;
  {
    Entries e;
    e.add("n", GH_CONFIG_INT, ghString("12"));   // INT carries GH_TYPE_LONG
    EXPECT_FALSE(Config::fromC(e.list.data(), e.list.size(), &why));
    EXPECT_NE(why.find("\"n\""), std::string::npos) << why;
  }
  {
    Entries e;
    e.add("n", GH_CONFIG_INT, ghLong(1));
    e.add("n", GH_CONFIG_INT, ghLong(2));
    EXPECT_FALSE(Config::fromC(e.list.data(), e.list.size(), &why));
    EXPECT_NE(why.find("twice"), std::string::npos) << why;
  }
  {
    Entries e;
    e.add(nullptr, GH_CONFIG_INT, ghLong(1));
    EXPECT_FALSE(Config::fromC(e.list.data(), e.list.size(), &why));
  }
  {
    gh_config_entry list{};
    list.key = "l";
    list.type = GH_CONFIG_STRING_LIST;
    list.item_count = 2;   // but no items
    EXPECT_FALSE(Config::fromC(&list, 1, &why));
  }
  EXPECT_TRUE(Config::fromC(nullptr, 0, &why));
  EXPECT_FALSE(Config::fromC(nullptr, 3, &why));
}

TEST(SdkConfig, GettersThrowForUndeclaredKeysAndOtherTypes) {
  Entries e;
  e.add("n", GH_CONFIG_INT, ghLong(1));
  auto c = Config::fromC(e.list.data(), e.list.size());
  ASSERT_TRUE(c);
  try {
    (void)c->getInt("m");
    FAIL() << "expected std::out_of_range";
  } catch (const std::out_of_range& ex) {
    EXPECT_NE(std::string(ex.what()).find("\"m\""), std::string::npos) << ex.what();
  }
  EXPECT_THROW((void)c->getString("n"), std::logic_error);
  EXPECT_THROW((void)c->getBool("n"), std::logic_error);
  EXPECT_THROW((void)c->getStringList("n"), std::logic_error);
}

TEST(SdkConfig, DefaultsMirrorTheSchema) {
  static const ConfigSchema schema{
      integer("n", 42), boolean("b", true), number("x", 0.5), string("s", "hi"), oneOf("e", "b", {"a", "b"}),
      stringList("l"), string("secret").required(),
  };
  Config c = Config::defaults(schema);
  EXPECT_EQ(c.getInt("n"), 42);
  EXPECT_TRUE(c.getBool("b"));
  EXPECT_DOUBLE_EQ(c.getDouble("x"), 0.5);
  EXPECT_EQ(c.getString("s"), "hi");
  EXPECT_EQ(c.getString("e"), "b");
  EXPECT_TRUE(c.getStringList("l").empty());
  EXPECT_FALSE(c.has("secret"));
  EXPECT_FALSE(c.fromFile("n"));
  c.set("n", ConfigType::Int, Value::ofInt(7)).setList("l", {"x"});
  EXPECT_EQ(c.getInt("n"), 7);
  EXPECT_TRUE(c.fromFile("n"));
  EXPECT_EQ(c.getStringList("l"), std::vector<std::string>{"x"});
  EXPECT_THROW(c.set("n", ConfigType::Int, Value::ofString("7")), std::invalid_argument);
}

}  // namespace
}  // namespace gatehouse::sdk
