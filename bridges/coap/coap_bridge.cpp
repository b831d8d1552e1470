#include "coap_bridge.h"

#include <coap3/coap.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <utility>

#include "gatehouse/kit/codec.h"
#include "gatehouse/kit/json_write.h"
#include "gatehouse/kit/net.h"
#include "gatehouse/kit/pending_requests.h"
#include "gatehouse/kit/settings.h"
#include "gatehouse/kit/thread_name.h"

namespace gatehouse::bridge::coap {

using Clock = std::chrono::steady_clock;

// ---- settings --------------------------------------------------------------------------------

struct CoapBridge::Settings {
  std::vector<std::string> listen;
  std::vector<std::string> dtlsListen;
  std::vector<std::string> pskKeys;
  std::vector<std::string> pushPaths;
  std::string caFile;
  std::string certFile;
  std::string keyFile;
  std::string devicesFile;
  std::string statsProvider = "coap-bridge";
  int maxSessions = 256;
  int maxObservations = 1024;
  int maxPayloadBytes = 16384;
  std::chrono::seconds badRequestLogInterval{10};
};

namespace {

constexpr auto kStatsPeriod = std::chrono::seconds(1);
constexpr auto kTick = std::chrono::milliseconds(100);       // longest wait for I/O
constexpr auto kTickEvery = std::chrono::milliseconds(20);   // timeouts and schedules run this often
constexpr std::size_t kMaxListedPushPaths = 4096;   // push paths added to /.well-known/core
constexpr std::size_t kMaxQueuedCommands = 4096;
constexpr std::size_t kMaxResources = 256;
constexpr auto kDedupLifetime = std::chrono::seconds(247);   // EXCHANGE_LIFETIME (RFC 7252 4.8.2)
constexpr std::size_t kDedupEntries = 4096;                  // answers kept for deduplication at most   // per device (the devices file allows as many)
constexpr auto kHandshakeLimit = std::chrono::seconds(5);   // a DTLS handshake longer than this was refused

struct Endpoint {
  coap_address_t address{};
};

Endpoint endpointOf(const kit::SocketAddress& a) {
  Endpoint e;
  coap_address_init(&e.address);
  std::memcpy(&e.address.addr, &a.storage, a.length);
  e.address.size = a.length;
  return e;
}

// "HOST:PORT" (kit::parseSocketAddress: IPv6 as "[ADDR]:PORT", localhost = 127.0.0.1), port 1-65535.
kit::Result<Endpoint> parseEndpoint(const std::string& text) {
  auto a = kit::parseSocketAddress(text, false);
  if (!a) return a.error();
  return endpointOf(*a);
}

std::string checkEndpoints(const std::vector<std::string>& entries) {
  for (const auto& e : entries) {
    if (auto r = parseEndpoint(e); !r) return r.message();
  }
  return {};
}

// "identity=hex:00ff..." or "identity=text:secret". Never echoes the key.
struct Psk {
  std::string identity;
  std::string key;
};
kit::Result<Psk> parsePsk(const std::string& entry) {
  const auto eq = entry.find('=');
  if (eq == std::string::npos || eq == 0) return kit::badRequest("a PSK entry is IDENTITY=hex:KEY or IDENTITY=text:KEY");
  Psk p;
  p.identity = entry.substr(0, eq);
  if (p.identity.size() > 128) return kit::badRequest("PSK identity " + kit::quoteForMessage(p.identity) + " is longer than 128 bytes");
  auto key = parsePskKey(std::string_view(entry).substr(eq + 1));
  if (!key) return kit::badRequest("PSK identity " + kit::quoteForMessage(p.identity) + ": " + key.message());
  p.key = std::move(*key);
  return p;
}

std::string checkPsks(const std::vector<std::string>& entries) {
  std::set<std::string> ids;
  for (const auto& e : entries) {
    auto p = parsePsk(e);
    if (!p) return p.message();
    if (!ids.insert(p->identity).second) return "PSK identity " + kit::quoteForMessage(p->identity) + " is given twice";
  }
  return {};
}

// "PATH=provider/service/resource": a device PUTs or POSTs to PATH (one or more segments).
struct PushPath {
  std::string path;
  std::string provider, service, resource;
};
kit::Result<PushPath> parsePushPath(const std::string& entry) {
  const auto eq = entry.find('=');
  if (eq == std::string::npos || eq == 0) return kit::badRequest("a push path is PATH=provider/service/resource: " + kit::quoteForMessage(entry));
  PushPath p;
  p.path = entry.substr(0, eq);
  if (p.path[0] == '/') p.path.erase(0, 1);
  const std::string target = entry.substr(eq + 1);
  const auto a = target.find('/');
  const auto b = a == std::string::npos ? std::string::npos : target.find('/', a + 1);
  if (b == std::string::npos || target.find('/', b + 1) != std::string::npos) {
    return kit::badRequest("a push path is PATH=provider/service/resource: " + kit::quoteForMessage(entry));
  }
  p.provider = target.substr(0, a);
  p.service = target.substr(a + 1, b - a - 1);
  p.resource = target.substr(b + 1);
  for (const auto* n : {&p.provider, &p.service, &p.resource}) {
    if (!kit::isValidIdentifier(*n)) return kit::badRequest("not a name: " + kit::quoteForMessage(*n) + " in " + kit::quoteForMessage(entry));
  }
  if (p.path.empty() || p.path.size() > 255 || p.path.find_first_of("?# ") != std::string::npos) {
    return kit::badRequest("the path of a push path must be 1-255 bytes without ?, # or spaces: " + kit::quoteForMessage(entry));
  }
  return p;
}
std::string checkPushPaths(const std::vector<std::string>& entries) {
  for (const auto& e : entries) {
    if (auto p = parsePushPath(e); !p) return p.message();
  }
  return {};
}

std::string checkStatsProvider(const std::string& name) {
  return kit::isValidIdentifier(name) ? std::string() : "stats_provider must be a name (A-Z a-z 0-9 _ . : -)";
}

const kit::SettingsTable<CoapBridge::Settings>& settingsTable() {
  using S = CoapBridge::Settings;
  static const kit::SettingsTable<S> table = kit::SettingsTable<S>{
      kit::setting("listen", &S::listen).check(checkEndpoints)
          .doc("Push endpoint, CoAP over UDP: HOST:PORT ([::1]:5683 for IPv6); empty = 127.0.0.1:5683 unless dtls_listen or devices_file is set."),
      kit::setting("dtls_listen", &S::dtlsListen).check(checkEndpoints)
          .doc("Push endpoint, CoAP over DTLS: HOST:PORT (needs psk_keys, or cert_file and key_file)."),
      kit::setting("psk_keys", &S::pskKeys).check(checkPsks).secret()
          .doc("Push endpoint: DTLS pre-shared keys of devices, IDENTITY=hex:KEY or IDENTITY=text:KEY (8-64 bytes); never logged."),
      kit::setting("push_paths", &S::pushPaths).check(checkPushPaths)
          .doc("Push endpoint: extra paths, PATH=provider/service/resource, listed in /.well-known/core."),
      kit::setting("ca_file", &S::caFile).doc("DTLS with certificates: PEM CA that devices' certificates must chain to (both sides)."),
      kit::setting("cert_file", &S::certFile).doc("DTLS with certificates: the gateway's PEM certificate (both sides; with key_file)."),
      kit::setting("key_file", &S::keyFile).doc("DTLS with certificates: the PEM private key of cert_file; never logged."),
      kit::setting("devices_file", &S::devicesFile)
          .doc("Client side: YAML file of the devices to observe or poll (bridges/coap/README.md); empty = none."),
      kit::setting("stats_provider", &S::statsProvider, "coap-bridge").check(checkStatsProvider)
          .doc("The provider holding the bridge's counters (service stats)."),
      kit::setting("max_sessions", &S::maxSessions, 256).range(1, 100000).doc("Push endpoint: peers (CoAP sessions) at once."),
      kit::setting("max_observations", &S::maxObservations, 1024).range(0, 1000000)
          .doc("Client side: observations at once over all devices; beyond it resources are polled (counted)."),
      kit::setting("max_payload_bytes", &S::maxPayloadBytes, 16384).range(64, 1048576)
          .doc("Largest body accepted, request or answer (block-wise transfers are reassembled up to this)."),
      kit::setting("bad_request_log_interval_s", &S::badRequestLogInterval, std::chrono::seconds(10)).range(1, 86400)
          .doc("At most one log line about refused requests per this many seconds (the rest are counted)."),
  }.checkedWith([](const S& s) {
    if (s.certFile.empty() != s.keyFile.empty()) return std::string("cert_file and key_file go together");
    if (!s.dtlsListen.empty() && s.pskKeys.empty() && s.certFile.empty()) {
      return std::string("dtls_listen needs psk_keys (the identities and keys devices use) or cert_file and key_file");
    }
    if (!s.certFile.empty() && s.caFile.empty()) return std::string("cert_file needs ca_file (the CA that devices' certificates chain to)");
    return std::string();
  });
  return table;
}

std::string peerOf(const coap_session_t* session) {
  char buffer[INET6_ADDRSTRLEN + 16] = {};
  const coap_address_t* a = coap_session_get_addr_remote(session);
  if (a == nullptr) return "(unknown)";
  const std::size_t n = coap_print_addr(a, reinterpret_cast<unsigned char*>(buffer), sizeof buffer - 1);
  return std::string(buffer, n);
}

// "4.04 Not Found"
std::string codeText(int cls, int detail) {
  static const std::map<int, const char*> names{
      {201, "Created"}, {202, "Deleted"}, {203, "Valid"}, {204, "Changed"}, {205, "Content"}, {231, "Continue"},
      {400, "Bad Request"}, {401, "Unauthorized"}, {402, "Bad Option"}, {403, "Forbidden"}, {404, "Not Found"},
      {405, "Method Not Allowed"}, {406, "Not Acceptable"}, {408, "Request Entity Incomplete"}, {409, "Conflict"},
      {412, "Precondition Failed"}, {413, "Request Entity Too Large"}, {415, "Unsupported Content-Format"},
      {422, "Unprocessable Entity"}, {429, "Too Many Requests"}, {500, "Internal Server Error"}, {501, "Not Implemented"},
      {502, "Bad Gateway"}, {503, "Service Unavailable"}, {504, "Gateway Timeout"}, {505, "Proxying Not Supported"}};
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%d.%02d", cls, detail);
  auto it = names.find(cls * 100 + detail);
  return it == names.end() ? std::string(buffer) : std::string(buffer) + " " + it->second;
}

}  // namespace

// How a device's CoAP error answer becomes the REST status of a SET/ACT (docs/coap-bridge.md).
kit::ErrorCode errorCodeForCoap(int cls, int detail) {
  if (cls == 4) {
    switch (detail) {
      case 4: return kit::ErrorCode::NotFound;
      case 1: case 3: case 5: return kit::ErrorCode::NotAllowed;
      case 9: case 12: return kit::ErrorCode::Conflict;
      case 13: return kit::ErrorCode::TooLarge;
      default: return kit::ErrorCode::BadRequest;
    }
  }
  if (cls == 5 && detail == 4) return kit::ErrorCode::Timeout;
  return kit::ErrorCode::Unavailable;
}

namespace {

struct StatField {
  const char* name;
  std::uint64_t CoapStats::*member;
  const char* description;
};
constexpr StatField kStatFields[] = {
    {"requests", &CoapStats::requests, "PUT/POST requests received on the push endpoint."},
    {"valuesStored", &CoapStats::valuesStored, "Values stored, from pushes, notifications and polls."},
    {"badRequests", &CoapStats::badRequests, "Push requests refused (path, Content-Format, payload, size)."},
    {"badPayloads", &CoapStats::badPayloads, "Device answers or notifications that could not be read."},
    {"dtlsRefused", &CoapStats::dtlsRefused, "DTLS handshakes refused or failed (unknown identity, wrong key or certificate)."},
    {"notifications", &CoapStats::notifications, "Observe notifications received."},
    {"polls", &CoapStats::polls, "GETs of resources that are not observed."},
    {"timeouts", &CoapStats::timeouts, "Requests to devices without an answer within timeout_ms."},
    {"observationsRefused", &CoapStats::observationsRefused, "Resources polled instead of observed because max_observations was reached."},
    {"duplicates", &CoapStats::duplicates, "Retransmitted push requests answered again without storing twice."},
    {"sessionLimitHits", &CoapStats::sessionLimitHits, "New peers of the push endpoint beyond max_sessions (the oldest idle session made room)."},
    {"commandsSent", &CoapStats::commandsSent, "SET/ACT sent to devices."},
    {"commandsFailed", &CoapStats::commandsFailed, "SET/ACT answered with an error code or not at all."},
};

}  // namespace

const sdk::ConfigSchema kCoapConfigSchema = settingsTable().schema();

// ---- the libcoap side ------------------------------------------------------------------------

struct CoapBridge::Io {
  enum class Kind : std::uint8_t { Discover, Observe, Poll, Command };
  enum class Life : std::uint8_t { Unknown, Active, Inactive };

  struct Resource {
    ResourceConfig config;
    std::string service, resource;
    bool offersObserve = false;       // discovery listed `obs`
    std::optional<std::uint16_t> linkFormat;   // discovery's `ct`
    bool observing = false;           // a registration is confirmed
    bool pollOnly = false;            // not observed (config, refused, or the device ignored Observe)
    std::string observeToken;         // empty = none (a key of `outstanding`)
    Clock::time_point lastNotification{};
    std::chrono::seconds maxAge{60};
    Clock::time_point nextPoll{};
    bool inFlight = false;            // a poll or registration waits for its answer
    bool unreadable = false;          // answered GET with 4.05 Method Not Allowed
    bool e2eMarked = false;
  };
  struct Device {
    DeviceConfig config;
    Endpoint endpoint;
    coap_session_t* session = nullptr;
    Life life = Life::Unknown;
    Clock::time_point lastHeard{};
    Clock::time_point pingDeadline{};    // set while a ping waits
    bool discovered = false;
    bool discoveryInFlight = false;
    Clock::time_point nextDiscovery{};
    bool dtlsFailureLogged = false;
    // coaps: when the current session's handshake began; {} once it completed (DTLS_CONNECTED).
    Clock::time_point handshakeStarted{};
    // Reserved for kMaxResources at start, so discovery's push_back never moves an element.
    std::vector<Resource> resources;
    // "service/resource" -> index of the writable and action resources (from config, before the
    // I/O thread starts; never changed after): what onSet/onAct read from request threads.
    std::map<std::string, std::size_t> commandTargets;
  };
  struct Outstanding {
    std::size_t device = 0;
    std::size_t resource = 0;
    Kind kind = Kind::Poll;
    std::uint64_t pendingId = 0;   // Command
    Clock::time_point sent{};
    Clock::time_point deadline{};
    bool confirmed = false;        // Observe: the registration was answered
  };
  struct Waiting {
    std::string what;   // "the PUT to demo/settings/interval (coap://...)"
    bool set = false;
    sdk::Value value;   // SET answers with the value written
  };
  struct Command {
    std::size_t device = 0;
    std::size_t resource = 0;
    std::uint64_t pendingId = 0;
    coap_pdu_code_t method = COAP_REQUEST_CODE_PUT;
    std::uint16_t format = 0;
    std::string payload;
  };

  CoapBridge* bridge = nullptr;
  coap_context_t* ctx = nullptr;
  int wakeFd = -1;
  std::map<std::string, coap_bin_const_t> keys;   // identity -> key (pointing into keyStore)
  std::map<std::string, std::string> keyStore;
  std::size_t maxPayload = 16384;
  std::size_t maxObservations = 1024;
  std::size_t observations = 0;
  std::vector<Device> devices;
  std::map<std::string, std::size_t> deviceByProvider;
  // By device index and token (libcoap's tokens: it derives the tokens of block-wise transfers
  // from them, so they must not be ours).
  std::map<std::string, Outstanding> outstanding;
  std::map<std::string, PushPath> pushPaths;          // path -> target
  std::set<std::string> listed;                       // push paths in /.well-known/core
  kit::PendingRequests<Waiting> pending;
  std::mutex commandsMu;
  std::deque<Command> commands;
  Clock::time_point nextStats{};
  std::string certFile, keyFile, caFile;
  // DTLS sessions that have not completed their handshake (I/O thread only): one that ends before
  // DTLS_CONNECTED was refused (wrong key, unknown identity, wrong certificate).
  // DTLS drops records it cannot authenticate without an alert, so a wrong key often ends in
  // silence: a handshake still open after kHandshakeLimit is reported as refused (tick()).
  std::map<coap_session_t*, Clock::time_point> handshaking;
  std::set<coap_session_t*> serverSessions;   // the push endpoint's peers (events NEW/DEL)
  std::size_t maxSessions = 256;
  bool evictedForNew = false;                 // the last event was a deletion at max_sessions

  ~Io() {
    for (auto& d : devices) {
      if (d.session != nullptr) coap_session_release(d.session);
    }
    if (ctx != nullptr) coap_free_context(ctx);
    if (wakeFd >= 0) ::close(wakeFd);
  }

  void wake() const {
    const std::uint64_t one = 1;
    if (wakeFd >= 0) (void)!::write(wakeFd, &one, sizeof one);
  }

  // ---- the server side (push endpoint) ----

  static const coap_bin_const_t* validateIdentity(coap_bin_const_t* identity, coap_session_t* session, void* arg) {
    auto* io = static_cast<Io*>(arg);
    const std::string id(reinterpret_cast<const char*>(identity->s), identity->length);
    auto it = io->keys.find(id);
    if (it == io->keys.end()) {
      io->handshaking.erase(session);   // refused here, reported once
      io->bridge->noteDtlsRefused(peerOf(session), "unknown PSK identity " + kit::quoteForMessage(id));
      return nullptr;
    }
    return &it->second;
  }

  static std::vector<std::string> splitPath(const std::string& p) {
    std::vector<std::string> path;
    std::size_t start = 0;
    while (start <= p.size()) {
      const auto slash = p.find('/', start);
      path.push_back(p.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
    return path;
  }

  static std::optional<std::uint16_t> contentFormatOf(const coap_pdu_t* pdu) {
    coap_opt_iterator_t it;
    if (coap_opt_t* opt = coap_check_option(pdu, COAP_OPTION_CONTENT_FORMAT, &it)) {
      return static_cast<std::uint16_t>(coap_decode_var_bytes(coap_opt_value(opt), coap_opt_length(opt)));
    }
    return std::nullopt;
  }

  static void handle(coap_resource_t* resource, coap_session_t* session, const coap_pdu_t* request, const coap_string_t*,
                     coap_pdu_t* response) {
    auto* io = static_cast<Io*>(coap_resource_get_userdata(resource));
    std::string uriPath;
    if (coap_string_t* uri = coap_get_uri_path(request)) {
      uriPath.assign(reinterpret_cast<const char*>(uri->s), uri->length);
      coap_delete_string(uri);
    }
    std::vector<std::string> path;
    if (auto it = io->pushPaths.find(uriPath); it != io->pushPaths.end()) {
      path = {it->second.provider, it->second.service, it->second.resource};
    } else if (!uriPath.empty()) {
      path = splitPath(uriPath);
    }
    std::size_t length = 0, offset = 0, total = 0;
    const std::uint8_t* data = nullptr;
    std::string_view payload;
    if (coap_get_data_large(request, &length, &data, &offset, &total) && data != nullptr) {
      payload = std::string_view(reinterpret_cast<const char*>(data), length);
    }
    // Deduplication (RFC 7252 4.5): libcoap 4.3.1 hands a retransmitted request to the handler
    // again; the same peer and message id within EXCHANGE_LIFETIME gets the first answer back.
    const std::string dedupKey = peerOf(session) + "#" + std::to_string(coap_pdu_get_mid(request));
    if (const CoapBridge::PushResult* seen = io->recentAnswer(dedupKey)) {
      io->bridge->counters_.duplicates.fetch_add(1, std::memory_order_relaxed);
      coap_pdu_set_code(response, static_cast<coap_pdu_code_t>(COAP_RESPONSE_CODE(seen->code)));
      if (!seen->diagnostic.empty()) {
        coap_add_data(response, seen->diagnostic.size(), reinterpret_cast<const std::uint8_t*>(seen->diagnostic.data()));
      }
      return;
    }
    CoapBridge::PushResult r;
    if (total > io->maxPayload || length > io->maxPayload) {
      r.code = 413;
      r.diagnostic = "payload larger than max_payload_bytes (" + std::to_string(io->maxPayload) + ")";
      io->bridge->reportBad(peerOf(session), r.diagnostic);
      io->bridge->counters_.requests.fetch_add(1, std::memory_order_relaxed);
    } else {
      r = io->bridge->handlePush(path, contentFormatOf(request), payload, peerOf(session));
    }
    io->rememberAnswer(dedupKey, r);
    coap_pdu_set_code(response, static_cast<coap_pdu_code_t>(COAP_RESPONSE_CODE(r.code)));
    if (!r.diagnostic.empty()) {
      coap_add_data(response, r.diagnostic.size(), reinterpret_cast<const std::uint8_t*>(r.diagnostic.data()));
    } else if (path.size() == 3 && io->listed.size() < kMaxListedPushPaths && io->pushPaths.count(uriPath) == 0) {
      io->listPath(uriPath, contentFormatOf(request));
    }
  }

  // The answers of the last kDedupEntries requests, for kDedupLifetime (I/O thread only).
  const CoapBridge::PushResult* recentAnswer(const std::string& key) {
    const auto now = Clock::now();
    while (!answerOrder.empty() && (now - answerOrder.front().first > kDedupLifetime || answerOrder.size() > kDedupEntries)) {
      answers.erase(answerOrder.front().second);
      answerOrder.pop_front();
    }
    auto it = answers.find(key);
    return it == answers.end() ? nullptr : &it->second;
  }
  void rememberAnswer(const std::string& key, const CoapBridge::PushResult& r) {
    if (answers.emplace(key, r).second) answerOrder.emplace_back(Clock::now(), key);
  }
  std::map<std::string, CoapBridge::PushResult> answers;
  std::deque<std::pair<Clock::time_point, std::string>> answerOrder;

  // Adds a path to the context's resources, so that /.well-known/core lists it.
  void listPath(const std::string& path, std::optional<std::uint16_t> format) {
    if (!listed.insert(path).second) return;
    coap_str_const_t* uri = coap_new_str_const(reinterpret_cast<const std::uint8_t*>(path.data()), path.size());
    if (uri == nullptr) return;
    coap_resource_t* r = coap_resource_init(uri, COAP_RESOURCE_FLAGS_RELEASE_URI);
    if (r == nullptr) return;
    coap_register_handler(r, COAP_REQUEST_PUT, &Io::handle);
    coap_register_handler(r, COAP_REQUEST_POST, &Io::handle);
    coap_resource_set_userdata(r, this);
    static const char kRt[] = "\"gatehouse.push\"";
    coap_add_attr(r, coap_make_str_const("rt"), coap_make_str_const(kRt), 0);
    if (format) {
      const std::string ct = std::to_string(*format);
      coap_str_const_t* v = coap_new_str_const(reinterpret_cast<const std::uint8_t*>(ct.data()), ct.size());
      if (v != nullptr) coap_add_attr(r, coap_make_str_const("ct"), v, COAP_ATTR_FLAGS_RELEASE_VALUE);
    }
    coap_add_resource(ctx, r);
  }

  // ---- the client side ----

  static Io* ofSession(const coap_session_t* session) { return static_cast<Io*>(coap_session_get_app_data(session)); }

  Device* deviceOf(const coap_session_t* session) {
    for (auto& d : devices) {
      if (d.session == session) return &d;
    }
    return nullptr;
  }

  coap_session_t* sessionFor(Device& d) {
    if (d.session != nullptr && coap_session_get_state(d.session) == COAP_SESSION_STATE_NONE) {
      coap_session_release(d.session);
      d.session = nullptr;
    }
    if (d.session != nullptr) return d.session;
    if (!d.config.secure) {
      d.session = coap_new_client_session(ctx, nullptr, &d.endpoint.address, COAP_PROTO_UDP);
    } else if (!d.config.pskIdentity.empty()) {
      coap_dtls_cpsk_t cpsk{};
      cpsk.version = COAP_DTLS_CPSK_SETUP_VERSION;
      cpsk.psk_info.identity = coap_bin_const_t{d.config.pskIdentity.size(), reinterpret_cast<const std::uint8_t*>(d.config.pskIdentity.data())};
      cpsk.psk_info.key = coap_bin_const_t{d.config.pskKey.size(), reinterpret_cast<const std::uint8_t*>(d.config.pskKey.data())};
      d.session = coap_new_client_session_psk2(ctx, nullptr, &d.endpoint.address, COAP_PROTO_DTLS, &cpsk);
    } else {
      coap_dtls_pki_t pki = pkiSetup();
      d.session = coap_new_client_session_pki(ctx, nullptr, &d.endpoint.address, COAP_PROTO_DTLS, &pki);
    }
    if (d.session != nullptr) {
      if (d.config.secure) d.handshakeStarted = Clock::now();
      coap_session_set_app_data(d.session, this);
      // Our deadlines decide when a device is silent; libcoap's retransmissions stay short.
      coap_session_set_max_retransmit(d.session, 2);
    }
    return d.session;
  }

  coap_dtls_pki_t pkiSetup() {
    coap_dtls_pki_t pki{};
    pki.version = COAP_DTLS_PKI_SETUP_VERSION;
    pki.verify_peer_cert = 1;
    pki.check_common_ca = 1;
    pki.allow_self_signed = 0;
    pki.allow_expired_certs = 0;
    pki.cert_chain_validation = 1;
    pki.cert_chain_verify_depth = 3;
    pki.validate_cn_call_back = &Io::validateCn;
    pki.cn_call_back_arg = this;
    pki.pki_key.key_type = COAP_PKI_KEY_PEM;
    pki.pki_key.key.pem.ca_file = caFile.c_str();
    pki.pki_key.key.pem.public_cert = certFile.c_str();
    pki.pki_key.key.pem.private_key = keyFile.c_str();
    return pki;
  }

  static int validateCn(const char*, const std::uint8_t*, std::size_t, coap_session_t* session, unsigned, int validated, void* arg) {
    if (!validated) {
      auto* io = static_cast<Io*>(arg);
      io->handshaking.erase(session);
      io->bridge->noteDtlsRefused(peerOf(session), "the certificate does not chain to ca_file");
      return 0;
    }
    return 1;
  }

  static std::string keyOf(std::size_t device, const std::uint8_t* token, std::size_t length) {
    std::string key = std::to_string(device) + ":";
    key.append(reinterpret_cast<const char*>(token), length);
    return key;
  }

  // Sends a request and registers what its answer is for; returns the key ("" when not sent).
  std::string send(Device& d, std::size_t resource, Kind kind, coap_pdu_code_t method, const std::string& path, bool observe,
                     std::optional<std::uint16_t> format, const std::string& payload, std::chrono::milliseconds timeout,
                     std::uint64_t pendingId = 0) {
    coap_session_t* session = sessionFor(d);
    if (session == nullptr) return {};
    coap_pdu_t* pdu = coap_new_pdu(COAP_MESSAGE_CON, method, session);
    if (pdu == nullptr) return {};
    std::uint8_t tokenBytes[8];
    std::size_t tokenLength = 0;
    coap_session_new_token(session, &tokenLength, tokenBytes);
    coap_add_token(pdu, tokenLength, tokenBytes);
    const std::size_t deviceIndex = static_cast<std::size_t>(&d - devices.data());
    std::string key = keyOf(deviceIndex, tokenBytes, tokenLength);
    coap_optlist_t* options = nullptr;
    std::uint8_t buffer[8];
    if (observe) {
      coap_insert_optlist(&options, coap_new_optlist(COAP_OPTION_OBSERVE, coap_encode_var_safe(buffer, sizeof buffer, COAP_OBSERVE_ESTABLISH), buffer));
    }
    if (!path.empty()) {
      std::uint8_t pathBuffer[512];
      std::size_t length = sizeof pathBuffer;
      int count = coap_split_path(reinterpret_cast<const std::uint8_t*>(path.data()), path.size(), pathBuffer, &length);
      std::uint8_t* p = pathBuffer;
      while (count-- > 0) {
        coap_insert_optlist(&options, coap_new_optlist(COAP_OPTION_URI_PATH, coap_opt_length(p), coap_opt_value(p)));
        p += coap_opt_size(p);
      }
    }
    if (format) {
      std::uint8_t f[4];
      coap_insert_optlist(&options, coap_new_optlist(COAP_OPTION_CONTENT_FORMAT, coap_encode_var_safe(f, sizeof f, *format), f));
    }
    coap_add_optlist_pdu(pdu, &options);
    coap_delete_optlist(options);
    if (!payload.empty()) {
      // Copied by libcoap (no release callback), sent block-wise when larger than a block.
      coap_add_data_large_request(session, pdu, payload.size(), reinterpret_cast<const std::uint8_t*>(payload.data()), nullptr, nullptr);
    }
    if (coap_send(session, pdu) == COAP_INVALID_MID) return {};
    Outstanding o;
    o.device = deviceIndex;
    o.resource = resource;
    o.kind = kind;
    o.pendingId = pendingId;
    o.sent = Clock::now();
    o.deadline = o.sent + timeout;
    outstanding[key] = o;
    return key;
  }

  void setLife(Device& d, Life life, const std::string& why) {
    if (d.life == life) return;
    const Life before = d.life;
    d.life = life;
    const char* text = life == Life::Active ? "ACTIVE" : "INACTIVE";
    (void)bridge->host().push(d.config.provider, "admin", "lifecycleStatus", sdk::Value::ofString(text));
    if (life == Life::Inactive) {
      bridge->host().warn("CoAP: device " + d.config.provider + " (" + d.config.uri + ") is INACTIVE: " + why);
    } else if (before == Life::Inactive) {
      bridge->host().info("CoAP: device " + d.config.provider + " (" + d.config.uri + ") answers again: ACTIVE");
      // Polled resources are read at once; observations stay (a device that restarted and forgot
      // its observers is caught by the Max-Age rule in tick()).
      for (auto& r : d.resources) {
        if (r.observeToken.empty()) r.nextPoll = Clock::now();
      }
    }
  }

  void heard(Device& d) {
    d.lastHeard = Clock::now();
    d.pingDeadline = {};
    d.dtlsFailureLogged = false;
    setLife(d, Life::Active, {});
  }

  // observations counts registrations from when they are sent (max_observations bounds them).
  void dropObservation(Device& d, Resource& r) {
    if (!r.observeToken.empty()) {
      // Deregister (RFC 7641 3.6) so the device stops notifying the old token; a notification for
      // a token nobody waits for gets a RST, which some devices take as the end of every
      // observation of the session.
      if (d.session != nullptr && r.observing) {
        const std::string bytes = r.observeToken.substr(r.observeToken.find(':') + 1);
        coap_binary_t token{bytes.size(), reinterpret_cast<std::uint8_t*>(const_cast<char*>(bytes.data()))};
        coap_cancel_observe(d.session, &token, COAP_MESSAGE_NON);
      }
      outstanding.erase(r.observeToken);
      if (observations > 0) --observations;
    }
    r.observeToken.clear();
    r.observing = false;
    r.inFlight = false;
  }

  void addResource(Device& d, ResourceConfig config, bool offersObserve) {
    if (d.resources.size() >= kMaxResources) return;
    for (const auto& r : d.resources) {
      if (r.config.path == config.path) return;
    }
    Resource r;
    auto names = resourceNamesFor(config.path);
    r.service = config.service.empty() ? names.first : config.service;
    r.resource = config.resource.empty() ? names.second : config.resource;
    r.offersObserve = offersObserve;
    r.pollOnly = config.observe == ObserveMode::Never || config.access == Access::Action;
    r.config = std::move(config);
    r.nextPoll = Clock::now();
    declareStatic(d, r);
    d.resources.push_back(std::move(r));
  }

  void declareStatic(const Device& d, const Resource& r) {
    if (r.config.access == Access::Read) return;   // declared with its first value's type
    sdk::ResourceSpec spec;
    spec.provider = d.config.provider;
    spec.service = r.service;
    spec.resource = r.resource;
    spec.unit = r.config.unit;
    if (r.config.access == Access::Action) {
      spec.kind = sdk::ResourceKind::Action;
      spec.params = r.config.params;
      spec.resultType = sdk::ValueType::String;
    } else {
      spec.mutability = sdk::Mutability::Modifiable;
      spec.type = r.config.type;
    }
    if (auto s = bridge->host().declareResource(spec); !s) {
      bridge->host().warn("CoAP: cannot declare " + d.config.provider + "/" + r.service + "/" + r.resource + ": " + s.message());
    }
    std::lock_guard lock(bridge->declaredMu_);
    bridge->declared_.insert(d.config.provider + "/" + r.service + "/" + r.resource);
  }

  void discovered(Device& d, const coap_pdu_t* received) {
    d.discoveryInFlight = false;
    d.discovered = true;
    std::size_t length = 0, offset = 0, total = 0;
    const std::uint8_t* data = nullptr;
    std::string_view body;
    if (coap_get_data_large(received, &length, &data, &offset, &total) && data != nullptr) {
      body = std::string_view(reinterpret_cast<const char*>(data), length);
    }
    auto links = parseLinkFormat(body);
    if (!links) {
      bridge->counters_.badPayloads.fetch_add(1, std::memory_order_relaxed);
      bridge->host().warn("CoAP: device " + d.config.provider + ": /.well-known/core is not link format: " + links.message());
      return;
    }
    std::size_t added = 0;
    for (const auto& link : *links) {
      std::string path = link.target;
      if (path.rfind("coap", 0) == 0) continue;   // absolute links point elsewhere
      while (!path.empty() && path[0] == '/') path.erase(0, 1);
      if (path.empty() || path.rfind(".well-known", 0) == 0) continue;
      bool configured = false;
      for (auto& r : d.resources) {
        if (r.config.path == path) {
          r.offersObserve = link.observable();
          r.linkFormat = link.contentFormat();
          configured = true;
        }
      }
      if (configured) continue;
      ResourceConfig c;
      c.path = path;
      addResource(d, std::move(c), link.observable());
      if (!d.resources.empty() && d.resources.back().config.path == path) d.resources.back().linkFormat = link.contentFormat();
      ++added;
    }
    bridge->host().info("CoAP: device " + d.config.provider + ": " + std::to_string(links->size()) + " link(s) in /.well-known/core, " +
                        std::to_string(d.resources.size()) + " resource(s)");
  }

  // A value from a device's answer or notification.
  void store(Device& d, Resource& r, const coap_pdu_t* received) {
    std::size_t length = 0, offset = 0, total = 0;
    const std::uint8_t* data = nullptr;
    std::string_view body;
    if (coap_get_data_large(received, &length, &data, &offset, &total) && data != nullptr) {
      body = std::string_view(reinterpret_cast<const char*>(data), length);
    }
    const auto bad = [&](const std::string& why) {
      bridge->counters_.badPayloads.fetch_add(1, std::memory_order_relaxed);
      bridge->reportBad(d.config.provider + " " + d.config.uri, "/" + r.config.path + ": " + why);
    };
    if (total > maxPayload || length > maxPayload) return bad("answer larger than max_payload_bytes");
    const std::string& p = d.config.provider;
    if (r.config.e2e) {
      bridge->declareOnce(p, r.service, r.resource, sdk::ValueType::Bytes, r.config.unit);
      if (!r.e2eMarked) {
        (void)bridge->host().setMetadata(p, r.service, r.resource, "e2e", sdk::Value::ofBool(true));
        r.e2eMarked = true;
      }
      if (bridge->host().push(p, r.service, r.resource, sdk::Value::ofBytes(std::string(body)))) {
        bridge->counters_.stored.fetch_add(1, std::memory_order_relaxed);
      }
      return;
    }
    // The option, else what the device declared (devices file, or its /.well-known/core); never guessed.
    auto format = contentFormatOf(received);
    if (!format) format = r.config.contentFormat ? r.config.contentFormat : r.linkFormat;
    if (!format) return bad("no Content-Format option, and none declared in /.well-known/core or content_format (the payload is never guessed)");
    if (isSenml(*format)) {
      const std::int64_t now = kit::nowMillis();
      auto records = *format == static_cast<std::uint16_t>(ContentFormat::SenmlJson) ? decodeSenmlJson(body, now) : decodeSenmlCbor(body, now);
      if (!records) return bad(records.message());
      for (const auto& rec : *records) {
        // A record names a resource of the resource's service, or service/resource.
        std::string service = r.service, resource = r.resource;
        if (!rec.name.empty()) {
          const auto slash = rec.name.find('/');
          if (slash == std::string::npos) {
            resource = rec.name;
          } else {
            service = rec.name.substr(0, slash);
            resource = rec.name.substr(slash + 1);
          }
        }
        if (!kit::isValidIdentifier(service) || !kit::isValidIdentifier(resource)) {
          bad("SenML name " + kit::quoteForMessage(rec.name) + " is not resource or service/resource");
          continue;
        }
        bridge->declareOnce(p, service, resource, rec.value.type(), rec.unit.empty() ? r.config.unit : rec.unit);
        if (bridge->host().push(p, service, resource, rec.value, rec.timeMs)) bridge->counters_.stored.fetch_add(1, std::memory_order_relaxed);
      }
      return;
    }
    auto value = decodeValue(*format, body);
    if (!value) return bad(value.message());
    if (r.config.access == Access::Write && value->type() != r.config.type) {
      // A writable resource keeps its declared type: convert what converts exactly.
      auto converted = convert(*value, r.config.type);
      if (!converted) return bad("the value is not a " + std::string(sdk::toString(r.config.type)));
      value = std::move(*converted);
    }
    bridge->declareOnce(p, r.service, r.resource, value->type(), r.config.unit);
    if (auto s = bridge->host().push(p, r.service, r.resource, *value); s) {
      bridge->counters_.stored.fetch_add(1, std::memory_order_relaxed);
    } else {
      bad("the gateway refused the value: " + s.message());
    }
  }

  static std::optional<sdk::Value> convert(const sdk::Value& v, sdk::ValueType to) {
    using T = sdk::ValueType;
    const bool integral = v.type() == T::Int || v.type() == T::Long;
    if (to == T::Double && (integral || v.type() == T::Double)) return sdk::Value::ofDouble(v.asDouble());
    if (to == T::Long && integral) return sdk::Value::ofLong(v.asInteger());
    if (to == T::Int && integral && v.asInteger() >= INT32_MIN && v.asInteger() <= INT32_MAX) {
      return sdk::Value::ofInt(static_cast<std::int32_t>(v.asInteger()));
    }
    if (to == T::String && v.type() == T::String) return v;
    return std::nullopt;
  }

  static coap_response_t onResponse(coap_session_t* session, const coap_pdu_t*, const coap_pdu_t* received, const coap_mid_t) {
    Io* io = ofSession(session);
    if (io == nullptr) return COAP_RESPONSE_OK;
    const coap_bin_const_t token = coap_pdu_get_token(received);
    Device* d = io->deviceOf(session);
    if (d != nullptr) io->heard(*d);
    auto it = d == nullptr ? io->outstanding.end()
                           : io->outstanding.find(keyOf(static_cast<std::size_t>(d - io->devices.data()), token.s, token.length));
    if (it == io->outstanding.end() || d == nullptr) {
      // An answer nobody waits for (late, or a notification of a dropped observation): a RST
      // tells the device to stop notifying.
      return coap_pdu_get_type(received) == COAP_MESSAGE_CON || coap_pdu_get_type(received) == COAP_MESSAGE_NON ? COAP_RESPONSE_FAIL
                                                                                                               : COAP_RESPONSE_OK;
    }
    io->answered(*d, it->first, it->second, received);
    return COAP_RESPONSE_OK;
  }

  // `stored` is the entry of `key` in outstanding; it may be erased here (o is a copy).
  void answered(Device& d, const std::string key, Outstanding& stored, const coap_pdu_t* received) {
    const Outstanding o = stored;
    const coap_pdu_code_t code = coap_pdu_get_code(received);
    const int cls = static_cast<int>(code) >> 5;
    const int detail = static_cast<int>(code) & 0x1f;
    switch (o.kind) {
      case Kind::Discover:
        outstanding.erase(key);
        if (cls == 2) {
          discovered(d, received);
        } else {
          d.discoveryInFlight = false;
          d.discovered = true;   // no discovery: the configured resources only
          bridge->host().warn("CoAP: device " + d.config.provider + " answered " + codeText(cls, detail) +
                              " to /.well-known/core; using the configured resources only");
        }
        return;
      case Kind::Poll: {
        outstanding.erase(key);
        auto& r = d.resources[o.resource];
        r.inFlight = false;
        r.nextPoll = Clock::now() + d.config.pollInterval;
        if (cls == 2) {
          store(d, r, received);
        } else if (cls == 4 && detail == 5 && r.config.access == Access::Read) {
          // 4.05: not readable (a discovered resource that only takes POST, say): stop polling it.
          r.unreadable = true;
          bridge->host().info("CoAP: device " + d.config.provider + ": /" + r.config.path + " answers GET with 4.05; not polled");
        }
        return;
      }
      case Kind::Observe: {
        auto& r = d.resources[o.resource];
        coap_opt_iterator_t it;
        const bool hasObserve = coap_check_option(received, COAP_OPTION_OBSERVE, &it) != nullptr;
        if (cls != 2) {
          // The observation ended (or was refused): poll, and try again later.
          dropObservation(d, r);
          r.nextPoll = Clock::now() + d.config.pollInterval;
          return;
        }
        if (!o.confirmed) {
          stored.confirmed = true;
          r.inFlight = false;
          if (!hasObserve) {
            // The device answered without Observe: not observable; the answer is the first poll.
            outstanding.erase(key);
            r.observeToken.clear();
            if (observations > 0) --observations;
            r.pollOnly = true;
            r.nextPoll = Clock::now() + d.config.pollInterval;
            bridge->counters_.polls.fetch_add(1, std::memory_order_relaxed);
            store(d, r, received);
            return;
          }
          r.observing = true;
        } else {
          bridge->counters_.notifications.fetch_add(1, std::memory_order_relaxed);
        }
        r.lastNotification = Clock::now();
        if (coap_opt_t* maxAge = coap_check_option(received, COAP_OPTION_MAXAGE, &it)) {
          r.maxAge = std::chrono::seconds(coap_decode_var_bytes(coap_opt_value(maxAge), coap_opt_length(maxAge)));
        } else {
          r.maxAge = std::chrono::seconds(60);
        }
        store(d, r, received);
        return;
      }
      case Kind::Command: {
        outstanding.erase(key);
        auto entry = pending.take(o.pendingId);
        if (!entry) return;   // timed out already
        std::size_t length = 0, offset = 0, total = 0;
        const std::uint8_t* data = nullptr;
        std::string body;
        if (coap_get_data_large(received, &length, &data, &offset, &total) && data != nullptr) {
          body.assign(reinterpret_cast<const char*>(data), std::min(length, maxPayload));
        }
        if (cls == 2) {
          if (entry->data.set) {
            entry->request.complete(entry->data.value);
          } else {
            entry->request.complete(sdk::Value::ofString(kit::isValidUtf8(body) ? body : kit::base64Encode(body)));
          }
          return;
        }
        bridge->counters_.commandsFailed.fetch_add(1, std::memory_order_relaxed);
        std::string message = "device " + d.config.provider + " answered " + codeText(cls, detail) + " to " + entry->data.what;
        if (!body.empty() && kit::isValidUtf8(body)) message += ": " + kit::quoteForMessage(body, 200);
        entry->request.fail(kit::toGhStatus(errorCodeForCoap(cls, detail)), message);
        return;
      }
    }
  }

  static void onPong(coap_session_t* session, const coap_pdu_t*, const coap_mid_t) {
    Io* io = ofSession(session);
    if (io == nullptr) return;
    if (Device* d = io->deviceOf(session)) io->heard(*d);
  }

  static void onNack(coap_session_t* session, const coap_pdu_t*, const coap_nack_reason_t reason, const coap_mid_t) {
    Io* io = ofSession(session);
    if (io == nullptr) return;
    if (reason == COAP_NACK_RST) {
      // A RST is an answer too: libcoap 4.3.1 reports the RST a device sends to a ping (an empty
      // CON) here rather than to the pong handler.
      if (Device* d = io->deviceOf(session)) io->heard(*d);
      return;
    }
    if (reason != COAP_NACK_TLS_FAILED) return;
    if (Device* d = io->deviceOf(session); d != nullptr && !d->dtlsFailureLogged) {
      d->dtlsFailureLogged = true;
      io->bridge->noteDtlsRefused(d->config.uri + " (device " + d->config.provider + ")", "the DTLS handshake failed (wrong key or certificate?)");
    }
  }

  static int onEvent(coap_session_t* session, const coap_event_t event);

  // ---- the loop ----

  void tick(Clock::time_point now) {
    for (auto it = handshaking.begin(); it != handshaking.end();) {
      if (now - it->second < kHandshakeLimit) {
        ++it;
        continue;
      }
      bridge->noteDtlsRefused(peerOf(it->first), "the DTLS handshake did not complete within " +
                                                     std::to_string(kHandshakeLimit.count()) + " s (wrong key or certificate?)");
      it = handshaking.erase(it);
    }
    // Deadlines: silent devices, timed-out commands.
    for (auto it = outstanding.begin(); it != outstanding.end();) {
      Outstanding& o = it->second;
      if ((o.kind == Kind::Observe && o.confirmed) || o.deadline > now) {
        ++it;
        continue;
      }
      Device& d = devices[o.device];
      bridge->counters_.timeouts.fetch_add(1, std::memory_order_relaxed);
      std::string what;
      switch (o.kind) {
        case Kind::Discover:
          d.discoveryInFlight = false;
          d.nextDiscovery = now + d.config.pollInterval;
          what = "/.well-known/core";
          break;
        case Kind::Poll:
        case Kind::Observe: {
          auto& r = d.resources[o.resource];
          r.inFlight = false;
          if (o.kind == Kind::Observe) {
            r.observeToken.clear();
            if (observations > 0) --observations;
          }
          r.nextPoll = now + d.config.pollInterval;
          what = "/" + r.config.path;
          break;
        }
        case Kind::Command:
          what = "a command";
          break;
      }
      const bool silent = d.lastHeard <= o.sent;   // nothing at all from the device since it was sent
      it = outstanding.erase(it);
      if (silent) setLife(d, Life::Inactive, "no answer to " + what + " within " + std::to_string(d.config.timeout.count()) + " ms");
    }
    const std::size_t timedOut = pending.sweep(now, [](const kit::PendingRequests<Waiting>::Entry& e) {
      return "no answer to " + e.data.what + " within " + std::to_string(e.timeoutMs()) + " ms: the device did not answer";
    });
    if (timedOut > 0) bridge->counters_.commandsFailed.fetch_add(timedOut, std::memory_order_relaxed);

    for (auto& d : devices) {
      // A device with the wrong key often just stays silent (DTLS drops what it cannot
      // authenticate): a handshake still open after kHandshakeLimit is reported as refused.
      if (d.handshakeStarted != Clock::time_point{} && now - d.handshakeStarted > kHandshakeLimit) {
        d.handshakeStarted = {};
        if (!d.dtlsFailureLogged) {
          d.dtlsFailureLogged = true;
          bridge->noteDtlsRefused(d.config.uri + " (device " + d.config.provider + ")", "the DTLS handshake did not complete within " +
                                                                                     std::to_string(kHandshakeLimit.count()) + " s (wrong key or certificate?)");
        }
      }
      // Liveness: a ping when nothing was heard for ping_interval_s.
      if (d.pingDeadline != Clock::time_point{} && now >= d.pingDeadline) {
        d.pingDeadline = {};
        bridge->counters_.timeouts.fetch_add(1, std::memory_order_relaxed);
        setLife(d, Life::Inactive, "no answer to a CoAP ping within " + std::to_string(d.config.timeout.count()) + " ms");
        d.lastHeard = now;   // next ping after ping_interval_s
      } else if (d.pingDeadline == Clock::time_point{} && now - d.lastHeard >= d.config.pingInterval) {
        if (coap_session_t* s = sessionFor(d); s != nullptr && coap_session_send_ping(s) != COAP_INVALID_MID) {
          d.pingDeadline = now + d.config.timeout;
        } else {
          d.lastHeard = now;
        }
      }
      if (d.config.discover && !d.discovered) {
        if (!d.discoveryInFlight && now >= d.nextDiscovery) {
          if (!send(d, 0, Kind::Discover, COAP_REQUEST_CODE_GET, ".well-known/core", false, std::nullopt, {}, d.config.timeout).empty()) {
            d.discoveryInFlight = true;
          } else {
            d.nextDiscovery = now + d.config.pollInterval;
          }
        }
        continue;   // resources start once discovery answered (or failed with a code)
      }
      for (std::size_t i = 0; i < d.resources.size(); ++i) {
        auto& r = d.resources[i];
        if (r.config.access == Access::Action || r.inFlight || r.unreadable) continue;
        if (r.observing) {
          // RFC 7641 3.3.1: a notification is due within Max-Age; re-register when it lapses.
          if (now - r.lastNotification > r.maxAge + std::chrono::seconds(2)) {
            bridge->host().info("CoAP: device " + d.config.provider + ": /" + r.config.path + ": no notification within its Max-Age (" +
                                std::to_string(r.maxAge.count()) + " s): registering again");
            dropObservation(d, r);
            r.nextPoll = now;
          }
          continue;
        }
        if (now < r.nextPoll || d.life == Life::Inactive) continue;   // pings decide when it is back
        const bool wantObserve = !r.pollOnly && (r.config.observe == ObserveMode::Always || r.offersObserve || !d.config.discover);
        if (wantObserve && observations >= maxObservations) {
          r.pollOnly = true;
          bridge->counters_.observationsRefused.fetch_add(1, std::memory_order_relaxed);
          bridge->host().warn("CoAP: max_observations (" + std::to_string(maxObservations) + ") reached: " + d.config.provider + "/" +
                              r.config.path + " is polled");
        }
        if (wantObserve && !r.pollOnly) {
          r.observeToken = send(d, i, Kind::Observe, COAP_REQUEST_CODE_GET, r.config.path, true, std::nullopt, {}, d.config.timeout);
          r.inFlight = !r.observeToken.empty();
          if (r.inFlight) ++observations;
        } else {
          r.inFlight = !send(d, i, Kind::Poll, COAP_REQUEST_CODE_GET, r.config.path, false, std::nullopt, {}, d.config.timeout).empty();
          if (r.inFlight) bridge->counters_.polls.fetch_add(1, std::memory_order_relaxed);
        }
        if (!r.inFlight) r.nextPoll = now + d.config.pollInterval;
      }
    }
    if (now >= nextStats) {
      nextStats = now + kStatsPeriod;
      bridge->publishStats(false);
    }
  }

  void runCommands() {
    std::deque<Command> batch;
    {
      std::lock_guard lock(commandsMu);
      batch.swap(commands);
    }
    for (auto& c : batch) {
      Device& d = devices[c.device];
      const auto& r = d.resources[c.resource];
      if (send(d, c.resource, Kind::Command, c.method, r.config.path, false, c.format, c.payload, d.config.timeout, c.pendingId).empty()) {
        pending.fail(c.pendingId, kit::ErrorCode::Unavailable, "cannot send to device " + d.config.provider + " (" + d.config.uri + ")");
        bridge->counters_.commandsFailed.fetch_add(1, std::memory_order_relaxed);
      } else {
        bridge->counters_.commandsSent.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }

  void run(const std::atomic<bool>& running) {
    const int coapFd = coap_context_get_coap_fd(ctx);
    Clock::time_point nextTick{};
    while (running.load(std::memory_order_relaxed)) {
      const auto now = Clock::now();
      evictedForNew = false;
      runCommands();
      // The deadlines and schedules walk every device and request: at most every kTickEvery, not
      // once per packet (the loop turns once per batch of notifications under load).
      if (now >= nextTick) {
        tick(now);
        nextTick = now + kTickEvery;
      }
      coap_tick_t ticks;
      coap_ticks(&ticks);
      unsigned wait = coap_io_prepare_epoll(ctx, ticks);
      const unsigned cap = static_cast<unsigned>(kTick.count());
      if (wait == 0 || wait > cap) wait = cap;
      pollfd fds[2] = {{coapFd, POLLIN, 0}, {wakeFd, POLLIN, 0}};
      const int n = ::poll(fds, 2, static_cast<int>(wait));
      if (n > 0 && (fds[1].revents & POLLIN) != 0) {
        std::uint64_t count;
        (void)!::read(wakeFd, &count, sizeof count);
      }
      coap_io_process(ctx, COAP_IO_NO_WAIT);
    }
  }
};

namespace {
std::mutex gIoMu;
std::map<coap_context_t*, CoapBridge::Io*> gIos;   // server-session events carry only the session
}  // namespace

int CoapBridge::Io::onEvent(coap_session_t* session, const coap_event_t event) {
  Io* io = nullptr;
  {
    std::lock_guard lock(gIoMu);
    auto it = gIos.find(coap_session_get_context(session));
    if (it != gIos.end()) io = it->second;
  }
  if (io == nullptr) return 0;
  if (coap_session_get_type(session) == COAP_SESSION_TYPE_CLIENT) {
    if (event == COAP_EVENT_DTLS_CONNECTED) {
      if (Device* d = io->deviceOf(session)) d->handshakeStarted = {};
    }
    if (event == COAP_EVENT_DTLS_ERROR) {
      if (Device* d = io->deviceOf(session); d != nullptr && !d->dtlsFailureLogged) {
        d->dtlsFailureLogged = true;
        io->bridge->noteDtlsRefused(d->config.uri + " (device " + d->config.provider + ")", "the DTLS handshake failed (wrong key or certificate?)");
      }
    }
    return 0;
  }
  switch (event) {
    case COAP_EVENT_SERVER_SESSION_NEW:
      if (coap_session_get_proto(session) == COAP_PROTO_DTLS) io->handshaking.emplace(session, Clock::now());
      io->serverSessions.insert(session);
      // libcoap makes room for a new peer beyond max_sessions by deleting the oldest idle session
      // just before announcing the new one: a deletion at the cap right before a NEW is that.
      if (std::exchange(io->evictedForNew, false)) {
        // libcoap drops the oldest idle session to make room (max_sessions); counted and logged.
        io->bridge->counters_.sessionLimitHits.fetch_add(1, std::memory_order_relaxed);
        io->bridge->reportBad(peerOf(session), "max_sessions (" + std::to_string(io->maxSessions) +
                                                   ") reached: the oldest idle session makes room");
      }
      break;
    case COAP_EVENT_DTLS_CONNECTED:
      io->handshaking.erase(session);
      break;
    case COAP_EVENT_DTLS_CLOSED:
    case COAP_EVENT_DTLS_ERROR:
    case COAP_EVENT_SERVER_SESSION_DEL:
      if (event == COAP_EVENT_SERVER_SESSION_DEL) {
        const bool atCap = io->serverSessions.size() >= io->maxSessions;
        io->evictedForNew = io->serverSessions.erase(session) != 0 && atCap;
      }
      if (io->handshaking.erase(session) != 0) {
        io->bridge->noteDtlsRefused(peerOf(session), "the DTLS handshake did not complete (wrong key or certificate?)");
      }
      break;
    default:
      break;
  }
  return 0;
}

// ---- life cycle ------------------------------------------------------------------------------

CoapBridge::CoapBridge() = default;

CoapBridge::~CoapBridge() {
  running_ = false;
  if (thread_.joinable()) thread_.join();
  if (io_ && io_->ctx != nullptr) {
    std::lock_guard lock(gIoMu);
    gIos.erase(io_->ctx);
  }
  io_.reset();
}

sdk::Status CoapBridge::configure(const sdk::Config& config) {
  auto bound = settingsTable().bind(config);
  if (!bound) return kit::toStatus(bound.error());
  settings_ = std::make_unique<Settings>(std::move(*bound));
  if (!settings_->devicesFile.empty()) {
    auto devices = loadDevicesFile(settings_->devicesFile);
    if (!devices) return sdk::Status::invalidArgument(devices.message());
    devices_ = std::move(*devices);
    for (const auto& d : devices_) {
      if (d.secure && d.pskIdentity.empty() && settings_->certFile.empty()) {
        return sdk::Status::invalidArgument(settings_->devicesFile + ": device " + d.provider + " (" + d.uri +
                                            ") uses coaps without psk_key: the plugin needs cert_file, key_file and ca_file");
      }
    }
  }
  if (settings_->listen.empty() && settings_->dtlsListen.empty() && devices_.empty()) settings_->listen.push_back("127.0.0.1:5683");
  return sdk::Status::ok();
}

sdk::Status CoapBridge::start() {
  if (!settings_) return sdk::Status::invalidArgument("the CoAP bridge is not configured");
  coap_startup();
  coap_set_log_level(LOG_EMERG);   // libcoap's own lines would bypass the gateway's log
  io_ = std::make_unique<Io>();
  io_->bridge = this;
  io_->maxPayload = static_cast<std::size_t>(settings_->maxPayloadBytes);
  io_->maxObservations = static_cast<std::size_t>(settings_->maxObservations);
  io_->maxSessions = static_cast<std::size_t>(settings_->maxSessions);
  io_->caFile = settings_->caFile;
  io_->certFile = settings_->certFile;
  io_->keyFile = settings_->keyFile;
  io_->wakeFd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (io_->wakeFd < 0) return sdk::Status::internal("cannot create an eventfd");
  io_->ctx = coap_new_context(nullptr);
  if (io_->ctx == nullptr) return sdk::Status::internal("libcoap: cannot create a context");
  {
    std::lock_guard lock(gIoMu);
    gIos[io_->ctx] = io_.get();
  }
  coap_context_set_block_mode(io_->ctx, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
  coap_context_set_max_idle_sessions(io_->ctx, static_cast<unsigned>(settings_->maxSessions));
  coap_context_set_max_handshake_sessions(io_->ctx, static_cast<unsigned>(std::min(settings_->maxSessions, 100)));
  coap_register_event_handler(io_->ctx, &Io::onEvent);
  coap_register_response_handler(io_->ctx, &Io::onResponse);
  coap_register_pong_handler(io_->ctx, &Io::onPong);
  coap_register_nack_handler(io_->ctx, &Io::onNack);

  const bool needDtls = !settings_->dtlsListen.empty() ||
                        std::any_of(devices_.begin(), devices_.end(), [](const DeviceConfig& d) { return d.secure; });
  if (needDtls && !coap_dtls_is_supported()) return sdk::Status::unavailable("libcoap was built without DTLS: coaps cannot be used");
  if (!settings_->dtlsListen.empty()) {
    if (!settings_->pskKeys.empty()) {
      for (const auto& entry : settings_->pskKeys) {
        auto p = parsePsk(entry);   // checked by configure
        if (!p) return sdk::Status::invalidArgument("psk_keys: " + p.message());
        auto& stored = io_->keyStore[p->identity];
        stored = p->key;
        io_->keys[p->identity] = coap_bin_const_t{stored.size(), reinterpret_cast<const std::uint8_t*>(stored.data())};
      }
      coap_dtls_spsk_t spsk{};
      spsk.version = COAP_DTLS_SPSK_SETUP_VERSION;
      spsk.validate_id_call_back = &Io::validateIdentity;
      spsk.id_call_back_arg = io_.get();
      if (!coap_context_set_psk2(io_->ctx, &spsk)) return sdk::Status::internal("libcoap: cannot set up DTLS PSK");
    }
    if (!settings_->certFile.empty()) {
      coap_dtls_pki_t pki = io_->pkiSetup();
      if (!coap_context_set_pki(io_->ctx, &pki)) {
        return sdk::Status::invalidArgument("cannot use cert_file " + settings_->certFile + ", key_file and ca_file " + settings_->caFile +
                                            " (unreadable, not PEM, or the key does not match the certificate)");
      }
    }
  }
  const auto addEndpoints = [&](const std::vector<std::string>& entries, coap_proto_t proto, const char* scheme) -> sdk::Status {
    for (const auto& entry : entries) {
      auto e = parseEndpoint(entry);
      if (!e) return sdk::Status::invalidArgument(e.message());
      if (coap_new_endpoint(io_->ctx, &e->address, proto) == nullptr) {
        return sdk::Status::unavailable(std::string("cannot listen on ") + scheme + "://" + entry + " (address in use?)");
      }
      bound_.push_back(std::string(scheme) + "://" + entry);
    }
    return sdk::Status::ok();
  };
  if (auto s = addEndpoints(settings_->listen, COAP_PROTO_UDP, "coap"); !s) return s;
  if (auto s = addEndpoints(settings_->dtlsListen, COAP_PROTO_DTLS, "coaps"); !s) return s;

  if (!bound_.empty()) {
    coap_resource_t* push = coap_resource_unknown_init2(&Io::handle, 0);
    coap_register_handler(push, COAP_REQUEST_POST, &Io::handle);
    coap_resource_set_userdata(push, io_.get());
    coap_add_resource(io_->ctx, push);
    for (const auto& entry : settings_->pushPaths) {
      auto p = parsePushPath(entry).value();   // checked by configure
      io_->pushPaths[p.path] = p;
      io_->listPath(p.path, std::nullopt);
    }
  }

  state_.attach(host());
  // The counters, and the devices of the client side.
  const std::string& stats = settings_->statsProvider;
  if (auto s = host().declareProvider(stats, "coap-bridge"); !s) host().warn("CoAP: cannot declare " + stats + ": " + s.message());
  for (const auto& f : kStatFields) {
    sdk::ResourceSpec spec;
    spec.provider = stats;
    spec.service = "stats";
    spec.resource = f.name;
    spec.type = sdk::ValueType::Long;
    spec.description = f.description;
    if (auto s = host().declareResource(spec); !s) host().warn("CoAP: cannot declare " + stats + "/stats/" + f.name + ": " + s.message());
  }
  publishStats(true);
  for (const auto& config : devices_) {
    if (auto s = host().declareProvider(config.provider, "coap-device"); !s) {
      return sdk::Status::invalidArgument("cannot declare device " + config.provider + ": " + s.message());
    }
    Io::Device d;
    d.config = config;
    d.endpoint = endpointOf(config.address);
    d.lastHeard = Clock::now();
    io_->devices.push_back(std::move(d));
    io_->deviceByProvider[config.provider] = io_->devices.size() - 1;
  }
  for (auto& d : io_->devices) {
    d.resources.reserve(kMaxResources);
    for (const auto& r : d.config.resources) io_->addResource(d, r, r.observe == ObserveMode::Always);
    for (std::size_t i = 0; i < d.resources.size(); ++i) {
      if (d.resources[i].config.access != Access::Read) d.commandTargets[d.resources[i].service + "/" + d.resources[i].resource] = i;
    }
    d.discovered = !d.config.discover;
  }

  running_ = true;
  thread_ = std::thread([this] {
    kit::setThreadName("coap-io");
    io_->run(running_);
  });
  for (const auto& b : bound_) host().info("CoAP: listening on " + b);
  if (!io_->devices.empty()) host().info("CoAP: " + std::to_string(io_->devices.size()) + " device(s) to observe or poll");
  state_.running(std::to_string(bound_.size()) + " endpoint(s), " + std::to_string(io_->devices.size()) + " device(s)");
  return sdk::Status::ok();
}

void CoapBridge::stop() {
  if (io_) io_->pending.close();
  running_ = false;
  if (io_) io_->wake();
  if (thread_.joinable()) thread_.join();   // no handler runs after this
  if (io_) io_->pending.failAll(kit::ErrorCode::Unavailable, "the CoAP bridge stopped");
  if (io_ && io_->ctx != nullptr) {
    std::lock_guard lock(gIoMu);
    gIos.erase(io_->ctx);
  }
  io_.reset();
  publishStats(false);
  std::lock_guard lock(badMu_);
  if (badSinceLog_ > 0) host().warn("CoAP: " + std::to_string(badSinceLog_) + " more refused request(s)");
  badSinceLog_ = 0;
}

// ---- SET / ACT -------------------------------------------------------------------------------

namespace {

std::string valueText(const sdk::Value& v) {
  std::string out;
  switch (v.type()) {
    case sdk::ValueType::Int:
    case sdk::ValueType::Long: kit::json::appendInt(out, v.asInteger()); break;
    case sdk::ValueType::Double: kit::json::appendDouble(out, v.asDouble()); break;
    case sdk::ValueType::Boolean: kit::json::appendBool(out, v.asBool()); break;
    default: out = v.asString(); break;
  }
  return out;
}

void appendJson(std::string& out, const sdk::Value& v) {
  switch (v.type()) {
    case sdk::ValueType::String: kit::json::appendString(out, v.asString()); break;
    case sdk::ValueType::Bytes: kit::json::appendString(out, kit::base64Encode(v.asString())); break;
    case sdk::ValueType::Json: out += v.asString(); break;
    default: out += valueText(v); break;
  }
}

}  // namespace

// SET and ACT: find the resource (a table fixed at start), encode, register the pending request
// and hand the command to the I/O thread. `encode` fills the payload and its Content-Format.
void CoapBridge::sendCommand(sdk::Request request, const std::string& provider, const std::string& service, const std::string& resource,
                             bool set, const sdk::Value& setValue, const std::function<void(const ResourceConfig&, std::string&, std::uint16_t&)>& encode) {
  Io* io = io_.get();
  if (io == nullptr) {
    request.fail(GH_ERR_UNAVAILABLE, "the CoAP bridge is not running");
    return;
  }
  auto dev = io->deviceByProvider.find(provider);
  if (dev == io->deviceByProvider.end()) {
    request.fail(GH_ERR_NOT_FOUND, "not a CoAP device: " + provider);
    return;
  }
  // The device list, commandTargets and the configs of its resources do not change after start().
  const auto& d = io->devices[dev->second];
  auto target = d.commandTargets.find(service + "/" + resource);
  const Access wanted = set ? Access::Write : Access::Action;
  if (target == d.commandTargets.end() || d.resources[target->second].config.access != wanted) {
    request.fail(GH_ERR_NOT_ALLOWED, provider + "/" + service + "/" + resource +
                                         (set ? " is not writable (access: write in the devices file)" : " is not an action (access: action in the devices file)"));
    return;
  }
  const auto& r = d.resources[target->second];
  Io::Command c;
  c.device = dev->second;
  c.resource = target->second;
  c.method = set ? COAP_REQUEST_CODE_PUT : COAP_REQUEST_CODE_POST;
  encode(r.config, c.payload, c.format);
  Io::Waiting w;
  w.what = std::string(set ? "the PUT to " : "the POST to ") + d.config.uri + "/" + r.config.path;
  w.set = set;
  w.value = setValue;
  auto id = io->pending.add(request, d.config.timeout, std::move(w));
  if (!id) {
    request.fail(kit::toStatus(id.error()));
    return;
  }
  c.pendingId = *id;
  {
    std::lock_guard lock(io->commandsMu);
    if (io->commands.size() >= kMaxQueuedCommands) {
      io->pending.fail(*id, kit::ErrorCode::Unavailable, "too many commands waiting for CoAP devices");
      return;
    }
    io->commands.push_back(std::move(c));
  }
  io->wake();
}

void CoapBridge::onSet(sdk::Request request, const std::string& provider, const std::string& service, const std::string& resource,
                       const sdk::Value& value) {
  sendCommand(std::move(request), provider, service, resource, true, value,
              [&value](const ResourceConfig& config, std::string& payload, std::uint16_t& format) {
                if (config.format == WriteFormat::Json) {
                  format = static_cast<std::uint16_t>(ContentFormat::Json);
                  appendJson(payload, value);
                } else {
                  format = value.type() == sdk::ValueType::Bytes ? static_cast<std::uint16_t>(ContentFormat::OctetStream) : 0;
                  payload = valueText(value);
                }
              });
}

void CoapBridge::onAct(sdk::Request request, const std::string& provider, const std::string& service, const std::string& resource,
                       const sdk::ActParams& params) {
  sendCommand(std::move(request), provider, service, resource, false, {},
              [&params](const ResourceConfig& config, std::string& payload, std::uint16_t& format) {
                if (config.format == WriteFormat::Json) {
                  format = static_cast<std::uint16_t>(ContentFormat::Json);
                  payload = "{";
                  for (std::size_t i = 0; i < params.size(); ++i) {
                    if (i > 0) payload += ',';
                    kit::json::appendString(payload, params[i].first);
                    payload += ':';
                    appendJson(payload, params[i].second);
                  }
                  payload += '}';
                } else {
                  format = 0;
                  if (!params.empty()) payload = valueText(params.front().second);
                }
              });
}

// ---- the push endpoint -----------------------------------------------------------------------

// Logs a refused request or unreadable payload, at most once per bad_request_log_interval_s (the
// callers count them).
void CoapBridge::reportBad(const std::string& peer, const std::string& reason) {
  std::string line;
  {
    std::lock_guard lock(badMu_);
    ++badSinceLog_;
    const auto now = std::chrono::steady_clock::now();
    if (lastBadLog_ != std::chrono::steady_clock::time_point{} && now - lastBadLog_ < settings_->badRequestLogInterval) return;
    line = std::to_string(badSinceLog_) + " refused request(s), latest from " + peer + ": " + reason;
    badSinceLog_ = 0;
    lastBadLog_ = now;
  }
  host().warn("CoAP: " + line);
}

void CoapBridge::noteDtlsRefused(const std::string& peer, const std::string& why) {
  counters_.dtlsRefused.fetch_add(1, std::memory_order_relaxed);
  host().warn("CoAP: DTLS refused for " + peer + ": " + why);
}

void CoapBridge::declareOnce(const std::string& provider, const std::string& service, const std::string& resource,
                             sdk::ValueType type, const std::string& unit) {
  const std::string key = provider + "/" + service + "/" + resource;
  {
    std::lock_guard lock(declaredMu_);
    if (!declared_.insert(key).second) return;
  }
  sdk::ResourceSpec spec;
  spec.provider = provider;
  spec.service = service;
  spec.resource = resource;
  spec.type = type;
  spec.unit = unit;
  if (auto s = host().declareResource(spec); !s) host().debug("CoAP: cannot declare " + key + ": " + s.message());
}

CoapBridge::PushResult CoapBridge::handlePush(const std::vector<std::string>& path, std::optional<std::uint16_t> format,
                                              std::string_view payload, const std::string& peer) {
  counters_.requests.fetch_add(1, std::memory_order_relaxed);
  const auto refuse = [&](int code, const std::string& why) {
    counters_.bad.fetch_add(1, std::memory_order_relaxed);
    reportBad(peer, why);
    return PushResult{code, why};
  };
  for (const auto& segment : path) {
    if (!kit::isValidIdentifier(segment)) {
      return refuse(400, "path segment " + kit::quoteForMessage(segment) + " is not a name (A-Z a-z 0-9 _ . : -)");
    }
  }
  if (path.empty() || path.size() > 3) return refuse(404, "push to /{provider}/{service}/{resource} (SenML: /{provider} or /{provider}/{service})");
  if (!format) return refuse(415, "a Content-Format option is required (text/plain, JSON, CBOR or SenML); the payload is never guessed");
  const std::int64_t now = kit::nowMillis();
  if (isSenml(*format)) {
    auto records = *format == static_cast<std::uint16_t>(ContentFormat::SenmlJson) ? decodeSenmlJson(payload, now) : decodeSenmlCbor(payload, now);
    if (!records) return refuse(400, records.message());
    // Check every record first: a pack is stored whole or not at all.
    std::vector<std::vector<std::string>> targets;
    for (const auto& rec : *records) {
      std::vector<std::string> full = path;
      std::size_t start = 0;
      while (start <= rec.name.size()) {
        const auto slash = rec.name.find('/', start);
        full.push_back(rec.name.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
        if (slash == std::string::npos) break;
        start = slash + 1;
      }
      if (full.size() != 3 || !std::all_of(full.begin(), full.end(), [](const std::string& s) { return kit::isValidIdentifier(s); })) {
        return refuse(400, "SenML name " + kit::quoteForMessage(rec.name) + " under /" + path[0] + (path.size() > 1 ? "/" + path[1] : "") +
                               " does not give provider/service/resource");
      }
      targets.push_back(std::move(full));
    }
    for (std::size_t i = 0; i < records->size(); ++i) {
      const auto& rec = (*records)[i];
      const auto& t = targets[i];
      declareOnce(t[0], t[1], t[2], rec.value.type(), rec.unit);
      if (auto s = host().push(t[0], t[1], t[2], rec.value, rec.timeMs); !s) return refuse(400, "the gateway refused " + t[0] + "/" + t[1] + "/" + t[2] + ": " + s.message());
      counters_.stored.fetch_add(1, std::memory_order_relaxed);
    }
    return PushResult{204, {}};
  }
  if (path.size() != 3) return refuse(404, "a single value goes to /{provider}/{service}/{resource}");
  auto value = decodeValue(*format, payload);
  if (!value) return refuse(*format == 0 || *format == 42 || *format == 50 || *format == 60 ? 400 : 415, value.message());
  declareOnce(path[0], path[1], path[2], value->type(), "");
  if (auto s = host().push(path[0], path[1], path[2], *value); !s) return refuse(400, "the gateway refused the value: " + s.message());
  counters_.stored.fetch_add(1, std::memory_order_relaxed);
  return PushResult{204, {}};
}

CoapStats CoapBridge::stats() const {
  CoapStats s;
  s.requests = counters_.requests.load();
  s.valuesStored = counters_.stored.load();
  s.badRequests = counters_.bad.load();
  s.badPayloads = counters_.badPayloads.load();
  s.dtlsRefused = counters_.dtlsRefused.load();
  s.notifications = counters_.notifications.load();
  s.polls = counters_.polls.load();
  s.timeouts = counters_.timeouts.load();
  s.observationsRefused = counters_.observationsRefused.load();
  s.sessionLimitHits = counters_.sessionLimitHits.load();
  s.duplicates = counters_.duplicates.load();
  s.commandsSent = counters_.commandsSent.load();
  s.commandsFailed = counters_.commandsFailed.load();
  return s;
}

void CoapBridge::publishStats(bool force) {
  if (!settings_) return;
  const CoapStats now = stats();
  std::lock_guard lock(statsMu_);
  for (const auto& f : kStatFields) {
    if (!force && now.*(f.member) == lastPublished_.*(f.member)) continue;
    (void)host().push(settings_->statsProvider, "stats", f.name, sdk::Value::ofLong(static_cast<std::int64_t>(now.*(f.member))));
  }
  lastPublished_ = now;
}

std::vector<std::string> CoapBridge::boundAddresses() const { return bound_; }

}  // namespace gatehouse::bridge::coap
