// bench/mqtt_cost_peer.cpp: the load and the far end of bench/mqtt_cost.py (bench/README.md).
//
// Two roles, both on libmosquitto (its own network thread, mosquitto_loop_start): the peer's
// CPU is not what the bench measures, it only has to be cheap enough not to be the bottleneck
// and to count exactly.
//
//   pub  publishes --count messages {"value":V} with V = --first, --first+1, ... to
//        <--prefix>/dev-<k>/env/temperature, k = message index modulo --topics, at --qos, as
//        fast as the library takes them (at QoS 1 at most 1000 in flight, the library queues the
//        rest). Exits once every message was written (QoS 0) or acknowledged (QoS 1); prints
//        "PUB sent=N seconds=S".
//   sub  subscribes to --filter at --qos and counts the messages whose JSON payload has a
//        "value" in [--first, --first + --count) (read as a number: the gateway writes doubles,
//        for instance 1000001.0); anything else is "foreign". Prints "READY" once subscribed;
//        exits when every value arrived, or when nothing new came for --idle-ms after the first
//        message (or --timeout-s in all); prints
//        "SUB distinct=N received=N dup=N foreign=N first_ns=T last_ns=T missing_first=V"
//        where the times are CLOCK_MONOTONIC (Python's time.monotonic_ns()) of the first and
//        last counted message. Exit 0 when all arrived, 1 when some are missing.
//
// Usage: mqtt_cost_peer pub|sub --port P [--qos 0|1] [--count N] [--first V] [--topics T]
//        [--prefix cost/in] [--filter F] [--idle-ms 5000] [--timeout-s 300] [--client-id ID]
#include <mosquitto.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

std::int64_t nowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct Args {
  std::string role;
  int port = 0;
  int qos = 0;
  long count = 50000;
  long first = 1;
  int topics = 100;
  std::string prefix = "cost/in";
  std::string filter;
  long idleMs = 5000;
  long timeoutS = 300;
  std::string clientId;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "mqtt_cost_peer: %s\nusage: mqtt_cost_peer pub|sub --port P [--qos 0|1] [--count N] "
               "[--first V] [--topics T] [--prefix P] [--filter F] [--idle-ms MS] [--timeout-s S] [--client-id ID]\n", why);
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  if (argc < 2) usage("missing role");
  a.role = argv[1];
  if (a.role != "pub" && a.role != "sub") usage("role must be pub or sub");
  for (int i = 2; i < argc; ++i) {
    std::string k = argv[i];
    if (i + 1 >= argc) usage(("missing value for " + k).c_str());
    const char* v = argv[++i];
    if (k == "--port") a.port = std::atoi(v);
    else if (k == "--qos") a.qos = std::atoi(v);
    else if (k == "--count") a.count = std::atol(v);
    else if (k == "--first") a.first = std::atol(v);
    else if (k == "--topics") a.topics = std::atoi(v);
    else if (k == "--prefix") a.prefix = v;
    else if (k == "--filter") a.filter = v;
    else if (k == "--idle-ms") a.idleMs = std::atol(v);
    else if (k == "--timeout-s") a.timeoutS = std::atol(v);
    else if (k == "--client-id") a.clientId = v;
    else usage(("unknown option " + k).c_str());
  }
  if (a.port <= 0 || a.qos < 0 || a.qos > 1 || a.count < 1 || a.topics < 1) usage("bad --port, --qos, --count or --topics");
  if (a.role == "sub" && a.filter.empty()) usage("sub needs --filter");
  if (a.clientId.empty()) a.clientId = "cost-" + a.role + "-" + std::to_string(getpid());
  return a;
}

struct State {
  Args args;
  std::atomic<bool> connected{false};
  std::atomic<bool> subscribed{false};
  std::atomic<long> acked{0};
  // sub
  std::mutex mu;
  std::vector<unsigned char> seen;
  long distinct = 0, received = 0, dup = 0, foreign = 0;
  std::int64_t firstNs = 0, lastNs = 0;
};

mosquitto* connect(State& st, bool clean) {
  mosquitto* m = mosquitto_new(st.args.clientId.c_str(), clean, &st);
  if (!m) usage("mosquitto_new failed");
  mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_max_inflight_messages_set(m, 1000);
  mosquitto_connect_callback_set(m, [](mosquitto*, void* ud, int rc) {
    if (rc == 0) static_cast<State*>(ud)->connected = true;
  });
  if (mosquitto_connect(m, "127.0.0.1", st.args.port, 60) != MOSQ_ERR_SUCCESS) {
    std::fprintf(stderr, "mqtt_cost_peer: cannot connect to 127.0.0.1:%d: %s\n", st.args.port, std::strerror(errno));
    std::exit(2);
  }
  mosquitto_loop_start(m);
  for (int i = 0; i < 1000 && !st.connected; ++i) usleep(10000);
  if (!st.connected) {
    std::fprintf(stderr, "mqtt_cost_peer: no CONNACK within 10 s\n");
    std::exit(2);
  }
  return m;
}

int runPub(State& st) {
  const Args& a = st.args;
  mosquitto* m = connect(st, true);
  mosquitto_publish_callback_set(m, [](mosquitto*, void* ud, int) { static_cast<State*>(ud)->acked++; });
  std::vector<std::string> topics;
  for (int k = 0; k < a.topics; ++k) topics.push_back(a.prefix + "/dev-" + std::to_string(k) + "/env/temperature");
  const std::int64_t t0 = nowNs();
  char payload[64];
  for (long i = 0; i < a.count; ++i) {
    const int n = std::snprintf(payload, sizeof payload, "{\"value\":%ld}", a.first + i);
    int rc;
    while ((rc = mosquitto_publish(m, nullptr, topics[static_cast<std::size_t>(i % a.topics)].c_str(), n, payload, a.qos,
                                   false)) == MOSQ_ERR_NOMEM) {
      usleep(1000);
    }
    if (rc != MOSQ_ERR_SUCCESS) {
      std::fprintf(stderr, "mqtt_cost_peer: publish failed: %s\n", mosquitto_strerror(rc));
      return 2;
    }
    // Keep the library's queue short so that the load is a steady stream, not one burst in memory.
    while (i + 1 - st.acked.load() > 5000) usleep(200);
  }
  const std::int64_t deadline = nowNs() + a.timeoutS * 1000000000LL;
  while (st.acked.load() < a.count && nowNs() < deadline) usleep(1000);
  const double seconds = static_cast<double>(nowNs() - t0) / 1e9;
  std::printf("PUB sent=%ld seconds=%.3f\n", st.acked.load(), seconds);
  std::fflush(stdout);
  mosquitto_disconnect(m);
  mosquitto_loop_stop(m, false);
  mosquitto_destroy(m);
  return st.acked.load() == a.count ? 0 : 1;
}

void onMessage(mosquitto*, void* ud, const mosquitto_message* msg) {
  auto& st = *static_cast<State*>(ud);
  const std::int64_t t = nowNs();
  const char* p = static_cast<const char*>(msg->payload);
  std::string text(p, p + msg->payloadlen);
  const auto at = text.find("\"value\":");
  long v = -1;
  if (at != std::string::npos) {
    char* end = nullptr;
    const double d = std::strtod(text.c_str() + at + 8, &end);
    if (end != text.c_str() + at + 8) v = static_cast<long>(d);
  }
  std::lock_guard lock(st.mu);
  ++st.received;
  if (v < st.args.first || v >= st.args.first + st.args.count) {
    ++st.foreign;
    return;
  }
  auto& slot = st.seen[static_cast<std::size_t>(v - st.args.first)];
  if (slot) {
    ++st.dup;
    return;
  }
  slot = 1;
  ++st.distinct;
  if (st.firstNs == 0) st.firstNs = t;
  st.lastNs = t;
}

int runSub(State& st) {
  const Args& a = st.args;
  st.seen.assign(static_cast<std::size_t>(a.count), 0);
  mosquitto* m = connect(st, true);
  mosquitto_message_callback_set(m, onMessage);
  mosquitto_subscribe_callback_set(m, [](mosquitto*, void* ud, int, int, const int*) {
    static_cast<State*>(ud)->subscribed = true;
  });
  mosquitto_subscribe(m, nullptr, a.filter.c_str(), a.qos);
  for (int i = 0; i < 1000 && !st.subscribed; ++i) usleep(10000);
  if (!st.subscribed) {
    std::fprintf(stderr, "mqtt_cost_peer: no SUBACK within 10 s\n");
    return 2;
  }
  std::printf("READY\n");
  std::fflush(stdout);
  const std::int64_t deadline = nowNs() + a.timeoutS * 1000000000LL;
  long lastCount = -1;
  std::int64_t lastChange = nowNs();
  while (true) {
    usleep(2000);
    long distinct;
    {
      std::lock_guard lock(st.mu);
      distinct = st.distinct;
    }
    const std::int64_t now = nowNs();
    if (distinct == a.count || now > deadline) break;
    if (distinct != lastCount) {
      lastCount = distinct;
      lastChange = now;
    } else if (distinct > 0 && now - lastChange > a.idleMs * 1000000LL) {
      break;
    }
  }
  mosquitto_disconnect(m);
  mosquitto_loop_stop(m, false);
  std::lock_guard lock(st.mu);
  long missingFirst = -1;
  for (std::size_t i = 0; i < st.seen.size(); ++i) {
    if (!st.seen[i]) {
      missingFirst = a.first + static_cast<long>(i);
      break;
    }
  }
  std::printf("SUB distinct=%ld received=%ld dup=%ld foreign=%ld first_ns=%lld last_ns=%lld missing_first=%ld\n",
              st.distinct, st.received, st.dup, st.foreign, static_cast<long long>(st.firstNs),
              static_cast<long long>(st.lastNs), missingFirst);
  std::fflush(stdout);
  mosquitto_destroy(m);
  return st.distinct == a.count ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  State st;
  st.args = parse(argc, argv);
  mosquitto_lib_init();
  const int rc = st.args.role == "pub" ? runPub(st) : runSub(st);
  mosquitto_lib_cleanup();
  return rc;
}
