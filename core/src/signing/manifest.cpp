#include "signing/manifest.h"

#include <array>
#include <ctime>
#include <variant>

#include "common/json_writer.h"
#include "signing/crypto.h"
#include "signing/semver.h"
#include "signing/text_util.h"

namespace gatehouse::core::signing {

namespace {

using detail::isLowerHex;
using detail::parseDecimal;
using detail::quoted;

// The keys in canonical order; their index is the bit in the "seen" mask.
constexpr std::array<std::string_view, 8> kKeys = {"format", "name", "version", "abi",
                                                   "sha256", "size", "key_id", "not_after"};
enum KeyIndex { kFormat, kName, kVersion, kAbi, kSha256, kSize, kKeyId, kNotAfter };

struct NumberText {
  std::string_view text;
};
using RawValue = std::variant<std::string, NumberText>;

Error manifestError(std::string why) { return makeError(ErrorCode::BadRequest, "manifest: " + why); }

// A recursive-descent parser for exactly one flat JSON object whose values are strings or
// numbers. Anything else (nesting, literals, escapes no field needs) is an error, so the set of
// inputs that parse is small and every one of them means one thing.
class FlatObjectParser {
 public:
  explicit FlatObjectParser(std::string_view s) : s_(s) {}

  Result<Manifest> parse() {
    RawValue values[kKeys.size()];
    unsigned seen = 0;

    skipSpace();
    if (!consume('{')) return fail("expected '{' (the manifest is one JSON object)");
    skipSpace();
    if (!consume('}')) {
      for (;;) {
        skipSpace();
        if (peek() != '"') return fail("expected a key in double quotes");
        const std::size_t keyOffset = i_;
        auto key = parseString();
        if (!key.ok()) return std::move(key).error();
        std::size_t index = 0;
        while (index < kKeys.size() && kKeys[index] != *key) ++index;
        if (index == kKeys.size()) {
          i_ = keyOffset;
          return fail("unknown key " + quoted(*key) + " (allowed: format, name, version, abi, sha256, size, key_id, not_after)");
        }
        if (seen & (1u << index)) {
          i_ = keyOffset;
          return fail("duplicate key " + quoted(*key));
        }
        seen |= 1u << index;
        skipSpace();
        if (!consume(':')) return fail("expected ':' after key " + quoted(*key));
        skipSpace();
        auto value = parseValue(*key);
        if (!value.ok()) return std::move(value).error();
        values[index] = std::move(*value);
        skipSpace();
        if (consume(',')) continue;
        if (consume('}')) break;
        return fail("expected ',' or '}'");
      }
    }
    skipSpace();
    if (i_ != s_.size()) return fail("unexpected bytes after the closing '}'");

    for (std::size_t k = 0; k < kKeys.size(); ++k) {
      if (!(seen & (1u << k))) return manifestError("missing key " + quoted(kKeys[k]));
    }
    return fill(values);
  }

 private:
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  bool consume(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void skipSpace() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  Error fail(const std::string& why) const { return manifestError(why + " at offset " + std::to_string(i_)); }

  // At the opening quote.
  Result<std::string> parseString() {
    ++i_;
    std::string out;
    for (;;) {
      if (i_ >= s_.size()) return fail("unterminated string");
      const auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        ++i_;
        return out;
      }
      if (c < 0x20 || c >= 0x7f) return fail("control or non-ASCII byte in a string");
      if (c == '\\') {
        const char e = i_ + 1 < s_.size() ? s_[i_ + 1] : '\0';
        if (e != '"' && e != '\\' && e != '/') {
          return fail("unsupported escape in a string (only \\\" \\\\ \\/ are accepted)");
        }
        out += e;
        i_ += 2;
        continue;
      }
      out += static_cast<char>(c);
      ++i_;
    }
  }

  Result<RawValue> parseValue(const std::string& key) {
    const char c = peek();
    if (c == '"') {
      auto s = parseString();
      if (!s.ok()) return std::move(s).error();
      return RawValue(std::move(*s));
    }
    if (c == '{' || c == '[') return fail("nested objects and arrays are not allowed (key " + quoted(key) + ")");
    if (c == '-' || detail::isAsciiDigit(c)) {
      // The whole JSON number token; its form is checked when the key's type is known.
      const std::size_t start = i_;
      while (i_ < s_.size() && (detail::isAsciiDigit(s_[i_]) || s_[i_] == '-' || s_[i_] == '+' ||
                                s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E')) {
        ++i_;
      }
      return RawValue(NumberText{s_.substr(start, i_ - start)});
    }
    return fail("unsupported value for key " + quoted(key) + " (only strings and non-negative integers)");
  }

  Result<Manifest> fill(RawValue (&values)[kKeys.size()]) {
    Manifest m;
    auto integer = [&](std::size_t k) -> std::optional<std::uint64_t> {
      const auto* n = std::get_if<NumberText>(&values[k]);
      return n ? parseDecimal(n->text, 20) : std::nullopt;
    };
    auto string = [&](std::size_t k) -> const std::string* { return std::get_if<std::string>(&values[k]); };

    const auto format = integer(kFormat);
    if (!format || *format != 1) return manifestError("\"format\" must be the integer 1 (the only format this gateway reads)");
    m.format = 1;
    const auto size = integer(kSize);
    if (!size) return manifestError("\"size\" must be a non-negative integer without sign, fraction, exponent or leading zeros");
    m.size = *size;

    for (std::size_t k : {kName, kVersion, kAbi, kSha256, kKeyId, kNotAfter}) {
      if (!string(k)) return manifestError(quoted(kKeys[k]) + " must be a string");
    }
    m.name = *string(kName);
    if (!detail::isValidPluginName(m.name)) return manifestError("\"name\" " + quoted(m.name) + " must match [a-z0-9_-]{1,64}");
    m.version = *string(kVersion);
    if (!parseSemVer(m.version)) {
      return manifestError("\"version\" " + quoted(m.version) +
                           " is not a semantic version MAJOR.MINOR.PATCH[-PRERELEASE] (no build metadata)");
    }
    m.abi = *string(kAbi);
    if (!parseAbiVersion(m.abi)) return manifestError("\"abi\" " + quoted(m.abi) + " must be MAJOR.MINOR");
    m.sha256Hex = *string(kSha256);
    if (!isLowerHex(m.sha256Hex, 64)) return manifestError("\"sha256\" must be 64 lowercase hex digits");
    m.keyId = *string(kKeyId);
    if (!isLowerHex(m.keyId, 16)) return manifestError("\"key_id\" must be 16 lowercase hex digits");
    m.notAfterText = *string(kNotAfter);
    const auto notAfter = parseUtcTimestamp(m.notAfterText);
    if (!notAfter) {
      return manifestError("\"not_after\" " + quoted(m.notAfterText) +
                           " is not a valid UTC time YYYY-MM-DDTHH:MM:SSZ (years 1970..9999)");
    }
    m.notAfter = *notAfter;
    return m;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

int twoDigits(std::string_view s, std::size_t at) { return (s[at] - '0') * 10 + (s[at + 1] - '0'); }

bool isLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

std::string serializeManifest(const Manifest& m) {
  std::string out = "{\"format\":";
  json::appendInt(out, m.format);
  out += ",\"name\":";
  json::appendString(out, m.name);
  out += ",\"version\":";
  json::appendString(out, m.version);
  out += ",\"abi\":";
  json::appendString(out, m.abi);
  out += ",\"sha256\":";
  json::appendString(out, m.sha256Hex);
  out += ",\"size\":";
  out += std::to_string(m.size);
  out += ",\"key_id\":";
  json::appendString(out, m.keyId);
  out += ",\"not_after\":";
  json::appendString(out, m.notAfterText.empty() ? formatUtcTimestamp(m.notAfter) : m.notAfterText);
  out += '}';
  return out;
}

Result<Manifest> parseManifest(std::string_view line) {
  if (line.size() > kMaxSignatureFileBytes) {
    return manifestError("longer than " + std::to_string(kMaxSignatureFileBytes) + " bytes");
  }
  return FlatObjectParser(line).parse();
}

Result<SignatureFile> parseSignatureFile(std::string_view text) {
  auto fail = [](std::string why) { return makeError(ErrorCode::BadRequest, "signature file: " + why); };
  if (text.size() > kMaxSignatureFileBytes) {
    return makeError(ErrorCode::TooLarge, "signature file: " + std::to_string(text.size()) +
                                              " bytes, over the limit of " + std::to_string(kMaxSignatureFileBytes));
  }
  if (text.find('\r') != std::string_view::npos) {
    return fail("contains a carriage return; it must be two lines ending in LF only");
  }
  const std::size_t newline = text.find('\n');
  if (newline == std::string_view::npos) return fail("expected two lines (manifest, then signature); found one");
  std::string_view line2 = text.substr(newline + 1);
  if (!line2.empty() && line2.back() == '\n') line2.remove_suffix(1);
  if (line2.find('\n') != std::string_view::npos) return fail("unexpected bytes after the signature line");

  SignatureFile out;
  out.manifestLine = std::string(text.substr(0, newline));
  auto manifest = parseManifest(out.manifestLine);
  if (!manifest.ok()) return fail("line 1: " + manifest.error().message);
  out.manifest = std::move(*manifest);

  auto signature = base64Decode(line2);
  if (!signature.ok()) return fail("line 2: " + signature.error().message);
  if (signature->size() != kSignatureBytes) {
    return fail("line 2: the signature is " + std::to_string(signature->size()) + " bytes; an Ed25519 signature is " +
                std::to_string(kSignatureBytes));
  }
  out.signature = std::move(*signature);
  return out;
}

std::string writeSignatureFile(const std::string& manifestLine, std::string_view signature) {
  return manifestLine + '\n' + base64Encode(signature) + '\n';
}

std::optional<AbiVersion> parseAbiVersion(std::string_view text) {
  const std::size_t dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const auto major = parseDecimal(text.substr(0, dot), 9);
  const auto minor = parseDecimal(text.substr(dot + 1), 9);
  if (!major || !minor) return std::nullopt;
  return AbiVersion{static_cast<int>(*major), static_cast<int>(*minor)};
}

std::optional<std::int64_t> parseUtcTimestamp(std::string_view s) {
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:ddZ";
  if (s.size() != kShape.size()) return std::nullopt;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (kShape[i] == 'd' ? !detail::isAsciiDigit(s[i]) : s[i] != kShape[i]) return std::nullopt;
  }
  const int year = twoDigits(s, 0) * 100 + twoDigits(s, 2);
  const int month = twoDigits(s, 5);
  const int day = twoDigits(s, 8);
  const int hour = twoDigits(s, 11);
  const int minute = twoDigits(s, 14);
  const int second = twoDigits(s, 17);
  static constexpr int kDaysInMonth[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 1970 || month < 1 || month > 12 || day < 1) return std::nullopt;
  const int monthDays = kDaysInMonth[month - 1] + (month == 2 && isLeapYear(year) ? 1 : 0);
  // Second 60 (a leap second) is refused: timegm would silently move it to the next minute.
  if (day > monthDays || hour > 23 || minute > 59 || second > 59) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string formatUtcTimestamp(std::int64_t epochSeconds) {
  const auto t = static_cast<std::time_t>(epochSeconds);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr || tm.tm_year + 1900 < 1970 || tm.tm_year + 1900 > 9999) return {};
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace gatehouse::core::signing
