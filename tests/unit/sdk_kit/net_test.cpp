// kit/net.h: parsing "HOST:PORT" / "[IPV6]:PORT" and formatting socket addresses back.
#include "gatehouse/kit/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

namespace gatehouse::kit {
namespace {

std::string errorOf(std::string_view text, bool allowPortZero = true) {
  auto r = parseSocketAddress(text, allowPortZero);
  if (r) return "(ok: " + formatSocketAddress(r->get()) + ")";
  EXPECT_EQ(r.error().code, ErrorCode::BadRequest);
  return r.message();
}

TEST(SocketAddress, ParsesIpv4) {
  auto a = parseSocketAddress("192.168.1.10:5600");
  ASSERT_TRUE(a) << a.message();
  EXPECT_EQ(a->family(), AF_INET);
  EXPECT_EQ(a->length, sizeof(sockaddr_in));
  EXPECT_EQ(a->port(), 5600);
  const auto* in = reinterpret_cast<const sockaddr_in*>(a->get());
  EXPECT_EQ(ntohl(in->sin_addr.s_addr), 0xC0A8010Au);
  EXPECT_EQ(ntohs(in->sin_port), 5600);
}

TEST(SocketAddress, ParsesIpv6InBrackets) {
  auto a = parseSocketAddress("[::1]:5683");
  ASSERT_TRUE(a) << a.message();
  EXPECT_EQ(a->family(), AF_INET6);
  EXPECT_EQ(a->length, sizeof(sockaddr_in6));
  EXPECT_EQ(a->port(), 5683);
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->get());
  EXPECT_TRUE(IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr));

  auto any = parseSocketAddress("[::]:1");
  ASSERT_TRUE(any) << any.message();
  EXPECT_EQ(formatSocketAddress(any->get()), "[::]:1");
}

TEST(SocketAddress, LocalhostIsIpv4Loopback) {
  auto a = parseSocketAddress("localhost:80");
  ASSERT_TRUE(a) << a.message();
  EXPECT_EQ(a->family(), AF_INET);
  EXPECT_EQ(formatSocketAddress(a->get()), "127.0.0.1:80");
}

TEST(SocketAddress, PortBounds) {
  EXPECT_EQ(errorOf("127.0.0.1:65535"), "(ok: 127.0.0.1:65535)");
  EXPECT_EQ(errorOf("[::1]:65535"), "(ok: [::1]:65535)");
  EXPECT_EQ(errorOf("127.0.0.1:00080"), "(ok: 127.0.0.1:80)");
  EXPECT_EQ(errorOf("127.0.0.1:65536"), "the port must be 0-65535: \"127.0.0.1:65536\"");
  EXPECT_EQ(errorOf("127.0.0.1:99999"), "the port must be 0-65535: \"127.0.0.1:99999\"");
  EXPECT_EQ(errorOf("127.0.0.1:100000"), "the port must be 0-65535: \"127.0.0.1:100000\"");
  EXPECT_EQ(errorOf("127.0.0.1:"), "the port must be 0-65535: \"127.0.0.1:\"");
  EXPECT_EQ(errorOf("127.0.0.1:-1"), "the port must be 0-65535: \"127.0.0.1:-1\"");
  EXPECT_EQ(errorOf("127.0.0.1:+80"), "the port must be 0-65535: \"127.0.0.1:+80\"");
  EXPECT_EQ(errorOf("127.0.0.1: 80"), "the port must be 0-65535: \"127.0.0.1: 80\"");
  EXPECT_EQ(errorOf("[::1]:70000"), "the port must be 0-65535: \"[::1]:70000\"");
}

TEST(SocketAddress, PortZeroAllowedOrRefused) {
  auto any = parseSocketAddress("127.0.0.1:0");
  ASSERT_TRUE(any) << any.message();
  EXPECT_EQ(any->port(), 0);
  EXPECT_TRUE(parseSocketAddress("[::1]:0", true));
  EXPECT_EQ(errorOf("127.0.0.1:0", false), "the port must be 1-65535: \"127.0.0.1:0\"");
  EXPECT_EQ(errorOf("[::1]:00", false), "the port must be 1-65535: \"[::1]:00\"");
  EXPECT_EQ(errorOf("127.0.0.1:1", false), "(ok: 127.0.0.1:1)");
  EXPECT_EQ(errorOf("127.0.0.1:x", false), "the port must be 1-65535: \"127.0.0.1:x\"");
}

TEST(SocketAddress, GarbageIsRefusedWithWhatIsExpected) {
  EXPECT_EQ(errorOf(""), "not HOST:PORT (IPv6 as [::1]:PORT): \"\"");
  EXPECT_EQ(errorOf("127.0.0.1"), "not HOST:PORT (IPv6 as [::1]:PORT): \"127.0.0.1\"");
  EXPECT_EQ(errorOf("::1:5600"), "not HOST:PORT (IPv6 as [::1]:PORT): \"::1:5600\"");
  EXPECT_EQ(errorOf("[::1]"), "not [IPV6]:PORT: \"[::1]\"");
  EXPECT_EQ(errorOf("[::1]5600"), "not [IPV6]:PORT: \"[::1]5600\"");
  EXPECT_EQ(errorOf("[::1:5600"), "not [IPV6]:PORT: \"[::1:5600\"");
  EXPECT_EQ(errorOf("[]:5600"), "not [IPV6]:PORT: \"[]:5600\"");
  // Brackets hold an IPv6 address only.
  EXPECT_EQ(errorOf("[127.0.0.1]:5600"), "not [IPV6]:PORT: \"[127.0.0.1]:5600\"");
  EXPECT_EQ(errorOf("[localhost]:5600"), "not [IPV6]:PORT: \"[localhost]:5600\"");
  EXPECT_EQ(errorOf(":5600"), "the host must be an IPv4 or IPv6 address or localhost: \":5600\"");
  EXPECT_EQ(errorOf("example.com:5600"), "the host must be an IPv4 or IPv6 address or localhost: \"example.com:5600\"");
  EXPECT_EQ(errorOf("256.0.0.1:5600"), "the host must be an IPv4 or IPv6 address or localhost: \"256.0.0.1:5600\"");
  EXPECT_EQ(errorOf(" 127.0.0.1:5600"), "the host must be an IPv4 or IPv6 address or localhost: \" 127.0.0.1:5600\"");
  // A NUL must not cut the host short for inet_pton; the message escapes it.
  EXPECT_EQ(errorOf(std::string_view("127.0.0.1\0x:80", 14)),
            "the host must be an IPv4 or IPv6 address or localhost: \"127.0.0.1\\u0000x:80\"");
  // Input in messages is quoted and escaped: a newline cannot forge a log line.
  EXPECT_EQ(errorOf("a\nb"), "not HOST:PORT (IPv6 as [::1]:PORT): \"a\\nb\"");
}

TEST(SocketAddress, FormatRoundTrips) {
  for (const char* text : {"127.0.0.1:5600", "0.0.0.0:0", "10.1.2.3:65535", "[::1]:5600", "[::]:0", "[2001:db8::1]:5683",
                           "[fe80::1:2:3:4]:1", "[::ffff:192.0.2.1]:9"}) {
    auto a = parseSocketAddress(text);
    ASSERT_TRUE(a) << text << ": " << a.message();
    EXPECT_EQ(formatSocketAddress(a->get()), text);
    auto again = parseSocketAddress(formatSocketAddress(a->get()));
    ASSERT_TRUE(again) << again.message();
    EXPECT_EQ(again->length, a->length);
    EXPECT_EQ(again->port(), a->port());
  }
  // The canonical form of an address written otherwise.
  EXPECT_EQ(formatSocketAddress(parseSocketAddress("[2001:DB8:0:0:0:0:0:1]:80")->get()), "[2001:db8::1]:80");
}

TEST(SocketAddress, FormatsUnknownAndEmpty) {
  EXPECT_EQ(formatSocketAddress(nullptr), "(unknown)");
  SocketAddress empty;
  EXPECT_EQ(empty.family(), AF_UNSPEC);
  EXPECT_EQ(empty.port(), 0);
  EXPECT_EQ(formatSocketAddress(empty.get()), "(unknown)");
}

}  // namespace
}  // namespace gatehouse::kit
