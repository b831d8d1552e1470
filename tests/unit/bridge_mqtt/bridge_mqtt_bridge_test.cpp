// MqttBridge end to end: a real mosquitto, a fake gateway host (tests/unit/sdk/fake_host.h) and
// simulated devices talking MQTT through the kit's MqttClient. Mapping -> model, TLS/mTLS/wrong CA, broker
// restart under a 10k QoS1 stream, SET/ACT round trips (MQTT 5 response topic, ack topic), timeouts.
#include "mqtt_bridge.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "fake_host.h"
#include "gatehouse/e2e/e2e.h"
#include "mqtt_test_helpers.h"

namespace gatehouse::bridge::mqtt {
namespace {

using namespace std::chrono_literals;
using kit::MqttClient;
using kit::MqttMessage;
using kit::MqttOptions;
using sdk::Value;
using sdk::testing::FakeHost;
using test_support::ConnectionWatch;
using test_support::Done;
using test_support::Inbox;
using test_support::MosquittoFixture;
using test_support::MosquittoOptions;

constexpr const char* kMappings = R"(mappings:
  - topic: sensors/{provider}/{service}/{resource}
    value: /value
    type: double
    unit: "°C"
    timestamp: {pointer: /ts, format: millis}
  - topic: bulk/{provider}/seq
    service: load
    resource: seq
    format: number
    type: long
  - topic: lights/{provider}/state
    service: light
    resource: brightness
    value: /brightness
    type: int
    command:
      topic: lights/{provider}/set
      payload: '{"brightness": {value}}'
      response: mqtt5
      timeout_ms: 5000
    actions:
      - resource: blink
        params: [{name: times, type: int}]
        result: string
        command:
          topic: lights/{provider}/blink
          response: ack
          ack_topic: lights/{provider}/ack
          timeout_ms: 5000
  - topic: valves/{provider}/state
    service: valve
    resource: open
    format: boolean
    type: boolean
    command: {topic: 'valves/{provider}/set', response: mqtt5, timeout_ms: 300}
)";

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

class Harness {
 public:
  explicit Harness(const MosquittoFixture& broker, const std::string& mappings = kMappings) {
    mappingsFile_ = broker.dir() + "/mappings.yaml";
    std::ofstream(mappingsFile_) << mappings;
    config_ = sdk::Config::defaults(kMqttConfigSchema);
    config_.setList("brokers", {broker.uri()});
    config_.set("client_id", sdk::ConfigType::String, Value::ofString("gw-test"));
    config_.set("mappings_file", sdk::ConfigType::String, Value::ofString(mappingsFile_));
    sdk::detail::Access::attach(bridge, fake.host());
  }
  ~Harness() {
    if (started_) bridge.stop();
  }
  sdk::Config& config() { return config_; }
  sdk::Status start() {
    if (auto s = bridge.configure(config_); !s) return s;
    auto s = bridge.start();
    started_ = s.isOk();
    return s;
  }
  void stop() {
    if (started_) bridge.stop();
    started_ = false;
  }
  // Waits until the last reported state is `state`.
  bool waitState(sdk::PluginState state, std::chrono::milliseconds timeout) {
    return eventually(
        [&] {
          auto st = fake.statuses();
          return !st.empty() && st.back().first == static_cast<std::uint32_t>(state);
        },
        timeout);
  }
  std::optional<sdk::testing::RecordedCompletion> completion(gh_request_id id, std::chrono::milliseconds timeout) {
    std::optional<sdk::testing::RecordedCompletion> out;
    eventually(
        [&] {
          for (const auto& c : fake.completions())
            if (c.id == id) out = c;
          return out.has_value();
        },
        timeout);
    return out;
  }

  FakeHost fake;
  MqttBridge bridge;

 private:
  std::string mappingsFile_;
  sdk::Config config_;
  bool started_ = false;
};

// A device on the broker, through the same MQTT client.
struct Device {
  explicit Device(const MosquittoFixture& broker, const std::string& id, MqttClient::MessageHandler onMessage = {},
                  int mqttVersion = 5) {
    MqttOptions o;
    o.mqttVersion = mqttVersion;
    o.serverUris = {broker.uri()};
    o.clientId = id;
    o.maxOutstanding = 500;
    status = client.start(o, std::move(onMessage), conn.handler());
  }
  bool ready() { return status.ok() && conn.waitConnected(8s); }
  bool subscribe(const std::string& filter) {
    Done d;
    return client.subscribe({{filter, 1}}, d.handler()).ok() && d.wait(5s) && d.status().ok();
  }
  void publish(const std::string& topic, const std::string& payload) {
    Done d;
    ASSERT_TRUE(client.publish({topic, payload, 1}, d.handler(), 5s).ok());
    ASSERT_TRUE(d.wait(5s));
  }
  kit::Result<void> status;
  ConnectionWatch conn;
  MqttClient client;
};

TEST(MqttBridge, MappedMessageReachesTheModelWithTypeUnitAndTimestamp) {
  MosquittoFixture broker;
  ASSERT_EQ(broker.start(), "");
  Harness h(broker);
  ASSERT_TRUE(h.start().isOk());
  ASSERT_TRUE(h.waitState(sdk::PluginState::Running, 8s));
  Device dev(broker, "dev-1");
  ASSERT_TRUE(dev.ready());

  dev.publish("sensors/kitchen-1/env/temperature", R"({"value": 21.5, "ts": 1700000000123})");
  ASSERT_TRUE(h.fake.waitForPushes("kitchen-1", "env", "temperature", 1, 5s));
  auto pushes = h.fake.pushesTo("kitchen-1", "env", "temperature");
  ASSERT_EQ(pushes.size(), 1u);
  EXPECT_EQ(pushes[0].value, Value::ofDouble(21.5));
  EXPECT_EQ(pushes[0].timestampMs, 1700000000123);

  bool declared = false;
  for (const auto& d : h.fake.declarations()) {
    if (d.provider == "kitchen-1" && d.service == "env" && d.resource == "temperature") {
      declared = true;
      EXPECT_EQ(d.type, GH_TYPE_DOUBLE);
      EXPECT_EQ(d.unit, "°C");
      EXPECT_EQ(d.mutability, GH_MUTABILITY_UPDATABLE);
    }
  }
  EXPECT_TRUE(declared);

  // Second message: pushed, not declared again.
  dev.publish("sensors/kitchen-1/env/temperature", R"({"value": 22, "ts": 1700000001000})");
  ASSERT_TRUE(h.fake.waitForPushes("kitchen-1", "env", "temperature", 2, 5s));
  EXPECT_EQ(h.fake.pushesTo("kitchen-1", "env", "temperature")[1].value, Value::ofDouble(22));
  int decls = 0;
  for (const auto& d : h.fake.declarations()) decls += d.provider == "kitchen-1" && d.resource == "temperature";
  EXPECT_EQ(decls, 1);
}

TEST(MqttBridge, BadPayloadsAreCountedAndLoggedOncePerIntervalWithTheTopic) {
  MosquittoFixture broker;
  ASSERT_EQ(broker.start(), "");
  Harness h(broker);
  ASSERT_TRUE(h.start().isOk());
  ASSERT_TRUE(h.waitState(sdk::PluginState::Running, 8s));
  Device dev(broker, "dev-bad");
  ASSERT_TRUE(dev.ready());

  for (int i = 0; i < 5; ++i) dev.publish("sensors/oven-1/env/temperature", "not json {");
  dev.publish("sensors/bad..name/env/temperature", R"({"value": 1})");   // D5: unsafe provider name
  ASSERT_TRUE(eventually([&] { return h.bridge.badPayloads(0) == 6; }, 5s)) << h.bridge.badPayloads(0);
  EXPECT_EQ(h.bridge.badPayloads(1), 0u);

  // The bridge keeps going: a good message after the bad ones arrives.
  dev.publish("sensors/oven-1/env/temperature", R"({"value": 180, "ts": 1700000000000})");
  ASSERT_TRUE(h.fake.waitForPushes("oven-1", "env", "temperature", 1, 5s));
  EXPECT_TRUE(h.fake.pushesTo("bad..name", "env", "temperature").empty());

  int lines = 0;
  for (const auto& [level, text] : h.fake.logs()) {
    if (text.find("bad payload") != std::string::npos) {
      ++lines;
      EXPECT_EQ(level, static_cast<std::uint32_t>(GH_LOG_WARN));
      EXPECT_NE(text.find("sensors/oven-1/env/temperature"), std::string::npos) << text;
    }
  }
  EXPECT_EQ(lines, 1) << "one line per mapping per interval (10 s)";
}

constexpr const char* kE2eMappings = R"(mappings:
  - topic: enc/{provider}/data
    service: e2e
    resource: data
    e2e: true
  - topic: plain/{provider}
    service: s
    resource: r
)";

std::size_t indexOf(const std::vector<sdk::testing::RecordedPush>& pushes, const std::string& resource) {
  for (std::size_t i = 0; i < pushes.size(); ++i)
    if (pushes[i].resource == resource) return i;
  return pushes.size();
}

// e2e: true: the payload (binary, NULs, looks like nothing) reaches the model byte for byte as
// bytes, after the resource got metadata e2e: true (so no filter ever sees it unmarked); logs never
// show it, only its size.
TEST(MqttBridge, E2eMappingStoresThePayloadUnchangedMarkedE2eAndNeverLogsIt) {
  MosquittoFixture broker;
  ASSERT_EQ(broker.start(), "");
  Harness h(broker, kE2eMappings);
  ASSERT_TRUE(h.start().isOk());
  ASSERT_TRUE(h.waitState(sdk::PluginState::Running, 8s));
  Device dev(broker, "e2e-dev");
  ASSERT_TRUE(dev.ready());

  const std::string secret = "SECRET-MARKER";
  const std::string payload = std::string("GHE\x01\x01\x05pub-1\x00\x00\xff", 14) + secret + std::string(40, '\0');
  dev.publish("enc/meter-7/data", payload);
  ASSERT_TRUE(h.fake.waitForPushes("meter-7", "e2e", "data", 1, 5s));
  const auto pushes = h.fake.pushes();
  const std::size_t mark = indexOf(pushes, "data#e2e");
  const std::size_t value = indexOf(pushes, "data");
  ASSERT_LT(mark, pushes.size());
  ASSERT_LT(value, pushes.size());
  EXPECT_LT(mark, value) << "the e2e mark must be in place before the first value";
  EXPECT_EQ(pushes[mark].value, Value::ofBool(true));
  EXPECT_EQ(pushes[value].value, Value::ofBytes(payload));
  EXPECT_EQ(pushes[value].value.asString().size(), payload.size());
  bool declared = false;
  for (const auto& d : h.fake.declarations()) {
    if (d.provider == "meter-7" && d.resource == "data") {
      declared = true;
      EXPECT_EQ(d.type, GH_TYPE_BYTES);
    }
  }
  EXPECT_TRUE(declared);

  // A second message: pushed, the mark is not set again.
  dev.publish("enc/meter-7/data", payload + "2");
  ASSERT_TRUE(h.fake.waitForPushes("meter-7", "e2e", "data", 2, 5s));
  EXPECT_EQ(h.fake.pushesTo("meter-7", "e2e", "data#e2e").size(), 1u);
  EXPECT_EQ(h.fake.pushesTo("meter-7", "e2e", "data")[1].value, Value::ofBytes(payload + "2"));

  // Bad e2e payloads are counted and logged by size: too large; not an e2e data message (plaintext
  // sent by mistake: never stored); refused by the gateway with a message quoting the value (as a
  // host might): neither the payload nor that message is logged.
  dev.publish("enc/meter-7/data", std::string(kMaxPayloadBytes + 1, 'S') + secret);
  ASSERT_TRUE(eventually([&] { return h.bridge.badPayloads(0) == 1; }, 5s));
  dev.publish("enc/meter-7/data", R"({"value": ")" + secret + "\"}");
  ASSERT_TRUE(eventually([&] { return h.bridge.badPayloads(0) == 2; }, 5s));
  EXPECT_EQ(h.fake.pushesTo("meter-7", "e2e", "data").size(), 2u);
  h.fake.failPushes(GH_ERR_INVALID_ARGUMENT, "expected double, got bytes \"" + kit::base64Encode(payload) + "\" " + secret);
  dev.publish("enc/meter-7/data", payload);
  ASSERT_TRUE(eventually([&] { return h.bridge.badPayloads(0) == 3; }, 5s));
  h.stop();   // flushes the pending report
  int lines = 0;
  for (const auto& [level, text] : h.fake.logs()) {
    EXPECT_EQ(text.find(secret), std::string::npos) << text;
    EXPECT_EQ(text.find("SSSS"), std::string::npos) << text.substr(0, 200);
    EXPECT_EQ(text.find(kit::base64Encode(payload).substr(0, 8)), std::string::npos) << text;
    EXPECT_EQ(text.find("pub-1"), std::string::npos) << text;
    if (text.find("bad payload") != std::string::npos) {
      ++lines;
      EXPECT_TRUE(text.find(std::to_string(kMaxPayloadBytes + 1 + secret.size()) + " bytes") != std::string::npos || text.find(std::to_string(payload.size()) + " bytes") != std::string::npos)
          << text;
    }
  }
  EXPECT_GE(lines, 1);
}

// The parties of docs/e2e-protocol.md for the relay tests: an authority, a publisher certified for
// enc/#, a subscriber "sub-1" certified for enc/#.
struct E2eParties {
  e2e::KeyPair authority = *e2e::generateEd25519();
  e2e::KeyPair publisherKey = *e2e::generateEd25519();
  e2e::KeyPair subscriberKey = *e2e::generateX25519();
  std::string publisherCert = issue(e2e::Role::Publisher, "pub-1", publisherKey.publicKey);
  std::string subscriberCert = issue(e2e::Role::Subscriber, "sub-1", subscriberKey.publicKey);

  std::string issue(e2e::Role role, const std::string& id, const std::string& key) {
    e2e::Certificate c;
    c.role = role;
    c.serial = role == e2e::Role::Publisher ? 1 : 2;
    c.id = id;
    c.key = key;
    c.notBefore = std::time(nullptr) - 3600;
    c.notAfter = std::time(nullptr) + 86400;
    c.topics = {"enc/#"};
    auto issued = e2e::issueCertificate(authority, c);
    EXPECT_TRUE(issued.ok()) << issued.message();
    return issued.ok() ? issued->encoded : std::string();
  }
};

// Section 8 through the gateway: a subscriber that only reaches the gateway sends its key request
// with ACT e2e/keyRequest; the bridge publishes it on <topic>/_e2e/req, the publisher (a real
// e2e::Publisher on the broker) answers with a wrap on <topic>/_e2e/wrap/sub-1, and the ACT
// answers with exactly those bytes; with them the subscriber opens the data the gateway stored.
// A stale retained wrap already on the broker is not taken for the answer.
TEST(MqttBridge, E2eKeyRequestIsRelayedAndAnsweredWithThePublishersWrap) {
  MosquittoFixture broker;
  ASSERT_EQ(broker.start(), "");
  Harness h(broker, kE2eMappings);
  ASSERT_TRUE(h.start().isOk());
  ASSERT_TRUE(h.waitState(sdk::PluginState::Running, 8s));
  // keyRequest is declared on the provider with its data.
  E2eParties parties;
  const std::string topic = "enc/meter-7/data";
  e2e::PublisherOptions po;
  po.stateFile = broker.dir() + "/publisher.state";
  auto opened = e2e::Publisher::open(parties.publisherKey, parties.publisherCert, e2e::TrustAnchor(parties.authority.publicKey), po);
  ASSERT_TRUE(opened.ok()) << opened.message();
  std::unique_ptr<e2e::Publisher> publisher = std::move(*opened);

  std::mutex mu;
  std::vector<std::string> requests;   // what the publisher received
  std::vector<std::string> wraps;      // what it published
  MqttClient* pubClient = nullptr;
  Device pub(broker, "e2e-publisher", [&](const MqttMessage& m) {
    std::lock_guard lock(mu);
    requests.push_back(m.payload);
    if (m.topic != e2e::requestTopic(topic)) return;
    if (auto r = publisher->handleKeyRequest(m.payload); !r) {
      ADD_FAILURE() << "the publisher refused the relayed request: " << r.message();
      return;
    }
    for (const auto& out : publisher->drainOutgoing()) {
      wraps.push_back(out.payload);
      (void)pubClient->publish({out.topic, out.payload, 1, out.retain});
    }
  });
  pubClient = &pub.client;
  ASSERT_TRUE(pub.ready());
  ASSERT_TRUE(pub.subscribe("enc/+/data/_e2e/req"));
  {
    std::lock_guard lock(mu);
    (void)publisher->drainOutgoing();
  }
  // A stale wrap retained on the wrap topic since some earlier exchange.
  {
    Done d;
    ASSERT_TRUE(pub.client.publish({e2e::wrapTopic(topic, "sub-1"), "STALE-RETAINED-WRAP", 1, true}, d.handler()).ok());
    ASSERT_TRUE(d.wait(5s));
  }
  std::string data;
  {
    std::lock_guard lock(mu);
    auto sealed = publisher->seal(topic, R"({"value":21.5})");
    ASSERT_TRUE(sealed.ok()) << sealed.message();
    data = *sealed;
  }
  pub.publish(topic, data);
  ASSERT_TRUE(h.fake.waitForPushes("meter-7", "e2e", "data", 1, 5s));
  EXPECT_EQ(h.fake.pushesTo("meter-7", "e2e", "data")[0].value, Value::ofBytes(data));
  bool declared = false;
  for (const auto& d : h.fake.declarations()) {
    if (d.provider == "meter-7" && d.service == "e2e" && d.resource == "keyRequest") {
      declared = true;
      EXPECT_EQ(d.kind, GH_KIND_ACTION);
      EXPECT_EQ(d.resultType, GH_TYPE_BYTES);
      ASSERT_EQ(d.params.size(), 2u);
      EXPECT_EQ(d.params[0].name, "topic");
      EXPECT_EQ(d.params[1].name, "request");
      EXPECT_EQ(d.params[1].type, GH_TYPE_BYTES);
    }
  }
  EXPECT_TRUE(declared);

  e2e::Subscriber subscriber(parties.subscriberKey, parties.subscriberCert, e2e::TrustAnchor(parties.authority.publicKey));
  EXPECT_EQ(subscriber.open(topic, data).dropped, e2e::Drop::NoKey);
  const std::string request = subscriber.keyRequest(topic);
  h.bridge.onAct(sdk::Request(h.fake.host(), 42), "meter-7", "e2e", "keyRequest",
                 {{"topic", Value::ofString(topic)}, {"request", Value::ofBytes(request)}});
  auto c = h.completion(42, 8s);
  ASSERT_TRUE(c.has_value());
  ASSERT_EQ(c->status, GH_OK) << c->message;
  ASSERT_TRUE(c->result.has_value());
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0], request) << "the request is relayed byte for byte";
    ASSERT_EQ(wraps.size(), 1u);
    EXPECT_EQ(*c->result, Value::ofBytes(wraps[0])) << "the ACT answers with exactly the publisher's wrap";
  }
  ASSERT_TRUE(subscriber.handleKeyWrap(c->result->asString()).ok());
  const auto plain = subscriber.open(topic, h.fake.pushesTo("meter-7", "e2e", "data")[0].value.asString());
  EXPECT_EQ(plain.dropped, e2e::Drop::None) << plain.detail;
  EXPECT_EQ(plain.plaintext, R"({"value":21.5})");
}

// No publisher answers: the ACT fails with a timeout after the mapping's key_request_timeout_ms,
// with a message saying where the wrap was expected. Requests that are not for one of this
// provider's e2e topics, or not key requests for the topic given, are refused before anything is
// published.
TEST(MqttBridge, E2eKeyRequestTimesOutAndBadRequestsAreRefused) {
  MosquittoFixture broker;
  ASSERT_EQ(broker.start(), "");
  std::string mappings = kE2eMappings;
  mappings.insert(mappings.find("  - topic: plain"), "    key_request_timeout_ms: 300\n");
  Harness h(broker, mappings);
  ASSERT_TRUE(h.start().isOk());
  ASSERT_TRUE(h.waitState(sdk::PluginState::Running, 8s));
  std::mutex mu;
  std::vector<std::string> published;
  Device watcher(broker, "e2e-watcher", [&](const MqttMessage& m) {
    std::lock_guard lock(mu);
    published.push_back(m.topic);
  });
  ASSERT_TRUE(watcher.ready());
  ASSERT_TRUE(watcher.subscribe("enc/#"));

  E2eParties parties;
  e2e::Subscriber subscriber(parties.subscriberKey, parties.subscriberCert, e2e::TrustAnchor(parties.authority.publicKey));
  const std::string topic = "enc/meter-7/data";
  const std::string request = subscriber.keyRequest(topic);
  const auto act = [&](gh_request_id id, const std::string& provider, sdk::ActParams params) {
    h.bridge.onAct(sdk::Request(h.fake.host(), id), provider, "e2e", "keyRequest", std::move(params));
    return h.completion(id, 5s);
  };

  const auto t0 = std::chrono::steady_clock::now();
  auto c = act(1, "meter-7", {{"topic", Value::ofString(topic)}, {"request", Value::ofBytes(request)}});
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->status, GH_ERR_TIMEOUT) << c->message;
  EXPECT_EQ(c->message, "no key wrap from the publisher on enc/meter-7/data/_e2e/wrap/sub-1 within 300 ms (is the "
                        "publisher online, and does it accept this subscriber's certificate?)");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mu);
    return std::count(published.begin(), published.end(), "enc/meter-7/data/_e2e/req") == 1;
  }, 5s));

  const auto refused = [&](gh_request_id id, const std::string& provider, sdk::ActParams params, const std::string& why) {
    auto r = act(id, provider, std::move(params));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, GH_ERR_INVALID_ARGUMENT) << r->message;
    EXPECT_NE(r->message.find(why), std::string::npos) << r->message;
  };
  refused(2, "meter-8", {{"topic", Value::ofString(topic)}, {"request", Value::ofBytes(request)}},
          "no e2e mapping maps the topic \"enc/meter-7/data\" to the provider \"meter-8\"");
  refused(3, "meter-7", {{"topic", Value::ofString("plain/meter-7")}, {"request", Value::ofBytes(request)}}, "no e2e mapping");
  refused(4, "meter-7", {{"topic", Value::ofString("enc/+/data")}, {"request", Value::ofBytes(request)}}, "not an e2e data topic");
  refused(5, "meter-7", {{"topic", Value::ofString(topic)}, {"request", Value::ofBytes("GHE\x01\x01 not a request")}},
          "the request is not an e2e key request");
  refused(6, "meter-9", {{"topic", Value::ofString("enc/meter-9/data")}, {"request", Value::ofBytes(request)}},
          "the key request is for the topic \"enc/meter-7/data\", not \"enc/meter-9/data\"");
  refused(7, "meter-7", {{"topic", Value::ofString(topic)}}, "needs the parameter request");
  refused(8, "meter-7", {{"request", Value::ofBytes(request)}}, "needs the parameter topic");
  std::this_thread::sleep_for(200ms);
  std::lock_guard lock(mu);
  EXPECT_EQ(std::count(published.begin(), published.end(), "enc/meter-7/data/_e2e/req"), 1)
      << "refused requests publish nothing";
  EXPECT_EQ(std::count(published.begin(), published.end(), "enc/meter-9/data/_e2e/req"), 0);
}

TEST(MqttBridge, ABadMappingsFileFailsStartWithItsMessage) {
  MosquittoFixture broker;
  ASSERT_EQ(broker.start(), "");
  Harness h(broker, "mappings:\n  - topic: a/{provider}\n    qos: 7\n");
  auto s = h.start();
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("mappings.yaml:3:"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("qos"), std::string::npos) << s.message();
}

TEST(MqttBridge, ConnectsOverMutualTlsAndStaysDegradedWithTheWrongCa) {
  MosquittoFixture broker(MosquittoOptions{.tls = true, .requireClientCert = true});
  ASSERT_EQ(broker.start(), "");
  {
    Harness h(broker);
    h.config().set("ca_file", sdk::ConfigType::String, Value::ofString(broker.otherCaFile()));
    h.config().set("cert_file", sdk::ConfigType::String, Value::ofString(broker.clientCertFile()));
    h.config().set("key_file", sdk::ConfigType::String, Value::ofString(broker.clientKeyFile()));
    ASSERT_TRUE(h.start().isOk());
    ASSERT_TRUE(eventually([&] { return h.fake.statuses().size() >= 2; }, 8s));
    std::this_thread::sleep_for(300ms);
    for (const auto& [state, reason] : h.fake.statuses()) EXPECT_NE(state, static_cast<std::uint32_t>(GH_STATE_RUNNING));
    const auto last = h.fake.statuses().back();
    EXPECT_EQ(last.first, static_cast<std::uint32_t>(GH_STATE_DEGRADED));
    EXPECT_NE(last.second.find("TLS"), std::string::npos) << last.second;
  }
  {
    Harness h(broker);   // right CA, no client certificate: refused by the broker
    h.config().set("ca_file", sdk::ConfigType::String, Value::ofString(broker.caFile()));
    ASSERT_TRUE(h.start().isOk());
    ASSERT_TRUE(eventually([&] { return h.fake.statuses().size() >= 2; }, 8s));
    EXPECT_FALSE(h.waitState(sdk::PluginState::Running, 500ms));
  }
  Harness h(broker);
  h.config().set("ca_file", sdk::ConfigType::String, Value::ofString(broker.caFile()));
  h.config().set("cert_file", sdk::ConfigType::String, Value::ofString(broker.clientCertFile()));
  h.config().set("key_file", sdk::ConfigType::String, Value::ofString(broker.clientKeyFile()));
  ASSERT_TRUE(h.start().isOk());
  ASSERT_TRUE(h.waitState(sdk::PluginState::Running, 8s)) << h.fake.statuses().back().second;
}

TEST(MqttBridge, ConnectsOverTlsAndDeliversMappedValues) {
  MosquittoFixture broker(MosquittoOptions{.tls = true});
  ASSERT_EQ(broker.start(), "");
  Harness h(broker);
  h.config().set("ca_file", sdk::ConfigType::String, Value::ofString(broker.caFile()));
  ASSERT_TRUE(h.start().isOk());
  ASSERT_TRUE(h.waitState(sdk::PluginState::Running, 8s)) << h.fake.statuses().back().second;

  MqttClient dev;
  ConnectionWatch conn;
  MqttOptions o;
  o.serverUris = {broker.uri()};
  o.clientId = "dev-tls";
  o.caFile = broker.caFile();
  ASSERT_TRUE(dev.start(o, {}, conn.handler()).ok());
  ASSERT_TRUE(conn.waitConnected(8s));
  Done d;
  ASSERT_TRUE(dev.publish({"lights/lamp-1/state", R"({"brightness": 40})", 1}, d.handler()).ok());
  ASSERT_TRUE(h.fake.waitForPushes("lamp-1", "light", "brightness", 1, 5s));
  EXPECT_EQ(h.fake.pushesTo("lamp-1", "light", "brightness")[0].value, Value::ofInt(40));
}

// The broker is stopped (it saves its sessions) and restarted while a device sends 10k QoS1
// messages: the bridge's persistent session gets every one. The device is an at-least-once
// producer on a clean session that re-publishes what failed (the way the gateway's own
// publishers work): Paho C 1.3.12 corrupts the in-flight packets it re-sends itself from a
// persistent session (eclipse-paho/paho.mqtt.c#1310), which no receiving side could survive.
TEST(MqttBridge, BrokerRestartDuring10kQos1MessagesLosesNone) {
  MosquittoFixture broker(MosquittoOptions{.persistence = true});
  ASSERT_EQ(broker.start(), "");
  Harness h(broker);
  ASSERT_TRUE(h.start().isOk());
  ASSERT_TRUE(h.waitState(sdk::PluginState::Running, 8s));

  MqttClient dev;
  ConnectionWatch conn;
  MqttOptions o;
  o.serverUris = {broker.uri()};
  o.clientId = "dev-bulk";
  o.cleanStart = true;
  o.sessionExpiryS = 0;
  o.maxOutstanding = 200;
  ASSERT_TRUE(dev.start(o, {}, conn.handler()).ok());
  ASSERT_TRUE(conn.waitConnected(8s));

  constexpr int kMessages = 10000;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<int> retry;          // failed (in flight when the connection broke): publish again
  std::set<int> acked;
  std::atomic<int> sent{0};
  std::atomic<int> republished{0};
  auto publishOne = [&](int i) {
    for (;;) {
      auto st = dev.publish({"bulk/meter-1/seq", std::to_string(i), 1}, [&, i](const kit::Result<void>& r) {
        std::lock_guard lock(mu);
        if (r.ok()) {
          acked.insert(i);
        } else {
          retry.push_back(i);
        }
        cv.notify_all();
      }, 1s);
      if (st.ok()) return;
      std::this_thread::sleep_for(50ms);   // disconnected or at the in-flight limit: try again
    }
  };
  std::thread producer([&] {
    for (int i = 1; i <= kMessages; ++i) {
      publishOne(i);
      sent = i;
      std::deque<int> again;
      {
        std::lock_guard lock(mu);
        again.swap(retry);
      }
      for (int k : again) {
        ++republished;
        publishOne(k);
      }
    }
    // Until every message is acknowledged, keep re-publishing what failed.
    std::unique_lock lock(mu);
    while (acked.size() < static_cast<std::size_t>(kMessages)) {
      cv.wait_for(lock, 100ms);
      std::deque<int> again;
      again.swap(retry);
      lock.unlock();
      for (int k : again) {
        ++republished;
        publishOne(k);
      }
      lock.lock();
    }
  });
  ASSERT_TRUE(eventually([&] { return sent.load() >= kMessages / 4; }, 20s));
  broker.stop();
  const int sentAtStop = sent.load();
  EXPECT_LT(sentAtStop, kMessages) << "the broker must go down while messages still flow";
  EXPECT_LT(h.fake.pushesTo("meter-1", "load", "seq").size(), static_cast<std::size_t>(kMessages));
  std::this_thread::sleep_for(500ms);
  ASSERT_EQ(broker.start(), "");   // same port, sessions and queued messages restored
  producer.join();

  std::set<std::int64_t> seen;
  const bool all = eventually(
      [&] {
        seen.clear();
        for (const auto& p : h.fake.pushesTo("meter-1", "load", "seq")) seen.insert(p.value.asInteger());
        return seen.size() == kMessages;
      },
      40s);
  EXPECT_TRUE(all) << "distinct sequence numbers received: " << seen.size() << " of " << kMessages
                   << " (device re-published " << republished.load() << ")";
  EXPECT_EQ(*seen.begin(), 1);
  EXPECT_EQ(*seen.rbegin(), kMessages);
  // The bridge saw the outage and came back.
  bool sawDegraded = false;
  for (const auto& [state, reason] : h.fake.statuses()) sawDegraded |= state == GH_STATE_DEGRADED && reason.find("lost") != std::string::npos;
  EXPECT_TRUE(sawDegraded);
  EXPECT_TRUE(h.waitState(sdk::PluginState::Running, 5s));
  dev.close();
}

TEST(MqttBridge, SetRoundTripThroughMqtt5ResponseTopic) {
  MosquittoFixture broker;
  ASSERT_EQ(broker.start(), "");
  Harness h(broker);
  ASSERT_TRUE(h.start().isOk());
  ASSERT_TRUE(h.waitState(sdk::PluginState::Running, 8s));

  // The device answers on the response topic with the correlation data, echoing the brightness.
  std::mutex mu;
  std::vector<MqttMessage> commands;
  MqttClient* devClient = nullptr;
  Device dev(broker, "lamp-device", [&](const MqttMessage& m) {
    std::lock_guard lock(mu);
    commands.push_back(m);
    const auto colon = m.payload.find(':');
    const std::string value = colon == std::string::npos ? "null" : m.payload.substr(colon + 1, m.payload.find('}') - colon - 1);
    MqttMessage reply{m.responseTopic, R"({"ok": true, "value": )" + value + "}", 1, false, "", m.correlationData};
    (void)devClient->publish(reply);
  });
  devClient = &dev.client;
  ASSERT_TRUE(dev.ready());
  ASSERT_TRUE(dev.subscribe("lights/+/set"));

  h.bridge.onSet(sdk::Request(h.fake.host(), 77), "lamp-1", "light", "brightness", Value::ofInt(42));
  auto c = h.completion(77, 5s);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->status, GH_OK) << c->message;
  ASSERT_TRUE(c->result.has_value());
  EXPECT_EQ(*c->result, Value::ofInt(42));
  std::lock_guard lock(mu);
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_EQ(commands[0].topic, "lights/lamp-1/set");
  EXPECT_EQ(commands[0].payload, R"({"brightness": 42})");
  EXPECT_EQ(commands[0].responseTopic, h.bridge.replyTopic());
  EXPECT_EQ(h.bridge.replyTopic(), "gatehouse/replies/gw-test");
  EXPECT_FALSE(commands[0].correlationData.empty());
}

TEST(MqttBridge, ActRoundTripThroughAckTopic) {
  MosquittoFixture broker;
  ASSERT_EQ(broker.start(), "");
  Harness h(broker);
  ASSERT_TRUE(h.start().isOk());
  ASSERT_TRUE(h.waitState(sdk::PluginState::Running, 8s));

  std::mutex mu;
  std::vector<std::string> payloads;
  MqttClient* devClient = nullptr;
  Device dev(broker, "blink-device", [&](const MqttMessage& m) {
    std::lock_guard lock(mu);
    payloads.push_back(m.payload);
    const bool refuse = m.payload.find("99") != std::string::npos;
    (void)devClient->publish({"lights/lamp-2/ack",
                              refuse ? R"({"ok": false, "error": "too many blinks"})" : R"({"ok": true, "value": "blinked"})", 1});
  });
  devClient = &dev.client;
  ASSERT_TRUE(dev.ready());
  ASSERT_TRUE(dev.subscribe("lights/+/blink"));

  h.bridge.onAct(sdk::Request(h.fake.host(), 5), "lamp-2", "light", "blink", {{"times", Value::ofInt(3)}});
  auto c = h.completion(5, 5s);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->status, GH_OK) << c->message;
  ASSERT_TRUE(c->result.has_value());
  EXPECT_EQ(*c->result, Value::ofString("blinked"));

  h.bridge.onAct(sdk::Request(h.fake.host(), 6), "lamp-2", "light", "blink", {{"times", Value::ofInt(99)}});
  c = h.completion(6, 5s);
  ASSERT_TRUE(c.has_value());
  EXPECT_NE(c->status, GH_OK);
  EXPECT_NE(c->message.find("too many blinks"), std::string::npos) << c->message;
  std::lock_guard lock(mu);
  ASSERT_EQ(payloads.size(), 2u);
  EXPECT_NE(payloads[0].find("\"times\""), std::string::npos) << payloads[0];
}

TEST(MqttBridge, SilentDeviceTimesOutAndUnmappedResourcesAreNotAllowed) {
  MosquittoFixture broker;
  ASSERT_EQ(broker.start(), "");
  Harness h(broker);
  ASSERT_TRUE(h.start().isOk());
  ASSERT_TRUE(h.waitState(sdk::PluginState::Running, 8s));

  const auto t0 = std::chrono::steady_clock::now();
  h.bridge.onSet(sdk::Request(h.fake.host(), 1), "valve-1", "valve", "open", Value::ofBool(true));
  auto c = h.completion(1, 5s);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->status, GH_ERR_TIMEOUT);
  EXPECT_NE(c->message.find("did not answer on gatehouse/replies/gw-test within 300 ms"), std::string::npos) << c->message;
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);

  h.bridge.onSet(sdk::Request(h.fake.host(), 2), "kitchen-1", "env", "temperature", Value::ofDouble(3));
  c = h.completion(2, 2s);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->status, GH_ERR_NOT_ALLOWED) << c->message;

  // Stopping fails what is still waiting (timeout 5 s) at once.
  h.bridge.onSet(sdk::Request(h.fake.host(), 3), "lamp-9", "light", "brightness", Value::ofInt(1));
  std::this_thread::sleep_for(100ms);
  h.stop();
  c = h.completion(3, 1s);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->status, GH_ERR_UNAVAILABLE) << c->message;
}

}  // namespace
}  // namespace gatehouse::bridge::mqtt
