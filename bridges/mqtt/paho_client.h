#pragma once
// PahoClient: the one place that wraps Paho MQTT C++ (mqtt::async_client). Everything else in the
// MQTT bridge (and its tests' simulated devices) talks MQTT through this class, so that Paho's
// exceptions, threads and option quirks are handled once:
//   - every Paho exception becomes an sdk::Status (nothing Paho throws escapes this class);
//   - every callback into the owner is wrapped in a catch-all (an exception on Paho's thread
//     would terminate the gateway);
//   - MQTT 5 with clean_start=false and a session expiry (persistent session, needed for QoS1
//     without loss across reconnects, and for response topic + correlation data);
//   - TLS / mutual TLS, username/password, a URI list with failover (connect_options::set_servers);
//   - the first connection is retried by this class with backoff (Paho's automatic reconnect only
//     engages after a first successful connect), later ones by Paho (min..max backoff);
//   - created with create_options(MQTTVERSION_5, maxBuffered): the default async_client buffers
//     only 100 commands, and a tight publish loop then fails with -12 (TESTING.md);
//   - at most `maxOutstanding` publishes are in flight; publish() says what to do at the limit.
//
// Threads:
//   - start(), close() and the destructor: one owner thread (the bridge's control thread); close()
//     must not be called from a handler;
//   - publish(), subscribe(), isConnected(), lastError(): any thread, concurrently, between start()
//     and close() (they return Unavailable outside that window);
//   - the handlers run on Paho's callback thread (one at a time) or on this class's retry thread;
//     they must not block long and must not call close(). After close() returns no handler runs.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gatehouse/sdk/status.h>

namespace mqtt {
class async_client;
}

namespace gatehouse::bridge::mqtt {

struct PahoOptions {
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

struct IncomingMessage {
  std::string topic;
  std::string payload;
  int qos = 0;
  bool retained = false;
  bool duplicate = false;
  std::string responseTopic;     // MQTT 5 property, "" when absent
  std::string correlationData;   // MQTT 5 property, "" when absent
};

struct OutgoingMessage {
  OutgoingMessage() = default;
  OutgoingMessage(std::string topic_, std::string payload_, int qos_ = 1, bool retained_ = false,
                  std::string responseTopic_ = "", std::string correlationData_ = "")
      : topic(std::move(topic_)), payload(std::move(payload_)), qos(qos_), retained(retained_),
        responseTopic(std::move(responseTopic_)), correlationData(std::move(correlationData_)) {}
  std::string topic;
  std::string payload;
  int qos = 1;
  bool retained = false;
  std::string responseTopic;     // "" = none
  std::string correlationData;   // "" = none
};

struct TopicSubscription {
  std::string filter;
  int qos = 1;
};

class PahoClient {
 public:
  using MessageHandler = std::function<void(const IncomingMessage&)>;
  // connected=true: (re)connected (subscriptions may be lost: re-subscribe); false: connection lost
  // or a connect attempt failed, with a reason for the operator (TLS errors say "TLS").
  using ConnectionHandler = std::function<void(bool connected, const std::string& reason)>;
  using Completion = std::function<void(const sdk::Status&)>;

  PahoClient();
  ~PahoClient();
  PahoClient(const PahoClient&) = delete;
  PahoClient& operator=(const PahoClient&) = delete;

  // Checks the options, creates the Paho client and starts connecting asynchronously; returns at
  // once (a broker that is down is not an error here: the handler hears about it, and it retries).
  // Errors: InvalidArgument for bad options (no URI, a URI that is neither tcp:// nor ssl://, a
  // client certificate without its key, unreadable files).
  sdk::Status start(PahoOptions options, MessageHandler onMessage, ConnectionHandler onConnection);
  // Disconnects (waiting up to `timeout` for in-flight work), stops retrying, and waits until no
  // handler is running. Idempotent.
  void close(std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

  bool isConnected() const;
  // The reason of the last connection failure ("" when none since the last connect).
  std::string lastError() const;

  // Publishes. At the in-flight limit, waits up to `waitForSlot` (0 = do not wait) for a slot, then
  // fails with Unavailable. `done` (optional) runs once the broker acknowledged (QoS>0) or the
  // message was written (QoS 0), or with the failure; it runs on Paho's thread, or never when the
  // client is closed first.
  sdk::Status publish(const OutgoingMessage& message, Completion done = {},
                      std::chrono::milliseconds waitForSlot = std::chrono::milliseconds(0));
  // Subscribes to all filters in one request; `done` runs with the broker's verdict (a filter the
  // broker refused gives NotAllowed).
  sdk::Status subscribe(const std::vector<TopicSubscription>& subscriptions, Completion done = {});
  // Publishes still awaiting their acknowledgement.
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
  void onMessage(const void* msg);   // mqtt::const_message_ptr, type-erased to keep Paho out of the header
  void onActionDone(std::intptr_t id, bool ok, int rc, const std::string& why);
  std::string describeFailure(int rc, const std::string& why) const;

  PahoOptions options_;
  MessageHandler onMessage_;
  ConnectionHandler onConnection_;
  std::unique_ptr<Listener> listener_;
  std::unique_ptr<::mqtt::async_client> client_;
  std::shared_ptr<void> connectOptions_;   // mqtt::connect_options

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
  int retryDelayS_ = 1;
  std::chrono::steady_clock::time_point nextAttempt_{};
  std::string lastError_;
  std::intptr_t nextId_ = 1;
  std::map<std::intptr_t, Pending> pending_;
  std::size_t outstandingPublishes_ = 0;
  std::thread retryThread_;
};

}  // namespace gatehouse::bridge::mqtt
