// verifyCompact against real keys generated at test time (RSA-2048, P-256, Ed25519): the positive
// paths for each algorithm and the library-level cases A1-A6, A13 and A14 of
// shared/SECURITY-CHECKLIST.md part A.

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "gatehouse/kit/codec.h"
#include "gatehouse/oauth2/jws.h"

namespace gatehouse::oauth2 {
using kit::base64UrlDecode;   // the kit's codec (kit/codec.h)
using kit::base64UrlEncode;
}  // namespace gatehouse::oauth2

// Defined in jwk_test.cpp.
namespace gatehouse::oauth2::testkeys {
enum class Kind { Rsa2048, Rsa1024, P256, Ed25519 };
std::shared_ptr<EVP_PKEY> generate(Kind kind);
std::shared_ptr<EVP_PKEY> cached(Kind kind, int slot);
std::string publicMembers(EVP_PKEY* key);
std::string publicJwk(EVP_PKEY* key, const std::string& kidJson, const std::string& alg, const std::string& extra);
std::string jwks(const std::vector<std::string>& jwkObjects);
const std::vector<Alg>& allAlgs();
}  // namespace gatehouse::oauth2::testkeys

namespace gatehouse::oauth2 {
namespace {

using testkeys::allAlgs;
using testkeys::cached;
using testkeys::Kind;

EVP_PKEY* rsa(int slot = 0) { return cached(Kind::Rsa2048, slot).get(); }
EVP_PKEY* ec(int slot = 0) { return cached(Kind::P256, slot).get(); }
EVP_PKEY* ed(int slot = 0) { return cached(Kind::Ed25519, slot).get(); }

// Signs like an IdP would. ES256 comes out as JOSE raw r||s (RFC 7518 section 3.4).
std::string sign(EVP_PKEY* key, const std::string& alg, std::string_view input) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_PKEY_CTX* pctx = nullptr;
  const EVP_MD* md = alg == "EdDSA" ? nullptr : alg == "RS512" ? EVP_sha512() : EVP_sha256();
  if (EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, key) != 1) throw std::runtime_error("sign init");
  if (alg == "PS256" && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) != 1 ||
                         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1)) {
    throw std::runtime_error("pss setup");
  }
  size_t len = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &len, data, input.size()) != 1) throw std::runtime_error("sign size");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, data, input.size()) != 1) {
    throw std::runtime_error("sign");
  }
  sig.resize(len);
  if (alg != "ES256") return sig;
  const auto* der = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* parsed = d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(sig.size()));
  if (parsed == nullptr) throw std::runtime_error("der");
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(parsed), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(parsed), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  ECDSA_SIG_free(parsed);
  return raw;
}

std::string b64(std::string_view s) { return base64UrlEncode(s); }

std::string token(EVP_PKEY* key, const std::string& alg, const std::string& header, const std::string& payload) {
  std::string input = b64(header) + "." + b64(payload);
  return input + "." + b64(sign(key, alg, input));
}

std::string hdr(const std::string& alg, const std::string& kid, const std::string& extra = "") {
  std::string h = "{\"alg\":\"" + alg + "\"";
  if (!kid.empty()) h += ",\"kid\":\"" + kid + "\"";
  if (!extra.empty()) h += "," + extra;
  return h + ",\"typ\":\"at+jwt\"}";
}

const std::string kPayload = R"({"iss":"https://idp.example/realms/r","sub":"u1","aud":"gatehouse","exp":2000000000})";

// The key set most tests use: one key per algorithm.
const KeySet& keys() {
  static std::shared_ptr<const KeySet> set = [] {
    auto r = KeySet::parse(testkeys::jwks({testkeys::publicJwk(rsa(0), "\"rs\"", "RS256", ""),
                                           testkeys::publicJwk(rsa(1), "\"ps\"", "PS256", ""),
                                           testkeys::publicJwk(ec(0), "\"es\"", "", ""),
                                           testkeys::publicJwk(ed(0), "\"ed\"", "", "")}),
                           allAlgs());
    if (!r.keys) throw std::runtime_error(r.error);
    return r.keys;
  }();
  return *set;
}

JwsResult verify(const std::string& t, const KeySet& set = keys()) { return verifyCompact(t, set, allAlgs()); }

void expectRejected(const std::string& t, const std::string& why, const KeySet& set = keys()) {
  JwsResult r = verify(t, set);
  EXPECT_FALSE(r.ok) << why;
  EXPECT_FALSE(r.error.empty()) << why;
}

struct Positive {
  EVP_PKEY* key;
  const char* alg;
  const char* kid;
};

TEST(Jws, VerifiesEachAlgorithm) {
  for (const Positive& p : {Positive{rsa(0), "RS256", "rs"}, Positive{rsa(1), "PS256", "ps"},
                            Positive{ec(0), "ES256", "es"}, Positive{ed(0), "EdDSA", "ed"}}) {
    JwsResult r = verify(token(p.key, p.alg, hdr(p.alg, p.kid), kPayload));
    ASSERT_TRUE(r.ok) << p.alg << ": " << r.error;
    EXPECT_TRUE(r.error.empty());
    EXPECT_EQ(r.ok->kid, p.kid);
    EXPECT_EQ(algName(r.ok->alg), p.alg);
    ASSERT_NE(r.ok->payload.find("sub"), nullptr);
    EXPECT_EQ(r.ok->payload.find("sub")->text, "u1");
    EXPECT_EQ(r.ok->header.find("typ")->text, "at+jwt");
  }
}

TEST(Jws, TokenWithoutKidUsesTheOnlyKeyOrFails) {
  auto single = KeySet::parse(testkeys::jwks({testkeys::publicJwk(ec(0), "", "", "")}), allAlgs());
  ASSERT_TRUE(single.keys);
  std::string t = token(ec(0), "ES256", hdr("ES256", ""), kPayload);
  JwsResult r = verify(t, *single.keys);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.ok->kid, "");
  expectRejected(t, "no kid with four keys");
}

// A1
TEST(Jws, AlgNoneIsRejectedWhateverTheSignature) {
  for (const char* none : {"none", "None", "NONE", "nOnE"}) {
    std::string input = b64(hdr(none, "rs")) + "." + b64(kPayload);
    expectRejected(input + ".", none);
    expectRejected(input + "." + b64("x"), none);
    expectRejected(input + "." + b64(sign(rsa(0), "RS256", input)), none);
    std::string noKid = b64(std::string("{\"alg\":\"") + none + "\"}") + "." + b64(kPayload);
    expectRejected(noKid + "." + b64(sign(rsa(0), "RS256", noKid)), none);
  }
}

std::string pemOf(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PUBKEY(bio.get(), key);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string derOf(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key, &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

std::string hmacSha256(const std::string& key, const std::string& data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), mac, &len);
  return std::string(reinterpret_cast<char*>(mac), len);
}

// A2: the classic key-confusion attack, with every encoding of the public key as the HMAC secret.
TEST(Jws, Hs256MacedWithThePublicKeyIsRejected) {
  for (EVP_PKEY* key : {rsa(0), ec(0), ed(0)}) {
    std::string jwkText = testkeys::publicJwk(key, "\"rs\"", "", "");
    for (const std::string& secret : {pemOf(key), derOf(key), jwkText, "\n" + pemOf(key), " " + pemOf(key),
                                      testkeys::publicMembers(key)}) {
      for (const char* alg : {"HS256", "HS384", "HS512", "hs256"}) {
        for (const char* kid : {"rs", "es", "ed", ""}) {
          std::string input = b64(hdr(alg, kid)) + "." + b64(kPayload);
          JwsResult r = verify(input + "." + b64(hmacSha256(secret, input)));
          EXPECT_FALSE(r.ok) << alg << " kid " << kid;
          EXPECT_EQ(r.error, "algorithm not supported");
        }
      }
    }
  }
}

// A3
TEST(Jws, AlgorithmOtherThanTheKeysPinIsRejected) {
  // Each signature is valid for the named algorithm and the key; only the pin refuses it.
  JwsResult rs512 = verify(token(rsa(0), "RS512", hdr("RS512", "rs"), kPayload));
  EXPECT_FALSE(rs512.ok);
  EXPECT_EQ(rs512.error, "algorithm not supported");
  JwsResult ps = verify(token(rsa(0), "PS256", hdr("PS256", "rs"), kPayload));
  EXPECT_FALSE(ps.ok);
  EXPECT_EQ(ps.error, "algorithm not allowed for this key");
  JwsResult rs = verify(token(rsa(1), "RS256", hdr("RS256", "ps"), kPayload));
  EXPECT_FALSE(rs.ok);
  EXPECT_EQ(rs.error, "algorithm not allowed for this key");
  JwsResult es = verify(token(ed(0), "EdDSA", hdr("EdDSA", "es"), kPayload));
  EXPECT_FALSE(es.ok);
  EXPECT_EQ(es.error, "algorithm not allowed for this key");
  // Not in the caller's allowed list, even though the key is pinned to it.
  JwsResult notAllowed = verifyCompact(token(rsa(0), "RS256", hdr("RS256", "rs"), kPayload), keys(), {Alg::ES256});
  EXPECT_FALSE(notAllowed.ok);
  EXPECT_EQ(notAllowed.error, "algorithm not allowed");
}

// A4, A5
TEST(Jws, UnknownKidIsReportedAndOddKidsAreOnlyMapKeys) {
  // A 10 KB kid cannot fit in a token at all (base64url grows it by 4/3); 5 KB still reaches the lookup.
  JwsResult tenKb = verify(token(ec(0), "ES256", hdr("ES256", std::string(10 * 1024, 'A')), kPayload));
  EXPECT_FALSE(tenKb.ok);
  EXPECT_EQ(tenKb.error, "token larger than 8192 bytes");
  std::string longKid(5 * 1024, 'A');
  for (const std::string& kid : {std::string("nope"), longKid, std::string("../../etc/passwd"),
                                 std::string("' OR 1=1 --"), std::string("rs ")}) {
    JwsResult r = verify(token(ec(0), "ES256", hdr("ES256", kid), kPayload));
    EXPECT_FALSE(r.ok) << kid.substr(0, 20);
    EXPECT_TRUE(r.unknownKid) << kid.substr(0, 20);
    EXPECT_EQ(r.error.find(kid), std::string::npos);
  }
  JwsResult nonString = verify(token(ec(0), "ES256", "{\"alg\":\"ES256\",\"kid\":5}", kPayload));
  EXPECT_FALSE(nonString.ok);
  EXPECT_FALSE(nonString.unknownKid);
  // Other failures do not ask the caller to refresh the key set.
  JwsResult badSig = verify(token(ec(1), "ES256", hdr("ES256", "es"), kPayload));
  EXPECT_FALSE(badSig.ok);
  EXPECT_FALSE(badSig.unknownKid);
}

// A6: the header names the attacker's key every way JOSE allows; only kid counts.
TEST(Jws, EmbeddedOrReferencedKeysAreNeverUsed) {
  EVP_PKEY* attacker = ec(1);
  std::string attackerJwk = testkeys::publicJwk(attacker, "\"es\"", "", "");
  std::string der = b64(derOf(attacker));
  for (const std::string& extra :
       {"\"jwk\":" + attackerJwk, std::string("\"jku\":\"https://attacker.example/jwks\""),
        std::string("\"x5u\":\"https://attacker.example/cert\""), "\"x5c\":[\"" + der + "\"]",
        std::string("\"x5t\":\"") + b64(std::string(20, 'x')) + "\""}) {
    JwsResult r = verify(token(attacker, "ES256", hdr("ES256", "es", extra), kPayload));
    EXPECT_FALSE(r.ok) << extra;
    EXPECT_EQ(r.error, "signature does not verify");
    // And the same header on a token the set's key signed still verifies: the members are ignored.
    EXPECT_TRUE(verify(token(ec(0), "ES256", hdr("ES256", "es", extra), kPayload)).ok) << extra;
  }
  auto single = KeySet::parse(testkeys::jwks({testkeys::publicJwk(ec(0), "", "", "")}), allAlgs());
  ASSERT_TRUE(single.keys);
  EXPECT_FALSE(verify(token(attacker, "ES256", "{\"alg\":\"ES256\",\"jwk\":" + attackerJwk + "}", kPayload),
                      *single.keys).ok);
}

std::vector<std::string> segments(const std::string& t) {
  auto d1 = t.find('.'), d2 = t.find('.', d1 + 1);
  return {t.substr(0, d1), t.substr(d1 + 1, d2 - d1 - 1), t.substr(d2 + 1)};
}

std::string join(const std::vector<std::string>& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? "." : "") + s[i];
  return out;
}

// A13: every single-bit change of any decoded segment byte fails.
TEST(Jws, OneBitFlippedAnywhereFails) {
  for (const Positive& p : {Positive{rsa(0), "RS256", "rs"}, Positive{ec(0), "ES256", "es"},
                            Positive{ed(0), "EdDSA", "ed"}}) {
    std::string good = token(p.key, p.alg, hdr(p.alg, p.kid), kPayload);
    ASSERT_TRUE(verify(good).ok);
    auto seg = segments(good);
    int tried = 0;
    for (int s = 0; s < 3; ++s) {
      std::string bytes = *base64UrlDecode(seg[static_cast<std::size_t>(s)]);
      for (std::size_t i = 0; i < bytes.size(); ++i) {
        std::string flipped = bytes;
        flipped[i] = static_cast<char>(flipped[i] ^ (1 << (i % 8)));
        auto changed = seg;
        changed[static_cast<std::size_t>(s)] = b64(flipped);
        JwsResult r = verify(join(changed));
        EXPECT_FALSE(r.ok) << p.alg << " segment " << s << " byte " << i;
        ++tried;
      }
    }
    EXPECT_GT(tried, 100);
  }
}

TEST(Jws, TruncatedOrMissingSignatureFails) {
  for (const Positive& p : {Positive{rsa(0), "RS256", "rs"}, Positive{rsa(1), "PS256", "ps"},
                            Positive{ec(0), "ES256", "es"}, Positive{ed(0), "EdDSA", "ed"}}) {
    std::string good = token(p.key, p.alg, hdr(p.alg, p.kid), kPayload);
    auto seg = segments(good);
    std::string sig = *base64UrlDecode(seg[2]);
    for (std::size_t keep : {std::size_t{0}, std::size_t{1}, sig.size() / 2, sig.size() - 1}) {
      auto changed = seg;
      changed[2] = b64(sig.substr(0, keep));
      expectRejected(join(changed), std::string(p.alg) + " truncated");
    }
    auto longer = seg;
    longer[2] = b64(sig + '\0');
    expectRejected(join(longer), std::string(p.alg) + " extended");
    // Dropping characters of the base64url text (not whole bytes) fails as well.
    expectRejected(good.substr(0, good.size() - 1), std::string(p.alg) + " one char less");
  }
}

std::string es256WithRawSignature(const std::string& raw) {
  std::string input = b64(hdr("ES256", "es")) + "." + b64(kPayload);
  return input + "." + b64(raw);
}

TEST(Jws, Es256SignatureMustBe64BytesWithScalarsInRange) {
  std::string input = b64(hdr("ES256", "es")) + "." + b64(kPayload);
  std::string raw = sign(ec(0), "ES256", input);
  ASSERT_TRUE(verify(input + "." + b64(raw)).ok);
  expectRejected(es256WithRawSignature(raw.substr(0, 63)), "63 bytes");
  expectRejected(es256WithRawSignature(raw + '\0'), "65 bytes");
  expectRejected(es256WithRawSignature('\0' + raw), "65 bytes, leading zero");
  expectRejected(es256WithRawSignature(std::string(64, '\0')), "r = s = 0");
  expectRejected(es256WithRawSignature(std::string(32, '\0') + raw.substr(32)), "r = 0");
  expectRejected(es256WithRawSignature(raw.substr(0, 32) + std::string(32, '\0')), "s = 0");
  // r = n (the group order) and r = n + r' are outside 0 < r < n.
  const std::string order("\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF"
                            "\xBC\xE6\xFA\xAD\xA7\x17\x9E\x84\xF3\xB9\xCA\xC2\xFC\x63\x25\x51", 32);
  ASSERT_EQ(order.size(), 32u);
  expectRejected(es256WithRawSignature(order + raw.substr(32)), "r = n");
  expectRejected(es256WithRawSignature(raw.substr(0, 32) + order), "s = n");
  expectRejected(es256WithRawSignature(std::string(64, '\xFF')), "r, s > n");
  // DER (what OpenSSL produces) instead of raw r||s.
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  ASSERT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, ec(0)), 1);
  std::string der(80, '\0');
  size_t len = der.size();
  ASSERT_EQ(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &len,
                           reinterpret_cast<const unsigned char*>(input.data()), input.size()), 1);
  der.resize(len);
  expectRejected(input + "." + b64(der), "DER signature");
}

// A14
TEST(Jws, MalformedTokensAreRejected) {
  std::string good = token(ec(0), "ES256", hdr("ES256", "es"), kPayload);
  ASSERT_TRUE(verify(good).ok);
  auto seg = segments(good);
  expectRejected(seg[0] + "." + seg[1], "2 segments");
  expectRejected(good + "." + seg[2], "4 segments");
  expectRejected(good + ".", "4 segments, empty last");
  expectRejected("", "empty");
  expectRejected("..", "empty segments");
  expectRejected(seg[0] + ".." + seg[2], "empty payload");
  expectRejected("." + seg[1] + "." + seg[2], "empty header");
  expectRejected(seg[0] + "=." + seg[1] + "." + seg[2], "padded header");
  expectRejected(seg[0] + "." + seg[1] + "." + seg[2] + "==", "padded signature");
  expectRejected(" " + good, "leading space");
  expectRejected(good + "\n", "trailing newline");
  expectRejected("Bearer " + good, "scheme included");
  for (char c : {'+', '/', '=', ' ', '\0', '\xC3'}) {
    auto changed = seg;
    changed[2][5] = c;
    expectRejected(join(changed), "byte outside base64url in signature");
  }
  expectRejected(b64("not json") + "." + seg[1] + "." + seg[2], "header not JSON");
  expectRejected(b64("[\"ES256\"]") + "." + seg[1] + "." + seg[2], "header not object");
}

TEST(Jws, SignedButMalformedContentIsRejected) {
  struct Case {
    std::string header, payload, why;
  };
  std::string deep = std::string(40, '[') + std::string(40, ']');
  std::vector<Case> cases = {
      {"{\"alg\":\"ES256\",\"kid\":\"es\",\"kid\":\"rs\"}", kPayload, "duplicate kid in header"},
      {"{\"alg\":\"RS256\",\"alg\":\"ES256\",\"kid\":\"es\"}", kPayload, "duplicate alg in header"},
      {hdr("ES256", "es"), R"({"sub":"a","sub":"b","exp":2000000000})", "duplicate member in payload"},
      {hdr("ES256", "es", "\"crit\":[\"exp\"],\"exp\":1"), kPayload, "unknown crit"},
      {hdr("ES256", "es", "\"crit\":[]"), kPayload, "empty crit"},
      {hdr("ES256", "es", "\"b64\":false,\"crit\":[\"b64\"]"), kPayload, "b64 extension"},
      {hdr("ES256", "es", "\"x\":" + deep), kPayload, "deep header"},
      {hdr("ES256", "es"), "{\"x\":" + deep + "}", "deep payload"},
      {hdr("ES256", "es"), "[1,2]", "payload not an object"},
      {hdr("ES256", "es"), "\"just a string\"", "payload a string"},
      {hdr("ES256", "es"), "{\"a\":\"\\ud800\"}", "lone surrogate in payload"},
      {hdr("ES256", "es"), kPayload + " x", "trailing garbage in payload"},
      {"{\"kid\":\"es\"}", kPayload, "no alg"},
      {"{\"alg\":null,\"kid\":\"es\"}", kPayload, "alg null"},
  };
  for (const Case& c : cases) {
    JwsResult r = verify(token(ec(0), "ES256", c.header, c.payload));
    EXPECT_FALSE(r.ok) << c.why;
  }
  // Control: the same machinery accepts a plain token, so the failures above are the content.
  EXPECT_TRUE(verify(token(ec(0), "ES256", hdr("ES256", "es"), kPayload)).ok);
}

TEST(Jws, TokenSizeLimitIs8KiB) {
  // Grow a padding claim until the token is as close to 8192 bytes as base64url allows.
  auto padded = [](std::size_t n) {
    return token(ec(0), "ES256", hdr("ES256", "es"), R"({"exp":2000000000,"pad":")" + std::string(n, 'p') + "\"}");
  };
  std::string best;
  for (std::size_t n = 5900;; ++n) {
    std::string t = padded(n);
    if (t.size() > 8192) break;
    best = t;
  }
  ASSERT_GE(best.size(), 8189u);
  EXPECT_TRUE(verify(best).ok) << best.size();
  std::string over = padded(6200);
  ASSERT_GT(over.size(), 8192u);
  JwsResult r = verify(over);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "token larger than 8192 bytes");
  // Exactly one byte over: a valid token plus one more base64url character.
  std::string plusOne = best + std::string(8193 - best.size(), 'A');
  ASSERT_EQ(plusOne.size(), 8193u);
  EXPECT_EQ(verify(plusOne).error, "token larger than 8192 bytes");
}

TEST(Jws, ErrorsNeverEchoTokenBytes) {
  std::string marker = "SECRETMARKER";
  std::vector<std::string> tokens = {
      token(ec(1), "ES256", hdr("ES256", "es", "\"m\":\"" + marker + "\""), "{\"m\":\"" + marker + "\"}"),
      token(ec(0), "ES256", hdr("ES256", marker), kPayload),
      b64(hdr("HS256", marker)) + "." + b64(marker) + "." + b64(marker),
      marker + "." + marker + "." + marker,
  };
  for (const auto& t : tokens) {
    JwsResult r = verify(t);
    ASSERT_FALSE(r.ok);
    EXPECT_EQ(r.error.find(marker), std::string::npos) << r.error;
    EXPECT_EQ(r.error.find(b64(marker)), std::string::npos) << r.error;
  }
}

// The overload a ResourceServer uses with the SHA-256 of the signing input it computed while
// hashing the token: the right digest verifies, a digest of other bytes never does.
TEST(Jws, PrecomputedSigningInputDigest) {
  auto sha256 = [](std::string_view bytes) {
    SigningInputSha256 d{};
    unsigned int size = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), d.data(), &size, EVP_sha256(), nullptr) != 1 || size != d.size()) {
      throw std::runtime_error("sha256");
    }
    return d;
  };
  for (const Positive& p : {Positive{rsa(0), "RS256", "rs"}, Positive{rsa(1), "PS256", "ps"},
                            Positive{ec(0), "ES256", "es"}, Positive{ed(0), "EdDSA", "ed"}}) {
    const std::string t = token(p.key, p.alg, hdr(p.alg, p.kid), kPayload);
    const std::string_view input = std::string_view(t).substr(0, t.rfind('.'));
    JwsResult good = verifyCompact(t, keys(), allAlgs(), sha256(input));
    ASSERT_TRUE(good.ok) << p.alg << ": " << good.error;
    EXPECT_EQ(good.ok->payload.find("sub")->text, "u1");
    JwsResult other = verifyCompact(t, keys(), allAlgs(), sha256(std::string(input) + "x"));
    if (std::string(p.alg) == "EdDSA") {
      EXPECT_TRUE(other.ok) << "EdDSA hashes the input itself and ignores the digest";
    } else {
      EXPECT_FALSE(other.ok) << p.alg;
      EXPECT_EQ(other.error, "signature does not verify") << p.alg;
    }
    std::string tampered = t;
    tampered[t.rfind('.') + 1] = tampered[t.rfind('.') + 1] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(verifyCompact(tampered, keys(), allAlgs(), sha256(input)).ok) << p.alg;
  }
  EXPECT_NE(sha256Digest(), nullptr);
}

}  // namespace
}  // namespace gatehouse::oauth2
