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
// Threads: as sdk::Bridge (bridge.h). Internally: Paho's callback thread applies the mappings and
// pushes to the host (cheap: no blocking there), a sweeper thread times out SET/ACT requests and
// flushes bad-payload reports; both are joined by stop(). badPayloads()/replyTopic() may be called
// from any thread.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gatehouse/sdk/bridge.h>

#include "gatehouse/bridge/mqtt/mapping.h"
#include "paho_client.h"

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
  struct PendingCommand {
    sdk::Request request;
    std::string waitTopic;   // reply topic (MQTT 5) or ack topic
    bool ack = false;
    sdk::ValueType resultType = sdk::ValueType::String;
    int timeoutMs = 5000;
    std::chrono::steady_clock::time_point deadline;
  };

  void onMessage(const IncomingMessage& message);
  void onConnection(bool connected, const std::string& reason);
  void resubscribe();
  void applyMappings(const IncomingMessage& message);
  bool handleReply(const IncomingMessage& message);
  void finishCommand(PendingCommand command, const std::string& payload);
  void sendCommand(sdk::Request request, const CommandRoute& route);
  void sendRouted(sdk::Request request, Result<CommandRoute> route, const std::string& provider,
                  const std::string& service, const std::string& resource);
  void publishCommand(std::uint64_t id, const CommandRoute& route);
  void failCommand(std::uint64_t id, gh_status code, const std::string& message);
  void noteBadPayload(std::size_t mapping, const std::string& topic, const std::string& reason);
  void reportBadPayloads(bool force);
  void sweepLoop();

  PahoOptions paho_;
  std::string mappingsFile_;
  std::chrono::seconds badLogInterval_{10};
  std::string replyTopic_;
  MappingSet mappings_;
  std::unique_ptr<PahoClient> client_;     // persistent session: subscriptions, replies
  std::unique_ptr<PahoClient> commands_;   // clean session: publishes SET/ACT commands (see start())
  // Running = subscribed on client_ and (when there is one) commands_ connected.
  std::mutex stateMu_;
  std::string subscribedReason_;   // "" while not subscribed
  bool commandsUp_ = false;
  void reportState();

  std::mutex declaredMu_;
  std::set<std::string> declared_;   // "provider/service/resource" already declared (or tried)

  mutable std::mutex badMu_;
  std::vector<BadCounter> bad_;

  std::mutex pendingMu_;
  std::condition_variable pendingCv_;
  std::map<std::uint64_t, PendingCommand> pending_;   // by request number (= correlation data)
  std::set<std::string> ackTopics_;                   // ack topics subscribed so far
  std::uint64_t nextCommand_ = 1;
  bool stopping_ = false;
  std::thread sweeper_;
};

}  // namespace gatehouse::bridge::mqtt
