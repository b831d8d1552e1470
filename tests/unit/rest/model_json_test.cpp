#include <gtest/gtest.h>

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
