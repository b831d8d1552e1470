#pragma once
// Northbound MQTT (docs/mqtt-topics.md): every DATA notification of the model
// is published to `<prefix>/<provider>/<service>/<resource>` with
// {"value":..,"timestamp":<ms>,"type":".."}, and the gateway's status to `<prefix>/$status`
// ("online" retained while connected, "offline" retained as the last will and on a clean stop).
//
// Ingest never waits for the broker: the only thing between Model::push() and the broker is the
// model's bounded subscription queue (capacity = options.queue) and the kit's MQTT publisher
// (gatehouse/kit/mqtt_publisher.h, libmosquitto), which buffers up to options.queue values while
// the broker is unreachable and sends them after the reconnection. While disconnected, the oldest
// values are kept and later ones dropped; every drop is counted (stats()).
//
// Where the time goes (bench/RESULTS.md run 9): while connected and with nothing waiting, the
// writer that pushed the value (for the MQTT bridge: its receive thread) formats it and writes it
// to the broker's socket itself, in the model's wake callback: no thread switch per value. Any
// backlog (broker away, socket full, another writer busy) is drained by the kit client's one I/O
// thread, in order. This file is mapping only: topics, payloads, counters; the MQTT client is the
// kit's and no libmosquitto type appears here.
//
// Threads: start() and stop() from one controlling thread (the main thread); stats() from any
// thread, at any time. The destructor stops.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "model/model.h"

namespace gatehouse::core::config {
struct Config;
}

namespace gatehouse::core::northbound {

struct MqttPublisherOptions {
  std::vector<std::string> brokers{"tcp://127.0.0.1:1883"};   // tried in order
  std::string clientId;     // required
  std::string username;     // "" = none
  std::string password;     // "" = none; never logged
  std::string caFile;       // TLS: "" = the system's CAs
  std::string certFile;     // mutual TLS, with keyFile
  std::string keyFile;
  std::string prefix;       // required: "gatehouse/<gateway id>" by default (optionsFromConfig)
  int qos = 0;              // 0..2
  bool retain = false;
  std::size_t queue = 100000;   // model queue bound and the client's offline buffer, 1..10000000
  int keepAliveS = 30;
  // Reconnection backoff (doubles from min to max). Not in the config file: tests shorten it.
  int reconnectMinS = 1;
  int reconnectMaxS = 30;
};

// Resolves the defaults that depend on the gateway id (client id, prefix).
MqttPublisherOptions optionsFromConfig(const config::Config& config);

struct MqttPublisherStats {
  std::uint64_t published = 0;          // values the client reported sent (QoS 0) or acknowledged (QoS 1, 2)
  std::uint64_t droppedQueueFull = 0;   // notifications lost because the model queue was full
  std::uint64_t droppedBufferFull = 0;  // values refused by the client's offline buffer (broker away, buffer full)
  std::uint64_t publishFailures = 0;    // values the client accepted but then reported failed for good
  std::uint64_t resent = 0;             // QoS 1/2 values in flight when a connection broke, sent again
  std::uint64_t connections = 0;        // successful (re)connections
  std::size_t queued = 0;               // notifications waiting in the model queue
  std::size_t pending = 0;              // values handed to the client and not yet reported sent
  bool connected = false;
};

class MqttPublisher {
 public:
  MqttPublisher(model::Model& model, MqttPublisherOptions options);
  ~MqttPublisher();
  MqttPublisher(const MqttPublisher&) = delete;
  MqttPublisher& operator=(const MqttPublisher&) = delete;

  // Subscribes to the model, starts the client's I/O thread and the first connection attempt.
  // Returns an error only for unusable options (bad URI, QoS, names, unreadable TLS files); an
  // unreachable broker is not an error: values are buffered and the client keeps reconnecting.
  Result<void> start();

  // Stops taking notifications, hands what the model queue still holds to the client, publishes
  // "offline" (retained) when connected, disconnects (waiting at most about 2 s for in-flight
  // messages) and joins the client's thread. Idempotent.
  void stop();

  MqttPublisherStats stats() const;

  // The topic and payload published for one DATA notification (exposed for tests).
  static std::string topicFor(const std::string& prefix, const model::Notification& n);
  static std::string payloadFor(const model::Notification& n);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gatehouse::core::northbound
