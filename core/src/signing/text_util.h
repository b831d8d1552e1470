#pragma once
// Small text checks shared by the signing library's parsers (internal to core/src/signing).
//
// Threads: pure functions; any thread.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gatehouse::core::signing::detail {

inline bool isAsciiDigit(char c) { return c >= '0' && c <= '9'; }

// True when `s` is exactly `length` characters of [0-9a-f].
bool isLowerHex(std::string_view s, std::size_t length);

// Decimal digits without leading zeros (except "0"), at most `maxDigits` digits, no overflow.
std::optional<std::uint64_t> parseDecimal(std::string_view s, std::size_t maxDigits);

// Plugin names: [a-z0-9_-]{1,64}. They end up in file names, logs and the version store.
bool isValidPluginName(std::string_view name);

// `s` in double quotes for an error message: bytes outside printable ASCII become \xNN, and
// text beyond `maxChars` is cut with "...", so hostile input cannot forge log lines.
std::string quoted(std::string_view s, std::size_t maxChars = 80);

}  // namespace gatehouse::core::signing::detail
