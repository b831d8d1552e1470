#include "gatehouse/kit/mqtt_client.h"
#include "gatehouse/kit/thread_name.h"

#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <utility>

#include <mqtt/async_client.h>

#include "gatehouse/kit/backoff.h"
#include "gatehouse/kit/tcp_nodelay.h"

namespace gatehouse::kit {

namespace {

constexpr std::intptr_t kConnectId = 0;

bool startsWith(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

bool readable(const std::string& path) {
  std::ifstream f(path);
  return f.good();
}


}  // namespace

// The client's state and everything that touches Paho. Paho holds raw pointers to it (handlers,
// the action listener), so it lives at one address from construction to destruction.
class MqttClient::Impl {
 public:
  Impl();
  ~Impl() { close(std::chrono::milliseconds(2000)); }

  Result<void> start(MqttOptions options, MessageHandler onMessage, ConnectionHandler onConnection);
  void close(std::chrono::milliseconds timeout);
  bool isConnected() const;
  std::string lastError() const;
  Result<void> publish(const MqttMessage& message, Completion done, std::chrono::milliseconds waitForSlot);
  Result<void> subscribe(const std::vector<MqttSubscription>& subscriptions, Completion done);
  std::size_t outstanding() const;

 private:
  class Listener;
  struct Pending {
    Completion done;
    bool isPublish = false;
  };

  void connectAttempt();
  void retryLoop();
  void onConnected(const std::string& cause);
  void onConnectionLost(const std::string& cause);
  void onMessage(const ::mqtt::const_message_ptr& msg);
  void onActionDone(std::intptr_t id, bool ok, int rc, const std::string& why);
  std::string describeFailure(int rc, const std::string& why) const;

  MqttOptions options_;
  MessageHandler onMessage_;
  ConnectionHandler onConnection_;
  std::unique_ptr<Listener> listener_;
  std::unique_ptr<::mqtt::async_client> client_;
  std::shared_ptr<::mqtt::connect_options> connectOptions_;

  // Held shared by every handler invocation and exclusively by close(): after close() takes it,
  // no handler body runs again.
  mutable std::shared_mutex callbackGate_;
  bool open_ = false;   // guarded by callbackGate_

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool closing_ = false;
  bool everConnected_ = false;
  bool connected_ = false;
  bool connectInFlight_ = false;
  Backoff retry_{std::chrono::seconds(1), std::chrono::seconds(30)};   // first connection only
  std::chrono::steady_clock::time_point nextAttempt_{};
  std::string lastError_;
  std::intptr_t nextId_ = 1;
  std::map<std::intptr_t, Pending> pending_;
  std::size_t outstandingPublishes_ = 0;
  std::thread retryThread_;
};

// Paho's action listener: forwards every token completion to the client with the token's user
// context (an id into pending_, or kConnectId). Runs on Paho's thread; never throws.
class MqttClient::Impl::Listener final : public ::mqtt::iaction_listener {
 public:
  explicit Listener(Impl& owner) : owner_(owner) {}
  void on_success(const ::mqtt::token& tok) override {
    try {
      int rc = 0;
      std::string why;
      if (tok.get_type() == ::mqtt::token::Type::SUBSCRIBE) {
        // MQTT 5: a refused filter is a success of the SUBSCRIBE with a reason code >= 0x80.
        try {
          const auto response = tok.get_subscribe_response();
          for (auto code : response.get_reason_codes()) {
            if (static_cast<int>(code) >= 0x80) {
              rc = static_cast<int>(code);
              why = "the broker refused a subscription (reason code " + std::to_string(rc) + ")";
            }
          }
        } catch (...) {
          // No response details (MQTT 3): nothing to check.
        }
      }
      owner_.onActionDone(reinterpret_cast<std::intptr_t>(tok.get_user_context()), rc == 0, rc, why);
    } catch (...) {
    }
  }
  void on_failure(const ::mqtt::token& tok) override {
    try {
      // Paho C++ 1.2 keeps the C library's message private: describe the code instead.
      int rc = tok.get_return_code();
      if (rc == 0) rc = static_cast<int>(tok.get_reason_code());
      std::string why;
      if (rc < 0) {
        if (const char* text = MQTTAsync_strerror(rc)) why = text;
      } else if (rc >= 0x80) {
        why = "the broker refused (MQTT reason code " + std::to_string(rc) + ")";
      }
      owner_.onActionDone(reinterpret_cast<std::intptr_t>(tok.get_user_context()), false, rc, why);
    } catch (...) {
    }
  }

 private:
  Impl& owner_;
};

MqttClient::Impl::Impl() : listener_(std::make_unique<Listener>(*this)) {}

Result<void> MqttClient::Impl::start(MqttOptions options, MessageHandler onMessage, ConnectionHandler onConnection) {
  if (client_) return Error{ErrorCode::Conflict, "the MQTT client is already started"};
  if (options.serverUris.empty()) return badRequest("brokers: give at least one broker URI");
  bool anyTls = false;
  for (const auto& uri : options.serverUris) {
    if (startsWith(uri, "ssl://") || startsWith(uri, "mqtts://")) {
      anyTls = true;
    } else if (!startsWith(uri, "tcp://") && !startsWith(uri, "mqtt://")) {
      return badRequest("brokers: '" + uri + "' must start with tcp:// (plain) or ssl:// (TLS), e.g. tcp://127.0.0.1:1883");
    }
  }
  if (options.clientId.empty()) return badRequest("client_id must not be empty");
  if (options.certFile.empty() != options.keyFile.empty())
    return badRequest("cert_file and key_file go together (mutual TLS needs both)");
  for (const auto* f : {&options.caFile, &options.certFile, &options.keyFile}) {
    if (!f->empty() && !readable(*f)) return badRequest("cannot read '" + *f + "'");
  }
  if (!anyTls && (!options.caFile.empty() || !options.certFile.empty()))
    return badRequest("ca_file/cert_file/key_file are set but no broker URI uses ssl://");
  if (options.mqttVersion != 4 && options.mqttVersion != 5) return badRequest("MQTT version must be 4 (3.1.1) or 5");
  if (options.maxOutstanding == 0) options.maxOutstanding = 1;
  options.minRetryS = std::max(1, options.minRetryS);
  options.maxRetryS = std::max(options.minRetryS, options.maxRetryS);

  try {
    auto conn = std::make_shared<::mqtt::connect_options>();
    const bool v5 = options.mqttVersion != 4;
    if (v5) {
      conn->set_mqtt_version(MQTTVERSION_5);
      conn->set_clean_start(options.cleanStart);
    } else {
      conn->set_mqtt_version(MQTTVERSION_3_1_1);
      conn->set_clean_session(options.cleanStart);
    }
    conn->set_keep_alive_interval(std::max(1, options.keepAliveS));
    conn->set_connect_timeout(std::max(1, options.connectTimeoutS));
    conn->set_automatic_reconnect(options.minRetryS, options.maxRetryS);
    auto servers = std::make_shared<::mqtt::string_collection>();
    for (const auto& uri : options.serverUris) servers->push_back(uri);
    conn->set_servers(servers);
    if (v5) {
      ::mqtt::properties props;
      props.add(::mqtt::property(::mqtt::property::SESSION_EXPIRY_INTERVAL,
                                 static_cast<int32_t>(std::min<std::uint32_t>(options.sessionExpiryS, 0x7fffffff))));
      conn->set_properties(props);
    }
    if (!options.username.empty()) conn->set_user_name(options.username);
    if (!options.password.empty()) conn->set_password(options.password);
    if (anyTls) {
      ::mqtt::ssl_options ssl;
      if (!options.caFile.empty()) ssl.set_trust_store(options.caFile);
      if (!options.certFile.empty()) ssl.set_key_store(options.certFile);
      if (!options.keyFile.empty()) ssl.set_private_key(options.keyFile);
      ssl.set_enable_server_cert_auth(true);
      ssl.set_verify(true);   // host name / IP checked against the certificate
      // No ssl_options::set_error_handler: Paho C++ 1.2 registers the ssl_options object itself as
      // the C callback's context, and connect_options keeps a copy, so the callback would run on a
      // destroyed object (a crash on the first TLS error, seen here). describeFailure() names TLS.
      conn->set_ssl(std::move(ssl));
    }

    ::mqtt::create_options create(v5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1, options.maxBuffered);
    auto client = std::make_unique<::mqtt::async_client>(options.serverUris.front(), options.clientId, create, nullptr);
    client->set_message_callback([this](::mqtt::const_message_ptr msg) { this->onMessage(msg); });
    client->set_connected_handler([this](const std::string& cause) { onConnected(cause); });
    client->set_connection_lost_handler([this](const std::string& cause) { onConnectionLost(cause); });

    options_ = std::move(options);
    onMessage_ = std::move(onMessage);
    onConnection_ = std::move(onConnection);
    connectOptions_ = conn;
    client_ = std::move(client);
  } catch (const ::mqtt::exception& e) {
    return badRequest(std::string("cannot create the MQTT client: ") + e.what());
  } catch (const std::exception& e) {
    return Error{ErrorCode::Internal, std::string("cannot create the MQTT client: ") + e.what()};
  }
  {
    std::unique_lock gate(callbackGate_);
    open_ = true;
  }
  {
    std::lock_guard lock(mu_);
    retry_ = Backoff(std::chrono::seconds(options_.minRetryS), std::chrono::seconds(options_.maxRetryS));
    nextAttempt_ = std::chrono::steady_clock::now();
  }
  retryThread_ = std::thread([this] { retryLoop(); });
  return {};
}

void MqttClient::Impl::retryLoop() {
  setThreadName("mqtt-connect");
  std::unique_lock lock(mu_);
  while (!closing_) {
    if (everConnected_) {
      // From now on Paho's automatic reconnect does the work.
      cv_.wait(lock, [this] { return closing_; });
      break;
    }
    if (!connectInFlight_ && std::chrono::steady_clock::now() >= nextAttempt_) {
      connectInFlight_ = true;
      lock.unlock();
      connectAttempt();
      lock.lock();
      continue;
    }
    if (connectInFlight_) {
      cv_.wait(lock, [this] { return closing_ || !connectInFlight_ || everConnected_; });
    } else {
      cv_.wait_until(lock, nextAttempt_, [this] { return closing_; });
    }
  }
}

void MqttClient::Impl::connectAttempt() {
  try {
    client_->connect(*connectOptions_, reinterpret_cast<void*>(kConnectId), *listener_);
  } catch (const ::mqtt::exception& e) {
    onActionDone(kConnectId, false, e.get_return_code(), e.what());
  } catch (const std::exception& e) {
    onActionDone(kConnectId, false, -1, e.what());
  }
}

std::string MqttClient::Impl::describeFailure(int rc, const std::string& why) const {
  std::string text = why.empty() ? "error " + std::to_string(rc) : why;
  bool usesTls = std::any_of(options_.serverUris.begin(), options_.serverUris.end(),
                             [](const std::string& u) { return startsWith(u, "ssl://") || startsWith(u, "mqtts://"); });
  std::string where;
  for (const auto& u : options_.serverUris) where += (where.empty() ? "" : ", ") + u;
  std::string out = "cannot connect to " + where + ": " + text;
  if (usesTls) {
    out += " (TLS connection; check ca_file, cert_file, key_file and the broker's certificate)";
  }
  return out;
}

void MqttClient::Impl::onActionDone(std::intptr_t id, bool ok, int rc, const std::string& why) {
  std::shared_lock gate(callbackGate_);
  if (!open_) return;
  if (id == kConnectId) {
    if (ok) {
      // onConnected() (Paho's connected handler) does the bookkeeping.
      std::lock_guard lock(mu_);
      connectInFlight_ = false;
      cv_.notify_all();
      return;
    }
    const std::string reason = describeFailure(rc, why);
    {
      std::lock_guard lock(mu_);
      connectInFlight_ = false;
      lastError_ = reason;
      nextAttempt_ = std::chrono::steady_clock::now() + retry_.next();
      cv_.notify_all();
    }
    if (onConnection_) {
      try {
        onConnection_(false, reason);
      } catch (...) {
      }
    }
    return;
  }
  Pending p;
  {
    std::lock_guard lock(mu_);
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    p = std::move(it->second);
    pending_.erase(it);
    if (p.isPublish && outstandingPublishes_ > 0) --outstandingPublishes_;
    cv_.notify_all();
  }
  if (p.done) {
    try {
      if (ok) {
        p.done(Result<void>());
      } else if (rc >= 0x80) {
        p.done(Error{ErrorCode::NotAllowed, why});
      } else {
        p.done(unavailable("MQTT request failed: " + (why.empty() ? "error " + std::to_string(rc) : why)));
      }
    } catch (...) {
    }
  }
}

void MqttClient::Impl::onConnected(const std::string& /*cause*/) {
  std::shared_lock gate(callbackGate_);
  if (!open_) return;
  {
    std::lock_guard lock(mu_);
    connected_ = true;
    everConnected_ = true;
    connectInFlight_ = false;
    lastError_.clear();
    retry_.reset();
    cv_.notify_all();
  }
  // Paho C never sets TCP_NODELAY and has no hook to: without it a forwarded reading can wait
  // up to 40 ms for a delayed ACK (tcp_nodelay.h).
  for (const auto& uri : options_.serverUris) (void)enableTcpNoDelayTo(portOfUri(uri));
  if (onConnection_) {
    try {
      onConnection_(true, "connected");
    } catch (...) {
    }
  }
}

void MqttClient::Impl::onConnectionLost(const std::string& cause) {
  std::shared_lock gate(callbackGate_);
  if (!open_) return;
  std::string reason = "connection lost" + (cause.empty() ? std::string() : ": " + cause) + "; reconnecting";
  {
    std::lock_guard lock(mu_);
    connected_ = false;
    lastError_ = reason;
  }
  if (onConnection_) {
    try {
      onConnection_(false, reason);
    } catch (...) {
    }
  }
}

void MqttClient::Impl::onMessage(const ::mqtt::const_message_ptr& msg) {
  std::shared_lock gate(callbackGate_);
  if (!open_ || !onMessage_) return;
  try {
    if (!msg) return;
    MqttMessage in;
    in.topic = msg->get_topic();
    in.payload = msg->get_payload_str();
    in.qos = msg->get_qos();
    in.retained = msg->is_retained();
    in.duplicate = msg->is_duplicate();
    const auto& props = msg->get_properties();
    if (props.contains(::mqtt::property::RESPONSE_TOPIC))
      in.responseTopic = ::mqtt::get<std::string>(props, ::mqtt::property::RESPONSE_TOPIC);
    if (props.contains(::mqtt::property::CORRELATION_DATA))
      in.correlationData = ::mqtt::get<std::string>(props, ::mqtt::property::CORRELATION_DATA);
    onMessage_(in);
  } catch (...) {
    // A handler bug must not take Paho's thread (and the gateway) down.
  }
}

void MqttClient::Impl::close(std::chrono::milliseconds timeout) {
  {
    std::lock_guard lock(mu_);
    if (closing_) return;
    closing_ = true;
    cv_.notify_all();
  }
  if (retryThread_.joinable()) retryThread_.join();
  if (client_) {
    try {
      auto tok = client_->disconnect(static_cast<int>(timeout.count()));
      tok->wait_for(timeout + std::chrono::milliseconds(500));
    } catch (...) {
      // Not connected (or already down): nothing to flush.
    }
  }
  {
    // Waits for running handlers; later ones see open_ == false and return at once.
    std::unique_lock gate(callbackGate_);
    open_ = false;
  }
  if (client_) {
    try {
      client_->set_message_callback(nullptr);
      client_->set_connected_handler(nullptr);
      client_->set_connection_lost_handler(nullptr);
    } catch (...) {
    }
  }
  std::map<std::intptr_t, Pending> dropped;   // completions that never run: destroyed unlocked
  std::lock_guard lock(mu_);
  connected_ = false;
  dropped.swap(pending_);
  outstandingPublishes_ = 0;
  cv_.notify_all();
}

bool MqttClient::Impl::isConnected() const {
  std::lock_guard lock(mu_);
  return connected_;
}

std::string MqttClient::Impl::lastError() const {
  std::lock_guard lock(mu_);
  return lastError_;
}

std::size_t MqttClient::Impl::outstanding() const {
  std::lock_guard lock(mu_);
  return outstandingPublishes_;
}

Result<void> MqttClient::Impl::publish(const MqttMessage& message, Completion done, std::chrono::milliseconds waitForSlot) {
  if (message.qos < 0 || message.qos > 2) return badRequest("QoS must be 0, 1 or 2");
  std::intptr_t id = 0;
  {
    std::unique_lock lock(mu_);
    if (!client_ || closing_) return unavailable("the MQTT client is not running");
    if (!cv_.wait_for(lock, waitForSlot,
                      [this] { return closing_ || outstandingPublishes_ < options_.maxOutstanding; }) ||
        closing_) {
      return unavailable("too many MQTT publishes in flight (" + std::to_string(options_.maxOutstanding) +
                         "); the broker is slow or unreachable");
    }
    id = nextId_++;
    pending_[id] = Pending{std::move(done), true};
    ++outstandingPublishes_;
  }
  try {
    auto msg = ::mqtt::make_message(message.topic, message.payload, message.qos, message.retained);
    if (!message.responseTopic.empty() || !message.correlationData.empty()) {
      ::mqtt::properties props;
      if (!message.responseTopic.empty())
        props.add(::mqtt::property(::mqtt::property::RESPONSE_TOPIC, message.responseTopic));
      if (!message.correlationData.empty())
        props.add(::mqtt::property(::mqtt::property::CORRELATION_DATA, message.correlationData));
      msg->set_properties(props);
    }
    client_->publish(msg, reinterpret_cast<void*>(id), *listener_);
    return {};
  } catch (const std::exception& e) {
    decltype(pending_)::node_type dropped;   // `done` is not called: destroyed unlocked
    std::lock_guard lock(mu_);
    dropped = pending_.extract(id);
    if (!dropped.empty() && outstandingPublishes_ > 0) --outstandingPublishes_;
    cv_.notify_all();
    return unavailable(std::string("cannot publish to '") + message.topic + "': " + e.what());
  }
}

Result<void> MqttClient::Impl::subscribe(const std::vector<MqttSubscription>& subscriptions, Completion done) {
  if (subscriptions.empty()) {
    if (done) done(Result<void>());
    return {};
  }
  std::intptr_t id = 0;
  {
    std::lock_guard lock(mu_);
    if (!client_ || closing_) return unavailable("the MQTT client is not running");
    id = nextId_++;
    pending_[id] = Pending{std::move(done), false};
  }
  try {
    auto filters = std::make_shared<::mqtt::string_collection>();
    ::mqtt::iasync_client::qos_collection qos;
    for (const auto& s : subscriptions) {
      filters->push_back(s.filter);
      qos.push_back(std::clamp(s.qos, 0, 2));
    }
    client_->subscribe(filters, qos, reinterpret_cast<void*>(id), *listener_);
    return {};
  } catch (const std::exception& e) {
    decltype(pending_)::node_type dropped;
    std::lock_guard lock(mu_);
    dropped = pending_.extract(id);
    return unavailable(std::string("cannot subscribe: ") + e.what());
  }
}

// --- MqttClient: forwards to Impl -------------------------------------------------------------

MqttClient::MqttClient() : impl_(std::make_unique<Impl>()) {}
MqttClient::~MqttClient() = default;   // ~Impl closes

Result<void> MqttClient::start(MqttOptions options, MessageHandler onMessage, ConnectionHandler onConnection) {
  return impl_->start(std::move(options), std::move(onMessage), std::move(onConnection));
}
void MqttClient::close(std::chrono::milliseconds timeout) { impl_->close(timeout); }
bool MqttClient::isConnected() const { return impl_->isConnected(); }
std::string MqttClient::lastError() const { return impl_->lastError(); }
Result<void> MqttClient::publish(const MqttMessage& message, Completion done, std::chrono::milliseconds waitForSlot) {
  return impl_->publish(message, std::move(done), waitForSlot);
}
Result<void> MqttClient::subscribe(const std::vector<MqttSubscription>& subscriptions, Completion done) {
  return impl_->subscribe(subscriptions, std::move(done));
}
std::size_t MqttClient::outstanding() const { return impl_->outstanding(); }

}  // namespace gatehouse::kit
