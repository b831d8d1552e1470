#include <gtest/gtest.h>

#include "rest/json_body.h"

using namespace gatehouse::core;
using namespace gatehouse::core::rest;
using model::Value;

TEST(JsonBody, SetAcceptsBothSensinactForms) {
  auto a = parseSetBody(R"({"value": 42})");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(*a, Value::ofLong(42));
  auto b = parseSetBody(R"([{"name":"value","type":"string","value":"Lassie"}])");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, Value::ofString("Lassie"));
  auto c = parseSetBody(R"({"value": 21.5})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, Value::ofDouble(21.5));
  auto d = parseSetBody(R"({"value": {"type":"Point","coordinates":[1,2]}})");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->type(), model::ValueType::Json);
  EXPECT_EQ(d->asString(), R"({"coordinates":[1,2],"type":"Point"})");
  auto n = parseSetBody(R"({"value": null})");
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(n->isNull());
  auto t = parseSetBody(R"({"value": true})");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, Value::ofBool(true));
}

TEST(JsonBody, SetRejectsWithReasons) {
  struct Case {
    const char* body;
    const char* fragment;
  };
  for (const auto& c : {Case{"", "needs a body"}, Case{"{", "not valid JSON"}, Case{"{\"v\":1}", "'value'"},
                        Case{"[{\"name\":\"x\",\"value\":1}]", "no parameter named 'value'"},
                        Case{"[1]", "must be an object"}, Case{"42", "must be"},
                        Case{"{\"value\": 18446744073709551615}", "too large"}}) {
    auto r = parseSetBody(c.body);
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.error().code, ErrorCode::BadRequest);
    EXPECT_NE(r.error().message.find(c.fragment), std::string::npos) << c.body << " -> " << r.error().message;
  }
}

TEST(JsonBody, DeepNestingIsRefusedBeforeParsing) {
  std::string deep = "{\"value\":" + std::string(10000, '[') + std::string(10000, ']') + "}";
  auto r = parseSetBody(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("deeper"), std::string::npos);
  std::string ok = "{\"value\":" + std::string(20, '[') + std::string(20, ']') + "}";
  EXPECT_TRUE(parseSetBody(ok).ok());
  // Brackets inside strings do not count.
  EXPECT_TRUE(parseSetBody("{\"value\":\"" + std::string(1000, '[') + "\"}").ok());
}

TEST(JsonBody, ActForms) {
  auto a = parseActBody(R"({"parameters":[{"name":"brightness","type":"int","value":40}]})");
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->size(), 1u);
  EXPECT_EQ((*a)[0].name, "brightness");
  EXPECT_EQ((*a)[0].value, Value::ofLong(40));
  auto b = parseActBody(R"({"brightness": 40, "fade": true})");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->size(), 2u);
  auto c = parseActBody("  ");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->empty());
  auto d = parseActBody(R"([{"name":"a","value":1}])");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->size(), 1u);
  auto e = parseActBody(R"({"parameters": null})");
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->empty());
  EXPECT_FALSE(parseActBody(R"({"parameters":[{"name":"a","value":1},{"name":"a","value":2}]})").ok());
  EXPECT_FALSE(parseActBody(R"({"parameters": 3})").ok());
  EXPECT_FALSE(parseActBody(R"("text")").ok());
  EXPECT_FALSE(parseActBody(R"({"parameters":[{"value":1}]})").ok());
}

TEST(JsonBody, SnapshotOptions) {
  auto a = parseSnapshotBody(R"json({"filter":"(PROVIDER=x)","includeMetadata":true})json");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->filter, "(PROVIDER=x)");
  EXPECT_TRUE(a->includeMetadata);
  EXPECT_TRUE(parseSnapshotBody("").ok());
  EXPECT_FALSE(parseSnapshotBody(R"({"filter": 1})").ok());
  EXPECT_FALSE(parseSnapshotBody(R"({"other": 1})").ok());
  EXPECT_FALSE(parseSnapshotBody("[]").ok());
}
