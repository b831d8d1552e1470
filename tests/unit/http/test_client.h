#pragma once
// A deliberately simple blocking HTTP/1.1 client for the server tests: raw sockets, so tests
// control every byte (pipelining, slow senders, half-read streams), and deadlines via poll().

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gatehouse::test {

using Ms = std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

struct ClientResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;

  std::optional<std::string> header(std::string_view lowerName) const {
    for (const auto& [n, v] : headers) {
      if (n == lowerName) return v;
    }
    return std::nullopt;
  }
};

inline void raiseNoFileLimit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

class Client {
 public:
  Client() = default;
  explicit Client(int fd) : fd_(fd) {}
  Client(Client&& o) noexcept : fd_(std::exchange(o.fd_, -1)), buf_(std::move(o.buf_)) {}
  Client& operator=(Client&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
      buf_ = std::move(o.buf_);
    }
    return *this;
  }
  ~Client() { reset(); }

  // rcvbuf > 0 shrinks the receive buffer before connecting (slow-reader tests).
  static Client connectTo(std::uint16_t port, int rcvbuf = 0) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Client();
    if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      return Client();
    }
    return Client(fd);
  }

  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buf_.clear();
  }

  bool send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads more bytes into the buffer; false on EOF, error or deadline.
  bool fill(SteadyClock::time_point deadline) {
    const auto left = std::chrono::duration_cast<Ms>(deadline - SteadyClock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left));
    if (r <= 0) return false;
    char tmp[16384];
    const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }

  // One response. Bodies are framed by Content-Length; without it (streams) only the head is
  // consumed. headOnly: a response to HEAD (Content-Length present, no body).
  std::optional<ClientResponse> readResponse(Ms timeout = Ms(3000), bool headOnly = false) {
    const auto deadline = SteadyClock::now() + timeout;
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(deadline)) return std::nullopt;
    }
    ClientResponse r;
    const std::string head = buf_.substr(0, end + 2);
    buf_.erase(0, end + 4);
    std::size_t lineEnd = head.find("\r\n");
    const std::string statusLine = head.substr(0, lineEnd);
    if (statusLine.size() < 12 || statusLine.compare(0, 9, "HTTP/1.1 ") != 0) return std::nullopt;
    r.status = std::stoi(statusLine.substr(9, 3));
    std::size_t pos = lineEnd + 2;
    while (pos < head.size()) {
      const std::size_t e = head.find("\r\n", pos);
      const std::string line = head.substr(pos, e - pos);
      pos = e + 2;
      const std::size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::size_t v = colon + 1;
      while (v < line.size() && line[v] == ' ') ++v;
      r.headers.emplace_back(std::move(name), line.substr(v));
    }
    const auto cl = r.header("content-length");
    if (cl && !headOnly) {
      const std::size_t len = std::stoul(*cl);
      while (buf_.size() < len) {
        if (!fill(deadline)) return std::nullopt;
      }
      r.body = buf_.substr(0, len);
      buf_.erase(0, len);
    }
    return r;
  }

  // Bytes received until `needle` appears (inclusive) or the deadline.
  bool readUntil(std::string_view needle, Ms timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    while (buf_.find(needle) == std::string::npos) {
      if (!fill(deadline)) return false;
    }
    return true;
  }

  // True when the server closed the connection (EOF or reset) within the timeout; bytes that
  // arrive meanwhile are kept.
  bool waitClosed(Ms timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    while (!eof_) {
      const auto left = std::chrono::duration_cast<Ms>(deadline - SteadyClock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
      char tmp[16384];
      const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0) return true;
      buf_.append(tmp, static_cast<std::size_t>(n));
    }
    return true;
  }

  std::string& buffer() { return buf_; }

 private:
  int fd_ = -1;
  std::string buf_;
  bool eof_ = false;
};

// Connect, send one request, read one response.
inline std::optional<ClientResponse> fetch(std::uint16_t port, std::string_view request, Ms timeout = Ms(3000)) {
  Client c = Client::connectTo(port);
  if (!c.ok() || !c.send(request)) return std::nullopt;
  return c.readResponse(timeout, request.substr(0, 5) == "HEAD ");
}

inline std::string get(std::string_view path) {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: t\r\n\r\n";
}

}  // namespace gatehouse::test
