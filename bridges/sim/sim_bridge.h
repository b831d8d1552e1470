#pragma once
// SimBridge: the simulator (simulator.h) as a Gatehouse bridge plugin, and its config table.
//
//   plugins:
//     sim:
//       temperature_sensors: 1   # 0..10000
//       lights: 1                # 0..10000
//       interval_ms: 1000        # 10..3600000
//       provider_prefix: sim     # [A-Za-z0-9_.:-]{1,128}
//       seed: 0                  # 0 = random
//
// Threads: as sdk::Bridge (bridge.h).

#include <memory>

#include <gatehouse/sdk/bridge.h>

#include "simulator.h"

namespace gatehouse::bridge::sim {

extern const sdk::ConfigSchema kSimConfigSchema;

class SimBridge final : public sdk::Bridge {
 public:
  SimBridge() = default;
  ~SimBridge() override;

  sdk::Status configure(const sdk::Config& config) override;
  sdk::Status start() override;
  void stop() override;
  void onSet(sdk::Request request, const std::string& provider, const std::string& service,
             const std::string& resource, const sdk::Value& value) override;
  void onAct(sdk::Request request, const std::string& provider, const std::string& service,
             const std::string& resource, const sdk::ActParams& params) override;

  const SimulatorOptions& options() const noexcept { return options_; }

 private:
  // The simulator, or nullptr after failing the request "not started".
  Simulator* running(const sdk::Request& request);

  SimulatorOptions options_;
  // Made by start(), kept until destruction so a late request never sees it vanish.
  std::unique_ptr<Simulator> simulator_;
};

}  // namespace gatehouse::bridge::sim
