// bench/mqtt_ideal_forwarder.cpp: the cheapest possible MQTT forwarder, a reference for
// mqtt_latency.py. It answers "what latency does ANY program that takes a message from the broker
// and publishes it back get on this machine?": the gateway path (broker -> gateway -> broker) has
// two broker hops where the raw path has one, and this forwarder pays for nothing else.
//
// One thread, blocking sockets, MQTT 3.1.1 at QoS 0 on one connection with TCP_NODELAY:
// subscribes to IN_PREFIX/#, reads whatever the socket holds in one recv, and republishes every
// PUBLISH with IN_PREFIX replaced by OUT_PREFIX in one send per read. No model, no JSON, no
// queue, no second thread: no real gateway can do less per message. Keep-alive is off (0) so no
// PINGREQ is needed. Not a product part; the bench starts and stops it by PID.
//
// Usage: mqtt_ideal_forwarder --port P [--in-prefix fwd/in] [--out-prefix fwd/out]
// Prints "READY" once the subscription is acknowledged; exits 0 when the broker closes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

void putU16(std::string& out, std::size_t n) {
  out.push_back(static_cast<char>((n >> 8) & 0xFF));
  out.push_back(static_cast<char>(n & 0xFF));
}

void putString(std::string& out, std::string_view s) {
  putU16(out, s.size());
  out.append(s);
}

void putRemainingLength(std::string& out, std::size_t n) {
  do {
    auto digit = static_cast<unsigned char>(n % 128);
    n /= 128;
    if (n != 0) digit |= 0x80;
    out.push_back(static_cast<char>(digit));
  } while (n != 0);
}

std::string packet(unsigned char header, const std::string& body) {
  std::string out(1, static_cast<char>(header));
  putRemainingLength(out, body.size());
  out += body;
  return out;
}

bool sendAll(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// Reads one whole packet (blocking); returns its first byte, or -1 when the connection ends.
int readPacket(int fd, std::string& body) {
  unsigned char header = 0;
  if (::recv(fd, &header, 1, MSG_WAITALL) != 1) return -1;
  std::size_t length = 0;
  for (int shift = 0; shift < 28; shift += 7) {
    unsigned char digit = 0;
    if (::recv(fd, &digit, 1, MSG_WAITALL) != 1) return -1;
    length |= static_cast<std::size_t>(digit & 0x7F) << shift;
    if ((digit & 0x80) == 0) break;
  }
  body.resize(length);
  if (length > 0 && ::recv(fd, body.data(), length, MSG_WAITALL) != static_cast<ssize_t>(length)) return -1;
  return header;
}

int fail(const char* what) {
  std::fprintf(stderr, "mqtt_ideal_forwarder: %s\n", what);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  std::string inPrefix = "fwd/in";
  std::string outPrefix = "fwd/out";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view a = argv[i];
    if (a == "--port") port = std::atoi(argv[i + 1]);
    else if (a == "--in-prefix") inPrefix = argv[i + 1];
    else if (a == "--out-prefix") outPrefix = argv[i + 1];
    else return fail("usage: mqtt_ideal_forwarder --port P [--in-prefix T] [--out-prefix T]");
  }
  if (port <= 0 || port > 65535 || inPrefix.empty() || outPrefix.empty()) return fail("need --port 1..65535");

  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return fail("cannot connect");
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

  std::string body;
  putString(body, "MQTT");
  body.push_back(4);      // protocol level 3.1.1
  body.push_back(0x02);   // clean session
  putU16(body, 0);        // keep-alive off
  putString(body, "gatehouse-bench-ideal-forwarder-" + std::to_string(::getpid()));
  std::string reply;
  const std::string connect = packet(0x10, body);
  if (!sendAll(fd, connect.data(), connect.size()) || readPacket(fd, reply) != 0x20 ||
      reply.size() != 2 || reply[1] != 0) {
    return fail("the broker refused the connection");
  }
  body.clear();
  putU16(body, 1);   // packet id
  putString(body, inPrefix + "/#");
  body.push_back(0);   // QoS 0
  const std::string subscribe = packet(0x82, body);
  if (!sendAll(fd, subscribe.data(), subscribe.size()) || readPacket(fd, reply) != 0x90) {
    return fail("the broker refused the subscription");
  }
  std::printf("READY\n");
  std::fflush(stdout);

  std::vector<char> in(1 << 16);
  std::size_t have = 0;
  std::string out;
  for (;;) {
    const ssize_t n = ::recv(fd, in.data() + have, in.size() - have, 0);
    if (n <= 0) return 0;
    have += static_cast<std::size_t>(n);
    std::size_t pos = 0;
    out.clear();
    for (;;) {   // every complete packet in the buffer
      if (have - pos < 2) break;
      const auto head = static_cast<unsigned char>(in[pos]);
      std::size_t length = 0, i = pos + 1;
      bool complete = false;
      for (int shift = 0; i < have && shift < 28; shift += 7) {
        const auto digit = static_cast<unsigned char>(in[i++]);
        length |= static_cast<std::size_t>(digit & 0x7F) << shift;
        if ((digit & 0x80) == 0) {
          complete = true;
          break;
        }
      }
      if (!complete || have - i < length) break;
      if ((head >> 4) == 3 && length >= 2) {   // PUBLISH, QoS 0 (the subscription's)
        const std::size_t topicLength = (static_cast<unsigned char>(in[i]) << 8) | static_cast<unsigned char>(in[i + 1]);
        if (2 + topicLength <= length) {
          const std::string_view topic(in.data() + i + 2, topicLength);
          const std::string_view payload(in.data() + i + 2 + topicLength, length - 2 - topicLength);
          std::string republished;
          putString(republished, outPrefix + std::string(topic.substr(std::min(topic.size(), inPrefix.size()))));
          republished.append(payload);
          out += packet(0x30, republished);
        }
      }
      pos = i + length;
    }
    if (!out.empty() && !sendAll(fd, out.data(), out.size())) return 0;
    if (pos == 0 && have == in.size()) in.resize(in.size() * 2);   // one packet larger than the buffer
    std::memmove(in.data(), in.data() + pos, have - pos);
    have -= pos;
  }
}
