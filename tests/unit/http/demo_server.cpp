// Not a test: serves a fixed 100-byte JSON body on every path, for `wrk` sanity checks.
// Usage: http_demo_server [port] [threads]
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <unistd.h>

#include "http/server.h"

int main(int argc, char** argv) {
  using namespace gatehouse::core::http;
  ServerOptions o;
  o.port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 8899);
  o.threads = argc > 2 ? std::atoi(argv[2]) : 2;
  std::string body = "{\"type\":\"GET_RESPONSE\",\"uri\":\"/p/s/r\",\"statusCode\":200,\"response\":{\"value\":29.6}";
  body.resize(99, ' ');
  body += '}';
  Server server(o, [&body](Request&, Responder responder) {
    Response r;
    r.body = body;
    responder.respond(std::move(r));
  });
  auto started = server.start();
  if (!started) {
    std::fprintf(stderr, "%s\n", started.error().message.c_str());
    return 1;
  }
  std::printf("listening on %u\n", server.port());
  std::fflush(stdout);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  int sig = 0;
  sigwait(&set, &sig);
  server.stop();
  return 0;
}
