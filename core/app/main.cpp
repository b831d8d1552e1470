// gatehouse: the gateway binary. `gatehouse --help` lists the commands.
#include <condition_variable>
#include <csignal>
#include <cerrno>
#include <cstdlib>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <pthread.h>

#include "common/log.h"
#include "gatehouse/kit/thread_name.h"
#include "config/config.h"
#include "oauth2_access.h"
#include "http/server.h"
#include "model/model.h"
#include "northbound/mqtt_publisher.h"
#include "rest/rest_api.h"
#include "e2e_cli.h"
#include "plugin_cli.h"
#include "plugin_host/plugin_host.h"

#ifndef GATEHOUSE_VERSION
#define GATEHOUSE_VERSION "0.0.0"
#endif

namespace {

using namespace gatehouse::core;

constexpr const char* kUsage =
    "Usage:\n"
    "  gatehouse run --config FILE     start the gateway (SIGTERM/SIGINT stop it cleanly)\n"
    "  gatehouse config check FILE     validate a config file; prints every problem as FILE:LINE:COL: key: message\n"
    "  gatehouse plugin keygen|sign|verify|list ...  make keys, sign and check plugins (gatehouse plugin --help)\n"
    "  gatehouse e2e authority|keygen|publish|subscribe ...  end-to-end encryption (gatehouse e2e --help)\n"
    "  gatehouse version               print the version\n"
    "  gatehouse --help                this text\n"
    "\n"
    "SIGHUP (or POST /sensinact/runtime/plugins/reload) re-reads the config's plugins section and\n"
    "hot-replaces plugins whose signed file changed.\n"
    "\n"
    "Exit codes: 0 ok, 1 runtime failure, 2 usage error, 3 invalid configuration.\n";

int usage(const char* problem) {
  if (problem) std::fprintf(stderr, "gatehouse: %s\n\n", problem);
  std::fputs(kUsage, problem ? stderr : stdout);
  return problem ? 2 : 0;
}

int configCheck(const std::string& path) {
  auto cfg = config::loadFile(path);
  if (!cfg) {
    std::fprintf(stderr, "%s\n", cfg.error().message.c_str());
    return 3;
  }
  // The authorization rules are checked as the gateway would at start (no IdP is contacted).
  if (cfg->auth.mode == "oauth2") {
    if (auto access = gatehouse::app::OAuth2Access::create(cfg->auth.oauth2, path); !access) {
      std::fprintf(stderr, "%s: %s\n", path.c_str(), access.error().message.c_str());
      return 3;
    }
  }
  // Plugin blocks are checked against the schemas the (verified) plugins declare.
  model::Model model;
  plugin_host::PluginHost host(model, plugin_host::optionsFromConfig(*cfg));
  auto checked = host.checkSettings(cfg->plugins);
  if (!checked) {
    std::fprintf(stderr, "%s\n", checked.error().message.c_str());
    return 3;
  }
  for (const auto& note : *checked) std::fprintf(stderr, "%s: warning: %s\n", path.c_str(), note.c_str());
  std::printf("%s: OK\n", path.c_str());
  return 0;
}

// The dynamic loader must not take libraries from the environment: plugins are loaded only as
// verified bytes, and their dependencies only from the system's library path. A process started
// with LD_PRELOAD, LD_LIBRARY_PATH or LD_AUDIT re-executes itself without them before anything
// else runs (SECURITY-CHECKLIST B10). Returns only when the environment is already clean.
void cleanLoaderEnvironment(char** argv) {
  static const char* const kVariables[] = {"LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT"};
  std::string removed;
  for (const char* name : kVariables) {
    if (std::getenv(name) == nullptr) continue;
    ::unsetenv(name);
    removed += removed.empty() ? name : std::string(",") + name;
  }
  if (removed.empty()) {
    if (const char* previous = std::getenv("GATEHOUSE_CLEANED_ENVIRONMENT")) {
      log::warn("gatehouse", std::string("removed ") + previous + " from the environment (plugins never load libraries from it)");
      ::unsetenv("GATEHOUSE_CLEANED_ENVIRONMENT");
    }
    return;
  }
  ::setenv("GATEHOUSE_CLEANED_ENVIRONMENT", removed.c_str(), 1);
  ::execv("/proc/self/exe", argv);
  log::error("gatehouse", "cannot re-execute without " + removed + ": " + std::strerror(errno));
  std::exit(1);
}

// Runs plugin lifecycle work (SIGHUP and REST reloads) one task at a time, off the HTTP loops.
class ControlLoop {
 public:
  ControlLoop() : thread_([this] { run(); }) {}
  ~ControlLoop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void post(std::function<void()> task) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
  }

 private:
  void run() {
    gatehouse::kit::setThreadName("control");
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;
};

std::vector<rest::ComponentStatus> componentsOf(const plugin_host::PluginHost& host) {
  std::vector<rest::ComponentStatus> out;
  for (const auto& s : host.statuses()) {
    rest::ComponentStatus c;
    c.name = s.name;
    c.version = s.version;
    c.state = s.state;
    c.reason = s.reason;
    c.keyId = s.keyId;
    c.health = s.health;
    c.sha256 = s.sha256;
    c.builtin = false;
    out.push_back(std::move(c));
  }
  return out;
}

int run(const std::string& path, char** argv) {
  cleanLoaderEnvironment(argv);
  auto loaded = config::loadFile(path);
  if (!loaded) {
    std::fprintf(stderr, "%s\n", loaded.error().message.c_str());
    return 3;
  }
  const config::Config& cfg = *loaded;
  log::Level level;
  if (log::parseLevel(cfg.gateway.logLevel, level)) log::setLevel(level);

  // Signals are taken synchronously by this thread; every thread started below inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  model::Model model;
  rest::RestOptions ro;
  ro.gatewayId = cfg.gateway.id;
  ro.version = GATEHOUSE_VERSION;
  ro.sse.maxClients = cfg.http.sseMaxClients;
  ro.sse.queueCapacity = cfg.http.sseQueue;
  ro.sse.heartbeatMs = cfg.http.sseHeartbeatMs;
  ro.sse.stallTimeoutMs = cfg.http.sseStallTimeoutMs;
  ro.commandTimeoutMs = cfg.http.commandTimeoutMs;
  rest::RestApi api(model, ro);
  // auth.mode oauth2: bearer tokens from the IdP, rules per role (docs/security.md). The keys are
  // fetched before the listener opens; if the IdP is not reachable yet, tokens are refused until
  // it is (never accepted without keys).
  std::shared_ptr<gatehouse::app::OAuth2Access> access;
  if (cfg.auth.mode == "oauth2") {
    auto made = gatehouse::app::OAuth2Access::create(cfg.auth.oauth2, path);
    if (!made) {
      std::fprintf(stderr, "%s: %s\n", path.c_str(), made.error().message.c_str());
      return 3;
    }
    access = std::move(*made);
    access->start();
    api.setAccessPolicy(access);
  }

  http::ServerOptions so;
  so.address = cfg.http.listen;
  so.port = cfg.http.port;
  so.threads = cfg.http.threads;
  so.maxConnections = cfg.http.maxConnections;
  so.maxBodyBytes = cfg.http.maxBodyBytes;
  so.maxHeaderBytes = cfg.http.maxHeaderBytes;
  so.headerTimeoutMs = cfg.http.headerTimeoutMs;
  so.bodyTimeoutMs = cfg.http.bodyTimeoutMs;
  so.idleTimeoutMs = cfg.http.idleTimeoutMs;
  http::Server server(so, [&api](http::Request& req, http::Responder res) { api.handle(req, std::move(res)); });
  server.setObserver([&api](const http::Request& req, int status, std::chrono::nanoseconds latency) {
    api.observe(req, status, latency);
  });
  api.setConnectionGauge([&server] { return server.openConnections(); });

  // Northbound MQTT starts before the plugins (so their first values are published too) and stops
  // after them (so their last values are flushed).
  std::optional<northbound::MqttPublisher> northboundMqtt;
  if (cfg.mqttNorthbound.enabled) {
    northboundMqtt.emplace(model, northbound::optionsFromConfig(cfg));
    if (auto ok = northboundMqtt->start(); !ok) {
      std::fprintf(stderr, "%s: %s\n", path.c_str(), ok.error().message.c_str());
      return 3;
    }
  }
  if (northboundMqtt || access) {
    api.setExtraMetrics([&northboundMqtt, access] {
      std::vector<rest::MetricSample> out;
      if (northboundMqtt) {
        const auto st = northboundMqtt->stats();
        out.insert(out.end(), {
            {"gatehouse_mqtt_northbound_published_total", "Values published to the northbound broker.", st.published, false},
            {"gatehouse_mqtt_northbound_dropped_total", "Values not published: the queue or the offline buffer was full.",
             st.droppedQueueFull + st.droppedBufferFull, false},
            {"gatehouse_mqtt_northbound_failures_total", "Values the client accepted but failed to publish.", st.publishFailures, false},
            {"gatehouse_mqtt_northbound_resent_total", "QoS 1/2 values in flight when a connection broke, sent again.", st.resent, false},
            {"gatehouse_mqtt_northbound_queued", "Values waiting to be published.", st.queued + st.pending, true},
            {"gatehouse_mqtt_northbound_connected", "1 while connected to the northbound broker.", st.connected ? 1u : 0u, true},
        });
      }
      if (access) {
        const auto st = access->stats();
        const auto keys = access->keyStats();
        out.insert(out.end(), {
            {"gatehouse_oauth2_tokens_verified_total", "Bearer tokens verified (signature and claims), cache misses.", st.verified, false},
            {"gatehouse_oauth2_tokens_cached_total", "Requests whose token was found in the verified-token cache.", st.cacheHits, false},
            {"gatehouse_oauth2_tokens_refused_total", "Bearer tokens refused (401).", st.refused, false},
            {"gatehouse_oauth2_jwks_fetches_total", "Discovery/JWKS fetch attempts.", keys.fetches, false},
            {"gatehouse_oauth2_jwks_failures_total", "Discovery/JWKS fetches that failed.", keys.failures, false},
        });
      }
      return out;
    });
  }
  plugin_host::PluginHost plugins(model, plugin_host::optionsFromConfig(cfg));
  if (auto ok = plugins.loadAll(cfg.plugins); !ok) {
    std::fprintf(stderr, "%s\n", ok.error().message.c_str());
    plugins.stopAll();
    return 3;
  }
  ControlLoop control;
  // Re-reads the config file and applies its `plugins` section; the other sections need a restart.
  auto reload = [&plugins, path](const char* trigger) -> Result<std::vector<std::string>> {
    auto fresh = config::loadFile(path);
    if (!fresh) {
      log::error("gatehouse", std::string(trigger) + ": the configuration is invalid, nothing changed:\n" + fresh.error().message);
      return makeError(ErrorCode::BadRequest, "the configuration is invalid, nothing changed: " + fresh.error().message);
    }
    log::info("gatehouse", std::string(trigger) + ": reloading plugins from " + path);
    auto report = plugins.reload(fresh->plugins);
    for (const auto& line : report) log::info("gatehouse", "reload: " + line);
    return report;
  };
  api.setPluginSource([&plugins] { return componentsOf(plugins); },
                      [&control, reload](std::function<void(Result<std::vector<std::string>>)> done) {
                        control.post([reload, done = std::move(done)] { done(reload("POST /sensinact/runtime/plugins/reload")); });
                      });
  api.start();
  if (auto ok = server.start(); !ok) {
    log::error("http", ok.error().message);
    api.stop();
    plugins.stopAll();
    return 1;
  }
  log::info("gatehouse", "gateway '" + cfg.gateway.id + "' " GATEHOUSE_VERSION " listening on http://" +
                             (cfg.http.listen.find(':') != std::string::npos ? "[" + cfg.http.listen + "]" : cfg.http.listen) +
                             ":" + std::to_string(server.port()) + " (auth: " + cfg.auth.mode + ", config: " + path + ")");

  int sig = 0;
  for (;;) {
    sigwait(&signals, &sig);
    if (sig != SIGHUP) break;
    control.post([reload] { (void)reload("SIGHUP"); });
  }
  log::info("gatehouse", std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") + ", shutting down");
  server.stop();
  api.stop();
  plugins.stopAll();
  if (northboundMqtt) northboundMqtt->stop();
  log::info("gatehouse", "stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty()) return usage("no command given");
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") return usage(nullptr);
  if (args[0] == "version" || args[0] == "--version") {
    std::printf("gatehouse %s\n", GATEHOUSE_VERSION);
    return 0;
  }
  if (args[0] == "plugin") return gatehouse::app::pluginCommand(args);
  if (args[0] == "e2e") return gatehouse::app::e2eCommand(args);
  if (args[0] == "config") {
    if (args.size() != 3 || args[1] != "check") return usage("expected: gatehouse config check FILE");
    return configCheck(std::string(args[2]));
  }
  if (args[0] == "run") {
    std::string path;
    for (std::size_t i = 1; i < args.size(); ++i) {
      if ((args[i] == "--config" || args[i] == "-c") && i + 1 < args.size()) {
        path = args[++i];
      } else if (args[i].rfind("--config=", 0) == 0) {
        path = args[i].substr(9);
      } else {
        return usage(("unknown option for run: " + std::string(args[i])).c_str());
      }
    }
    if (path.empty()) return usage("run needs --config FILE");
    try {
      return run(path, argv);
    } catch (const std::exception& e) {
      log::error("gatehouse", std::string("fatal: ") + e.what());
      return 1;
    }
  }
  return usage(("unknown command: " + std::string(args[0])).c_str());
}
