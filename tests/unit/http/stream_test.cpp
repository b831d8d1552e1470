// Streams (SSE): head, delivery, bounded buffering, disconnect detection, shutdown.

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "server_fixture.h"

namespace gatehouse::test {
namespace {

using core::http::StreamPtr;

// Collects the streams the handler starts; other paths get a plain answer.
struct StreamCollector {
  std::mutex mu;
  std::vector<StreamPtr> streams;
  std::atomic<int> closed{0};

  Handler handler() {
    return [this](Request& req, Responder responder) {
      if (req.path != "/stream") {
        responder.respond(Response{});
        return;
      }
      auto s = responder.startStream(200, "text/event-stream", {{"X-Stream", "1"}});
      s->onClose([this] { ++closed; });
      std::lock_guard lock(mu);
      streams.push_back(std::move(s));
    };
  }
  std::size_t count() {
    std::lock_guard lock(mu);
    return streams.size();
  }
  StreamPtr at(std::size_t i) {
    std::lock_guard lock(mu);
    return streams.at(i);
  }
};

TEST(HttpStream, HeadDataAndServerClose) {
  StreamCollector sc;
  auto server = startServer(testOptions(), sc.handler());
  ASSERT_TRUE(server);
  Client c = Client::connectTo(server->port());
  ASSERT_TRUE(c.send(get("/stream")));
  auto head = c.readResponse();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("content-type"), "text/event-stream");
  EXPECT_EQ(head->header("cache-control"), "no-cache");
  EXPECT_EQ(head->header("connection"), "close");
  EXPECT_EQ(head->header("x-stream"), "1");
  EXPECT_FALSE(head->header("content-length"));
  ASSERT_TRUE(waitFor([&] { return sc.count() == 1; }));
  StreamPtr s = sc.at(0);
  EXPECT_TRUE(s->isOpen());
  // From a thread that is not a loop thread.
  std::thread writer([s] {
    EXPECT_TRUE(s->write("data: one\n\n"));
    EXPECT_TRUE(s->write("data: two\n\n"));
    s->close();
    EXPECT_FALSE(s->write("data: late\n\n"));
  });
  writer.join();
  EXPECT_TRUE(c.waitClosed(Ms(2000)));
  EXPECT_EQ(c.buffer(), "data: one\n\ndata: two\n\n");
  ASSERT_TRUE(waitFor([&] { return sc.closed.load() == 1; }));
  EXPECT_FALSE(s->isOpen());
  // Registered after the end: runs at once, on this thread.
  bool late = false;
  s->onClose([&] { late = true; });
  EXPECT_TRUE(late);
  EXPECT_EQ(sc.closed.load(), 1);
}

TEST(HttpStream, ClientDisconnectEndsStreamPromptly) {
  StreamCollector sc;
  auto server = startServer(testOptions(), sc.handler());
  ASSERT_TRUE(server);
  Client c = Client::connectTo(server->port());
  ASSERT_TRUE(c.send(get("/stream")));
  ASSERT_TRUE(c.readResponse());
  ASSERT_TRUE(waitFor([&] { return sc.count() == 1; }));
  StreamPtr s = sc.at(0);
  ASSERT_TRUE(s->write("data: x\n\n"));
  const auto t0 = SteadyClock::now();
  c.reset();
  ASSERT_TRUE(waitFor([&] { return sc.closed.load() == 1; }, Ms(2000)));
  EXPECT_LT(SteadyClock::now() - t0, Ms(500));
  EXPECT_FALSE(s->isOpen());
  EXPECT_FALSE(s->write("data: y\n\n"));
  EXPECT_TRUE(waitFor([&] { return server->openConnections() == 0; }));
}

// A stream to a client with a 4 KiB receive buffer that reads nothing after the head.
struct SlowReaderStream : ::testing::Test {
  void SetUp() override {
    ServerOptions o = testOptions();
    o.maxStreamBufferBytes = 64 * 1024;
    server = startServer(o, sc.handler());
    ASSERT_TRUE(server);
    c = Client::connectTo(server->port(), /*rcvbuf=*/4096);
    ASSERT_TRUE(c.send(get("/stream")));
    ASSERT_TRUE(c.readResponse());
    ASSERT_TRUE(waitFor([&] { return sc.count() == 1; }));
    s = sc.at(0);
  }
  StreamCollector sc;
  decltype(startServer(testOptions(), Handler{})) server;
  Client c;
  StreamPtr s;
};

TEST_F(SlowReaderStream, WriteFailsWithoutUnboundedGrowth) {
  const std::string chunk(1024, 'z');
  std::size_t accepted = 0;
  bool refused = false;
  const auto deadline = SteadyClock::now() + Ms(5000);
  // The client never reads: once kernel buffers are full, at most maxStreamBufferBytes more
  // are accepted, then write() says no.
  while (SteadyClock::now() < deadline && accepted < (64u << 20)) {
    if (s->write(chunk)) {
      accepted += chunk.size();
    } else {
      refused = true;
      break;
    }
  }
  EXPECT_TRUE(refused);
  EXPECT_LT(accepted, 16u << 20) << "bytes accepted before refusal";
  EXPECT_TRUE(s->isOpen());  // refusing is not closing
  // Once the client drains, writes are accepted again.
  std::thread reader([this] {
    const auto end = SteadyClock::now() + Ms(3000);
    while (SteadyClock::now() < end && c.fill(end)) c.buffer().clear();
  });
  EXPECT_TRUE(waitFor([&] { return s->write("x"); }, Ms(3000)));
  s->close();
  reader.join();
  EXPECT_TRUE(waitFor([&] { return sc.closed.load() == 1; }));
}

TEST_F(SlowReaderStream, AbortDropsTheStuckClientAtOnce) {
  const std::string chunk(1024, 'z');
  const auto deadline = SteadyClock::now() + Ms(5000);
  // Write until refused. Not a second write to check: the loop may drain a little into the
  // kernel between two writes, so a second one can be accepted again (seen in CI under load).
  bool refused = false;
  while (!refused && SteadyClock::now() < deadline) refused = !s->write(chunk);
  ASSERT_TRUE(refused) << "the client's buffers never filled";
  EXPECT_EQ(sc.closed.load(), 0);
  s->abort();
  EXPECT_TRUE(waitFor([&] { return sc.closed.load() == 1; }, Ms(1000)));
  EXPECT_TRUE(waitFor([&] { return server->openConnections() == 0; }, Ms(1000)));
}

TEST(HttpStream, StopEndsStreamsAndConnectionsWithinASecond) {
  StreamCollector sc;
  std::mutex mu;
  std::vector<Responder> parked;  // requests the handler never answers before the stop
  ServerOptions o = testOptions();
  auto server = std::make_unique<Server>(o, [&](Request& req, Responder responder) {
    if (req.path == "/park") {
      std::lock_guard lock(mu);
      parked.push_back(std::move(responder));
      return;
    }
    sc.handler()(req, std::move(responder));
  });
  ASSERT_TRUE(server->start().ok());
  std::vector<Client> clients;
  for (int i = 0; i < 10; ++i) {
    clients.push_back(Client::connectTo(server->port()));
    ASSERT_TRUE(clients.back().send(get(i % 2 ? "/stream" : "/park")));
  }
  ASSERT_TRUE(waitFor([&] {
    std::lock_guard lock(mu);
    return sc.count() == 5 && parked.size() == 5;
  }));
  std::thread writer([&] {
    for (int i = 0; i < 50; ++i) {
      for (std::size_t k = 0; k < 5; ++k) sc.at(k)->write("data: tick\n\n");
      std::this_thread::sleep_for(Ms(2));
    }
  });
  const auto t0 = SteadyClock::now();
  server->stop();
  EXPECT_LT(SteadyClock::now() - t0, Ms(1000));
  writer.join();
  EXPECT_EQ(sc.closed.load(), 5);
  EXPECT_EQ(server->openConnections(), 0u);
  for (auto& c : clients) EXPECT_TRUE(c.waitClosed(Ms(1000)));
  server->stop();  // idempotent
  server.reset();
  // Responders and streams outlive the server harmlessly.
  std::lock_guard lock(mu);
  for (auto& r : parked) r.respond(Response{});
  auto late = Responder().startStream(200, "text/event-stream");
  EXPECT_FALSE(late->isOpen());
  EXPECT_FALSE(sc.at(0)->write("after"));
}

TEST(HttpStream, StreamStartedLaterFromAnotherThread) {
  std::mutex mu;
  std::vector<std::thread> workers;
  std::atomic<int> closed{0};
  auto server = startServer(testOptions(), [&](Request&, Responder responder) {
    std::lock_guard lock(mu);
    workers.emplace_back([&closed, responder = std::move(responder)]() mutable {
      std::this_thread::sleep_for(Ms(50));
      auto s = responder.startStream(200, "text/event-stream");
      s->onClose([&closed] { ++closed; });
      s->write("event: data\ndata: {}\n\n");
      s->close();
    });
  });
  ASSERT_TRUE(server);
  Client c = Client::connectTo(server->port());
  ASSERT_TRUE(c.send(get("/sub")));
  auto head = c.readResponse();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_TRUE(c.waitClosed(Ms(2000)));
  EXPECT_EQ(c.buffer(), "event: data\ndata: {}\n\n");
  EXPECT_TRUE(waitFor([&] { return closed.load() == 1; }));
  std::lock_guard lock(mu);
  for (auto& t : workers) t.join();
}

}  // namespace
}  // namespace gatehouse::test
