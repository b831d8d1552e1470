#pragma once
// Built-in simulated devices, so that every REST verb can be tried from the README's first
// command: temperature sensors that drift, and lights with status/brightness and
// turn_on/turn_off/dim(brightness) actions. (It moves into a plugin with the Plugin SDK issue.)
//
// Threads: start()/stop() from one controlling thread. The simulator pushes from its own
// thread; SET/ACT arrive on REST threads through model::CommandHandler and are answered at once.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "model/model.h"

namespace gatehouse::core::sim {

struct SimulatorOptions {
  int temperatureSensors = 1;
  int lights = 1;
  int intervalMs = 1000;
  std::string providerPrefix = "sim";
  unsigned seed = 0;   // 0 = random
};

inline constexpr const char* kOwnerName = "simulator";

class Simulator {
 public:
  Simulator(model::Model& model, SimulatorOptions options);
  ~Simulator();
  Result<void> start();   // declares every device, then ticks every intervalMs
  void stop();            // idempotent; joins the thread and unregisters from the model

  static std::string temperatureProvider(const SimulatorOptions& o, int index);   // "sim-temperature-1"
  static std::string lightProvider(const SimulatorOptions& o, int index);         // "sim-light-1"

 private:
  class Handler;
  void run();
  void tick();

  model::Model& model_;
  SimulatorOptions options_;
  std::shared_ptr<Handler> handler_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<double> temperatures_;
  unsigned rng_ = 1;
};

}  // namespace gatehouse::core::sim
