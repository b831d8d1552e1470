#include "signing/text_util.h"

#include <limits>

namespace gatehouse::core::signing::detail {

bool isLowerHex(std::string_view s, std::size_t length) {
  if (s.size() != length) return false;
  for (char c : s) {
    if (!isAsciiDigit(c) && !(c >= 'a' && c <= 'f')) return false;
  }
  return true;
}

std::optional<std::uint64_t> parseDecimal(std::string_view s, std::size_t maxDigits) {
  if (s.empty() || s.size() > maxDigits) return std::nullopt;
  if (s.size() > 1 && s[0] == '0') return std::nullopt;
  std::uint64_t value = 0;
  for (char c : s) {
    if (!isAsciiDigit(c)) return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

bool isValidPluginName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!isAsciiDigit(c) && !(c >= 'a' && c <= 'z') && c != '_' && c != '-') return false;
  }
  return true;
}

std::string quoted(std::string_view s, std::size_t maxChars) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "\"";
  const bool cut = s.size() > maxChars;
  for (unsigned char c : s.substr(0, maxChars)) {
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kDigits[c >> 4];
      out += kDigits[c & 0x0f];
    }
  }
  out += cut ? "...\"" : "\"";
  return out;
}

}  // namespace gatehouse::core::signing::detail
