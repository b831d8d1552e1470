#include "nbiot_bridge.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "gatehouse/kit/codec.h"
#include "gatehouse/kit/json_write.h"
#include "gatehouse/kit/net.h"
#include "gatehouse/kit/settings.h"
#include "gatehouse/kit/thread_name.h"

namespace gatehouse::bridge::nbiot {

// ---- settings --------------------------------------------------------------------------------

struct NbiotBridge::Settings {
  std::vector<std::string> listen;
  std::string layoutsFile;
  std::string input = "auto";
  int rateLimitPerS = 20;
  int rateBurst = 40;
  int maxProviders = 1000;
  std::chrono::milliseconds downlinkExpiry{60000};
  int maxDownlinksPerDevice = 8;
  std::string macHashKey;
  bool rawMacs = false;
  int receiveBufferBytes = 1 << 20;
  std::string statsProvider = "nbiot-bridge";
  std::chrono::seconds badFrameLogInterval{10};
};

namespace {

constexpr const char* kDefaultListen = "127.0.0.1:5600";
constexpr std::size_t kMaxSources = 4096;      // rate-limit buckets kept at most
constexpr std::size_t kBatch = 32;             // datagrams per recvmmsg
constexpr auto kStatsPeriod = std::chrono::seconds(1);
constexpr const char* kService = "nbiot";

std::string checkListen(const std::vector<std::string>& entries) {
  for (const auto& entry : entries) {
    if (auto e = kit::parseSocketAddress(entry); !e) return e.message();
  }
  return {};
}

std::string checkInput(const std::string&) { return {}; }

std::string requireLayouts(const std::string& path) {
  return path.empty() ? "give the path of the layouts YAML file (etc/nbiot/layouts.yaml ships two)" : std::string();
}

std::string checkStatsProvider(const std::string& name) {
  return kit::isValidIdentifier(name) ? std::string() : "must be 1-128 of A-Z a-z 0-9 _ . : - (not '.' or '..')";
}

const kit::SettingsTable<NbiotBridge::Settings>& settingsTable() {
  using S = NbiotBridge::Settings;
  static const kit::SettingsTable<S> table{
      kit::setting("listen", &S::listen).check(checkListen)
          .doc("UDP addresses to listen on, HOST:PORT ([::1]:5600 for IPv6; port 0 = any free port, logged); empty = 127.0.0.1:5600."),
      kit::setting("layouts_file", &S::layoutsFile).required().check(requireLayouts)
          .doc("YAML file of frame layouts (docs/nbiot-frames.md)."),
      kit::setting("input", &S::input, "auto").oneOf({"auto", "binary", "hex"}).check(checkInput)
          .doc("How datagrams are read: auto (hex text when every byte is a hex digit), binary or hex."),
      kit::setting("rate_limit_per_s", &S::rateLimitPerS, 20).range(1, 10000000)
          .doc("Datagrams per second accepted from one source address (token bucket); more are dropped and counted."),
      kit::setting("rate_burst", &S::rateBurst, 40).range(1, 10000000).doc("Burst of the per-source token bucket."),
      kit::setting("max_providers", &S::maxProviders, 1000).range(1, 10000000)
          .doc("Devices at most; frames of further devices are refused and counted (providerCapHits)."),
      kit::setting("downlink_expiry_ms", &S::downlinkExpiry, std::chrono::milliseconds(60000)).range(100, 86400000)
          .doc("A queued SET/ACT the device has not picked up (no uplink) by then fails with a timeout."),
      kit::setting("max_downlinks_per_device", &S::maxDownlinksPerDevice, 8).range(1, 1024)
          .doc("Downlinks queued per device at most; further SET/ACT are refused (503)."),
      kit::setting("mac_hash_key", &S::macHashKey).secret()
          .doc("Key of the MAC address hashes (HMAC-SHA256, rotated daily); empty = a random key per run."),
      kit::setting("raw_macs", &S::rawMacs, false).doc("Put raw MAC addresses (personal data) into the model instead of keyed hashes."),
      kit::setting("receive_buffer_bytes", &S::receiveBufferBytes, 1 << 20).range(65536, 268435456)
          .doc("Receive buffer of each socket (SO_RCVBUF; SO_RCVBUFFORCE when allowed)."),
      kit::setting("stats_provider", &S::statsProvider, "nbiot-bridge").check(checkStatsProvider)
          .doc("The provider holding the bridge's counters (service stats)."),
      kit::setting("bad_frame_log_interval_s", &S::badFrameLogInterval, std::chrono::seconds(10)).range(1, 86400)
          .doc("At most one bad-frame log line per this many seconds (the rest are counted)."),
  };
  return table;
}

// The source address without the port: the rate limiter's key.
std::string addressKey(const sockaddr* a) {
  if (a->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(a);
    return std::string(reinterpret_cast<const char*>(&in->sin_addr), 4);
  }
  if (a->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a);
    return std::string(reinterpret_cast<const char*>(&in6->sin6_addr), 16);
  }
  return {};
}

std::string printable(std::string_view s, std::size_t max = 300) {
  std::string out;
  for (char c : s.substr(0, max)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  if (s.size() > max) out += "...";
  return out;
}

std::string utcDay(std::int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buffer[16];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d", &tm);
  return buffer;
}

std::string hmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (::HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
             data.size(), out, &length) == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(out), length);
}

sdk::ResourceSpec sensorSpec(const std::string& provider, const std::string& service, const std::string& resource,
                             sdk::ValueType type, const std::string& unit = {}, const std::string& description = {}) {
  sdk::ResourceSpec spec;
  spec.provider = provider;
  spec.service = service;
  spec.resource = resource;
  spec.kind = sdk::ResourceKind::Sensor;
  spec.mutability = sdk::Mutability::Updatable;
  spec.type = type;
  spec.unit = unit;
  spec.description = description;
  return spec;
}

// The stats provider's resources, in the order of NbiotStats.
struct StatField {
  const char* name;
  std::uint64_t NbiotStats::*member;
  const char* description;
};
constexpr StatField kStatFields[] = {
    {"framesReceived", &NbiotStats::framesReceived, "Datagrams received."},
    {"framesAccepted", &NbiotStats::framesAccepted, "Frames decoded and stored."},
    {"framesRejected", &NbiotStats::framesRejected, "Datagrams refused: no layout matches, bad structure, too large, refused source or device cap."},
    {"duplicates", &NbiotStats::duplicates, "Frames whose counter repeats the last one (retransmissions), not stored."},
    {"rateLimited", &NbiotStats::rateLimited, "Datagrams dropped by the per-source rate limit."},
    {"sourceRefused", &NbiotStats::sourceRefused, "Frames from an address outside their layout's sources."},
    {"providerCapHits", &NbiotStats::providerCapHits, "Frames of new devices refused because max_providers was reached."},
    {"framesLost", &NbiotStats::framesLost, "Frames missing from the counters (gaps), all devices."},
    {"deviceResets", &NbiotStats::deviceResets, "Frame counters that went back (device reboots), all devices."},
    {"downlinksSent", &NbiotStats::downlinksSent, "Downlinks sent in reply to an uplink."},
    {"downlinksExpired", &NbiotStats::downlinksExpired, "Downlinks that expired before the device's next uplink."},
};

}  // namespace

const sdk::ConfigSchema kNbiotConfigSchema = settingsTable().schema();

// ---- life cycle ------------------------------------------------------------------------------

NbiotBridge::NbiotBridge() = default;

NbiotBridge::~NbiotBridge() {
  // stop() is the normal path; this covers a failed start() (the host then skips stop()).
  running_ = false;
  if (wakeFd_ >= 0) {
    const std::uint64_t one = 1;
    (void)!::write(wakeFd_, &one, sizeof one);
  }
  if (rx_.joinable()) rx_.join();
  timer_.stop();
  for (int fd : sockets_) ::close(fd);
  if (wakeFd_ >= 0) ::close(wakeFd_);
}

sdk::Status NbiotBridge::configure(const sdk::Config& config) {
  auto bound = settingsTable().bind(config);
  if (!bound) return kit::toStatus(bound.error());
  settings_ = std::make_unique<Settings>(std::move(*bound));
  if (settings_->listen.empty()) settings_->listen.push_back(kDefaultListen);
  return sdk::Status::ok();
}

sdk::Status NbiotBridge::start() {
  if (!settings_) return sdk::Status::invalidArgument("the NB-IoT bridge is not configured (layouts_file)");
  auto loaded = LayoutSet::loadFile(settings_->layoutsFile);
  if (!loaded) return sdk::Status::invalidArgument(loaded.message());
  layouts_ = std::move(loaded).value();
  layoutInfo_ = layouts_.layouts();
  if (settings_->macHashKey.empty()) {
    unsigned char key[32];
    if (::RAND_bytes(key, sizeof key) != 1) return sdk::Status::internal("cannot make a random MAC hash key");
    macKey_.assign(reinterpret_cast<const char*>(key), sizeof key);
  } else {
    macKey_ = settings_->macHashKey;
  }

  wakeFd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wakeFd_ < 0) return sdk::Status::internal(std::string("eventfd: ") + std::strerror(errno));
  for (const auto& entry : settings_->listen) {
    auto endpoint = kit::parseSocketAddress(entry);   // checked by configure
    if (!endpoint) return sdk::Status::invalidArgument("listen: " + endpoint.message());
    const int family = endpoint->family();
    const int fd = ::socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return sdk::Status::unavailable("listen " + entry + ": socket: " + std::strerror(errno));
    sockets_.push_back(fd);
    const int on = 1;
    if (family == AF_INET6) (void)::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    const int rcvbuf = settings_->receiveBufferBytes;
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0) {
      (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    }
    if (::bind(fd, endpoint->get(), endpoint->length) != 0) {
      return sdk::Status::unavailable("listen " + entry + ": cannot bind: " + std::strerror(errno));
    }
    sockaddr_storage actual{};
    socklen_t length = sizeof actual;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&actual), &length);
    bound_.push_back(kit::formatSocketAddress(reinterpret_cast<const sockaddr*>(&actual)));
  }

  // The bridge's own counters.
  const std::string& stats = settings_->statsProvider;
  if (auto s = host().declareProvider(stats, "nbiot-bridge"); !s) host().warn("NB-IoT: cannot declare " + stats + ": " + s.message());
  for (const auto& f : kStatFields) {
    if (auto s = host().declareResource(sensorSpec(stats, "stats", f.name, sdk::ValueType::Long, "", f.description)); !s) {
      host().warn("NB-IoT: cannot declare " + stats + "/stats/" + f.name + ": " + s.message());
    }
  }
  publishStats(true);

  pending_.open();
  timer_.start();
  timer_.schedulePeriodic(kStatsPeriod, [this] {
    publishStats(false);
    reportBadFrames(false);
  });
  state_.attach(host());
  running_ = true;
  rx_ = std::thread([this] { receiveLoop(); });
  for (const auto& b : bound_) host().info("NB-IoT: listening on udp " + b);
  std::string names;
  for (const auto& l : layoutInfo_) names += (names.empty() ? "" : ", ") + l.name;
  host().info("NB-IoT bridge: " + std::to_string(layouts_.size()) + " layouts from " + settings_->layoutsFile + " (" + names + ")" +
              (settings_->rawMacs ? "; raw_macs: true, MAC addresses enter the model" : "") +
              (settings_->macHashKey.empty() ? "; no mac_hash_key: MAC hashes change at every restart" : ""));
  state_.running("listening on " + std::to_string(bound_.size()) + " UDP socket(s)");
  return sdk::Status::ok();
}

void NbiotBridge::stop() {
  running_ = false;
  if (wakeFd_ >= 0) {
    const std::uint64_t one = 1;
    (void)!::write(wakeFd_, &one, sizeof one);
  }
  if (rx_.joinable()) rx_.join();   // no datagram is handled after this
  pending_.close();                 // SET/ACT arriving from now on fail at once
  timer_.stop();
  pending_.failAll(kit::ErrorCode::Unavailable, [](const Pending::Entry& e) {
    return "the NB-IoT bridge stopped before " + e.data.provider + " sent an uplink; the downlink was not sent";
  });
  reportBadFrames(true);
  publishStats(true);
}

// ---- receiving -------------------------------------------------------------------------------

void NbiotBridge::receiveLoop() {
  kit::setThreadName("nbiot-rx");
  const std::size_t capacity = layouts_.maxDatagramBytes() + 1;
  std::vector<char> buffers(capacity * kBatch);
  std::vector<sockaddr_storage> sources(kBatch);
  std::vector<iovec> iov(kBatch);
  std::vector<mmsghdr> msgs(kBatch);
  std::vector<pollfd> fds;
  for (int fd : sockets_) fds.push_back({fd, POLLIN, 0});
  fds.push_back({wakeFd_, POLLIN, 0});
  while (running_.load(std::memory_order_relaxed)) {
    const int ready = ::poll(fds.data(), fds.size(), 1000);
    if (ready < 0 && errno != EINTR) {
      host().error(std::string("NB-IoT: poll: ") + std::strerror(errno));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if (!running_.load(std::memory_order_relaxed)) break;
    for (std::size_t s = 0; s < sockets_.size(); ++s) {
      if ((fds[s].revents & POLLIN) == 0) continue;
      // Drain this socket in batches (bounded: at most 8 batches before looking at the others).
      for (int round = 0; round < 8; ++round) {
        for (std::size_t i = 0; i < kBatch; ++i) {
          iov[i] = {buffers.data() + i * capacity, capacity};
          msgs[i] = {};
          msgs[i].msg_hdr.msg_iov = &iov[i];
          msgs[i].msg_hdr.msg_iovlen = 1;
          msgs[i].msg_hdr.msg_name = &sources[i];
          msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
        }
        const int n = ::recvmmsg(sockets_[s], msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
        if (n <= 0) break;
        for (int i = 0; i < n; ++i) {
          const auto* from = reinterpret_cast<const sockaddr*>(&sources[static_cast<std::size_t>(i)]);
          if ((msgs[static_cast<std::size_t>(i)].msg_hdr.msg_flags & MSG_TRUNC) != 0) {
            counters_.framesReceived.fetch_add(1, std::memory_order_relaxed);
            reject(from, "too large: more than max_datagram_bytes (" + std::to_string(layouts_.maxDatagramBytes()) + ")");
            continue;
          }
          handleDatagram(std::string_view(buffers.data() + static_cast<std::size_t>(i) * capacity, msgs[static_cast<std::size_t>(i)].msg_len),
                         from, msgs[static_cast<std::size_t>(i)].msg_hdr.msg_namelen, static_cast<int>(s));
        }
        if (static_cast<std::size_t>(n) < kBatch) break;
      }
    }
  }
}

bool NbiotBridge::allowRate(const sockaddr* source, socklen_t) {
  const std::string key = addressKey(source);
  const auto now = std::chrono::steady_clock::now();
  const double rate = settings_->rateLimitPerS;
  const double burst = settings_->rateBurst;
  std::lock_guard lock(rateMu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= kMaxSources) {
      // Forget the sources whose bucket has refilled (idle long enough): they lose nothing.
      const auto refill = std::chrono::duration<double>(burst / rate);
      for (auto b = buckets_.begin(); b != buckets_.end();) {
        b = now - b->second.last >= refill ? buckets_.erase(b) : std::next(b);
      }
      if (buckets_.size() >= kMaxSources) return false;   // a flood from many addresses: new ones wait
    }
    it = buckets_.emplace(key, Bucket{burst, now}).first;
  }
  Bucket& b = it->second;
  b.tokens = std::min(burst, b.tokens + std::chrono::duration<double>(now - b.last).count() * rate);
  b.last = now;
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

void NbiotBridge::reject(const sockaddr* source, const std::string& reason) {
  counters_.framesRejected.fetch_add(1, std::memory_order_relaxed);
  std::string line;
  {
    std::lock_guard lock(badMu_);
    ++badSinceReport_;
    badLastSource_ = kit::formatSocketAddress(source);
    badLastReason_ = reason;
    const auto now = std::chrono::steady_clock::now();
    if (badEverReported_ && now - badLastReport_ < settings_->badFrameLogInterval) return;   // the periodic flush reports it
    line = std::to_string(badSinceReport_) + " bad frame(s), latest from " + badLastSource_ + ": " + printable(reason);
    badSinceReport_ = 0;
    badEverReported_ = true;
    badLastReport_ = now;
  }
  host().warn("NB-IoT: " + line);
}

void NbiotBridge::reportBadFrames(bool force) {
  std::string line;
  {
    std::lock_guard lock(badMu_);
    const auto now = std::chrono::steady_clock::now();
    if (badSinceReport_ == 0 || (!force && now - badLastReport_ < settings_->badFrameLogInterval)) return;
    line = std::to_string(badSinceReport_) + " bad frame(s), latest from " + badLastSource_ + ": " + printable(badLastReason_);
    badSinceReport_ = 0;
    badLastReport_ = now;
  }
  host().warn("NB-IoT: " + line);
}

void NbiotBridge::handleDatagram(std::string_view datagram, const sockaddr* source, socklen_t sourceLength, int socketIndex) {
  counters_.framesReceived.fetch_add(1, std::memory_order_relaxed);
  if (!allowRate(source, sourceLength)) {
    counters_.rateLimited.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const InputEncoding encoding = settings_->input == "binary" ? InputEncoding::Binary
                                 : settings_->input == "hex"  ? InputEncoding::Hex
                                                              : InputEncoding::Auto;
  auto decoded = layouts_.decode(datagram, encoding);
  if (!decoded) {
    reject(source, decoded.message());
    return;
  }
  DecodedFrame& frame = *decoded;
  if (!layouts_.sourceAllowed(frame.layoutIndex, source)) {
    counters_.sourceRefused.fetch_add(1, std::memory_order_relaxed);
    reject(source, "a " + frame.layout + " frame is not accepted from this address (sources: " + layouts_.sourcesText(frame.layoutIndex) + ")");
    return;
  }

  enum class Outcome { Known, New, Capped, OtherLayout } outcome = Outcome::Known;
  bool duplicate = false, reset = false;
  std::uint64_t gap = 0, counter = 0, lost = 0, resets = 0, previous = 0;
  {
    std::lock_guard lock(mu_);
    auto it = devices_.find(frame.provider);
    if (it == devices_.end()) {
      if (devices_.size() >= static_cast<std::size_t>(settings_->maxProviders)) {
        outcome = Outcome::Capped;
      } else {
        Device d;
        d.layout = frame.layoutIndex;
        it = devices_.emplace(frame.provider, std::move(d)).first;
        outcome = Outcome::New;
      }
    } else if (it->second.layout != frame.layoutIndex) {
      outcome = Outcome::OtherLayout;
    }
    if (outcome == Outcome::Known || outcome == Outcome::New) {
      Device& d = it->second;
      std::memcpy(&d.source, source, std::min<std::size_t>(sourceLength, sizeof d.source));
      d.sourceLength = sourceLength;
      d.socketIndex = socketIndex;
      if (frame.counter) {
        const std::uint64_t n = *frame.counter;
        if (!d.counterSeen) {
          d.counterSeen = true;
        } else if (n == d.counter) {
          duplicate = true;
        } else if (n > d.counter) {
          gap = n - d.counter - 1;
          d.lost += gap;
        } else {
          reset = true;
          previous = d.counter;
          ++d.resets;
        }
        d.counter = n;
        counter = n;
      }
      lost = d.lost;
      resets = d.resets;
    }
  }
  if (outcome == Outcome::Capped) {
    counters_.providerCapHits.fetch_add(1, std::memory_order_relaxed);
    reject(source, "device " + frame.provider + " refused: max_providers (" + std::to_string(settings_->maxProviders) +
                       ") devices are already known");
    return;
  }
  if (outcome == Outcome::OtherLayout) {
    reject(source, "device " + frame.provider + " sent a " + frame.layout + " frame but is a device of another layout");
    return;
  }
  if (outcome == Outcome::New) declareDevice(frame.provider, frame);   // failures are logged; frames still arrive
  if (duplicate) {
    counters_.duplicates.fetch_add(1, std::memory_order_relaxed);
    sendQueued(frame.provider);   // a retransmission still shows the device is awake
    return;
  }
  const std::int64_t ts = frame.timestampMs.value_or(0);
  for (const auto& r : frame.readings) {
    if (auto s = host().push(frame.provider, r.service, r.resource, r.value, ts); !s) {
      host().debug("NB-IoT: " + frame.provider + "/" + r.service + "/" + r.resource + " refused: " + s.message());
    }
  }
  if (frame.counter) (void)host().push(frame.provider, kService, "frameCounter", sdk::Value::ofLong(static_cast<std::int64_t>(counter)));
  if (gap > 0) {
    counters_.framesLost.fetch_add(gap, std::memory_order_relaxed);
    (void)host().push(frame.provider, kService, "framesLost", sdk::Value::ofLong(static_cast<std::int64_t>(lost)));
    (void)host().setMetadata(frame.provider, kService, "frameCounter", "lastGap", sdk::Value::ofLong(static_cast<std::int64_t>(gap)));
  }
  if (reset) {
    counters_.deviceResets.fetch_add(1, std::memory_order_relaxed);
    (void)host().push(frame.provider, kService, "resets", sdk::Value::ofLong(static_cast<std::int64_t>(resets)));
    (void)host().setMetadata(frame.provider, kService, "frameCounter", "lastReset", sdk::Value::ofLong(kit::nowMillis()));
    (void)host().setMetadata(frame.provider, kService, "frameCounter", "counterBeforeReset",
                             sdk::Value::ofLong(static_cast<std::int64_t>(previous)));
    host().info("NB-IoT: device " + frame.provider + " restarted its frame counter (" + std::to_string(previous) + " -> " +
                std::to_string(counter) + ")");
  }
  if (!frame.lineFields.empty()) pushLines(frame.provider, frame);
  counters_.framesAccepted.fetch_add(1, std::memory_order_relaxed);
  sendQueued(frame.provider);
}

bool NbiotBridge::declareDevice(const std::string& provider, const DecodedFrame& frame) {
  bool ok = true;
  const auto declare = [&](const sdk::ResourceSpec& spec) {
    if (auto s = host().declareResource(spec); !s) {
      ok = false;
      host().warn("NB-IoT: cannot declare " + provider + "/" + spec.service + "/" + spec.resource + ": " + s.message());
    }
  };
  const LayoutInfo& info = layoutInfo_[frame.layoutIndex];
  if (auto s = host().declareProvider(provider, info.name); !s) {
    host().warn("NB-IoT: cannot declare the provider " + provider + ": " + s.message());
    return false;
  }
  for (const auto& r : frame.readings) declare(sensorSpec(provider, r.service, r.resource, r.value.type(), r.unit));
  declare(sensorSpec(provider, kService, "layout", sdk::ValueType::String, "", "The frame layout of this device."));
  declare(sensorSpec(provider, kService, "frameCounter", sdk::ValueType::Long, "", "The last frame counter received."));
  declare(sensorSpec(provider, kService, "framesLost", sdk::ValueType::Long, "", "Frames missing from the counter (gaps) since the gateway started."));
  declare(sensorSpec(provider, kService, "resets", sdk::ValueType::Long, "", "Times the frame counter went back (reboots)."));
  declare(sensorSpec(provider, kService, "downlinkQueue", sdk::ValueType::String, "", "Queued downlinks (JSON array), sent on the next uplink."));
  declare(sensorSpec(provider, kService, "downlinksSent", sdk::ValueType::Long, "", "Downlinks sent to this device."));
  declare(sensorSpec(provider, kService, "downlinksExpired", sdk::ValueType::Long, "", "Downlinks that expired before an uplink."));
  if (!info.countResource.empty()) declare(sensorSpec(provider, info.countService, info.countResource, sdk::ValueType::Int, "", "Lines in the last frame."));
  if (!info.linesResource.empty()) {
    declare(sensorSpec(provider, info.linesService, info.linesResource, sdk::ValueType::String, "",
                       settings_->rawMacs ? "The last frame's lines (JSON array)." : "The last frame's lines (JSON array); personal fields as keyed hashes."));
  }
  for (const auto& d : layouts_.downlinks(frame.layoutIndex)) {
    sdk::ResourceSpec spec;
    spec.provider = provider;
    spec.service = d.service;
    spec.resource = d.resource;
    spec.description = d.description;
    if (d.action) {
      spec.kind = sdk::ResourceKind::Action;
      spec.mutability = sdk::Mutability::Modifiable;
      spec.resultType = sdk::ValueType::String;
      for (const auto& p : d.params) {
        sdk::ActionParam ap;
        ap.name = p.name;
        ap.type = p.type;
        ap.min = p.min;
        ap.max = p.max;
        spec.params.push_back(std::move(ap));
      }
    } else {
      spec.kind = sdk::ResourceKind::StateVariable;
      spec.mutability = sdk::Mutability::Modifiable;
      spec.type = d.type;
      spec.unit = d.unit;
    }
    declare(spec);
  }
  (void)host().push(provider, kService, "layout", sdk::Value::ofString(info.name));
  (void)host().push(provider, kService, "framesLost", sdk::Value::ofLong(0));
  (void)host().push(provider, kService, "resets", sdk::Value::ofLong(0));
  (void)host().push(provider, kService, "downlinksSent", sdk::Value::ofLong(0));
  (void)host().push(provider, kService, "downlinksExpired", sdk::Value::ofLong(0));
  (void)host().push(provider, kService, "downlinkQueue", sdk::Value::ofString("[]"));
  return ok;
}

std::string NbiotBridge::macHash(const std::string& key, const std::string& mac, std::int64_t nowMs) {
  const std::string dayKey = hmacSha256(key, "gatehouse-nbiot-mac-v1 " + utcDay(nowMs));
  return kit::hexEncode(hmacSha256(dayKey, mac).substr(0, 8));
}

void NbiotBridge::pushLines(const std::string& provider, const DecodedFrame& frame) {
  const LayoutInfo& info = layoutInfo_[frame.layoutIndex];
  if (!info.countResource.empty()) {
    (void)host().push(provider, info.countService, info.countResource, sdk::Value::ofInt(static_cast<std::int32_t>(frame.lines.size())),
                      frame.timestampMs.value_or(0));
  }
  if (info.linesResource.empty()) return;
  std::string dayKey;
  if (!settings_->rawMacs) {
    const std::string day = utcDay(kit::nowMillis());
    std::lock_guard lock(macMu_);
    if (day != macDay_) {
      macDay_ = day;
      macDayKey_ = hmacSha256(macKey_, "gatehouse-nbiot-mac-v1 " + day);
    }
    dayKey = macDayKey_;
  }
  std::vector<std::string> keys;
  for (const auto& f : frame.lineFields) {
    std::string k = f.name;
    std::transform(k.begin(), k.end(), k.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    keys.push_back(std::move(k));
  }
  std::string json = "[";
  for (const auto& line : frame.lines) {
    if (json.size() > 1) json += ',';
    json += '{';
    for (std::size_t i = 0; i < line.size() && i < keys.size(); ++i) {
      if (i) json += ',';
      kit::json::appendString(json, keys[i]);
      json += ':';
      const sdk::Value& v = line[i];
      if (frame.lineFields[i].personal && !settings_->rawMacs) {
        const std::string text = v.isNull() ? std::string() : (v.type() == sdk::ValueType::String ? v.asString() : std::to_string(v.asInteger()));
        kit::json::appendString(json, kit::hexEncode(hmacSha256(dayKey, text).substr(0, 8)));
        continue;
      }
      if (v.isNull()) {
        json += "null";
      } else if (v.type() == sdk::ValueType::Int || v.type() == sdk::ValueType::Long) {
        kit::json::appendInt(json, v.asInteger());
      } else if (v.type() == sdk::ValueType::Double) {
        kit::json::appendDouble(json, v.asDouble());
      } else if (v.type() == sdk::ValueType::String) {
        kit::json::appendString(json, v.asString());
      } else {
        json += "null";
      }
    }
    json += '}';
  }
  json += ']';
  (void)host().push(provider, info.linesService, info.linesResource, sdk::Value::ofString(std::move(json)), frame.timestampMs.value_or(0));
}

// ---- downlinks -------------------------------------------------------------------------------

std::string NbiotBridge::queueJson(const Device& d) const {
  std::string json = "[";
  for (const auto& q : d.queue) {
    if (json.size() > 1) json += ',';
    json += "{\"id\":";
    kit::json::appendInt(json, static_cast<std::int64_t>(q.id));
    json += ",\"resource\":";
    kit::json::appendString(json, q.resource);
    json += ",\"queuedAt\":";
    kit::json::appendInt(json, q.queuedAtMs);
    json += ",\"expiresAt\":";
    kit::json::appendInt(json, q.expiresAtMs);
    json += '}';
  }
  return json + "]";
}

void NbiotBridge::publishQueue(const std::string& provider) {
  std::string json;
  std::uint64_t sent = 0, expired = 0;
  {
    std::lock_guard lock(mu_);
    auto it = devices_.find(provider);
    if (it == devices_.end()) return;
    json = queueJson(it->second);
    sent = it->second.sent;
    expired = it->second.expired;
  }
  (void)host().push(provider, kService, "downlinkQueue", sdk::Value::ofString(std::move(json)));
  (void)host().push(provider, kService, "downlinksSent", sdk::Value::ofLong(static_cast<std::int64_t>(sent)));
  (void)host().push(provider, kService, "downlinksExpired", sdk::Value::ofLong(static_cast<std::int64_t>(expired)));
}

void NbiotBridge::onSet(sdk::Request request, const std::string& provider, const std::string& service,
                        const std::string& resource, const sdk::Value& value) {
  queueCommand(std::move(request), provider, service, resource, false, {{"value", value}}, value);
}

void NbiotBridge::onAct(sdk::Request request, const std::string& provider, const std::string& service,
                        const std::string& resource, const sdk::ActParams& params) {
  queueCommand(std::move(request), provider, service, resource, true, params, sdk::Value());
}

void NbiotBridge::queueCommand(sdk::Request request, const std::string& provider, const std::string& service,
                               const std::string& resource, bool action,
                               const std::vector<std::pair<std::string, sdk::Value>>& values, const sdk::Value& setValue) {
  std::size_t layout = 0;
  {
    std::lock_guard lock(mu_);
    auto it = devices_.find(provider);
    if (it == devices_.end()) {
      request.fail(GH_ERR_NOT_FOUND, "no NB-IoT device " + provider + " has sent a frame");
      return;
    }
    layout = it->second.layout;
  }
  const auto& downlinks = layouts_.downlinks(layout);
  std::size_t index = downlinks.size();
  for (std::size_t i = 0; i < downlinks.size(); ++i) {
    if (downlinks[i].service == service && downlinks[i].resource == resource && downlinks[i].action == action) index = i;
  }
  if (index == downlinks.size()) {
    request.fail(GH_ERR_NOT_ALLOWED, "the layout " + layoutInfo_[layout].name + " declares no " + (action ? "ACT" : "SET") + " downlink for " +
                                         service + "/" + resource);
    return;
  }
  auto bytes = layouts_.encodeDownlink(layout, index, values);
  if (!bytes) {
    request.fail(GH_ERR_INVALID_ARGUMENT, service + "/" + resource + ": " + bytes.message());
    return;
  }
  const auto expiry = settings_->downlinkExpiry;
  const std::int64_t now = kit::nowMillis();
  {
    std::lock_guard lock(mu_);
    auto it = devices_.find(provider);
    if (it == devices_.end()) {
      request.fail(GH_ERR_NOT_FOUND, "no NB-IoT device " + provider);
      return;
    }
    Device& d = it->second;
    if (d.queue.size() >= static_cast<std::size_t>(settings_->maxDownlinksPerDevice)) {
      request.fail(GH_ERR_UNAVAILABLE, std::to_string(d.queue.size()) + " downlinks are already queued for " + provider +
                                           " (max_downlinks_per_device); try again after its next uplink");
      return;
    }
    auto added = pending_.add(request, expiry, Downlink{provider, std::move(*bytes), action, setValue});
    if (!added) {
      request.fail(GH_ERR_UNAVAILABLE, "the NB-IoT bridge is stopping");
      return;
    }
    d.queue.push_back(Queued{*added, service + "/" + resource, now, now + expiry.count()});
  }
  timer_.scheduleAfter(expiry + std::chrono::milliseconds(1), [this] { expireDownlinks(); });
  host().debug("NB-IoT: " + std::string(action ? "ACT " : "SET ") + provider + "/" + service + "/" + resource +
               " queued until the device's next uplink (at most " + std::to_string(expiry.count()) + " ms)");
  publishQueue(provider);
}

void NbiotBridge::sendQueued(const std::string& provider) {
  std::deque<Queued> queue;
  sockaddr_storage to{};
  socklen_t toLength = 0;
  int socketIndex = -1;
  {
    std::lock_guard lock(mu_);
    auto it = devices_.find(provider);
    if (it == devices_.end() || it->second.queue.empty()) return;
    queue.swap(it->second.queue);
    to = it->second.source;
    toLength = it->second.sourceLength;
    socketIndex = it->second.socketIndex;
  }
  std::uint64_t sent = 0;
  for (const auto& q : queue) {
    auto entry = pending_.take(q.id);
    if (!entry) continue;   // expired meanwhile (the sweep answered it)
    const std::string& bytes = entry->data.bytes;
    ssize_t n = -1;
    int error = 0;
    if (socketIndex >= 0 && static_cast<std::size_t>(socketIndex) < sockets_.size()) {
      n = ::sendto(sockets_[static_cast<std::size_t>(socketIndex)], bytes.data(), bytes.size(), 0,
                   reinterpret_cast<const sockaddr*>(&to), toLength);
      error = errno;
    } else {
      error = ENOTCONN;
    }
    if (n != static_cast<ssize_t>(bytes.size())) {
      entry->request.fail(GH_ERR_UNAVAILABLE, "cannot send the downlink to " + provider + " at " +
                                                  kit::formatSocketAddress(reinterpret_cast<const sockaddr*>(&to)) + ": " + std::strerror(error));
      continue;
    }
    ++sent;
    counters_.downlinksSent.fetch_add(1, std::memory_order_relaxed);
    if (entry->data.action) {
      entry->request.complete(sdk::Value::ofString("sent"));
    } else {
      entry->request.complete(entry->data.value);
    }
  }
  {
    std::lock_guard lock(mu_);
    auto it = devices_.find(provider);
    if (it != devices_.end()) it->second.sent += sent;
  }
  if (sent > 0) {
    host().debug("NB-IoT: sent " + std::to_string(sent) + " downlink(s) to " + provider + " at " +
                 kit::formatSocketAddress(reinterpret_cast<const sockaddr*>(&to)));
  }
  publishQueue(provider);
}

void NbiotBridge::expireDownlinks() {
  auto expired = pending_.takeExpired();
  if (expired.empty()) return;
  std::vector<std::string> providers;
  for (auto& e : expired) {
    {
      std::lock_guard lock(mu_);
      auto it = devices_.find(e.data.provider);
      if (it != devices_.end()) {
        auto& q = it->second.queue;
        q.erase(std::remove_if(q.begin(), q.end(), [&](const Queued& x) { return x.id == e.id; }), q.end());
        ++it->second.expired;
      }
    }
    counters_.downlinksExpired.fetch_add(1, std::memory_order_relaxed);
    host().info("NB-IoT: a downlink to " + e.data.provider + " expired: no uplink within " + std::to_string(e.timeoutMs()) + " ms");
    e.request.fail(GH_ERR_TIMEOUT, "downlink expired: " + e.data.provider + " sent no uplink within " + std::to_string(e.timeoutMs()) +
                                       " ms (downlink_expiry_ms); the command was not sent");
    if (std::find(providers.begin(), providers.end(), e.data.provider) == providers.end()) providers.push_back(e.data.provider);
  }
  for (const auto& p : providers) publishQueue(p);
}

// ---- statistics ------------------------------------------------------------------------------

NbiotStats NbiotBridge::stats() const {
  NbiotStats s;
  const auto& c = counters_;
  s.framesReceived = c.framesReceived.load();
  s.framesAccepted = c.framesAccepted.load();
  s.framesRejected = c.framesRejected.load();
  s.duplicates = c.duplicates.load();
  s.rateLimited = c.rateLimited.load();
  s.sourceRefused = c.sourceRefused.load();
  s.providerCapHits = c.providerCapHits.load();
  s.framesLost = c.framesLost.load();
  s.deviceResets = c.deviceResets.load();
  s.downlinksSent = c.downlinksSent.load();
  s.downlinksExpired = c.downlinksExpired.load();
  return s;
}

std::vector<std::string> NbiotBridge::boundAddresses() const { return bound_; }

void NbiotBridge::publishStats(bool force) {
  if (!settings_) return;
  const NbiotStats now = stats();
  std::lock_guard lock(statsMu_);
  for (const auto& f : kStatFields) {
    if (!force && now.*(f.member) == lastPublished_.*(f.member)) continue;
    (void)host().push(settings_->statsProvider, "stats", f.name, sdk::Value::ofLong(static_cast<std::int64_t>(now.*(f.member))));
  }
  lastPublished_ = now;
}

}  // namespace gatehouse::bridge::nbiot
