#include "mqtt_bridge.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "gatehouse/bridge/mqtt/topic.h"
#include "gatehouse/e2e/e2e.h"
#include "gatehouse/kit/codec.h"
#include "gatehouse/kit/settings.h"

namespace gatehouse::bridge::mqtt {

namespace {

// The plugin's settings: one table names each key once (kit/settings.h); configure() gets them
// bound and checked instead of looking each key up by string.
struct MqttSettings {
  std::vector<std::string> brokers;
  std::string clientId;
  std::string username;
  std::string password;
  std::string caFile;
  std::string certFile;
  std::string keyFile;
  std::string mappingsFile;
  int keepAliveS = 30;
  std::chrono::seconds badPayloadLogInterval{10};
};

std::string requireBrokers(const std::vector<std::string>& uris) {
  return uris.empty() ? "give at least one broker URI, e.g. tcp://127.0.0.1:1883" : std::string();
}

// The client id names the reply topic, so it must be one topic level: the model's identifier rule.
std::string requireClientId(const std::string& id) {
  return kit::isValidIdentifier(id) ? std::string() : "must be 1-128 of A-Z a-z 0-9 _ . : - (not '.' or '..')";
}

std::string requirePath(const std::string& path) {
  return path.empty() ? "give the path of the mappings YAML file" : std::string();
}

const kit::SettingsTable<MqttSettings> kMqttSettings =
    kit::SettingsTable<MqttSettings>{
        kit::setting("brokers", &MqttSettings::brokers).required().check(requireBrokers)
            .doc("Broker URIs tried in order (failover): tcp://host:1883 or ssl://host:8883."),
        kit::setting("client_id", &MqttSettings::clientId, "gatehouse-mqtt").check(requireClientId)
            .doc("MQTT client id, 1-128 of A-Z a-z 0-9 _ . : -; unique per broker (persistent session)."),
        kit::setting("username", &MqttSettings::username).doc("Broker user name; empty for none."),
        kit::setting("password", &MqttSettings::password).secret().doc("Broker password; never logged."),
        kit::setting("ca_file", &MqttSettings::caFile).doc("TLS: PEM file of the CA that signed the broker's certificate."),
        kit::setting("cert_file", &MqttSettings::certFile).doc("Mutual TLS: PEM client certificate (with key_file)."),
        kit::setting("key_file", &MqttSettings::keyFile).doc("Mutual TLS: PEM private key of cert_file."),
        kit::setting("mappings_file", &MqttSettings::mappingsFile).required().check(requirePath)
            .doc("YAML file of topic mappings (see bridges/mqtt/README.md)."),
        kit::setting("keep_alive_s", &MqttSettings::keepAliveS, 30).range(5, 3600).doc("MQTT keep-alive interval in seconds."),
        kit::setting("bad_payload_log_interval_s", &MqttSettings::badPayloadLogInterval, std::chrono::seconds(10))
            .range(1, 86400)
            .doc("At most one bad-payload log line per mapping per this many seconds."),
    }.checkedWith([](const MqttSettings& s) {
      return s.certFile.empty() != s.keyFile.empty() ? "cert_file and key_file go together (mutual TLS needs both)"
                                                     : std::string();
    });

}  // namespace

const sdk::ConfigSchema kMqttConfigSchema = kMqttSettings.schema();

namespace {

// Device-supplied text (topics, reasons quoting payload bits) made safe for one log line.
std::string printable(const std::string& s, std::size_t max = 200) {
  std::string out;
  for (char c : s.substr(0, max)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  if (s.size() > max) out += "...";
  return out;
}

std::string key(const std::string& p, const std::string& s, const std::string& r) { return p + "/" + s + "/" + r; }

// The period of the bad-payload report flush (the reports themselves are at most one per mapping
// per bad_payload_log_interval_s, at least 1 s).
constexpr std::chrono::milliseconds kReportFlushPeriod{500};

}  // namespace

MqttBridge::~MqttBridge() {
  // stop() is the normal path; this covers a failed start() (the host then skips stop()).
  if (commands_) commands_->close();
  if (client_) client_->close();
  timer_.stop();
}

sdk::Status MqttBridge::configure(const sdk::Config& config) {
  auto settings = kMqttSettings.bind(config);
  if (!settings) return kit::toStatus(settings.error());
  kit::MqttOptions o;
  o.serverUris = std::move(settings->brokers);
  o.clientId = std::move(settings->clientId);
  o.username = std::move(settings->username);
  o.password = std::move(settings->password);
  o.caFile = std::move(settings->caFile);
  o.certFile = std::move(settings->certFile);
  o.keyFile = std::move(settings->keyFile);
  o.keepAliveS = settings->keepAliveS;
  mappingsFile_ = std::move(settings->mappingsFile);
  badLogInterval_ = settings->badPayloadLogInterval;
  replyTopic_ = "gatehouse/replies/" + o.clientId;
  mqtt_ = std::move(o);
  return sdk::Status::ok();
}

sdk::Status MqttBridge::start() {
  if (mqtt_.serverUris.empty()) return sdk::Status::invalidArgument("the MQTT bridge is not configured (brokers, mappings_file)");
  auto loaded = MappingSet::loadFile(mappingsFile_);
  if (!loaded) return sdk::Status::invalidArgument(loaded.message());
  mappings_ = std::move(loaded).value();
  bad_.assign(mappings_.size(), BadCounter{});
  pending_.open();
  timer_.start();
  state_.attach(host());
  state_.degraded("connecting to " + mqtt_.serverUris.front());
  client_ = std::make_unique<kit::MqttClient>();
  auto s = client_->start(
      mqtt_, [this](const kit::MqttMessage& m) { onMessage(m); },
      [this](bool connected, const std::string& reason) { onConnection(connected, reason); });
  if (!s) {
    client_.reset();
    return kit::toStatus(s.error());
  }
  if (mappings_.hasCommands()) {
    // Commands go out on a second connection with a clean session, so that nothing this bridge
    // publishes at QoS 1/2 lives in the persistent session: a command in flight when the
    // connection breaks fails (503) instead of being re-sent later by Paho, which would both
    // actuate a device long after the REST call gave up and hit Paho C 1.3.12's corruption of
    // re-sent packets (docs/architecture.md). The ingest session stays persistent (no loss).
    kit::MqttOptions c = mqtt_;
    c.clientId = mqtt_.clientId + "-cmd";
    c.cleanStart = true;
    c.sessionExpiryS = 0;
    commands_ = std::make_unique<kit::MqttClient>();
    auto cs = commands_->start(c, {}, [this](bool connected, const std::string& reason) {
      {
        std::lock_guard lock(stateMu_);
        commandsUp_ = connected;
      }
      if (!connected) host().warn("MQTT (commands): " + reason);
      reportState();
    });
    if (!cs) {
      commands_.reset();
      client_->close();
      client_.reset();
      return kit::toStatus(cs.error());
    }
  }
  timer_.schedulePeriodic(kReportFlushPeriod, [this] { reportBadPayloads(false); });
  host().info("MQTT bridge: " + std::to_string(mappings_.size()) + " mappings from " + mappingsFile_ + ", " +
              std::to_string(mappings_.subscriptions().size()) + " subscriptions");
  return sdk::Status::ok();
}

void MqttBridge::stop() {
  if (commands_) commands_->close();
  if (client_) client_->close();   // no MQTT callback runs after this
  pending_.close();                // SET/ACT arriving from now on fail at once
  timer_.stop();                   // no timeout sweep or report runs after this
  pending_.failAll(kit::ErrorCode::Unavailable, [](const Pending::Entry& c) {
    return "the MQTT bridge stopped before the device answered on " + c.data.waitTopic;
  });
  reportBadPayloads(true);
}

void MqttBridge::reportState() {
  std::lock_guard lock(stateMu_);
  if (subscribedReason_.empty()) return;   // the ingest side reports its own problems
  if (commands_ && !commandsUp_) {
    state_.degraded("subscribed; the command connection is not up yet");
    return;
  }
  state_.running(subscribedReason_);
}

void MqttBridge::onConnection(bool connected, const std::string& reason) {
  if (!connected) {
    {
      std::lock_guard lock(stateMu_);
      subscribedReason_.clear();
      state_.degraded(reason);
    }
    host().warn("MQTT: " + reason);
    return;
  }
  // The session may have been lost (broker restarted without persistence, session expired):
  // subscribing again is harmless when it was not.
  resubscribe();
}

void MqttBridge::resubscribe() {
  std::vector<kit::MqttSubscription> subs;
  for (const auto& s : mappings_.subscriptions()) subs.push_back({s.filter, s.qos});
  subs.push_back({replyTopic_, 1});
  {
    std::lock_guard lock(ackMu_);
    for (const auto& t : ackTopics_) subs.push_back({t, 1});
  }
  const std::string broker = mqtt_.serverUris.size() == 1 ? mqtt_.serverUris.front() : "the broker";
  auto s = client_->subscribe(subs, [this, broker, n = subs.size()](const kit::Result<void>& st) {
    if (st) {
      {
        std::lock_guard lock(stateMu_);
        subscribedReason_ = "connected to " + broker + ", " + std::to_string(n) + " subscriptions";
      }
      reportState();
    } else {
      {
        std::lock_guard lock(stateMu_);
        state_.degraded("subscribing failed: " + st.message());
      }
      host().error("MQTT: subscribing failed: " + st.message());
    }
  });
  if (!s) {
    std::lock_guard lock(stateMu_);
    state_.degraded("subscribing failed: " + s.message());
  }
}

void MqttBridge::onMessage(const kit::MqttMessage& message) {
  if (handleReply(message)) return;
  applyMappings(message);
}

void MqttBridge::applyMappings(const kit::MqttMessage& message) {
  Extracted x = mappings_.apply(message.topic, message.payload);
  for (const auto& [index, reason] : x.errors) noteBadPayload(index, message.topic, reason);
  for (const auto& spec : x.declarations) {
    const std::string k = key(spec.provider, spec.service, spec.resource);
    {
      std::lock_guard lock(declaredMu_);
      if (!declared_.insert(k).second) continue;
    }
    if (auto s = host().declareResource(spec); !s) {
      host().warn("MQTT: cannot declare " + printable(k) + ": " + s.message());
    } else {
      host().debug("MQTT: declared " + printable(k) + " (" + std::string(sdk::toString(spec.type)) + ") from a message on " +
                   printable(message.topic));
    }
  }
  for (const auto& u : x.updates) {
    // An e2e payload must at least start like a data message (magic, version 1, type 1: a header
    // check, nothing more); anything else (plaintext sent by mistake, a key request or wrap) is
    // dropped and counted, never stored.
    if (u.e2e) {
      const auto type = e2e::peekType(u.value.asString());
      if (!type || *type != e2e::MessageType::Data) {
        noteBadPayload(u.mapping, message.topic,
                       "not an e2e data message (" + std::to_string(u.value.asString().size()) + " bytes); dropped");
        continue;
      }
    }
    // An e2e value (ciphertext) reaches the model only once its resource is marked e2e: true, so
    // that no filter ever compares it; when the mark cannot be set the value is dropped.
    if (u.e2e && !markE2e(u)) {
      noteBadPayload(u.mapping, message.topic,
                     "cannot mark " + key(u.provider, u.service, u.resource) + " as e2e; e2e payload of " +
                         std::to_string(u.value.asString().size()) + " bytes dropped");
      continue;
    }
    if (auto s = host().push(u.provider, u.service, u.resource, u.value, u.timestampMs); !s) {
      // The host's message may quote the value; never log an e2e payload, only its size.
      noteBadPayload(u.mapping, message.topic,
                     u.e2e ? "the gateway refused the e2e payload of " + std::to_string(u.value.asString().size()) + " bytes (" +
                                 sdk::statusName(s.code()) + ")"
                           : "the gateway refused the value: " + s.message());
    }
  }
  for (const auto& m : x.metadata) {
    if (auto s = host().setMetadata(m.provider, m.service, m.resource, m.key, m.value); !s)
      host().debug("MQTT: metadata " + m.key + " refused: " + s.message());
  }
}

bool MqttBridge::markE2e(const ResourceUpdate& u) {
  const std::string k = key(u.provider, u.service, u.resource);
  {
    std::lock_guard lock(declaredMu_);
    if (e2eMarked_.count(k) != 0) return true;
  }
  if (auto s = host().setMetadata(u.provider, u.service, u.resource, kE2eMetadataKey, sdk::Value::ofBool(true)); !s) {
    host().warn("MQTT: cannot set metadata e2e on " + printable(k) + ": " + s.message());
    return false;
  }
  // The provider's key request relay, once (Extracted::declarations leaves it out: see mapping.h).
  const sdk::ResourceSpec relay = keyRequestSpec(u.provider);
  const std::string relayKey = key(relay.provider, relay.service, relay.resource);
  bool declareRelay = false;
  {
    std::lock_guard lock(declaredMu_);
    e2eMarked_.insert(k);
    declareRelay = declared_.insert(relayKey).second;
  }
  if (declareRelay) {
    if (auto s = host().declareResource(relay); !s) {
      host().warn("MQTT: cannot declare " + printable(relayKey) + ": " + s.message());
      std::lock_guard lock(declaredMu_);
      declared_.erase(relayKey);
    }
  }
  return true;
}

void MqttBridge::noteBadPayload(std::size_t mapping, const std::string& topic, const std::string& reason) {
  std::string line;
  {
    std::lock_guard lock(badMu_);
    if (mapping >= bad_.size()) return;
    auto& b = bad_[mapping];
    ++b.total;
    ++b.sinceReport;
    b.lastTopic = topic;
    b.lastReason = reason;
    const auto now = std::chrono::steady_clock::now();
    if (b.everReported && now - b.lastReport < badLogInterval_) return;   // the periodic flush (timer_) reports it later
    line = mappings_.description(mapping) + ": " + std::to_string(b.sinceReport) + " bad payload(s), latest on topic '" +
           printable(topic) + "': " + printable(reason, 300);
    b.sinceReport = 0;
    b.everReported = true;
    b.lastReport = now;
  }
  host().warn("MQTT: " + line);
}

void MqttBridge::reportBadPayloads(bool force) {
  std::vector<std::string> lines;
  {
    std::lock_guard lock(badMu_);
    const auto now = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < bad_.size(); ++i) {
      auto& b = bad_[i];
      if (b.sinceReport == 0 || (!force && now - b.lastReport < badLogInterval_)) continue;
      lines.push_back(mappings_.description(i) + ": " + std::to_string(b.sinceReport) + " bad payload(s), latest on topic '" +
                      printable(b.lastTopic) + "': " + printable(b.lastReason, 300));
      b.sinceReport = 0;
      b.lastReport = now;
    }
  }
  for (const auto& l : lines) host().warn("MQTT: " + l);
}

std::uint64_t MqttBridge::badPayloads(std::size_t mappingIndex) const {
  std::lock_guard lock(badMu_);
  return mappingIndex < bad_.size() ? bad_[mappingIndex].total : 0;
}

// ---- SET / ACT ------------------------------------------------------------------------------

void MqttBridge::onSet(sdk::Request request, const std::string& provider, const std::string& service,
                       const std::string& resource, const sdk::Value& value) {
  sendRouted(std::move(request), mappings_.routeForSet(provider, service, resource, value), provider,
             service, resource);
}

void MqttBridge::onAct(sdk::Request request, const std::string& provider, const std::string& service,
                       const std::string& resource, const sdk::ActParams& params) {
  if (service == kE2eService && resource == kKeyRequestAction && mappings_.hasE2e()) {
    relayKeyRequest(std::move(request), provider, params);
    return;
  }
  sendRouted(std::move(request), mappings_.routeForAct(provider, service, resource, params), provider,
             service, resource);
}

// e2e/keyRequest(topic, request) (docs/e2e-protocol.md section 8): the request is published on
// <topic>/_e2e/req and the ACT is answered with the publisher's wrap from
// <topic>/_e2e/wrap/<subscriber id> (unparsed), through the same machinery as `response: ack`
// commands (pending_, on-demand subscription, timeout sweep).
void MqttBridge::relayKeyRequest(sdk::Request request, const std::string& provider, const sdk::ActParams& params) {
  const sdk::Value* topic = nullptr;
  const sdk::Value* bytes = nullptr;
  for (const auto& [name, value] : params) {
    if (name == "topic") topic = &value;
    else if (name == "request") bytes = &value;
  }
  if (topic == nullptr || topic->isNull() || topic->type() != sdk::ValueType::String) {
    request.fail(GH_ERR_INVALID_ARGUMENT, "keyRequest needs the parameter topic (string): the data topic");
    return;
  }
  if (bytes == nullptr || bytes->isNull() || bytes->type() != sdk::ValueType::Bytes) {
    request.fail(GH_ERR_INVALID_ARGUMENT, "keyRequest needs the parameter request (bytes, base64 in REST): the key request message");
    return;
  }
  const std::string& dataTopic = topic->asString();
  if (!e2e::isValidTopic(dataTopic)) {
    request.fail(GH_ERR_INVALID_ARGUMENT, "not an e2e data topic: " + kit::quoteForMessage(dataTopic, 200));
    return;
  }
  auto relay = mappings_.e2eRelayFor(provider, dataTopic);
  if (!relay) {
    request.fail(GH_ERR_INVALID_ARGUMENT, relay.message());
    return;
  }
  // Only the outer fields are read (topic, the certificate's subscriber id); the certificate is
  // the publisher's to verify.
  auto parsed = e2e::parseKeyRequest(bytes->asString());
  if (!parsed) {
    request.fail(GH_ERR_INVALID_ARGUMENT, "the request is not an e2e key request: " + parsed.message());
    return;
  }
  if (parsed->topic != dataTopic) {
    request.fail(GH_ERR_INVALID_ARGUMENT, "the key request is for the topic " + kit::quoteForMessage(parsed->topic, 200) +
                                              ", not " + kit::quoteForMessage(dataTopic, 200));
    return;
  }
  CommandRoute route;
  route.topic = e2e::requestTopic(dataTopic);
  route.qos = 1;
  route.payload = bytes->asString();
  route.response = CommandRoute::Response::Relay;
  route.ackTopic = e2e::wrapTopic(dataTopic, parsed->subscriberId);
  route.timeoutMs = relay->timeoutMs;
  route.resultType = sdk::ValueType::Bytes;
  host().debug("MQTT: relaying the key request of subscriber " + parsed->subscriberId + " on " + printable(route.topic) + " (" +
               std::to_string(route.payload.size()) + " bytes); waiting " + std::to_string(route.timeoutMs) + " ms for " +
               printable(route.ackTopic));
  sendCommand(std::move(request), route);
}

// A resource without a command (no mapping gives it one: NotFound) is NOT_ALLOWED; a command that
// cannot be built from the request (e.g. a parameter the payload template needs) is INVALID_ARGUMENT.
void MqttBridge::sendRouted(sdk::Request request, kit::Result<CommandRoute> route, const std::string& provider,
                            const std::string& service, const std::string& resource) {
  if (!route) {
    const bool noCommand = route.error().code == kit::ErrorCode::NotFound;
    request.fail(noCommand ? GH_ERR_NOT_ALLOWED : GH_ERR_INVALID_ARGUMENT,
                 route.message().empty() ? "no command topic is configured for " + key(provider, service, resource)
                                         : route.message());
    return;
  }
  sendCommand(std::move(request), *route);
}

void MqttBridge::sendCommand(sdk::Request request, const CommandRoute& route) {
  if (!client_) {
    request.fail(GH_ERR_UNAVAILABLE, "the MQTT bridge is not started");
    return;
  }
  const bool ack = route.response != CommandRoute::Response::Mqtt5;
  const bool relay = route.response == CommandRoute::Response::Relay;
  const std::chrono::milliseconds timeout(route.timeoutMs);
  auto added = pending_.add(request, timeout, Command{ack ? route.ackTopic : replyTopic_, ack, relay, route.resultType});
  if (!added) {
    request.fail(GH_ERR_UNAVAILABLE, "the MQTT bridge is stopping");
    return;
  }
  const std::uint64_t id = *added;
  // The timeout: a sweep at (just after) the deadline fails this command, and any other one due,
  // if no answer took it first; an answered command leaves that sweep nothing to do.
  timer_.scheduleAfter(timeout, [this] { sweepCommands(); });
  bool needSubscribe = false;
  if (ack) {
    std::lock_guard lock(ackMu_);
    needSubscribe = ackTopics_.insert(route.ackTopic).second;
  }
  if (!needSubscribe) {
    publishCommand(id, route);
    return;
  }
  // First command using this ack topic: publish only once the subscription is in place, or the
  // device's answer could arrive before it and be lost.
  auto s = client_->subscribe({{route.ackTopic, 1}}, [this, id, route](const kit::Result<void>& st) {
    if (!st) {
      {
        std::lock_guard lock(ackMu_);
        ackTopics_.erase(route.ackTopic);
      }
      failCommand(id, kit::ErrorCode::Unavailable, "cannot subscribe to the ack topic " + route.ackTopic + ": " + st.message());
      return;
    }
    publishCommand(id, route);
  });
  if (!s) {
    {
      std::lock_guard lock(ackMu_);
      ackTopics_.erase(route.ackTopic);
    }
    failCommand(id, s.error().code, "cannot subscribe to the ack topic " + route.ackTopic + ": " + s.message());
  }
}

void MqttBridge::publishCommand(std::uint64_t id, const CommandRoute& route) {
  kit::MqttMessage m;
  m.topic = route.topic;
  m.payload = route.payload;
  m.qos = route.qos;
  if (route.response == CommandRoute::Response::Mqtt5) {
    m.responseTopic = replyTopic_;
    m.correlationData = std::to_string(id);
  }
  kit::MqttClient& out = commands_ ? *commands_ : *client_;
  auto s = out.publish(m, [this, id, topic = route.topic](const kit::Result<void>& st) {
    if (!st) failCommand(id, kit::ErrorCode::Unavailable, "cannot publish the command to " + topic + ": " + st.message());
  });
  if (!s) failCommand(id, s.error().code, "cannot publish the command to " + route.topic + ": " + s.message());
}

void MqttBridge::failCommand(std::uint64_t id, kit::ErrorCode code, const std::string& message) {
  (void)pending_.fail(id, code, message);
}

void MqttBridge::sweepCommands() {
  pending_.sweep(std::chrono::steady_clock::now(), [](const Pending::Entry& c) {
    if (c.data.relay) {
      return "no key wrap from the publisher on " + c.data.waitTopic + " within " + std::to_string(c.timeoutMs()) +
             " ms (is the publisher online, and does it accept this subscriber's certificate?)";
    }
    return "the device did not answer on " + c.data.waitTopic + " within " + std::to_string(c.timeoutMs()) + " ms";
  });
}

bool MqttBridge::handleReply(const kit::MqttMessage& message) {
  std::optional<Pending::Entry> done;
  const bool isReplyTopic = message.topic == replyTopic_;
  if (isReplyTopic) {
    std::uint64_t id = 0;
    try {
      std::size_t used = 0;
      id = std::stoull(message.correlationData, &used);
      if (used != message.correlationData.size()) id = 0;
    } catch (...) {
      id = 0;
    }
    done = pending_.takeIf(id, [](const Pending::Entry& c) { return !c.data.ack; });
  } else {
    bool isAckTopic = false;
    {
      std::lock_guard lock(ackMu_);
      isAckTopic = ackTopics_.count(message.topic) > 0;
    }
    // An ack carries no correlation: it answers the oldest command waiting on that topic.
    if (isAckTopic) {
      done = pending_.takeFirst(
          [&](const Pending::Entry& c) { return c.data.ack && !c.data.relay && c.data.waitTopic == message.topic; });
      // An e2e wrap answers every key request waiting for it (they all asked for the same key);
      // a retained copy (delivered by a new subscription) predates the request and is not the answer.
      if (!done && !message.retained) {
        while (auto relayed = pending_.takeFirst(
                   [&](const Pending::Entry& c) { return c.data.relay && c.data.waitTopic == message.topic; })) {
          relayed->request.complete(sdk::Value::ofBytes(message.payload));
        }
      }
    }
  }
  if (done) finishCommand(std::move(*done), message.payload);
  else if (isReplyTopic) host().debug("MQTT: a reply on " + replyTopic_ + " matches no waiting command (late or unknown)");
  return isReplyTopic;   // an ack topic may also be mapped: let the mappings see it
}

void MqttBridge::finishCommand(Pending::Entry command, const std::string& payload) {
  auto v = parseAck(payload, static_cast<std::uint32_t>(command.data.resultType));
  if (!v) {
    // The device's refusal (parseAck's Conflict) is its answer, with its reason; anything else is a
    // malformed reply.
    const bool refused = v.error().code == kit::ErrorCode::Conflict;
    command.request.fail(refused ? GH_ERR_CONFLICT : GH_ERR_INTERNAL,
                         refused ? v.message() : "bad reply on " + command.data.waitTopic + ": " + v.message());
    return;
  }
  if (v->isNull()) {
    command.request.complete();
  } else {
    command.request.complete(*v);
  }
}

}  // namespace gatehouse::bridge::mqtt
