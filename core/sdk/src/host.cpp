#include "gatehouse/sdk/host.h"

#include <cstddef>

namespace gatehouse::sdk {

// True when the host's table is long enough to hold `member` and fills it in: an older host has a
// shorter table (struct_size), and reading past it would be reading garbage.
#define GH_SDK_HOST_HAS(api, member)                                                           \
  ((api) != nullptr && (api)->struct_size >= offsetof(gh_host_api, member) + sizeof((api)->member) && \
   (api)->member != nullptr)

namespace {

const char* orNull(const std::string& s) { return s.empty() ? nullptr : s.c_str(); }

std::string target(const std::string& p, const std::string& s, const std::string& r) { return p + "/" + s + "/" + r; }

}  // namespace

Status Host::failure(gh_status code, const std::string& what) const {
  std::string reason;
  if (GH_SDK_HOST_HAS(api_, last_error)) {
    if (const char* e = api_->last_error(host_); e != nullptr) reason = e;
  }
  if (reason.empty()) reason = statusName(code);
  // A misbehaving host could return GH_OK-like success codes here; never report a failure as OK.
  return Status(code == GH_OK ? GH_ERR_INTERNAL : code, what + ": " + reason);
}

Status Host::declareProvider(const std::string& provider, const std::string& model) const {
  const std::string what = "declare provider " + provider;
  if (host_ == nullptr || !GH_SDK_HOST_HAS(api_, declare_provider)) {
    return Status::unavailable(what + ": the host does not offer declare_provider");
  }
  const gh_status rc = api_->declare_provider(host_, provider.c_str(), orNull(model));
  return rc == GH_OK ? Status::ok() : failure(rc, what);
}

Status Host::declareResource(const ResourceSpec& spec) const {
  const std::string what = "declare resource " + target(spec.provider, spec.service, spec.resource);
  if (host_ == nullptr || !GH_SDK_HOST_HAS(api_, declare_resource)) {
    return Status::unavailable(what + ": the host does not offer declare_resource");
  }
  std::vector<gh_action_param> params;
  params.reserve(spec.params.size());
  for (const auto& p : spec.params) {
    gh_action_param c{};
    c.name = p.name.c_str();
    c.type = static_cast<std::uint32_t>(p.type);
    c.optional = p.optional ? 1 : 0;
    c.has_min = p.min ? 1 : 0;
    c.has_max = p.max ? 1 : 0;
    c.min = p.min.value_or(0.0);
    c.max = p.max.value_or(0.0);
    params.push_back(c);
  }
  gh_resource_decl d{};
  d.struct_size = sizeof(gh_resource_decl);
  d.kind = static_cast<std::uint32_t>(spec.kind);
  d.mutability = static_cast<std::uint32_t>(spec.mutability);
  d.type = static_cast<std::uint32_t>(spec.type);
  d.provider = spec.provider.c_str();
  d.service = spec.service.c_str();
  d.resource = spec.resource.c_str();
  d.unit = orNull(spec.unit);
  d.description = orNull(spec.description);
  d.params = params.empty() ? nullptr : params.data();
  d.param_count = params.size();
  d.result_type = static_cast<std::uint32_t>(spec.resultType);
  d.reserved = 0;
  d.provider_model = orNull(spec.providerModel);
  const gh_status rc = api_->declare_resource(host_, &d);
  return rc == GH_OK ? Status::ok() : failure(rc, what);
}

Status Host::push(const std::string& provider, const std::string& service, const std::string& resource,
                  const Value& value, std::int64_t timestampMs) const {
  if (host_ == nullptr || !GH_SDK_HOST_HAS(api_, push)) {
    return Status::unavailable("push " + target(provider, service, resource) + ": the host does not offer push");
  }
  const gh_value v = value.toC();
  const gh_status rc = api_->push(host_, provider.c_str(), service.c_str(), resource.c_str(), &v, timestampMs);
  // The message is built only on failure: push is the hot path.
  return rc == GH_OK ? Status::ok() : failure(rc, "push " + target(provider, service, resource));
}

Status Host::setMetadata(const std::string& provider, const std::string& service, const std::string& resource,
                         const std::string& key, const Value& value, std::int64_t timestampMs) const {
  const auto what = [&] { return "set metadata " + key + " of " + target(provider, service, resource); };
  if (host_ == nullptr || !GH_SDK_HOST_HAS(api_, set_metadata)) {
    return Status::unavailable(what() + ": the host does not offer set_metadata");
  }
  const gh_value v = value.toC();
  const gh_status rc =
      api_->set_metadata(host_, provider.c_str(), service.c_str(), resource.c_str(), key.c_str(), &v, timestampMs);
  return rc == GH_OK ? Status::ok() : failure(rc, what());
}

Status Host::removeProvider(const std::string& provider) const {
  const std::string what = "remove provider " + provider;
  if (host_ == nullptr || !GH_SDK_HOST_HAS(api_, remove_provider)) {
    return Status::unavailable(what + ": the host does not offer remove_provider");
  }
  const gh_status rc = api_->remove_provider(host_, provider.c_str());
  return rc == GH_OK ? Status::ok() : failure(rc, what);
}

void Host::reportStatus(PluginState state, const std::string& message) const {
  if (host_ == nullptr || !GH_SDK_HOST_HAS(api_, report_status)) return;
  api_->report_status(host_, static_cast<std::uint32_t>(state), message.c_str());
}

void Host::log(LogLevel level, const std::string& message) const {
  if (host_ == nullptr || !GH_SDK_HOST_HAS(api_, log)) return;
  api_->log(host_, static_cast<std::uint32_t>(level), message.c_str());
}

void Host::complete(gh_request_id request, gh_status status, const Value* result, const std::string& message) const {
  if (host_ == nullptr || !GH_SDK_HOST_HAS(api_, complete)) return;
  gh_value v{};
  if (result != nullptr) v = result->toC();
  api_->complete(host_, request, status, result != nullptr ? &v : nullptr, status == GH_OK ? nullptr : message.c_str());
}

#undef GH_SDK_HOST_HAS

}  // namespace gatehouse::sdk
