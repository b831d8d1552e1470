#pragma once
// MqttBridge: devices on an MQTT broker as Gatehouse resources, through declarative mappings
// (mapping/include/mqtt/mapping.h; file format in README.md), and SET/ACT forwarded to command
// topics with the device's reply read back (MQTT 5 response topic + correlation data, or an ack
// topic) within a timeout.
//
//   plugins:
//     mqtt:
//       brokers: [ssl://broker-a:8883, ssl://broker-b:8883]   # required; tried in order (failover)
//       client_id: gatehouse-mqtt        # [A-Za-z0-9_.:-]{1,128}; also names the reply topic
//       username: gw                     # optional
//       password: ...                    # optional, secret
//       ca_file: /etc/gatehouse/mqtt-ca.pem     # TLS: CA of the broker's certificate
//       cert_file: /etc/gatehouse/gw.pem        # mutual TLS: client certificate ...
//       key_file: /etc/gatehouse/gw.key         # ... and its key
//       mappings_file: /etc/gatehouse/mqtt-mappings.yaml   # required
//       keep_alive_s: 30
//       bad_payload_log_interval_s: 10
//
// Threads: as sdk::Bridge (bridge.h). Internally: the MQTT client's callback thread applies the
// mappings and pushes to the host (cheap: no blocking there); a kit::Timer thread times out SET/ACT
// requests (at each one's deadline) and flushes bad-payload reports (every 500 ms); all are
// stopped and joined by stop(). badPayloads()/replyTopic() may be called from any thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <gatehouse/kit/backoff.h>
#include <gatehouse/kit/mqtt_client.h>
#include <gatehouse/kit/pending_requests.h>
#include <gatehouse/kit/result.h>
#include <gatehouse/kit/timer.h>
#include <gatehouse/sdk/bridge.h>

#include "gatehouse/bridge/mqtt/mapping.h"

namespace gatehouse::bridge::mqtt {

extern const sdk::ConfigSchema kMqttConfigSchema;

class MqttBridge final : public sdk::Bridge {
 public:
  MqttBridge() = default;
  ~MqttBridge() override;

  sdk::Status configure(const sdk::Config& config) override;
  sdk::Status start() override;
  void stop() override;
  void onSet(sdk::Request request, const std::string& provider, const std::string& service,
             const std::string& resource, const sdk::Value& value) override;
  void onAct(sdk::Request request, const std::string& provider, const std::string& service,
             const std::string& resource, const sdk::ActParams& params) override;

  // Bad payloads counted for a mapping since start (0 for an unknown index).
  std::uint64_t badPayloads(std::size_t mappingIndex) const;
  // Where MQTT 5 replies to commands are expected: gatehouse/replies/<client_id>.
  const std::string& replyTopic() const noexcept { return replyTopic_; }

 private:
  struct BadCounter {
    std::uint64_t total = 0;
    std::uint64_t sinceReport = 0;
    bool everReported = false;
    std::chrono::steady_clock::time_point lastReport{};
    std::string lastTopic, lastReason;
  };
  // What a SET/ACT forwarded to a device waits for (kept in pending_ with its sdk::Request).
  struct Command {
    std::string waitTopic;   // reply topic (MQTT 5) or ack topic
    bool ack = false;        // waits on an ack topic (Ack or Relay)
    bool relay = false;      // Relay: the first live message there, as bytes (e2e key request)
    sdk::ValueType resultType = sdk::ValueType::String;
  };
  using Pending = kit::PendingRequests<Command>;

  void onMessage(const kit::MqttMessage& message);
  void onConnection(bool connected, const std::string& reason);
  void resubscribe();
  void applyMappings(const kit::MqttMessage& message);
  bool markE2e(const ResourceUpdate& update);
  bool handleReply(const kit::MqttMessage& message);
  void finishCommand(Pending::Entry command, const std::string& payload);
  void sendCommand(sdk::Request request, const CommandRoute& route);
  void relayKeyRequest(sdk::Request request, const std::string& provider, const sdk::ActParams& params);
  void sendRouted(sdk::Request request, kit::Result<CommandRoute> route, const std::string& provider,
                  const std::string& service, const std::string& resource);
  void publishCommand(std::uint64_t id, const CommandRoute& route);
  void failCommand(std::uint64_t id, kit::ErrorCode code, const std::string& message);
  void sweepCommands();
  void noteBadPayload(std::size_t mapping, const std::string& topic, const std::string& reason);
  void reportBadPayloads(bool force);
  void reportState();

  kit::MqttOptions mqtt_;
  std::string mappingsFile_;
  std::chrono::seconds badLogInterval_{10};
  std::string replyTopic_;
  MappingSet mappings_;
  std::unique_ptr<kit::MqttClient> client_;     // persistent session: subscriptions, replies
  std::unique_ptr<kit::MqttClient> commands_;   // clean session: publishes SET/ACT commands (see start())

  // Running = subscribed on client_ and (when there is one) commands_ connected. stateMu_ keeps
  // the decision and its report in one order (the reporter only drops repeats).
  std::mutex stateMu_;
  std::string subscribedReason_;   // "" while not subscribed
  bool commandsUp_ = false;
  kit::StateReporter state_;

  std::mutex declaredMu_;
  std::set<std::string> declared_;   // "provider/service/resource" already declared (or tried)
  std::set<std::string> e2eMarked_;  // "provider/service/resource" given metadata e2e: true

  mutable std::mutex badMu_;
  std::vector<BadCounter> bad_;

  Pending pending_;                  // by id = the MQTT 5 correlation data
  std::mutex ackMu_;
  std::set<std::string> ackTopics_;  // ack topics (and e2e wrap topics) subscribed so far
  kit::Timer timer_{"mqtt-timer"};   // command timeouts, bad-payload report flushes
};

}  // namespace gatehouse::bridge::mqtt
