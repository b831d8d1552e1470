// bench/baseline/poco_fixed_server: the baseline of bench/rest_get.sh. A bare Poco::Net::HTTPServer
// with POCO's defaults (HTTPServerParams: keep-alive on; ThreadPool::defaultPool(), 2..16 threads)
// answering every request with the same 100-byte JSON body. It does as little as an HTTP server
// can, so the ratio gateway/baseline shows what our stack costs on top of plain HTTP.
//
// Usage: poco_fixed_server PORT      binds 127.0.0.1:PORT (0 = any free port), prints
//        "listening on 127.0.0.1:<port>" once accepting, runs until SIGINT/SIGTERM.
//
// Threads: main thread waits for signals; POCO's pool threads serve requests.

#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <istream>
#include <limits>
#include <string_view>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>

namespace {

// About the size of the gateway's answer for one resource; exactly 100 bytes.
constexpr std::string_view kBody =
    R"({"name":"temperature","type":"double","value":21.5,"timestamp":1700000000000,"unit":"degC","x":"00"})";
static_assert(kBody.size() == 100, "the baseline body must be exactly 100 bytes");

class FixedHandler : public Poco::Net::HTTPRequestHandler {
 public:
  void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override {
    // Drain any request body so keep-alive stays usable.
    request.stream().ignore(std::numeric_limits<std::streamsize>::max());
    response.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
    response.setContentType("application/json");
    response.sendBuffer(kBody.data(), kBody.size());
  }
};

class FixedFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new FixedHandler;
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: poco_fixed_server PORT\n");
    return 2;
  }
  char* end = nullptr;
  const long port = std::strtol(argv[1], &end, 10);
  if (!end || *end != '\0' || port < 0 || port > 65535) {
    std::fprintf(stderr, "poco_fixed_server: bad port '%s'\n", argv[1]);
    return 2;
  }

  // Signals are taken synchronously by the main thread; POCO's threads inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  try {
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;   // keep-alive on by default
    Poco::Net::HTTPServer server(new FixedFactory, socket, params);              // ThreadPool::defaultPool()
    server.start();
    std::printf("listening on 127.0.0.1:%u\n", static_cast<unsigned>(socket.address().port()));
    std::fflush(stdout);
    int sig = 0;
    sigwait(&signals, &sig);
    server.stopAll(true);
  } catch (const Poco::Exception& e) {
    std::fprintf(stderr, "poco_fixed_server: %s\n", e.displayText().c_str());
    return 1;
  }
  return 0;
}
