// The adapter between the C descriptor (abi.h) and gatehouse::sdk::Bridge. Every function here is
// called by the host through a C function pointer, so none may let an exception escape: each one
// catches everything and turns it into a status + message, a failed request, or a log line.

#include "gatehouse/sdk/bridge.h"

#include <cstddef>
#include <cstring>
#include <exception>
#include <memory>

namespace gatehouse::sdk {

Status Bridge::configure(const Config&) { return Status::ok(); }

void Bridge::onSet(Request request, const std::string& provider, const std::string& service,
                   const std::string& resource, const Value&) {
  request.fail(GH_ERR_NOT_ALLOWED, "this plugin does not accept SET on " + provider + "/" + service + "/" + resource);
}

void Bridge::onAct(Request request, const std::string& provider, const std::string& service,
                   const std::string& resource, const ActParams&) {
  request.fail(GH_ERR_NOT_ALLOWED, "this plugin has no action " + provider + "/" + service + "/" + resource);
}

namespace detail {

namespace {

Bridge* bridgeOf(gh_plugin* plugin) noexcept { return reinterpret_cast<Bridge*>(plugin); }

std::string str(const char* s) { return s == nullptr ? std::string() : std::string(s); }

// Writes a Status (or, for an OK-looking failure, a generic text) into the host's buffer.
gh_status reportFailure(const Status& status, char* err, std::size_t capacity) noexcept {
  const gh_status code = status.isOk() ? GH_ERR_INTERNAL : status.code();
  if (status.message().empty()) {
    try {
      writeError(err, capacity, statusName(code));
    } catch (...) {
      writeError(err, capacity, "failed");
    }
  } else {
    writeError(err, capacity, status.message());
  }
  return code;
}

// The message of the exception being handled, for "<where> threw an exception: <what>".
std::string describeCurrentException(const char* where) {
  try {
    throw;
  } catch (const std::exception& e) {
    return std::string(where) + " threw an exception: " + e.what();
  } catch (...) {
    return std::string(where) + " threw an unknown exception";
  }
}

// Called inside a catch block: writes "<where> threw an exception: <what>" into err, without
// letting a second exception (out of memory while building the text) escape.
void reportException(const char* where, char* err, std::size_t capacity) noexcept {
  try {
    writeError(err, capacity, describeCurrentException(where));
  } catch (...) {
    writeError(err, capacity, "the plugin threw an exception");
  }
}

// Runs a Bridge callback returning a Status for a C caller: a failure or an exception becomes a
// gh_status plus a message in err.
template <typename F>
gh_status callGuarded(const char* where, char* err, std::size_t capacity, F&& call) noexcept {
  try {
    const Status s = call();
    return s.isOk() ? GH_OK : reportFailure(s, err, capacity);
  } catch (...) {
    reportException(where, err, capacity);
    return GH_ERR_INTERNAL;
  }
}

// Last resort when even building a Request failed (out of memory): answer with a fixed text.
void failDirect(Bridge* bridge, gh_request_id id, const char* message) noexcept {
  const gh_host_api* api = bridge->host().api();
  if (api != nullptr && api->struct_size >= offsetof(gh_host_api, complete) + sizeof(api->complete) &&
      api->complete != nullptr) {
    api->complete(bridge->host().handle(), id, GH_ERR_INTERNAL, nullptr, message);
  }
}

// Runs a SET/ACT handler with the Request of `id`. An exception fails the request (ignored when
// it was already answered); if even the Request cannot be made, the request fails with a fixed text.
template <typename F>
void answerGuarded(Bridge* bridge, gh_request_id id, const char* where, F&& handle) noexcept {
  try {
    Request req(bridge->host(), id);
    try {
      handle(req);
    } catch (...) {
      req.fail(GH_ERR_INTERNAL, describeCurrentException(where));
    }
  } catch (...) {
    failDirect(bridge, id, "the plugin failed to handle the request (out of memory?)");
  }
}

}  // namespace

void writeError(char* err, std::size_t capacity, std::string_view msg) noexcept {
  if (err == nullptr || capacity == 0) return;
  std::size_t n = msg.size() < capacity - 1 ? msg.size() : capacity - 1;
  if (n < msg.size()) {
    // Do not cut a UTF-8 sequence in half: back up to the start of the character that did not fit.
    while (n > 0 && (static_cast<unsigned char>(msg[n]) & 0xC0) == 0x80) --n;
  }
  std::memcpy(err, msg.data(), n);
  err[n] = '\0';
}

gh_plugin* createInstance(BridgeFactory factory, const ConfigSchema* schema, gh_host* host, const gh_host_api* api,
                          char* err, std::size_t capacity) noexcept {
  if (api == nullptr) {
    writeError(err, capacity, "create: the host passed no callback table");
    return nullptr;
  }
  if (schema != nullptr && !schema->check().isOk()) {
    reportFailure(schema->check(), err, capacity);
    return nullptr;
  }
  try {
    std::unique_ptr<Bridge> bridge(factory());
    if (!bridge) {
      writeError(err, capacity, "create: the plugin made no instance");
      return nullptr;
    }
    Access::attach(*bridge, Host(host, api));
    return reinterpret_cast<gh_plugin*>(bridge.release());
  } catch (...) {
    reportException("the plugin's constructor", err, capacity);
    return nullptr;
  }
}

gh_status configureInstance(gh_plugin* plugin, const gh_config_entry* entries, std::size_t count, char* err,
                            std::size_t capacity) noexcept {
  if (plugin == nullptr) return reportFailure(Status::internal("configure: no plugin instance"), err, capacity);
  return callGuarded("configure()", err, capacity, [&] {
    std::string why;
    auto config = Config::fromC(entries, count, &why);
    if (!config) return Status::invalidArgument("configure: malformed config from the host: " + why);
    return bridgeOf(plugin)->configure(*config);
  });
}

gh_status startInstance(gh_plugin* plugin, char* err, std::size_t capacity) noexcept {
  if (plugin == nullptr) return reportFailure(Status::internal("start: no plugin instance"), err, capacity);
  return callGuarded("start()", err, capacity, [&] { return bridgeOf(plugin)->start(); });
}

void stopInstance(gh_plugin* plugin) noexcept {
  if (plugin == nullptr) return;
  Bridge* bridge = bridgeOf(plugin);
  try {
    bridge->stop();
  } catch (...) {
    // stop() has no error channel; the host may still be called during stop, so log it there.
    try {
      bridge->host().error(describeCurrentException("stop()"));
    } catch (...) {
    }
  }
}

void destroyInstance(gh_plugin* plugin) noexcept {
  // A destructor that throws terminates anyway (destructors are noexcept); nothing to catch.
  delete bridgeOf(plugin);
}

void setOnInstance(gh_plugin* plugin, gh_request_id request, const char* provider, const char* service,
                   const char* resource, const gh_value* value) noexcept {
  if (plugin == nullptr) return;
  Bridge* bridge = bridgeOf(plugin);
  answerGuarded(bridge, request, "onSet()", [&](const Request& req) {
    if (value == nullptr) {
      req.fail(GH_ERR_INVALID_ARGUMENT, "SET without a value");
      return;
    }
    std::string why;
    auto v = Value::fromC(*value, &why);
    if (!v) {
      req.fail(GH_ERR_INVALID_ARGUMENT, "SET with a malformed value: " + why);
      return;
    }
    bridge->onSet(req, str(provider), str(service), str(resource), *v);
  });
}

void actOnInstance(gh_plugin* plugin, gh_request_id request, const char* provider, const char* service,
                   const char* resource, const gh_named_value* params, std::size_t count) noexcept {
  if (plugin == nullptr) return;
  Bridge* bridge = bridgeOf(plugin);
  answerGuarded(bridge, request, "onAct()", [&](const Request& req) {
    if (params == nullptr && count != 0) {
      req.fail(GH_ERR_INVALID_ARGUMENT, "ACT parameters missing");
      return;
    }
    ActParams converted;
    converted.reserve(count);
    for (std::size_t n = 0; n < count; ++n) {
      if (params[n].name == nullptr) {
        req.fail(GH_ERR_INVALID_ARGUMENT, "ACT parameter " + std::to_string(n) + " has no name");
        return;
      }
      std::string why;
      auto v = Value::fromC(params[n].value, &why);
      if (!v) {
        req.fail(GH_ERR_INVALID_ARGUMENT, "ACT parameter " + std::string(params[n].name) + ": " + why);
        return;
      }
      converted.emplace_back(params[n].name, std::move(*v));
    }
    bridge->onAct(req, str(provider), str(service), str(resource), converted);
  });
}

}  // namespace detail
}  // namespace gatehouse::sdk
