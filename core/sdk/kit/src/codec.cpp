// The kit's codecs (codec.h). Strictness is the point: one accepted encoding per byte string.

#include "gatehouse/kit/codec.h"

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "gatehouse/kit/json_write.h"

namespace gatehouse::kit {

namespace {

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<std::int8_t, 256> makeTable(const char* alphabet) {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
  return t;
}

constexpr std::array<std::int8_t, 256> kBase64Table = makeTable(kBase64);
constexpr std::array<std::int8_t, 256> kBase64UrlTable = makeTable(kBase64Url);

std::string encode64(std::string_view bytes, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (n > 1) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    if (n > 2) v |= static_cast<unsigned char>(bytes[i + 2]);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (n > 1) out += alphabet[(v >> 6) & 63]; else if (pad) out += '=';
    if (n > 2) out += alphabet[v & 63]; else if (pad) out += '=';
  }
  return out;
}

Error bad(std::string message) { return Error{ErrorCode::BadRequest, std::move(message)}; }

int digitsAt(std::string_view s, std::size_t pos, std::size_t count, bool& ok) {
  int v = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (pos + i >= s.size() || s[pos + i] < '0' || s[pos + i] > '9') { ok = false; return 0; }
    v = v * 10 + (s[pos + i] - '0');
  }
  return v;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil) and back.
std::int64_t daysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civilFromDays(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2);
}

}  // namespace

// --- base64 --------------------------------------------------------------------------------------

std::string base64Encode(std::string_view bytes) { return encode64(bytes, kBase64, true); }
std::string base64UrlEncode(std::string_view bytes) { return encode64(bytes, kBase64Url, false); }

Result<std::string> base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return bad("base64 text length " + std::to_string(text.size()) + " is not a multiple of 4");
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
      v[k] = kBase64Table[static_cast<unsigned char>(c)];
      if (v[k] < 0) {
        return bad(c == '=' ? "base64 padding '=' inside the text at offset " + std::to_string(i + k)
                            : "base64 text has a character outside the standard alphabet at offset " +
                                  std::to_string(i + k) + (c == '-' || c == '_' ? " (base64url is not accepted)" : ""));
      }
    }
    const std::uint32_t n = (static_cast<std::uint32_t>(v[0]) << 18) | (static_cast<std::uint32_t>(v[1]) << 12) |
                            (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
    out += static_cast<char>((n >> 16) & 0xFF);
    if (!(last && pad == 2)) out += static_cast<char>((n >> 8) & 0xFF);
    if (!(last && pad >= 1)) out += static_cast<char>(n & 0xFF);
    if (last && ((pad == 2 && (v[1] & 0x0F) != 0) || (pad == 1 && (v[2] & 0x03) != 0))) {
      return bad("base64 text is not canonical: unused bits in the last group are not zero");
    }
  }
  return out;
}

std::optional<std::size_t> base64UrlDecodeInto(std::string_view in, unsigned char* out, std::size_t capacity) {
  const std::size_t rest = in.size() % 4;
  if (rest == 1) return std::nullopt;
  const std::size_t size = in.size() / 4 * 3 + (rest == 0 ? 0 : rest - 1);
  if (size > capacity) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const unsigned char* const fullEnd = p + (in.size() - rest);
  // Four characters -> three bytes per step; any -1 from the table makes the OR negative.
  for (; p != fullEnd; p += 4, out += 3) {
    const int a = kBase64UrlTable[p[0]], b = kBase64UrlTable[p[1]], c = kBase64UrlTable[p[2]], d = kBase64UrlTable[p[3]];
    if ((a | b | c | d) < 0) return std::nullopt;
    const auto n = static_cast<std::uint32_t>((a << 18) | (b << 12) | (c << 6) | d);
    out[0] = static_cast<unsigned char>(n >> 16);
    out[1] = static_cast<unsigned char>(n >> 8);
    out[2] = static_cast<unsigned char>(n);
  }
  // Left-over bits (4 after two characters, 2 after three) must be zero for the canonical encoding.
  if (rest == 2) {
    const int a = kBase64UrlTable[p[0]], b = kBase64UrlTable[p[1]];
    if ((a | b) < 0 || (b & 0x0F) != 0) return std::nullopt;
    out[0] = static_cast<unsigned char>((a << 2) | (b >> 4));
  } else if (rest == 3) {
    const int a = kBase64UrlTable[p[0]], b = kBase64UrlTable[p[1]], c = kBase64UrlTable[p[2]];
    if ((a | b | c) < 0 || (c & 0x03) != 0) return std::nullopt;
    const auto n = static_cast<std::uint32_t>((a << 18) | (b << 12) | (c << 6));
    out[0] = static_cast<unsigned char>(n >> 16);
    out[1] = static_cast<unsigned char>(n >> 8);
  }
  return size;
}

Result<std::string> base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) return bad("base64url text length " + std::to_string(text.size()) + " is impossible");
  std::string out(text.size() / 4 * 3 + 2, '\0');
  const auto size = base64UrlDecodeInto(text, reinterpret_cast<unsigned char*>(out.data()), out.size());
  if (!size) return bad("base64url text is not canonical unpadded base64url");
  out.resize(*size);
  return out;
}

// --- hex -----------------------------------------------------------------------------------------

std::string hexEncode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
  }
  return out;
}

int hexDigitValue(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> hexDecode(std::string_view text) {
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) text.remove_prefix(2);
  if (text.size() % 2 != 0) return bad("hex text has an odd number of digits (" + std::to_string(text.size()) + ")");
  std::string out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int hi = hexDigitValue(text[i]);
    const int lo = hexDigitValue(text[i + 1]);
    if (hi < 0 || lo < 0) return bad("hex text has a non-hex character at offset " + std::to_string(hi < 0 ? i : i + 1));
    out += static_cast<char>((hi << 4) | lo);
  }
  return out;
}

// --- UTF-8 -----------------------------------------------------------------------------------------

std::size_t validUtf8Sequence(std::string_view s) noexcept {
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

bool isValidUtf8(std::string_view text) noexcept {
  while (!text.empty()) {
    // ASCII runs are the common case.
    if (static_cast<unsigned char>(text[0]) < 0x80) { text.remove_prefix(1); continue; }
    const std::size_t n = validUtf8Sequence(text);
    if (n == 0) return false;
    text.remove_prefix(n);
  }
  return true;
}

// --- timestamps ---------------------------------------------------------------------------------------

std::int64_t nowMillis() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<std::int64_t> checkEpochMillis(std::int64_t ms, std::string_view what) {
  if (ms < 0) return bad("timestamp " + quoteForMessage(what, 40) + " is before 1970");
  if (ms > kMaxEpochMs) return bad("timestamp " + quoteForMessage(what, 40) + " is after the year 9999");
  return ms;
}

Result<std::int64_t> epochMillisFromSeconds(std::int64_t seconds, std::string_view what) {
  // Checked before multiplying: 1000 * a huge value would overflow.
  if (seconds < 0) return bad("timestamp " + quoteForMessage(what, 40) + " is before 1970");
  if (seconds > kMaxEpochMs / 1000) return bad("timestamp " + quoteForMessage(what, 40) + " is after the year 9999");
  return seconds * 1000;
}

Result<std::int64_t> epochMillisFromSeconds(double seconds, std::string_view what) {
  if (!std::isfinite(seconds)) return bad("timestamp " + quoteForMessage(what, 40) + " is not a finite number");
  if (seconds < 0) return bad("timestamp " + quoteForMessage(what, 40) + " is before 1970");
  if (seconds > static_cast<double>(kMaxEpochMs) / 1000.0) {
    return bad("timestamp " + quoteForMessage(what, 40) + " is after the year 9999");
  }
  return checkEpochMillis(static_cast<std::int64_t>(std::floor(seconds * 1000.0)), what);
}

Result<std::int64_t> parseIso8601(std::string_view s) {
  const std::string shown = quoteForMessage(s, 40);
  const std::string badText = "timestamp " + shown + " is not ISO-8601 YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM)";
  bool ok = true;
  if (s.size() < 20 || s.size() > 35) return bad(badText);
  const int year = digitsAt(s, 0, 4, ok);
  const int month = digitsAt(s, 5, 2, ok);
  const int day = digitsAt(s, 8, 2, ok);
  const int hour = digitsAt(s, 11, 2, ok);
  const int minute = digitsAt(s, 14, 2, ok);
  const int second = digitsAt(s, 17, 2, ok);
  if (!ok || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') return bad(badText);
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
    if (digits == 0 || digits > 9) return bad(badText);
    for (std::size_t d = digits; d < 3; ++d) millis *= 10;
  }
  int offsetMinutes = 0;
  if (pos < s.size() && s[pos] == 'Z') {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int sign = s[pos] == '-' ? -1 : 1;
    const int oh = digitsAt(s, pos + 1, 2, ok);
    const int om = digitsAt(s, pos + 4, 2, ok);
    if (!ok || pos + 3 >= s.size() || s[pos + 3] != ':' || oh > 23 || om > 59) return bad(badText);
    offsetMinutes = sign * (oh * 60 + om);
    pos += 6;
  } else {
    return bad(badText + ": a zone (Z or +HH:MM) is required");
  }
  if (pos != s.size()) return bad(badText);
  if (year < 1970) return bad("timestamp " + shown + " is before 1970");
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) return bad("timestamp " + shown + " has no month " + std::to_string(month));
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  const int monthDays = kDays[month - 1] + (month == 2 && leap ? 1 : 0);
  if (day < 1 || day > monthDays) return bad("timestamp " + shown + " has no day " + std::to_string(day) + " in that month");
  if (hour > 23 || minute > 59 || second > 59) return bad("timestamp " + shown + " has a time of day out of range");
  const std::int64_t days = daysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const std::int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - std::int64_t{offsetMinutes} * 60;
  return checkEpochMillis(secs * 1000 + millis, s);
}

std::string formatIso8601(std::int64_t ms) {
  if (ms < 0) ms = 0;
  if (ms > kMaxEpochMs) ms = kMaxEpochMs;
  const std::int64_t days = ms / 86400000;
  const std::int64_t inDay = ms % 86400000;
  std::int64_t y = 0;
  unsigned m = 0, d = 0;
  civilFromDays(days, y, m, d);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ", static_cast<long long>(y), m, d,
                static_cast<long long>(inDay / 3600000), static_cast<long long>(inDay / 60000 % 60),
                static_cast<long long>(inDay / 1000 % 60), static_cast<long long>(inDay % 1000));
  return buf;
}

Result<std::int64_t> parseMillisOrIso8601(std::string_view text) {
  if (!text.empty() && text.size() <= 15 && text.find_first_not_of("0123456789") == std::string_view::npos) {
    std::int64_t v = 0;
    for (const char c : text) v = v * 10 + (c - '0');
    return checkEpochMillis(v, text);
  }
  return parseIso8601(text);
}

// --- identifiers -------------------------------------------------------------------------------------

bool isValidIdentifier(std::string_view name) noexcept {
  if (name.empty() || name.size() > 128 || name == "." || name.find("..") != std::string_view::npos) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '.' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<void> checkIdentifier(std::string_view what, std::string_view name) {
  if (isValidIdentifier(name)) return {};
  return bad(std::string(what) + " name " + quoteForMessage(name) +
             " is invalid: use 1 to 128 characters from A-Z a-z 0-9 _ . : - (not '.' or '..')");
}

std::string quoteForMessage(std::string_view text, std::size_t max) {
  std::string out;
  if (text.size() <= max) {
    json::appendString(out, text);
  } else {
    json::appendString(out, text.substr(0, max));
    out.insert(out.size() - 1, "...");
  }
  return out;
}

Result<sdk::ValueType> parseValueType(std::string_view name) {
  using T = sdk::ValueType;
  for (const T t : {T::Double, T::Int, T::Long, T::Boolean, T::String, T::Json, T::Bytes}) {
    if (sdk::toString(t) == name) return Result<sdk::ValueType>(t);
  }
  return badRequest("must be one of double, int, long, boolean, string, json, bytes; found " + quoteForMessage(name, 40));
}

}  // namespace gatehouse::kit
