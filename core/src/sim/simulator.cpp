#include "sim/simulator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

namespace gatehouse::core::sim {

using model::ActCommand;
using model::ActionParam;
using model::Model;
using model::Mutability;
using model::ResourceDecl;
using model::ResourceKind;
using model::SetCommand;
using model::Value;
using model::ValueType;

namespace {
constexpr const char* kLightService = "light";
constexpr const char* kSensorService = "sensor";
}  // namespace

// Answers SET/ACT for the simulated lights. Device state lives in the model itself.
class Simulator::Handler final : public model::CommandHandler {
 public:
  explicit Handler(Model& model) : model_(model) {}

  void onSet(const SetCommand& cmd, std::function<void(Result<Value>)> done) override {
    if (cmd.service != kLightService || cmd.resource != "brightness") {
      return done(makeError(ErrorCode::NotAllowed, "the simulator does not accept SET on " + cmd.resource));
    }
    const auto b = cmd.value.isNull() ? -1 : cmd.value.asInteger();
    if (b < 0 || b > 100) return done(makeError(ErrorCode::BadRequest, "brightness must be between 0 and 100"));
    (void)model_.push(cmd.provider, kLightService, "status", Value::ofString(b > 0 ? "ON" : "OFF"));
    done(cmd.value);
  }

  void onAct(const ActCommand& cmd, std::function<void(Result<Value>)> done) override {
    if (cmd.service != kLightService) return done(makeError(ErrorCode::NotFound, "no such action"));
    std::int64_t brightness = -1;
    if (cmd.resource == "turn_on") {
      brightness = lastOn(cmd.provider);
    } else if (cmd.resource == "turn_off") {
      brightness = 0;
    } else if (cmd.resource == "dim") {
      brightness = cmd.params.at(0).value.asInteger();   // declared, required and range-checked by the model
    } else {
      return done(makeError(ErrorCode::NotFound, "no such action: " + cmd.resource));
    }
    if (brightness > 0) remember(cmd.provider, brightness);
    const char* status = brightness > 0 ? "ON" : "OFF";
    (void)model_.push(cmd.provider, kLightService, "brightness", Value::ofInt(static_cast<std::int32_t>(brightness)));
    (void)model_.push(cmd.provider, kLightService, "status", Value::ofString(status));
    done(Value::ofString(status));
  }

 private:
  std::int64_t lastOn(const std::string& provider) {
    std::lock_guard lock(mu_);
    auto it = lastOn_.find(provider);
    return it == lastOn_.end() ? 100 : it->second;
  }
  void remember(const std::string& provider, std::int64_t b) {
    std::lock_guard lock(mu_);
    lastOn_[provider] = b;
  }

  Model& model_;
  std::mutex mu_;
  std::unordered_map<std::string, std::int64_t> lastOn_;
};

Simulator::Simulator(Model& model, SimulatorOptions options)
    : model_(model), options_(std::move(options)), handler_(std::make_shared<Handler>(model)) {
  rng_ = options_.seed != 0 ? options_.seed : std::random_device{}();
}

Simulator::~Simulator() { stop(); }

std::string Simulator::temperatureProvider(const SimulatorOptions& o, int index) {
  return o.providerPrefix + "-temperature-" + std::to_string(index);
}

std::string Simulator::lightProvider(const SimulatorOptions& o, int index) {
  return o.providerPrefix + "-light-" + std::to_string(index);
}

Result<void> Simulator::start() {
  model_.registerOwner(kOwnerName, handler_);
  std::mt19937 gen(rng_);
  std::uniform_real_distribution<double> start(18.0, 24.0);
  for (int i = 1; i <= options_.temperatureSensors; ++i) {
    const auto p = temperatureProvider(options_, i);
    ResourceDecl d;
    d.provider = p;
    d.service = kSensorService;
    d.resource = "temperature";
    d.kind = ResourceKind::Sensor;
    d.mutability = Mutability::Updatable;
    d.type = ValueType::Double;
    d.unit = "°C";
    d.description = "Simulated air temperature, drifting slowly";
    d.owner = kOwnerName;
    d.model = "simulated-temperature-sensor";
    if (auto ok = model_.declareResource(d); !ok) return ok;
    (void)model_.push(p, "admin", "friendlyName", Value::ofString("Temperature sensor " + std::to_string(i)));
    temperatures_.push_back(std::round(start(gen) * 100.0) / 100.0);
    (void)model_.push(p, kSensorService, "temperature", Value::ofDouble(temperatures_.back()));
  }
  for (int i = 1; i <= options_.lights; ++i) {
    const auto p = lightProvider(options_, i);
    ResourceDecl d;
    d.provider = p;
    d.owner = kOwnerName;
    d.model = "simulated-light";
    d.service = kLightService;
    d.resource = "status";
    d.kind = ResourceKind::StateVariable;
    d.mutability = Mutability::Updatable;
    d.type = ValueType::String;
    d.description = "ON or OFF";
    if (auto ok = model_.declareResource(d); !ok) return ok;
    d.resource = "brightness";
    d.mutability = Mutability::Modifiable;
    d.type = ValueType::Int;
    d.unit = "%";
    d.description = "0 (off) to 100";
    if (auto ok = model_.declareResource(d); !ok) return ok;
    d.kind = ResourceKind::Action;
    d.unit.clear();
    d.resultType = ValueType::String;
    d.resource = "turn_on";
    d.description = "Switch on at the last brightness";
    if (auto ok = model_.declareResource(d); !ok) return ok;
    d.resource = "turn_off";
    d.description = "Switch off";
    if (auto ok = model_.declareResource(d); !ok) return ok;
    d.resource = "dim";
    d.description = "Set the brightness (0 switches off)";
    d.params = {ActionParam{"brightness", ValueType::Int, false, 0.0, 100.0}};
    if (auto ok = model_.declareResource(d); !ok) return ok;
    (void)model_.push(p, "admin", "friendlyName", Value::ofString("Light " + std::to_string(i)));
    (void)model_.push(p, kLightService, "status", Value::ofString("OFF"));
    (void)model_.push(p, kLightService, "brightness", Value::ofInt(0));
  }
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
  return {};
}

void Simulator::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  model_.unregisterOwner(kOwnerName);
}

void Simulator::run() {
  std::unique_lock lock(mu_);
  const auto interval = std::chrono::milliseconds(std::max(1, options_.intervalMs));
  auto next = std::chrono::steady_clock::now() + interval;
  while (!cv_.wait_until(lock, next, [this] { return stopping_; })) {
    lock.unlock();
    tick();
    lock.lock();
    next += interval;
    const auto now = std::chrono::steady_clock::now();
    if (next < now) next = now + interval;   // fell behind: do not burst
  }
}

void Simulator::tick() {
  std::mt19937 gen(rng_);
  rng_ = gen();
  std::normal_distribution<double> step(0.0, 0.15);
  for (std::size_t i = 0; i < temperatures_.size(); ++i) {
    // Random walk pulled gently back towards 21 °C so it drifts but stays plausible.
    double& t = temperatures_[i];
    t += step(gen) + (21.0 - t) * 0.02;
    t = std::round(t * 100.0) / 100.0;
    (void)model_.push(temperatureProvider(options_, static_cast<int>(i) + 1), kSensorService, "temperature",
                      Value::ofDouble(t));
  }
}

}  // namespace gatehouse::core::sim
