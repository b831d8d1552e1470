#pragma once
// Serialises responses to HTTP/1.1 wire bytes. Internal to gatehouse_http (the server and its
// tests use it); pure functions, any thread.

#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"

namespace gatehouse::core::http::detail {

struct WireOptions {
  bool head = false;              // HEAD request: headers as for GET, no body
  bool keepAlive = true;          // the request allows the connection to stay open
  bool http10 = false;            // HTTP/1.0 keep-alive must be confirmed explicitly
};

struct WireResponse {
  std::string bytes;
  int status = 500;
  bool close = false;             // the connection must close after these bytes
};

// A complete response with Content-Length (except 204/304, which carry neither length nor body).
// An invalid status (not 200..999) becomes a 500.
WireResponse serializeResponse(const Response& response, const WireOptions& options);

// The head of a stream response: no Content-Length, Cache-Control: no-cache, Connection: close.
std::string serializeStreamHead(int status, std::string_view contentType,
                                const std::vector<Header>& headers);

// `{"type":"ERROR","uri":"<path>","statusCode":N,"error":"<message>"}`, JSON-escaped.
std::string errorBody(int status, std::string_view path, std::string_view message);

// An error the server produces itself (400/408/413/431/500/501/503/505), always with
// "Connection: close" unless keepAlive is set.
WireResponse serializeError(int status, std::string_view path, std::string_view message,
                            bool keepAlive = false, bool head = false);

}  // namespace gatehouse::core::http::detail
