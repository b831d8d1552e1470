#include "gatehouse/oauth2/resource_server.h"

#include <openssl/evp.h>

#include "gatehouse/oauth2/jws.h"

namespace gatehouse::oauth2 {

namespace {

std::string sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) != 1) return {};
  return std::string(reinterpret_cast<const char*>(digest), size);
}

}  // namespace

ResourceServer::ResourceServer(ResourceServerOptions options, std::shared_ptr<KeySource> keys)
    : options_(std::move(options)), keys_(std::move(keys)) {}

Authentication ResourceServer::authenticate(std::string_view token, std::int64_t nowUnix) {
  const std::string digest = sha256(token);
  if (!digest.empty()) {
    std::lock_guard lock(mu_);
    auto it = cache_.find(digest);
    if (it != cache_.end()) {
      if (nowUnix <= it->second->expires + options_.leewayS) {
        ++stats_.cacheHits;
        return {it->second, {}};
      }
      cache_.erase(it);
      ++stats_.refused;
      return {nullptr, "the token has expired"};
    }
  }
  Authentication result = verifyUncached(token, nowUnix);
  if (result.principal && !digest.empty()) remember(digest, result.principal, nowUnix);
  std::lock_guard lock(mu_);
  ++(result.principal ? stats_.verified : stats_.refused);
  return result;
}

Authentication ResourceServer::verifyUncached(std::string_view token, std::int64_t nowUnix) {
  std::shared_ptr<const KeySet> keys = keys_->current();
  if (!keys) keys = keys_->refreshForUnknownKid();
  if (!keys) return {nullptr, "the identity provider's keys are not available"};
  JwsResult jws = verifyCompact(token, *keys, options_.allowedAlgs);
  if (!jws.ok && jws.unknownKid) {
    // Maybe the IdP rotated its keys: one refresh (rate-limited by the KeySource), one retry.
    std::shared_ptr<const KeySet> fresh = keys_->refreshForUnknownKid();
    if (fresh && fresh != keys) jws = verifyCompact(token, *fresh, options_.allowedAlgs);
  }
  if (!jws.ok) return {nullptr, jws.error};
  ClaimRules rules;
  rules.issuer = options_.issuer;
  rules.audience = options_.audience;
  rules.leewayS = options_.leewayS;
  rules.now = nowUnix;
  rules.roleClaims = options_.roleClaims;
  ClaimsResult claims = checkClaims(*jws.ok, rules);
  if (!claims.ok) return {nullptr, claims.error};
  return {std::make_shared<const Principal>(std::move(*claims.ok)), {}};
}

void ResourceServer::remember(std::string digest, std::shared_ptr<const Principal> principal, std::int64_t nowUnix) {
  std::lock_guard lock(mu_);
  if (cache_.size() >= options_.cacheEntries) {
    for (auto it = cache_.begin(); it != cache_.end();) {
      it = nowUnix > it->second->expires + options_.leewayS ? cache_.erase(it) : std::next(it);
    }
    // Still full of live tokens: drop any of them down to nine tenths (they are verified again
    // on their next use), so a flood of distinct valid tokens costs one sweep per tenth.
    while (!cache_.empty() && cache_.size() > options_.cacheEntries - options_.cacheEntries / 10 - 1) {
      cache_.erase(cache_.begin());
    }
  }
  cache_.emplace(std::move(digest), std::move(principal));
}

ResourceServer::Stats ResourceServer::stats() const {
  std::lock_guard lock(mu_);
  Stats s = stats_;
  s.cached = cache_.size();
  return s;
}

}  // namespace gatehouse::oauth2
