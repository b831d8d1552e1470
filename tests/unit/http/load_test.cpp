// Load-shaped behaviour: thousands of idle connections, a slowloris, a thousand live streams.
// Each still runs in a few seconds on a 2-core box.

#include <malloc.h>
#include <sys/epoll.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "server_fixture.h"

#if defined(__SANITIZE_ADDRESS__)
#define GATEHOUSE_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GATEHOUSE_TEST_ASAN 1
#endif
#endif

namespace gatehouse::test {
namespace {

using core::http::StreamPtr;

Ms timedGet(Client& c, const std::string& path) {
  const auto t0 = SteadyClock::now();
  if (!c.send(get(path))) return Ms(100000);
  auto r = c.readResponse(Ms(5000));
  if (!r || r->status != 200) return Ms(100000);
  return std::chrono::duration_cast<Ms>(SteadyClock::now() - t0);
}

TEST(HttpLoad, FiveThousandIdleConnectionsAndASlowloris) {
  raiseNoFileLimit();
  constexpr int kIdle = 5000;
  ServerOptions o = testOptions();
  o.headerTimeoutMs = 1000;
  auto server = startServer(o, echoHandler());
  ASSERT_TRUE(server);

  std::vector<Client> idle;
  idle.reserve(kIdle);
  const std::size_t heapBefore = ::mallinfo2().uordblks;
  for (int i = 0; i < kIdle; ++i) {
    idle.push_back(Client::connectTo(server->port()));
    ASSERT_TRUE(idle.back().ok()) << i;
    // One request each, so these are real keep-alive connections gone idle.
    ASSERT_TRUE(idle.back().send(get("/warm")));
    ASSERT_TRUE(idle.back().readResponse()) << i;
    std::string().swap(idle.back().buffer());
  }
  ASSERT_TRUE(waitFor([&] { return server->openConnections() == static_cast<std::size_t>(kIdle); }));
  const std::size_t heapAfter = ::mallinfo2().uordblks;
  const double perConnection = (static_cast<double>(heapAfter) - static_cast<double>(heapBefore)) / kIdle;
  std::printf("heap per idle keep-alive connection: %.0f bytes\n", perConnection);
#ifndef GATEHOUSE_TEST_ASAN
  EXPECT_LT(perConnection, 2048.0);  // no preallocated buffers per connection
#endif

  // A fresh connection is served within 100 ms. The machines are shared and noisy, so the
  // median of five tries is held to that and each single try only to a second.
  std::vector<Ms> fresh;
  for (int i = 0; i < 5; ++i) {
    Client c = Client::connectTo(server->port());
    ASSERT_TRUE(c.ok());
    fresh.push_back(timedGet(c, "/fresh"));
  }
  std::sort(fresh.begin(), fresh.end());
  EXPECT_LT(fresh[2], Ms(100));
  EXPECT_LT(fresh[4], Ms(1000));

  // Slowloris: one header byte every 100 ms. It must get 408 at the header timeout, while a
  // normal client keeps being served.
  std::atomic<bool> slowDone{false};
  int slowStatus = 0;
  Ms slowAfter{0};
  std::thread slow([&] {
    Client s = Client::connectTo(server->port());
    const auto t0 = SteadyClock::now();
    const std::string request = "GET /slow HTTP/1.1\r\nHost: h\r\nX-Pad: " + std::string(200, 'p') + "\r\n\r\n";
    for (char ch : request) {
      if (!s.send(std::string_view(&ch, 1))) break;
      pollfd p{s.fd(), POLLIN, 0};
      if (::poll(&p, 1, 100) > 0) break;  // the server answered (or closed)
    }
    auto r = s.readResponse(Ms(3000));
    slowAfter = std::chrono::duration_cast<Ms>(SteadyClock::now() - t0);
    slowStatus = r ? r->status : -1;
    slowDone = true;
  });
  Client normal = Client::connectTo(server->port());
  std::vector<Ms> latencies;
  while (!slowDone) {
    latencies.push_back(timedGet(normal, "/normal"));
    std::this_thread::sleep_for(Ms(20));  // pacing of the normal client, not synchronisation
  }
  slow.join();
  EXPECT_EQ(slowStatus, 408);
  EXPECT_GE(slowAfter, Ms(900));
  EXPECT_LT(slowAfter, Ms(2000));
  ASSERT_GE(latencies.size(), 10u);
  std::sort(latencies.begin(), latencies.end());
  EXPECT_LT(latencies[latencies.size() / 2], Ms(20));   // served normally meanwhile
  EXPECT_LT(latencies.back(), Ms(1000));                // every request answered (100000 = failed)
}

TEST(HttpLoad, ThousandStreamsFedEvery50msWhileGetsStayFast) {
  raiseNoFileLimit();
  constexpr int kStreams = 1000;
  std::mutex mu;
  std::vector<StreamPtr> streams;
  auto server = startServer(testOptions(), [&](Request& req, Responder responder) {
    if (req.path == "/stream") {
      auto s = responder.startStream(200, "text/event-stream");
      std::lock_guard lock(mu);
      streams.push_back(std::move(s));
      return;
    }
    responder.respond(Response{200, "application/json", "{\"ok\":true}", {}});
  });
  ASSERT_TRUE(server);

  std::vector<Client> clients;
  clients.reserve(kStreams);
  for (int i = 0; i < kStreams; ++i) {
    clients.push_back(Client::connectTo(server->port()));
    ASSERT_TRUE(clients.back().ok());
    ASSERT_TRUE(clients.back().send(get("/stream")));
  }
  ASSERT_TRUE(waitFor([&] {
    std::lock_guard lock(mu);
    return streams.size() == kStreams;
  }, Ms(10000)));

  // One reader drains every stream socket and counts events per stream.
  std::atomic<bool> stop{false};
  std::vector<std::size_t> events(kStreams, 0);
  std::thread reader([&] {
    const int ep = ::epoll_create1(0);
    for (int i = 0; i < kStreams; ++i) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u32 = static_cast<std::uint32_t>(i);
      ::epoll_ctl(ep, EPOLL_CTL_ADD, clients[static_cast<std::size_t>(i)].fd(), &ev);
    }
    std::vector<epoll_event> ready(256);
    char buf[65536];
    while (!stop) {
      const int n = ::epoll_wait(ep, ready.data(), static_cast<int>(ready.size()), 50);
      for (int k = 0; k < n; ++k) {
        const std::uint32_t i = ready[static_cast<std::size_t>(k)].data.u32;
        const ssize_t got = ::recv(clients[i].fd(), buf, sizeof buf, MSG_DONTWAIT);
        if (got > 0) events[i] += static_cast<std::size_t>(std::count(buf, buf + got, '{'));
      }
    }
    ::close(ep);
  });
  // One feeder writes to every stream every 50 ms.
  std::atomic<std::size_t> refused{0};
  std::thread feeder([&] {
    std::vector<StreamPtr> local;
    {
      std::lock_guard lock(mu);
      local = streams;
    }
    while (!stop) {
      const auto next = SteadyClock::now() + Ms(50);
      for (auto& s : local) {
        if (!s->write("data: {\"v\":42}\n")) ++refused;
      }
      std::this_thread::sleep_until(next);
    }
  });

  std::vector<Ms> latencies;
  Client normal = Client::connectTo(server->port());
  for (int i = 0; i < 40; ++i) {
    latencies.push_back(timedGet(normal, "/plain"));
    Client fresh = Client::connectTo(server->port());
    latencies.push_back(timedGet(fresh, "/plain"));
    std::this_thread::sleep_for(Ms(25));  // pacing
  }
  stop = true;
  feeder.join();
  reader.join();

  std::sort(latencies.begin(), latencies.end());
  const Ms median = latencies[latencies.size() / 2];
  const Ms worst = latencies.back();
  std::printf("GET latency with %d streams: median %lld ms, max %lld ms\n", kStreams,
              static_cast<long long>(median.count()), static_cast<long long>(worst.count()));
  EXPECT_LE(median, Ms(20));
  EXPECT_LT(worst, Ms(1000));  // generous: shared, noisy machines; a stuck loop shows as 100000
  EXPECT_EQ(refused.load(), 0u);
  const std::size_t starved = static_cast<std::size_t>(
      std::count_if(events.begin(), events.end(), [](std::size_t e) { return e < 10; }));
  EXPECT_EQ(starved, 0u) << "streams that received fewer than 10 events";
  EXPECT_TRUE(waitFor([&] { return server->openConnections() == static_cast<std::size_t>(kStreams) + 1; }));
}

}  // namespace
}  // namespace gatehouse::test
