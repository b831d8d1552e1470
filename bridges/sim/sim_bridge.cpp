#include "sim_bridge.h"

#include "gatehouse/kit/settings.h"

namespace gatehouse::bridge::sim {

namespace {

// One table binds the operator's block to SimulatorOptions (kit/settings.h); the identifier rule
// of provider_prefix is a check of the table, so configure() has nothing left to look up.
const kit::SettingsTable<SimulatorOptions> kSimSettings{
    kit::setting("temperature_sensors", &SimulatorOptions::temperatureSensors, 1).range(0, 10000)
        .doc("Simulated temperature sensor providers."),
    kit::setting("lights", &SimulatorOptions::lights, 1).range(0, 10000).doc("Simulated switchable light providers."),
    kit::setting("interval_ms", &SimulatorOptions::intervalMs, 1000).range(10, 3600000)
        .doc("Interval between simulated readings."),
    kit::setting("provider_prefix", &SimulatorOptions::providerPrefix, "sim")
        .doc("Start of the simulated providers' names: 1-128 of A-Z a-z 0-9 _ . : -."),
    kit::setting("seed", &SimulatorOptions::seed, 0).doc("Seed of the simulated readings; 0 picks a random one."),
};

}  // namespace

const sdk::ConfigSchema kSimConfigSchema = kSimSettings.schema();

SimBridge::~SimBridge() {
  if (simulator_) simulator_->stop();
}

sdk::Status SimBridge::configure(const sdk::Config& config) {
  auto o = kSimSettings.bind(config);
  if (!o) return kit::toStatus(o.error());
  // The name rule of provider_prefix (and the ranges again, cheaply) is the simulator's own check.
  if (auto s = validate(*o); !s) return s;
  options_ = std::move(*o);
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
