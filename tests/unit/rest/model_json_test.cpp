#include <gtest/gtest.h>

#include "gatehouse/kit/codec.h"
#include "rest/model_json.h"
#include "rest/sse.h"

using namespace gatehouse::core;
using namespace gatehouse::core::rest;
using model::Value;

TEST(ModelJson, ReadingHasSensinactFields) {
  std::string out;
  appendReadingJson(out, "temperature", Value::ofDouble(29.6), 1693394285012);
  EXPECT_EQ(out, R"({"name":"temperature","timestamp":1693394285012,"type":"double","value":29.6})");
  out.clear();
  appendReadingJson(out, "x", Value::null(model::ValueType::Int), 0);
  EXPECT_EQ(out, R"({"name":"x","timestamp":null,"type":"int","value":null})");
}

TEST(ModelJson, DataEventShape) {
  model::Notification n;
  n.provider = "temp1";
  n.service = "sensor";
  n.resource = "temperature";
  n.timestamp = 1693402975313;
  n.oldValue = Value::ofDouble(18.5);
  n.newValue = Value::ofDouble(17.25);
  std::string out;
  appendSseEvent(out, n);
  EXPECT_EQ(out,
            "event: data\ndata: {\"provider\":\"temp1\",\"service\":\"sensor\",\"resource\":\"temperature\","
            "\"timestamp\":1693402975313,\"oldValue\":18.5,\"newValue\":17.25,\"type\":\"double\"}\n\n");
  model::Notification l;
  l.kind = model::NotificationKind::Lifecycle;
  l.lifecycle = model::LifecycleEvent::ProviderDeleted;
  l.provider = "p";
  l.timestamp = 5;
  out.clear();
  appendSseEvent(out, l);
  EXPECT_EQ(out, "event: lifecycle\ndata: {\"provider\":\"p\",\"timestamp\":5,\"event\":\"PROVIDER_DELETED\"}\n\n");
}

TEST(ModelJson, FilterLookupOverAProvider) {
  model::Model m;
  ASSERT_TRUE(m.push("p1", "sensor", "temperature", Value::ofDouble(22.5)).ok());
  ASSERT_TRUE(m.push("p1", "light", "status", Value::ofString("ON")).ok());
  auto info = m.provider("p1", model::Detail::Values);
  ASSERT_TRUE(info.ok());
  auto lookup = providerLookup(*info);
  auto match = [&](const char* text) {
    auto f = filter::Filter::parse(text);
    EXPECT_TRUE(f.ok()) << text;
    return f.ok() && f->matches(lookup);
  };
  EXPECT_TRUE(match("(PROVIDER=p1)"));
  EXPECT_TRUE(match("(MODEL=p1)"));
  EXPECT_TRUE(match("(sensor.temperature>=20)"));
  EXPECT_FALSE(match("(sensor.temperature>=30)"));
  EXPECT_TRUE(match("(&(light.status=ON)(admin.friendlyName=p*))"));
  EXPECT_FALSE(match("(sensor.humidity=*)"));
  EXPECT_TRUE(match("(!(sensor.humidity=*))"));
}

// A resource marked e2e (metadata e2e: true, docs/e2e-protocol.md) holds ciphertext: every filter
// item on it is false, whatever the operator, so a filter cannot probe it (docs/filters.md).
TEST(ModelJson, FilterNeverComparesAnEndToEndEncryptedValue) {
  model::Model m;
  const std::string envelope("GHE\x01\x01\x05pub-1\x00\x00\x00\x00\x00\x00\x00\x01", 20);
  ASSERT_TRUE(m.push("p1", "e2e", "data", Value::ofBytes(envelope)).ok());
  ASSERT_TRUE(m.setMetadata("p1", "e2e", "data", "e2e", Value::ofBool(true)).ok());
  ASSERT_TRUE(m.push("p1", "plain", "frame", Value::ofBytes(envelope)).ok());    // same bytes, not e2e
  ASSERT_TRUE(m.push("p1", "plain", "number", Value::ofDouble(5)).ok());
  ASSERT_TRUE(m.setMetadata("p1", "plain", "number", "e2e", Value::ofString("true")).ok());   // text "true" counts too
  ASSERT_TRUE(m.push("p1", "plain", "other", Value::ofDouble(5)).ok());
  ASSERT_TRUE(m.setMetadata("p1", "plain", "other", "e2e", Value::ofBool(false)).ok());
  auto info = m.provider("p1", model::Detail::Values);
  ASSERT_TRUE(info.ok());
  auto data = m.resource("p1", "e2e", "data");
  ASSERT_TRUE(data.ok());
  EXPECT_TRUE(model::isEndToEnd(*data));
  auto frame = m.resource("p1", "plain", "frame");
  ASSERT_TRUE(frame.ok());
  EXPECT_FALSE(model::isEndToEnd(*frame));
  auto lookup = providerLookup(*info);
  auto match = [&](const std::string& text) {
    auto f = filter::Filter::parse(text);
    EXPECT_TRUE(f.ok()) << text;
    return f.ok() && f->matches(lookup);
  };
  const std::string b64 = gatehouse::kit::base64Encode(envelope);
  for (const std::string key : {"e2e.data", "plain.number"}) {   // NOLINT(performance-for-range-copy)
    for (const std::string& item : std::vector<std::string>{"=*", ">=0", "<=0", "<=~", "=" + b64, "~=" + b64, "=" + b64.substr(0, 4) + "*",
                                   "=*" + b64.substr(4, 4) + "*", "=5", "=true"}) {
      EXPECT_FALSE(match("(" + key + item + ")")) << key << item;
    }
    EXPECT_TRUE(match("(!(" + key + "=*))")) << key;   // as for a null value: the negation holds
  }
  // The controls: the same bytes without the mark, and a number whose mark is false, do compare.
  EXPECT_TRUE(match("(plain.frame=*)"));
  EXPECT_TRUE(match("(plain.frame=" + b64 + ")"));
  EXPECT_TRUE(match("(plain.other>=0)"));
  EXPECT_TRUE(match("(&(PROVIDER=p1)(!(e2e.data=*)))"));
}
