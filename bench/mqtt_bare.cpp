// bench/mqtt_bare.cpp: the gateway's two MQTT libraries with nothing of the gateway in between, a
// reference for bench/mqtt_cost.py. It answers "what CPU per message do Paho MQTT C++ (the south
// MQTT bridge's client) and libmosquitto (the northbound publisher's client) cost by themselves,
// driven the way the gateway drives them?": whatever the gateway spends above this is the
// gateway's own (kit wrappers, mapping, model, JSON), not the libraries'.
//
// Mode receive: a Paho mqtt::async_client as the kit's MqttClient creates it (MQTT 5,
// create_options(MQTTVERSION_5, 1 << 20), TCP_NODELAY through gatehouse/kit/tcp_nodelay.h after
// connecting, set_message_callback: the message is handled on Paho's own thread, no queue)
// subscribes to --in-filter at --qos and only counts (one relaxed atomic increment per message).
//
// Mode republish: additionally republishes each message, on that same Paho thread, with
// libmosquitto to the topic with --in-prefix replaced by --out-prefix, same payload and QoS, the
// way the kit's MqttPublisher drives libmosquitto: MQTT 3.1.1, TCP_NODELAY, no library thread
// (no mosquitto_loop_start, not threaded), one mutex around every libmosquitto call,
// mosquitto_publish on the calling thread (it writes to the socket at once), and one small I/O
// thread "bare-io" that poll()s the socket (POLLIN, POLLOUT while the library wants to write,
// 1 s timeout) and runs mosquitto_loop_read / loop_write / loop_misc (PUBACKs, keep-alive). At
// QoS 1 at most 1000 messages are in flight (mosquitto_max_inflight_messages_set); libmosquitto
// queues the rest and sends them as PUBACKs come back. None of the kit's bookkeeping (buffer,
// re-sends, stats, reconnects): a broken connection ends the process with exit code 1.
//
// Usage: mqtt_bare --mode receive|republish --broker tcp://127.0.0.1:PORT --qos 0|1
//                  [--in-filter 'cost/in/#'] [--in-prefix cost/in] [--out-prefix cost/out]
// Prints "READY" once the subscription is acknowledged (and, republish, libmosquitto has its
// CONNACK). On SIGTERM/SIGINT prints "COUNT received=N published=N" and exits 0; published counts
// messages libmosquitto reports done (QoS 0: written to the socket; QoS 1: PUBACK received).
// Exit 1: a connection failed or broke; 2: bad arguments. Not a product part.

#include <mosquitto.h>
#include <mqtt/async_client.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <gatehouse/kit/tcp_nodelay.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

namespace {

struct Options {
  std::string mode;
  std::string broker;
  int qos = -1;
  std::string inFilter = "cost/in/#";
  std::string inPrefix = "cost/in";
  std::string outPrefix = "cost/out";
};

std::atomic<std::uint64_t> gReceived{0}, gPublished{0};

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "mqtt_bare: %s\n", why.c_str());
  std::fflush(stderr);
  std::_Exit(1);   // no teardown: the libraries' threads may be mid-call
}

// libmosquitto, driven without its own thread (see the top comment).
struct Publisher {
  std::mutex mu;            // held for every libmosquitto call on mosq
  mosquitto* mosq = nullptr;
  int wakeFd = -1;          // the Paho thread wakes the I/O thread when a write is left over
  std::mutex readyMu;
  std::condition_variable readyCv;
  bool connacked = false;
  std::atomic<bool> stopping{false};

  static void onConnect(mosquitto*, void* self, int rc) {
    if (rc != 0) fail(std::string("libmosquitto: connection refused: ") + mosquitto_connack_string(rc));
    auto* p = static_cast<Publisher*>(self);
    std::lock_guard lock(p->readyMu);
    p->connacked = true;
    p->readyCv.notify_all();
  }
  static void onDisconnect(mosquitto*, void* self, int rc) {
    if (!static_cast<Publisher*>(self)->stopping.load()) fail(std::string("libmosquitto: disconnected: ") + mosquitto_strerror(rc));
  }
  static void onPublish(mosquitto*, void*, int) { gPublished.fetch_add(1, std::memory_order_relaxed); }

  void connect(const std::string& host, int port) {
    mosquitto_lib_init();
    wakeFd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    mosq = mosquitto_new(("ghbare-pub-" + std::to_string(::getpid())).c_str(), true, this);
    if (mosq == nullptr || wakeFd < 0) fail("cannot create the libmosquitto client");
    mosquitto_connect_callback_set(mosq, &onConnect);
    mosquitto_disconnect_callback_set(mosq, &onDisconnect);
    mosquitto_publish_callback_set(mosq, &onPublish);
    (void)mosquitto_threaded_set(mosq, false);   // the default; publish writes at once
    (void)mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    (void)mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
    (void)mosquitto_max_inflight_messages_set(mosq, 1000);
    std::lock_guard lock(mu);
    const int rc = mosquitto_connect(mosq, host.c_str(), port, 30);   // TCP connect + CONNECT sent
    if (rc != MOSQ_ERR_SUCCESS) fail(std::string("libmosquitto: cannot connect: ") + mosquitto_strerror(rc));
  }

  // The I/O thread: CONNACK, PUBACKs, keep-alive, and writes the Paho thread could not finish.
  void run() {
    pthread_setname_np(pthread_self(), "bare-io");
    while (!stopping.load(std::memory_order_relaxed)) {
      pollfd fds[2] = {{-1, 0, 0}, {wakeFd, POLLIN, 0}};
      {
        std::lock_guard lock(mu);
        fds[0].fd = mosquitto_socket(mosq);
        fds[0].events = static_cast<short>(POLLIN | (mosquitto_want_write(mosq) ? POLLOUT : 0));
      }
      if (fds[0].fd < 0) fail("libmosquitto: the socket closed");
      if (::poll(fds, 2, 1000) < 0 && errno != EINTR) fail("poll failed");
      if (fds[1].revents & POLLIN) {
        std::uint64_t n = 0;
        (void)::read(wakeFd, &n, sizeof(n));
      }
      std::lock_guard lock(mu);
      int rc = MOSQ_ERR_SUCCESS;
      if (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) rc = mosquitto_loop_read(mosq, 1);
      if (rc == MOSQ_ERR_SUCCESS && mosquitto_want_write(mosq)) rc = mosquitto_loop_write(mosq, 1);
      if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_loop_misc(mosq);
      if (rc != MOSQ_ERR_SUCCESS && !stopping.load()) fail(std::string("libmosquitto: ") + mosquitto_strerror(rc));
    }
  }

  // On the Paho callback thread.
  void publish(const std::string& topic, const std::string& payload, int qos) {
    bool leftOver = false;
    {
      std::lock_guard lock(mu);
      const int rc = mosquitto_publish(mosq, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), qos, false);
      if (rc != MOSQ_ERR_SUCCESS) fail(std::string("libmosquitto: publish: ") + mosquitto_strerror(rc));
      leftOver = mosquitto_want_write(mosq);   // the socket was full: the I/O thread finishes on POLLOUT
    }
    if (leftOver) {
      const std::uint64_t one = 1;
      (void)::write(wakeFd, &one, sizeof(one));
    }
  }
};

bool parseArgs(int argc, char** argv, Options& o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--mode") o.mode = v;
    else if (a == "--broker") o.broker = v;
    else if (a == "--qos") o.qos = (v == "0" ? 0 : v == "1" ? 1 : -1);
    else if (a == "--in-filter") o.inFilter = v;
    else if (a == "--in-prefix") o.inPrefix = v;
    else if (a == "--out-prefix") o.outPrefix = v;
    else return false;
  }
  return argc % 2 == 1 && (o.mode == "receive" || o.mode == "republish") && o.qos >= 0 &&
         gatehouse::kit::portOfUri(o.broker) > 0 && o.broker.rfind("tcp://", 0) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parseArgs(argc, argv, o)) {
    std::fprintf(stderr,
                 "usage: mqtt_bare --mode receive|republish --broker tcp://127.0.0.1:PORT --qos 0|1 "
                 "[--in-filter 'cost/in/#'] [--in-prefix cost/in] [--out-prefix cost/out]\n");
    return 2;
  }
  // Before any thread exists: SIGTERM/SIGINT are taken by sigwait() below; SIGPIPE must not kill us.
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGTERM);
  sigaddset(&stopSignals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  const int port = gatehouse::kit::portOfUri(o.broker);
  const bool republish = o.mode == "republish";
  Publisher pub;
  std::thread io;
  if (republish) {
    pub.connect(o.broker.substr(6, o.broker.rfind(':') - 6), port);
    io = std::thread([&pub] { pub.run(); });
    std::unique_lock lock(pub.readyMu);
    if (!pub.readyCv.wait_for(lock, std::chrono::seconds(10), [&pub] { return pub.connacked; })) {
      fail("libmosquitto: no CONNACK within 10 s");
    }
  }

  try {
    mqtt::async_client client(o.broker, "ghbare-sub-" + std::to_string(::getpid()), mqtt::create_options(MQTTVERSION_5, 1 << 20), nullptr);
    const std::size_t prefixLen = o.inPrefix.size();
    const int qos = o.qos;
    client.set_message_callback([&pub, &o, republish, prefixLen, qos](mqtt::const_message_ptr msg) {
      gReceived.fetch_add(1, std::memory_order_relaxed);
      if (!republish) return;
      const std::string& topic = msg->get_topic();
      if (topic.compare(0, prefixLen, o.inPrefix) != 0) return;   // not ours: only counted
      pub.publish(o.outPrefix + topic.substr(prefixLen), msg->get_payload_str(), qos);
    });
    client.set_connection_lost_handler([](const std::string& cause) { fail("Paho: connection lost: " + cause); });
    auto conn = mqtt::connect_options_builder()
                    .mqtt_version(MQTTVERSION_5)
                    .clean_start(true)
                    .keep_alive_interval(std::chrono::seconds(30))
                    .connect_timeout(std::chrono::seconds(10))
                    .finalize();
    client.connect(conn)->wait();
    (void)gatehouse::kit::enableTcpNoDelayTo(port);   // as the kit does after each connect
    auto tok = client.subscribe(o.inFilter, qos);
    tok->wait();
    const auto response = tok->get_subscribe_response();   // a copy: its reason codes are read by reference
    for (auto code : response.get_reason_codes()) {
      if (static_cast<int>(code) >= 0x80) fail("the broker refused the subscription (reason code " + std::to_string(static_cast<int>(code)) + ")");
    }
    std::printf("READY\n");
    std::fflush(stdout);

    int sig = 0;
    sigwait(&stopSignals, &sig);
    std::printf("COUNT received=%llu published=%llu\n", static_cast<unsigned long long>(gReceived.load()),
                static_cast<unsigned long long>(gPublished.load()));
    std::fflush(stdout);
    // The numbers are out; skip orderly teardown (the driver has already read /proc).
    pub.stopping = true;
    std::_Exit(0);
  } catch (const mqtt::exception& e) {
    fail(std::string("Paho: ") + e.what());
  }
}
