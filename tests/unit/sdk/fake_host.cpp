#include "fake_host.h"

#include <stdexcept>

namespace gatehouse::sdk::testing {

thread_local std::string FakeHost::lastError_;

namespace {
std::string str(const char* s) { return s == nullptr ? std::string() : std::string(s); }

Value copy(const gh_value* v) {
  if (v == nullptr) throw std::invalid_argument("fake host: NULL value");
  auto out = Value::fromC(*v);
  if (!out) throw std::invalid_argument("fake host: malformed value");
  return *out;
}
}  // namespace

FakeHost::FakeHost() {
  api_.struct_size = sizeof(gh_host_api);
  api_.abi_major = GH_ABI_MAJOR;
  api_.abi_minor = GH_ABI_MINOR;
  api_.declare_provider = &FakeHost::declareProvider;
  api_.declare_resource = &FakeHost::declareResource;
  api_.push = &FakeHost::push;
  api_.set_metadata = &FakeHost::setMetadata;
  api_.remove_provider = &FakeHost::removeProvider;
  api_.complete = &FakeHost::complete;
  api_.report_status = &FakeHost::reportStatus;
  api_.log = &FakeHost::log;
  api_.last_error = &FakeHost::lastError;
}

void FakeHost::failDeclarations(gh_status code, std::string message) {
  std::lock_guard lock(mu_);
  declFail_ = code;
  failMessage_ = std::move(message);
}

void FakeHost::failPushes(gh_status code, std::string message) {
  std::lock_guard lock(mu_);
  pushFail_ = code;
  failMessage_ = std::move(message);
}

gh_status FakeHost::declareProvider(gh_host* h, const char* provider, const char* model) {
  auto& f = self(h);
  std::lock_guard lock(f.mu_);
  if (f.declFail_ != GH_OK) {
    lastError_ = f.failMessage_;
    return f.declFail_;
  }
  f.providers_.push_back(str(provider) + (model ? "|" + str(model) : std::string()));
  return GH_OK;
}

gh_status FakeHost::declareResource(gh_host* h, const gh_resource_decl* d) {
  auto& f = self(h);
  std::lock_guard lock(f.mu_);
  if (f.declFail_ != GH_OK) {
    lastError_ = f.failMessage_;
    return f.declFail_;
  }
  RecordedDecl r;
  r.structSize = d->struct_size;
  r.kind = d->kind;
  r.mutability = d->mutability;
  r.type = d->type;
  r.resultType = d->result_type;
  r.provider = str(d->provider);
  r.service = str(d->service);
  r.resource = str(d->resource);
  r.unit = str(d->unit);
  r.unitNull = d->unit == nullptr;
  r.description = str(d->description);
  r.descriptionNull = d->description == nullptr;
  r.providerModel = str(d->provider_model);
  r.modelNull = d->provider_model == nullptr;
  for (std::size_t i = 0; i < d->param_count; ++i) {
    const auto& p = d->params[i];
    r.params.push_back({str(p.name), p.type, p.optional != 0, p.has_min != 0, p.has_max != 0, p.min, p.max});
  }
  f.decls_.push_back(std::move(r));
  return GH_OK;
}

gh_status FakeHost::push(gh_host* h, const char* p, const char* s, const char* r, const gh_value* v, std::int64_t ts) {
  auto& f = self(h);
  Value value = copy(v);
  {
    std::lock_guard lock(f.mu_);
    if (f.pushFail_ != GH_OK) {
      lastError_ = f.failMessage_;
      return f.pushFail_;
    }
    f.pushes_.push_back({str(p), str(s), str(r), std::move(value), ts});
  }
  f.cv_.notify_all();
  return GH_OK;
}

gh_status FakeHost::setMetadata(gh_host* h, const char* p, const char* s, const char* r, const char* key,
                                const gh_value* v, std::int64_t ts) {
  auto& f = self(h);
  Value value = copy(v);
  std::lock_guard lock(f.mu_);
  f.pushes_.push_back({str(p), str(s), str(r) + "#" + str(key), std::move(value), ts});
  return GH_OK;
}

gh_status FakeHost::removeProvider(gh_host* h, const char* provider) {
  auto& f = self(h);
  std::lock_guard lock(f.mu_);
  f.removed_.push_back(str(provider));
  return GH_OK;
}

void FakeHost::complete(gh_host* h, gh_request_id id, gh_status status, const gh_value* result, const char* message) {
  auto& f = self(h);
  RecordedCompletion c;
  c.id = id;
  c.status = status;
  if (result != nullptr) c.result = copy(result);
  c.message = str(message);
  c.messageNull = message == nullptr;
  std::lock_guard lock(f.mu_);
  f.completions_.push_back(std::move(c));
}

void FakeHost::reportStatus(gh_host* h, std::uint32_t state, const char* message) {
  auto& f = self(h);
  std::lock_guard lock(f.mu_);
  f.statuses_.emplace_back(state, str(message));
}

void FakeHost::log(gh_host* h, std::uint32_t level, const char* message) {
  auto& f = self(h);
  std::lock_guard lock(f.mu_);
  f.logs_.emplace_back(level, str(message));
}

const char* FakeHost::lastError(gh_host*) { return lastError_.c_str(); }

std::vector<std::string> FakeHost::providers() const { std::lock_guard l(mu_); return providers_; }
std::vector<RecordedDecl> FakeHost::declarations() const { std::lock_guard l(mu_); return decls_; }
std::vector<RecordedPush> FakeHost::pushes() const { std::lock_guard l(mu_); return pushes_; }
std::vector<RecordedCompletion> FakeHost::completions() const { std::lock_guard l(mu_); return completions_; }
std::vector<std::pair<std::uint32_t, std::string>> FakeHost::logs() const { std::lock_guard l(mu_); return logs_; }
std::vector<std::pair<std::uint32_t, std::string>> FakeHost::statuses() const { std::lock_guard l(mu_); return statuses_; }
std::vector<std::string> FakeHost::removed() const { std::lock_guard l(mu_); return removed_; }

std::vector<RecordedPush> FakeHost::pushesTo(const std::string& p, const std::string& s, const std::string& r) const {
  std::lock_guard lock(mu_);
  std::vector<RecordedPush> out;
  for (const auto& x : pushes_) {
    if (x.provider == p && x.service == s && x.resource == r) out.push_back(x);
  }
  return out;
}

bool FakeHost::waitForPushes(const std::string& p, const std::string& s, const std::string& r, std::size_t n,
                             std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] {
    std::size_t count = 0;
    for (const auto& x : pushes_) {
      if (x.provider == p && x.service == s && x.resource == r) ++count;
    }
    return count >= n;
  });
}

}  // namespace gatehouse::sdk::testing
