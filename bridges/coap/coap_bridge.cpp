#include "coap_bridge.h"

#include <arpa/inet.h>
#include <coap3/coap.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>

#include "gatehouse/kit/codec.h"
#include "gatehouse/kit/settings.h"
#include "gatehouse/kit/thread_name.h"

namespace gatehouse::bridge::coap {

// ---- settings --------------------------------------------------------------------------------

struct CoapBridge::Settings {
  std::vector<std::string> listen;
  std::vector<std::string> dtlsListen;
  std::vector<std::string> pskKeys;
  int maxSessions = 256;
  int maxPayloadBytes = 16384;
  std::chrono::seconds badRequestLogInterval{10};
};

namespace {

struct Endpoint {
  coap_address_t address{};
};

// "HOST:PORT", IPv6 as "[ADDR]:PORT"; numeric hosts or localhost.
kit::Result<Endpoint> parseEndpoint(const std::string& text) {
  const std::string shown = kit::quoteForMessage(text);
  std::string host, port;
  if (!text.empty() && text[0] == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') return kit::badRequest("not [IPV6]:PORT: " + shown);
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) return kit::badRequest("not HOST:PORT (IPv6 as [::1]:5683): " + shown);
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoi(port) < 1 || std::stoi(port) > 65535) {
    return kit::badRequest("the port must be 1-65535: " + shown);
  }
  if (host == "localhost") host = "127.0.0.1";
  Endpoint e;
  coap_address_init(&e.address);
  if (::inet_pton(AF_INET, host.c_str(), &e.address.addr.sin.sin_addr) == 1) {
    e.address.addr.sin.sin_family = AF_INET;
    e.address.addr.sin.sin_port = htons(static_cast<std::uint16_t>(std::stoi(port)));
    e.address.size = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, host.c_str(), &e.address.addr.sin6.sin6_addr) == 1) {
    e.address.addr.sin6.sin6_family = AF_INET6;
    e.address.addr.sin6.sin6_port = htons(static_cast<std::uint16_t>(std::stoi(port)));
    e.address.size = sizeof(sockaddr_in6);
  } else {
    return kit::badRequest("the host must be an IPv4 or IPv6 address or localhost: " + shown);
  }
  return e;
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
  const std::string rest = entry.substr(eq + 1);
  if (p.identity.size() > 128) return kit::badRequest("PSK identity " + kit::quoteForMessage(p.identity) + " is longer than 128 bytes");
  if (rest.rfind("hex:", 0) == 0) {
    auto k = kit::hexDecode(rest.substr(4));
    if (!k) return kit::badRequest("the key of PSK identity " + kit::quoteForMessage(p.identity) + " is not hex (the key is not shown)");
    p.key = std::move(*k);
  } else if (rest.rfind("text:", 0) == 0) {
    p.key = rest.substr(5);
  } else {
    return kit::badRequest("the key of PSK identity " + kit::quoteForMessage(p.identity) + " must start with hex: or text:");
  }
  if (p.key.size() < 8 || p.key.size() > 64) {
    return kit::badRequest("the key of PSK identity " + kit::quoteForMessage(p.identity) + " must be 8 to 64 bytes (the key is not shown)");
  }
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

const kit::SettingsTable<CoapBridge::Settings>& settingsTable() {
  using S = CoapBridge::Settings;
  static const kit::SettingsTable<S> table = kit::SettingsTable<S>{
      kit::setting("listen", &S::listen).check(checkEndpoints)
          .doc("CoAP over UDP: HOST:PORT to listen on ([::1]:5683 for IPv6); empty = 127.0.0.1:5683 unless dtls_listen is set."),
      kit::setting("dtls_listen", &S::dtlsListen).check(checkEndpoints).doc("CoAP over DTLS: HOST:PORT to listen on (needs psk_keys)."),
      kit::setting("psk_keys", &S::pskKeys).check(checkPsks).secret()
          .doc("DTLS pre-shared keys, IDENTITY=hex:KEY or IDENTITY=text:KEY (8-64 bytes); never logged."),
      kit::setting("max_sessions", &S::maxSessions, 256).range(1, 100000).doc("Peers (CoAP sessions) at once."),
      kit::setting("max_payload_bytes", &S::maxPayloadBytes, 16384).range(64, 1048576)
          .doc("Largest request body accepted (block-wise transfers are reassembled up to this)."),
      kit::setting("bad_request_log_interval_s", &S::badRequestLogInterval, std::chrono::seconds(10)).range(1, 86400)
          .doc("At most one log line about refused requests per this many seconds (the rest are counted)."),
  }.checkedWith([](const S& s) {
    return !s.dtlsListen.empty() && s.pskKeys.empty() ? "dtls_listen needs psk_keys (the identities and keys devices use)" : std::string();
  });
  return table;
}

std::string peerOf(coap_session_t* session) {
  char buffer[INET6_ADDRSTRLEN + 16] = {};
  const coap_address_t* a = coap_session_get_addr_remote(session);
  if (a == nullptr) return "(unknown)";
  const std::size_t n = coap_print_addr(a, reinterpret_cast<unsigned char*>(buffer), sizeof buffer - 1);
  return std::string(buffer, n);
}

}  // namespace

const sdk::ConfigSchema kCoapConfigSchema = settingsTable().schema();

// ---- the libcoap side ------------------------------------------------------------------------

struct CoapBridge::Io {
  CoapBridge* bridge = nullptr;
  coap_context_t* ctx = nullptr;
  std::map<std::string, coap_bin_const_t> keys;   // identity -> key (pointing into keyStore)
  std::map<std::string, std::string> keyStore;
  std::size_t maxPayload = 16384;

  ~Io() {
    if (ctx != nullptr) coap_free_context(ctx);
  }

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

  static void handle(coap_resource_t* resource, coap_session_t* session, const coap_pdu_t* request, const coap_string_t*,
                     coap_pdu_t* response) {
    auto* io = static_cast<Io*>(coap_resource_get_userdata(resource));
    std::vector<std::string> path;
    coap_string_t* uri = coap_get_uri_path(request);
    if (uri != nullptr) {
      const std::string p(reinterpret_cast<const char*>(uri->s), uri->length);
      coap_delete_string(uri);
      std::size_t start = 0;
      while (start <= p.size()) {
        const auto slash = p.find('/', start);
        path.push_back(p.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
        if (slash == std::string::npos) break;
        start = slash + 1;
      }
    }
    std::optional<std::uint16_t> format;
    coap_opt_iterator_t it;
    if (coap_opt_t* opt = coap_check_option(request, COAP_OPTION_CONTENT_FORMAT, &it)) {
      format = static_cast<std::uint16_t>(coap_decode_var_bytes(coap_opt_value(opt), coap_opt_length(opt)));
    }
    std::size_t length = 0, offset = 0, total = 0;
    const std::uint8_t* data = nullptr;
    std::string_view payload;
    if (coap_get_data_large(request, &length, &data, &offset, &total) && data != nullptr) {
      payload = std::string_view(reinterpret_cast<const char*>(data), length);
    }
    CoapBridge::PushResult r;
    if (total > io->maxPayload || length > io->maxPayload) {
      r.code = 413;
      r.diagnostic = "payload larger than max_payload_bytes (" + std::to_string(io->maxPayload) + ")";
      io->bridge->bad_.fetch_add(1, std::memory_order_relaxed);
    } else {
      r = io->bridge->handlePush(path, format, payload, peerOf(session));
    }
    coap_pdu_set_code(response, static_cast<coap_pdu_code_t>(COAP_RESPONSE_CODE(r.code)));
    if (!r.diagnostic.empty()) {
      coap_add_data(response, r.diagnostic.size(), reinterpret_cast<const std::uint8_t*>(r.diagnostic.data()));
    }
  }

  static int onEvent(coap_session_t* session, const coap_event_t event);

  // DTLS sessions that have not completed their handshake (I/O thread only): one that ends before
  // DTLS_CONNECTED was refused (wrong key, unknown identity, wrong certificate).
  std::set<coap_session_t*> handshaking;
};

namespace {
std::mutex gIoMu;
std::map<coap_context_t*, CoapBridge::Io*> gIos;   // events carry only the session
}  // namespace

int CoapBridge::Io::onEvent(coap_session_t* session, const coap_event_t event) {
  Io* io = nullptr;
  {
    std::lock_guard lock(gIoMu);
    auto it = gIos.find(coap_session_get_context(session));
    if (it != gIos.end()) io = it->second;
  }
  if (io == nullptr) return 0;
  switch (event) {
    case COAP_EVENT_SERVER_SESSION_NEW:
      if (coap_session_get_proto(session) == COAP_PROTO_DTLS) io->handshaking.insert(session);
      break;
    case COAP_EVENT_DTLS_CONNECTED:
      io->handshaking.erase(session);
      break;
    case COAP_EVENT_DTLS_CLOSED:
    case COAP_EVENT_DTLS_ERROR:
    case COAP_EVENT_SERVER_SESSION_DEL:
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
  if (settings_->listen.empty() && settings_->dtlsListen.empty()) settings_->listen.push_back("127.0.0.1:5683");
  return sdk::Status::ok();
}

sdk::Status CoapBridge::start() {
  if (!settings_) return sdk::Status::invalidArgument("the CoAP bridge is not configured");
  coap_startup();
  coap_set_log_level(LOG_EMERG);   // libcoap's own lines would bypass the gateway's log
  io_ = std::make_unique<Io>();
  io_->bridge = this;
  io_->maxPayload = static_cast<std::size_t>(settings_->maxPayloadBytes);
  io_->ctx = coap_new_context(nullptr);
  if (io_->ctx == nullptr) return sdk::Status::internal("libcoap: cannot create a context");
  {
    std::lock_guard lock(gIoMu);
    gIos[io_->ctx] = io_.get();
  }
  coap_context_set_block_mode(io_->ctx, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
  coap_context_set_max_idle_sessions(io_->ctx, static_cast<unsigned>(settings_->maxSessions));
  coap_register_event_handler(io_->ctx, &Io::onEvent);

  if (!settings_->dtlsListen.empty()) {
    if (!coap_dtls_is_supported()) return sdk::Status::unavailable("libcoap was built without DTLS: dtls_listen cannot be used");
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

  coap_resource_t* push = coap_resource_unknown_init2(&Io::handle, 0);
  coap_register_handler(push, COAP_REQUEST_POST, &Io::handle);
  coap_resource_set_userdata(push, io_.get());
  coap_add_resource(io_->ctx, push);

  state_.attach(host());
  running_ = true;
  thread_ = std::thread([this] {
    kit::setThreadName("coap-io");
    while (running_.load(std::memory_order_relaxed)) coap_io_process(io_->ctx, 100);
  });
  for (const auto& b : bound_) host().info("CoAP: listening on " + b);
  state_.running("listening on " + std::to_string(bound_.size()) + " endpoint(s)");
  return sdk::Status::ok();
}

void CoapBridge::stop() {
  running_ = false;
  if (thread_.joinable()) thread_.join();   // no handler runs after this
  if (io_ && io_->ctx != nullptr) {
    std::lock_guard lock(gIoMu);
    gIos.erase(io_->ctx);
  }
  io_.reset();
  std::lock_guard lock(badMu_);
  if (badSinceLog_ > 0) host().warn("CoAP: " + std::to_string(badSinceLog_) + " more refused request(s)");
  badSinceLog_ = 0;
}

// ---- the push endpoint -----------------------------------------------------------------------

void CoapBridge::reportBad(const std::string& peer, const std::string& reason) {
  bad_.fetch_add(1, std::memory_order_relaxed);
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
  dtlsRefused_.fetch_add(1, std::memory_order_relaxed);
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
  requests_.fetch_add(1, std::memory_order_relaxed);
  const auto refuse = [&](int code, const std::string& why) {
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
      stored_.fetch_add(1, std::memory_order_relaxed);
    }
    return PushResult{204, {}};
  }
  if (path.size() != 3) return refuse(404, "a single value goes to /{provider}/{service}/{resource}");
  auto value = decodeValue(*format, payload);
  if (!value) return refuse(*format == 0 || *format == 42 || *format == 50 || *format == 60 ? 400 : 415, value.message());
  declareOnce(path[0], path[1], path[2], value->type(), "");
  if (auto s = host().push(path[0], path[1], path[2], *value); !s) return refuse(400, "the gateway refused the value: " + s.message());
  stored_.fetch_add(1, std::memory_order_relaxed);
  return PushResult{204, {}};
}

CoapStats CoapBridge::stats() const {
  return CoapStats{requests_.load(), stored_.load(), bad_.load(), dtlsRefused_.load()};
}

std::vector<std::string> CoapBridge::boundAddresses() const { return bound_; }

}  // namespace gatehouse::bridge::coap
