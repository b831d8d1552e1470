#pragma once
// Socket addresses as operators write them in settings and read them in log lines: "HOST:PORT",
// IPv6 in brackets as "[ADDR]:PORT", HOST "localhost" meaning 127.0.0.1. The one parser and
// formatter of the bridges that listen on or send to an address (NB-IoT over UDP, CoAP), so that
// every bridge accepts the same text and says the same thing when it is wrong.
//
// Errors: parseSocketAddress returns a BadRequest naming what is expected, with the text quoted by
// quoteForMessage (codec.h): "not HOST:PORT (IPv6 as [::1]:PORT): ...", "not [IPV6]:PORT: ...",
// "the port must be 0-65535: ..." (1-65535 when port 0 is refused), "the host must be an IPv4 or
// IPv6 address or localhost: ...". No name resolution: HOST is an address literal or localhost, so
// parsing never blocks and never depends on DNS.
//
// Threads: pure functions and a plain value type without shared state; any thread may call them
// concurrently.

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "gatehouse/kit/result.h"

namespace gatehouse::kit {

// An IPv4 or IPv6 socket address ready for bind/connect/sendto: get() and length.
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;   // sizeof(sockaddr_in) or sizeof(sockaddr_in6); 0 when empty
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }   // AF_INET, AF_INET6 or AF_UNSPEC (empty)
  std::uint16_t port() const;                        // host byte order; 0 when empty
};

// "HOST:PORT" or "[IPV6]:PORT" to an address. PORT is 0-65535 in decimal (at most 5 digits).
// allowPortZero: whether port 0 (= pick a free port, for a listener) is accepted.
// Brackets hold an IPv6 address only; an unbracketed IPv6 address is refused (its colons make the
// port ambiguous).
Result<SocketAddress> parseSocketAddress(std::string_view text, bool allowPortZero = true);

// "127.0.0.1:5600", "[::1]:5600" (the form parseSocketAddress reads); "(unknown)" for nullptr or a
// family other than AF_INET/AF_INET6. For log lines and messages.
std::string formatSocketAddress(const sockaddr* addr);

}  // namespace gatehouse::kit
