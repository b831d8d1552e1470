// Semantic version parsing and precedence (semver.org 2.0 section 11), which decides rollback.

#include "signing/semver.h"

#include <gtest/gtest.h>

#include <vector>

namespace gatehouse::core::signing {
namespace {

SemVer v(const char* text) {
  auto parsed = parseSemVer(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(SemVer{});
}

TEST(SemVer, ParsesAndPrints) {
  const SemVer a = v("1.22.333-rc.1.x-y");
  EXPECT_EQ(a.major, 1);
  EXPECT_EQ(a.minor, 22);
  EXPECT_EQ(a.patch, 333);
  EXPECT_EQ(a.prerelease, "rc.1.x-y");
  for (const char* text : {"0.0.0", "1.2.3", "10.20.30", "1.0.0-alpha", "1.0.0-0.3.7", "1.0.0-x.7.z.92", "999999999.0.0"}) {
    EXPECT_EQ(toString(v(text)), text);
  }
}

TEST(SemVer, RefusesInvalidText) {
  for (const char* text : {"", "1", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03", "-1.2.3", "1.2.3-", "1.2.3-01",
                           "1.2.3-a..b", "1.2.3-.a", "1.2.3-a.", "1.2.3+build", "1.2.3-rc+build", "1.2.3-a_b", "v1.2.3",
                           " 1.2.3", "1.2.3 ", "1000000000.0.0", "1..3", "a.b.c", "1.2.3-\xc3\xa9"}) {
    EXPECT_FALSE(parseSemVer(text).has_value()) << '"' << text << '"';
  }
  EXPECT_FALSE(parseSemVer("1.0.0-" + std::string(200, 'a')).has_value());
}

TEST(SemVer, PrecedenceFollowsTheSpec) {
  // Each is lower than every later one (the spec's example chain, extended).
  const std::vector<const char*> ordered = {
      "0.9.99",          "1.0.0-0",       "1.0.0-1",     "1.0.0-2",         "1.0.0-10",     "1.0.0-99999999999999999999",
      "1.0.0-100000000000000000000",      "1.0.0-alpha", "1.0.0-alpha.1",   "1.0.0-alpha.beta", "1.0.0-beta",
      "1.0.0-beta.2",    "1.0.0-beta.11", "1.0.0-rc.1",  "1.0.0",           "1.0.1",        "1.1.0",
      "1.10.0",          "2.0.0",         "10.0.0"};
  for (std::size_t i = 0; i < ordered.size(); ++i) {
    EXPECT_EQ(compare(v(ordered[i]), v(ordered[i])), 0) << ordered[i];
    for (std::size_t j = i + 1; j < ordered.size(); ++j) {
      EXPECT_LT(compare(v(ordered[i]), v(ordered[j])), 0) << ordered[i] << " < " << ordered[j];
      EXPECT_GT(compare(v(ordered[j]), v(ordered[i])), 0) << ordered[j] << " > " << ordered[i];
    }
  }
  EXPECT_LT(compare(v("1.0.0-A"), v("1.0.0-a")), 0);   // ASCII order
  EXPECT_LT(compare(v("1.0.0-a.b"), v("1.0.0-a-b")), 0);   // "a" < "a-b", decided before ".b" counts
}

}  // namespace
}  // namespace gatehouse::core::signing
