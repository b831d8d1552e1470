#include "gatehouse/kit/mqtt_publisher.h"

#include <dlfcn.h>
#include <mosquitto.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

#include "gatehouse/kit/thread_name.h"

// libmosquitto's wake-up pipe, switched off. mosquitto_new() and mosquitto_reinitialise() (and, in
// other versions of the library, mosquitto_connect*()) open a socketpair whose
// only use is to wake the library's own loop (mosquitto_loop / mosquitto_loop_start) out of its
// select(), and every publish then writes one byte into it (packet__queue in libmosquitto 2.0):
// one extra write(2) per message, for a loop this class never runs (its own I/O thread polls the
// socket and an eventfd). When socketpair() fails, the library goes on without the pipe and never
// writes to it (a documented fallback: "outgoing publish commands may be delayed", which concerns
// only its own loop). So those calls below run inside a NoWakePipe scope, and this
// definition of socketpair(), which the executable exports because libmosquitto.so refers to it,
// refuses that one call and passes every other one to the C library unchanged. Measured in
// bench/RESULTS.md (mqtt_cost: 7.0 -> 6.0 syscalls per message through the gateway). Where the
// interposition does not take (another link layout), the pipe stays and only that write is paid:
// stats().wakePipeOff tells which.
namespace {
thread_local bool tRefuseSocketpair = false;
thread_local bool tSocketpairRefused = false;
using SocketpairFn = int (*)(int, int, int, int*);
}  // namespace

extern "C" __attribute__((visibility("default"))) int socketpair(int domain, int type, int protocol, int fds[2]) noexcept {
  if (tRefuseSocketpair) {
    tSocketpairRefused = true;
    errno = EMFILE;
    return -1;
  }
  static const auto real = reinterpret_cast<SocketpairFn>(::dlsym(RTLD_NEXT, "socketpair"));
  if (real == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  return real(domain, type, protocol, fds);
}

namespace {
// The scope of a libmosquitto call that would open the wake-up pipe (above).
struct NoWakePipe {
  NoWakePipe() {
    tRefuseSocketpair = true;
    tSocketpairRefused = false;
  }
  ~NoWakePipe() { tRefuseSocketpair = false; }
  NoWakePipe(const NoWakePipe&) = delete;
  NoWakePipe& operator=(const NoWakePipe&) = delete;
  static bool refused() { return tSocketpairRefused; }
};
}  // namespace

namespace gatehouse::kit {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kMaxInflightLimit = 30000;   // well inside the 16-bit packet id space
constexpr int kMidGuard = 60000;                   // hand nothing over while the oldest in-flight id is this far behind
constexpr std::size_t kFlushBatch = 1024;          // messages handed per I/O round before reading again
constexpr std::size_t kMaxPayload = 268435455;     // MQTT's remaining-length limit
constexpr const char* kSystemCaPath = "/etc/ssl/certs";

struct BrokerAddress {
  std::string uri;
  std::string host;
  int port = 0;
  bool tls = false;
};

Result<BrokerAddress> parseBroker(const std::string& uri) {
  static constexpr std::pair<std::string_view, bool> kSchemes[] = {
      {"tcp://", false}, {"mqtt://", false}, {"ssl://", true}, {"mqtts://", true}};
  BrokerAddress b;
  b.uri = uri;
  std::string_view rest;
  bool known = false;
  for (const auto& [scheme, tls] : kSchemes) {
    if (std::string_view(uri).substr(0, scheme.size()) == scheme) {
      rest = std::string_view(uri).substr(scheme.size());
      b.tls = tls;
      known = true;
      break;
    }
  }
  const std::string bad = "broker URI '" + uri + "': ";
  if (!known) return makeError(ErrorCode::BadRequest, bad + "unsupported scheme (tcp://, mqtt://, ssl://, mqtts://)");
  std::string_view portText;
  if (!rest.empty() && rest.front() == '[') {   // [IPv6]:port
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return makeError(ErrorCode::BadRequest, bad + "no closing ']'");
    b.host = std::string(rest.substr(1, close - 1));
    rest = rest.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return makeError(ErrorCode::BadRequest, bad + "expected ':port' after ']'");
      portText = rest.substr(1);
    }
  } else {
    const auto colon = rest.rfind(':');
    b.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) portText = rest.substr(colon + 1);
  }
  if (b.host.empty() || b.host.find_first_of("/?#@ ") != std::string::npos) {
    return makeError(ErrorCode::BadRequest, bad + "expected scheme://host:port");
  }
  if (portText.empty()) {
    b.port = b.tls ? 8883 : 1883;
  } else {
    if (portText.size() > 5 || portText.find_first_not_of("0123456789") != std::string_view::npos) {
      return makeError(ErrorCode::BadRequest, bad + "the port must be a number");
    }
    b.port = std::stoi(std::string(portText));
    if (b.port < 1 || b.port > 65535) return makeError(ErrorCode::BadRequest, bad + "the port must be 1..65535");
  }
  return b;
}

bool validTopic(const std::string& topic) {
  return !topic.empty() && topic.size() <= 65535 &&
         mosquitto_validate_utf8(topic.data(), static_cast<int>(topic.size())) == MOSQ_ERR_SUCCESS &&
         mosquitto_pub_topic_check2(topic.data(), topic.size()) == MOSQ_ERR_SUCCESS;
}

std::string describe(int rc) {
  if (rc == MOSQ_ERR_ERRNO) return std::strerror(errno);
  return mosquitto_strerror(rc);
}

// A connection error (the message may go again on the next connection), as opposed to a refusal
// of this one message.
bool connectionError(int rc) {
  return rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO || rc == MOSQ_ERR_CONN_PENDING ||
         rc == MOSQ_ERR_KEEPALIVE || rc == MOSQ_ERR_TLS;
}

std::once_flag gLibInit;

}  // namespace

struct MqttPublisher::Impl {
  // A message accepted by publish() (or a status message) until it is done.
  struct Entry {
    MqttMessage msg;
    std::uint64_t seq = 0;   // acceptance order (retained re-sends compare it)
    int mid = 0;             // the library's packet id while in flight
    bool counted = true;     // false: online/offline, not in stats
    bool resend = false;     // was in flight when a connection broke
  };
  enum class Hand { Sent, Broken, Refused };
  enum class Phase { Idle, Connecting, Connected };

  explicit Impl(MqttPublisherOptions o)
      : options_(std::move(o)), eventFd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

  // --- libmosquitto callbacks: inside a library call, under ioMu_ --------------------------------
  static void connectCb(mosquitto*, void* obj, int rc) { static_cast<Impl*>(obj)->onConnect(rc); }
  static void disconnectCb(mosquitto*, void* obj, int rc) { static_cast<Impl*>(obj)->onDisconnect(rc); }
  static void publishCb(mosquitto*, void* obj, int mid) { static_cast<Impl*>(obj)->onPublish(mid); }

  // I/O thread (from loop_read).
  void onConnect(int rc) noexcept {
    if (rc != 0) {   // refused; the library then fails the read and reports a disconnect
      refusal_ = std::string("refused: ") + mosquitto_connack_string(rc);
      return;
    }
    phase_ = Phase::Connected;
    backoff_ = options_.reconnectMin;
    brokerIndex_ = 0;
    connections_.fetch_add(1, std::memory_order_relaxed);
    try {
      // Before anything else; inside a callback the library only queues it (written right after).
      if (options_.online) {
        Entry e{*options_.online, 0, 0, false, false};
        (void)hand(e);
      }
      events_.emplace_back(MqttPublisherEvent::Connected, brokers_[currentBroker_].uri);
    } catch (...) {
    }
    connected_.store(true, std::memory_order_release);
    readyDue_ = true;
  }

  // I/O thread (loop_read/loop_write/loop_misc failed, or our DISCONNECT went out).
  void onDisconnect(int rc) noexcept {
    try {
      if (phase_ == Phase::Connected) {
        connectionLost(rc == 0 ? "disconnected" : describe(rc));
      } else if (phase_ == Phase::Connecting) {
        attemptFailed(refusal_.empty() ? describe(rc) : refusal_);
      }
    } catch (...) {
    }
  }

  // Any thread that wrote (QoS 0) or the I/O thread (QoS 1/2 acknowledged).
  void onPublish(int mid) noexcept {
    std::lock_guard lock(mu_);
    bool counted = false;
    if (auto it = byMid_.find(mid); it != byMid_.end()) {
      if (auto e = inflight_.find(it->second); e != inflight_.end()) {
        counted = e->second.counted;
        inflight_.erase(e);
      }
      byMid_.erase(it);
    } else if (!qos0_.empty()) {   // QoS 0 packets are written in the order they were handed over
      counted = qos0_.front();
      qos0_.pop_front();
    }
    if (counted) {
      published_.fetch_add(1, std::memory_order_relaxed);
      finishedLocked(1);
    }
  }

  // --- bookkeeping (mu_) ------------------------------------------------------------------------
  void finishedLocked(std::size_t n) {
    pending_.fetch_sub(n, std::memory_order_relaxed);
    if (starved_ && pending_.load(std::memory_order_relaxed) < options_.bufferLimit) {
      starved_ = false;
      wake();
    }
  }
  void failLocked(std::size_t n, const std::string& why) {
    if (n == 0) return;
    failed_.fetch_add(n, std::memory_order_relaxed);
    lastFailure_ = why;
    finishedLocked(n);
  }
  bool canHandLocked() const {
    if (inflight_.empty()) return true;
    if (inflight_.size() >= options_.maxInflight) return false;
    const int oldest = inflight_.begin()->second.mid;
    return (lastMid_ - oldest + 65536) % 65536 < kMidGuard;
  }

  // The connection broke: unwritten QoS 0 are lost, QoS 1/2 in flight go back to the front of
  // the buffer in their order, to be sent first on the next connection.
  void requeueLocked() {
    std::size_t lost = 0;
    for (bool counted : qos0_) lost += counted ? 1 : 0;
    qos0_.clear();
    failLocked(lost, "QoS 0 message not written before the connection broke");
    for (auto it = inflight_.rbegin(); it != inflight_.rend(); ++it) {
      if (!it->second.counted) continue;   // online: the next connection says it again
      it->second.resend = true;
      outbox_.push_front(std::move(it->second));
    }
    inflight_.clear();
    byMid_.clear();
  }

  // --- connection state (I/O thread, under ioMu_) ----------------------------------------------
  void connectionLost(const std::string& why) {
    phase_ = Phase::Idle;
    connected_.store(false, std::memory_order_release);
    {
      std::lock_guard lock(mu_);
      requeueLocked();
    }
    if (!stopping_.load()) events_.emplace_back(MqttPublisherEvent::ConnectionLost, why);
    brokerIndex_ = 0;
    backoff_ = options_.reconnectMin;
    nextAttempt_ = Clock::now() + options_.reconnectMin;
  }

  void attemptFailed(const std::string& why) {
    phase_ = Phase::Idle;
    connected_.store(false, std::memory_order_release);
    if (!stopping_.load()) events_.emplace_back(MqttPublisherEvent::ConnectFailed, brokers_[currentBroker_].uri + ": " + why);
    if (++brokerIndex_ >= brokers_.size()) {   // a whole round failed: back off
      brokerIndex_ = 0;
      nextAttempt_ = Clock::now() + backoff_;
      backoff_ = std::min(backoff_ * 2, options_.reconnectMax);
    } else {
      nextAttempt_ = Clock::now();
    }
  }

  // A fresh library state per connection: clean session, our callbacks, options; closes any
  // previous socket. Never called from a library callback.
  int reset(const BrokerAddress* b) {
    int rc;
    {
      NoWakePipe noPipe;
      rc = mosquitto_reinitialise(mosq_, options_.clientId.c_str(), true, this);
      pipeRefusedAtReset_ = NoWakePipe::refused();
    }
    if (rc != MOSQ_ERR_SUCCESS || b == nullptr) return rc;
    mosquitto_connect_callback_set(mosq_, &Impl::connectCb);
    mosquitto_disconnect_callback_set(mosq_, &Impl::disconnectCb);
    mosquitto_publish_callback_set(mosq_, &Impl::publishCb);
    if ((rc = mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311))) return rc;
    if ((rc = mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1))) return rc;
    if ((rc = mosquitto_max_inflight_messages_set(mosq_, 0))) return rc;   // our own limit applies
    if (const auto& w = options_.will) {
      rc = mosquitto_will_set(mosq_, w->topic.c_str(), static_cast<int>(w->payload.size()), w->payload.data(), w->qos, w->retain);
      if (rc) return rc;
    }
    if (!options_.username.empty()) {
      rc = mosquitto_username_pw_set(mosq_, options_.username.c_str(),
                                     options_.password.empty() ? nullptr : options_.password.c_str());
      if (rc) return rc;
    }
    if (b->tls) {
      const char* cert = options_.certFile.empty() ? nullptr : options_.certFile.c_str();
      const char* key = options_.keyFile.empty() ? nullptr : options_.keyFile.c_str();
      if (options_.caFile.empty()) {
        if ((rc = mosquitto_int_option(mosq_, MOSQ_OPT_TLS_USE_OS_CERTS, 1))) return rc;
        rc = mosquitto_tls_set(mosq_, nullptr, kSystemCaPath, cert, key, nullptr);
      } else {
        rc = mosquitto_tls_set(mosq_, options_.caFile.c_str(), nullptr, cert, key, nullptr);
      }
      if (rc) return rc;
      // Verify the chain (SSL_VERIFY_PEER) and the broker's name (insecure off: the default).
      if ((rc = mosquitto_tls_opts_set(mosq_, 1, nullptr, nullptr))) return rc;
      if ((rc = mosquitto_tls_insecure_set(mosq_, false))) return rc;
    }
    return MOSQ_ERR_SUCCESS;
  }

  void beginAttempt() {
    currentBroker_ = brokerIndex_;
    const BrokerAddress& b = brokers_[currentBroker_];
    refusal_.clear();
    phase_ = Phase::Connecting;
    int rc = reset(&b);
    if (rc == MOSQ_ERR_SUCCESS) {
      NoWakePipe noPipe;   // top of this file
      rc = mosquitto_connect_async(mosq_, b.host.c_str(), b.port, options_.keepAliveS);
      // libmosquitto 2.0.11 opens it in mosquitto_reinitialise(), others in connect too.
      wakePipeOff_.store(pipeRefusedAtReset_ || NoWakePipe::refused(), std::memory_order_relaxed);
    }
    if (rc != MOSQ_ERR_SUCCESS) {
      const std::string why = describe(rc);
      (void)reset(nullptr);
      attemptFailed(why);
      return;
    }
    connectDeadline_ = Clock::now() + options_.connectTimeout;
  }

  // The library failed without reporting it through onDisconnect (TLS handshake, socket gone,
  // connect timeout): close and go on. Not from a callback.
  void failWithoutCallback(const std::string& why) {
    const Phase was = phase_;
    (void)reset(nullptr);
    if (was == Phase::Connected) {
      connectionLost(why);
    } else if (was == Phase::Connecting) {
      attemptFailed(why);
    }
  }

  // --- handing messages to the library (under ioMu_, phase Connected) ---------------------------
  Hand hand(Entry& e) {
    bool retain = e.msg.retain;
    {
      std::lock_guard lock(mu_);
      if (retain && e.resend) {
        // A newer retained value on this topic was accepted meanwhile: do not let this one replace it.
        auto it = latestRetained_.find(e.msg.topic);
        if (it != latestRetained_.end() && it->second != e.seq) retain = false;
      }
      if (e.msg.qos == 0) qos0_.push_back(e.counted);   // before the call: it may be written (and reported) inside
    }
    int mid = 0;
    const int rc = mosquitto_publish(mosq_, &mid, e.msg.topic.c_str(), static_cast<int>(e.msg.payload.size()),
                                     e.msg.payload.data(), e.msg.qos, retain);
    std::lock_guard lock(mu_);
    if (rc == MOSQ_ERR_SUCCESS) {
      lastMid_ = mid;
      if (e.resend && e.counted) resent_.fetch_add(1, std::memory_order_relaxed);
      if (e.msg.qos > 0) {
        e.mid = mid;
        const std::uint64_t n = ++nextHand_;
        byMid_[mid] = n;
        inflight_.emplace(n, std::move(e));
      }
      return Hand::Sent;
    }
    if (e.msg.qos == 0 && !qos0_.empty()) qos0_.pop_back();
    if (connectionError(rc)) return Hand::Broken;
    if (e.counted) failLocked(1, "the library refused a message: " + describe(rc));
    return Hand::Refused;
  }

  // Sends the buffer in order, a bounded batch; true when more could go right away.
  bool flush() {
    for (std::size_t i = 0; i < kFlushBatch; ++i) {
      if (mosquitto_want_write(mosq_)) return false;   // the socket is backed up: POLLOUT brings us back
      Entry e;
      {
        std::lock_guard lock(mu_);
        if (outbox_.empty() || !canHandLocked()) return false;
        e = std::move(outbox_.front());
        outbox_.pop_front();
      }
      if (hand(e) == Hand::Broken) {
        std::lock_guard lock(mu_);
        outbox_.push_front(std::move(e));
        return false;
      }
    }
    std::lock_guard lock(mu_);
    return !outbox_.empty() && canHandLocked();
  }

  // One round of socket work after poll() (under ioMu_).
  void step(short revents) {
    if (phase_ == Phase::Idle) return;
    int rc = MOSQ_ERR_SUCCESS;
    // While connecting, readiness either way drives the TLS handshake (loop_read does it).
    if ((revents & (POLLIN | POLLERR | POLLHUP)) || (phase_ == Phase::Connecting && (revents & POLLOUT))) {
      rc = mosquitto_loop_read(mosq_, 1);
    }
    if (rc == MOSQ_ERR_SUCCESS && phase_ != Phase::Idle && (revents & POLLOUT) && mosquitto_want_write(mosq_)) {
      rc = mosquitto_loop_write(mosq_, 1);
    }
    if (rc == MOSQ_ERR_SUCCESS && phase_ != Phase::Idle) rc = mosquitto_loop_misc(mosq_);
    if (phase_ == Phase::Idle) return;   // reported through onDisconnect
    if (rc != MOSQ_ERR_SUCCESS) {
      failWithoutCallback(describe(rc));
    } else if (phase_ == Phase::Connecting && Clock::now() >= connectDeadline_) {
      failWithoutCallback("no answer within " + std::to_string(options_.connectTimeout.count()) + " ms");
    }
  }

  // --- the I/O thread ---------------------------------------------------------------------------
  void run() {
    setThreadName(options_.threadName);
    while (!stopping_.load(std::memory_order_acquire)) {
      pollfd fds[2] = {{eventFd_, POLLIN, 0}, {-1, 0, 0}};
      int timeoutMs = 1000;   // keep-alive checks at least once a second
      {
        std::lock_guard io(ioMu_);
        const auto now = Clock::now();
        if (phase_ == Phase::Idle && now >= nextAttempt_) beginAttempt();
        if (phase_ != Phase::Idle && mosquitto_socket(mosq_) < 0) failWithoutCallback("the socket closed");
        bool more = false;
        if (phase_ == Phase::Connected) more = flush();
        if (phase_ != Phase::Idle) {
          fds[1].fd = mosquitto_socket(mosq_);
          fds[1].events = static_cast<short>(POLLIN | (mosquitto_want_write(mosq_) ? POLLOUT : 0));
        }
        const auto until = phase_ == Phase::Idle ? nextAttempt_ : phase_ == Phase::Connecting ? connectDeadline_ : now + milliseconds(1000);
        timeoutMs = more ? 0 : static_cast<int>(std::clamp<long long>(
                                   std::chrono::duration_cast<milliseconds>(until - now).count() + 1, 0, 1000));
      }
      fireEvents();
      if (::poll(fds, fds[1].fd >= 0 ? 2 : 1, timeoutMs) < 0 && errno != EINTR) {
        std::this_thread::sleep_for(milliseconds(10));   // cannot happen with valid fds; do not spin
      }
      if (fds[0].revents & POLLIN) {
        std::uint64_t count = 0;
        (void)::read(eventFd_, &count, sizeof(count));
        wakePending_.store(false, std::memory_order_release);
        readyDue_ = true;
      }
      {
        std::lock_guard io(ioMu_);
        if (fds[1].fd >= 0 && fds[1].fd == mosquitto_socket(mosq_)) step(fds[1].revents);
        if (phase_ == Phase::Connected) (void)flush();
      }
      fireEvents();
      if (readyDue_ && !stopping_.load(std::memory_order_acquire)) {
        readyDue_ = false;
        try {
          if (onReady_) onReady_();
        } catch (...) {
        }
      }
    }
    shutdown();
  }

  void fireEvents() {
    std::vector<std::pair<MqttPublisherEvent, std::string>> events;
    {
      std::lock_guard io(ioMu_);
      events.swap(events_);
    }
    for (const auto& [event, detail] : events) {
      try {
        if (onEvent_) onEvent_(event, detail);
      } catch (...) {
      }
    }
  }

  // stop(): while connected, the buffer, then `offline`, then wait for acknowledgements until
  // the deadline; DISCONNECT; whatever is left is counted failed.
  void shutdown() {
    const auto deadline = Clock::now() + linger_;
    std::unique_lock io(ioMu_);
    bool offlineHanded = false;
    while (phase_ == Phase::Connected) {
      (void)flush();
      bool drained;
      {
        std::lock_guard lock(mu_);
        drained = outbox_.empty();
      }
      if (drained && !offlineHanded) {
        offlineHanded = true;
        if (options_.offline) {
          Entry e{*options_.offline, 0, 0, false, false};
          (void)hand(e);
        }
      }
      bool done;
      {
        std::lock_guard lock(mu_);
        done = offlineHanded && outbox_.empty() && inflight_.empty() && qos0_.empty();
      }
      if ((done && !mosquitto_want_write(mosq_)) || Clock::now() >= deadline) break;
      pollfd fd{mosquitto_socket(mosq_), static_cast<short>(POLLIN | (mosquitto_want_write(mosq_) ? POLLOUT : 0)), 0};
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
      io.unlock();
      (void)::poll(&fd, 1, static_cast<int>(std::clamp<long long>(left, 0, 100)));
      io.lock();
      if (fd.fd == mosquitto_socket(mosq_)) step(fd.revents);
    }
    if (phase_ == Phase::Connected) {
      // A normal DISCONNECT: the broker drops the will (we said "offline" ourselves).
      phase_ = Phase::Idle;
      connected_.store(false);
      (void)mosquitto_disconnect(mosq_);
      if (mosquitto_want_write(mosq_)) (void)mosquitto_loop_write(mosq_, 1);
    }
    phase_ = Phase::Idle;
    (void)reset(nullptr);
    std::lock_guard lock(mu_);
    closed_ = true;
    std::size_t left = 0;
    for (const auto& e : outbox_) left += e.counted ? 1 : 0;
    for (const auto& [n, e] : inflight_) left += e.counted ? 1 : 0;
    for (bool counted : qos0_) left += counted ? 1 : 0;
    outbox_.clear();
    inflight_.clear();
    byMid_.clear();
    qos0_.clear();
    failLocked(left, "still pending when the publisher stopped");
  }

  void wake() {
    if (!wakePending_.exchange(true, std::memory_order_acq_rel)) {
      const std::uint64_t one = 1;
      (void)::write(eventFd_, &one, sizeof(one));
    }
  }

  Result<void> validate() {
    auto bad = [](const std::string& what) { return makeError(ErrorCode::BadRequest, what); };
    const auto& o = options_;
    if (o.brokers.empty()) return bad("no broker given");
    brokers_.clear();
    for (const auto& uri : o.brokers) {
      auto b = parseBroker(uri);
      if (!b) return b.error();
      brokers_.push_back(std::move(*b));
    }
    if (o.clientId.empty() || o.clientId.size() > 65535 ||
        mosquitto_validate_utf8(o.clientId.data(), static_cast<int>(o.clientId.size())) != MOSQ_ERR_SUCCESS) {
      return bad("the client id must be 1..65535 bytes of UTF-8");
    }
    if (o.keepAliveS < 5 || o.keepAliveS > 65535) return bad("keep-alive must be 5..65535 s");
    if (o.bufferLimit < 1) return bad("the buffer limit must be at least 1");
    if (o.maxInflight < 1 || o.maxInflight > kMaxInflightLimit) return bad("max in-flight must be 1..30000");
    if (o.connectTimeout.count() <= 0 || o.reconnectMin.count() <= 0 || o.reconnectMax < o.reconnectMin) {
      return bad("the connect timeout and the reconnect delays must be positive, max >= min");
    }
    if (o.certFile.empty() != o.keyFile.empty()) return bad("mutual TLS needs both a certificate and a key file");
    for (const std::string* file : {&o.caFile, &o.certFile, &o.keyFile}) {
      if (!file->empty() && ::access(file->c_str(), R_OK) != 0) return bad("cannot read " + *file);
    }
    for (const auto* m : {&o.will, &o.online, &o.offline}) {
      if (*m && (!validTopic((*m)->topic) || (*m)->qos < 0 || (*m)->qos > 2 || (*m)->payload.size() > kMaxPayload)) {
        return bad("the will/online/offline message needs a topic without wildcards and QoS 0..2");
      }
    }
    return {};
  }

  MqttPublisherOptions options_;
  std::vector<BrokerAddress> brokers_;
  ReadyHandler onReady_;
  EventHandler onEvent_;
  milliseconds linger_{2000};

  std::mutex ioMu_;             // held for every call into libmosquitto with mosq_
  mosquitto* mosq_ = nullptr;

  mutable std::mutex mu_;       // the containers below; taken inside ioMu_, never the other way round
  std::deque<Entry> outbox_;    // accepted, not yet handed to the library (front: first to go)
  std::map<std::uint64_t, Entry> inflight_;         // QoS 1/2 handed over, by hand-over number
  std::unordered_map<int, std::uint64_t> byMid_;    // packet id -> hand-over number
  std::deque<bool> qos0_;       // QoS 0 handed over and not yet written: counted?
  std::unordered_map<std::string, std::uint64_t> latestRetained_;   // topic -> seq of the newest retained
  std::uint64_t nextSeq_ = 0, nextHand_ = 0;
  int lastMid_ = 0;
  bool starved_ = false;        // publish() answered Full: wake the I/O thread once there is room
  bool closed_ = false;         // shutdown() has counted what was left
  std::string lastFailure_;

  std::atomic<std::size_t> pending_{0};
  std::atomic<bool> connected_{false}, running_{false}, stopping_{false}, wakePending_{false}, wakePipeOff_{false};
  bool pipeRefusedAtReset_ = false;   // I/O thread (under ioMu_)
  std::atomic<std::uint64_t> published_{0}, failed_{0}, resent_{0}, connections_{0};
  int eventFd_ = -1;            // made by the constructor: wake() works before start()
  std::thread thread_;
  bool started_ = false;        // owner thread

  // I/O thread; changed only under ioMu_ (publish() reads phase_ under it).
  Phase phase_ = Phase::Idle;
  std::size_t brokerIndex_ = 0, currentBroker_ = 0;
  Clock::time_point nextAttempt_{}, connectDeadline_{};
  milliseconds backoff_{1000};
  std::string refusal_;
  bool readyDue_ = false;
  std::vector<std::pair<MqttPublisherEvent, std::string>> events_;   // fired outside the locks
};

MqttPublisher::MqttPublisher(MqttPublisherOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

MqttPublisher::~MqttPublisher() {
  stop();
  if (impl_->mosq_ != nullptr) mosquitto_destroy(impl_->mosq_);
  if (impl_->eventFd_ >= 0) ::close(impl_->eventFd_);
}

void MqttPublisher::setReadyHandler(ReadyHandler handler) { impl_->onReady_ = std::move(handler); }
void MqttPublisher::setEventHandler(EventHandler handler) { impl_->onEvent_ = std::move(handler); }

Result<void> MqttPublisher::start() {
  Impl& s = *impl_;
  if (s.started_ || s.mosq_ != nullptr) return makeError(ErrorCode::Conflict, "the MQTT publisher is already started");
  if (auto ok = s.validate(); !ok) return ok;
  if (s.eventFd_ < 0) return makeError(ErrorCode::Internal, "cannot create the I/O thread's eventfd");
  std::call_once(gLibInit, [] { mosquitto_lib_init(); });
  struct sigaction old {};
  if (::sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) ::signal(SIGPIPE, SIG_IGN);
  {
    NoWakePipe noPipe;
    s.mosq_ = mosquitto_new(s.options_.clientId.c_str(), true, &s);
  }
  if (s.mosq_ == nullptr) return makeError(ErrorCode::Internal, std::string("cannot create the MQTT client: ") + std::strerror(errno));
  s.backoff_ = s.options_.reconnectMin;
  s.nextAttempt_ = Clock::now();
  {
    std::lock_guard lock(s.mu_);
    s.running_ = true;
  }
  s.started_ = true;
  s.thread_ = std::thread([impl = impl_.get()] { impl->run(); });
  return {};
}

void MqttPublisher::stop(std::chrono::milliseconds linger) {
  Impl& s = *impl_;
  if (!s.started_) return;
  s.started_ = false;
  s.linger_ = linger;
  {
    std::lock_guard lock(s.mu_);
    s.stopping_ = true;
  }
  const std::uint64_t one = 1;
  (void)::write(s.eventFd_, &one, sizeof(one));
  s.thread_.join();
}

MqttPublishStatus MqttPublisher::publish(MqttMessage&& message) {
  Impl& s = *impl_;
  if (message.qos < 0 || message.qos > 2 || message.payload.size() > kMaxPayload || !validTopic(message.topic)) {
    return MqttPublishStatus::Invalid;
  }
  std::uint64_t seq = 0;
  bool tryInline = false;
  {
    std::lock_guard lock(s.mu_);
    if (!s.running_ || s.stopping_) return MqttPublishStatus::Stopped;
    if (s.pending_.load(std::memory_order_relaxed) >= s.options_.bufferLimit) {
      s.starved_ = true;
      return MqttPublishStatus::Full;
    }
    s.pending_.fetch_add(1, std::memory_order_relaxed);
    seq = ++s.nextSeq_;
    if (message.retain) s.latestRetained_[message.topic] = seq;
    tryInline = s.connected_.load(std::memory_order_acquire) && s.outbox_.empty() && s.canHandLocked();
    if (!tryInline) s.outbox_.push_back(Impl::Entry{std::move(message), seq, 0, true, false});
  }
  if (!tryInline) {
    s.wake();
    return MqttPublishStatus::Accepted;
  }
  // The fast path: write it now on this thread, unless the I/O thread is inside the library.
  Impl::Entry e{std::move(message), seq, 0, true, false};
  bool handed = false;
  bool wakeIo = false;
  {
    std::unique_lock io(s.ioMu_, std::try_to_lock);
    if (io.owns_lock() && s.phase_ == Impl::Phase::Connected && !mosquitto_want_write(s.mosq_)) {
      bool clear;
      {
        std::lock_guard lock(s.mu_);
        clear = s.outbox_.empty() && s.canHandLocked();
      }
      if (clear) {
        const Impl::Hand h = s.hand(e);
        handed = h != Impl::Hand::Broken;
        wakeIo = !handed || mosquitto_want_write(s.mosq_);   // broken, or the rest waits for POLLOUT
      }
    }
  }
  if (!handed) {
    std::lock_guard lock(s.mu_);
    if (s.closed_) {
      s.failLocked(1, "still pending when the publisher stopped");
    } else {
      s.outbox_.push_back(std::move(e));
    }
    wakeIo = true;
  }
  if (wakeIo) s.wake();
  return MqttPublishStatus::Accepted;
}

void MqttPublisher::wake() {
  if (impl_->eventFd_ >= 0) impl_->wake();
}

MqttPublisherStats MqttPublisher::stats() const {
  const Impl& s = *impl_;
  MqttPublisherStats st;
  st.published = s.published_.load(std::memory_order_relaxed);
  st.failed = s.failed_.load(std::memory_order_relaxed);
  st.resent = s.resent_.load(std::memory_order_relaxed);
  st.connections = s.connections_.load(std::memory_order_relaxed);
  st.pending = s.pending_.load(std::memory_order_relaxed);
  st.connected = s.connected_.load(std::memory_order_acquire);
  st.wakePipeOff = s.wakePipeOff_.load(std::memory_order_relaxed);
  return st;
}

std::size_t MqttPublisher::room() const {
  const std::size_t pending = impl_->pending_.load(std::memory_order_relaxed);
  return pending >= impl_->options_.bufferLimit ? 0 : impl_->options_.bufferLimit - pending;
}

bool MqttPublisher::connected() const { return impl_->connected_.load(std::memory_order_acquire); }

std::string MqttPublisher::lastFailure() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->lastFailure_;
}

}  // namespace gatehouse::kit
