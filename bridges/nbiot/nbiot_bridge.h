#pragma once
// NbiotBridge: NB-IoT devices (Quectel BC95/BC68 modules) that wake, send one UDP datagram and
// sleep. Each datagram is decoded with the declared frame layouts (layout/, docs/nbiot-frames.md);
// the frame's provider id names the device's provider, its fields become resources. SET/ACT on a
// device are queued and sent as the UDP reply to that device's next uplink (docs/nbiot-bridge.md).
//
//   plugins:
//     nbiot:
//       listen: ["127.0.0.1:5600", "[::1]:5600"]   # UDP; port 0 = a free port (logged)
//       layouts_file: etc/nbiot/layouts.yaml       # required
//       input: auto                 # auto | binary | hex (operator platforms forward hex text)
//       rate_limit_per_s: 20        # per source address (token bucket) ...
//       rate_burst: 40              # ... and its burst
//       max_providers: 1000         # devices at most; more are refused and counted
//       downlink_expiry_ms: 60000   # a queued SET/ACT not sent by then fails (timeout)
//       max_downlinks_per_device: 8
//       mac_hash_key: ...           # secret: key of the MAC hashes (rotated daily); "" = random per run
//       raw_macs: false             # true: raw MAC addresses enter the model (personal data)
//       receive_buffer_bytes: 1048576
//       stats_provider: nbiot-bridge
//       bad_frame_log_interval_s: 10
//
// Threads: as sdk::Bridge (bridge.h). Internally: one receiver thread (`nbiot-rx`) reads every
// socket, decodes, pushes to the host and sends the queued downlinks of the device that just
// spoke; a kit::Timer thread (`nbiot-timer`) expires downlinks at their deadline, pushes the
// bridge's statistics and flushes the bad-frame reports. onSet/onAct (host threads) only encode
// and queue. Every shared structure is behind mu_ (devices, queues) or atomic (counters).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>

#include <gatehouse/kit/backoff.h>
#include <gatehouse/kit/pending_requests.h>
#include <gatehouse/kit/result.h>
#include <gatehouse/kit/timer.h>
#include <gatehouse/sdk/bridge.h>

#include "gatehouse/bridge/nbiot/layout.h"

namespace gatehouse::bridge::nbiot {

extern const sdk::ConfigSchema kNbiotConfigSchema;

// The bridge's counters (the stats provider's resources, and for tests).
struct NbiotStats {
  std::uint64_t framesReceived = 0;
  std::uint64_t framesAccepted = 0;
  std::uint64_t framesRejected = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t rateLimited = 0;
  std::uint64_t sourceRefused = 0;
  std::uint64_t providerCapHits = 0;
  std::uint64_t framesLost = 0;
  std::uint64_t deviceResets = 0;
  std::uint64_t downlinksSent = 0;
  std::uint64_t downlinksExpired = 0;
};

class NbiotBridge final : public sdk::Bridge {
 public:
  NbiotBridge();
  ~NbiotBridge() override;

  sdk::Status configure(const sdk::Config& config) override;
  sdk::Status start() override;
  void stop() override;
  void onSet(sdk::Request request, const std::string& provider, const std::string& service,
             const std::string& resource, const sdk::Value& value) override;
  void onAct(sdk::Request request, const std::string& provider, const std::string& service,
             const std::string& resource, const sdk::ActParams& params) override;

  NbiotStats stats() const;
  // The addresses actually bound (port 0 resolved), in the order of `listen`.
  std::vector<std::string> boundAddresses() const;

  // One datagram as the receiver thread handles it (public for unit tests: no socket needed;
  // socketIndex -1 = no socket, downlinks are then "sent" nowhere and counted).
  void handleDatagram(std::string_view datagram, const sockaddr* source, socklen_t sourceLength, int socketIndex);

  // The keyed hash of a MAC address for the UTC day of nowMs: 16 hex digits of
  // HMAC-SHA256(HMAC-SHA256(key, "gatehouse-nbiot-mac-v1 " + YYYY-MM-DD), mac).
  static std::string macHash(const std::string& key, const std::string& mac, std::int64_t nowMs);

  struct Settings;   // the plugin's settings (defined with their table in nbiot_bridge.cpp)

 private:
  struct Queued {
    std::uint64_t id = 0;
    std::string resource;     // service/name
    std::int64_t queuedAtMs = 0;
    std::int64_t expiresAtMs = 0;
  };
  struct Device {
    std::size_t layout = 0;
    bool counterSeen = false;
    std::uint64_t counter = 0;
    std::uint64_t lost = 0, resets = 0, sent = 0, expired = 0;
    sockaddr_storage source{};
    socklen_t sourceLength = 0;
    int socketIndex = -1;
    std::deque<Queued> queue;
  };
  struct Downlink {
    std::string provider;
    std::string bytes;
    bool action = false;
    sdk::Value value;   // SET: the value answered when sent
  };
  using Pending = kit::PendingRequests<Downlink>;
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point last{};
  };
  struct Counters {
    std::atomic<std::uint64_t> framesReceived{0}, framesAccepted{0}, framesRejected{0}, duplicates{0}, rateLimited{0},
        sourceRefused{0}, providerCapHits{0}, framesLost{0}, deviceResets{0}, downlinksSent{0}, downlinksExpired{0};
  };

  void receiveLoop();
  bool allowRate(const sockaddr* source, socklen_t length);
  void reject(const sockaddr* source, const std::string& reason);
  bool declareDevice(const std::string& provider, const DecodedFrame& frame);
  void pushLines(const std::string& provider, const DecodedFrame& frame);
  void sendQueued(const std::string& provider);
  void queueCommand(sdk::Request request, const std::string& provider, const std::string& service,
                    const std::string& resource, bool action, const std::vector<std::pair<std::string, sdk::Value>>& values,
                    const sdk::Value& setValue);
  void expireDownlinks();
  void publishQueue(const std::string& provider);
  void publishStats(bool force);
  void reportBadFrames(bool force);
  std::string queueJson(const Device& device) const;

  std::unique_ptr<Settings> settings_;
  LayoutSet layouts_;
  std::vector<LayoutInfo> layoutInfo_;
  std::vector<int> sockets_;
  std::vector<std::string> bound_;
  int wakeFd_ = -1;
  std::thread rx_;
  std::atomic<bool> running_{false};

  mutable std::mutex mu_;
  std::unordered_map<std::string, Device> devices_;

  std::mutex rateMu_;   // the receiver thread only, but unit tests call handleDatagram from theirs
  std::unordered_map<std::string, Bucket> buckets_;

  Counters counters_;
  std::mutex statsMu_;
  NbiotStats lastPublished_;
  bool statsDeclared_ = false;

  std::mutex badMu_;
  std::uint64_t badSinceReport_ = 0;
  std::string badLastSource_, badLastReason_;
  std::chrono::steady_clock::time_point badLastReport_{};
  bool badEverReported_ = false;

  std::string macKey_;
  std::mutex macMu_;
  std::string macDay_;       // the UTC day of macDayKey_
  std::string macDayKey_;

  Pending pending_;
  kit::StateReporter state_;
  kit::Timer timer_{"nbiot-timer"};
};

}  // namespace gatehouse::bridge::nbiot
