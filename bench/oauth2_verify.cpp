// bench/oauth2_verify: uncached bearer-token verification against the raw OpenSSL verify it is
// built on (issue 5, TESTING.md "Measuring").
//
// Floor (issue text): "Uncached verification at most 1.25x the cost of the raw OpenSSL verify for
// the same algorithm", for RS256 (RSA-2048), PS256 (RSA-2048), ES256 (P-256) and EdDSA (Ed25519).
//
// Per algorithm, N distinct Keycloak-shaped access tokens (different jti and sid) are
// signed with a key generated at start (never written anywhere). The public keys go into one JWKS
// that is parsed by KeySet::parse (the baseline's keys) and served by a fake HttpGet to a
// KeySource (discovery + JWKS), on which a ResourceServer runs.
//   raw       per token: EVP_DigestVerifyInit + EVP_DigestVerify over the exact signing input
//             with the already imported EVP_PKEY (PS256: PSS padding, salt 32; ES256: the DER
//             signature prepared beforehand). Nothing else.
//   uncached  per token: ResourceServer::authenticate(token, now) on a ResourceServer made for
//             this pass, so every call is a cache miss: split, base64url, strict JSON, key lookup,
//             signature, claims, roles, SHA-256 and the cache insert.
//   cached    (information) authenticate() of one token again and again: hash + map lookup.
// raw and uncached alternate (their order flips every round) in R rounds; the floor compares
// medians: uncached time per token / raw time per token <= 1.25 for every algorithm.
//
// Neither side can pass by measuring a fast error path: every raw verify must return 1, every
// authenticate() must return a principal whose jti, subject and roles are the token's, the
// ResourceServer must count N verified tokens and no cache hit, and before measuring a token with
// a flipped signature and one for another audience must both be refused.
//
// Usage: oauth2_verify [--rounds R] [--tokens N]   exit 0 = floor met, 1 = missed, 2 = error.
//
// Threads: one (the main thread does everything).

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "gatehouse/kit/codec.h"
#include "gatehouse/oauth2/jwk.h"
#include "gatehouse/oauth2/key_source.h"
#include "gatehouse/oauth2/resource_server.h"

namespace {

namespace oauth2 = gatehouse::oauth2;
namespace kit = gatehouse::kit;
using oauth2::Alg;

constexpr double kFloorRatio = 1.25;
constexpr int kCachedCallsPerRound = 20000;
const std::string kIssuer = "https://idp.example/realms/site";
const std::string kAudience = "gatehouse";
const std::string kDiscoveryUrl = kIssuer + "/.well-known/openid-configuration";
const std::string kJwksUrl = kIssuer + "/protocol/openid-connect/certs";
// Roles every token must come out with: realm_access.roles (3), resource_access.gatehouse.roles
// ("operator" again, so de-duplicated, and "reader"), then the scope words.
const std::vector<std::string> kExpectedRoles = {"offline_access", "uma_authorization", "operator", "reader",
                                                 "openid",         "profile",           "email"};

struct KeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

[[noreturn]] void cannotRun(const std::string& why) {
  std::fprintf(stderr, "oauth2_verify: cannot run: %s\n", why.c_str());
  std::exit(2);
}

std::string bnBytes(const EVP_PKEY* key, const char* param, int pad) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, param, &bn) != 1) cannotRun(std::string("cannot read key parameter ") + param);
  std::string out(pad > 0 ? static_cast<std::size_t>(pad) : static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
  const int n = pad > 0 ? BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), pad)
                        : BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  if (n < 0) cannotRun(std::string("cannot encode key parameter ") + param);
  return out;
}

std::string randomHex(std::mt19937_64& rng, int bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < bytes; ++i) {
    const unsigned v = static_cast<unsigned>(rng() & 0xff);
    out += digits[v >> 4];
    out += digits[v & 15];
  }
  return out;
}

std::string uuid(std::mt19937_64& rng) {
  std::string h = randomHex(rng, 16);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

// One algorithm under test: its key, its tokens and what the raw baseline verifies.
struct AlgCase {
  Alg alg = Alg::RS256;
  std::string label;  // "RS256 (RSA-2048)"
  std::unique_ptr<EVP_PKEY, KeyFree> key;  // private key, for signing only
  std::string kid;
  std::vector<std::string> tokens;
  std::vector<std::string> jtis;
  std::vector<std::string_view> signingInputs;  // views into tokens
  std::vector<std::string> signatures;          // as OpenSSL verifies them (ES256: DER)
  const oauth2::Jwk* jwk = nullptr;             // the imported public key (from the bench's KeySet)
  std::vector<double> rawRates, uncachedRates, cachedNs;
};

std::string jwkJson(const AlgCase& c) {
  const EVP_PKEY* k = c.key.get();
  const std::string common =
      R"("use":"sig","alg":")" + std::string(oauth2::algName(c.alg)) + R"(","kid":")" + c.kid + "\"";
  switch (c.alg) {
    case Alg::RS256:
    case Alg::PS256:
      return R"({"kty":"RSA",)" + common + R"(,"n":")" + kit::base64UrlEncode(bnBytes(k, OSSL_PKEY_PARAM_RSA_N, 0)) +
             R"(","e":")" + kit::base64UrlEncode(bnBytes(k, OSSL_PKEY_PARAM_RSA_E, 0)) + R"("})";
    case Alg::ES256:
      return R"({"kty":"EC","crv":"P-256",)" + common + R"(,"x":")" +
             kit::base64UrlEncode(bnBytes(k, OSSL_PKEY_PARAM_EC_PUB_X, 32)) + R"(","y":")" +
             kit::base64UrlEncode(bnBytes(k, OSSL_PKEY_PARAM_EC_PUB_Y, 32)) + R"("})";
    case Alg::EdDSA: {
      std::string x(32, '\0');
      std::size_t len = x.size();
      if (EVP_PKEY_get_raw_public_key(k, reinterpret_cast<unsigned char*>(x.data()), &len) != 1 || len != 32) {
        cannotRun("cannot read the Ed25519 public key");
      }
      return R"({"kty":"OKP","crv":"Ed25519",)" + common + R"(,"x":")" + kit::base64UrlEncode(x) + R"("})";
    }
  }
  return {};
}

// The JOSE signature of `input` (ES256: raw r||s, RFC 7518 section 3.4).
std::string sign(const AlgCase& c, std::string_view input) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, c.alg == Alg::EdDSA ? nullptr : EVP_sha256(), nullptr,
                                 c.key.get()) != 1) {
    cannotRun("EVP_DigestSignInit failed for " + c.label);
  }
  if (c.alg == Alg::PS256 && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                              EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) != 1)) {
    cannotRun("cannot set PSS parameters");
  }
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  std::size_t size = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &size, in, input.size()) != 1) cannotRun("EVP_DigestSign failed");
  std::string sig(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &size, in, input.size()) != 1) {
    cannotRun("EVP_DigestSign failed for " + c.label);
  }
  sig.resize(size);
  if (c.alg != Alg::ES256) return sig;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
  if (es == nullptr) cannotRun("cannot read the ECDSA signature");
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  ECDSA_SIG_free(es);
  return raw;
}

// JOSE raw r||s -> DER, done once before measuring so the baseline does not pay for it.
std::string rawToDer(const std::string& raw) {
  if (raw.size() != 64) cannotRun("ES256 signature is not 64 bytes");
  const auto* b = reinterpret_cast<const unsigned char*>(raw.data());
  ECDSA_SIG* es = ECDSA_SIG_new();
  if (es == nullptr || ECDSA_SIG_set0(es, BN_bin2bn(b, 32, nullptr), BN_bin2bn(b + 32, 32, nullptr)) != 1) {
    cannotRun("cannot build the ECDSA signature");
  }
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(es, &der);
  ECDSA_SIG_free(es);
  if (len <= 0) cannotRun("cannot encode the ECDSA signature");
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

// A Keycloak-like access token (header typ JWT, payload typ Bearer, RFC 9068 claims).
std::string makeToken(const AlgCase& c, std::int64_t now, const std::string& jti, const std::string& audience,
                      std::mt19937_64& rng) {
  const std::string header =
      R"({"alg":")" + std::string(oauth2::algName(c.alg)) + R"(","typ":"JWT","kid":")" + c.kid + R"("})";
  // ~490 bytes of JSON: the token is ~850 bytes with a 64-byte signature, ~1100 with RSA-2048.
  const std::string payload =
      R"({"exp":)" + std::to_string(now + 3600) + R"(,"iat":)" + std::to_string(now - 5) + R"(,"jti":")" + jti +
      R"(","iss":")" + kIssuer + R"(","aud":[")" + audience +
      R"(","account"],"sub":"8f14e45f-ceea-467a-9575-3f0b3a9d2b61","typ":"Bearer","azp":"gatehouse-dashboard",)"
      R"("realm_access":{"roles":["offline_access","uma_authorization","operator"]},)"
      R"("resource_access":{"gatehouse":{"roles":["operator","reader"]}},)"
      R"("scope":"openid profile email","sid":")" + uuid(rng) + R"(","client_id":"gatehouse-dashboard"})";
  const std::string input = kit::base64UrlEncode(header) + "." + kit::base64UrlEncode(payload);
  return input + "." + kit::base64UrlEncode(sign(c, input));
}

// Raw OpenSSL verification of every token; returns tokens/s, or -1 when one did not verify.
double runRaw(const AlgCase& c) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return -1;
  EVP_PKEY* key = c.jwk->key.get();
  const EVP_MD* md = c.alg == Alg::EdDSA ? nullptr : EVP_sha256();
  const bool pss = c.alg == Alg::PS256;
  const std::size_t n = c.tokens.size();
  std::size_t verified = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < n; ++i) {
    EVP_MD_CTX_reset(ctx.get());
    EVP_PKEY_CTX* pctx = nullptr;
    if (EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key) != 1) break;
    if (pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) != 1)) {
      break;
    }
    const std::string& sig = c.signatures[i];
    const std::string_view in = c.signingInputs[i];
    if (EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                         reinterpret_cast<const unsigned char*>(in.data()), in.size()) != 1) {
      break;
    }
    ++verified;
  }
  const auto t1 = std::chrono::steady_clock::now();
  if (verified != n) {
    std::fprintf(stderr, "oauth2_verify: %s raw verify failed at token #%zu\n", c.label.c_str(), verified);
    return -1;
  }
  return double(n) / std::chrono::duration<double>(t1 - t0).count();
}

std::unique_ptr<oauth2::ResourceServer> newServer(const std::shared_ptr<oauth2::KeySource>& keys, std::size_t tokens) {
  oauth2::ResourceServerOptions o;
  o.issuer = kIssuer;
  o.audience = kAudience;
  o.roleClaims = {"realm_access.roles", "resource_access.gatehouse.roles", "scope"};
  // Room for every token, so the eviction sweep never runs inside the measurement.
  o.cacheEntries = std::max<std::size_t>(o.cacheEntries, tokens + 1);
  return std::make_unique<oauth2::ResourceServer>(std::move(o), keys);
}

bool principalMatches(const oauth2::Principal& p, const std::string& jti) {
  return p.jti == jti && p.subject == "8f14e45f-ceea-467a-9575-3f0b3a9d2b61" && p.clientId == "gatehouse-dashboard" &&
         p.roles == kExpectedRoles;
}

// authenticate() of every distinct token once on `server` (fresh: all misses); returns tokens/s,
// or -1 with the reason printed when any token was refused or came out wrong.
double runUncached(const AlgCase& c, oauth2::ResourceServer& server, std::int64_t now) {
  const std::size_t n = c.tokens.size();
  std::vector<std::shared_ptr<const oauth2::Principal>> principals(n);
  std::size_t done = 0;
  std::string refused;
  const auto t0 = std::chrono::steady_clock::now();
  for (; done < n; ++done) {
    oauth2::Authentication a = server.authenticate(c.tokens[done], now);
    if (!a.principal) {
      refused = std::move(a.error);
      break;
    }
    principals[done] = std::move(a.principal);
  }
  const auto t1 = std::chrono::steady_clock::now();
  if (done != n) {
    std::fprintf(stderr, "oauth2_verify: %s token #%zu refused: %s\n", c.label.c_str(), done, refused.c_str());
    return -1;
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (!principalMatches(*principals[i], c.jtis[i])) {
      std::fprintf(stderr, "oauth2_verify: %s token #%zu: principal does not match the token's claims\n",
                   c.label.c_str(), i);
      return -1;
    }
  }
  const oauth2::ResourceServer::Stats s = server.stats();
  if (s.verified != n || s.cacheHits != 0 || s.refused != 0 || s.cached != n) {
    std::fprintf(stderr,
                 "oauth2_verify: %s: expected %zu verified, 0 cache hits, %zu cached; got %llu verified, %llu hits, "
                 "%llu refused, %zu cached\n",
                 c.label.c_str(), n, n, (unsigned long long)s.verified, (unsigned long long)s.cacheHits,
                 (unsigned long long)s.refused, s.cached);
    return -1;
  }
  return double(n) / std::chrono::duration<double>(t1 - t0).count();
}

// authenticate() of one (already cached) token again and again; returns ns per call, or -1.
double runCached(const AlgCase& c, oauth2::ResourceServer& server, std::int64_t now) {
  const oauth2::ResourceServer::Stats before = server.stats();
  int ok = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kCachedCallsPerRound; ++i) ok += server.authenticate(c.tokens[0], now).principal != nullptr;
  const auto t1 = std::chrono::steady_clock::now();
  const oauth2::ResourceServer::Stats after = server.stats();
  if (ok != kCachedCallsPerRound || after.cacheHits - before.cacheHits != std::uint64_t(kCachedCallsPerRound)) {
    std::fprintf(stderr, "oauth2_verify: %s cached: %d of %d accepted, %llu cache hits\n", c.label.c_str(), ok,
                 kCachedCallsPerRound, (unsigned long long)(after.cacheHits - before.cacheHits));
    return -1;
  }
  return std::chrono::duration<double, std::nano>(t1 - t0).count() / kCachedCallsPerRound;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

std::string loadAverage() {
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  if (f == nullptr) return "?";
  char buf[128] = {};
  const bool read = std::fgets(buf, sizeof buf, f) != nullptr;
  std::fclose(f);
  std::string s = read ? buf : "?";
  while (!s.empty() && (s.back() == '\n')) s.pop_back();
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 5;
  long tokens = 2000;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
      rounds = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--tokens") == 0 && i + 1 < argc) {
      tokens = std::atol(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: oauth2_verify [--rounds R] [--tokens N]\n");
      return 2;
    }
  }
  if (rounds < 1 || tokens < 1 || tokens > 1'000'000) {
    std::fprintf(stderr, "usage: oauth2_verify [--rounds R>=1] [--tokens 1..1000000]\n");
    return 2;
  }
#if defined(__SANITIZE_ADDRESS__)
  std::printf("WARNING: built with AddressSanitizer; numbers are not representative\n");
#endif
  const std::size_t n = static_cast<std::size_t>(tokens);
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  std::mt19937_64 rng(std::random_device{}());

  // Keys and kids (Keycloak kids are 43-character base64url strings).
  std::vector<AlgCase> cases(4);
  cases[0].alg = Alg::RS256;
  cases[0].label = "RS256 (RSA-2048)";
  cases[0].key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048)));
  cases[1].alg = Alg::PS256;
  cases[1].label = "PS256 (RSA-2048)";
  cases[1].key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048)));
  cases[2].alg = Alg::ES256;
  cases[2].label = "ES256 (P-256)";
  cases[2].key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  cases[3].alg = Alg::EdDSA;
  cases[3].label = "EdDSA (Ed25519)";
  cases[3].key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  std::string jwks = R"({"keys":[)";
  for (AlgCase& c : cases) {
    if (!c.key) cannotRun("key generation failed for " + c.label);
    c.kid = kit::base64UrlEncode(randomHex(rng, 16)).substr(0, 43);
    if (&c != &cases[0]) jwks += ',';
    jwks += jwkJson(c);  // appended, not "," + ...: sidesteps GCC 12's false -Wrestrict on operator+
  }
  jwks += "]}";
  const std::vector<Alg> allAlgs{Alg::RS256, Alg::PS256, Alg::ES256, Alg::EdDSA};

  // The baseline's keys: the same JWKS through KeySet::parse, so both sides verify with keys
  // imported the same way.
  oauth2::KeySetResult parsed = oauth2::KeySet::parse(jwks, allAlgs);
  if (!parsed.keys || parsed.keys->size() != cases.size() || !parsed.skipped.empty()) {
    cannotRun("the bench's JWKS did not parse into 4 keys: " + parsed.error +
              (parsed.skipped.empty() ? "" : " / " + parsed.skipped.front()));
  }
  for (AlgCase& c : cases) {
    c.jwk = parsed.keys->find(c.kid);
    if (c.jwk == nullptr || c.jwk->alg != c.alg) cannotRun("key " + c.label + " missing from the parsed KeySet");
  }

  // The resource server's keys: discovery + JWKS from a fake IdP.
  oauth2::KeySourceOptions ko;
  ko.issuer = kIssuer;
  auto fetches = std::make_shared<int>(0);
  auto keySource = std::make_shared<oauth2::KeySource>(
      ko, [jwks, fetches](const std::string& url, std::size_t maxBytes) {
        ++*fetches;
        oauth2::HttpAnswer a;
        if (url == kDiscoveryUrl) {
          a.status = 200;
          a.body = R"({"issuer":")" + kIssuer + R"(","jwks_uri":")" + kJwksUrl + R"("})";
        } else if (url == kJwksUrl && jwks.size() <= maxBytes) {
          a.status = 200;
          a.body = jwks;
        } else {
          a.status = 404;
        }
        return a;
      });
  if (std::string error = keySource->start(); !error.empty()) cannotRun("KeySource::start: " + error);
  if (!keySource->current() || keySource->current()->size() != cases.size()) cannotRun("KeySource has no 4 keys");

  // Tokens and the baseline's inputs, derived from the token text itself.
  for (AlgCase& c : cases) {
    c.tokens.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      c.jtis.push_back(uuid(rng));
      c.tokens.push_back(makeToken(c, now, c.jtis.back(), kAudience, rng));
    }
    for (const std::string& t : c.tokens) {
      const std::size_t dot = t.rfind('.');
      c.signingInputs.emplace_back(std::string_view(t).substr(0, dot));
      auto sig = kit::base64UrlDecode(std::string_view(t).substr(dot + 1));
      if (!sig) cannotRun("a generated token's signature is not base64url");
      c.signatures.push_back(c.alg == Alg::ES256 ? rawToDer(*sig) : std::move(*sig));
    }
  }

  std::printf("oauth2_verify: %s; %zu distinct tokens per algorithm, %d alternated rounds\n",
              OpenSSL_version(OPENSSL_VERSION), n, rounds);
  for (const AlgCase& c : cases) {
    std::size_t minSize = SIZE_MAX, maxSize = 0;
    for (const std::string& t : c.tokens) {
      minSize = std::min(minSize, t.size());
      maxSize = std::max(maxSize, t.size());
    }
    std::printf("  %-17s token %zu-%zu bytes\n", c.label.c_str(), minSize, maxSize);
  }

  // Fail-closed check: a flipped signature and a token for another audience must be refused.
  {
    auto server = newServer(keySource, n);
    for (AlgCase& c : cases) {
      std::string flipped = c.tokens[0];
      char& first = flipped[c.signingInputs[0].size() + 1];  // first signature character: no padding bits
      first = first == 'A' ? 'B' : 'A';
      std::mt19937_64 r2(1);
      const std::string otherAudience = makeToken(c, now, "jti-other-audience", "another-service", r2);
      oauth2::Authentication a = server->authenticate(flipped, now);
      oauth2::Authentication b = server->authenticate(otherAudience, now);
      if (a.principal || b.principal) cannotRun(c.label + ": a bad token was accepted");
      std::printf("  check %-17s tampered signature -> \"%s\"; other audience -> \"%s\"\n", c.label.c_str(),
                  a.error.c_str(), b.error.c_str());
    }
  }

  // Warm-up pass (allocator, OpenSSL's provider caches), also a full correctness pass.
  for (AlgCase& c : cases) {
    auto server = newServer(keySource, n);
    if (runRaw(c) < 0 || runUncached(c, *server, now) < 0) return 2;
  }

  std::printf("load average before measuring: %s\n", loadAverage().c_str());
  for (int r = 1; r <= rounds; ++r) {
    for (AlgCase& c : cases) {
      auto server = newServer(keySource, n);  // new per pass: every call below is a cache miss
      double raw = 0, uncached = 0;
      if (r % 2 == 1) {
        raw = runRaw(c);
        uncached = runUncached(c, *server, now);
      } else {
        uncached = runUncached(c, *server, now);
        raw = runRaw(c);
      }
      const double cached = runCached(c, *server, now);
      if (raw < 0 || uncached < 0 || cached < 0) return 2;
      c.rawRates.push_back(raw);
      c.uncachedRates.push_back(uncached);
      c.cachedNs.push_back(cached);
      std::printf("  round %d %-17s raw %8.0f/s  uncached %8.0f/s  ratio %.3f  cached %6.0f ns\n", r,
                  c.label.c_str(), raw, uncached, raw / uncached, cached);
    }
  }
  if (*fetches != 2) cannotRun("the KeySource fetched " + std::to_string(*fetches) + " times instead of 2");

  std::printf("\nmedians (ratio = uncached time per token / raw time per token; floor <= %.2f):\n", kFloorRatio);
  std::printf("  %-17s %12s %14s %8s %14s %12s\n", "algorithm", "raw tok/s", "uncached tok/s", "ratio",
              "overhead us", "cached ns");
  bool ok = true;
  for (const AlgCase& c : cases) {
    const double raw = median(c.rawRates), uncached = median(c.uncachedRates);
    const double ratio = raw / uncached;
    const double overheadUs = (1.0 / uncached - 1.0 / raw) * 1e6;
    const bool met = ratio <= kFloorRatio;
    ok = ok && met;
    std::printf("  %-17s %12.0f %14.0f %8.3f %14.2f %12.0f  %s\n", c.label.c_str(), raw, uncached, ratio, overheadUs,
                median(c.cachedNs), met ? "ok" : "MISSED");
  }
  std::printf("%s: oauth2_verify (floor: uncached authenticate() <= %.2fx the raw OpenSSL verify, every algorithm)\n",
              ok ? "PASS" : "FAIL", kFloorRatio);
  return ok ? 0 : 1;
}
