// Networks of a layout's `sources` allow-list: parsing "ADDRESS[/PREFIX]" and matching a datagram's
// source address against them.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "gatehouse/bridge/nbiot/layout.h"
#include "gatehouse/kit/codec.h"

namespace gatehouse::bridge::nbiot {

namespace {

bool prefixMatches(const unsigned char* a, const unsigned char* b, unsigned bits) noexcept {
  const unsigned whole = bits / 8;
  if (std::memcmp(a, b, whole) != 0) return false;
  const unsigned rest = bits % 8;
  if (rest == 0) return true;
  const unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

Result<Network> parseNetwork(std::string_view text) {
  const std::string quoted = kit::quoteForMessage(text);
  if (text.size() > 64) return kit::badRequest("not a network (ADDRESS or ADDRESS/PREFIX): " + quoted);
  const auto slash = text.find('/');
  const std::string address(text.substr(0, slash));
  Network n;
  if (::inet_pton(AF_INET, address.c_str(), n.address.data()) == 1) {
    n.family = AF_INET;
    n.prefix = 32;
  } else if (::inet_pton(AF_INET6, address.c_str(), n.address.data()) == 1) {
    n.family = AF_INET6;
    n.prefix = 128;
  } else {
    return kit::badRequest("not an IPv4 or IPv6 network (e.g. 10.0.0.0/8 or 2001:db8::/32): " + quoted);
  }
  const unsigned maxPrefix = n.prefix;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return kit::badRequest("the prefix length after '/' must be a number: " + quoted);
    unsigned prefix = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return kit::badRequest("the prefix length after '/' must be a number: " + quoted);
      prefix = prefix * 10 + static_cast<unsigned>(c - '0');
    }
    if (prefix > maxPrefix) {
      return kit::badRequest("prefix " + std::to_string(prefix) + " is larger than " + std::to_string(maxPrefix) + ": " + quoted);
    }
    n.prefix = prefix;
  }
  // Host bits set (10.1.2.3/8) is almost always a slip: refuse it with the network meant.
  Network clean = n;
  const unsigned bytes = n.family == AF_INET ? 4 : 16;
  for (unsigned bit = n.prefix; bit < bytes * 8; ++bit) clean.address[bit / 8] &= static_cast<unsigned char>(~(0x80u >> (bit % 8)));
  if (clean.address != n.address) {
    return kit::badRequest("host bits are set in " + quoted + ": did you mean " + formatNetwork(clean) + "?");
  }
  return n;
}

std::string formatNetwork(const Network& n) {
  char buffer[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(n.family, n.address.data(), buffer, sizeof buffer);
  return std::string(buffer) + "/" + std::to_string(n.prefix);
}

bool networkContains(const Network& n, const sockaddr* addr) noexcept {
  if (addr == nullptr) return false;
  if (addr->sa_family == AF_INET) {
    if (n.family != AF_INET) return false;
    const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
    return prefixMatches(reinterpret_cast<const unsigned char*>(&in->sin_addr), n.address.data(), n.prefix);
  }
  if (addr->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
    const auto* bytes = reinterpret_cast<const unsigned char*>(&in6->sin6_addr);
    if (n.family == AF_INET6) return prefixMatches(bytes, n.address.data(), n.prefix);
    // ::ffff:a.b.c.d (an IPv4 peer on a dual-stack socket) matches IPv4 networks.
    return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && prefixMatches(bytes + 12, n.address.data(), n.prefix);
  }
  return false;
}

}  // namespace gatehouse::bridge::nbiot
