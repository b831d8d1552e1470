// checkClaims on already-verified tokens (built here from JSON text): A7-A12 of
// shared/SECURITY-CHECKLIST.md part A, role extraction, and that errors never echo claim values.

#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "gatehouse/oauth2/claims.h"

namespace gatehouse::oauth2 {
namespace {

constexpr std::int64_t kNow = 1700000000;
const std::string kIss = "https://idp.example/realms/plant";

Json json(const std::string& text) {
  auto r = kit::parseJson(text, kit::JsonLimits{16384, 16});
  if (!r) throw std::runtime_error("test JSON does not parse: " + r.message());
  return *r;
}

JwsVerified tok(const std::string& payload, const std::string& header = R"({"alg":"RS256","typ":"at+jwt"})") {
  return JwsVerified{json(header), json(payload), "", Alg::RS256};
}

ClaimRules rules() {
  ClaimRules r;
  r.issuer = kIss;
  r.audience = "gatehouse";
  r.leewayS = 30;
  r.now = kNow;
  r.roleClaims = {"realm_access.roles", "resource_access.gatehouse.roles", "scope", "groups"};
  return r;
}

// A payload with everything valid; `extra` is appended as more members, `drop` removes one.
std::string payload(const std::string& extra = "", const std::string& drop = "") {
  std::vector<std::pair<std::string, std::string>> members = {
      {"iss", "\"" + kIss + "\""}, {"aud", "\"gatehouse\""},      {"sub", "\"user-1\""},
      {"jti", "\"j-1\""},          {"exp", std::to_string(kNow + 300)}, {"iat", std::to_string(kNow - 10)},
      {"azp", "\"console\""}};
  std::string out = "{";
  for (const auto& [k, v] : members) {
    if (k == drop || extra.find("\"" + k + "\":") != std::string::npos) continue;  // extra overrides
    out += (out.size() > 1 ? "," : "") + ("\"" + k + "\":" + v);
  }
  if (!extra.empty()) out += (out.size() > 1 ? "," : "") + extra;
  return out + "}";
}

ClaimsResult check(const std::string& p, const std::string& header = R"({"alg":"RS256","typ":"at+jwt"})",
                   ClaimRules r = rules()) {
  return checkClaims(tok(p, header), r);
}

void expectRefused(const std::string& p, const std::string& errorPart, const std::string& header = R"({"alg":"RS256"})") {
  ClaimsResult r = check(p, header);
  EXPECT_FALSE(r.ok) << p;
  EXPECT_NE(r.error.find(errorPart), std::string::npos) << p << " -> " << r.error;
}

TEST(Claims, ValidTokenGivesPrincipal) {
  ClaimsResult r = check(payload());
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.ok->subject, "user-1");
  EXPECT_EQ(r.ok->jti, "j-1");
  EXPECT_EQ(r.ok->clientId, "console");
  EXPECT_EQ(r.ok->expires, kNow + 300);
  EXPECT_TRUE(r.ok->roles.empty());
  EXPECT_TRUE(r.error.empty());
  ClaimsResult withClientId = check(payload("\"client_id\":\"svc\""));
  ASSERT_TRUE(withClientId.ok);
  EXPECT_EQ(withClientId.ok->clientId, "svc");
}

// A7
TEST(Claims, ExpiryWithLeewayEdges) {
  EXPECT_TRUE(check(payload("\"exp\":" + std::to_string(kNow))).ok);
  EXPECT_TRUE(check(payload("\"exp\":" + std::to_string(kNow - 30))).ok);  // exactly at the leeway
  expectRefused(payload("\"exp\":" + std::to_string(kNow - 31)), "expired");
  expectRefused(payload("\"exp\":" + std::to_string(kNow - 3600)), "expired");
  expectRefused(payload("\"exp\":0"), "expired");
  expectRefused(payload("\"exp\":-1e300"), "expired");
  EXPECT_TRUE(check(payload("\"exp\":" + std::to_string(kNow - 29) + ".5")).ok);  // fractional NumericDate
  ClaimRules sixty = rules();
  sixty.leewayS = 60;
  EXPECT_TRUE(check(payload("\"exp\":" + std::to_string(kNow - 60)), R"({"alg":"RS256"})", sixty).ok);
  EXPECT_FALSE(check(payload("\"exp\":" + std::to_string(kNow - 61)), R"({"alg":"RS256"})", sixty).ok);
  ClaimRules negative = rules();
  negative.leewayS = -100;  // treated as 0, never as "expire early" or overflow
  EXPECT_TRUE(check(payload("\"exp\":" + std::to_string(kNow)), R"({"alg":"RS256"})", negative).ok);
  EXPECT_FALSE(check(payload("\"exp\":" + std::to_string(kNow - 1)), R"({"alg":"RS256"})", negative).ok);
  // A far-future exp is accepted and clamped, not overflowed.
  ClaimsResult far = check(payload("\"exp\":1e300"));
  ASSERT_TRUE(far.ok);
  EXPECT_EQ(far.ok->expires, std::numeric_limits<std::int64_t>::max());
}

// A8
TEST(Claims, ExpIsRequiredAndNumeric) {
  expectRefused(payload("", "exp"), "no exp");
  expectRefused(payload("\"exp\":\"2000000000\""), "exp");
  expectRefused(payload("\"exp\":null"), "exp");
  expectRefused(payload("\"exp\":[2000000000]"), "exp");
}

// A9
TEST(Claims, NbfAndIatInTheFutureBeyondLeeway) {
  EXPECT_TRUE(check(payload("\"nbf\":" + std::to_string(kNow + 30))).ok);
  expectRefused(payload("\"nbf\":" + std::to_string(kNow + 31)), "nbf");
  EXPECT_TRUE(check(payload("\"iat\":" + std::to_string(kNow + 30))).ok);
  expectRefused(payload("\"iat\":" + std::to_string(kNow + 31)), "iat");
  EXPECT_TRUE(check(payload("\"nbf\":" + std::to_string(kNow - 1000))).ok);
  expectRefused(payload("\"nbf\":\"0\""), "nbf");
  expectRefused(payload("\"iat\":true"), "iat");
  EXPECT_TRUE(check(payload("", "iat")).ok);  // iat is optional
}

// A10
TEST(Claims, IssuerMustMatchExactly) {
  for (const std::string& iss : {kIss + "/", std::string("http://idp.example/realms/plant"),
                                 std::string("https://idp.example/realms/other"), std::string("HTTPS://IDP.EXAMPLE/realms/plant"),
                                 std::string("https://idp.example/realms/Plant"), kIss + " ", std::string("")}) {
    expectRefused(payload("\"iss\":\"" + iss + "\""), "issuer");
  }
  expectRefused(payload("", "iss"), "iss");
  expectRefused(payload("\"iss\":[\"" + kIss + "\"]"), "iss");
  ClaimRules unset = rules();
  unset.issuer.clear();
  EXPECT_FALSE(check(payload("\"iss\":\"\""), R"({"alg":"RS256"})", unset).ok);
}

// A11
TEST(Claims, AudienceMustNameTheGateway) {
  expectRefused(payload("", "aud"), "aud");
  expectRefused(payload("\"aud\":\"other\""), "audience");
  expectRefused(payload("\"aud\":\"Gatehouse\""), "audience");
  expectRefused(payload("\"aud\":\"gatehouse \""), "audience");
  expectRefused(payload("\"aud\":[]"), "audience");
  expectRefused(payload("\"aud\":[\"account\",\"other\"]"), "audience");
  expectRefused(payload("\"aud\":[\"gatehouse\",5]"), "aud");
  expectRefused(payload("\"aud\":{\"gatehouse\":true}"), "aud");
  EXPECT_TRUE(check(payload("\"aud\":[\"account\",\"gatehouse\"]")).ok);
  EXPECT_TRUE(check(payload("\"aud\":[\"gatehouse\"]")).ok);
  ClaimRules unset = rules();
  unset.audience.clear();
  EXPECT_FALSE(check(payload("\"aud\":\"\""), R"({"alg":"RS256"})", unset).ok);
}

// A12
TEST(Claims, IdAndRefreshTokensAreRefused) {
  // Keycloak ID token: typ "ID", nonce, at_hash, header typ "JWT".
  expectRefused(payload("\"typ\":\"ID\",\"nonce\":\"n\",\"at_hash\":\"h\""), "typ", R"({"alg":"RS256","typ":"JWT"})");
  expectRefused(payload("\"nonce\":\"n\""), "nonce", R"({"alg":"RS256","typ":"JWT"})");
  expectRefused(payload("\"at_hash\":\"h\""), "at_hash", R"({"alg":"RS256"})");
  // Keycloak refresh and offline tokens.
  expectRefused(payload("\"typ\":\"Refresh\""), "typ", R"({"alg":"HS256","typ":"JWT"})");
  expectRefused(payload("\"typ\":\"Offline\""), "typ", R"({"alg":"RS256","typ":"JWT"})");
  expectRefused(payload("\"typ\":\"bearer\""), "typ");
  expectRefused(payload("\"typ\":1"), "typ");
  // Other header types.
  for (const char* h : {R"({"alg":"RS256","typ":"id+jwt"})", R"({"alg":"RS256","typ":"logout+jwt"})",
                        R"({"alg":"RS256","typ":"dpop+jwt"})", R"({"alg":"RS256","typ":""})", R"({"alg":"RS256","typ":5})"}) {
    expectRefused(payload(), "typ", h);
  }
  // Access tokens: Keycloak style (payload typ Bearer) and RFC 9068 style (header at+jwt).
  EXPECT_TRUE(check(payload("\"typ\":\"Bearer\""), R"({"alg":"RS256","typ":"JWT"})").ok);
  EXPECT_TRUE(check(payload(), R"({"alg":"RS256","typ":"jwt"})").ok);
  EXPECT_TRUE(check(payload(), R"({"alg":"RS256"})").ok);
  EXPECT_TRUE(check(payload(), R"({"alg":"RS256","typ":"AT+JWT"})").ok);
  EXPECT_TRUE(check(payload(), R"({"alg":"RS256","typ":"application/at+jwt"})").ok);
}

TEST(Claims, RolesFromEveryConfiguredPathDeduplicated) {
  std::string p = payload(R"("realm_access":{"roles":["operator","viewer"]},)"
                          R"("resource_access":{"gatehouse":{"roles":["admin","viewer"]},"other":{"roles":["root"]}},)"
                          R"("scope":"openid  profile operator","groups":["/plant/a"])");
  ClaimsResult r = check(p);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.ok->roles, (std::vector<std::string>{"operator", "viewer", "admin", "openid", "profile", "/plant/a"}));
}

TEST(Claims, RolePathsThatDoNotFitContributeNothing) {
  std::string p = payload(R"("realm_access":["operator"],"resource_access":{"gatehouse":"admin"},)"
                          R"("scope":5,"groups":[1,{"a":"b"},"ok",null])");
  ClaimsResult r = check(p);
  ASSERT_TRUE(r.ok) << r.error;
  // resource_access.gatehouse is an object member whose value is the string "admin", not .roles.
  EXPECT_EQ(r.ok->roles, (std::vector<std::string>{"ok"}));
  ClaimRules odd = rules();
  odd.roleClaims = {"", ".", "realm_access.", ".roles", "a..b", "scope.x"};
  ClaimsResult none = check(payload(R"("realm_access":{"roles":["x"]},"scope":"y")"), R"({"alg":"RS256"})", odd);
  ASSERT_TRUE(none.ok) << none.error;
  EXPECT_TRUE(none.ok->roles.empty());
}

TEST(Claims, ErrorsNeverEchoClaimValues) {
  const std::string marker = "MARKER-7f3a";
  for (const std::string& extra : {"\"iss\":\"" + marker + "\"", "\"aud\":\"" + marker + "\"", "\"typ\":\"" + marker + "\"",
                                   "\"exp\":\"" + marker + "\"", "\"nonce\":\"" + marker + "\""}) {
    ClaimsResult r = check(payload(extra), R"({"alg":"RS256","typ":"JWT"})");
    ASSERT_FALSE(r.ok) << extra;
    EXPECT_EQ(r.error.find(marker), std::string::npos) << r.error;
  }
}

// The overload a ResourceServer uses: same result as the const& one, the clock comes from the
// argument (rules.now is not read), and the principal's strings are moved out of the token.
TEST(Claims, RvalueOverloadGivesTheSamePrincipalAtTheGivenTime) {
  const std::string p = payload(R"("client_id":"a-client-id-longer-than-sso","realm_access":{"roles":["r1","r2"]})");
  ClaimsResult byRef = check(p);
  ASSERT_TRUE(byRef.ok) << byRef.error;
  ClaimRules stale = rules();
  stale.now = 0;  // must not be read
  JwsVerified t = tok(p);
  ClaimsResult moved = checkClaims(std::move(t), stale, kNow);
  ASSERT_TRUE(moved.ok) << moved.error;
  EXPECT_EQ(moved.ok->subject, byRef.ok->subject);
  EXPECT_EQ(moved.ok->jti, byRef.ok->jti);
  EXPECT_EQ(moved.ok->clientId, "a-client-id-longer-than-sso");
  EXPECT_EQ(moved.ok->expires, byRef.ok->expires);
  EXPECT_EQ(moved.ok->roles, (std::vector<std::string>{"r1", "r2"}));
  // The clock argument is the one checked: after expiry (beyond leeway) the token is refused.
  ClaimsResult late = checkClaims(tok(p), rules(), kNow + 300 + 31);
  EXPECT_FALSE(late.ok);
  EXPECT_EQ(late.error, "token expired");
  // A role path naming a moved member still sees its value (roles are read first).
  ClaimRules subAsRole = rules();
  subAsRole.roleClaims = {"sub"};
  ClaimsResult r = checkClaims(tok(p), subAsRole, kNow);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.ok->roles, (std::vector<std::string>{"user-1"}));
  EXPECT_EQ(r.ok->subject, "user-1");
}

}  // namespace
}  // namespace gatehouse::oauth2
