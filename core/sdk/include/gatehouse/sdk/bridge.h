#pragma once
// gatehouse::sdk::Bridge: what a bridge plugin author subclasses. The adapter (plugin.h's
// GATEHOUSE_PLUGIN macro) turns the subclass into the C descriptor of abi.h; nothing C++ crosses
// the ABI, and every exception a callback throws is caught by the adapter and becomes a failed
// call or a failed request with the exception's message.
//
// Threads (abi.h's rule, restated for the C++ side):
//   - the constructor, configure(), start(), stop() and the destructor run on the host's control
//     thread, one at a time, in that order: configure() at most once before start(); stop() only
//     after a successful start(); the destructor always, even after a failed configure/start;
//   - onSet()/onAct() run on host request threads, possibly several at once, only between a
//     successful start() and stop(); they must not block: keep the Request and answer later;
//   - host() may be used from any thread, including your own I/O threads, from configure() until
//     stop() returns (not in the constructor: the Host is attached right after it);
//   - after stop() returns nothing may call the host: join your threads in stop().

#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "gatehouse/sdk/abi.h"
#include "gatehouse/sdk/config.h"
#include "gatehouse/sdk/host.h"
#include "gatehouse/sdk/request.h"
#include "gatehouse/sdk/status.h"
#include "gatehouse/sdk/value.h"

namespace gatehouse::sdk {

// ACT parameters, validated by the host and in the declared order.
using ActParams = std::vector<std::pair<std::string, Value>>;

namespace detail {
struct Access;
}

class Bridge {
 public:
  virtual ~Bridge() = default;
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  // Receives the validated config block. Default: accepts it (a plugin without settings).
  virtual Status configure(const Config& config);
  // Declares devices and starts the plugin's threads; may block a few seconds at most. Connect to
  // remote peers asynchronously and report PluginState::Degraded while retrying.
  virtual Status start() = 0;
  // Stops and joins every thread of the plugin. No host call may follow.
  virtual void stop() = 0;
  // SET on a MODIFIABLE resource this plugin declared; value already has the declared type.
  // Default: fails GH_ERR_NOT_ALLOWED.
  virtual void onSet(Request request, const std::string& provider, const std::string& service,
                     const std::string& resource, const Value& value);
  // ACT on an ACTION resource this plugin declared. Default: fails GH_ERR_NOT_ALLOWED.
  virtual void onAct(Request request, const std::string& provider, const std::string& service,
                     const std::string& resource, const ActParams& params);

  Host& host() noexcept { return host_; }
  const Host& host() const noexcept { return host_; }

 protected:
  Bridge() = default;

 private:
  friend struct detail::Access;
  Host host_;
};

// The adapter behind GATEHOUSE_PLUGIN (plugin.h). Not for plugin code, but public so that a
// plugin's unit tests can build the descriptor of their Bridge without the macro.
namespace detail {

struct Access {
  static void attach(Bridge& bridge, Host host) noexcept { bridge.host_ = host; }
};

// Writes msg into err (NUL-terminated, truncated to capacity on a UTF-8 boundary).
void writeError(char* err, std::size_t capacity, std::string_view msg) noexcept;

using BridgeFactory = Bridge* (*)();
gh_plugin* createInstance(BridgeFactory factory, const ConfigSchema* schema, gh_host* host,
                          const gh_host_api* api, char* err, std::size_t capacity) noexcept;
gh_status configureInstance(gh_plugin* plugin, const gh_config_entry* entries, std::size_t count,
                            char* err, std::size_t capacity) noexcept;
gh_status startInstance(gh_plugin* plugin, char* err, std::size_t capacity) noexcept;
void stopInstance(gh_plugin* plugin) noexcept;
void destroyInstance(gh_plugin* plugin) noexcept;
void setOnInstance(gh_plugin* plugin, gh_request_id request, const char* provider,
                   const char* service, const char* resource, const gh_value* value) noexcept;
void actOnInstance(gh_plugin* plugin, gh_request_id request, const char* provider,
                   const char* service, const char* resource, const gh_named_value* params,
                   std::size_t count) noexcept;

template <typename T>
Bridge* makeBridge() {
  return new T();
}

template <typename T, const ConfigSchema* Schema>
gh_plugin* createTrampoline(gh_host* host, const gh_host_api* api, char* err, std::size_t capacity) noexcept {
  return createInstance(&makeBridge<T>, Schema, host, api, err, capacity);
}

// The descriptor of bridge class T with config table *Schema (an object with static storage).
template <typename T, const ConfigSchema* Schema>
gh_plugin_descriptor makeDescriptor(const char* name, const char* version, const char* description) noexcept {
  static_assert(std::is_base_of_v<Bridge, T>, "GATEHOUSE_PLUGIN: the class must derive from gatehouse::sdk::Bridge");
  static_assert(std::is_default_constructible_v<T>, "GATEHOUSE_PLUGIN: the bridge class needs a default constructor");
  gh_plugin_descriptor d{};
  d.abi_major = GH_ABI_MAJOR;
  d.abi_minor = GH_ABI_MINOR;
  d.struct_size = sizeof(gh_plugin_descriptor);
  d.kind = GH_PLUGIN_KIND_BRIDGE;
  d.name = name;
  d.version = version;
  d.description = description;
  d.config_fields = Schema->data();
  d.config_field_count = Schema->size();
  d.create = &createTrampoline<T, Schema>;
  d.configure = &configureInstance;
  d.start = &startInstance;
  d.stop = &stopInstance;
  d.destroy = &destroyInstance;
  d.set = &setOnInstance;
  d.act = &actOnInstance;
  return d;
}

}  // namespace detail
}  // namespace gatehouse::sdk
