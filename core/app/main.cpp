// gatehouse: the gateway binary. `gatehouse --help` lists the commands.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <pthread.h>

#include "common/log.h"
#include "config/config.h"
#include "http/server.h"
#include "model/model.h"
#include "rest/rest_api.h"
#include "sim/simulator.h"

#ifndef GATEHOUSE_VERSION
#define GATEHOUSE_VERSION "0.0.0"
#endif

namespace {

using namespace gatehouse::core;

constexpr const char* kUsage =
    "Usage:\n"
    "  gatehouse run --config FILE     start the gateway (SIGTERM/SIGINT stop it cleanly)\n"
    "  gatehouse config check FILE     validate a config file; prints every problem as FILE:LINE:COL: key: message\n"
    "  gatehouse version               print the version\n"
    "  gatehouse --help                this text\n"
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
  std::printf("%s: OK\n", path.c_str());
  return 0;
}

int run(const std::string& path) {
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
  rest::RestApi api(model, ro);

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

  std::unique_ptr<sim::Simulator> simulator;
  std::vector<rest::ComponentStatus> components;
  if (cfg.simulator.enabled) {
    sim::SimulatorOptions opts;
    opts.temperatureSensors = cfg.simulator.temperatureSensors;
    opts.lights = cfg.simulator.lights;
    opts.intervalMs = cfg.simulator.intervalMs;
    opts.providerPrefix = cfg.simulator.providerPrefix;
    simulator = std::make_unique<sim::Simulator>(model, opts);
    if (auto ok = simulator->start(); !ok) {
      log::error("simulator", "failed to start: " + ok.error().message);
      components.push_back({"simulator", GATEHOUSE_VERSION, "failed", ok.error().message, true});
      simulator.reset();
    } else {
      components.push_back({"simulator", GATEHOUSE_VERSION, "loaded", "", true});
    }
  }
  api.setComponents(components);
  api.start();
  if (auto ok = server.start(); !ok) {
    log::error("http", ok.error().message);
    api.stop();
    if (simulator) simulator->stop();
    return 1;
  }
  log::info("gatehouse", "gateway '" + cfg.gateway.id + "' " GATEHOUSE_VERSION " listening on http://" +
                             (cfg.http.listen.find(':') != std::string::npos ? "[" + cfg.http.listen + "]" : cfg.http.listen) +
                             ":" + std::to_string(server.port()) + " (auth: " + cfg.auth.mode + ", config: " + path + ")");

  int sig = 0;
  sigwait(&signals, &sig);
  log::info("gatehouse", std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") + ", shutting down");
  if (simulator) simulator->stop();
  api.stop();
  server.stop();
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
      return run(path);
    } catch (const std::exception& e) {
      log::error("gatehouse", std::string("fatal: ") + e.what());
      return 1;
    }
  }
  return usage(("unknown command: " + std::string(args[0])).c_str());
}
