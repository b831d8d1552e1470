// Path canonicalisation before authorization (SECURITY-CHECKLIST A15 at library level).

#include "gatehouse/oauth2/path.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gatehouse::oauth2 {
namespace {

using Segs = std::vector<std::string>;

Segs segsOf(std::string_view raw) {
  auto r = canonicalisePath(raw);
  EXPECT_TRUE(r.ok.has_value()) << "path " << raw << " refused: " << r.error;
  EXPECT_EQ(r.ok.has_value(), r.error.empty());
  return r.ok ? r.ok->segments : Segs{"<refused>"};
}

// Returns the error (and checks that one was produced).
std::string errorOf(std::string_view raw) {
  auto r = canonicalisePath(raw);
  EXPECT_FALSE(r.ok.has_value()) << "path accepted: " << (r.ok ? toString(*r.ok) : "");
  EXPECT_FALSE(r.error.empty());
  return r.error;
}

TEST(CanonicalisePath, PlainPathIsSplitIntoSegments) {
  EXPECT_EQ(segsOf("/sensinact/providers/p1"), (Segs{"sensinact", "providers", "p1"}));
  EXPECT_EQ(segsOf("/"), Segs{});
}

TEST(CanonicalisePath, SpellingsOfTheSamePathGiveTheSameSegments) {
  const Segs admin{"sensinact", "providers", "admin"};
  for (const char* raw : {"/sensinact/providers/admin", "/sensinact/providers/x/../admin",
                          "/sensinact/./providers/./admin", "//sensinact//providers///admin",
                          "/sensinact/providers/admin/", "/sensinact/providers/admin//",
                          "/sensinact/providers/%61dmin", "/sensinact/providers/%61%64%6D%69%6E",
                          "/sensinact/providers/admin;jsessionid=42", "/sensinact;v=1/providers;x/admin;a;b",
                          "/sensinact/providers/a/b/c/../../../admin"}) {
    EXPECT_EQ(segsOf(raw), admin) << raw;
  }
}

TEST(CanonicalisePath, CaseIsKept) {
  EXPECT_EQ(segsOf("/sensinact/providers/Admin"), (Segs{"sensinact", "providers", "Admin"}));
  EXPECT_NE(segsOf("/ADMIN"), segsOf("/admin"));
}

TEST(CanonicalisePath, EncodedSlashStaysInsideItsSegment) {
  EXPECT_EQ(segsOf("/sensinact/providers/a%2Fb"), (Segs{"sensinact", "providers", "a/b"}));
  EXPECT_EQ(segsOf("/a%2f..%2fadmin"), (Segs{"a/../admin"}));
}

TEST(CanonicalisePath, DecodesExactlyOnce) {
  EXPECT_EQ(segsOf("/%2561dmin"), (Segs{"%61dmin"}));
  EXPECT_EQ(segsOf("/%252e%252e/admin"), (Segs{"%2e%2e", "admin"}));
  EXPECT_EQ(segsOf("/a%3Bb"), (Segs{"a;b"}));  // an encoded ';' is a character, not a parameter
  EXPECT_EQ(segsOf("/caf%C3%A9"), (Segs{"caf\xC3\xA9"}));
}

TEST(CanonicalisePath, EncodedDotSegmentsAreRefusedNotResolved) {
  for (const char* raw : {"/x/%2e%2e/admin", "/x/%2E%2E/admin", "/x/.%2e/admin", "/x/%2e./admin", "/%2e/admin",
                          "/%2e%2e"}) {
    EXPECT_NE(errorOf(raw).find("encoded dot segment"), std::string::npos) << raw;
  }
}

TEST(CanonicalisePath, DotDotAboveTheRootIsAnError) {
  for (const char* raw : {"/..", "/../admin", "/x/../../admin", "/./../admin"}) {
    EXPECT_NE(errorOf(raw).find("above the root"), std::string::npos) << raw;
  }
}

TEST(CanonicalisePath, ParametersOnDotSegmentsOrAloneAreRefused) {
  EXPECT_NE(errorOf("/x/..;/admin").find("dot segment"), std::string::npos);
  EXPECT_NE(errorOf("/x/.;a=1/admin").find("dot segment"), std::string::npos);
  EXPECT_NE(errorOf("/;jsessionid=1/admin").find("only ';' parameters"), std::string::npos);
}

TEST(CanonicalisePath, NulAndControlCharactersAreRefused) {
  EXPECT_NE(errorOf("/admin%00").find("NUL"), std::string::npos);
  EXPECT_NE(errorOf("/ad%00min").find("NUL"), std::string::npos);
  EXPECT_NE(errorOf("/a%0Ab").find("control"), std::string::npos);
  EXPECT_NE(errorOf("/a%7Fb").find("control"), std::string::npos);
  EXPECT_NE(errorOf(std::string_view("/ad\0min", 7)).find("control"), std::string::npos);
  EXPECT_NE(errorOf("/a\tb").find("control"), std::string::npos);
}

TEST(CanonicalisePath, BadEscapesAreRefused) {
  for (const char* raw : {"/%", "/a%4", "/%zz", "/%4g", "/%%41", "/a%"}) {
    EXPECT_NE(errorOf(raw).find("two hexadecimal digits"), std::string::npos) << raw;
  }
}

TEST(CanonicalisePath, InvalidUtf8IsRefused) {
  for (const char* raw : {"/%FF", "/%C0%AF", "/%E0%80%AF", "/%ED%A0%80", "/%F4%90%80%80", "/%C3", "/\xC3",
                          "/\xC3(", "/%F8%88%80%80%80"}) {
    EXPECT_NE(errorOf(raw).find("UTF-8"), std::string::npos) << raw;
  }
  EXPECT_EQ(segsOf("/%F0%9F%98%80"), (Segs{"\xF0\x9F\x98\x80"}));
}

TEST(CanonicalisePath, BackslashQueryAndFragmentCharactersAreRefused) {
  EXPECT_NE(errorOf("/x\\..\\admin").find("backslash"), std::string::npos);
  EXPECT_NE(errorOf("/x%5C..%5Cadmin").find("backslash"), std::string::npos);
  EXPECT_NE(errorOf("/admin?x=1").find("query"), std::string::npos);
  EXPECT_NE(errorOf("/admin#frag").find("'#'"), std::string::npos);
}

TEST(CanonicalisePath, MustStartWithSlash) {
  for (const char* raw : {"", "admin", "*", "http://host/admin", "./admin"}) {
    EXPECT_NE(errorOf(raw).find("must start with '/'"), std::string::npos) << raw;
  }
}

TEST(CanonicalisePath, LengthAndSegmentLimits) {
  std::string longest = "/" + std::string(kMaxPathBytes - 1, 'a');
  EXPECT_EQ(segsOf(longest).size(), 1u);
  EXPECT_NE(errorOf(longest + "a").find("limit is 4096"), std::string::npos);

  std::string many;
  for (std::size_t i = 0; i < kMaxPathSegments; ++i) many += "/s";
  EXPECT_EQ(segsOf(many).size(), kMaxPathSegments);
  EXPECT_NE(errorOf(many + "/s").find("more than 64 segments"), std::string::npos);
  // Dot segments count too, so "/a/.." repeated cannot run unbounded.
  std::string dots;
  for (std::size_t i = 0; i < 33; ++i) dots += "/a/..";
  EXPECT_NE(errorOf(dots).find("more than 64 segments"), std::string::npos);
  // Empty segments do not count (they cost nothing) but the byte limit still holds.
  EXPECT_EQ(segsOf(std::string(200, '/') + "a"), Segs{"a"});
}

TEST(CanonicalPathToString, JoinsAndEncodesWhatWouldChangeMeaning) {
  EXPECT_EQ(toString(CanonicalPath{}), "/");
  EXPECT_EQ(toString(CanonicalPath{{"sensinact", "providers"}}), "/sensinact/providers");
  EXPECT_EQ(toString(CanonicalPath{{"a/b", "50%", "x;y", "q?", "h#"}}), "/a%2Fb/50%25/x%3By/q%3F/h%23");
}

TEST(CanonicalPathToString, RoundTripsThroughCanonicalisation) {
  for (const char* raw : {"/sensinact/providers/a%2Fb", "/%2561dmin", "/a%3Bb/c", "/caf%C3%A9/%3F%23",
                          "/..x/x..", "/%2e%2ex"}) {
    auto first = canonicalisePath(raw);
    ASSERT_TRUE(first.ok) << raw << ": " << first.error;
    auto second = canonicalisePath(toString(*first.ok));
    ASSERT_TRUE(second.ok) << toString(*first.ok) << ": " << second.error;
    EXPECT_EQ(*second.ok, *first.ok) << raw;
  }
}

}  // namespace
}  // namespace gatehouse::oauth2
