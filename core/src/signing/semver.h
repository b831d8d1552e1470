#pragma once
// Semantic versions (semver.org 2.0) as plugins carry them in their signed manifest, and their
// precedence, which decides rollback (an older version than the high-water mark is refused).
//
// Threads: plain values and pure functions; any thread.

#include <optional>
#include <string>
#include <string_view>

namespace gatehouse::core::signing {

struct SemVer {
  int major = 0;
  int minor = 0;
  int patch = 0;
  std::string prerelease;   // without the '-'; empty for a release
  bool operator==(const SemVer&) const = default;
};

// "MAJOR.MINOR.PATCH" or "MAJOR.MINOR.PATCH-PRERELEASE". Numbers are decimal digits without
// leading zeros (except "0") and at most 9 digits; the prerelease is dot-separated non-empty
// identifiers of [0-9A-Za-z-], numeric ones without leading zeros. Build metadata ("+...") is
// refused: it has no precedence, so two different builds would look like the same version.
// At most 128 characters. nullopt when the text is not such a version.
std::optional<SemVer> parseSemVer(std::string_view text);

std::string toString(const SemVer& v);

// Precedence per semver 2.0 section 11: <0 when a < b, 0 when equal, >0 when a > b.
// 1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0-alpha.beta < 1.0.0-beta < 1.0.0-rc.1 < 1.0.0.
int compare(const SemVer& a, const SemVer& b);

}  // namespace gatehouse::core::signing
