#pragma once
// The northbound REST API (docs/rest-api.md): sensiNact's routes and envelopes, SSE streams,
// /health, /metrics (Prometheus text) and /openapi.json.
//
// Threads: handle() runs on HTTP loop threads and never blocks: reads copy from the model,
// SET/ACT complete asynchronously when the owner answers (the REST layer bounds the wait with
// RestOptions::commandTimeoutMs), SUBSCRIBE hands the connection to the SseHub.

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <cstdint>
#include <vector>

#include <functional>

#include "http/server.h"
#include "model/model.h"
#include "rest/access.h"
#include "rest/sse.h"

namespace gatehouse::core::rest {

struct ComponentStatus {
  std::string name;
  std::string version;
  std::string state;    // loaded | refused | stopped | failed
  std::string reason;
  bool builtin = true;
  std::string keyId;     // signer's key id ("" for built-in parts)
  std::string health;    // running | degraded | failed as the plugin reports it; "" when not loaded
  std::string sha256;    // of the loaded file
};

// Lists the plugins (any thread), and reloads them: `reload` is called on a REST thread and must
// not block; it calls `done` exactly once, from any thread, with one line per plugin.
// A metric another part of the gateway exposes on /metrics (name in Prometheus style).
struct MetricSample {
  std::string name;
  std::string help;
  std::uint64_t value = 0;
  bool gauge = false;
};

using PluginLister = std::function<std::vector<ComponentStatus>()>;
using PluginReloader = std::function<void(std::function<void(Result<std::vector<std::string>>)> done)>;

struct RestOptions {
  std::string gatewayId = "gatehouse";
  std::string version = "0.0.0";
  SseOptions sse;
  int commandTimeoutMs = 10000;
};

// One route of the API: the router and the OpenAPI test both read this table.
struct RouteSpec {
  const char* pattern;      // e.g. "/sensinact/providers/{provider}"
  const char* methods;      // space-separated, e.g. "GET HEAD"
};
const std::vector<RouteSpec>& routeTable();

// The OpenAPI 3.1 document served at /openapi.json (docs/openapi.json, embedded at build time).
std::string_view openApiDocument();

class RestApi {
 public:
  RestApi(model::Model& model, RestOptions options);
  ~RestApi();

  void start();   // starts the SSE fan-out
  void stop();    // ends every stream

  void handle(http::Request& request, http::Responder responder);
  // Wire to http::Server::setObserver for request metrics.
  void observe(const http::Request& request, int status, std::chrono::nanoseconds latency);
  void setPluginSource(PluginLister list, PluginReloader reload);
  void setConnectionGauge(std::function<std::size_t()> openConnections);
  // Set once before start(); called on a REST thread for each GET /metrics.
  void setExtraMetrics(std::function<std::vector<MetricSample>()> samples);
  // Set once before start() (handle() reads it without a lock). nullptr (the default) serves
  // every request to anyone: auth mode `none`, loopback listeners only. With a policy, requests
  // are authenticated, checked and filtered as access.h describes.
  void setAccessPolicy(std::shared_ptr<AccessPolicy> policy);

  std::string metricsText() const;
  SseHub& sse();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gatehouse::core::rest
