// Northbound MQTT against a real mosquitto on a free loopback port.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "config/config.h"
#include "model/model.h"
#include "mosquitto_fixture.h"
#include "mqtt_test_subscriber.h"
#include "northbound/mqtt_publisher.h"

extern char** environ;

namespace gatehouse::core::northbound {
namespace {

using namespace std::chrono_literals;
using test_support::MosquittoFixture;
using test_support::MosquittoOptions;

using Subscriber = test_support::MqttTestSubscriber;
using test_support::countOn;
using test_support::payloadOn;

bool waitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// What an application subscribing now finds on a status topic.
void expectRetainedOffline(const MosquittoFixture& broker, const std::string& statusTopic) {
  Subscriber later(broker.uri(), "later");
  later.connect();
  later.subscribe(statusTopic);
  ASSERT_TRUE(later.waitFor(countOn(statusTopic, 1)));
  EXPECT_EQ(later.on(statusTopic).at(0).payload, "offline");
  EXPECT_TRUE(later.on(statusTopic).at(0).retained);
}

MqttPublisherOptions optionsFor(const MosquittoFixture& broker, const std::string& gatewayId) {
  MqttPublisherOptions o;
  o.brokers = {broker.uri()};
  o.clientId = "gatehouse-" + gatewayId;
  o.prefix = "gatehouse/" + gatewayId;
  o.reconnectMinS = 1;
  o.reconnectMaxS = 1;
  return o;
}

class Northbound : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(broker_.start(), ""); }
  MosquittoFixture broker_;
  model::Model model_;
};

TEST_F(Northbound, DataArrivesOnItsTopicWithValueTimestampAndType) {
  Subscriber app(broker_.uri(), "app");
  app.connect();
  app.subscribe("gatehouse/gw1/#");
  MqttPublisher pub(model_, optionsFor(broker_, "gw1"));
  ASSERT_TRUE(pub.start().ok());
  ASSERT_TRUE(waitUntil([&] { return pub.stats().connected; }));

  ASSERT_TRUE(model_.push("boiler", "sensors", "temperature", model::Value::ofDouble(21.5), 1700000000123).ok());
  ASSERT_TRUE(model_.push("boiler", "sensors", "on", model::Value::ofBool(true), 1700000000124).ok());
  ASSERT_TRUE(model_.setMetadata("boiler", "sensors", "temperature", "unit", model::Value::ofString("C")).ok());
  ASSERT_TRUE(model_.push("boiler", "info", "label", model::Value::ofString("Kessel \"2\""), 1700000000125).ok());

  ASSERT_TRUE(app.waitFor(countOn("gatehouse/gw1/boiler/info/label", 1)));
  EXPECT_EQ(app.on("gatehouse/gw1/boiler/sensors/temperature").at(0).payload,
            R"({"value":21.5,"timestamp":1700000000123,"type":"double"})");
  EXPECT_EQ(app.on("gatehouse/gw1/boiler/sensors/on").at(0).payload,
            R"({"value":true,"timestamp":1700000000124,"type":"boolean"})");
  EXPECT_EQ(app.on("gatehouse/gw1/boiler/info/label").at(0).payload,
            R"({"value":"Kessel \"2\"","timestamp":1700000000125,"type":"string"})");
  EXPECT_FALSE(app.on("gatehouse/gw1/boiler/sensors/temperature").at(0).retained);
  // Only DATA is published: the metadata change and the lifecycle events are not.
  for (const auto& m : app.messages()) {
    EXPECT_TRUE(m.topic == "gatehouse/gw1/$status" || m.payload.find("\"value\"") != std::string::npos) << m.topic;
  }
  EXPECT_EQ(app.messages().size(), 4u);   // online + 3 values
  EXPECT_TRUE(waitUntil([&] { return pub.stats().published == 3; }));
  EXPECT_EQ(pub.stats().droppedQueueFull + pub.stats().droppedBufferFull + pub.stats().publishFailures, 0u);
}

TEST_F(Northbound, RetainAndQosAreApplied) {
  auto o = optionsFor(broker_, "gw1");
  o.retain = true;
  o.qos = 2;
  MqttPublisher pub(model_, o);
  ASSERT_TRUE(pub.start().ok());
  ASSERT_TRUE(model_.push("p", "s", "r", model::Value::ofLong(42), 7).ok());
  ASSERT_TRUE(waitUntil([&] { return pub.stats().published == 1; }));
  // A subscriber arriving later gets the value, marked retained.
  Subscriber late(broker_.uri(), "late");
  late.connect();
  late.subscribe("gatehouse/gw1/p/#");
  ASSERT_TRUE(late.waitFor(countOn("gatehouse/gw1/p/s/r", 1)));
  EXPECT_TRUE(late.on("gatehouse/gw1/p/s/r").at(0).retained);
  EXPECT_EQ(late.on("gatehouse/gw1/p/s/r").at(0).payload, R"({"value":42,"timestamp":7,"type":"long"})");
}

TEST_F(Northbound, StatusIsOnlineRetainedAndOfflineAfterStop) {
  MqttPublisher pub(model_, optionsFor(broker_, "gw1"));
  ASSERT_TRUE(pub.start().ok());
  ASSERT_TRUE(waitUntil([&] { return pub.stats().connected; }));
  Subscriber app(broker_.uri(), "app");
  app.connect();
  app.subscribe("gatehouse/gw1/$status");
  ASSERT_TRUE(app.waitFor(payloadOn("gatehouse/gw1/$status", "online")));
  EXPECT_TRUE(app.on("gatehouse/gw1/$status").at(0).retained);
  pub.stop();
  ASSERT_TRUE(app.waitFor(payloadOn("gatehouse/gw1/$status", "offline")));
  expectRetainedOffline(broker_, "gatehouse/gw1/$status");
}

// A gateway that dies without a word: the broker publishes its last will.
TEST_F(Northbound, LastWillSaysOfflineWhenTheGatewayDies) {
  Subscriber app(broker_.uri(), "app");
  app.connect();
  app.subscribe("gatehouse/doomed/$status");
  std::string self = "/proc/self/exe", mode = "--northbound-child", uri = broker_.uri(), id = "doomed";
  char* argv[] = {self.data(), mode.data(), uri.data(), id.data(), nullptr};
  pid_t child = -1;
  ASSERT_EQ(::posix_spawn(&child, self.c_str(), nullptr, nullptr, argv, environ), 0);
  const bool online = app.waitFor(payloadOn("gatehouse/doomed/$status", "online"));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ASSERT_TRUE(online);
  ASSERT_TRUE(app.waitFor(payloadOn("gatehouse/doomed/$status", "offline")));
  // The will is retained: an application that looks later still learns the gateway is gone.
  expectRetainedOffline(broker_, "gatehouse/doomed/$status");
}

TEST_F(Northbound, TwoGatewaysShareOneBroker) {
  Subscriber app(broker_.uri(), "app");
  app.connect();
  app.subscribe("gatehouse/+/#");
  model::Model otherModel;
  config::Config a, b;
  a.gateway.id = "gw-a";
  b.gateway.id = "gw-b";
  a.mqttNorthbound.brokers = b.mqttNorthbound.brokers = {broker_.uri()};
  MqttPublisher pa(model_, optionsFromConfig(a));
  MqttPublisher pb(otherModel, optionsFromConfig(b));
  ASSERT_TRUE(pa.start().ok());
  ASSERT_TRUE(pb.start().ok());
  ASSERT_TRUE(waitUntil([&] { return pa.stats().connected && pb.stats().connected; }));
  ASSERT_TRUE(model_.push("dev", "s", "r", model::Value::ofInt(1), 10).ok());
  ASSERT_TRUE(otherModel.push("dev", "s", "r", model::Value::ofInt(2), 20).ok());
  ASSERT_TRUE(app.waitFor(countOn("gatehouse/gw-a/dev/s/r", 1)));
  ASSERT_TRUE(app.waitFor(countOn("gatehouse/gw-b/dev/s/r", 1)));
  EXPECT_EQ(app.on("gatehouse/gw-a/dev/s/r").at(0).payload, R"({"value":1,"timestamp":10,"type":"int"})");
  EXPECT_EQ(app.on("gatehouse/gw-b/dev/s/r").at(0).payload, R"({"value":2,"timestamp":20,"type":"int"})");
  EXPECT_TRUE(app.waitFor(payloadOn("gatehouse/gw-a/$status", "online")));
  EXPECT_TRUE(app.waitFor(payloadOn("gatehouse/gw-b/$status", "online")));
  // Both stayed connected: distinct client ids (gatehouse-<id>) do not take over each other.
  EXPECT_EQ(pa.stats().connections, 1u);
  EXPECT_EQ(pb.stats().connections, 1u);
}

// Broker away: the first `queue` values are kept and delivered after the restart; the rest are
// dropped and counted.
struct OutageCase {
  std::size_t queue;
  int pushes;
};
class NorthboundOutage : public ::testing::TestWithParam<OutageCase> {};

TEST_P(NorthboundOutage, KeepsUpToQueueWhileTheBrokerIsAwayAndDeliversThemAfterReconnect) {
  const auto [queue, pushes] = GetParam();
  // Persistence keeps the subscriber's session (and its QoS 1 subscription) across the restart,
  // so nothing depends on who reconnects first.
  MosquittoFixture broker(MosquittoOptions{.persistence = true});
  ASSERT_EQ(broker.start(), "");
  model::Model model;
  auto app = std::make_unique<Subscriber>(broker.uri(), "app-outage", false);
  app->connect();
  app->subscribe("gatehouse/gw1/#", 1);
  auto o = optionsFor(broker, "gw1");
  o.qos = 1;
  o.queue = queue;
  MqttPublisher pub(model, o);
  ASSERT_TRUE(pub.start().ok());
  ASSERT_TRUE(waitUntil([&] { return pub.stats().connected; }));
  ASSERT_TRUE(app->waitFor(payloadOn("gatehouse/gw1/$status", "online")));

  broker.stop();
  ASSERT_TRUE(waitUntil([&] { return !pub.stats().connected; }));
  for (int i = 0; i < pushes; ++i) {
    ASSERT_TRUE(model.push("m", "s", "v", model::Value::ofLong(i), 1000 + i).ok());
  }
  const std::uint64_t expectDropped = pushes > static_cast<int>(queue) ? pushes - queue : 0;
  const std::uint64_t expectKept = pushes - expectDropped;
  ASSERT_TRUE(waitUntil([&] {
    auto s = pub.stats();
    return s.queued == 0 && s.droppedBufferFull + s.droppedQueueFull == expectDropped && s.pending == expectKept;
  })) << "dropped " << pub.stats().droppedBufferFull << "+" << pub.stats().droppedQueueFull << " pending " << pub.stats().pending;

  ASSERT_EQ(broker.start(), "");
  ASSERT_TRUE(app->waitFor(countOn("gatehouse/gw1/m/s/v", expectKept), 20s))
      << app->on("gatehouse/gw1/m/s/v").size() << " of " << expectKept << "\n" << broker.log();
  ASSERT_TRUE(waitUntil([&] { return pub.stats().published == expectKept; }));
  std::this_thread::sleep_for(300ms);   // nothing else may follow
  const auto got = app->on("gatehouse/gw1/m/s/v");
  ASSERT_EQ(got.size(), expectKept);
  // The oldest values are the ones kept, each exactly once.
  std::set<std::string> payloads;
  for (const auto& m : got) payloads.insert(m.payload);
  for (std::uint64_t i = 0; i < expectKept; ++i) {
    EXPECT_EQ(payloads.count("{\"value\":" + std::to_string(i) + ",\"timestamp\":" + std::to_string(1000 + i) +
                             ",\"type\":\"long\"}"),
              1u)
        << i;
  }
  EXPECT_EQ(pub.stats().droppedBufferFull + pub.stats().droppedQueueFull, expectDropped);
  EXPECT_GE(pub.stats().connections, 2u);
}

INSTANTIATE_TEST_SUITE_P(Limits, NorthboundOutage,
                         ::testing::Values(OutageCase{1000, 300}, OutageCase{50, 130}),
                         [](const auto& info) {
                           return "queue" + std::to_string(info.param.queue) + "_pushes" + std::to_string(info.param.pushes);
                         });

// The broker is stopped and restarted while QoS 1 values flow: every value reaches the
// application, including those in flight at the moment the connection broke. The client
// re-sends those itself on the next clean session (kit::MqttPublisher, docs/architecture.md), so
// an application may see a few twice, never none.
TEST(NorthboundRestart, BrokerRestartWhileQos1ValuesFlowLosesNone) {
  MosquittoFixture broker(MosquittoOptions{.persistence = true});
  ASSERT_EQ(broker.start(), "");
  model::Model model;
  auto app = std::make_unique<Subscriber>(broker.uri(), "app-restart", false);
  app->connect();
  app->subscribe("gatehouse/gw1/#", 1);
  auto o = optionsFor(broker, "gw1");
  o.qos = 1;
  o.queue = 20000;
  MqttPublisher pub(model, o);
  ASSERT_TRUE(pub.start().ok());
  ASSERT_TRUE(waitUntil([&] { return pub.stats().connected; }));

  constexpr int kValues = 10000;
  std::atomic<int> pushed{0};
  std::thread producer([&] {
    for (int i = 1; i <= kValues; ++i) {
      (void)model.push("meter", "load", "seq", model::Value::ofLong(i), 1000 + i);
      pushed = i;
      if (i % 50 == 0) std::this_thread::sleep_for(2ms);   // a steady flow, about 20k/s
    }
  });
  ASSERT_TRUE(waitUntil([&] { return pub.stats().published >= kValues / 4; }));
  broker.stop();
  const auto publishedAtStop = pub.stats().published;
  EXPECT_LT(publishedAtStop, static_cast<std::uint64_t>(kValues)) << "the broker must go down while values flow";
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(broker.start(), "");
  producer.join();

  const std::string topic = "gatehouse/gw1/meter/load/seq";
  std::set<long> seen;
  const bool all = waitUntil(
      [&] {
        seen.clear();
        for (const auto& m : app->on(topic)) {
          const auto colon = m.payload.find(':');
          seen.insert(std::stol(m.payload.substr(colon + 1)));
        }
        return seen.size() == kValues;
      },
      30s);
  EXPECT_TRUE(all) << "distinct values received: " << seen.size() << " of " << kValues << "; stats: published "
                   << pub.stats().published << " failures " << pub.stats().publishFailures << " dropped "
                   << pub.stats().droppedBufferFull << "+" << pub.stats().droppedQueueFull;
  EXPECT_EQ(*seen.begin(), 1);
  EXPECT_EQ(*seen.rbegin(), kValues);
  EXPECT_EQ(pub.stats().droppedBufferFull + pub.stats().droppedQueueFull + pub.stats().publishFailures, 0u);
  EXPECT_GE(pub.stats().connections, 2u);
}

// A dead broker never slows ingest: push() costs the same with the publisher stuck as with no
// subscriber beyond the queue's bookkeeping, and everything beyond the limits is counted.
TEST(NorthboundIngest, PushNeverWaitsForADeadBroker) {
  constexpr int kPushes = 200000;
  constexpr std::size_t kQueue = 100;
  auto timePushes = [](model::Model& m) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kPushes; ++i) {
      if (!m.push("p", "s", "r", model::Value::ofLong(i), 1 + i).ok()) return std::chrono::nanoseconds::max();
    }
    return std::chrono::steady_clock::now() - t0;
  };
  model::Model baselineModel;
  const auto baseline = timePushes(baselineModel);

  model::Model model;
  MqttPublisherOptions o;
  o.brokers = {"tcp://127.0.0.1:" + std::to_string(test_support::freeLoopbackPort())};   // nobody listens
  o.clientId = "stuck";
  o.prefix = "gatehouse/stuck";
  o.queue = kQueue;
  MqttPublisher pub(model, o);
  ASSERT_TRUE(pub.start().ok());
  const auto withDeadBroker = timePushes(model);
  // Loose: the shared 2-core machines are noisy; a push that waited for the broker would take
  // seconds for 200k values (connect timeouts), not a small multiple of the baseline.
  EXPECT_LT(withDeadBroker, baseline * 20 + std::chrono::milliseconds(500))
      << "baseline " << baseline.count() << " ns, with a dead broker " << withDeadBroker.count() << " ns";
  ASSERT_TRUE(waitUntil([&] {
    auto s = pub.stats();
    return s.queued == 0 && s.droppedQueueFull + s.droppedBufferFull == kPushes - kQueue;
  })) << pub.stats().droppedQueueFull << " + " << pub.stats().droppedBufferFull;
  EXPECT_EQ(pub.stats().pending, kQueue);
  EXPECT_FALSE(pub.stats().connected);
  EXPECT_EQ(pub.stats().published, 0u);
}

// The gateway process of the last-will test: connects, says online, waits to be killed.
int childMain(const std::string& uri, const std::string& id) {
  model::Model model;
  MqttPublisherOptions o;
  o.brokers = {uri};
  o.clientId = "gatehouse-" + id;
  o.prefix = "gatehouse/" + id;
  MqttPublisher pub(model, o);
  if (!pub.start().ok()) return 1;
  for (;;) ::pause();
}

}  // namespace
}  // namespace gatehouse::core::northbound

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "--northbound-child") == 0) {
    return gatehouse::core::northbound::childMain(argv[2], argv[3]);
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
