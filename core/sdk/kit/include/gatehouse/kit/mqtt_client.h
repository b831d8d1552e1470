#pragma once
// kit::MqttClient: the one place that wraps Paho MQTT C++ for bridges (and their tests' simulated
// devices). Its own library, gatehouse::sdk_kit_mqtt (GatehouseSDK::sdk_kit_mqtt), links Paho
// privately and no Paho type appears here, so a bridge that does not speak MQTT never links Paho.
// Paho's exceptions, threads and option quirks are handled once:
//   - every Paho exception becomes a kit::Error with a code (nothing Paho throws escapes);
//   - every callback into the owner is wrapped in a catch-all (an exception on Paho's thread
//     would terminate the gateway);
//   - MQTT 5 with clean_start=false and a session expiry (persistent session, needed for QoS1
//     without loss across reconnects, and for response topic + correlation data);
//   - TLS / mutual TLS, username/password, a URI list with failover (connect_options::set_servers);
//   - the first connection is retried by this class with backoff (kit::Backoff; Paho's automatic
//     reconnect only engages after a first successful connect), later ones by Paho (min..max);
//   - created with create_options(MQTTVERSION_5, maxBuffered): the default async_client buffers
//     only 100 commands, and a tight publish loop then fails with -12 (TESTING.md);
//   - at most `maxOutstanding` publishes are in flight; publish() says what to do at the limit;
//   - TCP_NODELAY on its sockets after each connection (tcp_nodelay.h: Paho C never sets it).
//
// Errors (Error::code): BadRequest for bad options or arguments, Conflict for a second start(),
// Unavailable when the client is not running, at the in-flight limit or when Paho refuses the
// request, NotAllowed when the broker refused it (an MQTT reason code >= 0x80).
//
// Threads:
//   - start(), close() and the destructor: one owner thread (a bridge's control thread); close()
//     must not be called from a handler;
//   - publish(), subscribe(), isConnected(), lastError(), outstanding(): any thread, concurrently,
//     between start() and close() (they fail with Unavailable outside that window);
//   - the handlers run on Paho's callback thread (one at a time) or on this class's retry thread;
//     they must not block long and must not call close(). After close() returns no handler runs.
//     A Completion may also run on the caller's thread, inside subscribe() with an empty list.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gatehouse/kit/result.h"

namespace gatehouse::kit {

struct MqttOptions {
  std::vector<std::string> serverUris;   // tcp://host:port or ssl://host:port; tried in order
  std::string clientId;
  std::string username;                  // "" = none
  std::string password;                  // secret: never logged
  std::string caFile;                    // TLS: trust store (PEM); "" = system default
  std::string certFile;                  // mTLS: client certificate (PEM)
  std::string keyFile;                   // mTLS: client private key (PEM)
  int keepAliveS = 30;
  int connectTimeoutS = 5;
  int minRetryS = 1;                     // reconnect backoff, doubled up to maxRetryS
  int maxRetryS = 30;
  // 5 (default; needed for response topic + correlation data) or 4 (3.1.1).
  int mqttVersion = 5;
  // false = persistent session. KNOWN PAHO BUG (C 1.3.12, eclipse-paho/paho.mqtt.c#1310, #1592):
  // QoS 1/2 publishes in flight when the connection breaks are re-sent from a persistent session
  // with corrupted topic/payload bytes (mosquitto: "malformed packet", a reconnect loop). So a
  // client that publishes at QoS > 0 uses cleanStart = true, and the publish's Completion then
  // reports the in-flight ones as failed (to be re-sent by the caller, or given up). Receiving
  // on a persistent session is not affected.
  bool cleanStart = false;
  std::uint32_t sessionExpiryS = 7 * 24 * 3600;
  int maxBuffered = 1 << 20;             // commands Paho buffers (incl. while disconnected)
  std::size_t maxOutstanding = 1000;     // publishes in flight at once
};

// A message received (handler) or to publish: MqttMessage{topic, payload, qos, retained,
// responseTopic, correlationData}, trailing ones optional.
struct MqttMessage {
  MqttMessage() = default;
  MqttMessage(std::string topic_, std::string payload_, int qos_ = 1, bool retained_ = false,
              std::string responseTopic_ = "", std::string correlationData_ = "")
      : topic(std::move(topic_)), payload(std::move(payload_)), qos(qos_), retained(retained_),
        responseTopic(std::move(responseTopic_)), correlationData(std::move(correlationData_)) {}

  std::string topic;
  std::string payload;           // bytes; may hold NULs
  int qos = 1;
  bool retained = false;
  std::string responseTopic;     // MQTT 5 property; "" = none
  std::string correlationData;   // MQTT 5 property; "" = none
  bool duplicate = false;        // received only: the broker's DUP flag
};

struct MqttSubscription {
  std::string filter;
  int qos = 1;
};

class MqttClient {
 public:
  using MessageHandler = std::function<void(const MqttMessage&)>;
  // connected=true: (re)connected (subscriptions may be lost: re-subscribe); false: connection lost
  // or a connect attempt failed, with a reason for the operator (TLS errors say "TLS").
  using ConnectionHandler = std::function<void(bool connected, const std::string& reason)>;
  // The outcome of a publish or subscribe.
  using Completion = std::function<void(const Result<void>&)>;

  MqttClient();
  ~MqttClient();   // close()
  MqttClient(const MqttClient&) = delete;
  MqttClient& operator=(const MqttClient&) = delete;

  // Checks the options, creates the Paho client and starts connecting asynchronously; returns at
  // once (a broker that is down is not an error here: the handler hears about it, and it retries).
  // Errors: BadRequest for bad options (no URI, a URI that is neither tcp:// nor ssl://, a client
  // certificate without its key, unreadable files), Conflict when already started.
  Result<void> start(MqttOptions options, MessageHandler onMessage, ConnectionHandler onConnection);
  // Disconnects (waiting up to `timeout` for in-flight work), stops retrying, and waits until no
  // handler is running. Idempotent.
  void close(std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

  bool isConnected() const;
  // The reason of the last connection failure ("" when none since the last connect).
  std::string lastError() const;

  // Publishes. At the in-flight limit, waits up to `waitForSlot` (0 = do not wait) for a slot, then
  // fails with Unavailable. `done` (optional) runs once the broker acknowledged (QoS>0) or the
  // message was written (QoS 0), or with the failure; it runs on Paho's thread, or never when the
  // client is closed first. `duplicate` is ignored.
  Result<void> publish(const MqttMessage& message, Completion done = {},
                       std::chrono::milliseconds waitForSlot = std::chrono::milliseconds(0));
  // Subscribes to all filters in one request; `done` runs with the broker's verdict (a filter the
  // broker refused gives NotAllowed).
  Result<void> subscribe(const std::vector<MqttSubscription>& subscriptions, Completion done = {});
  // Publishes still awaiting their acknowledgement.
  std::size_t outstanding() const;

 private:
  class Impl;   // everything that touches Paho (mqtt_client.cpp)
  std::unique_ptr<Impl> impl_;
};

}  // namespace gatehouse::kit
