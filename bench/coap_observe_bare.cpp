// bench/coap_observe_bare.cpp: the baseline of the CoAP observe benchmark, a bare libcoap client that
// observes K resources and only counts notifications. It answers "how many notifications/s can a
// libcoap 3 client on this machine take from this device, in the same run?", against which the
// CoAP bridge's observe path (decode + ingest) is compared.
//
// One thread (libcoap is not thread-safe): one UDP session to --uri, one confirmable GET with
// Observe: 0 per resource /bench/r0 .. /bench/r<K-1> (what gatehouse-coap-demo-device
// --bench-resources K serves), then coap_io_process() in a loop. The response handler counts every
// response that arrives (the registrations' answers and all notifications, CON and NON; libcoap
// acknowledges the CON ones itself), without looking at the payload. The window opens at the first
// response and lasts --seconds; what arrives after the first one inside it is counted. Then every
// observation is cancelled (coap_cancel_observe: a GET with Observe: 1) and the program exits.
// Not a product part.
//
// Usage: coap_observe_bare --uri coap://HOST:PORT --resources K --seconds D [--start-timeout-ms MS]
// Prints one JSON line on stdout, {"notifications": N, "seconds": D, "rate": R} (R = N / D, D the
// measured window), and a line with the CON/NON split on stderr; exits 0. 2 on a setup error or when
// nothing came within --start-timeout-ms (default 10000).
#include <coap3/coap.h>

#include <netdb.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kUsage =
    "usage: coap_observe_bare --uri coap://HOST:PORT --resources K --seconds D [--start-timeout-ms MS]";

int fail(const std::string& what) {
  std::fprintf(stderr, "coap_observe_bare: %s\n", what.c_str());
  return 2;
}

// Counting state for the response handler (one thread, so plain globals).
bool g_windowOpen = false;
bool g_windowClosed = false;
Clock::time_point g_first;
long long g_counted = 0;
long long g_con = 0;
long long g_non = 0;
long long g_errors = 0;

coap_response_t onResponse(coap_session_t*, const coap_pdu_t*, const coap_pdu_t* received, const coap_mid_t) {
  if (g_windowClosed) return COAP_RESPONSE_OK;
  if (COAP_RESPONSE_CLASS(coap_pdu_get_code(received)) != 2) {
    ++g_errors;
    return COAP_RESPONSE_OK;
  }
  if (!g_windowOpen) {
    g_windowOpen = true;
    g_first = Clock::now();
    return COAP_RESPONSE_OK;
  }
  ++g_counted;
  if (coap_pdu_get_type(received) == COAP_MESSAGE_CON) ++g_con;
  else ++g_non;
  return COAP_RESPONSE_OK;
}

bool parseLong(const char* text, long low, long high, long& out) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < low || v > high) return false;
  out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string uriText;
  long resources = 0;
  long seconds = 0;
  long startTimeoutMs = 10000;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc) return fail(kUsage);
    const char* v = argv[++i];
    if (a == "--uri") uriText = v;
    else if (a == "--resources") {
      if (!parseLong(v, 1, 1000, resources)) return fail("--resources must be 1..1000");
    } else if (a == "--seconds") {
      if (!parseLong(v, 1, 3600, seconds)) return fail("--seconds must be 1..3600");
    } else if (a == "--start-timeout-ms") {
      if (!parseLong(v, 1, 3600000, startTimeoutMs)) return fail("--start-timeout-ms must be 1..3600000");
    } else {
      return fail(kUsage);
    }
  }
  if (uriText.empty() || resources == 0 || seconds == 0) return fail(kUsage);

  coap_uri_t uri;
  if (coap_split_uri(reinterpret_cast<const std::uint8_t*>(uriText.data()), uriText.size(), &uri) != 0 ||
      uri.scheme != COAP_URI_SCHEME_COAP)
    return fail("--uri must be coap://HOST:PORT (plain UDP)");
  const std::string host(reinterpret_cast<const char*>(uri.host.s), uri.host.length);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(uri.port);
  if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0 || found == nullptr)
    return fail("cannot resolve '" + host + "': " + ::gai_strerror(rc));
  coap_address_t dst;
  coap_address_init(&dst);
  dst.size = found->ai_addrlen;
  std::memcpy(&dst.addr, found->ai_addr, found->ai_addrlen);
  ::freeaddrinfo(found);

  coap_startup();
  coap_set_log_level(LOG_WARNING);
  coap_context_t* ctx = coap_new_context(nullptr);
  if (ctx == nullptr) return fail("coap_new_context failed");
  coap_context_set_block_mode(ctx, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);   // coap_cancel_observe needs it
  coap_register_response_handler(ctx, onResponse);
  coap_session_t* session = coap_new_client_session(ctx, nullptr, &dst, COAP_PROTO_UDP);
  if (session == nullptr) {
    coap_free_context(ctx);
    return fail("coap_new_client_session failed");
  }

  // One registration per resource, each with its own token (kept for the cancellation).
  std::vector<std::vector<std::uint8_t>> tokens;
  for (long i = 0; i < resources; ++i) {
    coap_pdu_t* pdu = coap_new_pdu(COAP_MESSAGE_CON, COAP_REQUEST_CODE_GET, session);
    if (pdu == nullptr) return fail("coap_new_pdu failed");
    std::uint8_t token[8];
    std::size_t tokenLength = 0;
    coap_session_new_token(session, &tokenLength, token);
    coap_add_token(pdu, tokenLength, token);
    tokens.emplace_back(token, token + tokenLength);
    std::uint8_t buffer[4];
    coap_add_option(pdu, COAP_OPTION_OBSERVE, coap_encode_var_safe(buffer, sizeof buffer, COAP_OBSERVE_ESTABLISH),
                    buffer);
    const std::string r = "r" + std::to_string(i);
    coap_add_option(pdu, COAP_OPTION_URI_PATH, 5, reinterpret_cast<const std::uint8_t*>("bench"));
    coap_add_option(pdu, COAP_OPTION_URI_PATH, r.size(), reinterpret_cast<const std::uint8_t*>(r.data()));
    if (coap_send(session, pdu) == COAP_INVALID_MID) return fail("coap_send failed");
  }

  const auto started = Clock::now();
  Clock::time_point end;
  for (;;) {
    coap_io_process(ctx, 10);
    const auto now = Clock::now();
    if (!g_windowOpen) {
      if (now - started > std::chrono::milliseconds(startTimeoutMs)) {
        coap_free_context(ctx);
        coap_cleanup();
        return fail("no response from " + uriText + " within " + std::to_string(startTimeoutMs) +
                    " ms (is the device running with --bench-resources?)");
      }
      continue;
    }
    if (now - g_first >= std::chrono::seconds(seconds)) {
      g_windowClosed = true;
      end = now;
      break;
    }
  }
  const double measured = std::chrono::duration<double>(end - g_first).count();

  for (auto& t : tokens) {
    coap_binary_t token{t.size(), t.data()};
    coap_cancel_observe(session, &token, COAP_MESSAGE_CON);
  }
  const auto cancelled = Clock::now();
  while (Clock::now() - cancelled < std::chrono::milliseconds(300)) coap_io_process(ctx, 20);

  std::printf("{\"notifications\": %lld, \"seconds\": %.3f, \"rate\": %.0f}\n", g_counted, measured,
              measured > 0 ? static_cast<double>(g_counted) / measured : 0.0);
  std::fflush(stdout);
  std::fprintf(stderr, "coap_observe_bare: %lld notifications from %ld resources in %.3f s (%lld CON, %lld NON, %lld non-2.xx)\n",
               g_counted, resources, measured, g_con, g_non, g_errors);
  coap_session_release(session);
  coap_free_context(ctx);
  coap_cleanup();
  return 0;
}
