// kit/tcp_nodelay.h on real loopback sockets.
#include <gatehouse/kit/tcp_nodelay.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace gatehouse::kit {
namespace {

struct Fd {
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  int fd;
};

// A listener on a free loopback port; returns the port.
int listenOnLoopback(const Fd& s) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(s.fd, 4) != 0) return 0;
  socklen_t len = sizeof(a);
  ::getsockname(s.fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

bool connectTo(const Fd& s, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  return ::connect(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
}

bool noDelay(const Fd& s) {
  int on = 0;
  socklen_t len = sizeof(on);
  ::getsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &on, &len);
  return on != 0;
}

TEST(TcpNoDelay, SetOnSocketsToThePortOnlyAndOnlyOnce) {
  Fd brokerA(::socket(AF_INET, SOCK_STREAM, 0)), brokerB(::socket(AF_INET, SOCK_STREAM, 0));
  const int portA = listenOnLoopback(brokerA);
  const int portB = listenOnLoopback(brokerB);
  ASSERT_GT(portA, 0);
  ASSERT_GT(portB, 0);
  Fd a1(::socket(AF_INET, SOCK_STREAM, 0)), a2(::socket(AF_INET, SOCK_STREAM, 0)), b(::socket(AF_INET, SOCK_STREAM, 0));
  ASSERT_TRUE(connectTo(a1, portA));
  ASSERT_TRUE(connectTo(a2, portA));
  ASSERT_TRUE(connectTo(b, portB));
  ASSERT_FALSE(noDelay(a1));   // the kernel's default: Nagle on
  EXPECT_EQ(enableTcpNoDelayTo(portA), 2);
  EXPECT_TRUE(noDelay(a1));
  EXPECT_TRUE(noDelay(a2));
  EXPECT_FALSE(noDelay(b));    // another peer port: untouched
  EXPECT_EQ(enableTcpNoDelayTo(portA), 0);   // nothing left to do
  EXPECT_EQ(enableTcpNoDelayTo(0), 0);
}

TEST(TcpNoDelay, PortOfUri) {
  EXPECT_EQ(portOfUri("tcp://127.0.0.1:1883"), 1883);
  EXPECT_EQ(portOfUri("ssl://[::1]:8883"), 8883);
  EXPECT_EQ(portOfUri("ssl://[::1]"), 0);
  EXPECT_EQ(portOfUri("tcp://broker"), 0);
  EXPECT_EQ(portOfUri("tcp://broker:"), 0);
  EXPECT_EQ(portOfUri("tcp://broker:99999"), 0);
  EXPECT_EQ(portOfUri("tcp://broker:12a"), 0);
}

}  // namespace
}  // namespace gatehouse::kit
