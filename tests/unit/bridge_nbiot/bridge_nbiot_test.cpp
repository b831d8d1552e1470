// The NB-IoT bridge (bridges/nbiot) against a fake host: real UDP datagrams on a loopback socket
// (port 0), frame counters (gaps, resets, duplicates), the per-source rate limit, the provider cap,
// the sources allow-list, MAC hashing, and downlinks queued until the next uplink or expired.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "fake_host.h"
#include "frames.h"
#include "gatehouse/kit/codec.h"
#include "nbiot_bridge.h"

namespace gatehouse::bridge::nbiot {
namespace {

using namespace std::chrono_literals;
using sdk::Value;
using sdk::testing::FakeHost;
using testing::EnvFrame;

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 3000ms) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

class Device {
 public:
  explicit Device(int port) : port_(port) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    timeval tv{1, 0};   // generous: a sanitizer build on a busy box is slow
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Device() { ::close(fd_); }
  void send(const std::string& bytes) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(port_));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to), static_cast<ssize_t>(bytes.size()));
  }
  // One datagram received (a downlink), or "" after the receive timeout.
  std::string receive() {
    char buffer[2048];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
  }

 private:
  int port_;
  int fd_;
};

class Harness {
 public:
  explicit Harness(std::string layoutsPath = testing::kLayoutsPath) {
    config_ = sdk::Config::defaults(kNbiotConfigSchema);
    config_.setList("listen", {"127.0.0.1:0"});
    config_.set("layouts_file", sdk::ConfigType::String, Value::ofString(std::move(layoutsPath)));
    config_.set("mac_hash_key", sdk::ConfigType::String, Value::ofString("unit-test-key"));
    sdk::detail::Access::attach(bridge, fake.host());
  }
  ~Harness() {
    if (started_) bridge.stop();
  }
  Harness& setBool(const char* key, bool v) {
    config_.set(key, sdk::ConfigType::Bool, Value::ofBool(v));
    return *this;
  }
  Harness& set(const char* key, std::int64_t v) {
    config_.set(key, sdk::ConfigType::Int, Value::ofLong(v));
    return *this;
  }
  void start() {
    auto c = bridge.configure(config_);
    ASSERT_TRUE(c.isOk()) << c.message();
    auto s = bridge.start();
    ASSERT_TRUE(s.isOk()) << s.message();
    started_ = true;
    const std::string bound = bridge.boundAddresses().at(0);
    port = std::stoi(bound.substr(bound.rfind(':') + 1));
  }
  std::optional<Value> last(const std::string& p, const std::string& s, const std::string& r) {
    auto pushes = fake.pushesTo(p, s, r);
    if (pushes.empty()) return std::nullopt;
    return pushes.back().value;
  }
  bool waitValue(const std::string& p, const std::string& s, const std::string& r, const Value& v) {
    return eventually([&] { return last(p, s, r) == v; });
  }
  std::optional<sdk::testing::RecordedCompletion> completion(gh_request_id id, std::chrono::milliseconds timeout = 3000ms) {
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
  NbiotBridge bridge;
  int port = 0;

 private:
  sdk::Config config_;
  bool started_ = false;
};

// Every received datagram has been fully handled (framesReceived is counted first, the outcome last).
bool settled(const NbiotBridge& b, std::uint64_t n) {
  return eventually([&] {
    const auto s = b.stats();
    return s.framesReceived == n && s.framesAccepted + s.framesRejected + s.rateLimited + s.duplicates == n;
  });
}

std::string env(std::uint32_t n, const std::string& imei = "860000000000001") {
  EnvFrame f;
  f.nSend = n;
  f.imei = imei;
  f.tenthsC = 215;
  f.tenthsPercent = 473;
  return f.bytes();
}

TEST(NbiotBridge, FramesBecomeResourcesWithUnitsAndCounterGapsAndResetsAreCounted) {
  Harness h;
  h.start();
  Device dev(h.port);
  dev.send(env(10));
  ASSERT_TRUE(h.waitValue("860000000000001", "environment", "temperature", Value::ofDouble(21.5)));
  EXPECT_EQ(h.last("860000000000001", "environment", "humidity"), Value::ofDouble(47.3));
  EXPECT_EQ(h.last("860000000000001", "device", "batteryVoltage"), Value::ofInt(3600));
  EXPECT_EQ(h.last("860000000000001", "nbiot", "frameCounter"), Value::ofLong(10));
  bool unitSeen = false;
  for (const auto& d : h.fake.declarations()) {
    if (d.provider == "860000000000001" && d.service == "environment" && d.resource == "temperature") unitSeen = d.unit == "°C";
  }
  EXPECT_TRUE(unitSeen);

  dev.send(kit::hexEncode(env(13)));   // hex text, 2 frames lost
  ASSERT_TRUE(h.waitValue("860000000000001", "nbiot", "framesLost", Value::ofLong(2)));
  dev.send(env(13));                   // a retransmission: not stored again
  dev.send(env(1));                    // a reboot
  ASSERT_TRUE(h.waitValue("860000000000001", "nbiot", "resets", Value::ofLong(1)));
  ASSERT_TRUE(settled(h.bridge, 4));
  const auto s = h.bridge.stats();
  EXPECT_EQ(s.framesReceived, 4u);
  EXPECT_EQ(s.framesAccepted, 3u);
  EXPECT_EQ(s.duplicates, 1u);
  EXPECT_EQ(s.framesLost, 2u);
  EXPECT_EQ(s.deviceResets, 1u);
  EXPECT_EQ(h.fake.pushesTo("860000000000001", "nbiot", "frameCounter").size(), 3u);
}

TEST(NbiotBridge, MacAddressesEnterTheModelOnlyAsDailyKeyedHashes) {
  Harness h;
  h.start();
  Device dev(h.port);
  dev.send("CC0001@WIFI@20260712-10:15:00@21.5@1234@2\naa:bb:cc:dd:ee:01@-70\nAA-BB-CC-DD-EE-02@-81\n");
  ASSERT_TRUE(eventually([&] { return h.last("CC0001", "crowd", "devices").has_value(); }));
  const std::string json = h.last("CC0001", "crowd", "devices")->asString();
  const std::string day = NbiotBridge::macHash("unit-test-key", "aa:bb:cc:dd:ee:01", kit::nowMillis());
  EXPECT_EQ(json, "[{\"mac\":\"" + day + "\",\"rssi\":-70},{\"mac\":\"" +
                      NbiotBridge::macHash("unit-test-key", "aa:bb:cc:dd:ee:02", kit::nowMillis()) + "\",\"rssi\":-81}]");
  EXPECT_EQ(h.last("CC0001", "crowd", "detected"), Value::ofInt(2));
  for (const auto& p : h.fake.pushes()) {
    if (p.value.isNull() || p.value.type() != sdk::ValueType::String) continue;
    EXPECT_EQ(p.value.asString().find("ee:01"), std::string::npos) << p.value.asString();
    EXPECT_EQ(p.value.asString().find("EE-02"), std::string::npos) << p.value.asString();
  }
  for (const auto& [level, line] : h.fake.logs()) EXPECT_EQ(line.find("ee:01"), std::string::npos) << line;
  // The key changes every UTC day, and with the configured key.
  const std::int64_t now = kit::nowMillis();
  EXPECT_NE(NbiotBridge::macHash("unit-test-key", "aa:bb:cc:dd:ee:01", now),
            NbiotBridge::macHash("unit-test-key", "aa:bb:cc:dd:ee:01", now + 86400000));
  EXPECT_NE(NbiotBridge::macHash("other-key", "aa:bb:cc:dd:ee:01", now), day);
  EXPECT_EQ(day.size(), 16u);
}

TEST(NbiotBridge, RawMacsOnlyWhenConfigured) {
  Harness raw;
  raw.setBool("raw_macs", true);
  raw.start();
  Device dev(raw.port);
  dev.send("CC0001@WIFI@20260712-10:15:00@21.5@1234@1\naa:bb:cc:dd:ee:01@-70\n");
  ASSERT_TRUE(eventually([&] { return raw.last("CC0001", "crowd", "devices").has_value(); }));
  EXPECT_EQ(raw.last("CC0001", "crowd", "devices")->asString(), "[{\"mac\":\"aa:bb:cc:dd:ee:01\",\"rssi\":-70}]");
}

TEST(NbiotBridge, BadFramesAreCountedAndLoggedWithTheSource) {
  Harness h;
  h.start();
  Device dev(h.port);
  std::string truncated = env(1).substr(0, 20);
  dev.send(truncated);
  dev.send("0102F");                        // odd-length hex
  dev.send(std::string(3000, 'x'));         // above max_datagram_bytes
  ASSERT_TRUE(eventually([&] { return h.bridge.stats().framesRejected == 3; }));
  bool logged = false;
  for (const auto& [level, line] : h.fake.logs()) {
    if (line.find("bad frame(s), latest from 127.0.0.1:") != std::string::npos) logged = true;
  }
  EXPECT_TRUE(logged);
  dev.send(env(5));
  ASSERT_TRUE(h.waitValue("860000000000001", "nbiot", "frameCounter", Value::ofLong(5)));
}

TEST(NbiotBridge, ProviderCapAndRateLimitBoundWhatAFloodCreates) {
  Harness h;
  h.set("max_providers", 5).set("rate_limit_per_s", 1000000).set("rate_burst", 1000000);
  h.start();
  Device dev(h.port);
  for (int i = 0; i < 50; ++i) dev.send(env(1, "8600000000" + std::to_string(10000 + i)));
  ASSERT_TRUE(settled(h.bridge, 50));
  EXPECT_EQ(h.bridge.stats().framesAccepted, 5u);
  EXPECT_EQ(h.bridge.stats().providerCapHits, 45u);
  std::size_t devices = 0;
  for (const auto& p : h.fake.providers()) devices += p.rfind("8600000000", 0) == 0 ? 1 : 0;
  EXPECT_EQ(devices, 5u);

  Harness limited;
  limited.set("rate_limit_per_s", 1).set("rate_burst", 3);
  limited.start();
  Device d2(limited.port);
  for (int i = 0; i < 20; ++i) d2.send(env(static_cast<std::uint32_t>(i + 1)));
  ASSERT_TRUE(settled(limited.bridge, 20));
  EXPECT_EQ(limited.bridge.stats().framesAccepted, 3u);
  EXPECT_EQ(limited.bridge.stats().rateLimited, 17u);
}

TEST(NbiotBridge, SourcesAllowListRefusesOtherNetworks) {
  std::ifstream in(testing::kLayoutsPath);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string marker = "    # sources: [10.0.0.0/8]";
  ASSERT_NE(text.find(marker), std::string::npos);
  text.replace(text.find(marker), marker.size(), "    sources: [10.0.0.0/8]");
  const std::string path = ::testing::TempDir() + "/nbiot-sources.yaml";
  std::ofstream(path) << text;
  Harness h(path);
  h.start();
  Device dev(h.port);
  dev.send(env(1));
  dev.send("CC0001@WIFI@20260712-10:15:00@21.5@1234@0\n");   // the crowd counter has no sources: accepted
  ASSERT_TRUE(settled(h.bridge, 2));
  EXPECT_EQ(h.bridge.stats().sourceRefused, 1u);
  EXPECT_EQ(h.bridge.stats().framesAccepted, 1u);
  EXPECT_FALSE(h.last("860000000000001", "environment", "temperature").has_value());
}

TEST(NbiotBridge, DownlinkIsSentAsTheReplyToTheNextUplink) {
  Harness h;
  h.start();
  Device dev(h.port);
  dev.send(env(1));
  ASSERT_TRUE(h.waitValue("860000000000001", "nbiot", "frameCounter", Value::ofLong(1)));
  EXPECT_EQ(dev.receive(), "");   // nothing queued: no reply

  h.bridge.onSet(sdk::Request(h.fake.host(), 101), "860000000000001", "settings", "reportInterval", Value::ofInt(300));
  h.bridge.onAct(sdk::Request(h.fake.host(), 102), "860000000000001", "control", "reboot", {{"delay_s", Value::ofInt(5)}});
  const auto queue = h.last("860000000000001", "nbiot", "downlinkQueue");
  ASSERT_TRUE(queue);
  EXPECT_NE(queue->asString().find("\"resource\":\"settings/reportInterval\""), std::string::npos) << queue->asString();
  EXPECT_NE(queue->asString().find("\"resource\":\"control/reboot\""), std::string::npos) << queue->asString();
  EXPECT_FALSE(h.completion(101, 100ms));   // waits for the device

  dev.send(env(2));
  EXPECT_EQ(kit::hexEncode(dev.receive()), "8102012c");
  EXPECT_EQ(kit::hexEncode(dev.receive()), "82020005");
  auto set = h.completion(101);
  ASSERT_TRUE(set);
  EXPECT_EQ(set->status, GH_OK);
  EXPECT_EQ(set->result, Value::ofInt(300));
  auto act = h.completion(102);
  ASSERT_TRUE(act);
  EXPECT_EQ(act->result, Value::ofString("sent"));
  EXPECT_TRUE(h.waitValue("860000000000001", "nbiot", "downlinkQueue", Value::ofString("[]")));
  EXPECT_EQ(h.last("860000000000001", "nbiot", "downlinksSent"), Value::ofLong(2));

  // Refused at once: out of bounds, unknown device, not a declared downlink.
  h.bridge.onSet(sdk::Request(h.fake.host(), 103), "860000000000001", "settings", "reportInterval", Value::ofInt(10));
  auto low = h.completion(103);
  ASSERT_TRUE(low);
  EXPECT_EQ(low->status, GH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(low->message.find("outside 60.0..65535.0"), std::string::npos) << low->message;
  h.bridge.onSet(sdk::Request(h.fake.host(), 104), "nobody", "settings", "reportInterval", Value::ofInt(300));
  EXPECT_EQ(h.completion(104)->status, GH_ERR_NOT_FOUND);
  h.bridge.onSet(sdk::Request(h.fake.host(), 105), "860000000000001", "settings", "scanInterval", Value::ofInt(30));
  EXPECT_EQ(h.completion(105)->status, GH_ERR_NOT_ALLOWED);
}

TEST(NbiotBridge, UnsentDownlinksExpireWithAClearTimeoutAndTheQueueIsBounded) {
  Harness h;
  h.set("downlink_expiry_ms", 300).set("max_downlinks_per_device", 2);
  h.start();
  Device dev(h.port);
  dev.send(env(1));
  ASSERT_TRUE(h.waitValue("860000000000001", "nbiot", "frameCounter", Value::ofLong(1)));
  for (gh_request_id id : {201, 202, 203}) {
    h.bridge.onSet(sdk::Request(h.fake.host(), id), "860000000000001", "settings", "reportInterval", Value::ofInt(600));
  }
  auto full = h.completion(203, 100ms);
  ASSERT_TRUE(full);
  EXPECT_EQ(full->status, GH_ERR_UNAVAILABLE);
  EXPECT_NE(full->message.find("already queued"), std::string::npos) << full->message;
  auto expired = h.completion(201, 2000ms);
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->status, GH_ERR_TIMEOUT);
  EXPECT_NE(expired->message.find("downlink expired: 860000000000001 sent no uplink within 300 ms"), std::string::npos) << expired->message;
  ASSERT_TRUE(h.completion(202, 2000ms));
  EXPECT_TRUE(h.waitValue("860000000000001", "nbiot", "downlinksExpired", Value::ofLong(2)));
  EXPECT_TRUE(h.waitValue("860000000000001", "nbiot", "downlinkQueue", Value::ofString("[]")));
  dev.send(env(2));   // the expired ones are not sent any more
  EXPECT_EQ(dev.receive(), "");
  EXPECT_EQ(h.bridge.stats().downlinksExpired, 2u);
  EXPECT_EQ(h.bridge.stats().downlinksSent, 0u);
}

TEST(NbiotBridge, ListenEntriesAreChecked) {
  FakeHost fake;
  NbiotBridge bridge;
  sdk::detail::Access::attach(bridge, fake.host());
  auto config = sdk::Config::defaults(kNbiotConfigSchema);
  config.set("layouts_file", sdk::ConfigType::String, Value::ofString(testing::kLayoutsPath));
  for (const char* bad : {"127.0.0.1", "127.0.0.1:70000", "example.com:5600", "::1:5600", "[::1]5600"}) {
    config.setList("listen", {bad});
    auto s = bridge.configure(config);
    EXPECT_FALSE(s.isOk()) << bad;
    EXPECT_NE(s.message().find("listen"), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace gatehouse::bridge::nbiot
