#include "gatehouse/oauth2/path.h"

#include "gatehouse/kit/codec.h"

#include <cstdint>

#include "gatehouse/kit/codec.h"

namespace gatehouse::oauth2 {

namespace {

bool isControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

PathResult fail(std::string message) {
  PathResult r;
  r.error = std::move(message);
  return r;
}

std::string segmentNumber(std::size_t n) { return "path segment " + std::to_string(n); }

}  // namespace

PathResult canonicalisePath(std::string_view raw) {
  if (raw.empty() || raw.front() != '/') {
    return fail("the request path must start with '/' (origin form, without scheme and host)");
  }
  if (raw.size() > kMaxPathBytes) {
    return fail("the request path is " + std::to_string(raw.size()) + " bytes; the limit is " +
                std::to_string(kMaxPathBytes));
  }
  CanonicalPath out;
  std::size_t nonEmpty = 0;
  std::size_t pos = 1;
  while (pos <= raw.size()) {
    auto end = raw.find('/', pos);
    if (end == std::string_view::npos) end = raw.size();
    std::string_view seg = raw.substr(pos, end - pos);
    pos = end + 1;
    if (seg.empty()) continue;  // duplicate or trailing '/'
    ++nonEmpty;
    if (nonEmpty > kMaxPathSegments) {
      return fail("the request path has more than " + std::to_string(kMaxPathSegments) + " segments");
    }
    const std::string where = segmentNumber(nonEmpty);
    for (char ch : seg) {
      auto c = static_cast<unsigned char>(ch);
      if (isControl(c)) return fail(where + " contains a control character");
      if (ch == '?' || ch == '#') {
        return fail(where + " contains a raw '" + std::string(1, ch) +
                    "'; the query must be removed before canonicalisation and fragments are never sent");
      }
      if (ch == '\\') return fail(where + " contains a backslash, which is not a path separator here");
    }
    // Matrix parameters (";jsessionid=...") are not part of the name.
    if (auto semi = seg.find(';'); semi != std::string_view::npos) {
      seg = seg.substr(0, semi);
      if (seg.empty()) return fail(where + " holds only ';' parameters and no name");
      if (seg == "." || seg == "..") {
        return fail(where + " is a dot segment with ';' parameters, which servers resolve differently");
      }
    }
    if (seg == ".") continue;
    if (seg == "..") {
      if (out.segments.empty()) return fail(where + " is '..' above the root of the path");
      out.segments.pop_back();
      continue;
    }
    std::string decoded;
    decoded.reserve(seg.size());
    for (std::size_t i = 0; i < seg.size(); ++i) {
      if (seg[i] != '%') {
        decoded.push_back(seg[i]);
        continue;
      }
      const bool twoFollow = i + 2 < seg.size();
      const int hi = twoFollow ? kit::hexDigitValue(seg[i + 1]) : -1;
      const int lo = twoFollow ? kit::hexDigitValue(seg[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return fail(where + " has a '%' that is not followed by two hexadecimal digits");
      }
      auto c = static_cast<unsigned char>(hi * 16 + lo);
      if (c == 0) return fail(where + " contains an encoded NUL (%00)");
      if (isControl(c)) return fail(where + " contains an encoded control character");
      if (c == '\\') return fail(where + " contains an encoded backslash (%5C)");
      decoded.push_back(static_cast<char>(c));
      i += 2;
    }
    if (decoded == "." || decoded == "..") {
      return fail(where + " is an encoded dot segment (like %2e%2e); it is refused, not resolved");
    }
    if (!kit::isValidUtf8(decoded)) return fail(where + " is not valid UTF-8 after percent-decoding");
    out.segments.push_back(std::move(decoded));
  }
  PathResult r;
  r.ok = std::move(out);
  return r;
}


std::string toString(const CanonicalPath& path) {
  if (path.segments.empty()) return "/";
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const auto& seg : path.segments) {
    out.push_back('/');
    for (char ch : seg) {
      auto c = static_cast<unsigned char>(ch);
      if (ch == '%' || ch == '/' || ch == ';' || ch == '?' || ch == '#' || ch == '\\' || isControl(c)) {
        out.push_back('%');
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0x0f]);
      } else {
        out.push_back(ch);
      }
    }
  }
  return out;
}

}  // namespace gatehouse::oauth2
