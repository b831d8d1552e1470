#pragma once
// RFC 9110 character classes shared by the parser and the response writer. Internal to
// gatehouse_http; pure, any thread.

#include <cstddef>
#include <string_view>

namespace gatehouse::core::http::detail {

// tchar (RFC 9110 5.6.2): what header names and methods are made of.
inline bool isTchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

inline bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (!isTchar(c)) return false;
  }
  return true;
}

// Control characters other than HTAB: never allowed in a received field value.
inline bool isForbiddenInValue(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; }

inline char lowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

inline bool equalsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lowerAscii(a[i]) != lowerAscii(b[i])) return false;
  }
  return true;
}

}  // namespace gatehouse::core::http::detail
