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

TEST(JsonBody, DuplicateKeysAreRefused) {
  // Poco kept the last of two equal keys; the kit's reader refuses them (two readers of one body
  // must not disagree), so the answer is a 400.
  for (const char* body : {R"({"value": "a", "value": "b"})", R"({"value": {"k": 1, "k": 2}})",
                           R"({"parameters":[{"name":"a","name":"b","value":1}]})"}) {
    auto set = parseSetBody(body);
    auto act = parseActBody(body);
    ASSERT_FALSE(set.ok()) << body;
    ASSERT_FALSE(act.ok()) << body;
    EXPECT_EQ(set.error().code, ErrorCode::BadRequest);
    EXPECT_NE(set.error().message.find("duplicate member name"), std::string::npos) << set.error().message;
  }
  auto snap = parseSnapshotBody(R"json({"filter":"(a=1)","filter":"(b=2)"})json");
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.error().code, ErrorCode::BadRequest);
}

TEST(JsonBody, NumbersAndOrderAsPocoGaveThem) {
  EXPECT_EQ(*parseSetBody(R"({"value": -9223372036854775808})"), Value::ofLong(INT64_MIN));
  EXPECT_EQ(*parseSetBody(R"({"value": 1.0})"), Value::ofDouble(1.0));
  EXPECT_EQ(*parseSetBody(R"({"value": 1e2})"), Value::ofDouble(100.0));
  EXPECT_EQ(*parseSetBody(R"({"value": 18446744073709551616})"), Value::ofDouble(18446744073709551616.0));
  EXPECT_EQ(*parseSetBody(R"({"value": -9223372036854775809})"), Value::ofDouble(-9223372036854775809.0));
  EXPECT_NE(parseSetBody(R"({"value": 1e400})").error().message.find("not valid JSON"), std::string::npos);
  // ACT parameters given as an object come by name, as Poco's objects iterated them.
  auto act = parseActBody(R"({"zeta": 1, "alpha": "x"})");
  ASSERT_TRUE(act.ok());
  ASSERT_EQ(act->size(), 2u);
  EXPECT_EQ((*act)[0].name, "alpha");
  EXPECT_EQ((*act)[1].name, "zeta");
  EXPECT_EQ(parseSetBody(R"({"value": [{"b":1,"a":[true,null,"s"]}]})")->asString(), R"([{"a":[true,null,"s"],"b":1}])");
}
