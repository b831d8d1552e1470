#pragma once
// A fake gateway for SDK and bridge tests: a gh_host_api table of its own functions recording
// every call, with switches to make calls fail. Thread-safe (bridges push from their threads).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <gatehouse/sdk/abi.h>
#include <gatehouse/sdk/host.h>
#include <gatehouse/sdk/value.h>

namespace gatehouse::sdk::testing {

struct RecordedParam {
  std::string name;
  std::uint32_t type = 0;
  bool optional = false;
  bool hasMin = false, hasMax = false;
  double min = 0, max = 0;
};

struct RecordedDecl {
  std::uint32_t structSize = 0;
  std::uint32_t kind = 0, mutability = 0, type = 0, resultType = 0;
  std::string provider, service, resource, unit, description, providerModel;
  bool unitNull = false, descriptionNull = false, modelNull = false;
  std::vector<RecordedParam> params;
};

struct RecordedPush {
  std::string provider, service, resource;
  Value value;
  std::int64_t timestampMs = 0;
};

struct RecordedCompletion {
  gh_request_id id = 0;
  gh_status status = GH_OK;
  std::optional<Value> result;   // nullopt when result was NULL
  std::string message;
  bool messageNull = true;
};

// The gh_config_entry array a host passes to configure(). Keys and texts must outlive it
// (string literals).
class ConfigEntries {
 public:
  ConfigEntries& integer(const char* key, std::int64_t value) {
    gh_config_entry e{};
    e.key = key;
    e.type = GH_CONFIG_INT;
    e.from_file = 1;
    e.value.type = GH_TYPE_LONG;
    e.value.i = value;
    entries_.push_back(e);
    return *this;
  }
  ConfigEntries& text(const char* key, const char* value, std::uint32_t type = GH_CONFIG_STRING) {
    gh_config_entry e{};
    e.key = key;
    e.type = type;
    e.from_file = 1;
    e.value.type = GH_TYPE_STRING;
    e.value.data = value;
    e.value.size = std::char_traits<char>::length(value);
    entries_.push_back(e);
    return *this;
  }
  const gh_config_entry* data() const { return entries_.data(); }
  std::size_t size() const { return entries_.size(); }

 private:
  std::vector<gh_config_entry> entries_;
};

class FakeHost {
 public:
  FakeHost();

  // The table handed to the plugin, and the handle (this object).
  const gh_host_api* api() const { return &api_; }
  gh_host* handle() { return reinterpret_cast<gh_host*>(this); }
  Host host() { return Host(handle(), api()); }

  // Make the next calls of a kind fail with this code; last_error then returns `message`.
  void failDeclarations(gh_status code, std::string message);
  void failPushes(gh_status code, std::string message);

  std::vector<std::string> providers() const;
  std::vector<RecordedDecl> declarations() const;
  std::vector<RecordedPush> pushes() const;
  std::vector<RecordedPush> pushesTo(const std::string& provider, const std::string& service,
                                     const std::string& resource) const;
  std::vector<RecordedCompletion> completions() const;
  std::vector<std::pair<std::uint32_t, std::string>> logs() const;
  std::vector<std::pair<std::uint32_t, std::string>> statuses() const;
  std::vector<std::string> removed() const;

  // Waits until at least n pushes to that resource were recorded (false on timeout).
  bool waitForPushes(const std::string& provider, const std::string& service, const std::string& resource,
                     std::size_t n, std::chrono::milliseconds timeout);

  // Shortens api_.struct_size as an older host would.
  void setStructSize(std::uint32_t size) { api_.struct_size = size; }

 private:
  static FakeHost& self(gh_host* h) { return *reinterpret_cast<FakeHost*>(h); }
  static gh_status declareProvider(gh_host* h, const char* provider, const char* model);
  static gh_status declareResource(gh_host* h, const gh_resource_decl* decl);
  static gh_status push(gh_host* h, const char* p, const char* s, const char* r, const gh_value* v, std::int64_t ts);
  static gh_status setMetadata(gh_host* h, const char* p, const char* s, const char* r, const char* key,
                               const gh_value* v, std::int64_t ts);
  static gh_status removeProvider(gh_host* h, const char* provider);
  static void complete(gh_host* h, gh_request_id id, gh_status status, const gh_value* result, const char* message);
  static void reportStatus(gh_host* h, std::uint32_t state, const char* message);
  static void log(gh_host* h, std::uint32_t level, const char* message);
  static const char* lastError(gh_host* h);

  gh_host_api api_{};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> providers_;
  std::vector<RecordedDecl> decls_;
  std::vector<RecordedPush> pushes_;
  std::vector<RecordedCompletion> completions_;
  std::vector<std::pair<std::uint32_t, std::string>> logs_;
  std::vector<std::pair<std::uint32_t, std::string>> statuses_;
  std::vector<std::string> removed_;
  gh_status declFail_ = GH_OK;
  gh_status pushFail_ = GH_OK;
  std::string failMessage_;
  static thread_local std::string lastError_;
};

}  // namespace gatehouse::sdk::testing
