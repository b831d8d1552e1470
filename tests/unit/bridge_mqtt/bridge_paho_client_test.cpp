// PahoClient (the Paho wrapper) against a real mosquitto: plain, TLS, mutual TLS, wrong CA,
// MQTT 5 properties, option checks.
#include "paho_client.h"

#include <chrono>

#include <gtest/gtest.h>

#include "paho_test_helpers.h"

namespace gatehouse::bridge::mqtt {
namespace {

using namespace std::chrono_literals;
using testing::ConnectionWatch;
using testing::Done;
using testing::Inbox;
using testing::MosquittoFixture;
using testing::MosquittoOptions;

PahoOptions optionsFor(const MosquittoFixture& broker, const std::string& id) {
  PahoOptions o;
  o.serverUris = {broker.uri()};
  o.clientId = id;
  o.connectTimeoutS = 3;
  return o;
}

TEST(PahoClient, RefusesBadOptionsWithActionableMessages) {
  PahoClient c;
  PahoOptions o;
  o.clientId = "x";
  auto s = c.start(o, {}, {});
  EXPECT_EQ(s.code(), GH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("at least one broker"), std::string::npos) << s.message();

  o.serverUris = {"http://127.0.0.1:1883"};
  s = c.start(o, {}, {});
  EXPECT_EQ(s.code(), GH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("http://127.0.0.1:1883"), std::string::npos) << s.message();

  o.serverUris = {"ssl://127.0.0.1:8883"};
  o.certFile = "/nonexistent/client.crt";
  s = c.start(o, {}, {});
  EXPECT_EQ(s.code(), GH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("key_file"), std::string::npos) << s.message();

  o.keyFile = "/nonexistent/client.key";
  s = c.start(o, {}, {});
  EXPECT_EQ(s.code(), GH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("cannot read '/nonexistent/client.crt'"), std::string::npos) << s.message();

  EXPECT_EQ(c.publish({"t", "p"}).code(), GH_ERR_UNAVAILABLE);
}

TEST(PahoClient, PublishesAndReceivesWithMqtt5Properties) {
  MosquittoFixture broker;
  ASSERT_EQ(broker.start(), "");
  PahoClient sub, pub;
  Inbox inbox;
  ConnectionWatch subConn, pubConn;
  ASSERT_TRUE(sub.start(optionsFor(broker, "t-sub"), inbox.handler(), subConn.handler()).isOk());
  ASSERT_TRUE(pub.start(optionsFor(broker, "t-pub"), {}, pubConn.handler()).isOk());
  ASSERT_TRUE(subConn.waitConnected(5s));
  ASSERT_TRUE(pubConn.waitConnected(5s));
  EXPECT_TRUE(sub.isConnected());

  Done subscribed;
  ASSERT_TRUE(sub.subscribe({{"a/+/c", 1}}, subscribed.handler()).isOk());
  ASSERT_TRUE(subscribed.wait(5s));
  ASSERT_TRUE(subscribed.status().isOk()) << subscribed.status().message();

  Done published;
  OutgoingMessage m{"a/b/c", std::string("hello\0world", 11), 1, false, "replies/x", "req-42"};
  ASSERT_TRUE(pub.publish(m, published.handler()).isOk());
  ASSERT_TRUE(published.wait(5s));
  EXPECT_TRUE(published.status().isOk());
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
  EXPECT_EQ(sub.publish(m).code(), GH_ERR_UNAVAILABLE);
}

TEST(PahoClient, ReportsAnUnreachableBrokerAndRetries) {
  MosquittoFixture broker;
  ASSERT_EQ(broker.start(), "");
  const auto opts = optionsFor(broker, "t-retry");
  broker.stop();
  PahoClient c;
  ConnectionWatch conn;
  ASSERT_TRUE(c.start(opts, {}, conn.handler()).isOk());
  ASSERT_TRUE(conn.waitFailure(5s));
  EXPECT_NE(conn.reasons().front().find(broker.uri()), std::string::npos) << conn.reasons().front();
  EXPECT_FALSE(c.isConnected());
  ASSERT_EQ(broker.start(), "");   // same port
  EXPECT_TRUE(conn.waitConnected(8s)) << "the first connection must be retried";
}

TEST(PahoClient, FailsOverToTheNextBrokerUri) {
  MosquittoFixture dead, alive;
  ASSERT_EQ(dead.start(), "");
  ASSERT_EQ(alive.start(), "");
  dead.stop();
  PahoClient c;
  ConnectionWatch conn;
  auto o = optionsFor(alive, "t-failover");
  o.serverUris = {dead.uri(), alive.uri()};
  ASSERT_TRUE(c.start(o, {}, conn.handler()).isOk());
  EXPECT_TRUE(conn.waitConnected(8s));
}

TEST(PahoClient, ConnectsOverTls) {
  MosquittoFixture broker(MosquittoOptions{.tls = true});
  ASSERT_EQ(broker.start(), "");
  PahoClient c;
  ConnectionWatch conn;
  auto o = optionsFor(broker, "t-tls");
  o.caFile = broker.caFile();
  ASSERT_TRUE(c.start(o, {}, conn.handler()).isOk());
  EXPECT_TRUE(conn.waitConnected(8s)) << (conn.reasons().empty() ? "" : conn.reasons().front());
}

TEST(PahoClient, RefusesABrokerSignedByAnotherCa) {
  MosquittoFixture broker(MosquittoOptions{.tls = true});
  ASSERT_EQ(broker.start(), "");
  PahoClient c;
  ConnectionWatch conn;
  auto o = optionsFor(broker, "t-wrong-ca");
  o.caFile = broker.otherCaFile();
  ASSERT_TRUE(c.start(o, {}, conn.handler()).isOk());
  ASSERT_TRUE(conn.waitFailure(8s));
  EXPECT_FALSE(c.isConnected());
  EXPECT_NE(conn.reasons().front().find("TLS"), std::string::npos) << conn.reasons().front();
  EXPECT_NE(c.lastError().find("TLS"), std::string::npos) << c.lastError();
}

TEST(PahoClient, MutualTlsNeedsTheClientCertificate) {
  MosquittoFixture broker(MosquittoOptions{.tls = true, .requireClientCert = true});
  ASSERT_EQ(broker.start(), "");
  {
    PahoClient without;
    ConnectionWatch conn;
    auto o = optionsFor(broker, "t-mtls-no-cert");
    o.caFile = broker.caFile();
    ASSERT_TRUE(without.start(o, {}, conn.handler()).isOk());
    ASSERT_TRUE(conn.waitFailure(8s));
    EXPECT_FALSE(without.isConnected());
  }
  PahoClient with;
  ConnectionWatch conn;
  auto o = optionsFor(broker, "t-mtls");
  o.caFile = broker.caFile();
  o.certFile = broker.clientCertFile();
  o.keyFile = broker.clientKeyFile();
  ASSERT_TRUE(with.start(o, {}, conn.handler()).isOk());
  EXPECT_TRUE(conn.waitConnected(8s)) << (conn.reasons().empty() ? "" : conn.reasons().front());
}

}  // namespace
}  // namespace gatehouse::bridge::mqtt
