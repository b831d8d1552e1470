// kit::MqttPublisher (the kit's libmosquitto client) against a real mosquitto on a free loopback
// port, watched by a Paho subscriber playing the application; failover, re-sending and connect
// timeouts against a scripted fake broker (SilentBroker) that never acknowledges anything.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <chrono>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "gatehouse/kit/mqtt_publisher.h"
#include "mosquitto_fixture.h"
#include "mqtt_test_subscriber.h"

namespace gatehouse::kit {
namespace {

using namespace std::chrono_literals;
using test_support::countOn;
using test_support::MosquittoFixture;
using test_support::MosquittoOptions;
using test_support::MqttTestSubscriber;
using test_support::payloadOn;

bool waitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

MqttPublisherOptions optionsFor(std::vector<std::string> brokers, const std::string& id) {
  MqttPublisherOptions o;
  o.brokers = std::move(brokers);
  o.clientId = id;
  o.reconnectMin = 100ms;
  o.reconnectMax = 400ms;
  o.connectTimeout = 2s;
  return o;
}

MqttMessage msg(std::string topic, std::string payload, int qos = 1, bool retain = false) {
  return MqttMessage{std::move(topic), std::move(payload), qos, retain};
}

// Events and ready calls as the handlers report them (on the I/O thread).
struct Recorder {
  std::mutex mu;
  std::vector<std::pair<MqttPublisherEvent, std::string>> events;
  std::vector<std::string> readyThreads;
  void attach(MqttPublisher& p) {
    p.setEventHandler([this](MqttPublisherEvent e, const std::string& d) {
      std::lock_guard lock(mu);
      events.emplace_back(e, d);
    });
    p.setReadyHandler([this] {
      char name[16] = {};
      pthread_getname_np(pthread_self(), name, sizeof(name));
      std::lock_guard lock(mu);
      readyThreads.emplace_back(name);
    });
  }
  std::size_t count(MqttPublisherEvent e) {
    std::lock_guard lock(mu);
    std::size_t n = 0;
    for (const auto& [ev, d] : events) n += ev == e;
    return n;
  }
  std::string details() {
    std::lock_guard lock(mu);
    std::string s;
    for (const auto& [ev, d] : events) s += std::to_string(static_cast<int>(ev)) + ":" + d + "\n";
    return s;
  }
  std::size_t readyCalls() {
    std::lock_guard lock(mu);
    return readyThreads.size();
  }
};

// A scripted broker on a free loopback port: accepts ONE connection (then stops listening, so a
// second attempt is refused), answers CONNACK (unless told not to), records the PUBLISH packets
// without ever acknowledging them, and closes the connection after `closeAfter` of them.
class SilentBroker {
 public:
  SilentBroker(std::size_t closeAfter, bool answerConnect) : closeAfter_(closeAfter), answerConnect_(answerConnect) {
    listen_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_, 4) != 0 ||
        ::getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("SilentBroker: cannot listen");
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~SilentBroker() {
    done_ = true;
    thread_.join();
    if (listen_ >= 0) ::close(listen_);
  }
  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  std::vector<std::pair<std::string, std::string>> publishes() {
    std::lock_guard lock(mu_);
    return publishes_;
  }
  bool closed() const { return closed_; }

 private:
  bool readExactly(int fd, void* buf, std::size_t n) {
    auto* p = static_cast<char*>(buf);
    while (n > 0 && !done_) {
      pollfd pfd{fd, POLLIN, 0};
      if (::poll(&pfd, 1, 50) <= 0) continue;
      const ssize_t got = ::recv(fd, p, n, 0);
      if (got <= 0) return false;
      p += got;
      n -= static_cast<std::size_t>(got);
    }
    return n == 0;
  }
  bool readPacket(int fd, unsigned char& header, std::string& body) {
    if (!readExactly(fd, &header, 1)) return false;
    std::size_t length = 0;
    for (int shift = 0; shift < 28; shift += 7) {
      unsigned char digit = 0;
      if (!readExactly(fd, &digit, 1)) return false;
      length |= static_cast<std::size_t>(digit & 0x7F) << shift;
      if ((digit & 0x80) == 0) break;
    }
    body.assign(length, '\0');
    return length == 0 || readExactly(fd, body.data(), length);
  }
  void run() {
    int fd = -1;
    while (!done_ && fd < 0) {
      pollfd pfd{listen_, POLLIN, 0};
      if (::poll(&pfd, 1, 50) > 0) fd = ::accept(listen_, nullptr, nullptr);
    }
    ::close(listen_);   // one connection only: the next attempt is refused
    listen_ = -1;
    if (fd < 0) return;
    unsigned char header = 0;
    std::string body;
    if (readPacket(fd, header, body) && (header >> 4) == 1 && answerConnect_) {
      const unsigned char connack[] = {0x20, 0x02, 0x00, 0x00};
      (void)::send(fd, connack, sizeof connack, MSG_NOSIGNAL);
      while (readPacket(fd, header, body)) {
        if ((header >> 4) != 3 || body.size() < 2) continue;
        const std::size_t topicLength = (static_cast<unsigned char>(body[0]) << 8) | static_cast<unsigned char>(body[1]);
        const std::size_t skip = 2 + topicLength + (((header >> 1) & 3) ? 2 : 0);
        std::lock_guard lock(mu_);
        publishes_.emplace_back(body.substr(2, topicLength), body.substr(std::min(skip, body.size())));
        if (publishes_.size() >= closeAfter_) break;
      }
    } else {
      while (!done_) std::this_thread::sleep_for(10ms);   // say nothing at all
    }
    ::close(fd);
    closed_ = true;
  }

  std::size_t closeAfter_;
  bool answerConnect_;
  int listen_ = -1;
  int port_ = 0;
  std::atomic<bool> done_{false}, closed_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::pair<std::string, std::string>> publishes_;
};

class KitMqttPublisher : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(broker_.start(), ""); }
  MosquittoFixture broker_;
};

TEST_F(KitMqttPublisher, PublishesAtEveryQosAndCountsWhatTheBrokerTook) {
  MqttTestSubscriber app(broker_.uri(), "app");
  app.connect();
  app.subscribe("kit/#", 2);
  MqttPublisher pub(optionsFor({broker_.uri()}, "kit-qos"));
  Recorder rec;
  rec.attach(pub);
  ASSERT_TRUE(pub.start().ok());
  ASSERT_TRUE(waitUntil([&] { return pub.connected(); }));
  EXPECT_EQ(pub.publish(msg("kit/q0", "zero", 0)), MqttPublishStatus::Accepted);
  EXPECT_EQ(pub.publish(msg("kit/q1", "one", 1)), MqttPublishStatus::Accepted);
  EXPECT_EQ(pub.publish(msg("kit/q2", "two", 2, true)), MqttPublishStatus::Accepted);
  ASSERT_TRUE(app.waitFor(countOn("kit/q2", 1)));
  ASSERT_TRUE(app.waitFor(countOn("kit/q0", 1)));
  ASSERT_TRUE(app.waitFor(countOn("kit/q1", 1)));
  EXPECT_EQ(app.on("kit/q0").at(0).payload, "zero");
  EXPECT_EQ(app.on("kit/q1").at(0).payload, "one");
  EXPECT_EQ(app.on("kit/q2").at(0).payload, "two");
  ASSERT_TRUE(waitUntil([&] { return pub.stats().published == 3; })) << pub.stats().published;
  EXPECT_EQ(pub.stats().pending, 0u);
  EXPECT_EQ(pub.stats().failed, 0u);
  EXPECT_EQ(pub.stats().connections, 1u);
  EXPECT_EQ(rec.count(MqttPublisherEvent::Connected), 1u) << rec.details();
  // Retained at QoS 2: a late subscriber gets it, marked retained.
  MqttTestSubscriber late(broker_.uri(), "late");
  late.connect();
  late.subscribe("kit/q2");
  ASSERT_TRUE(late.waitFor(countOn("kit/q2", 1)));
  EXPECT_TRUE(late.on("kit/q2").at(0).retained);
}

// The Unix-domain sockets of this process (/proc/self/fd -> "socket:[inode]" with a matching
// inode in /proc/net/unix).
std::size_t unixSocketCount() {
  std::set<std::string> unixInodes;
  {
    FILE* f = std::fopen("/proc/net/unix", "r");
    if (f == nullptr) return 0;
    char line[512];
    while (std::fgets(line, sizeof line, f) != nullptr) {
      unsigned long inode = 0;
      // Num RefCount Protocol Flags Type St Inode Path
      if (std::sscanf(line, "%*s %*s %*s %*s %*s %*s %lu", &inode) == 1) unixInodes.insert(std::to_string(inode));
    }
    std::fclose(f);
  }
  std::size_t n = 0;
  for (int fd = 0; fd < 4096; ++fd) {
    char link[64], target[128];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    const ssize_t len = ::readlink(link, target, sizeof target - 1);
    if (len <= 0) continue;
    target[len] = '\0';
    std::string t(target);
    if (t.rfind("socket:[", 0) == 0 && unixInodes.count(t.substr(8, t.size() - 9)) != 0) ++n;
  }
  return n;
}

// libmosquitto's wake-up socketpair is refused (one write(2) less per message, mqtt_publisher.cpp):
// the publisher opens no Unix socket and says so; publishing works; and any other socketpair()
// in the process still works.
TEST_F(KitMqttPublisher, RunsWithoutTheLibrarysWakeUpPipe) {
  MqttTestSubscriber app(broker_.uri(), "app");
  app.connect();
  app.subscribe("kit/pipe", 0);
  const std::size_t before = unixSocketCount();
  MqttPublisher pub(optionsFor({broker_.uri()}, "kit-pipe"));
  ASSERT_TRUE(pub.start().ok());
  ASSERT_TRUE(waitUntil([&] { return pub.connected(); }));
  EXPECT_TRUE(pub.stats().wakePipeOff);
  EXPECT_EQ(unixSocketCount(), before);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(pub.publish(msg("kit/pipe", std::to_string(i), 0)), MqttPublishStatus::Accepted);
  ASSERT_TRUE(app.waitFor(countOn("kit/pipe", 100)));
  EXPECT_EQ(app.on("kit/pipe").at(99).payload, "99");
  int fds[2] = {-1, -1};
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0) << std::strerror(errno);
  EXPECT_EQ(::write(fds[0], "x", 1), 1);
  char c = 0;
  EXPECT_EQ(::read(fds[1], &c, 1), 1);
  EXPECT_EQ(c, 'x');
  ::close(fds[0]);
  ::close(fds[1]);
}

// Several writer threads at once (the fast path and the buffer both in play): every message
// arrives once, and each thread's messages in the order it published them.
TEST_F(KitMqttPublisher, ConcurrentPublishersKeepEachThreadsOrder) {
  constexpr int kThreads = 4, kEach = 2000;
  MqttTestSubscriber app(broker_.uri(), "app");
  app.connect();
  app.subscribe("kit/t/#", 1);
  MqttPublisher pub(optionsFor({broker_.uri()}, "kit-threads"));
  ASSERT_TRUE(pub.start().ok());
  ASSERT_TRUE(waitUntil([&] { return pub.connected(); }));
  std::vector<std::thread> writers;
  std::atomic<int> refused{0};
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        if (pub.publish(msg("kit/t/" + std::to_string(t), std::to_string(i))) != MqttPublishStatus::Accepted) ++refused;
      }
    });
  }
  for (auto& w : writers) w.join();
  EXPECT_EQ(refused.load(), 0);
  ASSERT_TRUE(app.waitFor([](const auto& ms) { return ms.size() >= kThreads * kEach; }, 30s)) << app.messages().size();
  for (int t = 0; t < kThreads; ++t) {
    const auto got = app.on("kit/t/" + std::to_string(t));
    ASSERT_EQ(got.size(), static_cast<std::size_t>(kEach)) << t;
    for (int i = 0; i < kEach; ++i) ASSERT_EQ(got[i].payload, std::to_string(i)) << "thread " << t;
  }
  ASSERT_TRUE(waitUntil([&] { return pub.stats().published == kThreads * kEach; }));
  EXPECT_EQ(pub.stats().pending, 0u);
}

// Before the broker is up: up to bufferLimit messages wait, the next is refused untouched; once
// the broker is there, `online` goes first, then the buffer in order, and the ready handler runs.
TEST(KitMqttPublisherOffline, BuffersUpToTheLimitAndSendsOnlineFirstThenInOrder) {
  MosquittoFixture broker(MosquittoOptions{.persistence = true});
  ASSERT_EQ(broker.start(), "");
  {
    MqttTestSubscriber session(broker.uri(), "app-offline", false);   // a persistent session: it gets what comes while away
    session.connect();
    session.subscribe("kit/#", 1);
  }
  broker.stop();

  constexpr std::size_t kLimit = 20;
  auto o = optionsFor({broker.uri()}, "kit-offline");
  o.bufferLimit = kLimit;
  o.online = msg("kit/status", "online", 1, true);
  MqttPublisher pub(o);
  Recorder rec;
  rec.attach(pub);
  EXPECT_EQ(pub.publish(msg("kit/v", "early")), MqttPublishStatus::Stopped);   // not started yet
  ASSERT_TRUE(pub.start().ok());
  for (std::size_t i = 0; i < kLimit; ++i) {
    ASSERT_EQ(pub.publish(msg("kit/v", std::to_string(i))), MqttPublishStatus::Accepted) << i;
  }
  MqttMessage extra = msg("kit/v", "one too many");
  EXPECT_EQ(pub.publish(std::move(extra)), MqttPublishStatus::Full);
  EXPECT_EQ(extra.payload, "one too many");   // untouched: the caller still has it
  EXPECT_EQ(pub.room(), 0u);
  EXPECT_EQ(pub.stats().pending, kLimit);
  EXPECT_FALSE(pub.connected());
  ASSERT_TRUE(waitUntil([&] { return rec.count(MqttPublisherEvent::ConnectFailed) > 0; })) << rec.details();

  ASSERT_EQ(broker.start(), "");
  MqttTestSubscriber app(broker.uri(), "app-offline", false);
  app.connect();
  ASSERT_TRUE(app.waitFor(countOn("kit/v", kLimit), 15s)) << app.messages().size() << "\n" << rec.details();
  const auto all = app.messages();
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.front().topic, "kit/status");
  EXPECT_EQ(all.front().payload, "online");
  const auto values = app.on("kit/v");
  for (std::size_t i = 0; i < kLimit; ++i) EXPECT_EQ(values.at(i).payload, std::to_string(i));
  ASSERT_TRUE(waitUntil([&] { return pub.stats().published == kLimit && pub.room() == kLimit; }));
  EXPECT_GE(rec.readyCalls(), 1u);
  EXPECT_EQ(pub.publish(std::move(extra)), MqttPublishStatus::Accepted);
}

// In flight on a broker that never acknowledges and then drops the connection: the next broker of
// the list gets them again, first and in order (at least once), counted as resent; a retained
// value re-sent does not replace a newer one.
TEST_F(KitMqttPublisher, InFlightMessagesGoAgainFirstAndInOrderOnTheNextBroker) {
  SilentBroker silent(4, true);
  MqttTestSubscriber app(broker_.uri(), "app");
  app.connect();
  app.subscribe("kit/#", 1);
  MqttPublisher pub(optionsFor({silent.uri(), broker_.uri()}, "kit-resend"));
  Recorder rec;
  rec.attach(pub);
  ASSERT_TRUE(pub.start().ok());
  ASSERT_TRUE(waitUntil([&] { return pub.connected(); }));   // to the silent one, listed first
  for (const char* v : {"1", "2", "3"}) ASSERT_EQ(pub.publish(msg("kit/n", v)), MqttPublishStatus::Accepted);
  ASSERT_EQ(pub.publish(msg("kit/r", "old", 1, true)), MqttPublishStatus::Accepted);
  ASSERT_TRUE(waitUntil([&] { return silent.closed(); }));
  ASSERT_EQ(silent.publishes().size(), 4u);
  // Accepted after the connection broke: newer than the retained one in flight.
  ASSERT_TRUE(waitUntil([&] { return !pub.connected(); }));
  ASSERT_EQ(pub.publish(msg("kit/r", "new", 1, true)), MqttPublishStatus::Accepted);

  ASSERT_TRUE(app.waitFor(countOn("kit/r", 2), 15s)) << rec.details();
  const auto n = app.on("kit/n");
  ASSERT_EQ(n.size(), 3u);
  EXPECT_EQ(n[0].payload, "1");
  EXPECT_EQ(n[1].payload, "2");
  EXPECT_EQ(n[2].payload, "3");
  EXPECT_EQ(app.on("kit/r").at(0).payload, "old");
  EXPECT_EQ(app.on("kit/r").at(1).payload, "new");
  ASSERT_TRUE(waitUntil([&] { return pub.stats().published == 5; }));
  EXPECT_EQ(pub.stats().resent, 4u);
  EXPECT_EQ(pub.stats().connections, 2u);
  EXPECT_EQ(pub.stats().failed, 0u);
  EXPECT_GE(rec.count(MqttPublisherEvent::ConnectionLost), 1u) << rec.details();
  MqttTestSubscriber late(broker_.uri(), "late");
  late.connect();
  late.subscribe("kit/r");
  ASSERT_TRUE(late.waitFor(countOn("kit/r", 1)));
  EXPECT_EQ(late.on("kit/r").at(0).payload, "new");
}

TEST(KitMqttPublisherConnect, ABrokerThatNeverAnswersTimesOutAndTheNextIsTried) {
  SilentBroker mute(1, false);
  MosquittoFixture broker;
  ASSERT_EQ(broker.start(), "");
  auto o = optionsFor({mute.uri(), broker.uri()}, "kit-timeout");
  o.connectTimeout = 300ms;
  MqttPublisher pub(o);
  Recorder rec;
  rec.attach(pub);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(pub.start().ok());
  ASSERT_TRUE(waitUntil([&] { return pub.connected(); }));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 250ms);
  EXPECT_EQ(rec.count(MqttPublisherEvent::ConnectFailed), 1u) << rec.details();
  EXPECT_NE(rec.details().find(mute.uri() + ": no answer within 300 ms"), std::string::npos) << rec.details();
}

// stop(): the buffer goes out, then `offline`, then DISCONNECT (no will); nothing is left pending.
TEST_F(KitMqttPublisher, StopSendsWhatIsBufferedThenOffline) {
  constexpr int kValues = 500;
  MqttTestSubscriber app(broker_.uri(), "app");
  app.connect();
  app.subscribe("kit/#", 1);
  auto o = optionsFor({broker_.uri()}, "kit-stop");
  o.online = msg("kit/status", "online", 1, true);
  o.offline = msg("kit/status", "offline", 1, true);
  o.will = msg("kit/status", "lost", 1, true);
  MqttPublisher pub(o);
  ASSERT_TRUE(pub.start().ok());
  ASSERT_TRUE(app.waitFor(payloadOn("kit/status", "online")));
  for (int i = 0; i < kValues; ++i) ASSERT_EQ(pub.publish(msg("kit/v", std::to_string(i))), MqttPublishStatus::Accepted);
  pub.stop();
  EXPECT_EQ(pub.stats().published, static_cast<std::uint64_t>(kValues));
  EXPECT_EQ(pub.stats().pending, 0u);
  EXPECT_EQ(pub.stats().failed, 0u);
  EXPECT_FALSE(pub.connected());
  EXPECT_EQ(pub.publish(msg("kit/v", "late")), MqttPublishStatus::Stopped);
  ASSERT_TRUE(app.waitFor(payloadOn("kit/status", "offline")));
  ASSERT_TRUE(app.waitFor(countOn("kit/v", kValues)));
  std::this_thread::sleep_for(300ms);   // a will would come now
  const auto all = app.messages();
  EXPECT_EQ(all.back().topic, "kit/status");
  EXPECT_EQ(all.back().payload, "offline");
  EXPECT_TRUE(app.on("kit/status").size() == 2u) << "online, offline, and no will";
}

TEST_F(KitMqttPublisher, HandlersRunOnTheIoThreadAndWakeCallsTheReadyHandler) {
  auto o = optionsFor({broker_.uri()}, "kit-threads-name");
  o.threadName = "kit-test-io";
  MqttPublisher pub(o);
  Recorder rec;
  rec.attach(pub);
  ASSERT_TRUE(pub.start().ok());
  ASSERT_TRUE(waitUntil([&] { return rec.readyCalls() >= 1; }));   // after the connection
  const std::size_t before = rec.readyCalls();
  pub.wake();
  ASSERT_TRUE(waitUntil([&] { return rec.readyCalls() > before; }));
  std::lock_guard lock(rec.mu);
  for (const auto& name : rec.readyThreads) EXPECT_EQ(name, "kit-test-io");
}

TEST(KitMqttPublisherTls, VerifiesTheBrokerAndPresentsTheClientCertificate) {
  MosquittoFixture broker(MosquittoOptions{.tls = true, .requireClientCert = true});
  ASSERT_EQ(broker.start(), "");
  auto connects = [&](const std::string& ca, bool clientCert, const std::string& id) {
    auto o = optionsFor({broker.uri()}, id);
    o.caFile = ca;
    if (clientCert) {
      o.certFile = broker.clientCertFile();
      o.keyFile = broker.clientKeyFile();
    }
    MqttPublisher pub(o);
    Recorder rec;
    rec.attach(pub);
    EXPECT_TRUE(pub.start().ok());
    const bool up = waitUntil([&] { return pub.connected() || rec.count(MqttPublisherEvent::ConnectFailed) > 0; });
    bool published = false;
    if (up && pub.connected()) {
      EXPECT_EQ(pub.publish(msg("kit/tls", "x")), MqttPublishStatus::Accepted);
      published = waitUntil([&] { return pub.stats().published == 1; });
    }
    return published;
  };
  EXPECT_TRUE(connects(broker.caFile(), true, "kit-mtls"));
  EXPECT_FALSE(connects(broker.caFile(), false, "kit-no-cert"));          // the broker wants a certificate
  EXPECT_FALSE(connects(broker.otherCaFile(), true, "kit-other-ca"));     // not the CA that signed the broker
}

TEST(KitMqttPublisherOptions, UnusableOptionsAreRefusedByStart) {
  auto refused = [](auto change) {
    auto o = optionsFor({"tcp://127.0.0.1:1883"}, "x");
    change(o);
    MqttPublisher p(o);
    auto r = p.start();
    EXPECT_FALSE(r.ok());
    return r.ok() ? std::string() : r.error().message;
  };
  EXPECT_NE(refused([](auto& o) { o.brokers.clear(); }).find("no broker"), std::string::npos);
  EXPECT_NE(refused([](auto& o) { o.brokers = {"ws://127.0.0.1:1"}; }).find("unsupported scheme"), std::string::npos);
  EXPECT_NE(refused([](auto& o) { o.brokers = {"bogus://127.0.0.1:1"}; }).find("unsupported scheme"), std::string::npos);
  EXPECT_NE(refused([](auto& o) { o.brokers = {"tcp://127.0.0.1:99999"}; }).find("port"), std::string::npos);
  EXPECT_NE(refused([](auto& o) { o.brokers = {"tcp://:1883"}; }).find("host"), std::string::npos);
  EXPECT_NE(refused([](auto& o) { o.clientId.clear(); }).find("client id"), std::string::npos);
  EXPECT_NE(refused([](auto& o) { o.keepAliveS = 1; }).find("keep-alive"), std::string::npos);
  EXPECT_NE(refused([](auto& o) { o.certFile = "/nonexistent.pem"; }).find("both"), std::string::npos);
  EXPECT_NE(refused([](auto& o) { o.caFile = "/nonexistent/ca.pem"; }).find("cannot read /nonexistent/ca.pem"),
            std::string::npos);
  EXPECT_NE(refused([](auto& o) { o.will = msg("a/#", "x"); }).find("will"), std::string::npos);
  EXPECT_NE(refused([](auto& o) { o.bufferLimit = 0; }).find("buffer"), std::string::npos);

  MqttPublisher ok(optionsFor({"tcp://[::1]:1", "mqtts://127.0.0.1"}, "y"));   // default port 8883: nobody
  ASSERT_TRUE(ok.start().ok());
  EXPECT_FALSE(ok.start().ok());   // twice
  EXPECT_EQ(ok.publish(msg("a/#", "x")), MqttPublishStatus::Invalid);
  EXPECT_EQ(ok.publish(msg("", "x")), MqttPublishStatus::Invalid);
  EXPECT_EQ(ok.publish(msg("a/b", "x", 3)), MqttPublishStatus::Invalid);
  EXPECT_EQ(ok.publish(msg("a/b", "x", 0)), MqttPublishStatus::Accepted);   // buffered: nobody listens there
  ok.stop(100ms);
  EXPECT_EQ(ok.stats().failed, 1u);   // still pending when it stopped
  EXPECT_EQ(ok.stats().pending, 0u);
}

}  // namespace
}  // namespace gatehouse::kit
