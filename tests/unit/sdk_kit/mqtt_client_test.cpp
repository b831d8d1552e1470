// kit::MqttClient (the one Paho wrapper) against a real mosquitto (tests/support): plain, TLS,
// mutual TLS, wrong CA, failover, MQTT 5 properties, option checks with their error codes.
#include <gatehouse/kit/mqtt_client.h>

#include <chrono>

#include <gtest/gtest.h>

#include "mqtt_test_helpers.h"

namespace gatehouse::kit {
namespace {

using namespace std::chrono_literals;
using test_support::ConnectionWatch;
using test_support::Done;
using test_support::Inbox;
using test_support::MosquittoFixture;
using test_support::MosquittoOptions;

MqttOptions optionsFor(const MosquittoFixture& broker, const std::string& id) {
  MqttOptions o;
  o.serverUris = {broker.uri()};
  o.clientId = id;
  o.connectTimeoutS = 3;
  return o;
}

TEST(MqttClient, RefusesBadOptionsWithActionableMessages) {
  MqttClient c;
  MqttOptions o;
  o.clientId = "x";
  auto s = c.start(o, {}, {});
  EXPECT_EQ(s.error().code, ErrorCode::BadRequest);
  EXPECT_NE(s.message().find("at least one broker"), std::string::npos) << s.message();

  o.serverUris = {"http://127.0.0.1:1883"};
  s = c.start(o, {}, {});
  EXPECT_EQ(s.error().code, ErrorCode::BadRequest);
  EXPECT_NE(s.message().find("http://127.0.0.1:1883"), std::string::npos) << s.message();

  o.serverUris = {"ssl://127.0.0.1:8883"};
  o.certFile = "/nonexistent/client.crt";
  s = c.start(o, {}, {});
  EXPECT_EQ(s.error().code, ErrorCode::BadRequest);
  EXPECT_NE(s.message().find("key_file"), std::string::npos) << s.message();

  o.keyFile = "/nonexistent/client.key";
  s = c.start(o, {}, {});
  EXPECT_EQ(s.error().code, ErrorCode::BadRequest);
  EXPECT_NE(s.message().find("cannot read '/nonexistent/client.crt'"), std::string::npos) << s.message();

  EXPECT_EQ(c.publish({"t", "p"}).error().code, ErrorCode::Unavailable);
}

TEST(MqttClient, PublishesAndReceivesWithMqtt5Properties) {
  MosquittoFixture broker;
  ASSERT_EQ(broker.start(), "");
  MqttClient sub, pub;
  Inbox inbox;
  ConnectionWatch subConn, pubConn;
  ASSERT_TRUE(sub.start(optionsFor(broker, "t-sub"), inbox.handler(), subConn.handler()).ok());
  ASSERT_TRUE(pub.start(optionsFor(broker, "t-pub"), {}, pubConn.handler()).ok());
  ASSERT_TRUE(subConn.waitConnected(5s));
  ASSERT_TRUE(pubConn.waitConnected(5s));
  EXPECT_TRUE(sub.isConnected());

  Done subscribed;
  ASSERT_TRUE(sub.subscribe({{"a/+/c", 1}}, subscribed.handler()).ok());
  ASSERT_TRUE(subscribed.wait(5s));
  ASSERT_TRUE(subscribed.status().ok()) << subscribed.status().message();

  Done published;
  MqttMessage m{"a/b/c", std::string("hello\0world", 11), 1, false, "replies/x", "req-42"};
  ASSERT_TRUE(pub.publish(m, published.handler()).ok());
  ASSERT_TRUE(published.wait(5s));
  EXPECT_TRUE(published.status().ok());
  ASSERT_TRUE(inbox.waitFor(1, 5s));
  auto got = inbox.messages();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].topic, "a/b/c");
  EXPECT_EQ(got[0].payload, std::string("hello\0world", 11));
  EXPECT_EQ(got[0].qos, 1);
  EXPECT_EQ(got[0].responseTopic, "replies/x");
  EXPECT_EQ(got[0].correlationData, "req-42");
  EXPECT_EQ(pub.outstanding(), 0u);

  sub.close();
  EXPECT_FALSE(sub.isConnected());
  EXPECT_EQ(sub.publish(m).error().code, ErrorCode::Unavailable);
}

TEST(MqttClient, ReportsAnUnreachableBrokerAndRetries) {
  MosquittoFixture broker;
  ASSERT_EQ(broker.start(), "");
  const auto opts = optionsFor(broker, "t-retry");
  broker.stop();
  MqttClient c;
  ConnectionWatch conn;
  ASSERT_TRUE(c.start(opts, {}, conn.handler()).ok());
  ASSERT_TRUE(conn.waitFailure(5s));
  EXPECT_NE(conn.reasons().front().find(broker.uri()), std::string::npos) << conn.reasons().front();
  EXPECT_FALSE(c.isConnected());
  ASSERT_EQ(broker.start(), "");   // same port
  EXPECT_TRUE(conn.waitConnected(8s)) << "the first connection must be retried";
}

TEST(MqttClient, FailsOverToTheNextBrokerUri) {
  MosquittoFixture dead, alive;
  ASSERT_EQ(dead.start(), "");
  ASSERT_EQ(alive.start(), "");
  dead.stop();
  MqttClient c;
  ConnectionWatch conn;
  auto o = optionsFor(alive, "t-failover");
  o.serverUris = {dead.uri(), alive.uri()};
  ASSERT_TRUE(c.start(o, {}, conn.handler()).ok());
  EXPECT_TRUE(conn.waitConnected(8s));
}

TEST(MqttClient, ConnectsOverTls) {
  MosquittoFixture broker(MosquittoOptions{.tls = true});
  ASSERT_EQ(broker.start(), "");
  MqttClient c;
  ConnectionWatch conn;
  auto o = optionsFor(broker, "t-tls");
  o.caFile = broker.caFile();
  ASSERT_TRUE(c.start(o, {}, conn.handler()).ok());
  EXPECT_TRUE(conn.waitConnected(8s)) << (conn.reasons().empty() ? "" : conn.reasons().front());
}

TEST(MqttClient, RefusesABrokerSignedByAnotherCa) {
  MosquittoFixture broker(MosquittoOptions{.tls = true});
  ASSERT_EQ(broker.start(), "");
  MqttClient c;
  ConnectionWatch conn;
  auto o = optionsFor(broker, "t-wrong-ca");
  o.caFile = broker.otherCaFile();
  ASSERT_TRUE(c.start(o, {}, conn.handler()).ok());
  ASSERT_TRUE(conn.waitFailure(8s));
  EXPECT_FALSE(c.isConnected());
  EXPECT_NE(conn.reasons().front().find("TLS"), std::string::npos) << conn.reasons().front();
  EXPECT_NE(c.lastError().find("TLS"), std::string::npos) << c.lastError();
}

TEST(MqttClient, MutualTlsNeedsTheClientCertificate) {
  MosquittoFixture broker(MosquittoOptions{.tls = true, .requireClientCert = true});
  ASSERT_EQ(broker.start(), "");
  {
    MqttClient without;
    ConnectionWatch conn;
    auto o = optionsFor(broker, "t-mtls-no-cert");
    o.caFile = broker.caFile();
    ASSERT_TRUE(without.start(o, {}, conn.handler()).ok());
    ASSERT_TRUE(conn.waitFailure(8s));
    EXPECT_FALSE(without.isConnected());
  }
  MqttClient with;
  ConnectionWatch conn;
  auto o = optionsFor(broker, "t-mtls");
  o.caFile = broker.caFile();
  o.certFile = broker.clientCertFile();
  o.keyFile = broker.clientKeyFile();
  ASSERT_TRUE(with.start(o, {}, conn.handler()).ok());
  EXPECT_TRUE(conn.waitConnected(8s)) << (conn.reasons().empty() ? "" : conn.reasons().front());
}

TEST(MqttClient, StartsOnceAndAnEmptySubscribeCompletesAtOnce) {
  MosquittoFixture broker;
  ASSERT_EQ(broker.start(), "");
  MqttClient c;
  ConnectionWatch conn;
  ASSERT_TRUE(c.start(optionsFor(broker, "t-once"), {}, conn.handler()).ok());
  auto again = c.start(optionsFor(broker, "t-once"), {}, {});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::Conflict) << again.message();
  Done done;
  ASSERT_TRUE(c.subscribe({}, done.handler()).ok());
  ASSERT_TRUE(done.wait(0ms)) << "no filter: the completion runs inside subscribe()";
  EXPECT_TRUE(done.status().ok());
  EXPECT_EQ(c.publish({"t", "p", 3}).error().code, ErrorCode::BadRequest);
}

// At the in-flight limit publish() fails at once with Unavailable (waitForSlot 0). A publish made
// while the broker is away is buffered by Paho and stays in flight, so the limit is reached
// deterministically.
TEST(MqttClient, RefusesPublishesOverTheInFlightLimit) {
  MosquittoFixture broker;
  ASSERT_EQ(broker.start(), "");
  MqttClient c;
  ConnectionWatch conn;
  auto o = optionsFor(broker, "t-inflight");
  o.cleanStart = true;
  o.sessionExpiryS = 0;
  o.maxOutstanding = 1;
  ASSERT_TRUE(c.start(o, {}, conn.handler()).ok());
  ASSERT_TRUE(conn.waitConnected(8s));
  broker.stop();
  ASSERT_TRUE(conn.waitFailure(8s));
  ASSERT_TRUE(c.publish({"t/1", "one", 1}).ok()) << "buffered while disconnected";
  EXPECT_EQ(c.outstanding(), 1u);
  auto over = c.publish({"t/2", "two", 1});
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, ErrorCode::Unavailable);
  EXPECT_NE(over.message().find("too many MQTT publishes in flight (1)"), std::string::npos) << over.message();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(c.publish({"t/3", "three", 1}, {}, 200ms).ok());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 200ms) << "waits up to waitForSlot for a slot";
  c.close(100ms);
  EXPECT_EQ(c.outstanding(), 0u);
}

// After close() returns no handler runs: messages published to a closed subscriber's filter after
// that (acknowledged by the broker) never reach its handler.
TEST(MqttClient, NoHandlerRunsAfterClose) {
  MosquittoFixture broker;
  ASSERT_EQ(broker.start(), "");
  MqttClient sub, pub;
  Inbox inbox;
  ConnectionWatch subConn, pubConn;
  auto so = optionsFor(broker, "t-closed-sub");
  so.cleanStart = true;   // no session left for the broker to keep delivering to
  so.sessionExpiryS = 0;
  ASSERT_TRUE(sub.start(so, inbox.handler(), subConn.handler()).ok());
  ASSERT_TRUE(pub.start(optionsFor(broker, "t-closed-pub"), {}, pubConn.handler()).ok());
  ASSERT_TRUE(subConn.waitConnected(5s));
  ASSERT_TRUE(pubConn.waitConnected(5s));
  Done subscribed;
  ASSERT_TRUE(sub.subscribe({{"closing/#", 1}}, subscribed.handler()).ok());
  ASSERT_TRUE(subscribed.wait(5s));
  Done first;
  ASSERT_TRUE(pub.publish({"closing/a", "1", 1}, first.handler()).ok());
  ASSERT_TRUE(inbox.waitFor(1, 5s));

  sub.close();
  const int connectsBefore = subConn.connects();
  for (int i = 0; i < 20; ++i) {
    Done d;
    ASSERT_TRUE(pub.publish({"closing/b", std::to_string(i), 1}, d.handler()).ok());
    ASSERT_TRUE(d.wait(5s));
    EXPECT_TRUE(d.status().ok()) << d.status().message();
  }
  EXPECT_EQ(inbox.messages().size(), 1u);
  EXPECT_EQ(subConn.connects(), connectsBefore);
  EXPECT_FALSE(sub.isConnected());
  EXPECT_EQ(sub.subscribe({{"x", 1}}).error().code, ErrorCode::Unavailable);
}

}  // namespace
}  // namespace gatehouse::kit
