#include "http/response_writer.h"

#include <charconv>
#include <cstdio>
#include <ctime>

#include "common/json_writer.h"
#include "http/token.h"

namespace gatehouse::core::http::detail {

namespace {

// IMF-fixdate, formatted by hand (strftime follows the locale) and cached per thread per second.
std::string_view httpDate() {
  thread_local std::time_t cachedSecond = 0;
  thread_local char cached[32] = {};
  thread_local std::size_t cachedLen = 0;
  const std::time_t now = std::time(nullptr);
  if (now != cachedSecond || cachedLen == 0) {
    static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::tm tm{};
    gmtime_r(&now, &tm);
    const int n = std::snprintf(cached, sizeof cached, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                                kDays[tm.tm_wday % 7], tm.tm_mday, kMonths[tm.tm_mon % 12],
                                tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    cachedLen = n > 0 ? static_cast<std::size_t>(n) : 0;
    cachedSecond = now;
  }
  return std::string_view(cached, cachedLen);
}

bool safeHeader(const Header& h) {
  if (!isToken(h.name)) return false;
  for (unsigned char c : h.value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

// Headers the server owns; a handler cannot set them (framing must stay consistent).
bool reservedHeader(std::string_view name) {
  return equalsNoCase(name, "content-length") || equalsNoCase(name, "transfer-encoding") ||
         equalsNoCase(name, "connection") || equalsNoCase(name, "server") ||
         equalsNoCase(name, "date");
}

bool asksToClose(const std::vector<Header>& headers) {
  for (const auto& h : headers) {
    if (equalsNoCase(h.name, "connection") && h.value.find("close") != std::string::npos) return true;
  }
  return false;
}

void appendNumber(std::string& out, std::size_t v) {
  char buf[24];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

void appendStatusLine(std::string& out, int status) {
  out += "HTTP/1.1 ";
  appendNumber(out, static_cast<std::size_t>(status));
  out += ' ';
  out += reasonPhrase(status);
  out += "\r\nServer: gatehouse\r\nDate: ";
  out += httpDate();
  out += "\r\n";
}

void appendHeader(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

void appendExtraHeaders(std::string& out, const std::vector<Header>& headers) {
  for (const auto& h : headers) {
    if (!safeHeader(h) || reservedHeader(h.name)) continue;
    appendHeader(out, h.name, h.value);
  }
}

}  // namespace

WireResponse serializeResponse(const Response& response, const WireOptions& options) {
  if (response.status < 200 || response.status > 999) {
    return serializeError(500, "", "handler produced an invalid status", options.keepAlive, options.head);
  }
  bool contentTypeOk = true;
  for (unsigned char c : response.contentType) {
    if (c == '\r' || c == '\n' || c == '\0') contentTypeOk = false;
  }
  WireResponse wire;
  wire.status = response.status;
  wire.close = !options.keepAlive || asksToClose(response.headers);
  // 204 and 304 never carry a body (RFC 9110 15.3.5, 15.4.5); 204 must not have Content-Length.
  const bool bodyless = response.status == 204 || response.status == 304;
  const bool sendBody = !bodyless && !options.head;

  std::string& out = wire.bytes;
  out.reserve(160 + response.contentType.size() + (sendBody ? response.body.size() : 0));
  appendStatusLine(out, response.status);
  if (!response.contentType.empty() && contentTypeOk) appendHeader(out, "Content-Type", response.contentType);
  if (!bodyless) {
    out += "Content-Length: ";
    appendNumber(out, response.body.size());
    out += "\r\n";
  }
  if (wire.close) {
    out += "Connection: close\r\n";
  } else if (options.http10) {
    out += "Connection: keep-alive\r\n";
  }
  appendExtraHeaders(out, response.headers);
  out += "\r\n";
  if (sendBody) out += response.body;
  return wire;
}

std::string serializeStreamHead(int status, std::string_view contentType,
                                const std::vector<Header>& headers) {
  if (status < 200 || status > 999) status = 500;
  std::string out;
  out.reserve(192);
  appendStatusLine(out, status);
  bool contentTypeOk = !contentType.empty();
  for (unsigned char c : contentType) {
    if (c == '\r' || c == '\n' || c == '\0') contentTypeOk = false;
  }
  if (contentTypeOk) appendHeader(out, "Content-Type", contentType);
  bool haveCacheControl = false;
  for (const auto& h : headers) {
    if (equalsNoCase(h.name, "cache-control")) haveCacheControl = true;
  }
  if (!haveCacheControl) out += "Cache-Control: no-cache\r\n";
  out += "Connection: close\r\n";
  appendExtraHeaders(out, headers);
  out += "\r\n";
  return out;
}

std::string errorBody(int status, std::string_view path, std::string_view message) {
  std::string body = "{\"type\":\"ERROR\",\"uri\":";
  json::appendString(body, path);
  body += ",\"statusCode\":";
  json::appendInt(body, status);
  body += ",\"error\":";
  json::appendString(body, message);
  body += '}';
  return body;
}

WireResponse serializeError(int status, std::string_view path, std::string_view message,
                            bool keepAlive, bool head) {
  Response r;
  r.status = status;
  r.body = errorBody(status, path, message);
  WireOptions o;
  o.keepAlive = keepAlive;
  o.head = head;
  return serializeResponse(r, o);
}

}  // namespace gatehouse::core::http::detail
