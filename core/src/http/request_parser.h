#pragma once
// Incremental HTTP/1.1 request parser: fed bytes as they arrive, yields complete requests in
// order (pipelining) or one error status. Pure (no sockets, no clocks) so it can be fuzzed and
// unit-tested on its own; the result never depends on how the bytes were split into feeds.
//
// Strict on framing, because a lenient parser behind a proxy is how requests get smuggled:
// CRLF line ends only, no obsolete line folding, no control characters in header values,
// one Host on HTTP/1.1, Content-Length digits only and never together with Transfer-Encoding,
// and "chunked" as the only transfer coding.
//
// Threads: one instance belongs to one thread at a time (a connection's loop thread).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/message.h"

namespace gatehouse::core::http {

struct ParserLimits {
  std::size_t maxHeaderBytes = 16384;   // request line + headers (and, separately, trailers) -> 431
  std::size_t maxBodyBytes = 1 << 20;   // decoded body -> 413
  std::size_t maxHeaderCount = 100;     // -> 431
};

class RequestParser {
 public:
  enum class Status : std::uint8_t {
    NeedMore,  // no complete request buffered yet
    Complete,  // `out` holds the next request (peer is left empty)
    Error,     // errorStatus() says which; the parser stays in this state and drops input
  };

  explicit RequestParser(ParserLimits limits = {});

  // Buffers bytes; parsing happens in parse(). Ignored after an error.
  void feed(std::string_view bytes);

  // Parses as far as the buffered bytes allow. Call repeatedly until NeedMore/Error to drain
  // pipelined requests.
  Status parse(Request& out);

  // True once per request whose head asked for "Expect: 100-continue", whose declared body is
  // within the limit and not yet fully received: the caller should send "100 Continue" now.
  bool takeContinue();

  int errorStatus() const { return errorStatus_; }          // 400, 413, 431, 501 or 505
  std::string_view errorMessage() const { return errorMessage_; }
  // What is known of the request being parsed when an error occurred (method/path may be "").
  const Request& partialRequest() const { return cur_; }

  // Some bytes of a request that is not complete yet have arrived (for the header timer).
  bool hasPartial() const;
  // The head of the current request is complete and its body is still arriving (body timer).
  bool inBody() const;
  // Bytes buffered and not yet consumed; memory held by the buffer (for tests and metrics).
  std::size_t bufferedBytes() const { return buf_.size() - pos_; }
  std::size_t bufferCapacity() const { return buf_.capacity(); }

 private:
  enum class State : std::uint8_t { Head, Body, ChunkSize, ChunkData, ChunkDataEnd, Trailer, Error };

  Status parseHead();
  Status parseHeadLines(std::string_view head);
  Status parseBody();
  Status fail(int status, const char* message);
  Status complete(Request& out);
  void compact();

  ParserLimits limits_;
  std::string buf_;
  std::size_t pos_ = 0;        // start of unconsumed bytes in buf_
  std::size_t scan_ = 0;       // bytes of the current head already scanned for its end
  State state_ = State::Head;
  Request cur_;
  std::size_t remaining_ = 0;  // Content-Length or chunk bytes still to come
  std::size_t trailerBytes_ = 0;
  bool continuePending_ = false;
  int errorStatus_ = 0;
  const char* errorMessage_ = "";
};

}  // namespace gatehouse::core::http
