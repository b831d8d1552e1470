// tests/tools/mqtt_seq.cpp: a numbered-message producer and a distinct-value counter for MQTT
// tests that restart the broker (tests/integration/test_mqtt_restart.py).
//
//   mqtt_seq pub   --uri tcp://127.0.0.1:P --topic T --count N [--qos 1] [--client-id X]
//                  [--inflight 200] [--rate 0] [--timeout 120]
//   mqtt_seq count --uri tcp://127.0.0.1:P --topic T --expect N --client-id Y [--qos 1] [--timeout 120]
//
// pub publishes the payloads "1".."N" at least once each, across broker restarts. It does NOT rely
// on Paho's own session resend: Paho C 1.3.12 re-sends in-flight QoS1 publishes after a reconnect
// on a persistent session as packets mosquitto 2.0.11 rejects ("malformed packet", then a
// reconnect loop; eclipse-paho/paho.mqtt.c#1310, #1592). So it connects with a clean session,
// remembers every message until its delivery token succeeded, and publishes again, after the
// reconnection, every message whose token failed or that was in flight when the connection was
// lost. At most --inflight messages are unacknowledged at a time (it waits when full); --rate
// paces new messages (messages/s, 0 = as fast as the in-flight bound allows) so a test can stop
// the broker while messages still flow. stdout: "sent K" (K = highest number handed to the client)
// at least every 100 messages, then "done acked=A republished=R". Exit 0 only when all N were
// acknowledged by the broker within --timeout seconds.
//
// count is a persistent-session (clean session off, fixed client id) QoS1 subscriber, so the
// broker keeps its messages while it is away or restarting. It reads an integer from each
// payload: the one after "value": (the gateway's northbound JSON) or the whole payload (a plain
// integer). stdout: "ready" once subscribed, then "distinct=D total=T min=a max=b dup=U foreign=F"
// (F = payloads without an integer). Exit 0 when D reached --expect, 1 on timeout. Progress goes
// to stderr every 2 s.
//
// Exit 2: bad arguments, or no connection to the broker within --timeout.
//
// Threads: main() runs the publish loop / waits; Paho's callback thread runs the delivery,
// connection and message callbacks. They share one mutex-protected state per mode.

#include <mqtt/async_client.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <unistd.h>

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Options {
  std::string mode;
  std::string uri;
  std::string topic;
  std::string clientId;
  long long count = 0;      // pub
  long long expect = 0;     // count
  int qos = 1;
  int inflight = 200;
  double rate = 0;          // pub: new messages per second, 0 = unpaced
  double timeoutS = 120;
};

void usage() {
  std::fprintf(stderr,
               "usage: mqtt_seq pub --uri tcp://HOST:PORT --topic T --count N [--qos 1] [--client-id X]\n"
               "                    [--inflight 200] [--rate MSG_PER_S] [--timeout 120]\n"
               "       mqtt_seq count --uri tcp://HOST:PORT --topic T --expect N --client-id Y [--qos 1] [--timeout 120]\n");
}

bool parseNumber(const std::string& name, const std::string& text, double& out) {
  errno = 0;
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  if (text.empty() || end == nullptr || *end != '\0' || errno != 0) {
    std::fprintf(stderr, "mqtt_seq: %s: not a number: \"%s\"\n", name.c_str(), text.c_str());
    return false;
  }
  return true;
}

bool parseArgs(int argc, char** argv, Options& o) {
  if (argc < 2) return false;
  o.mode = argv[1];
  if (o.mode != "pub" && o.mode != "count") {
    std::fprintf(stderr, "mqtt_seq: unknown mode \"%s\" (pub or count)\n", o.mode.c_str());
    return false;
  }
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "mqtt_seq: %s needs a value\n", a.c_str());
      return false;
    }
    const std::string v = argv[++i];
    double n = 0;
    if (a == "--uri") {
      o.uri = v;
    } else if (a == "--topic") {
      o.topic = v;
    } else if (a == "--client-id") {
      o.clientId = v;
    } else if (a == "--count" || a == "--expect" || a == "--qos" || a == "--inflight" || a == "--rate" ||
               a == "--timeout") {
      if (!parseNumber(a, v, n)) return false;
      if (a == "--count") o.count = static_cast<long long>(n);
      if (a == "--expect") o.expect = static_cast<long long>(n);
      if (a == "--qos") o.qos = static_cast<int>(n);
      if (a == "--inflight") o.inflight = static_cast<int>(n);
      if (a == "--rate") o.rate = n;
      if (a == "--timeout") o.timeoutS = n;
    } else {
      std::fprintf(stderr, "mqtt_seq: unknown option %s\n", a.c_str());
      return false;
    }
  }
  const char* problem = nullptr;
  if (o.uri.empty()) problem = "--uri is required";
  else if (o.topic.empty()) problem = "--topic is required";
  else if (o.qos < 1 || o.qos > 2) problem = "--qos must be 1 or 2 (at-least-once needs acknowledgements)";
  else if (o.timeoutS <= 0 || o.timeoutS > 3600) problem = "--timeout must be in (0, 3600] seconds";
  else if (o.mode == "pub" && (o.count < 1 || o.count > 100000000)) problem = "--count must be 1..100000000";
  else if (o.mode == "pub" && (o.inflight < 1 || o.inflight > 65535)) problem = "--inflight must be 1..65535";
  else if (o.mode == "pub" && (o.rate < 0 || o.rate > 10000000)) problem = "--rate must be 0..10000000";
  else if (o.mode == "count" && o.expect < 1) problem = "--expect must be at least 1";
  else if (o.mode == "count" && o.clientId.empty()) problem = "--client-id is required (the persistent session is keyed by it)";
  if (problem != nullptr) {
    std::fprintf(stderr, "mqtt_seq: %s\n", problem);
    return false;
  }
  return true;
}

void say(const char* fmt, long long a) {
  std::printf(fmt, a);
  std::fflush(stdout);
}

// Connects, retrying every 250 ms until `deadline`: the broker may still be starting.
bool connectUntil(mqtt::async_client& client, const mqtt::connect_options& opts, Clock::time_point deadline) {
  std::string last = "no attempt";
  while (Clock::now() < deadline) {
    try {
      auto tok = client.connect(opts);
      if (tok->wait_for(6s) && client.is_connected()) return true;
      last = "no CONNACK within 6 s";
    } catch (const mqtt::exception& e) {
      last = e.what();
    }
    std::this_thread::sleep_for(250ms);
  }
  std::fprintf(stderr, "mqtt_seq: could not connect to %s: %s\n", client.get_server_uri().c_str(), last.c_str());
  return false;
}

// ------------------------------------------------------------------------------------------------
// pub

class Producer : public mqtt::iaction_listener {
 public:
  explicit Producer(const Options& o) : o_(o), slots_(static_cast<std::size_t>(o.count) + 1) {}

  int run() {
    const std::string id = o_.clientId.empty() ? "mqtt-seq-pub-" + std::to_string(::getpid()) : o_.clientId;
    // No offline buffering (publishing while disconnected fails at once) and no persistence:
    // resending is ours.
    client_ = std::make_unique<mqtt::async_client>(o_.uri, id, mqtt::create_options(MQTTVERSION_3_1_1), nullptr);
    client_->set_connected_handler([this](const std::string&) { onConnected(); });
    client_->set_connection_lost_handler([this](const std::string& cause) { onLost(cause); });
    const auto opts = mqtt::connect_options_builder()
                          .mqtt_version(MQTTVERSION_3_1_1)
                          .clean_session(true)   // see the top of the file: no Paho session resend
                          .keep_alive_interval(10s)
                          .connect_timeout(5s)
                          .automatic_reconnect(1s, 2s)
                          .max_inflight(std::max(o_.inflight, 10))
                          .finalize();
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.timeoutS));
    if (!connectUntil(*client_, opts, deadline)) return 2;

    const auto start = Clock::now();
    long long next = 1;   // the next number never published yet
    std::unique_lock lock(mu_);
    while (acked_ < o_.count && Clock::now() < deadline) {
      // Whom to send: a message to publish again first, else a new one when its time has come.
      const bool paced = o_.rate > 0;
      const auto due = paced ? start + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(static_cast<double>(next - 1) / o_.rate))
                             : start;
      const auto ready = [&] {
        while (!resend_.empty() && slots_[static_cast<std::size_t>(resend_.front())].acked) resend_.pop_front();
        if (!connected_ || inflight_ >= o_.inflight) return false;
        return !resend_.empty() || (next <= o_.count && Clock::now() >= due);
      };
      if (!ready()) {
        auto wake = Clock::now() + 50ms;
        if (next <= o_.count && paced && due < wake) wake = due;
        cv_.wait_until(lock, std::min(wake, deadline));
        continue;
      }
      long long seq;
      bool again = false;
      if (!resend_.empty()) {
        seq = resend_.front();
        resend_.pop_front();
        again = true;
        ++republished_;
      } else {
        seq = next++;
      }
      Slot& s = slots_[static_cast<std::size_t>(seq)];
      const std::uint32_t gen = ++s.gen;
      s.inflight = true;
      ++inflight_;
      lock.unlock();
      bool failed = false;
      try {
        auto msg = mqtt::make_message(o_.topic, std::to_string(seq), o_.qos, false);
        client_->publish(msg, reinterpret_cast<void*>(encode(seq, gen)), *this);
      } catch (const mqtt::exception&) {
        // Typically "disconnected": the connection dropped between our check and the call.
        failed = true;
      }
      if (!again && (seq % 100 == 0 || seq == o_.count)) say("sent %lld\n", seq);
      lock.lock();
      if (failed) {
        failAttempt(seq, gen);
        // Do not spin while Paho has not told us it lost the connection yet.
        cv_.wait_for(lock, 20ms);
      }
    }
    const long long acked = acked_;
    const long long republished = republished_;
    lock.unlock();
    try {
      client_->disconnect()->wait_for(3s);
    } catch (const mqtt::exception&) {
      // Nothing to do: we are leaving.
    }
    client_.reset();   // before the state its callbacks use goes away
    if (acked < o_.count) {
      std::fprintf(stderr, "mqtt_seq pub: timed out after %.0f s with %lld of %lld acknowledged (%lld in flight)\n",
                   o_.timeoutS, acked, o_.count, static_cast<long long>(inflight_));
    }
    std::printf("done acked=%lld republished=%lld\n", acked, republished);
    std::fflush(stdout);
    return acked == o_.count ? 0 : 1;
  }

  // Delivery callbacks (Paho's thread).
  void on_success(const mqtt::token& tok) override {
    long long seq;
    std::uint32_t gen;
    decode(tok.get_user_context(), seq, gen);
    std::lock_guard lock(mu_);
    Slot& s = slots_[static_cast<std::size_t>(seq)];
    if (s.acked) return;   // a duplicate delivery of a message we published again
    // Any attempt's acknowledgement means the broker has it, whichever attempt is current.
    s.acked = true;
    ++acked_;
    if (s.inflight) {
      s.inflight = false;
      --inflight_;
    }
    cv_.notify_all();
  }

  void on_failure(const mqtt::token& tok) override {
    long long seq;
    std::uint32_t gen;
    decode(tok.get_user_context(), seq, gen);
    std::lock_guard lock(mu_);
    failAttempt(seq, gen);
    cv_.notify_all();
  }

 private:
  struct Slot {
    std::uint32_t gen = 0;   // the current attempt; callbacks of older attempts only count as acks
    bool inflight = false;   // the current attempt awaits its token
    bool acked = false;
  };

  // The attempt is packed into the user context pointer: no allocation to leak when Paho drops
  // a token without calling back (it may, on a clean-session reconnect).
  static std::uintptr_t encode(long long seq, std::uint32_t gen) {
    return (static_cast<std::uintptr_t>(seq) << 16) | (gen & 0xffffu);
  }
  static void decode(void* ctx, long long& seq, std::uint32_t& gen) {
    const auto v = reinterpret_cast<std::uintptr_t>(ctx);
    seq = static_cast<long long>(v >> 16);
    gen = static_cast<std::uint32_t>(v & 0xffffu);
  }

  // mu_ held.
  void failAttempt(long long seq, std::uint32_t gen) {
    if (seq < 1 || seq > o_.count) return;
    Slot& s = slots_[static_cast<std::size_t>(seq)];
    if (s.acked || !s.inflight || (s.gen & 0xffffu) != gen) return;   // acked, or already queued again
    s.inflight = false;
    --inflight_;
    resend_.push_back(seq);
  }

  void onConnected() {
    std::lock_guard lock(mu_);
    connected_ = true;
    if (connections_++ > 0) std::fprintf(stderr, "mqtt_seq pub: reconnected; %zu to publish again\n", resend_.size());
    cv_.notify_all();
  }

  void onLost(const std::string& cause) {
    std::lock_guard lock(mu_);
    connected_ = false;
    // With a clean session nothing in flight survives: every unacknowledged message is ours to
    // send again. Later callbacks of these attempts are ignored (failAttempt checks inflight).
    std::size_t n = 0;
    for (long long seq = 1; seq <= o_.count; ++seq) {
      Slot& s = slots_[static_cast<std::size_t>(seq)];
      if (s.inflight && !s.acked) {
        s.inflight = false;
        resend_.push_back(seq);
        ++n;
      }
    }
    inflight_ = 0;
    std::fprintf(stderr, "mqtt_seq pub: connection lost (%s); %zu in flight will be published again\n",
                 cause.empty() ? "no cause given" : cause.c_str(), n);
    cv_.notify_all();
  }

  const Options& o_;
  std::unique_ptr<mqtt::async_client> client_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Slot> slots_;          // indexed by sequence number, [0] unused
  std::deque<long long> resend_;
  int inflight_ = 0;
  long long acked_ = 0;
  long long republished_ = 0;
  bool connected_ = false;
  int connections_ = 0;
};

// ------------------------------------------------------------------------------------------------
// count

// The integer after "value": (northbound JSON), or the whole payload as an integer.
bool readInteger(const std::string& payload, long long& out) {
  const char* p = payload.c_str();
  if (const char* v = std::strstr(p, "\"value\":")) {
    p = v + 8;
    while (*p == ' ') ++p;
  } else {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') ++p;
  }
  errno = 0;
  char* end = nullptr;
  const long long n = std::strtoll(p, &end, 10);
  if (end == p || errno != 0) return false;
  if (p == payload.c_str()) {
    // A plain payload must be nothing but the integer (and white space).
    while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r') ++end;
    if (*end != '\0') return false;
  } else if (*end != ',' && *end != '}' && *end != ' ') {
    return false;   // 12.5, 1e3: not an integer value
  }
  out = n;
  return true;
}

class Counter {
 public:
  explicit Counter(const Options& o) : o_(o) {}

  int run() {
    // No client-side persistence: the session that matters (subscription + queued messages) is
    // the broker's, and a QoS1 receiver keeps no state worth saving.
    client_ = std::make_unique<mqtt::async_client>(o_.uri, o_.clientId, mqtt::create_options(MQTTVERSION_3_1_1), nullptr);
    client_->set_message_callback([this](mqtt::const_message_ptr m) { onMessage(m->get_payload_str()); });
    client_->set_connected_handler([this](const std::string&) { subscribe(); });
    client_->set_connection_lost_handler([](const std::string& cause) {
      std::fprintf(stderr, "mqtt_seq count: connection lost (%s); reconnecting\n", cause.empty() ? "no cause given" : cause.c_str());
    });
    const auto opts = mqtt::connect_options_builder()
                          .mqtt_version(MQTTVERSION_3_1_1)
                          .clean_session(false)   // the broker keeps our messages while we are away
                          .keep_alive_interval(10s)
                          .connect_timeout(5s)
                          .automatic_reconnect(1s, 2s)
                          .finalize();
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.timeoutS));
    if (!connectUntil(*client_, opts, deadline)) return 2;

    std::unique_lock lock(mu_);
    auto nextProgress = Clock::now() + 2s;
    long long reported = -1;
    while (static_cast<long long>(seen_.size()) < o_.expect && Clock::now() < deadline) {
      cv_.wait_until(lock, std::min(nextProgress, deadline));
      if (Clock::now() >= nextProgress) {
        if (total_ != reported) std::fprintf(stderr, "mqtt_seq count: distinct=%zu total=%lld\n", seen_.size(), total_);
        reported = total_;
        nextProgress = Clock::now() + 2s;
      }
    }
    const long long distinct = static_cast<long long>(seen_.size());
    std::printf("distinct=%lld total=%lld min=%lld max=%lld dup=%lld foreign=%lld\n", distinct, total_,
                seen_.empty() ? 0 : min_, seen_.empty() ? 0 : max_, total_ - distinct - foreign_, foreign_);
    std::fflush(stdout);
    lock.unlock();
    try {
      client_->disconnect()->wait_for(3s);
    } catch (const mqtt::exception&) {
      // Nothing to do: we are leaving.
    }
    client_.reset();   // before the state its callbacks use goes away
    if (distinct < o_.expect) {
      // Which of 1..expect are missing (the producer's numbering), so a report can name them.
      std::string missing;
      long long shown = 0;
      for (long long v = 1; v <= o_.expect && shown < 20; ++v) {
        if (seen_.count(v) == 0) {
          missing += " " + std::to_string(v);
          ++shown;
        }
      }
      std::fprintf(stderr, "mqtt_seq count: timed out after %.0f s with %lld of %lld distinct values; missing of 1..%lld:%s%s\n",
                   o_.timeoutS, distinct, o_.expect, o_.expect, missing.c_str(), shown == 20 ? " ..." : "");
      return 1;
    }
    return 0;
  }

 private:
  // Paho's thread. Subscribing again after every (re)connection is harmless with a kept session
  // and needed when the broker lost it.
  void subscribe() {
    try {
      client_->subscribe(o_.topic, o_.qos, nullptr, listener_);
    } catch (const mqtt::exception& e) {
      std::fprintf(stderr, "mqtt_seq count: subscribe failed: %s\n", e.what());
    }
  }

  struct SubscribeListener : mqtt::iaction_listener {
    std::atomic<bool> said{false};
    void on_success(const mqtt::token&) override {
      if (!said.exchange(true)) {
        std::printf("ready\n");
        std::fflush(stdout);
      }
    }
    void on_failure(const mqtt::token& tok) override {
      std::fprintf(stderr, "mqtt_seq count: subscribe refused (code %d)\n", tok.get_return_code());
    }
  };

  void onMessage(const std::string& payload) {
    long long v = 0;
    const bool ok = readInteger(payload, v);
    std::lock_guard lock(mu_);
    ++total_;
    if (!ok) {
      if (foreign_++ == 0) std::fprintf(stderr, "mqtt_seq count: payload without an integer: %.200s\n", payload.c_str());
      return;
    }
    if (seen_.insert(v).second) {
      if (seen_.size() == 1 || v < min_) min_ = v;
      if (seen_.size() == 1 || v > max_) max_ = v;
      if (static_cast<long long>(seen_.size()) >= o_.expect) cv_.notify_all();
    }
  }

  const Options& o_;
  std::unique_ptr<mqtt::async_client> client_;
  SubscribeListener listener_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_set<long long> seen_;
  long long total_ = 0, foreign_ = 0, min_ = 0, max_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parseArgs(argc, argv, o)) {
    usage();
    return 2;
  }
  try {
    if (o.mode == "pub") {
      Producer p(o);
      return p.run();
    }
    Counter c(o);
    return c.run();
  } catch (const mqtt::exception& e) {
    std::fprintf(stderr, "mqtt_seq: %s\n", e.what());
    return 2;
  }
}
