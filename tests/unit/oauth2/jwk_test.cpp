// KeySet::parse: which JWKs become keys, how each is pinned to one algorithm, and which are skipped.
// Also defines the test-key helpers (declared again in jws_test.cpp) that generate keys with
// OpenSSL at test time and export their public parts as JWKs: no key is ever stored in the tree.

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <stdexcept>
#include <thread>
#include <memory>
#include <string>
#include <vector>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "gatehouse/kit/codec.h"
#include "gatehouse/oauth2/jwk.h"

namespace gatehouse::oauth2 {
using kit::base64UrlDecode;   // the kit's codec (kit/codec.h)
using kit::base64UrlEncode;
}  // namespace gatehouse::oauth2

namespace gatehouse::oauth2::testkeys {

enum class Kind { Rsa2048, Rsa1024, P256, Ed25519 };

std::shared_ptr<EVP_PKEY> generate(Kind kind) {
  EVP_PKEY* key = nullptr;
  switch (kind) {
    case Kind::Rsa2048: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)); break;
    case Kind::Rsa1024: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(1024)); break;
    case Kind::P256: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"); break;
    case Kind::Ed25519: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"); break;
  }
  if (key == nullptr) throw std::runtime_error("key generation failed");
  return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free);
}

// RSA generation is slow: tests share keys by (kind, slot); different slots are different keys.
std::shared_ptr<EVP_PKEY> cached(Kind kind, int slot) {
  static std::map<std::pair<Kind, int>, std::shared_ptr<EVP_PKEY>> keys;
  auto& k = keys[{kind, slot}];
  if (!k) k = generate(kind);
  return k;
}

namespace {
std::string bnParam(EVP_PKEY* key, const char* name, int pad) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) throw std::runtime_error("no such key parameter");
  std::string out(pad > 0 ? static_cast<std::size_t>(pad) : static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
  if (pad > 0) {
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), pad);
  } else {
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  }
  BN_free(bn);
  return out;
}
}  // namespace

// The public members of a JWK ("kty", "n"/"e" or "crv"/"x"/"y") without braces, so tests can add
// or change members.
std::string publicMembers(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "RSA")) {
    return "\"kty\":\"RSA\",\"n\":\"" + base64UrlEncode(bnParam(key, OSSL_PKEY_PARAM_RSA_N, 0)) + "\",\"e\":\"" +
           base64UrlEncode(bnParam(key, OSSL_PKEY_PARAM_RSA_E, 0)) + "\"";
  }
  if (EVP_PKEY_is_a(key, "EC")) {
    return "\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" + base64UrlEncode(bnParam(key, OSSL_PKEY_PARAM_EC_PUB_X, 32)) +
           "\",\"y\":\"" + base64UrlEncode(bnParam(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32)) + "\"";
  }
  std::string raw(32, '\0');
  size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(raw.data()), &len) != 1 || len != 32) {
    throw std::runtime_error("no raw public key");
  }
  return "\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" + base64UrlEncode(raw) + "\"";
}

// A JWK object; kidJson is a JSON string literal with quotes (so tests can pass escapes), alg may be "".
std::string publicJwk(EVP_PKEY* key, const std::string& kidJson, const std::string& alg, const std::string& extra) {
  std::string out = "{" + publicMembers(key);
  if (!kidJson.empty()) out += ",\"kid\":" + kidJson;
  if (!alg.empty()) out += ",\"alg\":\"" + alg + "\"";
  if (!extra.empty()) out += "," + extra;
  return out + "}";
}

std::string jwks(const std::vector<std::string>& jwkObjects) {
  std::string out = "{\"keys\":[";
  for (std::size_t i = 0; i < jwkObjects.size(); ++i) out += (i ? "," : "") + jwkObjects[i];
  return out + "]}";
}

const std::vector<Alg>& allAlgs() {
  static const std::vector<Alg> all{Alg::RS256, Alg::PS256, Alg::ES256, Alg::EdDSA};
  return all;
}

}  // namespace gatehouse::oauth2::testkeys

namespace gatehouse::oauth2 {
namespace {

using testkeys::allAlgs;
using testkeys::cached;
using testkeys::jwks;
using testkeys::Kind;
using testkeys::publicJwk;
using testkeys::publicMembers;

EVP_PKEY* rsa(int slot = 0) { return cached(Kind::Rsa2048, slot).get(); }
EVP_PKEY* ec(int slot = 0) { return cached(Kind::P256, slot).get(); }
EVP_PKEY* ed(int slot = 0) { return cached(Kind::Ed25519, slot).get(); }

bool sameKey(const Jwk* jwk, EVP_PKEY* key) { return jwk != nullptr && EVP_PKEY_eq(jwk->key.get(), key) == 1; }

bool skippedMentions(const KeySetResult& r, const std::string& text) {
  for (const auto& s : r.skipped) {
    if (s.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(AlgNames, OnlyTheFourAsymmetricNamesExactly) {
  for (Alg a : allAlgs()) EXPECT_EQ(algFromName(algName(a)), a);
  for (const char* bad : {"none", "None", "NONE", "HS256", "HS384", "HS512", "RS384", "RS512", "PS512", "ES384",
                          "ES512", "rs256", "Rs256", "RS256 ", "ES256K", "Ed25519", "EDDSA", ""}) {
    EXPECT_FALSE(algFromName(bad).has_value()) << bad;
  }
}

TEST(KeySet, ImportsRsaEcAndEd25519WithDefaultPins) {
  auto r = KeySet::parse(jwks({publicJwk(rsa(), "\"r\"", "", ""), publicJwk(ec(), "\"e\"", "", ""),
                               publicJwk(ed(), "\"o\"", "", "\"use\":\"sig\"")}),
                         allAlgs());
  ASSERT_TRUE(r.keys) << r.error;
  EXPECT_TRUE(r.error.empty());
  EXPECT_TRUE(r.skipped.empty());
  EXPECT_EQ(r.keys->size(), 3u);
  EXPECT_EQ(r.keys->find("r")->alg, Alg::RS256);
  EXPECT_EQ(r.keys->find("e")->alg, Alg::ES256);
  EXPECT_EQ(r.keys->find("o")->alg, Alg::EdDSA);
  EXPECT_TRUE(sameKey(r.keys->find("r"), rsa()));
  EXPECT_TRUE(sameKey(r.keys->find("e"), ec()));
  EXPECT_TRUE(sameKey(r.keys->find("o"), ed()));
  EXPECT_EQ(r.keys->find("x"), nullptr);
  EXPECT_EQ(r.keys->only(), nullptr);
}

TEST(KeySet, ExplicitAlgPinsRsaKeyToPs256) {
  auto r = KeySet::parse(jwks({publicJwk(rsa(), "\"p\"", "PS256", "")}), allAlgs());
  ASSERT_TRUE(r.keys) << r.error;
  EXPECT_EQ(r.keys->find("p")->alg, Alg::PS256);
  EXPECT_EQ(r.keys->only(), r.keys->find("p"));
}

TEST(KeySet, KeyWithoutKidIsReachableThroughOnly) {
  auto r = KeySet::parse(jwks({publicJwk(ec(), "", "", "")}), allAlgs());
  ASSERT_TRUE(r.keys) << r.error;
  EXPECT_TRUE(sameKey(r.keys->only(), ec()));
}

TEST(KeySet, SkipsUnusableKeysAndNamesThem) {
  struct Case {
    std::string jwk;
    std::string reason;
  };
  std::vector<Case> cases = {
      {publicJwk(rsa(), "\"enc\"", "", "\"use\":\"enc\""), "use"},
      {publicJwk(rsa(), "\"num-use\"", "", "\"use\":1"), "use"},
      {publicJwk(rsa(), "\"priv\"", "", "\"d\":\"AQAB\""), "private"},
      {publicJwk(ec(), "\"ecpriv\"", "", "\"d\":\"AQAB\""), "private"},
      {"{\"kty\":\"oct\",\"kid\":\"sym\",\"k\":\"c2VjcmV0\"}", "private"},
      {"{\"kty\":\"oct\",\"kid\":\"sym2\"}", "kty"},
      {"{\"kid\":\"nokty\"}", "kty"},
      {publicJwk(rsa(), "\"hs\"", "HS256", ""), "alg"},
      {publicJwk(rsa(), "\"rs512\"", "RS512", ""), "alg"},
      {publicJwk(rsa(), "\"es-on-rsa\"", "ES256", ""), "alg"},
      {publicJwk(ec(), "\"rs-on-ec\"", "RS256", ""), "alg"},
      {publicJwk(ed(), "\"es-on-okp\"", "ES256", ""), "alg"},
      {publicJwk(rsa(), "\"none\"", "none", ""), "alg"},
      {publicJwk(rsa(), "\"ops\"", "", "\"key_ops\":[\"encrypt\"]"), "key_ops"},
      {publicJwk(rsa(), "{}", "", ""), "kid"},
      {"[1]", "object"},
  };
  for (const auto& c : cases) {
    auto r = KeySet::parse(jwks({c.jwk, publicJwk(ec(), "\"good\"", "", "")}), allAlgs());
    ASSERT_TRUE(r.keys) << r.error;
    EXPECT_EQ(r.keys->size(), 1u) << c.jwk;
    EXPECT_NE(r.keys->find("good"), nullptr);
    ASSERT_EQ(r.skipped.size(), 1u) << c.jwk;
    EXPECT_NE(r.skipped[0].find(c.reason), std::string::npos) << r.skipped[0];
    EXPECT_NE(r.skipped[0].find("keys[0]"), std::string::npos) << r.skipped[0];
  }
}

TEST(KeySet, SkipsShortRsaModulus) {
  auto small = testkeys::generate(Kind::Rsa1024);
  auto r = KeySet::parse(jwks({publicJwk(small.get(), "\"small\"", "", ""), publicJwk(rsa(), "\"big\"", "", "")}), allAlgs());
  ASSERT_TRUE(r.keys) << r.error;
  EXPECT_EQ(r.keys->find("small"), nullptr);
  EXPECT_NE(r.keys->find("big"), nullptr);
  EXPECT_TRUE(skippedMentions(r, "2048"));
  auto alone = KeySet::parse(jwks({publicJwk(small.get(), "\"small\"", "", "")}), allAlgs());
  EXPECT_FALSE(alone.keys);
  EXPECT_FALSE(alone.error.empty());
}

// Replaces the value of member `name` inside a JWK text.
std::string withMember(std::string jwk, const std::string& name, const std::string& value) {
  std::string key = "\"" + name + "\":\"";
  auto start = jwk.find(key);
  if (start == std::string::npos) throw std::runtime_error("member not found");
  start += key.size();
  auto end = jwk.find('"', start);
  return jwk.replace(start, end - start, value);
}

TEST(KeySet, SkipsEcPointsOffTheCurveAndWrongSizes) {
  std::string good = publicJwk(ec(), "\"ec\"", "", "");
  auto r0 = KeySet::parse(jwks({good}), allAlgs());
  ASSERT_TRUE(r0.keys) << r0.error;
  // Flip one bit of y: (x, y') is not on P-256 (y is fixed up to sign by x).
  auto yPos = good.find("\"y\":\"") + 5;
  std::string yB64 = good.substr(yPos, good.find('"', yPos) - yPos);
  std::string y = *base64UrlDecode(yB64);
  y[31] = static_cast<char>(y[31] ^ 0x01);
  std::vector<std::string> bad = {
      withMember(good, "y", base64UrlEncode(y)),
      withMember(good, "y", base64UrlEncode(std::string(32, '\0'))),
      withMember(good, "x", base64UrlEncode(std::string(31, '\x01'))),
      withMember(good, "y", base64UrlEncode(std::string(33, '\x01'))),
      withMember(good, "y", "not base64url!"),
      withMember(good, "crv", "P-384"),
  };
  for (const auto& jwk : bad) {
    auto r = KeySet::parse(jwks({jwk}), allAlgs());
    EXPECT_FALSE(r.keys) << jwk;
    EXPECT_EQ(r.skipped.size(), 1u) << jwk;
  }
}

TEST(KeySet, SkipsWrongOkpCurveAndLength) {
  std::string good = publicJwk(ed(), "\"ed\"", "", "");
  for (const auto& jwk : {withMember(good, "crv", "Ed448"), withMember(good, "crv", "X25519"),
                          withMember(good, "x", base64UrlEncode(std::string(31, '\x02')))}) {
    auto r = KeySet::parse(jwks({jwk}), allAlgs());
    EXPECT_FALSE(r.keys) << jwk;
  }
}

TEST(KeySet, KeysWhosePinnedAlgIsNotAllowedAreSkipped) {
  auto r = KeySet::parse(jwks({publicJwk(rsa(), "\"r\"", "", ""), publicJwk(ec(), "\"e\"", "", "")}), {Alg::ES256});
  ASSERT_TRUE(r.keys) << r.error;
  EXPECT_EQ(r.keys->find("r"), nullptr);
  EXPECT_NE(r.keys->find("e"), nullptr);
  EXPECT_TRUE(skippedMentions(r, "RS256"));
  EXPECT_FALSE(KeySet::parse(jwks({publicJwk(rsa(), "\"r\"", "", "")}), {}).keys);
}

TEST(KeySet, DuplicateKidKeepsTheFirstKey) {
  auto r = KeySet::parse(jwks({publicJwk(ec(0), "\"same\"", "", ""), publicJwk(ec(1), "\"same\"", "", "")}), allAlgs());
  ASSERT_TRUE(r.keys) << r.error;
  EXPECT_EQ(r.keys->size(), 1u);
  EXPECT_TRUE(sameKey(r.keys->find("same"), ec(0)));
  EXPECT_FALSE(sameKey(r.keys->find("same"), ec(1)));
  EXPECT_TRUE(skippedMentions(r, "keys[1]"));
  EXPECT_TRUE(skippedMentions(r, "duplicate"));
}

TEST(KeySet, KidIsAnOpaqueMapKey) {
  std::string longKid(10000, 'k');
  auto r = KeySet::parse(jwks({publicJwk(ec(0), "\"../../etc/passwd\"", "", ""),
                               publicJwk(ec(1), "\"' OR 1=1 --\"", "", ""),
                               publicJwk(ed(0), "\"" + longKid + "\"", "", ""),
                               publicJwk(rsa(0), "\"nul\\u0000byte\"", "", "")}),
                         allAlgs());
  ASSERT_TRUE(r.keys) << r.error;
  EXPECT_TRUE(sameKey(r.keys->find("../../etc/passwd"), ec(0)));
  EXPECT_TRUE(sameKey(r.keys->find("' OR 1=1 --"), ec(1)));
  EXPECT_TRUE(sameKey(r.keys->find(longKid), ed(0)));
  EXPECT_TRUE(sameKey(r.keys->find(std::string("nul\0byte", 8)), rsa(0)));
  EXPECT_EQ(r.keys->find("nul"), nullptr);
  EXPECT_EQ(r.keys->find("../../etc"), nullptr);
  EXPECT_EQ(r.keys->find("' OR 1=1"), nullptr);
}

TEST(KeySet, SkippedLinesCarryNoKeyMaterial) {
  std::string members = publicMembers(rsa());
  auto nPos = members.find("\"n\":\"") + 5;
  std::string n = members.substr(nPos, members.find('"', nPos) - nPos);
  auto r = KeySet::parse(jwks({publicJwk(rsa(), "\"r\"", "", "\"d\":\"" + n + "\""), publicJwk(ec(), "\"e\"", "", "")}),
                         allAlgs());
  ASSERT_TRUE(r.keys) << r.error;
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_EQ(r.skipped[0].find(n.substr(0, 16)), std::string::npos);
  EXPECT_LT(r.skipped[0].size(), 200u);
}

TEST(KeySet, RejectsDocumentsThatAreNotJwks) {
  for (const char* doc : {"", "[]", "{}", "{\"keys\":{}}", "{\"keys\":[]}", "{\"keys\":\"x\"}", "{\"keys\":[1]}",
                          "{\"keys\":[],\"keys\":[]}", "not json", "{\"keys\":[]} x"}) {
    auto r = KeySet::parse(doc, allAlgs());
    EXPECT_FALSE(r.keys) << doc;
    EXPECT_FALSE(r.error.empty()) << doc;
  }
}

TEST(KeySet, RejectsMoreThan100KeysAndMoreThan1MiB) {
  std::string one = publicJwk(ec(), "", "", "");
  std::vector<std::string> hundred(100, one), hundredOne(101, one);
  // 100 identical kid-less keys: the first is kept, the rest are duplicates; still a valid set.
  auto ok = KeySet::parse(jwks(hundred), allAlgs());
  ASSERT_TRUE(ok.keys) << ok.error;
  EXPECT_EQ(ok.skipped.size(), 99u);
  auto tooMany = KeySet::parse(jwks(hundredOne), allAlgs());
  EXPECT_FALSE(tooMany.keys);
  EXPECT_NE(tooMany.error.find("100"), std::string::npos);

  std::string filler(1024 * 1024, 'a');
  auto big = KeySet::parse("{\"keys\":[" + publicJwk(ec(), "\"e\"", "", "") + "],\"pad\":\"" + filler + "\"}", allAlgs());
  EXPECT_FALSE(big.keys);
  EXPECT_NE(big.error.find("1 MiB"), std::string::npos);
  // Just under the limit parses (the limit is on bytes, not an accident of the JSON limits).
  std::string head = "{\"keys\":[" + publicJwk(ec(), "\"e\"", "", "") + "],\"pad\":\"";
  std::string fits = head + std::string(1024 * 1024 - head.size() - 2, 'a') + "\"}";
  ASSERT_EQ(fits.size(), 1024u * 1024u);
  EXPECT_TRUE(KeySet::parse(fits, allAlgs()).keys);
}

TEST(KeySet, ConcurrentReadersSeeTheSameKeys) {
  auto r = KeySet::parse(jwks({publicJwk(ec(), "\"a\"", "", ""), publicJwk(ed(), "\"b\"", "", "")}), allAlgs());
  ASSERT_TRUE(r.keys);
  std::vector<std::thread> threads;
  std::atomic<int> found{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) found += (r.keys->find("a") != nullptr) + (r.keys->find("b") != nullptr);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(found.load(), 8000);
}

}  // namespace
}  // namespace gatehouse::oauth2
