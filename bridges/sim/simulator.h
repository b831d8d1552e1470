#pragma once
// Simulated devices, so that every REST verb can be tried on a fresh gateway: temperature
// sensors that drift ("<prefix>-temperature-N", sensor/temperature in °C) and lights
// ("<prefix>-light-N": light/status ON|OFF, light/brightness 0..100 (SET), and the actions
// light/turn_on, light/turn_off, light/dim(brightness 0..100)). Written against the plugin SDK
// only; SimBridge (sim_bridge.h) plugs it into the gateway.
//
// Threads: start()/stop() from one controlling thread (the plugin's control thread). The
// simulator pushes from its timer's thread (kit::Timer); onSet()/onAct() may run on any threads
// at once and answer at once. tick() may be called from any thread (it takes the state lock).

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <gatehouse/kit/timer.h>
#include <gatehouse/sdk/bridge.h>

namespace gatehouse::bridge::sim {

struct SimulatorOptions {
  int temperatureSensors = 1;   // 0..10000
  int lights = 1;               // 0..10000
  int intervalMs = 1000;        // 10..3600000 between readings
  std::string providerPrefix = "sim";   // [A-Za-z0-9_.:-]{1,128}
  std::uint32_t seed = 0;       // 0 = random
};

// OK, or INVALID_ARGUMENT naming the option that is out of range.
sdk::Status validate(const SimulatorOptions& options);

class Simulator {
 public:
  Simulator(sdk::Host host, SimulatorOptions options);
  ~Simulator();   // stops
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Declares every device with its first values, then starts the readings (every intervalMs).
  sdk::Status start();
  // Idempotent; joins the timer's thread.
  void stop();
  // One step of every sensor's random walk, pushed. The timer calls it every intervalMs.
  void tick();

  void onSet(const sdk::Request& request, const std::string& provider, const std::string& service,
             const std::string& resource, const sdk::Value& value);
  void onAct(const sdk::Request& request, const std::string& provider, const std::string& service,
             const std::string& resource, const sdk::ActParams& params);

  // Current temperatures, sensor 1 first (what was last pushed).
  std::vector<double> temperatures() const;

  static std::string temperatureProvider(const SimulatorOptions& o, int index);   // "sim-temperature-1"
  static std::string lightProvider(const SimulatorOptions& o, int index);         // "sim-light-1"

 private:
  sdk::Status declareTemperatureSensor(int index, double first);
  sdk::Status declareLight(int index);
  bool isLight(const std::string& provider) const;
  void setLight(const std::string& provider, std::int64_t brightness);

  const sdk::Host host_;
  const SimulatorOptions options_;

  mutable std::mutex stateMu_;   // temperatures_, rng_, lastOn_
  std::vector<double> temperatures_;
  std::uint32_t rng_ = 1;
  std::unordered_map<std::string, std::int64_t> lastOn_;   // brightness turn_on restores

  kit::Timer timer_{"sim-timer"};   // the readings; last member: stopped and joined first
};

}  // namespace gatehouse::bridge::sim
