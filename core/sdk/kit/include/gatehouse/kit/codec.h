#pragma once
// The kit's codecs: base64 (RFC 4648 section 4, padded), base64url (section 5, unpadded, as JOSE
// uses it), hex, UTF-8 validation, timestamps (seconds, milliseconds, ISO-8601) and the one
// identifier rule of the model. Strict everywhere: each byte string has exactly one accepted
// encoding (no whitespace, no mixed alphabets, unused bits zero), so two readers of the same text
// never disagree and odd input fails early with a message that says where.
//
// Threads: pure functions without shared state; any thread may call them concurrently.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gatehouse/kit/result.h"
#include "gatehouse/sdk/value.h"

namespace gatehouse::kit {

// --- base64 / base64url -------------------------------------------------------------------------
std::string base64Encode(std::string_view bytes);      // standard alphabet, '=' padding
// Strict: length a multiple of 4, '=' only as the last one or two characters, unused bits zero.
Result<std::string> base64Decode(std::string_view text);
std::string base64UrlEncode(std::string_view bytes);   // '-' '_' alphabet, no padding
// Strict: only the canonical unpadded form ('=', '+', '/' and whitespace refused, length % 4 != 1,
// unused bits zero). Empty input decodes to "".
Result<std::string> base64UrlDecode(std::string_view text);
// The same decoder writing into caller memory (no allocation, for hot paths): the number of bytes
// written, or nullopt when `text` is not canonical base64url or would not fit in `capacity`.
// The decoded size is at most text.size() / 4 * 3 + 2.
std::optional<std::size_t> base64UrlDecodeInto(std::string_view text, unsigned char* out, std::size_t capacity);

// --- hex ------------------------------------------------------------------------------------------
std::string hexEncode(std::string_view bytes);         // lowercase, no prefix
// 0..15 for '0'-'9', 'a'-'f', 'A'-'F'; -1 for anything else (percent-decoding uses it too).
int hexDigitValue(char c) noexcept;
// Even number of digits, case-insensitive, an optional "0x"/"0X" prefix, nothing else (no spaces).
Result<std::string> hexDecode(std::string_view text);

// --- UTF-8 ------------------------------------------------------------------------------------------
// Length of the valid UTF-8 sequence at the start of `text` (1..4), 0 if it is not one (overlong
// forms, surrogates and code points above U+10FFFF are invalid).
std::size_t validUtf8Sequence(std::string_view text) noexcept;
bool isValidUtf8(std::string_view text) noexcept;

// --- timestamps (milliseconds since the Unix epoch) --------------------------------------------------
inline constexpr std::int64_t kMaxEpochMs = 253402300799999;   // 9999-12-31T23:59:59.999Z
std::int64_t nowMillis() noexcept;
// ms in [0, kMaxEpochMs], else a BadRequest naming `what` ("timestamp 123 is before 1970").
Result<std::int64_t> checkEpochMillis(std::int64_t ms, std::string_view what);
// Whole seconds or fractional seconds (truncated to ms) to ms, range-checked as above; refuses
// non-finite values and values whose product would overflow.
Result<std::int64_t> epochMillisFromSeconds(double seconds, std::string_view what);
Result<std::int64_t> epochMillisFromSeconds(std::int64_t seconds, std::string_view what);
// YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|-HH:MM) -> ms (fraction truncated to ms). Calendar-checked
// (month lengths, leap years), seconds 0..59, refused before 1970 or after year 9999.
Result<std::int64_t> parseIso8601(std::string_view text);
// ms -> "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC). `ms` must be in [0, kMaxEpochMs] (clamped otherwise).
std::string formatIso8601(std::int64_t ms);
// A timestamp as given to an API: digits only = ms since the epoch, otherwise ISO-8601.
Result<std::int64_t> parseMillisOrIso8601(std::string_view text);

// --- identifiers ----------------------------------------------------------------------------------
// The model's identifier rule for providers, services, resources and metadata keys:
// [A-Za-z0-9_.:-]{1,128}, and not "." nor anything containing ".." (a name must never act as a
// path step in a topic, a URL or a file name).
bool isValidIdentifier(std::string_view name) noexcept;
// OK, or a BadRequest: "<what> name \"x\" is invalid: use 1 to 128 characters from A-Z a-z 0-9 _ . : -
// (not '.' or '..')".
Result<void> checkIdentifier(std::string_view what, std::string_view name);

// --- value types ----------------------------------------------------------------------------------
// A value type as written in a plugin's files ("double", "int", "long", "boolean", "string", "json",
// "bytes": sdk::toString's names). BadRequest "must be one of ...; found \"x\"" otherwise.
Result<sdk::ValueType> parseValueType(std::string_view name);

// --- messages ---------------------------------------------------------------------------------------
// Quotes text taken from input for an error message: JSON-style escaping (so a newline cannot forge
// a second log line) and at most `max` bytes of the input ("..." after a cut).
std::string quoteForMessage(std::string_view text, std::size_t max = 64);

}  // namespace gatehouse::kit
