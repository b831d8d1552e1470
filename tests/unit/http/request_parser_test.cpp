#include "http/request_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gatehouse::core::http {
namespace {

struct Outcome {
  std::vector<Request> requests;
  int error = 0;  // 0 = none
};

// Feeds `input` in pieces of `step` bytes (0 = all at once), collecting everything parsed.
Outcome parseAll(std::string_view input, std::size_t step = 0, ParserLimits limits = {}) {
  RequestParser p(limits);
  Outcome out;
  auto drain = [&] {
    for (;;) {
      Request r;
      const auto st = p.parse(r);
      if (st == RequestParser::Status::Complete) {
        out.requests.push_back(std::move(r));
        continue;
      }
      if (st == RequestParser::Status::Error) out.error = p.errorStatus();
      return st;
    }
  };
  if (step == 0) step = input.size() ? input.size() : 1;
  for (std::size_t i = 0; i < input.size(); i += step) {
    p.feed(input.substr(i, step));
    if (drain() == RequestParser::Status::Error) break;
  }
  return out;
}

int errorOf(std::string_view input, ParserLimits limits = {}) { return parseAll(input, 0, limits).error; }

TEST(RequestParser, SimpleGet) {
  const auto o = parseAll("GET /sensinact/providers?x=1&y=2 HTTP/1.1\r\nHost: gw\r\nX-Thing:  Value  \r\n\r\n");
  ASSERT_EQ(o.error, 0);
  ASSERT_EQ(o.requests.size(), 1u);
  const Request& r = o.requests[0];
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/sensinact/providers?x=1&y=2");
  EXPECT_EQ(r.path, "/sensinact/providers");
  EXPECT_EQ(r.query, "x=1&y=2");
  EXPECT_EQ(r.header("host"), "gw");
  EXPECT_EQ(r.header("x-thing"), "Value");  // name lower-cased, value trimmed
  EXPECT_EQ(r.header("absent"), "");
  EXPECT_TRUE(r.keepAlive);
  EXPECT_EQ(r.minorVersion, 1);
  EXPECT_TRUE(r.body.empty());
}

TEST(RequestParser, ByteByByteGivesSameResult) {
  const std::string in =
      "POST /a?b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
      "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nT: v\r\n\r\n";
  const auto whole = parseAll(in);
  for (std::size_t step : {1u, 2u, 3u, 7u, 64u}) {
    const auto parts = parseAll(in, step);
    ASSERT_EQ(parts.error, 0) << step;
    ASSERT_EQ(parts.requests.size(), 2u) << step;
    EXPECT_EQ(parts.requests[0].body, "hello");
    EXPECT_EQ(parts.requests[1].body, "abcde");
    EXPECT_EQ(parts.requests[1].path, whole.requests[1].path);
  }
}

TEST(RequestParser, PipelinedRequestsComeOutInOrder) {
  const auto o = parseAll("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\nGET /3 HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_EQ(o.requests.size(), 3u);
  EXPECT_EQ(o.requests[0].path, "/1");
  EXPECT_EQ(o.requests[1].path, "/2");
  EXPECT_EQ(o.requests[2].path, "/3");
}

TEST(RequestParser, ChunkedBodyIsDecodedAndTrailersDropped) {
  const auto o = parseAll(
      "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n"
      "A\r\n0123456789\r\n1;name=\"v\"\r\n!\r\n0\r\nX-Trailer: 1\r\n\r\n");
  ASSERT_EQ(o.error, 0);
  ASSERT_EQ(o.requests.size(), 1u);
  EXPECT_EQ(o.requests[0].body, "0123456789!");
  EXPECT_EQ(o.requests[0].header("x-trailer"), "");
}

TEST(RequestParser, ChunkedErrors) {
  const std::string head = "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  EXPECT_EQ(errorOf(head + "zz\r\n"), 400);                       // not hex
  EXPECT_EQ(errorOf(head + "3\r\nabcX\r\n"), 400);                // missing CRLF after data
  EXPECT_EQ(errorOf(head + "3\nabc\r\n"), 400);                   // bare LF
  EXPECT_EQ(errorOf(head + "FFFFFFFFFFFFFFFFFFFF\r\n"), 413);     // overflowing size
  ParserLimits small;
  small.maxBodyBytes = 8;
  EXPECT_EQ(errorOf(head + "5\r\nabcde\r\n5\r\nfghij\r\n0\r\n\r\n", small), 413);  // total over limit
  EXPECT_EQ(errorOf(head + "8\r\nabcdefgh\r\n0\r\n\r\n", small), 0);              // exactly the limit
  EXPECT_EQ(errorOf(head + std::string(2000, '1')), 400);         // endless size line
}

TEST(RequestParser, ContentLengthRules) {
  const std::string pre = "POST /x HTTP/1.1\r\nHost: h\r\n";
  EXPECT_EQ(errorOf(pre + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"), 400);
  EXPECT_EQ(errorOf(pre + "Content-Length: 3, 4\r\n\r\nabcd"), 400);
  EXPECT_EQ(errorOf(pre + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc"), 0);  // identical duplicates
  EXPECT_EQ(errorOf(pre + "Content-Length: +3\r\n\r\nabc"), 400);
  EXPECT_EQ(errorOf(pre + "Content-Length: 0x3\r\n\r\nabc"), 400);
  EXPECT_EQ(errorOf(pre + "Content-Length: -1\r\n\r\n"), 400);
  EXPECT_EQ(errorOf(pre + "Content-Length:\r\n\r\n"), 400);
  EXPECT_EQ(errorOf(pre + "Content-Length: 99999999999999999999999999\r\n\r\n"), 413);
  ParserLimits small;
  small.maxBodyBytes = 10;
  EXPECT_EQ(errorOf(pre + "Content-Length: 11\r\n\r\n", small), 413);  // refused before the body
  EXPECT_EQ(errorOf(pre + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
  EXPECT_EQ(errorOf(pre + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"), 400);
}

TEST(RequestParser, TransferCodings) {
  const std::string pre = "POST /x HTTP/1.1\r\nHost: h\r\n";
  EXPECT_EQ(errorOf(pre + "Transfer-Encoding: gzip, chunked\r\n\r\n"), 501);
  EXPECT_EQ(errorOf(pre + "Transfer-Encoding: identity\r\n\r\n"), 501);
  EXPECT_EQ(errorOf(pre + "Transfer-Encoding: chunked, chunked\r\n\r\n"), 400);
  EXPECT_EQ(errorOf(pre + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
  EXPECT_EQ(errorOf("POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400);
}

TEST(RequestParser, Versions) {
  EXPECT_EQ(errorOf("GET / HTTP/2.0\r\nHost: h\r\n\r\n"), 505);
  EXPECT_EQ(errorOf("GET / HTTP/1.2\r\nHost: h\r\n\r\n"), 505);
  EXPECT_EQ(errorOf("GET / HTTP/0.9\r\n\r\n"), 505);
  EXPECT_EQ(errorOf("GET / HTTP/3\r\n\r\n"), 505);
  EXPECT_EQ(errorOf("GET / http/1.1\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(errorOf("GET / HTTP/1.1x\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(errorOf("GET /\r\n\r\n"), 400);
  EXPECT_EQ(errorOf("GET  / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  const auto o = parseAll("GET / HTTP/1.0\r\n\r\n");
  ASSERT_EQ(o.requests.size(), 1u);  // no Host needed on 1.0
  EXPECT_EQ(o.requests[0].minorVersion, 0);
}

TEST(RequestParser, HeaderSyntax) {
  EXPECT_EQ(errorOf("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n"), 400);       // obs-fold
  static const char kNul[] = "GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n";
  EXPECT_EQ(errorOf(std::string(kNul, sizeof kNul - 1)), 400);                        // NUL
  EXPECT_EQ(errorOf("GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n"), 400);          // bare CR
  EXPECT_EQ(errorOf("GET / HTTP/1.1\r\nHost: h\r\nX : a\r\n\r\n"), 400);            // space before colon
  EXPECT_EQ(errorOf("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n"), 400);
  EXPECT_EQ(errorOf("GET / HTTP/1.1\nHost: h\n\n"), 400);                            // bare LF
  EXPECT_EQ(errorOf("GET / HTTP/1.1\r\n\r\n"), 400);                                  // no Host
  EXPECT_EQ(errorOf("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
  EXPECT_EQ(errorOf("GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n"), 400);                 // control in target
  EXPECT_EQ(errorOf("G(T / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);                      // method not a token
}

TEST(RequestParser, SizeLimits) {
  ParserLimits limits;
  limits.maxHeaderBytes = 64;
  // Without a terminator in sight: 431 as soon as the limit is passed, not at the end.
  RequestParser p(limits);
  p.feed("GET / HTTP/1.1\r\nHost: h\r\nX-Long: " + std::string(100, 'a'));
  Request r;
  EXPECT_EQ(p.parse(r), RequestParser::Status::Error);
  EXPECT_EQ(p.errorStatus(), 431);
  EXPECT_EQ(p.bufferCapacity(), std::string().capacity());  // the buffered head was released

  const std::string exact = "GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(64 - 32, 'a') + "\r\n\r\n";
  ASSERT_EQ(exact.size(), 64u);
  EXPECT_EQ(errorOf(exact, limits), 0);
  EXPECT_EQ(errorOf("GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(64 - 31, 'a') + "\r\n\r\n", limits), 431);

  ParserLimits few;
  few.maxHeaderCount = 3;
  EXPECT_EQ(errorOf("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n", few), 0);
  EXPECT_EQ(errorOf("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", few), 431);
}

TEST(RequestParser, ConnectionSemantics) {
  EXPECT_FALSE(parseAll("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").requests.at(0).keepAlive);
  EXPECT_TRUE(parseAll("GET / HTTP/1.1\r\nHost: h\r\nConnection: Keep-Alive\r\n\r\n").requests.at(0).keepAlive);
  EXPECT_FALSE(parseAll("GET / HTTP/1.0\r\n\r\n").requests.at(0).keepAlive);
  EXPECT_TRUE(parseAll("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").requests.at(0).keepAlive);
  EXPECT_FALSE(parseAll("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").requests.at(0).keepAlive);
}

TEST(RequestParser, ExpectContinue) {
  RequestParser p;
  p.feed("POST /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
  Request r;
  EXPECT_EQ(p.parse(r), RequestParser::Status::NeedMore);
  EXPECT_TRUE(p.inBody());
  EXPECT_TRUE(p.takeContinue());
  EXPECT_FALSE(p.takeContinue());  // once
  p.feed("abc");
  EXPECT_EQ(p.parse(r), RequestParser::Status::Complete);
  EXPECT_EQ(r.body, "abc");

  ParserLimits small;
  small.maxBodyBytes = 2;
  RequestParser q(small);
  q.feed("POST /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
  EXPECT_EQ(q.parse(r), RequestParser::Status::Error);
  EXPECT_EQ(q.errorStatus(), 413);
  EXPECT_FALSE(q.takeContinue());
}

TEST(RequestParser, TargetsAndLeadingBlankLines) {
  const auto o = parseAll("\r\n\r\nGET http://gw:80/a/b?q=1 HTTP/1.1\r\nHost: gw\r\n\r\nOPTIONS * HTTP/1.1\r\nHost: gw\r\n\r\n");
  ASSERT_EQ(o.error, 0);
  ASSERT_EQ(o.requests.size(), 2u);
  EXPECT_EQ(o.requests[0].target, "http://gw:80/a/b?q=1");
  EXPECT_EQ(o.requests[0].path, "/a/b");
  EXPECT_EQ(o.requests[0].query, "q=1");
  EXPECT_EQ(o.requests[1].path, "*");
  // Split CRLF before the request line decides the same way.
  EXPECT_EQ(parseAll("\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 1).requests.size(), 1u);
}

TEST(RequestParser, PartialStateForTimers) {
  RequestParser p;
  Request r;
  EXPECT_FALSE(p.hasPartial());
  p.feed("GET / HT");
  EXPECT_EQ(p.parse(r), RequestParser::Status::NeedMore);
  EXPECT_TRUE(p.hasPartial());
  EXPECT_FALSE(p.inBody());
  p.feed("TP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(p.parse(r), RequestParser::Status::Complete);
  EXPECT_FALSE(p.hasPartial());
  EXPECT_EQ(p.bufferCapacity(), std::string().capacity());  // released after the request
}

TEST(RequestParser, ErrorPathIsKnownAfterRequestLine) {
  RequestParser p;
  p.feed("GET /some/path HTTP/1.1\r\n\r\n");
  Request r;
  EXPECT_EQ(p.parse(r), RequestParser::Status::Error);
  EXPECT_EQ(p.partialRequest().path, "/some/path");
  EXPECT_EQ(p.errorMessage(), "missing Host header");
  p.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n");  // ignored after an error
  EXPECT_EQ(p.parse(r), RequestParser::Status::Error);
}

TEST(Message, PercentDecode) {
  EXPECT_EQ(percentDecode("a%20b%2Fc+d"), "a b/c+d");
  EXPECT_EQ(percentDecode("%41%61"), "Aa");
  EXPECT_FALSE(percentDecode("%4"));
  EXPECT_FALSE(percentDecode("%"));
  EXPECT_FALSE(percentDecode("%zz"));
  EXPECT_EQ(percentDecode(""), "");
}

TEST(Message, QueryParam) {
  EXPECT_EQ(queryParam("a=1&filter=%28x%3D1%29&b", "filter"), "(x=1)");
  EXPECT_EQ(queryParam("q=a+b%2Bc", "q"), "a b+c");
  EXPECT_EQ(queryParam("a=1&b", "b"), "");
  EXPECT_EQ(queryParam("a=1&a=2", "a"), "1");
  EXPECT_EQ(queryParam("my+key=v", "my key"), "v");
  EXPECT_FALSE(queryParam("a=1", "b"));
  EXPECT_FALSE(queryParam("a=%zz", "a"));
  EXPECT_FALSE(queryParam("", "a"));
}

TEST(Message, ReasonPhrase) {
  EXPECT_STREQ(reasonPhrase(200), "OK");
  EXPECT_STREQ(reasonPhrase(431), "Request Header Fields Too Large");
  EXPECT_STREQ(reasonPhrase(505), "HTTP Version Not Supported");
  EXPECT_STREQ(reasonPhrase(799), "Unknown");
}

}  // namespace
}  // namespace gatehouse::core::http
