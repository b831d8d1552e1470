// A "counter" device: counter/value goes up by counter/step every interval_ms; counter/step is
// MODIFIABLE (SET changes it); the action counter/reset(to) starts it again.
//
// Threads: configure/start/stop run on the gateway's control thread; onSet/onAct on request
// threads, concurrently with the counting, which runs on the bridge kit's timer thread
// (kit::Timer), so the state sits behind mu_.
//
// The bridge kit (GatehouseSDK::sdk_kit, <gatehouse/kit/...>) has what most bridges need once:
// kit::Timer (timeouts, polling), kit::StateReporter (Running/Degraded for the operator),
// kit::Backoff (reconnect delays), kit::PendingRequests (SET/ACT awaiting a device's answer),
// kit::MqttClient (GatehouseSDK::sdk_kit_mqtt); each header says how to use it.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include <gatehouse/kit/backoff.h>
#include <gatehouse/kit/codec.h>
#include <gatehouse/kit/settings.h>
#include <gatehouse/kit/timer.h>
#include <gatehouse/sdk/plugin.h>

namespace template_bridge {

namespace kit = gatehouse::kit;
namespace sdk = gatehouse::sdk;

// The plugin's settings: a struct and one table (kit/settings.h). The gateway checks an operator's
// `plugins: template_bridge:` block against the table (unknown keys, wrong types, out-of-range
// values stop the start); configure() gets the struct filled in, defaults included.
struct Settings {
  std::int64_t intervalMs = 1000;
  std::string provider = "counter-1";
  std::int64_t step = 1;
};

std::string requireName(const std::string& name) {
  return kit::isValidIdentifier(name) ? std::string() : "must be 1-128 of A-Z a-z 0-9 _ . : - (not '.' or '..')";
}

const kit::SettingsTable<Settings> kSettings{
    kit::setting("interval_ms", &Settings::intervalMs, 1000).range(100, 3600000).doc("Time between two counts."),
    kit::setting("provider", &Settings::provider, "counter-1").check(requireName)
        .doc("Name of the provider the counter appears as."),
    kit::setting("step", &Settings::step, 1).range(1, 1000).doc("First increment; SET counter/step changes it."),
};
// GATEHOUSE_PLUGIN takes the schema as an object of its own.
const sdk::ConfigSchema kSchema = kSettings.schema();

class CounterBridge final : public sdk::Bridge {
 public:
  ~CounterBridge() override { stop(); }

  sdk::Status configure(const sdk::Config& config) override {
    auto settings = kSettings.bind(config);
    if (!settings) return kit::toStatus(settings.error());
    intervalMs_ = settings->intervalMs;
    provider_ = settings->provider;
    step_ = settings->step;
    return sdk::Status::ok();
  }

  sdk::Status start() override {
    sdk::ResourceSpec value;
    value.provider = provider_;
    value.providerModel = "template-counter";
    value.service = "counter";
    value.resource = "value";
    value.kind = sdk::ResourceKind::Sensor;
    value.mutability = sdk::Mutability::Updatable;
    value.type = sdk::ValueType::Long;
    value.description = "Counts up by step every interval";
    if (auto s = host().declareResource(value); !s) return s;

    sdk::ResourceSpec step = value;
    step.resource = "step";
    step.kind = sdk::ResourceKind::StateVariable;
    step.mutability = sdk::Mutability::Modifiable;   // SET reaches onSet()
    step.type = sdk::ValueType::Int;
    step.description = "Increment, 1 to 1000";
    if (auto s = host().declareResource(step); !s) return s;

    sdk::ResourceSpec reset = value;
    reset.resource = "reset";
    reset.kind = sdk::ResourceKind::Action;
    reset.mutability = sdk::Mutability::Modifiable;
    reset.resultType = sdk::ValueType::Long;
    reset.description = "Start again from `to` (default 0)";
    reset.params = {sdk::ActionParam{"to", sdk::ValueType::Long, true, 0.0, 1e15}};
    if (auto s = host().declareResource(reset); !s) return s;

    std::int64_t firstStep = 0, firstCount = 0;
    {
      std::lock_guard lock(mu_);
      firstStep = step_;
      firstCount = count_;
    }
    (void)host().push(provider_, "counter", "step", sdk::Value::ofInt(static_cast<std::int32_t>(firstStep)));
    (void)host().push(provider_, "counter", "value", sdk::Value::ofLong(firstCount));
    // One count per interval on the timer's thread (fixed rate; a late run does not burst).
    timer_.start();
    timer_.schedulePeriodic(std::chrono::milliseconds(intervalMs_), [this] { countOnce(); });
    // A bridge that talks to a peer reports Degraded while it is away; the reporter sends only
    // changes, so a retry loop may report on every attempt.
    state_.attach(host());
    state_.running("counting on " + provider_);
    return sdk::Status::ok();
  }

  void stop() override {
    timer_.stop();   // joins the timer's thread: no host call may follow stop()
  }

  void onSet(sdk::Request request, const std::string& provider, const std::string& service,
             const std::string& resource, const sdk::Value& value) override {
    if (provider != provider_ || service != "counter" || resource != "step") {
      request.fail(GH_ERR_NOT_ALLOWED, "only counter/step can be SET");
      return;
    }
    // The gateway already converted the value to the declared type (Int); check the range.
    const std::int64_t step = value.isNull() ? 0 : value.asInteger();
    if (step < 1 || step > 1000) {
      request.fail(GH_ERR_INVALID_ARGUMENT, "step must be between 1 and 1000");
      return;
    }
    {
      std::lock_guard lock(mu_);
      step_ = step;
    }
    request.complete(value);   // the gateway stores the accepted value
  }

  void onAct(sdk::Request request, const std::string& provider, const std::string& service,
             const std::string& resource, const sdk::ActParams& params) override {
    if (provider != provider_ || service != "counter" || resource != "reset") {
      request.fail(GH_ERR_NOT_FOUND, "no such action: " + service + "/" + resource);
      return;
    }
    std::int64_t to = 0;
    for (const auto& [name, value] : params) {
      if (name == "to" && !value.isNull()) to = value.asInteger();
    }
    {
      std::lock_guard lock(mu_);
      count_ = to;
    }
    (void)host().push(provider_, "counter", "value", sdk::Value::ofLong(to));
    // Answered at once here; a real device would keep `request` (it is copyable) and answer
    // from its I/O thread when the device confirms.
    request.complete(sdk::Value::ofLong(to));
  }

 private:
  void countOnce() {
    std::int64_t now = 0;
    {
      std::lock_guard lock(mu_);
      count_ += step_;
      now = count_;
    }
    (void)host().push(provider_, "counter", "value", sdk::Value::ofLong(now));   // never call out under the lock
  }

  std::int64_t intervalMs_ = 1000;
  std::string provider_;
  std::mutex mu_;   // step_, count_
  std::int64_t step_ = 1;
  std::int64_t count_ = 0;
  kit::StateReporter state_;
  kit::Timer timer_;   // last member: destroyed (and joined) first
};

}  // namespace template_bridge

GATEHOUSE_PLUGIN(template_bridge::CounterBridge, template_bridge::kSchema, "A counter that counts up: the SDK's template");
