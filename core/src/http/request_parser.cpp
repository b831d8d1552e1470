#include "http/request_parser.h"

#include <cstring>
#include <limits>
#include <utility>

#include "http/token.h"

namespace gatehouse::core::http {

namespace {

using detail::equalsNoCase;
using detail::isForbiddenInValue;
using detail::isToken;
using detail::lowerAscii;

// A chunk-size line ("1a2b;ext=val\r\n") longer than this is rejected: extensions are ignored,
// so there is no reason to buffer much of them.
constexpr std::size_t kMaxChunkLine = 1024;

bool isBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view trimBlanks(std::string_view s) {
  while (!s.empty() && isBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && isBlank(s.back())) s.remove_suffix(1);
  return s;
}

std::string toLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lowerAscii(c);
  return out;
}

bool startsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && equalsNoCase(s.substr(0, prefix.size()), prefix);
}

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool allDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Calls fn(element) for each non-empty, blank-trimmed element of a comma-separated list.
template <typename Fn>
void forEachListElement(std::string_view list, Fn&& fn) {
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t end = list.find(',', start);
    if (end == std::string_view::npos) end = list.size();
    const std::string_view element = trimBlanks(list.substr(start, end - start));
    if (!element.empty()) fn(element);
    start = end + 1;
  }
}

// Splits a request-target into path and query. Origin-form is the norm; absolute-form
// ("http://host/p?q") must be accepted by servers (RFC 9112 3.2.2) and yields its path.
void splitTarget(std::string_view target, std::string& path, std::string& query) {
  std::string_view rest = target;
  for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
    if (startsWithNoCase(rest, scheme)) {
      rest.remove_prefix(scheme.size());
      const std::size_t slash = rest.find_first_of("/?");
      rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
      if (rest.empty() || rest.front() == '?') {
        path.assign(1, '/');  // assign(1, c): "= \"/\"" trips a GCC 12 -Wrestrict false positive
        if (!rest.empty()) query = std::string(rest.substr(1));
        return;
      }
      break;
    }
  }
  const std::size_t q = rest.find('?');
  path = std::string(rest.substr(0, q));
  if (q != std::string_view::npos) query = std::string(rest.substr(q + 1));
}

}  // namespace

RequestParser::RequestParser(ParserLimits limits) : limits_(limits) {}

void RequestParser::feed(std::string_view bytes) {
  if (state_ == State::Error || bytes.empty()) return;
  buf_.append(bytes.data(), bytes.size());
}

bool RequestParser::takeContinue() { return std::exchange(continuePending_, false); }

bool RequestParser::hasPartial() const { return state_ != State::Head || buf_.size() > pos_; }

bool RequestParser::inBody() const {
  return state_ != State::Head && state_ != State::Error;
}

RequestParser::Status RequestParser::fail(int status, const char* message) {
  state_ = State::Error;
  errorStatus_ = status;
  errorMessage_ = message;
  continuePending_ = false;
  std::string().swap(buf_);  // nothing more will be parsed: give the memory back
  pos_ = 0;
  return Status::Error;
}

void RequestParser::compact() {
  if (pos_ == 0) return;
  if (pos_ >= buf_.size()) {
    std::string().swap(buf_);  // idle connections hold no buffer at all
  } else {
    buf_.erase(0, pos_);
  }
  pos_ = 0;
}

RequestParser::Status RequestParser::complete(Request& out) {
  out = std::move(cur_);
  cur_ = Request{};
  state_ = State::Head;
  continuePending_ = false;
  scan_ = 0;
  trailerBytes_ = 0;
  compact();
  return Status::Complete;
}

RequestParser::Status RequestParser::parse(Request& out) {
  if (state_ == State::Error) return Status::Error;
  Status st = Status::NeedMore;
  if (state_ == State::Head) {
    st = parseHead();
    if (st == Status::Error) return st;
    if (state_ == State::Head) {  // head not complete yet
      compact();
      return Status::NeedMore;
    }
  }
  st = parseBody();
  if (st == Status::Error) return st;
  if (st == Status::Complete) return complete(out);
  compact();
  return Status::NeedMore;
}

RequestParser::Status RequestParser::parseHead() {
  // RFC 9112 2.2: a server SHOULD ignore empty lines received before the request-line (some
  // clients send an extra CRLF after a POST body).
  // Only at the very start of a head, and decided the same way however the bytes were split.
  if (scan_ == 0) {
    while (buf_.size() - pos_ >= 2 && buf_[pos_] == '\r' && buf_[pos_ + 1] == '\n') pos_ += 2;
    if (buf_.size() - pos_ == 1 && buf_[pos_] == '\r') return Status::NeedMore;
  }
  const std::size_t avail = buf_.size() - pos_;
  const std::size_t window = avail < limits_.maxHeaderBytes ? avail : limits_.maxHeaderBytes;
  const char* base = buf_.data() + pos_;
  std::size_t i = scan_;
  while (i < window) {
    const void* hit = std::memchr(base + i, '\n', window - i);
    if (hit == nullptr) {
      i = window;
      break;
    }
    const std::size_t j = static_cast<std::size_t>(static_cast<const char*>(hit) - base);
    if (j == 0 || base[j - 1] != '\r') return fail(400, "bare LF in request head");
    if (j >= 3 && base[j - 2] == '\n' && base[j - 3] == '\r') {
      const std::size_t headLen = j + 1;
      const Status st = parseHeadLines(std::string_view(base, headLen));
      if (st == Status::Error) return st;
      pos_ += headLen;
      scan_ = 0;
      return st;
    }
    i = j + 1;
  }
  scan_ = i;
  if (avail >= limits_.maxHeaderBytes) return fail(431, "request head too large");
  return Status::NeedMore;
}

RequestParser::Status RequestParser::parseHeadLines(std::string_view head) {
  // head ends with "\r\n\r\n"; every '\n' in it is preceded by '\r' (checked while scanning).
  head.remove_suffix(2);
  std::size_t lineStart = 0;
  auto nextLine = [&](std::string_view& line) {
    if (lineStart >= head.size()) return false;
    const std::size_t end = head.find("\r\n", lineStart);
    line = head.substr(lineStart, end - lineStart);
    lineStart = end + 2;
    return true;
  };

  std::string_view line;
  if (!nextLine(line)) return fail(400, "empty request line");
  if (line.find('\r') != std::string_view::npos) return fail(400, "bare CR in request line");

  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return fail(400, "malformed request line");
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!isToken(method)) return fail(400, "malformed method");
  if (target.empty()) return fail(400, "empty request target");
  for (unsigned char c : target) {
    if (c <= 0x20 || c >= 0x7f) return fail(400, "invalid character in request target");
  }
  cur_.method = std::string(method);
  cur_.target = std::string(target);
  splitTarget(target, cur_.path, cur_.query);

  if (version.size() < 6 || version.substr(0, 5) != "HTTP/") return fail(400, "malformed HTTP version");
  {
    // HTTP/<digits>[.<digits>]: well-formed but unsupported versions get 505, junk gets 400.
    const std::string_view num = version.substr(5);
    const std::size_t dot = num.find('.');
    const bool wellFormed = dot == std::string_view::npos
                                ? allDigits(num)
                                : allDigits(num.substr(0, dot)) && allDigits(num.substr(dot + 1));
    if (!wellFormed) return fail(400, "malformed HTTP version");
    if (num == "1.1") {
      cur_.minorVersion = 1;
    } else if (num == "1.0") {
      cur_.minorVersion = 0;
    } else {
      return fail(505, "HTTP version not supported");
    }
  }

  std::size_t hostCount = 0;
  bool haveLength = false;
  bool lengthTooBig = false;
  std::size_t contentLength = 0;
  bool haveTe = false;
  std::size_t chunkedCount = 0;
  bool otherCoding = false;
  bool connClose = false;
  bool connKeepAlive = false;
  bool expectContinue = false;
  bool badLength = false;

  while (nextLine(line)) {
    if (line.empty()) break;
    if (isBlank(line.front())) return fail(400, "obsolete line folding");
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return fail(400, "header line without colon");
    const std::string_view name = line.substr(0, colon);
    if (!isToken(name)) return fail(400, "malformed header name");
    const std::string_view value = trimBlanks(line.substr(colon + 1));
    for (unsigned char c : value) {
      if (isForbiddenInValue(c)) return fail(400, "control character in header value");
    }
    if (cur_.headers.size() >= limits_.maxHeaderCount) return fail(431, "too many header fields");
    Header& h = cur_.headers.emplace_back(Header{toLower(name), std::string(value)});

    if (h.name == "host") {
      ++hostCount;
    } else if (h.name == "content-length") {
      // "5, 5" and repeated identical fields are tolerated (RFC 9110 8.6); anything else is not.
      std::size_t elements = 0;
      forEachListElement(value, [&](std::string_view element) {
        ++elements;
        if (!allDigits(element)) {
          badLength = true;
          return;
        }
        std::size_t v = 0;
        bool big = false;
        for (char c : element) {
          const std::size_t d = static_cast<std::size_t>(c - '0');
          if (v > (std::numeric_limits<std::size_t>::max() - d) / 10) {
            big = true;
            break;
          }
          v = v * 10 + d;
        }
        if (haveLength && (big != lengthTooBig || v != contentLength)) badLength = true;
        haveLength = true;
        lengthTooBig = big;
        contentLength = v;
      });
      if (elements == 0) badLength = true;
    } else if (h.name == "transfer-encoding") {
      haveTe = true;
      forEachListElement(value, [&](std::string_view coding) {
        if (equalsNoCase(coding, "chunked")) {
          ++chunkedCount;
        } else {
          otherCoding = true;
        }
      });
    } else if (h.name == "connection") {
      forEachListElement(value, [&](std::string_view option) {
        if (equalsNoCase(option, "close")) connClose = true;
        if (equalsNoCase(option, "keep-alive")) connKeepAlive = true;
      });
    } else if (h.name == "expect") {
      if (equalsNoCase(value, "100-continue")) expectContinue = true;
    }
  }

  if (cur_.minorVersion == 1 && hostCount != 1) {
    return fail(400, hostCount == 0 ? "missing Host header" : "duplicate Host header");
  }
  if (hostCount > 1) return fail(400, "duplicate Host header");
  if (haveTe && (haveLength || badLength)) return fail(400, "both Content-Length and Transfer-Encoding");
  if (haveTe && cur_.minorVersion == 0) return fail(400, "Transfer-Encoding in an HTTP/1.0 request");
  if (badLength) return fail(400, "invalid Content-Length");
  if (haveTe) {
    if (otherCoding) return fail(501, "unsupported transfer coding");
    if (chunkedCount != 1) return fail(400, "invalid Transfer-Encoding");
  }
  if (haveLength && (lengthTooBig || contentLength > limits_.maxBodyBytes)) {
    return fail(413, "request body too large");
  }

  cur_.keepAlive = cur_.minorVersion == 1 ? !connClose : (connKeepAlive && !connClose);
  if (haveTe) {
    state_ = State::ChunkSize;
  } else if (haveLength && contentLength > 0) {
    state_ = State::Body;
    remaining_ = contentLength;
  } else {
    state_ = State::Body;
    remaining_ = 0;
  }
  // HTTP/1.0 clients do not know 100 Continue (RFC 9110 10.1.1).
  continuePending_ = expectContinue && cur_.minorVersion == 1 && (haveTe || contentLength > 0);
  return Status::NeedMore;
}

RequestParser::Status RequestParser::parseBody() {
  for (;;) {
    const std::size_t avail = buf_.size() - pos_;
    const char* p = buf_.data() + pos_;
    switch (state_) {
      case State::Body: {
        const std::size_t take = avail < remaining_ ? avail : remaining_;
        cur_.body.append(p, take);
        pos_ += take;
        remaining_ -= take;
        return remaining_ == 0 ? Status::Complete : Status::NeedMore;
      }
      case State::ChunkSize: {
        const std::size_t window = avail < kMaxChunkLine ? avail : kMaxChunkLine;
        const void* hit = std::memchr(p, '\n', window);
        if (hit == nullptr) {
          if (avail >= kMaxChunkLine) return fail(400, "chunk size line too long");
          return Status::NeedMore;
        }
        const std::size_t nl = static_cast<std::size_t>(static_cast<const char*>(hit) - p);
        if (nl == 0 || p[nl - 1] != '\r') return fail(400, "bare LF in chunked body");
        const std::string_view lineView(p, nl - 1);
        std::size_t i = 0;
        std::size_t size = 0;
        bool tooBig = false;
        while (i < lineView.size() && hexDigit(lineView[i]) >= 0) {
          if (size > (std::numeric_limits<std::size_t>::max() >> 4)) tooBig = true;
          if (!tooBig) size = size * 16 + static_cast<std::size_t>(hexDigit(lineView[i]));
          ++i;
        }
        if (i == 0) return fail(400, "invalid chunk size");
        std::string_view ext = lineView.substr(i);
        while (!ext.empty() && isBlank(ext.front())) ext.remove_prefix(1);
        if (!ext.empty() && ext.front() != ';') return fail(400, "invalid chunk size");
        for (unsigned char c : ext) {
          if (isForbiddenInValue(c)) return fail(400, "control character in chunk extension");
        }
        pos_ += nl + 1;
        if (tooBig || size > limits_.maxBodyBytes - cur_.body.size()) {
          return fail(413, "request body too large");
        }
        if (size == 0) {
          state_ = State::Trailer;
        } else {
          remaining_ = size;
          state_ = State::ChunkData;
        }
        break;
      }
      case State::ChunkData: {
        const std::size_t take = avail < remaining_ ? avail : remaining_;
        cur_.body.append(p, take);
        pos_ += take;
        remaining_ -= take;
        if (remaining_ > 0) return Status::NeedMore;
        state_ = State::ChunkDataEnd;
        break;
      }
      case State::ChunkDataEnd: {
        if (avail < 2) {
          if (avail == 1 && p[0] != '\r') return fail(400, "missing CRLF after chunk data");
          return Status::NeedMore;
        }
        if (p[0] != '\r' || p[1] != '\n') return fail(400, "missing CRLF after chunk data");
        pos_ += 2;
        state_ = State::ChunkSize;
        break;
      }
      case State::Trailer: {
        // Trailer fields are validated like header fields and then dropped: nothing here needs
        // them, and merging them into the headers would let a body smuggle header values.
        const std::size_t budget = limits_.maxHeaderBytes - trailerBytes_;
        const std::size_t window = avail < budget ? avail : budget;
        const void* hit = std::memchr(p, '\n', window);
        if (hit == nullptr) {
          if (avail >= budget) return fail(431, "trailer section too large");
          return Status::NeedMore;
        }
        const std::size_t nl = static_cast<std::size_t>(static_cast<const char*>(hit) - p);
        if (nl == 0 || p[nl - 1] != '\r') return fail(400, "bare LF in trailer section");
        const std::string_view lineView(p, nl - 1);
        pos_ += nl + 1;
        trailerBytes_ += nl + 1;
        if (lineView.empty()) return Status::Complete;
        if (isBlank(lineView.front())) return fail(400, "obsolete line folding");
        const std::size_t colon = lineView.find(':');
        if (colon == std::string_view::npos || !isToken(lineView.substr(0, colon))) {
          return fail(400, "malformed trailer field");
        }
        for (unsigned char c : lineView.substr(colon + 1)) {
          if (isForbiddenInValue(c)) return fail(400, "control character in trailer field");
        }
        break;
      }
      case State::Head:
      case State::Error:
        return Status::NeedMore;
    }
  }
}

}  // namespace gatehouse::core::http
