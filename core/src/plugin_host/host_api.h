#pragma once
// The host side of the plugin ABI: the gh_host handle given to one plugin instance, the
// gh_host_api table, value conversions, and the model::CommandHandler that routes SET/ACT to the
// plugin. Internal to the plugin host.
//
// Threads: the gh_host_api functions are called by plugins from any thread; they only touch
// the model (thread-safe) and this handle's own state (under its mutex or atomics).

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "gatehouse/sdk/abi.h"
#include "model/model.h"

struct gh_host {
  gatehouse::core::model::Model* model = nullptr;
  std::string plugin;   // the plugin's name, for logs
  std::string owner;    // the owner name its resources are declared under
  const gh_plugin_descriptor* descriptor = nullptr;
  gh_plugin* instance = nullptr;   // set once create returned

  // False once the plugin was stopped: later calls are ignored.
  std::atomic<bool> active{true};
  // True once the plugin crashed inside a guarded call: none of its code runs again.
  std::atomic<bool> crashed{false};

  // Providers this plugin created, removed with it and handed over to its next version.
  mutable std::shared_mutex providersMu;
  std::set<std::string, std::less<>> providers;

  std::mutex mu;   // guards what follows
  std::unordered_map<std::uint64_t, std::function<void(gatehouse::core::Result<gatehouse::core::model::Value>)>> pending;
  std::uint32_t health = 0;   // GH_STATE_*; 0 = nothing reported yet
  std::string healthMessage;

  std::atomic<std::uint64_t> nextRequest{1};
};

namespace gatehouse::core::plugin_host {

// The table every plugin instance receives.
const gh_host_api* hostApi() noexcept;

// Conversions between the ABI's values and the model's.
Result<model::Value> fromAbi(const gh_value& value);
// `out` borrows from `value`: keep `value` alive while `out` is used.
void toAbi(const model::Value& value, gh_value& out) noexcept;
std::uint32_t toAbiType(model::ValueType type) noexcept;
std::optional<model::ValueType> fromAbiType(std::uint32_t type) noexcept;

// Routes the model's SET/ACT for `host->owner` to the plugin.
std::shared_ptr<model::CommandHandler> makeCommandHandler(std::shared_ptr<gh_host> host);

// Stops delivery to the plugin and fails every request it has not answered (Unavailable).
void deactivate(gh_host& host, const std::string& why);

// Strips control characters (a plugin must not forge log lines) and caps the length.
std::string sanitizeText(const char* text, std::size_t maxLength);

}  // namespace gatehouse::core::plugin_host
