#include "gatehouse/bridge/mqtt/payload.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace gatehouse::bridge::mqtt {

namespace {

using kit::Json;

constexpr double kMaxExactDouble = 9007199254740992.0;  // 2^53

std::string shown(std::string_view text) { return kit::quoteForMessage(text, 40); }

std::string_view trimSpace(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

bool isIntegerLiteral(std::string_view lit) { return lit.find_first_of(".eE") == std::string_view::npos; }

// The number as an exact 64-bit integer, or why not.
Result<std::int64_t> exactInteger(const Json& v) {
  using R = Result<std::int64_t>;
  if (isIntegerLiteral(v.text)) {
    std::int64_t out = 0;
    const auto [ptr, ec] = std::from_chars(v.text.data(), v.text.data() + v.text.size(), out);
    if (ec != std::errc() || ptr != v.text.data() + v.text.size()) {
      return kit::badRequest("integer " + shown(v.text) + " does not fit in 64 bits");
    }
    return R(out);
  }
  if (std::floor(v.number) != v.number) return kit::badRequest("number " + shown(v.text) + " is not an integer");
  if (std::fabs(v.number) > kMaxExactDouble) {
    return kit::badRequest("number " + shown(v.text) + " is too large to be an exact integer (write it without '.' or exponent)");
  }
  return R(static_cast<std::int64_t>(v.number));
}

template <typename T>
kit::Error failFrom(const Result<T>& p) { return p.error(); }

}  // namespace

Result<PayloadFormat> parsePayloadFormat(std::string_view name) {
  using R = Result<PayloadFormat>;
  if (name == "json") return R(PayloadFormat::Json);
  if (name == "text") return R(PayloadFormat::Text);
  if (name == "number") return R(PayloadFormat::Number);
  if (name == "boolean") return R(PayloadFormat::Boolean);
  if (name == "hex") return R(PayloadFormat::Hex);
  if (name == "base64") return R(PayloadFormat::Base64);
  return kit::badRequest("must be one of json, text, number, boolean, hex, base64; found " + shown(name));
}

std::string_view toString(PayloadFormat format) {
  switch (format) {
    case PayloadFormat::Json: return "json";
    case PayloadFormat::Text: return "text";
    case PayloadFormat::Number: return "number";
    case PayloadFormat::Boolean: return "boolean";
    case PayloadFormat::Hex: return "hex";
    case PayloadFormat::Base64: return "base64";
  }
  return "?";
}

Result<TimestampFormat> parseTimestampFormat(std::string_view name) {
  using R = Result<TimestampFormat>;
  if (name == "seconds") return R(TimestampFormat::Seconds);
  if (name == "millis") return R(TimestampFormat::Millis);
  if (name == "iso8601") return R(TimestampFormat::Iso8601);
  return kit::badRequest("must be one of seconds, millis, iso8601; found " + shown(name));
}

Result<bool> parseBooleanText(std::string_view text) {
  const std::string_view t = trimSpace(text);
  std::string lower;
  if (t.size() <= 5) {
    for (const char c : t) lower += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  if (lower == "true" || lower == "1" || lower == "on") return Result<bool>(true);
  if (lower == "false" || lower == "0" || lower == "off") return Result<bool>(false);
  return kit::badRequest("expected a boolean (true/false, 1/0, on/off), found " + shown(text));
}

Result<Json> parseNumberText(std::string_view text) {
  const std::string_view t = trimSpace(text);
  const bool looksNumeric = !t.empty() && (t[0] == '-' || (t[0] >= '0' && t[0] <= '9'));
  if (looksNumeric) {
    auto parsed = kit::parseJson(t, kit::JsonLimits{kMaxPayloadBytes, 1});
    if (parsed && parsed->isNumber()) return parsed;
  }
  return kit::badRequest("expected a number, found " + shown(text));
}

Result<std::int64_t> timestampFromJson(const Json& value, TimestampFormat format) {
  if (format == TimestampFormat::Iso8601) {
    if (!value.isString()) {
      return kit::badRequest("an ISO-8601 timestamp must be a string, found a " + std::string(kit::kindName(value.kind)));
    }
    return kit::parseIso8601(value.text);
  }
  const Json* number = &value;
  Result<Json> fromString = Json{};
  if (value.isString()) {
    fromString = parseNumberText(value.text);
    if (!fromString) return kit::badRequest("timestamp: " + fromString.message());
    number = &*fromString;
  } else if (!value.isNumber()) {
    return kit::badRequest("a timestamp in " + std::string(format == TimestampFormat::Seconds ? "seconds" : "millis") +
                   " must be a number, found a " + std::string(kit::kindName(value.kind)));
  }
  if (format == TimestampFormat::Millis) {
    auto ms = exactInteger(*number);
    if (!ms) return kit::badRequest("timestamp in millis: " + ms.message());
    return kit::checkEpochMillis(*ms, number->text);
  }
  if (isIntegerLiteral(number->text)) {
    auto secs = exactInteger(*number);
    if (!secs) return kit::badRequest("timestamp in seconds: " + secs.message());
    // Range-checked before multiplying (found by fuzz_mqtt_payload: 1000 * a far-out value overflows).
    return kit::epochMillisFromSeconds(*secs, number->text);
  }
  // Fractional seconds go to the nearest ms (kit::epochMillisFromSeconds truncates, which turns
  // 1700000000.123, not exact in binary, into ...122).
  const double secs = number->number;
  if (secs < 0) return kit::badRequest("timestamp " + shown(number->text) + " is before 1970");
  if (secs * 1000.0 > static_cast<double>(kit::kMaxEpochMs)) {
    return kit::badRequest("timestamp " + shown(number->text) + " is after the year 9999");
  }
  return kit::checkEpochMillis(std::llround(secs * 1000.0), number->text);
}

Result<sdk::Value> valueFromJson(const Json& value, sdk::ValueType type) {
  using R = Result<sdk::Value>;
  using T = sdk::ValueType;
  const auto mismatch = [&] {
    return kit::badRequest("expected a value for type " + std::string(sdk::toString(type)) + ", found a JSON " +
                   std::string(kit::kindName(value.kind)));
  };
  switch (type) {
    case T::Double:
      if (value.kind != Json::Kind::Number) return mismatch();
      return R(sdk::Value::ofDouble(value.number));
    case T::Int:
    case T::Long: {
      if (value.kind != Json::Kind::Number) return mismatch();
      auto n = exactInteger(value);
      if (!n) return failFrom(n);
      if (type == T::Long) return R(sdk::Value::ofLong(*n));
      if (*n < std::numeric_limits<std::int32_t>::min() || *n > std::numeric_limits<std::int32_t>::max()) {
        return kit::badRequest("integer " + shown(value.text) + " does not fit in type int (32 bits); declare type long");
      }
      return R(sdk::Value::ofInt(static_cast<std::int32_t>(*n)));
    }
    case T::Boolean:
      if (value.kind != Json::Kind::Boolean) return mismatch();
      return R(sdk::Value::ofBool(value.boolean));
    case T::String:
      if (value.kind == Json::Kind::String) return R(sdk::Value::ofString(value.text));
      if (value.kind == Json::Kind::Number || value.kind == Json::Kind::Boolean) {
        return R(sdk::Value::ofString(kit::toJsonText(value)));
      }
      return mismatch();
    case T::Json: return R(sdk::Value::ofJson(kit::toJsonText(value)));
    case T::Bytes: {
      if (value.kind != Json::Kind::String) return mismatch();
      auto bytes = kit::base64Decode(value.text);
      if (!bytes) return failFrom(bytes);
      return R(sdk::Value::ofBytes(std::move(*bytes)));
    }
  }
  return kit::badRequest("unknown value type");
}

Result<sdk::Value> valueFromPayload(std::string_view payload, PayloadFormat format, sdk::ValueType type) {
  using R = Result<sdk::Value>;
  using T = sdk::ValueType;
  if (payload.size() > kMaxPayloadBytes) {
    return kit::badRequest("payload of " + std::to_string(payload.size()) + " bytes is larger than the limit of " +
                   std::to_string(kMaxPayloadBytes) + " bytes");
  }
  const auto typeError = [&](std::string_view allowed) {
    return kit::badRequest("format " + std::string(toString(format)) + " cannot give type " + std::string(sdk::toString(type)) +
                   " (allowed: " + std::string(allowed) + ")");
  };
  const auto fromBytes = [&](Result<std::string> bytes) -> R {
    if (!bytes) return failFrom(bytes);
    if (type == T::Bytes) return R(sdk::Value::ofBytes(std::move(*bytes)));
    if (type == T::String) {
      if (!kit::isValidUtf8(*bytes)) return kit::badRequest("the decoded bytes are not UTF-8 text; declare type bytes");
      return R(sdk::Value::ofString(std::move(*bytes)));
    }
    return typeError("bytes, string");
  };
  switch (format) {
    case PayloadFormat::Json: {
      auto doc = kit::parseJson(payload, kPayloadJsonLimits);
      if (!doc) return failFrom(doc);
      return valueFromJson(*doc, type);
    }
    case PayloadFormat::Number: {
      if (type != T::Double && type != T::Int && type != T::Long && type != T::String) return typeError("double, int, long, string");
      auto n = parseNumberText(payload);
      if (!n) return failFrom(n);
      return valueFromJson(*n, type);
    }
    case PayloadFormat::Boolean: {
      if (type != T::Boolean && type != T::String) return typeError("boolean, string");
      auto b = parseBooleanText(payload);
      if (!b) return failFrom(b);
      if (type == T::String) return R(sdk::Value::ofString(*b ? "true" : "false"));
      return R(sdk::Value::ofBool(*b));
    }
    case PayloadFormat::Hex: return fromBytes(kit::hexDecode(payload));
    case PayloadFormat::Base64: return fromBytes(kit::base64Decode(payload));
    case PayloadFormat::Text:
      switch (type) {
        case T::Bytes: return R(sdk::Value::ofBytes(std::string(payload)));
        case T::String:
          if (!kit::isValidUtf8(payload)) return kit::badRequest("the payload is not UTF-8 text; declare type bytes");
          return R(sdk::Value::ofString(std::string(payload)));
        case T::Boolean: {
          auto b = parseBooleanText(payload);
          if (!b) return failFrom(b);
          return R(sdk::Value::ofBool(*b));
        }
        case T::Json: {
          auto doc = kit::parseJson(payload, kPayloadJsonLimits);
          if (!doc) return failFrom(doc);
          return R(sdk::Value::ofJson(kit::toJsonText(*doc)));
        }
        default: {
          auto n = parseNumberText(payload);
          if (!n) return failFrom(n);
          return valueFromJson(*n, type);
        }
      }
  }
  return kit::badRequest("unknown payload format");
}

}  // namespace gatehouse::bridge::mqtt
