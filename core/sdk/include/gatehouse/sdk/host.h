#pragma once
// gatehouse::sdk::Host: the plugin's handle on the gateway, wrapping (gh_host*, gh_host_api*).
//
// Threads: every method may be called from any thread, concurrently, between create and destroy
// (the ABI's rule); after Bridge::stop() returns, stop calling it (join your threads in stop()).
// A Host is two pointers: copy it freely (into your I/O threads, lambdas, device objects).
//
// Errors: methods that can fail return a Status whose message says what was attempted and the
// host's reason (gh_host_api.last_error). A member the host does not provide (an older host, or
// an unbound Host) gives GH_ERR_UNAVAILABLE rather than a crash.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gatehouse/sdk/abi.h"
#include "gatehouse/sdk/status.h"
#include "gatehouse/sdk/value.h"

namespace gatehouse::sdk {

enum class ResourceKind : std::uint32_t {
  Sensor = GH_KIND_SENSOR,
  StateVariable = GH_KIND_STATE_VARIABLE,
  Property = GH_KIND_PROPERTY,
  Action = GH_KIND_ACTION,
};

enum class Mutability : std::uint32_t {
  Modifiable = GH_MUTABILITY_MODIFIABLE,   // SET reaches the plugin's Bridge::onSet
  Updatable = GH_MUTABILITY_UPDATABLE,     // only the plugin pushes
  Fixed = GH_MUTABILITY_FIXED,
};

enum class LogLevel : std::uint32_t {
  Trace = GH_LOG_TRACE,
  Debug = GH_LOG_DEBUG,
  Info = GH_LOG_INFO,
  Warn = GH_LOG_WARN,
  Error = GH_LOG_ERROR,
};

enum class PluginState : std::uint32_t {
  Running = GH_STATE_RUNNING,
  Degraded = GH_STATE_DEGRADED,   // e.g. the broker is unreachable; retrying
  Failed = GH_STATE_FAILED,       // gave up
};

// One parameter of an ACTION. The host checks presence, type and bounds before onAct is called.
struct ActionParam {
  std::string name;
  ValueType type = ValueType::Int;
  bool optional = false;
  std::optional<double> min;   // numeric bounds (inclusive)
  std::optional<double> max;
};

// What declareResource() creates. Names are identifiers [A-Za-z0-9_.:-]{1,128} (the host checks).
struct ResourceSpec {
  std::string provider;
  std::string service;
  std::string resource;
  ResourceKind kind = ResourceKind::Sensor;
  Mutability mutability = Mutability::Updatable;
  ValueType type = ValueType::String;   // of the value; ignored for actions
  std::string unit;                     // "" for none
  std::string description;              // "" for none
  std::vector<ActionParam> params;      // actions only, in the order onAct receives them
  ValueType resultType = ValueType::String;   // actions only: what onAct answers with
  std::string providerModel;            // model name for a provider created by this call; "" for none
};

class Host {
 public:
  Host() = default;   // unbound: every call returns GH_ERR_UNAVAILABLE
  // Both pointers are borrowed; the host keeps them valid until the plugin is destroyed.
  Host(gh_host* host, const gh_host_api* api) noexcept : host_(host), api_(api) {}

  bool isBound() const noexcept { return host_ != nullptr && api_ != nullptr; }
  gh_host* handle() const noexcept { return host_; }
  const gh_host_api* api() const noexcept { return api_; }

  // Creates the provider (with its admin service) when missing; idempotent.
  Status declareProvider(const std::string& provider, const std::string& model = "") const;
  // Creates or redefines a resource (and its provider/service); this plugin answers its SET/ACT.
  Status declareResource(const ResourceSpec& spec) const;
  // Stores a new value. timestampMs: ms since the Unix epoch, 0 = now. Cheap; never blocks on
  // slow subscribers. Unknown names become SENSOR resources of the value's type.
  Status push(const std::string& provider, const std::string& service, const std::string& resource,
              const Value& value, std::int64_t timestampMs = 0) const;
  Status setMetadata(const std::string& provider, const std::string& service,
                     const std::string& resource, const std::string& key, const Value& value,
                     std::int64_t timestampMs = 0) const;
  // Removes a provider this plugin declared, with everything under it.
  Status removeProvider(const std::string& provider) const;

  // Shown by GET /sensinact/runtime/plugins. Best effort: ignored by a host without it.
  void reportStatus(PluginState state, const std::string& message) const;
  // One line in the gateway log, attributed to the plugin. Never log secrets or payloads.
  void log(LogLevel level, const std::string& message) const;
  void trace(const std::string& message) const { log(LogLevel::Trace, message); }
  void debug(const std::string& message) const { log(LogLevel::Debug, message); }
  void info(const std::string& message) const { log(LogLevel::Info, message); }
  void warn(const std::string& message) const { log(LogLevel::Warn, message); }
  void error(const std::string& message) const { log(LogLevel::Error, message); }

  // Answers a SET/ACT. Plugins use Request instead, which guarantees exactly one answer.
  void complete(gh_request_id request, gh_status status, const Value* result,
                const std::string& message) const;

 private:
  // "<what>: <last_error>" for a failed call (the host's text, or the code's name).
  Status failure(gh_status code, const std::string& what) const;

  gh_host* host_ = nullptr;
  const gh_host_api* api_ = nullptr;
};

}  // namespace gatehouse::sdk
