#pragma once
// Helpers of the tests that talk MQTT through the kit's client (tests/unit/sdk_kit, the MQTT
// bridge's tests): Inbox, ConnectionWatch and Done collect what kit::MqttClient handlers report
// (on Paho's thread) for the test thread to wait on. The broker itself is mosquitto_fixture.h.
// Header only; the including test links gatehouse::sdk_kit_mqtt.
//
// Threads: the handlers run on Paho's threads; the wait/read methods on the test thread.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include <gatehouse/kit/mqtt_client.h>

#include "mosquitto_fixture.h"

namespace gatehouse::test_support {

class Inbox {
 public:
  kit::MqttClient::MessageHandler handler() {
    return [this](const kit::MqttMessage& m) {
      std::lock_guard lock(mu_);
      messages_.push_back(m);
      cv_.notify_all();
    };
  }
  bool waitFor(std::size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return messages_.size() >= n; });
  }
  std::vector<kit::MqttMessage> messages() const {
    std::lock_guard lock(mu_);
    return messages_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<kit::MqttMessage> messages_;
};

class ConnectionWatch {
 public:
  kit::MqttClient::ConnectionHandler handler() {
    return [this](bool connected, const std::string& reason) {
      std::lock_guard lock(mu_);
      connected_ = connected;
      if (connected) ++connects_;
      else reasons_.push_back(reason);
      cv_.notify_all();
    };
  }
  bool waitConnected(std::chrono::milliseconds timeout, int connects = 1) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return connected_ && connects_ >= connects; });
  }
  bool waitFailure(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return !reasons_.empty(); });
  }
  std::vector<std::string> reasons() const {
    std::lock_guard lock(mu_);
    return reasons_;
  }
  int connects() const {
    std::lock_guard lock(mu_);
    return connects_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool connected_ = false;
  int connects_ = 0;
  std::vector<std::string> reasons_;
};

// Waits for a Completion.
class Done {
 public:
  kit::MqttClient::Completion handler() {
    return [this](const kit::Result<void>& s) {
      std::lock_guard lock(mu_);
      status_ = s;
      done_ = true;
      cv_.notify_all();
    };
  }
  bool wait(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return done_; });
  }
  kit::Result<void> status() const {
    std::lock_guard lock(mu_);
    return status_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  kit::Result<void> status_;
};

}  // namespace gatehouse::test_support
