#pragma once
// gatehouse::kit::MqttPublisher: an MQTT 3.1.1 client that only publishes, for a component whose
// job is to push values to a broker with the least latency and CPU (core's northbound). It is the
// one place in the tree that wraps libmosquitto (target gatehouse::sdk_kit_mosquitto; libmosquitto
// is linked PRIVATE and no libmosquitto type appears here). Subscribing clients use the kit's Paho
// wrapper instead.
//
// What it does:
//   - connects to the first broker of a list that answers (tcp:// or mqtt:// plain, ssl:// or
//     mqtts:// TLS; failover in list order), with TCP_NODELAY, username/password, TLS with the
//     broker's name checked against its certificate (caFile, or the system's CAs), mutual TLS
//     (certFile + keyFile), a last will, a keep-alive, a connect timeout, and reconnects with a
//     backoff that doubles from reconnectMin to reconnectMax after a failed round over the list;
//   - publishes `online` first on every connection (before anything else) and `offline` on a clean
//     stop (the birth / will / goodbye pattern of a status topic);
//   - buffers up to bufferLimit messages (accepted and not yet sent, or not yet acknowledged at
//     QoS 1/2), also while disconnected and before the first connection; beyond that publish()
//     answers Full and takes nothing: the caller keeps or drops, and counts;
//   - QoS 1/2 at least once across reconnections: every session is clean, and the messages in
//     flight when a connection breaks are sent again, first and in their order, on the next one
//     (stats().resent). A retained message sent again after a newer retained message on the same
//     topic was accepted goes out without the retain flag, so it cannot replace the newer one at
//     the broker. QoS 0 messages the library had not written when a connection broke are lost
//     and counted (stats().failed).
//
// How (why it is cheap): no library thread, and no library wake-up pipe (stats().wakePipeOff). One I/O thread of this class polls the socket (and
// an eventfd) and drives libmosquitto's read/write/keep-alive steps itself. publish() on any
// thread writes the message to the socket right away, on the calling thread, when it can do so
// without waiting: connected, nothing buffered ahead of it, the socket not backed up and the I/O
// thread not inside the library at that moment (a try-lock). Otherwise it appends the message to
// the buffer and wakes the I/O thread, which sends the buffer in order. Every call into
// libmosquitto happens under one mutex, so the TLS connection is never used by two threads at once.
//
// Threads:
//   - constructor, setReadyHandler(), setEventHandler(), start(), stop(), destructor: one owner
//     thread; the handlers are set before start(); stop() must not be called from a handler.
//   - publish(), wake(), stats(), room(), connected(), lastFailure(): any thread, concurrently,
//     at any time (publish() outside start()..stop() answers Stopped).
//   - the handlers run on the I/O thread, one at a time, with no lock of this class held; they
//     may call publish(), wake() and the getters, must not block for long (they hold up the
//     connection's I/O) and must not throw (an exception is caught and dropped).
//   - a process using this class must not die of SIGPIPE when a broker goes away mid-write:
//     start() sets SIGPIPE to SIG_IGN if it is still SIG_DFL (the gateway ignores it anyway).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gatehouse/kit/result.h"

namespace gatehouse::kit {

struct MqttMessage {
  std::string topic;     // no wildcards; valid UTF-8
  std::string payload;
  int qos = 0;           // 0..2
  bool retain = false;
};

struct MqttPublisherOptions {
  std::vector<std::string> brokers;   // "tcp://host:port" (also mqtt://; ssl:// and mqtts:// for TLS); tried in order
  std::string clientId;               // required
  std::string username;               // "" = none
  std::string password;               // "" = none; never logged
  std::string caFile;                 // TLS: PEM file of the CAs that may sign the broker's certificate; "" = the system's
  std::string certFile;               // mutual TLS: client certificate (PEM), with keyFile
  std::string keyFile;
  int keepAliveS = 30;                                       // 5..65535
  std::chrono::milliseconds connectTimeout{10000};           // TCP + TLS + CONNACK, per broker
  std::chrono::milliseconds reconnectMin{1000};              // wait after a lost connection; doubles per failed round
  std::chrono::milliseconds reconnectMax{30000};
  std::size_t bufferLimit = 100000;   // messages accepted and not yet done (see stats().pending); >= 1
  std::size_t maxInflight = 1000;     // QoS 1/2 messages sent and not yet acknowledged; 1..30000
  std::optional<MqttMessage> will;    // published by the broker when the connection breaks without a DISCONNECT
  std::optional<MqttMessage> online;  // published first on every connection; not counted in stats
  std::optional<MqttMessage> offline; // published by stop() while connected, before DISCONNECT; not counted
  std::string threadName = "mqtt-publisher";   // the I/O thread's name (top, /proc/PID/task/*/comm), <= 15 bytes
};

enum class MqttPublishStatus {
  Accepted,   // it will be sent (or has been); the message was moved from
  Full,       // bufferLimit messages are pending: nothing taken, the message is untouched
  Invalid,    // bad topic, QoS or size: nothing taken, the message is untouched
  Stopped,    // outside start()..stop(): nothing taken, the message is untouched
};

struct MqttPublisherStats {
  std::uint64_t published = 0;    // QoS 0: written to the socket; QoS 1/2: acknowledged by the broker
  std::uint64_t failed = 0;       // accepted, then lost for good (QoS 0 unwritten when a connection broke,
                                  // refused by the library, or still pending when stop() gave up)
  std::uint64_t resent = 0;       // QoS 1/2 messages in flight when a connection broke, sent again
  std::uint64_t connections = 0;  // successful connections (CONNACK accepted)
  std::size_t pending = 0;        // accepted and not yet published or failed
  bool connected = false;
  bool wakePipeOff = false;       // the last connection attempt ran without libmosquitto's wake-up
                                  // socketpair (one write(2) less per message; mqtt_publisher.cpp)
};

enum class MqttPublisherEvent {
  Connected,        // detail: the broker URI
  ConnectFailed,    // detail: broker URI and reason; the next broker / a retry follows
  ConnectionLost,   // detail: reason; buffered and in-flight messages wait for the next connection
};

class MqttPublisher {
 public:
  // Called on the I/O thread after wake(), after each successful connection (once `online` and
  // the messages to send again are queued), and when room appears after publish() answered Full.
  using ReadyHandler = std::function<void()>;
  using EventHandler = std::function<void(MqttPublisherEvent event, const std::string& detail)>;

  explicit MqttPublisher(MqttPublisherOptions options);
  ~MqttPublisher();   // stop()
  MqttPublisher(const MqttPublisher&) = delete;
  MqttPublisher& operator=(const MqttPublisher&) = delete;

  void setReadyHandler(ReadyHandler handler);
  void setEventHandler(EventHandler handler);

  // Checks the options (broker URIs, client id, limits, topics of will/online/offline, readable
  // TLS files), starts the I/O thread and the first connection attempt. An unreachable broker is
  // not an error: messages are buffered and the client keeps trying. Conflict when started twice.
  Result<void> start();

  // Stops taking messages; while connected, sends what is buffered, then `offline`, and waits up
  // to `linger` for the broker to acknowledge what is in flight; then DISCONNECT (the broker drops
  // the will) and joins the I/O thread. What is still pending is counted failed. Idempotent.
  void stop(std::chrono::milliseconds linger = std::chrono::milliseconds(2000));

  // Never waits for the network (see the header comment). The message is moved from only when
  // Accepted is returned.
  MqttPublishStatus publish(MqttMessage&& message);

  // Asks the I/O thread to call the ready handler soon. Cheap when a wake is already pending.
  void wake();

  MqttPublisherStats stats() const;
  std::size_t room() const;    // bufferLimit - pending (0 when publish() would answer Full)
  bool connected() const;      // CONNACK received and the connection not known to be lost
  std::string lastFailure() const;   // why the last counted failure happened; "" when none

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gatehouse::kit
