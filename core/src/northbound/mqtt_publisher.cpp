#include "northbound/mqtt_publisher.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <thread>

#include <gatehouse/sdk/tcp_nodelay.h>
#include <mqtt/async_client.h>

#include "common/json_writer.h"
#include "common/log.h"
#include "config/config.h"

namespace gatehouse::core::northbound {

namespace {

constexpr std::string_view kComponent = "mqtt-northbound";
constexpr std::size_t kDrainBatch = 256;
constexpr std::size_t kInlineBatch = 32;   // most a writer publishes inline per wake
constexpr std::size_t kMaxQueue = 10000000;
constexpr auto kDropReportInterval = std::chrono::seconds(10);

Error badOption(const std::string& what) { return makeError(ErrorCode::BadRequest, "mqtt_northbound: " + what); }

}  // namespace

MqttPublisherOptions optionsFromConfig(const config::Config& config) {
  const auto& s = config.mqttNorthbound;
  MqttPublisherOptions o;
  o.brokers = s.brokers;
  o.clientId = s.clientId.empty() ? "gatehouse-" + config.gateway.id : s.clientId;
  o.username = s.username;
  o.password = s.password;
  o.caFile = s.caFile;
  o.certFile = s.certFile;
  o.keyFile = s.keyFile;
  o.prefix = s.prefix.empty() ? "gatehouse/" + config.gateway.id : s.prefix;
  o.qos = s.qos;
  o.retain = s.retain;
  o.queue = s.queue;
  o.keepAliveS = s.keepAliveS;
  return o;
}

std::string MqttPublisher::topicFor(const std::string& prefix, const model::Notification& n) {
  // Model identifiers are [A-Za-z0-9_.:-]: they can hold no '/', '+' or '#', so each name is
  // exactly one topic level and the topic cannot collide with another resource's.
  std::string topic;
  topic.reserve(prefix.size() + n.provider.size() + n.service.size() + n.resource.size() + 3);
  topic.append(prefix).append(1, '/').append(n.provider).append(1, '/').append(n.service).append(1, '/').append(n.resource);
  return topic;
}

std::string MqttPublisher::payloadFor(const model::Notification& n) {
  std::string out;
  out.reserve(64);
  out += "{\"value\":";
  n.newValue.appendJson(out);
  out += ",\"timestamp\":";
  json::appendInt(out, n.timestamp);
  out += ",\"type\":";
  json::appendString(out, model::toString(n.newValue.type()));
  out += '}';
  return out;
}

struct MqttPublisher::Impl : mqtt::callback {
  // Paho reports each publish's outcome here, on its own thread.
  struct PublishListener : mqtt::iaction_listener {
    explicit PublishListener(Impl& impl) : impl_(impl) {}
    void on_success(const mqtt::token& tok) override { impl_.onPublishDone(tok); }
    void on_failure(const mqtt::token& tok) override { impl_.onPublishFailed(tok); }
    Impl& impl_;
  };
  // Outcome of a connect() we started (Paho's automatic reconnects do not report here).
  struct ConnectListener : mqtt::iaction_listener {
    explicit ConnectListener(Impl& impl) : impl_(impl) {}
    void on_success(const mqtt::token&) override {}
    void on_failure(const mqtt::token& tok) override { impl_.onConnectFailed(tok.get_return_code()); }
    Impl& impl_;
  };

  Impl(model::Model& model, MqttPublisherOptions options)
      : model_(model), options_(std::move(options)), publishListener_(*this), connectListener_(*this) {}

  // --- mqtt::callback (Paho's thread) ---
  void connected(const std::string&) override {
    sweepInFlight();
    connections_.fetch_add(1, std::memory_order_relaxed);
    // Paho C never sets TCP_NODELAY: without it each value can wait up to 40 ms for a delayed ACK.
    for (const auto& uri : options_.brokers) (void)sdk::enableTcpNoDelayTo(sdk::portOfUri(uri));
    log::info(kComponent, "connected to " + joinedBrokers() + "; publishing under " + options_.prefix + "/");
    // "online" goes out before any value: writers publish inline only once connected_ is set.
    publishStatus("online");
    connected_.store(true);
    {
      std::lock_guard lock(mu_);
      connectFailed_ = false;
      backoffS_ = options_.reconnectMinS;
      woken_ = true;   // values to re-send, if any
    }
    cv_.notify_one();
    spaceCv_.notify_all();
  }
  void connection_lost(const std::string& cause) override {
    connected_.store(false);
    log::warn(kComponent, "connection to the broker lost" + (cause.empty() ? std::string() : ": " + cause) +
                              "; reconnecting, values are buffered (up to " + std::to_string(options_.queue) + ")");
  }

  void onPublishDone(const mqtt::token& tok) {
    published_.fetch_add(1, std::memory_order_relaxed);
    // Already swept for re-sending (its callback came late): it now exists twice, which QoS 1
    // allows; the sweep did the pending_ bookkeeping.
    if (!untrack(tok)) return;
    pending_.fetch_sub(1, std::memory_order_relaxed);
    spaceCv_.notify_one();
  }

  // QoS 1/2 messages handed to Paho and not yet reported, by a sequence number passed as the
  // token's user context. Paho reports the in-flight ones as failed when a connection breaks;
  // if it ever does not (a callback lost in some corner of its session handling), the sweep at
  // the next connection re-sends what was handed over while the previous connection was up.
  struct InFlight {
    mqtt::const_message_ptr msg;
    std::uint64_t epoch;   // connections_ when handed over; kOffline when handed over while disconnected
  };
  static constexpr std::uint64_t kOffline = ~std::uint64_t{0};

  std::uintptr_t track(const mqtt::const_message_ptr& msg) {
    if (msg->get_qos() == 0) return 0;
    std::lock_guard lock(inFlightMu_);
    const std::uintptr_t seq = ++nextSeq_;
    inFlight_.emplace(seq, InFlight{msg, connected_.load() ? connections_.load() : kOffline});
    return seq;
  }

  // True when the token's message was tracked here (or is QoS 0) and is now forgotten.
  bool untrack(const mqtt::token& tok) {
    const auto seq = reinterpret_cast<std::uintptr_t>(tok.get_user_context());
    if (seq == 0) return true;
    std::lock_guard lock(inFlightMu_);
    return inFlight_.erase(seq) > 0;
  }

  // On (re)connection, before anything new is published: what the previous connection left
  // without a callback is sent again (Paho's queued-but-unsent ones may then go twice).
  void sweepInFlight() {
    std::vector<mqtt::const_message_ptr> again;
    {
      std::lock_guard lock(inFlightMu_);
      const std::uint64_t now = connections_.load();
      for (auto it = inFlight_.begin(); it != inFlight_.end();) {
        if (it->second.epoch != kOffline && it->second.epoch <= now) {
          again.push_back(std::move(it->second.msg));
          it = inFlight_.erase(it);
        } else {
          ++it;
        }
      }
    }
    if (again.empty()) return;
    pending_.fetch_sub(static_cast<std::int64_t>(again.size()), std::memory_order_relaxed);
    std::lock_guard lock(mu_);
    for (auto& msg : again) resend_.push_back(std::move(msg));
    backlog_.store(true, std::memory_order_release);
    woken_ = true;
  }

  // A publish the client had accepted failed. With a clean session this is how Paho reports the
  // QoS 1/2 messages that were in flight when the connection broke: they are kept here and sent
  // again after the reconnection (at least once). We do not let Paho re-send them from a
  // persistent session: Paho C 1.3.12 corrupts such re-sent packets (docs/architecture.md).
  // A refusal by the broker (an MQTT 5 reason code) is final and only counted.
  void onPublishFailed(const mqtt::token& tok) {
    if (!untrack(tok)) return;   // already swept for re-sending
    pending_.fetch_sub(1, std::memory_order_relaxed);
    const auto* delivery = dynamic_cast<const mqtt::delivery_token*>(&tok);
    mqtt::const_message_ptr msg = delivery != nullptr ? delivery->get_message() : nullptr;
    // Paho C++ reports 255 (MQTTPP_V3_CODE) as the reason when there is none (MQTT 3.1.1, or a
    // connection that broke): only 0x80..0xFE are refusals.
    const int reason = static_cast<int>(tok.get_reason_code());
    const bool refused = reason >= 0x80 && reason < 0xFF;
    if (msg && msg->get_qos() > 0 && !refused && !stopping_.load(std::memory_order_relaxed)) {
      {
        std::lock_guard lock(mu_);
        if (resend_.size() >= options_.queue) {
          resend_.pop_front();   // bounded like the offline buffer: the oldest goes, counted
          droppedBufferFull_.fetch_add(1, std::memory_order_relaxed);
        }
        resend_.push_back(std::move(msg));
        backlog_.store(true, std::memory_order_release);
        woken_ = true;
      }
      cv_.notify_one();
    } else {
      publishFailures_.fetch_add(1, std::memory_order_relaxed);
      lastFailureCode_.store(tok.get_return_code(), std::memory_order_relaxed);
    }
    spaceCv_.notify_one();
  }

  void onConnectFailed(int rc) {
    {
      std::lock_guard lock(mu_);
      connectFailed_ = true;
      nextConnect_ = std::chrono::steady_clock::now() + std::chrono::seconds(backoffS_);
      backoffS_ = std::min(backoffS_ * 2, options_.reconnectMaxS);
    }
    log::warn(kComponent, "cannot connect to " + joinedBrokers() + " (code " + std::to_string(rc) +
                              "); retrying, values are buffered (up to " + std::to_string(options_.queue) + ")");
    cv_.notify_one();
  }

  std::string joinedBrokers() const {
    std::string s;
    for (const auto& b : options_.brokers) s += (s.empty() ? "" : ", ") + b;
    return s;
  }

  std::string statusTopic() const { return options_.prefix + "/$status"; }

  void publishStatus(const char* text) {
    try {
      client_->publish(statusTopic(), text, std::char_traits<char>::length(text), 1, true);
    } catch (const mqtt::exception& e) {
      log::warn(kComponent, std::string("cannot publish the status '") + text + "': " + e.what());
    }
  }

  Result<void> validate() const {
    if (options_.brokers.empty()) return badOption("no broker given");
    if (options_.clientId.empty()) return badOption("the client id is empty");
    if (options_.qos < 0 || options_.qos > 2) return badOption("qos must be 0, 1 or 2");
    if (options_.queue < 1 || options_.queue > kMaxQueue) return badOption("queue must be between 1 and 10000000");
    const auto& p = options_.prefix;
    if (p.empty() || p.find_first_of("+#") != std::string::npos || p.front() == '/' || p.back() == '/') {
      return badOption("the topic prefix '" + p + "' must be non-empty, without + or # and without a leading or trailing /");
    }
    if (options_.certFile.empty() != options_.keyFile.empty()) {
      return badOption("mutual TLS needs both cert_file and key_file");
    }
    for (const std::string* file : {&options_.caFile, &options_.certFile, &options_.keyFile}) {
      if (!file->empty() && ::access(file->c_str(), R_OK) != 0) return badOption("cannot read " + *file);
    }
    return {};
  }

  mqtt::connect_options connectOptions() const {
    auto servers = std::make_shared<mqtt::string_collection>(options_.brokers);
    mqtt::connect_options_builder b;
    b.clean_session(true)
        .keep_alive_interval(std::chrono::seconds(options_.keepAliveS))
        .connect_timeout(std::chrono::seconds(10))
        .automatic_reconnect(std::chrono::seconds(options_.reconnectMinS), std::chrono::seconds(options_.reconnectMaxS))
        .will(mqtt::message(statusTopic(), "offline", 1, true))
        .servers(servers);
    if (!options_.username.empty()) b.user_name(options_.username);
    if (!options_.password.empty()) b.password(options_.password);
    const bool tls = std::any_of(options_.brokers.begin(), options_.brokers.end(), [](const std::string& uri) {
      return uri.rfind("ssl://", 0) == 0 || uri.rfind("mqtts://", 0) == 0 || uri.rfind("wss://", 0) == 0;
    });
    if (tls) {
      mqtt::ssl_options ssl;
      if (!options_.caFile.empty()) ssl.set_trust_store(options_.caFile);
      if (!options_.certFile.empty()) {
        ssl.set_key_store(options_.certFile);
        ssl.set_private_key(options_.keyFile);
      }
      ssl.set_enable_server_cert_auth(true);
      ssl.set_verify(true);   // the broker's name must match its certificate
      b.ssl(ssl);
    }
    return b.finalize();
  }

  void connect() {
    try {
      client_->connect(connectOptions_, nullptr, connectListener_);
    } catch (const mqtt::exception& e) {
      onConnectFailed(e.get_return_code());
    }
  }

  void wake() {
    {
      std::lock_guard lock(mu_);
      woken_ = true;
    }
    cv_.notify_one();
  }

  // Only the holder of draining_ calls this (latestRetained_, and the order of values).
  mqtt::message_ptr messageFor(const model::Notification& n) {
    auto msg = mqtt::make_message(MqttPublisher::topicFor(options_.prefix, n), MqttPublisher::payloadFor(n), options_.qos,
                                  options_.retain);
    // With retain on, remember the newest message per topic: a value re-sent after a reconnect
    // must not replace a newer retained one (one entry per resource).
    if (options_.retain) latestRetained_[msg->get_topic()] = msg.get();
    return msg;
  }

  // The model's wake callback, on the writer's thread (for the MQTT bridge: Paho's receive
  // thread), called when the queue goes from empty to non-empty. While connected and with no
  // backlog, the writer publishes the few queued values itself: handing each value to the
  // publisher thread cost a thread switch per value, which on a small box was most of the
  // latency (bench/RESULTS.md run 6). It never waits: Paho's publish only queues the message,
  // and a value Paho cannot take now goes to the publisher thread, which may wait.
  void onWake() {
    if (connected_.load(std::memory_order_acquire) && !backlog_.load(std::memory_order_acquire)) {
      bool expected = false;
      if (draining_.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) {
        bool handOff = false;
        if (!stopping_.load(std::memory_order_acquire)) {
          std::vector<model::NotificationPtr> batch;
          batch.reserve(kInlineBatch);
          const std::size_t n = subscription_->drain(batch, kInlineBatch);
          for (const auto& notification : batch) {
            auto msg = messageFor(*notification);
            if (handOff || !publishOnce(msg)) {
              handOff = true;
              std::lock_guard lock(mu_);
              handoff_.push_back(std::move(msg));
              backlog_.store(true, std::memory_order_release);
            }
          }
          handOff = handOff || n == kInlineBatch;
        }
        draining_.store(false, std::memory_order_release);
        // Values pushed while we drained may have woken the thread, which found draining_ taken.
        if (!handOff && subscription_->queued() == 0) return;
      }
    }
    wake();
  }

  // One attempt, never waiting. False when Paho's queue is full (the caller keeps the message);
  // other failures are counted here and also return true (the message is gone).
  bool publishOnce(const mqtt::const_message_ptr& msg) {
    pending_.fetch_add(1, std::memory_order_relaxed);
    const std::uintptr_t seq = track(msg);
    int rc = 0;
    try {
      client_->publish(msg, reinterpret_cast<void*>(seq), publishListener_);
      return true;
    } catch (const mqtt::exception& e) {
      rc = e.get_return_code();
    }
    if (seq != 0) {
      std::lock_guard lock(inFlightMu_);
      inFlight_.erase(seq);
    }
    pending_.fetch_sub(1, std::memory_order_relaxed);
    const bool bufferFull = rc == MQTTASYNC_MAX_BUFFERED_MESSAGES || rc == MQTTASYNC_NO_MORE_MSGIDS;
    if (bufferFull) return false;
    publishFailures_.fetch_add(1, std::memory_order_relaxed);
    lastFailureCode_.store(rc, std::memory_order_relaxed);
    return true;
  }

  // Values a writer could not publish inline (publisher thread, holding draining_).
  void publishHandedOff() {
    std::deque<mqtt::const_message_ptr> batch;
    {
      std::lock_guard lock(mu_);
      batch.swap(handoff_);
    }
    for (auto& msg : batch) {
      if (stopping_.load(std::memory_order_relaxed)) return;
      publishMessage(std::move(msg));
    }
  }

  // Sends again the values that were in flight when the connection broke (publisher thread).
  void resendFailed() {
    std::deque<mqtt::const_message_ptr> batch;
    {
      std::lock_guard lock(mu_);
      if (resend_.empty() || !connected_.load()) return;
      batch.swap(resend_);
    }
    for (auto& msg : batch) {
      if (stopping_.load(std::memory_order_relaxed)) return;
      resent_.fetch_add(1, std::memory_order_relaxed);
      if (msg->is_retained()) {
        auto it = latestRetained_.find(msg->get_topic());
        if (it == latestRetained_.end() || it->second != msg.get()) {
          auto copy = mqtt::make_message(msg->get_topic(), msg->get_payload(), msg->get_qos(), false);
          publishMessage(std::move(copy));
          continue;
        }
      }
      publishMessage(std::move(msg));
    }
  }

  // Publisher thread: waits while connected and Paho's queue is full.
  void publishMessage(mqtt::const_message_ptr msg) {
    for (;;) {
      if (publishOnce(msg)) return;
      if (client_->is_connected()) {
        // Connected but the client's queue is full: wait until it sends, so the backlog stays
        // in the model queue (whose drops are counted there) rather than being dropped here.
        std::unique_lock lock(mu_);
        if (stopping_) return;
        spaceCv_.wait_for(lock, std::chrono::milliseconds(20));
        if (stopping_) return;
        continue;
      }
      // Broker away and the offline buffer full: the oldest values are kept, this one is lost.
      droppedBufferFull_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }

  void reportDrops() {
    const auto now = std::chrono::steady_clock::now();
    if (now - lastDropReport_ < kDropReportInterval) return;
    const std::uint64_t queueFull = subscription_->droppedTotal();
    const std::uint64_t bufferFull = droppedBufferFull_.load(std::memory_order_relaxed);
    const std::uint64_t failures = publishFailures_.load(std::memory_order_relaxed);
    if (queueFull == reportedQueueFull_ && bufferFull == reportedBufferFull_ && failures == reportedFailures_) return;
    log::warn(kComponent, "values not published so far: " + std::to_string(queueFull) + " (notification queue full), " +
                              std::to_string(bufferFull) + " (offline buffer full), " + std::to_string(failures) +
                              " (publish failed, last code " + std::to_string(lastFailureCode_.load()) + ")");
    reportedQueueFull_ = queueFull;
    reportedBufferFull_ = bufferFull;
    reportedFailures_ = failures;
    lastDropReport_ = now;
  }

  void run() {
    std::vector<model::NotificationPtr> batch;
    batch.reserve(kDrainBatch);
    for (;;) {
      bool retryConnect = false;
      {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stopping_ || woken_; });
        if (stopping_) return;
        woken_ = false;
        if (connectFailed_ && std::chrono::steady_clock::now() >= nextConnect_) {
          connectFailed_ = false;
          retryConnect = true;
        }
      }
      // Paho reconnects by itself only after a first successful connection; before that we retry.
      if (retryConnect) connect();
      // One drainer at a time (onWake() may be draining on a writer's thread): the order of
      // values and latestRetained_ need it. Busy: try again shortly.
      bool expected = false;
      if (!draining_.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        std::lock_guard lock(mu_);
        woken_ = true;
        continue;
      }
      resendFailed();
      publishHandedOff();
      // A bounded round, then back to the checks above; the wake callback fires only on the
      // empty -> non-empty transition, so a round that leaves work behind re-arms itself.
      bool more = false;
      for (int round = 0; round < 64; ++round) {
        batch.clear();
        const std::size_t n = subscription_->drain(batch, kDrainBatch);
        for (const auto& notification : batch) {
          if (stopping_.load(std::memory_order_relaxed)) break;
          publishMessage(messageFor(*notification));
        }
        more = n == kDrainBatch;
        if (!more || stopping_.load(std::memory_order_relaxed)) break;
      }
      {
        // The backlog is gone when nothing waits here; writers may publish inline again.
        std::lock_guard lock(mu_);
        if (handoff_.empty() && resend_.empty() && !more) backlog_.store(false, std::memory_order_release);
      }
      draining_.store(false, std::memory_order_release);
      if (stopping_.load(std::memory_order_relaxed)) return;
      if (more) {
        std::lock_guard lock(mu_);
        woken_ = true;
      }
      reportDrops();
    }
  }

  model::Model& model_;
  const MqttPublisherOptions options_;
  PublishListener publishListener_;
  ConnectListener connectListener_;
  mqtt::connect_options connectOptions_;

  std::mutex mu_;
  std::condition_variable cv_;        // wakes the publisher thread
  std::condition_variable spaceCv_;   // the client sent something (room in its queue)
  bool woken_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> connected_{false};
  bool started_ = false;
  bool connectFailed_ = false;
  int backoffS_ = 1;
  std::chrono::steady_clock::time_point nextConnect_{};

  std::atomic<std::uint64_t> published_{0}, droppedBufferFull_{0}, publishFailures_{0}, connections_{0}, resent_{0};
  std::deque<mqtt::const_message_ptr> resend_;   // guarded by mu_: in flight when the connection broke
  std::deque<mqtt::const_message_ptr> handoff_;  // guarded by mu_: a writer could not publish these
  std::mutex inFlightMu_;
  std::unordered_map<std::uintptr_t, InFlight> inFlight_;   // guarded by inFlightMu_
  std::uintptr_t nextSeq_ = 0;                              // guarded by inFlightMu_
  std::atomic<bool> draining_{false};   // held by whoever drains the queue (thread or a writer)
  std::atomic<bool> backlog_{false};    // handoff_/resend_ not empty: writers leave it to the thread
  std::unordered_map<std::string, const void*> latestRetained_;   // publisher thread only
  std::atomic<std::int64_t> pending_{0};
  std::atomic<int> lastFailureCode_{0};
  std::uint64_t reportedQueueFull_ = 0, reportedBufferFull_ = 0, reportedFailures_ = 0;
  std::chrono::steady_clock::time_point lastDropReport_{};

  mutable std::mutex subscriptionMu_;   // guards the pointer only, for stats() on other threads
  model::SubscriptionPtr subscription_;
  std::unique_ptr<mqtt::async_client> client_;   // destroyed before the listeners it calls
  std::thread thread_;
};

MqttPublisher::MqttPublisher(model::Model& model, MqttPublisherOptions options)
    : impl_(std::make_unique<Impl>(model, std::move(options))) {}

MqttPublisher::~MqttPublisher() { stop(); }

Result<void> MqttPublisher::start() {
  Impl& m = *impl_;
  if (m.started_) return makeError(ErrorCode::Conflict, "mqtt_northbound: the publisher is already started");
  if (auto ok = m.validate(); !ok) return ok;
  try {
    mqtt::create_options create(MQTTVERSION_DEFAULT, static_cast<int>(m.options_.queue));
    // Accept publishes while disconnected, even before the first connection, up to `queue`;
    // beyond that Paho refuses new ones (the oldest are kept).
    create.set_send_while_disconnected(true, true);
    create.set_delete_oldest_messages(false);
    m.client_ = std::make_unique<mqtt::async_client>(m.options_.brokers.front(), m.options_.clientId, create, nullptr);
    m.client_->set_callback(m);
    m.connectOptions_ = m.connectOptions();
  } catch (const mqtt::exception& e) {
    m.client_.reset();
    return badOption("cannot create the MQTT client for " + m.joinedBrokers() + ": " + e.what());
  }
  m.backoffS_ = m.options_.reconnectMinS;
  model::SubscriptionSpec spec;
  spec.kinds = static_cast<std::uint8_t>(model::NotificationKind::Data);
  spec.capacity = m.options_.queue;
  spec.wake = [impl = impl_.get()] { impl->onWake(); };
  {
    auto subscription = m.model_.subscribe(std::move(spec));
    std::lock_guard lock(m.subscriptionMu_);
    m.subscription_ = std::move(subscription);
  }
  m.started_ = true;
  m.thread_ = std::thread([impl = impl_.get()] { impl->run(); });
  m.connect();
  return {};
}

void MqttPublisher::stop() {
  Impl& m = *impl_;
  if (!m.started_) return;
  m.started_ = false;
  m.subscription_->cancel();
  {
    std::lock_guard lock(m.mu_);
    m.stopping_ = true;
  }
  m.cv_.notify_all();
  m.spaceCv_.notify_all();
  m.thread_.join();
  // A writer may be publishing inline (onWake()): wait for it, and keep any later one out.
  for (bool expected = false; !m.draining_.compare_exchange_weak(expected, true); expected = false) {
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  try {
    if (m.client_->is_connected()) {
      // A clean stop is not a failure: say "offline" ourselves, the broker drops the will on a
      // normal disconnect.
      auto tok = m.client_->publish(m.statusTopic(), "offline", 7, 1, true);
      tok->wait_for(std::chrono::seconds(1));
    }
    m.client_->disconnect(1000)->wait_for(std::chrono::seconds(2));
  } catch (const mqtt::exception& e) {
    log::debug(kComponent, std::string("disconnect: ") + e.what());
  }
  m.connected_.store(false);
  m.client_.reset();
  log::info(kComponent, "stopped");
}

MqttPublisherStats MqttPublisher::stats() const {
  const Impl& m = *impl_;
  MqttPublisherStats s;
  s.published = m.published_.load(std::memory_order_relaxed);
  s.droppedBufferFull = m.droppedBufferFull_.load(std::memory_order_relaxed);
  s.publishFailures = m.publishFailures_.load(std::memory_order_relaxed);
  s.resent = m.resent_.load(std::memory_order_relaxed);
  s.connections = m.connections_.load(std::memory_order_relaxed);
  s.pending = static_cast<std::size_t>(std::max<std::int64_t>(0, m.pending_.load(std::memory_order_relaxed)));
  model::SubscriptionPtr sub;
  {
    std::lock_guard lock(m.subscriptionMu_);
    sub = m.subscription_;
  }
  if (sub) {
    s.droppedQueueFull = sub->droppedTotal();
    s.queued = sub->queued();
  }
  s.connected = m.connected_.load();
  return s;
}

}  // namespace gatehouse::core::northbound
