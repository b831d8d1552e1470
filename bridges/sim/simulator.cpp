#include "simulator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

namespace gatehouse::bridge::sim {

using sdk::ActionParam;
using sdk::Mutability;
using sdk::ResourceKind;
using sdk::ResourceSpec;
using sdk::Status;
using sdk::Value;
using sdk::ValueType;

namespace {

constexpr const char* kLightService = "light";
constexpr const char* kSensorService = "sensor";
constexpr std::int64_t kMaxBrightness = 100;

bool isIdentifier(const std::string& s) {
  if (s.empty() || s.size() > 128) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == ':' || c == '-';
  });
}

double round2(double v) { return std::round(v * 100.0) / 100.0; }

}  // namespace

Status validate(const SimulatorOptions& o) {
  if (o.temperatureSensors < 0 || o.temperatureSensors > 10000) {
    return Status::invalidArgument("temperature_sensors must be between 0 and 10000, found " + std::to_string(o.temperatureSensors));
  }
  if (o.lights < 0 || o.lights > 10000) {
    return Status::invalidArgument("lights must be between 0 and 10000, found " + std::to_string(o.lights));
  }
  if (o.intervalMs < 10 || o.intervalMs > 3600000) {
    return Status::invalidArgument("interval_ms must be between 10 and 3600000, found " + std::to_string(o.intervalMs));
  }
  if (!isIdentifier(o.providerPrefix)) {
    return Status::invalidArgument("provider_prefix must be 1-128 of A-Z a-z 0-9 _ . : -, found \"" + o.providerPrefix + "\"");
  }
  return Status::ok();
}

Simulator::Simulator(sdk::Host host, SimulatorOptions options) : host_(host), options_(std::move(options)) {
  rng_ = options_.seed != 0 ? options_.seed : std::random_device{}();
}

Simulator::~Simulator() { stop(); }

std::string Simulator::temperatureProvider(const SimulatorOptions& o, int index) {
  return o.providerPrefix + "-temperature-" + std::to_string(index);
}

std::string Simulator::lightProvider(const SimulatorOptions& o, int index) {
  return o.providerPrefix + "-light-" + std::to_string(index);
}

Status Simulator::declareTemperatureSensor(int index, double first) {
  const auto p = temperatureProvider(options_, index);
  ResourceSpec d;
  d.provider = p;
  d.service = kSensorService;
  d.resource = "temperature";
  d.kind = ResourceKind::Sensor;
  d.mutability = Mutability::Updatable;
  d.type = ValueType::Double;
  d.unit = "°C";
  d.description = "Simulated air temperature, drifting slowly";
  d.providerModel = "simulated-temperature-sensor";
  if (auto s = host_.declareResource(d); !s) return s;
  (void)host_.push(p, "admin", "friendlyName", Value::ofString("Temperature sensor " + std::to_string(index)));
  (void)host_.push(p, kSensorService, "temperature", Value::ofDouble(first));
  return Status::ok();
}

Status Simulator::declareLight(int index) {
  const auto p = lightProvider(options_, index);
  ResourceSpec d;
  d.provider = p;
  d.providerModel = "simulated-light";
  d.service = kLightService;
  d.resource = "status";
  d.kind = ResourceKind::StateVariable;
  d.mutability = Mutability::Updatable;
  d.type = ValueType::String;
  d.description = "ON or OFF";
  if (auto s = host_.declareResource(d); !s) return s;
  d.resource = "brightness";
  d.mutability = Mutability::Modifiable;
  d.type = ValueType::Int;
  d.unit = "%";
  d.description = "0 (off) to 100";
  if (auto s = host_.declareResource(d); !s) return s;
  d.kind = ResourceKind::Action;
  d.unit.clear();
  d.resultType = ValueType::String;
  d.resource = "turn_on";
  d.description = "Switch on at the last brightness";
  if (auto s = host_.declareResource(d); !s) return s;
  d.resource = "turn_off";
  d.description = "Switch off";
  if (auto s = host_.declareResource(d); !s) return s;
  d.resource = "dim";
  d.description = "Set the brightness (0 switches off)";
  d.params = {ActionParam{"brightness", ValueType::Int, false, 0.0, static_cast<double>(kMaxBrightness)}};
  if (auto s = host_.declareResource(d); !s) return s;
  (void)host_.push(p, "admin", "friendlyName", Value::ofString("Light " + std::to_string(index)));
  (void)host_.push(p, kLightService, "status", Value::ofString("OFF"));
  (void)host_.push(p, kLightService, "brightness", Value::ofInt(0));
  return Status::ok();
}

Status Simulator::start() {
  if (auto s = validate(options_); !s) return s;
  std::vector<double> first;
  {
    std::lock_guard lock(stateMu_);
    std::mt19937 gen(rng_);
    std::uniform_real_distribution<double> start(18.0, 24.0);
    for (int i = 1; i <= options_.temperatureSensors; ++i) first.push_back(round2(start(gen)));
    rng_ = gen();
    temperatures_ = first;
  }
  for (int i = 1; i <= options_.temperatureSensors; ++i) {
    if (auto s = declareTemperatureSensor(i, first[static_cast<std::size_t>(i - 1)]); !s) return s;
  }
  for (int i = 1; i <= options_.lights; ++i) {
    if (auto s = declareLight(i); !s) return s;
  }
  // Fixed rate; a reading that fell behind is skipped, not made up in a burst (kit::Timer).
  timer_.start();
  timer_.schedulePeriodic(std::chrono::milliseconds(std::max(1, options_.intervalMs)), [this] { tick(); });
  return Status::ok();
}

void Simulator::stop() { timer_.stop(); }

void Simulator::tick() {
  std::vector<double> now;
  {
    std::lock_guard lock(stateMu_);
    std::mt19937 gen(rng_);
    rng_ = gen();
    std::normal_distribution<double> step(0.0, 0.15);
    for (double& t : temperatures_) {
      // Random walk pulled gently back towards 21 °C so it drifts but stays plausible.
      t = round2(t + step(gen) + (21.0 - t) * 0.02);
    }
    now = temperatures_;
  }
  // Pushed outside the lock: never call out while holding it.
  for (std::size_t i = 0; i < now.size(); ++i) {
    (void)host_.push(temperatureProvider(options_, static_cast<int>(i) + 1), kSensorService, "temperature",
                     Value::ofDouble(now[i]));
  }
}

std::vector<double> Simulator::temperatures() const {
  std::lock_guard lock(stateMu_);
  return temperatures_;
}

bool Simulator::isLight(const std::string& provider) const {
  const std::string prefix = options_.providerPrefix + "-light-";
  if (provider.size() <= prefix.size() || provider.compare(0, prefix.size(), prefix) != 0) return false;
  const std::string n = provider.substr(prefix.size());
  if (n.size() > 5 || n.front() == '0' || !std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  const int index = std::stoi(n);
  return index >= 1 && index <= options_.lights;
}

void Simulator::setLight(const std::string& provider, std::int64_t brightness) {
  (void)host_.push(provider, kLightService, "brightness", Value::ofInt(static_cast<std::int32_t>(brightness)));
  (void)host_.push(provider, kLightService, "status", Value::ofString(brightness > 0 ? "ON" : "OFF"));
}

void Simulator::onSet(const sdk::Request& request, const std::string& provider, const std::string& service,
                      const std::string& resource, const Value& value) {
  if (service != kLightService || resource != "brightness") {
    request.fail(GH_ERR_NOT_ALLOWED, "the simulator does not accept SET on " + service + "/" + resource);
    return;
  }
  if (!isLight(provider)) {
    request.fail(GH_ERR_NOT_FOUND, "no simulated light " + provider);
    return;
  }
  const bool integral = !value.isNull() && (value.type() == ValueType::Int || value.type() == ValueType::Long);
  const std::int64_t b = integral ? value.asInteger() : -1;
  if (b < 0 || b > kMaxBrightness) {
    request.fail(GH_ERR_INVALID_ARGUMENT, "brightness must be between 0 and 100");
    return;
  }
  // The host stores the accepted value as the new brightness; the status follows it.
  (void)host_.push(provider, kLightService, "status", Value::ofString(b > 0 ? "ON" : "OFF"));
  request.complete(Value::ofInt(static_cast<std::int32_t>(b)));
}

void Simulator::onAct(const sdk::Request& request, const std::string& provider, const std::string& service,
                      const std::string& resource, const sdk::ActParams& params) {
  if (service != kLightService) {
    request.fail(GH_ERR_NOT_FOUND, "no such action: " + service + "/" + resource);
    return;
  }
  if (!isLight(provider)) {
    request.fail(GH_ERR_NOT_FOUND, "no simulated light " + provider);
    return;
  }
  std::int64_t brightness = -1;
  if (resource == "turn_on") {
    std::lock_guard lock(stateMu_);
    auto it = lastOn_.find(provider);
    brightness = it == lastOn_.end() ? kMaxBrightness : it->second;
  } else if (resource == "turn_off") {
    brightness = 0;
  } else if (resource == "dim") {
    // The host checks declared parameters, but this code does not rely on it.
    auto it = std::find_if(params.begin(), params.end(), [](const auto& p) { return p.first == "brightness"; });
    if (it == params.end() || it->second.isNull() ||
        (it->second.type() != ValueType::Int && it->second.type() != ValueType::Long)) {
      request.fail(GH_ERR_INVALID_ARGUMENT, "dim needs the integer parameter brightness (0 to 100)");
      return;
    }
    brightness = it->second.asInteger();
    if (brightness < 0 || brightness > kMaxBrightness) {
      request.fail(GH_ERR_INVALID_ARGUMENT, "brightness must be between 0 and 100, found " + std::to_string(brightness));
      return;
    }
  } else {
    request.fail(GH_ERR_NOT_FOUND, "no such action: " + resource);
    return;
  }
  if (brightness > 0) {
    std::lock_guard lock(stateMu_);
    lastOn_[provider] = brightness;
  }
  setLight(provider, brightness);
  request.complete(Value::ofString(brightness > 0 ? "ON" : "OFF"));
}

}  // namespace gatehouse::bridge::sim
