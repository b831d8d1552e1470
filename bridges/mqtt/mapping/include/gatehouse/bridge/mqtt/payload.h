#pragma once
// Payload extraction for the MQTT bridge: pure functions over untrusted device bytes (fuzzed by
// tests/fuzz/mqtt_payload). Each returns Result<T> with a message fit for a per-mapping error
// counter and a rate-limited log line; none throws, none reads beyond its input, and the work is
// bounded by the input size (payloads are capped at kMaxPayloadBytes).
//
// Conversions never lose information: an int must fit in 32 bits, a long must be an integer
// literal in 64 bits or an integral double of magnitude <= 2^53, a double must be finite.
//
// Threads: free functions without shared state; any thread may call them concurrently.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "gatehouse/sdk/value.h"
#include "gatehouse/bridge/mqtt/json.h"
#include "gatehouse/kit/result.h"

namespace gatehouse::bridge::mqtt {

using kit::Result;

inline constexpr std::size_t kMaxPayloadBytes = 256 * 1024;

enum class PayloadFormat { Json, Text, Number, Boolean, Hex, Base64 };
enum class TimestampFormat { Seconds, Millis, Iso8601 };

// Names as written in the mapping file ("json", "text", ...; "double", "int", ...; "seconds",
// "millis", "iso8601"). Errors list the valid names.
Result<PayloadFormat> parsePayloadFormat(std::string_view name);
std::string_view toString(PayloadFormat format);
Result<sdk::ValueType> parseValueType(std::string_view name);
Result<TimestampFormat> parseTimestampFormat(std::string_view name);

// Length of the valid UTF-8 sequence at the start of `text` (1..4), 0 if it is not one
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
std::size_t validUtf8Sequence(std::string_view text);
bool isValidUtf8(std::string_view text);

// Hex text: even length, case-insensitive, optional "0x"/"0X" prefix, nothing else (no spaces).
Result<std::string> decodeHex(std::string_view text);
// Standard base64 (RFC 4648 section 4), strict: length a multiple of 4, '=' padding only at the
// end, unused bits zero (so each byte string has exactly one accepted encoding), no whitespace.
Result<std::string> decodeBase64(std::string_view text);
std::string encodeBase64(std::string_view bytes);

// "true"/"false"/"1"/"0"/"on"/"off", case-insensitive, surrounding ASCII whitespace ignored.
Result<bool> parseBooleanText(std::string_view text);
// A JSON number literal, surrounding ASCII whitespace ignored; the result is a Number JsonValue.
Result<JsonValue> parseNumberText(std::string_view text);

// YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|-HH:MM) -> ms since the Unix epoch (fraction truncated
// to ms). Calendar-checked (month lengths, leap years); seconds 0..59; refused before 1970 or
// after year 9999.
Result<std::int64_t> parseIso8601(std::string_view text);
// A timestamp taken from a JSON value: Seconds = number (integer or fractional) or a string
// holding one; Millis = integral number or a string holding one; Iso8601 = string. Same range.
Result<std::int64_t> timestampFromJson(const JsonValue& value, TimestampFormat format);

// The JSON value as the declared type: double/int/long from numbers; boolean from true/false;
// string from a string (or a number/boolean, as written); json = the compact JSON text of
// anything; bytes from a base64 string. Anything else is an error naming both types.
Result<sdk::Value> valueFromJson(const JsonValue& value, sdk::ValueType type);

// A whole payload in a non-JSON format (Json is accepted too: the whole document) as the declared
// type. Text: the payload as the type (string/bytes as is, numbers and booleans parsed, json
// parsed); Number/Boolean: the payload must be one; Hex/Base64: decoded bytes, for type bytes
// (or string when the bytes are UTF-8).
Result<sdk::Value> valueFromPayload(std::string_view payload, PayloadFormat format, sdk::ValueType type);

}  // namespace gatehouse::bridge::mqtt
