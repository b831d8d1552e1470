#include "signing/semver.h"

#include <vector>

#include "signing/text_util.h"

namespace gatehouse::core::signing {

namespace {

using detail::isAsciiDigit;
using detail::parseDecimal;

constexpr std::size_t kMaxVersionLength = 128;

bool isIdentifierChar(char c) { return isAsciiDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-'; }

bool allDigits(std::string_view s) {
  for (char c : s) {
    if (!isAsciiDigit(c)) return false;
  }
  return !s.empty();
}

std::vector<std::string_view> splitDots(std::string_view s) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = s.find('.', start);
    if (dot == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, dot - start));
    start = dot + 1;
  }
}

// Numeric identifiers have no leading zeros, so the longer one is larger and equal lengths
// compare as text; this also works for identifiers too long for any integer type.
int compareNumeric(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  const int c = a.compare(b);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

int comparePrerelease(std::string_view a, std::string_view b) {
  // A release outranks any prerelease of the same version.
  if (a.empty() || b.empty()) return a.empty() == b.empty() ? 0 : (a.empty() ? 1 : -1);
  const auto pa = splitDots(a);
  const auto pb = splitDots(b);
  for (std::size_t i = 0; i < pa.size() && i < pb.size(); ++i) {
    const bool na = allDigits(pa[i]);
    const bool nb = allDigits(pb[i]);
    int c = 0;
    if (na && nb) {
      c = compareNumeric(pa[i], pb[i]);
    } else if (na != nb) {
      c = na ? -1 : 1;   // numeric identifiers have lower precedence than alphanumeric ones
    } else {
      const int t = pa[i].compare(pb[i]);   // ASCII order
      c = t < 0 ? -1 : (t > 0 ? 1 : 0);
    }
    if (c != 0) return c;
  }
  if (pa.size() == pb.size()) return 0;
  return pa.size() < pb.size() ? -1 : 1;
}

int compareInt(int a, int b) { return a < b ? -1 : (a > b ? 1 : 0); }

}  // namespace

std::optional<SemVer> parseSemVer(std::string_view text) {
  if (text.empty() || text.size() > kMaxVersionLength) return std::nullopt;
  std::string_view core = text;
  std::string_view pre;
  const std::size_t dash = text.find('-');
  if (dash != std::string_view::npos) {
    core = text.substr(0, dash);
    pre = text.substr(dash + 1);
    if (pre.empty()) return std::nullopt;
  }
  const auto numbers = splitDots(core);
  if (numbers.size() != 3) return std::nullopt;
  SemVer v;
  int* fields[3] = {&v.major, &v.minor, &v.patch};
  for (std::size_t i = 0; i < 3; ++i) {
    const auto n = parseDecimal(numbers[i], 9);
    if (!n) return std::nullopt;
    *fields[i] = static_cast<int>(*n);
  }
  if (!pre.empty()) {
    for (std::string_view id : splitDots(pre)) {
      if (id.empty()) return std::nullopt;
      for (char c : id) {
        if (!isIdentifierChar(c)) return std::nullopt;   // also refuses '+' (build metadata)
      }
      if (allDigits(id) && id.size() > 1 && id[0] == '0') return std::nullopt;
    }
    v.prerelease = std::string(pre);
  }
  return v;
}

std::string toString(const SemVer& v) {
  std::string out = std::to_string(v.major) + '.' + std::to_string(v.minor) + '.' + std::to_string(v.patch);
  if (!v.prerelease.empty()) out += '-' + v.prerelease;
  return out;
}

int compare(const SemVer& a, const SemVer& b) {
  if (int c = compareInt(a.major, b.major)) return c;
  if (int c = compareInt(a.minor, b.minor)) return c;
  if (int c = compareInt(a.patch, b.patch)) return c;
  return comparePrerelease(a.prerelease, b.prerelease);
}

}  // namespace gatehouse::core::signing
