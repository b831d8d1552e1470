// Northbound MQTT without a broker: topics, payloads, option checks and the config section.
#include <gtest/gtest.h>

#include "config/config.h"
#include "model/model.h"
#include "northbound/mqtt_publisher.h"

namespace gatehouse::core::northbound {
namespace {

model::Notification data(model::Value v, std::int64_t ts) {
  model::Notification n;
  n.provider = "pump-1";
  n.service = "sensors";
  n.resource = "flow.rate";
  n.timestamp = ts;
  n.newValue = std::move(v);
  return n;
}

TEST(NorthboundTopic, IsPrefixProviderServiceResource) {
  EXPECT_EQ(MqttPublisher::topicFor("gatehouse/gw-1", data(model::Value::ofInt(1), 0)),
            "gatehouse/gw-1/pump-1/sensors/flow.rate");
  EXPECT_EQ(MqttPublisher::topicFor("site/a:b", data(model::Value::ofInt(1), 0)), "site/a:b/pump-1/sensors/flow.rate");
}

TEST(NorthboundPayload, CarriesValueTimestampAndType) {
  EXPECT_EQ(MqttPublisher::payloadFor(data(model::Value::ofDouble(21.5), 1700000000123)),
            R"({"value":21.5,"timestamp":1700000000123,"type":"double"})");
  EXPECT_EQ(MqttPublisher::payloadFor(data(model::Value::ofLong(-7), 5)), R"({"value":-7,"timestamp":5,"type":"long"})");
  EXPECT_EQ(MqttPublisher::payloadFor(data(model::Value::ofBool(true), 5)), R"({"value":true,"timestamp":5,"type":"boolean"})");
  EXPECT_EQ(MqttPublisher::payloadFor(data(model::Value::ofString("a\"b\n"), 5)),
            R"({"value":"a\"b\n","timestamp":5,"type":"string"})");
  EXPECT_EQ(MqttPublisher::payloadFor(data(model::Value::ofJson(R"({"x":[1,2]})"), 5)),
            R"({"value":{"x":[1,2]},"timestamp":5,"type":"json"})");
  EXPECT_EQ(MqttPublisher::payloadFor(data(model::Value::ofBytes(std::string("\x00\xff", 2)), 5)),
            R"({"value":"AP8=","timestamp":5,"type":"bytes"})");
  EXPECT_EQ(MqttPublisher::payloadFor(data(model::Value::null(model::ValueType::Int), 5)),
            R"({"value":null,"timestamp":5,"type":"int"})");
}

TEST(NorthboundOptions, DefaultsFollowTheGatewayId) {
  config::Config c;
  c.gateway.id = "gw-7";
  MqttPublisherOptions o = optionsFromConfig(c);
  EXPECT_EQ(o.prefix, "gatehouse/gw-7");
  EXPECT_EQ(o.clientId, "gatehouse-gw-7");
  EXPECT_EQ(o.brokers, std::vector<std::string>{"tcp://127.0.0.1:1883"});
  EXPECT_EQ(o.queue, 100000u);
  c.mqttNorthbound.prefix = "fleet/x";
  c.mqttNorthbound.clientId = "me";
  c.mqttNorthbound.qos = 2;
  o = optionsFromConfig(c);
  EXPECT_EQ(o.prefix, "fleet/x");
  EXPECT_EQ(o.clientId, "me");
  EXPECT_EQ(o.qos, 2);
}

// start() refuses options that could never work, before any connection attempt.
TEST(NorthboundOptions, UnusableOptionsAreRefusedByStart) {
  auto refused = [](auto change) {
    model::Model m;
    MqttPublisherOptions o;
    o.clientId = "x";
    o.prefix = "gatehouse/x";
    change(o);
    MqttPublisher p(m, o);
    auto r = p.start();
    EXPECT_FALSE(r.ok());
    return r.ok() ? std::string() : r.error().message;
  };
  EXPECT_NE(refused([](auto& o) { o.brokers.clear(); }).find("no broker"), std::string::npos);
  EXPECT_NE(refused([](auto& o) { o.qos = 3; }).find("qos"), std::string::npos);
  EXPECT_NE(refused([](auto& o) { o.queue = 0; }).find("queue"), std::string::npos);
  EXPECT_NE(refused([](auto& o) { o.prefix = "a/#"; }).find("prefix"), std::string::npos);
  EXPECT_NE(refused([](auto& o) { o.clientId.clear(); }).find("client id"), std::string::npos);
  EXPECT_NE(refused([](auto& o) { o.certFile = "/nonexistent.pem"; }).find("key_file"), std::string::npos);
  EXPECT_NE(refused([](auto& o) {
              o.brokers = {"ssl://127.0.0.1:1"};
              o.caFile = "/nonexistent/ca.pem";
            }).find("cannot read /nonexistent/ca.pem"),
            std::string::npos);
  EXPECT_NE(refused([](auto& o) { o.brokers = {"bogus://127.0.0.1:1"}; }).find("cannot create the MQTT client"),
            std::string::npos);
}

TEST(NorthboundConfig, DefaultsWhenAbsent) {
  auto c = config::loadString("", "gw.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->mqttNorthbound, config::MqttNorthboundSection{});
  EXPECT_FALSE(c->mqttNorthbound.enabled);
  EXPECT_EQ(c->mqttNorthbound.queue, 100000u);
}

TEST(NorthboundConfig, EveryKeyIsRead) {
  auto c = config::loadString(
      "mqtt_northbound:\n"
      "  enabled: true\n"
      "  brokers: [ssl://a:8883, tcp://b:1883]\n"
      "  client_id: cid\n"
      "  username: u\n"
      "  password: p\n"
      "  ca_file: /ca.pem\n"
      "  cert_file: /c.pem\n"
      "  key_file: /k.pem\n"
      "  prefix: fleet/one\n"
      "  qos: 1\n"
      "  retain: true\n"
      "  queue: 10000000\n"
      "  keep_alive_s: 5\n",
      "gw.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  const auto& s = c->mqttNorthbound;
  EXPECT_TRUE(s.enabled);
  EXPECT_EQ(s.brokers, (std::vector<std::string>{"ssl://a:8883", "tcp://b:1883"}));
  EXPECT_EQ(s.clientId, "cid");
  EXPECT_EQ(s.username, "u");
  EXPECT_EQ(s.password, "p");
  EXPECT_EQ(s.caFile, "/ca.pem");
  EXPECT_EQ(s.certFile, "/c.pem");
  EXPECT_EQ(s.keyFile, "/k.pem");
  EXPECT_EQ(s.prefix, "fleet/one");
  EXPECT_EQ(s.qos, 1);
  EXPECT_TRUE(s.retain);
  EXPECT_EQ(s.queue, 10000000u);
  EXPECT_EQ(s.keepAliveS, 5);
}

std::string errorsOf(const std::string& yaml) {
  auto c = config::loadString(yaml, "gw.yaml");
  return c.ok() ? std::string() : c.error().message;
}

TEST(NorthboundConfig, ProblemsAreReportedWithKeyPaths) {
  EXPECT_EQ(errorsOf("mqtt_northbound:\n  qos: 3\n"), "gw.yaml:2:8: mqtt_northbound.qos: must be between 0 and 2, found 3");
  EXPECT_EQ(errorsOf("mqtt_northbound:\n  queue: 0\n"),
            "gw.yaml:2:10: mqtt_northbound.queue: must be between 1 and 10000000, found 0");
  EXPECT_NE(errorsOf("mqtt_northbound:\n  brokers: [http://x]\n").find("mqtt_northbound.brokers[0]: must be a broker URI"),
            std::string::npos);
  EXPECT_NE(errorsOf("mqtt_northbound:\n  prefix: a/+/b\n").find("gw.yaml:2:11: mqtt_northbound.prefix:"), std::string::npos);
  EXPECT_NE(errorsOf("mqtt_northbound:\n  prefix: a/\n").find("mqtt_northbound.prefix:"), std::string::npos);
  EXPECT_EQ(errorsOf("mqtt_northbound:\n  brokers: [ssl://x:8883]\n  cert_file: /c.pem\n"),
            "gw.yaml:3:14: mqtt_northbound.cert_file: mutual TLS needs both mqtt_northbound.cert_file and "
            "mqtt_northbound.key_file");
  EXPECT_EQ(errorsOf("mqtt_northbound:\n  ca_file: /ca.pem\n"),
            "gw.yaml:2:12: mqtt_northbound.ca_file: is set but no broker in mqtt_northbound.brokers uses TLS "
            "(ssl://, mqtts:// or wss://)");
  EXPECT_EQ(errorsOf("mqtt_northbound:\n  enabled: true\n  brokers: []\n"),
            "gw.yaml:3:12: mqtt_northbound.brokers: mqtt_northbound.enabled is true, so at least one broker is needed");
  EXPECT_EQ(errorsOf("mqtt_northbound:\n  enabled: false\n  brokers: []\n"), "");
}

}  // namespace
}  // namespace gatehouse::core::northbound
