#pragma once
// Gatehouse's HTTP/1.1 server: a few epoll event-loop threads, non-blocking sockets, no thread
// per connection, so that thousands of idle keep-alive connections and SSE streams cost memory
// (about a kilobyte each, see server.cpp) rather than threads.
//
// Threads:
//  - Server: construct, setObserver(), start(), stop() and destroy from one controlling thread
//    that is NOT a loop thread (stop() joins the loops). port(), openConnections() and
//    loopConnectionCounts() may be called from any thread.
//  - Handler and Observer run on a loop thread and must not block.
//  - Responder: move-only; respond()/startStream() may be called from any thread, at any time,
//    also after the server stopped (then they do nothing / return an ended stream).
//  - StreamSink: every method from any thread.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "http/message.h"

namespace gatehouse::core::http {

namespace detail {
class Loop;
struct ResponderState;
struct ServerShared;
}  // namespace detail

// A long-lived response body (SSE). Thread-safe: any thread may call any method.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // Queues bytes; false when closed, or when the queued-but-unsent bytes would exceed
  // ServerOptions::maxStreamBufferBytes (then nothing is queued and the stream stays open: the
  // caller decides, e.g. counts a drop). Never blocks.
  virtual bool write(std::string data) = 0;
  // Sends what is queued, then closes the connection.
  virtual void close() = 0;
  // Closes the connection at once, discarding queued bytes: for a client that stopped reading,
  // which close() would wait on forever.
  virtual void abort() = 0;
  virtual bool isOpen() const = 0;
  // Called exactly once, on a loop thread, when the stream ends for any reason (client gone,
  // close(), server stop). If the stream already ended, called immediately on the calling
  // thread. Several callbacks may be registered; each runs once. Must not block.
  virtual void onClose(std::function<void()> callback) = 0;
};
using StreamPtr = std::shared_ptr<StreamSink>;

// Given to the handler for one request. Exactly one of respond()/startStream() must be called,
// from any thread, at any later time (async completion is normal: SET/ACT wait for devices).
// If it is destroyed unused, the server answers 500. Calls after the first are ignored
// (startStream() then returns an ended stream). Responses to pipelined requests are sent in
// request order whatever the order of completion.
class Responder {
 public:
  Responder();  // an empty responder: every call is a no-op
  Responder(Responder&&) noexcept;
  Responder& operator=(Responder&&) noexcept;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder();

  void respond(Response response);
  // Sends the status line and headers (Cache-Control: no-cache, no Content-Length, Connection:
  // close) and returns the sink for the body. The connection closes when the stream ends.
  StreamPtr startStream(int status, std::string contentType, std::vector<Header> headers = {});
  // False once respond()/startStream() was called (or for an empty responder).
  bool pending() const { return state_ != nullptr; }

 private:
  friend class detail::Loop;
  explicit Responder(std::unique_ptr<detail::ResponderState> state);
  std::unique_ptr<detail::ResponderState> state_;
};

// Runs on a loop thread; must not block. The Request is valid only during the call: copy or
// move out what an asynchronous completion needs.
using Handler = std::function<void(Request& request, Responder responder)>;

struct ServerOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 8899;           // 0 = ephemeral (tests)
  int threads = 2;                     // event-loop threads
  std::size_t maxConnections = 20000;  // beyond: accepted, answered 503 if possible, closed
  std::size_t maxHeaderBytes = 16384;  // request line + headers -> 431 beyond
  std::size_t maxBodyBytes = 1 << 20;  // -> 413 (answer and close without reading it all)
  int headerTimeoutMs = 10000;         // full head not received in time (slowloris) -> 408 + close
  int bodyTimeoutMs = 30000;           // body not complete in time -> 408 + close
  int idleTimeoutMs = 60000;           // keep-alive connection with no request -> closed
  std::size_t maxStreamBufferBytes = 256 * 1024;
};

class Server {
 public:
  // Called on a loop thread when a response (not a stream) has been queued; for metrics. Also
  // called for the errors the server produces itself (the request then holds what was parsed).
  using Observer = std::function<void(const Request&, int status, std::chrono::nanoseconds latency)>;

  Server(ServerOptions options, Handler handler);
  ~Server();  // stops
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Raises the RLIMIT_NOFILE soft limit to the hard limit, binds, listens and starts the loop
  // threads. The error text names address:port and the system's reason.
  Result<void> start();
  std::uint16_t port() const { return port_; }  // the bound port (after start)
  // Idempotent; closes the listener and every connection (streams get onClose), joins threads.
  void stop();
  std::size_t openConnections() const;
  // Open connections per loop thread, in loop order (to see that load is spread).
  std::vector<std::size_t> loopConnectionCounts() const;
  void setObserver(Observer observer);  // call before start()

 private:
  std::shared_ptr<detail::ServerShared> shared_;
  std::vector<std::shared_ptr<detail::Loop>> loops_;
  std::vector<std::thread> threads_;
  mutable std::mutex controlMutex_;
  int listenFd_ = -1;
  std::atomic<std::uint16_t> port_{0};
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace gatehouse::core::http
