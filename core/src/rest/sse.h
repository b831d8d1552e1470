#pragma once
// Server-sent event streams for SUBSCRIBE and snapshot/subscribe.
//
// A stream never pins a request thread: each one is a model subscription (bounded queue) plus an
// http::StreamSink (bounded output buffer). One fan-out thread drains ready subscriptions, formats
// the events and writes them to the sinks; it also sends heartbeats and the lag signal:
//   event: lagged
//   data: {"dropped": N}
// whenever notifications were dropped for that client (its queue or its socket buffer was full).
//
// Threads: open() on a loop thread (REST handler); everything else is internal.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "filter/filter.h"
#include "http/server.h"
#include "model/model.h"

namespace gatehouse::core::rest {

struct SseOptions {
  std::size_t maxClients = 10000;
  std::size_t queueCapacity = 1024;   // per-client notification queue
  int heartbeatMs = 15000;
  // A client whose socket buffer has refused every write for this long is disconnected, so a
  // dead peer that never sent FIN does not hold a stream forever. Checked at heartbeat ticks.
  int stallTimeoutMs = 60000;
};

struct SseStreamSpec {
  enum class Kind { Resource, Snapshot } kind = Kind::Resource;
  std::string provider, service, resource;   // Resource
  std::optional<filter::Filter> filter;      // Snapshot (none = everything)
  // Access control (both kinds): a notification is sent only when this returns true; for a
  // Snapshot stream the `filter` above also sees only the resources it accepts, so a filter
  // cannot test values the caller may not read. Runs on the fan-out thread: must be thread-safe
  // and must not block. Empty = everything.
  std::function<bool(const model::Notification&)> accessFilter;
  // Unix seconds after which the stream ends (the caller's token expired), 0 = never. Checked
  // when the stream has events and at the latest at the expiry time or the next heartbeat tick;
  // the client gets `event: error` / `data: {"error":"token expired"}` and the stream closes.
  std::int64_t expiresUnix = 0;
};

class SseHub {
 public:
  SseHub(model::Model& model, SseOptions options);
  ~SseHub();
  void start();
  void stop();   // closes every stream and joins the fan-out thread

  // Subscribes, then answers `responder` with the event stream. Unavailable when at maxClients.
  Result<void> open(http::Responder& responder, SseStreamSpec spec);

  std::size_t clients() const;
  std::uint64_t eventsSent() const { return sent_.load(std::memory_order_relaxed); }
  // Events a client did not get: its model queue overflowed or its socket buffer was full.
  std::uint64_t eventsDropped() const;

 private:
  struct Session;
  void markReady(const std::shared_ptr<Session>& s);
  void remove(std::uint64_t id);
  void run();
  void pump(Session& s, std::vector<model::NotificationPtr>& batch, std::string& out);
  bool providerMatches(Session& s, const std::string& provider,
                       std::unordered_map<std::string, bool>& cache);
  // Ends the stream of a session whose caller's token expired (fan-out thread).
  void expire(Session& s);

  model::Model& model_;
  SseOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<std::uint64_t, std::shared_ptr<Session>> sessions_;
  std::vector<std::shared_ptr<Session>> ready_;
  std::uint64_t nextId_ = 1;
  bool stopping_ = false;
  bool started_ = false;
  // Earliest expiresUnix among open sessions, 0 = none (guarded by mu_): the fan-out thread
  // wakes up for it, so a stream does not outlive its token by a whole heartbeat period.
  std::int64_t nextExpiryUnix_ = 0;
  std::thread thread_;
  std::atomic<std::uint64_t> sent_{0};
  std::atomic<std::uint64_t> sinkDrops_{0};
  std::atomic<std::uint64_t> closedQueueDrops_{0};
  std::atomic<std::uint64_t> stalledClosed_{0};
  std::atomic<std::uint64_t> expiredClosed_{0};

 public:
  // Streams closed because their caller's token expired (SseStreamSpec::expiresUnix).
  std::uint64_t expiredStreamsClosed() const { return expiredClosed_.load(std::memory_order_relaxed); }
  // Streams closed because their client stopped reading (see SseOptions::stallTimeoutMs).
  std::uint64_t stalledStreamsClosed() const { return stalledClosed_.load(std::memory_order_relaxed); }
};

// Formats one notification as an SSE event ("data", "lifecycle", "metadata", "action", or
// `eventName` when given) and appends it to `out`. Exposed for tests.
void appendSseEvent(std::string& out, const model::Notification& n, std::string_view eventName = {});

}  // namespace gatehouse::core::rest
