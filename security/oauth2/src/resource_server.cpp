#include "gatehouse/oauth2/resource_server.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include <openssl/evp.h>

#include "gatehouse/kit/codec.h"
#include "gatehouse/oauth2/jws.h"

namespace gatehouse::oauth2 {

namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};

// Per-thread SHA-256 contexts (no allocation per call): `whole` hashes the token, `signing` keeps
// a copy of its state at the end of the signing input.
struct ThreadHashers {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> whole{EVP_MD_CTX_new()};
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> signing{EVP_MD_CTX_new()};
};

ThreadHashers& threadHashers() {
  thread_local ThreadHashers h;
  return h;
}

// SHA-256 of the whole token (the cache key) in one pass that also keeps the hash state after the
// signing input (the bytes before the second '.', as verifyCompact splits it), so that a cache miss
// can finish that digest instead of hashing the same bytes again for the signature.
// False when OpenSSL fails: the caller then neither reads nor fills the cache.
bool hashToken(std::string_view token, std::array<unsigned char, 32>& out, bool& signingStateKept) {
  signingStateKept = false;
  ThreadHashers& h = threadHashers();
  const EVP_MD* md = sha256Digest();
  if (!h.whole || !h.signing || md == nullptr || EVP_DigestInit_ex2(h.whole.get(), md, nullptr) != 1) return false;
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  std::string_view rest = token;
  if (dot2 != std::string_view::npos) {
    if (EVP_DigestUpdate(h.whole.get(), token.data(), dot2) != 1) return false;
    signingStateKept = EVP_MD_CTX_copy_ex(h.signing.get(), h.whole.get()) == 1;
    rest.remove_prefix(dot2);
  }
  unsigned int size = 0;
  return EVP_DigestUpdate(h.whole.get(), rest.data(), rest.size()) == 1 &&
         EVP_DigestFinal_ex(h.whole.get(), out.data(), &size) == 1 && size == out.size();
}

// The signing input's digest from the state hashToken() kept on this thread.
bool finishSigningInput(SigningInputSha256& out) {
  unsigned int size = 0;
  return EVP_DigestFinal_ex(threadHashers().signing.get(), out.data(), &size) == 1 && size == out.size();
}

constexpr std::size_t kMaxIntrospectedTokenBytes = 8192;
constexpr std::size_t kMaxIntrospectionBytes = 65536;

// application/x-www-form-urlencoded (and RFC 6749 2.3.1 for client credentials): unreserved
// characters as they are, everything else %XX.
std::string formEncode(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size() * 3);
  for (unsigned char c : in) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

ClaimRules claimRules(const ResourceServerOptions& o) {
  ClaimRules rules;
  rules.issuer = o.issuer;
  rules.audience = o.audience;
  rules.leewayS = o.leewayS;
  rules.roleClaims = o.roleClaims;
  return rules;
}

}  // namespace

std::size_t ResourceServer::DigestHash::operator()(const Digest& d) const noexcept {
  std::size_t h = 0;
  std::memcpy(&h, d.data(), sizeof h);
  return h;
}

ResourceServer::ResourceServer(ResourceServerOptions options, std::shared_ptr<KeySource> keys, HttpPost post)
    : options_(std::move(options)), rules_(claimRules(options_)), keys_(std::move(keys)), post_(std::move(post)) {}

Authentication ResourceServer::authenticate(std::string_view token, std::int64_t nowUnix) {
  Digest digest;
  bool signingStateKept = false;
  const bool hashed = hashToken(token, digest, signingStateKept);
  if (hashed) {
    std::lock_guard lock(mu_);
    auto it = cache_.find(digest);
    if (it != cache_.end()) {
      if (nowUnix <= it->second.validUntil) {
        ++stats_.cacheHits;
        return {it->second.principal, {}};
      }
      // Stale: verified again below (an expired JWT is then refused; an introspected token past
      // the cache cap is asked about again, so a revocation shows).
      cache_.erase(it);
    }
  }
  Authentication result;
  std::int64_t validUntil = 0;
  const bool compactJws = std::count(token.begin(), token.end(), '.') == 2;
  if (!compactJws && !options_.introspectionClientId.empty()) {
    result = introspect(token, nowUnix, validUntil);
  } else {
    SigningInputSha256 signingDigest;
    const bool haveSigningDigest = hashed && signingStateKept && finishSigningInput(signingDigest);
    result = verifyUncached(token, nowUnix, haveSigningDigest ? &signingDigest : nullptr);
    if (result.principal) validUntil = result.principal->expires + options_.leewayS;
  }
  if (result.principal && hashed) remember(digest, result.principal, validUntil, nowUnix);
  std::lock_guard lock(mu_);
  ++(result.principal ? stats_.verified : stats_.refused);
  if (!compactJws && !options_.introspectionClientId.empty()) ++stats_.introspected;
  return result;
}

Authentication ResourceServer::verifyUncached(std::string_view token, std::int64_t nowUnix,
                                              const SigningInputSha256* signingDigest) {
  auto verify = [&](const KeySet& keys) {
    return signingDigest != nullptr ? verifyCompact(token, keys, options_.allowedAlgs, *signingDigest)
                                    : verifyCompact(token, keys, options_.allowedAlgs);
  };
  std::shared_ptr<const KeySet> keys = keys_->current();
  if (!keys) keys = keys_->refreshForUnknownKid();
  if (!keys) return {nullptr, "the identity provider's keys are not available"};
  JwsResult jws = verify(*keys);
  if (!jws.ok && jws.unknownKid) {
    // Maybe the IdP rotated its keys: one refresh (rate-limited by the KeySource), one retry.
    std::shared_ptr<const KeySet> fresh = keys_->refreshForUnknownKid();
    if (fresh && fresh != keys) jws = verify(*fresh);
  }
  if (!jws.ok) return {nullptr, jws.error};
  ClaimsResult claims = checkClaims(std::move(*jws.ok), rules_, nowUnix);
  if (!claims.ok) return {nullptr, claims.error};
  return {std::make_shared<const Principal>(std::move(*claims.ok)), {}};
}

Authentication ResourceServer::introspect(std::string_view token, std::int64_t nowUnix, std::int64_t& validUntil) {
  if (token.empty() || token.size() > kMaxIntrospectedTokenBytes) return {nullptr, "the token is empty or too large"};
  if (!post_) return {nullptr, "token introspection is not available"};
  const std::string endpoint = keys_->introspectionEndpoint();
  if (endpoint.empty()) return {nullptr, "the identity provider's introspection endpoint is not known"};
  const std::string form = "token=" + formEncode(token) + "&token_type_hint=access_token";
  const std::string authorization =
      "Basic " + kit::base64Encode(formEncode(options_.introspectionClientId) + ":" +
                                formEncode(options_.introspectionClientSecret));
  HttpAnswer answer = post_(endpoint, form, authorization, kMaxIntrospectionBytes);
  if (!answer.error.empty() || answer.status != 200) return {nullptr, "token introspection failed"};
  auto parsed = kit::parseJson(answer.body, kit::JsonLimits{kMaxIntrospectionBytes, 16});
  if (!parsed || !parsed->isObject()) return {nullptr, "token introspection failed"};
  const Json* active = parsed->find("active");
  if (active == nullptr || !active->isBoolean() || !active->boolean) return {nullptr, "the token is not active"};
  // The answer carries the token's claims: the same checks as a JWT's (exp, iss, aud, roles).
  JwsVerified claims;
  claims.header = *kit::parseJson(R"({"typ":"at+jwt"})");
  claims.payload = std::move(*parsed);
  ClaimsResult checked = checkClaims(std::move(claims), rules_, nowUnix);
  if (!checked.ok) return {nullptr, checked.error};
  validUntil = std::min(checked.ok->expires, nowUnix + options_.introspectionCacheMaxS);
  return {std::make_shared<const Principal>(std::move(*checked.ok)), {}};
}

void ResourceServer::remember(const Digest& digest, std::shared_ptr<const Principal> principal, std::int64_t validUntil,
                              std::int64_t nowUnix) {
  std::lock_guard lock(mu_);
  if (cache_.size() >= options_.cacheEntries) {
    for (auto it = cache_.begin(); it != cache_.end();) {
      it = nowUnix > it->second.validUntil ? cache_.erase(it) : std::next(it);
    }
    // Still full of live tokens: drop any of them down to nine tenths (they are verified again
    // on their next use), so a flood of distinct valid tokens costs one sweep per tenth.
    while (!cache_.empty() && cache_.size() > options_.cacheEntries - options_.cacheEntries / 10 - 1) {
      cache_.erase(cache_.begin());
    }
  }
  cache_.emplace(digest, Entry{std::move(principal), validUntil});
}

ResourceServer::Stats ResourceServer::stats() const {
  std::lock_guard lock(mu_);
  Stats s = stats_;
  s.cached = cache_.size();
  return s;
}

}  // namespace gatehouse::oauth2
