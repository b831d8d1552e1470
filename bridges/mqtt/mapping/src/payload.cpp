#include "gatehouse/bridge/mqtt/payload.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace gatehouse::bridge::mqtt {

namespace {

constexpr std::int64_t kMaxEpochMs = 253402300799999;   // 9999-12-31T23:59:59.999Z
constexpr double kMaxExactDouble = 9007199254740992.0;  // 2^53

std::string shown(std::string_view text) {
  std::string out;
  appendJsonString(out, text.substr(0, 40));
  if (text.size() > 40) out.insert(out.size() - 1, "...");
  return out;
}

std::string_view trimSpace(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

bool isIntegerLiteral(std::string_view lit) { return lit.find_first_of(".eE") == std::string_view::npos; }

// The number as an exact 64-bit integer, or why not.
Result<std::int64_t> exactInteger(const JsonValue& v) {
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

Result<std::int64_t> checkedEpochMs(std::int64_t ms, std::string_view what) {
  if (ms < 0) return kit::badRequest("timestamp " + shown(what) + " is before 1970");
  if (ms > kMaxEpochMs) return kit::badRequest("timestamp " + shown(what) + " is after the year 9999");
  return Result<std::int64_t>(ms);
}

template <typename T>
kit::Error failFrom(const Result<T>& p) { return p.error(); }

int digitsAt(std::string_view s, std::size_t pos, std::size_t count, bool& ok) {
  int v = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (pos + i >= s.size() || s[pos + i] < '0' || s[pos + i] > '9') { ok = false; return 0; }
    v = v * 10 + (s[pos + i] - '0');
  }
  return v;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t daysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

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

Result<sdk::ValueType> parseValueType(std::string_view name) {
  using R = Result<sdk::ValueType>;
  using T = sdk::ValueType;
  for (const T t : {T::Double, T::Int, T::Long, T::Boolean, T::String, T::Json, T::Bytes}) {
    if (sdk::toString(t) == name) return R(t);
  }
  return kit::badRequest("must be one of double, int, long, boolean, string, json, bytes; found " + shown(name));
}

Result<TimestampFormat> parseTimestampFormat(std::string_view name) {
  using R = Result<TimestampFormat>;
  if (name == "seconds") return R(TimestampFormat::Seconds);
  if (name == "millis") return R(TimestampFormat::Millis);
  if (name == "iso8601") return R(TimestampFormat::Iso8601);
  return kit::badRequest("must be one of seconds, millis, iso8601; found " + shown(name));
}

std::size_t validUtf8Sequence(std::string_view s) {
  if (s.empty()) return 0;
  const auto b0 = static_cast<unsigned char>(s[0]);
  if (b0 < 0x80) return 1;
  std::size_t len = 0;
  std::uint32_t cp = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) { len = 2; cp = b0 & 0x1F; }
  else if (b0 >= 0xE0 && b0 <= 0xEF) { len = 3; cp = b0 & 0x0F; }
  else if (b0 >= 0xF0 && b0 <= 0xF4) { len = 4; cp = b0 & 0x07; }
  else return 0;
  if (s.size() < len) return 0;
  for (std::size_t i = 1; i < len; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;   // overlong / too big
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;                                                  // surrogates
  return len;
}

bool isValidUtf8(std::string_view text) {
  while (!text.empty()) {
    const std::size_t n = validUtf8Sequence(text);
    if (n == 0) return false;
    text.remove_prefix(n);
  }
  return true;
}

Result<std::string> decodeHex(std::string_view text) {
  using R = Result<std::string>;
  if (text.size() > 2 * kMaxPayloadBytes) return kit::badRequest("hex payload larger than the limit");
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) text.remove_prefix(2);
  if (text.size() % 2 != 0) return kit::badRequest("hex text has an odd number of digits (" + std::to_string(text.size()) + ")");
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int hi = nibble(text[i]);
    const int lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) return kit::badRequest("hex text has a non-hex character at offset " + std::to_string(hi < 0 ? i : i + 1));
    out += static_cast<char>((hi << 4) | lo);
  }
  return R(std::move(out));
}

Result<std::string> decodeBase64(std::string_view text) {
  using R = Result<std::string>;
  if (text.size() > 2 * kMaxPayloadBytes) return kit::badRequest("base64 payload larger than the limit");
  if (text.size() % 4 != 0) return kit::badRequest("base64 text length " + std::to_string(text.size()) + " is not a multiple of 4");
  auto sextet = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::size_t pad = 0;
  if (!text.empty() && text.back() == '=') ++pad;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++pad;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int v[4];
    for (std::size_t k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=' && last && k >= 4 - pad) { v[k] = 0; continue; }
      v[k] = sextet(c);
      if (v[k] < 0) {
        return kit::badRequest(c == '=' ? "base64 padding '=' inside the text at offset " + std::to_string(i + k)
                                : "base64 text has a character outside the standard alphabet at offset " + std::to_string(i + k) +
                                      (c == '-' || c == '_' ? " (base64url is not accepted)" : ""));
      }
    }
    const std::uint32_t n = (static_cast<std::uint32_t>(v[0]) << 18) | (static_cast<std::uint32_t>(v[1]) << 12) |
                            (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
    out += static_cast<char>((n >> 16) & 0xFF);
    if (!(last && pad == 2)) out += static_cast<char>((n >> 8) & 0xFF);
    if (!(last && pad >= 1)) out += static_cast<char>(n & 0xFF);
    if (last && ((pad == 2 && (v[1] & 0x0F) != 0) || (pad == 1 && (v[2] & 0x03) != 0))) {
      return kit::badRequest("base64 text is not canonical: unused bits in the last group are not zero");
    }
  }
  return R(std::move(out));
}

std::string encodeBase64(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (n > 1) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    if (n > 2) v |= static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += n > 1 ? kAlphabet[(v >> 6) & 63] : '=';
    out += n > 2 ? kAlphabet[v & 63] : '=';
  }
  return out;
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

Result<JsonValue> parseNumberText(std::string_view text) {
  const std::string_view t = trimSpace(text);
  const bool looksNumeric = !t.empty() && (t[0] == '-' || (t[0] >= '0' && t[0] <= '9'));
  if (looksNumeric) {
    auto parsed = parseJson(t, JsonLimits{kMaxPayloadBytes, 1});
    if (parsed && parsed->kind == JsonValue::Kind::Number) return parsed;
  }
  return kit::badRequest("expected a number, found " + shown(text));
}

Result<std::int64_t> parseIso8601(std::string_view s) {
  using R = Result<std::int64_t>;
  const std::string bad = "timestamp " + shown(s) + " is not ISO-8601 YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM)";
  bool ok = true;
  if (s.size() < 20 || s.size() > 35) return kit::badRequest(bad);
  const int year = digitsAt(s, 0, 4, ok);
  const int month = digitsAt(s, 5, 2, ok);
  const int day = digitsAt(s, 8, 2, ok);
  const int hour = digitsAt(s, 11, 2, ok);
  const int minute = digitsAt(s, 14, 2, ok);
  const int second = digitsAt(s, 17, 2, ok);
  if (!ok || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') return kit::badRequest(bad);
  std::size_t pos = 19;
  int millis = 0;
  if (s[pos] == '.') {
    ++pos;
    std::size_t digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 3) millis = millis * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0 || digits > 9) return kit::badRequest(bad);
    for (std::size_t d = digits; d < 3; ++d) millis *= 10;
  }
  int offsetMinutes = 0;
  if (pos < s.size() && s[pos] == 'Z') {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int sign = s[pos] == '-' ? -1 : 1;
    const int oh = digitsAt(s, pos + 1, 2, ok);
    const int om = digitsAt(s, pos + 4, 2, ok);
    if (!ok || pos + 3 >= s.size() || s[pos + 3] != ':' || oh > 23 || om > 59) return kit::badRequest(bad);
    offsetMinutes = sign * (oh * 60 + om);
    pos += 6;
  } else {
    return kit::badRequest(bad + ": a zone (Z or +HH:MM) is required");
  }
  if (pos != s.size()) return kit::badRequest(bad);
  if (year < 1970) return kit::badRequest("timestamp " + shown(s) + " is before 1970");
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) return kit::badRequest("timestamp " + shown(s) + " has no month " + std::to_string(month));
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  const int monthDays = kDays[month - 1] + (month == 2 && leap ? 1 : 0);
  if (day < 1 || day > monthDays) return kit::badRequest("timestamp " + shown(s) + " has no day " + std::to_string(day) + " in that month");
  if (hour > 23 || minute > 59 || second > 59) return kit::badRequest("timestamp " + shown(s) + " has a time of day out of range");
  const std::int64_t days = daysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const std::int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - std::int64_t{offsetMinutes} * 60;
  return checkedEpochMs(secs * 1000 + millis, s);
}

Result<std::int64_t> timestampFromJson(const JsonValue& value, TimestampFormat format) {
  using R = Result<std::int64_t>;
  if (format == TimestampFormat::Iso8601) {
    if (value.kind != JsonValue::Kind::String) {
      return kit::badRequest("an ISO-8601 timestamp must be a string, found a " + std::string(kindName(value.kind)));
    }
    return parseIso8601(value.text);
  }
  const JsonValue* number = &value;
  Result<JsonValue> fromString = JsonValue{};
  if (value.kind == JsonValue::Kind::String) {
    fromString = parseNumberText(value.text);
    if (!fromString) return kit::badRequest("timestamp: " + fromString.message());
    number = &*fromString;
  } else if (value.kind != JsonValue::Kind::Number) {
    return kit::badRequest("a timestamp in " + std::string(format == TimestampFormat::Seconds ? "seconds" : "millis") +
                   " must be a number, found a " + std::string(kindName(value.kind)));
  }
  if (format == TimestampFormat::Millis) {
    auto ms = exactInteger(*number);
    if (!ms) return kit::badRequest("timestamp in millis: " + ms.message());
    return checkedEpochMs(*ms, number->text);
  }
  if (isIntegerLiteral(number->text)) {
    auto secs = exactInteger(*number);
    if (!secs) return kit::badRequest("timestamp in seconds: " + secs.message());
    // Range first: multiplying a far-out value by 1000 would overflow (found by fuzz_mqtt_payload).
    if (*secs < 0) return kit::badRequest("timestamp " + shown(number->text) + " is before 1970");
    if (*secs > kMaxEpochMs / 1000) return kit::badRequest("timestamp " + shown(number->text) + " is after the year 9999");
    return checkedEpochMs(*secs * 1000, number->text);
  }
  const double secs = number->number;
  if (secs < 0) return kit::badRequest("timestamp " + shown(number->text) + " is before 1970");
  if (secs * 1000.0 > static_cast<double>(kMaxEpochMs)) return kit::badRequest("timestamp " + shown(number->text) + " is after the year 9999");
  return checkedEpochMs(std::llround(secs * 1000.0), number->text);
}

Result<sdk::Value> valueFromJson(const JsonValue& value, sdk::ValueType type) {
  using R = Result<sdk::Value>;
  using T = sdk::ValueType;
  const auto mismatch = [&] {
    return kit::badRequest("expected a value for type " + std::string(sdk::toString(type)) + ", found a JSON " +
                   std::string(kindName(value.kind)));
  };
  switch (type) {
    case T::Double:
      if (value.kind != JsonValue::Kind::Number) return mismatch();
      return R(sdk::Value::ofDouble(value.number));
    case T::Int:
    case T::Long: {
      if (value.kind != JsonValue::Kind::Number) return mismatch();
      auto n = exactInteger(value);
      if (!n) return failFrom(n);
      if (type == T::Long) return R(sdk::Value::ofLong(*n));
      if (*n < std::numeric_limits<std::int32_t>::min() || *n > std::numeric_limits<std::int32_t>::max()) {
        return kit::badRequest("integer " + shown(value.text) + " does not fit in type int (32 bits); declare type long");
      }
      return R(sdk::Value::ofInt(static_cast<std::int32_t>(*n)));
    }
    case T::Boolean:
      if (value.kind != JsonValue::Kind::Boolean) return mismatch();
      return R(sdk::Value::ofBool(value.boolean));
    case T::String:
      if (value.kind == JsonValue::Kind::String) return R(sdk::Value::ofString(value.text));
      if (value.kind == JsonValue::Kind::Number || value.kind == JsonValue::Kind::Boolean) {
        return R(sdk::Value::ofString(toJsonText(value)));
      }
      return mismatch();
    case T::Json: return R(sdk::Value::ofJson(toJsonText(value)));
    case T::Bytes: {
      if (value.kind != JsonValue::Kind::String) return mismatch();
      auto bytes = decodeBase64(value.text);
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
      if (!isValidUtf8(*bytes)) return kit::badRequest("the decoded bytes are not UTF-8 text; declare type bytes");
      return R(sdk::Value::ofString(std::move(*bytes)));
    }
    return typeError("bytes, string");
  };
  switch (format) {
    case PayloadFormat::Json: {
      auto doc = parseJson(payload);
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
    case PayloadFormat::Hex: return fromBytes(decodeHex(payload));
    case PayloadFormat::Base64: return fromBytes(decodeBase64(payload));
    case PayloadFormat::Text:
      switch (type) {
        case T::Bytes: return R(sdk::Value::ofBytes(std::string(payload)));
        case T::String:
          if (!isValidUtf8(payload)) return kit::badRequest("the payload is not UTF-8 text; declare type bytes");
          return R(sdk::Value::ofString(std::string(payload)));
        case T::Boolean: {
          auto b = parseBooleanText(payload);
          if (!b) return failFrom(b);
          return R(sdk::Value::ofBool(*b));
        }
        case T::Json: {
          auto doc = parseJson(payload);
          if (!doc) return failFrom(doc);
          return R(sdk::Value::ofJson(toJsonText(*doc)));
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
