#pragma once
// Minimal, allocation-friendly JSON output helpers for hot paths (REST GET, SSE events, metrics).
// Parsing untrusted JSON is done elsewhere (Poco::JSON with limits); this only writes.

#include <cstdint>
#include <string>
#include <string_view>

namespace gatehouse::core::json {

// Appends `s` as a quoted JSON string, escaping quotes, backslashes and control characters.
// Invalid UTF-8 bytes are replaced by U+FFFD so the output is always valid JSON.
void appendString(std::string& out, std::string_view s);
void appendInt(std::string& out, std::int64_t v);
// Shortest representation that round-trips; NaN and infinities become null (JSON has none).
void appendDouble(std::string& out, double v);
inline void appendBool(std::string& out, bool v) { out += v ? "true" : "false"; }

// Standard base64 (RFC 4648 section 4) with padding.
std::string base64Encode(std::string_view bytes);

}  // namespace gatehouse::core::json
