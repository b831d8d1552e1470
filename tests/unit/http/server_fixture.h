#pragma once
// Starts a real Server on an ephemeral loopback port for one test.

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include "http/server.h"
#include "test_client.h"

namespace gatehouse::test {

using core::http::Handler;
using core::http::Request;
using core::http::Responder;
using core::http::Response;
using core::http::Server;
using core::http::ServerOptions;

inline ServerOptions testOptions() {
  ServerOptions o;
  o.port = 0;
  o.threads = 2;
  return o;
}

inline std::unique_ptr<Server> startServer(ServerOptions options, Handler handler) {
  auto server = std::make_unique<Server>(std::move(options), std::move(handler));
  auto r = server->start();
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  if (!r.ok()) return nullptr;
  return server;
}

// Answers {"path":"<path>"} with the request's method echoed in a header.
inline Handler echoHandler() {
  return [](Request& req, Responder responder) {
    Response r;
    r.body = "{\"path\":\"" + req.path + "\",\"body\":\"" + req.body + "\"}";
    r.headers.push_back({"X-Method", req.method});
    responder.respond(std::move(r));
  };
}

// Polls a condition until it holds or the deadline passes (awaiting state owned by other
// threads, not sleeping for a guessed duration).
inline bool waitFor(const std::function<bool()>& condition, Ms timeout = Ms(3000)) {
  const auto deadline = SteadyClock::now() + timeout;
  while (!condition()) {
    if (SteadyClock::now() >= deadline) return false;
    std::this_thread::sleep_for(Ms(2));
  }
  return true;
}

}  // namespace gatehouse::test
