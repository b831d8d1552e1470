#pragma once
// Canonical form of a REST request path, computed before authorization rules are matched, so that
// spellings like "/x/../admin", "//admin", "%61dmin" or "admin;x" reach the same decision as the
// plain path or are refused (SECURITY-CHECKLIST A15).
// Threads: every function here is pure; any thread may call any of them concurrently.
//
// The REST layer must route on the same segments it authorized (CanonicalPath::segments), not on
// its own split of the raw path; otherwise the rules judge one path and the handler serves another.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::oauth2 {

// Limits that keep canonicalisation cheap and bounded for any input.
inline constexpr std::size_t kMaxPathBytes = 4096;
inline constexpr std::size_t kMaxPathSegments = 64;

// Decoded path segments: never empty, never "." or "..", valid UTF-8 without control characters.
// A segment may contain '/' (from %2F); no authorization rule ever matches such a name.
struct CanonicalPath {
  std::vector<std::string> segments;
  bool operator==(const CanonicalPath&) const = default;
};

// Exactly one of the two is set: `ok` on success, otherwise `error` (non-empty, says what to fix).
struct PathResult {
  std::optional<CanonicalPath> ok;
  std::string error;
};

// Canonicalises a request target's path (the caller has already removed "?query"). Rules, applied
// per raw segment (between '/'):
//  - the path must start with '/', be at most kMaxPathBytes long and hold at most kMaxPathSegments
//    non-empty segments (counting "." and "..");
//  - a ";param" suffix is dropped; a segment that is only parameters (";x") or whose remainder is a
//    dot segment ("..;x", ".;x") is refused, because servers disagree on what those mean;
//  - empty segments (duplicate or trailing '/') and "." are removed; ".." removes the previous
//    segment and is an error above the root;
//  - each segment is percent-decoded exactly once; a bad escape, a decoded NUL or other control
//    character, a backslash (raw or decoded), invalid UTF-8, raw '?' or '#' is an error; a segment
//    that only decodes to "." or ".." (e.g. "%2e%2e") is an error, never resolved;
//  - case is kept: names are case-sensitive.
PathResult canonicalisePath(std::string_view rawPath);

// "/a/b" ("/" for no segments). Characters that would change the meaning of the text when
// canonicalised again ('%', '/', ';', '?', '#') are percent-encoded, so
// canonicalisePath(toString(p)).ok == p for every canonical p.
std::string toString(const CanonicalPath& path);

}  // namespace gatehouse::oauth2
