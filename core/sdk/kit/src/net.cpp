#include "gatehouse/kit/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>

#include "gatehouse/kit/codec.h"

namespace gatehouse::kit {

std::uint16_t SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return 0;
}

Result<SocketAddress> parseSocketAddress(std::string_view text, bool allowPortZero) {
  const std::string shown = quoteForMessage(text);
  std::string_view host;
  std::string_view port;
  const bool bracketed = !text.empty() && text[0] == '[';
  if (bracketed) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return badRequest("not [IPV6]:PORT: " + shown);
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) {
      return badRequest("not HOST:PORT (IPv6 as [::1]:PORT): " + shown);
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }

  const char* portRange = allowPortZero ? "the port must be 0-65535: " : "the port must be 1-65535: ";
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return badRequest(portRange + shown);
  }
  unsigned number = 0;
  for (char c : port) number = number * 10 + static_cast<unsigned>(c - '0');
  if (number > 65535 || (number == 0 && !allowPortZero)) return badRequest(portRange + shown);
  const auto p = static_cast<std::uint16_t>(number);

  // inet_pton reads a C string: a NUL inside the host would cut it short and let trailing junk pass.
  std::string h(host);
  if (h.find('\0') != std::string::npos) {
    return badRequest("the host must be an IPv4 or IPv6 address or localhost: " + shown);
  }
  if (!bracketed && h == "localhost") h = "127.0.0.1";
  SocketAddress a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (!bracketed && ::inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(p);
    a.length = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(p);
    a.length = sizeof(sockaddr_in6);
  } else if (bracketed) {
    return badRequest("not [IPV6]:PORT: " + shown);
  } else {
    return badRequest("the host must be an IPv4 or IPv6 address or localhost: " + shown);
  }
  return a;
}

std::string formatSocketAddress(const sockaddr* addr) {
  if (addr == nullptr) return "(unknown)";
  char buffer[INET6_ADDRSTRLEN] = {};
  if (addr->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
    ::inet_ntop(AF_INET, &in->sin_addr, buffer, sizeof buffer);
    return std::string(buffer) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (addr->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, buffer, sizeof buffer);
    return "[" + std::string(buffer) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  return "(unknown)";
}

}  // namespace gatehouse::kit
