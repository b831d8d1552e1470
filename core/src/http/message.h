#pragma once
// HTTP/1.1 message types shared by the request parser and the server, plus the small helpers
// handlers need (percent-decoding, query parameters, reason phrases).
//
// Threads: these are plain values and pure functions; any thread may use them. A Request or
// Response is not synchronised: hand it to one thread at a time.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::core::http {

struct Header {
  std::string name;
  std::string value;
};

struct Request {
  std::string method;    // "GET", "POST", ... (case-sensitive, as received)
  std::string target;    // raw request-target as received
  std::string path;      // target up to '?', NOT percent-decoded (absolute-form: the path part)
  std::string query;     // after '?', raw ("" if none)
  std::vector<Header> headers;  // names lower-cased, values with surrounding blanks trimmed
  std::string body;      // de-chunked if the client sent chunked
  std::string peer;      // "127.0.0.1:41234" ("[::1]:41234" for IPv6)
  int minorVersion = 1;  // 0 for HTTP/1.0, 1 for HTTP/1.1
  bool keepAlive = true; // whether the connection stays open after this request's response

  // First header with this (lower-case) name; "" when absent.
  std::string_view header(std::string_view lowerName) const;
};

struct Response {
  int status = 200;
  std::string contentType = "application/json";  // "" sends no Content-Type
  std::string body;
  // Extra headers (e.g. WWW-Authenticate, Allow). Content-Length, Transfer-Encoding, Date and
  // Server are the server's business and are ignored here; "Connection: close" is honoured.
  // Headers whose name is not a token or whose value holds CR, LF or NUL are dropped, so a
  // value derived from input can never split the response.
  std::vector<Header> headers;
};

// Decodes %XX escapes; nullopt on a '%' not followed by two hex digits. '+' is left alone.
std::optional<std::string> percentDecode(std::string_view in);

// Value of the first `name` parameter in an application/x-www-form-urlencoded query, decoded
// ('+' -> ' ', then %XX). A parameter without '=' has the value "". nullopt when absent or
// when that parameter's encoding is bad.
std::optional<std::string> queryParam(std::string_view query, std::string_view name);

// "OK", "Not Found", ...; "Unknown" for codes without a registered phrase.
const char* reasonPhrase(int status);

}  // namespace gatehouse::core::http
