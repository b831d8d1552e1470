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

#include "gatehouse/kit/codec.h"
#include "gatehouse/kit/json.h"
#include "gatehouse/kit/result.h"
#include "gatehouse/sdk/value.h"

namespace gatehouse::bridge::mqtt {

using kit::Result;

inline constexpr std::size_t kMaxPayloadBytes = 256 * 1024;

enum class PayloadFormat { Json, Text, Number, Boolean, Hex, Base64 };
enum class TimestampFormat { Seconds, Millis, Iso8601 };

// Names as written in the mapping file ("json", "text", ...; "double", "int", ...; "seconds",
// "millis", "iso8601"). Errors list the valid names.
Result<PayloadFormat> parsePayloadFormat(std::string_view name);
std::string_view toString(PayloadFormat format);
using kit::parseValueType;   // "double", "int", ... (the kit's, shared with the other bridges)
Result<TimestampFormat> parseTimestampFormat(std::string_view name);

// Hex, base64, UTF-8 and ISO-8601 are the kit's codecs (kit/codec.h: kit::hexDecode,
// kit::base64Decode, kit::isValidUtf8, kit::parseIso8601, ...), JSON is the kit's reader
// (kit/json.h): payloads are parsed with kPayloadJsonLimits.
inline constexpr kit::JsonLimits kPayloadJsonLimits{kMaxPayloadBytes, 32};

// "true"/"false"/"1"/"0"/"on"/"off", case-insensitive, surrounding ASCII whitespace ignored.
Result<bool> parseBooleanText(std::string_view text);
// A JSON number literal, surrounding ASCII whitespace ignored; the result is a Number.
Result<kit::Json> parseNumberText(std::string_view text);

// A timestamp taken from a JSON value: Seconds = number (integer or fractional, rounded to the
// nearest ms) or a string holding one; Millis = integral number or a string holding one;
// Iso8601 = string (kit::parseIso8601). Refused before 1970 or after the year 9999.
Result<std::int64_t> timestampFromJson(const kit::Json& value, TimestampFormat format);

// The JSON value as the declared type: double/int/long from numbers; boolean from true/false;
// string from a string (or a number/boolean, as written); json = the compact JSON text of
// anything; bytes from a base64 string. Anything else is an error naming both types.
Result<sdk::Value> valueFromJson(const kit::Json& value, sdk::ValueType type);

// A whole payload in a non-JSON format (Json is accepted too: the whole document) as the declared
// type. Text: the payload as the type (string/bytes as is, numbers and booleans parsed, json
// parsed); Number/Boolean: the payload must be one; Hex/Base64: decoded bytes, for type bytes
// (or string when the bytes are UTF-8).
Result<sdk::Value> valueFromPayload(std::string_view payload, PayloadFormat format, sdk::ValueType type);

}  // namespace gatehouse::bridge::mqtt
