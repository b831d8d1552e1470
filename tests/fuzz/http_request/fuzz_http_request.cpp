// Fuzzes the HTTP request parser. Input layout:
//   byte 0..3  feed sizes, used in turn (size = byte + 1), so the fuzzer controls how the
//              stream is split across reads;
//   byte 4     limits: bit 0 picks small limits (so 413/431 paths are reachable), bit 1 a
//              small header count;
//   the rest   the bytes a client sends on one connection.
// Invariants checked (abort on violation): no request body above maxBodyBytes; paths never
// contain '?' and prefix an origin-form target; header names are lower-case and values hold no
// CR/LF/NUL; one Host on HTTP/1.1; errors are one of 400/413/431/501/505; buffered input stays
// below the head limit; the outcome does not depend on the split (one-shot parsing yields
// exactly the same requests and error).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "http/request_parser.h"

namespace {

using gatehouse::core::http::ParserLimits;
using gatehouse::core::http::Request;
using gatehouse::core::http::RequestParser;

struct Outcome {
  std::vector<Request> requests;
  int error = 0;
};

void check(bool ok) {
  if (!ok) std::abort();
}

void checkRequest(const Request& r, const ParserLimits& limits) {
  check(r.body.size() <= limits.maxBodyBytes);
  check(!r.method.empty());
  check(!r.target.empty());
  check(r.path.find('?') == std::string::npos);
  check(r.minorVersion == 0 || r.minorVersion == 1);
  check(r.headers.size() <= limits.maxHeaderCount);
  for (const auto& h : r.headers) {
    check(!h.name.empty());
    for (char c : h.name) check(!(c >= 'A' && c <= 'Z') && c != ':' && c != ' ');
    for (char c : h.value) check(c != '\r' && c != '\n' && c != '\0');
  }
  if (r.minorVersion == 1) {
    std::size_t hosts = 0;
    for (const auto& h : r.headers) hosts += h.name == "host";
    check(hosts == 1);
  }
  if (r.target[0] == '/') check(r.target.compare(0, r.path.size(), r.path) == 0);
}

Outcome run(std::string_view stream, const std::uint8_t* sizes, std::size_t nSizes, const ParserLimits& limits) {
  RequestParser parser(limits);
  Outcome out;
  std::size_t pos = 0;
  std::size_t turn = 0;
  while (pos < stream.size() && out.error == 0) {
    std::size_t n = nSizes ? static_cast<std::size_t>(sizes[turn++ % nSizes]) + 1 : stream.size();
    if (n > stream.size() - pos) n = stream.size() - pos;
    parser.feed(stream.substr(pos, n));
    pos += n;
    for (;;) {
      Request r;
      const auto st = parser.parse(r);
      parser.takeContinue();
      if (st == RequestParser::Status::Complete) {
        checkRequest(r, limits);
        out.requests.push_back(std::move(r));
        continue;
      }
      if (st == RequestParser::Status::Error) {
        out.error = parser.errorStatus();
        check(out.error == 400 || out.error == 413 || out.error == 431 || out.error == 501 || out.error == 505);
        check(parser.bufferedBytes() == 0);
      }
      break;
    }
    // Buffered input is bounded by what one more request could legitimately need.
    if (out.error == 0) check(parser.bufferedBytes() < (limits.maxHeaderBytes > 1024 ? limits.maxHeaderBytes : 1024));
  }
  return out;
}

bool same(const Request& a, const Request& b) {
  if (a.method != b.method || a.target != b.target || a.path != b.path || a.query != b.query ||
      a.body != b.body || a.minorVersion != b.minorVersion || a.keepAlive != b.keepAlive ||
      a.headers.size() != b.headers.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.headers.size(); ++i) {
    if (a.headers[i].name != b.headers[i].name || a.headers[i].value != b.headers[i].value) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 5) return 0;
  ParserLimits limits;
  if (data[4] & 1) {
    limits.maxHeaderBytes = 256;
    limits.maxBodyBytes = 64;
  }
  if (data[4] & 2) limits.maxHeaderCount = 4;
  const std::string_view stream(reinterpret_cast<const char*>(data + 5), size - 5);

  const Outcome split = run(stream, data, 4, limits);
  const Outcome whole = run(stream, nullptr, 0, limits);
  check(split.error == whole.error);
  check(split.requests.size() == whole.requests.size());
  for (std::size_t i = 0; i < split.requests.size(); ++i) check(same(split.requests[i], whole.requests[i]));
  return 0;
}
