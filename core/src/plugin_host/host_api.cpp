#include "plugin_host/host_api.h"

#include <cstring>
#include <limits>
#include <vector>

#include "common/log.h"
#include "plugin_host/guarded_call.h"

namespace gatehouse::core::plugin_host {

namespace {

using model::Value;
using model::ValueType;

constexpr std::size_t kMaxNameLength = 256;            // longer than any valid identifier
constexpr std::size_t kMaxValueBytes = 16u << 20;      // one pushed value
constexpr std::size_t kMaxMessageLength = 1024;

thread_local std::string tLastError;

gh_status fail(gh_status status, std::string message) {
  tLastError = std::move(message);
  return status;
}

gh_status statusOf(const Error& e) {
  switch (e.code) {
    case ErrorCode::BadRequest:
    case ErrorCode::TooLarge: return GH_ERR_INVALID_ARGUMENT;
    case ErrorCode::NotFound: return GH_ERR_NOT_FOUND;
    case ErrorCode::NotAllowed: return GH_ERR_NOT_ALLOWED;
    case ErrorCode::Conflict: return GH_ERR_CONFLICT;
    case ErrorCode::Unavailable: return GH_ERR_UNAVAILABLE;
    case ErrorCode::Timeout: return GH_ERR_TIMEOUT;
    case ErrorCode::Internal: return GH_ERR_INTERNAL;
  }
  return GH_ERR_INTERNAL;
}

gh_status fromResult(const Result<void>& r) {
  if (r) return GH_OK;
  return fail(statusOf(r.error()), r.error().message);
}

// A name argument: non-null, bounded. The model checks the characters.
bool readName(const char* text, std::string_view what, std::string& out) {
  if (text == nullptr) {
    tLastError = std::string(what) + " is NULL";
    return false;
  }
  const std::size_t n = strnlen(text, kMaxNameLength + 1);
  if (n > kMaxNameLength) {
    tLastError = std::string(what) + " is longer than " + std::to_string(kMaxNameLength) + " characters";
    return false;
  }
  out.assign(text, n);
  return true;
}

std::string optionalText(const char* text, std::size_t max) {
  if (text == nullptr) return {};
  return std::string(text, strnlen(text, max));
}

bool usable(gh_host* host) {
  if (host == nullptr) {
    tLastError = "the host handle is NULL";
    return false;
  }
  if (!host->active.load(std::memory_order_acquire)) {
    tLastError = "the plugin is stopped; calls after stop are ignored";
    return false;
  }
  return true;
}

// Records a provider as this plugin's (first sight only takes the write lock).
void own(gh_host& host, const std::string& provider) {
  {
    std::shared_lock lock(host.providersMu);
    if (host.providers.count(provider) != 0) return;
  }
  std::unique_lock lock(host.providersMu);
  host.providers.insert(provider);
}

gh_status apiDeclareProvider(gh_host* host, const char* provider, const char* modelName) {
  if (!usable(host)) return GH_ERR_UNAVAILABLE;
  std::string p;
  if (!readName(provider, "provider", p)) return GH_ERR_INVALID_ARGUMENT;
  const gh_status st = fromResult(host->model->declareProvider(p, optionalText(modelName, kMaxNameLength), host->owner));
  if (st == GH_OK) own(*host, p);
  return st;
}

std::optional<model::ResourceKind> kindOf(std::uint32_t k) {
  switch (k) {
    case GH_KIND_SENSOR: return model::ResourceKind::Sensor;
    case GH_KIND_STATE_VARIABLE: return model::ResourceKind::StateVariable;
    case GH_KIND_PROPERTY: return model::ResourceKind::Property;
    case GH_KIND_ACTION: return model::ResourceKind::Action;
    default: return std::nullopt;
  }
}

std::optional<model::Mutability> mutabilityOf(std::uint32_t m) {
  switch (m) {
    case GH_MUTABILITY_MODIFIABLE: return model::Mutability::Modifiable;
    case GH_MUTABILITY_UPDATABLE: return model::Mutability::Updatable;
    case GH_MUTABILITY_FIXED: return model::Mutability::Fixed;
    default: return std::nullopt;
  }
}

// The members of gh_resource_decl as of ABI 1.0, up to and including provider_model.
constexpr std::size_t kResourceDeclSize10 = offsetof(gh_resource_decl, provider_model) + sizeof(const char*);

gh_status apiDeclareResource(gh_host* host, const gh_resource_decl* decl) {
  if (!usable(host)) return GH_ERR_UNAVAILABLE;
  if (decl == nullptr) return fail(GH_ERR_INVALID_ARGUMENT, "the declaration is NULL");
  if (decl->struct_size < kResourceDeclSize10) {
    return fail(GH_ERR_INVALID_ARGUMENT, "gh_resource_decl.struct_size " + std::to_string(decl->struct_size) +
                                             " is smaller than the ABI 1.0 size " + std::to_string(kResourceDeclSize10));
  }
  model::ResourceDecl d;
  if (!readName(decl->provider, "provider", d.provider) || !readName(decl->service, "service", d.service) ||
      !readName(decl->resource, "resource", d.resource)) {
    return GH_ERR_INVALID_ARGUMENT;
  }
  const auto kind = kindOf(decl->kind);
  if (!kind) return fail(GH_ERR_INVALID_ARGUMENT, "unknown resource kind " + std::to_string(decl->kind));
  d.kind = *kind;
  const auto mutability = mutabilityOf(decl->mutability);
  if (!mutability) return fail(GH_ERR_INVALID_ARGUMENT, "unknown mutability " + std::to_string(decl->mutability));
  d.mutability = *mutability;
  if (d.kind != model::ResourceKind::Action) {
    const auto type = fromAbiType(decl->type);
    if (!type) return fail(GH_ERR_INVALID_ARGUMENT, "unknown value type " + std::to_string(decl->type));
    d.type = *type;
  } else {
    const auto type = fromAbiType(decl->result_type);
    if (!type) return fail(GH_ERR_INVALID_ARGUMENT, "unknown action result type " + std::to_string(decl->result_type));
    d.resultType = *type;
    if (decl->param_count > 64) return fail(GH_ERR_INVALID_ARGUMENT, "an action takes at most 64 parameters");
    if (decl->param_count > 0 && decl->params == nullptr) return fail(GH_ERR_INVALID_ARGUMENT, "params is NULL");
    for (std::size_t i = 0; i < decl->param_count; ++i) {
      const gh_action_param& in = decl->params[i];
      model::ActionParam p;
      if (!readName(in.name, "parameter name", p.name)) return GH_ERR_INVALID_ARGUMENT;
      const auto type = fromAbiType(in.type);
      if (!type) return fail(GH_ERR_INVALID_ARGUMENT, "parameter " + p.name + ": unknown type " + std::to_string(in.type));
      p.type = *type;
      p.optional = in.optional != 0;
      if (in.has_min != 0) p.min = in.min;
      if (in.has_max != 0) p.max = in.max;
      d.params.push_back(std::move(p));
    }
  }
  d.unit = optionalText(decl->unit, kMaxNameLength);
  d.description = optionalText(decl->description, kMaxMessageLength);
  d.model = optionalText(decl->provider_model, kMaxNameLength);
  d.owner = host->owner;   // a plugin declares for itself only
  const gh_status st = fromResult(host->model->declareResource(d));
  if (st == GH_OK) own(*host, d.provider);
  return st;
}

gh_status apiPush(gh_host* host, const char* provider, const char* service, const char* resource,
                  const gh_value* value, std::int64_t timestampMs) {
  if (!usable(host)) return GH_ERR_UNAVAILABLE;
  if (provider == nullptr || service == nullptr || resource == nullptr || value == nullptr) {
    return fail(GH_ERR_INVALID_ARGUMENT, "push: provider, service, resource and value must not be NULL");
  }
  auto v = fromAbi(*value);
  if (!v) return fail(GH_ERR_INVALID_ARGUMENT, v.error().message);
  const std::string_view p(provider, strnlen(provider, kMaxNameLength + 1));
  const std::string_view s(service, strnlen(service, kMaxNameLength + 1));
  const std::string_view r(resource, strnlen(resource, kMaxNameLength + 1));
  const gh_status st = fromResult(host->model->push(p, s, r, std::move(*v), timestampMs));
  if (st == GH_OK) {
    bool known = false;
    {
      std::shared_lock lock(host->providersMu);
      known = host->providers.count(p) != 0;
    }
    if (!known) {
      // First push to a provider this plugin did not declare: it becomes the plugin's.
      (void)host->model->declareProvider(p, {}, host->owner);
      own(*host, std::string(p));
    }
  }
  return st;
}

gh_status apiSetMetadata(gh_host* host, const char* provider, const char* service, const char* resource,
                         const char* key, const gh_value* value, std::int64_t timestampMs) {
  if (!usable(host)) return GH_ERR_UNAVAILABLE;
  std::string p, s, r, k;
  if (!readName(provider, "provider", p) || !readName(service, "service", s) || !readName(resource, "resource", r) ||
      !readName(key, "metadata key", k)) {
    return GH_ERR_INVALID_ARGUMENT;
  }
  if (value == nullptr) return fail(GH_ERR_INVALID_ARGUMENT, "value is NULL");
  auto v = fromAbi(*value);
  if (!v) return fail(GH_ERR_INVALID_ARGUMENT, v.error().message);
  return fromResult(host->model->setMetadata(p, s, r, k, std::move(*v), timestampMs));
}

gh_status apiRemoveProvider(gh_host* host, const char* provider) {
  if (!usable(host)) return GH_ERR_UNAVAILABLE;
  std::string p;
  if (!readName(provider, "provider", p)) return GH_ERR_INVALID_ARGUMENT;
  {
    std::shared_lock lock(host->providersMu);
    if (host->providers.count(p) == 0) {
      return fail(GH_ERR_NOT_ALLOWED, "provider " + p + " was not declared by plugin " + host->plugin);
    }
  }
  const gh_status st = fromResult(host->model->removeProvider(p));
  if (st == GH_OK) {
    std::unique_lock lock(host->providersMu);
    host->providers.erase(p);
  }
  return st;
}

void apiComplete(gh_host* host, gh_request_id request, gh_status status, const gh_value* result, const char* message) {
  if (host == nullptr) return;
  std::function<void(Result<Value>)> done;
  {
    std::lock_guard lock(host->mu);
    auto it = host->pending.find(request);
    if (it == host->pending.end()) return;   // unknown or already answered
    done = std::move(it->second);
    host->pending.erase(it);
  }
  if (status != GH_OK) {
    std::string text = sanitizeText(message, kMaxMessageLength);
    if (text.empty()) text = "the device refused the request";
    done(makeError(kit::fromGhStatus(status), std::move(text)));
    return;
  }
  if (result == nullptr) {
    done(Value());
    return;
  }
  auto v = fromAbi(*result);
  if (!v) {
    done(makeError(ErrorCode::Internal, "plugin " + host->plugin + " answered with an invalid value: " + v.error().message));
    return;
  }
  done(std::move(*v));
}

void apiReportStatus(gh_host* host, std::uint32_t state, const char* message) {
  if (host == nullptr) return;
  std::lock_guard lock(host->mu);
  host->health = (state >= GH_STATE_RUNNING && state <= GH_STATE_FAILED) ? state : GH_STATE_DEGRADED;
  host->healthMessage = sanitizeText(message, kMaxMessageLength);
}

void apiLog(gh_host* host, std::uint32_t level, const char* message) {
  if (host == nullptr) return;
  log::Level l = log::Level::Info;
  switch (level) {
    case GH_LOG_TRACE: l = log::Level::Trace; break;
    case GH_LOG_DEBUG: l = log::Level::Debug; break;
    case GH_LOG_INFO: l = log::Level::Info; break;
    case GH_LOG_WARN: l = log::Level::Warn; break;
    default: l = log::Level::Error; break;
  }
  if (!log::enabled(l)) return;
  log::write(l, "plugin." + host->plugin, sanitizeText(message, 2048));
}

const char* apiLastError(gh_host*) { return tLastError.c_str(); }

const gh_host_api kApi = {
    sizeof(gh_host_api), GH_ABI_MAJOR, GH_ABI_MINOR, 0,
    apiDeclareProvider, apiDeclareResource, apiPush, apiSetMetadata, apiRemoveProvider,
    apiComplete, apiReportStatus, apiLog, apiLastError,
};

class PluginCommandHandler final : public model::CommandHandler {
 public:
  explicit PluginCommandHandler(std::shared_ptr<gh_host> host) : host_(std::move(host)) {}

  void onSet(const model::SetCommand& c, std::function<void(Result<Value>)> done) override {
    if (host_->descriptor->set == nullptr) {
      done(makeError(ErrorCode::NotAllowed, "plugin " + host_->plugin + " does not accept SET"));
      return;
    }
    const std::uint64_t id = admit(std::move(done));
    if (id == 0) return;
    gh_value v{};
    toAbi(c.value, v);
    call([&] { host_->descriptor->set(host_->instance, id, c.provider.c_str(), c.service.c_str(), c.resource.c_str(), &v); });
  }

  void onAct(const model::ActCommand& c, std::function<void(Result<Value>)> done) override {
    if (host_->descriptor->act == nullptr) {
      done(makeError(ErrorCode::NotAllowed, "plugin " + host_->plugin + " does not accept ACT"));
      return;
    }
    const std::uint64_t id = admit(std::move(done));
    if (id == 0) return;
    std::vector<gh_named_value> params(c.params.size());
    for (std::size_t i = 0; i < c.params.size(); ++i) {
      params[i].name = c.params[i].name.c_str();
      toAbi(c.params[i].value, params[i].value);
    }
    call([&] {
      host_->descriptor->act(host_->instance, id, c.provider.c_str(), c.service.c_str(), c.resource.c_str(),
                             params.empty() ? nullptr : params.data(), params.size());
    });
  }

 private:
  // Registers the pending answer; 0 (and `done` called) when the plugin cannot take requests.
  std::uint64_t admit(std::function<void(Result<Value>)> done) {
    if (!host_->active.load(std::memory_order_acquire) || host_->crashed.load(std::memory_order_acquire)) {
      done(makeError(ErrorCode::Unavailable, "plugin " + host_->plugin + " is not running"));
      return 0;
    }
    const std::uint64_t id = host_->nextRequest.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(host_->mu);
    host_->pending.emplace(id, std::move(done));
    return id;
  }

  template <typename Fn>
  void call(Fn&& fn) {
    const GuardResult g = runGuarded(fn);
    if (g.outcome == GuardOutcome::Returned) return;
    if (g.outcome == GuardOutcome::Crashed) {
      host_->crashed.store(true, std::memory_order_release);
      log::error("plugin-host", "plugin " + host_->plugin + " crashed handling a request: " + g.what +
                                    "; it is disabled until it is reloaded");
    } else {
      log::error("plugin-host", "plugin " + host_->plugin + " let an exception cross the ABI: " + g.what);
    }
    if (g.outcome == GuardOutcome::Crashed) {
      deactivate(*host_, "plugin " + host_->plugin + " crashed: " + g.what);
    }
    // Any request the plugin left unanswered because of the throw stays pending until it is
    // answered or the plugin stops; the REST layer's timeout answers the client meanwhile.
  }

  std::shared_ptr<gh_host> host_;
};

}  // namespace

const gh_host_api* hostApi() noexcept { return &kApi; }

std::uint32_t toAbiType(ValueType type) noexcept { return static_cast<std::uint32_t>(type) + 1; }

std::optional<ValueType> fromAbiType(std::uint32_t type) noexcept {
  if (type < GH_TYPE_INT || type > GH_TYPE_BYTES) return std::nullopt;
  return static_cast<ValueType>(type - 1);
}

Result<Value> fromAbi(const gh_value& value) {
  const auto type = fromAbiType(value.type);
  if (!type) return makeError(ErrorCode::BadRequest, "unknown value type " + std::to_string(value.type));
  if (value.is_null != 0) return Value::null(*type);
  switch (*type) {
    case ValueType::Int:
      if (value.i < std::numeric_limits<std::int32_t>::min() || value.i > std::numeric_limits<std::int32_t>::max()) {
        return makeError(ErrorCode::BadRequest, "int value " + std::to_string(value.i) + " is out of the 32-bit range");
      }
      return Value::ofInt(static_cast<std::int32_t>(value.i));
    case ValueType::Long: return Value::ofLong(value.i);
    case ValueType::Double: return Value::ofDouble(value.d);
    case ValueType::Boolean: return Value::ofBool(value.i != 0);
    case ValueType::String:
    case ValueType::Json:
    case ValueType::Bytes: {
      if (value.size > kMaxValueBytes) {
        return makeError(ErrorCode::BadRequest, "value of " + std::to_string(value.size) + " bytes is over the limit of " +
                                                    std::to_string(kMaxValueBytes));
      }
      if (value.size > 0 && value.data == nullptr) return makeError(ErrorCode::BadRequest, "value data is NULL");
      std::string bytes(value.data == nullptr ? "" : std::string(value.data, value.size));
      if (*type == ValueType::String) return Value::ofString(std::move(bytes));
      if (*type == ValueType::Json) return Value::ofJson(std::move(bytes));
      return Value::ofBytes(std::move(bytes));
    }
  }
  return makeError(ErrorCode::BadRequest, "unknown value type");
}

void toAbi(const Value& value, gh_value& out) noexcept {
  out = gh_value{};
  out.type = toAbiType(value.type());
  if (value.isNull()) {
    out.is_null = 1;
    return;
  }
  const auto& st = value.storage();
  if (const auto* i = std::get_if<std::int64_t>(&st)) out.i = *i;
  if (const auto* d = std::get_if<double>(&st)) out.d = *d;
  if (const auto* b = std::get_if<bool>(&st)) out.i = *b ? 1 : 0;
  if (const auto* s = std::get_if<std::string>(&st)) {
    out.data = s->data();
    out.size = s->size();
  }
}


std::shared_ptr<model::CommandHandler> makeCommandHandler(std::shared_ptr<gh_host> host) {
  return std::make_shared<PluginCommandHandler>(std::move(host));
}

void deactivate(gh_host& host, const std::string& why) {
  host.active.store(false, std::memory_order_release);
  std::unordered_map<std::uint64_t, std::function<void(Result<Value>)>> pending;
  {
    std::lock_guard lock(host.mu);
    pending.swap(host.pending);
  }
  for (auto& [id, done] : pending) done(makeError(ErrorCode::Unavailable, why));
}

std::string sanitizeText(const char* text, std::size_t maxLength) {
  if (text == nullptr) return {};
  const std::size_t n = strnlen(text, maxLength);
  std::string out(text, n);
  for (char& ch : out) {
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = ' ';
  }
  return out;
}

}  // namespace gatehouse::core::plugin_host
