// Decoding one datagram with a loaded LayoutSet. Untrusted input (checklist D): every read is
// checked against the datagram's size first, the work is linear in its size, and every refusal
// names the reason.
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "gatehouse/kit/codec.h"
#include "gatehouse/kit/json_write.h"
#include "layout_data.h"

namespace gatehouse::bridge::nbiot {

namespace {

bool isHexDigit(char c) { return kit::hexDigitValue(c) >= 0; }
bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string hexByte(unsigned char b) {
  static const char* const kDigits = "0123456789abcdef";
  return std::string("0x") + kDigits[b >> 4] + kDigits[b & 15];
}

// "07 00 1c 00 ..." : the first bytes of a datagram, for "no layout matches" messages.
std::string firstBytes(std::string_view frame) {
  std::string out;
  const std::size_t n = std::min<std::size_t>(frame.size(), 8);
  for (std::size_t i = 0; i < n; ++i) {
    if (i) out += ' ';
    out += hexByte(static_cast<unsigned char>(frame[i])).substr(2);
  }
  if (frame.size() > n) out += " ...";
  return out;
}

std::uint64_t readUnsigned(std::string_view frame, std::size_t offset, std::size_t size, bool bigEndian) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < size; ++i) {
    const auto b = static_cast<unsigned char>(frame[offset + (bigEndian ? i : size - 1 - i)]);
    v = (v << 8) | b;
  }
  return v;
}

std::int64_t signExtend(std::uint64_t v, std::size_t size) {
  if (size >= 8) return static_cast<std::int64_t>(v);
  const std::uint64_t sign = std::uint64_t{1} << (size * 8 - 1);
  return static_cast<std::int64_t>((v ^ sign) - sign);
}

std::string formatNumber(double v) {
  std::string out;
  kit::json::appendDouble(out, v);
  return out;
}

// A field's decoded value before it becomes an sdk::Value.
struct Raw {
  enum class Kind : std::uint8_t { Unsigned, Signed, Real, Text } kind = Kind::Text;
  std::uint64_t u = 0;
  std::int64_t i = 0;
  double d = 0;
  std::string text;

  double asDouble() const {
    switch (kind) {
      case Kind::Unsigned: return static_cast<double>(u);
      case Kind::Signed: return static_cast<double>(i);
      case Kind::Real: return d;
      case Kind::Text: break;
    }
    return 0;
  }
  std::string asText() const {
    switch (kind) {
      case Kind::Unsigned: return std::to_string(u);
      case Kind::Signed: return std::to_string(i);
      case Kind::Real: return formatNumber(d);
      case Kind::Text: break;
    }
    return text;
  }
};

kit::Error fieldError(const FieldRule& f, const std::string& what) { return kit::badRequest("field " + f.name + ": " + what); }

Result<Raw> printable(const FieldRule& f, std::string_view bytes, std::size_t base, bool nulPadded) {
  Raw r;
  std::size_t end = bytes.size();
  if (nulPadded) {
    end = bytes.find('\0');
    if (end == std::string_view::npos) end = bytes.size();
    for (std::size_t i = end; i < bytes.size(); ++i) {
      if (bytes[i] != '\0') {
        return fieldError(f, "byte " + hexByte(static_cast<unsigned char>(bytes[i])) + " at offset " + std::to_string(base + i) +
                                 " after the NUL padding");
      }
    }
  }
  for (std::size_t i = 0; i < end; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x20 || c > 0x7e) {
      return fieldError(f, "byte " + hexByte(c) + " at offset " + std::to_string(base + i) + " is not printable ASCII");
    }
  }
  r.text.assign(bytes.substr(0, end));
  return r;
}

// Two decimal digits per byte, high nibble first; 0xF nibbles only as padding at the end.
Result<Raw> bcd(const FieldRule& f, std::string_view bytes, std::size_t base) {
  Raw r;
  bool padding = false;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    for (const unsigned nibble : {static_cast<unsigned>(b >> 4), static_cast<unsigned>(b & 15)}) {
      if (nibble == 15) {
        padding = true;
      } else if (nibble > 9 || padding) {
        return fieldError(f, "byte " + hexByte(b) + " at offset " + std::to_string(base + i) + " is not BCD");
      } else {
        r.text += static_cast<char>('0' + nibble);
      }
    }
  }
  return r;
}

Result<Raw> readBinaryField(const FieldRule& f, std::string_view frame) {
  // The caller checked frame.size() >= minSize, which covers every field.
  const std::string_view bytes = frame.substr(f.offset, f.length);
  Raw r;
  switch (f.kind) {
    case FieldKind::U8: case FieldKind::U16: case FieldKind::U32: case FieldKind::U64:
      r.kind = Raw::Kind::Unsigned;
      r.u = readUnsigned(frame, f.offset, f.length, f.bigEndian);
      return r;
    case FieldKind::I8: case FieldKind::I16: case FieldKind::I32: case FieldKind::I64:
      r.kind = Raw::Kind::Signed;
      r.i = signExtend(readUnsigned(frame, f.offset, f.length, f.bigEndian), f.length);
      return r;
    case FieldKind::F32: {
      const auto bits = static_cast<std::uint32_t>(readUnsigned(frame, f.offset, 4, f.bigEndian));
      float v;
      std::memcpy(&v, &bits, 4);
      r.kind = Raw::Kind::Real;
      r.d = v;
      break;
    }
    case FieldKind::F64: {
      const std::uint64_t bits = readUnsigned(frame, f.offset, 8, f.bigEndian);
      double v;
      std::memcpy(&v, &bits, 8);
      r.kind = Raw::Kind::Real;
      r.d = v;
      break;
    }
    case FieldKind::Ascii: return printable(f, bytes, f.offset, false);
    case FieldKind::AsciiNul: return printable(f, bytes, f.offset, true);
    case FieldKind::Bcd: return bcd(f, bytes, f.offset);
    default: return fieldError(f, "not a binary type");
  }
  if (!std::isfinite(r.d)) return fieldError(f, "not a finite number");
  return r;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t daysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

Result<std::int64_t> parseTimestamp(const FieldRule& f, std::string_view text) {
  const std::string& p = f.pattern;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  std::size_t t = 0;
  const auto bad = [&] {
    return fieldError(f, kit::quoteForMessage(text) + " does not match the pattern " + p);
  };
  const auto digits = [&](std::size_t n, int& out) {
    if (t + n > text.size()) return false;
    out = 0;
    for (std::size_t k = 0; k < n; ++k) {
      const char c = text[t + k];
      if (c < '0' || c > '9') return false;
      out = out * 10 + (c - '0');
    }
    t += n;
    return true;
  };
  for (std::size_t i = 0; i < p.size();) {
    bool ok = true;
    if (p.compare(i, 4, "YYYY") == 0) { ok = digits(4, year); i += 4; }
    else if (p.compare(i, 2, "MM") == 0) { ok = digits(2, month); i += 2; }
    else if (p.compare(i, 2, "DD") == 0) { ok = digits(2, day); i += 2; }
    else if (p.compare(i, 2, "hh") == 0) { ok = digits(2, hour); i += 2; }
    else if (p.compare(i, 2, "mm") == 0) { ok = digits(2, minute); i += 2; }
    else if (p.compare(i, 2, "ss") == 0) { ok = digits(2, second); i += 2; }
    else { ok = t < text.size() && text[t] == p[i]; ++t; ++i; }
    if (!ok) return bad();
  }
  if (t != text.size()) return bad();
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > kDays[month - 1] || (month == 2 && day == 29 && !leap) ||
      hour > 23 || minute > 59 || second > 59) {
    return fieldError(f, kit::quoteForMessage(text) + " is not a valid date and time (pattern " + p + ")");
  }
  const std::int64_t days = daysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return ((days * 24 + hour) * 60 + minute) * 60000 + second * 1000;
}

// "AA:BB:CC:DD:EE:FF", "aa-bb-..." or "aabbccddeeff" -> "aa:bb:cc:dd:ee:ff".
std::optional<std::string> normalizeMac(std::string_view s) {
  std::string hex;
  if (s.size() == 17) {
    const char sep = s[2];
    if (sep != ':' && sep != '-') return std::nullopt;
    for (std::size_t i = 0; i < 17; ++i) {
      if (i % 3 == 2) {
        if (s[i] != sep) return std::nullopt;
      } else {
        hex += s[i];
      }
    }
  } else if (s.size() == 12) {
    hex.assign(s);
  } else {
    return std::nullopt;
  }
  std::string out;
  for (std::size_t i = 0; i < 12; ++i) {
    if (!isHexDigit(hex[i])) return std::nullopt;
    if (i && i % 2 == 0) out += ':';
    out += static_cast<char>(hex[i] >= 'A' && hex[i] <= 'F' ? hex[i] - 'A' + 'a' : hex[i]);
  }
  return out;
}

Result<Raw> readTextField(const FieldRule& f, std::string_view text) {
  if (text.empty()) return fieldError(f, "is empty");
  // A personal field's text (a MAC address, even a malformed one) never goes into a message.
  if (f.personal) {
    if (f.kind == FieldKind::Mac) {
      auto mac = normalizeMac(text);
      if (!mac) return fieldError(f, "is not a MAC address (aa:bb:cc:dd:ee:ff); " + std::to_string(text.size()) + " characters, not shown (personal data)");
      Raw r;
      r.text = std::move(*mac);
      return r;
    }
    if (f.kind == FieldKind::Ascii) {
      Raw r;
      r.text.assign(text);
      return r;
    }
    FieldRule plain = f;
    plain.personal = false;
    auto read = readTextField(plain, text);
    if (!read) return fieldError(f, "is not a valid " + std::string(f.kind == FieldKind::Timestamp ? "timestamp" : "number") + " (personal data, not shown)");
    return read;
  }
  Raw r;
  switch (f.kind) {
    case FieldKind::Ascii: r.text.assign(text); return r;
    case FieldKind::Integer: {
      std::string_view digits = text;
      if (digits[0] == '+') digits.remove_prefix(1);
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), r.i);
      if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() || digits[0] == '+') {
        return fieldError(f, kit::quoteForMessage(text) + " is not an integer" + (ec == std::errc::result_out_of_range ? " of 64 bits" : ""));
      }
      r.kind = Raw::Kind::Signed;
      return r;
    }
    case FieldKind::Decimal: {
      // [-+]?digits[.digits]: no exponents, no inf/nan, no hex floats.
      std::string_view body = text;
      if (body[0] == '-' || body[0] == '+') body.remove_prefix(1);
      const std::size_t dot = body.find('.');
      const std::string_view whole = body.substr(0, dot);
      const std::string_view fraction = dot == std::string_view::npos ? std::string_view() : body.substr(dot + 1);
      const auto allDigits = [](std::string_view s) {
        for (char c : s) {
          if (c < '0' || c > '9') return false;
        }
        return true;
      };
      if (whole.empty() || !allDigits(whole) || !allDigits(fraction) || (dot != std::string_view::npos && fraction.empty()) ||
          body.size() > 40) {
        return fieldError(f, kit::quoteForMessage(text) + " is not a decimal number");
      }
      const std::string_view number = text[0] == '+' ? text.substr(1) : text;
      const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), r.d);
      if (ec != std::errc() || end != number.data() + number.size() || !std::isfinite(r.d)) {
        return fieldError(f, kit::quoteForMessage(text) + " is not a decimal number");
      }
      r.kind = Raw::Kind::Real;
      return r;
    }
    case FieldKind::Timestamp: {
      auto ms = parseTimestamp(f, text);
      if (!ms) return std::move(ms).error();
      r.kind = Raw::Kind::Signed;
      r.i = *ms;
      return r;
    }
    case FieldKind::Mac: {
      auto mac = normalizeMac(text);
      if (!mac) return fieldError(f, kit::quoteForMessage(text) + " is not a MAC address (aa:bb:cc:dd:ee:ff)");
      r.text = std::move(*mac);
      return r;
    }
    default: return fieldError(f, "not a text type");
  }
}

Result<sdk::Value> toValue(const FieldRule& f, const Raw& raw) {
  if (f.scaled) {
    // A scale of 0.1, 0.01 ... divides by 10, 100 ...: 473 * 0.1 would give 47.300000000000004,
    // 473 / 10 gives the 47.3 a reader expects.
    const double inverse = 1.0 / f.scale;
    const double divisor = std::nearbyint(inverse);
    const bool divide = std::fabs(f.scale) < 1.0 && divisor != 0.0 && std::fabs(inverse - divisor) < 1e-9 * std::fabs(inverse);
    const double v = (divide ? raw.asDouble() / divisor : raw.asDouble() * f.scale) + f.valueOffset;
    if (!std::isfinite(v)) return fieldError(f, "the scaled value is not a finite number");
    return f.valueKind == ValueKind::String ? sdk::Value::ofString(formatNumber(v)) : sdk::Value::ofDouble(v);
  }
  if (f.kind == FieldKind::Timestamp && f.valueKind == ValueKind::String) return sdk::Value::ofString(kit::formatIso8601(raw.i));
  switch (f.valueKind) {
    case ValueKind::String: return sdk::Value::ofString(raw.asText());
    case ValueKind::Double:
      if (raw.kind == Raw::Kind::Text) {   // BCD digits
        if (raw.text.empty() || raw.text.size() > 18) return fieldError(f, "BCD value of " + std::to_string(raw.text.size()) + " digits is not a number here");
        return sdk::Value::ofDouble(static_cast<double>(std::stoll(raw.text)));
      }
      return sdk::Value::ofDouble(raw.asDouble());
    case ValueKind::Long:
    case ValueKind::Int: {
      std::int64_t v = 0;
      if (raw.kind == Raw::Kind::Text) {
        if (raw.text.empty() || raw.text.size() > 18) return fieldError(f, "BCD value of " + std::to_string(raw.text.size()) + " digits does not fit in a long");
        v = std::stoll(raw.text);
      } else if (raw.kind == Raw::Kind::Unsigned) {
        if (raw.u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
          return fieldError(f, "value " + std::to_string(raw.u) + " does not fit in a long");
        }
        v = static_cast<std::int64_t>(raw.u);
      } else {
        v = raw.i;
      }
      if (f.valueKind == ValueKind::Long) return sdk::Value::ofLong(v);
      if (v < std::numeric_limits<std::int32_t>::min() || v > std::numeric_limits<std::int32_t>::max()) {
        return fieldError(f, "value " + std::to_string(v) + " does not fit in an int");
      }
      return sdk::Value::ofInt(static_cast<std::int32_t>(v));
    }
  }
  return fieldError(f, "no value type");
}

// Provider id, counter, timestamp and readings from the decoded header/binary fields.
Result<void> finish(const LayoutRule& layout, const std::vector<Raw>& raws, DecodedFrame& out) {
  const FieldRule& pf = layout.fields[layout.providerField];
  const Raw& provider = raws[layout.providerField];
  if (provider.kind == Raw::Kind::Signed && provider.i < 0) {
    return kit::badRequest("provider id from field " + pf.name + " is negative (" + std::to_string(provider.i) + ")");
  }
  out.provider = provider.asText();
  if (!kit::isValidIdentifier(out.provider)) {
    return kit::badRequest("provider id " + kit::quoteForMessage(out.provider) + " from field " + pf.name +
                           " is not a valid name (1-128 of A-Z a-z 0-9 _ . : -, no \"..\")");
  }
  if (layout.counterField) {
    const Raw& c = raws[*layout.counterField];
    if (c.kind == Raw::Kind::Signed && c.i < 0) {
      return kit::badRequest("frame counter field " + layout.fields[*layout.counterField].name + " is negative");
    }
    out.counter = c.kind == Raw::Kind::Unsigned ? c.u : static_cast<std::uint64_t>(c.i);
  }
  if (layout.timestampField) out.timestampMs = raws[*layout.timestampField].i;
  for (std::size_t i = 0; i < layout.fields.size(); ++i) {
    const FieldRule& f = layout.fields[i];
    if (!f.hasResource) continue;
    auto value = toValue(f, raws[i]);
    if (!value) return std::move(value).error();
    out.readings.push_back(Reading{f.service, f.resource, std::move(*value), f.unit, f.name});
  }
  return {};
}

Result<void> decodeBinary(const LayoutRule& layout, std::string_view frame, DecodedFrame& out) {
  if (layout.lengthField) {
    const FieldRule& lf = layout.fields[*layout.lengthField];
    const std::size_t end = lf.offset + lf.length;
    if (frame.size() < end) {
      return kit::badRequest("too short: " + std::to_string(frame.size()) + " bytes, the LENGTH field " + lf.name + " ends at byte " +
                             std::to_string(end) + " (the layout needs " + std::to_string(layout.minSize) + ")");
    }
    const std::uint64_t declared = readUnsigned(frame, lf.offset, lf.length, lf.bigEndian);
    const std::size_t actual = layout.lengthCountsFrame ? frame.size() : frame.size() - end;
    if (declared != actual) {
      return kit::badRequest("LENGTH mismatch: " + lf.name + " says " + std::to_string(declared) + " bytes, the datagram has " +
                             std::to_string(actual) + (layout.lengthCountsFrame ? " in all" : " after it"));
    }
  }
  if (frame.size() < layout.minSize) {
    return kit::badRequest("too short: " + std::to_string(frame.size()) + " bytes, the layout needs " + std::to_string(layout.minSize));
  }
  if (frame.size() > layout.minSize && !layout.allowTrailing) {
    return kit::badRequest("trailing bytes: " + std::to_string(frame.size() - layout.minSize) + " after the last field (the layout is " +
                           std::to_string(layout.minSize) + " bytes)");
  }
  std::vector<Raw> raws;
  raws.reserve(layout.fields.size());
  for (const FieldRule& f : layout.fields) {
    auto raw = readBinaryField(f, frame);
    if (!raw) return std::move(raw).error();
    raws.push_back(std::move(*raw));
  }
  return finish(layout, raws, out);
}

// Splits `line` at `sep` into at most `max` + 1 parts (the extra one says "too many").
std::vector<std::string_view> split(std::string_view line, std::string_view sep, std::size_t max) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (parts.size() <= max) {
    const std::size_t at = line.find(sep, start);
    if (at == std::string_view::npos) {
      parts.push_back(line.substr(start));
      break;
    }
    parts.push_back(line.substr(start, at - start));
    start = at + sep.size();
  }
  return parts;
}

std::string fieldNames(const std::vector<FieldRule>& fields, const std::string& sep) {
  std::string out;
  for (const auto& f : fields) out += (out.empty() ? "" : sep) + f.name;
  return out;
}

Result<std::vector<Raw>> readLine(const std::vector<FieldRule>& fields, std::string_view line, const std::string& sep,
                                  const std::string& what) {
  const auto parts = split(line, sep, fields.size());
  if (parts.size() != fields.size()) {
    return kit::badRequest("bad text structure: " + what + " has " + (parts.size() > fields.size() ? "more than " : "") +
                           std::to_string(std::min(parts.size(), fields.size())) + " fields separated by " + kit::quoteForMessage(sep) +
                           ", the layout needs " + std::to_string(fields.size()) + " (" + fieldNames(fields, sep) + ")");
  }
  std::vector<Raw> raws;
  raws.reserve(fields.size());
  for (std::size_t i = 0; i < fields.size(); ++i) {
    auto raw = readTextField(fields[i], parts[i]);
    if (!raw) return kit::prefixed(what + ": ", raw.error());
    raws.push_back(std::move(*raw));
  }
  return raws;
}

// The lines of a text frame: split at "\n" (a "\r" before it is dropped); one final line end is
// allowed.
std::vector<std::string_view> textLines(std::string_view frame, std::size_t max) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < frame.size() && lines.size() <= max) {
    std::size_t end = frame.find('\n', start);
    const std::size_t next = end == std::string_view::npos ? frame.size() : end + 1;
    if (end == std::string_view::npos) end = frame.size();
    std::string_view line = frame.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = next;
  }
  return lines;
}

Result<void> decodeText(const LayoutRule& layout, std::string_view frame, DecodedFrame& out) {
  for (std::size_t i = 0; i < frame.size(); ++i) {
    const auto c = static_cast<unsigned char>(frame[i]);
    if ((c < 0x20 || c > 0x7e) && c != '\n' && c != '\r') {
      return kit::badRequest("bad text structure: byte " + hexByte(c) + " at offset " + std::to_string(i) + " is not printable text");
    }
  }
  const std::size_t maxLines = layout.hasLines ? layout.maxLines : 0;
  const auto lines = textLines(frame, maxLines + 1);
  if (lines.empty()) return kit::badRequest("bad text structure: no header line");
  auto header = readLine(layout.fields, lines[0], layout.separator, "header line");
  if (!header) return std::move(header).error();
  if (lines.size() > 1 && !layout.hasLines) {
    return kit::badRequest("bad text structure: line 2: the layout has only a header line");
  }
  if (lines.size() > maxLines + 1) {
    return kit::badRequest("bad text structure: more than " + std::to_string(maxLines) + " lines after the header (lines.max_lines)");
  }
  if (auto done = finish(layout, *header, out); !done) return done;
  if (layout.hasLines) {
    for (const auto& f : layout.lineFields) out.lineFields.push_back(LineField{f.name, f.personal});
    out.lines.reserve(lines.size() - 1);
    for (std::size_t i = 1; i < lines.size(); ++i) {
      const std::string what = "line " + std::to_string(i + 1);
      if (lines[i].empty()) return kit::badRequest("bad text structure: " + what + " is empty");
      auto raws = readLine(layout.lineFields, lines[i], layout.separator, what);
      if (!raws) return std::move(raws).error();
      std::vector<sdk::Value> values;
      values.reserve(raws->size());
      for (std::size_t k = 0; k < raws->size(); ++k) {
        auto v = toValue(layout.lineFields[k], (*raws)[k]);
        if (!v) return kit::prefixed(what + ": ", v.error());
        values.push_back(std::move(*v));
      }
      out.lines.push_back(std::move(values));
    }
  }
  return {};
}

bool matches(const LayoutRule& layout, std::string_view frame) {
  if (layout.matchPrefix) return frame.substr(0, layout.matchText.size()) == layout.matchText;
  const FieldRule& f = layout.fields[*layout.matchField];
  if (!layout.text) {
    if (frame.size() < f.offset + f.length) return false;
    return readUnsigned(frame, f.offset, f.length, f.bigEndian) == layout.matchNumber;
  }
  // Text: the header's field number *matchField (the header ends at the first line end).
  std::string_view header = frame.substr(0, frame.find('\n'));
  if (!header.empty() && header.back() == '\r') header.remove_suffix(1);
  const auto parts = split(header, layout.separator, *layout.matchField);
  return parts.size() > *layout.matchField && parts[*layout.matchField] == layout.matchText;
}

std::string describeExpectation(const LayoutRule& layout) {
  if (layout.matchPrefix) return layout.name + " starts with " + kit::quoteForMessage(layout.matchText);
  const FieldRule& f = layout.fields[*layout.matchField];
  if (layout.text) {
    return layout.name + " has " + kit::quoteForMessage(layout.matchText) + " as header field " + std::to_string(*layout.matchField + 1);
  }
  return layout.name + " has " + f.name + " = " + layout.matchText + " at offset " + std::to_string(f.offset);
}

}  // namespace

Result<std::string> decodeHexText(std::string_view text) {
  text = trim(text);
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) text.remove_prefix(2);
  if (text.empty()) return kit::badRequest("empty hex text");
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (!isHexDigit(text[i])) {
      return kit::badRequest("invalid hex digit " + kit::quoteForMessage(text.substr(i, 1)) + " at position " + std::to_string(i));
    }
  }
  if (text.size() % 2 != 0) return kit::badRequest("odd number of hex digits (" + std::to_string(text.size()) + ")");
  std::string out(text.size() / 2, '\0');
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<char>(kit::hexDigitValue(text[2 * i]) * 16 + kit::hexDigitValue(text[2 * i + 1]));
  }
  return out;
}

Result<DecodedFrame> LayoutSet::decode(std::string_view datagram, InputEncoding encoding) const {
  const std::size_t max = data_->maxDatagramBytes;
  const auto tooLarge = [&](std::size_t n, const char* what) {
    return kit::makeError(kit::ErrorCode::TooLarge, std::string(what) + " of " + std::to_string(n) + " bytes is larger than the limit of " +
                                                        std::to_string(max) + " (max_datagram_bytes)");
  };
  if (datagram.empty()) return kit::badRequest("empty datagram");
  // Hex text is two characters a byte, plus a prefix and white space: anything longer is refused unread.
  if (datagram.size() > 2 * max + 64 || (encoding == InputEncoding::Binary && datagram.size() > max)) {
    return tooLarge(datagram.size(), "datagram");
  }
  bool hex = encoding == InputEncoding::Hex;
  if (encoding == InputEncoding::Auto) {
    std::string_view t = trim(datagram);
    if (t.size() >= 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) t.remove_prefix(2);
    hex = !t.empty();
    for (char c : t) {
      if (!isHexDigit(c)) {
        hex = false;
        break;
      }
    }
  }
  std::string decoded;
  std::string_view frame = datagram;
  if (hex) {
    auto bytes = decodeHexText(datagram);
    if (!bytes) return kit::prefixed("hex text: ", bytes.error());
    decoded = std::move(*bytes);
    frame = decoded;
  }
  if (frame.size() > max) return tooLarge(frame.size(), hex ? "datagram (from hex text)" : "datagram");

  for (std::size_t i = 0; i < data_->layouts.size(); ++i) {
    const LayoutRule& layout = data_->layouts[i];
    if (!matches(layout, frame)) continue;
    DecodedFrame out;
    out.layout = layout.name;
    out.layoutIndex = i;
    auto done = layout.text ? decodeText(layout, frame, out) : decodeBinary(layout, frame, out);
    if (!done) return kit::prefixed("layout " + layout.name + ": ", done.error());
    return out;
  }
  std::string expected;
  for (const auto& layout : data_->layouts) expected += (expected.empty() ? "" : "; ") + describeExpectation(layout);
  return kit::badRequest("unknown frame type: no layout matches the " + std::to_string(frame.size()) + " bytes " + firstBytes(frame) +
                         (expected.empty() ? std::string(" (no layouts loaded)") : " (" + expected + ")"));
}

}  // namespace gatehouse::bridge::nbiot
