// bench/mqtt_latency_probe.cpp: end-to-end MQTT latency at a fixed publish rate (bench/README.md,
// run by bench/mqtt_latency.py).
//
// Publishes `{"value":SEQ,"sent_ns":T}` to --pub-topic at --rate messages/s (paced against an
// absolute schedule), subscribes to --sub-topic with a second connection and records, per message,
// receive time - send time on the steady clock. The sequence number is read back from the received
// payload's "value" field, and the send time from a table indexed by it: in mode "raw" (pub and sub
// topic are the same, one hop through the broker) the payload is the one sent; in mode "gateway"
// it is the gateway's northbound message {"value":SEQ,"timestamp":..,"type":"double"}, which keeps
// the value but not our send time; in mode "forwarder" (mqtt_ideal_forwarder republishes it) the
// payload is the one sent. All modes use the same table, so they measure the same thing.
//
// Before measuring it sends one message every 10 ms until one comes back (the gateway's bridge
// subscribes asynchronously and declares the resource on the first message), then --warmup-s at
// the full rate, unrecorded. Then --seconds at the full rate, recorded; then it waits up to
// --drain-ms for stragglers. Everything not back by then is lost.
//
// Output: one human line and two machine lines
//   RESULT mode=.. sent=N received=N lost=N dup=N foreign=N rate=.. p50_us=.. p90_us=.. p99_us=.. p999_us=.. max_us=..
//   SECONDS mode=.. recv_by_last_send=N sent=a,b,.. recv=a,b,.. p50_us=a,b,..
// SECONDS is per measured second (from the moment the first measured message was due, steady
// clock): messages sent in it, measured messages received in it, and the median latency of those
// sent in it; recv_by_last_send counts the measured messages that had arrived when the last one
// was sent. mqtt_latency.py judges "keeps up with the offered rate" from them.
// Exit: 0 measured (loss is reported, not judged here), 2 could not run (connect/subscribe failed,
// no echo within 10 s, bad arguments).
//
// Threads: main() publishes and computes; Paho's callback thread only stores receive times in
// per-sequence atomics, which main() reads after both clients are disconnected.
//
// Paho clients are created with create_options(MQTTVERSION_DEFAULT, 1 << 20) (TESTING.md: the
// default buffer of 100 commands fails a tight publish loop with -12). Paho C 1.3.12 does not set
// TCP_NODELAY (strace shows no setsockopt at all) and gives no access to its socket, so after each
// connect the probe sets it on its own TCP sockets to the broker's port, found in /proc/self/fd
// (the bridge kit's tcp_nodelay.h, as the gateway does): with Nagle on, the raw one-hop p99 was about 20 ms at 10k msg/s instead of well under
// 1 ms. The broker side is mosquitto's `set_tcp_nodelay true`.

#include <mqtt/async_client.h>

#include <gatehouse/kit/tcp_nodelay.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

struct Options {
  std::string broker = "tcp://127.0.0.1:1883";
  std::string mode = "raw";
  std::string pubTopic;
  std::string subTopic;
  int rate = 10000;
  double seconds = 5.0;
  double warmupS = 1.0;
  int drainMs = 2000;
};

void usage() {
  std::fprintf(stderr,
               "usage: mqtt_latency_probe --broker tcp://HOST:PORT --mode raw|gateway|forwarder --pub-topic T "
               "[--sub-topic T2 (default: T)] [--rate 10000] [--seconds 5] [--warmup-s 1] [--drain-ms 2000]\n");
}

bool parseArgs(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "mqtt_latency_probe: %s needs a value\n", a.c_str());
      return false;
    }
    std::string v = argv[++i];
    char* end = nullptr;
    if (a == "--broker") {
      o.broker = v;
    } else if (a == "--mode") {
      o.mode = v;
    } else if (a == "--pub-topic") {
      o.pubTopic = v;
    } else if (a == "--sub-topic") {
      o.subTopic = v;
    } else if (a == "--rate") {
      o.rate = static_cast<int>(std::strtol(v.c_str(), &end, 10));
    } else if (a == "--seconds") {
      o.seconds = std::strtod(v.c_str(), &end);
    } else if (a == "--warmup-s") {
      o.warmupS = std::strtod(v.c_str(), &end);
    } else if (a == "--drain-ms") {
      o.drainMs = static_cast<int>(std::strtol(v.c_str(), &end, 10));
    } else {
      std::fprintf(stderr, "mqtt_latency_probe: unknown option %s\n", a.c_str());
      return false;
    }
    if (end != nullptr && *end != '\0') {
      std::fprintf(stderr, "mqtt_latency_probe: %s: not a number: %s\n", a.c_str(), v.c_str());
      return false;
    }
  }
  if (o.subTopic.empty()) o.subTopic = o.pubTopic;
  if (o.pubTopic.empty() || (o.mode != "raw" && o.mode != "gateway" && o.mode != "forwarder") || o.rate < 1 || o.rate > 1000000 ||
      o.seconds <= 0 || o.seconds > 600 || o.warmupS < 0 || o.drainMs < 0) {
    std::fprintf(stderr, "mqtt_latency_probe: bad or missing arguments\n");
    return false;
  }
  return true;
}

// The receive side: written by Paho's callback thread, read by main() after disconnecting.
struct Receiver {
  explicit Receiver(std::size_t slots) : recvNs(new std::atomic<std::int64_t>[slots]), size(slots) {
    for (std::size_t i = 0; i < slots; ++i) recvNs[i].store(0, std::memory_order_relaxed);
  }
  std::unique_ptr<std::atomic<std::int64_t>[]> recvNs;   // 0 = not received yet
  std::size_t size;
  std::atomic<std::uint64_t> received{0}, duplicates{0}, foreign{0};
  std::atomic<std::int64_t> highestSeq{-1};

  void onMessage(const std::string& payload) {
    const std::int64_t t = nowNs();
    // Both payload shapes start with {"value":NUMBER (ours, and the northbound's); the gateway
    // publishes the double, e.g. 123 or 123.0, so read a double and insist it is integral.
    const char* p = std::strstr(payload.c_str(), "\"value\":");
    if (p == nullptr) {
      foreign.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    char* end = nullptr;
    const double v = std::strtod(p + 8, &end);
    if (end == p + 8 || v < 0 || v >= static_cast<double>(size) || v != static_cast<double>(static_cast<std::int64_t>(v))) {
      foreign.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const auto seq = static_cast<std::size_t>(v);
    std::int64_t expected = 0;
    if (!recvNs[seq].compare_exchange_strong(expected, t, std::memory_order_relaxed)) {
      duplicates.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    received.fetch_add(1, std::memory_order_release);
    std::int64_t h = highestSeq.load(std::memory_order_relaxed);
    while (static_cast<std::int64_t>(seq) > h &&
           !highestSeq.compare_exchange_weak(h, static_cast<std::int64_t>(seq), std::memory_order_relaxed)) {
    }
  }
};

std::unique_ptr<mqtt::async_client> connectClient(const Options& o, const std::string& suffix) {
  const std::string id = "ghlat-" + std::to_string(::getpid()) + "-" + suffix;
  auto client = std::make_unique<mqtt::async_client>(o.broker, id, mqtt::create_options(MQTTVERSION_DEFAULT, 1 << 20));
  auto conn = mqtt::connect_options_builder().clean_session(true).keep_alive_interval(std::chrono::seconds(30)).finalize();
  client->connect(conn)->wait_for(std::chrono::seconds(10));
  if (!client->is_connected()) throw mqtt::exception(-1, "could not connect to " + o.broker + " within 10 s");
  if (gatehouse::kit::enableTcpNoDelayTo(gatehouse::kit::portOfUri(o.broker)) == 0) {
    std::fprintf(stderr, "mqtt_latency_probe: warning: found no socket to set TCP_NODELAY on\n");
  }
  return client;
}

std::string payloadFor(std::int64_t seq, std::int64_t sentNs) {
  return "{\"value\":" + std::to_string(seq) + ",\"sent_ns\":" + std::to_string(sentNs) + "}";
}

double percentileUs(const std::vector<std::int64_t>& sorted, double q) {
  if (sorted.empty()) return 0.0;
  // Nearest rank: the smallest value with at least q of the samples at or below it.
  auto rank = static_cast<std::size_t>(q * static_cast<double>(sorted.size()) + 0.999999);
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return static_cast<double>(sorted[rank - 1]) / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parseArgs(argc, argv, o)) {
    usage();
    return 2;
  }
  const auto warmupCount = static_cast<std::int64_t>(o.warmupS * o.rate);
  const auto measuredCount = static_cast<std::int64_t>(o.seconds * o.rate);
  // Sequence numbers: 1..1000 probe (one every 10 ms until an echo), then the warm-up, then the
  // measured ones. Only the measured ones are counted.
  constexpr std::int64_t kProbeMax = 1000;
  const std::int64_t firstMeasured = kProbeMax + 1 + warmupCount;
  const std::int64_t endSeq = firstMeasured + measuredCount;   // exclusive
  Receiver rx(static_cast<std::size_t>(endSeq));
  std::vector<std::int64_t> sentNs(static_cast<std::size_t>(endSeq), 0);

  std::unique_ptr<mqtt::async_client> sub, pub;
  try {
    sub = connectClient(o, "sub");
    sub->set_message_callback([&rx](mqtt::const_message_ptr msg) { rx.onMessage(msg->get_payload_str()); });
    sub->subscribe(o.subTopic, 0)->wait_for(std::chrono::seconds(10));
    pub = connectClient(o, "pub");
  } catch (const mqtt::exception& e) {
    std::fprintf(stderr, "mqtt_latency_probe: %s\n", e.what());
    return 2;
  }

  int rc = 0;
  try {
    auto send = [&](std::int64_t seq) {
      const std::int64_t t = nowNs();
      sentNs[static_cast<std::size_t>(seq)] = t;
      pub->publish(o.pubTopic, payloadFor(seq, t), 0, false);
    };
    // 1. Until the path works end to end.
    std::int64_t seq = 1;
    for (; seq <= kProbeMax && rx.received.load(std::memory_order_acquire) == 0; ++seq) {
      send(seq);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (rx.received.load(std::memory_order_acquire) == 0) {
      std::fprintf(stderr, "mqtt_latency_probe: nothing came back on %s within 10 s of publishing to %s\n",
                   o.subTopic.c_str(), o.pubTopic.c_str());
      rc = 2;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));   // let the probe's stragglers in
      // 2. Warm-up and measurement on one absolute schedule: message k is due at start + k/rate.
      const auto period = std::chrono::nanoseconds(1000000000LL / o.rate);
      const std::int64_t first = kProbeMax + 1;
      const auto start = Clock::now();
      std::int64_t late = 0;
      for (seq = first; seq < endSeq; ++seq) {
        const auto due = start + period * (seq - first);
        if (Clock::now() < due) {
          std::this_thread::sleep_until(due);
        } else if (Clock::now() - due > std::chrono::milliseconds(1)) {
          ++late;
        }
        send(seq);
      }
      const double sendS = std::chrono::duration<double>(Clock::now() - start).count();
      const double achieved = static_cast<double>(endSeq - first) / sendS;
      // 3. Drain.
      const auto drainEnd = Clock::now() + std::chrono::milliseconds(o.drainMs);
      while (Clock::now() < drainEnd) {
        if (rx.recvNs[static_cast<std::size_t>(endSeq - 1)].load(std::memory_order_relaxed) != 0) {
          // The last one is in; give reordered ones a moment.
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      sub->unsubscribe(o.subTopic)->wait_for(std::chrono::seconds(5));
      std::vector<std::int64_t> lat;
      lat.reserve(static_cast<std::size_t>(measuredCount));
      for (std::int64_t s = firstMeasured; s < endSeq; ++s) {
        const std::int64_t r = rx.recvNs[static_cast<std::size_t>(s)].load(std::memory_order_relaxed);
        if (r != 0) lat.push_back(r - sentNs[static_cast<std::size_t>(s)]);
      }
      // Keep-up figures: per measured second, how many were sent and received in it (by the
      // probe's clock, from the moment the first measured message was due) and the median latency
      // of those sent in it; and how many had arrived when the last one was sent.
      const std::int64_t measStart = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                         (start + period * (firstMeasured - first)).time_since_epoch())
                                         .count();
      const std::int64_t lastSent = sentNs[static_cast<std::size_t>(endSeq - 1)];
      const auto nSeconds = static_cast<std::size_t>(std::max<double>(1.0, std::ceil(o.seconds)));
      std::vector<std::int64_t> secSent(nSeconds, 0), secRecv(nSeconds, 0);
      std::vector<std::vector<std::int64_t>> secLat(nSeconds);
      std::int64_t recvByLastSend = 0;
      auto secondOf = [&](std::int64_t t) {
        const std::int64_t i = (t - measStart) / 1000000000LL;
        return static_cast<std::size_t>(std::clamp<std::int64_t>(i, 0, static_cast<std::int64_t>(nSeconds) - 1));
      };
      for (std::int64_t s = firstMeasured; s < endSeq; ++s) {
        const std::int64_t snt = sentNs[static_cast<std::size_t>(s)];
        const std::int64_t r = rx.recvNs[static_cast<std::size_t>(s)].load(std::memory_order_relaxed);
        ++secSent[secondOf(snt)];
        if (r == 0) continue;
        secLat[secondOf(snt)].push_back(r - snt);
        if (r - measStart < static_cast<std::int64_t>(nSeconds) * 1000000000LL) ++secRecv[secondOf(r)];
        if (r <= lastSent) ++recvByLastSend;
      }
      std::string secSentText, secRecvText, secP50Text;
      for (std::size_t i = 0; i < nSeconds; ++i) {
        std::sort(secLat[i].begin(), secLat[i].end());
        char p50[32];
        std::snprintf(p50, sizeof(p50), "%.1f", percentileUs(secLat[i], 0.50));
        secSentText += (i ? "," : "") + std::to_string(secSent[i]);
        secRecvText += (i ? "," : "") + std::to_string(secRecv[i]);
        secP50Text += (i ? "," : "") + std::string(p50);
      }
      std::sort(lat.begin(), lat.end());
      const auto lost = static_cast<std::uint64_t>(measuredCount) - lat.size();
      std::printf("%s: sent %lld at %.0f msg/s (%lld more than 1 ms late), received %zu, lost %llu; "
                  "latency p50 %.1f us, p99 %.1f us, max %.1f us\n",
                  o.mode.c_str(), static_cast<long long>(measuredCount), achieved, static_cast<long long>(late),
                  lat.size(), static_cast<unsigned long long>(lost), percentileUs(lat, 0.50),
                  percentileUs(lat, 0.99), lat.empty() ? 0.0 : static_cast<double>(lat.back()) / 1000.0);
      std::printf("RESULT mode=%s sent=%lld received=%zu lost=%llu dup=%llu foreign=%llu late=%lld rate=%.0f "
                  "p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f\n",
                  o.mode.c_str(), static_cast<long long>(measuredCount), lat.size(),
                  static_cast<unsigned long long>(lost),
                  static_cast<unsigned long long>(rx.duplicates.load()), static_cast<unsigned long long>(rx.foreign.load()),
                  static_cast<long long>(late), achieved, percentileUs(lat, 0.50), percentileUs(lat, 0.90),
                  percentileUs(lat, 0.99), percentileUs(lat, 0.999),
                  lat.empty() ? 0.0 : static_cast<double>(lat.back()) / 1000.0);
      std::printf("SECONDS mode=%s recv_by_last_send=%lld sent=%s recv=%s p50_us=%s\n", o.mode.c_str(),
                  static_cast<long long>(recvByLastSend), secSentText.c_str(), secRecvText.c_str(), secP50Text.c_str());
      std::fflush(stdout);
    }
  } catch (const mqtt::exception& e) {
    std::fprintf(stderr, "mqtt_latency_probe: %s\n", e.what());
    rc = 2;
  }
  try {
    pub->disconnect()->wait_for(std::chrono::seconds(2));
    sub->disconnect()->wait_for(std::chrono::seconds(2));
  } catch (const mqtt::exception& e) {
    std::fprintf(stderr, "mqtt_latency_probe: disconnect: %s\n", e.what());
  }
  return rc;
}
