// bridges/coap/demo/coap_demo_device.cpp: a simulated CoAP device (a libcoap 3 server) for the CoAP
// bridge to observe, poll and command: what scripts/coap-demo-device starts for
// etc/examples/coap.yaml, and a peer for the CoAP integration tests and the observe benchmark.
// Not a product part.
//
// Resources (all listed in /.well-known/core with their rt/ct/obs attributes):
//   /sensors/temperature  GET, observable, text/plain: a slow sine around 21.5 (°C), new every interval
//   /sensors/humidity     GET, observable, application/cbor: a float32 around 48 (%), new every interval
//   /device/battery       GET, not observable, text/plain: an integer percent draining slowly
//   /settings/interval    GET: the interval in ms (text/plain); PUT text/plain 100..3600000 sets it
//                         (2.04; 4.00 with a diagnostic payload; 4.15 without text/plain)
//   /actions/blink        POST application/json {"times":N}, N 1..10 -> 2.04 "blinked N times"
//                         (4.00 with a diagnostic payload; 4.15 without application/json)
//   /bench/r0 ..          with --bench-resources K: observable text/plain counters, notified up to
//                         --bench-rate times per second each, as NON (libcoap still makes every
//                         fifth notification to an observer CON, RFC 7641 section 4.5)
//
// One thread: libcoap is not thread-safe, so the readings, the notifications
// (coap_resource_notify_observers) and all I/O happen in one loop around coap_io_process().
// SIGINT/SIGTERM only set a flag the loop checks; the loop then frees the context and exits 0.
//
// Usage: gatehouse-coap-demo-device [--listen HOST:PORT] [--dtls-listen HOST:PORT]
//          [--psk-identity ID --psk-key-hex HEX] [--cert FILE --key FILE --ca FILE]
//          [--interval-ms N] [--bench-resources K] [--bench-rate R] [--quiet]
// Prints "coap-demo-device: listening on coap://HOST:PORT" (and coaps://) once the endpoints are up,
// then (unless --quiet) one line per interval with the readings and a line per DTLS session event;
// PUT /settings/interval and POST /actions/blink always print a line. Exit 2 on a setup error.
// Keys are never printed.
#include <coap3/coap.h>

#include <netdb.h>
#include <poll.h>
#include <unistd.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kUsage =
    "usage: gatehouse-coap-demo-device [--listen HOST:PORT] [--dtls-listen HOST:PORT]\n"
    "         [--psk-identity ID --psk-key-hex HEX] [--cert FILE --key FILE --ca FILE]\n"
    "         [--interval-ms N] [--max-age S] [--bench-resources K] [--bench-rate R] [--quiet]\n"
    "  --listen        plain CoAP (UDP) endpoint, default 127.0.0.1:5685\n"
    "  --dtls-listen   CoAP over DTLS endpoint (needs the PSK and/or the certificate options)\n"
    "  --psk-identity, --psk-key-hex   DTLS pre-shared key: the one identity accepted and its key in hex\n"
    "  --cert, --key, --ca             DTLS with X.509: this device's certificate and key (PEM); clients\n"
    "                                  must present a certificate signed by the CA in --ca\n"
    "  --interval-ms   how often temperature and humidity change, 100..3600000, default 1000\n"
    "  --max-age S     a Max-Age option of S seconds (1..86400) on every answer (default: none, 60 s)\n"
    "  --bench-resources K   add observable counters /bench/r0../bench/r<K-1> (0..1000, default 0)\n"
    "  --bench-rate R        notifications per second per bench resource (1..100000, default 1000)\n"
    "  --quiet         no per-interval reading lines and no DTLS session lines\n";

volatile std::sig_atomic_t g_stop = 0;
int g_maxAge = -1;   // --max-age; -1: no Max-Age option

void onSignal(int) { g_stop = 1; }

int fail(const std::string& what) {
  std::fprintf(stderr, "coap-demo-device: %s\n", what.c_str());
  return 2;
}

// The device's state. Handlers reach it through the resources' user data.
struct Device {
  long intervalMs = 1000;
  bool quiet = false;
  long long ticks = 0;          // intervals since start
  double temperature = 21.5;    // °C
  double humidity = 48.0;       // %
  int battery = 97;             // %
  coap_resource_t* temperatureResource = nullptr;
  coap_resource_t* humidityResource = nullptr;
  std::string pskIdentity;
  std::vector<std::uint8_t> pskKey;
  coap_bin_const_t pskKeyBin{0, nullptr};
};

struct BenchResource {
  coap_resource_t* resource = nullptr;
  unsigned long long counter = 0;
};

// Parses HOST:PORT, [IPV6]:PORT; resolves HOST (passive, UDP) into `out`.
bool parseHostPort(const std::string& text, coap_address_t& out, std::string& host, int& port, std::string& error) {
  std::string portText;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      error = "'" + text + "' is not [IPV6]:PORT";
      return false;
    }
    host = text.substr(1, close - 1);
    portText = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      error = "'" + text + "' is not HOST:PORT";
      return false;
    }
    host = text.substr(0, colon);
    portText = text.substr(colon + 1);
  }
  char* end = nullptr;
  const long p = std::strtol(portText.c_str(), &end, 10);
  if (portText.empty() || *end != '\0' || p < 1 || p > 65535) {
    error = "'" + text + "': the port must be 1..65535";
    return false;
  }
  port = static_cast<int>(p);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), portText.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    error = "cannot resolve '" + host + "': " + ::gai_strerror(rc);
    return false;
  }
  coap_address_init(&out);
  out.size = found->ai_addrlen;
  std::memcpy(&out.addr, found->ai_addr, found->ai_addrlen);
  ::freeaddrinfo(found);
  return true;
}

// libcoap binds its UDP endpoints with SO_REUSEADDR, which on Linux lets a second process bind the
// same UDP address and port without an error (and then take some of the datagrams). A plain bind
// first, without SO_REUSEADDR, fails with EADDRINUSE when anything else holds the port.
bool portFree(const coap_address_t& addr, std::string& error) {
  const int fd = ::socket(addr.addr.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  const bool ok = ::bind(fd, &addr.addr.sa, addr.size) == 0;
  if (!ok) error = std::strerror(errno);
  ::close(fd);
  return ok;
}

// libcoap's OpenSSL backend reads the PEM files only when a DTLS handshake starts; a typo would only
// show then. Checked here: readable and PEM.
bool readablePem(const std::string& path, std::string& error) {
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  char buffer[4096];
  const std::size_t n = std::fread(buffer, 1, sizeof buffer - 1, f);
  std::fclose(f);
  buffer[n] = '\0';
  if (std::strstr(buffer, "-----BEGIN ") == nullptr) {
    error = path + ": not a PEM file";
    return false;
  }
  return true;
}

std::string urlHost(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

bool parseHex(std::string_view hex, std::vector<std::uint8_t>& out) {
  if (hex.empty() || hex.size() % 2 != 0) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  out.clear();
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<std::uint8_t>(hi << 4 | lo));
  }
  return true;
}

bool parseLong(const char* text, long low, long high, long& out) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < low || v > high) return false;
  out = v;
  return true;
}

// For log lines: an identity from the network, printable ASCII only and bounded.
std::string printable(const std::uint8_t* data, std::size_t length) {
  std::string out;
  for (std::size_t i = 0; i < length && i < 64; ++i) {
    const char c = static_cast<char>(data[i]);
    out += (c >= 0x20 && c < 0x7f && c != '"') ? c : '?';
  }
  if (length > 64) out += "...";
  return out;
}

std::string peerOf(coap_session_t* session) {
  char buffer[INET6_ADDRSTRLEN + 16] = "?";
  const coap_address_t* remote = coap_session_get_addr_remote(session);
  if (remote != nullptr) {
    const std::size_t n = coap_print_addr(remote, reinterpret_cast<unsigned char*>(buffer), sizeof buffer - 1);
    buffer[n] = '\0';
  }
  return buffer;
}

// The request's Content-Format, or -1 when it has none.
int contentFormat(const coap_pdu_t* request) {
  coap_opt_iterator_t it;
  const coap_opt_t* option = coap_check_option(request, COAP_OPTION_CONTENT_FORMAT, &it);
  if (option == nullptr) return -1;
  return static_cast<int>(coap_decode_var_bytes(coap_opt_value(option), coap_opt_length(option)));
}

// The whole request body (these resources take small bodies only: no Block1 reassembly).
bool body(const coap_pdu_t* request, std::string& out) {
  std::size_t length = 0, offset = 0, total = 0;
  const std::uint8_t* data = nullptr;
  out.clear();
  if (!coap_get_data_large(request, &length, &data, &offset, &total)) return true;   // no payload
  if (offset != 0 || length != total) return false;
  out.assign(reinterpret_cast<const char*>(data), length);
  return true;
}

void answer(coap_pdu_t* response, coap_pdu_code_t code, const std::string& diagnostic) {
  coap_pdu_set_code(response, code);
  if (!diagnostic.empty())
    coap_add_data(response, diagnostic.size(), reinterpret_cast<const std::uint8_t*>(diagnostic.data()));
}

void content(coap_resource_t* resource, coap_session_t* session, const coap_pdu_t* request, coap_pdu_t* response,
             const coap_string_t* query, std::uint16_t format, const std::string& payload) {
  coap_pdu_set_code(response, COAP_RESPONSE_CODE_CONTENT);
  // Copies the data into the PDU (small payloads: a single block, no release function needed).
  coap_add_data_large_response(resource, session, request, response, query, format, g_maxAge, 0, payload.size(),
                               reinterpret_cast<const std::uint8_t*>(payload.data()), nullptr, nullptr);
}

std::string formatDouble(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f", v);
  return buffer;
}

// CBOR (RFC 8949) single-precision float: major type 7, additional info 26, 4 bytes big-endian.
std::string cborFloat32(double v) {
  const float f = static_cast<float>(v);
  std::uint32_t bits = 0;
  std::memcpy(&bits, &f, sizeof bits);
  std::string out(5, '\0');
  out[0] = static_cast<char>(0xfa);
  for (int i = 0; i < 4; ++i) out[1 + i] = static_cast<char>((bits >> (24 - 8 * i)) & 0xff);
  return out;
}

Device* deviceOf(coap_resource_t* resource) { return static_cast<Device*>(coap_resource_get_userdata(resource)); }

void getTemperature(coap_resource_t* resource, coap_session_t* session, const coap_pdu_t* request,
                    const coap_string_t* query, coap_pdu_t* response) {
  content(resource, session, request, response, query, COAP_MEDIATYPE_TEXT_PLAIN,
          formatDouble(deviceOf(resource)->temperature));
}

void getHumidity(coap_resource_t* resource, coap_session_t* session, const coap_pdu_t* request,
                 const coap_string_t* query, coap_pdu_t* response) {
  content(resource, session, request, response, query, COAP_MEDIATYPE_APPLICATION_CBOR,
          cborFloat32(deviceOf(resource)->humidity));
}

void getBattery(coap_resource_t* resource, coap_session_t* session, const coap_pdu_t* request,
                const coap_string_t* query, coap_pdu_t* response) {
  content(resource, session, request, response, query, COAP_MEDIATYPE_TEXT_PLAIN,
          std::to_string(deviceOf(resource)->battery));
}

void getInterval(coap_resource_t* resource, coap_session_t* session, const coap_pdu_t* request,
                 const coap_string_t* query, coap_pdu_t* response) {
  content(resource, session, request, response, query, COAP_MEDIATYPE_TEXT_PLAIN,
          std::to_string(deviceOf(resource)->intervalMs));
}

void putInterval(coap_resource_t* resource, coap_session_t* session, const coap_pdu_t* request,
                 const coap_string_t*, coap_pdu_t* response) {
  if (contentFormat(request) != COAP_MEDIATYPE_TEXT_PLAIN)
    return answer(response, COAP_RESPONSE_CODE_UNSUPPORTED_CONTENT_FORMAT, "text/plain (0) required");
  std::string text;
  long value = 0;
  if (!body(request, text) || text.empty() || text.size() > 16 || !parseLong(text.c_str(), 100, 3600000, value))
    return answer(response, COAP_RESPONSE_CODE_BAD_REQUEST, "interval must be an integer 100..3600000 (ms)");
  deviceOf(resource)->intervalMs = value;
  std::printf("PUT /settings/interval = %ld ms (from %s)\n", value, peerOf(session).c_str());
  std::fflush(stdout);
  answer(response, COAP_RESPONSE_CODE_CHANGED, "");
}

// Accepts exactly {"times": N} (whitespace allowed), N an integer.
bool parseBlink(const std::string& json, long& times) {
  std::size_t i = 0;
  auto ws = [&] {
    while (i < json.size() && (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' || json[i] == '\r')) ++i;
  };
  auto literal = [&](std::string_view s) {
    ws();
    if (json.compare(i, s.size(), s) != 0) return false;
    i += s.size();
    return true;
  };
  if (!literal("{") || !literal("\"times\"") || !literal(":")) return false;
  ws();
  const std::size_t start = i;
  if (i < json.size() && json[i] == '-') ++i;
  while (i < json.size() && json[i] >= '0' && json[i] <= '9') ++i;
  if (i == start || i - start > 9) return false;
  times = std::strtol(json.substr(start, i - start).c_str(), nullptr, 10);
  if (!literal("}")) return false;
  ws();
  return i == json.size();
}

void postBlink(coap_resource_t*, coap_session_t* session, const coap_pdu_t* request, const coap_string_t*,
               coap_pdu_t* response) {
  if (contentFormat(request) != COAP_MEDIATYPE_APPLICATION_JSON)
    return answer(response, COAP_RESPONSE_CODE_UNSUPPORTED_CONTENT_FORMAT, "application/json (50) required");
  std::string json;
  long times = 0;
  if (!body(request, json) || !parseBlink(json, times) || times < 1 || times > 10)
    return answer(response, COAP_RESPONSE_CODE_BAD_REQUEST, "body must be {\"times\":N} with N 1..10");
  std::printf("POST /actions/blink: blinking %ld times (from %s)\n", times, peerOf(session).c_str());
  std::fflush(stdout);
  const std::string text = "blinked " + std::to_string(times) + " times";
  coap_pdu_set_code(response, COAP_RESPONSE_CODE_CHANGED);
  std::uint8_t buffer[4];
  coap_add_option(response, COAP_OPTION_CONTENT_FORMAT,
                  coap_encode_var_safe(buffer, sizeof buffer, COAP_MEDIATYPE_TEXT_PLAIN), buffer);
  coap_add_data(response, text.size(), reinterpret_cast<const std::uint8_t*>(text.data()));
}

void getBench(coap_resource_t* resource, coap_session_t* session, const coap_pdu_t* request,
              const coap_string_t* query, coap_pdu_t* response) {
  const auto* bench = static_cast<const BenchResource*>(coap_resource_get_userdata(resource));
  content(resource, session, request, response, query, COAP_MEDIATYPE_TEXT_PLAIN, std::to_string(bench->counter));
}

// The DTLS PSK server accepts one identity; anything else fails the handshake.
const coap_bin_const_t* checkIdentity(coap_bin_const_t* identity, coap_session_t* session, void* arg) {
  auto* device = static_cast<Device*>(arg);
  if (identity != nullptr && identity->length == device->pskIdentity.size() &&
      std::memcmp(identity->s, device->pskIdentity.data(), identity->length) == 0)
    return &device->pskKeyBin;
  std::printf("DTLS PSK identity \"%s\" from %s refused (unknown identity)\n",
              identity != nullptr ? printable(identity->s, identity->length).c_str() : "", peerOf(session).c_str());
  std::fflush(stdout);
  return nullptr;
}

bool g_quietEvents = false;

int onEvent(coap_session_t* session, const coap_event_t event) {
  if (g_quietEvents) return 0;
  const char* what = nullptr;
  switch (event) {
    case COAP_EVENT_DTLS_CONNECTED: what = "DTLS session established"; break;
    case COAP_EVENT_DTLS_CLOSED: what = "DTLS session closed"; break;
    case COAP_EVENT_DTLS_ERROR: what = "DTLS error (handshake failed or peer refused)"; break;
    default: return 0;
  }
  std::printf("%s: %s\n", peerOf(session).c_str(), what);
  std::fflush(stdout);
  return 0;
}

coap_resource_t* addResource(coap_context_t* ctx, const char* path, void* data) {
  coap_resource_t* r = coap_resource_init(coap_make_str_const(path), 0);   // libcoap copies the path
  coap_resource_set_userdata(r, data);
  coap_add_resource(ctx, r);
  return r;
}

// Attribute names and values: libcoap copies them when no COAP_ATTR_FLAGS_RELEASE_* flag is given.
void attr(coap_resource_t* r, const char* name, const char* value) {
  coap_add_attr(r, coap_make_str_const(name), value != nullptr ? coap_make_str_const(value) : nullptr, 0);
}

long long msSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:5685";
  std::string dtlsListen;
  std::string pskIdentity;
  std::string pskKeyHex;
  std::string certFile, keyFile, caFile;
  long intervalMs = 1000;
  long benchResources = 0;
  long benchRate = 1000;
  bool quiet = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (a == "--quiet") {
      quiet = true;
      continue;
    }
    if (i + 1 >= argc) return fail(std::string("missing value for ") + argv[i] + "\n" + kUsage);
    const char* v = argv[++i];
    if (a == "--listen") listen = v;
    else if (a == "--dtls-listen") dtlsListen = v;
    else if (a == "--psk-identity") pskIdentity = v;
    else if (a == "--psk-key-hex") pskKeyHex = v;
    else if (a == "--cert") certFile = v;
    else if (a == "--key") keyFile = v;
    else if (a == "--ca") caFile = v;
    else if (a == "--interval-ms") {
      if (!parseLong(v, 100, 3600000, intervalMs)) return fail("--interval-ms must be 100..3600000");
    } else if (a == "--max-age") {
      long seconds = 0;
      if (!parseLong(v, 1, 86400, seconds)) return fail("--max-age must be 1..86400");
      g_maxAge = static_cast<int>(seconds);
    } else if (a == "--bench-resources") {
      if (!parseLong(v, 0, 1000, benchResources)) return fail("--bench-resources must be 0..1000");
    } else if (a == "--bench-rate") {
      if (!parseLong(v, 1, 100000, benchRate)) return fail("--bench-rate must be 1..100000");
    } else {
      return fail("unknown option " + std::string(a) + "\n" + kUsage);
    }
  }

  auto device = std::make_unique<Device>();
  device->intervalMs = intervalMs;
  device->quiet = quiet;
  g_quietEvents = quiet;

  const bool psk = !pskIdentity.empty() || !pskKeyHex.empty();
  const bool pki = !certFile.empty() || !keyFile.empty() || !caFile.empty();
  if (psk && (pskIdentity.empty() || pskKeyHex.empty()))
    return fail("--psk-identity and --psk-key-hex go together");
  if (psk) {
    if (pskIdentity.size() > COAP_DTLS_MAX_PSK_IDENTITY)
      return fail("--psk-identity is longer than " + std::to_string(COAP_DTLS_MAX_PSK_IDENTITY) + " bytes");
    if (!parseHex(pskKeyHex, device->pskKey) || device->pskKey.size() > COAP_DTLS_MAX_PSK)
      return fail("--psk-key-hex must be an even number of hex digits, at most " +
                  std::to_string(2 * COAP_DTLS_MAX_PSK));
    device->pskIdentity = pskIdentity;
    device->pskKeyBin = {device->pskKey.size(), device->pskKey.data()};
  }
  if (pki && (certFile.empty() || keyFile.empty() || caFile.empty()))
    return fail("--cert, --key and --ca go together");
  if (pki) {
    std::string error;
    for (const auto* file : {&certFile, &keyFile, &caFile})
      if (!readablePem(*file, error)) return fail(error);
  }
  if ((psk || pki) && dtlsListen.empty()) return fail("--psk-*/--cert need --dtls-listen HOST:PORT");
  if (!dtlsListen.empty() && !psk && !pki)
    return fail("--dtls-listen needs --psk-identity/--psk-key-hex or --cert/--key/--ca");

  coap_startup();
  coap_set_log_level(LOG_WARNING);
  coap_dtls_set_log_level(LOG_WARNING);
  if (!dtlsListen.empty() && !coap_dtls_is_supported()) return fail("this libcoap has no DTLS support");

  coap_context_t* ctx = coap_new_context(nullptr);
  if (ctx == nullptr) return fail("coap_new_context failed");
  coap_context_set_block_mode(ctx, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
  coap_register_event_handler(ctx, onEvent);
  struct ContextGuard {
    coap_context_t* ctx;
    ~ContextGuard() {
      coap_free_context(ctx);
      coap_cleanup();
    }
  } guard{ctx};

  if (psk) {
    coap_dtls_spsk_t setup{};
    setup.version = COAP_DTLS_SPSK_SETUP_VERSION;
    setup.validate_id_call_back = checkIdentity;
    setup.id_call_back_arg = device.get();
    setup.psk_info.key = device->pskKeyBin;   // used when no identity callback decides
    if (!coap_context_set_psk2(ctx, &setup)) return fail("coap_context_set_psk2 failed");
  }
  if (pki) {
    coap_dtls_pki_t setup{};
    setup.version = COAP_DTLS_PKI_SETUP_VERSION;
    setup.verify_peer_cert = 1;          // require the client's certificate and verify it ...
    setup.check_common_ca = 1;           // ... against the CA of --ca
    setup.allow_self_signed = 0;
    setup.allow_expired_certs = 0;
    setup.cert_chain_validation = 1;
    setup.cert_chain_verify_depth = 3;
    setup.pki_key.key_type = COAP_PKI_KEY_PEM;
    setup.pki_key.key.pem.public_cert = certFile.c_str();
    setup.pki_key.key.pem.private_key = keyFile.c_str();
    setup.pki_key.key.pem.ca_file = caFile.c_str();
    if (!coap_context_set_pki(ctx, &setup))
      return fail("cannot use --cert/--key/--ca (unreadable file, not PEM, or key and certificate do not match)");
  }

  std::vector<std::string> listening;
  {
    coap_address_t addr;
    std::string host, error;
    int port = 0;
    if (!parseHostPort(listen, addr, host, port, error)) return fail("--listen " + error);
    if (!portFree(addr, error)) return fail("cannot listen on UDP " + listen + ": " + error);
    if (coap_new_endpoint(ctx, &addr, COAP_PROTO_UDP) == nullptr)
      return fail("cannot listen on UDP " + listen + " (port in use?)");
    listening.push_back("coap://" + urlHost(host) + ":" + std::to_string(port));
  }
  if (!dtlsListen.empty()) {
    coap_address_t addr;
    std::string host, error;
    int port = 0;
    if (!parseHostPort(dtlsListen, addr, host, port, error)) return fail("--dtls-listen " + error);
    if (!portFree(addr, error)) return fail("cannot listen on DTLS " + dtlsListen + ": " + error);
    if (coap_new_endpoint(ctx, &addr, COAP_PROTO_DTLS) == nullptr)
      return fail("cannot listen on DTLS " + dtlsListen + " (port in use?)");
    listening.push_back("coaps://" + urlHost(host) + ":" + std::to_string(port) + (psk ? " (PSK" : " (") +
                        (psk && pki ? ", " : "") + (pki ? "X.509" : "") + ")");
  }

  coap_resource_t* r = addResource(ctx, "sensors/temperature", device.get());
  coap_register_request_handler(r, COAP_REQUEST_GET, getTemperature);
  coap_resource_set_get_observable(r, 1);
  attr(r, "rt", "\"temperature\"");
  attr(r, "ct", "0");
  device->temperatureResource = r;

  r = addResource(ctx, "sensors/humidity", device.get());
  coap_register_request_handler(r, COAP_REQUEST_GET, getHumidity);
  coap_resource_set_get_observable(r, 1);
  attr(r, "rt", "\"humidity\"");
  attr(r, "ct", "60");
  device->humidityResource = r;

  r = addResource(ctx, "device/battery", device.get());
  coap_register_request_handler(r, COAP_REQUEST_GET, getBattery);
  attr(r, "rt", "\"battery\"");
  attr(r, "ct", "0");

  r = addResource(ctx, "settings/interval", device.get());
  coap_register_request_handler(r, COAP_REQUEST_GET, getInterval);
  coap_register_request_handler(r, COAP_REQUEST_PUT, putInterval);
  attr(r, "rt", "\"interval\"");
  attr(r, "ct", "0");

  r = addResource(ctx, "actions/blink", device.get());
  coap_register_request_handler(r, COAP_REQUEST_POST, postBlink);
  attr(r, "rt", "\"blink\"");
  attr(r, "ct", "50");

  std::vector<BenchResource> bench(static_cast<std::size_t>(benchResources));
  for (std::size_t i = 0; i < bench.size(); ++i) {
    const std::string path = "bench/r" + std::to_string(i);
    bench[i].resource = addResource(ctx, path.c_str(), &bench[i]);
    coap_register_request_handler(bench[i].resource, COAP_REQUEST_GET, getBench);
    coap_resource_set_get_observable(bench[i].resource, 1);
    coap_resource_set_mode(bench[i].resource, COAP_RESOURCE_FLAGS_NOTIFY_NON);
    attr(bench[i].resource, "ct", "0");
  }

  struct sigaction sa{};
  sa.sa_handler = onSignal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);

  for (const auto& l : listening) std::printf("coap-demo-device: listening on %s\n", l.c_str());
  if (!bench.empty())
    std::printf("coap-demo-device: %zu bench resources /bench/r0../bench/r%zu at %ld notifications/s each\n",
                bench.size(), bench.size() - 1, benchRate);
  std::fflush(stdout);

  const int coapFd = coap_context_get_coap_fd(ctx);   // -1 without epoll support
  const auto start = Clock::now();
  auto nextReading = start;
  unsigned long long benchTicksDone = 0;
  while (g_stop == 0) {
    auto now = Clock::now();
    if (now >= nextReading) {
      // Slow sines: temperature 21.5 ± 3 over 120 intervals, humidity 48 ± 6 over 90 intervals.
      Device& d = *device;
      ++d.ticks;
      const double t = static_cast<double>(d.ticks);
      d.temperature = std::round((21.5 + 3.0 * std::sin(2 * M_PI * t / 120.0)) * 100.0) / 100.0;
      d.humidity = std::round((48.0 + 6.0 * std::sin(2 * M_PI * t / 90.0 + 1.0)) * 10.0) / 10.0;
      if (d.ticks % 30 == 0) d.battery = d.battery > 5 ? d.battery - 1 : 100;   // "recharged" at 5 %
      coap_resource_notify_observers(d.temperatureResource, nullptr);
      coap_resource_notify_observers(d.humidityResource, nullptr);
      if (!d.quiet) {
        std::printf("temperature %s °C, humidity %.1f %%, battery %d %%\n", formatDouble(d.temperature).c_str(),
                    d.humidity, d.battery);
        std::fflush(stdout);
      }
      nextReading += std::chrono::milliseconds(d.intervalMs);
      if (nextReading < now) nextReading = now + std::chrono::milliseconds(d.intervalMs);   // after a stall
    }
    auto nextBench = Clock::time_point::max();
    if (!bench.empty()) {
      // Tick k is due at start + k / rate; a late loop catches up in one notification (a counter jump).
      const auto elapsedNs = std::chrono::duration_cast<std::chrono::nanoseconds>(now - start).count();
      const auto due = static_cast<unsigned long long>(static_cast<long double>(elapsedNs) * benchRate / 1e9L);
      if (due > benchTicksDone) {
        benchTicksDone = due;
        for (auto& b : bench) {
          b.counter = due;
          coap_resource_notify_observers(b.resource, nullptr);
        }
      }
      nextBench = start + std::chrono::nanoseconds(
                              static_cast<long long>(static_cast<long double>(benchTicksDone + 1) * 1e9L / benchRate));
    }
    now = Clock::now();
    const auto next = std::min(nextReading, nextBench);
    const auto waitNs = std::max<long long>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(next - now).count());
    if (waitNs >= 1000000 || coapFd < 0) {
      // Milliseconds are fine: coap_io_process also wakes for libcoap's own timers (retransmissions).
      const auto ms = static_cast<std::uint32_t>(std::min<long long>(waitNs / 1000000, 100));
      if (coap_io_process(ctx, ms == 0 ? COAP_IO_NO_WAIT : ms) < 0 && g_stop == 0) return fail("coap_io_process failed");
    } else {
      // Sub-millisecond wait (bench rates above 1000/s): wait on libcoap's epoll descriptor with ppoll's
      // nanoseconds, then let libcoap do whatever is ready (and send the notifications) without waiting.
      pollfd pfd{coapFd, POLLIN, 0};
      const timespec ts{0, static_cast<long>(waitNs)};
      ::ppoll(&pfd, 1, &ts, nullptr);
      if (coap_io_process(ctx, COAP_IO_NO_WAIT) < 0 && g_stop == 0) return fail("coap_io_process failed");
    }
  }
  g_quietEvents = true;   // freeing the context closes the remaining sessions: not worth a line each
  std::printf("coap-demo-device: stopped after %lld ms\n", msSince(start));
  std::fflush(stdout);
  return 0;
}
