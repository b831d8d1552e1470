#include "sim_bridge.h"

namespace gatehouse::bridge::sim {

const sdk::ConfigSchema kSimConfigSchema{
    sdk::integer("temperature_sensors", 1).range(0, 10000).doc("Simulated temperature sensor providers."),
    sdk::integer("lights", 1).range(0, 10000).doc("Simulated switchable light providers."),
    sdk::integer("interval_ms", 1000).range(10, 3600000).doc("Interval between simulated readings."),
    sdk::string("provider_prefix", "sim").doc("Start of the simulated providers' names: 1-128 of A-Z a-z 0-9 _ . : -."),
    sdk::integer("seed", 0).range(0, 4294967295LL).doc("Seed of the simulated readings; 0 picks a random one."),
};

SimBridge::~SimBridge() {
  if (simulator_) simulator_->stop();
}

sdk::Status SimBridge::configure(const sdk::Config& config) {
  SimulatorOptions o;
  o.temperatureSensors = static_cast<int>(config.getInt("temperature_sensors"));
  o.lights = static_cast<int>(config.getInt("lights"));
  o.intervalMs = static_cast<int>(config.getInt("interval_ms"));
  o.providerPrefix = config.getString("provider_prefix");
  const auto seed = config.getInt("seed");
  if (seed < 0 || seed > 4294967295LL) return sdk::Status::invalidArgument("seed must be between 0 and 4294967295");
  o.seed = static_cast<std::uint32_t>(seed);
  // The host checked the ranges from the table; the identifier rule of provider_prefix it cannot
  // express, so it is checked here (and the ranges again, cheaply).
  if (auto s = validate(o); !s) return s;
  options_ = std::move(o);
  return sdk::Status::ok();
}

sdk::Status SimBridge::start() {
  simulator_ = std::make_unique<Simulator>(host(), options_);
  if (auto s = simulator_->start(); !s) return s;
  host().reportStatus(sdk::PluginState::Running, "temperature sensors: " + std::to_string(options_.temperatureSensors) +
                                                     ", lights: " + std::to_string(options_.lights));
  return sdk::Status::ok();
}

void SimBridge::stop() {
  if (simulator_) simulator_->stop();
}

Simulator* SimBridge::running(const sdk::Request& request) {
  if (!simulator_) request.fail(GH_ERR_UNAVAILABLE, "the simulator is not started");
  return simulator_.get();
}

void SimBridge::onSet(sdk::Request request, const std::string& provider, const std::string& service,
                      const std::string& resource, const sdk::Value& value) {
  if (auto* sim = running(request)) sim->onSet(request, provider, service, resource, value);
}

void SimBridge::onAct(sdk::Request request, const std::string& provider, const std::string& service,
                      const std::string& resource, const sdk::ActParams& params) {
  if (auto* sim = running(request)) sim->onAct(request, provider, service, resource, params);
}

}  // namespace gatehouse::bridge::sim
