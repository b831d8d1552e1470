#pragma once
// MqttTestSubscriber: a plain Paho subscriber playing the application in tests of code that
// publishes (core's northbound, the kit's MQTT publisher): it connects to a broker, subscribes and
// records every message (topic, payload, retained flag) for the test thread to wait on.
// Header only; a test that includes it links PahoMqttCpp::paho-mqttpp3.
//
// Threads: the callback runs on Paho's thread; every other method on the test thread.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <mqtt/async_client.h>

namespace gatehouse::test_support {

struct ReceivedMessage {
  std::string topic;
  std::string payload;
  bool retained = false;
};

class MqttTestSubscriber : public mqtt::callback {
 public:
  using Predicate = std::function<bool(const std::vector<ReceivedMessage>&)>;

  MqttTestSubscriber(const std::string& uri, const std::string& id, bool cleanSession = true)
      : client_(uri, id, mqtt::create_options(MQTTVERSION_DEFAULT), nullptr), cleanSession_(cleanSession) {
    client_.set_callback(*this);
  }
  ~MqttTestSubscriber() override {
    try {
      if (client_.is_connected()) client_.disconnect()->wait_for(std::chrono::seconds(2));
    } catch (...) {
    }
  }
  void connect() {
    using namespace std::chrono_literals;
    auto opts = mqtt::connect_options_builder().clean_session(cleanSession_).automatic_reconnect(100ms, 500ms).finalize();
    client_.connect(opts)->wait_for(5s);
  }
  void subscribe(const std::string& filter, int qos = 1) { client_.subscribe(filter, qos)->wait_for(std::chrono::seconds(5)); }

  void message_arrived(mqtt::const_message_ptr msg) override {
    std::lock_guard lock(mu_);
    messages_.push_back({msg->get_topic(), msg->to_string(), msg->is_retained()});
    cv_.notify_all();
  }
  // Waits until pred(messages) holds.
  bool waitFor(const Predicate& pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return pred(messages_); });
  }
  std::vector<ReceivedMessage> messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }
  std::vector<ReceivedMessage> on(const std::string& topic) {
    std::lock_guard lock(mu_);
    std::vector<ReceivedMessage> out;
    for (const auto& m : messages_) if (m.topic == topic) out.push_back(m);
    return out;
  }

 private:
  mqtt::async_client client_;
  bool cleanSession_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ReceivedMessage> messages_;
};

// Predicates for waitFor().
inline MqttTestSubscriber::Predicate countOn(const std::string& topic, std::size_t n) {
  return [topic, n](const std::vector<ReceivedMessage>& ms) {
    std::size_t k = 0;
    for (const auto& m : ms) k += m.topic == topic;
    return k >= n;
  };
}
inline MqttTestSubscriber::Predicate payloadOn(const std::string& topic, const std::string& payload) {
  return [topic, payload](const std::vector<ReceivedMessage>& ms) {
    for (const auto& m : ms) if (m.topic == topic && m.payload == payload) return true;
    return false;
  };
}

}  // namespace gatehouse::test_support
