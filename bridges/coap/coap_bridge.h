#pragma once
// CoapBridge: CoAP devices as Gatehouse resources (libcoap 3, OpenSSL backend). This first part is
// the server side: a CoAP endpoint (UDP, and DTLS with pre-shared keys) where devices that push
// PUT or POST their readings to /{provider}/{service}/{resource}, or POST a SenML pack to
// /{provider} or /{provider}/{service} (record names complete the path). The payload is read by
// its Content-Format option (payload/payload.h), never guessed. The client side (observe, poll,
// SET/ACT to devices) and certificates come next (bridges/coap/README.md).
//
//   plugins:
//     coap:
//       listen: ["127.0.0.1:5683"]        # CoAP over UDP; port 0 = a free port (logged)
//       dtls_listen: ["127.0.0.1:5684"]   # CoAP over DTLS (needs psk_keys)
//       psk_keys: ["device-1=hex:00112233...", "device-2=text:secret"]   # secret; identity=key
//       max_sessions: 256                 # peers at once (libcoap idle sessions), counted when hit
//       max_payload_bytes: 16384
//       bad_request_log_interval_s: 10
//
// Threads: as sdk::Bridge (bridge.h). libcoap is not thread-safe: one I/O thread (`coap-io`) owns
// the libcoap context and runs every libcoap call and handler; start() and stop() only start and
// join it.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gatehouse/kit/backoff.h>
#include <gatehouse/kit/result.h>
#include <gatehouse/sdk/bridge.h>

#include "gatehouse/bridge/coap/payload.h"

namespace gatehouse::bridge::coap {

extern const sdk::ConfigSchema kCoapConfigSchema;

struct CoapStats {
  std::uint64_t requests = 0;        // PUT/POST received on the push endpoint
  std::uint64_t valuesStored = 0;
  std::uint64_t badRequests = 0;     // refused (path, Content-Format, payload)
  std::uint64_t dtlsRefused = 0;     // DTLS handshakes refused (unknown identity, wrong key)
};

class CoapBridge final : public sdk::Bridge {
 public:
  CoapBridge();
  ~CoapBridge() override;

  sdk::Status configure(const sdk::Config& config) override;
  sdk::Status start() override;
  void stop() override;

  CoapStats stats() const;
  std::vector<std::string> boundAddresses() const;

  struct Settings;
  struct Io;   // the libcoap side (coap_bridge.cpp)

  // Called by the I/O thread's handlers.
  struct PushResult {
    int code = 204;            // CoAP response code as c.dd (204 = 2.04 Changed)
    std::string diagnostic;    // the payload of an error response
  };
  PushResult handlePush(const std::vector<std::string>& path, std::optional<std::uint16_t> contentFormat,
                        std::string_view payload, const std::string& peer);
  void noteDtlsRefused(const std::string& peer, const std::string& why);

 private:
  void reportBad(const std::string& peer, const std::string& reason);
  void declareOnce(const std::string& provider, const std::string& service, const std::string& resource,
                   sdk::ValueType type, const std::string& unit);

  std::unique_ptr<Settings> settings_;
  std::unique_ptr<Io> io_;
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::vector<std::string> bound_;

  std::mutex declaredMu_;
  std::set<std::string> declared_;

  std::atomic<std::uint64_t> requests_{0}, stored_{0}, bad_{0}, dtlsRefused_{0};
  std::mutex badMu_;
  std::chrono::steady_clock::time_point lastBadLog_{};
  std::uint64_t badSinceLog_ = 0;
  kit::StateReporter state_;
};

}  // namespace gatehouse::bridge::coap
