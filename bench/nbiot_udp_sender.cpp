// bench/nbiot_udp_sender.cpp: the load of nbiot_ingest.py. Sends N environmental-monitor frames
// (etc/nbiot/layouts.yaml, layout 1: 31 bytes, binary, big-endian) over UDP to HOST:PORT, as fast as
// the socket takes them or paced to --rate datagrams/s.
//
// Frame k goes to device k % D (D = --devices): IMEI = --imei-base + device index (15 digits,
// NUL-padded to 16 bytes), N_SEND = --first-counter + k / D, so each device's counter grows by one
// per frame it gets (no gap, no reset, when the caller continues a device's counters from one run
// to the next with --first-counter). The readings vary with k (battery 3500..3599 mV, sound
// 40..69 dB, 20.0..24.9 °C, 50.0..59.9 %).
//
// One socket, connect()ed to the target; the datagrams leave in sendmmsg() calls of --batch
// (default 64) datagrams each, one datagram per message. Batching matters on loopback: with one
// send() per datagram the sender pays a system call per datagram on top of the kernel's delivery
// to the receiving socket and the receiver's wake-up (both run in the sender's context on
// loopback) and reaches under a third of what a bare receive loop can take (bench/RESULTS.md run
// 15), so the baseline would measure the sender. --batch 1 sends one datagram per call. Not a product part.
//
// Usage: nbiot_udp_sender --port P --count N [--host 127.0.0.1] [--devices 100] [--rate R (0 = as
//                         fast as possible)] [--first-counter C (1)] [--imei-base 861000000000000]
//                         [--batch B (64)]
// Prints, when done,
//   SENT datagrams=N bytes=B first_ns=T1 last_ns=T2 elapsed_s=S rate=R errors=E cpu_s=C runq_s=Q
// (T1, T2: CLOCK_REALTIME just before the first and just after the last send call, ns; R = N / (T2 -
// T1); E = datagrams the kernel refused, e.g. ECONNREFUSED when nothing listens: not sent, not
// in N) and exits 0; 2 on a setup error.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
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

constexpr std::size_t kFrameSize = 31;

int fail(const char* what) {
  std::fprintf(stderr, "nbiot_udp_sender: %s\n", what);
  return 2;
}

int failErrno(const char* what) {
  std::fprintf(stderr, "nbiot_udp_sender: %s: %s\n", what, std::strerror(errno));
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

void put16(unsigned char* p, unsigned v) {
  p[0] = static_cast<unsigned char>(v >> 8);
  p[1] = static_cast<unsigned char>(v);
}

void put32(unsigned char* p, std::uint32_t v) {
  p[0] = static_cast<unsigned char>(v >> 24);
  p[1] = static_cast<unsigned char>(v >> 16);
  p[2] = static_cast<unsigned char>(v >> 8);
  p[3] = static_cast<unsigned char>(v);
}

constexpr const char* kUsage =
    "usage: nbiot_udp_sender --port P --count N [--host H] [--devices D] [--rate R] [--first-counter C] "
    "[--imei-base I] [--batch B]";

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 0;
  long long count = 0;
  long long devices = 100;
  double rate = 0;
  unsigned long long firstCounter = 1;
  unsigned long long imeiBase = 861000000000000ULL;
  int batch = 64;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc) return fail(kUsage);
    if (a == "--port") port = std::atoi(argv[++i]);
    else if (a == "--host") host = argv[++i];
    else if (a == "--count") count = std::atoll(argv[++i]);
    else if (a == "--devices") devices = std::atoll(argv[++i]);
    else if (a == "--rate") rate = std::atof(argv[++i]);
    else if (a == "--first-counter") firstCounter = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--imei-base") imeiBase = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--batch") batch = std::atoi(argv[++i]);
    else return fail(kUsage);
  }
  if (port <= 0 || port > 65535 || count <= 0 || devices <= 0 || rate < 0 || firstCounter == 0 || batch < 1 ||
      batch > 1024 ||
      imeiBase + static_cast<unsigned long long>(devices) > 999999999999999ULL)
    return fail("--port 1..65535, --count > 0, --devices > 0, --rate >= 0, --first-counter > 0, --batch 1..1024, "
                "IMEIs of 15 digits");
  if (firstCounter + static_cast<unsigned long long>(count / devices) + 1 > 0xFFFFFFFFULL)
    return fail("--first-counter + count / devices must fit N_SEND (u32)");

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) return fail("--host must be an IPv4 address");
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return failErrno("socket");
  const int sndbuf = 4 * 1024 * 1024;
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) return failErrno("connect");

  // One prebuilt frame per device (TYPE, LENGTH, IMEI); N_SEND and the readings are written per send.
  std::vector<unsigned char> frames(static_cast<std::size_t>(devices) * kFrameSize, 0);
  for (long long d = 0; d < devices; ++d) {
    unsigned char* f = &frames[static_cast<std::size_t>(d) * kFrameSize];
    f[0] = 0x01;
    put16(f + 1, 28);
    char imei[32];
    std::snprintf(imei, sizeof imei, "%015llu", imeiBase + static_cast<unsigned long long>(d));
    std::memcpy(f + 7, imei, 15);   // byte 22 stays NUL
  }

  // The frames of one sendmmsg() call: slot i of the batch holds datagram k0 + i.
  std::vector<unsigned char> slots(static_cast<std::size_t>(batch) * kFrameSize);
  std::vector<iovec> iov(static_cast<std::size_t>(batch));
  std::vector<mmsghdr> msgs(static_cast<std::size_t>(batch));
  for (int i = 0; i < batch; ++i) {
    iov[static_cast<std::size_t>(i)] = {&slots[static_cast<std::size_t>(i) * kFrameSize], kFrameSize};
    msgs[static_cast<std::size_t>(i)] = {};
    msgs[static_cast<std::size_t>(i)].msg_hdr.msg_iov = &iov[static_cast<std::size_t>(i)];
    msgs[static_cast<std::size_t>(i)].msg_hdr.msg_iovlen = 1;
  }

  long long errors = 0;
  long long sent = 0;
  const double nsPerDatagram = rate > 0 ? 1e9 / rate : 0.0;
  const std::int64_t first = realtimeNs();
  for (long long k0 = 0; k0 < count; k0 += batch) {
    const int n = static_cast<int>(std::min<long long>(batch, count - k0));
    if (rate > 0) {   // paced: the batch leaves when its first datagram is due
      const std::int64_t due = first + static_cast<std::int64_t>(static_cast<double>(k0) * nsPerDatagram);
      const std::int64_t ahead = due - realtimeNs();
      if (ahead > 20000) {
        timespec ts{static_cast<time_t>(ahead / 1000000000), static_cast<long>(ahead % 1000000000)};
        ::nanosleep(&ts, nullptr);
      }
    }
    for (int i = 0; i < n; ++i) {
      const long long k = k0 + i;
      unsigned char* f = &slots[static_cast<std::size_t>(i) * kFrameSize];
      std::memcpy(f, &frames[static_cast<std::size_t>(k % devices) * kFrameSize], kFrameSize);
      put32(f + 3, static_cast<std::uint32_t>(firstCounter + static_cast<unsigned long long>(k / devices)));
      put16(f + 23, 3500 + static_cast<unsigned>(k % 100));   // BATTERY_VOLTAGE mV
      put16(f + 25, 40 + static_cast<unsigned>(k % 30));      // SONOMETER dB
      put16(f + 27, 200 + static_cast<unsigned>(k % 50));     // TEMPERATURE 0.1 °C
      put16(f + 29, 500 + static_cast<unsigned>(k % 100));    // HUMIDITY 0.1 %
    }
    int done = 0;
    while (done < n) {
      const int r = ::sendmmsg(fd, &msgs[static_cast<std::size_t>(done)], static_cast<unsigned>(n - done), 0);
      if (r > 0) {
        done += r;
        sent += r;
      } else if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == ENOBUFS)) {
        continue;   // local queue full: retry
      } else {
        ++errors;   // e.g. ECONNREFUSED (an ICMP port-unreachable for an earlier datagram): skip this one
        ++done;
      }
    }
  }
  const std::int64_t last = realtimeNs();
  ::close(fd);
  const double elapsed = static_cast<double>(last - first) / 1e9;
  std::printf("SENT datagrams=%lld bytes=%lld first_ns=%lld last_ns=%lld elapsed_s=%.6f rate=%.0f errors=%lld cpu_s=%.3f runq_s=%.3f\n",
              sent, sent * static_cast<long long>(kFrameSize), static_cast<long long>(first), static_cast<long long>(last), elapsed,
              elapsed > 0 ? static_cast<double>(count) / elapsed : 0.0, errors, cpuSeconds(), runqSeconds());
  return 0;
}
