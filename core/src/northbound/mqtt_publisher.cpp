#include "northbound/mqtt_publisher.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <thread>

#include <gatehouse/kit/mqtt_publisher.h>

#include "common/json_writer.h"
#include "common/log.h"
#include "config/config.h"

namespace gatehouse::core::northbound {

namespace {

constexpr std::string_view kComponent = "mqtt-northbound";
constexpr std::size_t kDrainBatch = 256;   // most the I/O thread moves per ready call
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

struct MqttPublisher::Impl {
  enum class Round { Empty, More, Blocked };

  Impl(model::Model& model, MqttPublisherOptions options) : model_(model), options_(std::move(options)) {}

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

  std::string joinedBrokers() const {
    std::string s;
    for (const auto& b : options_.brokers) s += (s.empty() ? "" : ", ") + b;
    return s;
  }

  kit::MqttPublisherOptions clientOptions() const {
    kit::MqttPublisherOptions k;
    k.brokers = options_.brokers;
    k.clientId = options_.clientId;
    k.username = options_.username;
    k.password = options_.password;
    k.caFile = options_.caFile;
    k.certFile = options_.certFile;
    k.keyFile = options_.keyFile;
    k.keepAliveS = options_.keepAliveS;
    k.connectTimeout = std::chrono::seconds(10);
    k.reconnectMin = std::chrono::seconds(options_.reconnectMinS);
    k.reconnectMax = std::chrono::seconds(options_.reconnectMaxS);
    k.bufferLimit = options_.queue;
    const std::string status = options_.prefix + "/$status";
    k.will = kit::MqttMessage{status, "offline", 1, true};
    k.online = kit::MqttMessage{status, "online", 1, true};
    k.offline = kit::MqttMessage{status, "offline", 1, true};
    k.threadName = "mqtt-northbound";
    return k;
  }

  void onEvent(kit::MqttPublisherEvent event, const std::string& detail) {
    const std::string buffered = "values are buffered (up to " + std::to_string(options_.queue) + ")";
    switch (event) {
      case kit::MqttPublisherEvent::Connected:
        log::info(kComponent, "connected to " + detail + "; publishing under " + options_.prefix + "/");
        break;
      case kit::MqttPublisherEvent::ConnectFailed:
        log::warn(kComponent, "cannot connect to " + detail + "; retrying, " + buffered);
        break;
      case kit::MqttPublisherEvent::ConnectionLost:
        log::warn(kComponent, "connection to the broker lost: " + detail + "; reconnecting, " + buffered);
        break;
    }
  }

  // One bounded round of moving notifications into the client (only the holder of draining_:
  // the order of values and held_ need one drainer at a time). Connected, it takes no more than
  // the client can buffer, so a backlog stays in the model queue (which counts its own drops);
  // disconnected, it takes everything, the client keeps what fits and the rest is dropped here.
  Round drainRound(std::size_t max) {
    while (!held_.empty()) {   // values the client could not take last time go first
      const auto st = client_->publish(std::move(held_.front()));
      if (st == kit::MqttPublishStatus::Full && client_->connected()) break;
      count(st);
      held_.pop_front();
    }
    std::size_t got = 0, want = 0;
    if (held_.empty()) {
      want = client_->connected() ? std::min(max, std::max<std::size_t>(client_->room(), 1)) : max;
      batch_.clear();
      got = subscription_->drain(batch_, want);
      for (const auto& notification : batch_) {
        kit::MqttMessage msg{topicFor(options_.prefix, *notification), payloadFor(*notification), options_.qos, options_.retain};
        if (!held_.empty()) {
          held_.push_back(std::move(msg));
          continue;
        }
        const auto st = client_->publish(std::move(msg));
        if (st == kit::MqttPublishStatus::Full && client_->connected()) {
          held_.push_back(std::move(msg));   // untouched by a refused publish(); room() will come back
        } else {
          count(st);
        }
      }
      batch_.clear();
    }
    held_count_.store(held_.size(), std::memory_order_relaxed);
    reportDrops();
    if (!held_.empty()) return Round::Blocked;   // the client calls onReady() once it has room
    return got == want ? Round::More : Round::Empty;
  }

  void count(kit::MqttPublishStatus st) {
    switch (st) {
      case kit::MqttPublishStatus::Accepted:
        break;
      case kit::MqttPublishStatus::Full:   // broker away and the offline buffer full: the oldest are kept
        droppedBufferFull_.fetch_add(1, std::memory_order_relaxed);
        break;
      case kit::MqttPublishStatus::Invalid:
        refused_.fetch_add(1, std::memory_order_relaxed);
        break;
      case kit::MqttPublishStatus::Stopped:   // stop() is under way
        break;
    }
  }

  // Whoever lets go of draining_ looks again: a value pushed meanwhile found draining_ taken.
  void releaseAndRecheck(Round r) {
    draining_.store(false, std::memory_order_release);
    if (r == Round::More || (r == Round::Empty && subscription_->queued() != 0)) client_->wake();
  }

  // The model's wake callback, on the writer's thread (for the MQTT bridge: Paho's receive
  // thread), when the queue goes from empty to non-empty. Connected, the writer publishes the few
  // queued values itself: the client writes them to the socket on this thread when nothing is
  // waiting ahead of them, which saves a thread switch per value (bench/RESULTS.md runs 6 and 9).
  // It never waits: what cannot go now is left to the client's I/O thread.
  void onWake() {
    if (!client_->connected()) {
      client_->wake();   // the I/O thread buffers (or drops) them
      return;
    }
    bool expected = false;
    if (!draining_.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) return;
    releaseAndRecheck(stopping_.load(std::memory_order_acquire) ? Round::Empty : drainRound(kInlineBatch));
  }

  // The client's ready callback, on its I/O thread: after a wake(), a (re)connection, or when
  // room came back. One bounded round; another one is asked for when more is queued.
  void onReady() {
    if (stopping_.load(std::memory_order_acquire)) return;
    bool expected = false;
    if (!draining_.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) return;
    releaseAndRecheck(drainRound(kDrainBatch));
  }

  // Only the holder of draining_.
  void reportDrops() {
    const auto now = std::chrono::steady_clock::now();
    if (now - lastDropReport_ < kDropReportInterval) return;
    const std::uint64_t queueFull = subscription_->droppedTotal();
    const std::uint64_t bufferFull = droppedBufferFull_.load(std::memory_order_relaxed);
    const std::uint64_t failures = client_->stats().failed + refused_.load(std::memory_order_relaxed);
    if (queueFull == reportedQueueFull_ && bufferFull == reportedBufferFull_ && failures == reportedFailures_) return;
    const std::string last = client_->lastFailure();
    log::warn(kComponent, "values not published so far: " + std::to_string(queueFull) + " (notification queue full), " +
                              std::to_string(bufferFull) + " (offline buffer full), " + std::to_string(failures) +
                              " (publish failed" + (last.empty() ? std::string() : ", last: " + last) + ")");
    reportedQueueFull_ = queueFull;
    reportedBufferFull_ = bufferFull;
    reportedFailures_ = failures;
    lastDropReport_ = now;
  }

  model::Model& model_;
  const MqttPublisherOptions options_;
  std::unique_ptr<kit::MqttPublisher> client_;
  bool started_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> draining_{false};   // held by whoever drains the queue (a writer or the I/O thread)

  // The holder of draining_ only.
  std::vector<model::NotificationPtr> batch_;
  std::deque<kit::MqttMessage> held_;   // drained while connected but the client was full
  std::uint64_t reportedQueueFull_ = 0, reportedBufferFull_ = 0, reportedFailures_ = 0;
  std::chrono::steady_clock::time_point lastDropReport_{};

  std::atomic<std::size_t> held_count_{0};
  std::atomic<std::uint64_t> droppedBufferFull_{0}, refused_{0};

  mutable std::mutex subscriptionMu_;   // guards the pointer only, for stats() on other threads
  model::SubscriptionPtr subscription_;
};

MqttPublisher::MqttPublisher(model::Model& model, MqttPublisherOptions options)
    : impl_(std::make_unique<Impl>(model, std::move(options))) {}

MqttPublisher::~MqttPublisher() { stop(); }

Result<void> MqttPublisher::start() {
  Impl& m = *impl_;
  if (m.started_) return makeError(ErrorCode::Conflict, "mqtt_northbound: the publisher is already started");
  if (auto ok = m.validate(); !ok) return ok;
  m.client_ = std::make_unique<kit::MqttPublisher>(m.clientOptions());
  m.client_->setReadyHandler([impl = impl_.get()] { impl->onReady(); });
  m.client_->setEventHandler(
      [impl = impl_.get()](kit::MqttPublisherEvent event, const std::string& detail) { impl->onEvent(event, detail); });
  // Subscribed first: values pushed before the client runs wait in the queue (a wake() before
  // start() is remembered by the client).
  model::SubscriptionSpec spec;
  spec.kinds = static_cast<std::uint8_t>(model::NotificationKind::Data);
  spec.capacity = m.options_.queue;
  spec.wake = [impl = impl_.get()] { impl->onWake(); };
  {
    auto subscription = m.model_.subscribe(std::move(spec));
    std::lock_guard lock(m.subscriptionMu_);
    m.subscription_ = std::move(subscription);
  }
  if (auto ok = m.client_->start(); !ok) {
    m.subscription_->cancel();
    return badOption("cannot create the MQTT client for " + m.joinedBrokers() + ": " + ok.error().message);
  }
  m.started_ = true;
  return {};
}

void MqttPublisher::stop() {
  Impl& m = *impl_;
  if (!m.started_) return;
  m.started_ = false;
  m.stopping_.store(true, std::memory_order_release);
  // A writer (or the I/O thread) may be draining: wait for it, and keep any later one out.
  for (bool expected = false; !m.draining_.compare_exchange_weak(expected, true); expected = false) {
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  // What the queue still holds goes to the client, so a clean stop flushes it (when connected);
  // then no more notifications (cancel() also empties the queue).
  for (int round = 0; round < 1000 && m.drainRound(kDrainBatch) == Impl::Round::More; ++round) {
  }
  m.subscription_->cancel();
  m.droppedBufferFull_.fetch_add(m.held_.size(), std::memory_order_relaxed);
  m.held_.clear();
  m.held_count_.store(0);
  // "offline" (retained) when connected; the broker drops the will on a normal disconnect.
  m.client_->stop(std::chrono::seconds(2));
  log::info(kComponent, "stopped");
}

MqttPublisherStats MqttPublisher::stats() const {
  const Impl& m = *impl_;
  MqttPublisherStats s;
  if (m.client_) {
    const auto c = m.client_->stats();
    s.published = c.published;
    s.publishFailures = c.failed;
    s.resent = c.resent;
    s.connections = c.connections;
    s.pending = c.pending;
    s.connected = c.connected;
  }
  s.publishFailures += m.refused_.load(std::memory_order_relaxed);
  s.droppedBufferFull = m.droppedBufferFull_.load(std::memory_order_relaxed);
  s.pending += m.held_count_.load(std::memory_order_relaxed);
  model::SubscriptionPtr sub;
  {
    std::lock_guard lock(m.subscriptionMu_);
    sub = m.subscription_;
  }
  if (sub) {
    s.droppedQueueFull = sub->droppedTotal();
    s.queued = sub->queued();
  }
  return s;
}

}  // namespace gatehouse::core::northbound
