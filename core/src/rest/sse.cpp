#include "rest/sse.h"
#include "gatehouse/kit/thread_name.h"

#include <algorithm>
#include <chrono>

#include "common/json_writer.h"
#include "rest/model_json.h"

namespace gatehouse::core::rest {

using model::NotificationKind;
using model::NotificationPtr;

struct SseHub::Session {
  std::uint64_t id = 0;
  SseStreamSpec spec;
  model::SubscriptionPtr sub;
  http::StreamPtr sink;
  std::atomic<bool> live{false};     // set (release) once `sink` is assigned
  std::atomic<bool> queued{false};
  std::uint64_t pendingLag = 0;   // fan-out thread only
  std::chrono::steady_clock::time_point lastWrite = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::time_point> stalledSince;   // first refused write in a row
  bool ended = false;   // fan-out thread only: expired, closing; sends nothing more
};

namespace {

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool expired(const SseStreamSpec& spec, std::int64_t nowUnix) {
  return spec.expiresUnix != 0 && nowUnix >= spec.expiresUnix;   // RFC 7519: "on or after" exp
}

}  // namespace

void appendSseEvent(std::string& out, const model::Notification& n, std::string_view eventName) {
  std::string_view name = eventName;
  if (name.empty()) {
    switch (n.kind) {
      case NotificationKind::Data: name = "data"; break;
      case NotificationKind::Lifecycle: name = "lifecycle"; break;
      case NotificationKind::Metadata: name = "metadata"; break;
      case NotificationKind::Action: name = "action"; break;
    }
  }
  out += "event: ";
  out += name;
  out += "\ndata: ";
  appendNotificationJson(out, n);
  out += "\n\n";
}

SseHub::SseHub(model::Model& model, SseOptions options) : model_(model), options_(options) {}

SseHub::~SseHub() { stop(); }

void SseHub::start() {
  std::lock_guard lock(mu_);
  if (started_) return;
  started_ = true;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void SseHub::stop() {
  std::unordered_map<std::uint64_t, std::shared_ptr<Session>> sessions;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    sessions.swap(sessions_);
    ready_.clear();
    nextExpiryUnix_ = 0;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& [id, s] : sessions) {
    s->sub->cancel();
    s->sink->close();
  }
  std::lock_guard lock(mu_);
  started_ = false;
}

std::size_t SseHub::clients() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

std::uint64_t SseHub::eventsDropped() const {
  std::uint64_t total = sinkDrops_.load(std::memory_order_relaxed) + closedQueueDrops_.load(std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  for (const auto& [id, s] : sessions_) total += s->sub->droppedTotal();
  return total;
}

Result<void> SseHub::open(http::Responder& responder, SseStreamSpec spec) {
  auto session = std::make_shared<Session>();
  {
    std::lock_guard lock(mu_);
    if (stopping_) return makeError(ErrorCode::Unavailable, "the gateway is shutting down");
    if (sessions_.size() >= options_.maxClients) {
      return makeError(ErrorCode::Unavailable, "too many event streams open (limit " +
                                                   std::to_string(options_.maxClients) + ")");
    }
    session->id = nextId_++;
  }
  session->spec = std::move(spec);
  model::SubscriptionSpec ss;
  if (session->spec.kind == SseStreamSpec::Kind::Resource) {
    ss.provider = session->spec.provider;
    ss.service = session->spec.service;
    ss.resource = session->spec.resource;
    ss.kinds = static_cast<std::uint8_t>(NotificationKind::Data) | static_cast<std::uint8_t>(NotificationKind::Lifecycle);
  } else {
    ss.kinds = static_cast<std::uint8_t>(NotificationKind::Data);
  }
  ss.capacity = options_.queueCapacity;
  std::weak_ptr<Session> weak = session;
  ss.wake = [this, weak] {
    if (auto s = weak.lock()) markReady(s);
  };
  // Subscribe before answering so that no update between the answer and the subscription is lost.
  session->sub = model_.subscribe(std::move(ss));
  session->sink = responder.startStream(200, "text/event-stream", {{"X-Accel-Buffering", "no"}});
  session->sink->write(": subscribed\n\n");
  session->live.store(true, std::memory_order_release);
  {
    std::lock_guard lock(mu_);
    sessions_.emplace(session->id, session);
    const std::int64_t exp = session->spec.expiresUnix;
    if (exp != 0 && (nextExpiryUnix_ == 0 || exp < nextExpiryUnix_)) nextExpiryUnix_ = exp;
  }
  const std::uint64_t id = session->id;
  session->sink->onClose([this, id] { remove(id); });
  // Notifications may have arrived while the stream was being set up; their wake was ignored.
  markReady(session);
  return {};
}

void SseHub::markReady(const std::shared_ptr<Session>& s) {
  if (!s->live.load(std::memory_order_acquire)) return;   // open() schedules it once live
  if (s->queued.exchange(true)) return;
  bool wasEmpty;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    wasEmpty = ready_.empty();
    ready_.push_back(s);
  }
  if (wasEmpty) cv_.notify_one();
}

void SseHub::remove(std::uint64_t id) {
  std::shared_ptr<Session> s;
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    s = std::move(it->second);
    sessions_.erase(it);
  }
  closedQueueDrops_.fetch_add(s->sub->droppedTotal(), std::memory_order_relaxed);
  s->sub->cancel();
}

bool SseHub::providerMatches(Session& s, const std::string& provider, std::unordered_map<std::string, bool>& cache) {
  if (!s.spec.filter) return true;
  auto it = cache.find(provider);
  if (it != cache.end()) return it->second;
  bool match = false;
  if (auto info = model_.provider(provider, model::Detail::Values)) {
    if (s.spec.accessFilter) {
      // The filter must not test values the caller may not read (it would learn them one
      // comparison at a time): hide those resources from it.
      model::Notification probe;
      probe.kind = NotificationKind::Data;
      probe.provider = info->name;
      for (auto& svc : info->services) {
        probe.service = svc.name;
        std::erase_if(svc.resources, [&](const model::ResourceInfo& r) {
          probe.resource = r.name;
          return !s.spec.accessFilter(probe);
        });
      }
    }
    match = s.spec.filter->matches(providerLookup(*info));
  }
  cache.emplace(provider, match);
  return match;
}

void SseHub::expire(Session& s) {
  if (s.ended) return;
  s.ended = true;
  s.pendingLag = 0;
  expiredClosed_.fetch_add(1, std::memory_order_relaxed);
  s.sub->cancel();
  // close() sends the error event first; a client whose buffer is full gets no last word.
  if (s.sink->write("event: error\ndata: {\"error\":\"token expired\"}\n\n")) {
    s.sink->close();
  } else {
    s.sink->abort();
  }
}

void SseHub::pump(Session& s, std::vector<NotificationPtr>& batch, std::string& out) {
  constexpr std::size_t kBatch = 256;
  if (s.ended) return;
  if (expired(s.spec, unixNow())) return expire(s);
  std::unordered_map<std::string, bool> filterCache;
  for (;;) {
    batch.clear();
    out.clear();
    const std::size_t n = s.sub->drain(batch, kBatch);
    s.pendingLag += s.sub->takeDropped();
    if (s.pendingLag > 0) {
      out += "event: lagged\ndata: {\"dropped\":";
      json::appendInt(out, static_cast<std::int64_t>(s.pendingLag));
      out += "}\n\n";
    }
    std::size_t events = 0;
    for (const auto& note : batch) {
      if (s.spec.accessFilter && !s.spec.accessFilter(*note)) continue;
      if (s.spec.kind == SseStreamSpec::Kind::Snapshot) {
        if (!providerMatches(s, note->provider, filterCache)) continue;
        appendSseEvent(out, *note, "update");
      } else {
        appendSseEvent(out, *note);
      }
      ++events;
    }
    if (!out.empty()) {
      if (s.sink->write(out)) {
        s.pendingLag = 0;
        sent_.fetch_add(events, std::memory_order_relaxed);
        s.lastWrite = std::chrono::steady_clock::now();
        s.stalledSince.reset();
      } else if (s.sink->isOpen()) {
        // The client reads slower than we produce: these events are lost for it; say so later.
        s.pendingLag += events;
        sinkDrops_.fetch_add(events, std::memory_order_relaxed);
        if (!s.stalledSince) s.stalledSince = std::chrono::steady_clock::now();
      }
    }
    if (n < kBatch) return;
  }
}

void SseHub::run() {
  kit::setThreadName("sse-fanout");
  std::vector<NotificationPtr> batch;
  std::string out;
  const auto heartbeat = std::chrono::milliseconds(std::max(10, options_.heartbeatMs));
  auto nextBeat = std::chrono::steady_clock::now() + heartbeat;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    auto deadline = nextBeat;
    const std::int64_t waitedExpiry = nextExpiryUnix_;
    if (waitedExpiry != 0) {
      const auto left = std::chrono::seconds(waitedExpiry) - std::chrono::system_clock::now().time_since_epoch();
      deadline = std::min(deadline, std::chrono::steady_clock::now() +
                                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(left));
    }
    // An earlier expiry registered by open() changes the deadline: wake up to recompute it.
    cv_.wait_until(lock, deadline, [this, waitedExpiry] {
      return stopping_ || !ready_.empty() || nextExpiryUnix_ != waitedExpiry;
    });
    if (stopping_) break;
    std::vector<std::shared_ptr<Session>> work;
    work.swap(ready_);
    const bool beat = std::chrono::steady_clock::now() >= nextBeat;
    const std::int64_t nowUnix = unixNow();
    const bool expiryDue = nextExpiryUnix_ != 0 && nowUnix >= nextExpiryUnix_;
    std::vector<std::shared_ptr<Session>> all;
    if (beat || expiryDue) {
      all.reserve(sessions_.size());
      std::int64_t next = 0;
      for (const auto& [id, s] : sessions_) {
        all.push_back(s);
        const std::int64_t exp = s->spec.expiresUnix;
        if (exp > nowUnix && (next == 0 || exp < next)) next = exp;
      }
      nextExpiryUnix_ = next;   // the sessions expiring now are ended below
      if (beat) nextBeat = std::chrono::steady_clock::now() + heartbeat;
    }
    lock.unlock();
    for (auto& s : work) {
      s->queued.store(false);
      pump(*s, batch, out);
    }
    const auto now = std::chrono::steady_clock::now();
    const auto stallLimit = std::chrono::milliseconds(std::max(1, options_.stallTimeoutMs));
    for (auto& s : all) {
      if (!s->ended && expired(s->spec, nowUnix)) expire(*s);
      if (!beat) continue;   // a scan for expiries only
      if (s->ended) {
        // Closing, waiting for the client to take the error event: give it the stall timeout.
        if (!s->stalledSince) {
          s->stalledSince = now;
        } else if (now - *s->stalledSince >= stallLimit) {
          stalledClosed_.fetch_add(1, std::memory_order_relaxed);
          s->sink->abort();
        }
        continue;
      }
      if (s->stalledSince && now - *s->stalledSince >= stallLimit) {
        stalledClosed_.fetch_add(1, std::memory_order_relaxed);
        s->stalledSince.reset();
        s->sink->abort();   // close() would wait for the stuck client; its onClose removes the session
        continue;
      }
      if (s->pendingLag > 0 || s->sub->queued() > 0) {
        pump(*s, batch, out);   // retries the lag signal for clients that were full
      } else if (now - s->lastWrite >= heartbeat) {
        if (s->sink->write(": ping\n\n")) {
          s->lastWrite = now;
          s->stalledSince.reset();
        } else if (!s->stalledSince) {
          s->stalledSince = now;
        }
      }
    }
    lock.lock();
  }
}

}  // namespace gatehouse::core::rest
