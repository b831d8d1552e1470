#include "rest/rest_api.h"
#include "gatehouse/kit/thread_name.h"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "common/json_writer.h"
#include "rest/json_body.h"
#include "rest/model_json.h"

namespace gatehouse::core::rest {

using http::Request;
using http::Responder;
using http::Response;
using json::appendInt;
using json::appendString;

namespace {

// A JSON string given for a bytes value is base64 (RFC 4648, padded): replaced by the bytes it
// encodes. Anything else is left to the model's type rules.
Result<void> bytesFromBase64(model::Value& value, model::ValueType declared, const std::string& what) {
  if (declared != model::ValueType::Bytes || value.type() != model::ValueType::String || value.isNull()) return {};
  auto bytes = kit::base64Decode(value.asString());
  if (!bytes) return makeError(ErrorCode::BadRequest, what + " is bytes: write it in base64 (" + bytes.message() + ")");
  value = model::Value::ofBytes(std::move(*bytes));
  return {};
}

enum class Route {
  CompleteList, Providers, Provider, Services, Service, Resources, Resource,
  Get, Set, Act, Subscribe, Snapshot, SnapshotSubscribe, Plugins, PluginsReload, Health, Metrics, OpenApi
};

struct RouteEntry {
  RouteSpec spec;
  Route id;
};

const std::vector<RouteEntry>& routes() {
  static const std::vector<RouteEntry> table = {
      {{"/sensinact", "GET HEAD"}, Route::CompleteList},
      {{"/sensinact/providers", "GET HEAD"}, Route::Providers},
      {{"/sensinact/providers/{provider}", "GET HEAD"}, Route::Provider},
      {{"/sensinact/providers/{provider}/services", "GET HEAD"}, Route::Services},
      {{"/sensinact/providers/{provider}/services/{service}", "GET HEAD"}, Route::Service},
      {{"/sensinact/providers/{provider}/services/{service}/resources", "GET HEAD"}, Route::Resources},
      {{"/sensinact/providers/{provider}/services/{service}/resources/{resource}", "GET HEAD"}, Route::Resource},
      {{"/sensinact/providers/{provider}/services/{service}/resources/{resource}/GET", "GET HEAD POST"}, Route::Get},
      {{"/sensinact/providers/{provider}/services/{service}/resources/{resource}/SET", "POST PUT"}, Route::Set},
      {{"/sensinact/providers/{provider}/services/{service}/resources/{resource}/ACT", "POST"}, Route::Act},
      {{"/sensinact/providers/{provider}/services/{service}/resources/{resource}/SUBSCRIBE", "GET"}, Route::Subscribe},
      {{"/sensinact/snapshot", "GET HEAD POST"}, Route::Snapshot},
      {{"/sensinact/snapshot/subscribe", "GET"}, Route::SnapshotSubscribe},
      {{"/sensinact/runtime/plugins", "GET HEAD"}, Route::Plugins},
      {{"/sensinact/runtime/plugins/reload", "POST"}, Route::PluginsReload},
      {{"/health", "GET HEAD"}, Route::Health},
      {{"/metrics", "GET HEAD"}, Route::Metrics},
      {{"/openapi.json", "GET HEAD"}, Route::OpenApi},
  };
  return table;
}

bool methodAllowed(std::string_view methods, std::string_view method) {
  std::size_t pos = 0;
  while (pos < methods.size()) {
    auto end = methods.find(' ', pos);
    if (end == std::string_view::npos) end = methods.size();
    if (methods.substr(pos, end - pos) == method) return true;
    pos = end + 1;
  }
  return false;
}

// Splits a raw path into decoded segments. Empty segments (duplicate or trailing slashes) are
// dropped; "." and ".." and undecodable escapes make the path invalid.
bool splitPath(std::string_view path, std::vector<std::string>& out) {
  out.clear();
  std::size_t pos = 0;
  while (pos <= path.size()) {
    auto end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    auto seg = path.substr(pos, end - pos);
    if (!seg.empty()) {
      if (seg.find('%') != std::string_view::npos) {
        auto decoded = http::percentDecode(seg);
        if (!decoded) return false;
        out.push_back(std::move(*decoded));
      } else {
        out.emplace_back(seg);
      }
      if (out.back() == "." || out.back() == "..") return false;
    }
    pos = end + 1;
  }
  return true;
}

struct Match {
  const RouteEntry* entry = nullptr;
  bool pathMatched = false;   // a route has this path but not this method
  std::string allow;
  std::vector<std::string_view> params;
};

Match matchRoute(const std::vector<std::string>& segs, std::string_view method) {
  Match m;
  for (const auto& r : routes()) {
    std::string_view pat = r.spec.pattern;
    std::vector<std::string_view> params;
    std::size_t i = 0;
    bool ok = true;
    std::size_t pos = 1;
    while (pos <= pat.size() && ok) {
      auto end = pat.find('/', pos);
      if (end == std::string_view::npos) end = pat.size();
      auto p = pat.substr(pos, end - pos);
      if (i >= segs.size()) ok = false;
      else if (!p.empty() && p.front() == '{') params.push_back(segs[i]);
      else if (p != segs[i]) ok = false;
      ++i;
      pos = end + 1;
    }
    if (!ok || i != segs.size()) continue;
    if (methodAllowed(r.spec.methods, method)) {
      m.entry = &r;
      m.params = std::move(params);
      return m;
    }
    m.pathMatched = true;
    std::string allow = r.spec.methods;
    std::replace(allow.begin(), allow.end(), ' ', ',');
    m.allow = allow;
  }
  return m;
}

std::string uriOf(const std::vector<std::string_view>& params) {
  std::string uri;
  for (auto p : params) uri.append("/").append(p);
  return uri.empty() ? "/" : uri;
}

void beginEnvelope(std::string& out, std::string_view type, std::string_view uri, int status) {
  out += "{\"type\":";
  appendString(out, type);
  out += ",\"uri\":";
  appendString(out, uri);
  out += ",\"statusCode\":";
  appendInt(out, status);
}

Response errorResponse(int status, std::string_view uri, std::string_view message) {
  Response r;
  r.status = status;
  beginEnvelope(r.body, "ERROR", uri, status);
  r.body += ",\"error\":";
  appendString(r.body, message);
  r.body += '}';
  return r;
}

Response errorResponse(const Error& e, std::string_view uri) { return errorResponse(httpStatus(e.code), uri, e.message); }

void appendNameList(std::string& out, const std::vector<std::string>& names) {
  out += '[';
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i) out += ',';
    appendString(out, names[i]);
  }
  out += ']';
}

// Writes [{"name":p,<extra>"services":[{"name":s,"resources":[...]}]}...]: the tree shared by
// COMPLETE_LIST and SNAPSHOT_RESPONSE. `extra(out, provider)` may append members ending in ',';
// `resource(out, r)` appends one resource object, or returns false (writing nothing) to skip it.
template <typename Extra, typename ResourceWriter>
void appendProviderTree(std::string& out, const std::vector<model::ProviderInfo>& providers, Extra extra,
                        ResourceWriter resource) {
  out += '[';
  for (std::size_t i = 0; i < providers.size(); ++i) {
    const auto& p = providers[i];
    if (i) out += ',';
    out += "{\"name\":";
    appendString(out, p.name);
    out += ',';
    extra(out, p);
    out += "\"services\":[";
    for (std::size_t j = 0; j < p.services.size(); ++j) {
      const auto& s = p.services[j];
      if (j) out += ',';
      out += "{\"name\":";
      appendString(out, s.name);
      out += ",\"resources\":[";
      bool first = true;
      for (const auto& r : s.resources) {
        const std::size_t mark = out.size();
        if (!first) out += ',';
        if (resource(out, r)) first = false;
        else out.resize(mark);
      }
      out += "]}";
    }
    out += "]}";
  }
  out += ']';
}

// What one request may see: every test passes when there is no policy (auth mode `none`).
struct Gate {
  const AccessPolicy* policy = nullptr;
  const Caller* caller = nullptr;

  bool active() const { return policy != nullptr; }
  bool allows(AccessVerb verb, std::string_view p, std::string_view s = {}, std::string_view r = {}) const {
    return !policy || policy->allows(*caller, verb, p, s, r);
  }
  bool describe(std::string_view p, std::string_view s = {}, std::string_view r = {}) const {
    return allows(AccessVerb::Describe, p, s, r);
  }
  bool read(std::string_view p, std::string_view s = {}, std::string_view r = {}) const {
    return allows(AccessVerb::Read, p, s, r);
  }
};

// Removes the resources `keep` refuses, then the services this emptied (services that were
// empty before stay: the filter did not hide anything there).
template <typename Keep>
void pruneResources(model::ProviderInfo& p, Keep keep) {
  std::erase_if(p.services, [&](model::ServiceInfo& s) {
    if (s.resources.empty()) return false;
    std::erase_if(s.resources, [&](const model::ResourceInfo& r) { return !keep(p.name, s.name, r.name); });
    return s.resources.empty();
  });
}

// RFC 6750 error_description: a quoted-string of printable ASCII; never more than 200 characters.
std::string challengeDescription(std::string_view error) {
  if (error.empty()) error = "the access token was refused";
  std::string out;
  for (char c : error) {
    const auto u = static_cast<unsigned char>(c);
    const bool escape = c == '"' || c == '\\';
    if (out.size() + (escape ? 2 : 1) > 200) break;
    if (escape) out += '\\';
    out += (u < 0x20 || u > 0x7e) ? '?' : c;
  }
  return out;
}

// Histogram upper bounds in seconds for gatehouse_http_request_duration_seconds.
constexpr std::array<double, 13> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                             0.025, 0.05, 0.1, 0.25, 0.5, 1.0};

// Answers a SET/ACT exactly once: from the owner's callback or from the timeout, whichever is first.
struct PendingCommand {
  std::mutex mu;
  std::optional<Responder> responder;
  std::optional<Responder> take() {
    std::lock_guard lock(mu);
    std::optional<Responder> out;
    if (responder) {
      out.emplace(std::move(*responder));
      responder.reset();
    }
    return out;
  }
};

// A single timer thread for command timeouts.
class Timeouts {
 public:
  void start() {
    std::lock_guard lock(mu_);
    if (thread_.joinable()) return;
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
  }
  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      timers_.clear();
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  void after(std::chrono::milliseconds delay, std::function<void()> fn) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      timers_.emplace(std::chrono::steady_clock::now() + delay, std::move(fn));
    }
    cv_.notify_one();
  }

 private:
  void run() {
    kit::setThreadName("rest-timeouts");
    std::unique_lock lock(mu_);
    while (!stopping_) {
      if (timers_.empty()) {
        cv_.wait(lock);
        continue;
      }
      const auto when = timers_.begin()->first;   // a copy: stop() may free the node while we wait
      if (cv_.wait_until(lock, when) == std::cv_status::timeout) {
        auto now = std::chrono::steady_clock::now();
        std::vector<std::function<void()>> due;
        while (!timers_.empty() && timers_.begin()->first <= now) {
          due.push_back(std::move(timers_.begin()->second));
          timers_.erase(timers_.begin());
        }
        lock.unlock();
        for (auto& f : due) f();
        lock.lock();
      }
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<std::chrono::steady_clock::time_point, std::function<void()>> timers_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

const std::vector<RouteSpec>& routeTable() {
  static const std::vector<RouteSpec> specs = [] {
    std::vector<RouteSpec> v;
    for (const auto& r : routes()) v.push_back(r.spec);
    return v;
  }();
  return specs;
}

struct RestApi::Impl {
  model::Model& model;
  RestOptions options;
  SseHub sse;
  Timeouts timeouts;
  const std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  std::mutex componentsMu;   // guards the two functions below (set once at start)
  PluginLister listPlugins;
  PluginReloader reloadPlugins;

  std::vector<ComponentStatus> components() {
    PluginLister list;
    {
      std::lock_guard lock(componentsMu);
      list = listPlugins;
    }
    return list ? list() : std::vector<ComponentStatus>{};
  }
  std::function<std::size_t()> openConnections;
  std::function<std::vector<MetricSample>()> extraMetrics;
  std::shared_ptr<AccessPolicy> policy;   // set once before start(); nullptr = serve everyone

  std::array<std::atomic<std::uint64_t>, 600> byStatus{};
  std::array<std::atomic<std::uint64_t>, kBuckets.size() + 1> buckets{};
  std::atomic<std::uint64_t> latencyNanos{0};
  std::atomic<std::uint64_t> requests{0};

  Impl(model::Model& m, RestOptions o) : model(m), options(std::move(o)), sse(m, options.sse) {}

  static Response json(std::string body, int status = 200) {
    Response r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }

  Result<std::optional<filter::Filter>> filterFrom(const Request& req) {
    auto text = http::queryParam(req.query, "filter");
    if (!text || text->empty()) return std::optional<filter::Filter>{};
    auto f = filter::Filter::parse(*text);
    if (!f) return std::move(f).error();
    return std::optional<filter::Filter>(std::move(*f));
  }

  // With a policy, the filter sees only the resources the caller may READ, so that it cannot be
  // used to probe hidden values one comparison at a time.
  std::vector<model::ProviderInfo> filteredProviders(const std::optional<filter::Filter>& f, model::Detail detail,
                                                     const Gate& gate) {
    if (!f) return model.providers(detail);
    auto all = model.providers(model::Detail::Values);
    std::vector<model::ProviderInfo> out;
    for (auto& p : all) {
      bool match;
      if (gate.active()) {
        model::ProviderInfo visible = p;
        pruneResources(visible, [&gate](std::string_view pn, std::string_view sn, std::string_view rn) {
          return gate.read(pn, sn, rn);
        });
        match = f->matches(providerLookup(visible));
      } else {
        match = f->matches(providerLookup(p));
      }
      if (match) out.push_back(std::move(p));
    }
    return out;
  }

  Response completeList(const Request& req, const Gate& gate) {
    auto f = filterFrom(req);
    if (!f) return errorResponse(f.error(), "/");
    auto providers = filteredProviders(*f, model::Detail::Describe, gate);
    if (gate.active()) {
      std::erase_if(providers, [&gate](const model::ProviderInfo& p) { return !gate.describe(p.name); });
      for (auto& p : providers) {
        pruneResources(p, [&gate](std::string_view pn, std::string_view sn, std::string_view rn) {
          return gate.describe(pn, sn, rn);
        });
      }
    }
    std::string out;
    beginEnvelope(out, "COMPLETE_LIST", "/", 200);
    out += ",\"providers\":";
    appendProviderTree(
        out, providers, [](std::string&, const model::ProviderInfo&) {},
        [](std::string& o, const model::ResourceInfo& r) {
          o += "{\"name\":";
          appendString(o, r.name);
          o += ",\"type\":";
          appendString(o, model::toString(r.kind));
          o += ",\"rws\":";
          appendString(o, rws(r));
          o += '}';
          return true;
        });
    out += '}';
    return json(std::move(out));
  }

  Response providersList(const Request& req, const Gate& gate) {
    auto f = filterFrom(req);
    if (!f) return errorResponse(f.error(), "/");
    std::vector<std::string> names;
    if (*f) {
      for (auto& p : filteredProviders(*f, model::Detail::Names, gate)) names.push_back(std::move(p.name));
    } else {
      names = model.providerNames();
    }
    if (gate.active()) std::erase_if(names, [&gate](const std::string& n) { return !gate.describe(n); });
    std::string out;
    beginEnvelope(out, "PROVIDERS_LIST", "/", 200);
    out += ",\"providers\":";
    appendNameList(out, names);
    out += '}';
    return json(std::move(out));
  }

  Response describeProvider(const std::vector<std::string_view>& p, const Gate& gate) {
    const auto uri = uriOf(p);
    auto info = model.provider(p[0], model::Detail::Names);
    if (!info) return errorResponse(info.error(), uri);
    if (gate.active()) {
      std::erase_if(info->services, [&](const model::ServiceInfo& s) { return !gate.describe(p[0], s.name); });
    }
    std::string out;
    beginEnvelope(out, "DESCRIBE_PROVIDER", uri, 200);
    out += ",\"response\":{\"name\":";
    appendString(out, info->name);
    out += ",\"model\":";
    appendString(out, info->model);
    out += ",\"services\":[";
    for (std::size_t i = 0; i < info->services.size(); ++i) {
      if (i) out += ',';
      appendString(out, info->services[i].name);
    }
    out += "]}}";
    return json(std::move(out));
  }

  Response servicesList(const std::vector<std::string_view>& p, const Gate& gate) {
    const auto uri = uriOf(p);
    auto names = model.serviceNames(p[0]);
    if (!names) return errorResponse(names.error(), uri);
    if (gate.active()) std::erase_if(*names, [&](const std::string& s) { return !gate.describe(p[0], s); });
    std::string out;
    beginEnvelope(out, "SERVICES_LIST", uri, 200);
    out += ",\"services\":";
    appendNameList(out, *names);
    out += '}';
    return json(std::move(out));
  }

  Response describeService(const std::vector<std::string_view>& p, const Gate& gate) {
    const auto uri = uriOf(p);
    auto info = model.service(p[0], p[1], model::Detail::Describe);
    if (!info) return errorResponse(info.error(), uri);
    if (gate.active()) {
      std::erase_if(info->resources, [&](const model::ResourceInfo& r) { return !gate.describe(p[0], p[1], r.name); });
    }
    std::string out;
    beginEnvelope(out, "DESCRIBE_SERVICE", uri, 200);
    out += ",\"response\":{\"name\":";
    appendString(out, info->name);
    out += ",\"resources\":[";
    for (std::size_t i = 0; i < info->resources.size(); ++i) {
      const auto& r = info->resources[i];
      if (i) out += ',';
      out += "{\"name\":";
      appendString(out, r.name);
      out += ",\"rws\":";
      appendString(out, rws(r));
      out += ",\"type\":";
      appendString(out, model::toString(r.kind));
      out += '}';
    }
    out += "]}}";
    return json(std::move(out));
  }

  Response resourcesList(const std::vector<std::string_view>& p, const Gate& gate) {
    const auto uri = uriOf(p);
    auto names = model.resourceNames(p[0], p[1]);
    if (!names) return errorResponse(names.error(), uri);
    if (gate.active()) std::erase_if(*names, [&](const std::string& r) { return !gate.describe(p[0], p[1], r); });
    std::string out;
    beginEnvelope(out, "RESOURCES_LIST", uri, 200);
    out += ",\"resources\":";
    appendNameList(out, *names);
    out += '}';
    return json(std::move(out));
  }

  Response describeResource(const std::vector<std::string_view>& p) {
    const auto uri = uriOf(p);
    auto info = model.resource(p[0], p[1], p[2], model::Detail::Values);
    if (!info) return errorResponse(info.error(), uri);
    std::string out;
    beginEnvelope(out, "DESCRIBE_RESOURCE", uri, 200);
    out += ",\"response\":";
    appendDescribeResourceJson(out, *info);
    out += '}';
    return json(std::move(out));
  }

  Response getValue(const std::vector<std::string_view>& p) {
    const auto uri = uriOf(p);
    auto info = model.resource(p[0], p[1], p[2], model::Detail::Values);
    if (!info) return errorResponse(info.error(), uri);
    if (info->kind == model::ResourceKind::Action) {
      return errorResponse(405, uri, "resource " + info->name + " is an ACTION: use ACT");
    }
    std::string out;
    out.reserve(160);
    beginEnvelope(out, "GET_RESPONSE", uri, 200);
    out += ",\"response\":";
    appendReadingJson(out, info->name, info->value, info->timestamp);
    out += '}';
    return json(std::move(out));
  }

  // Runs a SET/ACT and answers when the owner does, or 504 after commandTimeoutMs.
  void command(const std::vector<std::string_view>& p, bool isSet, std::string_view body, Responder responder) {
    const auto uri = uriOf(p);
    auto pending = std::make_shared<PendingCommand>();
    pending->responder.emplace(std::move(responder));
    const char* type = isSet ? "SET_RESPONSE" : "ACT_RESPONSE";
    auto done = [pending, uri, type](Result<model::CommandResult> result) {
      auto r = pending->take();
      if (!r) return;   // timed out already
      if (!result) return r->respond(errorResponse(result.error(), uri));
      std::string out;
      beginEnvelope(out, type, uri, 200);
      out += ",\"response\":";
      if (std::string_view(type) == "SET_RESPONSE") {
        appendReadingJson(out, result->name, result->value, result->timestamp);
      } else {
        out += "{\"name\":";
        appendString(out, result->name);
        out += ",\"timestamp\":";
        appendInt(out, result->timestamp);
        out += ",\"result\":";
        result->value.appendJson(out);
        out += '}';
      }
      out += '}';
      r->respond(json(std::move(out)));
    };
    std::weak_ptr<PendingCommand> weak = pending;
    const int timeoutMs = options.commandTimeoutMs;
    timeouts.after(std::chrono::milliseconds(timeoutMs), [weak, uri, timeoutMs] {
      auto pc = weak.lock();
      if (!pc) return;
      auto r = pc->take();
      if (!r) return;
      r->respond(errorResponse(504, uri, "the device did not answer within " + std::to_string(timeoutMs) + " ms"));
    });
    // JSON has no bytes: a bytes value (a bytes resource's SET value, a bytes ACT parameter) is
    // written as a base64 string, decoded here to the exact bytes.
    const auto declared = model.resource(p[0], p[1], p[2], model::Detail::Describe);
    if (isSet) {
      auto value = parseSetBody(body);
      if (!value) return done(std::move(value).error());
      if (declared && declared->kind != model::ResourceKind::Action) {
        if (auto b = bytesFromBase64(*value, declared->value.type(), "the value"); !b) return done(std::move(b).error());
      }
      model.set(p[0], p[1], p[2], std::move(*value), std::move(done));
    } else {
      auto params = parseActBody(body);
      if (!params) return done(std::move(params).error());
      if (declared && declared->kind == model::ResourceKind::Action) {
        for (auto& given : *params) {
          for (const auto& d : declared->params) {
            if (d.name != given.name) continue;
            if (auto b = bytesFromBase64(given.value, d.type, "parameter '" + given.name + "'"); !b) return done(std::move(b).error());
          }
        }
      }
      model.act(p[0], p[1], p[2], std::move(*params), std::move(done));
    }
  }

  Response snapshot(const Request& req, const Gate& gate) {
    SnapshotRequest sr;
    if (req.method == "POST") {
      auto parsed = parseSnapshotBody(req.body);
      if (!parsed) return errorResponse(parsed.error(), "/");
      sr = std::move(*parsed);
    } else if (auto f = http::queryParam(req.query, "filter")) {
      sr.filter = *f;
    }
    std::optional<filter::Filter> f;
    if (!sr.filter.empty()) {
      auto parsed = filter::Filter::parse(sr.filter);
      if (!parsed) return errorResponse(parsed.error(), "/");
      f = std::move(*parsed);
    }
    auto providers = filteredProviders(f, model::Detail::Values, gate);
    if (gate.active()) {
      // Only what the caller may READ; a provider with nothing readable is not shown at all.
      std::erase_if(providers, [&gate](model::ProviderInfo& p) {
        std::erase_if(p.services, [&](model::ServiceInfo& s) {
          std::erase_if(s.resources, [&](const model::ResourceInfo& r) { return !gate.read(p.name, s.name, r.name); });
          return s.resources.empty();
        });
        return p.services.empty();
      });
    }
    std::string out;
    beginEnvelope(out, "SNAPSHOT_RESPONSE", "/", 200);
    out += ",\"response\":";
    appendProviderTree(
        out, providers,
        [](std::string& o, const model::ProviderInfo& p) {
          o += "\"model\":";
          appendString(o, p.model);
          o += ',';
        },
        [&sr](std::string& o, const model::ResourceInfo& r) {
          if (r.kind == model::ResourceKind::Action) return false;
          appendReadingJson(o, r.name, r.value, r.timestamp);
          if (sr.includeMetadata) {
            o.pop_back();   // reopen the reading object
            o += ",\"metadata\":{";
            for (std::size_t k = 0; k < r.metadata.size(); ++k) {
              if (k) o += ',';
              appendString(o, r.metadata[k].key);
              o += ':';
              r.metadata[k].value.appendJson(o);
            }
            o += "}}";
          }
          return true;
        });
    out += '}';
    return json(std::move(out));
  }

  // With a policy: the stream carries only what the caller may READ, and ends when its token does.
  void guardStream(SseStreamSpec& spec, const std::optional<Caller>& caller) const {
    if (!policy || !caller) return;
    spec.expiresUnix = caller->expiresUnix;
    spec.accessFilter = [policy = policy, c = *caller](const model::Notification& n) {
      return policy->allows(c, AccessVerb::Read, n.provider, n.service, n.resource);
    };
  }

  void subscribe(SseStreamSpec spec, const std::string& uri, Responder& responder) {
    if (auto ok = sse.open(responder, std::move(spec)); !ok) responder.respond(errorResponse(ok.error(), uri));
  }

  Response plugins() {
    std::string out;
    beginEnvelope(out, "PLUGINS_LIST", "/runtime/plugins", 200);
    out += ",\"plugins\":[";
    const auto all = components();
    for (std::size_t i = 0; i < all.size(); ++i) {
      const auto& c = all[i];
      if (i) out += ',';
      out += "{\"name\":";
      appendString(out, c.name);
      out += ",\"version\":";
      appendString(out, c.version);
      out += ",\"state\":";
      appendString(out, c.state);
      out += ",\"reason\":";
      appendString(out, c.reason);
      out += ",\"builtin\":";
      out += c.builtin ? "true" : "false";
      // Unknown values (a plugin refused before its signature was read) are null, not "".
      auto appendOrNull = [&out](std::string_view key, const std::string& value) {
        out += ",\"";
        out += key;
        out += "\":";
        if (value.empty()) {
          out += "null";
        } else {
          appendString(out, value);
        }
      };
      appendOrNull("signer", c.keyId);
      appendOrNull("health", c.health);
      appendOrNull("sha256", c.sha256);
      out += '}';
    }
    out += "]}";
    return json(std::move(out));
  }

  // Re-reads the configuration's plugins section; answers with one line per plugin.
  void reloadPluginsRoute(Responder responder) {
    PluginReloader reload;
    {
      std::lock_guard lock(componentsMu);
      reload = reloadPlugins;
    }
    if (!reload) {
      return responder.respond(errorResponse(503, "/runtime/plugins/reload", "this gateway has no plugin host"));
    }
    auto shared = std::make_shared<std::optional<Responder>>(std::move(responder));
    reload([shared](Result<std::vector<std::string>> report) {
      if (!shared->has_value()) return;
      Responder r = std::move(**shared);
      shared->reset();
      if (!report) return r.respond(errorResponse(report.error(), "/runtime/plugins/reload"));
      std::string out;
      beginEnvelope(out, "PLUGINS_RELOAD", "/runtime/plugins/reload", 200);
      out += ",\"report\":[";
      for (std::size_t i = 0; i < report->size(); ++i) {
        if (i) out += ',';
        appendString(out, (*report)[i]);
      }
      out += "]}";
      r.respond(json(std::move(out)));
    });
  }

  Response health() {
    std::string out = "{\"status\":\"UP\",\"gateway\":";
    appendString(out, options.gatewayId);
    out += ",\"version\":";
    appendString(out, options.version);
    out += ",\"uptimeMs\":";
    appendInt(out, std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
    out += ",\"providers\":";
    appendInt(out, static_cast<std::int64_t>(model.stats().providers));
    out += ",\"plugins\":[";
    const auto all = components();
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (i) out += ',';
      out += "{\"name\":";
      appendString(out, all[i].name);
      out += ",\"state\":";
      appendString(out, all[i].state);
      out += '}';
    }
    out += "]}";
    return json(std::move(out));
  }
};

RestApi::RestApi(model::Model& model, RestOptions options)
    : impl_(std::make_unique<Impl>(model, std::move(options))) {}

RestApi::~RestApi() { stop(); }

SseHub& RestApi::sse() { return impl_->sse; }

void RestApi::start() {
  impl_->sse.start();
  impl_->timeouts.start();
}

void RestApi::stop() {
  impl_->sse.stop();
  impl_->timeouts.stop();
}

void RestApi::setPluginSource(PluginLister list, PluginReloader reload) {
  std::lock_guard lock(impl_->componentsMu);
  impl_->listPlugins = std::move(list);
  impl_->reloadPlugins = std::move(reload);
}

void RestApi::setExtraMetrics(std::function<std::vector<MetricSample>()> samples) {
  impl_->extraMetrics = std::move(samples);
}

void RestApi::setAccessPolicy(std::shared_ptr<AccessPolicy> policy) { impl_->policy = std::move(policy); }

void RestApi::setConnectionGauge(std::function<std::size_t()> openConnections) {
  impl_->openConnections = std::move(openConnections);
}

void RestApi::handle(Request& req, Responder responder) {
  thread_local std::vector<std::string> segs;
  if (!splitPath(req.path, segs)) {
    return responder.respond(errorResponse(400, req.path, "invalid path: bad percent-encoding or a '.'/'..' segment"));
  }
  Match m = matchRoute(segs, req.method);
  if (!m.entry) {
    if (m.pathMatched) {
      Response r = errorResponse(405, req.path, "method " + req.method + " is not allowed here (allowed: " + m.allow + ")");
      r.headers.push_back({"Allow", m.allow});
      return responder.respond(std::move(r));
    }
    return responder.respond(errorResponse(404, req.path, "no such route: " + req.path));
  }
  for (auto p : m.params) {
    if (!model::isValidIdentifier(p)) {
      auto ok = model::checkIdentifier("path segment", p);
      return responder.respond(errorResponse(400, req.path, ok.error().message));
    }
  }
  auto& I = *impl_;
  const auto& p = m.params;
  const Route route = m.entry->id;

  // Access control, before the model is touched: a 403 must not tell whether the element exists.
  std::optional<Caller> caller;
  Gate gate;
  if (I.policy && route != Route::Health && route != Route::OpenApi) {
    AuthOutcome outcome = I.policy->authenticate(req.header("authorization"));
    if (!outcome.caller) {
      Response r;
      std::string challenge = "Bearer realm=\"gatehouse\"";
      if (outcome.tokenGiven) {
        r = errorResponse(401, req.path, "invalid access token: " +
                                             (outcome.error.empty() ? std::string("refused") : outcome.error));
        challenge += ", error=\"invalid_token\", error_description=\"" + challengeDescription(outcome.error) + "\"";
      } else {
        r = errorResponse(401, req.path, "authentication required: send an access token as 'Authorization: Bearer <token>'");
      }
      r.headers.push_back({"WWW-Authenticate", std::move(challenge)});
      return responder.respond(std::move(r));
    }
    caller = std::move(outcome.caller);
    gate.policy = I.policy.get();
    gate.caller = &*caller;
    bool allowed = false;
    std::string_view what;
    switch (route) {
      case Route::CompleteList:
      case Route::Providers: allowed = gate.describe(""); what = "describe the providers"; break;
      case Route::Provider:
      case Route::Services: allowed = gate.describe(p[0]); what = "describe this provider"; break;
      case Route::Service:
      case Route::Resources: allowed = gate.describe(p[0], p[1]); what = "describe this service"; break;
      case Route::Resource: allowed = gate.describe(p[0], p[1], p[2]); what = "describe this resource"; break;
      case Route::Get:
      case Route::Subscribe: allowed = gate.read(p[0], p[1], p[2]); what = "read this resource"; break;
      case Route::Set: allowed = gate.allows(AccessVerb::Update, p[0], p[1], p[2]); what = "update this resource"; break;
      case Route::Act: allowed = gate.allows(AccessVerb::Act, p[0], p[1], p[2]); what = "act on this resource"; break;
      case Route::Snapshot:
      case Route::SnapshotSubscribe: allowed = gate.read(""); what = "read snapshots"; break;
      case Route::Plugins:
      case Route::PluginsReload:
      case Route::Metrics: allowed = I.policy->isAdmin(*caller); what = "administer the runtime"; break;
      case Route::Health:
      case Route::OpenApi: allowed = true; break;
    }
    if (!allowed) {
      Response r = errorResponse(403, req.path, "forbidden: the caller may not " + std::string(what));
      r.headers.push_back({"WWW-Authenticate", "Bearer realm=\"gatehouse\", error=\"insufficient_scope\""});
      return responder.respond(std::move(r));
    }
  }

  switch (route) {
    case Route::CompleteList: return responder.respond(I.completeList(req, gate));
    case Route::Providers: return responder.respond(I.providersList(req, gate));
    case Route::Provider: return responder.respond(I.describeProvider(p, gate));
    case Route::Services: return responder.respond(I.servicesList(p, gate));
    case Route::Service: return responder.respond(I.describeService(p, gate));
    case Route::Resources: return responder.respond(I.resourcesList(p, gate));
    case Route::Resource: return responder.respond(I.describeResource(p));
    case Route::Get: return responder.respond(I.getValue(p));
    case Route::Set: return I.command(p, true, req.body, std::move(responder));
    case Route::Act: return I.command(p, false, req.body, std::move(responder));
    case Route::Subscribe: {
      const auto uri = uriOf(p);
      auto info = I.model.resource(p[0], p[1], p[2], model::Detail::Names);
      if (!info) return responder.respond(errorResponse(info.error(), uri));
      SseStreamSpec spec;
      spec.kind = SseStreamSpec::Kind::Resource;
      spec.provider = p[0];
      spec.service = p[1];
      spec.resource = p[2];
      I.guardStream(spec, caller);
      return I.subscribe(std::move(spec), uri, responder);
    }
    case Route::Snapshot: return responder.respond(I.snapshot(req, gate));
    case Route::SnapshotSubscribe: {
      auto f = I.filterFrom(req);
      if (!f) return responder.respond(errorResponse(f.error(), "/"));
      SseStreamSpec spec;
      spec.kind = SseStreamSpec::Kind::Snapshot;
      spec.filter = std::move(*f);
      I.guardStream(spec, caller);
      return I.subscribe(std::move(spec), "/", responder);
    }
    case Route::Plugins: return responder.respond(I.plugins());
    case Route::PluginsReload: return I.reloadPluginsRoute(std::move(responder));
    case Route::Health: return responder.respond(I.health());
    case Route::Metrics: {
      Response r;
      r.contentType = "text/plain; version=0.0.4; charset=utf-8";
      r.body = metricsText();
      return responder.respond(std::move(r));
    }
    case Route::OpenApi: {
      Response r;
      r.body = std::string(openApiDocument());
      return responder.respond(std::move(r));
    }
  }
  responder.respond(errorResponse(500, req.path, "unhandled route"));
}

void RestApi::observe(const Request&, int status, std::chrono::nanoseconds latency) {
  auto& I = *impl_;
  if (status >= 100 && status < 600) I.byStatus[static_cast<std::size_t>(status)].fetch_add(1, std::memory_order_relaxed);
  const double seconds = std::chrono::duration<double>(latency).count();
  std::size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
  I.buckets[b].fetch_add(1, std::memory_order_relaxed);
  I.latencyNanos.fetch_add(static_cast<std::uint64_t>(latency.count()), std::memory_order_relaxed);
  I.requests.fetch_add(1, std::memory_order_relaxed);
}

std::string RestApi::metricsText() const {
  auto& I = *impl_;
  const auto st = I.model.stats();
  std::string out;
  out.reserve(4096);
  auto counter = [&](const char* name, const char* help, const char* type, std::uint64_t v) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
    out += name;
    out += ' ';
    out += std::to_string(v);
    out += '\n';
  };
  counter("gatehouse_model_updates_total", "Value updates accepted by the model.", "counter", st.updates);
  counter("gatehouse_model_updates_stale_total", "Updates ignored because older than the stored value.", "counter", st.staleUpdates);
  counter("gatehouse_model_updates_rejected_total", "Updates refused (bad name or type).", "counter", st.rejectedUpdates);
  counter("gatehouse_notifications_dropped_total", "Notifications dropped because a subscriber's queue was full.", "counter", st.notificationsDropped);
  counter("gatehouse_subscriptions", "Active model subscriptions.", "gauge", st.subscriptions);
  counter("gatehouse_providers", "Providers in the model.", "gauge", st.providers);
  counter("gatehouse_resources", "Resources in the model.", "gauge", I.model.resourceCount());
  counter("gatehouse_sse_clients", "Open SSE streams.", "gauge", I.sse.clients());
  counter("gatehouse_sse_events_sent_total", "SSE events written to clients.", "counter", I.sse.eventsSent());
  counter("gatehouse_sse_streams_stalled_total", "SSE streams closed because the client stopped reading.", "counter", I.sse.stalledStreamsClosed());
  counter("gatehouse_sse_events_dropped_total", "SSE events a client missed (slow client); each is signalled with a 'lagged' event.", "counter", I.sse.eventsDropped());
  if (I.openConnections) counter("gatehouse_http_connections_open", "Open HTTP connections.", "gauge", I.openConnections());
  out += "# HELP gatehouse_http_requests_total HTTP requests answered, by status code.\n";
  out += "# TYPE gatehouse_http_requests_total counter\n";
  for (std::size_t code = 100; code < I.byStatus.size(); ++code) {
    const auto v = I.byStatus[code].load(std::memory_order_relaxed);
    if (v == 0) continue;
    out += "gatehouse_http_requests_total{code=\"" + std::to_string(code) + "\"} " + std::to_string(v) + "\n";
  }
  out += "# HELP gatehouse_http_request_duration_seconds Time from complete request to queued response.\n";
  out += "# TYPE gatehouse_http_request_duration_seconds histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b <= kBuckets.size(); ++b) {
    cumulative += I.buckets[b].load(std::memory_order_relaxed);
    std::string le;
    if (b < kBuckets.size()) {
      json::appendDouble(le, kBuckets[b]);
    } else {
      le = "+Inf";
    }
    out += "gatehouse_http_request_duration_seconds_bucket{le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  std::string sum;
  json::appendDouble(sum, static_cast<double>(I.latencyNanos.load(std::memory_order_relaxed)) / 1e9);
  out += "gatehouse_http_request_duration_seconds_sum " + sum + "\n";
  out += "gatehouse_http_request_duration_seconds_count " + std::to_string(I.requests.load(std::memory_order_relaxed)) + "\n";
  if (I.extraMetrics) {
    for (const auto& m : I.extraMetrics()) counter(m.name.c_str(), m.help.c_str(), m.gauge ? "gauge" : "counter", m.value);
  }
  return out;
}

}  // namespace gatehouse::core::rest
