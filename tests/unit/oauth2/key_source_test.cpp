// KeySource (discovery, JWKS fetching, cooldown, single flight, stale keys) and ResourceServer
// (verification, unknown-kid refresh, token cache) against a fake HTTP layer. The real IdP is
// exercised by tests/integration/test_oauth2_idp.py.
#include <gtest/gtest.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gatehouse/kit/codec.h"
#include "gatehouse/oauth2/key_source.h"
#include "gatehouse/oauth2/resource_server.h"

namespace gatehouse::oauth2 {
using kit::base64UrlDecode;   // the kit's codec (kit/codec.h)
using kit::base64UrlEncode;
}  // namespace gatehouse::oauth2

namespace gatehouse::oauth2 {
namespace {

const std::string kIssuer = "https://idp.example/realms/site";
const std::string kJwksUrl = "https://idp.example/realms/site/certs";
const std::string kDiscoveryUrl = kIssuer + "/.well-known/openid-configuration";
const std::string kIntrospectionUrl = "https://idp.example/realms/site/introspect";

// An ES256 key made for this test run (never stored).
struct EcKey {
  std::shared_ptr<EVP_PKEY> key;
  std::string kid;

  explicit EcKey(std::string id) : key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_free), kid(std::move(id)) {
    if (!key) throw std::runtime_error("P-256 key generation failed");
  }

  std::string coordinate(const char* name) const {
    BIGNUM* bn = nullptr;
    EVP_PKEY_get_bn_param(key.get(), name, &bn);
    std::string out(32, '\0');
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), 32);
    BN_free(bn);
    return base64UrlEncode(out);
  }

  std::string jwk() const {
    return R"({"kty":"EC","crv":"P-256","use":"sig","alg":"ES256","kid":")" + kid + R"(","x":")" +
           coordinate(OSSL_PKEY_PARAM_EC_PUB_X) + R"(","y":")" + coordinate(OSSL_PKEY_PARAM_EC_PUB_Y) + R"("})";
  }

  // A compact JWS over `claims` with header {"alg":"ES256","typ":"at+jwt","kid":kid}.
  std::string sign(const std::string& claims, const std::string& headerKid) const {
    const std::string input = base64UrlEncode(R"({"alg":"ES256","typ":"at+jwt","kid":")" + headerKid + R"("})") + "." +
                              base64UrlEncode(claims);
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    std::size_t derSize = 0;
    EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get());
    EVP_DigestSign(ctx.get(), nullptr, &derSize, reinterpret_cast<const unsigned char*>(input.data()), input.size());
    std::vector<unsigned char> der(derSize);
    EVP_DigestSign(ctx.get(), der.data(), &derSize, reinterpret_cast<const unsigned char*>(input.data()), input.size());
    const unsigned char* p = der.data();
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(derSize));
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    ECDSA_SIG_free(sig);
    return input + "." + base64UrlEncode(raw);
  }
};

std::string claimsFor(std::int64_t exp, const std::string& audience = "gatehouse") {
  return R"({"iss":")" + kIssuer + R"(","aud":")" + audience + R"(","sub":"app-1","jti":"j-1","exp":)" +
         std::to_string(exp) + R"(,"iat":1000,"client_id":"reader","realm_access":{"roles":["reader","operator"]}})";
}

// The fake IdP: answers discovery and JWKS from fields the test changes; counts requests.
struct FakeIdp {
  std::mutex mu;
  std::string discoveryIssuer = kIssuer;
  std::string jwks;
  int jwksStatus = 200;
  std::string jwksError;
  std::chrono::milliseconds jwksDelay{0};
  std::atomic<int> discoveryFetches{0}, jwksFetches{0};

  HttpGet get() {
    return [this](const std::string& url, std::size_t maxBytes) {
      HttpAnswer a;
      if (url == kDiscoveryUrl) {
        ++discoveryFetches;
        std::lock_guard lock(mu);
        a.status = 200;
        a.body = R"({"issuer":")" + discoveryIssuer + R"(","jwks_uri":")" + kJwksUrl +
                 R"(","introspection_endpoint":")" + kIntrospectionUrl + R"("})";
        return a;
      }
      if (url == kJwksUrl) {
        ++jwksFetches;
        std::this_thread::sleep_for(jwksDelay);
        std::lock_guard lock(mu);
        a.status = jwksStatus;
        a.error = jwksError;
        a.body = jwks.size() > maxBytes ? std::string() : jwks;
        if (jwks.size() > maxBytes) a.error = "too large";
        return a;
      }
      a.status = 404;
      return a;
    };
  }
  void setKeys(const std::vector<const EcKey*>& keys) {
    std::string body = R"({"keys":[)";
    for (std::size_t i = 0; i < keys.size(); ++i) body += (i ? "," : "") + keys[i]->jwk();
    std::lock_guard lock(mu);
    jwks = body + "]}";
  }
};

KeySourceOptions fastOptions() {
  KeySourceOptions o;
  o.issuer = kIssuer;
  o.refreshCooldown = std::chrono::milliseconds(0);
  return o;
}

TEST(KeySource, StartsFromDiscoveryAndServesTheKeys) {
  EcKey k1("k1");
  FakeIdp idp;
  idp.setKeys({&k1});
  KeySource source(fastOptions(), idp.get());
  EXPECT_EQ(source.start(), "");
  ASSERT_NE(source.current(), nullptr);
  EXPECT_NE(source.current()->find("k1"), nullptr);
  EXPECT_EQ(idp.discoveryFetches.load(), 1);
  EXPECT_EQ(idp.jwksFetches.load(), 1);
}

TEST(KeySource, RefusesADiscoveryDocumentForAnotherIssuer) {   // A17, A10
  EcKey k1("k1");
  for (const std::string& other : std::vector<std::string>{kIssuer + "/", "http://idp.example/realms/site",
                                                            "https://idp.example/realms/other"}) {
    FakeIdp idp;
    idp.setKeys({&k1});
    idp.discoveryIssuer = other;
    KeySource source(fastOptions(), idp.get());
    const std::string error = source.start();
    EXPECT_NE(error.find("another issuer"), std::string::npos) << other << ": " << error;
    EXPECT_EQ(source.current(), nullptr);
    EXPECT_EQ(idp.jwksFetches.load(), 0);
  }
}

TEST(KeySource, RefusesFailedOrOversizedJwksAnswers) {   // A17
  EcKey k1("k1");
  FakeIdp idp;
  idp.setKeys({&k1});
  idp.jwksStatus = 302;
  KeySource redirected(fastOptions(), idp.get());
  EXPECT_NE(redirected.start().find("HTTP status 302"), std::string::npos);
  EXPECT_EQ(redirected.current(), nullptr);

  FakeIdp big;
  big.jwks = R"({"keys":[)" + k1.jwk() + R"(],"pad":")" + std::string(1 << 20, 'a') + R"("})";
  KeySource oversized(fastOptions(), big.get());
  EXPECT_NE(oversized.start(), "");
  EXPECT_EQ(oversized.current(), nullptr);

  FakeIdp tls;
  tls.setKeys({&k1});
  tls.jwksError = "certificate verify failed";
  KeySource tlsFailed(fastOptions(), tls.get());
  EXPECT_NE(tlsFailed.start().find("certificate verify failed"), std::string::npos);
  EXPECT_EQ(tlsFailed.current(), nullptr);
}

TEST(KeySource, OnlyHttpsOrLoopbackHttpWhenAllowed) {
  KeySourceOptions o;
  EXPECT_EQ(checkFetchUrl("https://idp.example/x", o), "");
  EXPECT_NE(checkFetchUrl("http://127.0.0.1:8080/x", o), "");
  EXPECT_NE(checkFetchUrl("ftp://idp.example/x", o), "");
  o.allowInsecureLoopback = true;
  EXPECT_EQ(checkFetchUrl("http://127.0.0.1:8080/x", o), "");
  EXPECT_EQ(checkFetchUrl("http://127.3.4.5/x", o), "");
  EXPECT_EQ(checkFetchUrl("http://[::1]:8080/x", o), "");
  EXPECT_EQ(checkFetchUrl("http://localhost/x", o), "");
  EXPECT_NE(checkFetchUrl("http://10.0.0.1/x", o), "");
  EXPECT_NE(checkFetchUrl("http://idp.example/x", o), "");
  EXPECT_NE(checkFetchUrl("http://127.0.0.1.evil.example/x", o), "");
}

TEST(KeySource, RefreshesAtMostOncePerCooldown) {
  EcKey k1("k1");
  FakeIdp idp;
  idp.setKeys({&k1});
  KeySourceOptions o = fastOptions();
  o.refreshCooldown = std::chrono::milliseconds(300);
  KeySource source(o, idp.get());
  ASSERT_EQ(source.start(), "");
  for (int i = 0; i < 50; ++i) (void)source.refreshForUnknownKid();
  EXPECT_EQ(idp.jwksFetches.load(), 1);   // the start's fetch is less than a cooldown ago
  std::this_thread::sleep_for(std::chrono::milliseconds(350));
  for (int i = 0; i < 50; ++i) (void)source.refreshForUnknownKid();
  EXPECT_EQ(idp.jwksFetches.load(), 2);
}

TEST(KeySource, ConcurrentRefreshesShareOneFetch) {   // single flight
  EcKey k1("k1");
  FakeIdp idp;
  idp.setKeys({&k1});
  KeySource source(fastOptions(), idp.get());
  ASSERT_EQ(source.start(), "");
  idp.jwksDelay = std::chrono::milliseconds(200);
  const int before = idp.jwksFetches.load();
  std::vector<std::thread> threads;
  std::atomic<int> withKeys{0};
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      if (source.refreshForUnknownKid()) ++withKeys;
    });
  }
  for (auto& t : threads) t.join();
  // Cooldown 0: the threads that arrive after the shared fetch ended may start one more, but
  // never one each.
  EXPECT_LE(idp.jwksFetches.load() - before, 3);
  EXPECT_GE(idp.jwksFetches.load() - before, 1);
  EXPECT_EQ(withKeys.load(), 16);
}

TEST(KeySource, KeepsTheLastGoodKeysForABoundedTime) {   // A17
  EcKey k1("k1");
  FakeIdp idp;
  idp.setKeys({&k1});
  KeySourceOptions o = fastOptions();
  o.staleKeysMaxAge = std::chrono::milliseconds(300);
  KeySource source(o, idp.get());
  ASSERT_EQ(source.start(), "");
  idp.jwksStatus = 503;   // the IdP goes down
  EXPECT_NE(source.refreshForUnknownKid(), nullptr);   // still the last good keys
  EXPECT_EQ(source.stats().failures, 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(350));
  EXPECT_EQ(source.current(), nullptr);   // too old: refuse rather than fail open
  idp.jwksStatus = 200;
  EXPECT_NE(source.refreshForUnknownKid(), nullptr);   // the IdP is back
}

ResourceServerOptions serverOptions() {
  ResourceServerOptions o;
  o.issuer = kIssuer;
  o.audience = "gatehouse";
  return o;
}

TEST(ResourceServer, AcceptsAValidTokenAndCachesIt) {
  EcKey k1("k1");
  FakeIdp idp;
  idp.setKeys({&k1});
  auto source = std::make_shared<KeySource>(fastOptions(), idp.get());
  ASSERT_EQ(source->start(), "");
  ResourceServer server(serverOptions(), source);
  const std::string token = k1.sign(claimsFor(5000), "k1");
  Authentication a = server.authenticate(token, 2000);
  ASSERT_TRUE(a.principal) << a.error;
  EXPECT_EQ(a.principal->subject, "app-1");
  EXPECT_EQ(a.principal->roles, (std::vector<std::string>{"reader", "operator"}));
  Authentication again = server.authenticate(token, 2001);
  ASSERT_TRUE(again.principal);
  EXPECT_EQ(again.principal, a.principal);   // the same cached principal
  EXPECT_EQ(server.stats().cacheHits, 1u);
  EXPECT_EQ(server.stats().verified, 1u);
  // Past exp + leeway the cached entry is refused too.
  EXPECT_FALSE(server.authenticate(token, 5000 + 31).principal);
}

TEST(ResourceServer, RefusesBadTokensAndDoesNotCacheThem) {
  EcKey k1("k1"), attacker("k1");   // the attacker reuses the real kid
  FakeIdp idp;
  idp.setKeys({&k1});
  auto source = std::make_shared<KeySource>(fastOptions(), idp.get());
  ASSERT_EQ(source->start(), "");
  ResourceServer server(serverOptions(), source);
  EXPECT_FALSE(server.authenticate(attacker.sign(claimsFor(5000), "k1"), 2000).principal);
  EXPECT_FALSE(server.authenticate(k1.sign(claimsFor(5000, "other"), "k1"), 2000).principal);
  EXPECT_FALSE(server.authenticate(k1.sign(claimsFor(1000), "k1"), 2000).principal);   // expired
  EXPECT_EQ(server.stats().cached, 0u);
  EXPECT_EQ(server.stats().refused, 3u);
}

TEST(ResourceServer, RotatedKeysAreFetchedOnTheirFirstToken) {
  EcKey k1("k1"), k2("k2");
  FakeIdp idp;
  idp.setKeys({&k1});
  auto source = std::make_shared<KeySource>(fastOptions(), idp.get());
  ASSERT_EQ(source->start(), "");
  ResourceServer server(serverOptions(), source);
  idp.setKeys({&k2});   // the IdP rotates
  Authentication a = server.authenticate(k2.sign(claimsFor(5000), "k2"), 2000);
  EXPECT_TRUE(a.principal) << a.error;
  EXPECT_EQ(idp.jwksFetches.load(), 2);
}

TEST(ResourceServer, AThousandUnknownKidsCostOneFetchPerCooldown) {   // A4
  EcKey k1("k1"), k2("k2");
  FakeIdp idp;
  idp.setKeys({&k1});
  KeySourceOptions o = fastOptions();
  o.refreshCooldown = std::chrono::milliseconds(60000);
  auto source = std::make_shared<KeySource>(o, idp.get());
  ASSERT_EQ(source->start(), "");
  ResourceServer server(serverOptions(), source);
  std::mt19937_64 rng(42);
  for (int i = 0; i < 1000; ++i) {
    const std::string kid = "random-" + std::to_string(rng());
    EXPECT_FALSE(server.authenticate(k1.sign(claimsFor(5000), kid), 2000).principal);
  }
  EXPECT_EQ(idp.jwksFetches.load(), 1);   // only the start's fetch: every refresh fell in the cooldown
  // With the cooldown over, a really rotated key works.
  KeySourceOptions quick = fastOptions();
  auto rotating = std::make_shared<KeySource>(quick, idp.get());
  ASSERT_EQ(rotating->start(), "");
  ResourceServer fresh(serverOptions(), rotating);
  idp.setKeys({&k1, &k2});
  EXPECT_TRUE(fresh.authenticate(k2.sign(claimsFor(5000), "k2"), 2000).principal);
}

// RFC 7662: the fake endpoint answers from a table token -> JSON, and records what it was sent.
struct FakeIntrospection {
  std::map<std::string, std::string> answers;   // form body -> JSON answer
  std::vector<std::string> authorizations;
  int calls = 0;
  HttpPost post() {
    return [this](const std::string& url, const std::string& form, const std::string& authorization, std::size_t) {
      HttpAnswer a;
      ++calls;
      authorizations.push_back(authorization);
      if (url != kIntrospectionUrl) {
        a.status = 404;
        return a;
      }
      a.status = 200;
      auto it = answers.find(form);
      a.body = it == answers.end() ? R"({"active":false})" : it->second;
      return a;
    };
  }
};

std::string introspected(std::int64_t exp, const std::string& audience = "gatehouse") {
  return R"({"active":true,"iss":")" + kIssuer + R"(","aud":")" + audience + R"(","sub":"app-2","client_id":"opaque",)" +
         R"("exp":)" + std::to_string(exp) + R"(,"iat":1000,"realm_access":{"roles":["reader"]},"token_type":"Bearer"})";
}

ResourceServerOptions introspectingOptions() {
  ResourceServerOptions o = serverOptions();
  o.introspectionClientId = "gate house";   // a space: must be form-encoded in Basic (RFC 6749 2.3.1)
  o.introspectionClientSecret = "s3cr:t";
  return o;
}

TEST(ResourceServer, OpaqueTokensAreIntrospected) {   // A18
  EcKey k1("k1");
  FakeIdp idp;
  idp.setKeys({&k1});
  auto source = std::make_shared<KeySource>(fastOptions(), idp.get());
  ASSERT_EQ(source->start(), "");
  EXPECT_EQ(source->introspectionEndpoint(), kIntrospectionUrl);
  FakeIntrospection is;
  is.answers["token=opaque%2Fone&token_type_hint=access_token"] = introspected(5000);
  is.answers["token=other-aud&token_type_hint=access_token"] = introspected(5000, "someone-else");
  ResourceServer server(introspectingOptions(), source, is.post());

  Authentication a = server.authenticate("opaque/one", 2000);
  ASSERT_TRUE(a.principal) << a.error;
  EXPECT_EQ(a.principal->subject, "app-2");
  EXPECT_EQ(a.principal->roles, std::vector<std::string>{"reader"});
  ASSERT_EQ(is.authorizations.size(), 1u);
  // base64("gate%20house:s3cr%3At")
  EXPECT_EQ(is.authorizations[0], "Basic Z2F0ZSUyMGhvdXNlOnMzY3IlM0F0");

  EXPECT_FALSE(server.authenticate("revoked-or-unknown", 2000).principal);   // {"active":false}
  EXPECT_FALSE(server.authenticate("other-aud", 2000).principal);            // same claim checks as a JWT
  EXPECT_EQ(server.stats().introspected, 3u);
}

TEST(ResourceServer, AnIntrospectedTokenIsCachedNoLongerThanItsLifeAndTheCap) {   // A18
  EcKey k1("k1");
  FakeIdp idp;
  idp.setKeys({&k1});
  auto source = std::make_shared<KeySource>(fastOptions(), idp.get());
  ASSERT_EQ(source->start(), "");
  FakeIntrospection is;
  is.answers["token=short&token_type_hint=access_token"] = introspected(2010);
  is.answers["token=long&token_type_hint=access_token"] = introspected(9000);
  ResourceServer server(introspectingOptions(), source, is.post());
  ASSERT_TRUE(server.authenticate("short", 2000).principal);
  ASSERT_TRUE(server.authenticate("short", 2005).principal);
  EXPECT_EQ(is.calls, 1);   // cached
  // Past its exp the cache no longer answers: the IdP is asked again. Within the leeway (30 s,
  // clock skew) the answer still passes, as a JWT's would; beyond it, it is refused.
  EXPECT_TRUE(server.authenticate("short", 2011).principal);
  EXPECT_EQ(is.calls, 2);
  EXPECT_FALSE(server.authenticate("short", 2041).principal);
  EXPECT_EQ(is.calls, 3);
  // A long-lived token is asked again after the cap (60 s), so a revocation shows within a minute.
  ASSERT_TRUE(server.authenticate("long", 2000).principal);
  ASSERT_TRUE(server.authenticate("long", 2059).principal);
  const int before = is.calls;
  is.answers["token=long&token_type_hint=access_token"] = R"({"active":false})";   // revoked
  EXPECT_FALSE(server.authenticate("long", 2061).principal);
  EXPECT_EQ(is.calls, before + 1);
}

TEST(ResourceServer, WithoutIntrospectionOpaqueTokensAreRefusedWithoutAsking) {
  EcKey k1("k1");
  FakeIdp idp;
  idp.setKeys({&k1});
  auto source = std::make_shared<KeySource>(fastOptions(), idp.get());
  ASSERT_EQ(source->start(), "");
  FakeIntrospection is;
  is.answers["token=opaque&token_type_hint=access_token"] = introspected(5000);
  ResourceServer server(serverOptions(), source, is.post());   // no client id: off
  EXPECT_FALSE(server.authenticate("opaque", 2000).principal);
  EXPECT_EQ(is.calls, 0);
}

}  // namespace
}  // namespace gatehouse::oauth2
