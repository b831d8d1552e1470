// bench/nbiot_udp_bare.cpp: the baseline of nbiot_ingest.py, a bare UDP receive loop. It answers
// "how many datagrams/s can any program take off one UDP socket on this machine, from the same
// sender, in the same run?", against which the NB-IoT bridge's decode + ingest is compared.
//
// One thread, one blocking socket bound to HOST:PORT with the receive buffer the gateway's
// `receive_buffer_bytes` asks for (SO_RCVBUFFORCE as root, so rmem_max does not cap it; else
// SO_RCVBUF), and a loop of recvfrom() into one buffer that only counts datagrams and bytes: no
// decoding, no allocation, no second thread. With --mmsg B it takes up to B datagrams per
// recvmmsg(MSG_WAITFORONE) call instead (what the NB-IoT bridge does, with B = 32): nbiot_ingest.py
// shows that figure as information; its floor is against the recvfrom() loop. Not a product part;
// the bench starts it and it exits by itself.
//
// Usage: nbiot_udp_bare --port P [--host 127.0.0.1] [--count N] [--rcvbuf BYTES] [--idle-ms MS]
//                       [--start-timeout-ms MS] [--mmsg B (0 = recvfrom)]
// Prints "READY port=P rcvbuf=<effective bytes>" once bound, then, when N datagrams came (N = 0:
// no limit), or no datagram came for --idle-ms (default 1000) after the first one, or none came
// within --start-timeout-ms (default 60000), one line
//   RESULT datagrams=N bytes=B first_ns=T1 last_ns=T2 elapsed_s=S rate=R cpu_s=C runq_s=Q
// (T1, T2: CLOCK_REALTIME when the first and the last receive call returned, in ns; R = (N - 1) / (T2 - T1), the
// datagrams after the first one over the time they took), and exits 0; 2 on a setup error.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace {

int fail(const char* what) {
  std::fprintf(stderr, "nbiot_udp_bare: %s\n", what);
  return 2;
}

int failErrno(const char* what) {
  std::fprintf(stderr, "nbiot_udp_bare: %s: %s\n", what, std::strerror(errno));
  return 2;
}

std::int64_t realtimeNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Seconds this (single-threaded) process has waited for a CPU while runnable (/proc/self/schedstat,
// second field): how much of the wall time the box's other work took from it.
double runqSeconds() {
  std::FILE* f = std::fopen("/proc/self/schedstat", "r");
  if (f == nullptr) return 0.0;
  unsigned long long run = 0, wait = 0;
  const int n = std::fscanf(f, "%llu %llu", &run, &wait);
  std::fclose(f);
  return n == 2 ? static_cast<double>(wait) / 1e9 : 0.0;
}

double cpuSeconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

bool setTimeout(int fd, long ms) {
  timeval tv{};
  tv.tv_sec = ms / 1000;
  tv.tv_usec = (ms % 1000) * 1000;
  return ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0;
}

constexpr const char* kUsage =
    "usage: nbiot_udp_bare --port P [--host H] [--count N] [--rcvbuf B] [--idle-ms MS] [--start-timeout-ms MS] [--mmsg B]";

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 0;
  long long count = 0;
  int rcvbuf = 8 * 1024 * 1024;
  long idleMs = 1000;
  long startTimeoutMs = 60000;
  int mmsg = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc) return fail("usage: nbiot_udp_bare --port P [--host H] [--count N] [--rcvbuf B] [--idle-ms MS] [--start-timeout-ms MS]");
    if (a == "--port") port = std::atoi(argv[++i]);
    else if (a == "--host") host = argv[++i];
    else if (a == "--count") count = std::atoll(argv[++i]);
    else if (a == "--rcvbuf") rcvbuf = std::atoi(argv[++i]);
    else if (a == "--idle-ms") idleMs = std::atol(argv[++i]);
    else if (a == "--start-timeout-ms") startTimeoutMs = std::atol(argv[++i]);
    else if (a == "--mmsg") mmsg = std::atoi(argv[++i]);
    else return fail("usage: nbiot_udp_bare --port P [--host H] [--count N] [--rcvbuf B] [--idle-ms MS] [--start-timeout-ms MS]");
  }
  if (port <= 0 || port > 65535 || count < 0 || rcvbuf <= 0 || idleMs <= 0 || startTimeoutMs <= 0 || mmsg < 0 ||
      mmsg > 1024)
    return fail("--port 1..65535, --count >= 0, --rcvbuf > 0, --idle-ms > 0, --start-timeout-ms > 0, --mmsg 0..1024");

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) return fail("--host must be an IPv4 address");
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return failErrno("socket");
  // As root, SO_RCVBUFFORCE is not capped by net.core.rmem_max; otherwise SO_RCVBUF is (the kernel
  // doubles the value asked for, for its bookkeeping, in both cases).
  if (::geteuid() != 0 || ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0) {
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) != 0) return failErrno("SO_RCVBUF");
  }
  int effective = 0;
  socklen_t len = sizeof effective;
  ::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &effective, &len);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) return failErrno("bind");
  if (!setTimeout(fd, startTimeoutMs)) return failErrno("SO_RCVTIMEO");
  std::printf("READY port=%d rcvbuf=%d\n", port, effective);
  std::fflush(stdout);

  alignas(64) static char buffer[65536];
  long long datagrams = 0;
  long long bytes = 0;
  std::int64_t first = 0;
  std::int64_t last = 0;
  // --mmsg: B slots of 2 KiB (the layouts' max_datagram_bytes is 2048), the peer address ignored
  // (the bridge reads it; asking for it costs nothing measurable).
  std::vector<char> slots(static_cast<std::size_t>(mmsg) * 2048);
  std::vector<iovec> iov(static_cast<std::size_t>(mmsg));
  std::vector<sockaddr_storage> peers(static_cast<std::size_t>(mmsg));
  std::vector<mmsghdr> msgs(static_cast<std::size_t>(mmsg));
  for (;;) {
    int got = 0;
    if (mmsg == 0) {
      sockaddr_storage peer{};
      socklen_t peerLen = sizeof peer;
      const ssize_t n = ::recvfrom(fd, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&peer), &peerLen);
      if (n < 0) {
        got = -1;
      } else {
        got = 1;
        bytes += n;
      }
    } else {
      for (std::size_t i = 0; i < msgs.size(); ++i) {
        iov[i] = {&slots[i * 2048], 2048};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &peers[i];
        msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      }
      got = ::recvmmsg(fd, msgs.data(), static_cast<unsigned>(mmsg), MSG_WAITFORONE, nullptr);
      for (int i = 0; i < got; ++i) bytes += msgs[static_cast<std::size_t>(i)].msg_len;
    }
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;   // idle (or never started)
      return failErrno(mmsg == 0 ? "recvfrom" : "recvmmsg");
    }
    if (got == 0) continue;
    last = realtimeNs();
    if (datagrams == 0) {
      first = last;
      if (!setTimeout(fd, idleMs)) return failErrno("SO_RCVTIMEO");
    }
    datagrams += got;
    if (count > 0 && datagrams >= count) break;
  }
  ::close(fd);
  const double elapsed = static_cast<double>(last - first) / 1e9;
  const double rate = datagrams > 1 && elapsed > 0 ? static_cast<double>(datagrams - 1) / elapsed : 0.0;
  std::printf("RESULT datagrams=%lld bytes=%lld first_ns=%lld last_ns=%lld elapsed_s=%.6f rate=%.0f cpu_s=%.3f runq_s=%.3f\n",
              datagrams, bytes, static_cast<long long>(first), static_cast<long long>(last), elapsed, rate,
              cpuSeconds(), runqSeconds());
  return 0;
}
