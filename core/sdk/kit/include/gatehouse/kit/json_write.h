#pragma once
// JSON output helpers for hot paths (REST answers, SSE events, MQTT payloads, metrics): append to
// a caller's string, no intermediate tree. The kit's JSON reader (json.h) writes through these too.
//
// Threads: pure functions without shared state; any thread may call them concurrently.

#include <cstdint>
#include <string>
#include <string_view>

namespace gatehouse::kit::json {

// Appends `s` as a quoted JSON string, escaping quotes, backslashes and control characters.
// Invalid UTF-8 bytes are replaced by U+FFFD so the output is always valid JSON.
void appendString(std::string& out, std::string_view s);
void appendInt(std::string& out, std::int64_t v);
// Shortest representation that round-trips, with ".0" added to integral values so that typed
// clients read a double (29 -> 29.0); NaN and infinities become null (JSON has none).
void appendDouble(std::string& out, double v);
inline void appendBool(std::string& out, bool v) { out += v ? "true" : "false"; }

}  // namespace gatehouse::kit::json
