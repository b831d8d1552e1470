#pragma once
// enableTcpNoDelayTo(): turns Nagle's algorithm off (TCP_NODELAY) on this process's TCP sockets
// connected to a given port. Header only (usable by the host and by plugins), Linux only. The kit's
// MQTT client (mqtt_client.h) calls it on every connection; other code wrapping a client library
// that owns its sockets may call it too.
//
// Why: client libraries that own their sockets and offer no hook to set socket options (Paho
// MQTT C 1.3 never sets TCP_NODELAY) leave Nagle on. A small message written while an earlier
// one is unacknowledged then waits for the peer's delayed ACK, up to 40 ms: the latency of a
// gateway that forwards small messages goes from sub-millisecond to tens of milliseconds.
// Call it right after such a library reports a connection (from its callback thread is fine).
//
// How: walks /proc/self/fd, and for each TCP socket whose peer port is `peerPort` and which
// still has Nagle on, sets TCP_NODELAY. A socket of another client to the same port gets it too,
// which is what it wants as well. Costs one readlink per open descriptor (a few microseconds
// per hundred descriptors), so call it per connection, not per message.
// Returns how many sockets were changed (0 when none needed it); never throws.

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace gatehouse::kit {

// The port of an MQTT-style URI "scheme://host:port" ("tcp://127.0.0.1:1883",
// "ssl://[::1]:8883"); 0 when there is none.
inline int portOfUri(const std::string& uri) {
  const auto colon = uri.rfind(':');
  const auto bracket = uri.rfind(']');
  if (colon == std::string::npos || (bracket != std::string::npos && colon < bracket)) return 0;
  const std::string digits = uri.substr(colon + 1);
  if (digits.empty() || digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string::npos) return 0;
  const int port = std::atoi(digits.c_str());
  return port > 0 && port < 65536 ? port : 0;
}

inline int enableTcpNoDelayTo(int peerPort) {
  if (peerPort <= 0) return 0;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  const int self = ::dirfd(dir);
  int changed = 0;
  while (dirent* entry = ::readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == self) continue;
    const int s = static_cast<int>(fd);
    int type = 0;
    socklen_t len = sizeof(type);
    if (::getsockopt(s, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) continue;
    sockaddr_storage peer{};
    len = sizeof(peer);
    if (::getpeername(s, reinterpret_cast<sockaddr*>(&peer), &len) != 0) continue;
    int port = 0;
    if (peer.ss_family == AF_INET) {
      port = ntohs(reinterpret_cast<const sockaddr_in*>(&peer)->sin_port);
    } else if (peer.ss_family == AF_INET6) {
      port = ntohs(reinterpret_cast<const sockaddr_in6*>(&peer)->sin6_port);
    }
    if (port != peerPort) continue;
    int on = 0;
    len = sizeof(on);
    if (::getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &on, &len) != 0 || on != 0) continue;
    on = 1;
    if (::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == 0) ++changed;
  }
  ::closedir(dir);
  return changed;
}

}  // namespace gatehouse::kit
