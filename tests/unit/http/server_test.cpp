// The server over real loopback sockets: framing, keep-alive, pipelining, errors, limits.

#include <netinet/tcp.h>
#include <sys/resource.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "http/socket_util.h"
#include "server_fixture.h"

namespace gatehouse::test {
namespace {

TEST(HttpServer, GetWithKeepAliveAndStandardHeaders) {
  auto server = startServer(testOptions(), echoHandler());
  ASSERT_TRUE(server);
  Client c = Client::connectTo(server->port());
  ASSERT_TRUE(c.ok());
  for (int i = 0; i < 3; ++i) {  // three requests on one connection
    ASSERT_TRUE(c.send(get("/a/" + std::to_string(i))));
    auto r = c.readResponse();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "{\"path\":\"/a/" + std::to_string(i) + "\",\"body\":\"\"}");
    EXPECT_EQ(r->header("server"), "gatehouse");
    EXPECT_EQ(r->header("content-type"), "application/json");
    EXPECT_EQ(r->header("content-length"), std::to_string(r->body.size()));
    EXPECT_TRUE(r->header("date"));
    EXPECT_FALSE(r->header("connection"));
    EXPECT_EQ(r->header("x-method"), "GET");
  }
  EXPECT_EQ(server->openConnections(), 1u);
}

TEST(HttpServer, Http10ClosesUnlessKeepAliveAsked) {
  auto server = startServer(testOptions(), echoHandler());
  ASSERT_TRUE(server);
  {
    Client c = Client::connectTo(server->port());
    ASSERT_TRUE(c.send("GET /x HTTP/1.0\r\n\r\n"));
    auto r = c.readResponse();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("connection"), "close");
    EXPECT_TRUE(c.waitClosed(Ms(2000)));
  }
  {
    Client c = Client::connectTo(server->port());
    ASSERT_TRUE(c.send("GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto r = c.readResponse();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("connection"), "keep-alive");
    ASSERT_TRUE(c.send("GET /y HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto r2 = c.readResponse();
    ASSERT_TRUE(r2);
    EXPECT_EQ(r2->body, "{\"path\":\"/y\",\"body\":\"\"}");
  }
}

TEST(HttpServer, ConnectionCloseIsHonouredAndLaterPipelinedRequestsIgnored) {
  std::atomic<int> calls{0};
  auto server = startServer(testOptions(), [&](Request& req, Responder responder) {
    ++calls;
    responder.respond(Response{});
  });
  ASSERT_TRUE(server);
  Client c = Client::connectTo(server->port());
  ASSERT_TRUE(c.send("GET /1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n"));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(c.waitClosed(Ms(2000)));
  EXPECT_TRUE(c.buffer().empty());  // no second response
  EXPECT_EQ(calls.load(), 1);
}

TEST(HttpServer, HeadGivesGetHeadersWithoutBody) {
  auto server = startServer(testOptions(), [](Request& req, Responder responder) {
    Response r;
    r.body = std::string(1234, 'x');  // the same answer whatever the method
    responder.respond(std::move(r));
  });
  ASSERT_TRUE(server);
  Client c = Client::connectTo(server->port());
  ASSERT_TRUE(c.send("HEAD /r HTTP/1.1\r\nHost: h\r\n\r\n"));
  auto head = c.readResponse(Ms(3000), /*headOnly=*/true);
  ASSERT_TRUE(head);
  ASSERT_TRUE(c.send(get("/r")));
  auto full = c.readResponse();
  ASSERT_TRUE(full);
  EXPECT_EQ(head->header("content-length"), "1234");
  EXPECT_EQ(full->header("content-length"), "1234");
  EXPECT_EQ(full->body.size(), 1234u);
  EXPECT_EQ(head->header("content-type"), full->header("content-type"));
  // The GET response started right after the HEAD head: no stray body bytes in between.
  EXPECT_TRUE(c.buffer().empty());
}

TEST(HttpServer, PipelinedRequestsAnsweredInOrderWhenCompletedOutOfOrder) {
  std::mutex mu;
  std::vector<std::thread> workers;
  auto server = startServer(testOptions(), [&](Request& req, Responder responder) {
    const std::string path = req.path;
    const int delayMs = path == "/slow" ? 150 : 0;
    std::lock_guard lock(mu);
    workers.emplace_back([path, delayMs, responder = std::move(responder)]() mutable {
      std::this_thread::sleep_for(Ms(delayMs));  // a device that answers late
      Response r;
      r.body = path;
      responder.respond(std::move(r));
    });
  });
  ASSERT_TRUE(server);
  Client c = Client::connectTo(server->port());
  ASSERT_TRUE(c.send(get("/slow") + get("/fast1") + get("/fast2")));
  std::vector<std::string> bodies;
  for (int i = 0; i < 3; ++i) {
    auto r = c.readResponse();
    ASSERT_TRUE(r);
    bodies.push_back(r->body);
  }
  EXPECT_EQ(bodies, (std::vector<std::string>{"/slow", "/fast1", "/fast2"}));
  std::lock_guard lock(mu);
  for (auto& t : workers) t.join();
}

TEST(HttpServer, UnusedResponderAnswers500) {
  std::mutex mu;
  std::vector<std::thread> workers;
  auto server = startServer(testOptions(), [&](Request& req, Responder responder) {
    if (req.path == "/sync") return;  // dropped on the loop thread
    if (req.path == "/throw") throw std::runtime_error("boom");
    std::lock_guard lock(mu);
    workers.emplace_back([r = std::move(responder)] {});  // dropped on another thread
  });
  ASSERT_TRUE(server);
  for (const char* path : {"/sync", "/async", "/throw"}) {
    auto r = fetch(server->port(), get(path));
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 500) << path;
    EXPECT_EQ(r->body, std::string("{\"type\":\"ERROR\",\"uri\":\"") + path +
                           "\",\"statusCode\":500,\"error\":\"the handler did not respond\"}");
  }
  std::lock_guard lock(mu);
  for (auto& t : workers) t.join();
}

TEST(HttpServer, ServerErrorsAreJsonAndClose) {
  ServerOptions o = testOptions();
  o.maxHeaderBytes = 256;
  auto server = startServer(o, echoHandler());
  ASSERT_TRUE(server);
  struct Case {
    std::string request;
    int status;
    std::string uri;
  };
  const std::vector<Case> cases = {
      {"GET /nohost HTTP/1.1\r\n\r\n", 400, "/nohost"},
      {"GET /v HTTP/2.0\r\nHost: h\r\n\r\n", 505, "/v"},
      {"POST /te HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "/te"},
      {"GET /big HTTP/1.1\r\nHost: h\r\nX: " + std::string(400, 'a') + "\r\n\r\n", 431, ""},
      {"GET /fold HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400, "/fold"},
      {"POST /cl HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400, "/cl"},
  };
  for (const auto& tc : cases) {
    Client c = Client::connectTo(server->port());
    ASSERT_TRUE(c.send(tc.request));
    auto r = c.readResponse();
    ASSERT_TRUE(r) << tc.request;
    EXPECT_EQ(r->status, tc.status) << tc.request;
    EXPECT_EQ(r->header("connection"), "close");
    EXPECT_NE(r->body.find("{\"type\":\"ERROR\",\"uri\":\"" + tc.uri + "\",\"statusCode\":" +
                           std::to_string(tc.status) + ",\"error\":\""),
              std::string::npos)
        << r->body;
    EXPECT_TRUE(c.waitClosed(Ms(2000)));
  }
}

TEST(HttpServer, ErrorAfterPipelinedAsyncRequestKeepsOrder) {
  std::vector<std::thread> workers;
  std::mutex mu;
  auto server = startServer(testOptions(), [&](Request& req, Responder responder) {
    std::lock_guard lock(mu);
    workers.emplace_back([responder = std::move(responder)]() mutable {
      std::this_thread::sleep_for(Ms(100));
      responder.respond(Response{});
    });
  });
  ASSERT_TRUE(server);
  Client c = Client::connectTo(server->port());
  ASSERT_TRUE(c.send(get("/ok") + "BROKEN\r\n\r\n"));
  auto first = c.readResponse();
  auto second = c.readResponse();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(second->status, 400);
  EXPECT_TRUE(c.waitClosed(Ms(2000)));
  std::lock_guard lock(mu);
  for (auto& t : workers) t.join();
}

TEST(HttpServer, ChunkedRequestBodyIsDecoded) {
  auto server = startServer(testOptions(), echoHandler());
  ASSERT_TRUE(server);
  Client c = Client::connectTo(server->port());
  ASSERT_TRUE(c.send("POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n"));
  ASSERT_TRUE(c.send("2;x=y\r\nef\r\n0\r\n\r\n"));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "{\"path\":\"/c\",\"body\":\"abcdef\"}");
}

TEST(HttpServer, ExpectContinueWithinLimit) {
  auto server = startServer(testOptions(), echoHandler());
  ASSERT_TRUE(server);
  Client c = Client::connectTo(server->port());
  ASSERT_TRUE(c.send("POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"));
  auto interim = c.readResponse();  // the client waits for this before sending the body
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.send("xyz"));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "{\"path\":\"/e\",\"body\":\"xyz\"}");
}

TEST(HttpServer, ExpectContinueOverLimitGets413WithoutContinue) {
  ServerOptions o = testOptions();
  o.maxBodyBytes = 100;
  auto server = startServer(o, echoHandler());
  ASSERT_TRUE(server);
  Client c = Client::connectTo(server->port());
  ASSERT_TRUE(c.send("POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 101\r\n\r\n"));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(c.waitClosed(Ms(2000)));
}

TEST(HttpServer, OversizedBodyGets413AndCloseWithoutReadingItAll) {
  ServerOptions o = testOptions();
  o.maxBodyBytes = 1000;
  std::atomic<int> calls{0};
  auto server = startServer(o, [&](Request&, Responder responder) {
    ++calls;
    responder.respond(Response{});
  });
  ASSERT_TRUE(server);
  Client c = Client::connectTo(server->port());
  // Declares 50 MB and starts sending; the server must answer without waiting for it.
  ASSERT_TRUE(c.send("POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 50000000\r\n\r\n" + std::string(4096, 'b')));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(c.waitClosed(Ms(3000)));
  // Chunked bodies are bounded by the decoded size.
  Client d = Client::connectTo(server->port());
  ASSERT_TRUE(d.send("POST /big HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"));
  for (int i = 0; i < 3; ++i) d.send("190\r\n" + std::string(400, 'c') + "\r\n");
  auto r2 = d.readResponse();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 413);
  EXPECT_EQ(calls.load(), 0);
}

TEST(HttpServer, ResponseHeadersAreSanitised) {
  auto server = startServer(testOptions(), [](Request& req, Responder responder) {
    Response r;
    if (req.path == "/204") {
      r.status = 204;
      r.body = "ignored";
    } else if (req.path == "/bad-status") {
      r.status = 42;
    } else {
      r.headers.push_back({"X-Inject", "a\r\nSet-Cookie: evil=1"});
      r.headers.push_back({"Bad Name", "v"});
      r.headers.push_back({"Content-Length", "999"});
      r.headers.push_back({"Allow", "GET, HEAD"});
      r.body = "ok";
    }
    responder.respond(std::move(r));
  });
  ASSERT_TRUE(server);
  Client c = Client::connectTo(server->port());
  ASSERT_TRUE(c.send(get("/h")));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->header("x-inject"));
  EXPECT_FALSE(r->header("set-cookie"));
  EXPECT_FALSE(r->header("bad name"));
  EXPECT_EQ(r->header("content-length"), "2");
  EXPECT_EQ(r->header("allow"), "GET, HEAD");
  ASSERT_TRUE(c.send(get("/204")));
  auto n = c.readResponse();
  ASSERT_TRUE(n);
  EXPECT_EQ(n->status, 204);
  EXPECT_FALSE(n->header("content-length"));
  ASSERT_TRUE(c.send(get("/bad-status")));
  auto b = c.readResponse();  // also proves the 204 carried no body bytes
  ASSERT_TRUE(b);
  EXPECT_EQ(b->status, 500);
}

TEST(HttpServer, ObserverSeesStatusAndLatency) {
  std::mutex mu;
  std::vector<std::pair<std::string, int>> seen;
  std::vector<std::chrono::nanoseconds> latencies;
  std::vector<std::thread> workers;
  ServerOptions o = testOptions();
  Server server(o, [&](Request& req, Responder responder) {
    std::lock_guard lock(mu);
    workers.emplace_back([responder = std::move(responder)]() mutable {
      std::this_thread::sleep_for(Ms(30));
      Response r;
      r.status = 201;
      responder.respond(std::move(r));
    });
  });
  server.setObserver([&](const Request& req, int status, std::chrono::nanoseconds latency) {
    std::lock_guard lock(mu);
    seen.emplace_back(req.path, status);
    latencies.push_back(latency);
  });
  ASSERT_TRUE(server.start().ok());
  auto r = fetch(server.port(), get("/observed"));
  ASSERT_TRUE(r);
  auto e = fetch(server.port(), "GET /bad HTTP/9.9\r\n\r\n");
  ASSERT_TRUE(e);
  ASSERT_TRUE(waitFor([&] {
    std::lock_guard lock(mu);
    return seen.size() == 2;
  }));
  std::lock_guard lock(mu);
  EXPECT_EQ(seen[0], (std::pair<std::string, int>{"/observed", 201}));
  EXPECT_GE(latencies[0], std::chrono::milliseconds(25));
  EXPECT_EQ(seen[1], (std::pair<std::string, int>{"/bad", 505}));
  for (auto& t : workers) t.join();
}

TEST(HttpServer, ConnectionsSpreadAcrossLoops) {
  std::mutex mu;
  std::set<std::thread::id> threads;
  auto server = startServer(testOptions(), [&](Request&, Responder responder) {
    {
      std::lock_guard lock(mu);
      threads.insert(std::this_thread::get_id());
    }
    responder.respond(Response{});
  });
  ASSERT_TRUE(server);
  std::vector<Client> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(Client::connectTo(server->port()));
    ASSERT_TRUE(clients.back().send(get("/")));
    ASSERT_TRUE(clients.back().readResponse());
  }
  EXPECT_EQ(threads.size(), 2u);
  EXPECT_EQ(server->loopConnectionCounts(), (std::vector<std::size_t>{4, 4}));
}

TEST(HttpServer, OverMaxConnectionsClosesAndListenerStaysHealthy) {
  ServerOptions o = testOptions();
  o.maxConnections = 3;
  auto server = startServer(o, echoHandler());
  ASSERT_TRUE(server);
  std::vector<Client> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(Client::connectTo(server->port()));
    ASSERT_TRUE(held.back().send(get("/")));
    ASSERT_TRUE(held.back().readResponse());
  }
  EXPECT_EQ(server->openConnections(), 3u);
  Client extra = Client::connectTo(server->port());
  ASSERT_TRUE(extra.ok());
  EXPECT_TRUE(extra.waitClosed(Ms(2000)));  // accepted and closed at once
  EXPECT_NE(extra.buffer().find("503 Service Unavailable"), std::string::npos);
  held.pop_back();  // free a place
  ASSERT_TRUE(waitFor([&] { return server->openConnections() == 2; }));
  auto r = fetch(server->port(), get("/again"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(HttpServer, HeaderAndBodyTimeoutsAnswer408IdleTimeoutCloses) {
  ServerOptions o = testOptions();
  o.headerTimeoutMs = 300;
  o.bodyTimeoutMs = 300;
  o.idleTimeoutMs = 300;
  auto server = startServer(o, echoHandler());
  ASSERT_TRUE(server);
  {
    Client c = Client::connectTo(server->port());
    const auto t0 = SteadyClock::now();
    ASSERT_TRUE(c.send("GET /slow HTTP/1.1\r\nHost"));
    auto r = c.readResponse(Ms(3000));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 408);
    EXPECT_GE(SteadyClock::now() - t0, Ms(250));
    EXPECT_TRUE(c.waitClosed(Ms(2000)));
  }
  {
    Client c = Client::connectTo(server->port());
    ASSERT_TRUE(c.send("POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc"));
    auto r = c.readResponse(Ms(3000));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 408);
    EXPECT_NE(r->body.find("\"uri\":\"/b\""), std::string::npos);
  }
  {
    Client c = Client::connectTo(server->port());
    ASSERT_TRUE(c.send(get("/")));
    ASSERT_TRUE(c.readResponse());
    const auto t0 = SteadyClock::now();
    EXPECT_TRUE(c.waitClosed(Ms(3000)));  // idle keep-alive: closed silently
    EXPECT_GE(SteadyClock::now() - t0, Ms(250));
    EXPECT_TRUE(c.buffer().empty());
  }
  EXPECT_TRUE(waitFor([&] { return server->openConnections() == 0; }));
}

TEST(HttpServer, StartErrorNamesAddressAndReason) {
  auto first = startServer(testOptions(), echoHandler());
  ASSERT_TRUE(first);
  ServerOptions o = testOptions();
  o.port = first->port();
  Server second(o, echoHandler());
  auto r = second.start();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("127.0.0.1:" + std::to_string(first->port())), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("Address already in use"), std::string::npos) << r.error().message;
  ServerOptions bad = testOptions();
  bad.address = "300.1.1.1";
  Server third(bad, echoHandler());
  auto r3 = third.start();
  ASSERT_FALSE(r3.ok());
  EXPECT_NE(r3.error().message.find("300.1.1.1:0"), std::string::npos) << r3.error().message;
}

TEST(HttpServer, StartRaisesFileLimitToHardLimit) {
  rlimit lim{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
  if (lim.rlim_max <= 256) GTEST_SKIP() << "hard limit too low to lower the soft one";
  rlimit lowered = lim;
  lowered.rlim_cur = 256;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  auto server = startServer(testOptions(), echoHandler());
  ASSERT_TRUE(server);
  rlimit now{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &now), 0);
  EXPECT_EQ(now.rlim_cur, lim.rlim_max);
}

TEST(HttpServer, AcceptedSocketsGetTcpNoDelay) {
  // The function the accept path calls, checked on a real accepted TCP socket.
  auto server = startServer(testOptions(), echoHandler());  // only for a port that is free to reuse
  ASSERT_TRUE(server);
  const int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(lfd, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
  Client c = Client::connectTo(ntohs(addr.sin_port));
  const int afd = ::accept(lfd, nullptr, nullptr);
  ASSERT_GE(afd, 0);
  int flag = 0;
  len = sizeof flag;
  ::getsockopt(afd, IPPROTO_TCP, TCP_NODELAY, &flag, &len);
  EXPECT_EQ(flag, 0);
  EXPECT_TRUE(core::http::detail::configureAcceptedSocket(afd));
  ::getsockopt(afd, IPPROTO_TCP, TCP_NODELAY, &flag, &len);
  EXPECT_NE(flag, 0);
  ::close(afd);
  ::close(lfd);
}

TEST(HttpServer, PeerAddressIsReported) {
  std::mutex mu;
  std::string peer;
  auto server = startServer(testOptions(), [&](Request& req, Responder responder) {
    {
      std::lock_guard lock(mu);
      peer = req.peer;
    }
    responder.respond(Response{});
  });
  ASSERT_TRUE(server);
  Client c = Client::connectTo(server->port());
  sockaddr_in local{};
  socklen_t len = sizeof local;
  ::getsockname(c.fd(), reinterpret_cast<sockaddr*>(&local), &len);
  ASSERT_TRUE(c.send(get("/")));
  ASSERT_TRUE(c.readResponse());
  std::lock_guard lock(mu);
  EXPECT_EQ(peer, "127.0.0.1:" + std::to_string(ntohs(local.sin_port)));
}

}  // namespace
}  // namespace gatehouse::test
