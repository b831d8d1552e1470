#pragma once
// CoapBridge: CoAP devices as Gatehouse resources (libcoap 3, OpenSSL backend), both ways
// (docs/coap-bridge.md):
//   - client side: the devices of `devices_file` (payload/devices.h) are discovered from
//     /.well-known/core or taken from config, observed (RFC 7641, re-registered when their
//     Max-Age lapses) or polled, pinged when quiet; a device that does not answer turns its
//     provider's admin.lifecycleStatus to INACTIVE, and back to ACTIVE when it answers again.
//     SET becomes a PUT and ACT a POST to the device; the CoAP response code becomes the REST
//     status, and no answer within timeout_ms a 504;
//   - server side: a push endpoint where devices PUT/POST a value to /{provider}/{service}/
//     {resource}, or a SenML pack to /{provider}[/{service}];
//   - UDP and DTLS, with pre-shared keys (psk_keys: server side; a device's psk_key: client side)
//     and X.509 certificates (ca_file, cert_file, key_file: both sides).
// Payloads are read by their Content-Format option (payload/payload.h), never guessed; a resource
// marked e2e keeps its payload, an end-to-end envelope, as bytes.
//
// Threads: as sdk::Bridge (bridge.h). libcoap is not thread-safe: one I/O thread (`coap-io`) owns
// the libcoap context and makes every libcoap call; onSet/onAct hand commands to it through a
// queue and an eventfd, and kit::PendingRequests answers them (or times them out) from it.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gatehouse/kit/backoff.h>
#include <gatehouse/kit/result.h>
#include <gatehouse/sdk/bridge.h>

#include "gatehouse/bridge/coap/devices.h"
#include "gatehouse/bridge/coap/payload.h"

namespace gatehouse::bridge::coap {

extern const sdk::ConfigSchema kCoapConfigSchema;

// The REST error of a SET/ACT the device answered with CoAP code cls.detail (4.04 -> NotFound, ...;
// docs/coap-bridge.md has the table). 2.xx is not an error and is not passed here.
kit::ErrorCode errorCodeForCoap(int cls, int detail);

struct CoapStats {
  std::uint64_t requests = 0;            // PUT/POST received on the push endpoint
  std::uint64_t valuesStored = 0;        // values stored, from pushes, notifications and polls
  std::uint64_t badRequests = 0;         // push requests refused (path, Content-Format, payload, size)
  std::uint64_t badPayloads = 0;         // device answers or notifications that could not be read
  std::uint64_t dtlsRefused = 0;         // DTLS handshakes refused (unknown identity, wrong key or certificate)
  std::uint64_t notifications = 0;       // observe notifications received
  std::uint64_t polls = 0;               // GETs of resources that are not observed
  std::uint64_t timeouts = 0;            // device requests without an answer within timeout_ms
  std::uint64_t observationsRefused = 0; // observations not made because max_observations was reached
  std::uint64_t sessionLimitHits = 0;    // new push-endpoint peers beyond max_sessions
  std::uint64_t duplicates = 0;          // retransmitted push requests answered again, not stored twice
  std::uint64_t commandsSent = 0;        // SET/ACT sent to devices
  std::uint64_t commandsFailed = 0;      // SET/ACT answered with an error code or not at all
};

class CoapBridge final : public sdk::Bridge {
 public:
  CoapBridge();
  ~CoapBridge() override;

  sdk::Status configure(const sdk::Config& config) override;
  sdk::Status start() override;
  void stop() override;
  void onSet(sdk::Request request, const std::string& provider, const std::string& service, const std::string& resource,
             const sdk::Value& value) override;
  void onAct(sdk::Request request, const std::string& provider, const std::string& service, const std::string& resource,
             const sdk::ActParams& params) override;

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
  friend struct Io;
  void reportBad(const std::string& peer, const std::string& reason);
  void declareOnce(const std::string& provider, const std::string& service, const std::string& resource,
                   sdk::ValueType type, const std::string& unit);
  void publishStats(bool force);
  void sendCommand(sdk::Request request, const std::string& provider, const std::string& service, const std::string& resource,
                   bool set, const sdk::Value& setValue,
                   const std::function<void(const ResourceConfig&, std::string&, std::uint16_t&)>& encode);

  std::unique_ptr<Settings> settings_;
  std::vector<DeviceConfig> devices_;
  std::unique_ptr<Io> io_;
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::vector<std::string> bound_;

  std::mutex declaredMu_;
  std::set<std::string> declared_;

  struct Counters {
    std::atomic<std::uint64_t> requests{0}, stored{0}, bad{0}, badPayloads{0}, dtlsRefused{0}, notifications{0}, polls{0},
        timeouts{0}, observationsRefused{0}, sessionLimitHits{0}, duplicates{0}, commandsSent{0}, commandsFailed{0};
  } counters_;
  std::mutex statsMu_;
  CoapStats lastPublished_;

  std::mutex badMu_;
  std::chrono::steady_clock::time_point lastBadLog_{};
  std::uint64_t badSinceLog_ = 0;
  kit::StateReporter state_;
};

}  // namespace gatehouse::bridge::coap
